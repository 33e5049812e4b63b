//! The `samleng` command against a test database.

use std::io::Write as _;
use std::process::{Command, Stdio};

use reqwest::StatusCode;

use crate::helpers::spawn_app;

fn samleng(database_url: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_samleng"));
    command
        .env("DATABASE_URL", database_url)
        .env("RUST_LOG", "error");
    command
}

/// The generated password `create-user` prints once.
fn printed_password(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout)
        .split("shown only this once): ")
        .nth(1)
        .expect("password")
        .trim()
        .to_owned()
}

#[tokio::test]
async fn create_user_takes_a_password_from_stdin_or_generates_one() {
    let app = spawn_app().await;
    let mut child = samleng(&app.database_url)
        .args([
            "create-user",
            "--email",
            "new@cpdd.example",
            "--name",
            "New Secretariat",
        ])
        .args(["--role", "secretariat", "--org", "cpdd", "--password-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run samleng");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"kampot-pepper-garden-7\n")
        .expect("write");
    let output = child.wait_with_output().expect("output");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    let signed_in = app
        .visitor()
        .sign_in("new@cpdd.example", "kampot-pepper-garden-7")
        .await;
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);

    let generated = samleng(&app.database_url)
        .args([
            "create-user",
            "--email",
            "donor2@donor.example",
            "--name",
            "Second Donor",
        ])
        .args(["--role", "donor", "--org", "DDP"])
        .output()
        .expect("run samleng");
    assert!(generated.status.success());
    let signed_in = app
        .visitor()
        .sign_in("donor2@donor.example", &printed_password(&generated))
        .await;
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);

    let mismatch = samleng(&app.database_url)
        .args([
            "create-user",
            "--email",
            "x@cpdd.example",
            "--name",
            "X",
            "--role",
            "sna",
            "--org",
            "CPDD",
        ])
        .output()
        .expect("run samleng");
    assert!(!mismatch.status.success());
    assert_eq!(app.count("users where email = 'x@cpdd.example'").await, 0);
}

/// The demo's passwords are printed once; `set-password` gets an account back,
/// lifting a lock-out and ending the sessions signed in with the old password.
#[tokio::test]
async fn set_password_gets_a_lost_or_locked_account_back() {
    let app = spawn_app().await;
    let email = "ngo@ctod.example";
    let old = app.login_as(email).await;
    sqlx::query("update users set failed_sign_ins = 5, locked_until = now() + interval '1 hour' where email = $1")
        .bind(email)
        .execute(&app.pool)
        .await
        .expect("a locked account");
    let output = samleng(&app.database_url)
        .args(["set-password", "--email", "NGO@ctod.example"])
        .output()
        .expect("run samleng");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let signed_in = app
        .visitor()
        .sign_in(email, &printed_password(&output))
        .await;
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        old.get("/").await.location.as_deref(),
        Some("/login"),
        "the session of the old password is over"
    );
    let audited: i64 = sqlx::query_scalar(
        "select count(*) from audit_events where action = 'password_set' and actor_id is null",
    )
    .fetch_one(&app.pool)
    .await
    .expect("audit");
    assert_eq!(audited, 1);

    let unknown = samleng(&app.database_url)
        .args(["set-password", "--email", "nobody@nowhere.example"])
        .output()
        .expect("run samleng");
    assert!(!unknown.status.success());
}

#[tokio::test]
async fn an_empty_setting_in_the_environment_file_means_not_set() {
    let app = spawn_app().await;
    let output = samleng(&app.database_url)
        .env("SAMLENG_METRICS_BIND", "")
        .env("SAMLENG_SMTP_URL", "")
        .env("SAMLENG_S3_BUCKET", "")
        .env("SAMLENG_OWNER_DATABASE_URL", "")
        .arg("migrate")
        .output()
        .expect("run samleng");
    assert!(output.status.success(), "{output:?}");
    assert!(String::from_utf8_lossy(&output.stdout).contains("up to date"));
}

#[tokio::test]
async fn the_first_administrator_of_a_new_installation_brings_their_organization() {
    let app = spawn_app().await;
    let args = [
        "create-user",
        "--email",
        "first@coalition.example",
        "--name",
        "First Administrator",
        "--role",
        "admin",
        "--org",
        "NEWCO",
    ];
    let refused = samleng(&app.database_url)
        .args(args)
        .output()
        .expect("run samleng");
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--create-org"));
    assert_eq!(app.count("organizations where acronym = 'NEWCO'").await, 0);

    let created = samleng(&app.database_url)
        .args(args)
        .arg("--create-org")
        .output()
        .expect("run samleng");
    assert!(created.status.success(), "{created:?}");
    assert_eq!(
        app.count("organizations where acronym = 'NEWCO' and kind = 'secretariat'")
            .await,
        1
    );
    let signed_in = app
        .visitor()
        .sign_in("first@coalition.example", &printed_password(&created))
        .await;
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.count("audit_events where action = 'organization_created'")
            .await,
        1
    );
}

#[tokio::test]
async fn import_gazetteer_reports_bad_lines_and_imports_nothing() {
    let app = spawn_app().await;
    let dir = std::env::temp_dir().join(format!("samleng-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let bad = dir.join("bad.csv");
    std::fs::write(&bad, "code,parent_code,type,name_en,name_km\n0215,02,district,Fine,\n0216,03,district,Wrong parent,\n")
        .expect("write");
    let output = samleng(&app.database_url)
        .arg("import-gazetteer")
        .arg(&bad)
        .output()
        .expect("run");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("bad.csv:3"), "{stderr}");
    assert_eq!(app.count("districts").await, 14);
    std::fs::remove_dir_all(&dir).ok();
}

/// The budgets' volume (docs/design.md), on top of the demo data, and a seeded donor's dashboard.
#[tokio::test]
async fn seed_large_adds_the_benchmark_volume_and_its_accounts_sign_in() {
    let app = spawn_app().await;
    let before = |table: &'static str| app.count(table);
    let activities = before("activities").await;
    let recommendations = before("recommendations").await;
    let counts = before("participant_counts").await;
    let output = samleng(&app.database_url)
        .args(["seed", "--scale", "large"])
        .output()
        .expect("run samleng seed");
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{printed}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(printed.contains("Seeded in"), "{printed}");
    assert_eq!(app.count("activities").await - activities, 50_000);
    assert_eq!(app.count("participant_counts").await - counts, 300_000);
    assert_eq!(
        app.count("recommendations").await - recommendations,
        200_000
    );
    assert_eq!(
        app.count("case_studies where title_en like 'Seed %'").await,
        2_000
    );
    assert_eq!(
        app.count("findings where text_en like 'Seed %'").await,
        100_000
    );
    assert_eq!(
        app.count("actions where description_en like 'Seed %'")
            .await,
        100_000
    );
    assert_eq!(
        app.count("action_updates where note like 'Seed %'").await,
        300_000
    );
    assert_eq!(app.count("users where email like 'seed-%'").await, 500);
    assert!(app.count("districts").await >= 200);
    // The actions' current state is their latest report's.
    assert_eq!(
        app.count(
            "actions a where a.description_en like 'Seed %' and a.status <> (
                 select u.status from action_updates u where u.action_id = a.id
                 order by u.reported_on desc, u.id desc limit 1)"
        )
        .await,
        0
    );

    // Loaded without triggers, its roll-ups are computed once at the end, and
    // agree with the rows; the search indexes dropped for the load are back.
    assert_eq!(
        app.count(
            "activities a where a.participants <> (
                 select coalesce(sum(p.count), 0) from participant_counts p
                 where p.activity_id = a.id)"
        )
        .await,
        0
    );
    assert_eq!(
        app.count(
            "recommendation_lists l where l.recommendation_count <> (
                 select count(*) from recommendations r where r.list_id = l.id)"
        )
        .await,
        0
    );
    assert_eq!(
        app.count(
            "action_plans p where p.action_count <> (
                 select count(*) from actions a where a.plan_id = p.id)"
        )
        .await,
        0
    );
    assert_eq!(
        app.count("pg_indexes where indexdef like '%gin_trgm_ops%'")
            .await,
        3
    );

    let again = samleng(&app.database_url)
        .args(["seed", "--scale", "large"])
        .output()
        .expect("run samleng seed again");
    assert!(!again.status.success(), "a second seed is refused");

    let donor = app.visitor();
    let signed_in = donor
        .sign_in("seed-donor-1@seed.example", "seed-large-scale-2026")
        .await;
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    let dashboard = donor.get("/dashboard?province=02").await;
    assert_eq!(dashboard.status, StatusCode::OK);
}
