//! What changed in the database, heard through PostgreSQL's `LISTEN/NOTIFY`, so
//! that an instance can keep sessions, signed-in users and heavy figures in
//! memory and still never serve them after a change made on any instance.
//!
//! Triggers (migration 0009) announce every change: `samleng_data` for the
//! tables behind cached figures, `samleng_auth` for sessions, users,
//! organizations and notifications. One connection per instance listens. While
//! it is down, nothing kept counts ([`Changes::is_live`] is false, so callers
//! read the database); when it comes back, everything kept is dropped, since
//! what was said meanwhile is lost.
//!
//! A connection can also stall without closing (a half-open socket, a paused
//! server process): so each instance pings itself through it every `BEAT`.
//! Not hearing its own ping for `SILENT`, it stops using what it keeps and
//! says so in the log; hearing it again, it drops what it kept and goes on;
//! silent for `GIVE_UP`, it listens on a new connection.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::watch;

const DATA_CHANNEL: &str = "samleng_data";
const AUTH_CHANNEL: &str = "samleng_auth";
/// How often an instance pings itself through its listening connection.
const BEAT: Duration = Duration::from_millis(250);
/// Not hearing its own ping for this long, an instance stops using what it
/// keeps: a sign-out made elsewhere meanwhile may be unheard.
const SILENT: Duration = Duration::from_secs(2);
/// Silent this long, the connection is given up for a new one.
const GIVE_UP: Duration = Duration::from_secs(10);

/// A change that may end or alter sessions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthChange {
    /// A session was saved or deleted (its id).
    Session(String),
    /// A user, or what is shown of them (unread notifications), changed.
    User(i64),
    /// An organization or its districts changed: any user may be concerned.
    AllUsers,
    /// Changes may have gone unheard: nothing kept can be trusted.
    Everything,
}

impl AuthChange {
    /// Reads a payload of the `samleng_auth` triggers: `session:ID`, `user:ID`
    /// or `users`.
    fn parse(payload: &str) -> Option<AuthChange> {
        match payload.split_once(':') {
            Some(("session", id)) => Some(AuthChange::Session(id.to_owned())),
            Some(("user", id)) => id.parse().ok().map(AuthChange::User),
            _ => (payload == "users").then_some(AuthChange::AllUsers),
        }
    }
}

type Forget = Box<dyn Fn(&AuthChange) + Send + Sync>;

/// Shared by everything an instance keeps in memory.
#[derive(Clone, Default)]
pub struct Changes {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Moves on with every change to the data behind cached figures.
    data_generation: AtomicU64,
    live: AtomicBool,
    /// What each cache of sessions and users does with a change.
    forgetters: Mutex<Vec<Forget>>,
    /// The last `ping:N` heard, for [`Changes::caught_up`].
    pings: watch::Sender<u64>,
    /// This instance's heartbeat (`beat:N`), and when it was last heard.
    beat: u64,
    beat_heard: Mutex<Option<Instant>>,
}

impl Changes {
    /// Starts listening on a connection of its own; the listener lives as long
    /// as the runtime.
    pub fn listen(pool: &PgPool) -> Changes {
        let changes = Changes {
            inner: Arc::new(Inner {
                beat: rand::random::<u64>(),
                ..Inner::default()
            }),
        };
        tokio::spawn(changes.clone().keep_listening(pool.clone()));
        tokio::spawn(changes.clone().keep_beating(pool.clone()));
        changes
    }

    /// Pings this instance through the database every `BEAT`, and stops using
    /// what it keeps when the pings stop coming back.
    async fn keep_beating(self, pool: PgPool) {
        let mut ticks = tokio::time::interval(BEAT);
        let payload = format!("beat:{}", self.inner.beat);
        loop {
            ticks.tick().await;
            if pool.is_closed() {
                return;
            }
            let quiet = self.beat_heard().map(|heard| heard.elapsed());
            if self.is_live() && quiet.is_some_and(|quiet| quiet > SILENT) {
                self.inner.live.store(false, Ordering::Release);
                tracing::warn!(
                    silent_ms = quiet.map_or(0, |quiet| quiet.as_millis() as u64),
                    "the listening connection is silent; kept values are not used"
                );
            }
            // Unreachable, the database answers nothing: the silence says so.
            sqlx::query("select pg_notify('samleng_auth', $1)")
                .bind(&payload)
                .execute(&pool)
                .await
                .ok();
        }
    }

    fn beat_heard(&self) -> Option<Instant> {
        *self
            .inner
            .beat_heard
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn set_beat_heard(&self, at: Option<Instant>) {
        *self
            .inner
            .beat_heard
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = at;
    }

    /// True while changes are heard, so that what is kept may be used.
    pub fn is_live(&self) -> bool {
        self.inner.live.load(Ordering::Acquire)
    }

    /// The current data generation: a value kept under an older one is stale.
    pub fn data_generation(&self) -> u64 {
        self.inner.data_generation.load(Ordering::Acquire)
    }

    /// Called by a cache of sessions or users: `forget` drops what a change concerns.
    pub fn on_auth_change(&self, forget: impl Fn(&AuthChange) + Send + Sync + 'static) {
        self.forgetters().push(Box::new(forget));
    }

    /// What this instance changed itself is forgotten at once, before the
    /// database's announcement arrives, so its own next page shows it.
    pub fn changed_here(&self) {
        self.inner.data_generation.fetch_add(1, Ordering::AcqRel);
        self.tell(&AuthChange::AllUsers);
    }

    /// Waits until this instance has heard every change committed before the
    /// call: PostgreSQL delivers notifications in commit order, so once our
    /// own ping comes back, all earlier ones have been handled.
    pub async fn caught_up(&self, pool: &PgPool) -> Result<(), sqlx::Error> {
        // A ping sent before the listener (re)connected is never heard: send
        // another after a while, until one comes back or time runs out.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while tokio::time::Instant::now() < deadline {
            let ping = rand::random::<u32>() as u64 + 1;
            let mut heard = self.inner.pings.subscribe();
            sqlx::query!(
                "select pg_notify('samleng_auth', 'ping:' || $1::bigint)",
                ping as i64
            )
            .execute(pool)
            .await?;
            let waited = tokio::time::timeout(
                Duration::from_millis(500),
                heard.wait_for(|last| *last == ping),
            )
            .await;
            if let Ok(Ok(_)) = waited {
                return Ok(());
            }
        }
        Err(sqlx::Error::PoolTimedOut)
    }

    fn forgetters(&self) -> std::sync::MutexGuard<'_, Vec<Forget>> {
        self.inner
            .forgetters
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn tell(&self, change: &AuthChange) {
        for forget in self.forgetters().iter() {
            forget(change);
        }
    }

    fn forget_everything(&self) {
        self.inner.data_generation.fetch_add(1, Ordering::AcqRel);
        self.tell(&AuthChange::Everything);
    }

    async fn keep_listening(self, pool: PgPool) {
        let mut wait = Duration::from_millis(100);
        loop {
            match self.listen_until_lost(&pool).await {
                Ok(()) => wait = Duration::from_millis(100),
                // The server is stopping.
                Err(_) if pool.is_closed() => return,
                Err(error) => {
                    tracing::warn!(%error, "not hearing changes; kept values are not used");
                    wait = (wait * 2).min(Duration::from_secs(5));
                }
            }
            self.inner.live.store(false, Ordering::Release);
            tokio::time::sleep(wait).await;
        }
    }

    /// Listens until the connection is lost. Kept values are dropped once
    /// listening, since changes made before it were not heard.
    async fn listen_until_lost(&self, pool: &PgPool) -> Result<(), sqlx::Error> {
        let mut listener = PgListener::connect_with(pool).await?;
        listener.listen_all([DATA_CHANNEL, AUTH_CHANNEL]).await?;
        self.forget_everything();
        self.set_beat_heard(Some(Instant::now()));
        self.inner.live.store(true, Ordering::Release);
        let beat = format!("beat:{}", self.inner.beat);
        // `try_recv` answers `None` when the connection was lost, where `recv`
        // would reconnect silently and lose what was said meanwhile; a
        // connection silent for `GIVE_UP` is dropped for a new one.
        loop {
            let Ok(received) = tokio::time::timeout(GIVE_UP, listener.try_recv()).await else {
                self.set_beat_heard(None);
                tracing::warn!("the listening connection stalled; listening on a new one");
                return Ok(());
            };
            let Some(notification) = received? else {
                break;
            };
            if notification.payload() == beat {
                self.set_beat_heard(Some(Instant::now()));
                if !self.is_live() {
                    // What was said while it was silent may be lost.
                    self.forget_everything();
                    self.inner.live.store(true, Ordering::Release);
                    tracing::info!("the listening connection is heard again");
                }
            } else if notification.payload().starts_with("beat:") {
                // Another instance's heartbeat.
            } else if notification.channel() == DATA_CHANNEL {
                self.inner.data_generation.fetch_add(1, Ordering::AcqRel);
            } else if let Some(ping) = notification.payload().strip_prefix("ping:") {
                if let Ok(ping) = ping.parse() {
                    self.inner.pings.send_replace(ping);
                }
            } else if let Some(change) = AuthChange::parse(notification.payload()) {
                self.tell(&change);
            }
        }
        self.set_beat_heard(None);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::AuthChange;

    #[test]
    fn payloads_of_the_triggers_are_read() {
        assert_eq!(
            AuthChange::parse("session:abc-_d"),
            Some(AuthChange::Session("abc-_d".into()))
        );
        assert_eq!(AuthChange::parse("user:42"), Some(AuthChange::User(42)));
        assert_eq!(AuthChange::parse("users"), Some(AuthChange::AllUsers));
        assert_eq!(AuthChange::parse("user:x"), None);
        assert_eq!(AuthChange::parse("ping:3"), None);
    }
}
