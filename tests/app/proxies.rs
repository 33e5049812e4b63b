//! Behind a reverse proxy: the client's address comes from `X-Forwarded-For`
//! only when the connection comes from a trusted proxy (issue 14).

use reqwest::StatusCode;
use samleng::config::TrustedProxies;
use samleng::state::Settings;

use crate::helpers::{TestApp, Visitor, spawn_app_with};

const NGO: &str = "ngo@as.example";

/// Signs in with a header a proxy (or a client pretending to be one) added.
async fn sign_in_forwarded_for(
    visitor: &Visitor,
    app: &TestApp,
    forwarded_for: &str,
    password: &str,
) -> StatusCode {
    let token = visitor.get("/login").await.csrf_token();
    visitor
        .client
        .post(app.url("/login"))
        .header("x-forwarded-for", forwarded_for)
        .form(&[
            ("csrf_token", token.as_str()),
            ("email", NGO),
            ("password", password),
        ])
        .send()
        .await
        .expect("sign in")
        .status()
}

async fn sign_in_addresses(app: &TestApp) -> Vec<Option<String>> {
    sqlx::query_scalar("select ip from audit_events where action like 'sign_in%' order by id")
        .fetch_all(&app.pool)
        .await
        .expect("audit events")
}

#[tokio::test]
async fn a_forwarded_address_from_an_untrusted_peer_changes_nothing() {
    let app = spawn_app_with(Settings {
        sign_in_burst: 2,
        ..Settings::default()
    })
    .await;
    let visitor = app.visitor();
    let password = app.password_of(NGO);
    assert_eq!(
        sign_in_forwarded_for(&visitor, &app, "203.0.113.9", &password).await,
        StatusCode::SEE_OTHER
    );
    assert_eq!(sign_in_addresses(&app).await, [Some("127.0.0.1".into())]);
    // A new made-up address on every attempt does not escape the limit.
    let stranger = app.visitor();
    let mut statuses = Vec::new();
    for n in 1..=4 {
        let spoofed = format!("198.51.100.{n}");
        statuses.push(sign_in_forwarded_for(&stranger, &app, &spoofed, "wrong password!").await);
    }
    assert!(
        statuses.contains(&StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    let refused_from: Vec<String> =
        sqlx::query_scalar("select distinct ip from audit_refusals where kind = 'rate_limited'")
            .fetch_all(&app.pool)
            .await
            .expect("refusals");
    assert_eq!(refused_from, ["127.0.0.1"]);
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_client_is_its_own_address() {
    let app = spawn_app_with(Settings {
        sign_in_burst: 2,
        trusted_proxies: TrustedProxies::parse("127.0.0.1/32").expect("proxies"),
        ..Settings::default()
    })
    .await;
    let password = app.password_of(NGO);
    let visitor = app.visitor();
    // What the client wrote itself, left of what the proxy appended, is ignored.
    assert_eq!(
        sign_in_forwarded_for(&visitor, &app, "10.9.9.9, 203.0.113.9", &password).await,
        StatusCode::SEE_OTHER
    );
    assert_eq!(sign_in_addresses(&app).await, [Some("203.0.113.9".into())]);
    // One client behind the proxy reaches its limit …
    let noisy = app.visitor();
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(sign_in_forwarded_for(&noisy, &app, "198.51.100.7", "wrong password!").await);
    }
    assert_eq!(statuses.last(), Some(&StatusCode::TOO_MANY_REQUESTS));
    // … and another, behind the same proxy, still signs in.
    let other = app.visitor();
    assert_eq!(
        sign_in_forwarded_for(&other, &app, "198.51.100.8", &password).await,
        StatusCode::SEE_OTHER
    );
    let refused_from: Vec<String> =
        sqlx::query_scalar("select distinct ip from audit_refusals where kind = 'rate_limited'")
            .fetch_all(&app.pool)
            .await
            .expect("refusals");
    assert_eq!(refused_from, ["198.51.100.7"]);
}
