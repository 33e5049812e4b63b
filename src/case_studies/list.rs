//! `/case-studies`: the list, filtered, searched, sorted and paged in SQL.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use time::OffsetDateTime;

use crate::app::AppState;
use crate::auth::policy::{self, Action, Scope};
use crate::auth::session::CurrentUser;
use crate::error::{AppError, render};
use crate::geo::places::{self, FilterChoices};
use crate::web::{Ctx, Page, forms};

const PAGE_SIZE: i64 = 50;
pub const STATUSES: [&str; 4] = ["draft", "in_review", "published", "archived"];

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

pub struct CaseStudyRow {
    pub id: i64,
    pub title_en: String,
    pub title_km: String,
    pub district_en: String,
    pub district_km: String,
    pub author: String,
    pub status: String,
    pub updated_at: OffsetDateTime,
}

impl CaseStudyRow {
    pub fn updated_text(&self) -> String {
        crate::web::format_timestamp(self.updated_at)
    }
}

#[derive(Template)]
#[template(path = "case_studies/list.html")]
struct ListPage {
    ctx: Ctx,
    filters: Filters,
    case_studies: Vec<CaseStudyRow>,
    choices: Arc<FilterChoices>,
    statuses: [&'static str; 4],
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
    let pool = state.pool;
    let page = Page::new(filters.page, PAGE_SIZE);
    let scope = policy::unpublished_read_scope(&user);
    let internal = policy::internal_text_scope(&user);
    let study: Option<i64> = filters.study.parse().ok();
    let mut case_studies = sqlx::query_as!(
        CaseStudyRow,
        // The page is chosen first; the authors' names are read for its rows only.
        r#"with shown as (
               select c.id, c.title_en, c.title_km, d.name_en as district_en, d.name_km as district_km,
                      c.author_organization_id, c.status, c.updated_at,
                      case when $9 = 'district' then d.name_en end as by_district,
                      case when $9 = 'title' then lower(c.title_en) end as by_title
               from case_studies c
               join districts d on d.code = c.district_code
               where ($1::bigint is null or c.study_id = $1)
                 and ($2 = '' or d.province_code = $2)
                 and ($3 = '' or c.district_code = $3)
                 and ($4 = '' or c.status = $4)
                 and ($12::date is null or c.updated_at >= $12::date)
                 and ($13::date is null or c.updated_at < $13::date + 1)
                 and ($5 = '' or (c.title_en || ' ' || c.title_km) ilike $5
                      or concat_ws(' ', c.summary, c.context, c.findings, c.good_practices,
                                   c.challenges, c.conclusion) ilike $5
                      or exists (select 1 from activities a join findings f on f.activity_id = a.id
                                 where a.case_study_id = c.id
                                   and (f.public or reads_internal_text(a.district_code, a.kind, $6, $14, $15))
                                   and (f.text_en || ' ' || f.text_km || ' ' || f.quote) ilike $5))
                 and ($7 or c.district_code = any($8) or c.status in ('published', 'archived'))
               order by by_district asc, by_title asc, c.updated_at desc, c.id desc
               limit $10 offset $11
           )
           select c.id, c.title_en, c.title_km, c.district_en, c.district_km,
                  o.name_en as author, c.status, c.updated_at
           from shown c
           join organizations o on o.id = c.author_organization_id
           order by c.by_district asc, c.by_title asc, c.updated_at desc, c.id desc"#,
        study,
        filters.province,
        filters.district,
        filters.status,
        forms::contains_pattern(&filters.q),
        internal.everywhere,
        scope.everywhere,
        &scope.districts,
        filters.sort,
        page.limit(),
        page.offset(),
        Filters::date(&filters.from),
        Filters::date(&filters.to),
        &internal.districts,
        &internal.meeting_districts,
    )
    .fetch_all(&pool)
    .await?;
    let has_next = page.has_next(&mut case_studies);
    let choices = places::filter_choices(&pool, &state.choices).await?;
    render(&ListPage {
        can_write: policy::allows(&user, Action::WriteCaseStudy, Scope::Anything),
        ctx,
        filters,
        case_studies,
        choices,
        statuses: STATUSES,
        page,
        has_next,
    })
    .map(IntoResponse::into_response)
}
