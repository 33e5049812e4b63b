//! Field data brought in from the spreadsheet template and from KoboToolbox /
//! ODK exports: files built here from the template and the XLSForm the app
//! hands out, uploaded as a browser sends them, previewed, and confirmed.

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use rust_xlsxwriter::Workbook;

use crate::dashboard::figure;
use crate::helpers::{MAX_UPLOAD_BYTES, Page, TestApp, Visitor, spawn_app, text_of};

const NGO: &str = "ngo@ctod.example";
const KHMER_FINDING: &str = "ប្រជាពលរដ្ឋចង់ដឹងពីថវិកាឃុំ និងការចំណាយលើផ្លូវ។";

/// A cell of a file a test builds.
#[derive(Clone)]
pub enum Cell {
    Text(&'static str),
    Number(f64),
}

/// Every sheet of a workbook as rows of text.
pub fn sheets(bytes: &[u8]) -> Vec<(String, Vec<Vec<String>>)> {
    let mut workbook: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes)).expect("XLSX");
    let names = workbook.sheet_names();
    names
        .into_iter()
        .map(|name| {
            let range = workbook.worksheet_range(&name).expect("sheet");
            let rows = range
                .rows()
                .map(|row| {
                    row.iter()
                        .map(|cell| match cell {
                            Data::Empty => String::new(),
                            other => other.to_string(),
                        })
                        .collect()
                })
                .collect();
            (name, rows)
        })
        .collect()
}

/// The template's headings, as the user downloads it.
async fn template_headings(visitor: &Visitor) -> Vec<String> {
    let template = visitor.get_bytes("/activities/import/template.xlsx").await;
    sheets(&template)[0].1[0].clone()
}

/// A workbook with `headings` and one row per `rows`, each cell put under the
/// heading whose text contains the given name.
pub fn filled_in(headings: &[String], rows: &[Vec<(&str, Cell)>]) -> Vec<u8> {
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    for (column, heading) in headings.iter().enumerate() {
        sheet
            .write_string(0, column as u16, heading)
            .expect("heading");
    }
    for (line, cells) in rows.iter().enumerate() {
        for (name, cell) in cells {
            let column = headings
                .iter()
                .position(|heading| heading.split(" / ").next() == Some(*name) || heading == name)
                .unwrap_or_else(|| panic!("no column {name} in {headings:?}"));
            let (row, column) = (line as u32 + 1, column as u16);
            match cell {
                Cell::Text(text) => sheet.write_string(row, column, *text),
                Cell::Number(number) => sheet.write_number(row, column, *number),
            }
            .expect("cell");
        }
    }
    workbook.save_to_buffer().expect("workbook")
}

async fn upload(
    app: &TestApp,
    visitor: &Visitor,
    file_name: &str,
    bytes: Vec<u8>,
    study: &str,
) -> Page {
    upload_to(app, visitor, "/activities/import", file_name, bytes, study).await
}

async fn upload_to(
    app: &TestApp,
    visitor: &Visitor,
    path: &str,
    file_name: &str,
    bytes: Vec<u8>,
    study: &str,
) -> Page {
    let form = Form::new()
        .text("csrf_token", visitor.csrf_token().await)
        .part("file", Part::bytes(bytes).file_name(file_name.to_owned()))
        .text("study_id", study.to_owned());
    visitor.post_multipart(&app.url(path), form).await
}

async fn first_study(app: &TestApp) -> String {
    let id: i64 = sqlx::query_scalar("select min(id) from studies")
        .fetch_one(&app.pool)
        .await
        .expect("study");
    id.to_string()
}

async fn scalar(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(sql)
        .fetch_one(&app.pool)
        .await
        .expect(sql)
}

/// A commune of Bavel, as the gazetteer import would add it.
pub async fn add_bavel_commune(app: &TestApp) {
    sqlx::query(
        "insert into communes (code, district_code, type, name_en, name_km)
         values ('020401', '0204', 'commune', 'Ampil Pram Daeum', 'អំពិលប្រាំដើម')",
    )
    .execute(&app.pool)
    .await
    .expect("a commune");
}

/// The dashboard's participants and women of the 2021 study.
async fn participants(visitor: &Visitor, study: &str) -> (i64, i64) {
    let page = visitor.get(&format!("/dashboard?study={study}")).await;
    assert_eq!(page.status, StatusCode::OK);
    let number = |id| -> i64 {
        figure(&page.body, id)
            .split_whitespace()
            .next()
            .expect("figure")
            .parse()
            .expect("a number")
    };
    (number("participants"), number("female"))
}

fn two_activities() -> Vec<Vec<(&'static str, Cell)>> {
    vec![
        vec![
            ("Kind", Cell::Text("fgd")),
            ("Date", Cell::Text("2026-11-20")),
            ("District", Cell::Text("Bavel")),
            ("Commune", Cell::Text("Ampil Pram Daeum")),
            ("Citizens · Female", Cell::Number(12.0)),
            ("Citizens · Male", Cell::Number(8.0)),
            ("Of whom youth", Cell::Number(5.0)),
            ("Of whom persons with disabilities", Cell::Number(1.0)),
            ("Finding 1", Cell::Text(KHMER_FINDING)),
            ("Themes of finding 1", Cell::Text("Budget transparency")),
        ],
        vec![
            ("Kind", Cell::Text("Interviews")),
            ("Date", Cell::Text("20/10/2026")),
            ("District", Cell::Text("បាត់ដំបង")),
            ("Facilitating organization", Cell::Text("CTOD")),
            ("Citizens · Female", Cell::Number(3.0)),
            ("Citizens · Male", Cell::Number(2.0)),
            (
                "Finding 1",
                Cell::Text("Residents ask for the commune budget on the notice board."),
            ),
            (
                "Themes of finding 1",
                Cell::Text("Access to information; Budget transparency"),
            ),
        ],
    ]
}

/// The preview of `two_activities`, checked for what it would create.
async fn previewed_two_activities(visitor: &Visitor, preview: &str) -> String {
    let text = text_of(&visitor.get(preview).await.body);
    assert!(
        text.contains("Activities to create when you confirm: 2."),
        "{text}"
    );
    assert!(
        text.contains("Female: 15 · Male: 10 · Findings: 2"),
        "{text}"
    );
    assert!(
        text.contains("2026-11-20") && text.contains("2026-10-20"),
        "{text}"
    );
    text
}

#[tokio::test]
async fn a_filled_in_template_is_previewed_then_imported_whole_and_moves_the_dashboard_by_its_counts()
 {
    let app = spawn_app().await;
    add_bavel_commune(&app).await;
    let ngo = app.login_as(NGO).await;
    let study = first_study(&app).await;
    let start = ngo.get("/activities/import").await;
    assert_eq!(start.status, StatusCode::OK);
    assert!(start.body.contains("/activities/import/template.xlsx"));
    let template = ngo.get_bytes("/activities/import/template.xlsx").await;
    let values = &sheets(&template)[1].1;
    let listed = |text: &str| values.iter().flatten().any(|cell| cell == text);
    assert!(listed("Bavel") && listed("បវេល") && listed("Budget transparency"));
    assert!(
        !listed("Moung Ruessei"),
        "only the districts CTOD covers are listed"
    );
    let headings = template_headings(&ngo).await;
    let file = filled_in(&headings, &two_activities());
    // The secretariat's dashboard counts exactly (an NGO's spans districts it
    // does not cover, rounded: docs/disclosure.md).
    let secretariat = app.login_as("secretariat@cpdd.example").await;
    let before = participants(&secretariat, &study).await;
    let (activities, findings) = (app.count("activities").await, app.count("findings").await);

    let uploaded = upload(&app, &ngo, "tally-bavel-ស្រុក.xlsx", file, &study).await;
    assert_eq!(
        uploaded.status,
        StatusCode::SEE_OTHER,
        "{}",
        text_of(&uploaded.body)
    );
    let preview_path = uploaded.location.expect("the preview");
    assert_eq!(
        app.count("activities").await,
        activities,
        "nothing written before confirming"
    );
    let text = previewed_two_activities(&ngo, &preview_path).await;
    assert!(
        text.contains("Ampil Pram Daeum") && text.contains("Battambang"),
        "{text}"
    );
    // The kept preview, drawn again in the reader's language.
    let khmer = text_of(&ngo.get(&format!("{preview_path}?lang=km")).await.body);
    assert!(
        khmer.contains("អំពិលប្រាំដើម") && khmer.contains("ការពិភាក្សាក្រុមគោលដៅ"),
        "{khmer}"
    );
    assert!(!khmer.contains("Ampil Pram Daeum"), "{khmer}");
    let english = previewed_two_activities(&ngo, &format!("{preview_path}?lang=en")).await;
    assert!(english.contains("Ampil Pram Daeum"), "{english}");

    let confirm = format!("{preview_path}/confirm");
    let confirmed = ngo.post(&confirm, &[]).await;
    assert_eq!(confirmed.status, StatusCode::SEE_OTHER);
    assert_eq!(app.count("activities").await, activities + 2);
    assert_eq!(app.count("findings").await, findings + 2);
    let khmer: String = sqlx::query_scalar(
        "select f.text_km from findings f join activities a on a.id = f.activity_id where a.district_code = '0204' order by f.id desc limit 1",
    )
    .fetch_one(&app.pool)
    .await
    .expect("the Khmer finding");
    assert_eq!(khmer, KHMER_FINDING);
    let imported = scalar(
        &app,
        "select count(*) from activities a join participant_counts p on p.activity_id = a.id
         where a.id in (select activity_id from imported_rows) and a.commune_code = '020401'
           and a.youth = 5 and a.persons_with_disabilities = 1 and a.kind = 'fgd' and a.held_on = '2026-11-20'",
    )
    .await;
    assert_eq!(imported, 2, "the FGD's two counts, in its commune");
    let interview_themes = scalar(
        &app,
        "select count(*) from finding_themes t join findings f on f.id = t.finding_id
         join activities a on a.id = f.activity_id where a.kind = 'interview' and a.held_on = '2026-10-20'",
    )
    .await;
    assert_eq!(interview_themes, 2);
    assert_eq!(
        participants(&secretariat, &study).await,
        (before.0 + 25, before.1 + 15)
    );

    let result = ngo.get(&preview_path).await;
    let activity: String = result
        .body
        .split("href=\"/activities/")
        .map(|rest| {
            rest.chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
        })
        .find(|id| !id.is_empty())
        .expect("a created activity");
    let history = ngo.get(&format!("/activities/{activity}/revisions")).await;
    assert!(
        text_of(&history.body).contains("imported from “tally-bavel-ស្រុក.xlsx”")
            || history
                .body
                .contains("imported from <q>tally-bavel-ស្រុក.xlsx</q>"),
        "{}",
        history.body
    );
    let audited = scalar(
        &app,
        "select count(*) from audit_events where action in ('import_uploaded', 'import_confirmed')",
    )
    .await;
    assert_eq!(audited, 2);

    // The confirmation sent again, as a stale form: nothing more is created.
    let again = ngo.post(&confirm, &[]).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    assert_eq!(app.count("activities").await, activities + 2);
    let told = ngo.get(again.location.as_deref().expect("back")).await;
    assert!(text_of(&told.body).contains("This file was imported already"));
}

#[tokio::test]
async fn every_kind_of_row_problem_is_listed_by_row_and_column_and_nothing_is_written() {
    let app = spawn_app().await;
    add_bavel_commune(&app).await;
    let ngo = app.login_as(NGO).await;
    let study = first_study(&app).await;
    let csv = "Kind,Date,District,Commune,Citizens · Female,Citizens · Male,Of whom youth,Finding 1,Themes of finding 1\n\
               fgd,2026-11-20,Bavell,,12,8,,,\n\
               fgd,2026-11-20,Bavel,,12.5,many,,,\n\
               fgd,2026-11-20,Bavel,,4,4,9,,\n\
               fgd,2026-11-20,Moung Ruessei,,4,4,,,\n\
               fgd,2026-11-20,Bavel,Nowhere,4,4,,,\n\
               party,20 November,Bavel,,4,4,,Roads flood,Weather\n\
               fgd,2026-11-20,Bavel,,4,4,,,\n";
    let (activities, imports) = (app.count("activities").await, app.count("imports").await);
    let page = upload(&app, &ngo, "tally.csv", csv.as_bytes().to_vec(), &study).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    let rows = problem_rows(&page.body);
    let expected = [
        [
            "2",
            "C · District",
            "No district has this name or code.",
            "Bavell",
        ],
        [
            "3",
            "E · Citizens · Female",
            "Counts must be whole numbers.",
            "12.5",
        ],
        [
            "3",
            "F · Citizens · Male",
            "Counts must be whole numbers.",
            "many",
        ],
        [
            "4",
            "G · Of whom youth",
            "More than all participants together.",
            "9",
        ],
        [
            "5",
            "C · District",
            "Your organization does not work in this district.",
            "Moung Ruessei",
        ],
        [
            "6",
            "D · Commune",
            "No commune of this district has this name or code.",
            "Nowhere",
        ],
        [
            "7",
            "I · Themes of finding 1",
            "No theme has this name.",
            "Weather",
        ],
        [
            "7",
            "A · Kind",
            "Not one of the values on the template’s second sheet.",
            "party",
        ],
        [
            "7",
            "B · Date",
            "Not a date (year-month-day).",
            "20 November",
        ],
    ];
    assert_eq!(rows, expected.map(|row| row.map(str::to_owned)).to_vec());
    assert!(text_of(&page.body).contains("Problems found: 9. Nothing was saved"));
    assert_eq!(app.count("activities").await, activities);
    assert_eq!(
        app.count("imports").await,
        imports,
        "a file with problems is not kept"
    );

    let khmer = upload_to(
        &app,
        &ngo,
        "/activities/import?lang=km",
        "tally.csv",
        csv.as_bytes().to_vec(),
        &study,
    )
    .await;
    assert_eq!(khmer.status, StatusCode::UNPROCESSABLE_ENTITY);
    let first = &problem_rows(&khmer.body)[0];
    assert_eq!(first[1], "C · ស្រុក");
    assert_eq!(first[2], "គ្មានស្រុកណាមានឈ្មោះ ឬលេខកូដនេះទេ។");
    assert_eq!(app.count("activities").await, activities);
}

/// The problems a page lists, if any.
fn problems_of(html: &str) -> Vec<Vec<String>> {
    if html.contains("<table tabindex=\"0\" class=\"problems\">") {
        problem_rows(html)
    } else {
        Vec::new()
    }
}

/// The cells of the problems table, row by row.
fn problem_rows(html: &str) -> Vec<Vec<String>> {
    let table = html
        .split("<table tabindex=\"0\" class=\"problems\">")
        .nth(1)
        .and_then(|rest| rest.split("</table>").next())
        .expect("the problems table");
    let body = table.split("<tbody>").nth(1).expect("rows");
    body.split("<tr>")
        .skip(1)
        .map(|row| {
            row.split("<td>")
                .skip(1)
                .map(|cell| {
                    text_of(cell.split("</td>").next().unwrap_or_default())
                        .trim()
                        .to_owned()
                })
                .collect()
        })
        .collect()
}

/// The column names of a KoboToolbox export of the shipped XLSForm: each
/// question's name after its groups', joined by `separator`.
fn export_headings(xlsform: &[u8], separator: &str) -> Vec<String> {
    let survey = &sheets(xlsform)[0].1;
    let mut groups: Vec<String> = Vec::new();
    let mut headings = vec!["start".to_owned(), "end".to_owned()];
    for row in &survey[1..] {
        match row[0].as_str() {
            "begin_group" => groups.push(row[1].clone()),
            "end_group" => {
                groups.pop();
            }
            _ => {
                let mut path = groups.clone();
                path.push(row[1].clone());
                headings.push(path.join(separator));
            }
        }
    }
    headings.extend(["meta/instanceID", "_id", "_uuid", "_submission_time"].map(str::to_owned));
    headings
}

#[tokio::test]
async fn a_kobo_export_imported_twice_creates_nothing_the_second_time_and_says_so() {
    let app = spawn_app().await;
    let ngo = app.login_as(NGO).await;
    let study = first_study(&app).await;
    let xlsform = ngo.get_bytes("/activities/import/samleng-fgd.xlsx").await;
    let headings = export_headings(&xlsform, "/");
    assert!(
        headings.contains(&"participants/citizen_female".to_owned()),
        "{headings:?}"
    );
    let submissions = [
        ("c6f1f9a2-0c55-4e0e-9d7a-1d1b5b3f0a01", "Bavel", 9.0, 11.0),
        ("c6f1f9a2-0c55-4e0e-9d7a-1d1b5b3f0a02", "Banan", 6.0, 4.0),
    ];
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    for (column, heading) in headings.iter().enumerate() {
        sheet
            .write_string(0, column as u16, heading)
            .expect("heading");
    }
    for (line, (uuid, district, female, male)) in submissions.iter().enumerate() {
        let row = line as u32 + 1;
        let mut put = |name: &str, text: String| {
            let column = headings
                .iter()
                .position(|heading| heading == name)
                .expect(name);
            sheet.write_string(row, column as u16, text).expect("cell");
        };
        put("kind", "fgd".into());
        put("held_on", "2026-11-18".into());
        put("location/district", (*district).into());
        put("participants/citizen_female", female.to_string());
        put("participants/citizen_male", male.to_string());
        put("findings/finding_1", KHMER_FINDING.into());
        put("findings/theme_1", "តម្លាភាពថវិកា".into());
        put("meta/instanceID", format!("uuid:{uuid}"));
        put("_uuid", (*uuid).into());
        put("_submission_time", "2026-11-18T10:02:11".into());
    }
    let export = workbook.save_to_buffer().expect("export");
    let first = upload(
        &app,
        &ngo,
        "samleng_fgd_2026-11-18.xlsx",
        export.clone(),
        &study,
    )
    .await;
    assert_eq!(
        first.status,
        StatusCode::SEE_OTHER,
        "{}",
        text_of(&first.body)
    );
    let preview = first.location.expect("preview");
    let confirmed = ngo.post(&format!("{preview}/confirm"), &[]).await;
    assert_eq!(confirmed.status, StatusCode::SEE_OTHER);
    let activities = app.count("activities").await;
    let kept: Vec<String> =
        sqlx::query_scalar("select submission_uuid from imported_rows order by line")
            .fetch_all(&app.pool)
            .await
            .expect("kept");
    assert_eq!(kept, submissions.map(|(uuid, ..)| uuid.to_owned()));

    // The same export again, and then as ODK Central writes it: CSV, groups
    // joined by "-", the UUID only as "uuid:…".
    let again = upload(&app, &ngo, "samleng_fgd_2026-11-18.xlsx", export, &study).await;
    assert_eq!(again.status, StatusCode::OK);
    let text = text_of(&again.body);
    assert!(
        text.contains("Submissions imported before, skipped: 2."),
        "{text}"
    );
    assert!(text.contains("There is nothing new to import"), "{text}");
    let odk_headings = export_headings(&xlsform, "-")
        .into_iter()
        .filter(|heading| !heading.starts_with('_'))
        .map(|heading| heading.replace("meta/", "meta-"))
        .collect::<Vec<_>>();
    let mut csv = odk_headings.join(",") + "\n";
    for (uuid, district, female, male) in submissions {
        let cell = |heading: &String| match heading.as_str() {
            "kind" => "fgd".to_owned(),
            "held_on" => "2026-11-18".to_owned(),
            "location-district" => district.to_owned(),
            "participants-citizen_female" => female.to_string(),
            "participants-citizen_male" => male.to_string(),
            "meta-instanceID" => format!("uuid:{uuid}"),
            _ => String::new(),
        };
        csv += &(odk_headings.iter().map(cell).collect::<Vec<_>>().join(",") + "\n");
    }
    let odk = upload(&app, &ngo, "samleng_fgd.csv", csv.into_bytes(), &study).await;
    assert_eq!(odk.status, StatusCode::OK);
    assert!(text_of(&odk.body).contains("Submissions imported before, skipped: 2."));
    assert_eq!(app.count("activities").await, activities, "nothing new");
    assert_eq!(
        scalar(&app, "select count(*) from imports").await,
        1,
        "only the first file is kept"
    );
}

/// A workbook-shaped archive whose one sheet unpacks to 100 MB of spaces.
fn zip_bomb() -> Vec<u8> {
    use std::io::Write as _;
    let mut archive = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default();
    archive
        .start_file("[Content_Types].xml", options)
        .expect("entry");
    archive
        .start_file("xl/worksheets/sheet1.xml", options)
        .expect("entry");
    let spaces = vec![b' '; 1024 * 1024];
    for _ in 0..100 {
        archive.write_all(&spaces).expect("spaces");
    }
    archive.finish().expect("archive").into_inner()
}

#[tokio::test]
async fn macro_enabled_old_binary_oversized_and_non_utf8_files_are_refused_with_a_clear_message() {
    let app = spawn_app().await;
    let ngo = app.login_as(NGO).await;
    let study = first_study(&app).await;
    let xlsm = crate::attachments::workbook(true);

    let refusals = [
        (
            "tally.xlsm",
            xlsm,
            StatusCode::UNPROCESSABLE_ENTITY,
            "This workbook contains macros",
        ),
        (
            "bomb.xlsx",
            zip_bomb(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "This workbook unpacks to far more than a spreadsheet of activities holds",
        ),
        (
            "tally.xls",
            b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1 old".to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "This is an old Excel file (.xls)",
        ),
        (
            "tally.csv",
            b"Kind,District\nfgd,Bav\xe9l\n".to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "This CSV file is not in UTF-8",
        ),
        (
            "huge.csv",
            vec![b'a'; MAX_UPLOAD_BYTES + 1],
            StatusCode::PAYLOAD_TOO_LARGE,
            "The file is larger than",
        ),
        (
            "empty.csv",
            Vec::new(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "Choose a file to upload.",
        ),
    ];
    for (name, bytes, status, message) in refusals {
        let page = upload(&app, &ngo, name, bytes, &study).await;
        assert_eq!(page.status, status, "{name}");
        let text = text_of(&page.body);
        assert!(text.contains(message), "{name}: {text}");
        assert!(
            page.body.contains("name=\"file\""),
            "{name}: the form comes back"
        );
        assert!(
            page.body.contains(&format!("value=\"{study}\" selected")),
            "{name}: the study is kept"
        );
    }
    assert_eq!(app.count("imports").await, 0);
}

#[tokio::test]
async fn an_import_is_its_uploaders_alone_and_lands_only_in_districts_they_cover() {
    let app = spawn_app().await;
    let ngo = app.login_as(NGO).await;
    let study = first_study(&app).await;
    let headings = template_headings(&ngo).await;
    let file = filled_in(&headings, &two_activities()[1..]);
    // A file left unconfirmed for two days goes when the next one is kept.
    sqlx::query(
        "insert into imports (file_name, file_sha256, content, uploaded_at)
         values ('forgotten.csv', '', '', now() - interval '2 days')",
    )
    .execute(&app.pool)
    .await
    .expect("a forgotten import");
    let uploaded = upload(&app, &ngo, "tally.xlsx", file.clone(), &study).await;
    let preview = uploaded.location.expect("kept");
    let names: Vec<String> = sqlx::query_scalar("select file_name from imports")
        .fetch_all(&app.pool)
        .await
        .expect("imports");
    assert_eq!(names, ["tally.xlsx"]);
    let other_ngo = app.login_as("ngo@as.example").await;
    assert_eq!(other_ngo.get(&preview).await.status, StatusCode::NOT_FOUND);
    let activities = app.count("activities").await;
    let refused = other_ngo.post(&format!("{preview}/confirm"), &[]).await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND);
    assert_eq!(app.count("activities").await, activities);
    // The same file from AS: Battambang district is not theirs.
    let theirs = upload(&app, &other_ngo, "tally.xlsx", file, &study).await;
    assert_eq!(theirs.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(text_of(&theirs.body).contains("Your organization does not work in this district."));
}

#[tokio::test]
async fn the_shipped_xlsform_is_the_one_served_and_pyxform_converts_it() {
    let app = spawn_app().await;
    let ngo = app.login_as(NGO).await;
    let served = ngo.get_bytes("/activities/import/samleng-fgd.xlsx").await;
    let shipped = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/forms/samleng-fgd.xlsx"
    ))
    .expect("forms/samleng-fgd.xlsx");
    assert_eq!(
        sheets(&shipped),
        sheets(&served),
        "forms/samleng-fgd.xlsx is stale: run `cargo run -- xlsform forms/samleng-fgd.xlsx`"
    );
    let survey = &sheets(&shipped)[0].1;
    assert_eq!(
        survey[0][2..4],
        ["label::English (en)", "label::Khmer (km)"]
    );
    let youth = survey.iter().find(|row| row[1] == "youth").expect("youth");
    assert_eq!(youth[3], "ក្នុងនោះយុវជន");

    let converter = std::env::var("SAMLENG_TEST_XLS2XFORM").unwrap_or_else(|_| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/target/xlsform/bin/xls2xform").to_owned()
    });
    let xform = std::env::temp_dir().join(format!("samleng-fgd-{}.xml", std::process::id()));
    let output = std::process::Command::new(&converter)
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/forms/samleng-fgd.xlsx"
        ))
        .arg(&xform)
        .output()
        .unwrap_or_else(|error| panic!("{converter} (scripts/test installs it): {error}"));
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let xml = std::fs::read_to_string(&xform).expect("the XForm");
    std::fs::remove_file(&xform).ok();
    for nodeset in [
        "/data/kind",
        "/data/location/district",
        "/data/participants/youth",
        "/data/findings/theme_3",
        "/data/meta/instanceID",
    ] {
        assert!(xml.contains(&format!("nodeset=\"{nodeset}\"")), "{nodeset}");
    }
    assert!(xml.contains("lang=\"Khmer (km)\"") && xml.contains("ក្នុងនោះយុវជន"));
}

/// Converts `file` with LibreOffice (`filter`: its export filter) into `folder`;
/// a CSV is read as UTF-8 with commas.
fn libreoffice(file: &std::path::Path, filter: &str, folder: &std::path::Path) -> Vec<u8> {
    let profile = folder.join("profile");
    let output = std::process::Command::new("soffice")
        .arg(format!(
            "-env:UserInstallation=file://{}",
            profile.display()
        ))
        .arg("--infilter=CSV:44,34,76,1")
        .args(["--headless", "--convert-to", filter, "--outdir"])
        .arg(folder.join("out"))
        .arg(file)
        .output()
        .expect("soffice (scripts/test installs libreoffice-calc-nogui)");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let extension = filter.split(':').next().expect("extension");
    let stem = file.file_stem().expect("a name").to_string_lossy();
    std::fs::read(folder.join("out").join(format!("{stem}.{extension}")))
        .expect("the converted file")
}

#[tokio::test]
async fn the_template_saved_again_by_libreoffice_as_xlsx_and_as_csv_imports_the_same() {
    let app = spawn_app().await;
    add_bavel_commune(&app).await;
    let ngo = app.login_as(NGO).await;
    let study = first_study(&app).await;
    let headings = template_headings(&ngo).await;
    let folder = std::env::temp_dir().join(format!("samleng-libreoffice-{}", std::process::id()));
    std::fs::create_dir_all(&folder).expect("folder");
    let filled = folder.join("tally.xlsx");
    std::fs::write(&filled, filled_in(&headings, &two_activities())).expect("the filled-in file");
    // LibreOffice writes its own workbook (its styles, shared strings) and its
    // own UTF-8 CSV; that CSV opened in LibreOffice and saved as a workbook has
    // the ISO dates as date cells, as a date typed into Calc would be.
    let resaved = libreoffice(&filled, "xlsx:Calc MS Excel 2007 XML", &folder);
    let csv = libreoffice(
        &filled,
        "csv:Text - txt - csv (StarCalc):44,34,76,1",
        &folder,
    );
    let typed = folder.join("typed.csv");
    std::fs::write(&typed, &csv).expect("the CSV");
    let from_csv = libreoffice(&typed, "xlsx:Calc MS Excel 2007 XML", &folder);
    std::fs::remove_dir_all(&folder).ok();
    let mut workbook: Xlsx<_> =
        calamine::open_workbook_from_rs(Cursor::new(from_csv.clone())).expect("XLSX");
    let range = workbook
        .worksheet_range_at(0)
        .expect("a sheet")
        .expect("cells");
    assert!(
        matches!(range.get((1, 1)), Some(Data::DateTime(_))),
        "{:?}",
        range.get((1, 1))
    );
    assert!(
        String::from_utf8(csv.clone())
            .expect("UTF-8")
            .contains(KHMER_FINDING)
    );
    for (name, bytes) in [
        ("tally-libreoffice.xlsx", resaved),
        ("tally-libreoffice.csv", csv),
        ("typed-in-calc.xlsx", from_csv),
    ] {
        let uploaded = upload(&app, &ngo, name, bytes, &study).await;
        assert_eq!(
            uploaded.status,
            StatusCode::SEE_OTHER,
            "{name}: {:?}",
            problems_of(&uploaded.body)
        );
        previewed_two_activities(&ngo, uploaded.location.as_deref().expect("preview")).await;
    }
}
