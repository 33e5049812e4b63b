//! `/api/v1/actions` and `/api/v1/action-updates`: the joint action plans'
//! actions with their latest report, and every report; a note marked internal
//! only for those who may read it.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Serialize;
use utoipa::ToSchema;

use super::auth::ApiUser;
use super::page::{ApiQuery, ListQuery, checked, json};
use super::problem::{ListAnswers, Problem};
use crate::auth::policy;
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct Action {
    pub id: i64,
    pub plan_id: i64,
    pub plan_title: String,
    pub province_code: String,
    /// None for a province-level plan.
    pub district_code: Option<String>,
    pub description_en: String,
    pub description_km: String,
    pub owner: String,
    pub starts_on: String,
    pub due_on: String,
    pub budget_riel: i64,
    /// not_started, in_progress, completed, blocked, cancelled: from the latest report.
    pub status: String,
    pub progress: i32,
    pub reported_on: Option<String>,
    pub overdue: bool,
    /// The latest report's note, where the owner may read it.
    pub note: String,
    pub recommendation_ids: Vec<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ActionPage {
    pub data: Vec<Action>,
    pub next_cursor: Option<String>,
}

/// The actions of the joint action plans, with their latest progress report.
#[utoipa::path(
    get,
    path = "/api/v1/actions",
    params(ListQuery),
    security(("token" = [])),
    responses(
        (status = 200, description = "A page of actions", body = ActionPage),
        ListAnswers
    )
)]
pub async fn actions(
    caller: ApiUser,
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Response, Problem> {
    let (s, window) = checked(&state, &caller, &query).await?;
    let internal = policy::internal_text_scope(&caller.user);
    let mut data: Vec<Action> = sqlx::query!(
        r#"select a.id as "id!", a.plan_id as "plan_id!",
                  coalesce(nullif(p.title_en, ''), p.title_km) as "plan_title!",
                  a.province_code as "province_code!", a.district_code,
                  x.description_en, x.description_km, o.name_en as owner,
                  x.starts_on, x.due_on, x.budget_riel,
                  a.status as "status!", a.progress as "progress!", a.reported_on,
                  (a.due_on < $6 and a.status not in ('completed', 'cancelled')) as "overdue!",
                  coalesce((select u.note from action_updates u
                            where u.id = a.update_id
                              and (not u.internal or $7 or a.district_code = any($8))), '') as "note!",
                  array(select ar.recommendation_id from action_recommendations ar
                        where ar.action_id = a.id order by 1) as "recommendation_ids!"
           from current_actions($1, $2, $3, $4, $5) a
           join actions x on x.id = a.id
           join action_plans p on p.id = a.plan_id
           join organizations o on o.id = x.owner_organization_id
           where ($9::bigint is null or p.study_id in (select st.id from studies st where st.project_id = $9))
             and a.id > $10
           order by a.id limit $11"#,
        s.study,
        s.province,
        s.district,
        s.from,
        s.to,
        crate::format::today(),
        internal.everywhere,
        &internal.any_districts(),
        s.project,
        window.after,
        window.fetch(),
    )
    .fetch_all(&state.pool)
    .await?
    .into_iter()
    .map(|row| Action {
        id: row.id,
        plan_id: row.plan_id,
        plan_title: row.plan_title,
        province_code: row.province_code,
        district_code: row.district_code,
        description_en: row.description_en,
        description_km: row.description_km,
        owner: row.owner,
        starts_on: row.starts_on.to_string(),
        due_on: row.due_on.to_string(),
        budget_riel: row.budget_riel,
        status: row.status,
        progress: row.progress,
        reported_on: row.reported_on.map(|day| day.to_string()),
        overdue: row.overdue,
        note: row.note,
        recommendation_ids: row.recommendation_ids,
    })
    .collect();
    let next_cursor = window.next(&mut data, |action| action.id);
    Ok(json(&headers, &ActionPage { data, next_cursor }))
}

/// A progress report on an action.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActionUpdate {
    pub id: i64,
    pub action_id: i64,
    pub reported_on: String,
    /// not_started, in_progress, completed, blocked, cancelled.
    pub status: String,
    pub progress: i32,
    /// Empty where the note is internal and the owner may not read it.
    pub note: String,
    /// The organization that reported it.
    pub reporter: Option<String>,
    /// Is it confirmed by the other side of the joint plan?
    pub confirmed: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ActionUpdatePage {
    pub data: Vec<ActionUpdate>,
    pub next_cursor: Option<String>,
}

/// Every progress report of the actions, by id: their history, where
/// `/actions` gives the latest.
#[utoipa::path(
    get,
    path = "/api/v1/action-updates",
    params(ListQuery),
    security(("token" = [])),
    responses(
        (status = 200, description = "A page of progress reports", body = ActionUpdatePage),
        ListAnswers
    )
)]
pub async fn action_updates(
    caller: ApiUser,
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Response, Problem> {
    let (s, window) = checked(&state, &caller, &query).await?;
    let internal = policy::internal_text_scope(&caller.user);
    let mut data: Vec<ActionUpdate> = sqlx::query!(
        r#"select u.id, u.action_id, u.reported_on, u.status, u.progress,
                  case when not u.internal or $6 or a.district_code = any($7) then u.note else '' end as "note!",
                  o.name_en as "reporter?", u.confirmed_at is not null as "confirmed!"
           from current_actions($1, $2, $3, $4, $5) a
           join action_plans p on p.id = a.plan_id
           join action_updates u on u.action_id = a.id
           left join organizations o on o.id = u.reporter_organization_id
           where ($8::bigint is null or p.study_id in (select st.id from studies st where st.project_id = $8))
             and u.id > $9
           order by u.id limit $10"#,
        s.study,
        s.province,
        s.district,
        s.from,
        s.to,
        internal.everywhere,
        &internal.any_districts(),
        s.project,
        window.after,
        window.fetch(),
    )
    .fetch_all(&state.pool)
    .await?
    .into_iter()
    .map(|row| ActionUpdate {
        id: row.id,
        action_id: row.action_id,
        reported_on: row.reported_on.to_string(),
        status: row.status,
        progress: row.progress,
        note: row.note,
        reporter: row.reporter,
        confirmed: row.confirmed,
    })
    .collect();
    let next_cursor = window.next(&mut data, |update| update.id);
    Ok(json(&headers, &ActionUpdatePage { data, next_cursor }))
}
