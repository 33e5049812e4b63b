//! The public pages and open data (issue 15): for anyone, turned on per
//! study by the secretariat, as strict as a donor's view or stricter, and
//! answered from a cache with validators.

use reqwest::StatusCode;
use reqwest::header::{ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED};

use crate::helpers::{TestApp, Visitor, spawn_app};
use crate::small_counts::{Seen, check_page, small_cells, walk_from};

const SECRETARIAT: &str = "secretariat@cpdd.example";

async fn study_id(app: &TestApp) -> i64 {
    sqlx::query_scalar("select id from studies order by id limit 1")
        .fetch_one(&app.pool)
        .await
        .expect("the demo study")
}

/// Text the public must never read: internal text, places, people's names,
/// drafts, photos' captions. Taken from the database, not from the pages.
async fn internal_texts(app: &TestApp) -> Vec<String> {
    let texts: Vec<String> = sqlx::query_scalar(
        "select text from (
             select place as text from activities
             union select summary from activities
             union select text_en from findings where not public
             union select text_km from findings where not public
             union select quote from findings
             union select note from action_updates where internal
             union select display_name from users
             union select email from users
             union select actor_name from endorsements
             union select caption from attachments
             union select c.title_en from case_studies c where c.status not in ('published', 'archived')
             union select r.text_en from recommendations r join recommendation_lists l on l.id = r.list_id
                   where l.status <> 'endorsed'
                     and r.text_en not in (select r2.text_en from recommendations r2
                                           join recommendation_lists l2 on l2.id = r2.list_id
                                           where l2.status = 'endorsed')
         ) t where length(text) > 6
           -- A place named as the gazetteer names it is public anyway.
           and text not in (select name_en from provinces union select name_en from districts)",
    )
    .fetch_all(&app.pool)
    .await
    .expect("internal texts");
    texts
}

#[tokio::test]
async fn anyone_reads_the_demo_study_without_an_account_and_nothing_internal_or_small_shows() {
    let app = spawn_app().await;
    small_cells(&app).await;
    let id = study_id(&app).await;
    let reader = app.visitor();

    let index = reader.get("/public").await;
    assert_eq!(index.status, StatusCode::OK);
    assert!(index.body.contains(&format!("/public/studies/{id}")));
    let page = reader.get(&format!("/public/studies/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    for expected in [
        r#"<meta property="og:title" content="Civic Engagement at DM level, Battambang province, 2021">"#,
        r#"<meta property="og:description" content="7 districts, 5 endorsed recommendation lists"#,
        "Who took part",
        "Provincial priority",
        &format!("/public/studies/{id}/districts/0202"),
    ] {
        assert!(page.body.contains(expected), "{expected}");
    }
    let priorities: Vec<String> = sqlx::query_scalar(
        "select r.text_en from priorities p join recommendations r on r.id = p.recommendation_id
         join recommendation_lists l on l.id = r.list_id where l.study_id = $1",
    )
    .bind(id)
    .fetch_all(&app.pool)
    .await
    .expect("priorities");
    assert_eq!(priorities.len(), 4, "three provincial, one national");
    let listed = page
        .body
        .split("id=\"public-priorities\"")
        .nth(1)
        .expect("priorities");
    for text in &priorities {
        assert!(listed.contains(text.as_str()), "{text}");
    }
    // Thma Koul's list was endorsed online, and its plan has actions.
    let district = reader
        .get(&format!("/public/studies/{id}/districts/0202"))
        .await;
    assert_eq!(district.status, StatusCode::OK);
    let fingerprint: String = sqlx::query_scalar(
        "select e.fingerprint from endorsements e join recommendation_lists l on l.id = e.list_id
         where l.district_code = '0202' and e.transition = 'endorsed' and l.study_id = $1",
    )
    .bind(id)
    .fetch_one(&app.pool)
    .await
    .expect("fingerprint");
    for expected in [
        "Endorsed online on",
        fingerprint.as_str(),
        "Action plans",
        "Civic engagement in Thma Koul",
    ] {
        assert!(district.body.contains(expected), "{expected}");
    }
    assert_eq!(
        reader
            .get(&format!("/public/studies/{id}/districts/1201"))
            .await
            .status,
        StatusCode::NOT_FOUND,
        "a district of another province"
    );
    // A plan of the province's own, for no one district, shows on the study's page.
    sqlx::query(
        "with plan as (
             insert into action_plans (title_en, province_code, study_id, period_start, period_end)
             values ('Provincial plan (test)', '02', $1, date '2022-01-01', date '2023-01-01') returning id)
         insert into actions (plan_id, description_en, owner_organization_id, lead, starts_on, due_on)
         select plan.id, 'A provincial radio programme (test)', o.id, 'joint', date '2022-01-01', date '2022-12-31'
         from plan, organizations o where o.acronym = 'CPDD'",
    )
    .bind(id)
    .execute(&app.pool)
    .await
    .expect("a provincial plan");
    app.heard_everything().await;
    let page = reader.get(&format!("/public/studies/{id}")).await;
    assert!(page.body.contains("A provincial radio programme (test)"));
    let khmer = reader.get(&format!("/public/studies/{id}?lang=km")).await;
    assert!(khmer.body.contains(r#"<html lang="km">"#));
    assert!(khmer.body.contains("ការសិក្សាសាធារណៈ"));

    // Everything reachable from /public, data files included.
    let anonymous = app.visitor();
    let pages: Vec<(String, String)> = walk_from(&anonymous, "/public", 200)
        .await
        .into_iter()
        .filter(|(path, _)| path.starts_with("/public"))
        .collect();
    assert!(
        pages
            .iter()
            .any(|(path, _)| path.ends_with("participation.json"))
            && pages
                .iter()
                .any(|(path, _)| path.ends_with("recommendations.csv")),
        "the walk reached the data files: {:?}",
        pages.iter().map(|(path, _)| path).collect::<Vec<_>>()
    );
    let internal = internal_texts(&app).await;
    assert!(internal.len() > 20, "{internal:?}");
    let mut seen = Seen::default();
    for (path, body) in &pages {
        for text in &internal {
            assert!(!body.contains(text.as_str()), "{path} shows {text:?}");
        }
        check_page(body, path, &mut seen);
    }
    // Small groups took part in the published field work: each was rounded to
    // 0 or 5, the same everywhere (which way depends on its secret).
    let small: i64 = sqlx::query_scalar(
        "select count(*) from participant_counts p join activities a on a.id = p.activity_id
         join case_studies c on c.id = a.case_study_id
         where c.status in ('published', 'archived') and p.count between 1 and 4",
    )
    .fetch_one(&app.pool)
    .await
    .expect("small groups");
    assert!(
        small > 0 && seen.relations > 10,
        "{small} small groups; {seen:?}"
    );
    let participation = anonymous
        .get(&format!("/public/studies/{id}/data/participation.json"))
        .await;
    let rows: serde_json::Value = serde_json::from_str(&participation.body).expect("JSON");
    for row in rows.as_array().expect("rows") {
        for column in ["participants", "female", "male"] {
            if let Some(count) = row[column].as_i64() {
                assert!(!(1..5).contains(&count), "{column} {count} in {row}");
            }
        }
    }
}

#[tokio::test]
async fn the_secretariat_turns_public_pages_off_and_on_audited_and_bad_choices_come_back() {
    let app = spawn_app().await;
    let id = study_id(&app).await;
    let secretariat = app.login_as(SECRETARIAT).await;
    let public = format!("/public/studies/{id}");
    let toggle = format!("/studies/{id}/public");

    let off = secretariat
        .post(&toggle, &[("public", "off"), ("licence", "CC0-1.0")])
        .await;
    assert_eq!(off.status, StatusCode::SEE_OTHER);
    assert_eq!(
        app.visitor().get(&public).await.status,
        StatusCode::NOT_FOUND
    );
    assert!(!app.visitor().get("/public").await.body.contains(&public));
    assert_eq!(
        app.visitor()
            .get(&format!("{public}/data/recommendations.csv"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    // The same form sent again changes nothing and records nothing more.
    let again = secretariat
        .post(&toggle, &[("public", "off"), ("licence", "CC0-1.0")])
        .await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    let on = secretariat
        .post(&toggle, &[("public", "on"), ("licence", "CC-BY-SA-4.0")])
        .await;
    assert_eq!(on.status, StatusCode::SEE_OTHER);
    let page = app.visitor().get(&public).await;
    assert_eq!(page.status, StatusCode::OK);
    let data = app.visitor().get("/public/data").await;
    assert!(data.body.contains("CC-BY-SA-4.0"));
    let audited: Vec<String> = sqlx::query_scalar(
        "select action from audit_events where entity = 'study' and action like 'study_public%' order by id",
    )
    .fetch_all(&app.pool)
    .await
    .expect("audit");
    assert_eq!(audited, ["study_public_off", "study_public_on"]);

    // An unknown licence: the form back with the choice and a message, nothing changed.
    let refused = secretariat
        .post(
            &toggle,
            &[("public", "off"), ("licence", "All rights reserved")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("Choose one of the licences offered."));
    assert_eq!(app.visitor().get(&public).await.status, StatusCode::OK);
    let khmer = secretariat
        .post(
            &format!("{toggle}?lang=km"),
            &[("public", "maybe"), ("licence", "CC0-1.0")],
        )
        .await;
    assert_eq!(khmer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(khmer.body.contains("សូមជ្រើសរើស ធ្វើឲ្យការសិក្សាជាសាធារណៈ"));
    let licence: String = sqlx::query_scalar("select licence from studies where id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .expect("licence");
    assert_eq!(licence, "CC-BY-SA-4.0");
}

async fn conditional(
    visitor: &Visitor,
    app: &TestApp,
    path: &str,
    header: (&str, &str),
) -> StatusCode {
    visitor
        .client
        .get(app.url(path))
        .header(header.0, header.1)
        .header("accept-encoding", "gzip")
        .send()
        .await
        .expect("GET")
        .status()
}

#[tokio::test]
async fn public_answers_carry_validators_and_change_with_the_data() {
    let app = spawn_app().await;
    let id = study_id(&app).await;
    let path = format!("/public/studies/{id}");
    // Pages are kept only while the instance hears changes.
    app.heard_everything().await;
    let reader = app.visitor();
    let first = reader
        .client
        .get(app.url(&path))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .expect("GET");
    assert_eq!(first.status(), StatusCode::OK);
    assert_eq!(first.headers()["cache-control"], "public, max-age=60");
    let etag = first.headers()[ETAG].to_str().expect("etag").to_owned();
    let modified = first.headers()[LAST_MODIFIED]
        .to_str()
        .expect("date")
        .to_owned();
    assert!(first.text().await.expect("body").contains("Who took part"));
    assert_eq!(
        conditional(&reader, &app, &path, (IF_NONE_MATCH.as_str(), &etag)).await,
        StatusCode::NOT_MODIFIED
    );
    assert_eq!(
        conditional(
            &reader,
            &app,
            &path,
            (IF_MODIFIED_SINCE.as_str(), &modified)
        )
        .await,
        StatusCode::NOT_MODIFIED
    );
    // The secretariat renames the study: the page changes, so does its tag.
    sqlx::query("update studies set title_en = title_en || ' (revised)' where id = $1")
        .bind(id)
        .execute(&app.pool)
        .await
        .expect("rename");
    app.heard_everything().await;
    assert_eq!(
        conditional(&reader, &app, &path, (IF_NONE_MATCH.as_str(), &etag)).await,
        StatusCode::OK
    );
    let csv_path = format!("{path}/data/recommendations.csv");
    let download = reader
        .client
        .get(app.url(&csv_path))
        .send()
        .await
        .expect("GET");
    assert_eq!(download.status(), StatusCode::OK);
    assert!(
        download.headers()["content-disposition"]
            .to_str()
            .expect("text")
            .starts_with("attachment; filename=\"samleng-study-")
    );
    let csv_tag = download.headers()[ETAG].to_str().expect("etag").to_owned();
    let csv = download.bytes().await.expect("bytes").to_vec();
    assert_eq!(
        conditional(&reader, &app, &csv_path, (IF_NONE_MATCH.as_str(), &csv_tag)).await,
        StatusCode::NOT_MODIFIED
    );
    assert!(
        csv.starts_with(b"\xEF\xBB\xBF"),
        "a byte-order mark for spreadsheets"
    );
    let rows = csv::Reader::from_reader(&csv[3..]).records().count() as i64;
    let endorsed: i64 = sqlx::query_scalar(
        "select count(*) from recommendations r join recommendation_lists l on l.id = r.list_id
         where l.study_id = $1 and l.status = 'endorsed'",
    )
    .bind(id)
    .fetch_one(&app.pool)
    .await
    .expect("count");
    assert_eq!(rows, endorsed);
    assert!(endorsed > 0);
}

/// An endorsement at 05:14 on 2 December in Phnom Penh (22:14 on 1 December
/// in UTC) is dated 2 December on the public pages, in the open data and in
/// the exports: one time zone everywhere.
#[tokio::test]
async fn an_endorsement_is_dated_by_cambodias_day_everywhere() {
    let app = spawn_app().await;
    let id = study_id(&app).await;
    let (list, district): (i64, String) = sqlx::query_as(
        "select l.id, l.district_code from recommendation_lists l
         join endorsements e on e.list_id = l.id and e.transition = 'endorsed' and e.given_on is null
         where l.study_id = $1 and l.status = 'endorsed' order by l.id limit 1",
    )
    .bind(id)
    .fetch_one(&app.pool)
    .await
    .expect("an online endorsement");
    sqlx::query(
        "update endorsements set at = timestamptz '2026-12-01 22:14:00+00'
         where list_id = $1 and transition = 'endorsed'",
    )
    .bind(list)
    .execute(&app.pool)
    .await
    .expect("a late-night endorsement");
    let reader = app.visitor();
    let open_data = reader
        .get(&format!("/public/studies/{id}/data/recommendations.csv"))
        .await;
    assert_eq!(open_data.status, StatusCode::OK);
    let of_list: Vec<&str> = open_data
        .body
        .lines()
        .filter(|line| line.starts_with(&format!("{list},")))
        .collect();
    assert!(!of_list.is_empty(), "{}", open_data.body);
    for line in &of_list {
        assert!(line.contains(",2026-12-02,"), "{line}");
        assert!(!line.contains("2026-12-01"), "{line}");
    }
    let district_page = reader
        .get(&format!("/public/studies/{id}/districts/{district}"))
        .await;
    assert!(
        district_page.body.contains("2026-12-02") && !district_page.body.contains("2026-12-01"),
        "the public district page"
    );
    let data_page = reader.get("/public/data").await;
    assert!(
        data_page.body.contains("Asia/Phnom_Penh"),
        "the open data says its time zone"
    );

    let staff = app.login_as(SECRETARIAT).await;
    let list_page = staff.get(&format!("/recommendation-lists/{list}")).await;
    assert!(
        list_page.body.contains("2026-12-02 05:14"),
        "the list's page"
    );
    let export = staff.get("/exports/recommendations.csv").await;
    assert_eq!(export.status, StatusCode::OK);
    let mut exported =
        csv::Reader::from_reader(export.body.trim_start_matches('\u{feff}').as_bytes());
    let header = exported.headers().expect("header").clone();
    let column = |name: &str| header.iter().position(|c| c == name).expect(name);
    let (list_column, endorsed_column) = (column("list_id"), column("endorsed_on"));
    let dates: Vec<String> = exported
        .records()
        .map(|record| record.expect("record"))
        .filter(|record| record[list_column] == list.to_string())
        .map(|record| record[endorsed_column].to_owned())
        .collect();
    assert!(!dates.is_empty());
    assert!(dates.iter().all(|date| date == "2026-12-02"), "{dates:?}");
    let dictionary = staff.get("/exports").await;
    assert!(dictionary.body.contains("Asia/Phnom_Penh"));
    let zone: String = sqlx::query_scalar("select current_setting('timezone')")
        .fetch_one(&app.app_pool)
        .await
        .expect("the app's time zone");
    assert_eq!(zone, "Asia/Phnom_Penh", "SQL's dates are Cambodia's too");
}
