//! Errors as RFC 9457 problem details: `application/problem+json` with a
//! stable `code`, a `title` and a `detail` in the token owner's language. The
//! API answers `AppError`s, the one error type, this way instead of as pages.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;
use utoipa::openapi::response::{Response as Documented, ResponseBuilder};
use utoipa::openapi::{Content, Ref, RefOr};

use crate::error::{AppError, Refusal};
use crate::i18n::Lang;
use crate::imports::submission::Objection;

/// A problem as the API sends it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProblemDetails {
    /// A URI naming the kind of problem: `/api/v1/problems/{code}`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The HTTP status, repeated.
    pub status: u16,
    /// What went wrong, in a few words, in the token owner's language.
    pub title: String,
    /// What to do about it, in the token owner's language.
    pub detail: String,
    /// A stable, machine-readable name of the problem; it does not change
    /// within a version of the API.
    pub code: String,
    /// For `invalid_record`: each field that keeps the record out, and why.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldProblem>,
}

/// What is wrong with one field of a record sent.
#[derive(Debug, Serialize, ToSchema)]
pub struct FieldProblem {
    pub field: String,
    pub message: String,
}

/// Why the API refused a request, and in which language to say so. Its
/// response carries it, so that `api::localize` can say it in the language of
/// the token's owner, known only once the token is read.
#[derive(Debug, Clone)]
pub struct Problem {
    status: StatusCode,
    code: &'static str,
    lang: Lang,
    /// Seconds to wait before trying again (429, 503).
    retry_after: Option<u64>,
    /// The fields of a record refused (`invalid_record`).
    objections: Vec<Objection>,
}

/// Every code the API answers with, for the document and the page.
pub const CODES: [&str; 12] = [
    "unauthorized",
    "insufficient_scope",
    "forbidden",
    "not_found",
    "bad_request",
    "invalid_parameter",
    "bad_json",
    "too_large",
    "invalid_record",
    "rate_limited",
    "unavailable",
    "internal",
];

impl Problem {
    pub fn new(status: StatusCode, code: &'static str) -> Problem {
        Problem {
            status,
            code,
            lang: Lang::En,
            retry_after: None,
            objections: Vec::new(),
        }
    }

    /// A record that passed no check it failed: each field and why (422).
    pub fn invalid_record(objections: Vec<Objection>) -> Problem {
        Problem {
            objections,
            ..Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_record")
        }
    }

    pub fn in_language(mut self, lang: Lang) -> Problem {
        self.lang = lang;
        self
    }

    /// The refusal the audit log records, as it does the pages': a 403 or a 429.
    pub fn refusal(&self) -> Option<Refusal> {
        match self.status {
            StatusCode::FORBIDDEN => Some(Refusal::Forbidden),
            StatusCode::TOO_MANY_REQUESTS => Some(Refusal::RateLimited),
            _ => None,
        }
    }

    pub fn lang(&self) -> Lang {
        self.lang
    }

    pub fn retry_after(mut self, seconds: u64) -> Problem {
        self.retry_after = Some(seconds);
        self
    }

    /// No token, or one that is unknown, expired, revoked or its user's no longer.
    pub fn unauthorized() -> Problem {
        Problem::new(StatusCode::UNAUTHORIZED, "unauthorized")
    }

    /// A query parameter that makes no sense.
    pub fn invalid_parameter() -> Problem {
        Problem::new(StatusCode::BAD_REQUEST, "invalid_parameter")
    }

    pub fn details(&self) -> ProblemDetails {
        let key = format!("api-problem-{}", self.code.replace('_', "-"));
        ProblemDetails {
            kind: format!("/api/v1/problems/{}", self.code),
            status: self.status.as_u16(),
            title: self.lang.t(&format!("{key}-title")),
            detail: self.lang.t(&format!("{key}-detail")),
            code: self.code.to_owned(),
            errors: self
                .objections
                .iter()
                .map(|objection| FieldProblem {
                    field: objection.field.clone(),
                    message: self
                        .lang
                        .t_with(objection.message, &[("value", objection.value.clone())]),
                })
                .collect(),
        }
    }
}

impl From<AppError> for Problem {
    fn from(error: AppError) -> Problem {
        match error {
            AppError::NotFound => Problem::new(StatusCode::NOT_FOUND, "not_found"),
            AppError::Forbidden => Problem::new(StatusCode::FORBIDDEN, "forbidden"),
            AppError::TooLarge => Problem::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
            AppError::Invalid(_) | AppError::Refused(_) => Problem::invalid_parameter(),
            AppError::Unavailable(cause) => {
                tracing::warn!(error = %cause, "database unavailable");
                Problem::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable").retry_after(30)
            }
            AppError::Internal(cause) => {
                tracing::error!(error = ?cause, "internal error");
                Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal")
            }
            // Sessions, CSRF, forms and workflows are not the API's: whatever
            // else reaches here is a request the API cannot read.
            _ => Problem::new(StatusCode::BAD_REQUEST, "bad_request"),
        }
    }
}

impl From<sqlx::Error> for Problem {
    fn from(error: sqlx::Error) -> Problem {
        AppError::from(error).into()
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self.details()).unwrap_or_default();
        let mut response = (self.status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"samleng\""),
            );
        }
        response.extensions_mut().insert(self);
        response
    }
}

/// The answers every list of the API may give besides its page, for the
/// OpenAPI document: 304 to a matching `If-None-Match`, and its problems.
pub struct ListAnswers;

impl utoipa::IntoResponses for ListAnswers {
    fn responses() -> BTreeMap<String, RefOr<Documented>> {
        let mut answers = problems(&[
            (400, "A parameter makes no sense"),
            (401, "No valid token"),
            (403, "A project the owner may not read"),
            (429, "Too many requests with this token"),
        ]);
        answers.insert(
            "304".to_owned(),
            Documented::new("Not modified since the ETag given").into(),
        );
        answers
    }
}

/// The problems a record pushed may meet, for the OpenAPI document.
pub struct PushProblems;

impl utoipa::IntoResponses for PushProblems {
    fn responses() -> BTreeMap<String, RefOr<Documented>> {
        problems(&[
            (400, "Not a JSON object of the record's fields"),
            (401, "No valid token"),
            (
                403,
                "A token that only reads, or an owner who records no field work",
            ),
            (413, "Larger than 64 KiB"),
            (422, "A field keeps the record out"),
            (429, "Too many requests with this token"),
        ])
    }
}

fn problems(answers: &[(u16, &str)]) -> BTreeMap<String, RefOr<Documented>> {
    answers
        .iter()
        .map(|(status, what)| {
            let content = Content::new(Some(Ref::from_schema_name("ProblemDetails")));
            let response = ResponseBuilder::new()
                .description(*what)
                .content("application/problem+json", content);
            (status.to_string(), response.into())
        })
        .collect()
}
