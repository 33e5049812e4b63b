//! The append-only audit log: every write and every sign-in attempt, recorded in
//! the same transaction as the change it describes; and every download, which
//! changes nothing, written by group commit (`Batched`).

pub mod refusals;
pub mod routes;

use sqlx::PgPool;
use tokio::sync::{mpsc, oneshot};

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

/// An entry waiting for its commit, and who waits for it.
type Waiting = (Event<'static>, oneshot::Sender<Result<(), String>>);

/// The most entries one `INSERT` writes.
const BATCH: usize = 256;

/// Entries written together (group commit), for what is recorded on every
/// download: while one `INSERT` commits, the entries that arrive meanwhile
/// wait and go in the next. Many downloads at once then cost a few commits
/// instead of one each, and each caller still returns only once its entry is
/// committed.
#[derive(Clone)]
pub struct Batched {
    queue: mpsc::Sender<Waiting>,
}

impl Batched {
    /// Starts the writer; it stops when the last handle is dropped.
    pub fn start(pool: PgPool) -> Batched {
        let (queue, mut arrived) = mpsc::channel::<Waiting>(BATCH);
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(BATCH);
            while arrived.recv_many(&mut batch, BATCH).await > 0 {
                let (events, waiting): (Vec<_>, Vec<_>) = batch.drain(..).unzip();
                let written = record_all(&pool, &events)
                    .await
                    .map_err(|error| error.to_string());
                for caller in waiting {
                    // A caller that stopped waiting no longer needs the answer.
                    let _ = caller.send(written.clone());
                }
            }
        });
        Batched { queue }
    }

    /// Records `event`, once it is committed.
    pub async fn record(&self, event: Event<'static>) -> anyhow::Result<()> {
        let (caller, committed) = oneshot::channel();
        self.queue
            .send((event, caller))
            .await
            .map_err(|_| anyhow::anyhow!("the audit writer has stopped"))?;
        committed.await?.map_err(anyhow::Error::msg)
    }
}

async fn record_all(pool: &PgPool, events: &[Event<'static>]) -> Result<(), sqlx::Error> {
    let column = |pick: fn(&Event<'static>) -> Option<String>| -> Vec<Option<String>> {
        events.iter().map(pick).collect()
    };
    sqlx::query(
        "insert into audit_events (actor_id, action, entity, entity_id, summary, ip)
         select * from unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])",
    )
    .bind(events.iter().map(|event| event.actor_id).collect::<Vec<_>>())
    .bind(column(|event| Some(event.action.to_owned())))
    .bind(column(|event| Some(event.entity.to_owned())))
    .bind(column(|event| event.entity_id.clone()))
    .bind(column(|event| Some(event.summary.clone())))
    .bind(column(|event| event.ip.clone()))
    .execute(pool)
    .await?;
    Ok(())
}
