//! A file kept between its preview and its confirmation, read again and
//! checked against the data as it is now.

use std::collections::HashSet;

use super::check::{self, Checked};
use super::lookup::Lookup;
use super::sheet::{self, Table};
use crate::auth::session::CurrentUser;
use crate::error::AppError;
use sqlx::PgPool;

/// The submissions among `ids` that an earlier import brought in.
pub(super) async fn imported_before(
    executor: impl sqlx::PgExecutor<'_>,
    ids: &[String],
) -> Result<HashSet<String>, sqlx::Error> {
    let found = sqlx::query_scalar!(
        r#"select submission_uuid as "uuid!" from imported_rows where submission_uuid = any($1)"#,
        ids
    )
    .fetch_all(executor)
    .await?;
    Ok(found.into_iter().collect())
}

/// A kept import as its pages need it.
pub(super) struct Kept {
    pub id: i64,
    pub file_name: String,
    pub study_id: Option<i64>,
    pub confirmed_at: Option<time::OffsetDateTime>,
}

/// The import `id`, if `user` uploaded it: an import is its uploader's alone
/// until confirmed, and its page stays theirs.
pub(super) async fn kept(
    executor: impl sqlx::PgExecutor<'_>,
    id: i64,
    user: &CurrentUser,
) -> Result<Kept, AppError> {
    let row = sqlx::query_as!(
        Kept,
        "select id, file_name, study_id, confirmed_at from imports
         where id = $1 and uploaded_by = $2",
        id,
        user.id
    )
    .fetch_optional(executor)
    .await?;
    row.ok_or(AppError::NotFound)
}

/// Reads a kept file again and checks it against today's data. Its bytes
/// are read here alone: they never change, and the preview shown again
/// keeps what this found.
pub(super) async fn recheck(
    pool: &PgPool,
    executor: impl sqlx::PgExecutor<'_>,
    import: &Kept,
    user: &CurrentUser,
) -> Result<(Table, Lookup, Checked), AppError> {
    let content = sqlx::query_scalar!("select content from imports where id = $1", import.id)
        .fetch_one(pool)
        .await?;
    let table = sheet::read_apart(content)
        .await
        .map_err(|message| anyhow::anyhow!("kept import {} unreadable: {message}", import.id))?;
    let mut lookup = Lookup::load(pool, user).await?;
    lookup.study_id = import.study_id;
    lookup.imported = imported_before(executor, &check::submissions(&table)).await?;
    let checked = check::check(&table, &lookup);
    Ok((table, lookup, checked))
}
