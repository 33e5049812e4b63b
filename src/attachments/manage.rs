//! Withdrawing an attachment from donors' view, and deleting one, by those who
//! may attach files to its record; each step audited.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};

use super::download::{Stored, readable};
use crate::audit::{self, Event};
use crate::auth::session::CurrentUser;
use crate::deleted::{self, Kind};
use crate::error::AppError;
use crate::state::AppState;
use crate::web::{Actor, flash};

fn event(user: &CurrentUser, action: &'static str, id: i64, ip: Option<String>) -> Event<'static> {
    Event {
        actor_id: Some(user.id),
        action,
        entity: "attachment",
        entity_id: Some(id.to_string()),
        summary: String::new(),
        ip,
    }
}

/// Loads an attachment whose record `user` may attach files to. The signed
/// letter of a paper endorsement is the endorsement's proof: it stays, public.
async fn writable(state: &AppState, user: &CurrentUser, id: i64) -> Result<Stored, AppError> {
    let stored = readable(state, user, id).await?;
    if !stored.parent.may_write(user) {
        return Err(AppError::Forbidden);
    }
    let proves_an_endorsement = sqlx::query_scalar!(
        r#"select exists(select 1 from endorsements where letter_attachment_id = $1) as "exists!""#,
        id
    )
    .fetch_one(&state.pool)
    .await?;
    if proves_an_endorsement {
        return Err(AppError::IllegalTransition);
    }
    Ok(stored)
}

/// Marks an attachment as not for donors (a photo in which someone can be
/// recognised, a document shared too early).
pub(super) async fn withdraw(
    Actor { user, session, ip }: Actor,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let stored = writable(&state, &user, id).await?;
    if !stored.public {
        return Err(AppError::IllegalTransition);
    }
    let mut tx = state.pool.begin().await?;
    sqlx::query!("update attachments set public = false where id = $1", id)
        .execute(&mut *tx)
        .await?;
    audit::record(&mut *tx, event(&user, "attachment_withdrawn", id, ip)).await?;
    tx.commit().await?;
    flash(&session, "attachment-withdrawn", "").await?;
    Ok(Redirect::to(&format!("{}#attachments", stored.parent.page())).into_response())
}

pub(super) async fn delete(
    Actor { user, session, ip }: Actor,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let stored = writable(&state, &user, id).await?;
    let mut tx = state.pool.begin().await?;
    deleted::put(
        &mut tx,
        (Kind::Attachment, stored.id),
        (&user, &stored.parent.district),
        ("attachment_deleted", ip),
    )
    .await?;
    tx.commit().await?;
    flash(&session, "attachment-deleted", "").await?;
    Ok(Redirect::to(&format!("{}#attachments", stored.parent.page())).into_response())
}
