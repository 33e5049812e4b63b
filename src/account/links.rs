//! Links that let a person set their own password, sent by e-mail: an
//! invitation when an administrator creates their account (7 days), and a
//! password reset they ask for at `/password-reset` (30 minutes). Only a
//! token's SHA-256 is kept; a link works once; setting the password ends the
//! account's other sessions (they are bound to the password, `session`).
//! Asking for a reset always gets the same answer, whether or not the address
//! has an account, and is limited per client address and per account.

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use rand::RngCore as _;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use tower_sessions::Session;

use crate::audit::{self, Event};
use crate::auth::password;
use crate::error::{AppError, render};
use crate::i18n::Lang;
use crate::notifications::outbox::{self, Written};
use crate::state::AppState;
use crate::web::forms::{FieldErrors, Form};
use crate::web::{ClientIp, Ctx, flash};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/password-reset", get(request_form).post(request))
        .route("/password-reset/{token}", get(reset_form).post(reset))
        .route("/invitation/{token}", get(invitation_form).post(accept))
}

/// What a link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Invitation,
    Reset,
}

impl Purpose {
    fn code(self) -> &'static str {
        match self {
            Purpose::Invitation => "invitation",
            Purpose::Reset => "reset",
        }
    }

    fn lifetime_minutes(self) -> i32 {
        match self {
            Purpose::Invitation => 7 * 24 * 60,
            Purpose::Reset => 30,
        }
    }

    fn path(self) -> &'static str {
        match self {
            Purpose::Invitation => "/invitation",
            Purpose::Reset => "/password-reset",
        }
    }
}

/// Resets one account may ask for in an hour, and one client address.
const RESETS_PER_ACCOUNT: i64 = 3;
const RESETS_PER_ADDRESS: i64 = 10;

fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Makes a link for the user and queues the e-mail that carries it, in their
/// language, inside the caller's transaction.
pub async fn send(
    tx: &mut sqlx::PgConnection,
    user_id: i64,
    purpose: Purpose,
) -> Result<(), sqlx::Error> {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let token: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
    let user = sqlx::query!(
        "insert into account_tokens (user_id, purpose, token_hash, expires_at)
         values ($1, $2, $3, now() + make_interval(mins => $4))
         returning (select email from users where id = $1) as \"email!\",
                   (select preferred_language from users where id = $1) as \"language!\"",
        user_id,
        purpose.code(),
        token_hash(&token),
        purpose.lifetime_minutes(),
    )
    .fetch_one(&mut *tx)
    .await?;
    let lang = Lang::parse(&user.language).unwrap_or_default();
    let key = |part: &str| format!("link-{}-{part}", purpose.code());
    let link = format!("{}/{token}", purpose.path());
    let (subject, body, footer) = (
        lang.t(&key("subject")),
        lang.t(&key("body")),
        lang.t(&key("footer")),
    );
    let message = Written {
        subject: &subject,
        body: &body,
        link: &link,
        footer: &footer,
        secret: true,
    };
    outbox::queue_email(tx, user_id, &user.email, &message).await
}

#[derive(Template)]
#[template(path = "auth/reset_request.html")]
struct RequestPage {
    ctx: Ctx,
    email: String,
    /// The request was taken: the same answer whatever the address.
    sent: bool,
}

async fn request_form(ctx: Ctx) -> Result<Response, AppError> {
    render(&RequestPage {
        ctx,
        email: String::new(),
        sent: false,
    })
    .map(IntoResponse::into_response)
}

#[derive(Debug, Default, Deserialize)]
pub struct RequestForm {
    #[serde(default)]
    email: String,
}

async fn request(
    ctx: Ctx,
    ClientIp(ip): ClientIp,
    State(pool): State<PgPool>,
    Form(form): Form<RequestForm>,
) -> Result<Response, AppError> {
    let email = form.email.trim().to_lowercase();
    let mut tx = pool.begin().await?;
    let asked = sqlx::query!(
        r#"select u.id as "id?",
                  (select count(*) from audit_events e where e.action = 'password_reset_requested'
                   and e.ip = $2 and e.at > now() - interval '1 hour') as "from_address!",
                  (select count(*) from account_tokens t where t.user_id = u.id and t.purpose = 'reset'
                   and t.created_at > now() - interval '1 hour') as "for_account!"
           from (select 1) one left join users u on u.email = $1 and u.active"#,
        email,
        ip.clone().unwrap_or_default(),
    )
    .fetch_one(&mut *tx)
    .await?;
    let within_limits =
        asked.from_address < RESETS_PER_ADDRESS && asked.for_account < RESETS_PER_ACCOUNT;
    if let (Some(id), true) = (asked.id, within_limits) {
        send(&mut tx, id, Purpose::Reset).await?;
    }
    audit::record(
        &mut *tx,
        Event {
            actor_id: None,
            action: "password_reset_requested",
            entity: "user",
            entity_id: asked.id.filter(|_| within_limits).map(|id| id.to_string()),
            summary: if within_limits {
                String::new()
            } else {
                "over the limit".to_owned()
            },
            ip,
        },
    )
    .await?;
    tx.commit().await?;
    render(&RequestPage {
        ctx,
        email: form.email,
        sent: true,
    })
    .map(IntoResponse::into_response)
}

#[derive(Template)]
#[template(path = "auth/set_password.html")]
struct SetPasswordPage {
    ctx: Ctx,
    action: String,
    /// The account the link is for, or `None` when the link no longer works.
    email: Option<String>,
    errors: FieldErrors,
}

impl SetPasswordPage {
    /// The form, or (410) the page saying the link no longer works.
    fn respond(self, status: StatusCode) -> Result<Response, AppError> {
        Ok((status, render(&self)?).into_response())
    }
}

/// The account a link opens while it still works; inside a transaction the
/// link is locked, and a second use at the same moment finds none.
async fn holder(
    executor: impl sqlx::PgExecutor<'_>,
    purpose: Purpose,
    token: &str,
) -> Result<Option<(i64, i64, String)>, sqlx::Error> {
    let row = sqlx::query!(
        "select t.id, t.user_id, u.email from account_tokens t join users u on u.id = t.user_id
         where t.token_hash = $1 and t.purpose = $2 and t.used_at is null and t.expires_at > now() and u.active
         for update of t skip locked",
        token_hash(token),
        purpose.code(),
    )
    .fetch_optional(executor)
    .await?;
    Ok(row.map(|row| (row.id, row.user_id, row.email)))
}

async fn show_form(
    ctx: Ctx,
    pool: &PgPool,
    purpose: Purpose,
    token: &str,
) -> Result<Response, AppError> {
    let email = holder(pool, purpose, token)
        .await?
        .map(|(_, _, email)| email);
    let status = if email.is_some() {
        StatusCode::OK
    } else {
        StatusCode::GONE
    };
    SetPasswordPage {
        ctx,
        action: format!("{}/{token}", purpose.path()),
        email,
        errors: FieldErrors::default(),
    }
    .respond(status)
}

async fn reset_form(
    ctx: Ctx,
    State(pool): State<PgPool>,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    show_form(ctx, &pool, Purpose::Reset, &token).await
}

async fn invitation_form(
    ctx: Ctx,
    State(pool): State<PgPool>,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    show_form(ctx, &pool, Purpose::Invitation, &token).await
}

#[derive(Debug, Default, Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    confirm_password: String,
}

/// Sets the password through a working link, once.
async fn set_password(
    ctx: Ctx,
    session: &Session,
    ip: Option<String>,
    pool: &PgPool,
    (purpose, token): (Purpose, &str),
    form: PasswordForm,
) -> Result<Response, AppError> {
    let mut tx = pool.begin().await?;
    let action = format!("{}/{token}", purpose.path());
    let Some((token_id, user_id, email)) = holder(&mut *tx, purpose, token).await? else {
        let page = SetPasswordPage {
            ctx,
            action,
            email: None,
            errors: FieldErrors::default(),
        };
        return page.respond(StatusCode::GONE);
    };
    let mut errors = FieldErrors::default();
    if let Some(weakness) = password::weakness(&form.new_password, &email) {
        errors.add("new_password", weakness);
    } else if form.new_password != form.confirm_password {
        errors.add("confirm_password", "account-passwords-differ");
    }
    if !errors.is_empty() {
        // Let go of the link's row before answering: a rollback left to the
        // dropped transaction may still hold it when the person tries again,
        // and `skip locked` would then call the link used.
        tx.rollback().await?;
        let page = SetPasswordPage {
            ctx,
            action,
            email: Some(email),
            errors,
        };
        return Err(AppError::invalid(&page));
    }
    let hash = password::hash(form.new_password).await?;
    sqlx::query!(
        "update users set password_hash = $2, locked_until = null, failed_sign_ins = 0, version = version + 1 where id = $1",
        user_id,
        hash
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "update account_tokens set used_at = now() where user_id = $1 and purpose = $2 and used_at is null",
        user_id,
        purpose.code(),
    )
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut *tx,
        Event {
            actor_id: Some(user_id),
            action: match purpose {
                Purpose::Invitation => "invitation_accepted",
                Purpose::Reset => "password_reset",
            },
            entity: "user",
            entity_id: Some(user_id.to_string()),
            summary: format!("link {token_id}"),
            ip,
        },
    )
    .await?;
    tx.commit().await?;
    flash(session, "password-set", "").await?;
    Ok(Redirect::to("/login").into_response())
}

async fn reset(
    ctx: Ctx,
    session: Session,
    ClientIp(ip): ClientIp,
    State(pool): State<PgPool>,
    Path(token): Path<String>,
    Form(form): Form<PasswordForm>,
) -> Result<Response, AppError> {
    set_password(ctx, &session, ip, &pool, (Purpose::Reset, &token), form).await
}

async fn accept(
    ctx: Ctx,
    session: Session,
    ClientIp(ip): ClientIp,
    State(pool): State<PgPool>,
    Path(token): Path<String>,
    Form(form): Form<PasswordForm>,
) -> Result<Response, AppError> {
    set_password(
        ctx,
        &session,
        ip,
        &pool,
        (Purpose::Invitation, &token),
        form,
    )
    .await
}
