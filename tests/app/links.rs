//! Setting one's own password through an e-mailed link: asking for a reset
//! answers the same whether or not the address has an account, the link (kept
//! only as a hash, forgotten once sent) works once and for 30 minutes, ends the
//! account's other sessions, and asking is limited per account and address.

use reqwest::StatusCode;

use crate::helpers::{TestApp, spawn_app};
use crate::notifications::SmtpServer;

/// The reset link in a message, as a path of this app.
fn reset_link(app: &TestApp, text: &str) -> String {
    text.split_whitespace()
        .find(|word| word.contains("/password-reset/"))
        .expect("the link")
        .trim_start_matches(&app.url(""))
        .to_owned()
}

async fn scalar(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(sql)
        .fetch_one(&app.pool)
        .await
        .expect(sql)
}

const NGO: &str = "ngo@as.example";

#[tokio::test]
async fn a_forgotten_password_is_reset_through_a_link_that_works_once() {
    let app = spawn_app().await;
    let smtp = SmtpServer::start().await;
    let signed_in_elsewhere = app.login_as(NGO).await;
    let known = app
        .visitor()
        .post("/password-reset", &[("email", "NGO@as.example")])
        .await;
    let unknown = app
        .visitor()
        .post("/password-reset", &[("email", "nobody@nowhere.example")])
        .await;
    assert_eq!(
        (known.status, unknown.status),
        (StatusCode::OK, StatusCode::OK)
    );
    let sent = |body: &str| {
        body.split("id=\"reset-sent\">")
            .nth(1)
            .and_then(|rest| rest.split('<').next())
            .map(str::to_owned)
    };
    assert!(sent(&known.body).is_some());
    assert_eq!(
        sent(&known.body),
        sent(&unknown.body),
        "the same answer for both"
    );
    assert_eq!(
        scalar(&app, "select count(*) from outbox").await,
        1,
        "a message for the account only"
    );
    assert_eq!(
        scalar(
            &app,
            "select count(*) from account_tokens where token_hash ~ '^[0-9a-f]{64}$'"
        )
        .await,
        1
    );

    samleng::notifications::outbox::deliver_due(&app.app_pool, &smtp.mailer_for(&app.url("")))
        .await
        .expect("delivered");
    let mail = smtp.received();
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0].to, NGO);
    let link = reset_link(&app, &mail[0].text);
    let token = link.rsplit('/').next().unwrap_or_default().to_owned();
    assert_eq!(
        scalar(
            &app,
            &format!(
                "select count(*) from outbox where link like '%{token}%' or body like '%{token}%'"
            )
        )
        .await,
        0,
        "the link is forgotten once sent"
    );

    let visitor = app.visitor();
    let form = visitor.get(&link).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains(NGO));
    let differ = visitor
        .post(
            &link,
            &[
                ("new_password", "koh-ker-temple-sunset-7"),
                ("confirm_password", "koh-ker-temple-sunset-8"),
            ],
        )
        .await;
    assert_eq!(differ.status, StatusCode::UNPROCESSABLE_ENTITY);
    let chosen = [
        ("new_password", "koh-ker-temple-sunset-7"),
        ("confirm_password", "koh-ker-temple-sunset-7"),
    ];
    let set = visitor.post(&link, &chosen).await;
    assert_eq!(set.status, StatusCode::SEE_OTHER);
    assert_eq!(
        visitor.post(&link, &chosen).await.status,
        StatusCode::GONE,
        "it works once"
    );
    assert_eq!(visitor.get(&link).await.status, StatusCode::GONE);
    assert_eq!(
        app.visitor()
            .sign_in(NGO, "koh-ker-temple-sunset-7")
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    let other_session = signed_in_elsewhere.get("/account").await;
    assert_eq!(
        other_session.status,
        StatusCode::SEE_OTHER,
        "the other session has ended"
    );
    assert_eq!(scalar(&app, "select count(*) from audit_events where action in ('password_reset_requested', 'password_reset')").await, 3);
}

#[tokio::test]
async fn an_expired_link_does_not_work_and_asking_is_limited() {
    let app = spawn_app().await;
    let visitor = app.visitor();
    for _ in 0..5 {
        assert_eq!(
            visitor
                .post("/password-reset", &[("email", NGO)])
                .await
                .status,
            StatusCode::OK
        );
    }
    assert_eq!(
        scalar(&app, "select count(*) from account_tokens").await,
        3,
        "three an hour per account"
    );
    for n in 0..6 {
        visitor
            .post(
                "/password-reset",
                &[("email", &format!("someone{n}@example.org"))],
            )
            .await;
    }
    visitor
        .post("/password-reset", &[("email", "donor@donor.example")])
        .await;
    assert_eq!(
        scalar(&app, "select count(*) from account_tokens t join users u on u.id = t.user_id where u.email = 'donor@donor.example'").await,
        0,
        "ten an hour from one address"
    );

    // A link past its 30 minutes.
    let user = app.user_id("sna@banan.example").await;
    let mut tx = app.app_pool.begin().await.expect("a transaction");
    samleng::account::links::send(&mut tx, user, samleng::account::links::Purpose::Reset)
        .await
        .expect("a link");
    tx.commit().await.expect("commit");
    let link: String = sqlx::query_scalar("select link from outbox where user_id = $1")
        .bind(user)
        .fetch_one(&app.pool)
        .await
        .expect("the link");
    sqlx::query(
        "update account_tokens set expires_at = now() - interval '1 second' where user_id = $1",
    )
    .bind(user)
    .execute(&app.pool)
    .await
    .expect("time passes");
    let gone = app.visitor().get(&link).await;
    assert_eq!(gone.status, StatusCode::GONE);
    assert!(gone.body.contains("id=\"link-gone\""));
    let chosen = [
        ("new_password", "angkor-wat-morning-mist-3"),
        ("confirm_password", "angkor-wat-morning-mist-3"),
    ];
    assert_eq!(
        app.visitor().post(&link, &chosen).await.status,
        StatusCode::GONE
    );
    assert_eq!(
        app.visitor()
            .sign_in("sna@banan.example", "angkor-wat-morning-mist-3")
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );

    // An invitation past its 7 days is gone too.
    let mut tx = app.app_pool.begin().await.expect("a transaction");
    samleng::account::links::send(&mut tx, user, samleng::account::links::Purpose::Invitation)
        .await
        .expect("an invitation");
    tx.commit().await.expect("commit");
    let invitation: String = sqlx::query_scalar(
        "select link from outbox where user_id = $1 and link like '/invitation/%'",
    )
    .bind(user)
    .fetch_one(&app.pool)
    .await
    .expect("the invitation");
    assert_eq!(
        app.visitor().get(&invitation).await.status,
        StatusCode::OK,
        "within its 7 days"
    );
    sqlx::query("update account_tokens set expires_at = now() - interval '1 second' where purpose = 'invitation'")
        .execute(&app.pool)
        .await
        .expect("a week passes");
    assert_eq!(
        app.visitor().get(&invitation).await.status,
        StatusCode::GONE
    );
    assert_eq!(
        app.visitor().post(&invitation, &chosen).await.status,
        StatusCode::GONE
    );
}

#[tokio::test]
async fn a_password_change_ends_the_reset_links_asked_for_before_it() {
    let app = spawn_app().await;
    let smtp = SmtpServer::start().await;
    app.visitor()
        .post("/password-reset", &[("email", NGO)])
        .await;
    samleng::notifications::outbox::deliver_due(&app.app_pool, &smtp.mailer_for(&app.url("")))
        .await
        .expect("delivered");
    let outbox: i64 = sqlx::query_scalar("select max(id) from outbox")
        .fetch_one(&app.pool)
        .await
        .expect("the message");
    let received = smtp.received();
    assert!(
        received[0]
            .message_id
            .starts_with(&format!("outbox-{outbox}@")),
        "a Message-ID a receiving system can tell a second copy by: {}",
        received[0].message_id
    );
    let link = reset_link(&app, &received[0].text);
    let ngo = app.login_as(NGO).await;
    let new_password = "a brand new passphrase 2026";
    let changed = ngo
        .post(
            "/account/password",
            &[
                ("current_password", &app.password_of(NGO)),
                ("new_password", new_password),
                ("confirm_password", new_password),
            ],
        )
        .await;
    assert_eq!(changed.status, StatusCode::SEE_OTHER);
    let visitor = app.visitor();
    assert_eq!(visitor.get(&link).await.status, StatusCode::GONE);
    let late = "someone else's passphrase 99";
    let refused = visitor
        .post(&link, &[("new_password", late), ("confirm_password", late)])
        .await;
    assert_eq!(refused.status, StatusCode::GONE);
    let signs_in = app.visitor().sign_in(NGO, new_password).await;
    assert_eq!(
        signs_in.status(),
        StatusCode::SEE_OTHER,
        "the changed password stands"
    );
}
