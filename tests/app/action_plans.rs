//! Action plans: actions that implement endorsed recommendations, progress
//! reports and their refusals, the roll-up, overdue actions, joint confirmation,
//! the home worklist and the evidence chain.

use reqwest::StatusCode;

use crate::helpers::{TestApp, Visitor, spawn_app};

const STAFF: &str = "secretariat@cpdd.example";
const CTOD: &str = "ngo@ctod.example";

async fn scalar(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(sql)
        .fetch_one(&app.pool)
        .await
        .expect(sql)
}

async fn bavel_action(app: &TestApp, starts_with: &str) -> i64 {
    scalar(app, &format!("select a.id from actions a join action_plans p on p.id = a.plan_id where p.district_code = '0204' and a.description_en like '{starts_with}%'")).await
}

#[tokio::test]
async fn the_secretariat_adds_actions_only_for_endorsed_recommendations() {
    let app = spawn_app().await;
    let staff = app.login_as(STAFF).await;
    let plan = scalar(
        &app,
        "select id from action_plans where district_code = '0204'",
    )
    .await;
    let endorsed = scalar(&app, "select r.id from recommendations r join recommendation_lists l on l.id = r.list_id where l.district_code = '0204' limit 1").await.to_string();
    let waiting = scalar(&app, "select r.id from recommendations r join recommendation_lists l on l.id = r.list_id where l.district_code = '0203' limit 1").await.to_string();
    let owner = scalar(
        &app,
        "select id from organizations where district_code = '0204'",
    )
    .await
    .to_string();
    let path = format!("/action-plans/{plan}/actions");
    let form =
        |recommendation: &str, starts: &'static str, due: &'static str, budget: &'static str| {
            vec![
                ("description_en", "Repair the information board".to_owned()),
                ("recommendations", recommendation.to_owned()),
                ("owner_organization_id", owner.clone()),
                ("lead", "sna".to_owned()),
                ("starts_on", starts.to_owned()),
                ("due_on", due.to_owned()),
                ("budget_riel", budget.to_owned()),
            ]
        };
    let before = scalar(&app, "select count(*) from actions").await;
    let cases = [
        (
            form(&waiting, "2026-01-01", "2026-06-30", "100"),
            "Choose endorsed recommendations",
        ),
        (
            form(&endorsed, "2026-06-30", "2026-01-01", "100"),
            "Check the dates",
        ),
        (
            form(&endorsed, "2026-01-01", "2026-06-30", "-5"),
            "The budget is not valid",
        ),
    ];
    for (fields, message) in cases {
        let fields: Vec<(&str, &str)> = fields.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let page = staff.post(&path, &fields).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{message}");
        assert!(page.body.contains(message), "{message}");
    }
    assert_eq!(scalar(&app, "select count(*) from actions").await, before);
    // Budgets are typed as people write them.
    let fields = form(&endorsed, "2026-01-01", "2026-06-30", "2,400,000");
    let fields: Vec<(&str, &str)> = fields.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let created = staff.post(&path, &fields).await;
    assert_eq!(created.status, StatusCode::SEE_OTHER);
    assert_eq!(
        scalar(&app, "select count(*) from actions").await,
        before + 1
    );
    let action = scalar(&app, "select max(id) from actions").await;
    assert_eq!(
        scalar(
            &app,
            &format!("select budget_riel from actions where id = {action}")
        )
        .await,
        2_400_000
    );
    let page = staff.get(&format!("/actions/{action}")).await;
    assert!(page.body.contains("2,400,000 ៛"));
    let ngo = app.login_as(CTOD).await;
    assert_eq!(ngo.post(&path, &fields).await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn progress_reports_are_checked_and_the_latest_is_the_current_state() {
    let app = spawn_app().await;
    let action = bavel_action(&app, "Train").await;
    let path = format!("/actions/{action}/updates");
    let ngo = app.login_as(CTOD).await;
    let today = samleng::format::today();
    let tomorrow = (today + time::Duration::days(1)).to_string();
    let today = today.to_string();
    let before = scalar(&app, "select count(*) from action_updates").await;
    let cases: [([(&str, &str); 3], &str); 5] = [
        (
            [
                ("reported_on", &today),
                ("status", "in_progress"),
                ("progress", "101"),
            ],
            "Progress is from 0 to 100",
        ),
        (
            [
                ("reported_on", &today),
                ("status", "completed"),
                ("progress", "90"),
            ],
            "Completed means 100%",
        ),
        (
            [
                ("reported_on", "2022-04-30"),
                ("status", "in_progress"),
                ("progress", "10"),
            ],
            "Check the date",
        ),
        (
            [
                ("reported_on", &tomorrow),
                ("status", "in_progress"),
                ("progress", "10"),
            ],
            "Check the date",
        ),
        (
            [
                ("reported_on", &today),
                ("status", "paused"),
                ("progress", "10"),
            ],
            "Choose a status",
        ),
    ];
    for (fields, message) in cases {
        let page = ngo.post(&path, &fields).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{message}");
        assert!(page.body.contains(message), "{message}");
    }
    assert_eq!(
        scalar(&app, "select count(*) from action_updates").await,
        before
    );
    let outsider = app.login_as("ngo@as.example").await;
    let refused = outsider
        .post(
            &path,
            &[
                ("reported_on", &today),
                ("status", "in_progress"),
                ("progress", "10"),
            ],
        )
        .await;
    assert_eq!(
        refused.status,
        StatusCode::FORBIDDEN,
        "another organization's user"
    );
    let sixty = [
        ("reported_on", today.as_str()),
        ("status", "in_progress"),
        ("progress", "60"),
    ];
    let seventy = [
        ("reported_on", today.as_str()),
        ("status", "in_progress"),
        ("progress", "70"),
    ];
    let (first, second) = tokio::join!(ngo.post(&path, &sixty), ngo.post(&path, &seventy));
    assert_eq!(
        (first.status, second.status),
        (StatusCode::SEE_OTHER, StatusCode::SEE_OTHER)
    );
    assert_eq!(
        scalar(&app, "select count(*) from action_updates").await,
        before + 2,
        "both kept"
    );
    let latest = scalar(&app, &format!("select progress::bigint from action_updates where action_id = {action} order by reported_on desc, id desc limit 1")).await;
    let page = ngo.get(&format!("/actions/{action}")).await;
    assert!(
        page.body.contains(&format!("In progress · {latest}%")),
        "the current state is the later report"
    );
    let cancelled = bavel_action(&app, "A radio").await;
    let on_cancelled = ngo
        .post(
            &format!("/actions/{cancelled}/updates"),
            &[
                ("reported_on", &today),
                ("status", "in_progress"),
                ("progress", "10"),
            ],
        )
        .await;
    assert_eq!(on_cancelled.status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn plan_progress_and_overdue_match_an_independent_count() {
    let app = spawn_app().await;
    let plan = scalar(
        &app,
        "select id from action_plans where district_code = '0204'",
    )
    .await;
    let latest: Vec<(String, i32, time::Date)> = sqlx::query_as(
        "select coalesce(l.status, 'not_started'), coalesce(l.progress, 0), a.due_on from actions a
         left join lateral (select status, progress from action_updates u where u.action_id = a.id
                            order by reported_on desc, id desc limit 1) l on true
         where a.plan_id = $1",
    )
    .bind(plan)
    .fetch_all(&app.pool)
    .await
    .expect("actions");
    let counted: Vec<i32> = latest
        .iter()
        .filter(|(status, _, _)| status != "cancelled")
        .map(|(_, progress, _)| *progress)
        .collect();
    let expected = (f64::from(counted.iter().sum::<i32>()) / counted.len() as f64).round() as i32;
    let today = samleng::format::today();
    let overdue = latest
        .iter()
        .filter(|(status, _, due)| {
            let status = samleng::action_plans::ActionStatus::parse(status).expect("a status");
            samleng::action_plans::is_overdue(*due, status, today)
        })
        .count();
    assert_eq!(overdue, 2, "the complaint desk and the blocked training");
    let page = app
        .login_as("donor@donor.example")
        .await
        .get(&format!("/action-plans/{plan}"))
        .await;
    assert!(
        page.body.contains(&format!(
            r#"<strong class="plan-progress">{expected}%</strong>"#
        )),
        "{expected}%"
    );
    assert_eq!(
        page.body
            .matches(r#"<strong class="overdue">overdue</strong>"#)
            .count(),
        overdue
    );
    assert!(page.body.contains("<svg"), "the timeline");
    assert_eq!(page.body.matches(r#"<g class="bar "#).count(), latest.len());
    let index = app.login_as(STAFF).await.get("/action-plans").await;
    assert!(index.body.contains(&format!("{expected}%")));
}

/// An official of Bavel (0204), signed in: the other side of its joint actions.
async fn bavel_official(app: &TestApp) -> Visitor {
    sqlx::query(
        "insert into users (email, display_name, role, organization_id, password_hash)
         select 'sna@bavel.example', 'Sophal (Bavel)', 'sna', o.id, u.password_hash
         from organizations o, users u where o.district_code = '0204' and u.email = 'sna@battambang.example'",
    )
    .execute(&app.pool)
    .await
    .expect("an official of Bavel");
    let official = app.visitor();
    official
        .sign_in(
            "sna@bavel.example",
            &app.password_of("sna@battambang.example"),
        )
        .await;
    official
}

#[tokio::test]
async fn the_other_side_confirms_a_joint_report_and_the_home_page_lists_stale_actions() {
    let app = spawn_app().await;
    let joint = bavel_action(&app, "Hold").await;
    let update = scalar(
        &app,
        &format!("select id from action_updates where action_id = {joint}"),
    )
    .await;
    let confirm = format!("/actions/{joint}/updates/{update}/confirm");
    let ngo = app.login_as(CTOD).await;
    assert_eq!(
        ngo.post(&confirm, &[]).await.status,
        StatusCode::CONFLICT,
        "the reporting side does not confirm itself"
    );
    let official = bavel_official(&app).await;
    assert_eq!(
        official.post(&confirm, &[]).await.status,
        StatusCode::SEE_OTHER
    );
    let page = official.get(&format!("/actions/{joint}")).await;
    assert!(page.body.contains("Confirmed by Sophal (Bavel)"));
    assert_eq!(
        official.post(&confirm, &[]).await.status,
        StatusCode::CONFLICT,
        "confirmed once"
    );
    let home = official.get("/").await;
    assert!(home.body.contains("open actions") && home.body.contains("Open a complaint desk"));
    assert!(
        !home
            .body
            .contains("Publish the budget and plan on every information board"),
        "completed actions need nothing"
    );
}

#[tokio::test]
async fn the_evidence_chain_leads_from_what_citizens_said_to_what_was_done() {
    let app = spawn_app().await;
    let recommendation = scalar(&app, "select r.id from recommendations r join recommendation_lists l on l.id = r.list_id where l.district_code = '0204' and r.position = 1").await;
    let donor = app.login_as("donor@donor.example").await;
    let page = donor
        .get(&format!("/recommendations/{recommendation}"))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    let findings = scalar(&app, &format!("select count(*) from recommendation_evidence where recommendation_id = {recommendation}")).await;
    assert_eq!(
        page.body.matches(r#"<article class="finding">"#).count() as i64,
        findings
    );
    let actions = scalar(
        &app,
        &format!(
            "select count(*) from action_recommendations where recommendation_id = {recommendation}"
        ),
    )
    .await;
    assert_eq!(
        actions, 5,
        "every demo action implements the first recommendations"
    );
    for text in [
        "Endorsed by",
        "Provincial priority",
        "Publish the budget and plan on every information board",
        "participants",
    ] {
        assert!(page.body.contains(text), "{text}");
    }
    let finding = scalar(&app, &format!("select finding_id from recommendation_evidence where recommendation_id = {recommendation} limit 1")).await;
    let back = donor.get(&format!("/findings/{finding}")).await;
    assert!(
        back.body
            .contains(&format!("/recommendations/{recommendation}")),
        "the finding links forward"
    );
    let waiting = scalar(&app, "select r.id from recommendations r join recommendation_lists l on l.id = r.list_id where l.district_code = '0203' limit 1").await;
    assert_eq!(
        donor
            .get(&format!("/recommendations/{waiting}"))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn donors_read_progress_but_not_internal_notes() {
    let app = spawn_app().await;
    let action = bavel_action(&app, "Train").await;
    let ngo = app.login_as(CTOD).await;
    let today = samleng::format::today().to_string();
    let path = format!("/actions/{action}/updates");
    ngo.post(
        &path,
        &[
            ("reported_on", &today),
            ("status", "blocked"),
            ("progress", "25"),
            ("note", "The trainer fell ill."),
            ("internal", "on"),
        ],
    )
    .await;
    ngo.post(
        &path,
        &[
            ("reported_on", &today),
            ("status", "blocked"),
            ("progress", "25"),
            ("note", "Waiting for the new date."),
        ],
    )
    .await;
    let donor = app
        .login_as("donor@donor.example")
        .await
        .get(&format!("/actions/{action}"))
        .await;
    assert_eq!(donor.status, StatusCode::OK);
    assert!(donor.body.contains("Waiting for the new date."));
    assert!(
        !donor.body.contains("The trainer fell ill."),
        "internal notes stay inside"
    );
    assert!(
        !donor.body.contains("name=\"progress\""),
        "donors do not report"
    );
    let staff = app
        .login_as(STAFF)
        .await
        .get(&format!("/actions/{action}"))
        .await;
    assert!(staff.body.contains("The trainer fell ill."));
}

/// The other side of a joint action reports on it, and so attaches the
/// report's evidence: the same rule decides both (`Action::ReportProgress`).
#[tokio::test]
async fn the_partner_of_a_joint_action_attaches_a_photo_to_their_report() {
    let app = spawn_app().await;
    let joint = bavel_action(&app, "Hold").await;
    let official = bavel_official(&app).await;
    let today = samleng::format::today().to_string();
    let report = [
        ("reported_on", today.as_str()),
        ("status", "in_progress"),
        ("progress", "40"),
        ("note", "The desk opened on market day."),
    ];
    let reported = official
        .post(&format!("/actions/{joint}/updates"), &report)
        .await;
    assert_eq!(reported.status, StatusCode::SEE_OTHER, "{}", reported.body);
    let update = scalar(
        &app,
        &format!(
            "select u.id from action_updates u join users r on r.id = u.reported_by
             where u.action_id = {joint} and r.email = 'sna@bavel.example'"
        ),
    )
    .await;
    let photo = reqwest::multipart::Form::new()
        .text("csrf_token", official.csrf_token().await)
        .text("caption", "The desk at the market")
        .part(
            "file",
            reqwest::multipart::Part::bytes(
                b"\xFF\xD8\xFF\xE0\x00\x10JFIF\x00\x01 a photo".to_vec(),
            )
            .file_name("desk.jpg"),
        );
    let attached = official
        .post_multipart(
            &app.url(&format!("/actions/{joint}/updates/{update}/attachments")),
            photo,
        )
        .await;
    assert_eq!(attached.status, StatusCode::SEE_OTHER, "{}", attached.body);
    assert_eq!(
        scalar(
            &app,
            &format!(
                "select count(*) from attachments where parent = 'action_update' and parent_id = {update}"
            ),
        )
        .await,
        1
    );
    let page = official.get(&format!("/actions/{joint}")).await;
    assert!(page.body.contains("The desk at the market"));
}

/// A new action owned by a district administration is told to its officials
/// at once, in their language, and waits on their home page; a week before
/// it is due and on the day it becomes overdue they are reminded, once each.
#[tokio::test]
async fn the_owners_officials_hear_of_a_new_action_and_are_reminded_of_its_due_date() {
    let app = spawn_app().await;
    let official = bavel_official(&app).await;
    sqlx::query("update users set preferred_language = 'km' where email = 'sna@bavel.example'")
        .execute(&app.pool)
        .await
        .expect("a Khmer reader");
    let staff = app.login_as(STAFF).await;
    let plan = scalar(
        &app,
        "select id from action_plans where district_code = '0204'",
    )
    .await;
    let endorsed = scalar(&app, "select r.id from recommendations r join recommendation_lists l on l.id = r.list_id where l.district_code = '0204' and l.status = 'endorsed' limit 1").await;
    let owner = scalar(
        &app,
        "select id from organizations where district_code = '0204' and kind = 'sna'",
    )
    .await;
    let today = time::OffsetDateTime::now_utc()
        .to_offset(time::macros::offset!(+7))
        .date();
    let due = today + time::Duration::days(30);
    let created = staff
        .post(
            &format!("/action-plans/{plan}/actions"),
            &[
                ("description_en", "Open the budget hearing to citizens"),
                ("description_km", "បើកសវនាការថវិកាជូនប្រជាពលរដ្ឋ"),
                ("recommendations", &endorsed.to_string()),
                ("owner_organization_id", &owner.to_string()),
                ("lead", "sna"),
                ("starts_on", &today.to_string()),
                ("due_on", &due.to_string()),
                ("budget_riel", "0"),
            ],
        )
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    let action = scalar(&app, "select max(id) from actions").await;
    let told = |kind: &'static str| {
        let app = &app;
        async move {
            sqlx::query_as::<_, (String, String, String)>(
                "select u.email, n.subject, n.link from notifications n join users u on u.id = n.user_id
                 where n.kind = $1 order by u.email",
            )
            .bind(kind)
            .fetch_all(&app.pool)
            .await
            .expect("notifications")
        }
    };
    let assigned = told("action-assigned").await;
    assert_eq!(
        assigned,
        vec![(
            "sna@bavel.example".to_owned(),
            "សកម្មភាពរួមមួយឥឡូវជារបស់អង្គការអ្នក".to_owned(),
            format!("/actions/{action}")
        )],
        "the owner's people, and only they, in their language"
    );
    let mail = scalar(&app, "select count(*) from outbox where channel = 'email' and recipient = 'sna@bavel.example' and link = '/actions/' || (select max(id) from actions)").await;
    assert_eq!(mail, 1, "and by e-mail, their chosen channel");
    let home = official.get("/").await;
    assert!(
        home.body.contains(&format!(
            "<a href=\"/actions/{action}\">បើកសវនាការថវិកាជូនប្រជាពលរដ្ឋ</a>"
        )),
        "the new action waits on their home page"
    );

    let remind = |on: time::Date| {
        let pool = app.app_pool.clone();
        async move {
            samleng::notifications::remind_due_actions(&pool, on)
                .await
                .expect("reminders")
        }
    };
    // Nothing before the last week, then once in it, however often it runs.
    remind(due - time::Duration::days(8)).await;
    assert!(told("action-due-soon").await.is_empty());
    remind(due - time::Duration::days(7)).await;
    remind(due - time::Duration::days(6)).await;
    let soon = told("action-due-soon").await;
    assert_eq!(soon.len(), 1, "{soon:?}");
    assert_eq!(soon[0].0, "sna@bavel.example");
    remind(due).await;
    assert!(
        told("action-overdue").await.is_empty(),
        "due is not yet overdue"
    );
    remind(due + time::Duration::days(1)).await;
    remind(due + time::Duration::days(2)).await;
    let overdue = told("action-overdue").await;
    assert_eq!(overdue.len(), 1, "{overdue:?}");
    assert_eq!(overdue[0].1, "សកម្មភាពមួយហួសកាលកំណត់");
    // A completed action is not reminded.
    sqlx::query("update actions set status = 'completed', due_on = due_on + 20 where id = $1")
        .bind(action)
        .execute(&app.pool)
        .await
        .expect("completed");
    remind(due + time::Duration::days(14)).await;
    assert_eq!(told("action-due-soon").await.len(), 1);
}

#[tokio::test]
async fn kept_plan_pages_follow_their_plans_and_what_their_actions_implement() {
    let app = spawn_app().await;
    let staff = app.login_as(STAFF).await;
    let plan = scalar(
        &app,
        "select id from action_plans where district_code = '0204'",
    )
    .await;
    let path = format!("/action-plans/{plan}");
    let action = scalar(
        &app,
        &format!("select min(id) from actions where plan_id = {plan}"),
    )
    .await;
    let recommendation = scalar(
        &app,
        &format!(
            "select min(r.id) from recommendations r join recommendation_lists l on l.id = r.list_id
             where l.district_code = '0204' and l.status = 'endorsed'
               and r.id not in (select recommendation_id from action_recommendations where action_id = {action})"
        ),
    )
    .await;
    let implemented = |body: &str| {
        body.matches(&format!("href=\"/recommendations/{recommendation}\""))
            .count()
    };
    let before = implemented(&staff.get(&path).await.body);
    assert!(
        !staff
            .get("/action-plans")
            .await
            .body
            .contains("Kept-plan probe")
    );
    // The link alone, as a correction of the action writes it.
    sqlx::query(
        "insert into action_recommendations (action_id, recommendation_id) values ($1, $2)",
    )
    .bind(action)
    .bind(recommendation)
    .execute(&app.pool)
    .await
    .expect("linked");
    app.heard_everything().await;
    assert_eq!(implemented(&staff.get(&path).await.body), before + 1);

    sqlx::query("update action_plans set title_en = 'Kept-plan probe' where id = $1")
        .bind(plan)
        .execute(&app.pool)
        .await
        .expect("renamed");
    app.heard_everything().await;
    assert!(staff.get(&path).await.body.contains("Kept-plan probe"));
    assert!(
        staff
            .get("/action-plans")
            .await
            .body
            .contains("Kept-plan probe")
    );
}
