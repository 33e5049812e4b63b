//! The append-only audit log: every write and every sign-in attempt, recorded in
//! the same transaction as the change it describes.

pub mod refusals;
pub mod routes;

/// One audit event about to be written.
pub struct Event<'a> {
    pub actor_id: Option<i64>,
    pub action: &'a str,
    pub entity: &'a str,
    pub entity_id: Option<String>,
    pub summary: String,
    pub ip: Option<String>,
}

pub async fn record(
    executor: impl sqlx::PgExecutor<'_>,
    event: Event<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into audit_events (actor_id, action, entity, entity_id, summary, ip)
         values ($1, $2, $3, $4, $5, $6)",
        event.actor_id,
        event.action,
        event.entity,
        event.entity_id,
        event.summary,
        event.ip,
    )
    .execute(executor)
    .await?;
    Ok(())
}
