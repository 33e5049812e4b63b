//! The dashboard and the exports on the demo data: every figure against an
//! independent count, filters, small counts for donors, and the files parsed back.

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};
use reqwest::StatusCode;
use samleng::geo::import::{self, Source};

use crate::helpers::{ROUNDED_COUNT, TestApp, Visitor, spawn_app, text_of};

/// The text of the headline figure `id` on a dashboard page.
pub fn figure(page: &str, id: &str) -> String {
    figure_by_id(page, &format!("figure-{id}"))
}

/// The text of the `dd` whose id is `id`.
pub fn figure_by_id(page: &str, id: &str) -> String {
    let marker = format!("id=\"{id}\"");
    let at = page
        .find(&marker)
        .unwrap_or_else(|| panic!("figure {id} missing"));
    let start = at + page[at..].find('>').unwrap_or_default() + 1;
    page[start..]
        .split("</dd>")
        .next()
        .map(text_of)
        .unwrap_or_default()
}

/// The cells of the table row whose header is `label`, in the table `id`.
fn row(page: &str, table: &str, label: &str) -> Vec<String> {
    let start = page
        .find(&format!("id=\"{table}\""))
        .unwrap_or_else(|| panic!("table {table} missing"));
    let table = &page[start..start + page[start..].find("</table>").unwrap_or(0)];
    let heading = format!("<th scope=\"row\">{label}</th>");
    let row = table
        .split("<tr")
        .map(|row| &row[row.find('>').map_or(0, |end| end + 1)..])
        .find(|row| row.starts_with(&heading))
        .unwrap_or_else(|| panic!("row {label} missing"));
    row.split("<td")
        .skip(1)
        .map(|cell| {
            let cell = &cell[cell.find('>').map_or(0, |end| end + 1)..];
            text_of(cell.split("</td>").next().unwrap_or_default())
        })
        .collect()
}

async fn scalar(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(sql)
        .fetch_one(&app.pool)
        .await
        .unwrap_or_else(|error| panic!("{sql}: {error}"))
}

const CURRENT_STATE: &str = "from actions a left join lateral (
        select u.status, u.progress from action_updates u where u.action_id = a.id
        order by u.reported_on desc, u.id desc limit 1) u on true";

#[tokio::test]
async fn every_figure_of_the_secretariat_matches_an_independent_count() {
    let app = spawn_app().await;
    let page = app
        .login_as("secretariat@cpdd.example")
        .await
        .get("/dashboard")
        .await;
    assert_eq!(page.status, StatusCode::OK);
    let body = &page.body;
    let count = |sql: &'static str| scalar(&app, sql);
    // The 2021 study's own figures, the second cycle's beside them.
    let first = count("select min(id) from studies").await;
    let report = app
        .login_as("secretariat@cpdd.example")
        .await
        .get(&format!("/dashboard?study={first}"))
        .await;
    assert_eq!(figure(&report.body, "respondents"), "367");
    assert_eq!(figure(&report.body, "respondents-female"), "209 (57%)");
    let respondents = count(
        "select sum(p.count) from participant_counts p join activities a on a.id = p.activity_id
         where a.kind in ('fgd', 'interview')",
    )
    .await;
    assert_eq!(figure(body, "respondents"), respondents.to_string());
    assert_eq!(figure(body, "districts"), "7");
    assert_eq!(
        figure(body, "case-studies"),
        count("select count(*) from case_studies where status in ('published', 'archived')")
            .await
            .to_string()
    );
    assert_eq!(
        figure(body, "activities"),
        count("select count(*) from activities").await.to_string()
    );
    let participants = count("select sum(count) from participant_counts").await;
    let female = count("select sum(count) from participant_counts where sex = 'female'").await;
    assert_eq!(figure(body, "participants"), participants.to_string());
    assert_eq!(
        figure(body, "female"),
        format!(
            "{female} ({}%)",
            (female * 100 + participants / 2) / participants
        )
    );
    assert_eq!(
        figure(body, "recommendations"),
        count("select count(*) from recommendations r join recommendation_lists l on l.id = r.list_id where l.status <> 'superseded'").await.to_string()
    );
    assert_eq!(
        figure(body, "endorsed"),
        count("select count(*) from recommendations r join recommendation_lists l on l.id = r.list_id where l.status = 'endorsed'").await.to_string()
    );
    assert_eq!(
        figure(body, "prioritized"),
        count("select count(distinct recommendation_id) from priorities")
            .await
            .to_string()
    );
    // Endorsed lists over the districts that have a list.
    let endorsed =
        count("select count(*) from recommendation_lists where status = 'endorsed'").await;
    let listed = count(
        "select count(*) from (select distinct district_code, study_id from recommendation_lists) owed",
    )
    .await;
    let rate = format!("{}%", (endorsed * 100 + listed / 2) / listed);
    assert_eq!(figure(body, "endorsement-rate"), rate);
    // A donor reads only endorsed lists, and the same rate, not 100%.
    let donor = app
        .login_as("donor@donor.example")
        .await
        .get("/dashboard")
        .await;
    assert_eq!(figure(&donor.body, "endorsement-rate"), rate);
    assert_ne!(rate, "100%");
    assert_eq!(
        figure(body, "actions"),
        count("select count(*) from actions").await.to_string()
    );
    let overdue = scalar(&app, &format!(
        "select count(*) {CURRENT_STATE} where a.due_on < (now() at time zone 'Asia/Phnom_Penh')::date
         and coalesce(u.status, 'not_started') not in ('completed', 'cancelled')"
    ))
    .await;
    assert_eq!(figure(body, "overdue"), overdue.to_string());
    let progress = scalar(
        &app,
        &format!(
            "select round(avg(coalesce(u.progress, 0)))::bigint {CURRENT_STATE}
         where coalesce(u.status, 'not_started') <> 'cancelled'"
        ),
    )
    .await;
    assert_eq!(figure(body, "progress"), format!("{progress}%"));
    // Breakdowns: by group, by kind, by status.
    let citizens = scalar(
        &app,
        "select sum(count) from participant_counts where participant_group = 'citizen'",
    )
    .await;
    assert_eq!(
        row(body, "participants-by-group", "Citizens")[2],
        citizens.to_string()
    );
    let fgds = count("select count(*) from activities where kind = 'fgd'").await;
    assert_eq!(
        row(body, "activities-by-kind", "Focus group discussion"),
        [fgds.to_string()]
    );
    let completed = scalar(
        &app,
        &format!("select count(*) {CURRENT_STATE} where u.status = 'completed'"),
    )
    .await;
    assert_eq!(
        row(body, "actions-by-status", "Completed"),
        [completed.to_string()]
    );
    // Four charts and the per-district table linking to each district.
    for chart in [
        "chart-participants",
        "chart-themes",
        "chart-actions",
        "chart-months",
    ] {
        let start = body.find(&format!("id=\"{chart}\"")).expect(chart);
        assert!(body[start..].contains("<svg"), "{chart} has no drawing");
    }
    let battambang = row(
        body,
        "district-figures",
        "<a href=\"/districts/0203\">Battambang</a>",
    );
    let in_0203 = count("select sum(p.count) from participant_counts p join activities a on a.id = p.activity_id where a.district_code = '0203'").await;
    assert_eq!(battambang[1], in_0203.to_string());
}

#[tokio::test]
async fn filters_narrow_every_figure_and_bad_ones_are_sent_back() {
    let app = spawn_app().await;
    let secretariat = app.login_as("secretariat@cpdd.example").await;
    let bavel = secretariat
        .get("/dashboard?province=02&district=0204")
        .await;
    let in_bavel = scalar(&app, "select sum(p.count) from participant_counts p join activities a on a.id = p.activity_id where a.district_code = '0204'").await;
    assert_eq!(figure(&bavel.body, "participants"), in_bavel.to_string());
    assert_eq!(figure(&bavel.body, "districts"), "1");
    let bavel_actions = scalar(&app, "select count(*) from actions a join action_plans p on p.id = a.plan_id where p.district_code = '0204'").await;
    assert_eq!(figure(&bavel.body, "actions"), bavel_actions.to_string());
    assert!(
        bavel.body.contains("<option value=\"0204\" selected>"),
        "the filter survives the reload"
    );

    let study = scalar(&app, "select id from studies order by id limit 1").await;
    let dated = secretariat
        .get(&format!(
            "/dashboard?study={study}&from=2021-09-09&to=2021-09-30"
        ))
        .await;
    let in_period = scalar(
        &app,
        "select count(*) from activities where held_on between '2021-09-09' and '2021-09-30'",
    )
    .await;
    assert_eq!(figure(&dated.body, "activities"), in_period.to_string());
    assert!(in_period > 0 && in_period < scalar(&app, "select count(*) from activities").await);

    let elsewhere = secretariat.get("/dashboard?province=01").await;
    assert_eq!(figure(&elsewhere.body, "activities"), "0");
    assert!(elsewhere.body.contains("Nothing matches these filters."));

    let bad = secretariat
        .get("/dashboard?district=02x4&from=2021-02-30&to=2021-01-01")
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bad.body
            .contains("Not a code: a province has 2 digits, a district 4.")
    );
    assert!(bad.body.contains("Not a date (year-month-day)."));
    assert!(bad.body.contains("value=\"02x4\""), "the input is kept");
    let khmer = secretariat.get("/dashboard?from=2021-02-30&lang=km").await;
    assert_eq!(khmer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(khmer.body.contains("មិនមែនជាកាលបរិច្ឆេទទេ (ឆ្នាំ-ខែ-ថ្ងៃ)។"));
    let export = secretariat
        .get("/exports/activities.csv?from=someday")
        .await;
    assert_eq!(export.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        secretariat.get("/exports/people.csv").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        secretariat.get("/exports/activities.pdf").await.status,
        StatusCode::NOT_FOUND
    );
}

/// A published Battambang FGD where three women and two men of the council
/// spoke. Its secret rounds the women to 5 and the men to 0 for outsiders
/// (docs/disclosure.md): the keys of "council_member female" and "… male" are
/// 0.487 and 0.880.
async fn small_group(app: &TestApp) -> i64 {
    sqlx::query_scalar::<_, i64>(
        "with activity as (
             insert into activities (kind, held_on, district_code, facilitating_organization_id,
                                     study_id, case_study_id, disclosure_secret)
             select 'fgd', '2021-10-01', '0203', c.author_organization_id, c.study_id, c.id,
                    '00000000-0000-0000-0000-000000000009'
             from case_studies c where c.district_code = '0203' returning id)
         insert into participant_counts (activity_id, participant_group, sex, count)
         select id, 'council_member', sex, n from activity,
                (values ('female', 3), ('male', 2)) counts(sex, n)
         returning activity_id",
    )
    .fetch_one(&app.pool)
    .await
    .expect("a small group")
}

async fn download(visitor: &Visitor, app: &TestApp, path: &str) -> Vec<u8> {
    let response = visitor
        .client
        .get(app.url(path))
        .send()
        .await
        .expect("download");
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    response.bytes().await.expect("bytes").to_vec()
}

/// The rows of a CSV export, after checking its byte-order mark.
fn csv_rows(bytes: &[u8]) -> Vec<csv::StringRecord> {
    let text = bytes
        .strip_prefix(b"\xEF\xBB\xBF")
        .expect("a UTF-8 byte-order mark, for Excel");
    csv::Reader::from_reader(text)
        .records()
        .map(|record| record.expect("a CSV record"))
        .collect()
}

fn csv_header(bytes: &[u8]) -> csv::StringRecord {
    csv::Reader::from_reader(&bytes[3..])
        .headers()
        .expect("header")
        .clone()
}

#[tokio::test]
async fn donors_see_one_to_four_people_rounded_and_the_secretariat_sees_them() {
    let app = spawn_app().await;
    let activity = small_group(&app).await;
    let donor = app.login_as("donor@donor.example").await;
    let secretariat = app.login_as("secretariat@cpdd.example").await;

    let donors_home = donor.get("/").await;
    assert_eq!(donors_home.status, StatusCode::OK);
    assert!(
        donors_home.body.contains("id=\"figure-participants\""),
        "a donor's home is the dashboard"
    );
    assert_eq!(
        row(
            &donors_home.body,
            "participants-by-group",
            "Council members"
        ),
        ["5", "&#60;5", "5"]
    );
    assert!(
        donors_home
            .body
            .contains("every count of one to four people is rounded to 0 or 5")
    );
    assert!(donors_home.body.contains("Figures as of "));
    // That day in Battambang, only the small group met.
    let that_day = "/dashboard?district=0203&from=2021-10-01&to=2021-10-01";
    let staff = secretariat.get(that_day).await;
    assert_eq!(
        row(&staff.body, "participants-by-group", "Council members"),
        ["3", "2", "5"]
    );
    assert_eq!(
        row(
            &donor.get(that_day).await.body,
            "participants-by-group",
            "Council members"
        ),
        ["5", "&#60;5", "5"]
    );
    // The donor's totals are the sums of the rounded counts of published work.
    let published = scalar(
        &app,
        &format!(
            "select sum({ROUNDED_COUNT})
             from participant_counts p join activities a on a.id = p.activity_id
             join case_studies c on c.id = a.case_study_id where c.status in ('published', 'archived')"
        ),
    )
    .await;
    assert_eq!(
        figure(&donors_home.body, "participants"),
        published.to_string()
    );

    let header = csv_header(&download(&donor, &app, "/exports/activities.csv").await);
    let column = |name: &str| header.iter().position(|c| c == name).expect(name);
    let find = |rows: Vec<csv::StringRecord>| {
        rows.into_iter()
            .find(|row| row[column("activity_id")] == activity.to_string())
            .expect("the small group's row")
    };
    let donors_row = find(csv_rows(
        &download(&donor, &app, "/exports/activities.csv").await,
    ));
    assert_eq!(&donors_row[column("council_member_female")], "5");
    assert_eq!(&donors_row[column("council_member_male")], "<5");
    assert_eq!(&donors_row[column("participants")], "5");
    assert_eq!(&donors_row[column("place")], "");
    let staff_row = find(csv_rows(
        &download(&secretariat, &app, "/exports/activities.csv").await,
    ));
    assert_eq!(&staff_row[column("council_member_female")], "3");
}

#[tokio::test]
async fn a_kept_export_is_each_readers_own_follows_the_data_and_is_logged_each_time() {
    let app = spawn_app().await;
    let activity = small_group(&app).await;
    let donor = app.login_as("donor@donor.example").await;
    let secretariat = app.login_as("secretariat@cpdd.example").await;
    let path = "/exports/activities.csv?district=0203&from=2021-10-01&to=2021-10-01";
    let council_women = |file: &[u8]| {
        let header = csv_header(file);
        let column = |name: &str| header.iter().position(|c| c == name).expect(name);
        csv_rows(file)
            .into_iter()
            .find(|row| row[column("activity_id")] == activity.to_string())
            .map(|row| row[column("council_member_female")].to_owned())
            .expect("the small group's row")
    };
    // The donor's rounded file first: the secretariat must not be given it.
    let donors = download(&donor, &app, path).await;
    assert_eq!(council_women(&donors), "5");
    let staffs = download(&secretariat, &app, path).await;
    assert_eq!(council_women(&staffs), "3");
    assert_eq!(download(&donor, &app, path).await, donors);
    assert_eq!(download(&secretariat, &app, path).await, staffs);

    sqlx::query(
        "update participant_counts set count = 4
         where activity_id = $1 and participant_group = 'council_member' and sex = 'female'",
    )
    .bind(activity)
    .execute(&app.pool)
    .await
    .expect("a count corrected");
    app.heard_everything().await;
    assert_eq!(
        council_women(&download(&secretariat, &app, path).await),
        "4"
    );
    // Kept or read, every download is in the audit log.
    assert_eq!(
        app.count("audit_events where action = 'exported' and summary like '%from=2021-10-01%'")
            .await,
        5
    );
}

#[tokio::test]
async fn exports_parse_back_to_the_dashboard_figures() {
    let app = spawn_app().await;
    let secretariat = app.login_as("secretariat@cpdd.example").await;
    let page = secretariat.get("/dashboard").await.body;

    let activities = download(&secretariat, &app, "/exports/activities.csv").await;
    let header = csv_header(&activities);
    let rows = csv_rows(&activities);
    let sum = |name: &str| -> i64 {
        let index = header.iter().position(|c| c == name).expect(name);
        rows.iter()
            .map(|row| row[index].parse::<i64>().expect("a number"))
            .sum()
    };
    assert_eq!(rows.len().to_string(), figure(&page, "activities"));
    assert_eq!(
        sum("participants").to_string(),
        figure(&page, "participants")
    );
    assert!(figure(&page, "female").starts_with(&format!("{} ", sum("female"))));
    let by_group: i64 = [
        "citizen",
        "cbo",
        "cso",
        "sna_official",
        "council_member",
        "other",
    ]
    .iter()
    .flat_map(|group| [format!("{group}_female"), format!("{group}_male")])
    .map(|column| sum(&column))
    .sum();
    assert_eq!(by_group, sum("participants"));
    assert!(
        String::from_utf8_lossy(&activities).contains("បាត់ដំបង"),
        "Khmer names survive"
    );

    let xlsx = download(&secretariat, &app, "/exports/activities.xlsx").await;
    let mut workbook: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(xlsx)).expect("XLSX");
    let sheet = workbook.worksheet_range("activities").expect("the sheet");
    let mut sheet_rows = sheet.rows();
    let sheet_header: Vec<String> = sheet_rows
        .next()
        .expect("header")
        .iter()
        .map(|cell| cell.to_string())
        .collect();
    assert_eq!(sheet_header, header.iter().collect::<Vec<_>>());
    let participants = sheet_header
        .iter()
        .position(|c| c == "participants")
        .expect("column");
    let mut total = 0.0;
    let mut count = 0;
    for row in sheet_rows {
        match &row[participants] {
            Data::Float(value) => total += value,
            other => panic!("participants is a number, not {other:?}"),
        }
        count += 1;
    }
    assert_eq!(count, rows.len());
    assert_eq!(total.to_string(), figure(&page, "participants"));

    let recommendations = download(&secretariat, &app, "/exports/recommendations.csv").await;
    let header = csv_header(&recommendations);
    let status = header
        .iter()
        .position(|c| c == "list_status")
        .expect("list_status");
    let rows = csv_rows(&recommendations);
    assert_eq!(rows.len().to_string(), figure(&page, "recommendations"));
    let endorsed = rows.iter().filter(|row| &row[status] == "endorsed").count();
    assert_eq!(endorsed.to_string(), figure(&page, "endorsed"));
    let fingerprint = header
        .iter()
        .position(|c| c == "fingerprint")
        .expect("fingerprint");
    assert!(
        rows.iter()
            .filter(|row| &row[status] == "endorsed")
            .all(|row| row[fingerprint].len() == 64)
    );

    let actions = download(&secretariat, &app, "/exports/actions.csv").await;
    let header = csv_header(&actions);
    let overdue = header.iter().position(|c| c == "overdue").expect("overdue");
    let rows = csv_rows(&actions);
    assert_eq!(rows.len().to_string(), figure(&page, "actions"));
    let late = rows.iter().filter(|row| &row[overdue] == "yes").count();
    assert_eq!(late.to_string(), figure(&page, "overdue"));

    let cases = download(&secretariat, &app, "/exports/case-studies.csv").await;
    let header = csv_header(&cases);
    let status = header.iter().position(|c| c == "status").expect("status");
    let published = csv_rows(&cases)
        .iter()
        .filter(|row| &row[status] == "published")
        .count();
    assert_eq!(published.to_string(), figure(&page, "case-studies"));

    let findings = csv_rows(&download(&secretariat, &app, "/exports/findings.csv").await);
    assert_eq!(
        findings.len() as i64,
        scalar(&app, "select count(*) from findings").await
    );

    // Every download is in the audit log, with its filters.
    let logged = scalar(
        &app,
        "select count(*) from audit_events where action = 'exported'",
    )
    .await;
    assert_eq!(logged, 6);
    let (file, summary): (String, String) = sqlx::query_as(
        "select entity_id, summary from audit_events where action = 'exported' order by id limit 1",
    )
    .fetch_one(&app.pool)
    .await
    .expect("the first download's event");
    assert_eq!(file, "activities.csv");
    assert!(summary.contains("district=&"), "{summary}");

    // The filters apply to the files as to the page.
    let bavel =
        csv_rows(&download(&secretariat, &app, "/exports/activities.csv?district=0204").await);
    let in_bavel = scalar(
        &app,
        "select count(*) from activities where district_code = '0204'",
    )
    .await;
    assert_eq!(bavel.len() as i64, in_bavel);
}

#[tokio::test]
async fn exports_keep_unpublished_work_and_internal_notes_to_those_who_may_read_them() {
    let app = spawn_app().await;
    let donor = app.login_as("donor@donor.example").await;
    let ctod = app.login_as("ngo@ctod.example").await;
    let aphivat_strey = app.login_as("ngo@as.example").await;
    // Rotonak Mondol's (0207) case study is a draft of AS.
    let draft = "/exports/activities.csv?district=0207";
    assert!(csv_rows(&download(&donor, &app, draft).await).is_empty());
    assert!(csv_rows(&download(&ctod, &app, draft).await).is_empty());
    let in_0207 = scalar(
        &app,
        "select count(*) from activities where district_code = '0207'",
    )
    .await;
    assert_eq!(
        csv_rows(&download(&aphivat_strey, &app, draft).await).len() as i64,
        in_0207
    );

    let public = scalar(&app, "select count(*) from findings f join activities a on a.id = f.activity_id join case_studies c on c.id = a.case_study_id where f.public and c.status in ('published', 'archived')").await;
    let findings = download(&donor, &app, "/exports/findings.csv").await;
    let public_column = csv_header(&findings)
        .iter()
        .position(|c| c == "public")
        .expect("public");
    let rows = csv_rows(&findings);
    assert_eq!(rows.len() as i64, public);
    assert!(rows.iter().all(|row| &row[public_column] == "yes"));

    // The latest report of an action carries an internal note.
    let internal_note = "Internal: the council chief resists the complaint desk";
    sqlx::query(
        "insert into action_updates (action_id, reported_on, status, progress, note, internal)
         select id, (now() at time zone 'Asia/Phnom_Penh')::date, 'in_progress', 40, $1, true
         from actions order by id limit 1",
    )
    .bind(internal_note)
    .execute(&app.pool)
    .await
    .expect("an internal report");
    let internal_notes = [internal_note.to_owned()];
    let staff_file = download(
        &app.login_as("secretariat@cpdd.example").await,
        &app,
        "/exports/actions.csv",
    )
    .await;
    assert!(
        String::from_utf8_lossy(&staff_file).contains(internal_note),
        "the secretariat reads it"
    );
    for dataset in ["actions.csv", "actions.xlsx"] {
        let file = download(&donor, &app, &format!("/exports/{dataset}")).await;
        let text = if dataset.ends_with("csv") {
            String::from_utf8(file).expect("UTF-8")
        } else {
            let mut workbook: Xlsx<_> =
                calamine::open_workbook_from_rs(Cursor::new(file)).expect("XLSX");
            let sheet = workbook.worksheet_range("actions").expect("sheet");
            sheet
                .rows()
                .flatten()
                .map(|cell| cell.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        };
        for note in &internal_notes {
            assert!(!text.contains(note.as_str()), "{dataset} leaks {note}");
        }
    }
    let dictionary = donor.get("/exports").await;
    assert_eq!(dictionary.status, StatusCode::OK);
    for column in [
        "council_member_female",
        "fingerprint",
        "recommendation_ids",
        "published_on",
    ] {
        assert!(
            dictionary.body.contains(&format!("<code>{column}</code>")),
            "{column}"
        );
    }
    assert!(
        dictionary
            .body
            .contains("Council members, Female: number of participants")
    );
    let khmer = donor.get("/exports?lang=km").await;
    assert!(khmer.body.contains("<h1>ការនាំចេញទិន្នន័យ</h1>"));
    assert!(
        khmer.body.contains("សមាជិកក្រុមប្រឹក្សា, "),
        "the group and sex, in Khmer"
    );
}

#[tokio::test]
async fn the_map_appears_once_boundaries_are_imported_and_follows_the_data() {
    let app = spawn_app().await;
    let secretariat = app.login_as("secretariat@cpdd.example").await;
    let without = secretariat.get("/dashboard").await;
    assert!(
        without
            .body
            .contains("No district boundaries have been imported yet")
    );
    assert!(
        without.body.contains("id=\"district-figures\""),
        "the table stands in"
    );

    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("gazetteer/districts.geojson");
    let source = Source {
        name: "districts.geojson".into(),
        bytes: std::fs::read(&path).expect("the shared boundaries"),
    };
    let districts = Source {
        name: "districts.csv".into(),
        bytes: std::fs::read(path.with_file_name("districts.csv")).expect("districts"),
    };
    import::import(&app.pool, &[districts, source])
        .await
        .expect("import");
    // Written beside the app, not through it: the figures it keeps are
    // forgotten once it has heard of the change.
    app.heard_everything().await;
    let national = secretariat.get("/dashboard").await;
    assert_eq!(national.body.matches("<path d=").count(), 210);
    let battambang = secretariat
        .get("/dashboard?province=02&map=recommendations_endorsed")
        .await;
    let map = &battambang.body[battambang.body.find("class=\"districts\"").expect("map")..];
    assert_eq!(map.matches("<path d=").count(), 14);
    assert!(map.contains("<a href=\"/districts/0204\"><path d="));
    // Bavel's endorsed list is the darkest; Battambang's waits, so it has none.
    let shade = |code: &str| {
        let start = map.find(&format!("/districts/{code}\">")).expect(code);
        map[start..]
            .split("class=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(shade("0204"), "q5");
    assert_eq!(shade("0203"), "q0");
    assert!(
        battambang
            .body
            .contains("<strong aria-current=\"true\">recommendations endorsed</strong>")
    );
}

#[tokio::test]
async fn a_change_to_the_data_shows_on_the_next_view() {
    let app = spawn_app().await;
    let secretariat = app.login_as("secretariat@cpdd.example").await;
    let before: i64 = figure(&secretariat.get("/dashboard").await.body, "participants")
        .parse()
        .expect("a number");
    small_group(&app).await;
    // Written straight to the database, not through this instance: it takes
    // effect once the instance hears of it (LISTEN/NOTIFY), as on any other.
    app.heard_everything().await;
    let after: i64 = figure(&secretariat.get("/dashboard").await.body, "participants")
        .parse()
        .expect("a number");
    assert_eq!(after, before + 5);
}

#[tokio::test]
async fn a_large_export_is_sent_in_chunks_and_arrives_whole() {
    let app = spawn_app().await;
    sqlx::raw_sql(
        "insert into activities (kind, held_on, district_code, facilitating_organization_id, place)
         select 'interview', date '2022-01-01' + n % 300, '0203',
                (select id from organizations where acronym = 'CTOD'), 'Village hall number ' || n
         from generate_series(1, 3000) n",
    )
    .execute(&app.pool)
    .await
    .expect("many activities");
    let secretariat = app.login_as("secretariat@cpdd.example").await;
    let file = download(&secretariat, &app, "/exports/activities.csv").await;
    assert!(
        file.len() > 3 * 64 * 1024,
        "several chunks: {} bytes",
        file.len()
    );
    let rows = csv_rows(&file);
    assert_eq!(rows.len() as i64, app.count("activities").await);
    let ids: std::collections::BTreeSet<&str> = rows.iter().map(|row| &row[0]).collect();
    assert_eq!(ids.len(), rows.len(), "no row twice, none cut");

    let xlsx = download(&secretariat, &app, "/exports/activities.xlsx").await;
    let mut workbook: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(xlsx)).expect("XLSX");
    let sheet = workbook.worksheet_range("activities").expect("the sheet");
    assert_eq!(sheet.rows().count(), rows.len() + 1);
}
