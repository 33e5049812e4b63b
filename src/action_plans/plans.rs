//! The action plans: the index, a new plan, and one plan with its actions, its
//! timeline and its progress.
//!
//! A plan's progress is the plain average of its actions' current progress,
//! cancelled actions left out: every action weighs the same, whatever its budget,
//! because budgets are often unknown or in kind.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use sqlx::PgPool;
use time::Date;
use tower_sessions::Session;

use super::timeline::{self, Bar};
use super::{LEADS, is_overdue};
use crate::activities::form::today;
use crate::audit::{self, Event};
use crate::auth::policy::{self, Action, Scope};
use crate::auth::require;
use crate::auth::session::CurrentUser;
use crate::error::{AppError, render};
use crate::web::forms::{self, FieldErrors, Form};
use crate::web::{ClientIp, Ctx, Page, flash};

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
struct IndexPage {
    ctx: Ctx,
    plans: Vec<PlanRow>,
    page: Page,
    has_next: bool,
    can_create: bool,
}

const PAGE_SIZE: i64 = 50;

/// One page of plans, newest first, with their roll-up.
async fn plan_rows(pool: &PgPool, page: Page) -> Result<Vec<PlanRow>, AppError> {
    Ok(sqlx::query_as!(
        PlanRow,
        r#"with shown as (
               select * from action_plans
               order by period_start desc, id desc limit $2 offset $3
           )
           select p.id, p.title_en, p.title_km,
                  coalesce(d.name_en, v.name_en) as "place_en!", coalesce(d.name_km, v.name_km) as "place_km!",
                  p.period_start, p.period_end,
                  s.actions as "actions!", s.progress as "progress!", s.overdue as "overdue!"
           from shown p
           join provinces v on v.code = p.province_code
           left join districts d on d.code = p.district_code
           -- Per plan, so each reads its own actions from the covering index.
           cross join lateral (
               select count(*) as actions,
                      coalesce(round(avg(a.progress) filter (where a.status <> 'cancelled')), 0)::int as progress,
                      count(*) filter (where a.due_on < $1
                                       and a.status not in ('completed', 'cancelled')) as overdue
               from actions a where a.plan_id = p.id
           ) s
           order by p.period_start desc, p.id desc"#,
        today(),
        page.limit(),
        page.offset(),
    )
    .fetch_all(pool)
    .await?)
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct PageQuery {
    page: Option<i64>,
}

pub async fn list(
    ctx: Ctx,
    user: CurrentUser,
    State(pool): State<PgPool>,
    Query(query): Query<PageQuery>,
) -> Result<Response, AppError> {
    let page = Page::new(query.page, PAGE_SIZE);
    let mut plans = plan_rows(&pool, page).await?;
    let has_next = page.has_next(&mut plans);
    render(&IndexPage {
        plans,
        page,
        has_next,
        can_create: policy::allows(&user, Action::ManagePlans, Scope::Anything),
        ctx,
    })
    .map(IntoResponse::into_response)
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct PlanForm {
    #[serde(default)]
    title_en: String,
    #[serde(default)]
    title_km: String,
    /// A district code (4 digits) or a province code (2 digits).
    #[serde(default)]
    place: String,
    #[serde(default)]
    study_id: String,
    #[serde(default)]
    meeting_id: String,
    #[serde(default)]
    period_start: String,
    #[serde(default)]
    period_end: String,
}

#[derive(Template)]
#[template(path = "action_plans/new.html")]
struct NewPage {
    ctx: Ctx,
    form: PlanForm,
    errors: FieldErrors,
    /// (code, name, kind) of provinces and districts.
    places: Vec<(String, String, String)>,
    studies: Vec<(i64, String)>,
    meetings: Vec<(i64, String)>,
}

async fn new_page(
    ctx: Ctx,
    pool: &PgPool,
    form: PlanForm,
    errors: FieldErrors,
) -> Result<NewPage, AppError> {
    let rows = sqlx::query!(
        r#"select 'place' as "kind!", code as "code!", name_en as "label!", 0::bigint as "id!" from provinces
           union all select 'place', code, name_en, 0 from districts
           union all select 'study', '', title_en, id from studies
           union all select 'meeting', district_code, held_on::text || ' · ' || district_code, id
           from activities where kind = 'technical_meeting'
           order by 1, 2"#
    )
    .fetch_all(pool)
    .await?;
    let mut page = NewPage {
        ctx,
        form,
        errors,
        places: Vec::new(),
        studies: Vec::new(),
        meetings: Vec::new(),
    };
    for row in rows {
        match row.kind.as_str() {
            "place" => {
                let level = if row.code.len() == 2 {
                    "province"
                } else {
                    "district"
                };
                page.places.push((row.code, row.label, level.to_owned()));
            }
            "study" => page.studies.push((row.id, row.label)),
            _ => page.meetings.push((row.id, row.label)),
        }
    }
    Ok(page)
}

pub async fn new_form(
    ctx: Ctx,
    user: CurrentUser,
    State(pool): State<PgPool>,
) -> Result<Response, AppError> {
    require(&user, Action::ManagePlans, Scope::Anything)?;
    render(&new_page(ctx, &pool, PlanForm::default(), FieldErrors::default()).await?)
        .map(IntoResponse::into_response)
}

pub async fn create(
    ctx: Ctx,
    user: CurrentUser,
    session: Session,
    ClientIp(ip): ClientIp,
    State(pool): State<PgPool>,
    Form(form): Form<PlanForm>,
) -> Result<Response, AppError> {
    require(&user, Action::ManagePlans, Scope::Anything)?;
    let page = new_page(ctx, &pool, form, FieldErrors::default()).await?;
    let form = &page.form;
    let mut errors = FieldErrors::default();
    let title_en = forms::optional_text(&mut errors, "title_en", &form.title_en, 300);
    let title_km = forms::optional_text(&mut errors, "title_km", &form.title_km, 300);
    if title_en.is_empty() && title_km.is_empty() {
        errors.add("title_en", "case-study-title-required");
    }
    if !page.places.iter().any(|(code, _, _)| *code == form.place) {
        errors.add("place", "error-choose");
    }
    let study = optional_id(&mut errors, "study_id", &form.study_id, |id| {
        page.studies.iter().any(|(known, _)| *known == id)
    });
    let meeting = optional_id(&mut errors, "meeting_id", &form.meeting_id, |id| {
        page.meetings.iter().any(|(known, _)| *known == id)
    });
    let start = forms::date(&mut errors, "period_start", &form.period_start);
    let end = forms::date(&mut errors, "period_end", &form.period_end);
    if let (Some(start), Some(end)) = (start, end)
        && end < start
    {
        errors.add("period_end", "error-end-before-start");
    }
    let (Some(start), Some(end), true) = (start, end, errors.is_empty()) else {
        let page = NewPage { errors, ..page };
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response());
    };
    let district = (form.place.len() == 4).then(|| form.place.clone());
    let province = form.place[..2].to_owned();
    let mut tx = pool.begin().await?;
    let id = sqlx::query_scalar!(
        "insert into action_plans (title_en, title_km, district_code, province_code, study_id, meeting_id, period_start, period_end)
         values ($1, $2, $3, $4, $5, $6, $7, $8) returning id",
        title_en,
        title_km,
        district,
        province,
        study,
        meeting,
        start,
        end,
    )
    .fetch_one(&mut *tx)
    .await?;
    audit::record(
        &mut *tx,
        Event {
            actor_id: Some(user.id),
            action: "action_plan_created",
            entity: "action_plan",
            entity_id: Some(id.to_string()),
            summary: format!("{} {title_en}", form.place),
            ip,
        },
    )
    .await?;
    tx.commit().await?;
    flash(&session, "saved", "").await?;
    Ok(Redirect::to(&format!("/action-plans/{id}")).into_response())
}

fn optional_id(
    errors: &mut FieldErrors,
    field: &'static str,
    value: &str,
    known: impl Fn(i64) -> bool,
) -> Option<i64> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    let id = value.parse::<i64>().ok().filter(|id| known(*id));
    if id.is_none() {
        errors.add(field, "error-choose");
    }
    id
}

/// An action as the plan page lists it, with its current state.
pub struct ActionRow {
    pub id: i64,
    pub description_en: String,
    pub description_km: String,
    pub owner: String,
    pub lead: String,
    pub starts_on: Date,
    pub due_on: Date,
    pub budget_riel: i64,
    pub status: String,
    pub progress: i32,
}

impl ActionRow {
    pub fn budget_text(&self) -> String {
        crate::web::riel(self.budget_riel)
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
}

#[derive(Template)]
#[template(path = "action_plans/show.html")]
struct ShowPage {
    ctx: Ctx,
    plan: PlanView,
    actions: Vec<ActionRow>,
    overdue: Vec<bool>,
    bars: Vec<Bar>,
    today_x: Option<i64>,
    svg_height: i64,
    can_manage: bool,
    choices: super::actions::Choices,
    leads: [&'static str; 3],
}

pub async fn show(
    ctx: Ctx,
    user: CurrentUser,
    State(pool): State<PgPool>,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let plan = sqlx::query_as!(
        PlanView,
        r#"select p.id, p.title_en, p.title_km, p.district_code, p.province_code,
                  coalesce(d.name_en, v.name_en) as "place_en!", coalesce(d.name_km, v.name_km) as "place_km!",
                  p.period_start, p.period_end,
                  coalesce((select round(avg(a.progress))::int from actions a
                            where a.plan_id = p.id and a.status <> 'cancelled'), 0) as "progress!"
           from action_plans p join provinces v on v.code = p.province_code
           left join districts d on d.code = p.district_code where p.id = $1"#,
        id
    )
    .fetch_optional(&pool)
    .await?
    .ok_or(AppError::NotFound)?;
    let actions = sqlx::query_as!(
        ActionRow,
        r#"select a.id, a.description_en, a.description_km, o.name_en as owner, a.lead, a.starts_on, a.due_on,
                  a.budget_riel, a.status as "status!", a.progress as "progress!"
           from actions a join organizations o on o.id = a.owner_organization_id
           where a.plan_id = $1 order by a.starts_on, a.id"#,
        id
    )
    .fetch_all(&pool)
    .await?;
    let today = today();
    let overdue: Vec<bool> = actions
        .iter()
        .map(|a| is_overdue(a.due_on, &a.status, today))
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
                a.status.clone(),
                *late,
            )
        })
        .collect();
    let (bars, today_x) = timeline::layout(plan.period_start, plan.period_end, &rows, today);
    let can_manage = policy::allows(&user, Action::ManagePlans, Scope::Anything);
    let choices = if can_manage {
        super::actions::choices(&pool, &plan).await?
    } else {
        super::actions::Choices::default()
    };
    render(&ShowPage {
        svg_height: (bars.len() as i64).max(1) * timeline::ROW + 10,
        ctx,
        plan,
        actions,
        overdue,
        bars,
        today_x,
        can_manage,
        choices,
        leads: LEADS,
    })
    .map(IntoResponse::into_response)
}
