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
use time::Date;
use tokio::sync::mpsc;

use crate::audit::{self, Event};
use crate::auth::policy::{self, InternalScope};
use crate::auth::reader::Reader;
use crate::auth::session::CurrentUser;
use crate::db::cache::GenerationCache;
use crate::error::{AppError, render};
use crate::state::AppState;
use crate::web::filters::{Filters, Selection};
use crate::web::{ClientIp, Ctx};
use sink::Chunk;
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

/// The reader and the filters, owned, for a task that outlives the request;
/// with the day, all that decides a file's rows.
#[derive(Clone, PartialEq, Eq, Hash)]
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
        let body = csv_download(&state, request, &downloaded, &audit).await?;
        ("text/csv; charset=utf-8", body)
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

/// CSV files that fit in one chunk, kept by what decides their rows until
/// the data changes; `None` for a larger file, which is read anew each time.
/// At most 64 of 64 KB, so that memory stays bounded.
type KeptFiles = GenerationCache<(Request, Date), Option<Bytes>>;
const KEPT_FILES: usize = 64;

/// A CSV download: the kept file when the same reader took the same rows
/// today and nothing changed since, else the file as it is read. Each one is
/// recorded, kept or not, before it goes out whole.
async fn csv_download(
    state: &AppState,
    request: Request,
    downloaded: &Downloaded,
    audit: &audit::Batched,
) -> Result<Body, AppError> {
    let kept = state.kept("export_files", |name, changes| {
        KeptFiles::with_capacity(name, changes, KEPT_FILES).side_by_side()
    });
    let mut read_now = None;
    let whole = kept
        .get((request.clone(), crate::format::today()), async || {
            let file = read_csv(&state.pool, request.clone(), downloaded, audit).await?;
            let whole = file.whole();
            read_now = Some(file);
            Ok::<_, AppError>(whole)
        })
        .await?;
    // A file read just now was recorded by the task that read it.
    if let Some(file) = read_now {
        return Ok(file.into_body());
    }
    match whole.as_ref() {
        Some(bytes) => {
            record_export(audit, downloaded, true).await?;
            Ok(Body::from(bytes.clone()))
        }
        None => Ok(read_csv(&state.pool, request, downloaded, audit)
            .await?
            .into_body()),
    }
}

/// Starts reading a CSV file, recording the download when it has ended.
async fn read_csv(
    pool: &PgPool,
    request: Request,
    downloaded: &Downloaded,
    audit: &audit::Batched,
) -> Result<CsvFile, AppError> {
    let (chunks, received) = mpsc::channel(4);
    let columns = columns_of(&request.dataset);
    let mut sink = Sink::csv(&columns, chunks.clone())?;
    let (pool, downloaded, audit) = (pool.clone(), downloaded.clone(), audit.clone());
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
            let _ = chunks
                .send(Err(std::io::Error::other("the export stopped")))
                .await;
        }
        if let Err(error) = record_export(&audit, &downloaded, written.is_ok()).await {
            tracing::error!(%error, "recording an export failed");
        }
        drop(chunks);
    });
    csv_file(received).await
}

/// A CSV file on its way: whole when it fits in one chunk (a district's
/// activities of a cycle, the usual download), sent in one write with its
/// length; else streamed as it is read.
enum CsvFile {
    Whole(Bytes),
    Streamed(Body),
}

impl CsvFile {
    /// The file to keep, at its own size.
    fn whole(&self) -> Option<Bytes> {
        match self {
            CsvFile::Whole(bytes) => Some(Bytes::copy_from_slice(bytes)),
            CsvFile::Streamed(_) => None,
        }
    }

    fn into_body(self) -> Body {
        match self {
            CsvFile::Whole(bytes) => Body::from(bytes),
            CsvFile::Streamed(body) => body,
        }
    }
}

async fn csv_file(mut received: mpsc::Receiver<Chunk>) -> Result<CsvFile, AppError> {
    // A file that stops before its second chunk has sent nothing yet: the
    // client gets an error page instead of part of a file.
    let stopped = || AppError::Internal(anyhow::anyhow!("CSV export stopped"));
    let first = received.recv().await.ok_or_else(stopped)?;
    let first = first.map_err(|_| stopped())?;
    let Some(second) = received.recv().await else {
        return Ok(CsvFile::Whole(first));
    };
    let second = second.map_err(|_| stopped())?;
    let mut sent = [first, second].into_iter();
    // `poll_recv` keeps answering "closed" once the rows have ended, as the
    // compression layer expects of a stream it polls once more. An error
    // ends the response without its last chunk, so the client knows the file
    // is not whole.
    let stream = futures_util::stream::poll_fn(move |context| match sent.next() {
        Some(chunk) => std::task::Poll::Ready(Some(Ok(chunk))),
        None => received.poll_recv(context),
    });
    Ok(CsvFile::Streamed(Body::from_stream(stream)))
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
#[derive(Clone)]
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

#[cfg(test)]
mod tests {
    use super::*;

    async fn file_of(chunks: Vec<Chunk>) -> Result<CsvFile, AppError> {
        let (sender, received) = mpsc::channel(chunks.len().max(1));
        for chunk in chunks {
            sender.send(chunk).await.expect("room for every chunk");
        }
        drop(sender);
        csv_file(received).await
    }

    fn stopped() -> Chunk {
        Err(std::io::Error::other("the export stopped"))
    }

    #[tokio::test]
    async fn a_file_in_one_chunk_goes_whole_and_one_that_stopped_is_an_error() {
        let whole = file_of(vec![Ok(Bytes::from_static(b"a,b\n"))]).await;
        assert!(matches!(whole, Ok(CsvFile::Whole(bytes)) if bytes == "a,b\n"));
        let stopped_after_first = file_of(vec![Ok(Bytes::from_static(b"a,b\n")), stopped()]).await;
        assert!(matches!(stopped_after_first, Err(AppError::Internal(_))));
        assert!(matches!(file_of(vec![]).await, Err(AppError::Internal(_))));
    }

    #[tokio::test]
    async fn a_streamed_file_that_stops_ends_in_an_error_not_a_clean_end() {
        let file = file_of(vec![
            Ok(Bytes::from_static(b"a,b\n")),
            Ok(Bytes::from_static(b"1,2\n")),
            stopped(),
        ])
        .await;
        let Ok(CsvFile::Streamed(body)) = file else {
            panic!("two chunks are streamed");
        };
        let read = axum::body::to_bytes(body, usize::MAX).await;
        assert!(read.is_err(), "the client sees that the file is not whole");

        let file = file_of(vec![
            Ok(Bytes::from_static(b"a,b\n")),
            Ok(Bytes::from_static(b"1,2\n")),
        ])
        .await;
        let Ok(CsvFile::Streamed(body)) = file else {
            panic!("two chunks are streamed");
        };
        let read = axum::body::to_bytes(body, usize::MAX).await;
        assert_eq!(read.expect("a whole file"), "a,b\n1,2\n");
    }
}
