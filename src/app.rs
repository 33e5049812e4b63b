//! Assembles the application: every feature's routes under the middleware
//! (sessions, the current user, CSRF, the language switch, rate limiting of
//! sign-in) and the security headers every response carries. It defines
//! nothing a feature uses.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use sqlx::PgPool;
use tower_governor::GovernorLayer;
use tower_governor::governor::GovernorConfigBuilder;
use tower_http::compression::CompressionLayer;
use tower_http::request_id::{PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tower_sessions::{Expiry, SessionManagerLayer};

use crate::audit::refusals;
use crate::auth::session::{self, IDLE_TIMEOUT};
use crate::auth::store::KeptSessions;
use crate::error::{AppError, Refusal, error_page, refused};
use crate::observability::RandomRequestId;
use crate::state::{AppState, Settings};
use crate::web::client;
use crate::web::input::{self, BodyLimits};
use crate::web::{csrf, error_pages, language};

/// Builds the whole application.
pub fn router(state: AppState) -> Router {
    let store = KeptSessions::new(state.pool.clone(), &state.changes);
    let sessions = SessionManagerLayer::new(store)
        .with_name(state.settings.session_cookie_name())
        .with_http_only(true)
        .with_same_site(tower_sessions::cookie::SameSite::Lax)
        .with_secure(state.settings.secure_cookies)
        .with_expiry(Expiry::OnInactivity(IDLE_TIMEOUT));

    let state_pool = state.pool.clone();
    let proxies = Arc::new(state.settings.trusted_proxies.clone());
    let https = state.settings.secure_cookies;
    let api = crate::api::routes(&state).with_state(state.clone());
    let app = Router::new()
        .merge(sign_in_route(&state.settings))
        .merge(crate::account::routes())
        .merge(crate::home::routes())
        .merge(crate::geo::routes::routes())
        .merge(crate::studies::routes())
        .merge(crate::activities::routes())
        .merge(crate::imports::routes())
        .merge(crate::case_studies::routes())
        .merge(crate::themes::routes())
        .merge(crate::recommendations::routes())
        .merge(crate::action_plans::routes())
        .merge(crate::dashboard::routes())
        .merge(crate::exports::routes())
        .merge(crate::attachments::routes())
        .merge(crate::deleted::routes())
        .merge(crate::notifications::routes())
        .merge(crate::admin::routes())
        .merge(crate::audit::routes::routes())
        .merge(crate::public::routes())
        .merge(crate::cycles::routes())
        .merge(crate::projects::routes())
        .merge(crate::agreements::routes())
        .merge(crate::events::routes())
        .merge(crate::news::routes())
        .merge(crate::api::tokens::routes())
        .merge(crate::api::page_routes())
        .fallback(|| async { AppError::NotFound })
        .layer(middleware::from_fn_with_state(
            state.clone(),
            language::remember,
        ))
        .layer(middleware::from_fn_with_state(
            BodyLimits {
                uploads: &crate::attachments::UPLOAD_ROUTES,
                upload_bytes: state.files.max_bytes,
            },
            csrf::protect,
        ))
        .layer(middleware::from_fn(error_pages::own_pages_for_rejections))
        .layer(middleware::from_fn(error_pages::with_navigation))
        .layer(middleware::from_fn_with_state(
            state.pool.clone(),
            refusals::record,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            session::authenticate,
        ))
        .layer(sessions)
        .with_state(state);

    let app = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz).with_state(state_pool))
        .nest("/static", crate::web::assets::routes())
        .merge(api)
        .merge(app)
        .layer(middleware::from_fn(crate::observability::count_requests));
    // Served over HTTPS: browsers are told to use nothing else for a year.
    let app = if https {
        app.layer(always(
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=31536000; includeSubDomains",
        ))
    } else {
        app
    };
    app.layer(CompressionLayer::new())
        .layer(middleware::from_fn(input::refuse_malformed_uri))
        .layer(middleware::from_fn(crate::observability::keep_request_id))
        .layer(
            // An access log line per response at `info`, shown with
            // RUST_LOG=tower_http=info (off by default).
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(RandomRequestId))
        .layer(always(
            header::CONTENT_SECURITY_POLICY,
            CONTENT_SECURITY_POLICY,
        ))
        .layer(always(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(always(header::REFERRER_POLICY, "same-origin"))
        .layer(always(header::X_FRAME_OPTIONS, "DENY"))
        .layer(middleware::from_fn_with_state(proxies, client::find))
}

/// Every log line written while serving a request carries its id.
fn request_span(request: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    let id = request
        .headers()
        .get("x-request-id")
        .and_then(|id| id.to_str().ok())
        .unwrap_or_default();
    tracing::info_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        request_id = %id,
    )
}

/// `POST /login`, limited per address on top of the per-account lock-out.
fn sign_in_route(settings: &Settings) -> Router<AppState> {
    let limit = GovernorConfigBuilder::default()
        .key_extractor(client::ByClientAddr)
        .per_second(6)
        .burst_size(settings.sign_in_burst)
        .finish()
        .map(|config| {
            GovernorLayer::new(config).error_handler(|_| {
                refused(
                    error_page(StatusCode::TOO_MANY_REQUESTS, "error-too-many", None),
                    Refusal::RateLimited,
                )
            })
        });
    let route = Router::new().route("/login", post(crate::account::login));
    match limit {
        Some(limit) => route.layer(limit),
        None => route,
    }
}

async fn readyz(State(pool): State<PgPool>) -> impl IntoResponse {
    match sqlx::query_scalar!("select 1 as \"one!\"")
        .fetch_one(&pool)
        .await
    {
        Ok(_) => (StatusCode::OK, "ready"),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "database unreachable"),
    }
}

/// One of the headers every response carries, errors included.
fn always(name: HeaderName, value: &'static str) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
}

const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
    img-src 'self' data:; font-src 'self'; form-action 'self'; frame-ancestors 'none'; \
    base-uri 'none'; object-src 'none'";
