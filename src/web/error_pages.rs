//! Error pages inside the app: a signed-in reader who is refused (403), sent to
//! something that is not there (404) or stopped by a record's state (409) keeps
//! the navigation and their language. Visitors get the bilingual page as it is.

use askama::Template;
use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse as _, Response};
use tower_sessions::Session;

use super::{Ctx, csrf, language};
use crate::auth::session::CurrentUser;
use crate::error::{Refusal, Shown, error_page};

#[derive(Template)]
#[template(path = "errors/in_app.html")]
struct InAppPage {
    ctx: Ctx,
    key: &'static str,
    request_id: Option<String>,
}

impl InAppPage {
    fn text(&self, suffix: &str) -> String {
        self.ctx.t(&format!("{}-{suffix}", self.key))
    }
}

/// Middleware: draws an error page again with the reader's navigation.
pub async fn with_navigation(session: Session, request: Request, next: Next) -> Response {
    let Some(user) = request.extensions().get::<CurrentUser>().cloned() else {
        return next.run(request).await;
    };
    let lang = language::of_reader(request.uri(), request.headers(), Some(&user));
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    let Some(shown) = response.extensions().get::<Shown>().cloned() else {
        return response;
    };
    let Ok(csrf_token) = csrf::token(&session).await else {
        return response;
    };
    let page = InAppPage {
        ctx: Ctx::for_page(lang, Some(user), csrf_token, path),
        key: shown.key,
        request_id: shown.request_id,
    };
    let Ok(html) = page.render() else {
        return response;
    };
    let refusal = response.extensions().get::<Refusal>().copied();
    let mut in_app = (response.status(), Html(html)).into_response();
    if let Some(refusal) = refusal {
        in_app.extensions_mut().insert(refusal);
    }
    in_app
}

/// Middleware: what axum's extractors refuse (an id that is no number, a query
/// or form that does not parse) gets the app's own page in the reader's
/// language (drawn again with the navigation by `with_navigation`), never
/// axum's plain English sentence, which may echo the input.
pub async fn own_pages_for_rejections(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let plain = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"text/plain"));
    if !plain || response.extensions().get::<Shown>().is_some() {
        return response;
    }
    match response.status() {
        status @ (StatusCode::BAD_REQUEST
        | StatusCode::UNPROCESSABLE_ENTITY
        | StatusCode::UNSUPPORTED_MEDIA_TYPE) => error_page(status, "error-bad-request", None),
        _ => response,
    }
}
