//! `GET /api/v1/activities`: the field records the token's owner may read,
//! with their counts by group and sex as the pages show them to that owner,
//! filtered as the dashboard is, a page at a time.

use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use futures_util::TryStreamExt as _;
use serde::Serialize;
use utoipa::ToSchema;

use super::auth::ApiUser;
use super::page::{ApiQuery, Encoded, Window, checked, list_query, one_of, people};
use super::problem::{ListAnswers, Problem};
use crate::activities::form::{GROUPS, KINDS};
use crate::auth::reader::Reader;
use crate::db::cache::GenerationCache;
use crate::disclosure::{Count, Table};
use crate::geo::places;
use crate::state::AppState;
use crate::web::filters::Selection;

list_query! {
    /// The dashboard's filters, the page, and the activities page's own.
    ActivityQuery {
        /// fgd, interview, consultation, joint_consultation, technical_meeting,
        /// provincial_workshop, national_workshop, training, other.
        kind,
    }
}

/// Participants of one group, by sex.
#[derive(Debug, Serialize, ToSchema)]
pub struct GroupCount {
    /// citizen, cbo, cso, sna_official, council_member, other.
    pub group: &'static str,
    pub female: Option<i64>,
    pub male: Option<i64>,
}

/// An activity. Counts are as the token's owner may see them: rounded
/// outside their own districts unless they are the secretariat, and `null`
/// for some people, fewer than five after rounding.
#[derive(Debug, Serialize, ToSchema)]
pub struct Activity {
    pub id: i64,
    /// fgd, interview, consultation, joint_consultation, technical_meeting,
    /// provincial_workshop, national_workshop, training, other.
    pub kind: String,
    /// The day it was held, YYYY-MM-DD (in Cambodia).
    pub held_on: String,
    pub province_code: String,
    pub district_code: String,
    pub commune_code: Option<String>,
    /// The facilitating organization.
    pub organization: String,
    pub study_id: Option<i64>,
    pub case_study_id: Option<i64>,
    /// Are this activity's counts rounded for the token's owner?
    pub rounded: bool,
    pub participants: Option<i64>,
    pub female: Option<i64>,
    pub male: Option<i64>,
    pub youth: Option<i64>,
    pub persons_with_disabilities: Option<i64>,
    pub groups: Vec<GroupCount>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ActivityPage {
    pub data: Vec<Activity>,
    /// The `cursor` of the next page; `null` on the last.
    pub next_cursor: Option<String>,
}

/// Activities, oldest record first.
#[utoipa::path(
    get,
    path = "/api/v1/activities",
    params(ActivityQuery),
    security(("token" = [])),
    responses(
        (status = 200, description = "A page of activities", body = ActivityPage),
        ListAnswers
    )
)]
pub async fn list(
    caller: ApiUser,
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    ApiQuery(query): ApiQuery<ActivityQuery>,
) -> Result<Response, Problem> {
    let (selection, window) = checked(&state, &caller, &query).await?;
    let kind = one_of(&query.kind, &KINDS)?;
    let reader = Reader::of(&caller.user, &selection.district);
    // The answer depends on the query and on what its reader may see, not on
    // who asks: owners who see alike share it.
    let key = (reader.clone(), raw.unwrap_or_default());
    let pages = state.kept("api_activities", |name, changes| {
        PageCache::with_capacity(name, changes, KEPT_PAGES).side_by_side()
    });
    let encoded = pages
        .get(key, async || {
            Encoded::of(&page(&state, &reader, &selection, window, kind).await?)
        })
        .await?;
    Ok(encoded.answer(&headers))
}

/// Pages of activities kept until the data changes, so that a tool
/// refreshing the same pages does not read them again; a page is at most
/// 500 activities, about 250 kB.
type PageCache = GenerationCache<(Reader, String), Encoded>;
const KEPT_PAGES: usize = 64;

async fn page(
    state: &AppState,
    reader: &Reader,
    selection: &Selection,
    window: Window,
    kind: &str,
) -> Result<ActivityPage, Problem> {
    let s = selection;
    let mut rows = sqlx::query!(
        r#"select a.id as "id!", a.kind as "kind!", a.held_on as "held_on!",
                  a.district_code as "district_code!", a.commune_code,
                  a.facilitating_organization_id as "organization_id!", a.study_id, a.case_study_id,
                  a.youth as "youth!", a.persons_with_disabilities as "persons_with_disabilities!",
                  a.rounded_youth as "rounded_youth!",
                  a.rounded_persons_with_disabilities as "rounded_persons_with_disabilities!",
                  a.female_by_group as "female_by_group!", a.male_by_group as "male_by_group!",
                  a.rounded_female_by_group as "rounded_female_by_group!",
                  a.rounded_male_by_group as "rounded_male_by_group!"
           from visible_activities($1, $2, $3, $4, $5, $6, $7) a
           where ($8::bigint is null or a.study_id in (select st.id from studies st where st.project_id = $8))
             and ($11 = '' or a.kind = $11)
             and a.id > $9
           order by a.id
           limit $10"#,
        s.study,
        s.province,
        s.district,
        s.from,
        s.to,
        reader.everywhere,
        &reader.own_districts,
        s.project,
        window.after,
        window.fetch(),
        kind,
    )
    .fetch(&state.pool);
    // Names come from memory, so the statement reads activities alone.
    let names = places::filter_choices(state).await?;
    let mut data = Vec::new();
    while let Some(row) = rows.try_next().await? {
        let blurred = reader.blurs_in(&row.district_code);
        let at = |list: &[i32], group: usize| list.get(group).copied().unwrap_or(0);
        let grid: Vec<[Count; 2]> = (0..GROUPS.len())
            .map(|group| {
                [
                    Count::new(
                        at(&row.female_by_group, group),
                        at(&row.rounded_female_by_group, group),
                    ),
                    Count::new(
                        at(&row.male_by_group, group),
                        at(&row.rounded_male_by_group, group),
                    ),
                ]
            })
            .collect();
        let table = Table::new(&grid, blurred);
        data.push(Activity {
            id: row.id,
            kind: row.kind,
            held_on: row.held_on.to_string(),
            province_code: row.district_code.get(..2).unwrap_or_default().to_owned(),
            district_code: row.district_code,
            commune_code: row.commune_code,
            organization: names.organization(row.organization_id).to_owned(),
            study_id: row.study_id,
            case_study_id: row.case_study_id,
            rounded: blurred,
            participants: people(table.total()),
            female: people(table.column_total(0)),
            male: people(table.column_total(1)),
            youth: people(Count::new(row.youth, row.rounded_youth).shown(blurred)),
            persons_with_disabilities: people(
                Count::new(
                    row.persons_with_disabilities,
                    row.rounded_persons_with_disabilities,
                )
                .shown(blurred),
            ),
            groups: GROUPS
                .iter()
                .enumerate()
                .map(|(index, group)| GroupCount {
                    group,
                    female: people(table.cell(index, 0)),
                    male: people(table.cell(index, 1)),
                })
                .collect(),
        });
    }
    let next_cursor = window.next(&mut data, |activity| activity.id);
    Ok(ActivityPage { data, next_cursor })
}
