//! A plan's header: starting a plan, and correcting it later. A correction is
//! saved only at the version the form was loaded at (docs/records.md); the place is
//! fixed once the plan exists, since its actions' owners and recommendations
//! were chosen for that place.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use sqlx::PgPool;
use time::Date;

use crate::audit::{self, Event};
use crate::auth::policy::{Action, Scope};
use crate::auth::require;
use crate::auth::session::CurrentUser;
use crate::error::{AppError, render};
use crate::geo::places::{self, FilterChoices};
use crate::state::AppState;
use crate::web::forms::{self, FieldErrors, Form};
use crate::web::versioned::{Field, Version, changed_names, changed_since};
use crate::web::{Actor, Ctx, flash};

#[derive(Debug, Default, Clone, serde::Deserialize)]
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
    #[serde(default)]
    version: String,
}

/// A plan's header that passed every check.
struct ValidPlan {
    title_en: String,
    title_km: String,
    study: Option<i64>,
    meeting: Option<i64>,
    start: Date,
    end: Date,
}

#[derive(Template)]
#[template(path = "action_plans/new.html")]
struct FormPage {
    ctx: Ctx,
    /// The plan being corrected; `None` for a new one.
    plan_id: Option<i64>,
    form: PlanForm,
    errors: FieldErrors,
    places: Arc<FilterChoices>,
    /// Technical partnership meetings: (id, date, district in English, in Khmer).
    meetings: Vec<(i64, String, String, String)>,
    theirs: Option<Vec<Field>>,
}

impl FormPage {
    async fn new(
        ctx: Ctx,
        state: &AppState,
        plan_id: Option<i64>,
        form: PlanForm,
    ) -> Result<FormPage, AppError> {
        let meetings = sqlx::query!(
            "select a.id, a.held_on, d.name_en, d.name_km from activities a
             join districts d on d.code = a.district_code
             where a.kind = 'technical_meeting' order by a.held_on desc, a.id desc"
        )
        .fetch_all(&state.pool)
        .await?
        .into_iter()
        .map(|row| (row.id, row.held_on.to_string(), row.name_en, row.name_km))
        .collect();
        Ok(FormPage {
            places: places::filter_choices(state).await?,
            ctx,
            plan_id,
            form,
            errors: FieldErrors::default(),
            meetings,
            theirs: None,
        })
    }

    fn is_place(&self, code: &str) -> bool {
        self.places.provinces.iter().any(|province| {
            province.place.code == code
                || province
                    .districts
                    .iter()
                    .any(|district| district.code == code)
        })
    }

    /// The form's fields checked, or why not.
    fn check(&self) -> Result<ValidPlan, FieldErrors> {
        let form = &self.form;
        let mut errors = FieldErrors::default();
        let title_en = forms::optional_text(&mut errors, "title_en", &form.title_en, 300);
        let title_km = forms::optional_text(&mut errors, "title_km", &form.title_km, 300);
        if title_en.is_empty() && title_km.is_empty() {
            errors.add("title_en", "case-study-title-required");
        }
        if !self.is_place(&form.place) {
            errors.add("place", "error-choose");
        }
        let study = optional_id(&mut errors, "study_id", &form.study_id, |id| {
            self.places.studies.iter().any(|(known, ..)| *known == id)
        });
        let meeting = optional_id(&mut errors, "meeting_id", &form.meeting_id, |id| {
            self.meetings.iter().any(|(known, ..)| *known == id)
        });
        let start = forms::date(&mut errors, "period_start", &form.period_start);
        let end = forms::date(&mut errors, "period_end", &form.period_end);
        if let (Some(start), Some(end)) = (start, end)
            && end < start
        {
            errors.add("period_end", "error-end-before-start");
        }
        match (start, end) {
            (Some(start), Some(end)) => errors.into_result(ValidPlan {
                title_en,
                title_km,
                study,
                meeting,
                start,
                end,
            }),
            _ => Err(errors),
        }
    }

    /// The form's fields as the conflict box names them.
    fn fields(&self, form: &PlanForm) -> Vec<Field> {
        let t = |key: &str| self.ctx.t(key);
        let study = self
            .places
            .studies
            .iter()
            .find(|(id, ..)| id.to_string() == form.study_id)
            .map(|(_, en, km)| self.ctx.pick(en, km).to_owned())
            .unwrap_or_default();
        let meeting = self
            .meetings
            .iter()
            .find(|(id, ..)| id.to_string() == form.meeting_id)
            .map(|(_, date, en, km)| format!("{date} · {}", self.ctx.pick(en, km)))
            .unwrap_or_default();
        vec![
            (t("field-title-en"), form.title_en.clone()),
            (t("field-title-km"), form.title_km.clone()),
            (t("field-study"), study),
            (t("plans-meeting"), meeting),
            (t("field-period-start"), form.period_start.clone()),
            (t("field-period-end"), form.period_end.clone()),
        ]
    }
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

fn plan_event(
    user: &CurrentUser,
    action: &'static str,
    id: i64,
    summary: String,
) -> Event<'static> {
    Event {
        actor_id: Some(user.id),
        action,
        entity: "action_plan",
        entity_id: Some(id.to_string()),
        summary,
        ip: None,
    }
}

pub async fn new_form(
    ctx: Ctx,
    user: CurrentUser,
    State(state): State<AppState>,
) -> Result<Response, AppError> {
    require(&user, Action::ManagePlans, Scope::Anything)?;
    let page = FormPage::new(ctx, &state, None, PlanForm::default()).await?;
    render(&page).map(IntoResponse::into_response)
}

pub async fn create(
    ctx: Ctx,
    Actor { user, session, ip }: Actor,
    State(state): State<AppState>,
    Form(form): Form<PlanForm>,
) -> Result<Response, AppError> {
    require(&user, Action::ManagePlans, Scope::Anything)?;
    let mut page = FormPage::new(ctx, &state, None, form).await?;
    let plan = match page.check() {
        Ok(plan) => plan,
        Err(errors) => {
            page.errors = errors;
            return Err(AppError::invalid(&page));
        }
    };
    let place = &page.form.place;
    let district = (place.len() == 4).then(|| place.clone());
    let mut tx = state.pool.begin().await?;
    let id = sqlx::query_scalar!(
        "insert into action_plans (title_en, title_km, district_code, province_code, study_id, meeting_id, period_start, period_end)
         values ($1, $2, $3, $4, $5, $6, $7, $8) returning id",
        plan.title_en,
        plan.title_km,
        district,
        place[..2].to_owned(),
        plan.study,
        plan.meeting,
        plan.start,
        plan.end,
    )
    .fetch_one(&mut *tx)
    .await?;
    let summary = format!("{place} {}", plan.title_en);
    audit::record(
        &mut *tx,
        Event {
            ip,
            ..plan_event(&user, "action_plan_created", id, summary)
        },
    )
    .await?;
    tx.commit().await?;
    flash(&session, "saved", "").await?;
    Ok(Redirect::to(&format!("/action-plans/{id}")).into_response())
}

/// The plan as its form shows it.
async fn stored(pool: &PgPool, id: i64) -> Result<PlanForm, AppError> {
    let row = sqlx::query!(
        "select title_en, title_km, coalesce(district_code, province_code) as place, study_id, meeting_id,
                period_start, period_end, version
         from action_plans where id = $1",
        id
    )
    .fetch_optional(pool)
    .await?
    .ok_or(AppError::NotFound)?;
    let id_text = |id: Option<i64>| id.map(|id| id.to_string()).unwrap_or_default();
    Ok(PlanForm {
        title_en: row.title_en,
        title_km: row.title_km,
        place: row.place.unwrap_or_default(),
        study_id: id_text(row.study_id),
        meeting_id: id_text(row.meeting_id),
        period_start: row.period_start.to_string(),
        period_end: row.period_end.to_string(),
        version: row.version.to_string(),
    })
}

pub async fn edit_form(
    ctx: Ctx,
    user: CurrentUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    require(&user, Action::ManagePlans, Scope::Anything)?;
    let form = stored(&state.pool, id).await?;
    let page = FormPage::new(ctx, &state, Some(id), form).await?;
    render(&page).map(IntoResponse::into_response)
}

pub async fn update(
    ctx: Ctx,
    Actor { user, session, ip }: Actor,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Form(sent): Form<PlanForm>,
) -> Result<Response, AppError> {
    require(&user, Action::ManagePlans, Scope::Anything)?;
    let current = stored(&state.pool, id).await?;
    let form = PlanForm {
        place: current.place.clone(),
        ..sent
    };
    let mut page = FormPage::new(ctx, &state, Some(id), form).await?;
    let plan = match page.check() {
        Ok(plan) => plan,
        Err(errors) => {
            page.errors = errors;
            return Err(AppError::invalid(&page));
        }
    };
    let expected = Version::parse(&page.form.version)?;
    let mut tx = state.pool.begin().await?;
    let saved = sqlx::query_scalar!(
        "update action_plans set title_en = $3, title_km = $4, study_id = $5, meeting_id = $6,
                                 period_start = $7, period_end = $8, version = version + 1
         where id = $1 and version = $2 returning version",
        id,
        expected.number(),
        plan.title_en,
        plan.title_km,
        plan.study,
        plan.meeting,
        plan.start,
        plan.end,
    )
    .fetch_optional(&mut *tx)
    .await?;
    if saved.is_none() {
        drop(tx);
        let theirs = changed_since(page.fields(&current), &page.fields(&page.form));
        page.form.version = current.version;
        page.theirs = Some(theirs);
        return Err(AppError::stale(&page));
    }
    let changed = changed_names(page.fields(&page.form), &page.fields(&current));
    audit::record(
        &mut *tx,
        Event {
            ip,
            ..plan_event(&user, "action_plan_updated", id, changed)
        },
    )
    .await?;
    tx.commit().await?;
    flash(&session, "saved", "").await?;
    Ok(Redirect::to(&format!("/action-plans/{id}")).into_response())
}
