//! Activities, participant counts and findings: recording, reading, bad input,
//! and the demo's 367 respondents.

use reqwest::StatusCode;

use crate::helpers::{ROUNDED_COUNT, TestApp, spawn_app};

const CTOD: &str = "ngo@ctod.example";

async fn scalar(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(sql)
        .fetch_one(&app.pool)
        .await
        .expect(sql)
}

/// A complete FGD form for Bavel (0204), which CTOD covers.
fn fgd_form(study: &str, ctod: &str) -> Vec<(&'static str, String)> {
    vec![
        ("kind", "fgd".into()),
        ("held_on", "2021-09-15".into()),
        ("district_code", "0204".into()),
        ("commune_code", String::new()),
        ("place", "Pagoda hall".into()),
        ("facilitating_organization_id", ctod.into()),
        ("study_id", study.into()),
        ("case_study_id", String::new()),
        (
            "summary",
            "Women and CBO members on access to information.".into(),
        ),
        ("count_citizen_female", "9".into()),
        ("count_citizen_male", "5".into()),
        ("count_cbo_female", "4".into()),
        ("count_cbo_male", "2".into()),
        ("youth", "6".into()),
        ("persons_with_disabilities", "1".into()),
    ]
}

fn borrowed<'a>(form: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    form.iter()
        .map(|(name, value)| (*name, value.as_str()))
        .collect()
}

async fn ids(app: &TestApp) -> (String, String) {
    let study = scalar(app, "select id from studies order by id limit 1")
        .await
        .to_string();
    let ctod = scalar(app, "select id from organizations where acronym = 'CTOD'")
        .await
        .to_string();
    (study, ctod)
}

#[tokio::test]
async fn an_ngo_records_an_fgd_and_sees_its_totals() {
    let app = spawn_app().await;
    let ngo = app.login_as(CTOD).await;
    let (study, ctod) = ids(&app).await;
    let before = scalar(&app, "select count(*) from activities").await;
    let saved = ngo
        .post("/activities", &borrowed(&fgd_form(&study, &ctod)))
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let location = saved.location.expect("location");
    let page = ngo.get(&location).await;
    assert_eq!(page.status, StatusCode::OK);
    let id: i64 = location
        .rsplit('/')
        .next()
        .and_then(|id| id.parse().ok())
        .expect("id");
    let (total, female) = (
        scalar(&app, &format!("select sum(count) from participant_counts where activity_id = {id}")).await,
        scalar(&app, &format!("select sum(count) from participant_counts where activity_id = {id} and sex = 'female'")).await,
    );
    assert_eq!((total, female), (20, 13));
    assert!(
        page.body.contains("<strong>20</strong>"),
        "total on the page"
    );
    assert!(
        page.body
            .contains(r#"<strong class="percent-female">65%</strong>"#),
        "13 of 20 are women"
    );
    assert_eq!(
        scalar(&app, "select count(*) from activities").await,
        before + 1
    );
    assert_eq!(
        scalar(
            &app,
            &format!(
                "select count(*) from revisions where entity = 'activity' and entity_id = {id}"
            )
        )
        .await,
        1
    );
}

#[tokio::test]
async fn bad_activity_input_comes_back_with_a_message_and_writes_nothing() {
    let app = spawn_app().await;
    let ngo = app.login_as(CTOD).await;
    let (study, ctod) = ids(&app).await;
    let cases: Vec<(&str, &str, &str)> = vec![
        (
            "count_cbo_female",
            "-3",
            "Counts are whole numbers from 0 to 100,000.",
        ),
        (
            "count_cbo_female",
            "twelve",
            "Counts must be whole numbers.",
        ),
        (
            "count_cbo_female",
            "100001",
            "Counts are whole numbers from 0 to 100,000.",
        ),
        (
            "commune_code",
            "020101",
            "This commune is not in the chosen district.",
        ),
        (
            "district_code",
            "0207",
            "Choose one of the districts you work in.",
        ),
        (
            "held_on",
            "1999-12-31",
            "The date must be between 2000 and a year from now.",
        ),
        (
            "held_on",
            "2099-01-01",
            "The date must be between 2000 and a year from now.",
        ),
        ("kind", "party", "Choose one of the options."),
        ("youth", "21", "More than all participants together."),
    ];
    let communes = "code,parent_code,type,name_en,name_km\n020101,0201,commune,Kantueu Muoy,\n";
    samleng::geo::import::import(
        &app.pool,
        &[samleng::geo::import::Source {
            name: "c.csv".into(),
            bytes: communes.as_bytes().to_vec(),
        }],
    )
    .await
    .expect("a commune of Banan");
    let before = scalar(&app, "select count(*) from activities").await;
    for (field, value, message) in cases {
        let mut form = fgd_form(&study, &ctod);
        for entry in form.iter_mut().filter(|(name, _)| *name == field) {
            entry.1 = value.into();
        }
        let page = ngo.post("/activities", &borrowed(&form)).await;
        assert_eq!(
            page.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field}={value}"
        );
        assert!(page.body.contains(message), "{field}={value}: {message}");
        assert!(
            page.body.contains("Pagoda hall"),
            "the input is kept ({field})"
        );
    }
    let mut long = fgd_form(&study, &ctod);
    long[4].1 = "x".repeat(201);
    let page = ngo.post("/activities", &borrowed(&long)).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains("Too long."));
    assert_eq!(
        scalar(&app, "select count(*) from activities").await,
        before,
        "nothing written"
    );
}

#[tokio::test]
async fn findings_need_text_and_a_theme_and_a_quote_needs_a_descriptor() {
    let app = spawn_app().await;
    let ngo = app.login_as(CTOD).await;
    let activity = scalar(
        &app,
        "select id from activities where district_code = '0204' and kind = 'fgd'",
    )
    .await;
    let theme = scalar(&app, "select id from themes where position = 1")
        .await
        .to_string();
    let path = format!("/activities/{activity}/findings");
    let before = scalar(&app, "select count(*) from findings").await;
    let no_theme = ngo.post(&path, &[("text_en", "Boards are empty.")]).await;
    assert_eq!(no_theme.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(no_theme.body.contains("Choose at least one theme."));
    assert!(no_theme.body.contains("Boards are empty."));
    let no_descriptor = ngo
        .post(
            &path,
            &[
                ("text_en", "Boards are empty."),
                ("themes", &theme),
                ("quote", "Nobody told us."),
            ],
        )
        .await;
    assert!(no_descriptor.body.contains("A quote needs a descriptor"));
    let no_text = ngo.post(&path, &[("themes", &theme)]).await;
    assert!(
        no_text
            .body
            .contains("Write the finding in English, in Khmer, or both.")
    );
    assert_eq!(scalar(&app, "select count(*) from findings").await, before);
    let saved = ngo
        .post(
            &path,
            &[
                ("text_km", "ក្ដារព័ត៌មានទទេ។"),
                ("themes", &theme),
                ("quote", "Nobody told us."),
                ("quote_descriptor", "man, youth, Bavel"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER);
    let page = ngo.get(&format!("/activities/{activity}")).await;
    assert!(page.body.contains("ក្ដារព័ត៌មានទទេ។") && page.body.contains("man, youth, Bavel"));
    assert_eq!(
        scalar(&app, "select count(*) from findings").await,
        before + 1
    );
}

#[tokio::test]
async fn the_demo_reproduces_367_respondents_209_of_them_women() {
    let app = spawn_app().await;
    let sum = |sex: &'static str| {
        let pool = app.pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(
                "select sum(p.count) from participant_counts p join activities a on a.id = p.activity_id
                 where a.kind in ('fgd', 'interview') and ($1 = '' or p.sex = $1)
                   and a.study_id = (select min(id) from studies)",
            )
            .bind(sex)
            .fetch_one(&pool)
            .await
            .expect("sum")
        }
    };
    assert_eq!((sum("").await, sum("female").await), (367, 209));
    assert_eq!(
        scalar(
            &app,
            "select count(distinct district_code) from case_studies"
        )
        .await,
        7
    );
}

#[tokio::test]
async fn a_case_study_page_totals_its_activities_participants() {
    let app = spawn_app().await;
    let id = scalar(
        &app,
        "select id from case_studies where district_code = '0204'",
    )
    .await;
    // A donor reads the sums of the rounded counts (docs/disclosure.md).
    let total = scalar(&app, &format!("select sum({ROUNDED_COUNT}) from participant_counts p join activities a on a.id = p.activity_id where a.case_study_id = {id}")).await;
    let female = scalar(&app, &format!("select sum({ROUNDED_COUNT}) from participant_counts p join activities a on a.id = p.activity_id where a.case_study_id = {id} and p.sex = 'female'")).await;
    let page = app
        .login_as("donor@donor.example")
        .await
        .get(&format!("/case-studies/{id}"))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains(&format!("<strong>{total}</strong>")),
        "total {total}"
    );
    let percent = (female * 100 + total / 2) / total;
    assert!(
        page.body.contains(&format!(">{percent}%<")),
        "{percent}% female"
    );
    assert!(page.body.contains("District council public forum"));
    assert!(
        page.body
            .contains("Boards exist but are not updated (illustrative).")
    );
    let mechanisms = page
        .body
        .split("class=\"mechanisms\"")
        .nth(1)
        .unwrap_or_default();
    let ticks = mechanisms
        .split("</table>")
        .next()
        .unwrap_or_default()
        .matches("✔")
        .count();
    assert_eq!(ticks, 9, "the demo's ratings");
}

#[tokio::test]
async fn donors_see_published_work_without_internal_text() {
    let app = spawn_app().await;
    let donor = app.login_as("donor@donor.example").await;
    let published = scalar(
        &app,
        "select id from activities where district_code = '0203' and kind = 'fgd'",
    )
    .await;
    sqlx::query(
        "update findings set public = false where activity_id = $1 and text_en like '%complaint%'",
    )
    .bind(published)
    .execute(&app.pool)
    .await
    .expect("one internal finding");
    let page = donor.get(&format!("/activities/{published}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("information boards were empty"),
        "public findings show"
    );
    assert!(
        !page.body.contains("take a complaint"),
        "internal findings do not"
    );
    assert!(
        !page.body.contains("Illustrative demo record."),
        "nor does the summary"
    );
    assert!(!page.body.contains("Village meeting hall"), "nor the place");
    let draft = scalar(
        &app,
        "select id from activities where district_code = '0207' and kind = 'fgd'",
    )
    .await;
    assert_eq!(
        donor.get(&format!("/activities/{draft}")).await.status,
        StatusCode::FORBIDDEN
    );
    let list = donor.get("/activities").await;
    assert!(list.body.contains(&format!("/activities/{published}\"")));
    assert!(!list.body.contains(&format!("/activities/{draft}\"")));
    let secretariat = app.login_as("secretariat@cpdd.example").await;
    assert!(
        secretariat
            .get(&format!("/activities/{published}"))
            .await
            .body
            .contains("take a complaint")
    );
}

#[tokio::test]
async fn activity_lists_filter_search_and_page() {
    let app = spawn_app().await;
    let staff = app.login_as("secretariat@cpdd.example").await;
    let first_study = scalar(&app, "select min(id) from studies").await;
    let all = staff.get(&format!("/activities?study={first_study}")).await;
    assert_eq!(
        all.body.matches("<tr><td><a href=\"/activities/").count(),
        23,
        "2021: 7 FGDs, 7 interview rounds, 7 consultations, 2 workshops"
    );
    let bavel = staff
        .get(&format!(
            "/activities?district=0204&kind=fgd&study={first_study}"
        ))
        .await;
    assert_eq!(
        bavel.body.matches("<tr><td><a href=\"/activities/").count(),
        1
    );
    let khmer = staff
        .get("/activities?q=%E1%9E%80%E1%9F%92%E1%9E%8A%E1%9E%B6%E1%9E%9A")
        .await;
    assert_eq!(
        khmer.body.matches("<tr><td><a href=\"/activities/").count(),
        7,
        "the FGDs whose findings mention ក្ដារ"
    );
    let november = staff.get("/activities?from=2021-11-01&to=2021-11-30").await;
    assert_eq!(
        november
            .body
            .matches("<tr><td><a href=\"/activities/")
            .count(),
        4
    );
    for extra in 0..40 {
        sqlx::query(
            "insert into activities (kind, held_on, district_code, facilitating_organization_id)
             select 'other', date '2022-01-01' + $1, '0204', id from organizations where acronym = 'CTOD'",
        )
        .bind(extra)
        .execute(&app.pool)
        .await
        .expect("more activities");
    }
    let first = staff.get("/activities").await;
    assert_eq!(
        first.body.matches("<tr><td><a href=\"/activities/").count(),
        50
    );
    assert!(first.body.contains("rel=\"next\""));
    let second = staff.get("/activities?page=2").await;
    assert_eq!(
        second
            .body
            .matches("<tr><td><a href=\"/activities/")
            .count(),
        (scalar(&app, "select count(*) from activities").await - 50) as usize
    );
    let oldest = staff.get("/activities?sort=oldest").await;
    let first_date = oldest
        .body
        .split("<tr><td><a href=\"/activities/")
        .nth(1)
        .and_then(|row| row.split('>').nth(1))
        .unwrap_or_default();
    assert!(first_date.starts_with("2021-09-08"), "{first_date}");
}

#[tokio::test]
async fn a_district_page_shows_its_case_studies_activities_and_participants_by_sex() {
    let app = spawn_app().await;
    // Staff read every count; a donor the published ones, rounded (docs/disclosure.md).
    let sums = |visible_only_published: bool| {
        let pool = app.pool.clone();
        let count = if visible_only_published {
            ROUNDED_COUNT
        } else {
            "p.count"
        };
        async move {
            sqlx::query_as::<_, (i64, i64)>(&format!(
                "select sum({count}), sum({count}) filter (where p.sex = 'female')
                 from participant_counts p join activities a on a.id = p.activity_id
                 left join case_studies c on c.id = a.case_study_id
                 where a.district_code = '0204' and (not $1 or c.status in ('published', 'archived'))"
            ))
            .bind(visible_only_published)
            .fetch_one(&pool)
            .await
            .expect("sums")
        }
    };
    let (all_total, all_female) = sums(false).await;
    let (published_total, published_female) = sums(true).await;
    assert!(
        all_total > published_total,
        "the consultation belongs to no published case study"
    );
    let staff = app
        .login_as("secretariat@cpdd.example")
        .await
        .get("/districts/0204")
        .await;
    assert!(staff.body.contains(&format!(
        r#"Total <strong data-people="total">{all_total}</strong> · Female <strong data-people="part">{all_female}</strong> · Male <strong data-people="part">{}</strong>"#,
        all_total - all_female
    )));
    assert!(
        staff
            .body
            .contains("Civic engagement in Bavel (illustrative)")
    );
    assert!(staff.body.contains("Focus group discussion"));
    let donor = app
        .login_as("donor@donor.example")
        .await
        .get("/districts/0204")
        .await;
    assert!(donor.body.contains(&format!(
        r#"Total <strong data-people="total">{published_total}</strong> · Female <strong data-people="part">{published_female}</strong>"#
    )));
    assert!(
        !donor.body.contains("Joint SNA–CSO consultation"),
        "unpublished activities stay hidden"
    );
    let draft_district = app
        .login_as("donor@donor.example")
        .await
        .get("/districts/0207")
        .await;
    assert!(
        !draft_district
            .body
            .contains("Civic engagement in Rotonak Mondol"),
        "a draft case study stays hidden"
    );
}

#[tokio::test]
async fn editing_an_activity_keeps_a_revision_and_refuses_the_second_of_two_edits() {
    let app = spawn_app().await;
    let first = app.login_as(CTOD).await;
    let second = app.login_as("secretariat@cpdd.example").await;
    let (study, ctod) = ids(&app).await;
    let saved = first
        .post("/activities", &borrowed(&fgd_form(&study, &ctod)))
        .await;
    let path = saved.location.expect("location");
    let edit = first.get(&format!("{path}/edit")).await;
    assert!(
        edit.body
            .contains(r#"aria-label="Citizens · Female" value="9""#),
        "stored counts fill the form"
    );
    let mut mine = fgd_form(&study, &ctod);
    mine.push(("version", "1".into()));
    let mut theirs = mine.clone();
    for entry in mine
        .iter_mut()
        .filter(|(name, _)| *name == "count_cbo_male")
    {
        entry.1 = "5".into();
    }
    for entry in theirs.iter_mut().filter(|(name, _)| *name == "place") {
        entry.1 = "District hall".into();
    }
    assert_eq!(
        first.post(&path, &borrowed(&mine)).await.status,
        StatusCode::SEE_OTHER
    );
    let refused = second.post(&path, &borrowed(&theirs)).await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert!(
        refused.body.contains("count_cbo_male"),
        "names the field saved meanwhile"
    );
    assert!(
        refused.body.contains("District hall"),
        "keeps this person's input"
    );
    let id: i64 = path
        .rsplit('/')
        .next()
        .and_then(|id| id.parse().ok())
        .expect("id");
    let (place, male_cbo): (String, i32) = sqlx::query_as(
        "select a.place, p.count from activities a join participant_counts p on p.activity_id = a.id
         where a.id = $1 and p.participant_group = 'cbo' and p.sex = 'male'",
    )
    .bind(id)
    .fetch_one(&app.pool)
    .await
    .expect("stored");
    assert_eq!(
        (place.as_str(), male_cbo),
        ("Pagoda hall", 5),
        "the first save stands"
    );
    let history = first.get(&format!("{path}/revisions")).await;
    assert!(history.body.contains("Revision 2") && history.body.contains("CBO members · Male"));
    assert!(
        history.body.contains("Revision 1"),
        "the first revision is number 1"
    );
}

#[tokio::test]
async fn officials_do_not_read_what_citizens_said_alone_and_other_districts_read_as_donors() {
    let app = spawn_app().await;
    let marked = |kind: &'static str| {
        let app = &app;
        async move {
            let id: i64 = sqlx::query_scalar(
                "update activities set place = 'PLACE-' || kind, summary = 'SUMMARY-' || kind
                 where id = (select min(id) from activities where district_code = '0203' and kind = $1)
                 returning id",
            )
            .bind(kind)
            .fetch_one(&app.pool)
            .await
            .expect("an activity of Battambang");
            sqlx::query(
                "insert into findings (activity_id, text_en, public) values ($1, 'INTERNAL-' || $2, false)",
            )
            .bind(id)
            .bind(kind)
            .execute(&app.pool)
            .await
            .expect("an internal finding");
            id
        }
    };
    let fgd = marked("fgd").await;
    let consultation = marked("joint_consultation").await;
    let reads = |html: &str, kind: &str| {
        ["PLACE-", "SUMMARY-", "INTERNAL-"].map(|marker| html.contains(&format!("{marker}{kind}")))
    };
    let official = app.login_as("sna@battambang.example").await;
    let page = official.get(&format!("/activities/{fgd}")).await;
    assert_eq!(
        page.status,
        StatusCode::OK,
        "the official reads the FGD's counts"
    );
    assert_eq!(
        reads(&page.body, "fgd"),
        [false; 3],
        "but not what citizens said alone"
    );
    let page = official.get(&format!("/activities/{consultation}")).await;
    assert_eq!(
        reads(&page.body, "joint_consultation"),
        [true; 3],
        "the meeting they took part in they read whole"
    );
    let ctod = app.login_as("ngo@ctod.example").await;
    let page = ctod.get(&format!("/activities/{fgd}")).await;
    assert_eq!(
        reads(&page.body, "fgd"),
        [true; 3],
        "the NGO of the district"
    );
    for email in ["ngo@as.example", "sna@banan.example"] {
        let visitor = app.login_as(email).await;
        let page = visitor.get(&format!("/activities/{fgd}")).await;
        assert_eq!(page.status, StatusCode::OK, "{email}: published work");
        assert_eq!(
            reads(&page.body, "fgd"),
            [false; 3],
            "{email} reads as a donor"
        );
        let search = visitor.get("/activities?q=SUMMARY-fgd").await;
        assert!(
            !search.body.contains(&format!("/activities/{fgd}\"")),
            "{email}"
        );
        let export = visitor.get_bytes("/exports/findings.csv").await;
        assert!(
            !String::from_utf8_lossy(&export).contains("INTERNAL-fgd"),
            "{email}"
        );
    }
    let export = official.get_bytes("/exports/findings.csv").await;
    let export = String::from_utf8_lossy(&export);
    assert!(!export.contains("INTERNAL-fgd") && export.contains("INTERNAL-joint_consultation"));
}

#[tokio::test]
async fn writers_delete_drafts_with_their_files_and_nothing_that_others_rely_on() {
    let app = spawn_app().await;
    let scalar = |sql: String| {
        let app = &app;
        async move {
            sqlx::query_scalar::<_, i64>(&sql)
                .fetch_one(&app.pool)
                .await
                .unwrap_or_else(|error| panic!("{sql}: {error}"))
        }
    };
    let writer = app.login_as("ngo@as.example").await;
    // An FGD AS recorded in Rotonak Mondol (0207), with counts and a finding.
    let draft = scalar(
        "with a as (insert into activities (kind, held_on, district_code, facilitating_organization_id)
                    select 'fgd', '2021-09-01', '0207', id from organizations where acronym = 'AS' returning id),
              c as (insert into participant_counts (activity_id, participant_group, sex, count)
                    select id, 'citizen', 'female', 9 from a),
              f as (insert into findings (activity_id, text_en) select id, 'Wells are far' from a)
         select id from a"
            .into(),
    )
    .await;
    let files_before =
        std::fs::read_dir(app.files_dir.join("attachments")).map_or(0, |dir| dir.count());
    let pdf = reqwest::multipart::Part::bytes(b"%PDF-1.4\n".to_vec()).file_name("minutes.pdf");
    let upload = writer
        .client
        .post(app.url(&format!("/activities/{draft}/attachments")))
        .multipart(
            reqwest::multipart::Form::new()
                .text("csrf_token", writer.csrf_token().await)
                .part("file", pdf),
        )
        .send()
        .await
        .expect("upload");
    assert_eq!(upload.status(), StatusCode::SEE_OTHER);
    let page = writer.get(&format!("/activities/{draft}")).await;
    assert!(
        page.body
            .contains(&format!(r#"action="/activities/{draft}/delete""#))
    );
    let outsider = app.login_as("ngo@ctod.example").await;
    assert_eq!(
        outsider
            .post(&format!("/activities/{draft}/delete"), &[])
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let deleted = writer
        .post(&format!("/activities/{draft}/delete"), &[])
        .await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER);
    for table in [
        "activities where id",
        "participant_counts where activity_id",
        "findings where activity_id",
    ] {
        assert_eq!(
            scalar(format!("select count(*) from {table} = {draft}")).await,
            0,
            "{table}"
        );
    }
    assert_eq!(
        scalar(format!(
            "select count(*) from attachments where parent = 'activity' and parent_id = {draft}"
        ))
        .await,
        0
    );
    assert_eq!(
        std::fs::read_dir(app.files_dir.join("attachments")).map_or(0, |dir| dir.count()),
        files_before + 1,
        "its file waits in the bin (tests/app/bin.rs) until purged"
    );
    assert_eq!(scalar(format!("select count(*) from audit_events where action = 'activity_deleted' and entity_id = '{draft}'")).await, 1);
    // Published work, and work others rely on, stays.
    let staff = app.login_as("secretariat@cpdd.example").await;
    let published = scalar("select a.id from activities a join case_studies c on c.id = a.case_study_id where c.status = 'published' limit 1".into()).await;
    assert_eq!(
        staff
            .post(&format!("/activities/{published}/delete"), &[])
            .await
            .status,
        StatusCode::CONFLICT
    );
    let consultation = scalar("select consultation_id from recommendation_lists where consultation_id is not null limit 1".into()).await;
    let refused = staff
        .post(&format!("/activities/{consultation}/delete"), &[])
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        scalar(format!(
            "select count(*) from activities where id = {consultation}"
        ))
        .await,
        1
    );
    // A draft case study goes; its activities stay, unlinked. One in review stays.
    let case = scalar("select id from case_studies where district_code = '0207'".into()).await;
    let linked: Vec<i64> = sqlx::query_scalar("select id from activities where case_study_id = $1")
        .bind(case)
        .fetch_all(&app.pool)
        .await
        .expect("its activities");
    assert!(!linked.is_empty(), "the draft has activities");
    assert_eq!(
        writer
            .post(&format!("/case-studies/{case}/delete"), &[])
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        scalar(format!(
            "select count(*) from case_studies where id = {case}"
        ))
        .await,
        0
    );
    assert_eq!(
        scalar(format!(
            "select count(*) from activities where case_study_id = {case}"
        ))
        .await,
        0
    );
    let kept: Vec<i64> = sqlx::query_scalar("select id from activities where id = any($1)")
        .bind(&linked)
        .fetch_all(&app.pool)
        .await
        .expect("the activities");
    assert_eq!(kept.len(), linked.len(), "its activities stay");
    let in_review = scalar("select id from case_studies where status = 'in_review'".into()).await;
    assert_eq!(
        writer
            .post(&format!("/case-studies/{in_review}/delete"), &[])
            .await
            .status,
        StatusCode::CONFLICT
    );
}
