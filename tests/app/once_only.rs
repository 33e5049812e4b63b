//! Forms sent twice change things once (src/web/once.rs): for each form that
//! creates something, the form is read as a browser draws it, sent twice with
//! its one-time key (Back and Save again, a retry), and twice at the same
//! moment (a double click); one record is made, and every answer leads to it.

use reqwest::StatusCode;

use crate::helpers::{TestApp, Visitor, spawn_app, text_of};

async fn scalar(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(sql)
        .fetch_one(&app.pool)
        .await
        .unwrap_or_else(|error| panic!("{sql}: {error}"))
}

/// The one-time key of the form posting to `action` on the page at `path`.
async fn once_key(visitor: &Visitor, path: &str, action: &str) -> String {
    let page = visitor.get(path).await;
    assert_eq!(page.status, StatusCode::OK, "{path}");
    // The form that creates: a page may hold others to the same address
    // (corrections of earlier reports).
    page.body
        .split("<form")
        .map(|form| form.split("</form>").next().unwrap_or_default())
        .filter(|form| form.contains(&format!("action=\"{action}\"")))
        .find_map(|form| {
            let rest = form.split("name=\"once_key\" value=\"").nth(1)?;
            Some(rest.split('"').next()?.to_owned())
        })
        .unwrap_or_else(|| panic!("no form to {action} on {path} carries a one-time key"))
}

/// Sends `fields` with the form's key twice in a row, then twice at once:
/// the table gains one row per key, and every answer leads to the same place.
async fn sent_twice(
    app: &TestApp,
    visitor: &Visitor,
    (page, action): (&str, &str),
    fields: &[(&str, &str)],
    table: &str,
) {
    let count = format!("select count(*) from {table}");
    let before = scalar(app, &count).await;
    let key = once_key(visitor, page, action).await;
    let mut form = fields.to_vec();
    form.push(("once_key", &key));
    let first = visitor.post(action, &form).await;
    assert_eq!(
        first.status,
        StatusCode::SEE_OTHER,
        "{action}: {}",
        first.body
    );
    let again = visitor.post(action, &form).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER, "{action} again");
    assert_eq!(
        again.location, first.location,
        "{action}: to what the first made"
    );
    assert_eq!(
        scalar(app, &count).await,
        before + 1,
        "{action}: one {table}"
    );
    let location = again.location.clone().expect("a location");
    let shown = visitor.get(&location).await;
    assert!(
        text_of(&shown.body).contains("This was saved already"),
        "{location} says so"
    );
    // A double click: both at the same moment, with a fresh key.
    let key = once_key(visitor, page, action).await;
    let mut form = fields.to_vec();
    form.push(("once_key", &key));
    let (one, other) = tokio::join!(visitor.post(action, &form), visitor.post(action, &form));
    assert_eq!(
        (one.status, other.status),
        (StatusCode::SEE_OTHER, StatusCode::SEE_OTHER)
    );
    assert_eq!(
        one.location, other.location,
        "{action}: both lead to one record"
    );
    assert_eq!(
        scalar(app, &count).await,
        before + 2,
        "{action}: one more {table}"
    );
}

#[tokio::test]
async fn every_create_form_sent_twice_creates_one_record() {
    let app = spawn_app().await;
    let ngo = app.login_as("ngo@ctod.example").await;
    let study = scalar(&app, "select min(id) from studies")
        .await
        .to_string();
    let ctod = scalar(&app, "select id from organizations where acronym = 'CTOD'")
        .await
        .to_string();
    let activity_fields = [
        ("kind", "fgd"),
        ("held_on", "2021-09-15"),
        ("district_code", "0204"),
        ("facilitating_organization_id", ctod.as_str()),
        ("study_id", study.as_str()),
        ("count_citizen_female", "9"),
        ("count_citizen_male", "5"),
    ];
    sent_twice(
        &app,
        &ngo,
        ("/activities/new", "/activities"),
        &activity_fields,
        "activities",
    )
    .await;

    let activity = scalar(&app, "select max(id) from activities").await;
    let theme = scalar(&app, "select id from themes where position = 1")
        .await
        .to_string();
    sent_twice(
        &app,
        &ngo,
        (
            &format!("/activities/{activity}"),
            &format!("/activities/{activity}/findings"),
        ),
        &[("text_en", "The boards are empty."), ("themes", &theme)],
        "findings",
    )
    .await;

    let secretariat = app.login_as("secretariat@cpdd.example").await;
    let second_study = scalar(&app, "select max(id) from studies")
        .await
        .to_string();
    let case_study = [
        ("study_id", second_study.as_str()),
        ("district_code", "0212"),
        ("author_organization_id", ctod.as_str()),
        ("title_en", "Civic engagement in Kamrieng, again"),
    ];
    // Case studies are one per district and study: the second key finds the
    // first made, so only one round.
    let before = scalar(&app, "select count(*) from case_studies").await;
    let key = once_key(&secretariat, "/case-studies/new", "/case-studies").await;
    let mut form = case_study.to_vec();
    form.push(("once_key", &key));
    let first = secretariat.post("/case-studies", &form).await;
    assert_eq!(first.status, StatusCode::SEE_OTHER, "{}", first.body);
    let again = secretariat.post("/case-studies", &form).await;
    assert_eq!(
        (again.status, &again.location),
        (StatusCode::SEE_OTHER, &first.location)
    );
    assert_eq!(
        scalar(&app, "select count(*) from case_studies").await,
        before + 1
    );

    let opened = secretariat
        .post(
            "/recommendation-lists",
            &[("district_code", "0212"), ("study_id", &second_study)],
        )
        .await;
    assert_eq!(opened.status, StatusCode::SEE_OTHER, "{}", opened.body);
    let draft = scalar(
        &app,
        "select max(id) from recommendation_lists where status = 'draft'",
    )
    .await;
    sent_twice(
        &app,
        &secretariat,
        (
            &format!("/recommendation-lists/{draft}"),
            &format!("/recommendation-lists/{draft}/recommendations"),
        ),
        &[
            ("text_en", "Open the council meetings"),
            ("addressee", "sna"),
        ],
        "recommendations",
    )
    .await;

    let plan = scalar(
        &app,
        "select id from action_plans where district_code = '0204'",
    )
    .await;
    let endorsed = scalar(&app, "select r.id from recommendations r join recommendation_lists l on l.id = r.list_id where l.district_code = '0204' and l.status = 'endorsed' limit 1").await.to_string();
    let owner = scalar(
        &app,
        "select id from organizations where district_code = '0204'",
    )
    .await
    .to_string();
    sent_twice(
        &app,
        &secretariat,
        (
            &format!("/action-plans/{plan}"),
            &format!("/action-plans/{plan}/actions"),
        ),
        &[
            ("description_en", "Repair the information board"),
            ("recommendations", &endorsed),
            ("owner_organization_id", &owner),
            ("lead", "sna"),
            ("starts_on", "2026-01-01"),
            ("due_on", "2026-06-30"),
            ("budget_riel", "100"),
        ],
        "actions",
    )
    .await;

    let action = scalar(&app, "select max(id) from actions").await;
    let today = samleng::format::today().to_string();
    sent_twice(
        &app,
        &secretariat,
        (
            &format!("/actions/{action}"),
            &format!("/actions/{action}/updates"),
        ),
        &[
            ("reported_on", &today),
            ("status", "in_progress"),
            ("progress", "20"),
        ],
        "action_updates",
    )
    .await;
}

#[tokio::test]
async fn an_invitation_sent_twice_invites_once() {
    let app = spawn_app().await;
    let admin = app.login_as("admin@cpdd.example").await;
    let ctod = scalar(&app, "select id from organizations where acronym = 'CTOD'")
        .await
        .to_string();
    let outbox = scalar(&app, "select count(*) from outbox").await;
    let key = once_key(&admin, "/admin/users/new", "/admin/users").await;
    let form = [
        ("email", "kim@ctod.example"),
        ("display_name", "Kim Sokha"),
        ("role", "ngo"),
        ("organization_id", ctod.as_str()),
        ("preferred_language", "km"),
        ("once_key", key.as_str()),
    ];
    let first = admin.post("/admin/users", &form).await;
    assert_eq!(first.status, StatusCode::OK, "the invitation is on its way");
    let again = admin.post("/admin/users", &form).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    let id = scalar(
        &app,
        "select id from users where email = 'kim@ctod.example'",
    )
    .await;
    assert_eq!(
        again.location,
        Some(format!("/admin/users/{id}")),
        "to the account made"
    );
    let shown = admin.get(&format!("/admin/users/{id}")).await;
    assert!(text_of(&shown.body).contains("This was saved already"));
    assert_eq!(
        scalar(&app, "select count(*) from outbox").await,
        outbox + 1,
        "one invitation sent"
    );
}

#[tokio::test]
async fn an_attachment_sent_twice_is_attached_once() {
    let app = spawn_app().await;
    let ngo = app.login_as("ngo@ctod.example").await;
    let activity = scalar(
        &app,
        "select id from activities where district_code = '0204' order by id limit 1",
    )
    .await;
    let page = format!("/activities/{activity}");
    let action = format!("/activities/{activity}/attachments");
    let key = once_key(&ngo, &page, &action).await;
    let token = ngo.csrf_token().await;
    let before = scalar(&app, "select count(*) from attachments").await;
    let stored = || {
        std::fs::read_dir(app.files_dir.join("attachments"))
            .map(|entries| entries.count())
            .unwrap_or(0)
    };
    let files_before = stored();
    let url = app.url(&action);
    let send = || {
        let form = reqwest::multipart::Form::new()
            .text("csrf_token", token.clone())
            .text("once_key", key.clone())
            .text("caption", "Signed minutes")
            .part(
                "file",
                reqwest::multipart::Part::bytes(b"%PDF-1.4 minutes".to_vec())
                    .file_name("minutes.pdf")
                    .mime_str("application/pdf")
                    .expect("type"),
            );
        ngo.post_multipart(&url, form)
    };
    let first = send().await;
    assert_eq!(first.status, StatusCode::SEE_OTHER, "{}", first.body);
    let again = send().await;
    assert_eq!(
        (again.status, &again.location),
        (StatusCode::SEE_OTHER, &first.location)
    );
    assert_eq!(
        scalar(&app, "select count(*) from attachments").await,
        before + 1
    );
    assert_eq!(
        stored(),
        files_before + 1,
        "the second file does not stay in the store without its record"
    );
}

#[tokio::test]
async fn a_refused_progress_report_comes_back_with_the_note_and_every_problem() {
    let app = spawn_app().await;
    let secretariat = app.login_as("secretariat@cpdd.example").await;
    let action = scalar(
        &app,
        "select id from actions where status <> 'cancelled' order by id limit 1",
    )
    .await;
    let path = format!("/actions/{action}/updates");
    let page = secretariat
        .post(
            &path,
            &[
                ("reported_on", "2099-01-01"),
                ("status", "completed"),
                ("progress", "90"),
                ("note", "The board is up in the market; photos to follow."),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    let text = text_of(&page.body);
    for message in ["Completed means 100%", "Check the date"] {
        assert!(text.contains(message), "{message} in {text}");
    }
    assert!(
        page.body
            .contains("The board is up in the market; photos to follow.")
    );
    assert!(page.body.contains("value=\"90\""), "the progress typed");
    assert_eq!(
        scalar(
            &app,
            &format!(
                "select count(*) from action_updates where action_id = {action} and progress = 90"
            )
        )
        .await,
        0
    );
}

#[tokio::test]
async fn a_paper_endorsement_sent_twice_is_recorded_once() {
    let app = spawn_app().await;
    let list = scalar(
        &app,
        "select id from recommendation_lists where status = 'submitted' order by id limit 1",
    )
    .await;
    let staff = app.login_as("secretariat@cpdd.example").await;
    let action = format!("/recommendation-lists/{list}/endorse-on-paper");
    let key = once_key(&staff, &action, &action).await;
    let token = staff.csrf_token().await;
    let url = app.url(&action);
    let send = || {
        let form = reqwest::multipart::Form::new()
            .text("csrf_token", token.clone())
            .text("once_key", key.clone())
            .text("given_on", "2021-12-15")
            .text("endorser_name", "Chea Sokha")
            .text("endorser_position", "District Governor")
            .part(
                "file",
                reqwest::multipart::Part::bytes(b"%PDF-1.7 the signed letter".to_vec())
                    .file_name("letter.pdf"),
            );
        staff.post_multipart(&url, form)
    };
    let counts = async || {
        (
            scalar(&app, "select count(*) from endorsements").await,
            scalar(&app, "select count(*) from attachments").await,
        )
    };
    let before = counts().await;
    // A double click, then Back and Save again.
    let (one, other) = tokio::join!(send(), send());
    let again = send().await;
    let list_page = format!("/recommendation-lists/{list}");
    for answer in [&one, &other, &again] {
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
        assert_eq!(answer.location.as_deref(), Some(list_page.as_str()));
    }
    assert_eq!(counts().await, (before.0 + 1, before.1 + 1));
    let shown = staff.get(&list_page).await;
    assert!(text_of(&shown.body).contains("This was saved already"));
}

#[tokio::test]
async fn the_forms_of_projects_agreements_and_events_sent_twice_create_one_record() {
    let app = spawn_app().await;
    let staff = app.login_as("secretariat@cpdd.example").await;
    let cpdd = scalar(&app, "select id from organizations where acronym = 'CPDD'")
        .await
        .to_string();
    let ncdd = scalar(&app, "select id from organizations where acronym = 'NCDD'")
        .await
        .to_string();
    let project = [
        ("title_en", "A project sent twice"),
        ("lead", cpdd.as_str()),
        ("starts_on", "2026-01-01"),
        ("ends_on", "2026-12-31"),
        ("currency", "USD"),
        ("status", "planned"),
    ];
    sent_twice(
        &app,
        &staff,
        ("/projects/new", "/projects"),
        &project,
        "projects",
    )
    .await;
    let agreement = [
        ("kind", "mou"),
        ("title_en", "An MoU sent twice"),
        ("parties", cpdd.as_str()),
        ("parties", ncdd.as_str()),
    ];
    sent_twice(
        &app,
        &staff,
        ("/agreements/new", "/agreements"),
        &agreement,
        "agreements",
    )
    .await;
    let event = [
        ("kind", "meeting"),
        ("level", "national"),
        ("title_en", "A meeting sent twice"),
        ("starts_on", "2026-11-02"),
        ("organizer", cpdd.as_str()),
    ];
    sent_twice(&app, &staff, ("/events/new", "/events"), &event, "events").await;
}
