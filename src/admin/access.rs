//! Access to an account: deactivating and reactivating it, and sending its
//! holder a link to set a new password.

use axum::extract::{Path, State};
use axum::response::Redirect;
use sqlx::PgPool;
use tower_sessions::Session;

use super::require_admin;
use super::users::user_event;
use crate::account::links::{self, Purpose};
use crate::audit;
use crate::auth::session::CurrentUser;
use crate::error::AppError;
use crate::web::{ClientIp, flash};

pub(super) async fn deactivate(
    admin: CurrentUser,
    session: Session,
    ClientIp(ip): ClientIp,
    State(pool): State<PgPool>,
    Path(id): Path<i64>,
) -> Result<Redirect, AppError> {
    require_admin(&admin)?;
    if id == admin.id {
        flash(&session, "user-cannot-deactivate-self", "").await?;
        return Ok(Redirect::to(&format!("/admin/users/{id}")));
    }
    set_active(&pool, &admin, id, false, ip).await?;
    flash(&session, "user-deactivated", "").await?;
    Ok(Redirect::to(&format!("/admin/users/{id}")))
}

pub(super) async fn activate(
    admin: CurrentUser,
    session: Session,
    ClientIp(ip): ClientIp,
    State(pool): State<PgPool>,
    Path(id): Path<i64>,
) -> Result<Redirect, AppError> {
    require_admin(&admin)?;
    set_active(&pool, &admin, id, true, ip).await?;
    flash(&session, "user-activated", "").await?;
    Ok(Redirect::to(&format!("/admin/users/{id}")))
}

async fn set_active(
    pool: &PgPool,
    admin: &CurrentUser,
    id: i64,
    active: bool,
    ip: Option<String>,
) -> Result<(), AppError> {
    let mut tx = pool.begin().await?;
    let email = sqlx::query_scalar!(
        "update users set active = $1, version = version + 1 where id = $2 returning email",
        active,
        id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(AppError::NotFound)?;
    // A deactivated user's API tokens end with their sessions, for good: a
    // later activation does not bring them back (docs/api.md).
    if !active {
        sqlx::query!(
            "update api_tokens set revoked_at = now() where user_id = $1 and revoked_at is null",
            id
        )
        .execute(&mut *tx)
        .await?;
    }
    audit::record(
        &mut *tx,
        user_event(
            admin.id,
            if active {
                "user_activated"
            } else {
                "user_deactivated"
            },
            id,
            email,
            ip,
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Sends the user a link to set a new password themselves (30 minutes), and
/// lifts any lock-out. Their password works until they use the link.
pub(super) async fn reset_password(
    admin: CurrentUser,
    session: Session,
    ClientIp(ip): ClientIp,
    State(pool): State<PgPool>,
    Path(id): Path<i64>,
) -> Result<Redirect, AppError> {
    require_admin(&admin)?;
    let mut tx = pool.begin().await?;
    let email = sqlx::query_scalar!(
        "update users set failed_sign_ins = 0, locked_until = null, version = version + 1
         where id = $1 returning email",
        id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(AppError::NotFound)?;
    links::send(&mut tx, id, Purpose::Reset).await?;
    audit::record(
        &mut *tx,
        user_event(admin.id, "password_reset_sent", id, email, ip),
    )
    .await?;
    tx.commit().await?;
    flash(&session, "user-reset-sent", "").await?;
    Ok(Redirect::to(&format!("/admin/users/{id}")))
}
