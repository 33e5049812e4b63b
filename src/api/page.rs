//! What every list of the API shares: its query read strictly (an unknown
//! or malformed parameter is a 400, not ignored), the cursor, and the answer
//! as JSON with an `ETag`, 304 when the client has it already.

use axum::body::Bytes;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use super::auth::ApiUser;
use super::problem::Problem;
use crate::state::AppState;
use crate::web::filters::{Filters, Selection};

/// Items per page unless `limit` says otherwise, and the most it may say.
pub const DEFAULT_LIMIT: i64 = 100;
pub const MAX_LIMIT: i64 = 500;

/// The query string, read into `T` (which refuses unknown fields).
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Problem> {
        serde_urlencoded::from_str(parts.uri.query().unwrap_or_default())
            .map(ApiQuery)
            .map_err(|_| Problem::invalid_parameter())
    }
}

/// Declares a list's query: the dashboard's filters and the page, which
/// every list takes, then the list's own filters (those of its page in the
/// app). Each list thus documents and accepts exactly its parameters.
macro_rules! list_query {
    ($(#[$attr:meta])* $name:ident { $($(#[$field_attr:meta])* $field:ident,)* }) => {
        $(#[$attr])*
        #[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
        #[serde(default, deny_unknown_fields)]
        #[into_params(parameter_in = Query)]
        pub struct $name {
            /// A study's id.
            pub study: Option<String>,
            /// A project's id: the records of its studies.
            pub project: Option<String>,
            /// A province code of the NCDD gazetteer (2 digits).
            pub province: Option<String>,
            /// A district code of the NCDD gazetteer (4 digits).
            pub district: Option<String>,
            /// The first day, YYYY-MM-DD.
            pub from: Option<String>,
            /// The last day, YYYY-MM-DD.
            pub to: Option<String>,
            /// Where the page starts: `next_cursor` of the page before.
            pub cursor: Option<String>,
            /// Items per page, 1 to 500 (100 unless said).
            pub limit: Option<i64>,
            $($(#[$field_attr])* pub $field: Option<String>,)*
        }

        impl $crate::api::page::Listed for $name {
            fn filters(&self) -> $crate::web::filters::Filters {
                let text = |value: &Option<String>| value.clone().unwrap_or_default();
                $crate::web::filters::Filters {
                    study: text(&self.study),
                    project: text(&self.project),
                    province: text(&self.province),
                    district: text(&self.district),
                    from: text(&self.from),
                    to: text(&self.to),
                }
            }

            fn window(&self) -> Result<$crate::api::page::Window, $crate::api::problem::Problem> {
                $crate::api::page::Window::of(self.cursor.as_deref(), self.limit)
            }
        }
    };
}
pub(super) use list_query;

list_query! {
    /// The dashboard's filters, and the page: what every list takes.
    ListQuery {}
}

/// What a list's query gives every list: the dashboard's filters and the page.
pub trait Listed {
    fn filters(&self) -> Filters;
    fn window(&self) -> Result<Window, Problem>;
}

/// The query checked, as every list of the API checks it: its selection,
/// its page, and a project the owner may read.
pub async fn checked(
    state: &AppState,
    caller: &ApiUser,
    query: &impl Listed,
) -> Result<(Selection, Window), Problem> {
    let selection = query
        .filters()
        .check()
        .map_err(|_| Problem::invalid_parameter())?;
    let window = query.window()?;
    if let Some(project) = selection.project {
        crate::projects::readable(&state.pool, &caller.user, project).await?;
    }
    Ok((selection, window))
}

/// One of a list's own filters: empty when not given, else one of `codes`
/// (a 400 otherwise), as its page's select offers them.
pub fn one_of<'a>(value: &'a Option<String>, codes: &[&str]) -> Result<&'a str, Problem> {
    match value.as_deref().map(str::trim) {
        None | Some("") => Ok(""),
        Some(code) if codes.contains(&code) => Ok(code),
        Some(_) => Err(Problem::invalid_parameter()),
    }
}

/// An id among a list's own filters: `None` when not given, a 400 when it
/// is not a positive whole number.
pub fn optional_id(value: &Option<String>) -> Result<Option<i64>, Problem> {
    match value.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(id) => id
            .parse::<i64>()
            .ok()
            .filter(|id| *id > 0)
            .map(Some)
            .ok_or_else(Problem::invalid_parameter),
    }
}

/// Where a page starts and how long it is: after the item `after` (the
/// cursor is the last id of the page before), `limit` items.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub after: i64,
    pub limit: i64,
}

impl Window {
    pub fn of(cursor: Option<&str>, limit: Option<i64>) -> Result<Window, Problem> {
        let after = match cursor.map(str::trim) {
            None | Some("") => 0,
            Some(cursor) => cursor
                .parse::<i64>()
                .ok()
                .filter(|id| *id > 0)
                .ok_or_else(Problem::invalid_parameter)?,
        };
        let limit = limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(Problem::invalid_parameter());
        }
        Ok(Window { after, limit })
    }

    /// Rows to fetch: one more than the page, to know whether another follows.
    pub fn fetch(self) -> i64 {
        self.limit + 1
    }

    /// Cuts `rows` to the page, and gives the cursor of the next page if any.
    pub fn next<T>(self, rows: &mut Vec<T>, id: impl Fn(&T) -> i64) -> Option<String> {
        let size = usize::try_from(self.limit).unwrap_or(usize::MAX);
        if rows.len() <= size {
            return None;
        }
        rows.truncate(size);
        rows.last().map(|row| id(row).to_string())
    }
}

/// `value` as JSON with a strong `ETag` of its bytes; 304 without a body
/// when the request's `If-None-Match` names it.
pub fn json(request_headers: &HeaderMap, value: &impl Serialize) -> Response {
    match Encoded::of(value) {
        Ok(encoded) => encoded.answer(request_headers),
        Err(problem) => problem.into_response(),
    }
}

/// An answer's JSON and its `ETag`, made once however often it is sent.
#[derive(Debug)]
pub struct Encoded {
    body: Bytes,
    tag: HeaderValue,
}

impl Encoded {
    pub fn of(value: &impl Serialize) -> Result<Encoded, Problem> {
        let body = serde_json::to_vec(value)
            .map_err(|error| Problem::from(crate::error::AppError::Internal(error.into())))?;
        let digest = Sha256::digest(&body);
        let hex: String = digest[..16]
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        let tag = HeaderValue::from_str(&format!("\"{hex}\""))
            .unwrap_or(HeaderValue::from_static("\"\""));
        Ok(Encoded {
            body: body.into(),
            tag,
        })
    }

    /// The JSON, or 304 when the request's `If-None-Match` names its tag.
    pub fn answer(&self, request_headers: &HeaderMap) -> Response {
        let tag = self.tag.to_str().unwrap_or_default();
        let matches = request_headers
            .get(header::IF_NONE_MATCH)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| {
                value.split(',').any(|candidate| {
                    candidate.trim().trim_start_matches("W/") == tag || candidate.trim() == "*"
                })
            });
        // Each owner's answer is theirs: caches may keep it only to ask again.
        let cache = HeaderValue::from_static("private, no-cache");
        let etag = self.tag.clone();
        if matches {
            return (
                StatusCode::NOT_MODIFIED,
                [(header::ETAG, etag), (header::CACHE_CONTROL, cache)],
            )
                .into_response();
        }
        (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                ),
                (header::ETAG, etag),
                (header::CACHE_CONTROL, cache),
            ],
            self.body.clone(),
        )
            .into_response()
    }
}

/// A count of people as the reader may see it: `None` for "<5".
pub fn people(shown: crate::disclosure::Shown) -> Option<i64> {
    match shown {
        crate::disclosure::Shown::Exact(count) => Some(count),
        crate::disclosure::Shown::Small => None,
    }
}
