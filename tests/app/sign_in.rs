//! Signing in and out, lock-out, session rotation and the ends of sessions.

use reqwest::StatusCode;
use samleng::state::Settings;

use crate::helpers::{spawn_app, spawn_app_with};

const NGO: &str = "ngo@ctod.example";

#[tokio::test]
async fn a_user_signs_in_and_lands_on_their_home_page() {
    let app = spawn_app().await;
    let visitor = app.visitor();
    let response = visitor.sign_in(NGO, &app.password_of(NGO)).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/");
    let home = visitor.get("/").await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.body.contains("Srey Mom (CTOD)"));
    assert!(home.body.contains("Your districts"));
    assert!(home.body.contains("Bavel"), "CTOD covers Bavel");
    assert!(
        !home.body.contains("/admin/users"),
        "no administration link for NGO staff"
    );
    let events = app.count("audit_events where action = 'sign_in'").await;
    assert_eq!(events, 1);
}

#[tokio::test]
async fn an_unknown_email_and_a_wrong_password_get_the_same_answer() {
    let app = spawn_app().await;
    let visitor = app.visitor();
    let wrong_password = visitor.sign_in(NGO, "not the password at all").await;
    let unknown_email = visitor
        .sign_in("nobody@nowhere.example", "not the password at all")
        .await;
    assert_eq!(wrong_password.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(unknown_email.status(), StatusCode::UNAUTHORIZED);
    let message = "do not match an active account";
    let first = wrong_password.text().await.expect("body");
    let second = unknown_email.text().await.expect("body");
    assert!(first.contains(message) && second.contains(message));
    assert_eq!(
        app.count("audit_events where action = 'sign_in_failed'")
            .await,
        2
    );
}

#[tokio::test]
async fn five_failures_lock_the_account_even_against_the_right_password() {
    let app = spawn_app().await;
    let visitor = app.visitor();
    for _ in 0..5 {
        let response = visitor.sign_in(NGO, "wrong password here").await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let locked = visitor.sign_in(NGO, &app.password_of(NGO)).await;
    assert_eq!(locked.status(), StatusCode::UNAUTHORIZED);
    let is_locked: bool =
        sqlx::query_scalar("select locked_until > now() from users where email = $1")
            .bind(NGO)
            .fetch_one(&app.pool)
            .await
            .expect("lock");
    assert!(is_locked);
}

#[tokio::test]
async fn one_address_is_slowed_down_after_a_burst_of_attempts() {
    let app = spawn_app_with(Settings {
        sign_in_burst: 3,
        ..Settings::default()
    })
    .await;
    let visitor = app.visitor();
    for _ in 0..3 {
        let response = visitor
            .sign_in("someone@nowhere.example", "a wrong password")
            .await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let limited = visitor.sign_in(NGO, &app.password_of(NGO)).await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(
        limited
            .text()
            .await
            .expect("body")
            .contains("Too many attempts")
    );
}

#[tokio::test]
async fn signing_in_gives_a_new_session_id() {
    let app = spawn_app().await;
    let visitor = app.visitor();
    visitor.get("/login").await;
    let before = visitor
        .session_cookie()
        .expect("a session before signing in");
    let response = visitor.sign_in(NGO, &app.password_of(NGO)).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let after = visitor
        .session_cookie()
        .expect("a session after signing in");
    assert_ne!(before, after);
}

#[tokio::test]
async fn signing_out_ends_the_session_on_the_server() {
    let app = spawn_app().await;
    let visitor = app.login_as(NGO).await;
    let cookie = visitor.session_cookie().expect("session");
    let signed_out = visitor.post("/logout", &[]).await;
    assert_eq!(signed_out.status, StatusCode::SEE_OTHER);
    assert_eq!(signed_out.location.as_deref(), Some("/login"));
    let replay = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
        .get(app.url("/"))
        .header("cookie", format!("samleng_session={cookie}"))
        .send()
        .await
        .expect("replay");
    assert_eq!(replay.status(), StatusCode::SEE_OTHER);
    assert_eq!(replay.headers()["location"], "/login");
}

#[tokio::test]
async fn a_deactivated_user_is_signed_out_at_once() {
    let app = spawn_app().await;
    let ngo = app.login_as(NGO).await;
    assert_eq!(ngo.get("/").await.status, StatusCode::OK);
    let admin = app.login_as("admin@cpdd.example").await;
    let id = app.user_id(NGO).await;
    let response = admin
        .post(&format!("/admin/users/{id}/deactivate"), &[])
        .await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    let after = ngo.get("/").await;
    assert_eq!(after.status, StatusCode::SEE_OTHER);
    assert_eq!(after.location.as_deref(), Some("/login"));
    let again = app.visitor().sign_in(NGO, &app.password_of(NGO)).await;
    assert_eq!(again.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn changing_ones_password_ends_ones_other_sessions() {
    let app = spawn_app().await;
    let phone = app.login_as(NGO).await;
    let laptop = app.login_as(NGO).await;
    let new_password = "lotus-river-kampot-2026";
    let changed = laptop
        .post(
            "/account/password",
            &[
                ("current_password", &app.password_of(NGO)),
                ("new_password", new_password),
                ("confirm_password", new_password),
            ],
        )
        .await;
    assert_eq!(changed.status, StatusCode::SEE_OTHER);
    let account = laptop.get("/account").await;
    assert_eq!(
        account.status,
        StatusCode::OK,
        "the session that changed it goes on"
    );
    assert!(account.body.contains("Your password is changed"));
    assert_eq!(
        phone.get("/").await.status,
        StatusCode::SEE_OTHER,
        "the other session ended"
    );
    let old = app.visitor().sign_in(NGO, &app.password_of(NGO)).await;
    assert_eq!(old.status(), StatusCode::UNAUTHORIZED);
    let new = app.visitor().sign_in(NGO, new_password).await;
    assert_eq!(new.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_bad_password_change_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let visitor = app.login_as(NGO).await;
    let current = app.password_of(NGO);
    let cases: [(&str, &str, &str, &str); 4] = [
        (
            "wrong current password",
            "lotus-river-kampot-2026",
            "lotus-river-kampot-2026",
            "not your current password",
        ),
        (&current, "short", "short", "at least 12 characters"),
        (
            &current,
            "password1234",
            "password1234",
            "too easy to guess",
        ),
        (
            &current,
            "lotus-river-kampot-2026",
            "lotus-river-kampot-2027",
            "two new passwords differ",
        ),
    ];
    let hash_before: String =
        sqlx::query_scalar("select password_hash from users where email = $1")
            .bind(NGO)
            .fetch_one(&app.pool)
            .await
            .expect("hash");
    for (current_password, new_password, confirm_password, message) in cases {
        let page = visitor
            .post(
                "/account/password",
                &[
                    ("current_password", current_password),
                    ("new_password", new_password),
                    ("confirm_password", confirm_password),
                ],
            )
            .await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{message}");
        assert!(page.body.contains(message), "{message}");
    }
    let hash_after: String = sqlx::query_scalar("select password_hash from users where email = $1")
        .bind(NGO)
        .fetch_one(&app.pool)
        .await
        .expect("hash");
    assert_eq!(hash_before, hash_after);
}

#[tokio::test]
async fn after_signing_in_people_land_on_the_page_they_asked_for_and_never_elsewhere() {
    let app = spawn_app().await;
    let visitor = app.visitor();
    let asked = visitor.get("/activities?district=0203").await;
    assert_eq!(asked.status, StatusCode::SEE_OTHER);
    assert_eq!(
        asked.location.as_deref(),
        Some("/login?next=%2Factivities%3Fdistrict%3D0203")
    );
    let form = visitor
        .get(asked.location.as_deref().unwrap_or_default())
        .await;
    assert!(
        form.body
            .contains(r#"<input type="hidden" name="next" value="/activities?district=0203">"#)
    );
    let token = form.csrf_token();
    let signed_in = visitor
        .post_raw(
            "/login",
            &[
                ("csrf_token", &token),
                ("email", NGO),
                ("password", &app.password_of(NGO)),
                ("next", "/activities?district=0203"),
            ],
        )
        .await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER);
    assert_eq!(
        signed_in.location.as_deref(),
        Some("/activities?district=0203")
    );
    // Another site, however it is spelled, is never where sign-in leads.
    for next in [
        "//evil.example/",
        "https://evil.example/",
        "/\\evil.example",
        "javascript:alert(1)",
        "evil.example",
        "/login",
    ] {
        let visitor = app.visitor();
        let token = visitor.get("/login").await.csrf_token();
        let signed_in = visitor
            .post_raw(
                "/login",
                &[
                    ("csrf_token", &token),
                    ("email", NGO),
                    ("password", &app.password_of(NGO)),
                    ("next", next),
                ],
            )
            .await;
        assert_eq!(signed_in.location.as_deref(), Some("/"), "next={next}");
    }
}

#[tokio::test]
async fn a_sign_out_holds_while_the_same_session_is_busy_on_two_instances() {
    use std::str::FromStr as _;
    use tower_sessions::SessionStore as _;
    let a = spawn_app().await;
    let b = a.another_instance().await;
    let visitor = a.login_as(NGO).await;
    let cookie = visitor.session_cookie().expect("a session");
    let id = tower_sessions::session::Id::from_str(&cookie).expect("a session id");
    // A session last seen long ago: every request now refreshes it, which is
    // when a request that read it before the sign-out would write it back.
    let store = tower_sessions_sqlx_store::PostgresStore::new(a.pool.clone());
    let mut record = store.load(&id).await.expect("load").expect("the session");
    record.data.insert("last_seen".into(), serde_json::json!(0));
    store.save(&record).await.expect("aged");
    a.heard_everything().await;
    b.heard_everything().await;
    let on_b = visitor.on(&b);
    let busy = async || {
        for _ in 0..10 {
            let (one, other) = tokio::join!(visitor.get("/activities"), on_b.get("/activities"));
            assert!(one.status.is_success() || one.status.is_redirection());
            assert!(other.status.is_success() || other.status.is_redirection());
        }
    };
    let (signed_out, _, _) = tokio::join!(visitor.post("/logout", &[]), busy(), busy());
    assert_eq!(signed_out.status, StatusCode::SEE_OTHER);
    let rows: i64 = sqlx::query_scalar("select count(*) from tower_sessions.session where id = $1")
        .bind(&cookie)
        .fetch_one(&a.pool)
        .await
        .expect("count");
    assert_eq!(rows, 0, "the session row is gone");
    a.heard_everything().await;
    b.heard_everything().await;
    let stale = |base: &str| {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        let request = client
            .get(format!("{base}/activities"))
            .header("cookie", format!("samleng_session={cookie}"));
        async move { request.send().await.expect("GET") }
    };
    for (name, instance) in [("a", &a), ("b", &b)] {
        let response = stale(&instance.url("")).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "instance {name}");
    }
    let audited: i64 =
        sqlx::query_scalar("select count(*) from audit_events where action = 'signed_out'")
            .fetch_one(&a.pool)
            .await
            .expect("audit");
    assert_eq!(audited, 1, "the sign-out is audited");
}

/// The sign-in page leads visitors to what is public, and the demo's says
/// where its sign-ins were printed; a real installation's says nothing of it.
#[tokio::test]
async fn the_sign_in_page_links_the_public_pages_and_the_demo_says_where_its_sign_ins_are() {
    let demo = spawn_app_with(Settings {
        demo: true,
        ..Settings::default()
    })
    .await;
    let page = demo.visitor().get("/login").await;
    assert!(page.body.contains(r#"<a href="/public">"#));
    assert!(page.body.contains("printed once, in the terminal"));
    let khmer = demo.visitor().get("/login?lang=km").await;
    assert!(khmer.body.contains("នេះជាកម្មវិធីសាកល្បង"));

    let installed = spawn_app().await;
    let page = installed.visitor().get("/login").await;
    assert!(page.body.contains(r#"<a href="/public">"#));
    assert!(!page.body.contains("printed once, in the terminal"));
}
