//! Administration: users and organizations, with bad input and concurrent edits.

use reqwest::StatusCode;

use crate::helpers::{TestApp, spawn_app};

const ADMIN: &str = "admin@cpdd.example";

/// A form to send, the status it must get, and a message the page must show.
type Case<'a, Fields> = (Fields, StatusCode, &'a str);

async fn organization_id(app: &crate::helpers::TestApp, acronym: &str) -> String {
    sqlx::query_scalar::<_, i64>("select id from organizations where acronym = $1")
        .bind(acronym)
        .fetch_one(&app.pool)
        .await
        .expect("organization")
        .to_string()
}

#[tokio::test]
async fn an_administrator_creates_a_user_who_can_then_sign_in() {
    let app = spawn_app().await;
    let admin = app.login_as(ADMIN).await;
    let ctod = organization_id(&app, "CTOD").await;
    let created = admin
        .post(
            "/admin/users",
            &[
                ("email", "Sophea@CTOD.example"),
                ("display_name", "Sophea"),
                ("role", "ngo"),
                ("organization_id", &ctod),
                ("preferred_language", "km"),
            ],
        )
        .await;
    assert_eq!(created.status, StatusCode::OK);
    assert!(created.body.contains("Invitation sent"));
    let id = app.user_id("sophea@ctod.example").await;
    let link = invitation_link(&app, id, "/invitation/").await;
    let row: (String, String, String) = sqlx::query_as(
        "select email, role, preferred_language from users where email = 'sophea@ctod.example'",
    )
    .fetch_one(&app.pool)
    .await
    .expect("stored user");
    assert_eq!(
        row,
        ("sophea@ctod.example".into(), "ngo".into(), "km".into())
    );
    // Until the invitation is taken, nobody can sign in as Sophea.
    let chosen = "mekong-sunrise-pagoda-2026";
    assert_eq!(
        app.visitor()
            .sign_in("sophea@ctod.example", chosen)
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let sophea = app.visitor();
    assert_eq!(sophea.get(&link).await.status, StatusCode::OK);
    let weak = sophea
        .post(
            &link,
            &[
                ("new_password", "password"),
                ("confirm_password", "password"),
            ],
        )
        .await;
    assert_eq!(weak.status, StatusCode::UNPROCESSABLE_ENTITY);
    let set = sophea
        .post(
            &link,
            &[("new_password", chosen), ("confirm_password", chosen)],
        )
        .await;
    assert_eq!(set.status, StatusCode::SEE_OTHER);
    assert_eq!(
        sophea
            .post(
                &link,
                &[("new_password", chosen), ("confirm_password", chosen)]
            )
            .await
            .status,
        StatusCode::GONE,
        "once"
    );
    let signed_in = app.visitor().sign_in("sophea@ctod.example", chosen).await;
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.count("account_tokens where purpose = 'invitation' and expires_at > now() + interval '6 days 23 hours'").await,
        1,
        "valid for 7 days"
    );
    assert_eq!(
        app.count("audit_events where action = 'user_created'")
            .await,
        1
    );
}

#[tokio::test]
async fn a_bad_user_form_comes_back_with_the_input_and_nothing_is_written() {
    let app = spawn_app().await;
    let admin = app.login_as(ADMIN).await;
    let ctod = organization_id(&app, "CTOD").await;
    let cpdd = organization_id(&app, "CPDD").await;
    let long_name = "ន".repeat(201);
    let cases: Vec<Case<[(&str, &str); 4]>> = vec![
        (
            [
                ("email", ""),
                ("display_name", "Kim"),
                ("role", "ngo"),
                ("organization_id", &ctod),
            ],
            StatusCode::UNPROCESSABLE_ENTITY,
            "Required.",
        ),
        (
            [
                ("email", "not-an-email"),
                ("display_name", "Kim"),
                ("role", "ngo"),
                ("organization_id", &ctod),
            ],
            StatusCode::UNPROCESSABLE_ENTITY,
            "This is not an e-mail address.",
        ),
        (
            [
                ("email", "kim@ctod.example"),
                ("display_name", &long_name),
                ("role", "ngo"),
                ("organization_id", &ctod),
            ],
            StatusCode::UNPROCESSABLE_ENTITY,
            "Too long.",
        ),
        (
            [
                ("email", "kim@ctod.example"),
                ("display_name", "Kim"),
                ("role", "root"),
                ("organization_id", &ctod),
            ],
            StatusCode::UNPROCESSABLE_ENTITY,
            "Choose one of the options.",
        ),
        (
            [
                ("email", "kim@ctod.example"),
                ("display_name", "Kim"),
                ("role", "ngo"),
                ("organization_id", "99999"),
            ],
            StatusCode::UNPROCESSABLE_ENTITY,
            "Choose one of the options.",
        ),
        (
            [
                ("email", "kim@ctod.example"),
                ("display_name", "Kim"),
                ("role", "ngo"),
                ("organization_id", &cpdd),
            ],
            StatusCode::UNPROCESSABLE_ENTITY,
            "This role does not belong",
        ),
        (
            [
                ("email", "NGO@ctod.example"),
                ("display_name", "Kim"),
                ("role", "ngo"),
                ("organization_id", &ctod),
            ],
            StatusCode::CONFLICT,
            "Another user has this e-mail.",
        ),
    ];
    let users_before = app.count("users").await;
    for (fields, status, message) in cases {
        let page = admin.post("/admin/users", &fields).await;
        assert_eq!(page.status, status, "{message}");
        assert!(page.body.contains(message), "{message}");
        assert!(
            page.body.contains(&format!(r#"value="{}""#, fields[1].1)),
            "the name is kept: {message}"
        );
    }
    assert_eq!(app.count("users").await, users_before);
    assert_eq!(
        app.count("audit_events where action = 'user_created'")
            .await,
        0
    );
}

#[tokio::test]
async fn a_form_that_is_not_utf8_gets_a_bad_request_page() {
    let app = spawn_app().await;
    let admin = app.login_as(ADMIN).await;
    let token = admin.csrf_token().await;
    let response = admin
        .client
        .post(app.url("/admin/users"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(
            [
                format!("csrf_token={token}&display_name=").into_bytes(),
                vec![0xff, 0xfe],
            ]
            .concat(),
        )
        .send()
        .await
        .expect("post");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(
        response
            .text()
            .await
            .expect("body")
            .contains("could not be read")
    );
}

#[tokio::test]
async fn the_second_of_two_edits_from_the_same_version_is_refused() {
    let app = spawn_app().await;
    let first = app.login_as(ADMIN).await;
    let second = app.login_as(ADMIN).await;
    let id = app.user_id("donor@donor.example").await;
    let donor_org = organization_id(&app, "DDP").await;
    let path = format!("/admin/users/{id}");
    let form = |name: &'static str| {
        [
            ("email", "donor@donor.example"),
            ("display_name", name),
            ("role", "donor"),
            ("organization_id", donor_org.as_str()),
            ("preferred_language", "en"),
            ("version", "1"),
        ]
    };
    let saved = first.post(&path, &form("Donor One")).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER);
    let refused = second.post(&path, &form("Donor Two")).await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert!(refused.body.contains("Someone else saved this record"));
    assert!(
        refused.body.contains("Donor One"),
        "the page shows what is stored now"
    );
    let stored: String = sqlx::query_scalar("select display_name from users where id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .expect("name");
    assert_eq!(stored, "Donor One");
}

#[tokio::test]
async fn resetting_a_password_replaces_the_old_one_and_lifts_a_lock() {
    let app = spawn_app().await;
    let admin = app.login_as(ADMIN).await;
    sqlx::query(
        "update users set locked_until = now() + interval '1 hour' where email = 'ngo@as.example'",
    )
    .execute(&app.pool)
    .await
    .expect("lock");
    let id = app.user_id("ngo@as.example").await;
    let reset = admin
        .post(&format!("/admin/users/{id}/reset-password"), &[])
        .await;
    assert_eq!(reset.status, StatusCode::SEE_OTHER);
    assert_eq!(
        app.count("users where email = 'ngo@as.example' and locked_until is null")
            .await,
        1,
        "the lock is lifted"
    );
    let link = invitation_link(&app, id, "/password-reset/").await;
    let chosen = "tonle-sap-heron-river-9";
    let answer = app
        .visitor()
        .post(
            &link,
            &[("new_password", chosen), ("confirm_password", chosen)],
        )
        .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    let old = app
        .visitor()
        .sign_in("ngo@as.example", &app.password_of("ngo@as.example"))
        .await;
    assert_eq!(old.status(), StatusCode::UNAUTHORIZED);
    let new = app.visitor().sign_in("ngo@as.example", chosen).await;
    assert_eq!(new.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn an_administrator_cannot_deactivate_themselves() {
    let app = spawn_app().await;
    let admin = app.login_as(ADMIN).await;
    let id = app.user_id(ADMIN).await;
    let response = admin
        .post(&format!("/admin/users/{id}/deactivate"), &[])
        .await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    let active: bool = sqlx::query_scalar("select active from users where id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .expect("active");
    assert!(active);
    assert!(
        admin
            .get(&format!("/admin/users/{id}"))
            .await
            .body
            .contains("cannot deactivate your own account")
    );
}

#[tokio::test]
async fn a_member_ngo_is_created_with_the_districts_it_covers() {
    let app = spawn_app().await;
    let admin = app.login_as(ADMIN).await;
    let created = admin
        .post(
            "/admin/organizations",
            &[
                ("name_en", "Youth for Kamrieng"),
                ("name_km", "យុវជនកំរៀង"),
                ("acronym", "YK"),
                ("kind", "member_ngo"),
                ("district_code", ""),
                ("districts", "0212"),
                ("districts", "0213"),
            ],
        )
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    let covered: Vec<String> = sqlx::query_scalar(
        "select d.district_code from organization_districts d join organizations o on o.id = d.organization_id
         where o.acronym = 'YK' order by 1",
    )
    .fetch_all(&app.pool)
    .await
    .expect("coverage");
    assert_eq!(covered, ["0212", "0213"]);
}

#[tokio::test]
async fn a_bad_organization_form_is_refused_and_nothing_is_written() {
    let app = spawn_app().await;
    let admin = app.login_as(ADMIN).await;
    let cases: Vec<Case<Vec<(&str, &str)>>> = vec![
        (
            vec![("name_en", ""), ("kind", "donor")],
            StatusCode::UNPROCESSABLE_ENTITY,
            "Required.",
        ),
        (
            vec![("name_en", "Somebody"), ("kind", "club")],
            StatusCode::UNPROCESSABLE_ENTITY,
            "Choose one of the options.",
        ),
        (
            vec![
                ("name_en", "Sangkae Administration"),
                ("kind", "sna"),
                ("district_code", ""),
            ],
            StatusCode::UNPROCESSABLE_ENTITY,
            "needs its district",
        ),
        (
            vec![
                ("name_en", "Nowhere NGO"),
                ("kind", "member_ngo"),
                ("districts", "9999"),
            ],
            StatusCode::UNPROCESSABLE_ENTITY,
            "Unknown district.",
        ),
        (
            vec![
                ("name_en", "Second Battambang Administration"),
                ("kind", "sna"),
                ("district_code", "0203"),
            ],
            StatusCode::CONFLICT,
            "already has its administration",
        ),
        (
            vec![("name_en", "aphivat strey"), ("kind", "member_ngo")],
            StatusCode::CONFLICT,
            "Another organization has this name.",
        ),
    ];
    let before = app.count("organizations").await;
    for (fields, status, message) in cases {
        let page = admin.post("/admin/organizations", &fields).await;
        assert_eq!(page.status, status, "{message}");
        assert!(page.body.contains(message), "{message}");
        assert!(
            page.body.contains(&format!(r#"value="{}""#, fields[0].1)),
            "input kept: {message}"
        );
    }
    assert_eq!(app.count("organizations").await, before);
}

#[tokio::test]
async fn the_audit_log_lists_and_filters_events() {
    let app = spawn_app().await;
    let admin = app.login_as(ADMIN).await;
    app.visitor()
        .sign_in("ngo@ctod.example", "a wrong password!")
        .await;
    let all = admin.get("/admin/audit").await;
    assert_eq!(all.status, StatusCode::OK);
    assert!(all.body.contains("sign_in_failed"));
    assert!(all.body.contains("admin@cpdd.example"));
    let failures = admin.get("/admin/audit?action=sign_in_failed").await;
    assert!(failures.body.contains("ngo@ctod.example"));
    assert!(!failures.body.contains("<td>sign_in</td>"));
}

#[tokio::test]
async fn an_organization_with_users_keeps_its_kind() {
    let app = spawn_app().await;
    let admin = app.login_as(ADMIN).await;
    let id = organization_id(&app, "AS").await;
    let refused = admin
        .post(
            &format!("/admin/organizations/{id}"),
            &[
                ("name_en", "Aphivat Strey"),
                ("acronym", "AS"),
                ("kind", "donor"),
                ("version", "1"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("its kind cannot change"));
    let renamed = admin
        .post(
            &format!("/admin/organizations/{id}"),
            &[
                ("name_en", "Aphivat Strey Cambodia"),
                ("acronym", "AS"),
                ("kind", "member_ngo"),
                ("districts", "0206"),
                ("version", "1"),
            ],
        )
        .await;
    assert_eq!(renamed.status, StatusCode::SEE_OTHER);
    let (kind, covered): (String, Vec<String>) = sqlx::query_as(
        "select o.kind, array(select district_code from organization_districts where organization_id = o.id)
         from organizations o where o.acronym = 'AS'",
    )
    .fetch_one(&app.pool)
    .await
    .expect("organization");
    assert_eq!(
        (kind.as_str(), covered),
        ("member_ngo", vec!["0206".to_owned()])
    );
}

#[tokio::test]
async fn the_secretariat_keeps_the_list_of_themes() {
    let app = spawn_app().await;
    let staff = app.login_as("secretariat@cpdd.example").await;
    let added = staff
        .post(
            "/admin/themes",
            &[
                ("name_en", "Land and natural resources"),
                ("name_km", "ដីធ្លី និងធនធានធម្មជាតិ"),
                ("position", "8"),
            ],
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER);
    let duplicate = staff
        .post(
            "/admin/themes",
            &[("name_en", "budget TRANSPARENCY"), ("position", "9")],
        )
        .await;
    assert_eq!(duplicate.status, StatusCode::CONFLICT);
    assert!(duplicate.body.contains("Another theme has this name."));
    let bad_position = staff
        .post(
            "/admin/themes",
            &[("name_en", "Health"), ("position", "many")],
        )
        .await;
    assert_eq!(bad_position.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad_position.body.contains(r#"value="Health""#));
    let id: i64 =
        sqlx::query_scalar("select id from themes where name_en = 'Land and natural resources'")
            .fetch_one(&app.pool)
            .await
            .expect("theme");
    let retired = staff
        .post(
            &format!("/admin/themes/{id}"),
            &[
                ("name_en", "Land"),
                ("name_km", "ដីធ្លី"),
                ("position", "8"),
                ("version", "1"),
            ],
        )
        .await;
    assert_eq!(retired.status, StatusCode::SEE_OTHER);
    let (name, active): (String, bool) =
        sqlx::query_as("select name_en, active from themes where id = $1")
            .bind(id)
            .fetch_one(&app.pool)
            .await
            .expect("theme");
    assert_eq!(
        (name.as_str(), active),
        ("Land", false),
        "renamed, and retired since 'active' was not sent"
    );
    assert_eq!(app.count("themes").await, 8);
    assert_eq!(
        app.login_as("ngo@ctod.example")
            .await
            .get("/admin/themes")
            .await
            .status,
        StatusCode::FORBIDDEN
    );
}

/// The link in the newest e-mail queued for the user, whose path starts with `prefix`.
pub async fn invitation_link(app: &TestApp, user_id: i64, prefix: &str) -> String {
    let link: String = sqlx::query_scalar(
        "select link from outbox where user_id = $1 and link like $2 || '%' order by id desc limit 1",
    )
    .bind(user_id)
    .bind(prefix)
    .fetch_one(&app.pool)
    .await
    .expect("a link e-mailed to the user");
    link
}
