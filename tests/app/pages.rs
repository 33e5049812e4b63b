//! Pages every signed-in user sees: districts, provinces, the language switch,
//! health checks, security headers and CSRF protection.

use reqwest::StatusCode;

use crate::helpers::spawn_app;

const NGO: &str = "ngo@ctod.example";

#[tokio::test]
async fn districts_are_grouped_by_province_and_filterable() {
    let app = spawn_app().await;
    let visitor = app.login_as("donor@donor.example").await;
    let all = visitor.get("/districts").await;
    assert_eq!(all.status, StatusCode::OK);
    assert!(
        all.body.contains("Battambang")
            && all.body.contains("Bavel")
            && all.body.contains("Rukh Kiri")
    );
    let bavel = visitor.get("/districts?q=bave").await;
    assert!(bavel.body.contains("/districts/0204"));
    assert!(!bavel.body.contains("/districts/0201"));
    let in_khmer = visitor
        .get("/districts?q=%E1%9E%94%E1%9E%9C%E1%9F%81%E1%9E%9B")
        .await;
    assert!(
        in_khmer.body.contains("/districts/0204"),
        "searching by the Khmer name បវេល"
    );
    let elsewhere = visitor.get("/districts?province=12").await;
    assert!(elsewhere.body.contains("No district matches."));
}

#[tokio::test]
async fn a_district_page_shows_both_names_its_type_and_communes() {
    let app = spawn_app().await;
    let communes = "code,parent_code,type,name_en,name_km\n020401,0204,commune,Bavel,បវេល\n020402,0204,commune,Khnach Romeas,ខ្នាចរមាស\n";
    samleng::geo::import::import(
        &app.pool,
        &[samleng::geo::import::Source {
            name: "c.csv".into(),
            bytes: communes.as_bytes().to_vec(),
        }],
    )
    .await
    .expect("communes");
    let visitor = app.login_as(NGO).await;
    let page = visitor.get("/districts/0204").await;
    assert_eq!(page.status, StatusCode::OK);
    for text in [
        "Bavel",
        "បវេល",
        "District",
        "Khnach Romeas",
        "ខ្នាចរមាស",
        "Communes and sangkats (2)",
        "You work in this district.",
    ] {
        assert!(page.body.contains(text), "{text}");
    }
    let elsewhere = visitor.get("/districts/0209").await;
    assert!(!elsewhere.body.contains("You work in this district."));
    assert_eq!(
        visitor.get("/districts/9999").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        visitor.get("/provinces/99").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        visitor.get("/provinces/99/recommendations").await.status,
        StatusCode::NOT_FOUND
    );
    let province = visitor.get("/provinces/02").await;
    assert!(province.body.contains("Battambang") && province.body.contains("/districts/0214"));
}

#[tokio::test]
async fn switching_to_khmer_is_remembered_and_saved_as_the_users_preference() {
    let app = spawn_app().await;
    let visitor = app.login_as(NGO).await;
    let khmer = visitor.get("/districts?lang=km").await;
    assert!(khmer.body.contains(r#"<html lang="km">"#));
    assert!(khmer.body.contains("ស្រុក/ក្រុង"));
    let next = visitor.get("/account").await;
    assert!(next.body.contains("គណនីរបស់ខ្ញុំ"), "the cookie remembers Khmer");
    let preference: String =
        sqlx::query_scalar("select preferred_language from users where email = $1")
            .bind(NGO)
            .fetch_one(&app.pool)
            .await
            .expect("preference");
    assert_eq!(preference, "km");
    let elsewhere = app.login_as(NGO).await;
    assert!(
        elsewhere.get("/").await.body.contains("សូមស្វាគមន៍"),
        "a new browser follows the preference"
    );
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let app = spawn_app().await;
    let donor = app.login_as("donor@donor.example").await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let responses = [
        client.get(app.url("/login")).send().await.expect("200"),
        client
            .get(app.url("/no-such-page"))
            .send()
            .await
            .expect("404"),
        donor
            .client
            .get(app.url("/admin/users"))
            .send()
            .await
            .expect("403"),
    ];
    let statuses: Vec<u16> = responses
        .iter()
        .map(|response| response.status().as_u16())
        .collect();
    assert_eq!(statuses, [200, 404, 403]);
    for response in responses {
        let headers = response.headers();
        let csp = headers["content-security-policy"].to_str().expect("csp");
        assert!(csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"));
        assert!(!csp.contains("unsafe-inline"));
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert_eq!(headers["referrer-policy"], "same-origin");
    }
}

#[tokio::test]
async fn a_post_without_the_right_token_or_from_another_site_is_refused() {
    let app = spawn_app().await;
    let visitor = app.login_as(NGO).await;
    let new_password = "lotus-river-kampot-2026";
    let fields = [
        ("current_password", app.password_of(NGO)),
        ("new_password", new_password.to_owned()),
        ("confirm_password", new_password.to_owned()),
    ];
    let fields: Vec<(&str, &str)> = fields
        .iter()
        .map(|(name, value)| (*name, value.as_str()))
        .collect();
    let without = visitor.post_raw("/account/password", &fields).await;
    assert_eq!(without.status, StatusCode::FORBIDDEN);
    assert!(without.body.contains("The form expired"));
    let mut wrong = vec![("csrf_token", "0123456789abcdef")];
    wrong.extend(&fields);
    assert_eq!(
        visitor.post_raw("/account/password", &wrong).await.status,
        StatusCode::FORBIDDEN
    );
    let token = visitor.csrf_token().await;
    let mut right = vec![("csrf_token", token.as_str())];
    right.extend(&fields);
    let cross_site = visitor
        .client
        .post(app.url("/account/password"))
        .header("origin", "https://evil.example")
        .form(&right)
        .send()
        .await
        .expect("post");
    assert_eq!(cross_site.status(), StatusCode::FORBIDDEN);
    let unchanged = app.visitor().sign_in(NGO, &app.password_of(NGO)).await;
    assert_eq!(
        unchanged.status(),
        StatusCode::SEE_OTHER,
        "the password did not change"
    );
    let same_site = visitor
        .client
        .post(app.url("/account/password"))
        .header("origin", app.url(""))
        .form(&right)
        .send()
        .await
        .expect("post");
    assert_eq!(same_site.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn health_and_readiness_answer() {
    let app = spawn_app().await;
    let visitor = app.visitor();
    assert_eq!(visitor.get("/healthz").await.status, StatusCode::OK);
    let ready = visitor.get("/readyz").await;
    assert_eq!(
        (ready.status, ready.body.as_str()),
        (StatusCode::OK, "ready")
    );
}

#[tokio::test]
async fn the_khmer_font_is_served_and_limited_to_khmer_text() {
    let app = spawn_app().await;
    let visitor = app.visitor();
    let css = visitor.get("/static/app.css").await;
    assert_eq!(css.status, StatusCode::OK);
    assert!(css.body.contains("unicode-range: U+1780-17FF"));
    let font = visitor
        .client
        .get(app.url("/static/fonts/noto-sans-khmer-khmer-400-normal.woff2"))
        .send()
        .await
        .expect("font");
    assert_eq!(font.status(), StatusCode::OK);
    assert_eq!(font.headers()["cache-control"], "public, max-age=86400");
    assert_eq!(font.headers()["content-type"], "font/woff2");
    let etag = font.headers()["etag"].clone();
    assert!(font.bytes().await.expect("bytes").starts_with(b"wOF2"));
    // A browser revalidating what it keeps gets no body again.
    let again = visitor
        .client
        .get(app.url("/static/fonts/noto-sans-khmer-khmer-400-normal.woff2"))
        .header("if-none-match", etag)
        .send()
        .await
        .expect("font");
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert!(again.bytes().await.expect("bytes").is_empty());
    assert_eq!(
        visitor.get("/static/missing.css").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn readiness_fails_when_the_database_is_gone() {
    let app = spawn_app().await;
    app.app_pool.close().await;
    let ready = app.visitor().get("/readyz").await;
    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(app.visitor().get("/healthz").await.status, StatusCode::OK);
}

/// How many rows of `marker` a page shows, and whether it links to a next page.
fn shown(page: &str, marker: &str) -> (usize, bool) {
    (page.matches(marker).count(), page.contains("rel=\"next\""))
}

#[tokio::test]
async fn long_lists_come_in_pages_of_fifty() {
    let app = spawn_app().await;
    let plans = app.count("action_plans").await;
    let lists = app.count("recommendation_lists").await;
    // The priority pages show one study at a time: the one the 60 are added to.
    let study: i64 = sqlx::query_scalar(
        "select study_id from recommendation_lists where id = (select min(l.id) from recommendation_lists l
         where l.district_code = '0204' and l.status = 'endorsed')",
    )
    .fetch_one(&app.pool)
    .await
    .expect("the study");
    let endorsed = app
        .count(&format!("recommendations r join recommendation_lists l on l.id = r.list_id where l.status = 'endorsed' and l.study_id = {study}"))
        .await;
    sqlx::raw_sql(
        "insert into action_plans (title_en, district_code, province_code, period_start, period_end)
         select 'Paged plan ' || n, '0204', '02', '2022-01-01', '2023-01-01' from generate_series(1, 60) n;
         insert into recommendation_lists (district_code, study_id, list_version, status)
         select '0205', (select id from studies order by id limit 1), n, 'draft' from generate_series(1, 60) n;
         insert into recommendations (list_id, position, text_en, addressee)
         select (select min(l.id) from recommendation_lists l where l.district_code = '0204'
                 and l.status = 'endorsed'), 100 + n, 'Paged recommendation ' || n, 'sna'
         from generate_series(1, 60) n;",
    )
    .execute(&app.pool)
    .await
    .expect("long lists");
    let secretariat = app.login_as("secretariat@cpdd.example").await;

    let first = secretariat.get("/action-plans").await.body;
    assert_eq!(
        shown(&first, "<tr><td><a href=\"/action-plans/"),
        (50, true)
    );
    let second = secretariat.get("/action-plans?page=2").await.body;
    let rest = (plans + 60 - 50) as usize;
    assert_eq!(
        shown(&second, "<tr><td><a href=\"/action-plans/"),
        (rest, false)
    );

    let first = secretariat.get("/recommendation-lists").await.body;
    assert_eq!(
        shown(&first, "<tr><td><a href=\"/recommendation-lists/"),
        (50, true)
    );
    let second = secretariat.get("/recommendation-lists?page=2").await.body;
    let rest = (lists + 60 - 50) as usize;
    assert_eq!(
        shown(&second, "<tr><td><a href=\"/recommendation-lists/"),
        (rest, false)
    );

    let first = secretariat
        .get(&format!("/provinces/02/recommendations?study={study}"))
        .await
        .body;
    assert_eq!(shown(&first, "<article class=\"priority\""), (50, true));
    let second = secretariat
        .get(&format!(
            "/provinces/02/recommendations?study={study}&page=2"
        ))
        .await
        .body;
    let rest = (endorsed + 60 - 50) as usize;
    assert_eq!(shown(&second, "<article class=\"priority\""), (rest, false));
    let national = secretariat
        .get(&format!("/recommendations/national?study={study}&page=2"))
        .await
        .body;
    assert!(
        national.contains(&format!(
            "href=\"/recommendations/national?study={study}&#38;page=1\""
        )),
        "{}",
        &national[national.find("class=\"pager\"").unwrap_or(0)..][..300]
    );
}

#[tokio::test]
async fn error_pages_keep_the_navigation_and_the_readers_language() {
    let app = spawn_app().await;
    let ngo = app.login_as("ngo@ctod.example").await;
    for (path, status) in [
        ("/admin/users", StatusCode::FORBIDDEN),
        ("/activities/999999", StatusCode::NOT_FOUND),
        ("/no-such-page", StatusCode::NOT_FOUND),
    ] {
        let page = ngo.get(path).await;
        assert_eq!(page.status, status, "{path}");
        assert!(
            page.body.contains(r#"<nav aria-label="#),
            "{path} keeps the navigation"
        );
        assert!(page.body.contains(r#"href="/activities""#), "{path}");
        assert!(page.body.contains(r#"id="error""#), "{path}");
    }
    let khmer = ngo.get("/admin/users?lang=km").await;
    assert!(khmer.body.contains(r#"<html lang="km">"#));
    assert!(
        !khmer.body.contains("<h1 lang=\"km\">"),
        "one language, the reader's"
    );
    let staff = app.login_as("secretariat@cpdd.example").await;
    let published: i64 =
        sqlx::query_scalar("select id from case_studies where status = 'published' limit 1")
            .fetch_one(&app.pool)
            .await
            .expect("a published case study");
    let conflict = staff
        .post(&format!("/case-studies/{published}/publish"), &[])
        .await;
    assert_eq!(conflict.status, StatusCode::CONFLICT);
    assert!(conflict.body.contains(r#"<nav aria-label="#));
    // A visitor still gets the page in both languages.
    let visitor = app.visitor().get("/no-such-page").await;
    assert_eq!(visitor.status, StatusCode::NOT_FOUND);
    assert!(visitor.body.contains("<h1 lang=\"km\">"));
}

#[tokio::test]
async fn text_written_in_one_language_shows_in_the_other_marked_as_such() {
    let app = spawn_app().await;
    let (list, item): (i64, i64) = sqlx::query_as(
        "update recommendations set text_en = '' where id = (
             select r.id from recommendations r join recommendation_lists l on l.id = r.list_id
             where l.status = 'endorsed' and r.text_km <> '' order by r.id limit 1)
         returning list_id, id",
    )
    .fetch_one(&app.pool)
    .await
    .expect("a recommendation written in Khmer only");
    let donor = app.login_as("donor@donor.example").await;
    let chain = donor.get(&format!("/recommendations/{item}")).await;
    assert!(chain.body.contains("(in Khmer)"), "marked");
    let khmer: String = sqlx::query_scalar("select text_km from recommendations where id = $1")
        .bind(item)
        .fetch_one(&app.pool)
        .await
        .expect("text");
    assert!(chain.body.contains(&khmer), "not blank");
    let list_page = donor.get(&format!("/recommendation-lists/{list}")).await;
    assert!(
        list_page
            .body
            .contains(&format!(r#"<a href="/recommendations/{item}">"#))
    );
}

/// A Khmer reader sees a study's Khmer title wherever it is named, and its
/// English title, marked and tagged, where it has no Khmer one.
#[tokio::test]
async fn a_khmer_reader_sees_khmer_titles_where_they_exist_and_english_marked_where_not() {
    let app = spawn_app().await;
    let (study, later): (i64, i64) =
        sqlx::query_as("select min(id), max(id) from studies where province_code = '02'")
            .fetch_one(&app.pool)
            .await
            .expect("the demo's two studies");
    sqlx::raw_sql(&format!(
        "update studies set title_km = 'ការសិក្សាសាកល្បងខេត្តបាត់ដំបង' where id = {study};
         update studies set title_km = '' where id = {later};"
    ))
    .execute(&app.pool)
    .await
    .expect("titles");
    let english_later: String = sqlx::query_scalar("select title_en from studies where id = $1")
        .bind(later)
        .fetch_one(&app.pool)
        .await
        .expect("title");
    let of_study = |table: &str| format!("select min(id) from {table} where study_id = {study}");
    let list: i64 = sqlx::query_scalar(&of_study("recommendation_lists"))
        .fetch_one(&app.pool)
        .await
        .expect("a list");
    let case_study: i64 = sqlx::query_scalar(&of_study("case_studies"))
        .fetch_one(&app.pool)
        .await
        .expect("a case study");
    let activity: i64 = sqlx::query_scalar(&of_study("activities"))
        .fetch_one(&app.pool)
        .await
        .expect("an activity");
    let staff = app.login_as("secretariat@cpdd.example").await;
    assert_eq!(staff.get("/?lang=km").await.status, StatusCode::OK);
    for page in [
        "/recommendation-lists".to_owned(),
        format!("/recommendation-lists/{list}"),
        format!("/case-studies/{case_study}"),
        format!("/activities/{activity}"),
        format!("/activities/{activity}/edit"),
        "/case-studies/new".to_owned(),
        "/recommendation-lists/new".to_owned(),
    ] {
        let body = staff.get(&page).await.body;
        assert!(body.contains("ការសិក្សាសាកល្បងខេត្តបាត់ដំបង"), "{page}");
    }
    let index = staff.get("/recommendation-lists").await.body;
    assert!(
        index.contains(&format!(
            "<span lang=\"en\">{english_later}</span> <small class=\"other-language\">(ជាភាសាអង់គ្លេស)</small>"
        )),
        "the later study has no Khmer title: English, marked"
    );
}

#[tokio::test]
async fn the_secretariat_home_lists_what_waits_and_says_nothing_waits_only_when_so() {
    let app = spawn_app().await;
    let staff = app.login_as("secretariat@cpdd.example").await;
    let home = staff.get("/").await.body;
    let review: i64 = sqlx::query_scalar("select id from case_studies where status = 'in_review'")
        .fetch_one(&app.pool)
        .await
        .expect("a case study in review");
    assert!(home.contains("Case study to review"));
    assert!(home.contains(&format!(r#"href="/case-studies/{review}""#)));
    assert!(home.contains("List waiting for its officials"));
    assert!(home.contains("List returned by its officials"));
    assert!(home.contains("Kamrieng"), "items name their district");
    assert!(!home.contains("Nothing is waiting for you."));
    // An overdue action shows; with nothing waiting, the page says so.
    sqlx::query(
        "update actions set starts_on = '2021-12-01', due_on = '2022-01-01'
         where id = (select min(a.id) from actions a where a.status not in ('completed', 'cancelled'))",
    )
    .execute(&app.pool)
    .await
    .expect("an overdue action");
    assert!(staff.get("/").await.body.contains("Overdue action"));
    sqlx::query("update case_studies set status = 'published' where status = 'in_review'")
        .execute(&app.pool)
        .await
        .expect("reviewed");
    sqlx::query("update recommendation_lists set status = 'endorsed' where status in ('submitted', 'returned')")
        .execute(&app.pool)
        .await
        .expect("endorsed");
    // Reports first: the actions' state follows their reports.
    sqlx::query("update action_updates set confirmed_at = now()")
        .execute(&app.pool)
        .await
        .expect("confirmed");
    sqlx::query("update actions set status = 'cancelled'")
        .execute(&app.pool)
        .await
        .expect("done");
    let calm = staff.get("/").await.body;
    assert!(calm.contains("Nothing is waiting for you."), "{calm}");
}

#[tokio::test]
async fn the_study_page_is_its_report_for_each_reader() {
    let app = spawn_app().await;
    let study: i64 = sqlx::query_scalar("select min(id) from studies")
        .fetch_one(&app.pool)
        .await
        .expect("the demo study");
    let staff = app.login_as("secretariat@cpdd.example").await;
    let report = staff.get(&format!("/studies/{study}")).await;
    assert_eq!(report.status, StatusCode::OK);
    let text = crate::helpers::text_of(&report.body);
    // The report's own figures.
    assert!(
        text.contains("Respondents (focus groups and interviews)367"),
        "{text}"
    );
    assert!(
        report
            .body
            .contains(r#"<span data-people="single">209</span> (57%)"#)
    );
    let districts: Vec<String> = sqlx::query_scalar(
        "select distinct district_code from case_studies where study_id = $1 order by 1",
    )
    .bind(study)
    .fetch_all(&app.pool)
    .await
    .expect("districts");
    assert_eq!(districts.len(), 7);
    for code in &districts {
        assert!(
            report
                .body
                .contains(&format!(r#"href="/districts/{code}""#)),
            "{code}"
        );
    }
    let draft: i64 = sqlx::query_scalar(
        "select id from case_studies where status = 'draft' and study_id = $1 limit 1",
    )
    .bind(study)
    .fetch_one(&app.pool)
    .await
    .expect("a draft");
    assert!(
        report
            .body
            .contains(&format!(r#"href="/case-studies/{draft}""#))
    );
    let endorsed: i64 =
        sqlx::query_scalar("select id from recommendation_lists where status = 'endorsed' limit 1")
            .fetch_one(&app.pool)
            .await
            .expect("an endorsed list");
    assert!(
        report
            .body
            .contains(&format!(r#"href="/recommendation-lists/{endorsed}""#))
    );
    // A donor reads the published parts only.
    let donor = app.login_as("donor@donor.example").await;
    let theirs = donor.get(&format!("/studies/{study}")).await;
    assert_eq!(theirs.status, StatusCode::OK);
    assert!(
        !theirs
            .body
            .contains(&format!(r#"href="/case-studies/{draft}""#))
    );
    assert!(
        theirs
            .body
            .contains(&format!(r#"href="/recommendation-lists/{endorsed}""#))
    );
}

/// A failure the user cannot mend: the page names the request's id, the same
/// one its response header (and so its log lines) carry.
#[tokio::test]
async fn an_internal_error_page_names_the_id_of_its_request() {
    let app = spawn_app().await;
    let visitor = app.login_as(NGO).await;
    sqlx::query("revoke select on studies from samleng_app")
        .execute(&app.pool)
        .await
        .expect("revoke");
    let response = visitor
        .client
        .get(app.url("/studies"))
        .send()
        .await
        .expect("GET /studies");
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let id = response.headers()["x-request-id"]
        .to_str()
        .expect("an id")
        .to_owned();
    let body = response.text().await.expect("body");
    assert!(
        body.contains(&format!("<code>{id}</code>")),
        "{id} not on the page:\n{body}"
    );
}

/// Switching language keeps what the page shows: its filters stay, the old
/// language does not.
#[tokio::test]
async fn the_language_switch_keeps_the_pages_filters() {
    let app = spawn_app().await;
    let visitor = app.login_as("donor@donor.example").await;
    let page = visitor
        .get("/dashboard?province=02&district=0204&lang=en")
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body
            .contains(r#"href="/dashboard?province=02&#38;district=0204&#38;lang=km""#)
            || page
                .body
                .contains(r#"href="/dashboard?province=02&amp;district=0204&amp;lang=km""#),
        "{}",
        page.body
            .lines()
            .find(|line| line.contains("lang=km"))
            .unwrap_or_default()
    );
    let khmer = visitor
        .get("/dashboard?province=02&district=0204&lang=km")
        .await;
    assert!(khmer.body.contains("lang=en\""));
    assert!(
        !khmer.body.contains("lang=km&#38;") && !khmer.body.contains("lang=km&amp;"),
        "the old language is left out of the link"
    );
}
