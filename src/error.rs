//! The one error type handlers return. It knows how to answer: a page in both
//! languages with the right status, or a redirect to the sign-in page.
//! Internal errors are logged with their cause and a request id; the page shows
//! only the id.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};

use crate::i18n::Lang;

/// Why a request was refused; the error that refuses it puts this on the response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Forbidden,
    Csrf,
    RateLimited,
}

impl Refusal {
    pub fn code(self) -> &'static str {
        match self {
            Refusal::Forbidden => "forbidden",
            Refusal::Csrf => "csrf",
            Refusal::RateLimited => "rate_limited",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    #[error("forbidden")]
    Forbidden,
    /// A request that cannot even be read: a form that is not UTF-8, a missing field.
    #[error("bad request")]
    BadRequest,
    /// Signing in is needed first; afterwards the person lands on `next`, the
    /// page they asked for (a local path, checked by `auth::session::local_path`).
    #[error("sign-in required")]
    SignInRequired(Option<String>),
    /// A request refused for a reason the user can mend; the key names the
    /// message (its `-title` and `-body`).
    #[error("refused: {0}")]
    Refused(&'static str),
    /// A workflow step the record's current state does not allow.
    #[error("illegal transition")]
    IllegalTransition,
    /// The form sent back (422) with the reader's input and every problem
    /// named, drawn by `AppError::invalid`.
    #[error("form refused")]
    Invalid(String),
    /// The form sent back (409) because its record changed since the form was
    /// drawn: the input kept, beside what changed (`AppError::stale`).
    #[error("edited meanwhile")]
    Stale(String),
    /// A request body over its route's limit.
    #[error("request too large")]
    TooLarge,
    /// A state-changing request without a valid CSRF token, or from another site.
    #[error("request forgery check failed")]
    CsrfRejected,
    /// The database cannot be reached: nothing was done, and trying again
    /// later may work (503, as `/readyz` says).
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for AppError {
    fn from(error: sqlx::Error) -> Self {
        match error {
            sqlx::Error::PoolTimedOut => {
                metrics::counter!("samleng_db_pool_timeouts_total").increment(1);
                AppError::Unavailable(error.to_string())
            }
            sqlx::Error::Io(_) | sqlx::Error::PoolClosed | sqlx::Error::Tls(_) => {
                AppError::Unavailable(error.to_string())
            }
            // Connection exceptions (08) and a server shutting down or
            // restarting (57, operator intervention).
            sqlx::Error::Database(ref database)
                if database
                    .code()
                    .is_some_and(|code| code.starts_with("08") || code.starts_with("57")) =>
            {
                AppError::Unavailable(error.to_string())
            }
            error => AppError::Internal(error.into()),
        }
    }
}

impl From<askama::Error> for AppError {
    fn from(error: askama::Error) -> Self {
        AppError::Internal(error.into())
    }
}

impl AppError {
    /// A form refused for its input: `page` is the form drawn again with the
    /// input and every problem, in the reader's language.
    pub fn invalid(page: &impl Template) -> AppError {
        match page.render() {
            Ok(html) => AppError::Invalid(html),
            Err(error) => error.into(),
        }
    }

    /// A form refused because its record changed since it was drawn: `page`
    /// holds the input and what changed.
    pub fn stale(page: &impl Template) -> AppError {
        match page.render() {
            Ok(html) => AppError::Stale(html),
            Err(error) => error.into(),
        }
    }
}

/// Renders a template into an HTML response body.
pub fn render(template: &impl Template) -> Result<Html<String>, AppError> {
    Ok(Html(template.render()?))
}

/// A page drawn as the whole answer to a request (200).
pub trait Answer: Template + Sized {
    fn answer(&self) -> Result<Response, AppError> {
        render(self).map(IntoResponse::into_response)
    }
}

impl<T: Template> Answer for T {}

/// The page shown for every error: both languages, because an error can happen
/// before we know which one the reader uses.
#[derive(Template)]
#[template(path = "errors/error.html")]
struct ErrorPage {
    status: u16,
    key: &'static str,
    request_id: Option<String>,
}

impl ErrorPage {
    fn text(&self, lang_code: &str, suffix: &str) -> String {
        let lang = Lang::parse(lang_code).unwrap_or_default();
        lang.t(&format!("{}-{suffix}", self.key))
    }
}

/// What an error page said, for the page to be drawn again inside the app's
/// navigation once the reader is known (`web::error_pages`).
#[derive(Debug, Clone)]
pub struct Shown {
    pub key: &'static str,
    pub request_id: Option<String>,
}

pub fn error_page(status: StatusCode, key: &'static str, request_id: Option<String>) -> Response {
    let page = ErrorPage {
        status: status.as_u16(),
        key,
        request_id: request_id.clone(),
    };
    match page.render() {
        Ok(html) => {
            let mut response = (status, Html(html)).into_response();
            response.extensions_mut().insert(Shown { key, request_id });
            response
        }
        Err(error) => {
            tracing::error!(%error, "error page failed to render");
            status.into_response()
        }
    }
}

/// Marks a response as a refusal, for the audit log (`audit::refusals`).
pub fn refused(mut response: Response, refusal: Refusal) -> Response {
    response.extensions_mut().insert(refusal);
    response
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        match self {
            AppError::NotFound => error_page(StatusCode::NOT_FOUND, "error-not-found", None),
            AppError::Forbidden => refused(
                error_page(StatusCode::FORBIDDEN, "error-forbidden", None),
                Refusal::Forbidden,
            ),
            AppError::BadRequest => error_page(StatusCode::BAD_REQUEST, "error-bad-request", None),
            AppError::Refused(key) => error_page(StatusCode::UNPROCESSABLE_ENTITY, key, None),
            AppError::IllegalTransition => {
                error_page(StatusCode::CONFLICT, "error-transition", None)
            }
            AppError::Invalid(html) => {
                (StatusCode::UNPROCESSABLE_ENTITY, Html(html)).into_response()
            }
            AppError::Stale(html) => (StatusCode::CONFLICT, Html(html)).into_response(),
            AppError::CsrfRejected => refused(
                error_page(StatusCode::FORBIDDEN, "error-csrf", None),
                Refusal::Csrf,
            ),
            AppError::TooLarge => {
                error_page(StatusCode::PAYLOAD_TOO_LARGE, "error-too-large", None)
            }
            AppError::SignInRequired(None) => Redirect::to("/login").into_response(),
            AppError::SignInRequired(Some(next)) => {
                let query = serde_urlencoded::to_string([("next", next)]).unwrap_or_default();
                Redirect::to(&format!("/login?{query}")).into_response()
            }
            AppError::Unavailable(cause) => {
                tracing::warn!(error = %cause, "database unavailable");
                let mut response =
                    error_page(StatusCode::SERVICE_UNAVAILABLE, "error-unavailable", None);
                response.headers_mut().insert(
                    axum::http::header::RETRY_AFTER,
                    axum::http::HeaderValue::from_static("30"),
                );
                response
            }
            AppError::Internal(cause) => {
                // The request's span carries its id into this line.
                tracing::error!(error = ?cause, "internal error");
                error_page(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "error-internal",
                    crate::observability::request_id(),
                )
            }
        }
    }
}
