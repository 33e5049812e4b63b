//! Refused requests in the audit log: who was turned away (403), which forms
//! failed the forgery check, which addresses hit the sign-in limit. Repeats
//! within an hour add to one row's count, so a flood of refusals cannot fill
//! the disk.

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use sqlx::PgPool;
use time::OffsetDateTime;

use crate::auth::session::CurrentUser;
use crate::error::Refusal;
use crate::web::client::ClientAddr;

/// Middleware: records the refusal a response carries.
pub async fn record(State(pool): State<PgPool>, request: Request, next: Next) -> Response {
    // Kept as they are (cheap clones); turned into text only for a refusal.
    let actor = request
        .extensions()
        .get::<CurrentUser>()
        .map(|user| user.id);
    let route = request.extensions().get::<MatchedPath>().cloned();
    let address = request
        .extensions()
        .get::<ClientAddr>()
        .map(|ClientAddr(address)| *address);
    let response = next.run(request).await;
    if let Some(refusal) = response.extensions().get::<Refusal>() {
        let route = route.as_ref().map_or("?", MatchedPath::as_str);
        let ip = address.map(|address| address.to_string());
        let written = count(&pool, *refusal, actor, ip.unwrap_or_default(), route).await;
        if let Err(error) = written {
            tracing::error!(%error, "recording a refused request failed");
        }
    }
    response
}

/// Adds one to the refusals of this kind, by this actor, from this address,
/// at this route, this hour.
pub async fn count(
    pool: &PgPool,
    refusal: Refusal,
    actor: Option<i64>,
    ip: String,
    route: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into audit_refusals (hour, kind, actor_id, ip, route)
         values (date_trunc('hour', now()), $1, $2, $3, $4)
         on conflict (hour, kind, coalesce(actor_id, 0), ip, route)
         do update set count = audit_refusals.count + 1, last_at = now()",
        refusal.code(),
        actor,
        ip,
        route,
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// A row of the refusals table, for the audit page.
pub struct RefusalRow {
    pub last_at: OffsetDateTime,
    pub kind: String,
    pub actor: Option<String>,
    pub ip: String,
    pub route: String,
    pub count: i32,
}

impl RefusalRow {
    pub fn at_text(&self) -> String {
        crate::format::timestamp(self.last_at)
    }
}

/// The latest refusals.
pub async fn latest(pool: &PgPool, limit: i64) -> Result<Vec<RefusalRow>, sqlx::Error> {
    sqlx::query_as!(
        RefusalRow,
        r#"select r.last_at, r.kind, u.email as "actor?", r.ip, r.route, r.count
           from audit_refusals r left join users u on u.id = r.actor_id
           order by r.last_at desc, r.id desc limit $1"#,
        limit
    )
    .fetch_all(pool)
    .await
}
