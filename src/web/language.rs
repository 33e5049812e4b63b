//! `?lang=km` or `?lang=en` on any URL switches the language: remembered in a
//! cookie and, for a signed-in user, as their preference.

use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::header::{self, HeaderValue};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Uri};
use axum::middleware::Next;
use axum::response::Response;

use crate::auth::session::CurrentUser;
use crate::error::AppError;
use crate::i18n::{LANG_COOKIE, Lang};

/// The language named in the query string, if any.
pub fn requested(parts: &Parts) -> Option<Lang> {
    lang_in_query(parts.uri.query())
}

/// The reader's language: asked for in the address, else remembered in the
/// cookie, else their account's, else English.
pub fn of_reader(uri: &Uri, headers: &HeaderMap, user: Option<&CurrentUser>) -> Lang {
    lang_in_query(uri.query())
        .or_else(|| {
            let cookies = headers.get(header::COOKIE)?.to_str().ok()?;
            crate::i18n::lang_from_cookie_header(cookies)
        })
        .or(user.map(|user| user.language))
        .unwrap_or_default()
}

fn lang_in_query(query: Option<&str>) -> Option<Lang> {
    query?
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(name, _)| *name == "lang")
        .and_then(|(_, value)| Lang::parse(value))
}

/// Middleware: remembers a language switch.
pub async fn remember(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, AppError> {
    let Some(lang) = lang_in_query(request.uri().query()) else {
        return Ok(next.run(request).await);
    };
    if let Some(user) = request.extensions().get::<CurrentUser>()
        && user.language != lang
    {
        sqlx::query!(
            "update users set preferred_language = $1 where id = $2",
            lang.code(),
            user.id
        )
        .execute(&state.pool)
        .await?;
    }
    let mut response = next.run(request).await;
    let secure = if state.settings.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{LANG_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax; HttpOnly{secure}",
        lang.code()
    );
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    Ok(response)
}
