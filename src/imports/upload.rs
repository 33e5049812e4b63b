//! Uploading a file to import: read within the upload limit, checked row by
//! row, and kept for confirmation when nothing is wrong with it; otherwise
//! the preview lists every problem and nothing is kept.

use axum::extract::State;
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use sha2::{Digest as _, Sha256};
use sqlx::PgPool;

use super::check;
use super::kept::imported_before;
use super::lookup::Lookup;
use super::pages::StartPage;
use super::preview::PreviewPage;
use super::sheet::{self, MAX_ROWS, Table};
use crate::attachments::{Upload, read_upload};
use crate::audit::{self, Event};
use crate::auth::policy::{Action, Scope};
use crate::auth::require;
use crate::auth::session::CurrentUser;
use crate::error::{AppError, render};
use crate::state::AppState;
use crate::web::{ClientIp, Ctx};

/// A file's name as kept: its last part, without control characters, short.
fn clean_file_name(name: &str) -> String {
    let name = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let clean: String = name.chars().filter(|c| !c.is_control()).take(200).collect();
    if clean.trim().is_empty() {
        "upload".to_owned()
    } else {
        clean.trim().to_owned()
    }
}

pub(super) async fn upload(
    ctx: Ctx,
    user: CurrentUser,
    ClientIp(ip): ClientIp,
    State(state): State<AppState>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, AppError> {
    require(&user, Action::RecordActivity, Scope::Anything)?;
    let max_bytes = state.files.max_bytes;
    let upload = read_upload(multipart.map_err(|_| AppError::BadRequest)?, max_bytes).await?;
    let study_id = upload
        .fields
        .iter()
        .find(|(name, _)| name == "study_id")
        .map_or_else(String::new, |(_, value)| value.trim().to_owned());
    let mut lookup = Lookup::load(&state.pool, &user).await?;
    let studies = lookup.choices.studies.clone();
    let (study, table) = match readable(&ctx, &upload, max_bytes, &study_id, &studies).await {
        Ok(readable) => readable,
        Err((status, message)) => {
            let page = StartPage {
                ctx,
                studies,
                study_id,
                refusal: Some(message),
            };
            return Ok((status, render(&page)?).into_response());
        }
    };
    let file_name = clean_file_name(&upload.file_name);
    lookup.study_id = study;
    lookup.imported = imported_before(&state.pool, &check::submissions(&table)).await?;
    let checked = check::check(&table, &lookup);
    let kept = if checked.problems.is_empty() && !checked.ready.is_empty() {
        Some(keep(&state.pool, &file_name, &upload.bytes, study, &user).await?)
    } else {
        None
    };
    audit::record(
        &state.pool,
        Event {
            actor_id: Some(user.id),
            action: "import_uploaded",
            entity: "import",
            entity_id: kept.map(|id| id.to_string()),
            summary: format!(
                "{file_name}: {} ready, {} problems, {} imported before",
                checked.ready.len(),
                checked.problems.len(),
                checked.already_imported.len()
            ),
            ip,
        },
    )
    .await?;
    if let Some(id) = kept {
        return Ok(Redirect::to(&format!("/activities/import/{id}")).into_response());
    }
    PreviewPage::new(ctx, file_name, (&table, &lookup, &checked)).answer_for(&checked)
}

/// The study chosen and the file as a table, or why the file is refused.
async fn readable(
    ctx: &Ctx,
    upload: &Upload,
    max_bytes: usize,
    study_id: &str,
    studies: &[(i64, String, String)],
) -> Result<(Option<i64>, Table), (StatusCode, String)> {
    let refused = |message| (StatusCode::UNPROCESSABLE_ENTITY, message);
    if upload.too_large {
        let limit = format!("{} MB", max_bytes / (1024 * 1024));
        let message = ctx.lang.t_with("import-too-large", &[("value", limit)]);
        return Err((StatusCode::PAYLOAD_TOO_LARGE, message));
    }
    if upload.bytes.is_empty() {
        return Err(refused(ctx.t("import-missing-file")));
    }
    let study = match study_id {
        "" => None,
        id => Some(
            id.parse::<i64>()
                .ok()
                .filter(|id| studies.iter().any(|(known, ..)| known == id))
                .ok_or_else(|| refused(ctx.t("import-not-a-study")))?,
        ),
    };
    let table = sheet::read_apart(upload.bytes.clone())
        .await
        .map_err(|message| refused(ctx.lang.t_with(message, &[("value", MAX_ROWS.to_string())])))?;
    Ok((study, table))
}

/// Keeps a file that passed its checks until it is confirmed; files left
/// unconfirmed for a day go.
async fn keep(
    pool: &PgPool,
    file_name: &str,
    bytes: &[u8],
    study_id: Option<i64>,
    user: &CurrentUser,
) -> Result<i64, AppError> {
    let sha256: String = Sha256::digest(bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    let mut tx = pool.begin().await?;
    sqlx::query!(
        "delete from imports where confirmed_at is null and uploaded_at < now() - interval '1 day'"
    )
    .execute(&mut *tx)
    .await?;
    let id = sqlx::query_scalar!(
        "insert into imports (file_name, file_sha256, content, study_id, uploaded_by)
         values ($1, $2, $3, $4, $5) returning id",
        file_name,
        sha256,
        bytes,
        study_id,
        user.id
    )
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(id)
}
