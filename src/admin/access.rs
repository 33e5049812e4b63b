//! Access to an account: deactivating and reactivating it, and resetting its
//! password to a generated one shown once to the administrator.

use axum::extract::{Path, State};
use axum::response::{Redirect, Response};
use sqlx::PgPool;
use tower_sessions::Session;

use super::require_admin;
use super::users::{PasswordShown, user_event};
use crate::audit;
use crate::auth::password;
use crate::auth::session::CurrentUser;
use crate::error::AppError;
use crate::web::{ClientIp, Ctx, flash};

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

/// Gives the user a new generated password, shown once to the administrator,
/// and lifts any lock-out. Their sessions end, since the fingerprint changes.
pub(super) async fn reset_password(
    ctx: Ctx,
    admin: CurrentUser,
    ClientIp(ip): ClientIp,
    State(pool): State<PgPool>,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    require_admin(&admin)?;
    let new_password = password::generate();
    let hash = password::hash(new_password.clone()).await?;
    let mut tx = pool.begin().await?;
    let email = sqlx::query_scalar!(
        "update users set password_hash = $1, failed_sign_ins = 0, locked_until = null,
                          version = version + 1
         where id = $2 returning email",
        hash,
        id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(AppError::NotFound)?;
    audit::record(
        &mut *tx,
        user_event(admin.id, "password_reset", id, email.clone(), ip),
    )
    .await?;
    tx.commit().await?;
    PasswordShown {
        ctx,
        heading: "user-password-reset",
        user_id: id,
        email,
        password: new_password,
    }
    .respond()
}
