//! Settings from the environment (and `.env` in development); every one is
//! described in `.env.example`.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use axum::http::HeaderMap;
use ipnet::IpNet;

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

    /// API requests one token may make in a burst before it must wait
    /// (refilled at two a second); each instance counts its own.
    #[arg(long, env = "SAMLENG_API_BURST", default_value_t = 120, global = true)]
    pub api_burst: u32,

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
    /// The address people open the app at, without a trailing `/`.
    pub fn site_url(&self) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.bind))
            .trim_end_matches('/')
            .to_owned()
    }
}

/// The proxies whose `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Addresses or CIDR blocks, separated by commas or spaces.
    pub fn parse(list: &str) -> Result<TrustedProxies, String> {
        list.split([',', ' '])
            .filter(|item| !item.is_empty())
            .map(|item| {
                item.parse::<IpNet>()
                    .or_else(|_| item.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("{item:?} is neither an IP address nor a CIDR block"))
            })
            .collect::<Result<_, _>>()
            .map(TrustedProxies)
    }

    fn trusts(&self, address: IpAddr) -> bool {
        self.0.iter().any(|block| block.contains(&address))
    }

    /// The client behind `peer`: each trusted proxy appends the address it
    /// heard from, so the list is read from the right, past our own proxies,
    /// to the first address none of them vouches for. Anything a client wrote
    /// further left is its own claim and ignored.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        if !self.trusts(peer) {
            return peer;
        }
        let forwarded = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .map(|item| item.trim().parse::<IpAddr>());
        let mut client = peer;
        for address in forwarded.collect::<Vec<_>>().into_iter().rev() {
            match address {
                Ok(address) if self.trusts(address) => client = address,
                Ok(address) => return address,
                // A malformed entry ends what can be believed.
                Err(_) => break,
            }
        }
        client
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(forwarded: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", forwarded.parse().unwrap());
        headers
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn parses_addresses_and_blocks() {
        let proxies = TrustedProxies::parse("10.0.0.0/8, 127.0.0.1 ::1").unwrap();
        assert!(proxies.trusts(ip("10.1.2.3")));
        assert!(proxies.trusts(ip("127.0.0.1")));
        assert!(proxies.trusts(ip("::1")));
        assert!(!proxies.trusts(ip("192.168.1.1")));
        assert_eq!(TrustedProxies::parse(""), Ok(TrustedProxies::default()));
        assert!(TrustedProxies::parse("10.0.0.0/33").is_err());
        assert!(TrustedProxies::parse("proxy.example.org").is_err());
    }

    #[test]
    fn believes_the_header_only_from_a_trusted_peer() {
        let proxies = TrustedProxies::parse("10.0.0.0/8").unwrap();
        let spoofed = headers("203.0.113.9");
        assert_eq!(
            proxies.client(ip("198.51.100.7"), &spoofed),
            ip("198.51.100.7")
        );
        assert_eq!(proxies.client(ip("10.0.0.2"), &spoofed), ip("203.0.113.9"));
    }

    #[test]
    fn takes_the_rightmost_address_no_proxy_vouches_for() {
        let proxies = TrustedProxies::parse("10.0.0.0/8").unwrap();
        // The client claimed 1.1.1.1; the outer proxy heard 203.0.113.9;
        // the inner proxy heard the outer one.
        let chain = headers("1.1.1.1, 203.0.113.9, 10.0.0.5");
        assert_eq!(proxies.client(ip("10.0.0.2"), &chain), ip("203.0.113.9"));
        assert_eq!(
            proxies.client(ip("10.0.0.2"), &headers("garbage, 10.0.0.5")),
            ip("10.0.0.5")
        );
        assert_eq!(
            proxies.client(ip("10.0.0.2"), &HeaderMap::new()),
            ip("10.0.0.2")
        );
    }
}
