//! Several instances, run as an operator runs them (issue 14): one PostgreSQL
//! cluster of the test's own, moto's S3-compatible server, a real SMTP server,
//! and two `samleng serve` processes on their own ports, configured by
//! `DATABASE_URL` and `SAMLENG_S3_BUCKET` alone. Then a backup of it all to S3
//! and back, a PostgreSQL restart under the running app, and stopping with
//! requests in flight.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use object_store::ObjectStore as _;
use object_store::aws::AmazonS3Builder;
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use samleng::db::{self, Cluster};
use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection as _, PgConnection, PgPool};
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader, Lines};
use tokio::net::TcpStream;
use tokio::process::{Child, ChildStdout, Command};

use crate::dashboard::figure;
use crate::helpers::{Visitor, new_data_dir};
use crate::notifications::SmtpServer;

const PHOTO: &[u8] = b"\xFF\xD8\xFF\xE0\x00\x10JFIF\x00\x01 a photo kept in S3";
const BUCKET: &str = "samleng";
const STARTUP: Duration = Duration::from_secs(120);

/// moto's S3 server, installed by `scripts/test` under `target/s3-server`.
struct S3Server {
    _process: Child,
    endpoint: String,
}

impl S3Server {
    async fn start() -> S3Server {
        let program = std::env::var("SAMLENG_TEST_S3_SERVER").unwrap_or_else(|_| {
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/target/s3-server/bin/moto_server"
            )
            .to_owned()
        });
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let process = Command::new(&program)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|error| {
                panic!("{program}: {error}; scripts/test installs moto's S3 server there")
            });
        // Ready when it accepts a connection.
        tokio::time::timeout(STARTUP, async {
            while TcpStream::connect(("127.0.0.1", port)).await.is_err() {
                tokio::task::yield_now().await;
            }
        })
        .await
        .expect("the S3 server started");
        S3Server {
            _process: process,
            endpoint: format!("http://127.0.0.1:{port}"),
        }
    }

    async fn create_bucket(&self, bucket: &str) {
        let response = reqwest::Client::new()
            .put(format!("{}/{bucket}", self.endpoint))
            .send()
            .await
            .expect("create a bucket");
        assert!(response.status().is_success(), "{response:?}");
    }

    /// An object, read as the app reads it (signed requests).
    async fn object(&self, bucket: &str, key: &str) -> Vec<u8> {
        let store = AmazonS3Builder::new()
            .with_endpoint(&self.endpoint)
            .with_allow_http(true)
            .with_bucket_name(bucket)
            .with_region("us-east-1")
            .with_access_key_id("test")
            .with_secret_access_key("test")
            .build()
            .expect("an S3 client");
        store
            .get(&object_store::path::Path::from(key))
            .await
            .unwrap_or_else(|error| panic!("{bucket}/{key}: {error}"))
            .bytes()
            .await
            .expect("bytes")
            .to_vec()
    }
}

/// The deployment's shared parts: PostgreSQL, S3, mail.
struct Services {
    cluster: Option<Cluster>,
    cluster_dir: PathBuf,
    _watchdog: std::process::Child,
    s3: S3Server,
    smtp: SmtpServer,
}

impl Services {
    async fn start() -> Services {
        let cluster_dir = new_data_dir().join("postgres");
        let dir = cluster_dir.clone();
        let cluster = tokio::task::spawn_blocking(move || Cluster::start(&dir))
            .await
            .expect("join")
            .expect("a PostgreSQL cluster of the test's own");
        let watchdog = cluster.remove_when_process_exits().expect("watchdog");
        let mut admin = PgConnection::connect_with(&cluster.connect_options("postgres"))
            .await
            .expect("connect");
        // As an administrator sets it up (README, "External PostgreSQL").
        for statement in [
            format!("create role {} login", db::APP_ROLE),
            "create database samleng".to_owned(),
        ] {
            sqlx::query(&statement)
                .execute(&mut admin)
                .await
                .expect(&statement);
        }
        admin.close().await.ok();
        let s3 = S3Server::start().await;
        s3.create_bucket(BUCKET).await;
        Services {
            cluster: Some(cluster),
            cluster_dir,
            _watchdog: watchdog,
            s3,
            smtp: SmtpServer::start().await,
        }
    }

    fn cluster(&self) -> &Cluster {
        self.cluster.as_ref().expect("the cluster")
    }

    fn owner_url(&self, database: &str) -> String {
        self.cluster().url(database)
    }

    /// What an instance is configured with, and nothing else.
    fn environment(&self, database: &str, bucket: &str) -> Vec<(&'static str, String)> {
        vec![
            (
                "DATABASE_URL",
                format!(
                    "postgres://{}@localhost/{database}?host={}",
                    db::APP_ROLE,
                    self.cluster_dir.display()
                ),
            ),
            ("SAMLENG_OWNER_DATABASE_URL", self.owner_url(database)),
            ("SAMLENG_DATA_DIR", new_data_dir().display().to_string()),
            ("SAMLENG_BIND", "127.0.0.1:0".into()),
            ("SAMLENG_METRICS_BIND", "127.0.0.1:0".into()),
            ("SAMLENG_S3_BUCKET", bucket.into()),
            ("AWS_ENDPOINT", self.s3.endpoint.clone()),
            ("AWS_ALLOW_HTTP", "true".into()),
            ("AWS_ACCESS_KEY_ID", "test".into()),
            ("AWS_SECRET_ACCESS_KEY", "test".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("SAMLENG_SMTP_URL", self.smtp.url()),
            ("RUST_LOG", "error".into()),
        ]
    }

    async fn restart_postgres(&mut self) {
        let cluster = self.cluster.take().expect("the cluster");
        let dir = self.cluster_dir.clone();
        let cluster = tokio::task::spawn_blocking(move || {
            cluster.stop().expect("stop PostgreSQL");
            Cluster::start(&dir)
        })
        .await
        .expect("join")
        .expect("start PostgreSQL again");
        self.cluster = Some(cluster);
    }
}

fn samleng(environment: &[(&'static str, String)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_samleng"));
    command
        .envs(environment.iter().map(|(name, value)| (*name, value)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    command
}

/// One `samleng serve` process.
struct Instance {
    process: Child,
    output: Lines<BufReader<ChildStdout>>,
    /// What it printed up to "Press Ctrl-C to stop."
    printed: Vec<String>,
    /// Where its logs (standard error) go.
    logs: PathBuf,
    base: String,
    metrics: String,
}

impl Instance {
    async fn start(environment: &[(&'static str, String)], demo: bool) -> Instance {
        let logs = new_data_dir().join("samleng.log");
        let mut command = samleng(environment);
        command
            .arg("serve")
            .stderr(std::fs::File::create(&logs).expect("a log file"));
        if demo {
            command.arg("--demo");
        }
        let mut process = command.spawn().expect("start samleng");
        let mut output = BufReader::new(process.stdout.take().expect("stdout")).lines();
        let mut printed = Vec::new();
        tokio::time::timeout(STARTUP, async {
            while let Some(line) = output.next_line().await.expect("a line") {
                let done = line.contains("Press Ctrl-C");
                printed.push(line);
                if done {
                    return;
                }
            }
            panic!("the instance stopped while starting: {printed:?}");
        })
        .await
        .expect("the instance started");
        let address = |prefix: &str| -> String {
            printed
                .iter()
                .find_map(|line| line.split(prefix).nth(1))
                .and_then(|rest| rest.split('/').next())
                .map(|address| format!("http://{address}"))
                .unwrap_or_else(|| panic!("no {prefix:?} in {printed:?}"))
        };
        let base = address("running at http://");
        let metrics = address("Metrics at http://");
        Instance {
            process,
            output,
            printed,
            logs,
            base,
            metrics,
        }
    }

    fn password_of(&self, email: &str) -> String {
        self.printed
            .iter()
            .find_map(|line| {
                let words: Vec<&str> = line.split_whitespace().collect();
                (words.len() == 3 && words[1] == email).then(|| words[2].to_owned())
            })
            .unwrap_or_else(|| panic!("no demo password for {email}"))
    }

    fn visitor(&self) -> Visitor {
        Visitor::new(&self.base)
    }

    async fn sign_in(&self, email: &str, password: &str) -> Visitor {
        let visitor = self.visitor();
        let response = visitor.sign_in(email, password).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{email}");
        visitor
    }

    /// Returns once this instance has heard every change committed so far.
    async fn caught_up(&self) {
        let response = reqwest::get(format!("{}/caught-up", self.metrics))
            .await
            .expect("caught-up");
        assert_eq!(response.status(), StatusCode::OK);
    }

    async fn metrics(&self) -> String {
        reqwest::get(format!("{}/metrics", self.metrics))
            .await
            .expect("metrics")
            .text()
            .await
            .expect("text")
    }

    async fn next_line_containing(&mut self, text: &str) -> String {
        tokio::time::timeout(STARTUP, async {
            while let Some(line) = self.output.next_line().await.expect("a line") {
                if line.contains(text) {
                    return line;
                }
            }
            panic!("the instance ended without printing {text:?}");
        })
        .await
        .expect("printed in time")
    }

    fn terminate(&self) {
        let pid = self.process.id().expect("running").to_string();
        let status = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill");
        assert!(status.success());
    }

    /// A request whose body is only half sent: in flight until `finish`.
    async fn start_request(&self) -> (TcpStream, &'static [u8]) {
        const BODY: &[u8] = b"email=nobody%40example.org&password=wrong+password";
        let mut stream = TcpStream::connect(self.base.trim_start_matches("http://"))
            .await
            .expect("connect");
        let head = format!(
            "POST /login HTTP/1.1\r\nHost: samleng\r\nContent-Type: application/x-www-form-urlencoded\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n",
            BODY.len()
        );
        stream.write_all(head.as_bytes()).await.expect("head");
        stream.write_all(&BODY[..10]).await.expect("half the body");
        stream.flush().await.expect("flush");
        (stream, &BODY[10..])
    }
}

async fn finish(mut stream: TcpStream, rest: &[u8]) -> String {
    stream.write_all(rest).await.expect("the rest of the body");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.expect("an answer");
    answer
}

async fn wait_until_sent(pool: &PgPool, recipient: &str) -> (String, i32) {
    // The instances' workers look at the outbox every few seconds; neither
    // can be told to hurry, so the test looks until one of them has sent it.
    tokio::time::timeout(Duration::from_secs(30), async {
        let mut looking = tokio::time::interval(Duration::from_millis(100));
        loop {
            looking.tick().await;
            let row: Option<(String, i32)> = sqlx::query_as(
                "select status, attempts from outbox where recipient = $1 and status <> 'pending'",
            )
            .bind(recipient)
            .fetch_optional(pool)
            .await
            .expect("outbox");
            if let Some(row) = row {
                return row;
            }
        }
    })
    .await
    .expect("the message went out")
}

async fn participants(visitor: &Visitor) -> i64 {
    let page = visitor.get("/dashboard").await;
    assert_eq!(page.status, StatusCode::OK);
    figure(&page.body, "participants")
        .parse()
        .expect("a number")
}

#[tokio::test]
async fn two_instances_share_one_database_s3_and_the_mail_and_stop_cleanly() {
    let mut services = Services::start().await;
    let environment = services.environment("samleng", BUCKET);
    let mut logged = environment.clone();
    logged.push(("SAMLENG_LOG_FORMAT", "json".to_owned()));
    logged.push(("RUST_LOG", "samleng=info,tower_http=info".to_owned()));
    let mut impatient = services.environment("samleng", BUCKET);
    impatient.push(("SAMLENG_SHUTDOWN_GRACE_SECS", "1".to_owned()));
    // Started together: one migrates while the other waits on the lock.
    let (mut a, mut b) = tokio::join!(
        Instance::start(&logged, true),
        Instance::start(&impatient, false)
    );
    let pool = PgPoolOptions::new()
        .max_connections(2)
        .connect(&services.owner_url("samleng"))
        .await
        .expect("the owner's pool");
    let (applied, distinct): (i64, i64) =
        sqlx::query_as("select count(*), count(distinct version) from _sqlx_migrations")
            .fetch_one(&pool)
            .await
            .expect("migrations");
    assert_eq!(
        (applied, distinct),
        (db::MIGRATOR.iter().count() as i64, applied)
    );
    // The first start loaded the whole country, once, though both started.
    let country: (i64, i64, i64, i64) = sqlx::query_as(
        "select (select count(*) from provinces), (select count(*) from districts),
                (select count(*) from communes), (select count(*) from district_shapes)",
    )
    .fetch_one(&pool)
    .await
    .expect("the gazetteer");
    assert_eq!(country, (25, 210, 1652, 210));
    let loaded = |instance: &Instance| {
        instance
            .printed
            .iter()
            .any(|line| line.contains("Loaded the gazetteer"))
    };
    assert!(loaded(&a) != loaded(&b), "one of them loaded it");

    // Signed in on A, recognised on B.
    let secretariat = "secretariat@cpdd.example";
    let staff_on_a = a.sign_in(secretariat, &a.password_of(secretariat)).await;
    let staff_on_b = staff_on_a.at(&b.base);
    let before = participants(&staff_on_b).await;

    // An FGD recorded through A shows on B's pages and dashboard.
    let ngo = "ngo@ctod.example";
    let ngo_on_a = a.sign_in(ngo, &a.password_of(ngo)).await;
    let form = ngo_on_a.get("/activities/new").await;
    assert!(
        form.body.contains("value=\"020402\"") && form.body.contains("Khnach Romeas"),
        "the NGO picks from Bavel's communes at once"
    );
    let (study, ctod): (i64, i64) = sqlx::query_as(
        "select (select id from studies order by id limit 1),
                (select id from organizations where acronym = 'CTOD')",
    )
    .fetch_one(&pool)
    .await
    .expect("ids");
    let (study, ctod) = (study.to_string(), ctod.to_string());
    let saved = ngo_on_a
        .post(
            "/activities",
            &[
                ("kind", "fgd"),
                ("held_on", "2021-09-15"),
                ("district_code", "0204"),
                ("commune_code", ""),
                ("place", "Pagoda hall of the two instances"),
                ("facilitating_organization_id", &ctod),
                ("study_id", &study),
                ("case_study_id", ""),
                ("summary", "Recorded through instance A."),
                ("count_citizen_female", "9"),
                ("count_citizen_male", "5"),
                ("count_cbo_female", "4"),
                ("count_cbo_male", "2"),
                ("youth", "6"),
                ("persons_with_disabilities", "1"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let activity = saved.location.expect("the new activity");
    b.caught_up().await;
    assert_eq!(participants(&staff_on_b).await, before + 20);
    assert!(
        staff_on_b
            .get(&activity)
            .await
            .body
            .contains("Pagoda hall of the two instances")
    );

    // A photo uploaded through A is downloaded through B, from S3.
    let form = Form::new()
        .text("csrf_token", ngo_on_a.csrf_token().await)
        .text("caption", "Kept in S3")
        .part("file", Part::bytes(PHOTO.to_vec()).file_name("hall.jpg"));
    let uploaded = ngo_on_a
        .client
        .post(format!("{}{activity}/attachments", a.base))
        .multipart(form)
        .send()
        .await
        .expect("upload");
    assert_eq!(uploaded.status(), StatusCode::SEE_OTHER);
    let (photo_id, stored_name): (i64, String) =
        sqlx::query_as("select id, stored_name from attachments where caption = 'Kept in S3'")
            .fetch_one(&pool)
            .await
            .expect("the photo");
    let on_b = ngo_on_a.at(&b.base);
    assert_eq!(
        on_b.get_bytes(&format!("/attachments/{photo_id}")).await,
        PHOTO
    );
    assert_eq!(
        services
            .s3
            .object(BUCKET, &format!("attachments/{stored_name}"))
            .await,
        PHOTO
    );

    // Failed sign-ins on both instances count toward one lock-out.
    let official = "sna@battambang.example";
    for instance in [&a, &a, &a, &b, &b] {
        let response = instance
            .visitor()
            .sign_in(official, "not the password")
            .await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let locked = a
        .visitor()
        .sign_in(official, &a.password_of(official))
        .await;
    assert_eq!(locked.status(), StatusCode::UNAUTHORIZED, "locked out");
    let is_locked: bool =
        sqlx::query_scalar("select locked_until > now() from users where email = $1")
            .bind(official)
            .fetch_one(&pool)
            .await
            .expect("lock");
    assert!(is_locked);

    // A list sent for endorsement through A: its official is told once,
    // whichever instance's worker sends it.
    let list: i64 =
        sqlx::query_scalar("select id from recommendation_lists where district_code = '0201'")
            .fetch_one(&pool)
            .await
            .expect("a list");
    let submitted = staff_on_a
        .post(&format!("/recommendation-lists/{list}/submit"), &[])
        .await;
    assert_eq!(submitted.status, StatusCode::SEE_OTHER);
    let recipient = "sna@banan.example";
    assert_eq!(
        wait_until_sent(&pool, recipient).await,
        ("sent".to_owned(), 1)
    );
    let mails = services.smtp.received();
    assert_eq!(mails.iter().filter(|mail| mail.to == recipient).count(), 1);

    // Signed out on A, refused on B.
    assert_eq!(
        staff_on_a.post("/logout", &[]).await.status,
        StatusCode::SEE_OTHER
    );
    b.caught_up().await;
    let refused = staff_on_b.get("/dashboard").await;
    assert_eq!(refused.status, StatusCode::SEE_OTHER);
    assert!(refused.location.unwrap_or_default().starts_with("/login"));

    // What B counted, on its private address only.
    let metrics = b.metrics().await;
    for expected in [
        r#"samleng_http_requests_total{method="GET",route="/attachments/{id}",status="200"} 1"#,
        r#"samleng_db_pool_connections{pool="main",state="in_use"}"#,
        r#"samleng_outbox_messages{status="pending"} 0"#,
        // Both views of the dashboard came after a change.
        r#"samleng_cache_lookups_total{cache="dashboard_figures",result="miss"} 2"#,
        r#"samleng_cache_lookups_total{cache="sessions",result="hit"}"#,
        "samleng_http_request_duration_seconds_bucket",
    ] {
        assert!(metrics.contains(expected), "{expected} in\n{metrics}");
    }
    assert_eq!(
        reqwest::get(format!("{}/metrics", b.base))
            .await
            .expect("public")
            .status(),
        StatusCode::NOT_FOUND
    );

    // A backup of the database and the bucket, restored into empty ones.
    let archive = new_data_dir().join("samleng.backup");
    let archive_text = archive.display().to_string();
    let backup = samleng(&environment)
        .args(["backup", &archive_text])
        .output()
        .await
        .expect("backup");
    assert!(backup.status.success(), "{backup:?}");
    services.s3.create_bucket("restored").await;
    let mut admin = PgConnection::connect_with(&services.cluster().connect_options("postgres"))
        .await
        .expect("connect");
    sqlx::query("create database restored")
        .execute(&mut admin)
        .await
        .expect("an empty database");
    admin.close().await.ok();
    let restore = samleng(&services.environment("restored", "restored"))
        .args(["restore", &archive_text])
        .output()
        .await
        .expect("restore");
    let said = String::from_utf8_lossy(&restore.stdout).into_owned();
    assert!(restore.status.success(), "{restore:?}");
    assert!(said.contains("Restored and checked"), "{said}");
    assert_eq!(
        services
            .s3
            .object("restored", &format!("attachments/{stored_name}"))
            .await,
        PHOTO
    );

    // PostgreSQL restarts under the running instances; A serves again
    // without a restart of its own (each connection lost fails once).
    pool.close().await;
    services.restart_postgres().await;
    let mut failed = 0;
    while ngo_on_a.get("/activities").await.status != StatusCode::OK {
        failed += 1;
        assert!(failed <= 16, "A did not recover from the restart");
    }
    assert_eq!(ngo_on_a.get(&activity).await.status, StatusCode::OK);

    // Every response carries its request id, and so does A's log line for it.
    let answered = reqwest::get(format!("{}/readyz", a.base))
        .await
        .expect("readyz");
    let request_id = answered.headers()["x-request-id"]
        .to_str()
        .expect("text")
        .to_owned();

    // SIGTERM: no new connections, the request in flight finishes, then A stops.
    let (in_flight, rest) = a.start_request().await;
    a.terminate();
    a.next_line_containing("Stopping").await;
    let refused = tokio::time::timeout(STARTUP, async {
        while TcpStream::connect(a.base.trim_start_matches("http://"))
            .await
            .is_ok()
        {
            tokio::task::yield_now().await;
        }
    })
    .await;
    assert!(refused.is_ok(), "A still takes new connections");
    let answer = finish(in_flight, rest).await;
    assert!(answer.starts_with("HTTP/1.1 "), "{answer}");
    a.next_line_containing("Stopped.").await;
    assert!(a.process.wait().await.expect("exit").success());
    let logs = std::fs::read_to_string(&a.logs).expect("A's logs");
    let logged = logs
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).expect("a JSON line"))
        .find(|line| line["span"]["request_id"] == request_id.as_str())
        .unwrap_or_else(|| panic!("no log line for request {request_id} in\n{logs}"));
    assert_eq!(logged["span"]["path"], "/readyz");
    assert_eq!(logged["fields"]["status"], 200);

    // B's grace is one second: a request that never finishes does not keep it.
    let (_stalled, _) = b.start_request().await;
    b.terminate();
    let exited = tokio::time::timeout(Duration::from_secs(30), b.process.wait()).await;
    assert!(
        exited
            .expect("B stopped after its grace")
            .expect("exit")
            .success()
    );
}

/// A demo instance of its own, with CTOD's NGO user signed in.
async fn ngo_on_a_demo_instance() -> (Services, Instance, Visitor) {
    let services = Services::start().await;
    let environment = services.environment("samleng", BUCKET);
    let instance = Instance::start(&environment, true).await;
    let ngo = instance
        .sign_in(
            "ngo@ctod.example",
            &instance.password_of("ngo@ctod.example"),
        )
        .await;
    (services, instance, ngo)
}

/// The server's resident memory, in MB.
fn resident_mb(process: &Child) -> u64 {
    let pid = process.id().expect("running");
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|kb| kb.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .expect("VmRSS")
        / 1024
}

/// A small workbook whose one sheet declares a range from A1 to `last_cell`
/// (a cell at each end): what the reader would allocate whole.
fn workbook_declaring(row: u32, column: u16) -> Vec<u8> {
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.write_string(0, 0, "Kind").expect("A1");
    sheet.write_string(row, column, "x").expect("the far cell");
    workbook.save_to_buffer().expect("a workbook")
}

#[tokio::test]
async fn a_workbook_that_declares_a_huge_sheet_leaves_the_servers_memory_bounded() {
    let (_services, instance, ngo) = ngo_on_a_demo_instance().await;
    let before = resident_mb(&instance.process);
    // A1:XFD1048576 took the server to 24 GB; A1:Z1048576 to 1.5 GB.
    for (file, bytes, message) in [
        (
            "wide.xlsx",
            workbook_declaring(1_048_575, 16_383),
            "more than 200 columns",
        ),
        (
            "long.xlsx",
            workbook_declaring(1_048_575, 25),
            "Problems found",
        ),
    ] {
        assert!(bytes.len() < 10_000, "{file}: {} bytes", bytes.len());
        let form = Form::new()
            .text("csrf_token", ngo.csrf_token().await)
            .part("file", Part::bytes(bytes).file_name(file))
            .text("study_id", "");
        let page = ngo
            .post_multipart(&format!("{}/activities/import", instance.base), form)
            .await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{file}");
        assert!(page.body.contains(message), "{file}: {}", page.body);
        let now = resident_mb(&instance.process);
        assert!(
            now < before + 100,
            "{file}: {before} MB before, {now} MB after"
        );
    }
    // The server still answers.
    assert_eq!(ngo.get("/activities/import").await.status, StatusCode::OK);
}

#[tokio::test]
async fn pages_answer_503_while_the_database_is_down_and_recover_after() {
    let (mut services, instance, ngo) = ngo_on_a_demo_instance().await;
    assert_eq!(ngo.get("/activities").await.status, StatusCode::OK);
    let cluster = services.cluster.take().expect("the cluster");
    tokio::task::spawn_blocking(move || cluster.stop().expect("stop PostgreSQL"))
        .await
        .expect("join");
    let down = ngo.get("/activities?page=2").await;
    assert_eq!(
        down.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        std::fs::read_to_string(&instance.logs).unwrap_or_default()
    );
    assert!(
        down.body.contains("unavailable for a moment"),
        "{}",
        down.body
    );
    let dir = services.cluster_dir.clone();
    let cluster = tokio::task::spawn_blocking(move || Cluster::start(&dir))
        .await
        .expect("join")
        .expect("start PostgreSQL again");
    services.cluster = Some(cluster);
    let mut status = StatusCode::SERVICE_UNAVAILABLE;
    // The pool reconnects on its next connection: a few requests at most.
    for _ in 0..50 {
        status = ngo.get("/activities").await.status;
        if status == StatusCode::OK {
            break;
        }
    }
    assert_eq!(status, StatusCode::OK);
}
