//! Hostile input at every form and search, as the people allowed to use them:
//! NUL bytes, broken UTF-8 and percent-encoding, overlong fields, huge and
//! negative numbers, impossible dates, wrong types, missing and repeated
//! fields. Forms are found by walking the pages each person can reach, so a new
//! form is fuzzed without being listed here. Fixed seed; no answer may be a
//! 5xx, and a refused request (4xx) may write nothing but its audit event.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use reqwest::StatusCode;
use samleng::state::Settings;

use crate::helpers::{TestApp, Visitor, csrf_token_in, spawn_app_with};

/// A small, fixed pseudo-random sequence (SplitMix64): the same requests on
/// every run, so a failure can be replayed.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// A value as it goes into a form body: already percent-encoded, or raw bytes
/// that are not (broken encodings, invalid UTF-8).
fn hostile_value(random: &mut Random, broken_bytes: bool) -> String {
    let encode =
        |text: &str| serde_urlencoded::to_string([("", text)]).unwrap_or_default()[1..].to_owned();
    // Without broken bytes, only values a form could carry reach the handlers.
    let first = if broken_bytes { 0 } else { 4 };
    match first + random.below(16 - first) {
        0 => encode("before\0after"),
        1 => "%FF%FE%FD".into(),
        2 => "%C3%28".into(),
        3 => "%G1%".into(),
        4 => encode(&"ស".repeat(6_000)),
        5 => encode("99999999999999999999999"),
        6 => encode(random.pick(&["-1", "-2147483649", "2147483648", "0", "1e9"])),
        7 => encode(random.pick(&[
            "2021-02-30",
            "0000-00-00",
            "9999-12-31",
            "21-10-2021",
            "-2021-01-01",
        ])),
        8 => encode(random.pick(&["abc", "true", "[]", "{}", "null", "NaN"])),
        9 => String::new(),
        10 => encode("' or 1=1 --"),
        11 => encode("<script>alert(1)</script>"),
        12 => encode(&format!("{}", random.next() % 1000)),
        13 => encode("0203"),
        14 => encode("=HYPERLINK(\"x\")"),
        _ => encode("ការប្រជុំ Bavel"),
    }
}

/// A form found on a page: where it posts, its field names, and whether it
/// sends files.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct FormTarget {
    action: String,
    fields: Vec<String>,
    multipart: bool,
}

fn forms_in(html: &str) -> Vec<FormTarget> {
    html.split("<form ")
        .skip(1)
        .filter_map(|form| {
            let (tag, rest) = form.split_once('>')?;
            if !tag.contains(r#"method="post""#) {
                return None;
            }
            let action = tag
                .split(r#"action=""#)
                .nth(1)?
                .split('"')
                .next()?
                .replace("&amp;", "&");
            let body = rest.split("</form>").next().unwrap_or_default();
            let fields: BTreeSet<String> = body
                .split(r#"name=""#)
                .skip(1)
                .filter_map(|rest| rest.split('"').next())
                .filter(|name| *name != "csrf_token")
                .map(str::to_owned)
                .collect();
            Some(FormTarget {
                action,
                fields: fields.into_iter().collect(),
                multipart: tag.contains("multipart/form-data"),
            })
        })
        .collect()
}

/// Forms that would end the fuzzing person's own session or access.
fn ends_the_session(action: &str) -> bool {
    [
        "/logout",
        "/reset-password",
        "/deactivate",
        "/account/password",
        "/account",
    ]
    .iter()
    .any(|end| action.ends_with(end))
}

/// Every form on the pages `visitor` reaches from the home page.
async fn discover_forms(visitor: &Visitor, limit: usize) -> Vec<FormTarget> {
    let mut queue = VecDeque::from(["/".to_owned(), "/admin/themes".to_owned()]);
    let mut visited = BTreeSet::new();
    let mut forms = BTreeSet::new();
    while let Some(path) = queue.pop_front() {
        if visited.len() >= limit || !visited.insert(path.clone()) {
            continue;
        }
        let page = visitor.get(&path).await;
        if page.status != StatusCode::OK {
            continue;
        }
        forms.extend(
            forms_in(&page.body)
                .into_iter()
                .filter(|form| !ends_the_session(&form.action)),
        );
        queue.extend(
            page.body
                .split("href=\"")
                .skip(1)
                .filter_map(|rest| rest.split('"').next())
                .filter(|href| href.starts_with('/') && !href.starts_with("/static"))
                .filter(|href| !href.starts_with("/exports/") && !href.starts_with("/attachments/"))
                .filter(|href| !href.contains("lang="))
                .map(|href| {
                    href.replace("&amp;", "&")
                        .split('#')
                        .next()
                        .unwrap_or_default()
                        .to_owned()
                }),
        );
    }
    forms.into_iter().collect()
}

/// A form body built from the form's fields, some missing, some repeated, some
/// not the form's at all, every value hostile.
fn hostile_body(form: &FormTarget, random: &mut Random, token: &str) -> String {
    let broken_bytes = random.below(3) == 0;
    let mut pairs = vec![format!("csrf_token={token}")];
    for field in &form.fields {
        match random.below(10) {
            0 => {}
            1 => {
                pairs.push(format!("{field}={}", hostile_value(random, broken_bytes)));
                pairs.push(format!("{field}={}", hostile_value(random, broken_bytes)));
            }
            _ => pairs.push(format!("{field}={}", hostile_value(random, broken_bytes))),
        }
    }
    if random.below(4) == 0 {
        pairs.push(format!(
            "unexpected={}",
            hostile_value(random, broken_bytes)
        ));
    }
    pairs.join("&")
}

/// Rows in every table of the application, in one statement.
async fn table_counts(app: &TestApp) -> BTreeMap<String, i64> {
    let tables: Vec<String> = sqlx::query_scalar(
        "select tablename::text from pg_tables where schemaname = 'public'
           and tablename not in ('audit_events', 'audit_refusals', '_sqlx_migrations') order by 1",
    )
    .fetch_all(&app.pool)
    .await
    .expect("tables");
    let query = tables
        .iter()
        .map(|table| format!("select '{table}' as name, count(*) from {table}"))
        .collect::<Vec<_>>()
        .join(" union all ");
    sqlx::query_as::<_, (String, i64)>(&query)
        .fetch_all(&app.pool)
        .await
        .expect("counts")
        .into_iter()
        .collect()
}

/// The searches and filters that read query strings.
const SEARCHES: [(&str, &[&str]); 9] = [
    (
        "/activities",
        &[
            "q", "study", "province", "district", "kind", "from", "to", "sort", "page",
        ],
    ),
    (
        "/case-studies",
        &[
            "q", "study", "province", "district", "status", "from", "to", "sort", "page",
        ],
    ),
    ("/districts", &["q", "province"]),
    (
        "/dashboard",
        &["study", "province", "district", "from", "to", "map", "page"],
    ),
    (
        "/exports/activities.csv",
        &["study", "province", "district", "from", "to"],
    ),
    (
        "/recommendation-lists",
        &["study", "province", "district", "status", "page"],
    ),
    ("/action-plans", &["province", "district", "status", "page"]),
    ("/admin/users", &["q", "role"]),
    ("/admin/audit", &["actor", "action", "from", "to", "page"]),
];

#[tokio::test]
async fn thousands_of_hostile_requests_get_no_server_error_and_refusals_write_nothing() {
    let app = spawn_app_with(Settings {
        sign_in_burst: 100_000,
        ..Settings::default()
    })
    .await;
    let mut random = Random(20_261_127);
    let mut statuses: BTreeMap<u16, usize> = BTreeMap::new();
    let mut failures = Vec::new();
    let people = [
        "admin@cpdd.example",
        "ngo@ctod.example",
        "sna@battambang.example",
        "donor@donor.example",
    ];
    let mut sent = 0;
    for person in people {
        let visitor = app.login_as(person).await;
        let token = csrf_token_in(&visitor.get("/account").await.body);
        let mut forms = discover_forms(&visitor, 120).await;
        if person == "admin@cpdd.example" {
            // Signing in is a form too, for anyone.
            forms.push(FormTarget {
                action: "/login".into(),
                fields: vec!["email".into(), "password".into()],
                multipart: false,
            });
        }
        let rounds = 560 / forms.len().max(1) + 1;
        for form in &forms {
            for _ in 0..rounds {
                let before = table_counts(&app).await;
                let request = visitor.client.post(app.url(&form.action));
                let response = if form.multipart {
                    let mut multipart =
                        reqwest::multipart::Form::new().text("csrf_token", token.clone());
                    let broken_bytes = random.below(3) == 0;
                    for field in &form.fields {
                        let value = hostile_value(&mut random, broken_bytes);
                        let raw: Vec<u8> = percent_encoding::percent_decode_str(&value).collect();
                        multipart = if field == "file" {
                            multipart.part(
                                "file",
                                reqwest::multipart::Part::bytes(raw).file_name("x.pdf"),
                            )
                        } else {
                            multipart.part(field.clone(), reqwest::multipart::Part::bytes(raw))
                        };
                    }
                    request.multipart(multipart).send().await
                } else {
                    request
                        .header("content-type", "application/x-www-form-urlencoded")
                        .body(hostile_body(form, &mut random, &token))
                        .send()
                        .await
                };
                let response = response.expect("an answer");
                let status = response.status();
                *statuses.entry(status.as_u16()).or_default() += 1;
                sent += 1;
                if status.is_server_error() {
                    failures.push(format!("{status} from POST {} as {person}", form.action));
                }
                if status.is_client_error() {
                    let after = table_counts(&app).await;
                    if after != before {
                        failures.push(format!(
                            "{status} from POST {} as {person} still wrote: {:?}",
                            form.action,
                            after
                                .iter()
                                .filter(|(table, count)| before.get(*table) != Some(count))
                                .collect::<Vec<_>>()
                        ));
                    }
                }
            }
        }
        for (path, fields) in SEARCHES {
            for _ in 0..40 {
                let mut query = Vec::new();
                let broken_bytes = random.below(3) == 0;
                for field in fields {
                    if random.below(3) > 0 {
                        query.push(format!(
                            "{field}={}",
                            hostile_value(&mut random, broken_bytes)
                        ));
                    }
                }
                let url = format!("{path}?{}", query.join("&"));
                // A browser cannot send some broken encodings in an address at all.
                let status = match visitor.client.get(app.url(&url)).send().await {
                    Ok(response) => response.status(),
                    Err(error) if error.is_builder() => continue,
                    Err(error) => panic!("GET {path}: {error}"),
                };
                *statuses.entry(status.as_u16()).or_default() += 1;
                sent += 1;
                if status.is_server_error() {
                    failures.push(format!("{status} from GET {path} as {person}"));
                }
            }
        }
    }
    println!("{sent} hostile requests, by status: {statuses:?}");
    assert!(sent >= 2_000, "only {sent} requests");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
