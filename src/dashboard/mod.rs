//! `/dashboard`: the whole picture at a glance for every role, each counting what
//! they may read, filtered by study, province, district and dates. Donors land
//! here from `/`.

pub mod charts;
pub mod figures;
pub mod graphics;
pub mod map;
pub mod people;

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use crate::activities::form::{GROUPS, KINDS};
use crate::auth::reader::Reader;
use crate::auth::session::CurrentUser;
use crate::disclosure::BySex;
use crate::error::{AppError, render};
use crate::format::percent;
use crate::projects::choices::{self, Choice};
use crate::state::AppState;
use crate::web::filters::Filters;
use crate::web::forms::FieldErrors;
use crate::web::{Ctx, Page};
use figures::{DistrictFigures, Figures};

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
    people: Option<Arc<people::People>>,
    /// The charts and the map, drawn once for these figures (`graphics`).
    graphics: Arc<str>,
    /// The projects the reader may filter by: those they may read.
    projects: Arc<Vec<Choice<i64>>>,
}

async fn dashboard(
    ctx: Ctx,
    user: CurrentUser,
    State(state): State<AppState>,
    Query(filters): Query<Filters>,
    Query(view): Query<View>,
) -> Result<Response, AppError> {
    page(ctx, &user, &state, filters, view).await
}

/// The dashboard of `filters` for `user`; a donor's home page shows it too.
pub async fn page(
    ctx: Ctx,
    user: &CurrentUser,
    state: &AppState,
    filters: Filters,
    view: View,
) -> Result<Response, AppError> {
    let table_page = Page::new(view.page, TABLE_PAGE);
    let measure = if map::MEASURES.contains(&view.map.as_str()) {
        view.map
    } else {
        map::MEASURES[0].to_owned()
    };
    let projects = choices::kept_readable_projects(state, user).await?;
    let selection = match filters.check() {
        Ok(selection) => selection,
        Err(errors) => {
            let page = DashboardPage {
                ctx,
                filters,
                errors,
                reader: Reader::of(user, ""),
                measure,
                table_page,
                figures: None,
                people: None,
                graphics: Arc::from(""),
                projects,
            };
            return Err(AppError::invalid(&page));
        }
    };
    if let Some(project) = selection.project
        && !projects.iter().any(|choice| choice.key == project)
    {
        // Not found, or refused: as the project's own page answers.
        crate::projects::readable(&state.pool, user, project).await?;
    }
    let reader = Reader::of(user, &selection.district);
    let today = crate::format::today();
    let figures = figures::figures(state, &selection, &reader, today).await?;
    let people = figures.people(reader.blurs_small_counts);
    let graphics = graphics::drawn(
        &figures,
        graphics::Key {
            lang: ctx.lang,
            measure: measure.clone(),
            blurred: reader.blurs_small_counts,
            query: filters.query(),
        },
    )?;
    let page = DashboardPage {
        ctx,
        filters,
        errors: FieldErrors::default(),
        reader,
        measure,
        table_page,
        figures: Some(figures),
        people: Some(people),
        graphics,
        projects,
    };
    Ok(render(&page)?.into_response())
}

/// What the template asks of the figures.
impl DashboardPage {
    /// "Figures as of …": when these figures were counted.
    fn as_of(&self) -> String {
        self.figures.as_ref().map_or_else(String::new, |figures| {
            self.ctx.lang.t_with(
                "figures-as-of",
                &[("when", crate::format::timestamp(figures.as_of))],
            )
        })
    }

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

    /// Participants by group: (group, by sex), as this reader may see them.
    fn groups(&self) -> Vec<(&'static str, BySex)> {
        let Some(people) = &self.people else {
            return Vec::new();
        };
        GROUPS
            .iter()
            .enumerate()
            .map(|(row, group)| (*group, people.group(row)))
            .collect()
    }

    /// All participants, by sex.
    fn participants(&self) -> Option<BySex> {
        self.people.as_ref().map(|people| people.total())
    }

    fn respondents(&self) -> Option<BySex> {
        self.people.as_ref().map(|people| people.respondents)
    }

    /// One district's participants, as this reader may see them.
    fn district_people(&self, district: &DistrictFigures) -> Option<BySex> {
        let figures = self.figures.as_ref()?;
        let row = people::People::row_of(figures, district)?;
        self.people.as_ref().map(|people| people.district(row))
    }

    /// Events by level, with their participants as this reader may see them.
    fn events(&self) -> Vec<(&str, i64, BySex)> {
        let Some(figures) = &self.figures else {
            return Vec::new();
        };
        let blurred = self.reader.blurs_small_counts;
        figures
            .events
            .iter()
            .map(|level| {
                let people = BySex::new(level.female(), level.male(), blurred);
                (level.level.as_str(), level.events, people)
            })
            .collect()
    }

    fn endorsement_rate(&self, total: &DistrictFigures) -> String {
        percent(total.lists_endorsed, total.districts_listed)
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

    /// The district choices under their provinces, for a select grouped by
    /// province: all of them, or the chosen province's.
    fn district_groups(&self) -> Vec<(&figures::Choice, Vec<&figures::Choice>)> {
        let districts = self.choices("district");
        self.choices("province")
            .into_iter()
            .map(|province| {
                let within = districts
                    .iter()
                    .filter(|district| district.code.starts_with(province.code.as_str()))
                    .copied()
                    .collect();
                (province, within)
            })
            .filter(|(_, within): &(_, Vec<_>)| !within.is_empty())
            .collect()
    }

    fn export_link(&self, dataset: &str, format: &str) -> String {
        format!("/exports/{dataset}.{format}?{}", self.filters.query())
    }
}
