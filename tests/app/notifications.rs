//! Notifications: who is told of each event, in their language, in the app and
//! by e-mail through a real SMTP server on 127.0.0.1 (Debian's aiosmtpd,
//! writing what it receives to a maildir); delivery that survives a mail server
//! going down, never sends twice, gives up after its attempts for an
//! administrator to retry, and gathers daily digests.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::StatusCode;
use samleng::notifications::outbox::{self, Mailer};

use crate::helpers::{TestApp, spawn_app};

const STAFF: &str = "secretariat@cpdd.example";

/// aiosmtpd's maildir handler, waiting `delay` seconds before it takes each
/// message (argv: port, delay, then `-c`, the handler and its maildir).
const SLOW_SERVER: &str = r#"
import asyncio, sys
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox

class Slow(Mailbox):
    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(float(sys.argv[2]))
        return await super().handle_DATA(server, session, envelope)

async def main():
    Controller(Slow(sys.argv[5]), hostname="127.0.0.1", port=int(sys.argv[1])).start()
    await asyncio.Event().wait()

asyncio.run(main())
"#;

/// A real SMTP server, stopped when dropped.
pub struct SmtpServer {
    process: Child,
    port: u16,
    maildir: PathBuf,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

impl SmtpServer {
    /// Its address, as `SAMLENG_SMTP_URL` takes it.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// A mailer to this server whose links start with `public_url`.
    pub fn mailer_for(&self, public_url: &str) -> Mailer {
        Mailer::new(
            Some(&format!("smtp://127.0.0.1:{}", self.port)),
            "Samleng <samleng@cpdd.example>",
            public_url,
            std::env::temp_dir(),
        )
        .expect("a mailer")
    }

    async fn start_on(port: u16, maildir: PathBuf) -> SmtpServer {
        SmtpServer::start_with(port, maildir, None).await
    }

    /// A server that takes `delay` to accept each message, as a busy or
    /// distant one does: aiosmtpd's maildir handler, made to wait.
    async fn start_slow(delay: Duration) -> SmtpServer {
        let maildir = std::env::temp_dir().join(format!(
            "samleng-slow-mail-{}-{}",
            std::process::id(),
            free_port()
        ));
        SmtpServer::start_with(free_port(), maildir, Some(delay)).await
    }

    async fn start_with(port: u16, maildir: PathBuf, delay: Option<Duration>) -> SmtpServer {
        let mut command = Command::new("/usr/bin/python3");
        match delay {
            None => command.args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")]),
            Some(delay) => command.args([
                "-c",
                SLOW_SERVER,
                &format!("{port}"),
                &delay.as_secs_f64().to_string(),
            ]),
        };
        // Debian's own Python, which python3-aiosmtpd installs into (another
        // python3 may come first on the PATH).
        let process = command
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3-aiosmtpd is not installed: apt-get install python3-aiosmtpd");
        // Ready when it accepts a connection.
        tokio::time::timeout(Duration::from_secs(20), async {
            while tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_err()
            {
                tokio::task::yield_now().await;
            }
        })
        .await
        .expect("the SMTP server started");
        SmtpServer {
            process,
            port,
            maildir,
        }
    }

    pub async fn start() -> SmtpServer {
        let maildir = std::env::temp_dir().join(format!(
            "samleng-mail-{}-{}",
            std::process::id(),
            free_port()
        ));
        SmtpServer::start_on(free_port(), maildir).await
    }

    fn mailer(&self) -> Mailer {
        mailer_to(self.port)
    }

    /// The messages received so far, parsed.
    pub fn received(&self) -> Vec<Received> {
        received_in(&self.maildir)
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.process.kill().ok();
        self.process.wait().ok();
        std::fs::remove_dir_all(&self.maildir).ok();
    }
}

fn mailer_to(port: u16) -> Mailer {
    Mailer::new(
        Some(&format!("smtp://127.0.0.1:{port}")),
        "Samleng <samleng@cpdd.example>",
        "https://samleng.example.org",
        std::env::temp_dir(),
    )
    .expect("a mailer")
}

#[derive(Debug)]
pub struct Received {
    pub to: String,
    /// Without its angle brackets.
    pub message_id: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

fn received_in(maildir: &std::path::Path) -> Vec<Received> {
    let mut messages = Vec::new();
    for folder in ["new", "cur"] {
        let Ok(entries) = std::fs::read_dir(maildir.join(folder)) else {
            continue;
        };
        for entry in entries.flatten() {
            let raw = std::fs::read(entry.path()).expect("a message");
            let message = mail_parser::MessageParser::default()
                .parse(&raw)
                .expect("a parsable message");
            messages.push(Received {
                to: message
                    .to()
                    .and_then(|to| to.first())
                    .and_then(|address| address.address())
                    .unwrap_or_default()
                    .to_owned(),
                message_id: message.message_id().unwrap_or_default().to_owned(),
                subject: message.subject().unwrap_or_default().to_owned(),
                text: message.body_text(0).unwrap_or_default().into_owned(),
                html: message.body_html(0).unwrap_or_default().into_owned(),
            });
        }
    }
    messages
}

async fn scalar(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(sql)
        .fetch_one(&app.pool)
        .await
        .expect(sql)
}

/// Who was told of what since `after`: (e-mail, kind), in order.
async fn told_since(app: &TestApp, after: i64) -> Vec<(String, String)> {
    sqlx::query_as(
        "select u.email, n.kind from notifications n join users u on u.id = n.user_id
         where n.id > $1 order by u.email, n.kind",
    )
    .bind(after)
    .fetch_all(&app.pool)
    .await
    .expect("notifications")
}

async fn last_notification(app: &TestApp) -> i64 {
    scalar(app, "select coalesce(max(id), 0) from notifications").await
}

#[tokio::test]
async fn a_list_sent_for_endorsement_reaches_the_districts_official_by_email_in_khmer() {
    let app = spawn_app().await;
    let smtp = SmtpServer::start().await;
    sqlx::query("update users set preferred_language = 'km' where email = 'sna@banan.example'")
        .execute(&app.pool)
        .await
        .expect("a Khmer reader");
    let list = scalar(
        &app,
        "select id from recommendation_lists where district_code = '0201'",
    )
    .await;
    let before = last_notification(&app).await;
    let staff = app.login_as(STAFF).await;
    let sent = staff
        .post(&format!("/recommendation-lists/{list}/submit"), &[])
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER);
    assert_eq!(
        told_since(&app, before).await,
        [("sna@banan.example".to_owned(), "list-submitted".to_owned())],
        "the district's official, and no one else"
    );
    assert_eq!(
        outbox::deliver_due(&app.app_pool, &smtp.mailer())
            .await
            .expect("delivered"),
        1
    );
    let mail = smtp.received();
    assert_eq!(mail.len(), 1);
    let mail = &mail[0];
    assert_eq!(mail.to, "sna@banan.example");
    assert!(
        mail.subject.contains("កំពុងរង់ចាំការគាំទ្ររបស់អ្នក"),
        "in Khmer: {}",
        mail.subject
    );
    let link = format!("https://samleng.example.org/recommendation-lists/{list}");
    assert!(
        mail.text.contains(&link) && mail.html.contains(&link),
        "{mail:?}"
    );
    assert!(mail.text.contains("Dara Secretariat"));

    // The link opens the list after signing in.
    let path = link.trim_start_matches("https://samleng.example.org");
    let official = app.visitor();
    let answer = official.get(path).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    let official = app.login_as("sna@banan.example").await;
    let page = official.get(path).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("action=\"/recommendation-lists/") && page.body.contains("/endorse\"")
    );
    // In the app too, counted in the header until read.
    assert!(page.body.contains("class=\"unread-count\">1<"));
    let id = scalar(
        &app,
        &format!("select max(id) from notifications where link = '{path}'"),
    )
    .await;
    let opened = official
        .post(&format!("/notifications/{id}/open"), &[])
        .await;
    assert_eq!(opened.status, StatusCode::SEE_OTHER);
    assert!(
        !official
            .get("/notifications")
            .await
            .body
            .contains("class=\"unread-count\"")
    );
    assert_eq!(
        app.login_as("sna@battambang.example")
            .await
            .post(&format!("/notifications/{id}/open"), &[])
            .await
            .status,
        StatusCode::NOT_FOUND,
        "someone else's notification"
    );
}

#[tokio::test]
async fn each_event_is_told_to_the_people_it_concerns_and_no_one_else() {
    let app = spawn_app().await;
    let staff = app.login_as(STAFF).await;
    let ngo = app.login_as("ngo@ctod.example").await;
    let official = app.login_as("sna@battambang.example").await;

    // Battambang's waiting list, endorsed: the secretariat and the district's NGOs.
    let list = scalar(
        &app,
        "select id from recommendation_lists where district_code = '0203'",
    )
    .await;
    let before = last_notification(&app).await;
    let endorsed = official
        .post(
            &format!("/recommendation-lists/{list}/endorse"),
            &[("position", "Deputy Governor")],
        )
        .await;
    assert_eq!(endorsed.status, StatusCode::SEE_OTHER);
    let told = told_since(&app, before).await;
    let emails: Vec<&str> = told.iter().map(|(email, _)| email.as_str()).collect();
    assert!(
        emails.contains(&"secretariat@cpdd.example") && emails.contains(&"ngo@ctod.example"),
        "{told:?}"
    );
    assert!(
        !emails.iter().any(|email| email.starts_with("sna@")
            || *email == "ngo@as.example"
            || email.starts_with("donor")),
        "{told:?}"
    );
    assert!(told.iter().all(|(_, kind)| kind == "list-endorsed"));

    // A case study sent for review: the secretariat; published: its authors.
    let case = scalar(
        &app,
        "select id from case_studies where status = 'draft' and district_code = '0207'",
    )
    .await;
    let writer = app.login_as("ngo@as.example").await;
    let before = last_notification(&app).await;
    assert_eq!(
        writer
            .post(&format!("/case-studies/{case}/submit"), &[])
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    let told = told_since(&app, before).await;
    assert!(
        !told.is_empty()
            && told
                .iter()
                .all(|(email, kind)| email == "secretariat@cpdd.example"
                    && kind == "case-study-in-review"),
        "{told:?}"
    );
    let before = last_notification(&app).await;
    assert_eq!(
        staff
            .post(&format!("/case-studies/{case}/publish"), &[])
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        told_since(&app, before).await,
        [(
            "ngo@as.example".to_owned(),
            "case-study-published".to_owned()
        )]
    );

    // A joint report by the NGO waits for the district's officials.
    let joint = scalar(&app, "select a.id from actions a join action_plans p on p.id = a.plan_id where p.district_code = '0204' and a.lead = 'joint' limit 1").await;
    let before = last_notification(&app).await;
    let today = samleng::format::today().to_string();
    let reported = ngo
        .post(
            &format!("/actions/{joint}/updates"),
            &[
                ("reported_on", &today),
                ("status", "in_progress"),
                ("progress", "30"),
            ],
        )
        .await;
    assert_eq!(reported.status, StatusCode::SEE_OTHER);
    let told = told_since(&app, before).await;
    assert!(
        told.iter()
            .all(|(email, kind)| email.starts_with("sna@") && kind == "report-to-confirm"),
        "{told:?}"
    );
    assert!(
        !told
            .iter()
            .any(|(email, _)| email == "sna@battambang.example"),
        "Bavel's officials only: {told:?}"
    );

    // A change that rolls back tells nobody: an empty list cannot be submitted.
    let empty = scalar(&app, "insert into recommendation_lists (district_code, study_id) select '0205', min(id) from studies returning id").await;
    let before = last_notification(&app).await;
    assert_eq!(
        staff
            .post(&format!("/recommendation-lists/{empty}/submit"), &[])
            .await
            .status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert!(told_since(&app, before).await.is_empty());
}

#[tokio::test]
async fn a_mail_server_that_is_down_gets_the_message_once_it_is_back() {
    let app = spawn_app().await;
    let port = free_port();
    let list = scalar(
        &app,
        "select id from recommendation_lists where district_code = '0201'",
    )
    .await;
    let staff = app.login_as(STAFF).await;
    staff
        .post(&format!("/recommendation-lists/{list}/submit"), &[])
        .await;
    let waiting = "select count(*) from outbox where status = 'pending'";
    assert_eq!(scalar(&app, waiting).await, 1);
    // Nobody listens on the port yet.
    assert_eq!(
        outbox::deliver_due(&app.app_pool, &mailer_to(port))
            .await
            .expect("tried"),
        0
    );
    assert_eq!(scalar(&app, "select count(*) from outbox where status = 'pending' and attempts = 1 and last_error <> '' and next_attempt_at > now()").await, 1);
    assert_eq!(
        outbox::deliver_due(&app.app_pool, &mailer_to(port))
            .await
            .expect("not due"),
        0,
        "it waits before trying again"
    );
    let maildir = std::env::temp_dir().join(format!("samleng-mail-back-{port}"));
    let smtp = SmtpServer::start_on(port, maildir).await;
    sqlx::query("update outbox set next_attempt_at = now()")
        .execute(&app.pool)
        .await
        .expect("the wait is over");
    assert_eq!(
        outbox::deliver_due(&app.app_pool, &smtp.mailer())
            .await
            .expect("delivered"),
        1
    );
    assert_eq!(
        outbox::deliver_due(&app.app_pool, &smtp.mailer())
            .await
            .expect("nothing left"),
        0
    );
    assert_eq!(smtp.received().len(), 1, "delivered once");
    assert_eq!(
        scalar(
            &app,
            "select count(*) from outbox where status = 'sent' and sent_at is not null"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn two_workers_never_send_the_same_message_and_failures_wait_for_an_administrator() {
    let app = spawn_app().await;
    let smtp = SmtpServer::start().await;
    // Twelve messages waiting.
    sqlx::query(
        "insert into outbox (channel, user_id, recipient, subject, body, link)
         select 'email', u.id, u.email, 'Message ' || g, 'Body', '/' from users u, generate_series(1, 2) g
         where u.email like '%@%' order by u.id limit 12",
    )
    .execute(&app.pool)
    .await
    .expect("waiting messages");
    let queued = scalar(&app, "select count(*) from outbox where status = 'pending'").await;
    let (first, second) = (smtp.mailer(), smtp.mailer());
    let (a, b) = tokio::join!(
        outbox::deliver_due(&app.app_pool, &first),
        outbox::deliver_due(&app.app_pool, &second)
    );
    let sent = a.expect("first worker") + b.expect("second worker");
    assert_eq!(sent as i64, queued);
    assert_eq!(smtp.received().len() as i64, queued, "each message once");

    // The last attempt fails: marked failed, listed, retried by an administrator.
    sqlx::query(
        "insert into outbox (channel, recipient, subject, body, attempts) values ('email', 'x@example.org', 'Last try', 'Body', $1)",
    )
    .bind(outbox::MAX_ATTEMPTS - 1)
    .execute(&app.pool)
    .await
    .expect("a message on its last attempt");
    outbox::deliver_due(&app.app_pool, &mailer_to(free_port()))
        .await
        .expect("tried");
    let failed = scalar(&app, "select id from outbox where status = 'failed'").await;
    let admin = app.login_as("admin@cpdd.example").await;
    let page = admin.get("/admin/outbox").await;
    assert!(
        page.body.contains("Last try")
            && page.body.contains(&format!("/admin/outbox/{failed}/retry"))
    );
    assert_eq!(
        app.login_as(STAFF).await.get("/admin/outbox").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        admin
            .post(&format!("/admin/outbox/{failed}/retry"), &[])
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        admin
            .post(&format!("/admin/outbox/{failed}/retry"), &[])
            .await
            .status,
        StatusCode::CONFLICT
    );
    assert_eq!(
        outbox::deliver_due(&app.app_pool, &smtp.mailer())
            .await
            .expect("sent"),
        1
    );
    assert!(
        smtp.received()
            .iter()
            .any(|mail| mail.subject == "Last try")
    );
}

#[tokio::test]
async fn a_daily_digest_gathers_the_days_events_into_one_message() {
    let app = spawn_app().await;
    let secretariat = app.login_as(STAFF).await;
    assert_eq!(
        secretariat
            .post("/notifications/settings", &[("email", "daily")])
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    assert!(
        secretariat
            .get("/account")
            .await
            .body
            .contains("<option value=\"daily\" selected>")
    );
    assert_eq!(
        secretariat
            .post("/notifications/settings", &[("email", "hourly")])
            .await
            .status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let official = app.login_as("sna@battambang.example").await;
    let list = scalar(
        &app,
        "select id from recommendation_lists where district_code = '0203'",
    )
    .await;
    official
        .post(
            &format!("/recommendation-lists/{list}/return"),
            &[("comment", "Add the market's toilets")],
        )
        .await;
    let to_staff = "select count(*) from outbox o join users u on u.id = o.user_id where u.email = 'secretariat@cpdd.example'";
    assert_eq!(scalar(&app, to_staff).await, 0, "nothing at once");
    let case = scalar(
        &app,
        "select id from case_studies where status = 'draft' and district_code = '0207'",
    )
    .await;
    app.login_as("ngo@as.example")
        .await
        .post(&format!("/case-studies/{case}/submit"), &[])
        .await;
    assert_eq!(
        outbox::queue_digests(&app.app_pool).await.expect("digests"),
        1
    );
    assert_eq!(scalar(&app, to_staff).await, 1, "one message for the day");
    let (subject, body): (String, String) = sqlx::query_as(
        "select o.subject, o.body from outbox o join users u on u.id = o.user_id where u.email = 'secretariat@cpdd.example'",
    )
    .fetch_one(&app.pool)
    .await
    .expect("the digest");
    assert!(subject.contains("2 things"), "{subject}");
    assert!(
        body.contains("sent back") && body.contains("waits for review"),
        "{body}"
    );
    assert_eq!(
        outbox::queue_digests(&app.app_pool).await.expect("digests"),
        0,
        "gathered once"
    );
    // Off: told in the app only.
    secretariat
        .post("/notifications/settings", &[("email", "off")])
        .await;
    let before = scalar(&app, "select count(*) from outbox").await;
    let in_app = last_notification(&app).await;
    secretariat
        .post(&format!("/recommendation-lists/{list}/submit"), &[])
        .await;
    official
        .post(
            &format!("/recommendation-lists/{list}/return"),
            &[("comment", "Again")],
        )
        .await;
    let told = told_since(&app, in_app).await;
    assert!(
        told.contains(&(
            "secretariat@cpdd.example".to_owned(),
            "list-returned".to_owned()
        )),
        "{told:?}"
    );
    assert!(
        scalar(&app, "select count(*) from outbox").await > before,
        "others are e-mailed"
    );
    assert_eq!(scalar(&app, to_staff).await, 1, "the secretariat is not");
}

#[tokio::test]
async fn without_a_mail_server_messages_are_written_as_files_to_read() {
    let app = spawn_app().await;
    let folder = std::env::temp_dir().join(format!("samleng-eml-{}", free_port()));
    let mailer = Mailer::new(
        None,
        "Samleng <samleng@localhost>",
        "http://127.0.0.1:8080",
        folder.clone(),
    )
    .expect("a mailer");
    assert!(mailer.writes_files());
    let list = scalar(
        &app,
        "select id from recommendation_lists where district_code = '0201'",
    )
    .await;
    app.login_as(STAFF)
        .await
        .post(&format!("/recommendation-lists/{list}/submit"), &[])
        .await;
    assert_eq!(
        outbox::deliver_due(&app.app_pool, &mailer)
            .await
            .expect("written"),
        1
    );
    let files: Vec<PathBuf> = std::fs::read_dir(&folder)
        .expect("the mail folder")
        .flatten()
        .map(|entry| entry.path())
        .collect();
    assert_eq!(files.len(), 1);
    assert!(
        files[0]
            .extension()
            .is_some_and(|extension| extension == "eml")
    );
    let text = std::fs::read_to_string(&files[0]).expect("the message");
    assert!(text.contains("To: sna@banan.example"), "{text}");
    std::fs::remove_dir_all(&folder).ok();
}

#[tokio::test]
async fn the_weekly_reminder_counts_each_organizations_actions_waiting_for_a_report() {
    let app = spawn_app().await;
    let expected = scalar(
        &app,
        "select count(*) from actions a join organizations o on o.id = a.owner_organization_id
         where o.acronym = 'CTOD' and a.status not in ('completed', 'cancelled')
           and (a.due_on < current_date or coalesce(a.reported_on, a.starts_on) < current_date - 90)",
    )
    .await;
    assert!(expected > 0, "the demo has CTOD actions waiting");
    let before = last_notification(&app).await;
    let reminded = samleng::notifications::remind_stale_actions(&app.app_pool)
        .await
        .expect("reminders");
    let told = told_since(&app, before).await;
    assert_eq!(reminded, told.len());
    assert!(
        told.contains(&("ngo@ctod.example".to_owned(), "actions-reminder".to_owned())),
        "{told:?}"
    );
    assert!(
        !told
            .iter()
            .any(|(email, _)| email.starts_with("donor") || email.starts_with("secretariat")),
        "{told:?}"
    );
    let subject: String = sqlx::query_scalar(
        "select n.subject from notifications n join users u on u.id = n.user_id
         where u.email = 'ngo@ctod.example' and n.kind = 'actions-reminder'",
    )
    .fetch_one(&app.pool)
    .await
    .expect("CTOD's reminder");
    assert!(
        subject.starts_with(&format!("{expected} actions")),
        "{subject}"
    );
}

#[tokio::test]
async fn two_workers_and_a_slow_mail_server_send_each_message_once() {
    let app = spawn_app().await;
    // One second to accept each message; each worker holds a message for
    // three seconds, so the batch outlives the first worker's lease.
    let smtp = SmtpServer::start_slow(Duration::from_secs(1)).await;
    sqlx::query(
        "insert into outbox (channel, user_id, recipient, subject, body, link)
         select 'email', u.id, u.email, 'Message ' || u.id, 'Body', '/' from users u
         where u.email like '%@%' order by u.id limit 5",
    )
    .execute(&app.pool)
    .await
    .expect("waiting messages");
    let pending =
        async || scalar(&app, "select count(*) from outbox where status = 'pending'").await;
    let queued = pending().await;
    assert_eq!(queued, 5);
    let lease = Duration::from_secs(3);
    // Each worker looks for due messages as the real one does, only more often.
    let worker = |mailer: Mailer| {
        let pending = &pending;
        let pool = app.app_pool.clone();
        async move {
            let mut tick = tokio::time::interval(Duration::from_millis(100));
            let mut sent = 0;
            while pending().await > 0 {
                tick.tick().await;
                sent += outbox::deliver_due(&pool, &mailer)
                    .await
                    .expect("delivered");
            }
            sent
        }
    };
    let (a, b) = tokio::join!(
        worker(smtp.mailer().with_lease(lease)),
        worker(smtp.mailer().with_lease(lease))
    );
    assert_eq!((a + b) as i64, queued);
    assert!(
        a > 0 && b > 0,
        "the second worker took over what the first's lease let go: {a} and {b}"
    );
    let received = smtp.received();
    assert_eq!(received.len() as i64, queued, "each message once");
    let mut ids: Vec<&str> = received
        .iter()
        .map(|message| message.message_id.as_str())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len() as i64, queued, "each with its own Message-ID");
    assert!(ids.iter().all(|id| id.starts_with("outbox-")), "{ids:?}");
}
