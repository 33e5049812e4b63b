//! The `samleng` command: serve the app, migrate, create users, import the gazetteer.

use std::net::SocketAddr;
use std::time::Instant;

use anyhow::{Context as _, bail};
use axum::serve::ListenerExt as _;
use clap::{Parser, Subcommand};
use sqlx::PgPool;
use tower_sessions::ExpiredDeletion as _;
use tower_sessions_sqlx_store::PostgresStore;

use samleng::app;
use samleng::config::Config;
use samleng::config::TrustedProxies;
use samleng::db::{self, Database};
use samleng::files::FileStore;
use samleng::geo::import::{self, ImportError, Source};
use samleng::i18n::Lang;
use samleng::notifications::outbox::Mailer;
use samleng::state::{AppState, Settings};

// glibc's allocator spent a sixth of a list page's CPU in malloc and free
// (perf, 32 clients on /action-plans); mimalloc spends about half of that.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "samleng",
    version,
    about = "Samleng: civic engagement, joint recommendations and action plans"
)]
struct Cli {
    #[command(flatten)]
    config: Config,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the web application (the default).
    Serve {
        /// Load the demo organizations and one account per role into an empty database.
        #[arg(long)]
        demo: bool,
    },
    /// Apply the database migrations and exit.
    Migrate,
    /// Create a user account.
    CreateUser(samleng::admin::command_line::NewAccount),
    /// Give an account a new password (printed, or read with --password-stdin)
    /// and lift a lock-out: for a lost password, the demo's included.
    SetPassword(samleng::admin::command_line::PasswordChange),
    /// Import gazetteer CSV files (code,parent_code,type,name_en,name_km) and district
    /// boundaries (GeoJSON, `code` property), all or nothing.
    ImportGazetteer {
        #[arg(required = true)]
        files: Vec<std::path::PathBuf>,
    },
    /// Fill the database with generated data for benchmarks.
    Seed {
        /// `large` (docs/design.md, "Budgets": 50,000 activities, 200,000 recommendations, …)
        /// or `xlarge`, ten times as much.
        #[arg(long, value_parser = ["large", "xlarge"])]
        scale: String,
    },
    /// Write the database and every attachment, with a manifest to check them by,
    /// into one archive.
    Backup { file: std::path::PathBuf },
    /// Load a backup into an empty database (or a new data folder) and an empty
    /// file store, checking it against its manifest.
    Restore { file: std::path::PathBuf },
    /// Write the XLSForm for KoboToolbox and ODK Collect (`forms/samleng-fgd.xlsx`).
    Xlsform { file: std::path::PathBuf },
    /// Start the embedded database if needed, leave it running, and print its URL
    /// (for psql and for refreshing the sqlx offline cache).
    DatabaseUrl,
}

fn main() -> anyhow::Result<()> {
    dotenvy::dotenv().ok();
    forget_empty_settings();
    let cli = Cli::parse();
    samleng::observability::init_logs(cli.config.log_format == "json");
    tokio::runtime::Runtime::new()?.block_on(start(cli))
}

/// An empty setting (`SAMLENG_SMTP_URL=` in an environment file, as
/// `.env.example` and `deploy/samleng.env` show them) means "not set".
fn forget_empty_settings() {
    let empty: Vec<_> = std::env::vars_os()
        .filter(|(name, value)| {
            let name = name.to_string_lossy();
            value.is_empty()
                && (name.starts_with("SAMLENG_")
                    || name.starts_with("AWS_")
                    || name == "DATABASE_URL")
        })
        .map(|(name, _)| name)
        .collect();
    for name in empty {
        // SAFETY: nothing else reads the environment yet; the runtime's
        // threads start after this.
        unsafe { std::env::remove_var(name) };
    }
}

async fn start(cli: Cli) -> anyhow::Result<()> {
    let started = Instant::now();
    if let Some(Command::Xlsform { file }) = &cli.command {
        std::fs::write(file, samleng::imports::xlsform::workbook()?)
            .with_context(|| format!("writing {}", file.display()))?;
        return Ok(());
    }
    if let Some(Command::Restore { file }) = &cli.command {
        // A bad archive is refused before a target is even made: an empty
        // data folder stays empty.
        samleng::backup::check_archive(file)?;
    }
    let new_cluster =
        cli.config.database_url.is_none() && !cli.config.data_dir.join("postgres").exists();
    let database = Database::open(
        cli.config.database_url.as_deref(),
        cli.config.owner_database_url.as_deref(),
        &cli.config.data_dir,
    )
    .await?;
    let result = match &cli.command {
        Some(Command::DatabaseUrl) => return print_database_url(&cli.config, &database).await,
        // Before any migration: a restore needs an empty database.
        Some(Command::Restore { file }) => restore(&cli.config, &database, file).await,
        _ => run(&cli, &database, started).await,
    };
    database.close().await?;
    if result.is_err() && new_cluster && matches!(cli.command, Some(Command::Restore { .. })) {
        // The cluster made for a refused restore goes with it.
        std::fs::remove_dir_all(cli.config.data_dir.join("postgres")).ok();
    }
    result
}

/// Migrates and prints the URL, leaving the embedded cluster running for the
/// tools that will use it.
async fn print_database_url(config: &Config, database: &Database) -> anyhow::Result<()> {
    database.migrate().await.context("migrating the database")?;
    match database {
        Database::Embedded(cluster) => println!("{}", cluster.url(db::EMBEDDED_DATABASE)),
        Database::External { .. } => {
            println!("{}", config.database_url.clone().unwrap_or_default())
        }
    }
    Ok(())
}

async fn run(cli: &Cli, database: &Database, started: Instant) -> anyhow::Result<()> {
    database.migrate().await.context("migrating the database")?;
    if let None | Some(Command::Serve { .. }) = &cli.command {
        let demo = matches!(cli.command, Some(Command::Serve { demo: true }));
        let pool = db::pool(database.app_options()).await?;
        warn_if_app_role_is_privileged(&pool).await?;
        return serve(&cli.config, pool, demo, started).await;
    }
    // The command line's work is the owner's: bulk loads end with `vacuum analyze`.
    let pool = db::pool(database.owner_options()).await?;
    match &cli.command {
        None | Some(Command::Serve { .. }) => Ok(()),
        Some(Command::Migrate) => {
            println!("The database is up to date.");
            Ok(())
        }
        Some(Command::CreateUser(account)) => {
            samleng::admin::command_line::create_user(&pool, account).await
        }
        Some(Command::SetPassword(change)) => {
            samleng::admin::command_line::set_password(&pool, change).await
        }
        Some(Command::ImportGazetteer { files }) => import_gazetteer(&pool, files).await,
        Some(Command::Seed { scale }) => {
            let scale = samleng::demo::large::Scale::named(scale)
                .with_context(|| format!("no scale {scale}"))?;
            seed(&pool, scale, started).await
        }
        Some(Command::Backup { file }) => {
            samleng::backup::backup(database, &FileStore::from_config(&cli.config)?, file).await?;
            Ok(())
        }
        Some(Command::DatabaseUrl | Command::Restore { .. } | Command::Xlsform { .. }) => Ok(()),
    }
}

/// Restores, then brings the schema up to this version's migrations.
async fn restore(
    config: &Config,
    database: &Database,
    file: &std::path::Path,
) -> anyhow::Result<()> {
    samleng::backup::restore(database, &FileStore::from_config(config)?, file).await?;
    database
        .migrate()
        .await
        .context("migrating the restored database")?;
    Ok(())
}

/// The audit log is append-only only if the serving role cannot rewrite it:
/// say so at start-up when `DATABASE_URL` names a superuser or the owner.
async fn warn_if_app_role_is_privileged(pool: &PgPool) -> anyhow::Result<()> {
    let privileged: bool = sqlx::query_scalar(
        "select rolsuper or pg_has_role(current_user, (select tableowner from pg_tables
                                                       where tablename = 'audit_events'), 'member')
         from pg_roles where rolname = current_user",
    )
    .fetch_one(pool)
    .await?;
    if privileged {
        tracing::warn!(
            "the database role serving the app is a superuser or owns the schema, so it could \
             rewrite the audit log; serve as samleng_app (README, \"External PostgreSQL\")"
        );
    }
    Ok(())
}

async fn serve(config: &Config, pool: PgPool, demo: bool, started: Instant) -> anyhow::Result<()> {
    // Before anything is counted.
    let metrics = match config.metrics_bind {
        Some(address) => Some((address, samleng::observability::install_recorder()?)),
        None => None,
    };
    let files = FileStore::from_config(config)?;
    if let Some(loaded) = samleng::geo::shipped::load_if_new(&pool)
        .await
        .context("loading the shipped gazetteer")?
    {
        println!(
            "Loaded the gazetteer that ships with Samleng: {} communes, {} districts new or \
             changed, {} district boundaries (NCDD gazetteer via pumi; geoBoundaries).",
            loaded.communes, loaded.districts, loaded.shapes
        );
    }
    let demo_accounts = if demo {
        samleng::demo::load(&pool, &files).await?
    } else {
        None
    };
    let mut mailer = Mailer::from_config(config)?;
    let telegram = match &config.telegram_bot_token {
        Some(token) => match samleng::notifications::telegram::Telegram::connect(
            &config.telegram_api_url,
            token,
        )
        .await
        {
            Ok(bot) => Some(bot),
            Err(error) => {
                tracing::error!(%error, "Telegram is off: the bot could not be reached");
                None
            }
        },
        None => None,
    };
    let telegram_bot = telegram.as_ref().map(|bot| bot.username.clone());
    if let Some(bot) = telegram {
        mailer = mailer.with_telegram(bot);
    }
    let mail_note = mailer.writes_files().then(|| config.data_dir.join("mail"));
    let mailer = mailer.with_lease(std::time::Duration::from_secs(config.outbox_lease_secs));
    let delivery = samleng::notifications::outbox::spawn(pool.clone(), mailer);
    let store = PostgresStore::new(pool.clone());
    let cleanup =
        tokio::spawn(store.continuously_delete_expired(tokio::time::Duration::from_secs(3600)));
    let settings = Settings {
        secure_cookies: config.secure_cookies,
        api_burst: config.api_burst,
        telegram_bot,
        trusted_proxies: TrustedProxies::parse(&config.trusted_proxies)
            .map_err(|error| anyhow::anyhow!("SAMLENG_TRUSTED_PROXIES: {error}"))?,
        demo,
        public_url: config.site_url(),
        ..Settings::default()
    };
    let state = AppState::new(pool.clone(), settings, files);
    let app = app::router(state.clone());
    let purger = samleng::deleted::spawn_purger(state.clone());
    let listener = tokio::net::TcpListener::bind(config.bind)
        .await
        .with_context(|| format!("listening on {}", config.bind))?;
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let grace = std::time::Duration::from_secs(config.shutdown_grace_secs);
    tokio::spawn(async move {
        shutdown_signal().await;
        println!(
            "Stopping: no new connections; finishing the requests in flight (up to {} s)…",
            grace.as_secs()
        );
        stop.send_replace(true);
    });
    if let Some((address, handle)) = metrics {
        let private = tokio::net::TcpListener::bind(address)
            .await
            .with_context(|| format!("listening on {address} for metrics"))?;
        let address = private.local_addr()?;
        let routes = samleng::observability::private_routes(state, handle);
        tokio::spawn(
            axum::serve(private, routes)
                .with_graceful_shutdown(stopped(stopping.clone()))
                .into_future(),
        );
        println!("Metrics at http://{address}/metrics (keep this address private).");
    }
    println!(
        "\nSamleng is running at http://{}/ (ready in {} ms)",
        listener.local_addr()?,
        started.elapsed().as_millis()
    );
    match demo_accounts {
        Some(accounts) => {
            println!("\nDemo sign-ins (the passwords are shown only this once):");
            for account in accounts {
                println!(
                    "  {:<12} {:<28} {}",
                    account.role.code(),
                    account.email,
                    account.password
                );
            }
        }
        None if demo => println!(
            "\nThe demo data was loaded on an earlier start; use the passwords printed then, \
             or create an administrator with `samleng create-user`."
        ),
        None => {}
    }
    if let Some(folder) = mail_note {
        println!(
            "\nNo mail server is set (SAMLENG_SMTP_URL): e-mails are written to {} and listed at /admin/outbox.",
            folder.display()
        );
    }
    println!("\nPress Ctrl-C to stop.");
    // A streamed body (a CSV export) goes out in small writes: with Nagle's
    // algorithm, each waited for the client's delayed acknowledgement of the
    // one before, 40 ms a download.
    let listener = listener.tap_io(|stream| {
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "TCP_NODELAY not set on a connection");
        }
    });
    let server = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(stopped(stopping.clone()));
    tokio::select! {
        served = server => served?,
        () = async { stopped(stopping).await; tokio::time::sleep(grace).await } => {
            tracing::warn!("requests were still running {} s after the signal to stop", grace.as_secs());
        }
    }
    cleanup.abort();
    delivery.abort();
    purger.abort();
    pool.close().await;
    println!("Stopped.");
    Ok(())
}

/// Resolves once the signal to stop has come.
async fn stopped(mut stopping: tokio::sync::watch::Receiver<bool>) {
    // An error means the sender is gone, which happens only as the process ends.
    stopping.wait_for(|stop| *stop).await.ok();
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    let mut terminate =
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(_) => {
                interrupt.await.ok();
                return;
            }
        };
    tokio::select! {
        _ = interrupt => {}
        _ = terminate.recv() => {}
    }
}

async fn seed(
    pool: &PgPool,
    scale: samleng::demo::large::Scale,
    started: Instant,
) -> anyhow::Result<()> {
    let seeding = Instant::now();
    let counts = samleng::demo::large::seed(pool, scale).await?;
    println!(
        "Seeded in {:.1} s: {} districts, {} case studies, {} activities, {} participant counts, \
         {} findings, {} recommendations, {} actions, {} progress reports, {} users (all told, \
         {:.1} s since start).",
        seeding.elapsed().as_secs_f64(),
        counts.districts,
        counts.case_studies,
        counts.activities,
        counts.participant_counts,
        counts.findings,
        counts.recommendations,
        counts.actions,
        counts.action_updates,
        counts.users,
        started.elapsed().as_secs_f64(),
    );
    println!(
        "Seeded accounts, password {}: seed-secretariat-1@seed.example (admin), \
         seed-secretariat-2@seed.example, seed-ngo-1@seed.example, seed-donor-1@seed.example, \
         seed-sna-<district code>@seed.example.",
        samleng::demo::large::SEED_PASSWORD
    );
    Ok(())
}

async fn import_gazetteer(pool: &PgPool, files: &[std::path::PathBuf]) -> anyhow::Result<()> {
    let mut sources = Vec::new();
    for file in files {
        let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
        sources.push(Source {
            name: file.display().to_string(),
            bytes,
        });
    }
    match import::import(pool, &sources).await {
        Ok(summary) => {
            println!(
                "Imported: {} provinces, {} districts, {} communes new or changed; {} unchanged; \
                 {} district boundaries; {} other spellings of district names.",
                summary.provinces,
                summary.districts,
                summary.communes,
                summary.unchanged,
                summary.shapes,
                summary.aliases
            );
            Ok(())
        }
        Err(ImportError::Invalid(errors)) => {
            for error in &errors {
                eprintln!(
                    "{}:{}: {}",
                    error.file,
                    error.line,
                    Lang::En.t_with(error.key, &[("value", error.detail.clone())])
                );
            }
            bail!("nothing was imported: {} bad line(s)", errors.len())
        }
        Err(ImportError::Database(error)) => Err(error.into()),
    }
}
