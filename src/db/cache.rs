//! What an instance keeps in memory: results of heavy queries, kept until the
//! data they come from changes, and sessions and users, kept until they change.
//! [`Changes`] says when: every statement that changes the tables behind the
//! figures moves its data generation on, and every change to a session or a
//! user is announced by name. While changes are not heard, nothing is kept.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard};

use super::changes::Changes;

/// Enough for every filter combination (or every signed-in person) at once;
/// beyond it, start afresh.
const MAX_ENTRIES: usize = 2_000;

/// For values of tens of kilobytes (a page's rows, a case study with its
/// evidence): a few hundred, so that memory stays bounded whoever reads.
const KEPT_LARGE: usize = 256;

pub struct GenerationCache<K, V> {
    /// For the metrics of lookups.
    name: &'static str,
    /// How many values it keeps before it starts afresh.
    capacity: usize,
    changes: Changes,
    entries: Arc<Mutex<HashMap<K, Entry<V>>>>,
    /// One computation at a time: when many readers miss at once (right after a
    /// change), the first computes and the others then find its result, instead
    /// of all running the same heavy query together. `None` for cheap values.
    computing: Option<Arc<tokio::sync::Mutex<()>>>,
}

struct Entry<V> {
    generation: u64,
    value: Arc<V>,
}

impl<K, V> Clone for GenerationCache<K, V> {
    fn clone(&self) -> Self {
        GenerationCache {
            name: self.name,
            capacity: self.capacity,
            changes: self.changes.clone(),
            entries: Arc::clone(&self.entries),
            computing: self.computing.clone(),
        }
    }
}

impl<K: Hash + Eq, V> GenerationCache<K, V> {
    pub fn new(name: &'static str, changes: &Changes) -> Self {
        Self::with_capacity(name, changes, MAX_ENTRIES)
    }

    /// For values of tens of kilobytes: `KEPT_LARGE` of them at most.
    pub fn large(name: &'static str, changes: &Changes) -> Self {
        Self::with_capacity(name, changes, KEPT_LARGE)
    }

    /// A cache of large values keeps fewer of them.
    pub fn with_capacity(name: &'static str, changes: &Changes, capacity: usize) -> Self {
        GenerationCache {
            name,
            capacity,
            changes: changes.clone(),
            entries: Arc::default(),
            computing: Some(Arc::default()),
        }
    }

    /// Misses computed side by side, for values each cheap to compute (a
    /// page of the API): queued behind one another, many clients paging at
    /// once would wait on each other's queries.
    pub fn side_by_side(mut self) -> Self {
        self.computing = None;
        self
    }

    /// The value for `key`, computed by `compute` unless a current one is kept.
    pub async fn get<F, E>(&self, key: K, compute: F) -> Result<Arc<V>, E>
    where
        F: AsyncFnOnce() -> Result<V, E>,
    {
        if !self.changes.is_live() {
            return Ok(Arc::new(compute().await?));
        }
        // Read before computing: a change heard meanwhile leaves the value
        // under the older number, so the next reader computes it again.
        let generation = self.changes.data_generation();
        if let Some(value) = self.fresh(&key, generation) {
            cache_lookup(self.name, true);
            return Ok(value);
        }
        let _turn = match &self.computing {
            Some(computing) => Some(computing.lock().await),
            None => None,
        };
        let found = self.fresh(&key, generation);
        cache_lookup(self.name, found.is_some());
        if let Some(value) = found {
            return Ok(value);
        }
        let value = Arc::new(compute().await?);
        let mut entries = lock(&self.entries);
        if entries.len() >= self.capacity {
            entries.clear();
        }
        entries.insert(
            key,
            Entry {
                generation,
                value: Arc::clone(&value),
            },
        );
        Ok(value)
    }

    fn fresh(&self, key: &K, generation: u64) -> Option<Arc<V>> {
        lock(&self.entries)
            .get(key)
            .filter(|entry| entry.generation == generation)
            .map(|entry| Arc::clone(&entry.value))
    }
}

/// Values kept until a change names them. A value read from the database is
/// kept only if nothing was forgotten while it was being read, so a change
/// that raced the read cannot be undone by it.
pub struct KeptMap<K, V> {
    /// For the metrics of lookups.
    name: &'static str,
    changes: Changes,
    inner: Arc<Mutex<Kept<K, V>>>,
}

struct Kept<K, V> {
    entries: HashMap<K, V>,
    /// Moves on whenever something is forgotten.
    epoch: u64,
}

impl<K, V> Clone for KeptMap<K, V> {
    fn clone(&self) -> Self {
        KeptMap {
            name: self.name,
            changes: self.changes.clone(),
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<K: Hash + Eq, V: Clone> KeptMap<K, V> {
    pub fn new(name: &'static str, changes: &Changes) -> Self {
        KeptMap {
            name,
            changes: changes.clone(),
            inner: Arc::new(Mutex::new(Kept {
                entries: HashMap::new(),
                epoch: 0,
            })),
        }
    }

    /// The kept value, while changes are heard.
    pub fn get(&self, key: &K) -> Option<V> {
        if !self.changes.is_live() {
            return None;
        }
        let kept = lock(&self.inner).entries.get(key).cloned();
        cache_lookup(self.name, kept.is_some());
        kept
    }

    /// Taken before reading a value from the database, for [`KeptMap::keep_read`].
    pub fn epoch(&self) -> u64 {
        lock(&self.inner).epoch
    }

    /// Keeps a value read from the database, unless something was forgotten
    /// since `epoch` was taken.
    pub fn keep_read(&self, epoch: u64, key: K, value: V) {
        let mut kept = lock(&self.inner);
        if kept.epoch == epoch && self.changes.is_live() {
            kept.insert(key, value);
        }
    }

    /// Keeps a value this instance has just written to the database.
    pub fn keep_written(&self, key: K, value: V) {
        lock(&self.inner).insert(key, value);
    }

    /// Forgets the values `concerned` picks.
    pub fn forget(&self, concerned: impl Fn(&K, &V) -> bool) {
        let mut kept = lock(&self.inner);
        kept.entries.retain(|key, value| !concerned(key, value));
        kept.epoch += 1;
    }
}

impl<K: Hash + Eq, V> Kept<K, V> {
    fn insert(&mut self, key: K, value: V) {
        if self.entries.len() >= MAX_ENTRIES {
            self.entries.clear();
        }
        self.entries.insert(key, value);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A lookup in one of the instance's in-memory caches.
fn cache_lookup(cache: &'static str, hit: bool) {
    let result = if hit { "hit" } else { "miss" };
    metrics::counter!("samleng_cache_lookups_total", "cache" => cache, "result" => result)
        .increment(1);
}
