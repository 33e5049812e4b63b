//! Deleting a draft case study: its writers may, before it goes to review.
//! Its activities stay, no longer linked to it.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};

use crate::attachments::remove;
use crate::audit::{self, Event};
use crate::auth::policy::{Action, Scope};
use crate::auth::require;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::{Actor, flash};

pub async fn delete(
    Actor { user, session, ip }: Actor,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let district = sqlx::query_scalar!("select district_code from case_studies where id = $1", id)
        .fetch_optional(&state.pool)
        .await?
        .ok_or(AppError::NotFound)?;
    require(&user, Action::WriteCaseStudy, Scope::District(&district))?;
    let mut tx = state.pool.begin().await?;
    let deleted = sqlx::query_scalar!(
        "delete from case_studies where id = $1 and status = 'draft' returning id",
        id
    )
    .fetch_optional(&mut *tx)
    .await?;
    if deleted.is_none() {
        return Err(AppError::IllegalTransition);
    }
    sqlx::query!(
        "delete from revisions where entity = 'case_study' and entity_id = $1",
        id
    )
    .execute(&mut *tx)
    .await?;
    let files = remove::forget(&mut tx, "case_study", id).await?;
    audit::record(
        &mut *tx,
        Event {
            actor_id: Some(user.id),
            action: "case_study_deleted",
            entity: "case_study",
            entity_id: Some(id.to_string()),
            summary: format!("district {district}"),
            ip,
        },
    )
    .await?;
    tx.commit().await?;
    remove::remove_files(&state.files, files).await;
    flash(&session, "case-study-deleted", "").await?;
    Ok(Redirect::to("/case-studies").into_response())
}
