//! An action's description, owner, dates, budget and the recommendations it
//! implements: added to a plan, and corrected later at the version the form
//! was loaded at (docs/records.md). Bad input comes back as the form with the input
//! and a message per field.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use sqlx::PgPool;
use time::Date;

use super::Lead;
use super::actions::{Choices, choices};
use super::plans::PlanView;
use crate::audit::{self, Event};
use crate::auth::policy::{Action, Scope};
use crate::auth::require;
use crate::auth::session::CurrentUser;
use crate::error::{AppError, render};
use crate::notifications;
use crate::web::forms::{self, FieldErrors, Form};
use crate::web::versioned::{Field, Version, changed_names, changed_since};
use crate::web::{Actor, Ctx, flash, once};

/// The action form as sent: recommendations may repeat, so it is read from pairs.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct ActionForm {
    pub description_en: String,
    pub description_km: String,
    pub recommendations: Vec<String>,
    pub owner_organization_id: String,
    pub lead: String,
    pub starts_on: String,
    pub due_on: String,
    pub budget_riel: String,
    pub budget_source: String,
    pub indicator: String,
    pub target: String,
    pub version: String,
    /// The one-time key that makes a second send of the form save nothing.
    pub once_key: String,
}

impl ActionForm {
    /// The recommendations as ids (the stored form holds only valid ones).
    fn linked(&self) -> Vec<i64> {
        self.recommendations
            .iter()
            .filter_map(|id| id.parse().ok())
            .collect()
    }

    pub fn recommends(&self, id: &i64) -> bool {
        self.recommendations
            .iter()
            .any(|sent| *sent == id.to_string())
    }

    /// The fields checked against what the plan offers, or why not.
    fn check(&self, choices: &Choices) -> Result<ValidAction, FieldErrors> {
        let mut errors = FieldErrors::default();
        let mut text =
            |field, value: &str, max| forms::optional_text(&mut errors, field, value, max);
        let description_en = text("description_en", &self.description_en, 2_000);
        let description_km = text("description_km", &self.description_km, 2_000);
        let budget_source = text("budget_source", &self.budget_source, 300);
        let indicator = text("indicator", &self.indicator, 500);
        let target = text("target", &self.target, 300);
        if description_en.is_empty() && description_km.is_empty() {
            errors.add("description_en", "error-action-description-title");
        }
        let recommendations: Vec<i64> = self
            .recommendations
            .iter()
            .filter_map(|value| value.parse::<i64>().ok())
            .filter(|id| choices.recommendations.iter().any(|(known, _)| known == id))
            .collect();
        if recommendations.is_empty() || recommendations.len() != self.recommendations.len() {
            errors.add("recommendations", "error-action-recommendation-title");
        }
        let owner = self
            .owner_organization_id
            .parse::<i64>()
            .ok()
            .filter(|id| choices.owners.iter().any(|(known, _)| known == id));
        let lead = Lead::parse(&self.lead);
        if owner.is_none() || lead.is_none() {
            errors.add("owner_organization_id", "error-action-owner-title");
        }
        let starts = forms::date(&mut errors, "starts_on", &self.starts_on);
        let due = forms::date(&mut errors, "due_on", &self.due_on);
        if matches!((starts, due), (Some(starts), Some(due)) if due < starts) {
            errors.add("due_on", "error-action-dates-title");
        }
        let budget = match self.budget_riel.trim() {
            "" => Some(0),
            text => forms::riel(text),
        };
        if budget.is_none() {
            errors.add("budget_riel", "error-action-budget-title");
        }
        let (Some(owner), Some(lead), Some(starts), Some(due), Some(budget)) =
            (owner, lead, starts, due, budget)
        else {
            return Err(errors);
        };
        errors.into_result(ValidAction {
            description_en,
            description_km,
            recommendations,
            owner,
            lead,
            starts,
            due,
            budget,
            budget_source,
            indicator,
            target,
        })
    }
}

/// An action that passed every check.
struct ValidAction {
    description_en: String,
    description_km: String,
    recommendations: Vec<i64>,
    owner: i64,
    lead: Lead,
    starts: Date,
    due: Date,
    budget: i64,
    budget_source: String,
    indicator: String,
    target: String,
}

#[derive(Template)]
#[template(path = "action_plans/action_form.html")]
struct FormPage {
    ctx: Ctx,
    plan: PlanView,
    /// The action being corrected; `None` for a new one.
    action_id: Option<i64>,
    form: ActionForm,
    errors: FieldErrors,
    choices: Choices,
    leads: [Lead; 3],
    theirs: Option<Vec<Field>>,
}

impl FormPage {
    /// The form's fields as the conflict box names them.
    fn fields(&self, form: &ActionForm) -> Vec<Field> {
        let t = |key: &str| self.ctx.t(key);
        let owner = self
            .choices
            .owners
            .iter()
            .find(|(id, _)| id.to_string() == form.owner_organization_id)
            .map(|(_, name)| name.clone())
            .unwrap_or_default();
        let recommendations = self
            .choices
            .recommendations
            .iter()
            .filter(|(id, _)| form.recommends(id))
            .map(|(_, label)| label.as_str())
            .collect::<Vec<_>>()
            .join("; ");
        vec![
            (t("action-description-en"), form.description_en.clone()),
            (t("action-description-km"), form.description_km.clone()),
            (t("action-implements"), recommendations),
            (t("action-owner"), owner),
            (t("action-lead"), self.ctx.label("lead", &form.lead)),
            (t("action-starts"), form.starts_on.clone()),
            (t("action-due"), form.due_on.clone()),
            (t("action-budget"), form.budget_riel.clone()),
            (t("action-budget-source"), form.budget_source.clone()),
            (t("action-indicator"), form.indicator.clone()),
            (t("action-target"), form.target.clone()),
        ]
    }
}

async fn plan(pool: &PgPool, id: i64) -> Result<PlanView, AppError> {
    sqlx::query_as!(
        PlanView,
        r#"select p.id, p.title_en, p.title_km, p.district_code, p.province_code, '' as "place_en!", '' as "place_km!",
                  p.period_start, p.period_end, 0 as "progress!", p.study_id, null::text as "study_title?", null::text as "study_title_km?",
                  p.meeting_id, null::date as "meeting_on?"
           from action_plans p where p.id = $1"#,
        id
    )
    .fetch_optional(pool)
    .await?
    .ok_or(AppError::NotFound)
}

async fn form_page(
    ctx: Ctx,
    pool: &PgPool,
    plan: PlanView,
    action_id: Option<i64>,
    form: ActionForm,
    linked: &[i64],
) -> Result<FormPage, AppError> {
    Ok(FormPage {
        choices: choices(pool, &plan, linked).await?,
        ctx,
        plan,
        action_id,
        form,
        errors: FieldErrors::default(),
        leads: Lead::ALL,
        theirs: None,
    })
}

fn action_event(
    user: &CurrentUser,
    action: &'static str,
    id: i64,
    summary: String,
    ip: Option<String>,
) -> Event<'static> {
    Event {
        actor_id: Some(user.id),
        action,
        entity: "action",
        entity_id: Some(id.to_string()),
        summary,
        ip,
    }
}

async fn link_recommendations(
    tx: &mut sqlx::PgConnection,
    id: i64,
    recommendations: &[i64],
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "delete from action_recommendations where action_id = $1 and recommendation_id <> all($2)",
        id,
        recommendations,
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "insert into action_recommendations (action_id, recommendation_id) select $1, unnest($2::bigint[]) on conflict do nothing",
        id,
        recommendations,
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Adds an action to a plan (the form is on the plan page).
pub async fn create(
    ctx: Ctx,
    Actor { user, session, ip }: Actor,
    State(pool): State<PgPool>,
    Path(plan_id): Path<i64>,
    Form(form): Form<ActionForm>,
) -> Result<Response, AppError> {
    require(&user, Action::ManagePlans, Scope::Anything)?;
    let plan = plan(&pool, plan_id).await?;
    let once_key = once::key(&form.once_key);
    let mut page = form_page(ctx, &pool, plan, None, form, &[]).await?;
    let action = match page.form.check(&page.choices) {
        Ok(action) => action,
        Err(errors) => {
            page.errors = errors;
            return Err(AppError::invalid(&page));
        }
    };
    once::write_once(&pool, &session, (once_key, user.id), "saved", async |tx| {
        let id = sqlx::query_scalar!(
            "insert into actions (plan_id, description_en, description_km, owner_organization_id, lead, starts_on,
                                  due_on, budget_riel, budget_source, indicator, target)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) returning id",
            plan_id,
            action.description_en,
            action.description_km,
            action.owner,
            action.lead.code(),
            action.starts,
            action.due,
            action.budget,
            action.budget_source,
            action.indicator,
            action.target,
        )
        .fetch_one(&mut *tx)
        .await?;
        link_recommendations(tx, id, &action.recommendations).await?;
        notifications::tell(tx, &user, notifications::Event::ActionAssigned(id)).await?;
        let summary = format!("plan {plan_id}");
        audit::record(
            &mut *tx,
            action_event(&user, "action_created", id, summary, ip),
        )
        .await?;
        Ok(format!("/actions/{id}"))
    })
    .await
}

/// The action as its form shows it, with its plan.
async fn stored(pool: &PgPool, id: i64) -> Result<(i64, ActionForm), AppError> {
    let row = sqlx::query!(
        r#"select plan_id, description_en, description_km, owner_organization_id, lead, starts_on, due_on,
                  budget_riel, budget_source, indicator, target, version,
                  array(select ar.recommendation_id::text from action_recommendations ar
                        where ar.action_id = a.id order by 1) as "recommendations!"
           from actions a where id = $1"#,
        id
    )
    .fetch_optional(pool)
    .await?
    .ok_or(AppError::NotFound)?;
    let form = ActionForm {
        description_en: row.description_en,
        description_km: row.description_km,
        recommendations: row.recommendations,
        owner_organization_id: row.owner_organization_id.to_string(),
        lead: row.lead,
        starts_on: row.starts_on.to_string(),
        due_on: row.due_on.to_string(),
        budget_riel: crate::format::riel(row.budget_riel)
            .trim_end_matches(" ៛")
            .to_owned(),
        budget_source: row.budget_source,
        indicator: row.indicator,
        target: row.target,
        version: row.version.to_string(),
        once_key: String::new(),
    };
    Ok((row.plan_id, form))
}

pub async fn edit_form(
    ctx: Ctx,
    user: CurrentUser,
    State(pool): State<PgPool>,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    require(&user, Action::ManagePlans, Scope::Anything)?;
    let (plan_id, form) = stored(&pool, id).await?;
    let linked = form.linked();
    let plan = plan(&pool, plan_id).await?;
    let page = form_page(ctx, &pool, plan, Some(id), form, &linked).await?;
    render(&page).map(IntoResponse::into_response)
}

pub async fn update(
    ctx: Ctx,
    Actor { user, session, ip }: Actor,
    State(pool): State<PgPool>,
    Path(id): Path<i64>,
    Form(form): Form<ActionForm>,
) -> Result<Response, AppError> {
    require(&user, Action::ManagePlans, Scope::Anything)?;
    let (plan_id, current) = stored(&pool, id).await?;
    let sent = form;
    let plan = plan(&pool, plan_id).await?;
    let linked = current.linked();
    let mut page = form_page(ctx, &pool, plan, Some(id), sent, &linked).await?;
    let action = match page.form.check(&page.choices) {
        Ok(action) => action,
        Err(errors) => {
            page.errors = errors;
            return Err(AppError::invalid(&page));
        }
    };
    let expected = Version::parse(&page.form.version)?;
    let mut tx = pool.begin().await?;
    let saved = sqlx::query_scalar!(
        "update actions set description_en = $3, description_km = $4, owner_organization_id = $5, lead = $6,
                            starts_on = $7, due_on = $8, budget_riel = $9, budget_source = $10,
                            indicator = $11, target = $12, version = version + 1
         where id = $1 and version = $2 returning version",
        id,
        expected.number(),
        action.description_en,
        action.description_km,
        action.owner,
        action.lead.code(),
        action.starts,
        action.due,
        action.budget,
        action.budget_source,
        action.indicator,
        action.target,
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
    link_recommendations(&mut tx, id, &action.recommendations).await?;
    // A new owner hears of the action as if it were new.
    if current.owner_organization_id != action.owner.to_string() {
        notifications::tell(&mut tx, &user, notifications::Event::ActionAssigned(id)).await?;
    }
    let changed = changed_names(page.fields(&page.form), &page.fields(&current));
    audit::record(
        &mut *tx,
        action_event(&user, "action_updated", id, changed, ip),
    )
    .await?;
    tx.commit().await?;
    flash(&session, "saved", "").await?;
    Ok(Redirect::to(&format!("/actions/{id}")).into_response())
}
