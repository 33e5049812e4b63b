//! `/exports`: the data behind the dashboard to take away, as CSV (UTF-8 with a
//! byte-order mark, so Excel reads Khmer) or XLSX, with the dashboard's filters
//! and the reader's permissions; and a data dictionary of every column.

mod datasets;

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use sqlx::PgPool;

use crate::app::AppState;
use crate::auth::policy::{self, Action, Scope};
use crate::auth::session::CurrentUser;
use crate::dashboard::filters::{Filters, Reader, Selection};
use crate::error::{AppError, render};
use crate::web::Ctx;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/exports", get(dictionary))
        .route("/exports/{file}", get(export))
}

pub const DATASETS: [&str; 5] = [
    "activities",
    "findings",
    "recommendations",
    "actions",
    "case-studies",
];

/// One value of a table: numbers stay numbers in a spreadsheet.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Number(i64),
    Empty,
}

pub struct Table {
    pub columns: &'static [&'static str],
    pub rows: Vec<Vec<Cell>>,
}

fn columns_of(dataset: &str) -> &'static [&'static str] {
    match dataset {
        "activities" => datasets::ACTIVITY_COLUMNS,
        "findings" => datasets::FINDING_COLUMNS,
        "recommendations" => datasets::RECOMMENDATION_COLUMNS,
        "actions" => datasets::ACTION_COLUMNS,
        _ => datasets::CASE_STUDY_COLUMNS,
    }
}

async fn table(
    pool: &PgPool,
    dataset: &str,
    selection: &Selection,
    user: &CurrentUser,
) -> Result<Table, sqlx::Error> {
    let reader = Reader::of(user);
    let internal = policy::allows(user, Action::ReadInternalText, Scope::Anything);
    match dataset {
        "activities" => datasets::activities(pool, selection, &reader, internal).await,
        "findings" => datasets::findings(pool, selection, &reader, internal).await,
        "recommendations" => datasets::recommendations(pool, selection, &reader).await,
        "actions" => {
            let today = crate::activities::form::today();
            datasets::actions(pool, selection, today, internal).await
        }
        _ => datasets::case_studies(pool, selection, &reader).await,
    }
}

/// `GET /exports/{dataset}.{csv|xlsx}`
async fn export(
    user: CurrentUser,
    State(pool): State<PgPool>,
    Path(file): Path<String>,
    Query(filters): Query<Filters>,
) -> Result<Response, AppError> {
    let (dataset, format) = file.rsplit_once('.').ok_or(AppError::NotFound)?;
    if !DATASETS.contains(&dataset) || !["csv", "xlsx"].contains(&format) {
        return Err(AppError::NotFound);
    }
    let selection = filters.check().map_err(|_| AppError::BadRequest)?;
    let table = table(&pool, dataset, &selection, &user).await?;
    let today = crate::activities::form::today();
    let name = format!("samleng-{dataset}-{today}.{format}");
    let (content_type, body) = if format == "csv" {
        ("text/csv; charset=utf-8", to_csv(&table)?)
    } else {
        (
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            to_xlsx(&table, dataset)?,
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

const BYTE_ORDER_MARK: &[u8] = b"\xEF\xBB\xBF";

fn to_csv(table: &Table) -> Result<Vec<u8>, AppError> {
    let mut writer = csv::Writer::from_writer(BYTE_ORDER_MARK.to_vec());
    let failed = |error: csv::Error| AppError::Internal(error.into());
    writer.write_record(table.columns).map_err(failed)?;
    for row in &table.rows {
        writer
            .write_record(row.iter().map(|cell| match cell {
                Cell::Text(text) => text.clone(),
                Cell::Number(number) => number.to_string(),
                Cell::Empty => String::new(),
            }))
            .map_err(failed)?;
    }
    writer
        .into_inner()
        .map_err(|error| AppError::Internal(anyhow::anyhow!("{error}")))
}

fn to_xlsx(table: &Table, dataset: &str) -> Result<Vec<u8>, AppError> {
    use rust_xlsxwriter::{Format, Workbook};
    let failed = |error: rust_xlsxwriter::XlsxError| AppError::Internal(error.into());
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.set_name(dataset).map_err(failed)?;
    let bold = Format::new().set_bold();
    for (column, name) in table.columns.iter().enumerate() {
        sheet
            .write_string_with_format(0, column as u16, *name, &bold)
            .map_err(failed)?;
    }
    sheet.set_freeze_panes(1, 0).map_err(failed)?;
    for (index, row) in table.rows.iter().enumerate() {
        let line = index as u32 + 1;
        for (column, cell) in row.iter().enumerate() {
            let column = column as u16;
            match cell {
                Cell::Text(text) => sheet.write_string(line, column, text).map(|_| ()),
                // Riel budgets and counts are far below 2^53, so f64 holds them exactly.
                Cell::Number(number) => {
                    sheet.write_number(line, column, *number as f64).map(|_| ())
                }
                Cell::Empty => Ok(()),
            }
            .map_err(failed)?;
        }
    }
    workbook.save_to_buffer().map_err(failed)
}

#[derive(Template)]
#[template(path = "exports/dictionary.html")]
struct DictionaryPage {
    ctx: Ctx,
    datasets: [&'static str; 5],
    query: String,
}

impl DictionaryPage {
    fn columns(&self, dataset: &str) -> &'static [&'static str] {
        columns_of(dataset)
    }

    /// What a column holds, in the reader's language. The twelve counts by group
    /// and sex share one sentence.
    fn describe(&self, column: &str) -> String {
        let lang = self.ctx.lang;
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
