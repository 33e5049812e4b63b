//! Cross-site request forgery protection for every state-changing request: the
//! form must carry the session's `csrf_token`, and a browser's `Origin` (or
//! `Sec-Fetch-Site`) must not name another site.
//!
//! A synchronizer token in the server-side session is all that is needed here;
//! the CSRF crates implement double-submit cookies, which need keys of their own.

use std::convert::Infallible;

use axum::body::{Body, Bytes};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse as _, Response};
use rand::RngCore as _;
use tower_sessions::Session;

use super::input::{self, BodyError, BodyLimits};
use crate::auth::policy::{self, Action, Scope};
use crate::auth::session::CurrentUser;
use crate::error::AppError;

const TOKEN_KEY: &str = "csrf_token";
/// The field every POST form carries.
pub const FIELD: &str = "csrf_token";

/// The session's token, made on first use.
pub async fn token(session: &Session) -> Result<String, AppError> {
    if let Some(token) = session.get::<String>(TOKEN_KEY).await? {
        return Ok(token);
    }
    renew_token(session).await?;
    Ok(session.get::<String>(TOKEN_KEY).await?.unwrap_or_default())
}

/// Replaces the session's token (at sign-in).
pub async fn renew_token(session: &Session) -> Result<(), AppError> {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let token: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
    session.insert(TOKEN_KEY, token).await?;
    Ok(())
}

/// Middleware: refuses a state-changing request from another site before its
/// body is read, one whose body is over its route's limit before more of it is
/// read (413), a form with a NUL byte or broken UTF-8 (400), and one without the
/// session's token.
pub async fn protect(
    State(limits): State<BodyLimits>,
    session: Session,
    mut request: Request,
    next: Next,
) -> Response {
    // Upload forms say how large a file may be (`Ctx::upload_limit`).
    request
        .extensions_mut()
        .insert(super::UploadLimit(limits.upload_bytes));
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) {
        return next.run(request).await;
    }
    if is_cross_site(request.headers()) {
        return AppError::CsrfRejected.into_response();
    }
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(MatchedPath::as_str);
    let writer = request
        .extensions()
        .get::<CurrentUser>()
        .is_some_and(|user| policy::allows(user, Action::UploadFiles, Scope::Anything));
    let limit = limits.of(route, writer);
    let declared_length = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok()?.parse().ok());
    let (parts, body) = request.into_parts();
    let bytes = match input::read_body(declared_length, body, limit).await {
        Ok(bytes) => bytes,
        Err(BodyError::TooLarge) => return AppError::TooLarge.into_response(),
        Err(BodyError::Broken) => return AppError::BadRequest.into_response(),
    };
    if is_form(&parts.headers) && !input::is_clean(form_values(&bytes)) {
        return AppError::BadRequest.into_response();
    }
    let expected = match session.get::<String>(TOKEN_KEY).await {
        Ok(token) => token,
        Err(error) => return AppError::from(error).into_response(),
    };
    let sent = token_in_body(&parts.headers, bytes.clone()).await;
    match (expected, sent) {
        (Some(expected), Some(sent)) if constant_time_eq(expected.as_bytes(), sent.as_bytes()) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        _ => AppError::CsrfRejected.into_response(),
    }
}

fn is_cross_site(headers: &HeaderMap) -> bool {
    let text = |name| headers.get(name).and_then(|value| value.to_str().ok());
    if text("sec-fetch-site") == Some("cross-site") {
        return true;
    }
    match (text(header::ORIGIN.as_str()), text(header::HOST.as_str())) {
        (Some(origin), Some(host)) => origin.split_once("://").map(|(_, rest)| rest) != Some(host),
        (Some(_), None) => true,
        _ => false,
    }
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/x-www-form-urlencoded"))
}

/// A form body as the handler will read it: percent-decoded, `+` as space.
fn form_values(body: &[u8]) -> Vec<u8> {
    let spaced: Vec<u8> = body
        .iter()
        .map(|byte| if *byte == b'+' { b' ' } else { *byte })
        .collect();
    percent_encoding::percent_decode(&spaced).collect()
}

async fn token_in_body(headers: &HeaderMap, body: Bytes) -> Option<String> {
    let content_type = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    if content_type.starts_with("application/x-www-form-urlencoded") {
        let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).ok()?;
        return fields
            .into_iter()
            .find(|(name, _)| name == FIELD)
            .map(|(_, value)| value);
    }
    let boundary = multer::parse_boundary(content_type).ok()?;
    let stream = futures_util::stream::iter([Ok::<Bytes, Infallible>(body)]);
    let mut multipart = multer::Multipart::new(stream, boundary);
    while let Ok(Some(field)) = multipart.next_field().await {
        if field.name() == Some(FIELD) {
            return field.text().await.ok();
        }
    }
    None
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
