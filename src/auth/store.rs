//! Sessions kept in memory in front of their table, so that a signed-in page
//! view reads none. A session saved or deleted on any instance is forgotten by
//! every other one when its trigger's announcement arrives (migration 0009);
//! this instance's own saves and deletions update what it keeps at once.
//!
//! A session is saved only while its row exists: a request that read it before
//! a sign-out (on this instance or another) and saves it afterwards changes
//! nothing, where the store's own insert-or-update would bring it back.

use std::fmt;

use sqlx::PgPool;
use time::OffsetDateTime;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};
use tower_sessions_sqlx_store::PostgresStore;

use crate::db::cache::KeptMap;
use crate::db::changes::{AuthChange, Changes};

#[derive(Clone)]
pub struct KeptSessions {
    store: PostgresStore,
    pool: PgPool,
    kept: KeptMap<Id, Record>,
}

impl KeptSessions {
    pub fn new(pool: PgPool, changes: &Changes) -> KeptSessions {
        let store = PostgresStore::new(pool.clone());
        let kept = KeptMap::new("sessions", changes);
        let forgetful = kept.clone();
        changes.on_auth_change(move |change| match change {
            AuthChange::Session(id) => {
                let id = id.parse::<Id>().ok();
                forgetful.forget(|kept, _| Some(*kept) == id);
            }
            AuthChange::Everything => forgetful.forget(|_, _| true),
            AuthChange::User(_) | AuthChange::AllUsers => {}
        });
        KeptSessions { store, pool, kept }
    }
}

impl fmt::Debug for KeptSessions {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("KeptSessions")
    }
}

#[async_trait::async_trait]
impl SessionStore for KeptSessions {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        self.store.create(record).await?;
        self.kept.keep_written(record.id, record.clone());
        Ok(())
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let data = rmp_serde::to_vec(record)
            .map_err(|error| session_store::Error::Encode(error.to_string()))?;
        // Kept only if nothing was forgotten meanwhile: a sign-out between
        // this update and the line below must not leave it kept here.
        let epoch = self.kept.epoch();
        let saved = sqlx::query!(
            "update tower_sessions.session set data = $2, expiry_date = $3 where id = $1",
            record.id.to_string(),
            data,
            record.expiry_date,
        )
        .execute(&self.pool)
        .await
        .map_err(|error| session_store::Error::Backend(error.to_string()))?
        .rows_affected();
        if saved == 1 {
            self.kept.keep_read(epoch, record.id, record.clone());
        } else {
            // Ended meanwhile: it stays ended, here and everywhere.
            self.kept.forget(|kept, _| *kept == record.id);
        }
        Ok(())
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        if let Some(record) = self.kept.get(id) {
            if record.expiry_date > OffsetDateTime::now_utc() {
                return Ok(Some(record));
            }
            self.kept.forget(|kept, _| kept == id);
            return Ok(None);
        }
        let epoch = self.kept.epoch();
        let record = self.store.load(id).await?;
        if let Some(record) = &record {
            self.kept.keep_read(epoch, *id, record.clone());
        }
        Ok(record)
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        // Forgotten before (refused here at once, even if the database is
        // down) and after the row goes (a save in flight kept it meanwhile).
        self.kept.forget(|kept, _| kept == id);
        let deleted = self.store.delete(id).await;
        self.kept.forget(|kept, _| kept == id);
        deleted
    }
}
