//! Case studies: writing, the review workflow, revisions, concurrent edits,
//! sanitized Markdown, and who reads what.

use reqwest::StatusCode;

use crate::helpers::{TestApp, spawn_app};

const AS: &str = "ngo@as.example";

async fn scalar(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(sql)
        .fetch_one(&app.pool)
        .await
        .expect(sql)
}

async fn status(app: &TestApp, id: i64) -> String {
    sqlx::query_scalar("select status from case_studies where id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .expect("status")
}

/// The draft case study of Rotonak Mondol (0207), which AS covers.
async fn draft(app: &TestApp) -> i64 {
    scalar(
        app,
        "select id from case_studies where district_code = '0207'",
    )
    .await
}

/// The edit form of a case study as it opens (the page must open), with the
/// stored values it shows.
async fn edit_fields(
    app: &TestApp,
    visitor: &crate::helpers::Visitor,
    id: i64,
) -> Vec<(String, String)> {
    let page = visitor.get(&format!("/case-studies/{id}/edit")).await;
    assert_eq!(page.status, StatusCode::OK);
    let row: (i64, String, i64, String, String, String, String, i32) = sqlx::query_as(
        "select study_id, district_code, author_organization_id, title_en, title_km, summary, context, version
         from case_studies where id = $1",
    )
    .bind(id)
    .fetch_one(&app.pool)
    .await
    .expect("case study");
    assert!(
        page.body.contains(&row.3),
        "the form shows the stored title"
    );
    vec![
        ("study_id".into(), row.0.to_string()),
        ("district_code".into(), row.1),
        ("author_organization_id".into(), row.2.to_string()),
        ("title_en".into(), row.3),
        ("title_km".into(), row.4),
        ("summary".into(), row.5),
        ("context".into(), row.6),
        ("findings".into(), String::new()),
        ("version".into(), row.7.to_string()),
    ]
}

fn with(fields: &[(String, String)], name: &str, value: &str) -> Vec<(String, String)> {
    fields
        .iter()
        .map(|(field, old)| {
            (
                field.clone(),
                if field == name {
                    value.to_owned()
                } else {
                    old.clone()
                },
            )
        })
        .collect()
}

fn refs(fields: &[(String, String)]) -> Vec<(&str, &str)> {
    fields
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect()
}

#[tokio::test]
async fn the_workflow_runs_from_draft_to_archive_and_refuses_illegal_steps() {
    let app = spawn_app().await;
    let id = draft(&app).await;
    let writer = app.login_as(AS).await;
    let staff = app.login_as("secretariat@cpdd.example").await;
    let path = |step: &str| format!("/case-studies/{id}/{step}");

    for step in ["publish", "archive", "return"] {
        let refused = staff.post(&path(step), &[("comment", "too early")]).await;
        assert_eq!(refused.status, StatusCode::CONFLICT, "{step} a draft");
        assert_eq!(status(&app, id).await, "draft");
    }
    assert_eq!(
        writer.post(&path("publish"), &[]).await.status,
        StatusCode::FORBIDDEN,
        "NGO staff do not publish"
    );
    assert_eq!(
        writer.post(&path("submit"), &[]).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(status(&app, id).await, "in_review");
    assert_eq!(
        writer.post(&path("submit"), &[]).await.status,
        StatusCode::CONFLICT,
        "submitted twice"
    );
    let no_reason = staff.post(&path("return"), &[("comment", "  ")]).await;
    assert_eq!(no_reason.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(no_reason.body.contains("A reason is required"));
    assert_eq!(status(&app, id).await, "in_review");
    assert_eq!(
        staff
            .post(&path("return"), &[("comment", "Add the interviews.")])
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(status(&app, id).await, "draft");
    assert!(
        writer
            .get(&format!("/case-studies/{id}"))
            .await
            .body
            .contains("Add the interviews.")
    );
    writer.post(&path("submit"), &[]).await;
    assert_eq!(
        staff.post(&path("publish"), &[]).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(status(&app, id).await, "published");
    assert_eq!(
        writer.get(&format!("/case-studies/{id}/edit")).await.status,
        StatusCode::CONFLICT,
        "published is frozen"
    );
    assert_eq!(
        staff.post(&path("archive"), &[]).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(status(&app, id).await, "archived");
    let steps = scalar(
        &app,
        &format!(
            "select count(*) from audit_events where entity = 'case_study' and entity_id = '{id}'"
        ),
    )
    .await;
    assert_eq!(
        steps, 5,
        "submitted, returned, submitted, published, archived"
    );
}

#[tokio::test]
async fn drafts_stay_in_their_district_and_published_work_is_for_everyone() {
    let app = spawn_app().await;
    let id = draft(&app).await;
    let page = |email: &'static str| {
        let app = &app;
        async move {
            app.login_as(email)
                .await
                .get(&format!("/case-studies/{id}"))
                .await
                .status
        }
    };
    assert_eq!(page(AS).await, StatusCode::OK);
    assert_eq!(
        page("ngo@ctod.example").await,
        StatusCode::FORBIDDEN,
        "another NGO's district"
    );
    assert_eq!(
        page("sna@battambang.example").await,
        StatusCode::FORBIDDEN,
        "another district's official"
    );
    assert_eq!(page("donor@donor.example").await, StatusCode::FORBIDDEN);
    let list = app
        .login_as("donor@donor.example")
        .await
        .get("/case-studies")
        .await;
    assert!(!list.body.contains(&format!("/case-studies/{id}\"")));
    assert_eq!(list.body.matches("<td>Published</td>").count(), 5);
}

#[tokio::test]
async fn saving_keeps_a_revision_and_the_second_of_two_edits_is_refused() {
    let app = spawn_app().await;
    let id = draft(&app).await;
    let first = app.login_as(AS).await;
    let second = app.login_as("secretariat@cpdd.example").await;
    let fields = edit_fields(&app, &first, id).await;
    let other_fields = edit_fields(&app, &second, id).await;
    let saved = first
        .post(
            &format!("/case-studies/{id}"),
            &refs(&with(&fields, "context", "Written by AS.")),
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let refused = second
        .post(
            &format!("/case-studies/{id}"),
            &refs(&with(
                &other_fields,
                "context",
                "Written by the secretariat.",
            )),
        )
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert!(
        refused.body.contains("Written by AS."),
        "shows what the other person saved"
    );
    assert!(
        refused.body.contains("Written by the secretariat."),
        "keeps this person's input"
    );
    let stored: String = sqlx::query_scalar("select context from case_studies where id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .expect("context");
    assert_eq!(stored, "Written by AS.");
    let revision = first.get(&format!("/case-studies/{id}/revisions/2")).await;
    assert_eq!(revision.status, StatusCode::OK);
    assert!(revision.body.contains("Written by AS."));
    assert!(
        revision.body.contains("Context ✱"),
        "the changed field is marked, named in words"
    );
}

#[tokio::test]
async fn markdown_is_rendered_and_scripts_are_not() {
    let app = spawn_app().await;
    let id = draft(&app).await;
    let writer = app.login_as(AS).await;
    let fields = edit_fields(&app, &writer, id).await;
    let hostile = "## Heard\n\n**Bold** <script>alert('x')</script> [click](javascript:alert(1))";
    let saved = writer
        .post(
            &format!("/case-studies/{id}"),
            &refs(&with(&fields, "findings", hostile)),
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER);
    let page = writer.get(&format!("/case-studies/{id}")).await;
    assert!(page.body.contains("<h2>Heard</h2>") && page.body.contains("<strong>Bold</strong>"));
    assert!(!page.body.contains("<script>alert"));
    assert!(!page.body.contains("javascript:alert"));
}

#[tokio::test]
async fn a_new_case_study_is_refused_for_a_district_that_has_one_and_for_missing_titles() {
    let app = spawn_app().await;
    let writer = app.login_as(AS).await;
    let study = scalar(&app, "select id from studies order by id limit 1")
        .await
        .to_string();
    let author = scalar(&app, "select id from organizations where acronym = 'AS'")
        .await
        .to_string();
    let before = scalar(&app, "select count(*) from case_studies").await;
    let form = |district: &'static str, title: &'static str| {
        vec![
            ("study_id", study.clone()),
            ("district_code", district.to_owned()),
            ("author_organization_id", author.clone()),
            ("title_en", title.to_owned()),
            ("summary", "Draft summary kept".to_owned()),
        ]
    };
    let post = |fields: Vec<(&'static str, String)>| {
        let writer = &writer;
        async move {
            let fields: Vec<(&str, &str)> = fields.iter().map(|(n, v)| (*n, v.as_str())).collect();
            writer.post("/case-studies", &fields).await
        }
    };
    let taken = post(form("0207", "Second Rotonak Mondol study")).await;
    assert_eq!(taken.status, StatusCode::CONFLICT);
    assert!(taken.body.contains("already has a case study"));
    let untitled = post(form("0206", "")).await;
    assert_eq!(untitled.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(untitled.body.contains("Give a title"));
    assert!(untitled.body.contains("Draft summary kept"));
    let elsewhere = post(form("0204", "Bavel by AS")).await;
    assert_eq!(
        elsewhere.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "AS does not cover Bavel"
    );
    assert_eq!(
        scalar(&app, "select count(*) from case_studies").await,
        before
    );
    sqlx::query("delete from case_studies where district_code = '0206'")
        .execute(&app.pool)
        .await
        .ok();
    let created = post(form("0206", "Moung Ruessei")).await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
}

#[tokio::test]
async fn the_secretariat_creates_a_study_with_its_funders() {
    let app = spawn_app().await;
    let staff = app.login_as("secretariat@cpdd.example").await;
    let donor = scalar(&app, "select id from organizations where acronym = 'DDP'")
        .await
        .to_string();
    let form = |title: &'static str, start: &'static str, end: &'static str| {
        vec![
            ("title_en", title.to_owned()),
            ("title_km", "ការសិក្សា ២០២៦".to_owned()),
            ("province_code", "02".to_owned()),
            ("period_start", start.to_owned()),
            ("period_end", end.to_owned()),
            ("funders", donor.clone()),
        ]
    };
    let post = |fields: Vec<(&'static str, String)>| {
        let staff = &staff;
        async move {
            let fields: Vec<(&str, &str)> = fields.iter().map(|(n, v)| (*n, v.as_str())).collect();
            staff.post("/studies", &fields).await
        }
    };
    let before = scalar(&app, "select count(*) from studies").await;
    let backwards = post(form("Battambang 2026", "2026-12-31", "2026-01-01")).await;
    assert_eq!(backwards.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(backwards.body.contains("The end comes before the start."));
    assert!(backwards.body.contains("Battambang 2026"));
    let untitled = post(form("", "2026-01-01", "2026-12-31")).await;
    assert!(untitled.body.contains("Required."));
    let not_a_date = post(form("Battambang 2026", "1 January", "2026-12-31")).await;
    assert!(not_a_date.body.contains("Not a date"));
    assert_eq!(scalar(&app, "select count(*) from studies").await, before);
    let created = post(form("Battambang 2026", "2026-01-01", "2026-12-31")).await;
    assert_eq!(created.status, StatusCode::SEE_OTHER);
    let page = staff
        .get(created.location.as_deref().expect("location"))
        .await;
    assert!(page.body.contains("Battambang 2026") && page.body.contains("Demo Donor Partnership"));
}

#[tokio::test]
async fn case_study_lists_filter_by_status_date_and_text() {
    let app = spawn_app().await;
    let staff = app.login_as("secretariat@cpdd.example").await;
    let rows = |body: &str| body.matches("<tr><td><a href=\"/case-studies/").count();
    assert_eq!(rows(&staff.get("/case-studies").await.body), 7);
    assert_eq!(
        rows(&staff.get("/case-studies?status=published").await.body),
        5
    );
    assert_eq!(rows(&staff.get("/case-studies?q=bavel").await.body), 1);
    sqlx::query("update case_studies set updated_at = timestamptz '2021-12-01' where district_code = '0204'")
        .execute(&app.pool)
        .await
        .expect("an older one");
    assert_eq!(
        rows(&staff.get("/case-studies?to=2021-12-31").await.body),
        1
    );
    assert_eq!(
        rows(&staff.get("/case-studies?from=2022-01-01").await.body),
        6
    );
    let by_title = staff.get("/case-studies?sort=title").await;
    let first = by_title
        .body
        .split("<tr><td><a href=\"/case-studies/")
        .nth(1)
        .unwrap_or_default();
    assert!(
        first.contains("Civic engagement in Banan"),
        "alphabetical: Banan first"
    );
}

#[tokio::test]
async fn search_finds_a_case_study_by_its_narrative_in_either_language() {
    let app = spawn_app().await;
    let id: i64 = sqlx::query_scalar(
        "update case_studies set context = 'ក្រុមប្រឹក្សាស្រុកបានបើកវេទិកាសាធារណៈ', summary = 'The council opened a public forum at the pagoda.'
         where id = (select min(id) from case_studies where status = 'published') returning id",
    )
    .fetch_one(&app.pool)
    .await
    .expect("a published case study");
    let donor = app.login_as("donor@donor.example").await;
    for term in ["វេទិកាសាធារណៈ", "public forum AT THE pagoda"] {
        let query = serde_urlencoded::to_string([("q", term)]).expect("query");
        let found = donor.get(&format!("/case-studies?{query}")).await;
        assert_eq!(found.status, StatusCode::OK);
        assert!(
            found
                .body
                .contains(&format!(r#"href="/case-studies/{id}""#)),
            "{term}"
        );
    }
    let nothing = donor.get("/case-studies?q=no+such+words+anywhere").await;
    assert!(
        !nothing
            .body
            .contains(&format!(r#"href="/case-studies/{id}""#))
    );
}

#[tokio::test]
async fn a_case_study_keeps_the_day_it_was_really_published() {
    let app = spawn_app().await;
    let staff = app.login_as("secretariat@cpdd.example").await;
    let id = scalar(
        &app,
        "select id from case_studies where status = 'in_review'",
    )
    .await;
    let path = format!("/case-studies/{id}/publish");
    let future = (samleng::format::today() + time::Duration::days(3)).to_string();
    for bad in [future.as_str(), "2021-02-30"] {
        let refused = staff.post(&path, &[("published_on", bad)]).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        assert_eq!(status(&app, id).await, "in_review", "{bad}");
    }
    let published = staff.post(&path, &[("published_on", "2021-12-15")]).await;
    assert_eq!(published.status, StatusCode::SEE_OTHER);
    let day: String = sqlx::query_scalar(
        "select (published_at at time zone 'Asia/Phnom_Penh')::date::text from case_studies where id = $1",
    )
    .bind(id)
    .fetch_one(&app.pool)
    .await
    .expect("published_at");
    assert_eq!(day, "2021-12-15");
}

/// The form offers only the activities of its district and study, by date,
/// kind and place; its button redraws it for another district with what was
/// typed kept.
#[tokio::test]
async fn the_new_case_study_form_offers_the_chosen_districts_activities_by_name() {
    let app = spawn_app().await;
    let staff = app.login_as("secretariat@cpdd.example").await;
    let study = scalar(&app, "select id from studies order by period_start limit 1").await;
    let offered = |district: &'static str| {
        let app = &app;
        async move {
            sqlx::query_as::<_, (i64, String)>(
                "select id, held_on::text from activities
                 where district_code = $1 and (study_id = $2 or study_id is null) order by id",
            )
            .bind(district)
            .bind(study)
            .fetch_all(&app.pool)
            .await
            .expect("activities")
        }
    };
    let boxes = |body: &str| body.matches("name=\"activities\"").count();
    let page = staff
        .get(&format!(
            "/case-studies/new?study_id={study}&district_code=0203&title_en=Typed+title"
        ))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    let bavel = offered("0203").await;
    assert!(!bavel.is_empty());
    assert_eq!(boxes(&page.body), bavel.len(), "only Bavel's activities");
    assert!(
        page.body.contains("value=\"Typed title\""),
        "the input is kept"
    );
    for (id, held_on) in &bavel {
        assert!(
            page.body.contains(&format!("value=\"{id}\"> {held_on} · ")),
            "labelled by its date"
        );
    }
    assert!(
        page.body.contains(" · Focus group discussion"),
        "and by its kind's name"
    );
    for code in ["fgd", "interview", "joint_consultation", "0203"] {
        assert!(
            !page.body.contains(&format!(" · {code}<"))
                && !page.body.contains(&format!("> {code} · ")),
            "no raw code {code}"
        );
    }
    assert!(page.body.contains("formaction=\"/case-studies/new\""));

    let other = staff
        .get(&format!(
            "/case-studies/new?study_id={study}&district_code=0212"
        ))
        .await;
    let thma_koul = offered("0212").await;
    assert_eq!(boxes(&other.body), thma_koul.len());
    for (id, _) in &bavel {
        assert!(
            !other
                .body
                .contains(&format!("name=\"activities\" value=\"{id}\""))
        );
    }
    // An activity of another district, sent anyway, is refused.
    let author = scalar(&app, "select id from organizations where acronym = 'CPDD'").await;
    let refused = staff
        .post(
            "/case-studies",
            &[
                ("study_id", &study.to_string()),
                ("district_code", "0212"),
                ("author_organization_id", &author.to_string()),
                ("title_en", "Thma Koul"),
                ("activities", &bavel[0].0.to_string()),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
}

/// Pages kept in memory until the data changes (docs/performance.md) follow
/// every table they are read from: a finding's text, a commune added to the
/// gazetteer, a district's newest case study.
#[tokio::test]
async fn kept_pages_follow_their_findings_communes_and_case_studies() {
    let app = spawn_app().await;
    let staff = app.login_as("secretariat@cpdd.example").await;
    let (case_study, finding): (i64, i64) = sqlx::query_as(
        "select a.case_study_id, f.id from findings f join activities a on a.id = f.activity_id
         join finding_themes t on t.finding_id = f.id
         where a.case_study_id is not null order by f.id limit 1",
    )
    .fetch_one(&app.pool)
    .await
    .expect("a finding of a case study");
    let path = format!("/case-studies/{case_study}");
    assert!(!staff.get(&path).await.body.contains("Kept-page probe"));
    sqlx::query("update findings set text_en = 'Kept-page probe' where id = $1")
        .bind(finding)
        .execute(&app.pool)
        .await
        .expect("finding changed");
    app.heard_everything().await;
    assert!(staff.get(&path).await.body.contains("Kept-page probe"));

    let communes = |body: &str| body.contains("Kept Commune");
    assert!(!communes(&staff.get("/districts/0203").await.body));
    let counted = scalar(
        &app,
        "select count(*) from communes where district_code = '0203'",
    )
    .await;
    // The line of district 0203 on a page listing districts, with its count.
    let line_of = |body: &str| {
        let start = body.find("href=\"/districts/0203\"").expect("0203 listed");
        body[start..start + body[start..].find("</li>").expect("its line")].to_owned()
    };
    let says = |line: String, count: i64| line.contains(&format!(" {count} communes"));
    assert!(says(
        line_of(&staff.get("/provinces/02").await.body),
        counted
    ));
    assert!(says(
        line_of(&staff.get("/districts?province=02").await.body),
        counted
    ));
    sqlx::query(
        "insert into communes (code, district_code, type, name_en, name_km)
         select '020399', '0203', 'commune', 'Kept Commune', 'ឃុំ' ",
    )
    .execute(&app.pool)
    .await
    .expect("commune added");
    app.heard_everything().await;
    assert!(says(
        line_of(&staff.get("/provinces/02").await.body),
        counted + 1
    ));
    assert!(says(
        line_of(&staff.get("/districts?province=02").await.body),
        counted + 1
    ));
    assert!(communes(&staff.get("/districts/0203").await.body));

    let district: String =
        sqlx::query_scalar("select district_code from case_studies where id = $1")
            .bind(case_study)
            .fetch_one(&app.pool)
            .await
            .expect("its district");
    let page = format!("/districts/{district}");
    assert!(!staff.get(&page).await.body.contains("Kept-title probe"));
    sqlx::query("update case_studies set title_en = 'Kept-title probe' where id = $1")
        .bind(case_study)
        .execute(&app.pool)
        .await
        .expect("case study renamed");
    app.heard_everything().await;
    assert!(staff.get(&page).await.body.contains("Kept-title probe"));
}
