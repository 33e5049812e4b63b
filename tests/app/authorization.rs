//! Every route, for a visitor and every role (and users of another district):
//! who is let in, who is refused, who is sent to sign in. A route the app serves
//! that is missing from the table fails the test.

use std::collections::BTreeSet;
use std::path::Path;

use reqwest::StatusCode;

use crate::helpers::{Page, TestApp, Visitor, spawn_app};

/// Who the request comes from.
const PEOPLE: [&str; 8] = [
    "anonymous",
    "admin@cpdd.example",
    "secretariat@cpdd.example",
    "ngo@ctod.example",
    "ngo@as.example",
    "sna@battambang.example",
    "sna@banan.example",
    "donor@donor.example",
];

#[derive(Debug, Clone, Copy, PartialEq)]
enum Rule {
    /// Anyone, signed in or not.
    Public,
    /// Anyone signed in; visitors are sent to sign in.
    SignedIn,
    /// Administrators only; other users are refused, visitors sent to sign in.
    Admin,
    /// Signing out: everyone ends up on the sign-in page.
    SignOut,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Outcome {
    Allowed,
    Refused,
    SentToSignIn,
}

fn expected(rule: Rule, person: &str) -> Outcome {
    match (rule, person) {
        (Rule::Public, _) => Outcome::Allowed,
        (Rule::SignOut, _) => Outcome::SentToSignIn,
        (_, "anonymous") => Outcome::SentToSignIn,
        (Rule::SignedIn, _) => Outcome::Allowed,
        (Rule::Admin, "admin@cpdd.example") => Outcome::Allowed,
        (Rule::Admin, _) => Outcome::Refused,
    }
}

fn outcome(page: &Page) -> Outcome {
    assert!(page.status.as_u16() < 500, "server error: {}", page.status);
    match (page.status, page.location.as_deref()) {
        (StatusCode::FORBIDDEN, _) => Outcome::Refused,
        (StatusCode::SEE_OTHER, Some("/login")) => Outcome::SentToSignIn,
        _ => Outcome::Allowed,
    }
}

/// (method, route as written in the router, URL tried, rule). `/logout` comes
/// last because it ends the session.
fn table(user_id: i64, organization_id: i64) -> Vec<(&'static str, &'static str, String, Rule)> {
    let user = |suffix: &str| format!("/admin/users/{user_id}{suffix}");
    vec![
        ("GET", "/healthz", "/healthz".into(), Rule::Public),
        ("GET", "/readyz", "/readyz".into(), Rule::Public),
        ("GET", "/login", "/login".into(), Rule::Public),
        ("POST", "/login", "/login".into(), Rule::Public),
        ("GET", "/", "/".into(), Rule::SignedIn),
        ("GET", "/account", "/account".into(), Rule::SignedIn),
        (
            "POST",
            "/account/password",
            "/account/password".into(),
            Rule::SignedIn,
        ),
        ("GET", "/districts", "/districts".into(), Rule::SignedIn),
        (
            "GET",
            "/districts/{code}",
            "/districts/0204".into(),
            Rule::SignedIn,
        ),
        (
            "GET",
            "/provinces/{code}",
            "/provinces/02".into(),
            Rule::SignedIn,
        ),
        ("GET", "/admin/users", "/admin/users".into(), Rule::Admin),
        ("POST", "/admin/users", "/admin/users".into(), Rule::Admin),
        (
            "GET",
            "/admin/users/new",
            "/admin/users/new".into(),
            Rule::Admin,
        ),
        ("GET", "/admin/users/{id}", user(""), Rule::Admin),
        ("POST", "/admin/users/{id}", user(""), Rule::Admin),
        (
            "POST",
            "/admin/users/{id}/deactivate",
            user("/deactivate"),
            Rule::Admin,
        ),
        (
            "POST",
            "/admin/users/{id}/activate",
            user("/activate"),
            Rule::Admin,
        ),
        (
            "POST",
            "/admin/users/{id}/reset-password",
            user("/reset-password"),
            Rule::Admin,
        ),
        (
            "GET",
            "/admin/organizations",
            "/admin/organizations".into(),
            Rule::Admin,
        ),
        (
            "POST",
            "/admin/organizations",
            "/admin/organizations".into(),
            Rule::Admin,
        ),
        (
            "GET",
            "/admin/organizations/new",
            "/admin/organizations/new".into(),
            Rule::Admin,
        ),
        (
            "GET",
            "/admin/organizations/{id}",
            format!("/admin/organizations/{organization_id}"),
            Rule::Admin,
        ),
        (
            "POST",
            "/admin/organizations/{id}",
            format!("/admin/organizations/{organization_id}"),
            Rule::Admin,
        ),
        (
            "GET",
            "/admin/gazetteer",
            "/admin/gazetteer".into(),
            Rule::Admin,
        ),
        (
            "POST",
            "/admin/gazetteer/import",
            "/admin/gazetteer/import".into(),
            Rule::Admin,
        ),
        ("GET", "/admin/audit", "/admin/audit".into(), Rule::Admin),
        ("POST", "/logout", "/logout".into(), Rule::SignOut),
    ]
}

/// The routes the router declares, read from the source: `.route("/path", get(..).post(..))`.
fn declared_routes() -> BTreeSet<(String, String)> {
    let mut routes = BTreeSet::new();
    let mut stack = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("src")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("src").flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let source = std::fs::read_to_string(&path).expect("source file");
            for line in source.lines() {
                let Some((_, rest)) = line.split_once(".route(\"") else {
                    continue;
                };
                let Some((route, handlers)) = rest.split_once('"') else {
                    continue;
                };
                for (method, call) in [("GET", "get("), ("POST", "post(")] {
                    if handlers.contains(call) {
                        routes.insert((method.to_owned(), route.to_owned()));
                    }
                }
            }
        }
    }
    routes.insert(("GET".into(), "/healthz".into()));
    routes
}

#[tokio::test]
async fn every_route_lets_in_exactly_whom_the_policy_says() {
    let app = spawn_app().await;
    let target = target_user(&app).await;
    let organization_id: i64 =
        sqlx::query_scalar("select id from organizations where acronym = 'AS'")
            .fetch_one(&app.pool)
            .await
            .expect("organization");
    let table = table(target, organization_id);

    let listed: BTreeSet<(String, String)> = table
        .iter()
        .map(|(method, route, _, _)| (method.to_string(), route.to_string()))
        .collect();
    let missing: Vec<_> = declared_routes().difference(&listed).cloned().collect();
    assert!(
        missing.is_empty(),
        "routes missing from the authorization table: {missing:?}"
    );

    let mut visitors: Vec<(&str, Visitor)> = Vec::new();
    for person in PEOPLE {
        let visitor = if person == "anonymous" {
            app.visitor()
        } else {
            app.login_as(person).await
        };
        visitors.push((person, visitor));
    }
    let mut failures = Vec::new();
    for (method, _, url, rule) in &table {
        for (person, visitor) in &visitors {
            let page = match *method {
                "GET" => visitor.get(url).await,
                _ => visitor.post(url, &[]).await,
            };
            let got = outcome(&page);
            let want = expected(*rule, person);
            if got != want {
                failures.push(format!(
                    "{method} {url} as {person}: {got:?} ({}) instead of {want:?}",
                    page.status
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A user that the table's POSTs may deactivate and reset without touching the
/// people making the requests.
async fn target_user(app: &TestApp) -> i64 {
    sqlx::query_scalar(
        "insert into users (email, display_name, role, organization_id, password_hash)
         select 'target@ctod.example', 'Target', 'ngo', id, 'x' from organizations where acronym = 'CTOD'
         returning id",
    )
    .fetch_one(&app.pool)
    .await
    .expect("target user")
}
