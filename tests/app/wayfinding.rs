//! Finding one's way: filters offer places by name grouped by province,
//! communes sit under their district, a case study takes its district's
//! activities from its own page and links its district's list, and plans and
//! district pages link each recommendation to its evidence chain.

use reqwest::StatusCode;

use crate::helpers::{TestApp, spawn_app};

async fn scalar(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(sql)
        .fetch_one(&app.pool)
        .await
        .expect(sql)
}

#[tokio::test]
async fn filters_offer_districts_by_name_grouped_by_province_never_code_fields() {
    let app = spawn_app().await;
    let staff = app.login_as("secretariat@cpdd.example").await;
    for path in [
        "/activities",
        "/case-studies",
        "/recommendation-lists",
        "/dashboard",
    ] {
        let page = staff.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        assert!(
            !page.body.contains("maxlength=\"4\""),
            "{path}: no code field"
        );
        assert!(
            page.body.contains("<optgroup label=\"Battambang\">"),
            "{path}"
        );
        assert!(
            page.body.contains("<option value=\"0204\">Bavel</option>"),
            "{path}"
        );
    }
    let chosen = staff.get("/activities?district=0204").await;
    assert!(
        chosen
            .body
            .contains("<option value=\"0204\" selected>Bavel</option>")
    );
    let khmer = staff.get("/case-studies?lang=km").await;
    let bavel_km: String = sqlx::query_scalar("select name_km from districts where code = '0204'")
        .fetch_one(&app.pool)
        .await
        .expect("Bavel");
    assert!(
        khmer
            .body
            .contains(&format!("<option value=\"0204\">{bavel_km}</option>")),
        "names in the reader's language"
    );
    staff.get("/?lang=en").await;
    let form = app
        .login_as("ngo@ctod.example")
        .await
        .get("/activities/new")
        .await;
    assert!(
        form.body.contains("<optgroup label=\"Bavel\">"),
        "communes under their district"
    );
    assert!(
        !form.body.contains("0204 ›"),
        "no codes in the commune choice"
    );
}

#[tokio::test]
async fn a_case_study_takes_its_districts_activities_from_its_own_page() {
    let app = spawn_app().await;
    let case = scalar(
        &app,
        "select id from case_studies where status = 'draft' and district_code = '0207'",
    )
    .await;
    let path = format!("/case-studies/{case}/activities");
    let writer = app.login_as("ngo@as.example").await;
    let page = writer.get(&format!("/case-studies/{case}")).await;
    assert!(page.body.contains(&format!("action=\"{path}\"")));
    let linked = async || {
        sqlx::query_scalar::<_, i64>(&format!(
            "select id from activities where case_study_id = {case} order by id"
        ))
        .fetch_all(&app.pool)
        .await
        .expect("linked")
    };
    let before = linked().await;
    assert!(!before.is_empty());
    let free: i64 = scalar(&app, "insert into activities (kind, held_on, district_code, facilitating_organization_id)
                                  select 'interview', '2021-09-02', '0207', id from organizations where acronym = 'AS' returning id").await;
    let elsewhere = scalar(
        &app,
        "select min(id) from activities where district_code = '0203'",
    )
    .await;
    assert!(
        page.body.contains("name=\"activities\"")
            && !page
                .body
                .contains(&format!("name=\"activities\" value=\"{elsewhere}\"")),
        "this district's only"
    );

    let refused = writer
        .post(&path, &[("activities", &elsewhere.to_string())])
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(linked().await, before, "nothing changed");
    assert_eq!(
        app.login_as("ngo@ctod.example")
            .await
            .post(&path, &[("activities", &free.to_string())])
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let mut chosen: Vec<(&str, String)> = before
        .iter()
        .skip(1)
        .map(|id| ("activities", id.to_string()))
        .collect();
    chosen.push(("activities", free.to_string()));
    // The page's form carries the version of the links it was drawn from.
    let version = scalar(
        &app,
        &format!("select activities_version::bigint from case_studies where id = {case}"),
    )
    .await;
    chosen.push(("activities_version", version.to_string()));
    let fields: Vec<(&str, &str)> = chosen.iter().map(|(n, v)| (*n, v.as_str())).collect();
    assert_eq!(
        writer.post(&path, &fields).await.status,
        StatusCode::SEE_OTHER
    );
    let mut expected: Vec<i64> = before.iter().skip(1).copied().collect();
    expected.push(free);
    expected.sort();
    assert_eq!(linked().await, expected, "the checked ones, and only them");
    let page = writer.get(&format!("/case-studies/{case}")).await;
    assert!(
        page.body
            .contains(&format!("<a href=\"/activities/{free}\">"))
    );
}

#[tokio::test]
async fn case_studies_plans_and_districts_link_the_lists_and_the_evidence_chain() {
    let app = spawn_app().await;
    let donor = app.login_as("donor@donor.example").await;
    let case = scalar(
        &app,
        "select id from case_studies where district_code = '0204' and status = 'published'",
    )
    .await;
    let list = scalar(
        &app,
        "select id from recommendation_lists where district_code = '0204' and status = 'endorsed'
         order by id limit 1",
    )
    .await;
    let page = donor.get(&format!("/case-studies/{case}")).await;
    assert!(
        page.body
            .contains(&format!("href=\"/recommendation-lists/{list}\"")),
        "the case study links its district's list"
    );

    let plan = scalar(
        &app,
        "select id from action_plans where district_code = '0204'",
    )
    .await;
    let implemented = scalar(&app, &format!("select min(ar.recommendation_id) from action_recommendations ar join actions a on a.id = ar.action_id where a.plan_id = {plan}")).await;
    let page = donor.get(&format!("/action-plans/{plan}")).await;
    assert!(
        page.body
            .contains(&format!("href=\"/recommendations/{implemented}\"")),
        "the plan links what it implements"
    );
    assert!(
        page.body.contains("href=\"/studies/"),
        "the plan links its study"
    );

    // The district's page shows its latest endorsed list (the second cycle's).
    let page = donor.get("/districts/0204").await;
    let items: Vec<i64> = sqlx::query_scalar(
        "select r.id from recommendations r where r.list_id = (
             select max(id) from recommendation_lists where district_code = '0204' and status = 'endorsed')
         order by r.position",
    )
    .fetch_all(&app.pool)
    .await
    .expect("items");
    for item in &items {
        assert!(
            page.body
                .contains(&format!("href=\"/recommendations/{item}\"")),
            "item {item}"
        );
    }
    // A donor is not shown a list that is still being written.
    let waiting = scalar(&app, "select min(r.id) from recommendations r join recommendation_lists l on l.id = r.list_id where l.district_code = '0203'").await;
    assert!(
        !donor
            .get("/districts/0203")
            .await
            .body
            .contains(&format!("/recommendations/{waiting}\""))
    );
}
