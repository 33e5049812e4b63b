//! Downloading an attachment: only for those who may read what it belongs to,
//! and for donors only when it is marked public; always as a download.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use object_store::path::Path as StorePath;

use super::Parent;
use crate::app::AppState;
use crate::auth::policy::{Action, Scope};
use crate::auth::require;
use crate::auth::session::CurrentUser;
use crate::error::AppError;

pub(super) async fn download(
    user: CurrentUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let row = sqlx::query!(
        "select parent, parent_id, stored_name, content_type, public from attachments where id = $1",
        id
    )
    .fetch_optional(&state.pool)
    .await?
    .ok_or(AppError::NotFound)?;
    let parent = match row.parent.as_str() {
        "activity" => Parent::activity(&state.pool, row.parent_id).await?,
        "action_update" => Parent::action_update(&state.pool, row.parent_id).await?,
        _ => Parent::case_study(&state.pool, row.parent_id).await?,
    };
    require(
        &user,
        parent.read_action(),
        Scope::Record {
            district: &parent.district,
            published: parent.published,
        },
    )?;
    if !row.public {
        require(&user, Action::ReadInternalText, parent.field_work())?;
    }
    let location = StorePath::from(format!("attachments/{}", row.stored_name));
    let bytes = state
        .files
        .store
        .get(&location)
        .await
        .map_err(|error| AppError::Internal(error.into()))?
        .bytes()
        .await
        .map_err(|error| AppError::Internal(error.into()))?;
    let mut response = Body::from(bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&row.content_type)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    if let Ok(disposition) = HeaderValue::from_str(&format!(
        "attachment; filename=\"samleng-{id}-{}\"",
        row.stored_name
    )) {
        headers.insert(header::CONTENT_DISPOSITION, disposition);
    }
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    Ok(response)
}
