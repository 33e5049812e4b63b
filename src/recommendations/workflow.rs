//! The list's workflow: draft → submitted → endorsed, or submitted → returned →
//! (edited) → submitted; an endorsed list is frozen, and reopening it starts a
//! new draft version. Each step locks the list, checks its state, records the
//! transition and an audit event, all in one transaction.

use axum::extract::{Path, State};
use axum::response::Redirect;
use serde::Deserialize;
use sqlx::PgPool;

use super::ListStatus;
use super::snapshot;
use crate::audit::{self, Event};
use crate::auth::policy::{Action, Scope};
use crate::auth::require;
use crate::auth::session::CurrentUser;
use crate::error::AppError;
use crate::notifications;
use crate::web::forms::Form;
use crate::web::{Actor, flash};

#[derive(Debug, Default, Deserialize)]
pub struct StepForm {
    #[serde(default)]
    comment: String,
    #[serde(default)]
    position: String,
}

/// The list, locked for the step: its district and state.
pub(super) struct Locked {
    pub district_code: String,
    pub status: ListStatus,
    pub previous_id: Option<i64>,
    pub version: i32,
}

async fn lock(tx: &mut sqlx::PgConnection, id: i64) -> Result<Locked, AppError> {
    sqlx::query_as!(
        Locked,
        r#"select district_code, status as "status: ListStatus", previous_id, version from recommendation_lists where id = $1 for update"#,
        id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(AppError::NotFound)
}

/// Locks the list and checks that `user` may take a step of kind `action` on it
/// and that its state is one of `states`; the permission is checked first.
pub(super) async fn lock_for(
    tx: &mut sqlx::PgConnection,
    user: &CurrentUser,
    id: i64,
    action: Action,
    states: &[ListStatus],
) -> Result<Locked, AppError> {
    let list = lock(tx, id).await?;
    require(user, action, Scope::District(&list.district_code))?;
    if !states.contains(&list.status) {
        return Err(AppError::IllegalTransition);
    }
    Ok(list)
}

/// The audit event of a step of the list's workflow.
pub(super) fn step_event(
    user: &CurrentUser,
    id: i64,
    summary: String,
    ip: Option<String>,
) -> Event<'static> {
    Event {
        actor_id: Some(user.id),
        action: "recommendation_list_step",
        entity: "recommendation_list",
        entity_id: Some(id.to_string()),
        summary,
        ip,
    }
}

/// Records a transition in the list's history and the audit log.
async fn record(
    tx: &mut sqlx::PgConnection,
    user: &CurrentUser,
    id: i64,
    transition: &str,
    position: &str,
    comment: &str,
    ip: Option<String>,
) -> Result<(), AppError> {
    sqlx::query!(
        "insert into endorsements (list_id, transition, actor_id, actor_name, actor_position, comment)
         values ($1, $2, $3, $4, $5, $6)",
        id,
        transition,
        user.id,
        user.display_name,
        position,
        comment,
    )
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut *tx,
        step_event(
            user,
            id,
            format!(
                "{transition}{}",
                if comment.is_empty() {
                    String::new()
                } else {
                    format!(": {comment}")
                }
            ),
            ip,
        ),
    )
    .await?;
    Ok(())
}

fn required(text: &str, key: &'static str) -> Result<String, AppError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(AppError::Refused(key));
    }
    if text.chars().count() > 2_000 {
        return Err(AppError::Refused("error-comment-too-long"));
    }
    Ok(text.to_owned())
}

async fn set_status(
    tx: &mut sqlx::PgConnection,
    id: i64,
    status: ListStatus,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update recommendation_lists set status = $2, version = version + 1, updated_at = now() where id = $1",
        id,
        status.code()
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// The secretariat sends the list to the district's officials.
pub async fn submit(
    Actor { user, session, ip }: Actor,
    State(pool): State<PgPool>,
    Path(id): Path<i64>,
) -> Result<Redirect, AppError> {
    let mut tx = pool.begin().await?;
    lock_for(
        &mut tx,
        &user,
        id,
        Action::SubmitRecommendations,
        &[ListStatus::Draft, ListStatus::Returned],
    )
    .await?;
    let count = sqlx::query_scalar!(
        r#"select count(*) as "count!" from recommendations where list_id = $1"#,
        id
    )
    .fetch_one(&mut *tx)
    .await?;
    if count == 0 {
        return Err(AppError::Refused("error-list-empty"));
    }
    set_status(&mut tx, id, ListStatus::Submitted).await?;
    record(&mut tx, &user, id, "submitted", "", "", ip).await?;
    notifications::tell(&mut tx, &user, notifications::Event::ListSubmitted(id)).await?;
    tx.commit().await?;
    flash(&session, "recommendations-submitted", "").await?;
    Ok(Redirect::to(&format!("/recommendation-lists/{id}")))
}

/// An official of the list's own district endorses it: the content is frozen
/// into a snapshot with its SHA-256.
pub async fn endorse(
    Actor { user, session, ip }: Actor,
    State(pool): State<PgPool>,
    Path(id): Path<i64>,
    Form(form): Form<StepForm>,
) -> Result<Redirect, AppError> {
    let mut tx = pool.begin().await?;
    let list = lock_for(
        &mut tx,
        &user,
        id,
        Action::EndorseList,
        &[ListStatus::Submitted],
    )
    .await?;
    let position = required(&form.position, "error-position-required")?;
    let note = form.comment.trim().to_owned();
    if note.chars().count() > 2_000 {
        return Err(AppError::Refused("error-comment-too-long"));
    }
    let (snapshot, fingerprint) = freeze(&mut tx, id).await?;
    sqlx::query!(
        "insert into endorsements (list_id, transition, actor_id, actor_name, actor_position, comment, snapshot, fingerprint)
         values ($1, 'endorsed', $2, $3, $4, $5, $6, $7)",
        id,
        user.id,
        user.display_name,
        position,
        note,
        snapshot,
        fingerprint,
    )
    .execute(&mut *tx)
    .await?;
    mark_endorsed(&mut tx, id, list.previous_id).await?;
    audit::record(
        &mut *tx,
        step_event(&user, id, format!("endorsed; sha256 {fingerprint}"), ip),
    )
    .await?;
    notifications::tell(&mut tx, &user, notifications::Event::ListEndorsed(id)).await?;
    tx.commit().await?;
    flash(&session, "recommendations-endorsed", "").await?;
    Ok(Redirect::to(&format!("/recommendation-lists/{id}")))
}

/// The list's content as endorsed: its snapshot and the snapshot's SHA-256.
pub(super) async fn freeze(
    tx: &mut sqlx::PgConnection,
    id: i64,
) -> Result<(String, String), sqlx::Error> {
    let snapshot = snapshot::take(tx, id).await?.to_json();
    let fingerprint = snapshot::fingerprint(&snapshot);
    Ok((snapshot, fingerprint))
}

/// The list is endorsed: the version it replaces is superseded and hands its
/// priorities on.
pub(super) async fn mark_endorsed(
    tx: &mut sqlx::PgConnection,
    id: i64,
    previous: Option<i64>,
) -> Result<(), sqlx::Error> {
    set_status(tx, id, ListStatus::Endorsed).await?;
    if let Some(previous) = previous {
        set_status(tx, previous, ListStatus::Superseded).await?;
        carry_priorities(tx, previous, id).await?;
    }
    Ok(())
}

/// An official of the district sends the list back; the reason is required.
pub async fn send_back(
    Actor { user, session, ip }: Actor,
    State(pool): State<PgPool>,
    Path(id): Path<i64>,
    Form(form): Form<StepForm>,
) -> Result<Redirect, AppError> {
    let mut tx = pool.begin().await?;
    lock_for(
        &mut tx,
        &user,
        id,
        Action::EndorseList,
        &[ListStatus::Submitted],
    )
    .await?;
    let reason = required(&form.comment, "error-comment-required")?;
    set_status(&mut tx, id, ListStatus::Returned).await?;
    record(
        &mut tx,
        &user,
        id,
        "returned",
        form.position.trim(),
        &reason,
        ip,
    )
    .await?;
    notifications::tell(&mut tx, &user, notifications::Event::ListReturned(id)).await?;
    tx.commit().await?;
    flash(&session, "recommendations-returned", "").await?;
    Ok(Redirect::to(&format!("/recommendation-lists/{id}")))
}

/// The secretariat takes a submitted list back to draft before the district's
/// officials act on it (a mistake found after sending); the reason is required.
pub async fn withdraw(
    Actor { user, session, ip }: Actor,
    State(pool): State<PgPool>,
    Path(id): Path<i64>,
    Form(form): Form<StepForm>,
) -> Result<Redirect, AppError> {
    let mut tx = pool.begin().await?;
    lock_for(
        &mut tx,
        &user,
        id,
        Action::SubmitRecommendations,
        &[ListStatus::Submitted],
    )
    .await?;
    let reason = required(&form.comment, "error-comment-required")?;
    set_status(&mut tx, id, ListStatus::Draft).await?;
    record(&mut tx, &user, id, "withdrawn", "", &reason, ip).await?;
    tx.commit().await?;
    flash(&session, "recommendations-withdrawn", "").await?;
    Ok(Redirect::to(&format!("/recommendation-lists/{id}")))
}

/// The priorities the workshops gave the endorsed version carry over to the
/// same recommendations of the version that replaces it: reopening copied them
/// in order, so they match by position.
async fn carry_priorities(
    tx: &mut sqlx::PgConnection,
    previous: i64,
    current: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into priorities (recommendation_id, level, rank, workshop_id, set_by, set_at)
         select new.id, p.level, p.rank, p.workshop_id, p.set_by, p.set_at
         from priorities p
         join recommendations old on old.id = p.recommendation_id and old.list_id = $1
         join recommendations new on new.list_id = $2 and new.position = old.position
         on conflict (recommendation_id, level) do nothing",
        previous,
        current,
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// The secretariat reopens an endorsed list: a new draft version with the same
/// recommendations; the endorsed version stays exactly as it was endorsed.
pub async fn reopen(
    Actor { user, session, ip }: Actor,
    State(pool): State<PgPool>,
    Path(id): Path<i64>,
    Form(form): Form<StepForm>,
) -> Result<Redirect, AppError> {
    let mut tx = pool.begin().await?;
    lock_for(
        &mut tx,
        &user,
        id,
        Action::SubmitRecommendations,
        &[ListStatus::Endorsed],
    )
    .await?;
    let already_reopened = sqlx::query_scalar!(
        r#"select exists(select 1 from recommendation_lists where previous_id = $1) as "exists!""#,
        id
    )
    .fetch_one(&mut *tx)
    .await?;
    if already_reopened {
        return Err(AppError::IllegalTransition);
    }
    let reason = required(&form.comment, "error-comment-required")?;
    let new_id = sqlx::query_scalar!(
        "insert into recommendation_lists (district_code, study_id, consultation_id, list_version, previous_id)
         select district_code, study_id, consultation_id, list_version + 1, id from recommendation_lists where id = $1
         returning id",
        id
    )
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query!(
        "with copied as (
             insert into recommendations (list_id, position, text_en, text_km, addressee, theme_id)
             select $2, position, text_en, text_km, addressee, theme_id from recommendations
             where list_id = $1 order by position, id
             returning id, position)
         insert into recommendation_evidence (recommendation_id, finding_id)
         select c.id, e.finding_id from copied c
         join recommendations old on old.list_id = $1 and old.position = c.position
         join recommendation_evidence e on e.recommendation_id = old.id",
        id,
        new_id,
    )
    .execute(&mut *tx)
    .await?;
    record(&mut tx, &user, id, "reopened", "", &reason, ip).await?;
    tx.commit().await?;
    flash(&session, "recommendations-reopened", "").await?;
    Ok(Redirect::to(&format!("/recommendation-lists/{new_id}")))
}
