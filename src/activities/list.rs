//! `/activities`: the list, filtered, searched, sorted and paged in SQL.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use sqlx::{Postgres, QueryBuilder};
use time::Date;

use super::form::KINDS;
use crate::auth::policy::{self, Action, Scope};
use crate::auth::session::CurrentUser;
use crate::disclosure::{BySex, Count};
use crate::error::{AppError, render};
use crate::geo::places::{self, FilterChoices};
use crate::state::AppState;
use crate::web::{Ctx, Page, forms};

const PAGE_SIZE: i64 = 50;

#[derive(Debug, Default, Deserialize)]
pub struct Filters {
    #[serde(default)]
    study: String,
    #[serde(default)]
    province: String,
    #[serde(default)]
    district: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    q: String,
    #[serde(default)]
    sort: String,
    page: Option<i64>,
}

impl Filters {
    fn date(value: &str) -> Option<Date> {
        Date::parse(
            value,
            time::macros::format_description!("[year]-[month]-[day]"),
        )
        .ok()
    }

    fn link(&self, page: i64) -> String {
        let query = serde_urlencoded::to_string([
            ("study", self.study.as_str()),
            ("province", &self.province),
            ("district", &self.district),
            ("kind", &self.kind),
            ("from", &self.from),
            ("to", &self.to),
            ("q", &self.q),
            ("sort", &self.sort),
            ("page", &page.to_string()),
        ])
        .unwrap_or_default();
        format!("/activities?{query}")
    }
}

#[derive(sqlx::FromRow)]
pub struct ActivityRow {
    pub id: i64,
    pub kind: String,
    pub held_on: Date,
    pub district_code: String,
    facilitating_organization_id: i64,
    pub total: i64,
    pub female: i64,
    /// The same as outsiders see them (`disclosure`).
    rounded_total: i64,
    rounded_female: i64,
    /// Names, from the places and organizations kept in memory.
    #[sqlx(skip)]
    pub district_en: String,
    #[sqlx(skip)]
    pub district_km: String,
    #[sqlx(skip)]
    pub organization: String,
}

impl ActivityRow {
    /// The participants as `user` may see them.
    fn participants(&self, user: &CurrentUser) -> BySex {
        let blurred = !policy::allows(
            user,
            Action::ReadSmallCounts,
            Scope::District(&self.district_code),
        );
        BySex::of_total(
            Count::new(self.female, self.rounded_female),
            Count::new(self.total, self.rounded_total),
            blurred,
        )
    }
}

#[derive(Template)]
#[template(path = "activities/list.html")]
struct ListPage {
    ctx: Ctx,
    filters: Filters,
    activities: Vec<(ActivityRow, BySex)>,
    choices: Arc<FilterChoices>,
    kinds: [&'static str; 9],
    page: Page,
    has_next: bool,
    can_record: bool,
}

pub async fn list(
    ctx: Ctx,
    user: CurrentUser,
    State(state): State<AppState>,
    Query(filters): Query<Filters>,
) -> Result<Response, AppError> {
    let pool = &state.pool;
    let page = Page::new(filters.page, PAGE_SIZE);
    let scope = policy::unpublished_read_scope(&user);
    let internal = policy::internal_text_scope(&user);
    // Only the filters in use go into the statement: each combination is then
    // prepared once, with a plan of its own that the indexes serve.
    let mut query = QueryBuilder::new(
        // Participants are the activity's kept totals (migration 0009); names
        // come from memory, so the statement reads activities alone.
        "select a.id, a.kind, a.held_on, a.district_code, a.facilitating_organization_id,
                a.participants::bigint as total, a.participants_female::bigint as female,
                a.rounded_participants::bigint as rounded_total,
                a.rounded_participants_female::bigint as rounded_female
         from activities a
         where true",
    );
    if let Ok(study) = filters.study.parse::<i64>() {
        query.push(" and a.study_id = ").push_bind(study);
    }
    if !filters.province.is_empty() {
        query
            .push(" and left(a.district_code, 2) = ")
            .push_bind(&filters.province);
    }
    if !filters.district.is_empty() {
        query
            .push(" and a.district_code = ")
            .push_bind(&filters.district);
    }
    if !filters.kind.is_empty() {
        query.push(" and a.kind = ").push_bind(&filters.kind);
    }
    if let Some(from) = Filters::date(&filters.from) {
        query.push(" and a.held_on >= ").push_bind(from);
    }
    if let Some(to) = Filters::date(&filters.to) {
        query.push(" and a.held_on <= ").push_bind(to);
    }
    let pattern = forms::contains_pattern(&filters.q);
    let searching = !pattern.is_empty();
    if searching {
        let reads_internal = |query: &mut QueryBuilder<'_, Postgres>| {
            query
                .push("reads_internal_text(s.district_code, s.kind, ")
                .push_bind(internal.everywhere)
                .push(", ")
                .push_bind(internal.districts.clone())
                .push(", ")
                .push_bind(internal.meeting_districts.clone())
                .push(")");
        };
        // The activities matching, found through the trigram indexes
        // (migration 0011): their own text where the reader may read it, or
        // a finding they may read. As an array, the few found are then read
        // by their keys under the one plan made for every term.
        query
            .push(" and a.id = any(array(select s.id from activities s where (s.summary ilike ")
            .push_bind(pattern.clone())
            .push(" or s.place ilike ")
            .push_bind(pattern.clone())
            .push(") and ");
        reads_internal(&mut query);
        query
            .push(
                " union select f.activity_id from findings f join activities s on s.id = f.activity_id
                  where (f.text_en || ' ' || f.text_km || ' ' || f.quote) ilike ",
            )
            .push_bind(pattern)
            .push(" and (f.public or ");
        reads_internal(&mut query);
        query.push(")))");
    }
    if !scope.everywhere {
        query
            .push(" and (a.district_code = any(")
            .push_bind(scope.districts.clone())
            .push(
                ") or exists (select 1 from case_studies c
                              where c.id = a.case_study_id and case_study_published(c.status)))",
            );
    }
    query.push(match filters.sort.as_str() {
        // Districts in gazetteer order, as the district filter lists them.
        "district" => " order by a.district_code, a.held_on desc, a.id desc",
        "oldest" => " order by a.held_on asc, a.id asc",
        _ => " order by a.held_on desc, a.id desc",
    });
    page.push_limit(&mut query);
    let rows_from = if searching { &state.searches } else { pool };
    let mut activities: Vec<ActivityRow> = query.build_query_as().fetch_all(rows_from).await?;
    let has_next = page.has_next(&mut activities);
    let choices = places::filter_choices(&state).await?;
    for row in &mut activities {
        (row.district_en, row.district_km) = choices.names(&row.district_code);
        row.organization = choices
            .organization(row.facilitating_organization_id)
            .to_owned();
    }
    render(&ListPage {
        can_record: policy::allows(&user, Action::RecordActivity, Scope::Anything),
        ctx,
        filters,
        activities: activities
            .into_iter()
            .map(|row| {
                let participants = row.participants(&user);
                (row, participants)
            })
            .collect(),
        choices,
        kinds: KINDS,
        page,
        has_next,
    })
    .map(IntoResponse::into_response)
}
