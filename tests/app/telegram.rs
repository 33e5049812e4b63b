//! Telegram against a local stand-in for the Bot API (these machines cannot
//! reach api.telegram.org): a person links their chat with the one-time code
//! of the bot's deep link, receives the same notifications there, and unlinks.

use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::State;
use axum::routing::{get, post};
use reqwest::StatusCode;
use samleng::notifications::outbox::{self, Mailer};
use samleng::notifications::telegram::Telegram;
use samleng::state::Settings;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app_with};

/// What the stand-in holds: updates for the bot to read, messages it sent.
#[derive(Default)]
struct Bot {
    updates: Vec<Value>,
    sent: Vec<(i64, String)>,
}

type Shared = Arc<Mutex<Bot>>;

/// The Bot API's three endpoints the app uses, for the token `TEST`.
async fn stand_in() -> (String, Shared) {
    let bot: Shared = Arc::default();
    let router = axum::Router::new()
        .route(
            "/botTEST/getMe",
            get(|| async { Json(json!({"ok": true, "result": {"id": 7, "is_bot": true, "username": "samleng_test_bot"}})) }),
        )
        .route(
            "/botTEST/getUpdates",
            post(|State(bot): State<Shared>, Json(asked): Json<Value>| async move {
                let offset = asked["offset"].as_i64().unwrap_or(0);
                let bot = bot.lock().expect("the stand-in");
                let updates: Vec<&Value> = bot
                    .updates
                    .iter()
                    .filter(|update| update["update_id"].as_i64().unwrap_or(0) >= offset)
                    .collect();
                Json(json!({"ok": true, "result": updates}))
            }),
        )
        .route(
            "/botTEST/sendMessage",
            post(|State(bot): State<Shared>, Json(message): Json<Value>| async move {
                let chat = message["chat_id"].as_i64().unwrap_or(0);
                let text = message["text"].as_str().unwrap_or_default().to_owned();
                bot.lock().expect("the stand-in").sent.push((chat, text));
                Json(json!({"ok": true, "result": {"message_id": 1}}))
            }),
        )
        .with_state(bot.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, router).await.expect("serve") });
    (format!("http://{address}"), bot)
}

async fn scalar(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(sql)
        .fetch_one(&app.pool)
        .await
        .expect(sql)
}

const OFFICIAL: &str = "sna@banan.example";
const CHAT: i64 = 4242;

#[tokio::test]
async fn an_official_links_telegram_receives_notifications_there_and_unlinks() {
    let (api, bot) = stand_in().await;
    let telegram = Telegram::connect(&api, "TEST").await.expect("the bot");
    assert_eq!(telegram.username, "samleng_test_bot");
    let app = spawn_app_with(Settings {
        telegram_bot: Some(telegram.username.clone()),
        ..Settings::default()
    })
    .await;
    let official = app.login_as(OFFICIAL).await;
    assert!(
        official
            .get("/account")
            .await
            .body
            .contains("action=\"/telegram/link\"")
    );
    let page = official.post("/telegram/link", &[]).await;
    assert_eq!(page.status, StatusCode::OK);
    let code = page
        .body
        .split("https://t.me/samleng_test_bot?start=")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the deep link")
        .to_owned();
    let update = |id: i64, text: &str| json!({"update_id": id, "message": {"message_id": id, "chat": {"id": CHAT}, "text": text}});
    bot.lock()
        .expect("the stand-in")
        .updates
        .push(update(1, &format!("/start {code}")));
    assert_eq!(
        telegram
            .receive_links(&app.app_pool)
            .await
            .expect("updates read"),
        1
    );
    assert_eq!(scalar(&app, &format!("select chat_id from telegram_links l join users u on u.id = l.user_id where u.email = '{OFFICIAL}'")).await, CHAT);
    assert_eq!(
        telegram
            .receive_links(&app.app_pool)
            .await
            .expect("read again"),
        0,
        "each update is read once"
    );
    bot.lock()
        .expect("the stand-in")
        .updates
        .push(update(2, &format!("/start {code}")));
    assert_eq!(
        telegram
            .receive_links(&app.app_pool)
            .await
            .expect("updates read"),
        0,
        "a code works once"
    );
    assert!(
        official
            .get("/account")
            .await
            .body
            .contains("id=\"telegram-linked\"")
    );

    // The list sent for endorsement reaches the chat.
    let list = scalar(
        &app,
        "select id from recommendation_lists where district_code = '0201'",
    )
    .await;
    app.login_as("secretariat@cpdd.example")
        .await
        .post(&format!("/recommendation-lists/{list}/submit"), &[])
        .await;
    let mail_dir =
        std::env::temp_dir().join(format!("samleng-tg-mail-{list}-{}", std::process::id()));
    let mailer = Mailer::new(
        None,
        "Samleng <samleng@localhost>",
        "https://samleng.example.org",
        mail_dir.clone(),
    )
    .expect("a mailer")
    .with_telegram(telegram.clone());
    assert_eq!(
        outbox::deliver_due(&app.app_pool, &mailer)
            .await
            .expect("delivered"),
        2,
        "e-mail and Telegram"
    );
    let sent = bot.lock().expect("the stand-in").sent.clone();
    let told = sent
        .iter()
        .find(|(chat, text)| *chat == CHAT && text.contains("wait for your endorsement"))
        .expect("the notification in Telegram");
    assert!(
        told.1.contains(&format!(
            "https://samleng.example.org/recommendation-lists/{list}"
        )),
        "{}",
        told.1
    );

    // Off for Telegram, then unlinked: nothing more goes there.
    official
        .post(
            "/notifications/settings",
            &[("email", "immediate"), ("telegram", "off")],
        )
        .await;
    let official_row = "select count(*) from outbox where channel = 'telegram'";
    let before = scalar(&app, official_row).await;
    let banan = app.login_as(OFFICIAL).await;
    banan
        .post(
            &format!("/recommendation-lists/{list}/return"),
            &[("comment", "Not yet")],
        )
        .await;
    app.login_as("secretariat@cpdd.example")
        .await
        .post(&format!("/recommendation-lists/{list}/submit"), &[])
        .await;
    assert_eq!(scalar(&app, official_row).await, before, "off");
    assert_eq!(
        official.post("/telegram/unlink", &[]).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(scalar(&app, "select count(*) from telegram_links").await, 0);
    assert!(
        official
            .get("/account")
            .await
            .body
            .contains("action=\"/telegram/link\"")
    );
    std::fs::remove_dir_all(&mail_dir).ok();
}
