//! The bin: field records deleted by their writers (an activity with its
//! counts, findings, files and history; a finding; an attachment) wait here
//! for `KEPT_DAYS`, and the secretariat can put them back as they were, with
//! their ids. After that they are purged with their history and their files.
//! Each step is audited; the audit log keeps that a record was deleted, never
//! what it said. Redaction does not come here: it is final.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use sqlx::PgPool;
use time::{Date, OffsetDateTime};

use crate::attachments::remove;
use crate::audit::{self, Event};
use crate::auth::policy::{Action, Scope};
use crate::auth::require;
use crate::auth::session::CurrentUser;
use crate::error::{AppError, render};
use crate::files::FileStore;
use crate::state::AppState;
use crate::web::{Actor, Ctx, Page, flash};

/// How long a deleted record can be restored.
pub const KEPT_DAYS: i32 = 30;

/// How often each instance looks for entries past their time.
const PURGE_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

const PAGE_SIZE: i64 = 50;

/// What can be put in the bin.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    Activity,
    Finding,
    Attachment,
}

impl Kind {
    fn code(self) -> &'static str {
        match self {
            Kind::Activity => "activity",
            Kind::Finding => "finding",
            Kind::Attachment => "attachment",
        }
    }
}

/// Moves a record into the bin inside the deleting transaction, audited as
/// `action`. The caller has checked that it may go and that nothing else
/// refers to it; its files stay in the store until the entry is purged.
pub async fn put(
    tx: &mut sqlx::PgConnection,
    (kind, id): (Kind, i64),
    (user, place): (&CurrentUser, &str),
    (action, ip): (&'static str, Option<String>),
) -> Result<(), AppError> {
    sqlx::query_scalar!(
        "select bin_put($1, $2, $3, $4)",
        kind.code(),
        id,
        user.id,
        place
    )
    .fetch_one(&mut *tx)
    .await?;
    audit::record(
        &mut *tx,
        Event {
            actor_id: Some(user.id),
            action,
            entity: kind.code(),
            entity_id: Some(id.to_string()),
            summary: format!("to the bin; {place}"),
            ip,
        },
    )
    .await?;
    Ok(())
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/bin", get(list))
        .route("/bin/{id}/restore", post(restore))
        .route("/bin/{id}/purge", post(purge))
}

/// An entry as the bin lists it, with what tells the records apart.
pub struct Entry {
    pub id: i64,
    pub kind: String,
    pub record_id: i64,
    pub place_en: Option<String>,
    pub place_km: Option<String>,
    pub deleted_by: Option<String>,
    pub deleted_at: OffsetDateTime,
    pub purged_on: Date,
    pub activity_kind: Option<String>,
    pub held_on: Option<String>,
    pub text: Option<String>,
}

impl Entry {
    pub fn deleted_at_text(&self) -> String {
        crate::format::timestamp(self.deleted_at)
    }
}

#[derive(Template)]
#[template(path = "deleted/bin.html")]
struct BinPage {
    ctx: Ctx,
    entries: Vec<Entry>,
    page: Page,
    has_next: bool,
}

#[derive(Debug, Deserialize)]
struct Paging {
    page: Option<i64>,
}

async fn list(
    ctx: Ctx,
    user: CurrentUser,
    State(state): State<AppState>,
    Query(paging): Query<Paging>,
) -> Result<Html<String>, AppError> {
    require(&user, Action::EmptyBin, Scope::Anything)?;
    let page = Page::new(paging.page, PAGE_SIZE);
    let mut entries = sqlx::query_as!(
        Entry,
        r#"select b.id, b.kind, b.record_id, d.name_en as "place_en?", d.name_km as "place_km?",
                  u.display_name as "deleted_by?", b.deleted_at,
                  (b.deleted_at + make_interval(days => $1))::date as "purged_on!",
                  first.row ->> 'kind' as activity_kind, first.row ->> 'held_on' as held_on,
                  case b.kind when 'finding' then coalesce(nullif(first.row ->> 'text_en', ''), first.row ->> 'text_km')
                              when 'attachment' then nullif(first.row ->> 'caption', '')
                              else nullif(first.row ->> 'place', '') end as text
           from bin b
           cross join lateral (select b.contents -> 0 -> 'rows' -> 0 as row) first
           left join districts d on d.code = b.place_code
           left join users u on u.id = b.deleted_by
           order by b.deleted_at desc, b.id desc
           limit $2 offset $3"#,
        KEPT_DAYS,
        page.limit(),
        page.offset(),
    )
    .fetch_all(&state.pool)
    .await?;
    let has_next = page.has_next(&mut entries);
    render(&BinPage {
        ctx,
        entries,
        page,
        has_next,
    })
}

/// Puts an entry back. Refused, with nothing changed, when what it belonged
/// to is gone (restore that first) or when it would change a published case
/// study.
async fn restore(
    Actor { user, session, ip }: Actor,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    require(&user, Action::EmptyBin, Scope::Anything)?;
    let mut tx = state.pool.begin().await?;
    let restored = sqlx::query!("select kind, record_id from bin_restore($1)", id)
        .fetch_one(&mut *tx)
        .await
        .map_err(|error| match &error {
            sqlx::Error::Database(database) if database.is_foreign_key_violation() => {
                AppError::Refused("bin-parent-gone")
            }
            _ => error.into(),
        })?;
    let (Some(kind), Some(record_id)) = (restored.kind, restored.record_id) else {
        // Restored or purged meanwhile: a second click finds it gone.
        flash(&session, "bin-gone", "").await?;
        return Ok(Redirect::to("/bin").into_response());
    };
    if changes_published_case_study(&mut tx, &kind, record_id).await? {
        return Err(AppError::Refused("bin-published"));
    }
    audit::record(
        &mut *tx,
        Event {
            actor_id: Some(user.id),
            action: "restored_from_bin",
            entity: static_kind(&kind),
            entity_id: Some(record_id.to_string()),
            summary: String::new(),
            ip,
        },
    )
    .await?;
    tx.commit().await?;
    flash(&session, "bin-restored", "").await?;
    Ok(Redirect::to("/bin").into_response())
}

/// The audit log's name for an entry's kind.
fn static_kind(kind: &str) -> &'static str {
    match kind {
        "activity" => Kind::Activity.code(),
        "finding" => Kind::Finding.code(),
        _ => Kind::Attachment.code(),
    }
}

/// Whether the record just put back sits in a published case study, whose
/// figures and findings must not change.
async fn changes_published_case_study(
    tx: &mut sqlx::PgConnection,
    kind: &str,
    record_id: i64,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select exists (
             select 1 from activities a join case_studies c on c.id = a.case_study_id
             where case_study_published(c.status)
               and a.id = any (array[
                 (select id from activities where $1 = 'activity' and id = $2),
                 (select activity_id from findings where $1 = 'finding' and id = $2),
                 (select parent_id from attachments where $1 = 'attachment' and id = $2 and parent = 'activity')])
           ) as "published!""#,
        kind,
        record_id
    )
    .fetch_one(tx)
    .await
}

/// Empties one entry before its time, for good (a record that should not
/// wait 30 days, such as one that names a respondent).
async fn purge(
    Actor { user, session, ip }: Actor,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    require(&user, Action::EmptyBin, Scope::Anything)?;
    let mut tx = state.pool.begin().await?;
    let purged = sqlx::query!(
        "delete from bin where id = $1 returning kind, record_id, files",
        id
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some(purged) = purged else {
        flash(&session, "bin-gone", "").await?;
        return Ok(Redirect::to("/bin").into_response());
    };
    audit::record(
        &mut *tx,
        purged_event(Some(user.id), &purged.kind, purged.record_id, ip),
    )
    .await?;
    tx.commit().await?;
    remove::remove_files(&state.files, purged.files).await;
    flash(&session, "bin-purged", "").await?;
    Ok(Redirect::to("/bin").into_response())
}

fn purged_event(
    actor_id: Option<i64>,
    kind: &str,
    record_id: i64,
    ip: Option<String>,
) -> Event<'static> {
    Event {
        actor_id,
        action: "purged_from_bin",
        entity: static_kind(kind),
        entity_id: Some(record_id.to_string()),
        summary: String::new(),
        ip,
    }
}

/// Purges every entry older than `KEPT_DAYS`, with its files; returns how
/// many. Instances may run it at once: each entry is taken by one.
pub async fn purge_expired(pool: &PgPool, files: &FileStore) -> Result<usize, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let purged = sqlx::query!(
        "delete from bin where deleted_at < now() - make_interval(days => $1)
         returning kind, record_id, files",
        KEPT_DAYS
    )
    .fetch_all(&mut *tx)
    .await?;
    for entry in &purged {
        audit::record(
            &mut *tx,
            purged_event(None, &entry.kind, entry.record_id, None),
        )
        .await?;
    }
    tx.commit().await?;
    let count = purged.len();
    let stored = purged.into_iter().flat_map(|entry| entry.files).collect();
    remove::remove_files(files, stored).await;
    Ok(count)
}

/// Purges what is past its time now and every hour.
pub fn spawn_purger(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(PURGE_EVERY);
        loop {
            tick.tick().await;
            match purge_expired(&state.pool, &state.files).await {
                Ok(0) => {}
                Ok(count) => tracing::info!(count, "purged from the bin after {KEPT_DAYS} days"),
                Err(error) => tracing::warn!(%error, "the bin could not be purged"),
            }
        }
    })
}
