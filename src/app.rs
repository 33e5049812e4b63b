//! The router and its middleware: sessions, the current user, CSRF, the language
//! switch, rate limiting of sign-in, and the security headers every response carries.

use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRef, State};
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

use crate::attachments::FileStore;
use crate::audit::refusals::{self, Refusal};
use crate::auth::session::{self, IDLE_TIMEOUT, KeptUsers};
use crate::auth::store::KeptSessions;
use crate::dashboard::figures::FiguresCache;
use crate::db::changes::Changes;
use crate::error::{AppError, error_page, refused};
use crate::geo::places::ChoicesCache;
use crate::home::WorkCache;
use crate::observability::RandomRequestId;
use crate::public::PublicCache;
use crate::recommendations::priorities::RankingCache;
use crate::web::client::{self, TrustedProxies};
use crate::web::input::{self, BodyLimits};
use crate::web::{csrf, error_pages, language};

/// What handlers share: one allocation, so that the middleware and handlers
/// that take it clone a pointer, not a dozen.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

pub struct Shared {
    pub pool: PgPool,
    /// For the dashboard's figures (`db::aggregates_pool`).
    pub aggregates: PgPool,
    /// For text searches (`db::searches_pool`).
    pub searches: PgPool,
    pub settings: Arc<Settings>,
    pub files: FileStore,
    /// What changed on any instance: it tells every cache below when to forget.
    pub changes: Changes,
    pub users: KeptUsers,
    pub figures: FiguresCache,
    pub rankings: RankingCache,
    pub worklist: WorkCache,
    pub choices: ChoicesCache,
    pub public: PublicCache,
}

impl AppState {
    /// The state of one instance; starts listening for changes in the database.
    pub fn new(pool: PgPool, settings: Settings, files: FileStore) -> AppState {
        let changes = Changes::listen(&pool);
        AppState(Arc::new(Shared {
            users: session::kept_users(&changes),
            figures: FiguresCache::new("dashboard_figures", &changes),
            rankings: RankingCache::new("priority_rankings", &changes),
            worklist: WorkCache::new("worklist", &changes),
            choices: ChoicesCache::new("filter_choices", &changes),
            // Public pages are tens of kilobytes each: a few hundred at most.
            public: PublicCache::with_capacity("public_pages", &changes, 300),
            changes,
            aggregates: crate::db::aggregates_pool(&pool),
            searches: crate::db::searches_pool(&pool),
            pool,
            settings: Arc::new(settings),
            files,
        }))
    }
}

/// The settings that change how requests are answered.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Mark cookies `Secure`: set when the app is served over HTTPS.
    pub secure_cookies: bool,
    /// Sign-in attempts one address may make in a burst before it must wait.
    pub sign_in_burst: u32,
    /// The Telegram bot's user name, when Telegram is set up.
    pub telegram_bot: Option<String>,
    /// The reverse proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: TrustedProxies,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            secure_cookies: false,
            sign_in_burst: 10,
            telegram_bot: None,
            trusted_proxies: TrustedProxies::default(),
        }
    }
}

impl FromRef<AppState> for PgPool {
    fn from_ref(state: &AppState) -> PgPool {
        state.pool.clone()
    }
}

/// Builds the whole application.
pub fn router(state: AppState) -> Router {
    let store = KeptSessions::new(state.pool.clone(), &state.changes);
    let sessions = SessionManagerLayer::new(store)
        .with_name(session_cookie_name(&state.settings))
        .with_http_only(true)
        .with_same_site(tower_sessions::cookie::SameSite::Lax)
        .with_secure(state.settings.secure_cookies)
        .with_expiry(Expiry::OnInactivity(IDLE_TIMEOUT));

    let state_pool = state.pool.clone();
    let proxies = Arc::new(state.settings.trusted_proxies.clone());
    let https = state.settings.secure_cookies;
    let app = Router::new()
        .merge(sign_in_route(&state.settings))
        .merge(crate::auth::routes::routes())
        .merge(crate::auth::links::routes())
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

/// Over HTTPS the session cookie takes the `__Host-` prefix: browsers then
/// accept it only Secure, for this host and path `/`, never set by a subdomain.
pub fn session_cookie_name(settings: &Settings) -> &'static str {
    if settings.secure_cookies {
        "__Host-samleng_session"
    } else {
        "samleng_session"
    }
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
    let route = Router::new().route("/login", post(crate::auth::routes::login));
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
