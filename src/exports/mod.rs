//! `/exports`: the data behind the dashboard to take away, as CSV (UTF-8 with a
//! byte-order mark, so Excel reads Khmer) or XLSX, with the dashboard's filters
//! and the reader's permissions; and a data dictionary of every column.

mod datasets;
mod field_work;
mod programmes;
mod sink;

use askama::Template;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use sqlx::PgPool;
use tokio::sync::mpsc;

use crate::audit::{self, Event};
use crate::auth::policy::{self, InternalScope};
use crate::auth::reader::Reader;
use crate::auth::session::CurrentUser;
use crate::error::{AppError, render};
use crate::state::AppState;
use crate::web::filters::{Filters, Selection};
use crate::web::{ClientIp, Ctx};
pub(crate) use sink::{BYTE_ORDER_MARK, defuse_formula};
pub use sink::{Cell, Sink};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/exports", get(dictionary))
        .route("/exports/{file}", get(export))
}

pub const DATASETS: [&str; 7] = [
    "activities",
    "findings",
    "recommendations",
    "actions",
    "case-studies",
    "projects",
    "events",
];

fn columns_of(dataset: &str) -> Vec<&'static str> {
    match dataset {
        "activities" => field_work::ACTIVITY_COLUMNS.to_vec(),
        "findings" => field_work::FINDING_COLUMNS.to_vec(),
        "recommendations" => datasets::RECOMMENDATION_COLUMNS.to_vec(),
        "actions" => datasets::ACTION_COLUMNS.to_vec(),
        "projects" => programmes::PROJECT_COLUMNS.to_vec(),
        "events" => programmes::event_columns()
            .iter()
            .map(String::as_str)
            .collect(),
        _ => datasets::CASE_STUDY_COLUMNS.to_vec(),
    }
}

/// The reader and the filters, owned, for a task that outlives the request.
struct Request {
    dataset: String,
    selection: Selection,
    reader: Reader,
    internal: InternalScope,
    programmes: programmes::ProgrammeReader,
}

async fn write_rows(pool: &PgPool, request: &Request, sink: &mut Sink) -> anyhow::Result<()> {
    let Request {
        dataset,
        selection,
        reader,
        internal,
        programmes,
    } = request;
    match dataset.as_str() {
        "activities" => field_work::activities(pool, selection, reader, internal, sink).await,
        "findings" => field_work::findings(pool, selection, reader, internal, sink).await,
        "recommendations" => datasets::recommendations(pool, selection, reader, sink).await,
        "actions" => {
            let today = crate::format::today();
            datasets::actions(pool, selection, today, internal, sink).await
        }
        "projects" => programmes::projects(pool, selection, *programmes, sink).await,
        "events" => programmes::events(pool, selection, reader, sink).await,
        _ => datasets::case_studies(pool, selection, reader, sink).await,
    }
}

/// `GET /exports/{dataset}.{csv|xlsx}`. Every download is in the audit log:
/// data about citizens leaves the system here.
async fn export(
    user: CurrentUser,
    ClientIp(ip): ClientIp,
    State(state): State<AppState>,
    Path(file): Path<String>,
    Query(filters): Query<Filters>,
) -> Result<Response, AppError> {
    let pool = state.pool.clone();
    let audit = state.kept("export_audit", |_, _| audit::Batched::start(pool.clone()));
    let (dataset, format) = file.rsplit_once('.').ok_or(AppError::NotFound)?;
    if !DATASETS.contains(&dataset) || !["csv", "xlsx"].contains(&format) {
        return Err(AppError::NotFound);
    }
    let selection = filters.check().map_err(|_| AppError::BadRequest)?;
    if let Some(project) = selection.project {
        crate::projects::readable(&pool, &user, project).await?;
    }
    let request = Request {
        dataset: dataset.to_owned(),
        reader: Reader::of(&user, &selection.district),
        selection,
        internal: policy::internal_text_scope(&user),
        programmes: programmes::ProgrammeReader {
            every: policy::reads_every_programme(&user),
            organization_id: user.organization_id,
        },
    };
    let downloaded = Downloaded {
        user_id: user.id,
        ip,
        file: file.clone(),
        filters: filters.query(),
    };
    let columns = columns_of(dataset);
    let name = format!("samleng-{dataset}-{}.{format}", crate::format::today());
    let (content_type, body) = if format == "csv" {
        let (chunks, received) = mpsc::channel(4);
        let mut sink = Sink::csv(&columns, chunks)?;
        // Rows are read and sent while the response is already on its way. The
        // download is recorded, with how it ended, before the channel closes, so
        // that a client that has the whole file finds it in the audit log.
        tokio::spawn(async move {
            let written = match write_rows(&pool, &request, &mut sink).await {
                Ok(()) => sink.finish_csv().await,
                Err(error) => Err(error),
            };
            if let Err(error) = &written {
                tracing::warn!(%error, dataset = request.dataset, "CSV export stopped");
            }
            if let Err(error) = record_export(&audit, &downloaded, written.is_ok()).await {
                tracing::error!(%error, "recording an export failed");
            }
            drop(written);
        });
        ("text/csv; charset=utf-8", csv_body(received).await?)
    } else {
        let bytes = match xlsx_bytes(&pool, &request, &columns).await {
            Ok(bytes) => bytes,
            Err(error) => {
                record_export(&audit, &downloaded, false).await?;
                return Err(AppError::Internal(error));
            }
        };
        record_export(&audit, &downloaded, true).await?;
        (
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Body::from(bytes),
        )
    };
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
            (header::CACHE_CONTROL, "private, no-store".to_owned()),
        ],
        body,
    )
        .into_response())
}

/// A file that fits in one chunk goes out whole, with its length, in one
/// write (a district's activities of a cycle, the usual download); a larger
/// one is streamed as it is read.
async fn csv_body(mut received: mpsc::Receiver<Bytes>) -> Result<Body, AppError> {
    let Some(first) = received.recv().await else {
        // The rows stopped before the first chunk: nothing went out yet.
        return Err(AppError::Internal(anyhow::anyhow!("CSV export stopped")));
    };
    let Some(second) = received.recv().await else {
        return Ok(Body::from(first));
    };
    let mut sent = [first, second].into_iter();
    // `poll_recv` keeps answering "closed" once the rows have ended, as the
    // compression layer expects of a stream it polls once more.
    let stream = futures_util::stream::poll_fn(move |context| match sent.next() {
        Some(chunk) => std::task::Poll::Ready(Some(Ok::<_, std::io::Error>(chunk))),
        None => received
            .poll_recv(context)
            .map(|chunk| chunk.map(Ok::<_, std::io::Error>)),
    });
    Ok(Body::from_stream(stream))
}

async fn xlsx_bytes(pool: &PgPool, request: &Request, columns: &[&str]) -> anyhow::Result<Vec<u8>> {
    let mut sink = Sink::xlsx(columns, &request.dataset)?;
    write_rows(pool, request, &mut sink).await?;
    let Sink::Xlsx { mut workbook, .. } = sink else {
        anyhow::bail!("not a workbook");
    };
    // A workbook travels without its dictionary page: it says its time zone.
    let about = workbook.add_worksheet();
    about.set_name("about")?;
    about.write_string(0, 0, "time_zone")?;
    about.write_string(0, 1, crate::db::CAMBODIA_ZONE)?;
    about.write_string(1, 0, "note")?;
    about.write_string(1, 1, "Every date is the day in Cambodia (UTC+7).")?;
    Ok(workbook.save_to_buffer()?)
}

/// Who took which file with which filters, for the audit log.
struct Downloaded {
    user_id: i64,
    ip: Option<String>,
    file: String,
    filters: String,
}

/// Data about citizens leaves the system through an export: each one is in the
/// audit log as `exported` when the whole file went out, `export_failed` when not.
async fn record_export(
    audit: &audit::Batched,
    downloaded: &Downloaded,
    completed: bool,
) -> anyhow::Result<()> {
    audit
        .record(Event {
            actor_id: Some(downloaded.user_id),
            action: if completed {
                "exported"
            } else {
                "export_failed"
            },
            entity: "export",
            entity_id: Some(downloaded.file.clone()),
            summary: downloaded.filters.clone(),
            ip: downloaded.ip.clone(),
        })
        .await
}

#[derive(Template)]
#[template(path = "exports/dictionary.html")]
struct DictionaryPage {
    ctx: Ctx,
    datasets: [&'static str; 7],
    query: String,
}

impl DictionaryPage {
    fn columns(&self, dataset: &str) -> Vec<&'static str> {
        columns_of(dataset)
    }

    /// What a column holds, in the reader's language. The twelve counts by group
    /// and sex share one sentence.
    fn describe(&self, column: &str) -> String {
        let lang = self.ctx.lang;
        for kind in crate::events::ORGANIZATION_KINDS {
            for sex in crate::events::SEXES {
                if column == format!("from_{kind}_{sex}") {
                    return lang.t_with(
                        "export-column-kind-sex",
                        &[
                            ("kind", lang.t(&format!("participant-kind-{kind}"))),
                            ("sex", lang.t(&format!("sex-{sex}"))),
                        ],
                    );
                }
            }
        }
        for group in crate::activities::form::GROUPS {
            for sex in ["female", "male"] {
                if column == format!("{group}_{sex}") {
                    return lang.t_with(
                        "export-column-group-sex",
                        &[
                            ("group", lang.t(&format!("group-{group}"))),
                            ("sex", lang.t(&format!("sex-{sex}"))),
                        ],
                    );
                }
            }
        }
        lang.t(&format!("export-column-{column}"))
    }
}

/// `GET /exports`: what can be downloaded and what every column means.
async fn dictionary(
    ctx: Ctx,
    _user: CurrentUser,
    Query(filters): Query<Filters>,
) -> Result<Html<String>, AppError> {
    render(&DictionaryPage {
        ctx,
        datasets: DATASETS,
        query: filters.query(),
    })
}
