//! One record pushed by a program (the API's `POST /api/v1/activities`, a
//! KoboToolbox REST service's `POST /api/v1/kobo`): a table of one row, read
//! by the import's own columns and checked by the import's own checks, saved
//! as an import confirmed at once. The row is kept as the one-line CSV a
//! KoboToolbox export of it would be, and its submission UUID makes a second
//! push of it save nothing.

use sha2::{Digest, Sha256};
use sqlx::PgPool;

use super::check::{self, Problem};
use super::confirm::save;
use super::kept::imported_before;
use super::lookup::Lookup;
use super::sheet::Table;
use crate::audit::{self, Event};
use crate::auth::policy::{Action, Scope};
use crate::auth::require;
use crate::auth::session::CurrentUser;
use crate::error::AppError;

/// What became of a pushed record.
pub enum Submitted {
    /// A new activity.
    Created(i64),
    /// Its submission was saved before: the activity it became, unless deleted since.
    Before(Option<i64>),
    /// The problems that keep it out, each naming its field.
    Refused(Vec<Objection>),
}

/// A problem with one field of a pushed record.
#[derive(Debug, Clone)]
pub struct Objection {
    /// The field as the record named it.
    pub field: String,
    /// The key of the message that says what is wrong (`{ $value }` in it is `value`).
    pub message: &'static str,
    pub value: String,
}

/// Checks the one-row `fields` (heading, value) as an import would, and saves
/// it when it passes, into `study` if one is given.
pub async fn submit(
    pool: &PgPool,
    user: &CurrentUser,
    (fields, study): (Vec<(String, String)>, Option<i64>),
    source: &str,
    ip: Option<String>,
) -> Result<Submitted, AppError> {
    require(user, Action::RecordActivity, Scope::Anything)?;
    let (headings, values): (Vec<String>, Vec<String>) = fields.into_iter().unzip();
    let content = one_line_csv(&headings, &values)?;
    let table = Table {
        headings,
        rows: vec![(2, values)],
        first_column: 0,
    };
    let mut tx = pool.begin().await?;
    // As a confirmation: one at a time, so that the same submission pushed
    // twice at once is saved once.
    sqlx::query!("select pg_advisory_xact_lock(hashtext('samleng import'))")
        .execute(&mut *tx)
        .await?;
    let mut lookup = Lookup::load(pool, user).await?;
    lookup.study_id = study;
    let submissions = check::submissions(&table);
    lookup.imported = imported_before(&mut *tx, &submissions).await?;
    let checked = check::check(&table, &lookup);
    if let Some((_, uuid)) = checked.already_imported.first() {
        let activity = sqlx::query_scalar!(
            "select activity_id from imported_rows where submission_uuid = $1",
            uuid
        )
        .fetch_optional(&mut *tx)
        .await?
        .flatten();
        return Ok(Submitted::Before(activity));
    }
    if !checked.problems.is_empty() || checked.ready.is_empty() {
        return Ok(Submitted::Refused(named(&table, &checked.problems)));
    }
    let file_name = format!(
        "{source}-{}.csv",
        submissions.first().map_or("record", String::as_str)
    );
    let import = sqlx::query_scalar!(
        "insert into imports (file_name, file_sha256, content, study_id, uploaded_by, confirmed_at)
         values ($1, $2, $3, $4, $5, now()) returning id",
        file_name,
        format!("{:x}", Sha256::digest(&content)),
        content,
        study,
        user.id,
    )
    .fetch_one(&mut *tx)
    .await?;
    save(&mut tx, user, import, &checked, ip.clone()).await?;
    let activity = sqlx::query_scalar!(
        r#"select activity_id as "id!" from imported_rows where import_id = $1"#,
        import
    )
    .fetch_one(&mut *tx)
    .await?;
    audit::record(
        &mut *tx,
        Event {
            actor_id: Some(user.id),
            action: "import_confirmed",
            entity: "import",
            entity_id: Some(import.to_string()),
            summary: format!("{file_name}: pushed through the API"),
            ip,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Submitted::Created(activity))
}

/// The problems, each with the field it is about: as the record named it,
/// or the column's own name when the record left it out.
fn named(table: &Table, problems: &[Problem]) -> Vec<Objection> {
    problems
        .iter()
        .map(|problem| Objection {
            field: problem
                .column
                .and_then(|column| table.headings.get(column).cloned())
                .unwrap_or_else(|| problem.name.clone()),
            message: problem.message,
            value: problem.value.clone(),
        })
        .collect()
}

fn one_line_csv(headings: &[String], values: &[String]) -> Result<Vec<u8>, AppError> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer
        .write_record(headings)
        .and_then(|()| writer.write_record(values))
        .map_err(|error| AppError::Internal(error.into()))?;
    writer
        .into_inner()
        .map_err(|error| AppError::Internal(anyhow::anyhow!("{error}")))
}
