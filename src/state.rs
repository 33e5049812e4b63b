//! What every request shares: the database pools, the file store, the
//! settings, the changes heard from every instance, and what features keep in
//! memory. It names no feature: each feature's cache lives in the feature and
//! is reached through [`AppState::kept`].

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use axum::extract::FromRef;
use sqlx::PgPool;

use crate::config::TrustedProxies;
use crate::db::changes::Changes;
use crate::files::FileStore;

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
    /// What changed on any instance: it tells every kept value when to forget.
    pub changes: Changes,
    kept: Kept,
}

/// Values kept by features, one per name and type, made on first use.
type Kept = RwLock<HashMap<(&'static str, TypeId), Box<dyn Any + Send + Sync>>>;

impl AppState {
    /// The state of one instance; starts listening for changes in the database.
    pub fn new(pool: PgPool, settings: Settings, files: FileStore) -> AppState {
        AppState(Arc::new(Shared {
            changes: Changes::listen(&pool),
            aggregates: crate::db::aggregates_pool(&pool),
            searches: crate::db::searches_pool(&pool),
            pool,
            settings: Arc::new(settings),
            files,
            kept: Kept::default(),
        }))
    }

    /// What a feature keeps under `name` on this instance (a cache, the users
    /// signed in), made by `make` the first time it is asked for. Kept values
    /// are handles (`GenerationCache`, `KeptMap`): clones share one store.
    pub fn kept<T>(&self, name: &'static str, make: impl FnOnce(&'static str, &Changes) -> T) -> T
    where
        T: Clone + Send + Sync + 'static,
    {
        let key = (name, TypeId::of::<T>());
        let found = self
            .kept
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
            .and_then(|value| value.downcast_ref::<T>())
            .cloned();
        if let Some(value) = found {
            return value;
        }
        let mut kept = self.kept.write().unwrap_or_else(PoisonError::into_inner);
        let value = kept
            .entry(key)
            .or_insert_with(|| Box::new(make(name, &self.changes)));
        match value.downcast_ref::<T>() {
            Some(value) => value.clone(),
            None => unreachable!("{name} is kept under its own type"),
        }
    }
}

impl FromRef<AppState> for PgPool {
    fn from_ref(state: &AppState) -> PgPool {
        state.pool.clone()
    }
}

impl FromRef<AppState> for Arc<Settings> {
    fn from_ref(state: &AppState) -> Arc<Settings> {
        Arc::clone(&state.settings)
    }
}

/// The settings that change how requests are answered.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Mark cookies `Secure`: set when the app is served over HTTPS.
    pub secure_cookies: bool,
    /// Sign-in attempts one address may make in a burst before it must wait.
    pub sign_in_burst: u32,
    /// API requests one token may make in a burst before it must wait
    /// (refilled at two a second).
    pub api_burst: u32,
    /// The Telegram bot's user name, when Telegram is set up.
    pub telegram_bot: Option<String>,
    /// The reverse proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: TrustedProxies,
    /// Serving the demo (`serve --demo`): the sign-in page says where its
    /// sign-ins were printed.
    pub demo: bool,
    /// The address people open the app at (no trailing `/`), for the whole
    /// URLs that feeds and Open Graph want.
    pub public_url: String,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            secure_cookies: false,
            sign_in_burst: 10,
            api_burst: 120,
            telegram_bot: None,
            trusted_proxies: TrustedProxies::default(),
            demo: false,
            public_url: String::new(),
        }
    }
}

impl Settings {
    /// Over HTTPS the session cookie takes the `__Host-` prefix: browsers then
    /// accept it only Secure, for this host and path `/`, never set by a
    /// subdomain.
    pub fn session_cookie_name(&self) -> &'static str {
        if self.secure_cookies {
            "__Host-samleng_session"
        } else {
            "samleng_session"
        }
    }
}
