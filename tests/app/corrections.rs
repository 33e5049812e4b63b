//! Correcting plans, actions and progress reports: the secretariat corrects a
//! plan's header and an action (bad input comes back with the form), a report
//! is corrected by a new one that marks it (both stay, the state follows the
//! correction), and the secretariat sends a report back with its reason.

use reqwest::StatusCode;

use crate::helpers::{TestApp, spawn_app};

const STAFF: &str = "secretariat@cpdd.example";
const CTOD: &str = "ngo@ctod.example";
const DONOR: &str = "donor@donor.example";
/// "Not a date (year-month-day)." in Khmer.
const KHMER_DATE_ERROR: &str = "មិនមែនជាកាលបរិច្ឆេទទេ";

async fn scalar(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(sql)
        .fetch_one(&app.pool)
        .await
        .expect(sql)
}

async fn text(app: &TestApp, sql: &str) -> String {
    sqlx::query_scalar::<_, String>(sql)
        .fetch_one(&app.pool)
        .await
        .expect(sql)
}

#[tokio::test]
async fn plans_and_actions_are_corrected_and_bad_input_comes_back_with_the_form() {
    let app = spawn_app().await;
    let staff = app.login_as(STAFF).await;
    let ngo = app.login_as(CTOD).await;
    let plan = scalar(
        &app,
        "select id from action_plans where district_code = '0204'",
    )
    .await;
    let edit = format!("/action-plans/{plan}/edit");
    let form = staff.get(&edit).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains("name=\"version\" value=\"1\""));
    let version = "1";
    let bad = staff
        .post(
            &edit,
            &[
                ("title_en", "Bavel plan, corrected"),
                ("period_start", "2026-12-31"),
                ("period_end", "2026-01-01"),
                ("version", version),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bad.body.contains("value=\"Bavel plan, corrected\""),
        "input kept"
    );
    assert!(bad.body.contains("id=\"period_end-error\""));
    let bad = staff
        .post(
            &format!("{edit}?lang=km"),
            &[
                ("title_en", "x"),
                ("period_start", "2026-13-01"),
                ("period_end", "2026-12-01"),
                ("version", version),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains(KHMER_DATE_ERROR), "the message in Khmer");
    staff.get("/?lang=en").await;
    assert_eq!(
        scalar(
            &app,
            &format!("select version::bigint from action_plans where id = {plan}")
        )
        .await,
        1,
        "nothing written"
    );
    let saved = staff
        .post(
            &edit,
            &[
                ("title_en", "Bavel plan, corrected"),
                ("period_start", "2026-01-01"),
                ("period_end", "2027-12-31"),
                ("version", version),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    assert_eq!(
        text(
            &app,
            &format!("select title_en || ' ' || period_end from action_plans where id = {plan}")
        )
        .await,
        "Bavel plan, corrected 2027-12-31"
    );
    let page = staff.get(&format!("/action-plans/{plan}")).await;
    assert!(page.body.contains("Bavel plan, corrected"));
    assert!(page.body.contains(&format!("href=\"{edit}\"")));
    for (method, answer) in [
        ("GET", ngo.get(&edit).await.status),
        (
            "POST",
            ngo.post(&edit, &[("title_en", "Ours"), ("version", "2")])
                .await
                .status,
        ),
    ] {
        assert_eq!(answer, StatusCode::FORBIDDEN, "{method} by an NGO");
    }
    assert_eq!(
        scalar(&app, &format!("select count(*) from audit_events where action = 'action_plan_updated' and entity_id = '{plan}'")).await,
        1
    );

    let action = scalar(
        &app,
        &format!("select min(id) from actions where plan_id = {plan}"),
    )
    .await;
    let edit = format!("/actions/{action}/edit");
    let form = staff.get(&edit).await;
    assert_eq!(form.status, StatusCode::OK);
    let owner = scalar(
        &app,
        &format!("select owner_organization_id from actions where id = {action}"),
    )
    .await
    .to_string();
    let recommendation = scalar(
        &app,
        &format!(
            "select min(recommendation_id) from action_recommendations where action_id = {action}"
        ),
    )
    .await
    .to_string();
    let fields = |budget: &'static str, due: &'static str| {
        vec![
            (
                "description_en",
                "Train the commune councils, twice".to_owned(),
            ),
            ("recommendations", recommendation.clone()),
            ("owner_organization_id", owner.clone()),
            ("lead", "sna".to_owned()),
            ("starts_on", "2026-02-01".to_owned()),
            ("due_on", due.to_owned()),
            ("budget_riel", budget.to_owned()),
            ("version", "1".to_owned()),
        ]
    };
    let send = async |fields: Vec<(&'static str, String)>| {
        let body: Vec<(&str, &str)> = fields.iter().map(|(n, v)| (*n, v.as_str())).collect();
        staff.post(&edit, &body).await
    };
    let bad = send(fields("a lot", "2026-01-01")).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("The budget is not valid"));
    assert!(bad.body.contains("Check the dates"));
    assert!(
        bad.body.contains("Train the commune councils, twice"),
        "input kept"
    );
    let saved = send(fields("1,200,000", "2026-09-30")).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    assert_eq!(
        text(&app, &format!("select description_en || ' ' || budget_riel || ' ' || due_on from actions where id = {action}")).await,
        "Train the commune councils, twice 1200000 2026-09-30"
    );
    let page = staff.get(&format!("/actions/{action}")).await;
    assert!(page.body.contains("1,200,000 ៛"));
    assert_eq!(ngo.get(&edit).await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_report_is_corrected_by_a_new_one_and_the_secretariat_sends_one_back() {
    let app = spawn_app().await;
    let action = scalar(&app, "select a.id from actions a join action_plans p on p.id = a.plan_id where p.district_code = '0204' and a.description_en like 'Train%'").await;
    let path = format!("/actions/{action}/updates");
    let ngo = app.login_as(CTOD).await;
    let today = samleng::format::today().to_string();
    let report = |progress: &'static str, corrects: String| {
        vec![
            ("reported_on", today.clone()),
            ("status", "in_progress".to_owned()),
            ("progress", progress.to_owned()),
            ("note", format!("Reported {progress}")),
            ("corrects", corrects),
        ]
    };
    let send = async |fields: Vec<(&'static str, String)>| {
        let body: Vec<(&str, &str)> = fields.iter().map(|(n, v)| (*n, v.as_str())).collect();
        ngo.post(&path, &body).await
    };
    assert_eq!(
        send(report("60", String::new())).await.status,
        StatusCode::SEE_OTHER
    );
    let wrong = scalar(&app, "select max(id) from action_updates").await;
    let state = async || {
        scalar(
            &app,
            &format!("select progress::bigint from actions where id = {action}"),
        )
        .await
    };
    assert_eq!(state().await, 60);

    let correction = report("40", wrong.to_string());
    let (first, again) = (send(correction.clone()).await, send(correction).await);
    assert_eq!(first.status, StatusCode::SEE_OTHER);
    assert_eq!(
        again.status,
        StatusCode::CONFLICT,
        "the same report is not corrected twice"
    );
    assert_eq!(state().await, 40, "the state follows the correction");
    assert_eq!(
        scalar(&app, &format!("select count(*) from action_updates where action_id = {action} and (id = {wrong} or corrects_id = {wrong})")).await,
        2,
        "both reports stay"
    );
    let page = ngo.get(&format!("/actions/{action}")).await;
    assert!(page.body.contains("Reported 60") && page.body.contains("Reported 40"));
    assert!(page.body.contains("Corrected by the report of"));
    assert!(page.body.contains(&format!(
        "Corrects the report of <a href=\"#update-{wrong}\""
    )));
    let elsewhere = scalar(
        &app,
        &format!("select min(u.id) from action_updates u where u.action_id <> {action}"),
    )
    .await;
    assert_eq!(
        send(report("10", elsewhere.to_string())).await.status,
        StatusCode::NOT_FOUND,
        "another action's report"
    );

    // The secretariat sends the correction back; the state falls back.
    let fixed = scalar(
        &app,
        &format!("select id from action_updates where corrects_id = {wrong}"),
    )
    .await;
    let send_back = format!("/actions/{action}/updates/{fixed}/return");
    let staff = app.login_as(STAFF).await;
    assert_eq!(
        ngo.post(&send_back, &[("reason", "mine")]).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        staff.post(&send_back, &[("reason", " ")]).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let before = state().await;
    let returned = staff
        .post(
            &send_back,
            &[("reason", "The training has not happened yet")],
        )
        .await;
    assert_eq!(returned.status, StatusCode::SEE_OTHER);
    assert_eq!(
        staff.post(&send_back, &[("reason", "twice")]).await.status,
        StatusCode::CONFLICT
    );
    assert_ne!(state().await, before, "a report sent back no longer counts");
    assert_eq!(
        scalar(
            &app,
            "select count(*) from notifications n join users u on u.id = n.user_id
                      where n.kind = 'report-returned' and u.email = 'ngo@ctod.example'"
        )
        .await,
        1,
        "the reporting organization is told"
    );
    let page = ngo.get(&format!("/actions/{action}")).await;
    assert!(page.body.contains("Sent back to its author by"));
    assert!(
        page.body.contains("The training has not happened yet"),
        "the author reads why"
    );
    assert!(page.body.contains("Correct this report"));
    let page = app
        .login_as(DONOR)
        .await
        .get(&format!("/actions/{action}"))
        .await;
    assert!(page.body.contains("Sent back to its author by"));
    assert!(
        !page.body.contains("The training has not happened yet"),
        "the reason is internal"
    );
    assert_eq!(
        scalar(&app, &format!("select count(*) from audit_events where action in ('action_progress_corrected', 'action_progress_returned') and entity_id = '{action}'")).await,
        2
    );
}
