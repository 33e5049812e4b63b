//! The connection pool, the migrations, and the choice between an external server
//! (`DATABASE_URL`) and the embedded cluster.

pub mod cache;
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

/// Where the application's data lives: an external server, or our own cluster.
pub enum Database {
    External(Box<PgConnectOptions>),
    Embedded(Cluster),
}

impl Database {
    /// Uses `DATABASE_URL` when given, or starts (creating if need be) the
    /// embedded cluster under `data_dir/postgres` and its application database.
    pub async fn open(database_url: Option<&str>, data_dir: &Path) -> anyhow::Result<Self> {
        if let Some(url) = database_url {
            return Ok(Database::External(Box::new(PgConnectOptions::from_str(
                url,
            )?)));
        }
        let pg_dir = data_dir.join("postgres");
        let cluster = tokio::task::spawn_blocking(move || Cluster::start(&pg_dir)).await??;
        create_database_if_missing(&cluster, EMBEDDED_DATABASE).await?;
        Ok(Database::Embedded(cluster))
    }

    pub fn connect_options(&self) -> PgConnectOptions {
        match self {
            Database::External(options) => (**options).clone(),
            Database::Embedded(cluster) => cluster.connect_options(EMBEDDED_DATABASE),
        }
    }

    /// Stops the embedded cluster if we started it.
    pub async fn close(self) -> anyhow::Result<()> {
        if let Database::Embedded(cluster) = self {
            tokio::task::spawn_blocking(move || cluster.stop()).await??;
        }
        Ok(())
    }
}

/// A pool sized for a small server; PostgreSQL is the bottleneck long before it.
pub async fn pool(options: PgConnectOptions) -> Result<PgPool, sqlx::Error> {
    PgPoolOptions::new()
        .max_connections(16)
        .acquire_timeout(std::time::Duration::from_secs(5))
        // The dashboard's aggregates look expensive enough to the planner for
        // JIT compilation, which took 720 ms of a 1,050 ms query at the large
        // scale; every query here runs faster interpreted.
        .connect_with(options.options([("jit", "off")]))
        .await
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
