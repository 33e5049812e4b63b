//! The test harness: one throwaway PostgreSQL cluster per test binary, a fresh
//! migrated database per test, the real router on a random port, and a
//! cookie-keeping client per user.

use std::net::SocketAddr;
use std::process::Child;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use object_store::local::LocalFileSystem;
use reqwest::StatusCode;
use reqwest::cookie::Jar;
use reqwest::redirect::Policy;
use samleng::app;
use samleng::db::changes::Changes;
use samleng::db::{self, Cluster};
use samleng::demo::DemoAccount;
use samleng::files::FileStore;
use samleng::state::{AppState, Settings};
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection as _, PgConnection, PgPool};

const TEMPLATE: &str = "samleng_template";
/// A small upload limit, so that tests of the limit stay small.
pub const MAX_UPLOAD_BYTES: usize = 200 * 1024;

struct TestCluster {
    cluster: Cluster,
    /// Holding its stdin open keeps the watchdog waiting; it cleans up when we exit.
    _watchdog: Mutex<Child>,
}

fn cluster() -> &'static TestCluster {
    static CLUSTER: OnceLock<TestCluster> = OnceLock::new();
    CLUSTER.get_or_init(|| {
        std::thread::spawn(|| {
            let dir = std::env::temp_dir().join(format!("samleng-test-{}", std::process::id()));
            let cluster = Cluster::start(&dir).expect("start the test cluster");
            let watchdog = cluster
                .remove_when_process_exits()
                .expect("start the watchdog");
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async {
                db::create_database_if_missing(&cluster, TEMPLATE)
                    .await
                    .expect("template database");
                let pool = db::pool(cluster.connect_options(TEMPLATE))
                    .await
                    .expect("template pool");
                db::MIGRATOR.run(&pool).await.expect("migrate the template");
                let mut owner = pool.acquire().await.expect("a connection");
                db::allow_app_role_to_sign_in(&mut owner)
                    .await
                    .expect("the app's role signs in");
                drop(owner);
                pool.close().await;
            });
            TestCluster {
                cluster,
                _watchdog: Mutex::new(watchdog),
            }
        })
        .join()
        .expect("cluster set-up")
    })
}

/// An empty folder for an instance's data (`SAMLENG_DATA_DIR`), inside the
/// cluster's folder so that the watchdog removes it with the cluster.
pub fn new_data_dir() -> std::path::PathBuf {
    static DIRS: AtomicU32 = AtomicU32::new(0);
    let dir = cluster().cluster.data_dir().join(format!(
        "samleng-data-{}",
        DIRS.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::create_dir_all(&dir).expect("data folder");
    dir
}

/// A fresh database, copied from the migrated template: a pool of its owner
/// (for what tests look up), its options and its URL.
pub async fn fresh_database() -> (PgPool, PgConnectOptions, String) {
    create_database(TEMPLATE).await
}

/// A database with no tables at all, as a restore wants it.
pub async fn empty_database() -> (PgPool, PgConnectOptions, String) {
    create_database("template0").await
}

async fn create_database(template: &str) -> (PgPool, PgConnectOptions, String) {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let cluster = &cluster().cluster;
    let name = format!("test_{}", COUNTER.fetch_add(1, Ordering::SeqCst));
    let mut admin = PgConnection::connect_with(&cluster.connect_options("postgres"))
        .await
        .expect("connect to the cluster");
    sqlx::query(&format!(
        r#"create database "{name}" template "{template}""#
    ))
    .execute(&mut admin)
    .await
    .expect("create the test database");
    admin.close().await.ok();
    let options = cluster.connect_options(&name);
    let pool = db::pool(options.clone()).await.expect("test pool");
    (pool, options, cluster.url(&name))
}

pub struct TestApp {
    pub address: SocketAddr,
    /// The folder the app's file store writes to: `files/` in its data folder.
    pub files_dir: std::path::PathBuf,
    /// The owner's pool, for what a test looks up or sets up.
    pub pool: PgPool,
    /// The pool the application serves with, as `samleng_app`.
    pub app_pool: PgPool,
    pub database_url: String,
    pub accounts: Arc<Vec<DemoAccount>>,
    /// What this instance has heard of changes in the database.
    pub changes: Changes,
}

/// The app on an empty (migrated) database with the demo organizations and accounts.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(Settings::default()).await
}

pub async fn spawn_app_with(settings: Settings) -> TestApp {
    let (pool, options, database_url) = fresh_database().await;
    let app_pool = db::pool(options.username(db::APP_ROLE))
        .await
        .expect("the app's pool");
    let files = new_data_dir().join("files");
    std::fs::create_dir_all(&files).expect("file store folder");
    let file_store = FileStore {
        store: Arc::new(LocalFileSystem::new_with_prefix(&files).expect("file store")),
        max_bytes: MAX_UPLOAD_BYTES,
    };
    let accounts = samleng::demo::load(&app_pool, &file_store)
        .await
        .expect("demo data")
        .expect("an empty database");
    let state = AppState::new(app_pool.clone(), settings, file_store);
    TestApp {
        address: serve(state.clone()).await,
        files_dir: files,
        pool,
        app_pool,
        database_url,
        accounts: Arc::new(accounts),
        changes: state.changes.clone(),
    }
}

async fn serve(state: AppState) -> SocketAddr {
    let router = app::router(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .expect("serve");
    });
    address
}

impl TestApp {
    /// A second instance of the app on the same database and files, with its
    /// own pool and its own memory, as behind a load balancer.
    pub async fn another_instance(&self) -> TestApp {
        let options = PgConnectOptions::clone(&self.app_pool.connect_options());
        let app_pool = db::pool(options).await.expect("the second instance's pool");
        let file_store = FileStore {
            store: Arc::new(LocalFileSystem::new_with_prefix(&self.files_dir).expect("file store")),
            max_bytes: MAX_UPLOAD_BYTES,
        };
        let state = AppState::new(app_pool.clone(), Settings::default(), file_store);
        TestApp {
            address: serve(state.clone()).await,
            files_dir: self.files_dir.clone(),
            pool: self.pool.clone(),
            app_pool,
            database_url: self.database_url.clone(),
            accounts: Arc::clone(&self.accounts),
            changes: state.changes.clone(),
        }
    }

    /// Returns once this instance has heard every change committed so far.
    pub async fn heard_everything(&self) {
        self.changes
            .caught_up(&self.pool)
            .await
            .expect("the instance hears the database's changes");
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// A browser with no session yet.
    pub fn visitor(&self) -> Visitor {
        Visitor::new(&self.url(""))
    }

    pub fn password_of(&self, email: &str) -> String {
        self.accounts
            .iter()
            .find(|account| account.email == email)
            .map(|account| account.password.clone())
            .unwrap_or_else(|| panic!("no demo account {email}"))
    }

    /// A visitor signed in as one of the demo accounts.
    pub async fn login_as(&self, email: &str) -> Visitor {
        let visitor = self.visitor();
        let response = visitor.sign_in(email, &self.password_of(email)).await;
        assert_eq!(
            response.status(),
            StatusCode::SEE_OTHER,
            "signing in as {email}"
        );
        visitor
    }

    pub async fn user_id(&self, email: &str) -> i64 {
        sqlx::query_scalar("select id from users where email = $1")
            .bind(email)
            .fetch_one(&self.pool)
            .await
            .expect("user id")
    }

    pub async fn count(&self, table: &str) -> i64 {
        sqlx::query_scalar(&format!("select count(*) from {table}"))
            .fetch_one(&self.pool)
            .await
            .expect("count")
    }
}

/// One browser: its cookies, and helpers that fill in the CSRF token as a form would.
pub struct Visitor {
    pub client: reqwest::Client,
    jar: Arc<Jar>,
    base: String,
}

pub struct Page {
    pub status: StatusCode,
    pub location: Option<String>,
    pub body: String,
}

impl Page {
    pub fn csrf_token(&self) -> String {
        csrf_token_in(&self.body)
    }
}

pub fn csrf_token_in(html: &str) -> String {
    let marker = r#"name="csrf_token" value=""#;
    let start = html
        .find(marker)
        .map(|index| index + marker.len())
        .expect("a csrf_token field");
    html[start..]
        .split('"')
        .next()
        .unwrap_or_default()
        .to_owned()
}

impl Visitor {
    /// A browser with no session yet, for the server at `base` (`http://host:port`).
    pub fn new(base: &str) -> Visitor {
        let jar = Arc::new(Jar::default());
        Visitor {
            client: reqwest::Client::builder()
                .cookie_provider(jar.clone())
                .redirect(Policy::none())
                .build()
                .expect("client"),
            jar,
            base: base.to_owned(),
        }
    }

    /// The same browser, cookies and all, sent to another instance.
    pub fn on(&self, app: &TestApp) -> Visitor {
        self.at(&app.url(""))
    }

    /// The same browser, cookies and all, sent to the server at `base`.
    pub fn at(&self, base: &str) -> Visitor {
        Visitor {
            client: self.client.clone(),
            jar: Arc::clone(&self.jar),
            base: base.to_owned(),
        }
    }

    pub async fn get(&self, path: &str) -> Page {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("GET");
        page(response).await
    }

    /// A download's bytes, after checking it was served.
    pub async fn get_bytes(&self, path: &str) -> Vec<u8> {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("GET");
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        response.bytes().await.expect("body").to_vec()
    }

    /// Posts a form the way a browser would: with the session's CSRF token.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let token = self.csrf_token().await;
        let mut body: Vec<(&str, &str)> = vec![("csrf_token", &token)];
        body.extend_from_slice(fields);
        self.post_raw(path, &body).await
    }

    /// Posts exactly these fields, token or not.
    pub async fn post_raw(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(serde_urlencoded::to_string(fields).expect("form"))
            .send()
            .await
            .expect("POST");
        page(response).await
    }

    /// Posts a form with a file, as a browser sends an upload.
    pub async fn post_multipart(&self, url: &str, form: reqwest::multipart::Form) -> Page {
        let response = self
            .client
            .post(url)
            .multipart(form)
            .send()
            .await
            .expect("POST");
        page(response).await
    }

    pub async fn sign_in(&self, email: &str, password: &str) -> reqwest::Response {
        let token = self.get("/login").await.csrf_token();
        self.client
            .post(format!("{}/login", self.base))
            .form(&[
                ("csrf_token", token.as_str()),
                ("email", email),
                ("password", password),
            ])
            .send()
            .await
            .expect("sign in")
    }

    /// The session's CSRF token, read from a page that carries one.
    pub async fn csrf_token(&self) -> String {
        let login = self.get("/login").await;
        if login.status == StatusCode::OK {
            return login.csrf_token();
        }
        self.get("/account").await.csrf_token()
    }

    /// The same browser, sending `Accept-Encoding` only where a request says
    /// so and handing over bodies as they arrived on the wire.
    pub fn without_unpacking(self) -> Visitor {
        Visitor {
            client: reqwest::Client::builder()
                .no_gzip()
                .cookie_provider(self.jar.clone())
                .redirect(Policy::none())
                .build()
                .expect("client"),
            ..self
        }
    }

    /// The value of the session cookie this browser holds.
    pub fn session_cookie(&self) -> Option<String> {
        let url = reqwest::Url::parse(&self.base).ok()?;
        let header = reqwest::cookie::CookieStore::cookies(&*self.jar, &url)?;
        header
            .to_str()
            .ok()?
            .split("; ")
            .find_map(|pair| pair.strip_prefix("samleng_session="))
            .map(str::to_owned)
    }
}

async fn page(response: reqwest::Response) -> Page {
    let status = response.status();
    let location = response
        .headers()
        .get("location")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let body = response.text().await.expect("body");
    Page {
        status,
        location,
        body,
    }
}

/// What a reader sees of a piece of HTML: its text without the tags.
pub fn text_of(html: &str) -> String {
    let mut text = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    text
}

/// A participant count `p` of activity `a` as outsiders see it, for SQL that
/// counts independently of the app (docs/disclosure.md): 1 to 4 becomes 5 when
/// its key is below count / 5, 0 otherwise.
pub const ROUNDED_COUNT: &str = "(case when p.count between 1 and 4
    then case when count_key(a.disclosure_secret, p.participant_group || ' ' || p.sex) < p.count / 5.0
              then 5 else 0 end
    else p.count end)";
