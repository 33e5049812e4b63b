//! `/case-studies`: the list, filtered, searched, sorted and paged in SQL.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use sqlx::QueryBuilder;
use time::OffsetDateTime;

use super::Status;
use crate::auth::policy::{self, Action, Scope};
use crate::auth::session::CurrentUser;
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
    status: String,
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
    fn date(value: &str) -> Option<time::Date> {
        time::Date::parse(
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
            ("status", &self.status),
            ("from", &self.from),
            ("to", &self.to),
            ("q", &self.q),
            ("sort", &self.sort),
            ("page", &page.to_string()),
        ])
        .unwrap_or_default();
        format!("/case-studies?{query}")
    }
}

#[derive(sqlx::FromRow)]
pub struct CaseStudyRow {
    pub id: i64,
    pub title_en: String,
    pub title_km: String,
    district_code: String,
    author_organization_id: i64,
    pub status: Status,
    pub updated_at: OffsetDateTime,
    /// Names, from the places and organizations kept in memory.
    #[sqlx(skip)]
    pub district_en: String,
    #[sqlx(skip)]
    pub district_km: String,
    #[sqlx(skip)]
    pub author: String,
}

impl CaseStudyRow {
    pub fn updated_text(&self) -> String {
        crate::format::timestamp(self.updated_at)
    }
}

#[derive(Template)]
#[template(path = "case_studies/list.html")]
struct ListPage {
    ctx: Ctx,
    filters: Filters,
    case_studies: Vec<CaseStudyRow>,
    choices: Arc<FilterChoices>,
    statuses: [Status; 4],
    page: Page,
    has_next: bool,
    can_write: bool,
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
        // Names come from memory, so the statement reads case studies alone.
        "select c.id, c.title_en, c.title_km, c.district_code, c.author_organization_id,
                c.status, c.updated_at
         from case_studies c
         where true",
    );
    if let Ok(study) = filters.study.parse::<i64>() {
        query.push(" and c.study_id = ").push_bind(study);
    }
    if !filters.province.is_empty() {
        query
            .push(" and left(c.district_code, 2) = ")
            .push_bind(&filters.province);
    }
    if !filters.district.is_empty() {
        query
            .push(" and c.district_code = ")
            .push_bind(&filters.district);
    }
    if !filters.status.is_empty() {
        query.push(" and c.status = ").push_bind(&filters.status);
    }
    if let Some(from) = Filters::date(&filters.from) {
        query.push(" and c.updated_at >= ").push_bind(from);
    }
    if let Some(to) = Filters::date(&filters.to) {
        query
            .push(" and c.updated_at < ")
            .push_bind(to)
            .push("::date + 1");
    }
    let pattern = forms::contains_pattern(&filters.q);
    if !pattern.is_empty() {
        query
            .push(" and ((c.title_en || ' ' || c.title_km) ilike ")
            .push_bind(pattern.clone())
            .push(
                " or concat_ws(' ', c.summary, c.context, c.findings, c.good_practices,
                               c.challenges, c.conclusion) ilike ",
            )
            .push_bind(pattern.clone())
            .push(
                " or c.id in (select a.case_study_id from findings f join activities a on a.id = f.activity_id
                              where (f.text_en || ' ' || f.text_km || ' ' || f.quote) ilike ",
            )
            .push_bind(pattern)
            .push(" and (f.public or reads_internal_text(a.district_code, a.kind, ")
            .push_bind(internal.everywhere)
            .push(", ")
            .push_bind(internal.districts)
            .push(", ")
            .push_bind(internal.meeting_districts)
            .push("))))");
    }
    if !scope.everywhere {
        query
            .push(" and (c.district_code = any(")
            .push_bind(scope.districts)
            .push(") or case_study_published(c.status))");
    }
    query.push(match filters.sort.as_str() {
        // Districts in gazetteer order, as the district filter lists them.
        "district" => " order by c.district_code, c.updated_at desc, c.id desc",
        "title" => " order by lower(c.title_en) asc, c.updated_at desc, c.id desc",
        _ => " order by c.updated_at desc, c.id desc",
    });
    page.push_limit(&mut query);
    let mut case_studies: Vec<CaseStudyRow> = query.build_query_as().fetch_all(pool).await?;
    let has_next = page.has_next(&mut case_studies);
    let choices = places::filter_choices(&state).await?;
    for row in &mut case_studies {
        (row.district_en, row.district_km) = choices.names(&row.district_code);
        row.author = choices.organization(row.author_organization_id).to_owned();
    }
    render(&ListPage {
        can_write: policy::allows(&user, Action::WriteCaseStudy, Scope::Anything),
        ctx,
        filters,
        case_studies,
        choices,
        statuses: Status::ALL,
        page,
        has_next,
    })
    .map(IntoResponse::into_response)
}
