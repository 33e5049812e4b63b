//! Correcting the record: a finding is corrected (each save a revision),
//! deleted while nothing cites it, and redacted, history included, when it
//! names someone by mistake.

use reqwest::StatusCode;

use crate::helpers::{TestApp, Visitor, spawn_app};

const NAME: &str = "Sok Dara";

async fn scalar(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(&app.pool)
        .await
        .expect(sql)
}

/// CTOD adds a finding to Battambang's FGD, as its form sends it.
async fn add_finding(app: &TestApp, ngo: &Visitor, text: &str) -> (i64, i64) {
    let activity = scalar(
        app,
        "select id from activities where district_code = '0203' and kind = 'fgd'",
    )
    .await;
    let theme = scalar(app, "select min(id) from themes").await.to_string();
    let added = ngo
        .post(
            &format!("/activities/{activity}/findings"),
            &[
                ("text_en", text),
                ("quote", "We were not told about the budget"),
                ("quote_descriptor", "woman, CBO member"),
                ("themes", &theme),
            ],
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    let finding = scalar(app, "select max(id) from findings").await;
    (activity, finding)
}

#[tokio::test]
async fn a_finding_is_corrected_with_its_history_and_deleted_only_by_its_writers() {
    let app = spawn_app().await;
    let ngo = app.login_as("ngo@ctod.example").await;
    let (activity, finding) = add_finding(&app, &ngo, "Citizens asked for the budget").await;
    let theme = scalar(&app, "select min(id) from themes").await.to_string();
    let corrected = ngo
        .post(
            &format!("/findings/{finding}/edit"),
            &[
                ("text_en", "Citizens asked for the budget twice"),
                ("text_km", "ប្រជាពលរដ្ឋបានសុំថវិកា"),
                ("themes", &theme),
                ("public", "on"),
                ("version", "1"),
            ],
        )
        .await;
    assert_eq!(
        corrected.status,
        StatusCode::SEE_OTHER,
        "{}",
        corrected.body
    );
    let history = ngo.get(&format!("/findings/{finding}/revisions")).await;
    assert_eq!(history.status, StatusCode::OK);
    assert!(
        history
            .body
            .contains(&format!("/findings/{finding}/revisions/2"))
    );
    let second = ngo.get(&format!("/findings/{finding}/revisions/2")).await;
    assert!(second.body.contains("Citizens asked for the budget twice"));
    // Fields are named in words, in the reader's language.
    assert!(
        history
            .body
            .contains("Finding in English, Finding in Khmer")
    );
    assert!(
        second
            .body
            .contains("<th scope=\"row\">Finding in English ✱</th>")
    );
    assert!(!second.body.contains(">text_en"));
    let first = ngo.get(&format!("/findings/{finding}/revisions/1")).await;
    assert!(first.body.contains("Citizens asked for the budget"));
    // Bad input comes back with the form; a stale save is refused.
    let empty = ngo
        .post(&format!("/findings/{finding}/edit"), &[("version", "2")])
        .await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    let stale = ngo
        .post(
            &format!("/findings/{finding}/edit"),
            &[("text_en", "Old tab"), ("themes", &theme), ("version", "1")],
        )
        .await;
    assert_eq!(stale.status, StatusCode::CONFLICT);
    assert!(stale.body.contains("Old tab"), "the input is kept");
    // Who may delete: the district's writers, no one else.
    for email in [
        "ngo@as.example",
        "sna@battambang.example",
        "donor@donor.example",
    ] {
        let refused = app
            .login_as(email)
            .await
            .post(&format!("/findings/{finding}/delete"), &[])
            .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{email}");
    }
    let deleted = ngo.post(&format!("/findings/{finding}/delete"), &[]).await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER);
    assert_eq!(
        deleted.location.as_deref(),
        Some(format!("/activities/{activity}#findings").as_str())
    );
    assert_eq!(
        scalar(
            &app,
            &format!("select count(*) from findings where id = {finding}")
        )
        .await,
        0
    );
    assert_eq!(
        scalar(
            &app,
            &format!(
                "select count(*) from revisions where entity = 'finding' and entity_id = {finding}"
            )
        )
        .await,
        0,
        "its history goes with it"
    );
    assert_eq!(
        scalar(&app, &format!("select count(*) from audit_events where action = 'finding_deleted' and entity_id = '{finding}'")).await,
        1
    );
    // A finding a recommendation cites stays.
    let cited = scalar(&app, "select min(finding_id) from recommendation_evidence").await;
    let writer = app.login_as("secretariat@cpdd.example").await;
    let refused = writer.post(&format!("/findings/{cited}/delete"), &[]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("cited as evidence"));
    assert_eq!(
        scalar(
            &app,
            &format!("select count(*) from findings where id = {cited}")
        )
        .await,
        1
    );
}

#[tokio::test]
async fn a_redacted_name_survives_nowhere_not_even_in_history() {
    let app = spawn_app().await;
    let ngo = app.login_as("ngo@ctod.example").await;
    let (activity, finding) =
        add_finding(&app, &ngo, &format!("{NAME} said the council never meets")).await;
    let theme = scalar(&app, "select min(id) from themes").await.to_string();
    let quoted = format!("{NAME} from the village said so");
    ngo.post(
        &format!("/findings/{finding}/edit"),
        &[
            ("text_en", quoted.as_str()),
            ("quote", NAME),
            ("quote_descriptor", "woman, CBO member"),
            ("themes", &theme),
            ("public", "on"),
            ("version", "1"),
        ],
    )
    .await;
    // Only the secretariat redacts, and only with a reason.
    let refused = ngo
        .post(
            &format!("/findings/{finding}/redact"),
            &[("reason", "names someone")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let secretariat = app.login_as("secretariat@cpdd.example").await;
    let no_reason = secretariat
        .post(&format!("/findings/{finding}/redact"), &[("reason", " ")])
        .await;
    assert_eq!(no_reason.status, StatusCode::UNPROCESSABLE_ENTITY);
    let redacted = secretariat
        .post(
            &format!("/findings/{finding}/redact"),
            &[("reason", "named a participant")],
        )
        .await;
    assert_eq!(redacted.status, StatusCode::SEE_OTHER);

    let page = secretariat
        .get(&format!("/activities/{activity}"))
        .await
        .body;
    assert!(
        page.contains("Redacted by"),
        "the page says it was redacted"
    );
    assert!(page.contains("(named a participant)"));
    let mut looked_at = vec![
        page,
        secretariat.get(&format!("/findings/{finding}")).await.body,
        secretariat
            .get(&format!("/findings/{finding}/revisions"))
            .await
            .body,
    ];
    for version in 1..=3 {
        looked_at.push(
            secretariat
                .get(&format!("/findings/{finding}/revisions/{version}"))
                .await
                .body,
        );
    }
    for file in ["/exports/findings.csv", "/exports/activities.csv"] {
        looked_at.push(String::from_utf8_lossy(&secretariat.get_bytes(file).await).into_owned());
    }
    let donor = app.login_as("donor@donor.example").await;
    looked_at.push(
        String::from_utf8_lossy(&donor.get_bytes("/exports/findings.csv").await).into_owned(),
    );
    for (number, text) in looked_at.iter().enumerate() {
        assert!(!text.contains(NAME), "the name is still in view {number}");
    }
    for table in ["findings", "revisions", "audit_events", "audit_refusals"] {
        let rows = scalar(
            &app,
            &format!("select count(*) from {table} t where t::text like '%{NAME}%'"),
        )
        .await;
        assert_eq!(rows, 0, "the name is still in {table}");
    }
    // Nothing is left to correct.
    let again = ngo
        .post(
            &format!("/findings/{finding}/edit"),
            &[("text_en", "x"), ("themes", &theme), ("version", "3")],
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
}
