//! Signing in and out, and `/account`, where everyone changes their own password.

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use sqlx::PgPool;
use tower_sessions::Session;

use crate::audit::{self, Event};
use crate::auth::password;
use crate::auth::session::{self, CurrentUser, local_path};
use crate::error::{AppError, error_page, render};
use crate::state::{AppState, Settings};
use crate::web::forms::{FieldErrors, Form};
use crate::web::{Actor, ClientIp, Ctx, csrf, flash};

/// Failed sign-ins in a row that lock an account…
pub const MAX_FAILURES: i32 = 5;
/// …for this long.
pub const LOCKOUT_MINUTES: i32 = 15;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_form))
        .route("/logout", post(logout))
        .route("/account", get(account))
        .route("/account/password", post(change_password))
}

#[derive(Template)]
#[template(path = "auth/login.html")]
struct LoginPage {
    ctx: Ctx,
    email: String,
    failed: bool,
    /// The page to open after signing in.
    next: String,
    /// Serving the demo: its sign-ins are in the terminal.
    demo: bool,
}

/// Where to go once signed in: the page asked for, if it is one of ours.
#[derive(Debug, Default, Deserialize)]
pub struct Next {
    #[serde(default)]
    next: String,
}

impl Next {
    fn destination(&self) -> &str {
        local_path(&self.next).unwrap_or("/")
    }
}

async fn login_form(
    ctx: Ctx,
    State(settings): State<Arc<Settings>>,
    Query(next): Query<Next>,
) -> Result<Response, AppError> {
    if ctx.user.is_some() {
        return Ok(Redirect::to(next.destination()).into_response());
    }
    Ok(render(&LoginPage {
        ctx,
        email: String::new(),
        failed: false,
        next: local_path(&next.next).unwrap_or_default().to_owned(),
        demo: settings.demo,
    })?
    .into_response())
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

/// Signs in. An unknown e-mail, a wrong password, a deactivated or a locked
/// account all get the same answer, so that none can be told from another.
pub async fn login(
    ctx: Ctx,
    session: Session,
    ClientIp(ip): ClientIp,
    State(pool): State<PgPool>,
    State(settings): State<Arc<Settings>>,
    Form(form): Form<LoginForm>,
) -> Result<Response, AppError> {
    let email = form.email.trim().to_lowercase();
    let account = sqlx::query!(
        r#"select id, password_hash, active, coalesce(locked_until > now(), false) as "locked!"
           from users where lower(email) = $1"#,
        email
    )
    .fetch_optional(&pool)
    .await?;
    let stored_hash = account
        .as_ref()
        .map(|account| account.password_hash.clone());
    let password_ok = password::verify(form.password, stored_hash).await?;
    match account {
        Some(account) if password_ok && account.active && !account.locked => {
            sqlx::query!(
                "update users set failed_sign_ins = 0, locked_until = null where id = $1",
                account.id
            )
            .execute(&pool)
            .await?;
            audit::record(
                &pool,
                sign_in_event(Some(account.id), "sign_in", &email, ip),
            )
            .await?;
            session::sign_in(&session, account.id, &account.password_hash).await?;
            csrf::renew_token(&session).await?;
            let next = Next { next: form.next };
            Ok(Redirect::to(next.destination()).into_response())
        }
        account => {
            let account_id = account.map(|account| account.id);
            if let Some(id) = account_id {
                record_failure(&pool, id).await?;
            }
            audit::record(
                &pool,
                sign_in_event(account_id, "sign_in_failed", &email, ip),
            )
            .await?;
            let page = render(&LoginPage {
                ctx,
                email: form.email,
                failed: true,
                next: local_path(&form.next).unwrap_or_default().to_owned(),
                demo: settings.demo,
            })?;
            Ok((StatusCode::UNAUTHORIZED, page).into_response())
        }
    }
}

fn sign_in_event(
    actor_id: Option<i64>,
    action: &'static str,
    email: &str,
    ip: Option<String>,
) -> Event<'static> {
    Event {
        actor_id,
        action,
        entity: "user",
        entity_id: actor_id.map(|id| id.to_string()),
        summary: email.chars().take(254).collect(),
        ip,
    }
}

/// Counts a failure; the `MAX_FAILURES`th in a row locks the account.
async fn record_failure(pool: &PgPool, user_id: i64) -> Result<(), AppError> {
    sqlx::query!(
        "update users set
             failed_sign_ins = case when failed_sign_ins + 1 >= $2 then 0 else failed_sign_ins + 1 end,
             locked_until = case when failed_sign_ins + 1 >= $2
                                 then now() + make_interval(mins => $3) else locked_until end
         where id = $1",
        user_id,
        MAX_FAILURES,
        LOCKOUT_MINUTES,
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Ends the session on the server, audited. When the database cannot be
/// reached the session cannot be ended: the person is told so plainly (503),
/// and the failure is logged.
async fn logout(
    user: Option<CurrentUser>,
    session: Session,
    ClientIp(ip): ClientIp,
    State(pool): State<PgPool>,
) -> Response {
    if let Err(error) = session::sign_out(&session).await {
        tracing::warn!(
            user = user.as_ref().map(|user| user.id),
            %error,
            "sign-out failed: the session is not ended"
        );
        return error_page(
            StatusCode::SERVICE_UNAVAILABLE,
            "error-sign-out-failed",
            None,
        );
    }
    if let Some(user) = user {
        let event = Event {
            actor_id: Some(user.id),
            action: "signed_out",
            entity: "user",
            entity_id: Some(user.id.to_string()),
            summary: user.email.clone(),
            ip,
        };
        // The session is ended whatever happens to its audit line.
        if let Err(error) = audit::record(&pool, event).await {
            tracing::warn!(user = user.id, %error, "sign-out not audited");
        }
    }
    Redirect::to("/login").into_response()
}

#[derive(Template)]
#[template(path = "auth/account.html")]
struct AccountPage {
    ctx: Ctx,
    user: CurrentUser,
    errors: FieldErrors,
    /// How the user is told (`notifications::MODES`), and whether Telegram is offered.
    told: crate::notifications::Choices,
    modes: [&'static str; 3],
    telegram: bool,
}

async fn account(
    ctx: Ctx,
    user: CurrentUser,
    State(state): State<AppState>,
) -> Result<impl IntoResponse, AppError> {
    render(&AccountPage {
        ctx,
        told: crate::notifications::choices(&state.pool, user.id).await?,
        user,
        errors: FieldErrors::default(),
        modes: crate::notifications::MODES,
        telegram: state.settings.telegram_bot.is_some(),
    })
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    confirm_password: String,
}

/// Changes the user's own password; their other sessions end with it.
async fn change_password(
    ctx: Ctx,
    Actor { user, session, ip }: Actor,
    State(state): State<AppState>,
    Form(form): Form<PasswordForm>,
) -> Result<Response, AppError> {
    let (pool, settings) = (&state.pool, &state.settings);
    let stored = sqlx::query_scalar!("select password_hash from users where id = $1", user.id)
        .fetch_one(pool)
        .await?;
    let mut errors = FieldErrors::default();
    if !password::verify(form.current_password, Some(stored)).await? {
        errors.add("current_password", "account-current-password-wrong");
    }
    if let Some(weakness) = password::weakness(&form.new_password, &user.email) {
        errors.add("new_password", weakness);
    } else if form.new_password != form.confirm_password {
        errors.add("confirm_password", "account-passwords-differ");
    }
    if !errors.is_empty() {
        return Err(AppError::invalid(&AccountPage {
            ctx,
            told: crate::notifications::choices(pool, user.id).await?,
            user,
            errors,
            modes: crate::notifications::MODES,
            telegram: settings.telegram_bot.is_some(),
        }));
    }
    let hash = password::hash(form.new_password).await?;
    let mut tx = pool.begin().await?;
    sqlx::query!(
        "update users set password_hash = $1, version = version + 1 where id = $2",
        hash,
        user.id
    )
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut *tx,
        Event {
            actor_id: Some(user.id),
            action: "password_changed",
            entity: "user",
            entity_id: Some(user.id.to_string()),
            summary: user.email.clone(),
            ip,
        },
    )
    .await?;
    tx.commit().await?;
    session::keep_after_password_change(&session, &hash).await?;
    flash(&session, "account-password-changed", "").await?;
    Ok(Redirect::to("/account").into_response())
}
