//! `/api/v1`: the data for the tools partners already use (R, Power BI, a
//! DHIS2 import, a KoboToolbox REST service), as JSON. A request carries a
//! personal access token (`auth`); it answers what the token's owner may read,
//! by the same policy and the same small-count protection as the pages.
//! Lists page with a cursor and answer `ETag` with 304; errors are problem
//! details (`problem`). The OpenAPI 3.1 document is generated from the
//! handlers themselves (utoipa), so it cannot drift from them; docs/api.md
//! says how it is versioned.

pub mod actions;
pub mod activities;
pub mod agreements;
pub mod auth;
pub mod case_studies;
mod page;
pub mod problem;
pub mod recommendations;
pub mod records;
pub mod tokens;
pub mod writes;

use std::sync::OnceLock;

use askama::Template;
use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::audit::refusals;
use crate::error::{AppError, render};
use crate::i18n::Lang;
use crate::state::AppState;
use crate::web::Ctx;
use crate::web::client::ClientAddr;
use auth::TokenOwner;
use problem::Problem;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Samleng API",
        version = "1",
        description = "Field records, case studies, recommendations and events of the CPDD coalition, as the token's owner may read them. Counts of one to four people are rounded for readers outside the secretariat, as on the pages; a count shown as null means some people, fewer than five after rounding. See docs/api.md."
    ),
    modifiers(&BearerToken),
    components(schemas(problem::ProblemDetails))
)]
struct ApiDoc;

struct BearerToken;

impl Modify for BearerToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "token",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// The API's routes and its OpenAPI document, made from the same list.
fn api() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(activities::list, writes::create))
        .routes(routes!(writes::kobo))
        .routes(routes!(records::studies))
        .routes(routes!(case_studies::case_studies))
        .routes(routes!(case_studies::findings))
        .routes(routes!(recommendations::recommendation_lists))
        .routes(routes!(actions::actions))
        .routes(routes!(actions::action_updates))
        .routes(routes!(agreements::agreements))
        .routes(routes!(records::events))
        .routes(routes!(records::projects))
        .routes(routes!(records::dashboard))
        .split_for_parts()
}

/// The OpenAPI document, made once.
pub fn document() -> &'static utoipa::openapi::OpenApi {
    static DOCUMENT: OnceLock<utoipa::openapi::OpenApi> = OnceLock::new();
    DOCUMENT.get_or_init(|| api().1)
}

/// `/api/v1/…`: outside the sessions, the CSRF check and the pages' error
/// pages. CORS is off: no `Access-Control-Allow-Origin` is ever sent.
pub fn routes(state: &AppState) -> Router<AppState> {
    let (routes, _) = api();
    routes
        .route("/api/v1/openapi.json", get(openapi_json))
        // The app's own fallback answers pages; under /api/v1, a problem.
        .route(
            "/api/v1/{*rest}",
            axum::routing::any(|| async { Problem::from(AppError::NotFound) }),
        )
        .layer(middleware::from_fn_with_state(state.clone(), answer))
}

/// `/api`: the endpoints, for people, drawn from the document (with the
/// pages, signed in or not).
pub fn page_routes() -> Router<AppState> {
    Router::new().route("/api", get(endpoints))
}

async fn openapi_json() -> Response {
    match document().to_json() {
        Ok(json) => ([(header::CONTENT_TYPE, "application/json")], json).into_response(),
        Err(error) => Problem::from(AppError::Internal(error.into())).into_response(),
    }
}

/// Says a problem in the language of the token's owner once the token is
/// read, or in the language the client asks for (`Accept-Language`) before;
/// records a refusal (403, 429) in the audit log as the pages' are. What a
/// token wrote shows in this instance's next answer, as a form's does.
async fn answer(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let owner = TokenOwner::default();
    let asked = request
        .headers()
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|value| value.to_str().ok())
        .filter(|value| value.trim_start().starts_with("km"))
        .map_or(Lang::En, |_| Lang::Km);
    let route = request.extensions().get::<MatchedPath>().cloned();
    let address = request
        .extensions()
        .get::<ClientAddr>()
        .map(|ClientAddr(address)| address.to_string());
    let writes = !matches!(*request.method(), Method::GET | Method::HEAD);
    request.extensions_mut().insert(owner.clone());
    let response = next.run(request).await;
    if writes && owner.0.get().is_some() {
        state.changes.changed_here();
    }
    let Some(problem) = response.extensions().get::<Problem>() else {
        return response;
    };
    let (actor, lang) = match owner.0.get() {
        Some((id, lang)) => (Some(*id), *lang),
        None => (None, asked),
    };
    if let Some(refusal) = problem.refusal() {
        let route = route.as_ref().map_or("?", MatchedPath::as_str);
        let written = refusals::count(
            &state.pool,
            refusal,
            actor,
            address.unwrap_or_default(),
            route,
        )
        .await;
        if let Err(error) = written {
            tracing::error!(%error, "recording a refused API request failed");
        }
    }
    if problem.lang() == lang {
        response
    } else {
        problem.clone().in_language(lang).into_response()
    }
}

/// One endpoint as the page lists it.
struct Endpoint {
    method: &'static str,
    path: String,
    summary: String,
}

#[derive(Template)]
#[template(path = "api/endpoints.html")]
struct EndpointsPage {
    ctx: Ctx,
    endpoints: Vec<Endpoint>,
    codes: [&'static str; 12],
}

/// The message that says what an endpoint does, in the reader's language:
/// `api-endpoint-`, the method for a write, and the path's last part.
pub fn endpoint_key(method: &str, path: &str) -> String {
    let last = path.rsplit('/').next().unwrap_or_default();
    match method {
        "GET" => format!("api-endpoint-{last}"),
        _ => format!("api-endpoint-{}-{last}", method.to_lowercase()),
    }
}

async fn endpoints(ctx: Ctx) -> Result<axum::response::Html<String>, AppError> {
    let endpoints = document()
        .paths
        .paths
        .iter()
        .flat_map(|(path, item)| {
            [("GET", item.get.is_some()), ("POST", item.post.is_some())]
                .into_iter()
                .filter(|(_, offered)| *offered)
                .map(|(method, _)| Endpoint {
                    method,
                    path: path.clone(),
                    summary: ctx.t(&endpoint_key(method, path)),
                })
        })
        .collect();
    render(&EndpointsPage {
        ctx,
        endpoints,
        codes: problem::CODES,
    })
}
