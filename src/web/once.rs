//! Forms sent twice change things once. A double click on Save, Back and Save
//! again, or a slow connection's retry each send the same form again; without
//! care each would create another record, and every total would count it
//! twice. So every form that creates something carries a random key
//! (`FIELD`, made as the form is drawn), and the write claims it inside its own
//! transaction. A second POST with the same key finds it claimed (waiting, if
//! the first is still saving, until it commits or rolls back), changes
//! nothing, and is sent where the first one led, told it was saved already.
//! Keys are kept in PostgreSQL, so this holds across instances.

use axum::response::{IntoResponse, Redirect, Response};
use rand::RngCore as _;
use sqlx::PgPool;
use tower_sessions::Session;

use crate::error::AppError;

/// The form field that carries the key.
pub const FIELD: &str = "once_key";

/// A fresh key, for a form about to be drawn.
pub fn fresh() -> String {
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// The key a form was sent with, if it carries a well-formed one.
pub fn key_of(pairs: &[(String, String)]) -> Option<String> {
    pairs
        .iter()
        .find(|(name, _)| name == FIELD)
        .and_then(|(_, value)| key(value))
}

/// `value` as a key, if it is a well-formed one (a form read into a struct).
pub fn key(value: &str) -> Option<String> {
    let value = value.trim();
    (value.len() == 32 && value.bytes().all(|byte| byte.is_ascii_hexdigit()))
        .then(|| value.to_owned())
}

/// Claims `key` for `user_id` in the transaction of the write it guards:
/// `None` when this is the first time, or where the first POST led.
pub async fn claim(
    tx: &mut sqlx::PgConnection,
    key: Option<&str>,
    user_id: i64,
) -> Result<Option<String>, sqlx::Error> {
    let Some(key) = key else {
        return Ok(None);
    };
    let fresh = sqlx::query_scalar!(
        "insert into once_keys (key, user_id) values ($1, $2) on conflict (key) do nothing returning key",
        key,
        user_id
    )
    .fetch_optional(&mut *tx)
    .await?
    .is_some();
    if fresh {
        // A week is longer than any form stays open.
        sqlx::query!(
            "delete from once_keys where user_id = $1 and claimed_at < now() - interval '7 days'",
            user_id
        )
        .execute(&mut *tx)
        .await?;
        return Ok(None);
    }
    let location = location_of(&mut *tx, key, user_id).await?;
    Ok(Some(location.unwrap_or_else(|| "/".to_owned())))
}

/// Where the write that claimed `key` led, if `user_id` claimed it: another
/// user's key (a guess) leads nowhere of theirs.
async fn location_of(
    executor: impl sqlx::PgExecutor<'_>,
    key: &str,
    user_id: i64,
) -> Result<Option<String>, sqlx::Error> {
    Ok(sqlx::query_scalar!(
        "select location from once_keys where key = $1 and user_id = $2",
        key,
        user_id
    )
    .fetch_optional(executor)
    .await?
    .flatten())
}

/// Where the form sent with `key` led, if it was saved already: for a form
/// whose checks would refuse it once saved (a list endorsed already), read
/// before them.
pub async fn led_before(
    pool: &PgPool,
    key: Option<&str>,
    user_id: i64,
) -> Result<Option<String>, sqlx::Error> {
    match key {
        Some(key) => location_of(pool, key, user_id).await,
        None => Ok(None),
    }
}

/// Notes where the write that claimed `key` leads, for a second POST.
pub async fn done(
    tx: &mut sqlx::PgConnection,
    key: Option<&str>,
    location: &str,
) -> Result<(), sqlx::Error> {
    if let Some(key) = key {
        sqlx::query!(
            "update once_keys set location = $2 where key = $1",
            key,
            location
        )
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

/// The answer to a form sent again: where the first one led, and a line
/// saying it was saved already.
pub async fn already_saved(session: &Session, location: &str) -> Result<Response, AppError> {
    crate::web::flash(session, "already-saved", "").await?;
    Ok(Redirect::to(location).into_response())
}

/// A create that happens once per key: begins the transaction, claims the
/// key, runs `write` (which answers where the new record is), notes it,
/// commits and leads there with the `saved` message. Sent again, it leads to
/// what the first made.
pub async fn write_once(
    pool: &PgPool,
    session: &Session,
    (key, user_id): (Option<String>, i64),
    saved: &str,
    write: impl AsyncFnOnce(&mut sqlx::PgConnection) -> Result<String, AppError>,
) -> Result<Response, AppError> {
    let mut tx = pool.begin().await?;
    if let Some(first) = claim(&mut tx, key.as_deref(), user_id).await? {
        return already_saved(session, &first).await;
    }
    let location = write(&mut tx).await?;
    done(&mut tx, key.as_deref(), &location).await?;
    tx.commit().await?;
    crate::web::flash(session, saved, "").await?;
    Ok(Redirect::to(&location).into_response())
}
