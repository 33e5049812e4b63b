//! The import's start page and its downloads: the template and the XLSForm.

use askama::Template;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use sqlx::PgPool;

use super::lookup::Lookup;
use super::{template, xlsform};
use crate::attachments::XLSX;
use crate::auth::policy::{Action, Scope};
use crate::auth::require;
use crate::auth::session::CurrentUser;
use crate::error::{AppError, render};
use crate::web::Ctx;

/// The start page: what to download, and the upload form, with the reason a
/// file was refused.
#[derive(Template)]
#[template(path = "imports/start.html")]
pub(super) struct StartPage {
    pub ctx: Ctx,
    /// (id, title in English, in Khmer).
    pub studies: Vec<(i64, String, String)>,
    pub study_id: String,
    pub refusal: Option<String>,
}

async fn studies(pool: &PgPool) -> Result<Vec<(i64, String, String)>, AppError> {
    Ok(
        sqlx::query!("select id, title_en, title_km from studies order by id desc")
            .fetch_all(pool)
            .await?
            .into_iter()
            .map(|row| (row.id, row.title_en, row.title_km))
            .collect(),
    )
}

pub(super) async fn start(
    ctx: Ctx,
    user: CurrentUser,
    State(pool): State<PgPool>,
) -> Result<Response, AppError> {
    require(&user, Action::RecordActivity, Scope::Anything)?;
    let studies = studies(&pool).await?;
    let study_id = studies
        .first()
        .map(|(id, ..)| id.to_string())
        .unwrap_or_default();
    let page = StartPage {
        ctx,
        studies,
        study_id,
        refusal: None,
    };
    Ok(render(&page)?.into_response())
}

fn xlsx_download(name: &str, bytes: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, XLSX.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
            (header::CACHE_CONTROL, "private, no-store".to_owned()),
        ],
        bytes,
    )
        .into_response()
}

/// The template, its lists those of this user.
pub(super) async fn template(
    user: CurrentUser,
    State(pool): State<PgPool>,
) -> Result<Response, AppError> {
    require(&user, Action::RecordActivity, Scope::Anything)?;
    let lookup = Lookup::load(&pool, &user).await?;
    let bytes = template::workbook(&lookup).map_err(anyhow::Error::from)?;
    Ok(xlsx_download("samleng-import-template.xlsx", bytes))
}

pub(super) async fn xlsform(user: CurrentUser) -> Result<Response, AppError> {
    require(&user, Action::RecordActivity, Scope::Anything)?;
    let bytes = xlsform::workbook().map_err(anyhow::Error::from)?;
    Ok(xlsx_download("samleng-fgd.xlsx", bytes))
}
