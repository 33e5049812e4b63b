//! The connection pool, the migrations, and the choice between an external server
//! (`DATABASE_URL`) and the embedded cluster.

pub mod cache;
pub mod changes;
pub mod embedded;

use std::path::Path;
use std::str::FromStr as _;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection as _, PgConnection, PgPool};

pub use embedded::Cluster;

/// The application's migrations, embedded in the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!();

/// The name of the application's database inside the embedded cluster.
pub const EMBEDDED_DATABASE: &str = "samleng";

/// The role the application serves as (migration 0006): not a superuser, owns
/// nothing, and may only add to the audit log.
pub const APP_ROLE: &str = "samleng_app";

/// Where the application's data lives: an external server, or our own cluster.
pub enum Database {
    External {
        /// The application's role (`DATABASE_URL`).
        app: Box<PgConnectOptions>,
        /// The schema's owner, when it is another role.
        owner: Option<Box<PgConnectOptions>>,
        /// The owner's URL, as PostgreSQL's own programs take it.
        owner_url: String,
    },
    Embedded(Cluster),
}

impl Database {
    /// Uses `DATABASE_URL` (and the owner's URL, if given) when given, or
    /// starts (creating if need be) the embedded cluster under
    /// `data_dir/postgres` and its application database.
    pub async fn open(
        database_url: Option<&str>,
        owner_url: Option<&str>,
        data_dir: &Path,
    ) -> anyhow::Result<Self> {
        if let Some(url) = database_url {
            let owner = owner_url
                .map(PgConnectOptions::from_str)
                .transpose()?
                .map(Box::new);
            return Ok(Database::External {
                app: Box::new(PgConnectOptions::from_str(url)?),
                owner,
                owner_url: owner_url.unwrap_or(url).to_owned(),
            });
        }
        let pg_dir = data_dir.join("postgres");
        let cluster = tokio::task::spawn_blocking(move || Cluster::start(&pg_dir)).await??;
        create_database_if_missing(&cluster, EMBEDDED_DATABASE).await?;
        Ok(Database::Embedded(cluster))
    }

    /// The schema's owner: for migrations and the command line's bulk work.
    pub fn owner_options(&self) -> PgConnectOptions {
        match self {
            Database::External { app, owner, .. } => (**owner.as_ref().unwrap_or(app)).clone(),
            Database::Embedded(cluster) => cluster.connect_options(EMBEDDED_DATABASE),
        }
    }

    /// The owner's URL for PostgreSQL's programs (`pg_dump`, `pg_restore`).
    pub fn owner_url(&self) -> String {
        match self {
            Database::External { owner_url, .. } => owner_url.clone(),
            Database::Embedded(cluster) => cluster.url(EMBEDDED_DATABASE),
        }
    }

    /// The role the web application serves as.
    pub fn app_options(&self) -> PgConnectOptions {
        match self {
            Database::External { app, .. } => (**app).clone(),
            Database::Embedded(cluster) => app_role_options(cluster, EMBEDDED_DATABASE),
        }
    }

    /// Applies the migrations as the owner; in the embedded cluster, lets the
    /// application's role sign in (only the cluster's own socket reaches it).
    pub async fn migrate(&self) -> anyhow::Result<()> {
        let mut owner = PgConnection::connect_with(&self.owner_options()).await?;
        MIGRATOR.run(&mut owner).await?;
        if let Database::Embedded(_) = self {
            allow_app_role_to_sign_in(&mut owner).await?;
        }
        owner.close().await?;
        Ok(())
    }

    /// Stops the embedded cluster if we started it.
    pub async fn close(self) -> anyhow::Result<()> {
        if let Database::Embedded(cluster) = self {
            tokio::task::spawn_blocking(move || cluster.stop()).await??;
        }
        Ok(())
    }
}

/// The one time zone of everything shown, exported or published.
pub const CAMBODIA_ZONE: &str = "Asia/Phnom_Penh";

/// Every date and time SQL derives (a timestamp's day, `current_date`, a day
/// bound) is Cambodia's, as on every page and export. Set after connecting:
/// sqlx asks for UTC when it connects, over any `options` given.
async fn in_cambodia(connection: &mut sqlx::PgConnection) -> Result<(), sqlx::Error> {
    let statement = format!("set time zone '{CAMBODIA_ZONE}'");
    sqlx::query(&statement).execute(connection).await.map(drop)
}

/// A pool sized for a small server; PostgreSQL is the bottleneck long before it.
pub async fn pool(options: PgConnectOptions) -> Result<PgPool, sqlx::Error> {
    PgPoolOptions::new()
        .max_connections(16)
        .acquire_timeout(std::time::Duration::from_secs(5))
        // A ping before every statement doubled the round trips of a page. A
        // connection lost (PostgreSQL restarted) fails its next statement and
        // is dropped from the pool instead.
        .test_before_acquire(false)
        .after_connect(|connection, _| Box::pin(in_cambodia(connection)))
        // The dashboard's aggregates look expensive enough to the planner for
        // JIT compilation, which took 720 ms of a 1,050 ms query at the large
        // scale; every query here runs faster interpreted. A page's statement
        // reads a few rows by an index, but at ten times the data the
        // planner's estimates for a generic plan grow until it starts parallel
        // workers: launching them cost 10 ms of a 16 ms statement that found
        // nothing (the home page's actions, at the xlarge scale); the
        // aggregates' pool may have them again. And the data is in memory, so
        // reading a page out of order costs little more than reading the next:
        // with the default cost of 4, the planner read all 2,000,000
        // recommendations to find a study's 26,000 (400 ms against 50 ms by
        // the index, on the comparison of cycles).
        .connect_with(options.options([
            ("jit", "off"),
            ("max_parallel_workers_per_gather", "0"),
            ("random_page_cost", "1.1"),
        ]))
        .await
}

/// A few connections of their own for the heavy aggregates computed once per
/// data change (the dashboard's figures): planned for the values given every
/// time, since a plan made once for all filters was up to three times slower
/// for some; and apart, so that computing them never makes a page wait for a
/// connection.
pub fn aggregates_pool(pool: &PgPool) -> PgPool {
    pool_planning(pool, "force_custom_plan", PARALLEL_WORKERS)
}

/// PostgreSQL's default, for the aggregates that read whole tables.
const PARALLEL_WORKERS: &str = "2";

/// A few connections of their own for text searches, each planned once for
/// every term: the plan reads the trigram indexes whatever the term, and
/// planning the statement anew for each term cost PostgreSQL four times what
/// running it did (`docs/performance.md`).
pub fn searches_pool(pool: &PgPool) -> PgPool {
    pool_planning(pool, "force_generic_plan", "0")
}

fn pool_planning(pool: &PgPool, plan_cache_mode: &str, parallel_workers: &str) -> PgPool {
    let options = PgConnectOptions::clone(&pool.connect_options());
    PgPoolOptions::new()
        .max_connections(4)
        .acquire_timeout(std::time::Duration::from_secs(5))
        .test_before_acquire(false)
        .after_connect(|connection, _| Box::pin(in_cambodia(connection)))
        .connect_lazy_with(options.options([
            ("plan_cache_mode", plan_cache_mode),
            ("max_parallel_workers_per_gather", parallel_workers),
        ]))
}

/// The application's role in a database of the embedded cluster.
pub fn app_role_options(cluster: &Cluster, database: &str) -> PgConnectOptions {
    cluster.connect_options(database).username(APP_ROLE)
}

pub async fn allow_app_role_to_sign_in(owner: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query(&format!("alter role {APP_ROLE} login"))
        .execute(owner)
        .await?;
    Ok(())
}

pub async fn create_database_if_missing(cluster: &Cluster, name: &str) -> anyhow::Result<()> {
    let mut admin = PgConnection::connect_with(&cluster.connect_options("postgres")).await?;
    let exists: bool =
        sqlx::query_scalar("select exists(select 1 from pg_database where datname = $1)")
            .bind(name)
            .fetch_one(&mut admin)
            .await?;
    if !exists {
        sqlx::query(&format!(r#"create database "{name}""#))
            .execute(&mut admin)
            .await?;
    }
    admin.close().await?;
    Ok(())
}
