//! Bad addresses and values (issue 24): the app's own pages in the reader's
//! language, unknown choices and dates out of range refused with the input
//! kept, over-long text refused rather than cut, limits stated, `next=` capped.

use reqwest::StatusCode;

use crate::helpers::{spawn_app, text_of};

#[tokio::test]
async fn an_id_or_a_page_that_is_no_number_gets_the_apps_own_page_in_the_readers_language() {
    let app = spawn_app().await;
    let ngo = app.login_as("ngo@ctod.example").await;
    for path in [
        "/activities/abc",
        "/activities?page=abc",
        "/case-studies/1x/edit",
    ] {
        let page = ngo.get(path).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{path}");
        assert!(
            page.body.contains("<nav"),
            "{path}: the page keeps the navigation"
        );
        assert!(!page.body.contains("Cannot parse"), "{path}: {}", page.body);
        assert!(
            text_of(&page.body).contains("The request could not be read"),
            "{path}"
        );
    }
    ngo.get("/?lang=km").await;
    let khmer = ngo.get("/activities/abc").await;
    assert_eq!(khmer.status, StatusCode::BAD_REQUEST);
    assert!(khmer.body.contains("lang=\"km\""), "in Khmer");
    let anonymous = app.visitor().get("/public/studies/abc").await;
    assert_eq!(anonymous.status, StatusCode::BAD_REQUEST);
    assert!(
        anonymous.body.contains("<html"),
        "an HTML page for visitors too"
    );
}

#[tokio::test]
async fn an_unknown_language_and_a_date_out_of_range_are_refused_with_the_input_kept() {
    let app = spawn_app().await;
    let admin = app.login_as("admin@cpdd.example").await;
    let ctod: i64 = sqlx::query_scalar("select id from organizations where acronym = 'CTOD'")
        .fetch_one(&app.pool)
        .await
        .expect("CTOD");
    let ctod = ctod.to_string();
    let users = app.count("users").await;
    let page = admin
        .post(
            "/admin/users",
            &[
                ("email", "kim@ctod.example"),
                ("display_name", "Kim Sokha"),
                ("role", "ngo"),
                ("organization_id", &ctod),
                ("preferred_language", "fr"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains("value=\"Kim Sokha\""));
    assert_eq!(app.count("users").await, users, "nobody created");

    let dashboard = admin.get("/dashboard?from=0202-01-01").await;
    assert_eq!(dashboard.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(text_of(&dashboard.body).contains("between the years 1970 and 2100"));
    assert!(
        dashboard.body.contains("value=\"0202-01-01\""),
        "the input is kept"
    );
}

#[tokio::test]
async fn long_text_is_refused_not_cut_and_upload_forms_state_their_limit() {
    let app = spawn_app().await;
    let ngo = app.login_as("ngo@ctod.example").await;
    let activity: i64 = sqlx::query_scalar(
        "select id from activities where district_code = '0204' order by id limit 1",
    )
    .fetch_one(&app.pool)
    .await
    .expect("an activity");
    let page = ngo.get(&format!("/activities/{activity}")).await;
    // The test server takes files of up to 1 MB (its settings).
    assert!(text_of(&page.body).contains("Files up to 1 MB."));
    let before = app.count("attachments").await;
    let caption = "a".repeat(70_000);
    let form = reqwest::multipart::Form::new()
        .text("csrf_token", ngo.csrf_token().await)
        .text("caption", caption.clone())
        .part(
            "file",
            reqwest::multipart::Part::bytes(b"%PDF-1.4 minutes".to_vec()).file_name("minutes.pdf"),
        );
    let refused = ngo
        .post_multipart(
            &app.url(&format!("/activities/{activity}/attachments")),
            form,
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(text_of(&refused.body).contains("longer than 300 characters"));
    assert_eq!(app.count("attachments").await, before, "nothing attached");
}

#[tokio::test]
async fn a_very_long_next_address_is_not_repeated_to_the_browser() {
    let app = spawn_app().await;
    let long = format!("/activities?q={}", "x".repeat(45_000));
    let page = app.visitor().get(&long).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    let location = page.location.expect("to the sign-in page");
    assert!(location.len() < 3_000, "{} bytes", location.len());
    assert!(location.starts_with("/login"));
}

/// A refused form ties each message to its field for screen readers, and the
/// first refused field takes the focus.
#[tokio::test]
async fn a_refused_forms_messages_are_tied_to_their_fields_and_the_first_takes_the_focus() {
    let app = spawn_app().await;
    let staff = app.login_as("secretariat@cpdd.example").await;
    let page = staff
        .post(
            "/studies",
            &[
                ("title_en", ""),
                ("province_code", "02"),
                ("period_start", "2026-01-01"),
                ("period_end", "not a date"),
            ],
        )
        .await;
    assert_eq!(
        page.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        page.body
    );
    let described: Vec<&str> = page
        .body
        .split("aria-describedby=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .filter(|id| id.ends_with("-error"))
        .collect();
    assert!(described.len() >= 2, "{described:?}");
    for id in &described {
        assert!(
            page.body.contains(&format!("id=\"{id}\"")),
            "{id} names a message"
        );
    }
    assert_eq!(
        page.body.matches(" autofocus").count(),
        1,
        "one field takes the focus"
    );
    let focused = page.body.split(" autofocus").next().unwrap_or_default();
    let focused = &focused[focused.rfind('<').unwrap_or(0)..];
    assert!(
        focused.contains(&format!("aria-describedby=\"{}\"", described[0])),
        "the first refused field: {focused}"
    );
}
