//! An agreement's status: `draft → signed → ended | expired`. Each step is
//! one transaction and one audit entry; a step its current status does not
//! allow is refused (409). The worker takes the last step itself for an
//! agreement whose `valid_until` has passed (`expire_overdue`).

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use sqlx::PgPool;

use crate::audit::{self, Event};
use crate::auth::policy::{Action, Scope};
use crate::auth::require;
use crate::error::AppError;
use crate::web::forms::{self, FieldErrors, Form};
use crate::web::{Actor, Ctx, flash};

/// The steps open from `status`.
pub fn next(status: &str) -> &'static [&'static str] {
    match status {
        "draft" => &["signed"],
        "signed" => &["ended", "expired"],
        _ => &[],
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct StatusForm {
    to: String,
    /// For signing: the day it was signed, when the agreement has none yet.
    signed_on: String,
}

pub(super) async fn change(
    ctx: Ctx,
    Actor { user, session, ip }: Actor,
    State(pool): State<PgPool>,
    Path(id): Path<i64>,
    Form(form): Form<StatusForm>,
) -> Result<Response, AppError> {
    require(&user, Action::ManageProgrammes, Scope::Anything)?;
    let current = sqlx::query!(
        "select status, signed_on, valid_until from agreements where id = $1",
        id
    )
    .fetch_optional(&pool)
    .await?
    .ok_or(AppError::NotFound)?;
    let to = match next(&current.status).iter().find(|step| **step == form.to) {
        Some(step) => *step,
        None if current.status == form.to => {
            // Sent twice: the first one took the step.
            flash(&session, "already-saved", "").await?;
            return Ok(Redirect::to(&format!("/agreements/{id}")).into_response());
        }
        None => return Err(AppError::IllegalTransition),
    };
    let mut signed_on = current.signed_on;
    if to == "signed" && !form.signed_on.trim().is_empty() {
        let mut errors = FieldErrors::default();
        signed_on = forms::date(&mut errors, "signed_on", &form.signed_on);
        if !errors.is_empty() {
            return super::show_page(ctx, &user, &pool, id, Some("agreement-signed-on-needed"))
                .await;
        }
    }
    if to == "signed" && signed_on.is_none() {
        return super::show_page(ctx, &user, &pool, id, Some("agreement-signed-on-needed")).await;
    }
    if let (Some(signed), Some(until)) = (signed_on, current.valid_until)
        && until < signed
    {
        return super::show_page(ctx, &user, &pool, id, Some("agreement-signed-after-end")).await;
    }
    let mut tx = pool.begin().await?;
    let changed = sqlx::query!(
        "update agreements set status = $2, signed_on = $3, version = version + 1
         where id = $1 and status = $4",
        id,
        to,
        signed_on,
        current.status,
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if changed == 0 {
        // Another step was taken meanwhile (the same form sent twice at once).
        drop(tx);
        flash(&session, "already-saved", "").await?;
        return Ok(Redirect::to(&format!("/agreements/{id}")).into_response());
    }
    audit::record(
        &mut *tx,
        Event {
            actor_id: Some(user.id),
            action: status_action(to),
            entity: "agreement",
            entity_id: Some(id.to_string()),
            summary: format!("{} → {to}", current.status),
            ip,
        },
    )
    .await?;
    tx.commit().await?;
    flash(&session, "saved", "").await?;
    Ok(Redirect::to(&format!("/agreements/{id}")).into_response())
}

/// The audit log's name for reaching `status`.
pub fn status_action(status: &str) -> &'static str {
    match status {
        "signed" => "agreement_signed",
        "ended" => "agreement_ended",
        _ => "agreement_expired",
    }
}
