//! Revisions of case studies and activities: every save keeps the record as it
//! was saved, who saved it, when, and which fields changed since the last one.

use std::collections::BTreeMap;

use askama::Template;
use axum::response::{IntoResponse, Response};
use sqlx::PgPool;

use crate::error::{AppError, render};
use crate::web::Ctx;
use time::OffsetDateTime;

/// A record's fields as text, by name: what a revision keeps.
pub type Snapshot = BTreeMap<String, String>;

/// Keeps a revision inside the saving transaction.
pub async fn record(
    tx: &mut sqlx::PgConnection,
    entity: &str,
    entity_id: i64,
    version: i32,
    editor_id: i64,
    snapshot: &Snapshot,
) -> Result<(), sqlx::Error> {
    let previous = sqlx::query_scalar!(
        "select snapshot from revisions where entity = $1 and entity_id = $2 order by version desc limit 1",
        entity,
        entity_id
    )
    .fetch_optional(&mut *tx)
    .await?
    .and_then(|text| serde_json::from_str::<Snapshot>(&text).ok())
    .unwrap_or_default();
    let changed: Vec<String> = snapshot
        .iter()
        .filter(|(field, value)| previous.get(*field) != Some(value))
        .map(|(field, _)| field.clone())
        .collect();
    let text =
        serde_json::to_string(snapshot).map_err(|error| sqlx::Error::Encode(error.into()))?;
    sqlx::query!(
        "insert into revisions (entity, entity_id, version, editor_id, changed, snapshot)
         values ($1, $2, $3, $4, $5, $6)",
        entity,
        entity_id,
        version,
        editor_id,
        &changed,
        text,
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}

pub struct Revision {
    pub version: i32,
    pub editor: Option<String>,
    pub at: OffsetDateTime,
    pub changed: Vec<String>,
}

impl Revision {
    pub fn at_text(&self) -> String {
        crate::web::format_timestamp(self.at)
    }
}

/// A record's revisions, newest first.
pub async fn list(
    pool: &PgPool,
    entity: &str,
    entity_id: i64,
) -> Result<Vec<Revision>, sqlx::Error> {
    sqlx::query_as!(
        Revision,
        r#"select r.version, u.display_name as "editor?", r.at, r.changed
           from revisions r left join users u on u.id = r.editor_id
           where r.entity = $1 and r.entity_id = $2 order by r.version desc"#,
        entity,
        entity_id
    )
    .fetch_all(pool)
    .await
}

/// One revision's snapshot, with who saved it and when.
pub async fn snapshot(
    pool: &PgPool,
    entity: &str,
    entity_id: i64,
    version: i32,
) -> Result<Option<(Revision, Snapshot)>, sqlx::Error> {
    let row = sqlx::query!(
        r#"select r.version, u.display_name as "editor?", r.at, r.changed, r.snapshot
           from revisions r left join users u on u.id = r.editor_id
           where r.entity = $1 and r.entity_id = $2 and r.version = $3"#,
        entity,
        entity_id,
        version
    )
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|row| {
        let snapshot = serde_json::from_str(&row.snapshot).unwrap_or_default();
        let revision = Revision {
            version: row.version,
            editor: row.editor,
            at: row.at,
            changed: row.changed,
        };
        (revision, snapshot)
    }))
}

/// The fields of the latest revision that differ from `ours`: what someone else
/// saved while this user was editing.
pub async fn differences(
    pool: &PgPool,
    entity: &str,
    entity_id: i64,
    ours: &Snapshot,
) -> Result<Vec<(String, String)>, AppError> {
    let latest = sqlx::query_scalar!(
        "select snapshot from revisions where entity = $1 and entity_id = $2 order by version desc limit 1",
        entity,
        entity_id
    )
    .fetch_optional(pool)
    .await?;
    let theirs: Snapshot = latest
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default();
    Ok(theirs
        .into_iter()
        .filter(|(field, value)| ours.get(field) != Some(value))
        .collect())
}

/// One revision, as saved.
#[derive(Template)]
#[template(path = "revision.html")]
pub struct RevisionPage {
    pub ctx: Ctx,
    pub back: String,
    pub revision: Revision,
    pub snapshot: Snapshot,
}

/// A record's revisions, newest first, each linking to what was saved.
#[derive(Template)]
#[template(path = "history.html")]
pub struct HistoryPage {
    pub ctx: Ctx,
    pub back: String,
    pub revisions: Vec<Revision>,
}

/// The history page of a record at `back` (e.g. `/activities/7`), once the
/// caller has checked that the user may read it.
pub async fn history_page(
    ctx: Ctx,
    pool: &PgPool,
    entity: &str,
    id: i64,
    back: String,
) -> Result<Response, AppError> {
    let page = HistoryPage {
        ctx,
        back,
        revisions: list(pool, entity, id).await?,
    };
    render(&page).map(IntoResponse::into_response)
}

/// One revision's page, once the caller has checked that the user may read it.
pub async fn revision_page(
    ctx: Ctx,
    pool: &PgPool,
    entity: &str,
    id: i64,
    version: i32,
    back: String,
) -> Result<Response, AppError> {
    let (revision, snapshot) = snapshot(pool, entity, id, version)
        .await?
        .ok_or(AppError::NotFound)?;
    let page = RevisionPage {
        ctx,
        back,
        revision,
        snapshot,
    };
    render(&page).map(IntoResponse::into_response)
}
