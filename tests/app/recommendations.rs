//! Recommendation lists: drafting with evidence, the endorsement workflow, the
//! frozen snapshot and its fingerprint, reopening, and two officials at once.

use reqwest::StatusCode;
use sha2::{Digest, Sha256};

use crate::helpers::{TestApp, spawn_app};

const BATTAMBANG_SNA: &str = "sna@battambang.example";
const SECRETARIAT: &str = "secretariat@cpdd.example";

/// A recommendation, the form sent for it, and the message the refusal shows.
type Refusal<'a> = (i64, Vec<(&'a str, &'a str)>, &'a str);

async fn scalar(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(sql)
        .fetch_one(&app.pool)
        .await
        .expect(sql)
}

async fn status(app: &TestApp, id: i64) -> String {
    sqlx::query_scalar("select status from recommendation_lists where id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .expect("status")
}

async fn waiting_list(app: &TestApp) -> i64 {
    scalar(
        app,
        "select id from recommendation_lists where district_code = '0203'",
    )
    .await
}

#[tokio::test]
async fn an_ngo_drafts_a_list_with_evidence_and_bad_input_changes_nothing() {
    let app = spawn_app().await;
    let study = scalar(&app, "insert into studies (title_en, province_code, period_start, period_end) values ('Round two', '02', date '2026-01-01', date '2026-12-31') returning id").await.to_string();
    let ngo = app.login_as("ngo@ctod.example").await;
    let created = ngo
        .post(
            "/recommendation-lists",
            &[
                ("district_code", "0204"),
                ("study_id", &study),
                ("consultation_id", ""),
            ],
        )
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    let path = created.location.expect("location");
    let again = ngo
        .post(
            "/recommendation-lists",
            &[("district_code", "0204"), ("study_id", &study)],
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    let elsewhere = ngo
        .post(
            "/recommendation-lists",
            &[("district_code", "0207"), ("study_id", &study)],
        )
        .await;
    assert_eq!(
        elsewhere.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "CTOD does not cover 0207"
    );

    let own_finding = scalar(&app, "select f.id from findings f join activities a on a.id = f.activity_id where a.district_code = '0204' limit 1").await.to_string();
    let other_finding = scalar(&app, "select f.id from findings f join activities a on a.id = f.activity_id where a.district_code = '0203' limit 1").await.to_string();
    let items = format!("{path}/recommendations");
    let before = scalar(&app, "select count(*) from recommendations").await;
    let cases: [(Vec<(&str, &str)>, &str); 3] = [
        (
            vec![("addressee", "sna")],
            "Write the recommendation in English, in Khmer, or both.",
        ),
        (
            vec![
                ("text_en", "Open the council meetings"),
                ("addressee", "king"),
            ],
            "Choose one of the options.",
        ),
        (
            vec![
                ("text_en", "Open the council meetings"),
                ("addressee", "sna"),
                ("evidence", &other_finding),
            ],
            "Evidence must be findings of this district.",
        ),
    ];
    for (fields, message) in cases {
        let page = ngo.post(&items, &fields).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{message}");
        assert!(page.body.contains(message), "{message}");
    }
    assert_eq!(
        scalar(&app, "select count(*) from recommendations").await,
        before
    );
    for text in ["Open the council meetings", "Publish the budget"] {
        let saved = ngo
            .post(
                &items,
                &[
                    ("text_en", text),
                    ("addressee", "sna"),
                    ("evidence", &own_finding),
                ],
            )
            .await;
        assert_eq!(saved.status, StatusCode::SEE_OTHER);
    }
    let second = scalar(
        &app,
        "select id from recommendations where text_en = 'Publish the budget'",
    )
    .await;
    let drawn = ngo.get(&path).await;
    let version = drawn
        .body
        .split(&format!("{items}/{second}/move"))
        .nth(1)
        .and_then(|form| form.split("name=\"version\" value=\"").nth(1))
        .and_then(|rest| rest.split('"').next())
        .expect("the move form's version")
        .to_owned();
    let move_up = [("direction", "up"), ("version", version.as_str())];
    let moved = ngo.post(&format!("{items}/{second}/move"), &move_up).await;
    assert_eq!(moved.status, StatusCode::SEE_OTHER);
    let order = async || {
        let page = ngo.get(&path).await;
        let budget = page.body.find("Publish the budget").expect("listed");
        let meetings = page.body.find("Open the council meetings").expect("listed");
        budget < meetings
    };
    assert!(order().await, "moved up");
    // The same button again from the same page (a double click): the list
    // changed since, so nothing moves.
    let again = ngo.post(&format!("{items}/{second}/move"), &move_up).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert!(again.body.contains("id=\"conflict\"") && again.body.contains("nothing was moved"));
    assert!(order().await, "still where the first click put it");
    assert_eq!(
        ngo.post(&format!("{path}/submit"), &[]).await.status,
        StatusCode::FORBIDDEN,
        "NGO staff do not submit"
    );
}

#[tokio::test]
async fn only_the_districts_own_official_endorses_and_the_fingerprint_verifies() {
    let app = spawn_app().await;
    let id = waiting_list(&app).await;
    let endorse = format!("/recommendation-lists/{id}/endorse");
    let admin = app.login_as("admin@cpdd.example").await;
    assert_eq!(
        admin
            .post(&endorse, &[("position", "Administrator")])
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let banan = app.login_as("sna@banan.example").await;
    assert_eq!(
        banan
            .post(&endorse, &[("position", "Deputy Governor")])
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let official = app.login_as(BATTAMBANG_SNA).await;
    let home = official.get("/").await;
    assert!(home.body.contains("Waiting for your endorsement"));
    assert!(home.body.contains(&format!("/recommendation-lists/{id}")));
    assert!(
        !banan
            .get("/")
            .await
            .body
            .contains(&format!("/recommendation-lists/{id}")),
        "not another district's"
    );
    let no_position = official.post(&endorse, &[("position", " ")]).await;
    assert_eq!(no_position.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(status(&app, id).await, "submitted");
    let endorsed = official
        .post(
            &endorse,
            &[
                ("position", "Deputy Governor"),
                ("comment", "Agreed at the meeting."),
            ],
        )
        .await;
    assert_eq!(endorsed.status, StatusCode::SEE_OTHER);
    assert_eq!(status(&app, id).await, "endorsed");
    assert_eq!(
        official
            .post(&endorse, &[("position", "Deputy Governor")])
            .await
            .status,
        StatusCode::CONFLICT,
        "endorsed twice"
    );

    let (snapshot, fingerprint): (String, String) = sqlx::query_as(
        "select snapshot, fingerprint from endorsements where list_id = $1 and transition = 'endorsed'",
    )
    .bind(id)
    .fetch_one(&app.pool)
    .await
    .expect("endorsement");
    let recomputed: String = Sha256::digest(snapshot.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    assert_eq!(recomputed, fingerprint);
    assert!(snapshot.contains("Publish the district budget"));
    let page = official.get(&format!("/recommendation-lists/{id}")).await;
    assert!(page.body.contains(&fingerprint) && page.body.contains("Deputy Governor"));
    let print = official
        .get(&format!("/recommendation-lists/{id}/print"))
        .await;
    assert!(print.body.contains(&fingerprint) && print.body.contains("Signature"));

    let item = scalar(
        &app,
        &format!("select id from recommendations where list_id = {id} limit 1"),
    )
    .await;
    let staff = app.login_as(SECRETARIAT).await;
    let edit = staff
        .post(
            &format!("/recommendation-lists/{id}/recommendations/{item}"),
            &[("text_en", "Changed"), ("addressee", "sna")],
        )
        .await;
    assert_eq!(
        edit.status,
        StatusCode::CONFLICT,
        "an endorsed list is frozen"
    );
    assert_eq!(
        scalar(
            &app,
            "select count(*) from recommendations where text_en = 'Changed'"
        )
        .await,
        0
    );
}

#[tokio::test]
async fn a_returned_list_needs_a_reason_and_goes_back_to_the_secretariat() {
    let app = spawn_app().await;
    let id = waiting_list(&app).await;
    let official = app.login_as(BATTAMBANG_SNA).await;
    let path = format!("/recommendation-lists/{id}/return");
    let silent = official.post(&path, &[("comment", "")]).await;
    assert_eq!(silent.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(status(&app, id).await, "submitted");
    assert_eq!(
        official
            .post(&path, &[("comment", "Say who pays.")])
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(status(&app, id).await, "returned");
    let staff = app.login_as(SECRETARIAT).await;
    let page = staff.get(&format!("/recommendation-lists/{id}")).await;
    assert!(page.body.contains("Say who pays."));
    assert_eq!(
        staff
            .post(&format!("/recommendation-lists/{id}/submit"), &[])
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(status(&app, id).await, "submitted");
    let steps = scalar(
        &app,
        &format!("select count(*) from endorsements where list_id = {id}"),
    )
    .await;
    assert_eq!(steps, 3, "submitted (demo), returned, submitted");
}

#[tokio::test]
async fn reopening_starts_a_new_version_and_the_endorsed_one_stays_as_it_was() {
    let app = spawn_app().await;
    let endorsed = scalar(
        &app,
        "select id from recommendation_lists where district_code = '0204' order by id limit 1",
    )
    .await;
    let snapshot_before: String = sqlx::query_scalar(
        "select snapshot from endorsements where list_id = $1 and transition = 'endorsed'",
    )
    .bind(endorsed)
    .fetch_one(&app.pool)
    .await
    .expect("snapshot");
    let staff = app.login_as(SECRETARIAT).await;
    let path = format!("/recommendation-lists/{endorsed}/reopen");
    assert_eq!(
        staff.post(&path, &[("comment", "")]).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let reopened = staff
        .post(&path, &[("comment", "The province asked for costs.")])
        .await;
    assert_eq!(reopened.status, StatusCode::SEE_OTHER);
    let new_path = reopened.location.expect("the new version");
    let new_version = staff.get(&new_path).await;
    assert!(
        new_version.body.contains("The province asked for costs."),
        "the new version says why it was reopened"
    );
    let new_id: i64 = new_path
        .rsplit('/')
        .next()
        .and_then(|id| id.parse().ok())
        .expect("id");
    assert_eq!(status(&app, new_id).await, "draft");
    assert_eq!(
        status(&app, endorsed).await,
        "endorsed",
        "still the district's endorsed list"
    );
    assert_eq!(
        scalar(
            &app,
            &format!("select count(*) from recommendations where list_id = {new_id}")
        )
        .await,
        scalar(
            &app,
            &format!("select count(*) from recommendations where list_id = {endorsed}")
        )
        .await
    );
    assert_eq!(
        scalar(&app, &format!("select count(*) from recommendation_evidence e join recommendations r on r.id = e.recommendation_id where r.list_id = {new_id}")).await,
        scalar(&app, &format!("select count(*) from recommendation_evidence e join recommendations r on r.id = e.recommendation_id where r.list_id = {endorsed}")).await,
        "the evidence comes along"
    );
    assert_eq!(
        staff.post(&path, &[("comment", "again")]).await.status,
        StatusCode::CONFLICT,
        "reopened once"
    );
    let item = scalar(
        &app,
        &format!(
            "select id from recommendations where list_id = {new_id} order by position limit 1"
        ),
    )
    .await;
    staff
        .post(
            &format!("{new_path}/recommendations/{item}"),
            &[
                ("text_en", "Publish the budget with its costs"),
                ("addressee", "sna"),
                ("version", "1"),
            ],
        )
        .await;
    staff.post(&format!("{new_path}/submit"), &[]).await;
    // An official of Bavel endorses the new version; the old one is then superseded.
    sqlx::query(
        "insert into users (email, display_name, role, organization_id, password_hash)
         select 'sna@bavel.example', 'Sophal (Bavel)', 'sna', o.id, u.password_hash
         from organizations o, users u where o.district_code = '0204' and u.email = $1",
    )
    .bind(BATTAMBANG_SNA)
    .execute(&app.pool)
    .await
    .expect("an official of Bavel");
    let bavel = app.visitor();
    bavel
        .sign_in("sna@bavel.example", &app.password_of(BATTAMBANG_SNA))
        .await;
    let endorsed_again = bavel
        .post(&format!("{new_path}/endorse"), &[("position", "Governor")])
        .await;
    assert_eq!(endorsed_again.status, StatusCode::SEE_OTHER);
    assert_eq!(status(&app, new_id).await, "endorsed");
    assert_eq!(status(&app, endorsed).await, "superseded");
    let snapshot_after: String = sqlx::query_scalar(
        "select snapshot from endorsements where list_id = $1 and transition = 'endorsed'",
    )
    .bind(endorsed)
    .fetch_one(&app.pool)
    .await
    .expect("snapshot");
    assert_eq!(
        snapshot_before, snapshot_after,
        "the endorsed content is untouched"
    );
    let ranked = |list: i64| {
        let app = &app;
        async move {
            scalar(app, &format!("select count(*) from priorities p join recommendations r on r.id = p.recommendation_id where r.list_id = {list}")).await
        }
    };
    assert!(
        ranked(endorsed).await > 0,
        "the demo's workshops ranked Bavel's list"
    );
    assert_eq!(
        ranked(new_id).await,
        ranked(endorsed).await,
        "its priorities carry over to the new version"
    );
    let changes = staff.get(&format!("{new_path}/changes")).await;
    assert!(
        changes.body.contains("<td>changed</td>")
            && changes.body.contains("Publish the budget with its costs")
    );
    assert_eq!(
        changes.body.matches("<tr class=\"change-").count(),
        1,
        "only the first recommendation changed"
    );
    let old_page = staff
        .get(&format!("/recommendation-lists/{endorsed}"))
        .await;
    assert!(!old_page.body.contains("Publish the budget with its costs"));
    assert!(old_page.body.contains("newer version"));
}

#[tokio::test]
async fn two_officials_endorsing_at_once_record_exactly_one_endorsement() {
    let app = spawn_app().await;
    let id = waiting_list(&app).await;
    let hash: String = sqlx::query_scalar("select password_hash from users where email = $1")
        .bind(BATTAMBANG_SNA)
        .fetch_one(&app.pool)
        .await
        .expect("hash");
    sqlx::query(
        "insert into users (email, display_name, role, organization_id, password_hash)
         select 'sna2@battambang.example', 'Second official', 'sna', organization_id, $1 from users where email = $2",
    )
    .bind(hash)
    .bind(BATTAMBANG_SNA)
    .execute(&app.pool)
    .await
    .expect("a second official");
    let first = app.login_as(BATTAMBANG_SNA).await;
    let second = app.visitor();
    let signed_in = second
        .sign_in("sna2@battambang.example", &app.password_of(BATTAMBANG_SNA))
        .await;
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    let path = format!("/recommendation-lists/{id}/endorse");
    let (a, b) = tokio::join!(
        first.post(&path, &[("position", "Governor")]),
        second.post(&path, &[("position", "Deputy Governor")])
    );
    let mut statuses = [a.status.as_u16(), b.status.as_u16()];
    statuses.sort();
    assert_eq!(statuses, [303, 409]);
    assert_eq!(
        scalar(
            &app,
            &format!(
                "select count(*) from endorsements where list_id = {id} and transition = 'endorsed'"
            )
        )
        .await,
        1
    );
}

#[tokio::test]
async fn donors_read_endorsed_lists_and_never_drafts() {
    let app = spawn_app().await;
    let donor = app.login_as("donor@donor.example").await;
    let waiting = waiting_list(&app).await;
    let endorsed = scalar(
        &app,
        "select id from recommendation_lists where district_code = '0204' order by id limit 1",
    )
    .await;
    assert_eq!(
        donor
            .get(&format!("/recommendation-lists/{waiting}"))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let page = donor
        .get(&format!("/recommendation-lists/{endorsed}"))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Endorsed by"));
    let index = donor.get("/recommendation-lists").await;
    assert_eq!(
        index
            .body
            .matches("<tr><td><a href=\"/recommendation-lists/")
            .count(),
        8,
        "five endorsed in 2021, three in the second cycle"
    );
    let district = donor.get("/districts/0204").await;
    assert!(
        district
            .body
            .contains(&format!("/recommendation-lists/{endorsed}"))
    );
}

#[tokio::test]
async fn the_secretariat_ranks_endorsed_recommendations_as_priorities() {
    let app = spawn_app().await;
    let staff = app.login_as(SECRETARIAT).await;
    let endorsed_item = scalar(&app, "select r.id from recommendations r join recommendation_lists l on l.id = r.list_id where l.district_code = '0212' order by r.position desc limit 1").await;
    let waiting_item = scalar(&app, "select r.id from recommendations r join recommendation_lists l on l.id = r.list_id where l.district_code = '0203' limit 1").await;
    let workshop = scalar(
        &app,
        "select id from activities where kind = 'provincial_workshop'",
    )
    .await
    .to_string();
    let national_workshop = scalar(
        &app,
        "select id from activities where kind = 'national_workshop'",
    )
    .await
    .to_string();
    let path = |id: i64| format!("/recommendations/{id}/priorities");
    // The version of an item's priorities, as its form carries it.
    let version = async |id: i64| {
        scalar(
            &app,
            &format!("select priorities_version::bigint from recommendations where id = {id}"),
        )
        .await
        .to_string()
    };
    let at_first = version(endorsed_item).await;
    let before = scalar(&app, "select count(*) from priorities").await;
    let donor = app.login_as("donor@donor.example").await;
    // The pages show one study (cycle) at a time: the item's.
    let study = scalar(&app, &format!("select l.study_id from recommendations r join recommendation_lists l on l.id = r.list_id where r.id = {endorsed_item}")).await;
    let province_page = format!("/provinces/02/recommendations?study={study}");
    // Viewed once before any change: the page's ranking must follow the changes.
    let unranked = donor.get(&province_page).await;
    assert!(!unranked.body.contains("Provincial priority #4"));
    let refusals: [Refusal; 4] = [
        (
            waiting_item,
            vec![("level", "provincial"), ("rank", "1")],
            "Only endorsed recommendations",
        ),
        (
            endorsed_item,
            vec![("level", "district"), ("rank", "1")],
            "Choose a level",
        ),
        (
            endorsed_item,
            vec![("level", "provincial"), ("rank", "0")],
            "A rank is a whole number from 1 to 1000",
        ),
        (
            endorsed_item,
            vec![
                ("level", "provincial"),
                ("rank", "2"),
                ("workshop_id", &national_workshop),
                ("version", &at_first),
            ],
            "The workshop must be a provincial workshop",
        ),
    ];
    for (id, fields, message) in refusals {
        let page = staff.post(&path(id), &fields).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{message}");
        assert!(page.body.contains(message), "{message}");
        if id == endorsed_item {
            assert!(page.body.contains("name=\"rank\""), "the form comes back");
        }
    }
    assert_eq!(
        scalar(&app, "select count(*) from priorities").await,
        before
    );
    let set = staff
        .post(
            &path(endorsed_item),
            &[
                ("level", "provincial"),
                ("rank", "4"),
                ("workshop_id", &workshop),
                ("back", "/provinces/02/recommendations"),
                ("version", &at_first),
            ],
        )
        .await;
    assert_eq!(set.status, StatusCode::SEE_OTHER);
    assert_eq!(
        set.location.as_deref(),
        Some("/provinces/02/recommendations")
    );
    let page = donor.get(&province_page).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Provincial priority #4"));
    assert!(
        page.body.contains("Provincial priority #1") && page.body.contains("National priority #1"),
        "the demo's workshops"
    );
    assert!(!page.body.contains("name=\"rank\""), "donors get no form");
    let listed = page.body.matches("<article class=\"priority\"").count() as i64;
    let endorsed = scalar(&app, &format!("select count(*) from recommendations r join recommendation_lists l on l.id = r.list_id where l.status = 'endorsed' and l.study_id = {study}")).await;
    assert_eq!(
        listed, endorsed,
        "every endorsed recommendation of the study"
    );
    let removed = staff
        .post(
            &path(endorsed_item),
            &[
                ("level", "provincial"),
                ("rank", ""),
                ("version", &version(endorsed_item).await),
            ],
        )
        .await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER);
    assert_eq!(
        scalar(
            &app,
            &format!("select count(*) from priorities where recommendation_id = {endorsed_item}")
        )
        .await,
        0
    );
    let after = donor.get(&province_page).await;
    assert!(
        !after.body.contains("Provincial priority #4"),
        "removed at once"
    );
    let national = staff
        .get(&format!("/recommendations/national?study={study}"))
        .await;
    assert!(national.body.contains("Battambang") && national.body.contains("National priority #1"));
    // One rank per level and area: the demo's provincial #1 is taken in Battambang.
    let taken = staff
        .post(
            &path(endorsed_item),
            &[
                ("level", "provincial"),
                ("rank", "1"),
                ("version", &version(endorsed_item).await),
            ],
        )
        .await;
    assert_eq!(taken.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        taken
            .body
            .contains("Another recommendation of this study already holds this rank")
    );
    assert!(taken.body.contains("value=\"1\""), "the rank typed is kept");
    assert_eq!(
        scalar(
            &app,
            &format!("select count(*) from priorities where recommendation_id = {endorsed_item}")
        )
        .await,
        0
    );
}

#[tokio::test]
async fn a_priority_set_from_a_stale_page_saves_nothing_and_keeps_the_input() {
    let app = spawn_app().await;
    let staff = app.login_as(SECRETARIAT).await;
    let item = scalar(&app, "select r.id from recommendations r join recommendation_lists l on l.id = r.list_id where l.district_code = '0212' order by r.position desc limit 1").await;
    let study = scalar(&app, &format!("select l.study_id from recommendations r join recommendation_lists l on l.id = r.list_id where r.id = {item}")).await;
    let page = staff
        .get(&format!("/provinces/02/recommendations?study={study}"))
        .await;
    let form = page
        .body
        .split(&format!("action=\"/recommendations/{item}/priorities\""))
        .nth(1)
        .expect("the item's form");
    let version = form
        .split("name=\"version\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a version")
        .to_owned();
    let path = format!("/recommendations/{item}/priorities");
    // Two tabs of the same page: one sets rank 7, then the other sends rank 8.
    let send = |rank: &'static str| {
        let (staff, path, version) = (&staff, &path, version.clone());
        async move {
            staff
                .post(
                    path,
                    &[
                        ("level", "provincial"),
                        ("rank", rank),
                        ("version", &version),
                    ],
                )
                .await
        }
    };
    assert_eq!(send("7").await.status, StatusCode::SEE_OTHER);
    let stale = send("8").await;
    assert_eq!(stale.status, StatusCode::CONFLICT);
    assert!(stale.body.contains("id=\"conflict\""));
    assert!(crate::helpers::text_of(&stale.body).contains("Set now: Provincial priority #7"));
    assert!(
        stale
            .body
            .contains("name=\"rank\" inputmode=\"numeric\" size=\"4\" value=\"8\"")
    );
    let sql = format!(
        "select rank::bigint from priorities where recommendation_id = {item} and level = 'provincial'"
    );
    let rank = async || scalar(&app, &sql).await;
    assert_eq!(rank().await, 7, "the stale form wrote nothing");
    // Five tabs at once: one saves.
    let version = scalar(
        &app,
        &format!("select priorities_version::bigint from recommendations where id = {item}"),
    )
    .await
    .to_string();
    let go = || {
        let (staff, path, version) = (&staff, &path, version.clone());
        async move {
            staff
                .post(
                    path,
                    &[
                        ("level", "provincial"),
                        ("rank", "9"),
                        ("version", &version),
                    ],
                )
                .await
                .status
        }
    };
    let (a, b, c, d, e) = tokio::join!(go(), go(), go(), go(), go());
    let answers = [a, b, c, d, e];
    assert_eq!(
        answers
            .iter()
            .filter(|status| **status == StatusCode::SEE_OTHER)
            .count(),
        1,
        "{answers:?}"
    );
    assert!(
        answers
            .iter()
            .all(|status| [StatusCode::SEE_OTHER, StatusCode::CONFLICT].contains(status))
    );
    assert_eq!(rank().await, 9);
}

#[tokio::test]
async fn steps_the_state_does_not_allow_change_nothing() {
    let app = spawn_app().await;
    let returned = scalar(
        &app,
        "select id from recommendation_lists where district_code = '0201'",
    )
    .await;
    let banan = app.login_as("sna@banan.example").await;
    let endorse = banan
        .post(
            &format!("/recommendation-lists/{returned}/endorse"),
            &[("position", "Governor")],
        )
        .await;
    assert_eq!(
        endorse.status,
        StatusCode::CONFLICT,
        "a returned list is not endorsed"
    );
    let send_back = banan
        .post(
            &format!("/recommendation-lists/{returned}/return"),
            &[("comment", "again")],
        )
        .await;
    assert_eq!(send_back.status, StatusCode::CONFLICT);
    let staff = app.login_as(SECRETARIAT).await;
    let reopen = staff
        .post(
            &format!("/recommendation-lists/{returned}/reopen"),
            &[("comment", "why not")],
        )
        .await;
    assert_eq!(
        reopen.status,
        StatusCode::CONFLICT,
        "only endorsed lists reopen"
    );
    assert_eq!(status(&app, returned).await, "returned");
    let study = scalar(&app, "insert into studies (title_en, province_code, period_start, period_end) values ('Empty round', '02', date '2026-01-01', date '2026-12-31') returning id").await;
    let empty = scalar(&app, &format!("insert into recommendation_lists (district_code, study_id) values ('0203', {study}) returning id")).await;
    let submit = staff
        .post(&format!("/recommendation-lists/{empty}/submit"), &[])
        .await;
    assert_eq!(submit.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(submit.body.contains("The list is empty"));
    assert_eq!(status(&app, empty).await, "draft");
    let official = app.login_as(BATTAMBANG_SNA).await;
    assert_eq!(
        official
            .post(
                &format!("/recommendation-lists/{empty}/endorse"),
                &[("position", "Governor")]
            )
            .await
            .status,
        StatusCode::CONFLICT,
        "a draft is not endorsed"
    );
    assert_eq!(
        scalar(
            &app,
            "select count(*) from endorsements where transition = 'endorsed'"
        )
        .await,
        8,
        "the demo's five of 2021 and three of 2024"
    );
}

#[tokio::test]
async fn the_secretariat_takes_a_submitted_list_back_to_draft_with_a_reason() {
    let app = spawn_app().await;
    let waiting: i64 = sqlx::query_scalar(
        "select id from recommendation_lists where status = 'submitted' limit 1",
    )
    .fetch_one(&app.pool)
    .await
    .expect("a waiting list");
    let path = format!("/recommendation-lists/{waiting}/withdraw");
    for email in [
        "ngo@ctod.example",
        "sna@battambang.example",
        "donor@donor.example",
    ] {
        let refused = app
            .login_as(email)
            .await
            .post(&path, &[("comment", "x")])
            .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{email}");
    }
    let staff = app.login_as("secretariat@cpdd.example").await;
    let page = staff.get(&format!("/recommendation-lists/{waiting}")).await;
    assert!(page.body.contains(&format!(r#"action="{path}""#)));
    let no_reason = staff.post(&path, &[("comment", " ")]).await;
    assert_eq!(no_reason.status, StatusCode::UNPROCESSABLE_ENTITY);
    let withdrawn = staff
        .post(&path, &[("comment", "The budget figure was wrong")])
        .await;
    assert_eq!(withdrawn.status, StatusCode::SEE_OTHER);
    let status: String =
        sqlx::query_scalar("select status from recommendation_lists where id = $1")
            .bind(waiting)
            .fetch_one(&app.pool)
            .await
            .expect("status");
    assert_eq!(status, "draft");
    let page = staff.get(&format!("/recommendation-lists/{waiting}")).await;
    assert!(page.body.contains("Taken back to draft"));
    assert!(page.body.contains("The budget figure was wrong"));
    assert_eq!(
        staff.post(&path, &[("comment", "again")]).await.status,
        StatusCode::CONFLICT,
        "a draft is not withdrawn"
    );
}

#[tokio::test]
async fn the_demo_lists_are_submitted_and_endorsed_after_their_consultations() {
    let app = spawn_app().await;
    let steps: Vec<(String, time::Date, time::Date)> = sqlx::query_as(
        "select e.transition, (e.at at time zone 'Asia/Phnom_Penh')::date, a.held_on
         from endorsements e join recommendation_lists l on l.id = e.list_id
         join activities a on a.id = l.consultation_id",
    )
    .fetch_all(&app.pool)
    .await
    .expect("steps");
    assert!(
        steps
            .iter()
            .any(|(transition, _, _)| transition == "endorsed")
    );
    for (transition, on, consultation) in &steps {
        assert!(
            on > consultation,
            "{transition} on {on}, consultation {consultation}"
        );
    }
}

#[tokio::test]
async fn anyone_who_reads_an_endorsed_list_can_check_its_fingerprint() {
    let app = spawn_app().await;
    let list: i64 =
        sqlx::query_scalar("select id from recommendation_lists where status = 'endorsed' limit 1")
            .fetch_one(&app.pool)
            .await
            .expect("an endorsed list");
    let donor = app.login_as("donor@donor.example").await;
    let page = donor
        .get(&format!("/recommendation-lists/{list}"))
        .await
        .body;
    let shown = page
        .split(r#"<code class="fingerprint">"#)
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .expect("the fingerprint on the page")
        .to_owned();
    assert!(page.contains(&format!("sha256sum samleng-list-{list}-endorsed.json")));
    let response = donor
        .client
        .get(app.url(&format!("/recommendation-lists/{list}/snapshot")))
        .send()
        .await
        .expect("download");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-disposition"],
        format!("attachment; filename=\"samleng-list-{list}-endorsed.json\"").as_str()
    );
    let bytes = response.bytes().await.expect("the snapshot");
    let computed: String = Sha256::digest(&bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    assert_eq!(
        computed, shown,
        "sha256sum of the file is the fingerprint shown"
    );
    // A list not yet endorsed has nothing to download.
    let staff = app.login_as("secretariat@cpdd.example").await;
    let waiting: i64 = sqlx::query_scalar(
        "select id from recommendation_lists where status = 'submitted' limit 1",
    )
    .fetch_one(&app.pool)
    .await
    .expect("a waiting list");
    assert_eq!(
        staff
            .get(&format!("/recommendation-lists/{waiting}/snapshot"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}
