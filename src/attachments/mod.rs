//! Photos (JPEG, PNG, WebP) and documents (PDF) attached to activities and case
//! studies: checked for size and for type by their content, stored under
//! generated names in the file store (a folder, or S3-compatible storage), and
//! handed out as downloads only to those who may read what they belong to.

mod sniff;

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::body::Body;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use object_store::ObjectStore;
use object_store::path::Path as StorePath;
use rand::RngCore as _;
use sqlx::PgPool;
use time::OffsetDateTime;
use tower_sessions::Session;

use crate::app::AppState;
use crate::audit::{self, Event};
use crate::auth::policy::{self, Action, Scope};
use crate::auth::require;
use crate::auth::session::CurrentUser;
use crate::error::{AppError, render};
use crate::web::{ClientIp, Ctx, flash};

/// Where files go: what `AppState` carries.
#[derive(Clone)]
pub struct FileStore {
    pub store: Arc<dyn ObjectStore>,
    /// The largest file accepted, in bytes.
    pub max_bytes: usize,
}

pub fn routes(max_bytes: usize) -> Router<AppState> {
    // Bodies a little over the limit still reach the handler, which answers
    // with the form and a message rather than a bare 413.
    let body_limit = DefaultBodyLimit::max(crate::web::csrf::largest_body(max_bytes));
    Router::new()
        .route(
            "/activities/{id}/attachments",
            post(upload_to_activity).layer(body_limit),
        )
        .route(
            "/actions/{id}/updates/{update}/attachments",
            post(upload_to_update).layer(body_limit),
        )
        .route(
            "/case-studies/{id}/attachments",
            post(upload_to_case_study).layer(body_limit),
        )
        .route("/attachments/{id}", get(download))
}

/// What an attachment belongs to, with what the policy needs to know of it.
struct Parent {
    kind: &'static str,
    id: i64,
    district: String,
    published: bool,
    /// For a progress report: the action and the organization that owns it.
    action: Option<(i64, i64)>,
}

impl Parent {
    async fn activity(pool: &PgPool, id: i64) -> Result<Parent, AppError> {
        let row = sqlx::query!(
            r#"select a.district_code, coalesce(c.status in ('published', 'archived'), false) as "published!"
               from activities a left join case_studies c on c.id = a.case_study_id where a.id = $1"#,
            id
        )
        .fetch_optional(pool)
        .await?
        .ok_or(AppError::NotFound)?;
        Ok(Parent {
            kind: "activity",
            id,
            district: row.district_code,
            published: row.published,
            action: None,
        })
    }

    async fn case_study(pool: &PgPool, id: i64) -> Result<Parent, AppError> {
        let row = sqlx::query!(
            r#"select district_code, status in ('published', 'archived') as "published!"
               from case_studies where id = $1"#,
            id
        )
        .fetch_optional(pool)
        .await?
        .ok_or(AppError::NotFound)?;
        Ok(Parent {
            kind: "case_study",
            id,
            district: row.district_code,
            published: row.published,
            action: None,
        })
    }

    /// Evidence for a progress report. Plans are read by everyone signed in.
    async fn action_update(pool: &PgPool, id: i64) -> Result<Parent, AppError> {
        let row = sqlx::query!(
            r#"select a.id as action_id, a.owner_organization_id, coalesce(p.district_code, p.province_code) as "district!"
               from action_updates u join actions a on a.id = u.action_id join action_plans p on p.id = a.plan_id
               where u.id = $1"#,
            id
        )
        .fetch_optional(pool)
        .await?
        .ok_or(AppError::NotFound)?;
        Ok(Parent {
            kind: "action_update",
            id,
            district: row.district,
            published: true,
            action: Some((row.action_id, row.owner_organization_id)),
        })
    }

    /// May `user` attach files to this parent?
    fn may_write(&self, user: &CurrentUser) -> bool {
        match (self.kind, self.action) {
            ("activity", _) => policy::allows(
                user,
                Action::RecordActivity,
                Scope::District(&self.district),
            ),
            (_, Some((_, owner))) => {
                policy::allows(user, Action::ReportProgress, Scope::OwnedBy(owner))
            }
            _ => policy::allows(
                user,
                Action::WriteCaseStudy,
                Scope::District(&self.district),
            ),
        }
    }

    fn read_action(&self) -> Action {
        match self.kind {
            "activity" => Action::ReadActivity,
            "case_study" => Action::ReadCaseStudy,
            _ => Action::ReadRecommendations,
        }
    }

    fn page(&self) -> String {
        match (self.kind, self.action) {
            ("activity", _) => format!("/activities/{}", self.id),
            (_, Some((action, _))) => format!("/actions/{action}"),
            _ => format!("/case-studies/{}", self.id),
        }
    }

    fn upload_action(&self) -> String {
        match self.action {
            Some((action, _)) => format!("/actions/{action}/updates/{}/attachments", self.id),
            None => format!("{}/attachments", self.page()),
        }
    }
}

/// An attachment as a page lists it.
pub struct AttachmentLine {
    pub id: i64,
    pub content_type: String,
    pub size_bytes: i64,
    pub caption: String,
    pub public: bool,
    pub uploaded_at: OffsetDateTime,
}

impl AttachmentLine {
    pub fn size_text(&self) -> String {
        size_text(self.size_bytes)
    }

    pub fn is_image(&self) -> bool {
        self.content_type.starts_with("image/")
    }
}

/// "1.5 MB" or "200 KB".
fn size_text(bytes: i64) -> String {
    if bytes >= 1024 * 1024 {
        format!("{:.1} MB", bytes as f64 / (1024.0 * 1024.0))
    } else {
        format!("{} KB", (bytes + 1023) / 1024)
    }
}

/// The attachments of several progress reports, for the action page.
pub async fn of_updates(
    pool: &PgPool,
    updates: &[i64],
    internal: bool,
) -> Result<Vec<(i64, AttachmentLine)>, AppError> {
    Ok(sqlx::query!(
        "select parent_id, id, content_type, size_bytes, caption, public, uploaded_at from attachments
         where parent = 'action_update' and parent_id = any($1) and (public or $2) order by id",
        updates,
        internal
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|row| {
        let line = AttachmentLine {
            id: row.id,
            content_type: row.content_type,
            size_bytes: row.size_bytes,
            caption: row.caption,
            public: row.public,
            uploaded_at: row.uploaded_at,
        };
        (row.parent_id, line)
    })
    .collect())
}

/// The attachments of a record that the reader may see: donors only public ones.
pub async fn of(
    pool: &PgPool,
    parent: &str,
    parent_id: i64,
    internal: bool,
) -> Result<Vec<AttachmentLine>, AppError> {
    Ok(sqlx::query_as!(
        AttachmentLine,
        "select id, content_type, size_bytes, caption, public, uploaded_at from attachments
         where parent = $1 and parent_id = $2 and (public or $3) order by id",
        parent,
        parent_id,
        internal
    )
    .fetch_all(pool)
    .await?)
}

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

/// What the upload form sent.
struct Upload {
    bytes: Vec<u8>,
    caption: String,
    public: bool,
    too_large: bool,
}

async fn read_upload(mut multipart: Multipart, max_bytes: usize) -> Result<Upload, AppError> {
    let mut upload = Upload {
        bytes: Vec::new(),
        caption: String::new(),
        public: false,
        too_large: false,
    };
    while let Some(mut field) = multipart
        .next_field()
        .await
        .map_err(|_| AppError::BadRequest)?
    {
        match field.name() {
            Some("file") => {
                while let Some(chunk) = field.chunk().await.map_err(|_| AppError::BadRequest)? {
                    if upload.bytes.len() + chunk.len() > max_bytes {
                        upload.too_large = true;
                        break;
                    }
                    upload.bytes.extend_from_slice(&chunk);
                }
            }
            Some("caption") => {
                upload.caption = field.text().await.map_err(|_| AppError::BadRequest)?
            }
            Some("public") => upload.public = true,
            _ => {}
        }
    }
    Ok(upload)
}

async fn upload_to_activity(
    ctx: Ctx,
    user: CurrentUser,
    session: Session,
    ClientIp(ip): ClientIp,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, AppError> {
    let parent = Parent::activity(&state.pool, id).await?;
    upload(ctx, user, session, ip, state, parent, multipart).await
}

async fn upload_to_update(
    ctx: Ctx,
    user: CurrentUser,
    session: Session,
    ClientIp(ip): ClientIp,
    State(state): State<AppState>,
    Path((action, update)): Path<(i64, i64)>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, AppError> {
    let parent = Parent::action_update(&state.pool, update).await?;
    if parent.action.map(|(id, _)| id) != Some(action) {
        return Err(AppError::NotFound);
    }
    upload(ctx, user, session, ip, state, parent, multipart).await
}

async fn upload_to_case_study(
    ctx: Ctx,
    user: CurrentUser,
    session: Session,
    ClientIp(ip): ClientIp,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, AppError> {
    let parent = Parent::case_study(&state.pool, id).await?;
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
    let caption: String = upload.caption.trim().chars().take(300).collect();
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
        Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response())
    };
    if upload.too_large {
        return refuse("attachment-too-large");
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
    let saved = save_record(&state.pool, &parent, &user, &record, ip).await;
    if let Err(error) = saved {
        // Keep the store and the database in step: no file without its record.
        files.store.delete(&location).await.ok();
        return Err(error);
    }
    flash(&session, "attachment-saved", "").await?;
    Ok(Redirect::to(&format!("{}#attachments", parent.page())).into_response())
}

/// An attachment's record, once its file is in the store.
struct NewAttachment<'a> {
    stored_name: &'a str,
    content_type: &'a str,
    size: i64,
    caption: &'a str,
    public: bool,
}

async fn save_record(
    pool: &PgPool,
    parent: &Parent,
    user: &CurrentUser,
    record: &NewAttachment<'_>,
    ip: Option<String>,
) -> Result<(), AppError> {
    let NewAttachment {
        stored_name,
        content_type,
        size,
        caption,
        public,
    } = *record;
    let mut tx = pool.begin().await?;
    let id = sqlx::query_scalar!(
        "insert into attachments (parent, parent_id, stored_name, content_type, size_bytes, caption, public, uploaded_by)
         values ($1, $2, $3, $4, $5, $6, $7, $8) returning id",
        parent.kind,
        parent.id,
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
            summary: format!(
                "{} {} ({content_type}, {size} bytes)",
                parent.kind, parent.id
            ),
            ip,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Puts a file of an accepted type into the store under a generated name;
/// `None` when its content is none of the accepted types.
pub async fn store(
    files: &FileStore,
    bytes: Vec<u8>,
) -> Result<Option<(String, &'static str)>, AppError> {
    let Some((content_type, extension)) = sniff::detect(&bytes) else {
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

async fn download(
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
        require(&user, Action::ReadInternalText, Scope::Anything)?;
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
