//! The small-count rule (docs/disclosure.md), checked
//! generically: a donor walks every page they can reach from their home and
//! takes every export, and no count of one to four people shows, nor can one be
//! worked out from the figures beside it: every table adds up as shown, a
//! "<5" counting as the 0 it was rounded to. Counts of people are marked in the
//! HTML with `data-people` ("part", "total" or "single"); a table's totals row
//! is a `tr` with `data-people="totals"`.

use std::collections::{BTreeSet, VecDeque};

use reqwest::StatusCode;

use crate::helpers::{TestApp, Visitor, spawn_app, text_of};

/// A count as the page shows it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Count {
    Exact(i64),
    Hidden,
}

pub fn parse_count(text: &str) -> Count {
    let text = text.trim();
    match text {
        "&#60;5" | "<5" => Count::Hidden,
        _ => Count::Exact(
            text.parse()
                .unwrap_or_else(|_| panic!("not a count of people: {text:?}")),
        ),
    }
}

/// Every element marked as a count of people: (its mark, its count).
fn marked_counts(html: &str) -> Vec<(String, Count)> {
    html.split("data-people=\"")
        .skip(1)
        .filter_map(|rest| {
            let (mark, rest) = rest.split_once('"')?;
            if mark == "totals" {
                return None;
            }
            let content = &rest[rest.find('>')? + 1..];
            let end = ["</td>", "</th>", "</span>", "</strong>", "</dd>"]
                .iter()
                .filter_map(|closing| content.find(closing))
                .min()?;
            Some((mark.to_owned(), parse_count(&text_of(&content[..end]))))
        })
        .collect()
}

/// A table cell: its `data-people` mark, if any, and its count.
type Cell = Option<(String, Count)>;

/// The rows of every table in a page, each a list of cells, and whether the row
/// is the totals row.
fn tables(html: &str) -> Vec<Vec<(bool, Vec<Cell>)>> {
    html.split("<table")
        .skip(1)
        .map(|table| {
            let table = table.split("</table>").next().unwrap_or_default();
            table
                .split("<tr")
                .skip(1)
                .map(|row| {
                    let totals = row.starts_with(" data-people=\"totals\"");
                    let cells = row
                        .split("<t")
                        .skip(1)
                        .filter(|cell| cell.starts_with('d') || cell.starts_with("h"))
                        .filter(|cell| !cell.starts_with("head") && !cell.starts_with("body"))
                        .map(|cell| {
                            let (attributes, content) = cell.split_once('>')?;
                            let mark = attributes.split("data-people=\"").nth(1)?;
                            let mark = mark.split('"').next()?.to_owned();
                            let content = content.split("</t").next().unwrap_or_default();
                            Some((mark, parse_count(&text_of(content))))
                        })
                        .collect();
                    (totals, cells)
                })
                .collect()
        })
        .collect()
}

/// What the walk found, for the test to show it looked at something.
#[derive(Debug, Default)]
pub struct Seen {
    pub hidden: usize,
    pub relations: usize,
    /// Figures compared across two views.
    pub differences: usize,
}

/// A line of counts that add up: its parts and its total. Shown to an
/// outsider, they add up as shown, a "<5" being the 0 it was rounded to, so
/// what the total leaves beside the shown parts is never one to four people.
fn check_line(parts: &[Count], total: Count, place: &str, seen: &mut Seen) {
    let shown = |count: &Count| match count {
        Count::Exact(n) => *n,
        Count::Hidden => 0,
    };
    let sum: i64 = parts.iter().map(shown).sum();
    let left = shown(&total) - sum;
    assert!(
        !(1..5).contains(&left),
        "{left} people can be worked out: {place}"
    );
    assert_eq!(left, 0, "the parts add up to the total as shown: {place}");
    seen.relations += 1;
}

/// Every row and column of a page's tables of people.
fn check_tables(html: &str, place: &str, seen: &mut Seen) {
    for (number, table) in tables(html).iter().enumerate() {
        for (row_number, (_, cells)) in table.iter().enumerate() {
            let parts: Vec<Count> = cells
                .iter()
                .flatten()
                .filter(|(mark, _)| mark == "part")
                .map(|(_, count)| *count)
                .collect();
            let totals: Vec<Count> = cells
                .iter()
                .flatten()
                .filter(|(mark, _)| mark == "total")
                .map(|(_, count)| *count)
                .collect();
            // A totals row's cells are column totals, checked below.
            if !parts.is_empty() && totals.len() == 1 {
                check_line(
                    &parts,
                    totals[0],
                    &format!("{place} table {number} row {row_number}"),
                    seen,
                );
            }
        }
        let Some((_, totals_row)) = table.iter().find(|(totals, _)| *totals) else {
            continue;
        };
        for (column, total) in totals_row.iter().enumerate() {
            let Some((_, total)) = total else { continue };
            let parts: Vec<Count> = table
                .iter()
                .filter(|(totals, _)| !totals)
                .filter_map(|(_, cells)| cells.get(column).cloned().flatten())
                .map(|(_, count)| count)
                .collect();
            check_line(
                &parts,
                *total,
                &format!("{place} table {number} column {column}"),
                seen,
            );
        }
    }
}

/// Every count of people on a page: none of one to four.
pub fn check_page(html: &str, place: &str, seen: &mut Seen) {
    for (mark, count) in marked_counts(html) {
        match count {
            Count::Exact(n) => assert!(!(1..5).contains(&n), "{n} people shown ({mark}): {place}"),
            Count::Hidden => seen.hidden += 1,
        }
    }
    check_tables(html, place, seen);
}

/// The links of a page to other pages of the app, without the ones that act
/// or only change the language.
fn links(html: &str) -> Vec<String> {
    html.split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(|href| href.replace("&amp;", "&").replace("&#38;", "&"))
        .filter(|href| href.starts_with('/') && !href.starts_with("/static"))
        .filter(|href| !href.contains("lang=") && !href.starts_with("/logout"))
        .map(|href| href.split('#').next().unwrap_or_default().to_owned())
        .collect()
}

/// Walks every page reachable from the home page, at most `limit` of them.
async fn walk(visitor: &Visitor, limit: usize) -> Vec<(String, String)> {
    walk_from(visitor, "/", limit).await
}

/// Walks every page reachable from `start`, at most `limit` of them.
pub async fn walk_from(visitor: &Visitor, start: &str, limit: usize) -> Vec<(String, String)> {
    let mut queue = VecDeque::from([start.to_owned()]);
    let mut visited = BTreeSet::new();
    let mut pages = Vec::new();
    while let Some(path) = queue.pop_front() {
        if pages.len() >= limit || !visited.insert(path.clone()) {
            continue;
        }
        if path.starts_with("/exports/") || path.starts_with("/attachments/") {
            continue;
        }
        let page = visitor.get(&path).await;
        assert!(page.status.as_u16() < 500, "{path}: {}", page.status);
        if page.status != StatusCode::OK {
            continue;
        }
        queue.extend(links(&page.body));
        pages.push((path, page.body));
    }
    pages
}

/// Columns of counts of people in the activities export, by name.
fn export_relations(header: &csv::StringRecord) -> Vec<(Vec<usize>, usize)> {
    let at = |name: &str| header.iter().position(|column| column == name).expect(name);
    let of_sex = |sex: &str| -> Vec<usize> {
        header
            .iter()
            .enumerate()
            .filter(|(_, name)| {
                name.ends_with(&format!("_{sex}")) && !["female", "male"].contains(name)
            })
            .map(|(index, _)| index)
            .collect()
    };
    vec![
        (of_sex("female"), at("female")),
        (of_sex("male"), at("male")),
        (vec![at("female"), at("male")], at("participants")),
    ]
}

fn is_people_column(name: &str) -> bool {
    name.ends_with("_female")
        || name.ends_with("_male")
        || [
            "participants",
            "female",
            "male",
            "youth",
            "persons_with_disabilities",
        ]
        .contains(&name)
}

/// An export as a donor gets it: no small count in any column of people, and
/// none that its row's totals give away.
fn check_export(rows: &[Vec<String>], file: &str, seen: &mut Seen) {
    let Some((header, rows)) = rows.split_first() else {
        return;
    };
    let header = csv::StringRecord::from(header.clone());
    for (number, row) in rows.iter().enumerate() {
        for (name, value) in header.iter().zip(row) {
            if is_people_column(name) && !value.is_empty() {
                match parse_count(value) {
                    Count::Exact(n) => {
                        assert!(!(1..5).contains(&n), "{file} row {number} {name}: {n}")
                    }
                    Count::Hidden => seen.hidden += 1,
                }
            }
        }
        if file.starts_with("activities") {
            for (parts, total) in export_relations(&header) {
                let parts: Vec<Count> = parts
                    .iter()
                    .map(|index| parse_count(&row[*index]))
                    .collect();
                check_line(
                    &parts,
                    parse_count(&row[total]),
                    &format!("{file} row {number}"),
                    seen,
                );
            }
        }
    }
}

fn csv_table(bytes: &[u8]) -> Vec<Vec<String>> {
    let text = bytes
        .strip_prefix(b"\xEF\xBB\xBF")
        .expect("byte-order mark");
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text);
    reader
        .records()
        .map(|row| row.expect("row").iter().map(str::to_owned).collect())
        .collect()
}

pub fn xlsx_table(bytes: Vec<u8>) -> Vec<Vec<String>> {
    use calamine::Reader as _;
    let mut workbook = calamine::Xlsx::new(std::io::Cursor::new(bytes)).expect("a workbook");
    let sheet = workbook
        .worksheet_range_at(0)
        .expect("a sheet")
        .expect("readable");
    sheet
        .rows()
        .map(|row| row.iter().map(|cell| cell.to_string()).collect())
        .collect()
}

/// Small groups beside larger ones, where a total would give them away: three
/// CBO women among 23 citizens, two council members in a district of many.
/// Its secret rounds both small groups to 0 for outsiders ("<5"): the keys of
/// "cbo female" and "council_member male" are 0.856 and 0.991.
pub async fn small_cells(app: &TestApp) {
    sqlx::query(
        "with activity as (
             insert into activities (kind, held_on, district_code, facilitating_organization_id,
                                     study_id, case_study_id, disclosure_secret)
             select 'fgd', '2021-10-01', '0203', c.author_organization_id, c.study_id, c.id,
                    '00000000-0000-0000-0000-00000000000c'
             from case_studies c where c.district_code = '0203' returning id)
         insert into participant_counts (activity_id, participant_group, sex, count)
         select id, g, s, n from activity,
                (values ('citizen', 'female', 23), ('citizen', 'male', 20), ('cbo', 'female', 3),
                        ('cbo', 'male', 9), ('council_member', 'male', 2)) counts(g, s, n)",
    )
    .execute(&app.pool)
    .await
    .expect("small cells");
}

#[tokio::test]
async fn no_donor_page_or_export_shows_or_gives_away_a_count_of_one_to_four() {
    let app = spawn_app().await;
    small_cells(&app).await;
    let donor = app.login_as("donor@donor.example").await;
    let mut seen = Seen::default();
    let pages = walk(&donor, 400).await;
    for (path, html) in &pages {
        check_page(html, path, &mut seen);
    }
    for dataset in ["activities", "case-studies"] {
        let csv = donor.get_bytes(&format!("/exports/{dataset}.csv")).await;
        check_export(&csv_table(&csv), &format!("{dataset}.csv"), &mut seen);
        let xlsx = donor.get_bytes(&format!("/exports/{dataset}.xlsx")).await;
        check_export(&xlsx_table(xlsx), &format!("{dataset}.xlsx"), &mut seen);
    }
    assert!(pages.len() > 20, "the walk reached {} pages", pages.len());
    assert!(
        pages
            .iter()
            .any(|(path, _)| path.starts_with("/activities/"))
            && pages
                .iter()
                .any(|(path, _)| path.starts_with("/case-studies/"))
            && pages
                .iter()
                .any(|(path, _)| path.starts_with("/districts/")),
        "activities, case studies and districts were among them"
    );
    assert!(seen.hidden > 2, "small counts were there to hide: {seen:?}");
    assert!(seen.relations > 50, "totals were there to check: {seen:?}");

    // The secretariat sees the same pages with every count as it is.
    let secretariat = app.login_as("secretariat@cpdd.example").await;
    let activity: i64 = sqlx::query_scalar(
        "select a.id from activities a join participant_counts p on p.activity_id = a.id
         where a.held_on = '2021-10-01' and p.participant_group = 'cbo' and p.sex = 'female' and p.count = 3",
    )
    .fetch_one(&app.pool)
    .await
    .expect("the small group");
    let staff_view = secretariat
        .get(&format!("/activities/{activity}"))
        .await
        .body;
    assert!(marked_counts(&staff_view).contains(&("part".into(), Count::Exact(3))));
    assert!(!staff_view.contains("&#60;5"));
    let donor_view = donor.get(&format!("/activities/{activity}")).await.body;
    assert!(!marked_counts(&donor_view).contains(&("part".into(), Count::Exact(3))));
}

#[tokio::test]
async fn other_districts_and_officials_see_small_counts_as_donors_do() {
    let app = spawn_app().await;
    small_cells(&app).await;
    let activity: i64 = sqlx::query_scalar(
        "select a.id from activities a join participant_counts p on p.activity_id = a.id
         where a.held_on = '2021-10-01' and p.participant_group = 'cbo' and p.sex = 'female' and p.count = 3",
    )
    .fetch_one(&app.pool)
    .await
    .expect("the small group");
    let path = format!("/activities/{activity}");
    let exact = |html: &str| marked_counts(html).contains(&("part".into(), Count::Exact(3)));
    // CTOD covers Battambang (0203); AS does not; the district's own officials
    // are not the NGO that met the citizens.
    let ctod = app.login_as("ngo@ctod.example").await.get(&path).await.body;
    assert!(exact(&ctod));
    for email in [
        "ngo@as.example",
        "sna@battambang.example",
        "sna@banan.example",
    ] {
        let page = app.login_as(email).await.get(&path).await;
        assert_eq!(page.status, StatusCode::OK, "{email}");
        assert!(!exact(&page.body), "{email}");
        let mut seen = Seen::default();
        check_page(&page.body, &path, &mut seen);
        // The three CBO women, rounded to 0 (docs/disclosure.md).
        let cbo_women = marked_counts(&page.body)
            .into_iter()
            .filter(|(mark, _)| mark == "part")
            .nth(2)
            .map(|(_, count)| count);
        assert_eq!(cbo_women, Some(Count::Hidden), "{email}");
    }
}
