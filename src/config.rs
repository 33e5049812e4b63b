//! Settings from the environment (and `.env` in development); every one is
//! described in `.env.example`.

use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, Clone, clap::Args)]
pub struct Config {
    /// PostgreSQL server to use; without it, a private cluster is kept in the data folder.
    #[arg(long, env = "DATABASE_URL", global = true)]
    pub database_url: Option<String>,

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

    /// Mark cookies Secure; set to true when the app is served over HTTPS.
    #[arg(
        long,
        env = "SAMLENG_SECURE_COOKIES",
        default_value_t = false,
        global = true
    )]
    pub secure_cookies: bool,
}
