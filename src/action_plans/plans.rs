//! The action plans: the index, a new plan, and one plan with its actions, its
//! timeline and its progress.
//!
//! A plan's progress is the plain average of its actions' current progress,
//! cancelled actions left out: every action weighs the same, whatever its budget,
//! because budgets are often unknown or in kind.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use sqlx::PgPool;
use time::Date;

use super::action_form::ActionForm;
use super::actions::Choices;
use super::timeline::{self, Bar};
use super::{ActionStatus, Lead, is_overdue};
use crate::auth::policy::{self, Action, Scope};
use crate::auth::session::CurrentUser;
use crate::db::cache::GenerationCache;
use crate::error::{AppError, render};
use crate::format::today;
use crate::geo::places::{self, FilterChoices};
use crate::state::AppState;
use crate::web::forms::FieldErrors;
use crate::web::{Ctx, Page};

pub struct PlanRow {
    pub id: i64,
    pub title_en: String,
    pub title_km: String,
    pub place_en: String,
    pub place_km: String,
    pub period_start: Date,
    pub period_end: Date,
    pub actions: i64,
    pub progress: i32,
    pub overdue: i64,
}

#[derive(Template)]
#[template(path = "action_plans/index.html")]
struct IndexPage<'a> {
    ctx: Ctx,
    plans: &'a [PlanRow],
    page: Page,
    has_next: bool,
    can_create: bool,
}

/// The statement of `plan_rows` reads one more (`limit 51`), as every list does.
const PAGE_SIZE: i64 = 50;

/// One page of plans, newest first, with their roll-up, named in `places`.
async fn plan_rows(
    pool: &PgPool,
    page: Page,
    places: &FilterChoices,
) -> Result<Vec<PlanRow>, AppError> {
    let rows = sqlx::query!(
        // The roll-up is kept on the plan (migration 0009); only "overdue"
        // depends on the day: the open actions' due dates, sorted, that fall
        // before today (`width_bucket` counts them by bisection). The limit is
        // written out so that one plan made for the statement fits every page.
        r#"select p.id, p.title_en, p.title_km, coalesce(p.district_code, p.province_code) as "place!",
                  p.period_start, p.period_end, p.action_count, p.progress,
                  width_bucket($1::date - 1, p.open_due_dates) as "overdue!"
           from action_plans p
           order by p.period_start desc, p.id desc
           limit 51 offset $2"#,
        today(),
        page.offset(),
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let (place_en, place_km) = places.names(&row.place);
            PlanRow {
                id: row.id,
                title_en: row.title_en,
                title_km: row.title_km,
                place_en,
                place_km,
                period_start: row.period_start,
                period_end: row.period_end,
                actions: row.action_count.into(),
                progress: row.progress,
                overdue: row.overdue.into(),
            }
        })
        .collect())
}

/// A page of plans, by number and day ("overdue" counts from today), until
/// the data changes; and whether another page follows.
type ListedCache = GenerationCache<(i64, Date), (Vec<PlanRow>, bool)>;

#[derive(Debug, Default, serde::Deserialize)]
pub struct PageQuery {
    page: Option<i64>,
}

pub async fn list(
    ctx: Ctx,
    user: CurrentUser,
    State(state): State<AppState>,
    Query(query): Query<PageQuery>,
) -> Result<Response, AppError> {
    let page = Page::new(query.page, PAGE_SIZE);
    let listed = state
        .kept("action_plan_pages", ListedCache::new)
        .get((page.number, today()), async || {
            let places = places::filter_choices(&state).await?;
            let mut plans = plan_rows(&state.pool, page, &places).await?;
            let has_next = page.has_next(&mut plans);
            Ok::<_, AppError>((plans, has_next))
        })
        .await?;
    let (plans, has_next) = listed.as_ref();
    render(&IndexPage {
        plans,
        page,
        has_next: *has_next,
        can_create: policy::allows(&user, Action::ManagePlans, Scope::Anything),
        ctx,
    })
    .map(IntoResponse::into_response)
}

/// An action as the plan page lists it, with its current state.
pub struct ActionRow {
    pub id: i64,
    pub description_en: String,
    pub description_km: String,
    pub owner: String,
    pub lead: Lead,
    pub starts_on: Date,
    pub due_on: Date,
    pub budget_riel: i64,
    pub status: ActionStatus,
    pub progress: i32,
    /// The recommendations it implements: ids and texts, in the same order.
    pub recommendation_ids: Vec<i64>,
    pub recommendation_texts: Vec<String>,
}

impl ActionRow {
    pub fn budget_text(&self) -> String {
        crate::format::riel(self.budget_riel)
    }
}

/// The plan's header and roll-up.
pub struct PlanView {
    pub id: i64,
    pub title_en: String,
    pub title_km: String,
    pub district_code: Option<String>,
    pub province_code: String,
    pub place_en: String,
    pub place_km: String,
    pub period_start: Date,
    pub period_end: Date,
    pub progress: i32,
    /// The study the plan follows and the technical meeting that made it.
    pub study_id: Option<i64>,
    pub study_title: Option<String>,
    pub study_title_km: Option<String>,
    pub meeting_id: Option<i64>,
    pub meeting_on: Option<Date>,
}

/// A plan's page as read: the same for every signed-in reader.
struct PlanReads {
    plan: PlanView,
    actions: Vec<ActionRow>,
}

/// Plans as read, by id, until the data changes; `None` is a 404.
type PlanCache = GenerationCache<i64, Option<PlanReads>>;

/// The add-an-action form's choices, by plan, until the data changes: a
/// cycle's hundred recommendations and the country's owners on every view.
type ChoicesCache = GenerationCache<i64, Choices>;

#[derive(Template)]
#[template(path = "action_plans/show.html")]
struct ShowPage<'a> {
    ctx: Ctx,
    plan: &'a PlanView,
    actions: &'a [ActionRow],
    overdue: Vec<bool>,
    bars: Vec<Bar>,
    today_x: Option<i64>,
    svg_height: i64,
    can_manage: bool,
    choices: &'a Choices,
    leads: [Lead; 3],
    new_action: ActionForm,
    no_errors: FieldErrors,
}

pub async fn show(
    ctx: Ctx,
    user: CurrentUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let pool = &state.pool;
    let reads = state
        .kept("action_plans", PlanCache::large)
        .get(id, async || plan_as_read(pool, id).await)
        .await?;
    let PlanReads { plan, actions } = reads.as_ref().as_ref().ok_or(AppError::NotFound)?;
    let can_manage = policy::allows(&user, Action::ManagePlans, Scope::Anything);
    let choices = if can_manage {
        state
            .kept("action_choices", ChoicesCache::large)
            .get(id, async || super::actions::choices(pool, plan, &[]).await)
            .await?
    } else {
        Arc::default()
    };
    let today = today();
    let overdue: Vec<bool> = actions
        .iter()
        .map(|a| is_overdue(a.due_on, a.status, today))
        .collect();
    let rows: Vec<_> = actions
        .iter()
        .zip(&overdue)
        .map(|(a, late)| {
            let label = if a.description_en.is_empty() {
                &a.description_km
            } else {
                &a.description_en
            };
            (
                label.clone(),
                a.starts_on,
                a.due_on,
                a.progress,
                a.status,
                *late,
            )
        })
        .collect();
    let (bars, today_x) = timeline::layout(plan.period_start, plan.period_end, &rows, today);
    render(&ShowPage {
        svg_height: (bars.len() as i64).max(1) * timeline::ROW + 10,
        ctx,
        plan,
        actions,
        overdue,
        bars,
        today_x,
        can_manage,
        choices: &choices,
        leads: Lead::ALL,
        new_action: ActionForm {
            lead: Lead::ALL[0].code().to_owned(),
            ..ActionForm::default()
        },
        no_errors: FieldErrors::default(),
    })
    .map(IntoResponse::into_response)
}

/// The plan and its actions, each with the recommendations it implements.
async fn plan_as_read(pool: &PgPool, id: i64) -> Result<Option<PlanReads>, AppError> {
    let Some(plan) = sqlx::query_as!(
        PlanView,
        r#"select p.id, p.title_en, p.title_km, p.district_code, p.province_code,
                  coalesce(d.name_en, v.name_en) as "place_en!", coalesce(d.name_km, v.name_km) as "place_km!",
                  p.period_start, p.period_end,
                  coalesce((select round(avg(a.progress))::int from actions a
                            where a.plan_id = p.id and a.status <> 'cancelled'), 0) as "progress!",
                  p.study_id, s.title_en as "study_title?", s.title_km as "study_title_km?", p.meeting_id, m.held_on as "meeting_on?"
           from action_plans p join provinces v on v.code = p.province_code
           left join districts d on d.code = p.district_code
           left join studies s on s.id = p.study_id
           left join activities m on m.id = p.meeting_id
           where p.id = $1"#,
        id
    )
    .fetch_optional(pool)
    .await?
    else {
        return Ok(None);
    };
    let actions = sqlx::query_as!(
        ActionRow,
        r#"select a.id, a.description_en, a.description_km, o.name_en as owner, a.lead as "lead: Lead",
                  a.starts_on, a.due_on, a.budget_riel, a.status as "status!: ActionStatus", a.progress as "progress!",
                  array(select ar.recommendation_id from action_recommendations ar
                        where ar.action_id = a.id order by 1) as "recommendation_ids!",
                  array(select coalesce(nullif(r.text_en, ''), r.text_km) from action_recommendations ar
                        join recommendations r on r.id = ar.recommendation_id
                        where ar.action_id = a.id order by ar.recommendation_id) as "recommendation_texts!"
           from actions a join organizations o on o.id = a.owner_organization_id
           where a.plan_id = $1 order by a.starts_on, a.id"#,
        id
    )
    .fetch_all(pool)
    .await?;
    Ok(Some(PlanReads { plan, actions }))
}
