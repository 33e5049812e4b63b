//! Settings from the environment (and `.env` in development); every one is
//! described in `.env.example`.

use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, Clone, clap::Args)]
pub struct Config {
    /// PostgreSQL server to use; without it, a private cluster is kept in the data folder.
    #[arg(long, env = "DATABASE_URL", global = true)]
    pub database_url: Option<String>,

    /// The role that owns the schema, for migrations (and the command line's
    /// bulk work), when DATABASE_URL names the application's own role.
    #[arg(long, env = "SAMLENG_OWNER_DATABASE_URL", global = true)]
    pub owner_database_url: Option<String>,

    /// Folder for the embedded database and, later, uploaded files.
    #[arg(
        long,
        env = "SAMLENG_DATA_DIR",
        default_value = "./data",
        global = true
    )]
    pub data_dir: PathBuf,

    /// Address and port the web server listens on.
    #[arg(
        long,
        env = "SAMLENG_BIND",
        default_value = "127.0.0.1:8080",
        global = true
    )]
    pub bind: SocketAddr,

    /// The largest photo or document accepted, in megabytes.
    #[arg(
        long,
        env = "SAMLENG_MAX_UPLOAD_MB",
        default_value_t = 10,
        global = true
    )]
    pub max_upload_mb: usize,

    /// Keep attachments in this S3-compatible bucket instead of the data folder;
    /// credentials and endpoint come from the usual AWS_* variables.
    #[arg(long, env = "SAMLENG_S3_BUCKET", global = true)]
    pub s3_bucket: Option<String>,

    /// The mail server for notifications, e.g. smtp://user:pass@mail.example.org:587
    /// (STARTTLS) or smtps://… (TLS); without it, e-mails are written as .eml
    /// files under the data folder's mail/.
    #[arg(long, env = "SAMLENG_SMTP_URL", global = true)]
    pub smtp_url: Option<String>,

    /// The sender of notification e-mails.
    #[arg(
        long,
        env = "SAMLENG_MAIL_FROM",
        default_value = "Samleng <samleng@localhost>",
        global = true
    )]
    pub mail_from: String,

    /// The address people open the app at, for links in messages; defaults to
    /// http:// and the address the server listens on.
    #[arg(long, env = "SAMLENG_PUBLIC_URL", global = true)]
    pub public_url: Option<String>,

    /// The Telegram bot that sends notifications; Telegram is off without it.
    #[arg(
        long,
        env = "SAMLENG_TELEGRAM_BOT_TOKEN",
        global = true,
        hide_env_values = true
    )]
    pub telegram_bot_token: Option<String>,

    /// The Bot API's address (a stand-in for tests, or a local Bot API server).
    #[arg(
        long,
        env = "SAMLENG_TELEGRAM_API_URL",
        default_value = "https://api.telegram.org",
        global = true
    )]
    pub telegram_api_url: String,

    /// Serve Prometheus metrics (`/metrics`) on this address, apart from the
    /// app; keep it private (e.g. 127.0.0.1:9464). Off when unset.
    #[arg(long, env = "SAMLENG_METRICS_BIND", global = true)]
    pub metrics_bind: Option<SocketAddr>,

    /// `text` for people, `json` for a log collector (one object per line).
    #[arg(
        long,
        env = "SAMLENG_LOG_FORMAT",
        default_value = "text",
        value_parser = ["text", "json"],
        global = true
    )]
    pub log_format: String,

    /// On SIGTERM or Ctrl-C, how long requests in flight may take to finish
    /// before the server stops anyway, in seconds.
    #[arg(
        long,
        env = "SAMLENG_SHUTDOWN_GRACE_SECS",
        default_value_t = 20,
        global = true
    )]
    pub shutdown_grace_secs: u64,

    /// How long a worker holds an outgoing message while sending it, in
    /// seconds; no other worker takes it meanwhile, and a send that takes
    /// more than half of it is given up and tried again later.
    #[arg(
        long,
        env = "SAMLENG_OUTBOX_LEASE_SECS",
        default_value_t = 300,
        global = true
    )]
    pub outbox_lease_secs: u64,

    /// The reverse proxies (addresses or CIDR blocks, comma-separated) whose
    /// X-Forwarded-For header names the client; from anyone else it is ignored.
    #[arg(
        long,
        env = "SAMLENG_TRUSTED_PROXIES",
        default_value = "",
        global = true
    )]
    pub trusted_proxies: String,

    /// Mark cookies Secure; set to true when the app is served over HTTPS.
    #[arg(
        long,
        env = "SAMLENG_SECURE_COOKIES",
        default_value_t = false,
        global = true
    )]
    pub secure_cookies: bool,
}

impl Config {
    /// What sends notification e-mails.
    pub fn mailer(&self) -> anyhow::Result<crate::notifications::outbox::Mailer> {
        let public_url = self
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.bind));
        crate::notifications::outbox::Mailer::new(
            self.smtp_url.as_deref(),
            &self.mail_from,
            &public_url,
            self.data_dir.join("mail"),
        )
    }

    /// The file store for attachments: the S3 bucket when one is named, else
    /// `files/` in the data folder.
    pub fn file_store(&self) -> anyhow::Result<crate::attachments::FileStore> {
        let store: std::sync::Arc<dyn object_store::ObjectStore> = match &self.s3_bucket {
            Some(bucket) => std::sync::Arc::new(
                object_store::aws::AmazonS3Builder::from_env()
                    .with_bucket_name(bucket)
                    .build()?,
            ),
            None => {
                let folder = self.data_dir.join("files");
                std::fs::create_dir_all(&folder)?;
                std::sync::Arc::new(object_store::local::LocalFileSystem::new_with_prefix(
                    folder,
                )?)
            }
        };
        Ok(crate::attachments::FileStore {
            store,
            max_bytes: self.max_upload_mb * 1024 * 1024,
        })
    }
}
