//! Who is asking: a personal access token sent as `Authorization: Bearer`,
//! its user, its scope, and its share of requests. No cookie is read and no
//! CSRF token asked for: a token is not sent by a browser on its own.

use std::num::NonZeroU32;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::problem::Problem;
use crate::auth::session::{CurrentUser, active_user};
use crate::db::cache::KeptMap;
use crate::db::changes::{AuthChange, Changes};
use crate::i18n::Lang;
use crate::state::AppState;

/// What a token may do besides reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenScope {
    Read,
    Write,
}

impl TokenScope {
    pub fn parse(text: &str) -> Option<TokenScope> {
        match text {
            "read" => Some(TokenScope::Read),
            "write" => Some(TokenScope::Write),
            _ => None,
        }
    }
}

/// The token's owner, as the policy sees them, and what the token allows.
#[derive(Debug, Clone)]
pub struct ApiUser {
    pub user: CurrentUser,
    pub token_id: i64,
    pub scope: TokenScope,
}

/// The token's owner and their language, set once the token is read:
/// `api::answer` tells problems in that language and records refusals under
/// that user.
#[derive(Debug, Clone, Default)]
pub struct TokenOwner(pub Arc<OnceLock<(i64, Lang)>>);

/// The SHA-256 of a token's secret: all that is kept of it.
pub fn secret_hash(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// What is kept of a token in use, by the hash of its secret.
#[derive(Debug, Clone)]
struct KnownToken {
    id: i64,
    user_id: i64,
    scope: String,
    expires_on: time::Date,
    last_used_at: Option<OffsetDateTime>,
}

type KeptTokens = KeptMap<Vec<u8>, KnownToken>;

/// Tokens are forgotten with their user: a token's change (revoked,
/// shortened, used) is announced as its user's (migration 22).
fn kept_tokens(name: &'static str, changes: &Changes) -> KeptTokens {
    let kept = KeptTokens::new(name, changes);
    let forgetful = kept.clone();
    changes.on_auth_change(move |change| match change {
        AuthChange::User(id) => forgetful.forget(|_, token| token.user_id == *id),
        AuthChange::AllUsers | AuthChange::Everything => forgetful.forget(|_, _| true),
        AuthChange::Session(_) => {}
    });
    kept
}

/// The unrevoked token whose secret has this hash, from memory when kept.
async fn known_token(state: &AppState, hash: Vec<u8>) -> Result<Option<KnownToken>, Problem> {
    let tokens = state.kept("api_tokens", kept_tokens);
    if let Some(token) = tokens.get(&hash) {
        return Ok(Some(token));
    }
    let epoch = tokens.epoch();
    let token = sqlx::query_as!(
        KnownToken,
        "select id, user_id, scope, expires_on, last_used_at
         from api_tokens where secret_hash = $1 and revoked_at is null",
        hash,
    )
    .fetch_optional(&state.pool)
    .await?;
    if let Some(token) = &token {
        tokens.keep_read(epoch, hash, token.clone());
    }
    Ok(token)
}

/// A token's last use is written at most this often, not on every request.
const LAST_USED_PRECISION: time::Duration = time::Duration::minutes(1);

type Limiter = Arc<DefaultKeyedRateLimiter<i64>>;

/// Requests per token: a burst of `api_burst`, refilled at two a second.
fn limiter(state: &AppState) -> Limiter {
    let burst = NonZeroU32::new(state.settings.api_burst).unwrap_or(NonZeroU32::MIN);
    state.kept("api_rate_limits", |_, _| {
        Arc::new(governor::RateLimiter::keyed(
            Quota::with_period(Duration::from_millis(500))
                .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
                .allow_burst(burst),
        ))
    })
}

impl FromRequestParts<AppState> for ApiUser {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        let secret = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|secret| !secret.is_empty())
            .ok_or_else(Problem::unauthorized)?;
        let token = known_token(state, secret_hash(secret))
            .await?
            .filter(|token| token.expires_on >= crate::format::today())
            .ok_or_else(Problem::unauthorized)?;
        let user = active_user(state, token.user_id)
            .await?
            .ok_or_else(Problem::unauthorized)?;
        if let Some(slot) = parts.extensions.get::<TokenOwner>() {
            slot.0.set((user.id, user.language)).ok();
        }
        let scope = TokenScope::parse(&token.scope).ok_or_else(Problem::unauthorized)?;
        let limits = limiter(state);
        if let Err(not_until) = limits.check_key(&token.id) {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            return Err(
                Problem::new(axum::http::StatusCode::TOO_MANY_REQUESTS, "rate_limited")
                    .retry_after(wait.as_secs().max(1)),
            );
        }
        let now = OffsetDateTime::now_utc();
        if token
            .last_used_at
            .is_none_or(|used| now - used > LAST_USED_PRECISION)
        {
            sqlx::query!(
                "update api_tokens set last_used_at = now() where id = $1",
                token.id
            )
            .execute(&state.pool)
            .await?;
        }
        Ok(ApiUser {
            user,
            token_id: token.id,
            scope,
        })
    }
}
