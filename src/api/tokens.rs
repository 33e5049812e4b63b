//! `/account/tokens`: a user's personal access tokens for the API. A token
//! is named, reads or reads and writes, and ends on a day; its secret is shown
//! once, on the page that made it, and only its hash is kept. Made and revoked
//! with an audit entry each.

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use rand::RngCore as _;
use serde::Deserialize;
use sqlx::PgPool;
use time::{Date, OffsetDateTime};

use super::auth::{TokenScope, secret_hash};
use crate::audit::{self, Event};
use crate::auth::policy::{self, Action, Scope};
use crate::auth::session::CurrentUser;
use crate::error::{AppError, render};
use crate::state::AppState;
use crate::web::forms::{self, FieldErrors, Form};
use crate::web::{Actor, Ctx, flash, once};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/account/tokens", get(list).post(create))
        .route("/account/tokens/{id}/revoke", post(revoke))
}

/// The longest a token may last: a year, then a new one is made.
const LONGEST_DAYS: i64 = 366;
/// What the form proposes: three months.
const PROPOSED_DAYS: i64 = 90;

pub struct TokenLine {
    pub id: i64,
    pub name: String,
    pub scope: String,
    pub created_at: OffsetDateTime,
    pub expires_on: Date,
    pub last_used_at: Option<OffsetDateTime>,
    pub revoked_at: Option<OffsetDateTime>,
}

impl TokenLine {
    /// `active`, `expired` or `revoked`, for the list.
    pub fn state(&self, today: Date) -> &'static str {
        if self.revoked_at.is_some() {
            "revoked"
        } else if self.expires_on < today {
            "expired"
        } else {
            "active"
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct TokenForm {
    name: String,
    scope: String,
    expires_on: String,
    once_key: String,
}

#[derive(Template)]
#[template(path = "api/tokens.html")]
struct TokensPage {
    ctx: Ctx,
    tokens: Vec<TokenLine>,
    form: TokenForm,
    errors: FieldErrors,
    /// May this user's tokens write field records?
    can_write: bool,
    /// The secret of the token just made: shown this once.
    secret: Option<String>,
    today: Date,
}

impl TokensPage {
    fn timestamp(&self, at: &Option<OffsetDateTime>) -> String {
        at.map_or_else(|| "–".to_owned(), crate::format::timestamp)
    }
}

/// Write tokens are for those who record field work: the policy's answer to
/// whether they may start an activity at all.
fn can_write(user: &CurrentUser) -> bool {
    policy::allows(user, Action::RecordActivity, Scope::Anything)
}

async fn tokens_of(pool: &PgPool, user_id: i64) -> Result<Vec<TokenLine>, AppError> {
    Ok(sqlx::query_as!(
        TokenLine,
        "select id, name, scope, created_at, expires_on, last_used_at, revoked_at
         from api_tokens where user_id = $1 order by created_at desc, id desc",
        user_id
    )
    .fetch_all(pool)
    .await?)
}

async fn page(
    ctx: Ctx,
    user: &CurrentUser,
    pool: &PgPool,
    form: TokenForm,
    errors: FieldErrors,
    secret: Option<String>,
) -> Result<TokensPage, AppError> {
    Ok(TokensPage {
        ctx,
        tokens: tokens_of(pool, user.id).await?,
        form,
        errors,
        can_write: can_write(user),
        secret,
        today: crate::format::today(),
    })
}

async fn list(
    ctx: Ctx,
    user: CurrentUser,
    State(pool): State<PgPool>,
) -> Result<Response, AppError> {
    let today = crate::format::today();
    let form = TokenForm {
        scope: "read".to_owned(),
        expires_on: (today + time::Duration::days(PROPOSED_DAYS)).to_string(),
        ..TokenForm::default()
    };
    let page = page(ctx, &user, &pool, form, FieldErrors::default(), None).await?;
    Ok(render(&page)?.into_response())
}

struct ValidToken {
    name: String,
    scope: TokenScope,
    expires_on: Date,
}

impl TokenForm {
    fn parse(&self, user: &CurrentUser, today: Date) -> Result<ValidToken, FieldErrors> {
        let mut errors = FieldErrors::default();
        let name = self.name.trim();
        if name.is_empty() {
            errors.add("name", "error-required");
        } else if name.chars().count() > 100 {
            errors.add("name", "error-too-long");
        }
        let scope = match TokenScope::parse(&self.scope) {
            Some(TokenScope::Write) if !can_write(user) => {
                errors.add("scope", "api-token-write-refused");
                None
            }
            Some(scope) => Some(scope),
            None => {
                errors.add("scope", "error-choose");
                None
            }
        };
        let expires_on = forms::date(&mut errors, "expires_on", &self.expires_on);
        if let Some(day) = expires_on
            && (day < today || day > today + time::Duration::days(LONGEST_DAYS))
        {
            errors.add("expires_on", "api-token-expiry-range");
        }
        match (scope, expires_on) {
            (Some(scope), Some(expires_on)) if errors.is_empty() => Ok(ValidToken {
                name: name.to_owned(),
                scope,
                expires_on,
            }),
            _ => Err(errors),
        }
    }
}

/// A new secret: 32 random bytes, as hex after a prefix that says what it is.
fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let hex: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
    format!("samleng_{hex}")
}

async fn create(
    ctx: Ctx,
    Actor { user, session, ip }: Actor,
    State(pool): State<PgPool>,
    Form(form): Form<TokenForm>,
) -> Result<Response, AppError> {
    let today = crate::format::today();
    let valid = match form.parse(&user, today) {
        Ok(valid) => valid,
        Err(errors) => {
            let page = page(ctx, &user, &pool, form, errors, None).await?;
            return Err(AppError::invalid(&page));
        }
    };
    let key = once::key(&form.once_key);
    let mut tx = pool.begin().await?;
    if let Some(first) = once::claim(&mut tx, key.as_deref(), user.id).await? {
        // The secret was shown to the first request only.
        return once::already_saved(&session, &first).await;
    }
    let secret = new_secret();
    let id = sqlx::query_scalar!(
        "insert into api_tokens (user_id, name, scope, secret_hash, expires_on)
         values ($1, $2, $3, $4, $5) returning id",
        user.id,
        valid.name,
        match valid.scope {
            TokenScope::Read => "read",
            TokenScope::Write => "write",
        },
        secret_hash(&secret),
        valid.expires_on,
    )
    .fetch_one(&mut *tx)
    .await?;
    audit::record(
        &mut *tx,
        token_entry(&user, "api_token_created", id, &valid.name, ip),
    )
    .await?;
    once::done(&mut tx, key.as_deref(), "/account/tokens").await?;
    tx.commit().await?;
    let page = page(
        ctx,
        &user,
        &pool,
        TokenForm::default(),
        FieldErrors::default(),
        Some(secret),
    )
    .await?;
    Ok(render(&page)?.into_response())
}

fn token_entry(
    user: &CurrentUser,
    action: &'static str,
    id: i64,
    name: &str,
    ip: Option<String>,
) -> Event<'static> {
    Event {
        actor_id: Some(user.id),
        action,
        entity: "api_token",
        entity_id: Some(id.to_string()),
        summary: name.to_owned(),
        ip,
    }
}

/// Revokes one of the user's own tokens; another's is not found. Revoking
/// twice changes nothing the second time.
async fn revoke(
    Actor { user, session, ip }: Actor,
    State(pool): State<PgPool>,
    Path(id): Path<i64>,
) -> Result<Redirect, AppError> {
    let mut tx = pool.begin().await?;
    let token = sqlx::query!(
        "select name, revoked_at from api_tokens where id = $1 and user_id = $2 for update",
        id,
        user.id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(AppError::NotFound)?;
    if token.revoked_at.is_none() {
        sqlx::query!("update api_tokens set revoked_at = now() where id = $1", id)
            .execute(&mut *tx)
            .await?;
        audit::record(
            &mut *tx,
            token_entry(&user, "api_token_revoked", id, &token.name, ip),
        )
        .await?;
    }
    tx.commit().await?;
    flash(&session, "api-token-revoked", "").await?;
    Ok(Redirect::to("/account/tokens"))
}
