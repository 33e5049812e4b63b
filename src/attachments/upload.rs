//! Uploading a photo or document: read the multipart form within the size
//! limit, check the type from the content, store it under a generated name,
//! and record it with an audit event — or send the form back with the reason.

use askama::Template;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use object_store::path::Path as StorePath;
use rand::RngCore as _;
use sqlx::PgPool;
use tower_sessions::Session;

use super::{Parent, size_text, sniff};
use crate::audit::{self, Event};
use crate::auth::session::CurrentUser;
use crate::error::{AppError, render};
use crate::files::FileStore;
use crate::state::AppState;
use crate::web::{Actor, Ctx, flash, input, once};

/// The upload form's answer when the file is refused: the form again, with the
/// caption kept and the reason.
#[derive(Template)]
#[template(path = "attachments/refused.html")]
struct RefusedPage {
    ctx: Ctx,
    back: String,
    action: String,
    caption: String,
    public: bool,
    reason: &'static str,
    max_bytes: usize,
}

impl RefusedPage {
    fn reason_text(&self) -> String {
        self.ctx
            .lang
            .t_with(self.reason, &[("value", size_text(self.max_bytes as i64))])
    }
}

/// What an upload form sent: the file, and its other fields.
pub struct Upload {
    pub bytes: Vec<u8>,
    /// The name the file had on the sender's computer.
    pub file_name: String,
    pub caption: String,
    pub public: bool,
    pub too_large: bool,
    /// Other text fields, by name (a form that takes a file among others).
    pub fields: Vec<(String, String)>,
}

/// Reads a multipart form, the file within `max_bytes`; text that is not
/// clean UTF-8 is a bad request.
pub async fn read_upload(mut multipart: Multipart, max_bytes: usize) -> Result<Upload, AppError> {
    let mut upload = Upload {
        bytes: Vec::new(),
        file_name: String::new(),
        caption: String::new(),
        public: false,
        too_large: false,
        fields: Vec::new(),
    };
    while let Some(mut field) = multipart
        .next_field()
        .await
        .map_err(|_| AppError::BadRequest)?
    {
        match field.name() {
            Some("file") => {
                upload.file_name = field.file_name().unwrap_or_default().to_owned();
                while let Some(chunk) = field.chunk().await.map_err(|_| AppError::BadRequest)? {
                    if upload.bytes.len() + chunk.len() > max_bytes {
                        upload.too_large = true;
                        break;
                    }
                    upload.bytes.extend_from_slice(&chunk);
                }
            }
            Some("public") => upload.public = true,
            Some(name) => {
                let name = name.to_owned();
                let bytes = field.bytes().await.map_err(|_| AppError::BadRequest)?;
                if !input::is_clean(bytes.to_vec()) {
                    return Err(AppError::BadRequest);
                }
                let text = String::from_utf8_lossy(&bytes).into_owned();
                if name == "caption" {
                    upload.caption = text;
                } else {
                    upload.fields.push((name, text));
                }
            }
            None => {}
        }
    }
    Ok(upload)
}

pub(super) async fn upload_to_activity(
    ctx: Ctx,
    Actor { user, session, ip }: Actor,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, AppError> {
    let parent = Parent::activity(&state.pool, id).await?;
    upload(ctx, user, session, ip, state, parent, multipart).await
}

pub(super) async fn upload_to_event(
    ctx: Ctx,
    Actor { user, session, ip }: Actor,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, AppError> {
    let parent = Parent::event(&state.pool, id, user.organization_id).await?;
    upload(ctx, user, session, ip, state, parent, multipart).await
}

pub(super) async fn upload_to_agreement(
    ctx: Ctx,
    Actor { user, session, ip }: Actor,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, AppError> {
    let parent = Parent::agreement(&state.pool, id, user.organization_id).await?;
    upload(ctx, user, session, ip, state, parent, multipart).await
}

pub(super) async fn upload_to_update(
    ctx: Ctx,
    Actor { user, session, ip }: Actor,
    State(state): State<AppState>,
    Path((action, update)): Path<(i64, i64)>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, AppError> {
    let parent = Parent::action_update(&state.pool, update).await?;
    if parent.action.as_ref().map(|of| of.id) != Some(action) {
        return Err(AppError::NotFound);
    }
    upload(ctx, user, session, ip, state, parent, multipart).await
}

pub(super) async fn upload_to_case_study(
    ctx: Ctx,
    Actor { user, session, ip }: Actor,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, AppError> {
    let parent = Parent::case_study(&state.pool, id).await?;
    upload(ctx, user, session, ip, state, parent, multipart).await
}

pub(super) async fn upload_to_list(
    ctx: Ctx,
    Actor { user, session, ip }: Actor,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, AppError> {
    let parent = Parent::recommendation_list(&state.pool, id).await?;
    upload(ctx, user, session, ip, state, parent, multipart).await
}

async fn upload(
    ctx: Ctx,
    user: CurrentUser,
    session: Session,
    ip: Option<String>,
    state: AppState,
    parent: Parent,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, AppError> {
    if !parent.may_write(&user) {
        return Err(AppError::Forbidden);
    }
    let files = &state.files;
    let upload = read_upload(
        multipart.map_err(|_| AppError::BadRequest)?,
        files.max_bytes,
    )
    .await?;
    let caption = upload.caption.trim().to_owned();
    let refuse = |reason| {
        let page = RefusedPage {
            ctx,
            back: parent.page(),
            action: parent.upload_action(),
            caption: caption.clone(),
            public: upload.public,
            reason,
            max_bytes: files.max_bytes,
        };
        if reason == "attachment-too-large" {
            return Ok((StatusCode::PAYLOAD_TOO_LARGE, render(&page)?).into_response());
        }
        Err(AppError::invalid(&page))
    };
    if upload.too_large {
        return refuse("attachment-too-large");
    }
    if caption.chars().count() > MAX_CAPTION {
        return refuse("attachment-caption-too-long");
    }
    if upload.bytes.is_empty() {
        return refuse("attachment-missing");
    }
    let size = upload.bytes.len() as i64;
    let Some((stored_name, content_type)) = store(files, upload.bytes).await? else {
        return refuse("attachment-wrong-type");
    };
    let location = StorePath::from(format!("attachments/{stored_name}"));
    let record = NewAttachment {
        stored_name: &stored_name,
        content_type,
        size,
        caption: &caption,
        public: upload.public,
    };
    let once_key = once::key_of(&upload.fields);
    let saved = save_record(&state.pool, &parent, (&user, once_key), &record, ip).await;
    let first = match saved {
        Ok(first) => first,
        Err(error) => {
            // Keep the store and the database in step: no file without its record.
            files.store.delete(&location).await.ok();
            return Err(error);
        }
    };
    if let Some(first) = first {
        // The same form sent again: the file is attached already.
        files.store.delete(&location).await.ok();
        return once::already_saved(&session, &first).await;
    }
    flash(&session, "attachment-saved", "").await?;
    Ok(Redirect::to(&format!("{}#attachments", parent.page())).into_response())
}

/// A caption is a line under a photo, not a report.
const MAX_CAPTION: usize = 300;

/// An attachment's record, once its file is in the store.
pub struct NewAttachment<'a> {
    pub stored_name: &'a str,
    pub content_type: &'a str,
    pub size: i64,
    pub caption: &'a str,
    pub public: bool,
}

/// Saves the record once per form key: `Some` of where the first save led
/// when the form was sent before.
async fn save_record(
    pool: &PgPool,
    parent: &Parent,
    (user, once_key): (&CurrentUser, Option<String>),
    record: &NewAttachment<'_>,
    ip: Option<String>,
) -> Result<Option<String>, AppError> {
    let mut tx = pool.begin().await?;
    if let Some(first) = once::claim(&mut tx, once_key.as_deref(), user.id).await? {
        return Ok(Some(first));
    }
    insert(&mut tx, (parent.kind, parent.id), user, record, ip).await?;
    let location = format!("{}#attachments", parent.page());
    once::done(&mut tx, once_key.as_deref(), &location).await?;
    tx.commit().await?;
    Ok(None)
}

/// Records a stored file as an attachment of `(kind, id)` inside a
/// transaction, with its audit event; returns its id.
pub async fn insert(
    tx: &mut sqlx::PgConnection,
    (kind, parent_id): (&str, i64),
    user: &CurrentUser,
    record: &NewAttachment<'_>,
    ip: Option<String>,
) -> Result<i64, AppError> {
    let NewAttachment {
        stored_name,
        content_type,
        size,
        caption,
        public,
    } = *record;
    let id = sqlx::query_scalar!(
        "insert into attachments (parent, parent_id, stored_name, content_type, size_bytes, caption, public, uploaded_by)
         values ($1, $2, $3, $4, $5, $6, $7, $8) returning id",
        kind,
        parent_id,
        stored_name,
        content_type,
        size,
        caption,
        public,
        user.id,
    )
    .fetch_one(&mut *tx)
    .await?;
    audit::record(
        &mut *tx,
        Event {
            actor_id: Some(user.id),
            action: "attachment_added",
            entity: "attachment",
            entity_id: Some(id.to_string()),
            summary: format!("{kind} {parent_id} ({content_type}, {size} bytes)"),
            ip,
        },
    )
    .await?;
    Ok(id)
}

/// Puts a file of an accepted type into the store under a generated name;
/// `None` when its content is none of the accepted types.
pub async fn store(
    files: &FileStore,
    bytes: Vec<u8>,
) -> Result<Option<(String, &'static str)>, AppError> {
    // Opening a workbook unpacks it: off the async threads.
    let (bytes, detected) = tokio::task::spawn_blocking(move || {
        let detected = sniff::detect(&bytes);
        (bytes, detected)
    })
    .await
    .map_err(anyhow::Error::from)?;
    let Some((content_type, extension)) = detected else {
        return Ok(None);
    };
    let stored_name = format!("{}.{extension}", random_name());
    let location = StorePath::from(format!("attachments/{stored_name}"));
    files
        .store
        .put(&location, bytes.into())
        .await
        .map_err(|error| AppError::Internal(error.into()))?;
    Ok(Some((stored_name, content_type)))
}

/// 128 random bits, as hex: the stored name owes nothing to the user's file name.
fn random_name() -> String {
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
