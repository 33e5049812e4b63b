//! The outsider's attack (docs/disclosure.md): a donor, a
//! district's officials, another district's NGO staff and an anonymous visitor
//! each take every view they can reach — the dashboard under every study,
//! district and date around every activity, the public pages and open data,
//! before and after one write — and try to work out a count of one to four
//! people behind a hidden cell: from a figure, from a table's totals, from two
//! figures of one page, from two views, from one view before and after a
//! change. None may come out. Internal findings are planted with markers that
//! no outsider's page may print.

use std::collections::{BTreeMap, BTreeSet};

use time::Date;

use crate::helpers::{TestApp, Visitor, spawn_app, text_of};
use crate::small_counts::{self, Count, Seen, check_page, parse_count};

/// Every count of people of a page, by where it stands: the element's id, or
/// the table's id, the row's heading and the column, or the link before it.
fn figures(html: &str) -> BTreeMap<String, Count> {
    let mut found = BTreeMap::new();
    for (number, table) in html.split("<table").skip(1).enumerate() {
        let opening = table.split('>').next().unwrap_or_default();
        let id = attribute(opening, "id").unwrap_or_else(|| format!("table {number}"));
        let table = table.split("</table>").next().unwrap_or_default();
        for row in table.split("<tr").skip(1) {
            let heading = row
                .split("<th")
                .nth(1)
                .and_then(|cell| cell.split_once('>'))
                .map(|(_, rest)| text_of(rest.split("</th>").next().unwrap_or_default()))
                .unwrap_or_default();
            for (column, cell) in row.split("<td").skip(1).enumerate() {
                if let Some(count) = marked(cell) {
                    found.insert(format!("{id} / {heading} / {column}"), count);
                }
            }
        }
    }
    // Outside tables: figures with an id, or a count inside one, or beside a link.
    let outside: String = html
        .split("<table")
        .enumerate()
        .map(|(index, part)| {
            if index == 0 {
                part
            } else {
                part.split_once("</table>").map_or("", |(_, rest)| rest)
            }
        })
        .collect();
    let mut beside: BTreeMap<String, usize> = BTreeMap::new();
    let pieces: Vec<&str> = outside.split("data-people=\"").collect();
    for index in 1..pieces.len() {
        let before = pieces[index - 1];
        let Some(count) = marked(&format!("data-people=\"{}", pieces[index])) else {
            continue;
        };
        let tag_start = before.rfind('<').unwrap_or(0);
        let key = attribute(&before[tag_start..], "id")
            .or_else(|| {
                let dd = before.rfind("<dd")?;
                (dd > before.rfind("</dd>").unwrap_or(0))
                    .then(|| attribute(&before[dd..], "id").map(|id| format!("{id} / part")))
                    .flatten()
            })
            .unwrap_or_else(|| {
                let link = before
                    .rfind("href=\"")
                    .map(|at| before[at + 6..].split('"').next().unwrap_or_default())
                    .unwrap_or_default()
                    .to_owned();
                let seen = beside.entry(link.clone()).or_default();
                *seen += 1;
                format!("{link} #{seen}")
            });
        found.insert(key, count);
    }
    found
}

fn attribute(tag: &str, name: &str) -> Option<String> {
    let tag = tag.split('>').next()?;
    let value = tag.split(&format!(" {name}=\"")).nth(1)?;
    Some(value.split('"').next()?.to_owned())
}

/// The count of the element that `text` opens with its `data-people` mark.
fn marked(text: &str) -> Option<Count> {
    let rest = text.split("data-people=\"").nth(1)?;
    let (mark, rest) = rest.split_once('"')?;
    if mark == "totals" {
        return None;
    }
    let content = &rest[rest.find('>')? + 1..];
    let end = ["</td>", "</th>", "</span>", "</strong>", "</dd>", "</text>"]
        .iter()
        .filter_map(|closing| content.find(closing))
        .min()?;
    Some(parse_count(&text_of(&content[..end])))
}

/// One view as an outsider reads it: where it was, and its figures.
struct View {
    path: String,
    figures: BTreeMap<String, Count>,
}

async fn view(visitor: &Visitor, who: &str, path: &str, seen: &mut Seen) -> View {
    let page = visitor.get(path).await;
    assert!(page.status.is_success(), "{path}: {}", page.status);
    let place = format!("{who}: {path}");
    check_page(&page.body, &place, seen);
    two_figures_of_one_page(&page.body, &place, seen);
    View {
        path: path.to_owned(),
        figures: figures(&page.body),
    }
}

/// Within one page, respondents are a part of the participants: what the
/// two figures leave between them (officials and councillors) is no count of
/// one to four.
fn two_figures_of_one_page(html: &str, place: &str, seen: &mut Seen) {
    let figures = figures(html);
    for (whole, part) in [
        ("figure-participants", "figure-respondents"),
        ("figure-female / part", "figure-respondents-female / part"),
        ("report-participants", "report-respondents"),
    ] {
        if let (Some(Count::Exact(whole)), Some(Count::Exact(part))) =
            (figures.get(whole), figures.get(part))
        {
            let between = whole - part;
            assert!(
                !(1..5).contains(&between),
                "{whole} − {part} = {between} people: {place}"
            );
            seen.relations += 1;
        }
    }
}

/// `wider` holds everything `narrower` counts, and more: whatever a figure
/// gains between the two is no count of one to four.
fn compare(wider: &View, narrower: &View, seen: &mut Seen) {
    for (key, count) in &wider.figures {
        let (Count::Exact(wide), Some(Count::Exact(narrow))) = (count, narrower.figures.get(key))
        else {
            continue;
        };
        let difference = wide - narrow;
        assert!(
            !(1..5).contains(&difference),
            "{key}: {wide} at {} − {narrow} at {} = {difference} people",
            wider.path,
            narrower.path
        );
        seen.differences += 1;
    }
}

/// Every day on which an activity was held, the day before and the day after.
async fn activity_days(app: &TestApp) -> Vec<Date> {
    sqlx::query_scalar("select distinct held_on from activities order by 1")
        .fetch_all(&app.pool)
        .await
        .expect("the days")
}

async fn ids(app: &TestApp, sql: &str) -> Vec<String> {
    sqlx::query_scalar(sql)
        .fetch_all(&app.pool)
        .await
        .expect("the ids")
}

/// The dashboard as one outsider sweeps it: every district and every study
/// against the whole, and every day of field work against the day before.
async fn sweep_dashboard(
    app: &TestApp,
    (who, visitor): (&str, &Visitor),
    own: &[&str],
    seen: &mut Seen,
) {
    let studies = ids(app, "select id::text from studies order by id").await;
    let districts = ids(
        app,
        "select distinct district_code from activities order by 1",
    )
    .await;
    let days = activity_days(app).await;
    // Where the reader sees exact counts (an NGO's own districts) is theirs to see.
    let mut places = vec![String::new(), "02".to_owned()];
    places.extend(
        districts
            .into_iter()
            .filter(|code| !own.contains(&code.as_str())),
    );
    for place in &places {
        let filter = match place.len() {
            0 => String::new(),
            2 => format!("province={place}"),
            _ => format!("district={place}"),
        };
        let whole = view(visitor, who, &format!("/dashboard?{filter}"), seen).await;
        // The same view in Khmer shows the same figures, no more.
        let khmer = view(visitor, who, &format!("/dashboard?{filter}&lang=km"), seen).await;
        compare(&whole, &khmer, seen);
        compare(&khmer, &whole, seen);
        view(visitor, who, "/dashboard?lang=en", seen).await;
        for study in &studies {
            let one = view(
                visitor,
                who,
                &format!("/dashboard?{filter}&study={study}"),
                seen,
            )
            .await;
            compare(&whole, &one, seen);
        }
        // Day by day only where a district is chosen or none is: a province
        // of the demo is all of it.
        if place.len() == 2 {
            continue;
        }
        for day in &days {
            let before = day.previous_day().expect("a day before");
            let until = view(visitor, who, &format!("/dashboard?{filter}&to={day}"), seen).await;
            let until_before = view(
                visitor,
                who,
                &format!("/dashboard?{filter}&to={before}"),
                seen,
            )
            .await;
            compare(&until, &until_before, seen);
            let after = day.next_day().expect("a day after");
            let from = view(
                visitor,
                who,
                &format!("/dashboard?{filter}&from={day}"),
                seen,
            )
            .await;
            let from_after = view(
                visitor,
                who,
                &format!("/dashboard?{filter}&from={after}"),
                seen,
            )
            .await;
            compare(&from, &from_after, seen);
        }
    }
}

/// What an anonymous visitor can read: the public index's studies, their
/// districts, the cycles, and the open data.
async fn public_views(app: &TestApp, visitor: &Visitor, seen: &mut Seen) -> Vec<View> {
    let who = "anonymous";
    let mut views = Vec::new();
    for study in ids(
        app,
        "select id::text from studies where public_since is not null order by id",
    )
    .await
    {
        for lang in ["en", "km"] {
            views.push(
                view(
                    visitor,
                    who,
                    &format!("/public/studies/{study}?lang={lang}"),
                    seen,
                )
                .await,
            );
        }
        let participation = visitor
            .get_bytes(&format!("/public/studies/{study}/data/participation.csv"))
            .await;
        views.push(open_data(
            &participation,
            &format!("participation {study}"),
            seen,
        ));
    }
    for path in small_counts::walk_from(visitor, "/public", 200)
        .await
        .into_iter()
        .map(|(path, _)| path)
        .filter(|path| !path.contains("/data/") && !path.starts_with("/public/studies/"))
    {
        views.push(view(visitor, who, &path, seen).await);
    }
    views
}

/// A CSV of the open data as figures: (district, column) → count.
fn open_data(bytes: &[u8], name: &str, seen: &mut Seen) -> View {
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim_start_matches('\u{feff}');
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header = reader.headers().expect("a header").clone();
    let mut figures = BTreeMap::new();
    for row in reader.records() {
        let row = row.expect("a row");
        for (column, value) in header.iter().zip(row.iter()) {
            if ["participants", "female"].contains(&column) {
                let count = parse_count(value);
                if let Count::Exact(n) = count {
                    assert!(!(1..5).contains(&n), "{name}: {column} {n}");
                }
                figures.insert(format!("{} / {column}", &row[0]), count);
            }
        }
    }
    seen.hidden += figures
        .values()
        .filter(|count| **count == Count::Hidden)
        .count();
    View {
        path: name.to_owned(),
        figures,
    }
}

/// An FGD in Battambang (0203) with small groups, linked to its published case
/// study, as a careless or curious secretariat might add after publication.
async fn add_small_fgd(app: &TestApp) {
    sqlx::query(
        "with activity as (
             insert into activities (kind, held_on, district_code, facilitating_organization_id,
                                     study_id, case_study_id)
             select 'fgd', '2021-10-02', '0203', c.author_organization_id, c.study_id, c.id
             from case_studies c where c.district_code = '0203' and c.status = 'published'
             order by c.id limit 1 returning id)
         insert into participant_counts (activity_id, participant_group, sex, count)
         select id, g, s, n from activity,
                (values ('citizen', 'female', 2), ('cbo', 'male', 3), ('council_member', 'female', 1))
                counts(g, s, n)",
    )
    .execute(&app.pool)
    .await
    .expect("the FGD");
    app.heard_everything().await;
}

/// Outside readers, by the address they sign in with, and the districts
/// where they see exact counts all the same (an NGO's own).
const OUTSIDERS: [(&str, &[&str]); 4] = [
    ("donor@donor.example", &[]),
    ("sna@battambang.example", &[]),
    ("sna@banan.example", &[]),
    ("ngo@as.example", &["0206", "0212", "0207"]),
];

#[tokio::test]
async fn no_outsider_works_out_a_small_count_by_comparing_dashboard_views() {
    let app = spawn_app().await;
    small_counts::small_cells(&app).await;
    app.heard_everything().await;
    for (email, own) in OUTSIDERS {
        let visitor = app.login_as(email).await;
        let mut seen = Seen::default();
        sweep_dashboard(&app, (email, &visitor), own, &mut seen).await;
        assert!(seen.differences > 1000, "{email}: {seen:?}");
    }
    // The secretariat sees the same sweep with its exact counts, where the
    // same comparison does give the small groups back: the sweep can see them.
    let secretariat = app.login_as("secretariat@cpdd.example").await;
    let days = activity_days(&app).await;
    let small_day = days
        .iter()
        .find(|day| day.to_string() == "2021-10-01")
        .expect("the small cells' day");
    let before = small_day.previous_day().expect("a day before");
    let cbo_women = async |day: Date| {
        let page = secretariat.get(&format!("/dashboard?to={day}")).await;
        match figures(&page.body).get("participants-by-group / CBO members / 0") {
            Some(Count::Exact(n)) => *n,
            other => panic!("{other:?} in {}", text_of(&page.body)),
        }
    };
    assert_eq!(cbo_women(*small_day).await - cbo_women(before).await, 3);
}

#[tokio::test]
async fn the_public_pages_move_by_no_small_count_when_a_small_group_is_added() {
    let app = spawn_app().await;
    let anonymous = app.visitor();
    let donor = app.login_as("donor@donor.example").await;
    let mut seen = Seen::default();
    let public_before = public_views(&app, &anonymous, &mut seen).await;
    let study = ids(&app, "select min(id)::text from studies")
        .await
        .remove(0);
    let donor_paths = [
        format!("/studies/{study}"),
        format!("/dashboard?study={study}"),
        "/dashboard".to_owned(),
        "/districts/0203".to_owned(),
        "/provinces/02/cycles".to_owned(),
    ];
    let mut donor_before = Vec::new();
    for path in &donor_paths {
        donor_before.push(view(&donor, "donor", path, &mut seen).await);
    }
    add_small_fgd(&app).await;
    let public_after = public_views(&app, &anonymous, &mut seen).await;
    assert_eq!(public_before.len(), public_after.len());
    for (before, after) in public_before.iter().zip(&public_after) {
        assert_eq!(before.path, after.path);
        compare(after, before, &mut seen);
    }
    for (path, before) in donor_paths.iter().zip(&donor_before) {
        let after = view(&donor, "donor", path, &mut seen).await;
        compare(&after, before, &mut seen);
    }
    assert!(seen.differences > 100, "{seen:?}");
    // The study's published totals stay as published.
    let page = anonymous
        .get(&format!("/public/studies/{study}?lang=en"))
        .await
        .body;
    assert!(
        text_of(&page).contains("367 respondents, 209 of them women"),
        "{}",
        text_of(&page)
    );
}

/// A finding of an FGD marked internal, with a marker in its text, cited as
/// evidence by a recommendation of its district's endorsed list: the list,
/// the district and the recommendation.
async fn plant_internal_evidence(app: &TestApp, marker: &str) -> (i64, String, i64) {
    sqlx::query_as(
        "with place as (
             select l.id as list_id, l.district_code, a.id as activity_id,
                    (select r.id from recommendations r where r.list_id = l.id
                     order by r.position limit 1) as recommendation_id
             from recommendation_lists l
             join activities a on a.district_code = l.district_code and a.kind = 'fgd'
             where l.status = 'endorsed' order by l.id, a.id limit 1),
         finding as (
             insert into findings (activity_id, text_en, public)
             select activity_id, $1, false from place returning id),
         cited as (
             insert into recommendation_evidence (recommendation_id, finding_id)
             select p.recommendation_id, f.id from finding f, place p)
         select list_id, district_code, recommendation_id from place",
    )
    .bind(marker)
    .fetch_one(&app.pool)
    .await
    .expect("the planted finding")
}

#[tokio::test]
async fn an_internal_finding_is_printed_only_to_those_who_may_read_it() {
    let app = spawn_app().await;
    let marker = "PLANTED-INTERNAL-7Q";
    let (list, district, recommendation) = plant_internal_evidence(&app, marker).await;
    app.heard_everything().await;
    let list_page = format!("/recommendation-lists/{list}");
    // Those who may read it: the secretariat, and the NGO staff of the district.
    let (own_ngo, other_ngo) = if ["0203", "0201", "0202", "0204"].contains(&district.as_str()) {
        ("ngo@ctod.example", "ngo@as.example")
    } else {
        ("ngo@as.example", "ngo@ctod.example")
    };
    for email in ["secretariat@cpdd.example", own_ngo] {
        let page = app.login_as(email).await.get(&list_page).await;
        assert!(page.body.contains(marker), "{email}");
    }
    // Everyone else reads that an internal finding is there, never its text,
    // on any page they reach or in any export; the district's own officials
    // too, since citizens said it in a focus group.
    let mut readers: Vec<(String, Visitor)> = Vec::new();
    for email in [
        "donor@donor.example",
        "sna@battambang.example",
        "sna@banan.example",
        other_ngo,
    ] {
        readers.push((email.to_owned(), app.login_as(email).await));
    }
    for (who, visitor) in &readers {
        let page = visitor.get(&list_page).await;
        if page.status.is_success() {
            assert!(!page.body.contains(marker), "{who}: {list_page}");
            assert!(
                page.body.contains("An internal finding"),
                "{who} is told one is there"
            );
            let chain = visitor
                .get(&format!("/recommendations/{recommendation}"))
                .await
                .body;
            assert!(!chain.contains(marker), "{who}: the evidence chain");
            assert!(
                chain.contains("id=\"evidence-internal\""),
                "{who}: the evidence chain says so"
            );
        }
        let mut reached: BTreeSet<String> = BTreeSet::new();
        for (path, body) in small_counts::walk_from(visitor, "/", 300).await {
            assert!(!body.contains(marker), "{who}: {path}");
            reached.insert(path);
        }
        for start in [list_page.clone(), "/activities?q=PLANTED".to_owned()] {
            for (path, body) in small_counts::walk_from(visitor, &start, 40).await {
                assert!(!body.contains(marker), "{who}: {path}");
            }
        }
        for export in ["findings", "recommendations", "activities"] {
            let csv = visitor.get_bytes(&format!("/exports/{export}.csv")).await;
            assert!(
                !String::from_utf8_lossy(&csv).contains(marker),
                "{who}: {export}.csv"
            );
            let xlsx = visitor.get_bytes(&format!("/exports/{export}.xlsx")).await;
            let cells = small_counts::xlsx_table(xlsx);
            assert!(
                !cells.iter().flatten().any(|cell| cell.contains(marker)),
                "{who}: {export}.xlsx"
            );
        }
        assert!(reached.len() > 5, "{who} reached {reached:?}");
    }
    for (path, body) in small_counts::walk_from(&app.visitor(), "/public", 200).await {
        assert!(!body.contains(marker), "anonymous: {path}");
    }
}
