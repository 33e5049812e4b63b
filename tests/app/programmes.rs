//! The coalition's wider work (issue 27): projects, agreements, events at
//! every level and the public news, as the demo holds its 2025 posts.

use reqwest::StatusCode;

use crate::helpers::{TestApp, Visitor, spawn_app, text_of};

const SECRETARIAT: &str = "secretariat@cpdd.example";

async fn scalar(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(sql)
        .fetch_one(&app.pool)
        .await
        .unwrap_or_else(|error| panic!("{sql}: {error}"))
}

/// The sixteen cells of the counts grid, kind of organization × sex, with
/// `cells` filled in and the rest left empty as a browser sends them.
fn grid(cells: &[(usize, &'static str)]) -> Vec<(&'static str, &'static str)> {
    (0..16)
        .map(|cell| {
            let value = cells
                .iter()
                .find(|(at, _)| *at == cell)
                .map_or("", |(_, value)| *value);
            ("counts", value)
        })
        .collect()
}

/// The Pursat MoU meeting as the secretariat types it: 13 participants, 5 of
/// them women (government 3 + 6, CSO 2 + 2).
async fn pursat_meeting(app: &TestApp) -> Vec<(&'static str, String)> {
    let cpdd = scalar(app, "select id from organizations where acronym = 'CPDD'").await;
    let mut fields: Vec<(&str, String)> = [
        ("kind", "signing"),
        ("level", "provincial"),
        ("title_en", "MoU signed with Pursat PDAFF (test)"),
        ("starts_on", "2025-07-04"),
        ("ends_on", ""),
        ("province_code", "15"),
        ("venue", "Pursat PDAFF meeting room"),
        ("summary_en", "The MoU was signed."),
    ]
    .into_iter()
    .map(|(name, value)| (name, value.to_owned()))
    .collect();
    fields.push(("organizer", cpdd.to_string()));
    fields.extend(
        grid(&[(0, "3"), (1, "6"), (4, "2"), (5, "2")])
            .into_iter()
            .map(|(name, value)| (name, value.to_owned())),
    );
    fields
}

fn borrowed<'a>(fields: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    fields
        .iter()
        .map(|(name, value)| (*name, value.as_str()))
        .collect()
}

#[tokio::test]
async fn the_demo_holds_the_five_events_of_2025_their_agreements_and_projects() {
    let app = spawn_app().await;
    let staff = app.login_as(SECRETARIAT).await;

    let events = text_of(&staff.get("/events").await.body);
    for title in [
        "National workshop: results and closing",
        "Orientation workshop on the GEF Small Grants Programme",
        "Signing of the MoU with ThanksCarbon",
        "MoU meeting with the Pursat",
        "MoU meeting with the Kampong Speu",
    ] {
        assert!(events.contains(title), "{title} in {events}");
    }
    assert!(events.contains("2–4 September 2025"), "{events}");

    // The national workshop sits in no province; the Pursat meeting in Pursat.
    let national = scalar(
        &app,
        "select count(*) from events where level = 'national' and province_code is null",
    )
    .await;
    assert_eq!(national, 2);
    let pursat = scalar(
        &app,
        "select id from events where title_en like 'MoU meeting with the Pursat%'",
    )
    .await;
    let page = text_of(&staff.get(&format!("/events/{pursat}")).await.body);
    assert!(page.contains("Participants: 13"), "{page}");
    assert!(page.contains("Pursat"), "{page}");

    // The agreements filtered by province and status: Pursat's MoU only.
    let pursat_mous = text_of(
        &staff
            .get("/agreements?province=15&status=signed")
            .await
            .body,
    );
    assert!(
        pursat_mous.contains("MoU between CPDD and the Pursat PDAFF"),
        "{pursat_mous}"
    );
    assert!(
        !pursat_mous.contains("MoU between CPDD and the Kampong Speu PDAFF"),
        "{pursat_mous}"
    );
    let drafts = text_of(&staff.get("/agreements?status=draft").await.body);
    assert!(drafts.contains("Letter of intent with NCDD"), "{drafts}");
    assert!(
        !drafts.contains("MoU between CPDD and ThanksCarbon"),
        "{drafts}"
    );

    // The ThanksCarbon project holds its three MoUs and three events.
    let carbon = scalar(
        &app,
        "select id from projects where title_en like 'Community forests%'",
    )
    .await;
    let project = text_of(&staff.get(&format!("/projects/{carbon}")).await.body);
    for part in [
        "Takéo",
        "Kampong Speu",
        "Pursat",
        "MoU between CPDD and ThanksCarbon",
        "Signing of the MoU with ThanksCarbon",
    ] {
        assert!(project.contains(part), "{part} in {project}");
    }
}

#[tokio::test]
async fn anyone_reads_the_published_news_as_the_coalitions_posts_do_and_in_the_feed() {
    let app = spawn_app().await;
    let reader = app.visitor();
    let list = reader.get("/public/news").await;
    assert_eq!(list.status, StatusCode::OK);
    let text = text_of(&list.body);
    assert!(text.contains("18 September 2025"), "{text}");
    assert!(
        text.contains("Signing of the MoU with ThanksCarbon"),
        "{text}"
    );
    // The unpublished Pursat meeting is not news.
    assert!(!text.contains("MoU meeting with the Pursat"), "{text}");

    let id = scalar(&app, "select n.id from news_items n join events e on e.id = n.event_id where e.kind = 'workshop'").await;
    let item = reader.get(&format!("/public/news/{id}")).await;
    assert_eq!(item.status, StatusCode::OK);
    assert!(
        item.body
            .contains("<meta property=\"og:type\" content=\"article\">"),
        "{}",
        item.body
    );
    assert!(item.body.contains("og:url"), "{}", item.body);
    let shown = text_of(&item.body);
    for part in [
        "A hotel in Phnom Penh",
        "National Committee for Sub-National Democratic Development",
        "took part",
    ] {
        assert!(shown.contains(part), "{part} in {shown}");
    }

    let feed = reader.get("/public/news.atom").await;
    assert_eq!(feed.status, StatusCode::OK);
    assert!(feed.body.starts_with("<?xml"), "{}", feed.body);
    assert!(
        feed.body
            .contains("<feed xmlns=\"http://www.w3.org/2005/Atom\"")
    );
    assert_eq!(feed.body.matches("<entry>").count(), 3, "{}", feed.body);
    assert!(
        feed.body.contains(&format!("/public/news/{id}</id>")),
        "{}",
        feed.body
    );

    let unpublished = scalar(
        &app,
        "select count(*) from news_items where published_at is null",
    )
    .await;
    assert_eq!(unpublished, 0);
    let missing = reader.get("/public/news/999999").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_events_totals_move_exactly_by_what_was_entered() {
    let app = spawn_app().await;
    let staff = app.login_as(SECRETARIAT).await;
    let fields = pursat_meeting(&app).await;
    let created = staff.post("/events", &borrowed(&fields)).await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    let location = created.location.expect("the new event");
    let id: i64 = location
        .trim_start_matches("/events/")
        .parse()
        .expect("an id");
    let totals = || async {
        sqlx::query_as::<_, (i32, i32)>(
            "select participants, participants_female from events where id = $1",
        )
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .expect("totals")
    };
    assert_eq!(totals().await, (13, 5));

    // Two more women from the province's administration: 15, of them 7 women.
    let edit = staff.get(&format!("/events/{id}/edit")).await;
    let version = edit
        .body
        .split("name=\"version\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the version")
        .to_owned();
    let mut changed: Vec<(&str, String)> = fields
        .iter()
        .filter(|(name, _)| *name != "counts")
        .cloned()
        .collect();
    changed.push(("version", version));
    changed.extend(
        grid(&[(0, "3"), (1, "6"), (2, "2"), (4, "2"), (5, "2")])
            .into_iter()
            .map(|(name, value)| (name, value.to_owned())),
    );
    let saved = staff.post(&location, &borrowed(&changed)).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    assert_eq!(totals().await, (15, 7));
    let rows = scalar(
        &app,
        &format!("select sum(count)::bigint from event_participants where event_id = {id}"),
    )
    .await;
    assert_eq!(rows, 15);
}

/// Sends `fields` to `action`: the form comes back (422) with `kept` in it
/// and `message` said, and nothing is written to `table`.
async fn refused(
    app: &TestApp,
    visitor: &Visitor,
    action: &str,
    fields: &[(&str, &str)],
    kept: &str,
    message: &str,
    table: &str,
) {
    let count = format!("select count(*) from {table}");
    let before = scalar(app, &count).await;
    let page = visitor.post(action, fields).await;
    assert_eq!(
        page.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{action}: {}",
        page.body
    );
    assert!(page.body.contains(kept), "{action} keeps {kept}");
    assert!(
        text_of(&page.body).contains(message),
        "{action} says {message}: {}",
        text_of(&page.body)
    );
    assert_eq!(scalar(app, &count).await, before, "{action} wrote nothing");
}

#[tokio::test]
async fn every_new_form_answers_bad_input_with_the_form_back() {
    let app = spawn_app().await;
    let staff = app.login_as(SECRETARIAT).await;
    let cpdd = scalar(&app, "select id from organizations where acronym = 'CPDD'")
        .await
        .to_string();

    let mut event = pursat_meeting(&app).await;
    event.retain(|(name, _)| *name != "ends_on");
    event.push(("ends_on", "2025-07-01".into()));
    refused(
        &app,
        &staff,
        "/events",
        &borrowed(&event),
        "MoU signed with Pursat PDAFF (test)",
        "",
        "events",
    )
    .await;
    let mut national = pursat_meeting(&app).await;
    national.retain(|(name, _)| *name != "level");
    national.push(("level", "district".into()));
    refused(
        &app,
        &staff,
        "/events",
        &borrowed(&national),
        "Pursat PDAFF meeting room",
        "Choose the district.",
        "events",
    )
    .await;
    let mut negative = pursat_meeting(&app).await;
    negative.retain(|(name, _)| *name != "counts");
    negative.extend(
        grid(&[(0, "-3")])
            .into_iter()
            .map(|(name, value)| (name, value.to_owned())),
    );
    refused(
        &app,
        &staff,
        "/events",
        &borrowed(&negative),
        "value=\"-3\"",
        "Enter a whole number from 0 to 100000.",
        "events",
    )
    .await;

    refused(
        &app,
        &staff,
        "/projects",
        &[
            ("title_en", "Budget in words"),
            ("lead", &cpdd),
            ("starts_on", "2025-01-01"),
            ("ends_on", "2025-12-31"),
            ("budget", "a lot"),
            ("currency", "USD"),
            ("status", "active"),
        ],
        "a lot",
        "Enter an amount in whole units",
        "projects",
    )
    .await;
    refused(
        &app,
        &staff,
        "/agreements",
        &[
            ("kind", "mou"),
            ("title_en", "An MoU with nobody"),
            ("valid_until", "2027-01-01"),
        ],
        "An MoU with nobody",
        "Choose at least two parties.",
        "agreements",
    )
    .await;

    let pursat = scalar(
        &app,
        "select id from events where title_en like 'MoU meeting with the Pursat%'",
    )
    .await;
    refused(
        &app,
        &staff,
        &format!("/events/{pursat}/news"),
        &[
            ("headline_en", ""),
            ("body_en", "Kept body text"),
            ("state", "published"),
        ],
        "Kept body text",
        "",
        "news_items",
    )
    .await;
}

#[tokio::test]
async fn an_agreement_is_signed_only_with_its_date_and_each_step_is_audited() {
    let app = spawn_app().await;
    let staff = app.login_as(SECRETARIAT).await;
    let draft = scalar(&app, "select id from agreements where status = 'draft'").await;
    let path = format!("/agreements/{draft}/status");
    let refused = staff
        .post(&path, &[("to", "signed"), ("signed_on", "")])
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        text_of(&refused.body).contains("Give the day it was signed."),
        "{}",
        refused.body
    );
    let signed = staff
        .post(&path, &[("to", "signed"), ("signed_on", "2026-11-30")])
        .await;
    assert_eq!(signed.status, StatusCode::SEE_OTHER, "{}", signed.body);
    let ended = staff.post(&path, &[("to", "ended")]).await;
    assert_eq!(ended.status, StatusCode::SEE_OTHER, "{}", ended.body);
    let status: String = sqlx::query_scalar("select status from agreements where id = $1")
        .bind(draft)
        .fetch_one(&app.pool)
        .await
        .expect("status");
    assert_eq!(status, "ended");
    let steps = scalar(&app, &format!("select count(*) from audit_events where entity = 'agreement' and entity_id = '{draft}' and action in ('agreement_signed', 'agreement_ended')")).await;
    assert_eq!(steps, 2);
    let page = text_of(&staff.get(&format!("/agreements/{draft}")).await.body);
    assert!(page.contains("Signed") && page.contains("Ended"), "{page}");
    // Ended is the end: no step leads back.
    let again = staff
        .post(&path, &[("to", "signed"), ("signed_on", "2026-11-30")])
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn the_secretariat_hears_60_and_14_days_before_an_agreement_runs_out_and_then_it_expires() {
    let app = spawn_app().await;
    let pursat = scalar(
        &app,
        "select id from agreements where title_en like '%Pursat%'",
    )
    .await;
    let until: time::Date = sqlx::query_scalar("select valid_until from agreements where id = $1")
        .bind(pursat)
        .fetch_one(&app.pool)
        .await
        .expect("valid until");
    let remind = |on: time::Date| {
        let pool = app.app_pool.clone();
        async move {
            samleng::notifications::remind_expiring_agreements(&pool, on)
                .await
                .expect("reminders")
        }
    };
    let told = || async {
        sqlx::query_as::<_, (String, String)>(
            "select u.email, n.subject from notifications n join users u on u.id = n.user_id
             where n.kind = 'agreement-expiring' and n.link = $1 order by n.id",
        )
        .bind(format!("/agreements/{pursat}"))
        .fetch_all(&app.pool)
        .await
        .expect("notifications")
    };
    let days = time::Duration::days;
    remind(until - days(61)).await;
    assert!(told().await.is_empty());
    remind(until - days(60)).await;
    remind(until - days(59)).await;
    let first = told().await;
    assert_eq!(first.len(), 1, "{first:?}");
    assert_eq!(first[0].0, SECRETARIAT);
    assert!(first[0].1.contains("60 days"), "{first:?}");
    remind(until - days(14)).await;
    remind(until - days(3)).await;
    let second = told().await;
    assert_eq!(second.len(), 2, "{second:?}");
    assert!(second[1].1.contains("14 days"), "{second:?}");
    remind(until).await;
    assert_eq!(told().await.len(), 2);
    let status = |id: i64| {
        let pool = app.pool.clone();
        async move {
            sqlx::query_scalar::<_, String>("select status from agreements where id = $1")
                .bind(id)
                .fetch_one(&pool)
                .await
                .expect("status")
        }
    };
    assert_eq!(status(pursat).await, "signed");
    remind(until + days(1)).await;
    assert_eq!(status(pursat).await, "expired");
    let audited = scalar(&app, &format!("select count(*) from audit_events where entity = 'agreement' and entity_id = '{pursat}' and action = 'agreement_expired' and actor_id is null")).await;
    assert_eq!(audited, 1);
}

/// The cells of one level's row in the dashboard's events table: events,
/// women, men, everyone; as shown ("<5" included).
fn events_row(body: &str, level: &str) -> Option<Vec<String>> {
    let table = body
        .split("id=\"events-figures\"")
        .nth(1)?
        .split("</table>")
        .next()?;
    let row = table
        .split("<tr>")
        .find(|row| row.contains(&format!("<th scope=\"row\">{level}</th>")))?;
    Some(
        row.split("<td")
            .skip(1)
            .map(|cell| {
                let inner = cell.split_once('>').map_or("", |(_, rest)| rest);
                text_of(inner.split("</td>").next().unwrap_or_default()).replace("&#60;", "<")
            })
            .collect(),
    )
}

/// The number a cell shows; `None` for "<5".
fn number(cell: &str) -> Option<i64> {
    cell.trim().replace(',', "").parse().ok()
}

#[tokio::test]
async fn the_dashboard_counts_events_at_their_level_and_filters_by_project() {
    let app = spawn_app().await;
    let staff = app.login_as(SECRETARIAT).await;

    let everything = staff.get("/dashboard").await;
    assert_eq!(everything.status, StatusCode::OK);
    let national = events_row(&everything.body, "National").expect("national events");
    let provincial = events_row(&everything.body, "Provincial").expect("provincial events");
    assert_eq!(national[0], "2", "{national:?}");
    assert_eq!(provincial[0], "3", "{provincial:?}");
    let exact = scalar(
        &app,
        "select sum(participants)::bigint from events where level = 'provincial'",
    )
    .await;
    assert_eq!(number(&provincial[3]), Some(exact), "{provincial:?}");

    // A province holds its provincial events; national ones belong to none.
    let pursat = staff.get("/dashboard?province=15").await;
    assert_eq!(
        events_row(&pursat.body, "Provincial").map(|row| row[..1].to_vec()),
        Some(vec!["1".to_owned()])
    );
    assert_eq!(events_row(&pursat.body, "National"), None);

    // The carbon project: its own event and those of its agreements, and no
    // field work, as none of its studies has any.
    let carbon = scalar(
        &app,
        "select id from projects where title_en like 'Community forests%'",
    )
    .await;
    let page = staff.get(&format!("/dashboard?project={carbon}")).await;
    assert_eq!(page.status, StatusCode::OK);
    let held = scalar(
        &app,
        &format!(
            "select count(*) from events e where e.project_id = {carbon}
             or e.agreement_id in (select id from agreements where project_id = {carbon})"
        ),
    )
    .await;
    let shown: i64 = ["National", "Provincial"]
        .iter()
        .filter_map(|level| events_row(&page.body, level))
        .filter_map(|row| number(&row[0]))
        .sum();
    assert_eq!(shown, held);
    assert!(
        page.body.contains("<dd id=\"figure-activities\">0</dd>"),
        "{}",
        text_of(&page.body)
    );

    // The transparency project: the field work of its Battambang study.
    let transparency = scalar(
        &app,
        "select id from projects where title_en like 'Strengthening Transparency%'",
    )
    .await;
    let activities = scalar(
        &app,
        &format!(
            "select count(*) from activities
             where study_id in (select id from studies where project_id = {transparency})"
        ),
    )
    .await;
    assert!(activities > 0);
    let page = staff
        .get(&format!("/dashboard?project={transparency}"))
        .await;
    assert!(
        page.body
            .contains(&format!("<dd id=\"figure-activities\">{activities}</dd>")),
        "{activities} activities in {}",
        text_of(&page.body)
    );

    // A donor filters by the projects they read, and by no other.
    let donor = app.login_as("donor@donor.example").await;
    let gef = scalar(
        &app,
        "select id from projects where title_en like 'GEF Small Grants%'",
    )
    .await;
    let gef_title: String = sqlx::query_scalar("select title_en from projects where id = $1")
        .bind(gef)
        .fetch_one(&app.pool)
        .await
        .expect("the title");
    let dashboard = donor.get("/dashboard").await;
    assert!(
        dashboard
            .body
            .contains(&format!("<option value=\"{transparency}\"")),
        "the donor funds it"
    );
    assert!(!dashboard.body.contains(&gef_title));
    assert!(!donor.get("/events").await.body.contains(&gef_title));
    for path in [
        format!("/dashboard?project={gef}"),
        format!("/exports/activities.csv?project={gef}"),
    ] {
        assert_eq!(
            donor.get(&path).await.status,
            StatusCode::FORBIDDEN,
            "{path}"
        );
    }
    assert_eq!(
        donor.get("/dashboard?project=999999").await.status,
        StatusCode::NOT_FOUND
    );
    let wrong = donor.get("/dashboard?project=carbon").await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
}

/// The rows of a CSV download, with its header first.
async fn csv_of(visitor: &Visitor, path: &str) -> Vec<csv::StringRecord> {
    let bytes = visitor.get_bytes(path).await;
    let text = bytes
        .strip_prefix(b"\xEF\xBB\xBF")
        .unwrap_or_else(|| panic!("{path} starts with a byte-order mark"));
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text)
        .records()
        .map(|record| record.expect("a CSV record"))
        .collect()
}

#[tokio::test]
async fn projects_and_events_are_exported_as_each_reader_may_read_them() {
    let app = spawn_app().await;
    let staff = app.login_as(SECRETARIAT).await;
    let donor = app.login_as("donor@donor.example").await;

    let projects = csv_of(&staff, "/exports/projects.csv").await;
    assert_eq!(&projects[0][0], "project_id");
    assert_eq!(projects.len() - 1, 3);
    let read_by_donor = csv_of(&donor, "/exports/projects.csv").await;
    let titles: Vec<&str> = read_by_donor.iter().skip(1).map(|row| &row[1]).collect();
    assert_eq!(titles.len(), 2, "{titles:?}");
    assert!(
        titles.iter().all(|title| !title.starts_with("GEF")),
        "{titles:?}"
    );

    let events = csv_of(&staff, "/exports/events.csv").await;
    let header = &events[0];
    let participants = header
        .iter()
        .position(|column| column == "participants")
        .expect("a participants column");
    assert!(
        header
            .iter()
            .any(|column| column == "from_government_female")
    );
    let pursat = events
        .iter()
        .find(|row| row[3].starts_with("MoU meeting with the Pursat"))
        .expect("the Pursat meeting");
    assert_eq!(&pursat[participants], "13");
    assert_eq!(&pursat[2], "provincial");
    assert_eq!(&pursat[7], "15");
    let national = csv_of(&staff, "/exports/events.csv?province=12").await;
    assert_eq!(national.len(), 1, "Phnom Penh holds no provincial event");

    // The project filter reaches the study's records.
    let transparency = scalar(
        &app,
        "select id from projects where title_en like 'Strengthening Transparency%'",
    )
    .await;
    let carbon = scalar(
        &app,
        "select id from projects where title_en like 'Community forests%'",
    )
    .await;
    let activities = scalar(
        &app,
        &format!(
            "select count(*) from activities
             where study_id in (select id from studies where project_id = {transparency})"
        ),
    )
    .await;
    let of_transparency = csv_of(
        &staff,
        &format!("/exports/activities.csv?project={transparency}"),
    )
    .await;
    assert_eq!(of_transparency.len() as i64 - 1, activities);
    let of_carbon = csv_of(&staff, &format!("/exports/activities.csv?project={carbon}")).await;
    assert_eq!(of_carbon.len(), 1, "only the header");
}

#[tokio::test]
async fn a_donor_comparing_event_figures_never_learns_a_count_of_one_to_four() {
    let app = spawn_app().await;
    let staff = app.login_as(SECRETARIAT).await;
    let donor = app.login_as("donor@donor.example").await;
    let view = "/dashboard?province=15";
    let before = donor.get(view).await;
    let before_row = events_row(&before.body, "Provincial").expect("Pursat's meeting");

    // Three women and one man from a CSO meet in Pursat on 1 August 2025.
    let cpdd = scalar(&app, "select id from organizations where acronym = 'CPDD'").await;
    let organizer = cpdd.to_string();
    let mut fields: Vec<(&str, &str)> = vec![
        ("kind", "meeting"),
        ("level", "provincial"),
        ("title_en", "A small meeting in Pursat"),
        ("starts_on", "2025-08-01"),
        ("ends_on", ""),
        ("province_code", "15"),
        ("venue", "Pursat"),
        ("organizer", &organizer),
    ];
    fields.extend(grid(&[(4, "3"), (5, "1")]));
    let created = staff.post("/events", &fields).await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    let (female, total): (i32, i32) = sqlx::query_as(
        "select rounded_participants_female, rounded_participants from events
         where title_en = 'A small meeting in Pursat'",
    )
    .fetch_one(&app.pool)
    .await
    .expect("its rounded totals");

    // Before and after, with and without the day: each difference a donor can
    // take is a sum of rounded counts, never the 3 women or the 4 people.
    let after = donor.get(view).await;
    let after_row = events_row(&after.body, "Provincial").expect("two meetings");
    let without = donor.get(&format!("{view}&to=2025-07-31")).await;
    let without_row = events_row(&without.body, "Provincial").expect("one meeting");
    assert_eq!(before_row, without_row);
    // "<5" is a rounded 0 with people behind it: what a donor would subtract.
    let rounded = |cell: &str| if cell == "<5" { Some(0) } else { number(cell) };
    let difference = |column: usize| {
        rounded(&after_row[column])
            .zip(rounded(&before_row[column]))
            .map(|(a, b)| a - b)
    };
    assert_eq!(difference(0), Some(1));
    assert_eq!(
        difference(1),
        Some(i64::from(female)),
        "{after_row:?} {before_row:?}"
    );
    assert_eq!(
        difference(3),
        Some(i64::from(total)),
        "{after_row:?} {before_row:?}"
    );
    for shown in [difference(1), difference(3)].into_iter().flatten() {
        assert!(shown % 5 == 0, "{shown}");
    }
    let alone = donor
        .get(&format!("{view}&from=2025-08-01&to=2025-08-01"))
        .await;
    let alone_row = events_row(&alone.body, "Provincial").expect("the small meeting");
    for cell in &alone_row[1..] {
        assert!(
            cell == "<5" || number(cell).is_some_and(|n| n % 5 == 0),
            "{alone_row:?}"
        );
    }
    let exported = csv_of(&donor, "/exports/events.csv?from=2025-08-01&to=2025-08-01").await;
    let header = &exported[0];
    let at = |name: &str| header.iter().position(|column| column == name).expect(name);
    let row = &exported[1];
    for column in ["from_cso_female", "from_cso_male", "participants", "female"] {
        let cell = &row[at(column)];
        assert!(
            cell == "<5" || cell.parse::<i64>().is_ok_and(|n| n % 5 == 0),
            "{column}: {cell}"
        );
    }
    // The secretariat sees them exactly.
    let exact = staff
        .get(&format!("{view}&from=2025-08-01&to=2025-08-01"))
        .await;
    let exact_row = events_row(&exact.body, "Provincial").expect("the small meeting");
    assert_eq!(exact_row[1..], ["3", "1", "4"]);
}

#[tokio::test]
async fn a_news_item_saved_meanwhile_is_not_overwritten_by_a_stale_form() {
    let app = spawn_app().await;
    let staff = app.login_as(SECRETARIAT).await;
    let workshop = scalar(
        &app,
        "select e.id from events e join news_items n on n.event_id = e.id where e.kind = 'workshop'",
    )
    .await;
    let path = format!("/events/{workshop}/news");
    let form = staff.get(&path).await;
    let version = form
        .body
        .split("name=\"version\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the version")
        .to_owned();
    let save = |headline: &'static str| {
        let version = version.clone();
        let staff = &staff;
        let path = &path;
        async move {
            staff
                .post(
                    path,
                    &[
                        ("headline_en", headline),
                        ("body_en", "The workshop closed the project."),
                        ("state", "published"),
                        ("version", &version),
                    ],
                )
                .await
        }
    };
    let first = save("Results shared in Phnom Penh").await;
    assert_eq!(first.status, StatusCode::SEE_OTHER, "{}", first.body);

    // A colleague's tab, drawn before that save, is sent back with both.
    let stale = save("Project closed in Phnom Penh").await;
    assert_eq!(stale.status, StatusCode::CONFLICT);
    let shown = text_of(&stale.body);
    assert!(shown.contains("Results shared in Phnom Penh"), "{shown}");
    assert!(
        stale.body.contains("Project closed in Phnom Penh"),
        "{shown}"
    );
    let stored: String =
        sqlx::query_scalar("select headline_en from news_items where event_id = $1")
            .bind(workshop)
            .fetch_one(&app.pool)
            .await
            .expect("the item");
    assert_eq!(stored, "Results shared in Phnom Penh");
}
