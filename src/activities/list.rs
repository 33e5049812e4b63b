//! `/activities`: the list, filtered, searched, sorted and paged in SQL.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use time::Date;

use super::form::KINDS;
use crate::app::AppState;
use crate::auth::policy::{self, Action, Scope};
use crate::auth::session::CurrentUser;
use crate::disclosure::BySex;
use crate::error::{AppError, render};
use crate::geo::places::{self, FilterChoices};
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

pub struct ActivityRow {
    pub id: i64,
    pub kind: String,
    pub held_on: Date,
    pub district_code: String,
    pub district_en: String,
    pub district_km: String,
    pub organization: String,
    pub total: i64,
    pub female: i64,
}

impl ActivityRow {
    /// The participants as `user` may see them.
    fn participants(&self, user: &CurrentUser) -> BySex {
        let blurred = !policy::allows(
            user,
            Action::ReadSmallCounts,
            Scope::District(&self.district_code),
        );
        BySex::new(self.female, self.total - self.female, blurred)
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
    let pool = state.pool;
    let page = Page::new(filters.page, PAGE_SIZE);
    let scope = policy::unpublished_read_scope(&user);
    let internal = policy::internal_text_scope(&user);
    let study: Option<i64> = filters.study.parse().ok();
    let mut activities = sqlx::query_as!(
        ActivityRow,
        // The page is chosen first, so participants are summed for its rows only
        // (and a generic plan cannot sum them for every activity).
        r#"with shown as (
               select a.id, a.kind, a.held_on, a.district_code, a.facilitating_organization_id,
                      d.name_en as district_en, d.name_km as district_km,
                      case when $11 = 'oldest' then a.held_on end as by_oldest,
                      case when $11 = 'district' then d.name_en end as by_district
               from activities a
               join districts d on d.code = a.district_code
               where ($1::bigint is null or a.study_id = $1)
                 and ($2 = '' or d.province_code = $2)
                 and ($3 = '' or a.district_code = $3)
                 and ($4 = '' or a.kind = $4)
                 and ($5::date is null or a.held_on >= $5)
                 and ($6::date is null or a.held_on <= $6)
                 and ($7 = ''
                      or (reads_internal_text(a.district_code, a.kind, $8, $14, $15)
                          and (a.summary ilike $7 or a.place ilike $7))
                      or exists (select 1 from findings f
                                 where f.activity_id = a.id
                                   and (f.public or reads_internal_text(a.district_code, a.kind, $8, $14, $15))
                                   and (f.text_en || ' ' || f.text_km || ' ' || f.quote) ilike $7))
                 and ($9 or a.district_code = any($10)
                      or exists (select 1 from case_studies c
                                 where c.id = a.case_study_id and c.status in ('published', 'archived')))
               order by by_oldest asc, by_district asc, a.held_on desc, a.id desc
               limit $12 offset $13
           )
           select a.id, a.kind, a.held_on, a.district_code, a.district_en, a.district_km,
                  o.name_en as organization,
                  coalesce(t.total, 0) as "total!", coalesce(t.female, 0) as "female!"
           from shown a
           join organizations o on o.id = a.facilitating_organization_id
           left join lateral (
               select sum(p.count)::bigint as total,
                      (sum(p.count) filter (where p.sex = 'female'))::bigint as female
               from participant_counts p where p.activity_id = a.id
           ) t on true
           order by a.by_oldest asc, a.by_district asc, a.held_on desc, a.id desc"#,
        study,
        filters.province,
        filters.district,
        filters.kind,
        Filters::date(&filters.from),
        Filters::date(&filters.to),
        forms::contains_pattern(&filters.q),
        internal.everywhere,
        scope.everywhere,
        &scope.districts,
        filters.sort,
        page.limit(),
        page.offset(),
        &internal.districts,
        &internal.meeting_districts,
    )
    .fetch_all(&pool)
    .await?;
    let has_next = page.has_next(&mut activities);
    let choices = places::filter_choices(&pool, &state.choices).await?;
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
