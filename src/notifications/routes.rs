//! The notifications in the app (`/notifications`: newest first, unread ones
//! marked, opened or all marked read), how one wants to be told
//! (`/notifications/settings`, from the account page), and the outbox for
//! administrators (`/admin/outbox`: what was sent, what waits, what failed,
//! and a retry).

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use sqlx::PgPool;
use time::OffsetDateTime;
use tower_sessions::Session;

use crate::audit::{self, Event};
use crate::auth::policy::{Action, Scope};
use crate::auth::require;
use crate::auth::session::CurrentUser;
use crate::error::{AppError, render};
use crate::format;
use crate::state::AppState;
use crate::web::forms::Form;
use crate::web::{Actor, Ctx, flash};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/notifications", get(list))
        .route("/notifications/read", post(read_all))
        .route("/notifications/{id}/open", post(open))
        .route("/notifications/settings", post(settings))
        .route("/telegram/link", post(link_telegram))
        .route("/telegram/unlink", post(unlink_telegram))
        .route("/admin/outbox", get(outbox))
        .route("/admin/outbox/{id}/retry", post(retry))
}

pub struct Line {
    pub id: i64,
    pub subject: String,
    pub body: String,
    pub created_at: OffsetDateTime,
    pub read: bool,
}

impl Line {
    pub fn at_text(&self) -> String {
        format::timestamp(self.created_at)
    }
}

#[derive(Template)]
#[template(path = "notifications/list.html")]
struct ListPage {
    ctx: Ctx,
    lines: Vec<Line>,
}

/// How many notifications the page shows.
const SHOWN: i64 = 100;

async fn list(
    ctx: Ctx,
    user: CurrentUser,
    State(pool): State<PgPool>,
) -> Result<Response, AppError> {
    let lines = sqlx::query_as!(
        Line,
        r#"select id, subject, body, created_at, read_at is not null as "read!"
           from notifications where user_id = $1 order by created_at desc, id desc limit $2"#,
        user.id,
        SHOWN
    )
    .fetch_all(&pool)
    .await?;
    render(&ListPage { ctx, lines }).map(IntoResponse::into_response)
}

async fn read_all(user: CurrentUser, State(pool): State<PgPool>) -> Result<Response, AppError> {
    sqlx::query!(
        "update notifications set read_at = now() where user_id = $1 and read_at is null",
        user.id
    )
    .execute(&pool)
    .await?;
    Ok(Redirect::to("/notifications").into_response())
}

/// Marks one of the user's notifications read and goes to its page.
async fn open(
    user: CurrentUser,
    State(pool): State<PgPool>,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let link = sqlx::query_scalar!(
        "update notifications set read_at = coalesce(read_at, now()) where id = $1 and user_id = $2 returning link",
        id,
        user.id
    )
    .fetch_optional(&pool)
    .await?
    .ok_or(AppError::NotFound)?;
    // Links are written by the app itself; still, only ever to a page of ours.
    Ok(Redirect::to(crate::auth::session::local_path(&link).unwrap_or("/")).into_response())
}

pub const MODES: [&str; 3] = ["immediate", "daily", "off"];

#[derive(Debug, Default, Deserialize)]
pub struct SettingsForm {
    #[serde(default)]
    email: String,
    /// Absent when the account page offers no Telegram.
    #[serde(default)]
    telegram: Option<String>,
}

/// How the user wants to be told on each channel: at once, in a daily
/// digest, or not at all.
async fn settings(
    user: CurrentUser,
    session: Session,
    State(pool): State<PgPool>,
    Form(form): Form<SettingsForm>,
) -> Result<Response, AppError> {
    let mode = |sent: &str| {
        MODES
            .iter()
            .find(|mode| **mode == sent)
            .copied()
            .ok_or(AppError::Refused("error-notify-mode"))
    };
    let email = mode(&form.email)?;
    let telegram = form.telegram.as_deref().map(mode).transpose()?;
    sqlx::query!(
        "insert into notification_settings (user_id, channel, mode)
         select $1, channel, mode from (values ('email', $2), ('telegram', $3)) chosen (channel, mode)
         where mode is not null
         on conflict (user_id, channel) do update set mode = excluded.mode",
        user.id,
        email,
        telegram,
    )
    .execute(&pool)
    .await?;
    flash(&session, "saved", "").await?;
    Ok(Redirect::to("/account#notifications").into_response())
}

/// How the user is told, for the account page.
pub struct Choices {
    pub email: String,
    pub telegram: String,
    pub telegram_linked: bool,
}

pub async fn choices(pool: &PgPool, user_id: i64) -> Result<Choices, sqlx::Error> {
    let row = sqlx::query!(
        r#"select coalesce((select mode from notification_settings where user_id = $1 and channel = 'email'), 'immediate') as "email!",
                  coalesce((select mode from notification_settings where user_id = $1 and channel = 'telegram'), 'immediate') as "telegram!",
                  exists(select 1 from telegram_links where user_id = $1 and chat_id is not null) as "linked!""#,
        user_id
    )
    .fetch_one(pool)
    .await?;
    Ok(Choices {
        email: row.email,
        telegram: row.telegram,
        telegram_linked: row.linked,
    })
}

#[derive(Template)]
#[template(path = "notifications/telegram_link.html")]
struct LinkPage {
    ctx: Ctx,
    deep_link: String,
}

/// Makes a one-time code and shows the link that hands it to the bot.
async fn link_telegram(
    ctx: Ctx,
    user: CurrentUser,
    State(state): State<AppState>,
) -> Result<Response, AppError> {
    let bot = state
        .settings
        .telegram_bot
        .as_deref()
        .ok_or(AppError::NotFound)?;
    let code = super::telegram::new_code(&state.pool, user.id).await?;
    render(&LinkPage {
        ctx,
        deep_link: format!("https://t.me/{bot}?start={code}"),
    })
    .map(IntoResponse::into_response)
}

async fn unlink_telegram(
    Actor { user, session, ip }: Actor,
    State(pool): State<PgPool>,
) -> Result<Response, AppError> {
    let mut tx = pool.begin().await?;
    sqlx::query!("delete from telegram_links where user_id = $1", user.id)
        .execute(&mut *tx)
        .await?;
    audit::record(
        &mut *tx,
        Event {
            actor_id: Some(user.id),
            action: "telegram_unlinked",
            entity: "user",
            entity_id: Some(user.id.to_string()),
            summary: String::new(),
            ip,
        },
    )
    .await?;
    tx.commit().await?;
    flash(&session, "telegram-unlinked", "").await?;
    Ok(Redirect::to("/account#notifications").into_response())
}

pub struct OutboxLine {
    pub id: i64,
    pub channel: String,
    pub recipient: String,
    pub subject: String,
    pub status: String,
    pub attempts: i32,
    pub last_error: String,
    pub created_at: OffsetDateTime,
}

impl OutboxLine {
    pub fn at_text(&self) -> String {
        format::timestamp(self.created_at)
    }
}

#[derive(Template)]
#[template(path = "notifications/outbox.html")]
struct OutboxPage {
    ctx: Ctx,
    lines: Vec<OutboxLine>,
}

/// The latest messages, failed ones first.
async fn outbox(
    ctx: Ctx,
    user: CurrentUser,
    State(pool): State<PgPool>,
) -> Result<Response, AppError> {
    require(&user, Action::Administer, Scope::Anything)?;
    let lines = sqlx::query_as!(
        OutboxLine,
        "select id, channel, recipient, subject, status, attempts, last_error, created_at
         from outbox order by status = 'failed' desc, created_at desc, id desc limit 200"
    )
    .fetch_all(&pool)
    .await?;
    render(&OutboxPage { ctx, lines }).map(IntoResponse::into_response)
}

/// Sends a failed message again, from its first attempt.
async fn retry(
    Actor { user, session, ip }: Actor,
    State(pool): State<PgPool>,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    require(&user, Action::Administer, Scope::Anything)?;
    let mut tx = pool.begin().await?;
    let retried = sqlx::query!(
        "update outbox set status = 'pending', attempts = 0, next_attempt_at = now()
         where id = $1 and status = 'failed'",
        id
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if retried == 0 {
        return Err(AppError::IllegalTransition);
    }
    audit::record(
        &mut *tx,
        Event {
            actor_id: Some(user.id),
            action: "outbox_retried",
            entity: "outbox",
            entity_id: Some(id.to_string()),
            summary: String::new(),
            ip,
        },
    )
    .await?;
    tx.commit().await?;
    flash(&session, "saved", "").await?;
    Ok(Redirect::to("/admin/outbox").into_response())
}
