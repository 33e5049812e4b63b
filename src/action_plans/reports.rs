//! Progress reports: a dated report by the action's owner (or, for a joint
//! action, the district's other side), its correction by a later report, the
//! other side's confirmation, and the secretariat sending one back.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use sqlx::PgPool;

use super::actions::{ActionPage, ActionView, action_event, can_report, load};
use super::{ActionStatus, Lead};
use crate::audit;
use crate::auth::policy::{self, Action, Scope};
use crate::error::AppError;
use crate::format::today;
use crate::notifications;
use crate::web::forms::{self, FieldErrors, Form};
use crate::web::{Actor, Ctx, flash, once};

#[derive(Debug, Default, Clone, serde::Deserialize)]
pub struct ReportForm {
    #[serde(default)]
    pub reported_on: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub progress: String,
    #[serde(default)]
    pub note: String,
    #[serde(default)]
    pub internal: Option<String>,
    /// The report this one corrects, if it is a correction.
    #[serde(default)]
    pub corrects: String,
    /// The form's one-time key (`web::once`).
    #[serde(default)]
    once_key: String,
}

/// A report checked: what is saved.
struct ValidReport {
    reported_on: time::Date,
    status: ActionStatus,
    progress: i32,
    note: String,
    corrects: Option<i64>,
}

impl ReportForm {
    /// A new report's form: today, and the action as it stands.
    pub fn new(today: time::Date, status: ActionStatus, progress: i32) -> ReportForm {
        ReportForm {
            reported_on: today.to_string(),
            status: status.code().to_owned(),
            progress: progress.to_string(),
            ..ReportForm::default()
        }
    }

    /// The report, or every field that is wrong and why.
    fn check(&self, action: &ActionView) -> Result<ValidReport, FieldErrors> {
        let mut errors = FieldErrors::default();
        let corrects = match self.corrects.trim() {
            "" => None,
            text => {
                let id = text.parse::<i64>().ok();
                if id.is_none() {
                    errors.add("corrects", "error-choose");
                }
                id
            }
        };
        let status = ActionStatus::parse(&self.status);
        if status.is_none() {
            errors.add("status", "error-update-status-title");
        }
        let progress = self
            .progress
            .trim()
            .parse::<i32>()
            .ok()
            .filter(|progress| (0..=100).contains(progress));
        if progress.is_none() {
            errors.add("progress", "error-update-progress-title");
        }
        if status == Some(ActionStatus::Completed)
            && progress.is_some_and(|progress| progress != 100)
        {
            errors.add("progress", "error-update-completed-title");
        }
        let reported_on = forms::date(&mut errors, "reported_on", &self.reported_on);
        let in_range = |day: &time::Date| *day >= action.starts_on && *day <= today();
        if reported_on.as_ref().is_some_and(|day| !in_range(day)) {
            errors.add("reported_on", "error-update-date-title");
        }
        let note = forms::optional_text(&mut errors, "note", &self.note, 5_000);
        match (reported_on, status, progress) {
            (Some(reported_on), Some(status), Some(progress)) if errors.is_empty() => {
                Ok(ValidReport {
                    reported_on,
                    status,
                    progress,
                    note,
                    corrects,
                })
            }
            _ => Err(errors),
        }
    }
}

/// A dated progress report, or the correction of an earlier one (which stays
/// visible, marked corrected). Refused, with nothing written and the form
/// back with the input and every problem named: progress outside 0–100,
/// "completed" under 100, a date before the start or in the future, a text
/// too long. Refused as well: a new report on a cancelled action, a reporter
/// outside the owner organization, a report corrected twice (409, the input
/// kept). Sent twice, a new report is saved once (`web::once`).
pub async fn report(
    ctx: Ctx,
    Actor { user, session, ip }: Actor,
    State(pool): State<PgPool>,
    Path(id): Path<i64>,
    Form(form): Form<ReportForm>,
) -> Result<Response, AppError> {
    let action = load(&pool, id).await?;
    if !can_report(&user, &action) {
        return Err(AppError::Forbidden);
    }
    let refused = async |ctx, form: ReportForm, errors, refusal: fn(&ActionPage) -> AppError| {
        let page = super::actions::page(ctx, &user, &pool, id, Some((form, errors))).await?;
        Err::<Response, _>(refusal(&page))
    };
    let valid = match form.check(&action) {
        Ok(valid) => valid,
        Err(errors) => return refused(ctx, form, errors, AppError::invalid).await,
    };
    if action.status == ActionStatus::Cancelled && valid.corrects.is_none() {
        return Err(AppError::IllegalTransition);
    }
    let once_key = once::key(&form.once_key);
    let mut tx = pool.begin().await?;
    if valid.corrects.is_none()
        && let Some(first) = once::claim(&mut tx, once_key.as_deref(), user.id).await?
    {
        return once::already_saved(&session, &first).await;
    }
    if let Some(old) = valid.corrects
        && !lock_uncorrected(&mut tx, id, old).await?
    {
        drop(tx);
        let mut errors = FieldErrors::default();
        errors.add("corrects", "update-corrected-meanwhile");
        // Kept as a new report: the one it corrected stands corrected.
        let form = ReportForm {
            corrects: String::new(),
            ..form
        };
        return refused(ctx, form, errors, AppError::stale).await;
    }
    let ValidReport {
        reported_on,
        status,
        progress,
        note,
        corrects,
    } = valid;
    sqlx::query!(
        "insert into action_updates (action_id, reported_on, status, progress, note, internal, reported_by,
                                     reporter_organization_id, corrects_id)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        id,
        reported_on,
        status.code(),
        progress,
        note,
        form.internal.is_some(),
        user.id,
        user.organization_id,
        corrects,
    )
    .execute(&mut *tx)
    .await?;
    let (event, summary) = match corrects {
        Some(old) => {
            sqlx::query!(
                "update action_updates set corrected = true where id = $1",
                old
            )
            .execute(&mut *tx)
            .await?;
            (
                "action_progress_corrected",
                format!("update {old} → {status} {progress}%"),
            )
        }
        None => ("action_progress_reported", format!("{status} {progress}%")),
    };
    audit::record(&mut *tx, action_event(&user, event, id, &summary, ip)).await?;
    if action.lead == Lead::Joint {
        let told = notifications::Event::ReportToConfirm {
            action: id,
            reported_by: policy::side_of(&user),
        };
        notifications::tell(&mut tx, &user, told).await?;
    }
    let location = format!("/actions/{id}");
    once::done(&mut tx, once_key.as_deref(), &location).await?;
    tx.commit().await?;
    flash(&session, "saved", "").await?;
    Ok(Redirect::to(&location).into_response())
}

/// Locks a report of the action for its correction: `false` when a later
/// report corrected it already (a stale form, or two people at once).
async fn lock_uncorrected(
    tx: &mut sqlx::PgConnection,
    action: i64,
    update: i64,
) -> Result<bool, AppError> {
    let corrected = sqlx::query_scalar!(
        "select corrected from action_updates where id = $1 and action_id = $2 for update",
        update,
        action
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(AppError::NotFound)?;
    Ok(!corrected)
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct ReturnForm {
    #[serde(default)]
    reason: String,
}

/// The secretariat sends a report back to its author with the reason; the
/// report stays visible, no longer counts for the action's state, and its
/// author corrects it with a new report.
pub async fn send_back(
    Actor { user, session, ip }: Actor,
    State(pool): State<PgPool>,
    Path((id, update)): Path<(i64, i64)>,
    Form(form): Form<ReturnForm>,
) -> Result<Response, AppError> {
    crate::auth::require(&user, Action::ManagePlans, Scope::Anything)?;
    let reason = form.reason.trim();
    if reason.is_empty() {
        return Err(AppError::Refused("error-comment-required"));
    }
    if reason.chars().count() > 2_000 {
        return Err(AppError::Refused("error-comment-too-long"));
    }
    let mut tx = pool.begin().await?;
    let reporter = sqlx::query_scalar!(
        "update action_updates set returned_by = $3, returned_at = now(), return_reason = $4
         where id = $2 and action_id = $1 and returned_at is null and not corrected
         returning reporter_organization_id",
        id,
        update,
        user.id,
        reason,
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(AppError::IllegalTransition)?;
    if let Some(organization) = reporter {
        let told = notifications::Event::ReportReturned {
            action: id,
            organization,
        };
        notifications::tell(&mut tx, &user, told).await?;
    }
    let summary = format!("update {update}: {reason}");
    audit::record(
        &mut *tx,
        action_event(&user, "action_progress_returned", id, &summary, ip),
    )
    .await?;
    tx.commit().await?;
    flash(&session, "update-returned", "").await?;
    Ok(Redirect::to(&format!("/actions/{id}#update-{update}")).into_response())
}

/// The other side of a joint action confirms a report.
pub async fn confirm(
    Actor { user, session, ip }: Actor,
    State(pool): State<PgPool>,
    Path((id, update)): Path<(i64, i64)>,
) -> Result<Response, AppError> {
    let action = load(&pool, id).await?;
    if action.lead != Lead::Joint || !can_report(&user, &action) {
        return Err(AppError::Forbidden);
    }
    let mut tx = pool.begin().await?;
    let confirmed = sqlx::query!(
        "update action_updates u set confirmed_by = $3, confirmed_at = now()
         from organizations o
         where u.id = $1 and u.action_id = $2 and u.confirmed_by is null and o.id = u.reporter_organization_id
           and (case when o.kind = 'sna' then 'sna' else 'cso' end) <> $4",
        update,
        id,
        user.id,
        policy::side_of(&user),
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if confirmed == 0 {
        return Err(AppError::IllegalTransition);
    }
    audit::record(
        &mut *tx,
        action_event(
            &user,
            "action_progress_confirmed",
            id,
            &format!("update {update}"),
            ip,
        ),
    )
    .await?;
    tx.commit().await?;
    flash(&session, "saved", "").await?;
    Ok((
        StatusCode::SEE_OTHER,
        Redirect::to(&format!("/actions/{id}")),
    )
        .into_response())
}
