//! Open data: `/public/data` lists each public study's datasets with their
//! data dictionary and licence; `/public/studies/{id}/data/{dataset}.{csv,json}`
//! serves one, at a stable address. Participation counts keep the small-count
//! rule: rounded as outsiders see them, "<5" where people were there but fewer
//! than five after rounding (`disclosure`).

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::study::{actions, recommendations};
use super::{PublicReader, PublicStudy, Rendered, cached, ctx, public_studies};
use crate::disclosure::Shown;
use crate::error::AppError;
use crate::exports::{BYTE_ORDER_MARK, defuse_formula};
use crate::state::AppState;
use crate::studies::report;
use crate::web::Ctx;

/// This instance's start, as a random number.
static STARTED: std::sync::LazyLock<u64> = std::sync::LazyLock::new(rand::random);

/// Each dataset and its columns, in order: the data dictionary's rows.
pub const DATASETS: [(&str, &[&str]); 3] = [
    (
        "recommendations",
        &[
            "list_id",
            "district_code",
            "district_en",
            "district_km",
            "position",
            "text_en",
            "text_km",
            "addressee",
            "theme_en",
            "theme_km",
            "endorsed_on",
            "endorsed_how",
            "fingerprint",
            "provincial_rank",
            "national_rank",
            "actions",
            "status",
        ],
    ),
    (
        "actions",
        &[
            "plan_id",
            "plan_title_en",
            "plan_title_km",
            "district_code",
            "action_id",
            "description_en",
            "description_km",
            "lead",
            "owner_organization",
            "starts_on",
            "due_on",
            "status",
            "progress",
        ],
    ),
    (
        "participation",
        &[
            "district_code",
            "district_en",
            "district_km",
            "activities",
            "participants",
            "female",
            "male",
        ],
    ),
];

#[derive(Template)]
#[template(path = "public/data.html")]
struct DataPage {
    ctx: Ctx,
    studies: Vec<PublicStudy>,
    datasets: [(&'static str, &'static [&'static str]); 3],
}

impl DataPage {
    fn licence_url(&self, code: &str) -> &'static str {
        super::licence_url(code)
    }
}

/// `/public/data`: the datasets of every public study, and what their columns mean.
pub async fn index(State(state): State<AppState>, uri: Uri, headers: HeaderMap) -> Response {
    let pool = state.pool.clone();
    cached(&state, &uri, &headers, async |lang| {
        let page = DataPage {
            ctx: ctx(lang, "/public/data"),
            studies: public_studies(&pool).await?,
            datasets: DATASETS,
        };
        Ok(Some(Rendered::html(&page)?))
    })
    .await
}

/// `/public/studies/{id}/data/{dataset}.{csv|json}`. Files can be large, so
/// they are not kept: their tag is the data generation, and a reader who has
/// the current one gets a `304` without the file being made again.
pub async fn dataset(
    State(state): State<AppState>,
    Path((id, file)): Path<(i64, String)>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let (name, format) = file.rsplit_once('.').ok_or(AppError::NotFound)?;
    let columns = DATASETS
        .iter()
        .find(|(dataset, _)| *dataset == name)
        .map(|(_, columns)| *columns)
        .ok_or(AppError::NotFound)?;
    let content_type = match format {
        "csv" => "text/csv; charset=utf-8",
        "json" => "application/json",
        _ => return Err(AppError::NotFound),
    };
    let is_public = public_studies(&state.pool)
        .await?
        .iter()
        .any(|study| study.id == id);
    if !is_public {
        return Err(AppError::NotFound);
    }
    // Only while changes are heard does the generation say the data is the same.
    // The generation counts on this instance since it started, hence its start
    // in the tag: a restarted instance never repeats an old tag for new data.
    let etag = state
        .changes
        .is_live()
        .then(|| {
            let generation = state.changes.data_generation();
            format!("\"{:x}-{generation}-{id}-{file}\"", *STARTED)
        })
        .and_then(|etag| HeaderValue::from_str(&etag).ok());
    let mut response_headers = HeaderMap::new();
    response_headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=60"),
    );
    if let Some(etag) = &etag {
        response_headers.insert(header::ETAG, etag.clone());
    }
    let unchanged = etag.is_some() && headers.get(header::IF_NONE_MATCH) == etag.as_ref();
    if unchanged {
        return Ok((StatusCode::NOT_MODIFIED, response_headers).into_response());
    }
    let rows = rows(&state, id, name).await?;
    let body = if format == "csv" {
        csv(columns, &rows)?
    } else {
        json(columns, &rows)?
    };
    response_headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(disposition) = HeaderValue::from_str(&format!(
        "attachment; filename=\"samleng-study-{id}-{name}.{format}\""
    )) {
        response_headers.insert(header::CONTENT_DISPOSITION, disposition);
    }
    Ok((response_headers, body).into_response())
}

async fn rows(state: &AppState, study: i64, dataset: &str) -> Result<Vec<Vec<Value>>, AppError> {
    let pool = &state.pool;
    Ok(match dataset {
        "recommendations" => recommendations(pool, study, None)
            .await?
            .into_iter()
            .map(|r| {
                vec![
                    json!(r.list_id),
                    json!(r.district_code),
                    json!(r.district_en),
                    json!(r.district_km),
                    json!(r.position),
                    json!(r.text_en),
                    json!(r.text_km),
                    json!(r.addressee),
                    json!(r.theme_en),
                    json!(r.theme_km),
                    json!(r.endorsed_on().to_string()),
                    json!(r.endorsed_how()),
                    json!(r.fingerprint),
                    json!(r.provincial_rank),
                    json!(r.national_rank),
                    json!(r.actions),
                    json!(r.status()),
                ]
            })
            .collect(),
        "actions" => actions(pool, study, None)
            .await?
            .into_iter()
            .map(|a| {
                vec![
                    json!(a.plan_id),
                    json!(a.plan_title_en),
                    json!(a.plan_title_km),
                    json!(a.district_code),
                    json!(a.action_id),
                    json!(a.description_en),
                    json!(a.description_km),
                    json!(a.lead.code()),
                    json!(a.owner),
                    json!(a.starts_on.to_string()),
                    json!(a.due_on.to_string()),
                    json!(a.status.code()),
                    json!(a.progress),
                ]
            })
            .collect(),
        _ => participation(state, study).await?,
    })
}

/// Activities and participants per district, as a donor's dashboard shows them.
async fn participation(state: &AppState, study: i64) -> Result<Vec<Vec<Value>>, AppError> {
    let report = report::load(state, &PublicReader, study).await?;
    let people = report.figures.people(report.reader.blurs_small_counts);
    let shown = |count: Shown| match count {
        Shown::Exact(count) => json!(count),
        Shown::Small => json!(count.to_string()),
    };
    Ok(report
        .figures
        .districts
        .iter()
        .enumerate()
        .filter(|(_, district)| !district.total && district.activities > 0)
        .map(|(row, district)| {
            let counts = people.district(row);
            vec![
                json!(district.code),
                json!(district.name_en),
                json!(district.name_km),
                json!(district.activities),
                shown(counts.total),
                shown(counts.female),
                shown(counts.male),
            ]
        })
        .collect())
}

fn csv(columns: &[&str], rows: &[Vec<Value>]) -> Result<Vec<u8>, AppError> {
    let mut writer = csv::Writer::from_writer(BYTE_ORDER_MARK.to_vec());
    let failed = |error: csv::Error| AppError::Internal(error.into());
    writer.write_record(columns).map_err(failed)?;
    for row in rows {
        writer
            .write_record(row.iter().map(|cell| match cell {
                Value::String(text) => defuse_formula(text),
                Value::Null => String::new(),
                other => other.to_string(),
            }))
            .map_err(failed)?;
    }
    writer
        .into_inner()
        .map_err(|error| AppError::Internal(anyhow::anyhow!("{error}")))
}

fn json(columns: &[&str], rows: &[Vec<Value>]) -> Result<Vec<u8>, AppError> {
    let objects: Vec<Map<String, Value>> = rows
        .iter()
        .map(|row| {
            columns
                .iter()
                .map(|column| (*column).to_owned())
                .zip(row.iter().cloned())
                .collect()
        })
        .collect();
    serde_json::to_vec_pretty(&objects).map_err(|error| AppError::Internal(error.into()))
}
