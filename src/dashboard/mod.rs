//! `/dashboard`: the whole picture at a glance for every role, each counting what
//! they may read, filtered by study, province, district and dates. Donors land
//! here from `/`.

pub mod charts;
pub mod figures;
pub mod filters;
pub mod map;

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use crate::action_plans::STATUSES;
use crate::activities::form::{GROUPS, KINDS};
use crate::activities::list::percent;
use crate::app::AppState;
use crate::auth::session::CurrentUser;
use crate::error::{AppError, render};
use crate::web::forms::FieldErrors;
use crate::web::{Ctx, Page};
use charts::{Bar, BarChart, ColumnChart, LegendItem};
use figures::{DistrictFigures, Figures};
use filters::{Filters, Reader};

pub fn routes() -> Router<AppState> {
    Router::new().route("/dashboard", get(dashboard))
}

/// How the page is shown, beside what it counts.
#[derive(Debug, Default, Deserialize)]
pub struct View {
    #[serde(default)]
    map: String,
    /// The page of the per-district table.
    page: Option<i64>,
}

/// More bars than this would not fit a phone screen; the table has them all.
const MOST_BARS: usize = 25;
/// Districts per page of the table: a whole province fits on one.
const TABLE_PAGE: i64 = 50;

#[derive(Template)]
#[template(path = "dashboard/dashboard.html")]
struct DashboardPage {
    ctx: Ctx,
    filters: Filters,
    errors: FieldErrors,
    reader: Reader,
    measure: String,
    table_page: Page,
    figures: Option<Arc<Figures>>,
    charts: Option<Charts>,
    map: Option<map::Map>,
}

struct Charts {
    participants: BarChart,
    themes: BarChart,
    actions: BarChart,
    months: ColumnChart,
}

pub async fn dashboard(
    ctx: Ctx,
    user: CurrentUser,
    State(state): State<AppState>,
    Query(filters): Query<Filters>,
    Query(view): Query<View>,
) -> Result<Response, AppError> {
    let reader = Reader::of(&user);
    let table_page = Page::new(view.page, TABLE_PAGE);
    let measure = if map::MEASURES.contains(&view.map.as_str()) {
        view.map
    } else {
        map::MEASURES[0].to_owned()
    };
    let selection = match filters.check() {
        Ok(selection) => selection,
        Err(errors) => {
            let page = DashboardPage {
                ctx,
                filters,
                errors,
                reader,
                measure,
                table_page,
                figures: None,
                charts: None,
                map: None,
            };
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response());
        }
    };
    let today = crate::activities::form::today();
    let figures = figures::figures(&state.figures, &state.pool, &selection, &reader, today).await?;
    let name = |district: &DistrictFigures| {
        ctx.pick(
            district.name_en.as_deref().unwrap_or_default(),
            district.name_km.as_deref().unwrap_or_default(),
        )
        .to_owned()
    };
    let map = map::draw(&measure, &figures.total, &figures.districts, &reader, name);
    let charts = Some(draw_charts(&ctx, &reader, &figures));
    let page = DashboardPage {
        ctx,
        filters,
        errors: FieldErrors::default(),
        reader,
        measure,
        table_page,
        figures: Some(figures),
        charts,
        map,
    };
    Ok(render(&page)?.into_response())
}

fn draw_charts(ctx: &Ctx, reader: &Reader, figures: &Figures) -> Charts {
    let name = |district: &DistrictFigures| {
        ctx.pick(
            district.name_en.as_deref().unwrap_or_default(),
            district.name_km.as_deref().unwrap_or_default(),
        )
        .to_owned()
    };
    let link = |district: &DistrictFigures| {
        district
            .code
            .as_ref()
            .map(|code| format!("/districts/{code}"))
    };
    let mut busiest: Vec<&DistrictFigures> = figures
        .districts
        .iter()
        .filter(|district| district.participants() > 0)
        .collect();
    busiest.sort_by_key(|district| std::cmp::Reverse(district.participants()));
    let participants = busiest
        .into_iter()
        .take(MOST_BARS)
        .map(|district| {
            let (female, male) = (district.female, district.male);
            // For donors a bar with a small count of one sex is drawn whole, so
            // neither sex can be read off it.
            let parts = if reader.hides(female) || reader.hides(male) {
                vec![(female + male, "blurred", ctx.t("dashboard-by-sex-hidden"))]
            } else {
                vec![
                    (
                        female,
                        "female",
                        format!("{}: {female}", ctx.t("sex-female")),
                    ),
                    (male, "male", format!("{}: {male}", ctx.t("sex-male"))),
                ]
            };
            Bar {
                label: name(district),
                href: link(district),
                parts,
                total: reader.people(female + male),
            }
        })
        .collect();
    let participants = charts::bar_chart(
        participants,
        vec![
            legend("female", ctx.t("sex-female")),
            legend("male", ctx.t("sex-male")),
        ],
    );
    let themes = figures
        .breakdown("theme")
        .map(|theme| {
            let label = if theme.key.is_empty() {
                ctx.t("dashboard-no-theme")
            } else {
                ctx.pick(&theme.name_en, &theme.name_km).to_owned()
            };
            Bar {
                label,
                href: None,
                parts: vec![
                    (
                        theme.second,
                        "endorsed",
                        format!("{}: {}", ctx.t("dashboard-endorsed"), theme.second),
                    ),
                    (
                        theme.first - theme.second,
                        "not-endorsed",
                        format!(
                            "{}: {}",
                            ctx.t("dashboard-not-endorsed"),
                            theme.first - theme.second
                        ),
                    ),
                ],
                total: theme.first.to_string(),
            }
        })
        .collect();
    let themes = charts::bar_chart(
        themes,
        vec![
            legend("endorsed", ctx.t("dashboard-endorsed")),
            legend("not-endorsed", ctx.t("dashboard-not-endorsed")),
        ],
    );
    let mut with_actions: Vec<&DistrictFigures> = figures
        .districts
        .iter()
        .filter(|district| district.actions > 0)
        .collect();
    with_actions.sort_by_key(|district| std::cmp::Reverse(district.actions));
    let actions = with_actions
        .into_iter()
        .take(MOST_BARS)
        .map(|district| {
            let counts = [
                district.not_started,
                district.in_progress,
                district.completed,
                district.blocked,
                district.cancelled,
            ];
            Bar {
                label: name(district),
                href: link(district),
                parts: STATUSES
                    .iter()
                    .zip(counts)
                    .map(|(status, count)| {
                        (
                            count,
                            *status,
                            format!("{}: {count}", ctx.label("action-status", status)),
                        )
                    })
                    .collect(),
                total: district.actions.to_string(),
            }
        })
        .collect();
    let actions = charts::bar_chart(
        actions,
        STATUSES
            .iter()
            .map(|status| legend(status, ctx.label("action-status", status)))
            .collect(),
    );
    let months: Vec<(String, i64)> = figures
        .breakdown("month")
        .map(|month| (month.key.clone(), month.first))
        .collect();
    Charts {
        participants,
        themes,
        actions,
        months: charts::column_chart(&months),
    }
}

fn legend(class: &'static str, label: String) -> LegendItem {
    LegendItem { class, label }
}

/// What the template asks of the figures.
impl DashboardPage {
    fn kinds(&self) -> Vec<(&'static str, i64)> {
        let Some(figures) = &self.figures else {
            return Vec::new();
        };
        KINDS
            .iter()
            .filter_map(|kind| {
                figures
                    .breakdown("kind")
                    .find(|row| row.key == *kind)
                    .map(|row| (*kind, row.first))
            })
            .collect()
    }

    /// Participants by group: (group, female, male, total), as this reader may see them.
    fn groups(&self) -> Vec<(&'static str, String, String, String)> {
        let Some(figures) = &self.figures else {
            return Vec::new();
        };
        GROUPS
            .iter()
            .filter_map(|group| {
                let row = figures.breakdown("group").find(|row| row.key == *group)?;
                let [female, male] = self.pair(row.first, row.second);
                Some((
                    *group,
                    female,
                    male,
                    self.reader.people(row.first + row.second),
                ))
            })
            .collect()
    }

    /// A female and a male count: where either is small, donors see the small
    /// one as "<5" and the other as "–", since the total would give it away.
    fn pair(&self, female: i64, male: i64) -> [String; 2] {
        let reader = &self.reader;
        if reader.hides(female) || reader.hides(male) {
            [female, male].map(|count| {
                if reader.hides(count) {
                    reader.people(count)
                } else {
                    "–".to_owned()
                }
            })
        } else {
            [female.to_string(), male.to_string()]
        }
    }

    fn by_sex(&self, district: &DistrictFigures) -> [String; 2] {
        self.pair(district.female, district.male)
    }

    fn respondents_female(&self, total: &DistrictFigures) -> String {
        let [female, _] = self.pair(
            total.respondents_female,
            total.respondents - total.respondents_female,
        );
        let share = self
            .reader
            .share_of_people(total.respondents_female, total.respondents);
        format!("{female} ({share})")
    }

    fn share_female(&self, district: &DistrictFigures) -> String {
        self.reader
            .share_of_people(district.female, district.participants())
    }

    fn endorsement_rate(&self, total: &DistrictFigures) -> String {
        percent(total.lists_endorsed, total.covered)
    }

    fn average_progress(&self, district: &DistrictFigures) -> String {
        district
            .average_progress()
            .map_or_else(|| "–".to_owned(), |progress| format!("{progress}%"))
    }

    /// Districts with anything to show in the table.
    fn active_districts(&self) -> Vec<&DistrictFigures> {
        self.figures.as_ref().map_or_else(Vec::new, |figures| {
            figures
                .districts
                .iter()
                .filter(|d| d.activities + d.lists + d.actions + d.case_studies_published > 0)
                .collect()
        })
    }

    /// This page of the table's districts, and whether another page follows.
    fn table_rows(&self) -> (Vec<&DistrictFigures>, bool) {
        let mut rows: Vec<&DistrictFigures> = self
            .active_districts()
            .into_iter()
            .skip(self.table_page.offset() as usize)
            .take(self.table_page.limit() as usize)
            .collect();
        let more = self.table_page.has_next(&mut rows);
        (rows, more)
    }

    fn table_link(&self, page: i64) -> String {
        format!(
            "/dashboard?{}&map={}&page={page}#by-district",
            self.filters.query(),
            self.measure
        )
    }

    fn choices(&self, kind: &str) -> Vec<&figures::Choice> {
        self.figures.as_ref().map_or_else(Vec::new, |figures| {
            figures.choices.iter().filter(|c| c.kind == kind).collect()
        })
    }

    fn map_link(&self, measure: &str) -> String {
        format!("/dashboard?{}&map={measure}#map", self.filters.query())
    }

    fn export_link(&self, dataset: &str, format: &str) -> String {
        format!("/exports/{dataset}.{format}?{}", self.filters.query())
    }
}
