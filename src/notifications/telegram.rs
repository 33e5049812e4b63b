//! Telegram, which officials and NGO staff read far more than e-mail: the same
//! notifications, sent by the bot named by `SAMLENG_TELEGRAM_BOT_TOKEN`
//! through the Bot API (`SAMLENG_TELEGRAM_API_URL` overrides its address).
//! A person links their chat from their account page: the page makes a
//! one-time code and a deep link to the bot, Telegram sends the bot `/start
//! CODE`, and the worker, reading the bot's updates, ties that chat to them.

use rand::RngCore as _;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use sqlx::PgPool;

/// How long a linking code works.
const CODE_MINUTES: i32 = 15;

/// The bot: its API address with the token, and its user name for deep links.
#[derive(Clone)]
pub struct Telegram {
    http: reqwest::Client,
    base: String,
    pub username: String,
}

#[derive(Deserialize)]
struct Answer<T> {
    ok: bool,
    result: Option<T>,
    description: Option<String>,
}

#[derive(Deserialize)]
struct Me {
    username: String,
}

#[derive(Deserialize)]
struct Update {
    update_id: i64,
    message: Option<IncomingMessage>,
}

#[derive(Deserialize)]
struct IncomingMessage {
    chat: Chat,
    text: Option<String>,
}

#[derive(Deserialize)]
struct Chat {
    id: i64,
}

fn hash(code: &str) -> String {
    Sha256::digest(code.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

impl Telegram {
    /// Asks the API who the bot is (`getMe`), which also checks the token.
    pub async fn connect(api_url: &str, token: &str) -> anyhow::Result<Telegram> {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .build()?;
        let base = format!("{}/bot{token}", api_url.trim_end_matches('/'));
        let me: Answer<Me> = http
            .get(format!("{base}/getMe"))
            .send()
            .await?
            .json()
            .await?;
        let me = me.result.filter(|_| me.ok).ok_or_else(|| {
            anyhow::anyhow!("Telegram refused the bot token: {:?}", me.description)
        })?;
        Ok(Telegram {
            http,
            base,
            username: me.username,
        })
    }

    /// Sends a text to a chat.
    pub async fn send(&self, chat_id: i64, text: &str) -> Result<(), String> {
        let answer: Answer<serde_json::Value> = self
            .http
            .post(format!("{}/sendMessage", self.base))
            .json(&serde_json::json!({ "chat_id": chat_id, "text": text }))
            .send()
            .await
            .map_err(|error| error.to_string())?
            .json()
            .await
            .map_err(|error| error.to_string())?;
        if answer.ok {
            Ok(())
        } else {
            Err(answer.description.unwrap_or_else(|| "refused".to_owned()))
        }
    }

    /// Reads the bot's new updates and links the chats that sent a working
    /// code; returns how many were linked.
    pub async fn receive_links(&self, pool: &PgPool) -> anyhow::Result<usize> {
        let offset =
            sqlx::query_scalar!("select value from bot_state where name = 'telegram_offset'")
                .fetch_optional(pool)
                .await?
                .unwrap_or(0);
        let answer: Answer<Vec<Update>> = self
            .http
            .post(format!("{}/getUpdates", self.base))
            .json(&serde_json::json!({ "offset": offset, "timeout": 0, "allowed_updates": ["message"] }))
            .send()
            .await?
            .json()
            .await?;
        let updates = answer.result.unwrap_or_default();
        let mut linked = 0;
        for update in &updates {
            let Some(message) = &update.message else {
                continue;
            };
            let code = message
                .text
                .as_deref()
                .and_then(|text| text.strip_prefix("/start "))
                .map(str::trim)
                .unwrap_or_default();
            if code.is_empty() {
                continue;
            }
            let user = sqlx::query_scalar!(
                "update telegram_links set chat_id = $2, linked_at = now(), code_hash = null, code_expires_at = null
                 where code_hash = $1 and code_expires_at > now() returning user_id",
                hash(code),
                message.chat.id,
            )
            .fetch_optional(pool)
            .await?;
            let reply = if user.is_some() {
                linked += 1;
                "Samleng: linked. You will be told here what waits for you. · បានភ្ជាប់។"
            } else {
                "Samleng: this code does not work (used or expired). Make a new one on your account page."
            };
            if let Err(error) = self.send(message.chat.id, reply).await {
                tracing::warn!(%error, "no reply sent on Telegram");
            }
        }
        if let Some(last) = updates.iter().map(|update| update.update_id).max() {
            sqlx::query!(
                "insert into bot_state (name, value) values ('telegram_offset', $1)
                 on conflict (name) do update set value = excluded.value",
                last + 1
            )
            .execute(pool)
            .await?;
        }
        Ok(linked)
    }
}

/// Makes a one-time linking code for the user (replacing any earlier one).
pub async fn new_code(pool: &PgPool, user_id: i64) -> Result<String, sqlx::Error> {
    let mut bytes = [0u8; 12];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let code: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
    sqlx::query!(
        "insert into telegram_links (user_id, code_hash, code_expires_at)
         values ($1, $2, now() + make_interval(mins => $3))
         on conflict (user_id) do update set code_hash = excluded.code_hash, code_expires_at = excluded.code_expires_at",
        user_id,
        hash(&code),
        CODE_MINUTES,
    )
    .execute(pool)
    .await?;
    Ok(code)
}
