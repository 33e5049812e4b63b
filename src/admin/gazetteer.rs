//! `/admin/gazetteer`: the provinces with their district and commune counts, and
//! the CSV upload that imports more of the gazetteer.

use askama::Template;
use axum::Router;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use sqlx::PgPool;
use tower_sessions::Session;

use super::require_admin;
use crate::audit::{self, Event};
use crate::auth::session::CurrentUser;
use crate::error::{AppError, render};
use crate::geo::import::{self, ImportError, LineError, Source};
use crate::state::AppState;
use crate::web::{ClientIp, Ctx, flash};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/gazetteer", get(overview))
        // Its body was read within `web::input::GAZETTEER_BYTES` already.
        .route(
            "/admin/gazetteer/import",
            post(upload).layer(axum::extract::DefaultBodyLimit::disable()),
        )
}

pub struct ProvinceCounts {
    pub code: String,
    pub name_en: String,
    pub name_km: String,
    pub districts: i64,
    pub communes: i64,
}

#[derive(Template)]
#[template(path = "admin/gazetteer.html")]
struct GazetteerPage {
    ctx: Ctx,
    provinces: Vec<ProvinceCounts>,
    errors: Vec<LineError>,
}

impl GazetteerPage {
    fn error_text(&self, error: &LineError) -> String {
        self.ctx
            .lang
            .t_with(error.key, &[("value", error.detail.clone())])
    }
}

async fn province_counts(pool: &PgPool) -> Result<Vec<ProvinceCounts>, AppError> {
    Ok(sqlx::query_as!(
        ProvinceCounts,
        r#"select p.code, p.name_en, p.name_km,
                  count(distinct d.code) as "districts!", count(c.code) as "communes!"
           from provinces p
           left join districts d on d.province_code = p.code
           left join communes c on c.district_code = d.code
           group by p.code order by p.code"#
    )
    .fetch_all(pool)
    .await?)
}

async fn overview(
    ctx: Ctx,
    user: CurrentUser,
    State(pool): State<PgPool>,
) -> Result<Response, AppError> {
    require_admin(&user)?;
    let provinces = province_counts(&pool).await?;
    Ok(render(&GazetteerPage {
        ctx,
        provinces,
        errors: Vec::new(),
    })?
    .into_response())
}

async fn upload(
    ctx: Ctx,
    admin: CurrentUser,
    session: Session,
    ClientIp(ip): ClientIp,
    State(pool): State<PgPool>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, AppError> {
    require_admin(&admin)?;
    let mut multipart = multipart.map_err(|_| AppError::BadRequest)?;
    let mut sources = Vec::new();
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|_| AppError::BadRequest)?
    {
        if field.name() != Some("file") {
            continue;
        }
        let name = field.file_name().unwrap_or("upload.csv").to_owned();
        let bytes = field.bytes().await.map_err(|_| AppError::BadRequest)?;
        if !bytes.is_empty() {
            sources.push(Source {
                name,
                bytes: bytes.to_vec(),
            });
        }
    }
    if sources.is_empty() {
        let errors = vec![LineError {
            file: String::new(),
            line: 0,
            key: "import-no-file",
            detail: String::new(),
        }];
        return refuse(ctx, &pool, errors).await;
    }
    match import::import(&pool, &sources).await {
        Ok(summary) => {
            let names: Vec<&str> = sources.iter().map(|source| source.name.as_str()).collect();
            audit::record(
                &pool,
                Event {
                    actor_id: Some(admin.id),
                    action: "gazetteer_imported",
                    entity: "gazetteer",
                    entity_id: None,
                    summary: format!(
                        "{}: {} provinces, {} districts, {} communes changed, {} unchanged, {} boundaries, {} other spellings",
                        names.join(", "),
                        summary.provinces,
                        summary.districts,
                        summary.communes,
                        summary.unchanged,
                        summary.shapes,
                        summary.aliases
                    ),
                    ip,
                },
            )
            .await?;
            let counts = format!(
                "{} / {} / {} · {} · {} · {}",
                summary.provinces,
                summary.districts,
                summary.communes,
                summary.unchanged,
                summary.shapes,
                summary.aliases
            );
            flash(&session, "import-done", counts).await?;
            Ok(Redirect::to("/admin/gazetteer").into_response())
        }
        Err(ImportError::Invalid(errors)) => refuse(ctx, &pool, errors).await,
        Err(ImportError::Database(error)) => Err(error.into()),
    }
}

async fn refuse(ctx: Ctx, pool: &PgPool, errors: Vec<LineError>) -> Result<Response, AppError> {
    let page = GazetteerPage {
        ctx,
        provinces: province_counts(pool).await?,
        errors,
    };
    Err(AppError::invalid(&page))
}
