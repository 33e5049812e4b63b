//! What operators watch: Prometheus metrics on a private address
//! (`SAMLENG_METRICS_BIND`, never the public one), request ids, and logs as
//! JSON lines (`SAMLENG_LOG_FORMAT=json`).

use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use sqlx::PgPool;
use tower_http::request_id::{MakeRequestId, RequestId};

use crate::state::AppState;

const REQUESTS: &str = "samleng_http_requests_total";
const DURATION: &str = "samleng_http_request_duration_seconds";
const IN_FLIGHT: &str = "samleng_http_requests_in_flight";

/// Installs the process's metrics recorder; its handle renders them.
pub fn install_recorder() -> anyhow::Result<PrometheusHandle> {
    // Around the budgets: 20 ms for a page, 100 ms for the dashboard.
    let buckets = [0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];
    Ok(PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Full(DURATION.into()), &buckets)?
        .install_recorder()?)
}

/// Middleware (on every route, so the route's pattern is known): counts
/// requests by route and status, and times them.
pub async fn count_requests(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    metrics::gauge!(IN_FLIGHT).increment(1);
    let response = next.run(request).await;
    metrics::gauge!(IN_FLIGHT).decrement(1);
    let status = response.status().as_u16().to_string();
    metrics::histogram!(DURATION, "route" => route.clone()).record(started.elapsed().as_secs_f64());
    metrics::counter!(REQUESTS, "method" => method, "route" => route, "status" => status)
        .increment(1);
    response
}

/// The private listener's routes.
pub fn private_routes(state: AppState, handle: PrometheusHandle) -> Router {
    Router::new()
        .route("/metrics", get(render))
        .route("/caught-up", get(caught_up))
        .with_state((state, handle))
}

/// `GET /metrics`: the counters kept as requests go, and the gauges read now.
async fn render(State((state, handle)): State<(AppState, PrometheusHandle)>) -> Response {
    for (name, pool) in [
        ("main", &state.pool),
        ("aggregates", &state.aggregates),
        ("searches", &state.searches),
    ] {
        pool_gauges(name, pool);
    }
    if let Err(error) = outbox_gauges(&state.pool).await {
        tracing::warn!(%error, "reading the outbox for /metrics failed");
    }
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4"),
        )],
        handle.render(),
    )
        .into_response()
}

/// sqlx does not expose how many wait for a connection; when `in_use`
/// reaches `max`, the next requests wait (up to the acquire timeout, counted
/// by `samleng_db_pool_timeouts_total`).
fn pool_gauges(name: &'static str, pool: &PgPool) {
    let idle = pool.num_idle() as f64;
    let open = f64::from(pool.size());
    let max = f64::from(pool.options().get_max_connections());
    metrics::gauge!("samleng_db_pool_connections", "pool" => name, "state" => "in_use")
        .set(open - idle);
    metrics::gauge!("samleng_db_pool_connections", "pool" => name, "state" => "idle").set(idle);
    metrics::gauge!("samleng_db_pool_max_connections", "pool" => name).set(max);
}

async fn outbox_gauges(pool: &PgPool) -> Result<(), sqlx::Error> {
    let outbox = sqlx::query!(
        r#"select count(*) filter (where status = 'pending') as "pending!",
                  count(*) filter (where status = 'failed') as "failed!",
                  coalesce(extract(epoch from now() - min(created_at) filter (where status = 'pending')),
                           0)::float8 as "oldest_pending_seconds!"
           from outbox"#
    )
    .fetch_one(pool)
    .await?;
    metrics::gauge!("samleng_outbox_messages", "status" => "pending").set(outbox.pending as f64);
    metrics::gauge!("samleng_outbox_messages", "status" => "failed").set(outbox.failed as f64);
    metrics::gauge!("samleng_outbox_oldest_pending_seconds").set(outbox.oldest_pending_seconds);
    Ok(())
}

/// `GET /caught-up`: answers once this instance has heard every change
/// committed before the request, so that a deployment check (or a test) can
/// tell that what one instance wrote is what another now serves.
async fn caught_up(State((state, _)): State<(AppState, PrometheusHandle)>) -> Response {
    match state.changes.caught_up(&state.pool).await {
        Ok(()) => (StatusCode::OK, "caught up").into_response(),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "not hearing changes").into_response(),
    }
}

tokio::task_local! {
    /// The id of the request this task serves (`keep_request_id`).
    static REQUEST_ID: String;
}

/// Middleware, inside the layer that sets `x-request-id`: the rest of the
/// request runs knowing its id, so that an error page names the id its log
/// lines carry.
pub async fn keep_request_id(request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get("x-request-id")
        .and_then(|id| id.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    REQUEST_ID.scope(id, next.run(request)).await
}

/// The id of the request being served, if any.
pub fn request_id() -> Option<String> {
    REQUEST_ID
        .try_with(String::clone)
        .ok()
        .filter(|id| !id.is_empty())
}

/// Request ids: 64 random bits in hex, unless a proxy in front sent one.
#[derive(Clone, Copy, Default)]
pub struct RandomRequestId;

impl MakeRequestId for RandomRequestId {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        let id = format!("{:016x}", rand::random::<u64>());
        HeaderValue::from_str(&id).ok().map(RequestId::new)
    }
}

/// Logs to standard error: text for people, or one JSON object per line for a
/// log collector, each with the request's span (method, path, request id).
pub fn init_logs(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "samleng=info,tower_http=warn".into());
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        logs.json()
            .with_current_span(true)
            .with_span_list(false)
            .init();
    } else {
        logs.init();
    }
}
