//! Results of heavy queries, kept until the data they come from changes. Every
//! statement that changes the tables behind them moves the database's
//! `data_generation` sequence on (triggers of migration 0005), so a cached value
//! is reused only while that number stands still: one tiny query instead of the
//! heavy ones, and a change shows on the next view. Each instance of the app
//! keeps its own; none serves another's stale data for longer than `MAX_AGE`,
//! which bounds the one race left: a value computed while a change committed.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sqlx::PgPool;

const MAX_AGE: Duration = Duration::from_secs(60);
/// Enough for every filter combination in use at once; beyond it, start afresh.
const MAX_ENTRIES: usize = 500;

pub struct GenerationCache<K, V> {
    entries: Arc<Mutex<HashMap<K, Entry<V>>>>,
    /// One computation at a time: when many readers miss at once (right after a
    /// change), the first computes and the others then find its result, instead
    /// of all running the same heavy query together.
    computing: Arc<tokio::sync::Mutex<()>>,
}

struct Entry<V> {
    generation: i64,
    made: Instant,
    value: Arc<V>,
}

impl<K, V> Clone for GenerationCache<K, V> {
    fn clone(&self) -> Self {
        GenerationCache {
            entries: Arc::clone(&self.entries),
            computing: Arc::clone(&self.computing),
        }
    }
}

impl<K, V> Default for GenerationCache<K, V> {
    fn default() -> Self {
        GenerationCache {
            entries: Arc::default(),
            computing: Arc::default(),
        }
    }
}

impl<K: Hash + Eq, V> GenerationCache<K, V> {
    /// The value for `key`, computed by `compute` unless a current one is kept.
    pub async fn get<F>(&self, pool: &PgPool, key: K, compute: F) -> Result<Arc<V>, sqlx::Error>
    where
        F: AsyncFnOnce() -> Result<V, sqlx::Error>,
    {
        let generation = sqlx::query_scalar!(
            r#"select last_value + is_called::int as "generation!" from data_generation"#
        )
        .fetch_one(pool)
        .await?;
        if let Some(value) = self.fresh(&key, generation) {
            return Ok(value);
        }
        let _turn = self.computing.lock().await;
        if let Some(value) = self.fresh(&key, generation) {
            return Ok(value);
        }
        let value = Arc::new(compute().await?);
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(
            key,
            Entry {
                generation,
                made: Instant::now(),
                value: Arc::clone(&value),
            },
        );
        Ok(value)
    }

    fn fresh(&self, key: &K, generation: i64) -> Option<Arc<V>> {
        let entries = self
            .entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        entries
            .get(key)
            .filter(|entry| entry.generation == generation && entry.made.elapsed() < MAX_AGE)
            .map(|entry| Arc::clone(&entry.value))
    }
}
