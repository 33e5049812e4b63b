//! Confirming an import: the kept file is checked again against today's data
//! and saved whole, in one transaction, or not at all. A second confirmation
//! of the same import (a stale form sent again) creates nothing.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use sqlx::PgPool;

use super::check::Checked;
use super::kept::{kept, recheck};
use super::preview::PreviewPage;
use crate::activities::{edit, findings};
use crate::audit::{self, Event};
use crate::auth::policy::{Action, Scope};
use crate::auth::require;
use crate::auth::session::CurrentUser;
use crate::error::AppError;
use crate::web::{Actor, Ctx, flash};

pub(super) async fn confirm(
    ctx: Ctx,
    Actor { user, session, ip }: Actor,
    State(pool): State<PgPool>,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let page = format!("/activities/import/{id}");
    let mut tx = pool.begin().await?;
    // One confirmation at a time, so that two imports carrying the same
    // submission cannot both save it, and a form sent twice finds the first
    // one done.
    sqlx::query!("select pg_advisory_xact_lock(hashtext('samleng import'))")
        .execute(&mut *tx)
        .await?;
    let import = kept(&mut *tx, id, &user).await?;
    require(&user, Action::RecordActivity, Scope::Anything)?;
    if import.confirmed_at.is_some() {
        flash(&session, "import-already-confirmed", "").await?;
        return Ok(Redirect::to(&page).into_response());
    }
    let (table, lookup, checked) = recheck(&pool, &mut *tx, &import, &user).await?;
    if !checked.problems.is_empty() || checked.ready.is_empty() {
        return PreviewPage::new(ctx, import.file_name.clone(), (&table, &lookup, &checked))
            .answer_for(&checked);
    }
    let created = save(&mut tx, &user, id, &checked, ip.clone()).await?;
    sqlx::query!("update imports set confirmed_at = now() where id = $1", id)
        .execute(&mut *tx)
        .await?;
    audit::record(
        &mut *tx,
        Event {
            actor_id: Some(user.id),
            action: "import_confirmed",
            entity: "import",
            entity_id: Some(id.to_string()),
            summary: format!(
                "{}: {created} activities, {} imported before",
                import.file_name,
                checked.already_imported.len()
            ),
            ip,
        },
    )
    .await?;
    tx.commit().await?;
    flash(&session, "import-confirmed-flash", created.to_string()).await?;
    Ok(Redirect::to(&page).into_response())
}

/// Saves every ready row with its findings, and which row became which
/// activity; returns how many were created.
pub(super) async fn save(
    tx: &mut sqlx::PgConnection,
    user: &CurrentUser,
    import_id: i64,
    checked: &Checked,
    ip: Option<String>,
) -> Result<usize, sqlx::Error> {
    let mut lines = Vec::new();
    let mut activities = Vec::new();
    let mut submissions = Vec::new();
    for ready in &checked.ready {
        let activity = edit::insert(tx, user, &ready.activity, Some(import_id), ip.clone()).await?;
        for (finding, snapshot) in &ready.findings {
            findings::insert(
                tx,
                (activity, finding, snapshot),
                user,
                Some(import_id),
                ip.clone(),
            )
            .await?;
        }
        lines.push(ready.line as i32);
        activities.push(activity);
        submissions.push(ready.submission.clone());
    }
    sqlx::query!(
        "insert into imported_rows (import_id, line, activity_id, submission_uuid)
         select $1, * from unnest($2::int[], $3::bigint[], $4::text[])",
        import_id,
        &lines,
        &activities,
        &submissions as &[Option<String>],
    )
    .execute(&mut *tx)
    .await?;
    Ok(activities.len())
}
