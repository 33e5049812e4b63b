//! Revisions of case studies and activities: every save keeps the record as it
//! was saved, who saved it, when, and which fields changed since the last one.

use std::collections::BTreeMap;

use askama::Template;
use axum::response::{IntoResponse, Response};
use sqlx::PgPool;

use crate::error::{AppError, render};
use crate::i18n::Lang;
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
    record_from(tx, (entity, entity_id, version), editor_id, snapshot, None).await
}

/// Keeps a revision saved by an import (`import_id`), whose history names the file.
pub async fn record_from(
    tx: &mut sqlx::PgConnection,
    (entity, entity_id, version): (&str, i64, i32),
    editor_id: i64,
    snapshot: &Snapshot,
    import_id: Option<i64>,
) -> Result<(), sqlx::Error> {
    // A record's first revision has nothing before it: an import saves
    // thousands of them, each a statement less.
    let previous = if version == 1 {
        Snapshot::new()
    } else {
        sqlx::query_scalar!(
            "select snapshot from revisions where entity = $1 and entity_id = $2 order by version desc limit 1",
            entity,
            entity_id
        )
        .fetch_optional(&mut *tx)
        .await?
        .and_then(|text| serde_json::from_str::<Snapshot>(&text).ok())
        .unwrap_or_default()
    };
    let changed: Vec<String> = snapshot
        .iter()
        .filter(|(field, value)| previous.get(*field) != Some(value))
        .map(|(field, _)| field.clone())
        .collect();
    let text =
        serde_json::to_string(snapshot).map_err(|error| sqlx::Error::Encode(error.into()))?;
    sqlx::query!(
        "insert into revisions (entity, entity_id, version, editor_id, changed, snapshot, import_id)
         values ($1, $2, $3, $4, $5, $6, $7)",
        entity,
        entity_id,
        version,
        editor_id,
        &changed,
        text,
        import_id,
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
    /// The name of the file whose import saved it.
    pub imported_from: Option<String>,
}

impl Revision {
    pub fn at_text(&self) -> String {
        crate::format::timestamp(self.at)
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
        r#"select r.version, u.display_name as "editor?", r.at, r.changed,
                  i.file_name as "imported_from?"
           from revisions r left join users u on u.id = r.editor_id
           left join imports i on i.id = r.import_id
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
        r#"select r.version, u.display_name as "editor?", r.at, r.changed, r.snapshot,
                  i.file_name as "imported_from?"
           from revisions r left join users u on u.id = r.editor_id
           left join imports i on i.id = r.import_id
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
            imported_from: row.imported_from,
        };
        (revision, snapshot)
    }))
}

/// The fields of the latest revision that differ from `ours`: what someone else
/// saved while this user was editing, named in words.
pub async fn differences(
    pool: &PgPool,
    lang: Lang,
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
        .map(|(field, value)| (field_label(lang, &field), value))
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

impl RevisionPage {
    fn label(&self, field: &str) -> String {
        field_label(self.ctx.lang, field)
    }
}

/// A saved field named in words, in the reader's language: `count_cbo_female`
/// is "CBO members · Female", `summary` is "Summary".
pub fn field_label(lang: Lang, field: &str) -> String {
    if let Some(rest) = field.strip_prefix("count_")
        && let Some((group, sex)) = rest.rsplit_once('_')
    {
        let label = |prefix: &str, code: &str| lang.t(&format!("{prefix}-{code}"));
        return format!("{} · {}", label("group", group), label("sex", sex));
    }
    if let Some(mechanism) = field.strip_prefix("mechanism_") {
        return lang.t(&format!("mechanism-{mechanism}"));
    }
    let key = match field {
        "kind" => "field-kind",
        "held_on" => "field-date",
        "district_code" => "field-district",
        "commune_code" => "field-commune",
        "place" => "field-place",
        "facilitating_organization_id" => "field-facilitator",
        "study_id" => "field-study",
        "case_study_id" => "field-case-study",
        "youth" => "field-youth",
        "persons_with_disabilities" => "field-pwd",
        "author_organization_id" => "field-author",
        "title_en" => "field-title-en",
        "title_km" => "field-title-km",
        "activities" => "nav-activities",
        "text_en" => "finding-text-en",
        "text_km" => "finding-text-km",
        "quote" => "finding-quote",
        "quote_descriptor" => "finding-descriptor",
        "themes" => "themes",
        "public" => "finding-public",
        section => return lang.t(&format!("section-{section}")),
    };
    lang.t(key)
}

/// A record's revisions, newest first, each linking to what was saved.
#[derive(Template)]
#[template(path = "history.html")]
pub struct HistoryPage {
    pub ctx: Ctx,
    pub back: String,
    pub revisions: Vec<Revision>,
}

impl HistoryPage {
    /// The fields a revision changed, in words.
    fn changed(&self, revision: &Revision) -> String {
        revision
            .changed
            .iter()
            .map(|field| field_label(self.ctx.lang, field))
            .collect::<Vec<_>>()
            .join(", ")
    }
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
