//! Progress reports: a dated report by the action's owner (or, for a joint
//! action, the district's other side), its correction by a later report, the
//! other side's confirmation, and the secretariat sending one back.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use sqlx::PgPool;
use tower_sessions::Session;

use super::STATUSES;
use super::actions::{action_event, can_report, load, side_of};
use crate::activities::form::today;
use crate::audit;
use crate::auth::policy::{Action, Scope};
use crate::auth::session::CurrentUser;
use crate::error::AppError;
use crate::notifications;
use crate::web::forms::{self, FieldErrors, Form};
use crate::web::{ClientIp, flash};

#[derive(Debug, Default, serde::Deserialize)]
pub struct ReportForm {
    #[serde(default)]
    reported_on: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    progress: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    internal: Option<String>,
    /// The report this one corrects, if it is a correction.
    #[serde(default)]
    corrects: String,
}

/// A dated progress report, or the correction of an earlier one (which stays
/// visible, marked corrected). Refused, with nothing written: progress outside
/// 0–100, "completed" under 100, a date before the start or in the future, a
/// new report on a cancelled action, a reporter outside the owner
/// organization, a report corrected twice.
pub async fn report(
    user: CurrentUser,
    session: Session,
    ClientIp(ip): ClientIp,
    State(pool): State<PgPool>,
    Path(id): Path<i64>,
    Form(form): Form<ReportForm>,
) -> Result<Response, AppError> {
    let action = load(&pool, id).await?;
    if !can_report(&user, &action) {
        return Err(AppError::Forbidden);
    }
    let corrects = match form.corrects.trim() {
        "" => None,
        text => Some(text.parse::<i64>().map_err(|_| AppError::BadRequest)?),
    };
    if action.status == "cancelled" && corrects.is_none() {
        return Err(AppError::IllegalTransition);
    }
    let status = STATUSES
        .iter()
        .find(|status| **status == form.status)
        .ok_or(AppError::Refused("error-update-status"))?;
    let progress = form
        .progress
        .trim()
        .parse::<i32>()
        .ok()
        .filter(|progress| (0..=100).contains(progress))
        .ok_or(AppError::Refused("error-update-progress"))?;
    if *status == "completed" && progress != 100 {
        return Err(AppError::Refused("error-update-completed"));
    }
    let mut errors = FieldErrors::default();
    let reported_on = forms::date(&mut errors, "reported_on", &form.reported_on)
        .ok_or(AppError::Refused("error-update-date"))?;
    if reported_on < action.starts_on || reported_on > today() {
        return Err(AppError::Refused("error-update-date"));
    }
    let note = forms::optional_text(&mut errors, "note", &form.note, 5_000);
    if !errors.is_empty() {
        return Err(AppError::Refused("error-action-too-long"));
    }
    let mut tx = pool.begin().await?;
    if let Some(old) = corrects {
        lock_uncorrected(&mut tx, id, old).await?;
    }
    sqlx::query!(
        "insert into action_updates (action_id, reported_on, status, progress, note, internal, reported_by,
                                     reporter_organization_id, corrects_id)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        id,
        reported_on,
        status,
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
    if action.lead == "joint" {
        let told = notifications::Event::ReportToConfirm {
            action: id,
            reported_by: side_of(user.role),
        };
        notifications::tell(&mut tx, &user, told).await?;
    }
    tx.commit().await?;
    flash(&session, "saved", "").await?;
    Ok(Redirect::to(&format!("/actions/{id}")).into_response())
}

/// Locks a report of the action that no later report has corrected yet; a
/// second correction of the same report (a stale form sent again) is refused.
async fn lock_uncorrected(
    tx: &mut sqlx::PgConnection,
    action: i64,
    update: i64,
) -> Result<(), AppError> {
    let corrected = sqlx::query_scalar!(
        "select corrected from action_updates where id = $1 and action_id = $2 for update",
        update,
        action
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(AppError::NotFound)?;
    if corrected {
        return Err(AppError::IllegalTransition);
    }
    Ok(())
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
    user: CurrentUser,
    session: Session,
    ClientIp(ip): ClientIp,
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
    user: CurrentUser,
    session: Session,
    ClientIp(ip): ClientIp,
    State(pool): State<PgPool>,
    Path((id, update)): Path<(i64, i64)>,
) -> Result<Response, AppError> {
    let action = load(&pool, id).await?;
    if action.lead != "joint" || !can_report(&user, &action) {
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
        side_of(user.role),
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
