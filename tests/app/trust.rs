//! What people must be able to trust: downloads that work in browsers, hostile
//! input answered with 4xx before anything is read or stored, an audit log the
//! application cannot rewrite, and what a signed-in page leaves behind.

use std::io::Read as _;

use reqwest::StatusCode;
use reqwest::header::{ACCEPT_ENCODING, CONTENT_ENCODING};
use samleng::state::Settings;

use crate::helpers::{TestApp, Visitor, spawn_app, spawn_app_with};

const DATASETS: [&str; 7] = [
    "activities",
    "findings",
    "recommendations",
    "actions",
    "case-studies",
    "projects",
    "events",
];

/// A download as a browser asks for it: gzip accepted, the bytes as they
/// arrive on the wire, unpacked here.
async fn gzipped(visitor: &Visitor, app: &TestApp, path: &str) -> (StatusCode, Vec<u8>) {
    let response = visitor
        .client
        .get(app.url(path))
        .header(ACCEPT_ENCODING, "gzip, deflate, br, zstd")
        .send()
        .await
        .expect("download");
    let status = response.status();
    let encoding = response.headers().get(CONTENT_ENCODING).cloned();
    let wire = response.bytes().await.expect("body");
    assert_eq!(
        encoding.as_ref().and_then(|value| value.to_str().ok()),
        Some("gzip"),
        "{path} is sent compressed"
    );
    let mut bytes = Vec::new();
    flate2::read::GzDecoder::new(&wire[..])
        .read_to_end(&mut bytes)
        .expect("a whole gzip stream");
    (status, bytes)
}

#[tokio::test]
async fn every_export_arrives_whole_when_the_browser_accepts_gzip() {
    let app = spawn_app().await;
    for email in ["donor@donor.example", "secretariat@cpdd.example"] {
        let visitor = app.login_as(email).await.without_unpacking();
        for dataset in DATASETS {
            let (status, csv) = gzipped(&visitor, &app, &format!("/exports/{dataset}.csv")).await;
            assert_eq!(status, StatusCode::OK, "{dataset}.csv as {email}");
            let text = csv
                .strip_prefix(b"\xEF\xBB\xBF")
                .unwrap_or_else(|| panic!("{dataset}.csv starts with a byte-order mark"));
            let mut reader = csv::Reader::from_reader(text);
            let columns = reader.headers().expect("a header").len();
            let rows: Vec<csv::StringRecord> = reader
                .records()
                .map(|row| row.expect("a whole row"))
                .collect();
            assert!(rows.iter().all(|row| row.len() == columns), "{dataset}");
            if email.starts_with("secretariat") {
                assert!(!rows.is_empty(), "{dataset}.csv has the demo's rows");
            }
            let (status, xlsx) = gzipped(&visitor, &app, &format!("/exports/{dataset}.xlsx")).await;
            assert_eq!(status, StatusCode::OK, "{dataset}.xlsx as {email}");
            assert!(xlsx.starts_with(b"PK"), "{dataset}.xlsx is a workbook");
        }
    }
    // Each download is recorded once, when it completed.
    assert_eq!(
        app.count("audit_events where action = 'exported'").await,
        28
    );
    assert_eq!(
        app.count("audit_events where action = 'export_failed'")
            .await,
        0
    );
}

#[tokio::test]
async fn csv_cells_a_spreadsheet_would_run_are_defused_and_numbers_stay_numbers() {
    let app = spawn_app().await;
    sqlx::query(
        "insert into findings (activity_id, text_en, public, created_by)
         select a.id, '=HYPERLINK(\"http://evil.example\",\"click\")', true, u.id
         from activities a, users u
         where a.district_code = '0203' and a.kind = 'fgd' and u.email = 'ngo@ctod.example'
         limit 1",
    )
    .execute(&app.pool)
    .await
    .expect("a finding that is a formula");
    let secretariat = app.login_as("secretariat@cpdd.example").await;
    let response = secretariat
        .client
        .get(app.url("/exports/findings.csv"))
        .send()
        .await
        .expect("download");
    let text = response.text().await.expect("text");
    assert!(text.contains(r#""'=HYPERLINK(""http://evil.example"",""click"")""#));
    assert!(!text.contains(",=HYPERLINK"), "never a bare formula");
    let activities = secretariat
        .client
        .get(app.url("/exports/activities.csv"))
        .send()
        .await
        .expect("download")
        .text()
        .await
        .expect("text");
    let first_row = activities.lines().nth(1).expect("a row");
    let id = first_row.split(',').next().expect("id");
    assert!(id.parse::<i64>().is_ok(), "ids stay numbers: {id}");
}

#[tokio::test]
async fn nul_bytes_and_broken_utf8_are_refused_before_anything_is_stored() {
    let app = spawn_app().await;
    let visitor = app.visitor();
    let token = visitor.get("/login").await.csrf_token();
    let login = visitor
        .client
        .post(app.url("/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("csrf_token={token}&email=a%00b%40x.org&password=x"))
        .send()
        .await
        .expect("sign in");
    assert_eq!(
        login.status(),
        StatusCode::BAD_REQUEST,
        "a NUL in the sign-in form"
    );
    let ngo = app.login_as("ngo@ctod.example").await;
    for path in [
        "/activities?q=%00",
        "/activities?q=%FF%FE",
        "/districts/%00",
        "/districts?q=a%00b",
        "/dashboard?district=%C3%28",
    ] {
        assert_eq!(
            ngo.get(path).await.status,
            StatusCode::BAD_REQUEST,
            "{path}"
        );
    }
    let activities = app.count("activities").await;
    let attachments = app.count("attachments").await;
    let page = ngo
        .post(
            "/activities",
            &[
                ("kind", "fgd"),
                ("held_on", "2021-10-05"),
                ("district_code", "0203"),
                ("summary", "before\0after"),
                ("count_citizen_female", "7"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert_eq!(app.count("activities").await, activities, "nothing written");
    let hostile_caption = reqwest::multipart::Form::new()
        .text("csrf_token", ngo.csrf_token().await)
        .text("caption", "a\0b")
        .part(
            "file",
            reqwest::multipart::Part::bytes(b"%PDF-1.4\n".to_vec()).file_name("a.pdf"),
        );
    let activity: i64 = sqlx::query_scalar(
        "select id from activities where district_code = '0203' and kind = 'fgd' limit 1",
    )
    .fetch_one(&app.pool)
    .await
    .expect("an FGD");
    let upload = ngo
        .client
        .post(app.url(&format!("/activities/{activity}/attachments")))
        .multipart(hostile_caption)
        .send()
        .await
        .expect("upload");
    assert_eq!(upload.status(), StatusCode::BAD_REQUEST);
    assert_eq!(app.count("attachments").await, attachments);
}

fn resident_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.split_whitespace().next()?.parse().ok())
        .expect("VmRSS")
}

#[tokio::test]
async fn bodies_over_their_limit_are_refused_before_they_are_read() {
    let app = spawn_app().await;
    let visitor = app.visitor();
    let token = visitor.get("/login").await.csrf_token();
    // 20 MB to the sign-in form, ten times: refused without being held.
    let before = resident_kb();
    for _ in 0..10 {
        let body = format!(
            "csrf_token={token}&email=x%40y.org&password={}",
            "a".repeat(20 << 20)
        );
        let response = visitor
            .client
            .post(app.url("/login"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await;
        // The server may close the connection once it has answered.
        if let Ok(response) = response {
            assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
        }
    }
    let grown = resident_kb().saturating_sub(before);
    assert!(grown < 100 * 1024, "grew by {grown} kB");
    // Just over 64 KB of form is too much; an upload of that size is not.
    let long = "a".repeat(70 * 1024);
    let ngo = app.login_as("ngo@ctod.example").await;
    let page = ngo
        .post("/activities", &[("kind", "fgd"), ("summary", &long)])
        .await;
    assert_eq!(page.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(page.body.contains("Too much was sent"));
    let activity: i64 = sqlx::query_scalar(
        "select id from activities where district_code = '0203' and kind = 'fgd' limit 1",
    )
    .fetch_one(&app.pool)
    .await
    .expect("an FGD");
    let pdf = [b"%PDF-1.4\n".as_slice(), &vec![b' '; 100 * 1024]].concat();
    let upload = |visitor: &Visitor, token: String| {
        let form = reqwest::multipart::Form::new()
            .text("csrf_token", token)
            .part(
                "file",
                reqwest::multipart::Part::bytes(pdf.clone()).file_name("minutes.pdf"),
            );
        visitor
            .client
            .post(app.url(&format!("/activities/{activity}/attachments")))
            .multipart(form)
            .send()
    };
    let accepted = upload(&ngo, ngo.csrf_token().await).await.expect("upload");
    assert_eq!(accepted.status(), StatusCode::SEE_OTHER, "100 KB of PDF");
    let donor = app.login_as("donor@donor.example").await;
    let refused = upload(&donor, donor.csrf_token().await)
        .await
        .expect("upload");
    assert_eq!(
        refused.status(),
        StatusCode::PAYLOAD_TOO_LARGE,
        "who may not write gets no room for files"
    );
    // Another site's form is refused before its body is read.
    let forged = visitor
        .client
        .post(app.url("/login"))
        .header("origin", "https://evil.example")
        .header("content-type", "application/x-www-form-urlencoded")
        .body("a".repeat(1 << 20))
        .send()
        .await
        .expect("forged");
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_app_serves_as_a_role_that_cannot_rewrite_the_audit_log() {
    let app = spawn_app().await;
    app.login_as("ngo@ctod.example").await;
    let superuser: bool =
        sqlx::query_scalar("select rolsuper from pg_roles where rolname = current_user")
            .fetch_one(&app.app_pool)
            .await
            .expect("role");
    assert!(!superuser);
    let events = app.count("audit_events").await;
    assert!(events > 0, "signing in left an event");
    for statement in [
        "update audit_events set summary = 'nothing happened'",
        "delete from audit_events",
        "truncate audit_events",
    ] {
        let refused = sqlx::query(statement).execute(&app.app_pool).await;
        assert!(refused.is_err(), "{statement}");
    }
    // Not even the owner rewrites it.
    assert!(
        sqlx::query("delete from audit_events")
            .execute(&app.pool)
            .await
            .is_err()
    );
    assert_eq!(app.count("audit_events").await, events);
    // The application itself still adds to it.
    app.login_as("donor@donor.example").await;
    assert!(app.count("audit_events").await > events);
}

#[tokio::test]
async fn refused_requests_are_recorded_and_repeats_counted() {
    let settings = Settings {
        sign_in_burst: 2,
        ..Settings::default()
    };
    let app = spawn_app_with(settings).await;
    // Signed in before the address reaches its sign-in limit.
    let admin = app.login_as("admin@cpdd.example").await;
    let donor = app.login_as("donor@donor.example").await;
    for _ in 0..3 {
        assert_eq!(
            donor.get("/admin/users").await.status,
            StatusCode::FORBIDDEN
        );
    }
    let forged = donor.post_raw("/logout", &[("csrf_token", "wrong")]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let stranger = app.visitor();
    let mut limited = false;
    for _ in 0..6 {
        let response = stranger.sign_in("nobody@x.org", "wrong password!").await;
        limited |= response.status() == StatusCode::TOO_MANY_REQUESTS;
    }
    assert!(limited, "the sign-in limit was reached");
    let rows: Vec<(String, String, i32, bool)> = sqlx::query_as(
        "select kind, route, count, actor_id is not null from audit_refusals order by kind",
    )
    .fetch_all(&app.pool)
    .await
    .expect("refusals");
    assert!(
        rows.contains(&("forbidden".into(), "/admin/users".into(), 3, true)),
        "{rows:?}"
    );
    assert!(
        rows.contains(&("csrf".into(), "/logout".into(), 1, true)),
        "{rows:?}"
    );
    assert!(
        rows.iter()
            .any(|(kind, route, count, _)| kind == "rate_limited"
                && route == "/login"
                && *count >= 1),
        "{rows:?}"
    );
    let audit = admin.get("/admin/audit").await;
    assert!(audit.body.contains("Refused requests"));
    assert!(audit.body.contains("<code>/admin/users</code>"));
}

#[tokio::test]
async fn signed_in_pages_are_never_stored_and_https_cookies_are_locked_down() {
    let app = spawn_app().await;
    let ngo = app.login_as("ngo@ctod.example").await;
    for path in ["/", "/activities", "/exports/activities.csv"] {
        let response = ngo.client.get(app.url(path)).send().await.expect("page");
        assert_eq!(response.headers()["cache-control"], "no-store", "{path}");
    }
    let secure = spawn_app_with(Settings {
        secure_cookies: true,
        ..Settings::default()
    })
    .await;
    let response = secure
        .visitor()
        .client
        .get(secure.url("/login?lang=km"))
        .send()
        .await
        .expect("sign-in page");
    assert_eq!(
        response.headers()["strict-transport-security"],
        "max-age=31536000; includeSubDomains"
    );
    let cookies: Vec<String> = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok().map(str::to_owned))
        .collect();
    let session = cookies
        .iter()
        .find(|cookie| cookie.starts_with("__Host-samleng_session="))
        .unwrap_or_else(|| panic!("a __Host- session cookie in {cookies:?}"));
    assert!(session.contains("Secure") && session.contains("Path=/"));
    let lang = cookies
        .iter()
        .find(|cookie| cookie.starts_with("lang="))
        .expect("the language cookie");
    assert!(lang.contains("Secure"), "{lang}");
    let plain = app
        .visitor()
        .client
        .get(app.url("/login"))
        .send()
        .await
        .expect("page");
    assert!(plain.headers().get("strict-transport-security").is_none());
}

#[tokio::test]
async fn search_terms_are_text_not_patterns() {
    let app = spawn_app().await;
    let secretariat = app.login_as("secretariat@cpdd.example").await;
    let links_an_activity = |body: &str| {
        body.split(r#"<a href="/activities/"#)
            .skip(1)
            .any(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
    };
    let everything = secretariat.get("/activities").await.body;
    assert!(links_an_activity(&everything), "the demo has activities");
    for wildcard in ["%25", "_", "%5C"] {
        let found = secretariat.get(&format!("/activities?q={wildcard}")).await;
        assert_eq!(found.status, StatusCode::OK);
        assert!(!links_an_activity(&found.body), "q={wildcard}");
        let districts = secretariat.get(&format!("/districts?q={wildcard}")).await;
        assert!(
            !districts.body.contains(r#"href="/districts/0203""#),
            "q={wildcard}"
        );
    }
    let bavel = secretariat.get("/districts?q=bav").await;
    assert!(bavel.body.contains(r#"href="/districts/0204""#));
}

#[tokio::test]
async fn downloads_side_by_side_are_each_in_the_audit_log_when_they_end() {
    let app = spawn_app().await;
    let secretariat = app
        .login_as("secretariat@cpdd.example")
        .await
        .without_unpacking();
    // A district's activities fit in one piece: sent whole, with their length.
    let response = secretariat
        .client
        .get(app.url("/exports/activities.csv?district=0204"))
        .send()
        .await
        .expect("download");
    assert_eq!(response.status(), StatusCode::OK);
    let length = response.content_length().expect("a length");
    let file = response.bytes().await.expect("the file");
    assert_eq!(file.len() as u64, length);
    assert!(file.starts_with(b"\xEF\xBB\xBF"));

    let mut downloads = tokio::task::JoinSet::new();
    for day in 1..=20 {
        let client = secretariat.client.clone();
        let url = app.url(&format!(
            "/exports/activities.csv?district=0204&from=2020-01-{day:02}"
        ));
        downloads.spawn(async move {
            let response = client.get(url).send().await.expect("download");
            assert_eq!(response.status(), StatusCode::OK);
            response.bytes().await.expect("the file")
        });
    }
    let files = downloads.join_all().await;
    assert!(files.iter().all(|file| file.starts_with(b"\xEF\xBB\xBF")));
    // Written together or not, each download is there once, with its filters.
    let logged: Vec<String> = sqlx::query_scalar(
        "select summary from audit_events
         where action = 'exported' and summary like '%from=2020-01-%' order by summary",
    )
    .fetch_all(&app.pool)
    .await
    .expect("the log");
    let expected: Vec<String> = (1..=20)
        .map(|day| format!("from=2020-01-{day:02}"))
        .collect();
    assert_eq!(logged.len(), 20, "{logged:?}");
    for (summary, from) in logged.iter().zip(&expected) {
        assert!(summary.contains(from.as_str()), "{summary} has {from}");
    }
}
