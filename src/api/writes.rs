//! Field records pushed by programs, with a token that may write: `POST
//! /api/v1/activities` takes the import template's fields as JSON, and `POST
//! /api/v1/kobo` takes a KoboToolbox REST service's JSON as it comes (group
//! prefixes and Kobo's own fields included). Both are checked as an import
//! is, by the token owner's rights, and saved once per submission UUID.

use axum::body::Body;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};

use super::auth::{ApiUser, TokenScope};
use super::page::ApiQuery;
use super::problem::{Problem, PushProblems};
use crate::imports::submission::{Submitted, submit};
use crate::state::AppState;
use crate::web::ClientIp;

/// The largest record a push may send: a form's worth of text, not a file.
const MAX_BODY: usize = 64 * 1024;

/// An activity as the import template has it (docs/records.md). Names are
/// what a person would write: a district's code or name, an organization's
/// acronym or name, a theme's name.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActivityRecord {
    /// fgd, interview, consultation, joint_consultation, technical_meeting,
    /// provincial_workshop, national_workshop, training, other.
    pub kind: String,
    /// YYYY-MM-DD.
    pub held_on: String,
    /// The district's code (4 digits) or name.
    pub district: String,
    pub commune: Option<String>,
    pub place: Option<String>,
    /// The facilitating organization; the owner's own if left out.
    pub organization: Option<String>,
    pub citizen_female: Option<i64>,
    pub citizen_male: Option<i64>,
    pub cbo_female: Option<i64>,
    pub cbo_male: Option<i64>,
    pub cso_female: Option<i64>,
    pub cso_male: Option<i64>,
    pub sna_official_female: Option<i64>,
    pub sna_official_male: Option<i64>,
    pub council_member_female: Option<i64>,
    pub council_member_male: Option<i64>,
    pub other_female: Option<i64>,
    pub other_male: Option<i64>,
    pub youth: Option<i64>,
    pub persons_with_disabilities: Option<i64>,
    /// Anonymized findings, each with the name of its theme.
    pub finding_1: Option<String>,
    pub theme_1: Option<String>,
    pub finding_2: Option<String>,
    pub theme_2: Option<String>,
    pub finding_3: Option<String>,
    pub theme_3: Option<String>,
    pub summary: Option<String>,
    /// A UUID of the sender's: the same record sent again creates nothing.
    pub submission_uuid: Option<String>,
}

/// Which study the records belong to, if any.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default, deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PushQuery {
    /// A study's id.
    pub study: Option<i64>,
}

/// What became of a record pushed.
#[derive(Debug, Serialize, ToSchema)]
pub struct Pushed {
    /// The activity: new (201), or made by the first push (200); `null` if
    /// that activity has been deleted since.
    pub id: Option<i64>,
    pub created: bool,
    /// Its page, for people.
    pub page: Option<String>,
}

/// Records one activity, once per `submission_uuid`.
#[utoipa::path(
    post,
    path = "/api/v1/activities",
    params(PushQuery),
    request_body = ActivityRecord,
    security(("token" = [])),
    responses(
        (status = 201, description = "Recorded", body = Pushed),
        (status = 200, description = "Recorded before, by the same submission_uuid", body = Pushed),
        PushProblems
    )
)]
pub async fn create(
    caller: ApiUser,
    ClientIp(ip): ClientIp,
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<PushQuery>,
    body: Body,
) -> Result<Response, Problem> {
    writes(&caller)?;
    let record: ActivityRecord =
        serde_json::from_slice(&read(body).await?).map_err(|_| bad_json())?;
    let mut fields = fields_of(serde_json::to_value(&record).map_err(|_| bad_json())?)?;
    // The import knows a submission by the name KoboToolbox gives it.
    for (name, _) in &mut fields {
        if name == "submission_uuid" {
            "_uuid".clone_into(name);
        }
    }
    pushed(&state, &caller, (fields, query.study), "api", ip).await
}

/// Records one KoboToolbox submission, as its REST service sends it.
#[utoipa::path(
    post,
    path = "/api/v1/kobo",
    params(PushQuery),
    request_body(content = Object, description = "A KoboToolbox submission as its REST service posts it: the XLSForm's questions by name (group prefixes allowed) and `_uuid`. Kobo's other fields are ignored."),
    security(("token" = [])),
    responses(
        (status = 201, description = "Recorded", body = Pushed),
        (status = 200, description = "This submission was recorded before", body = Pushed),
        PushProblems
    )
)]
pub async fn kobo(
    caller: ApiUser,
    ClientIp(ip): ClientIp,
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<PushQuery>,
    body: Body,
) -> Result<Response, Problem> {
    writes(&caller)?;
    let submission: Value = serde_json::from_slice(&read(body).await?).map_err(|_| bad_json())?;
    let fields = fields_of(submission)?;
    pushed(&state, &caller, (fields, query.study), "kobotoolbox", ip).await
}

fn writes(caller: &ApiUser) -> Result<(), Problem> {
    if caller.scope == TokenScope::Write {
        Ok(())
    } else {
        Err(Problem::new(StatusCode::FORBIDDEN, "insufficient_scope"))
    }
}

fn bad_json() -> Problem {
    Problem::new(StatusCode::BAD_REQUEST, "bad_json")
}

/// The body, up to `MAX_BODY` whatever its `Content-Length` says.
async fn read(body: Body) -> Result<axum::body::Bytes, Problem> {
    axum::body::to_bytes(body, MAX_BODY)
        .await
        .map_err(|_| Problem::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large"))
}

/// A JSON object's fields as an import's headings and cells: text as it is,
/// numbers and yes/no written out; nested values (a repeat group) are not
/// fields of an activity, and are left out.
fn fields_of(value: Value) -> Result<Vec<(String, String)>, Problem> {
    let Value::Object(object) = value else {
        return Err(bad_json());
    };
    Ok(flat(object))
}

fn flat(object: Map<String, Value>) -> Vec<(String, String)> {
    object
        .into_iter()
        .filter_map(|(name, value)| {
            let cell = match value {
                Value::String(text) => text,
                Value::Number(number) => number.to_string(),
                Value::Bool(yes) => yes.to_string(),
                Value::Null | Value::Array(_) | Value::Object(_) => return None,
            };
            Some((name, cell))
        })
        .collect()
}

async fn pushed(
    state: &AppState,
    caller: &ApiUser,
    record: (Vec<(String, String)>, Option<i64>),
    source: &str,
    ip: Option<String>,
) -> Result<Response, Problem> {
    let answer = |status: StatusCode, id: Option<i64>| {
        let body = Pushed {
            id,
            created: status == StatusCode::CREATED,
            page: id.map(|id| format!("/activities/{id}")),
        };
        (status, axum::Json(body)).into_response()
    };
    match submit(&state.pool, &caller.user, record, source, ip).await? {
        Submitted::Created(id) => Ok(answer(StatusCode::CREATED, Some(id))),
        Submitted::Before(id) => Ok(answer(StatusCode::OK, id)),
        Submitted::Refused(objections) => Err(Problem::invalid_record(objections)),
    }
}
