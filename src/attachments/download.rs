//! Downloading an attachment: only for those who may read what it belongs to,
//! and for donors only when it is marked public; always as a download.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use object_store::path::Path as StorePath;

use super::Parent;
use crate::auth::session::CurrentUser;
use crate::error::AppError;
use crate::state::AppState;

/// An attachment as the routes here need it.
pub(super) struct Stored {
    pub id: i64,
    pub stored_name: String,
    pub content_type: String,
    pub public: bool,
    pub parent: Parent,
}

impl Parent {
    /// The record an attachment belongs to.
    pub(super) async fn of_attachment(
        pool: &sqlx::PgPool,
        kind: &str,
        id: i64,
        organization: i64,
    ) -> Result<Parent, AppError> {
        match kind {
            "event" => Parent::event(pool, id, organization).await,
            "agreement" => Parent::agreement(pool, id, organization).await,
            "activity" => Parent::activity(pool, id).await,
            "action_update" => Parent::action_update(pool, id).await,
            "recommendation_list" => Parent::recommendation_list(pool, id).await,
            _ => Parent::case_study(pool, id).await,
        }
    }
}

/// Loads an attachment that `user` may read: its record they may read, and
/// one not marked public only if they read that record's internal material.
pub(super) async fn readable(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
) -> Result<Stored, AppError> {
    let row = sqlx::query!(
        "select parent, parent_id, stored_name, content_type, public from attachments where id = $1",
        id
    )
    .fetch_optional(&state.pool)
    .await?
    .ok_or(AppError::NotFound)?;
    let parent = Parent::of_attachment(
        &state.pool,
        &row.parent,
        row.parent_id,
        user.organization_id,
    )
    .await?;
    if !parent.may_read(user, !row.public) {
        return Err(AppError::Forbidden);
    }
    Ok(Stored {
        id,
        stored_name: row.stored_name,
        content_type: row.content_type,
        public: row.public,
        parent,
    })
}

async fn bytes_of(state: &AppState, stored_name: &str) -> Result<axum::body::Bytes, AppError> {
    let location = StorePath::from(format!("attachments/{stored_name}"));
    state
        .files
        .store
        .get(&location)
        .await
        .map_err(|error| AppError::Internal(error.into()))?
        .bytes()
        .await
        .map_err(|error| AppError::Internal(error.into()))
}

/// The file of an attachment as a response, shown in the page (`inline`) or
/// saved as a download; never run as a page of ours (CSP sandbox).
async fn file_response(
    state: &AppState,
    (stored_name, content_type): (&str, &str),
    disposition: &str,
) -> Result<Response, AppError> {
    let mut response = Body::from(bytes_of(state, stored_name).await?).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(content_type)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    if let Ok(disposition) = HeaderValue::from_str(disposition) {
        headers.insert(header::CONTENT_DISPOSITION, disposition);
    }
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    Ok(response)
}

/// A photo shown to anyone, once its caller has found it public (a photo of
/// published news): inline, never run as a page of ours.
pub async fn public_photo(state: &AppState, id: i64) -> Result<Response, AppError> {
    let row = sqlx::query!(
        "select stored_name, content_type from attachments where id = $1 and content_type like 'image/%'",
        id
    )
    .fetch_optional(&state.pool)
    .await?
    .ok_or(AppError::NotFound)?;
    let mut response =
        file_response(state, (&row.stored_name, &row.content_type), "inline").await?;
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    Ok(response)
}

/// `GET /attachments/{id}/preview`: a photo shown in the page, small, to those
/// who may read it. Documents have no preview.
pub(super) async fn preview(
    user: CurrentUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let stored = readable(&state, &user, id).await?;
    if !stored.content_type.starts_with("image/") {
        return Err(AppError::NotFound);
    }
    file_response(
        &state,
        (&stored.stored_name, &stored.content_type),
        "inline",
    )
    .await
}

/// `GET /attachments/{id}`: the file as a download.
pub(super) async fn download(
    user: CurrentUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let stored = readable(&state, &user, id).await?;
    let disposition = format!(
        "attachment; filename=\"samleng-{id}-{}\"",
        stored.stored_name
    );
    file_response(
        &state,
        (&stored.stored_name, &stored.content_type),
        &disposition,
    )
    .await
}
