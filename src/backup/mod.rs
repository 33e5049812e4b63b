//! `samleng backup FILE` and `samleng restore FILE`: one archive (tar) holding
//! the database as `pg_dump` writes it (custom format), every attachment, and
//! a manifest that lets a restore prove it gave back the same data: row counts
//! per table, endorsement fingerprints, each file's SHA-256, and the schema
//! version.

mod create;
mod restore;

pub use create::backup;
pub use restore::{check_archive, restore};

use std::collections::BTreeMap;
use std::ffi::OsStr;

use anyhow::{Context as _, bail};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use sqlx::PgConnection;

use crate::db::embedded::find_programs;

/// What a backup holds, written last into the archive as `manifest.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// The archive's layout; a restore refuses one it does not know.
    pub format: u32,
    pub created_at: String,
    pub app_version: String,
    /// The last migration applied to the database backed up.
    pub schema_version: i64,
    pub database: Entry,
    /// Rows per table (`schema.table`), counted in the snapshot dumped.
    pub tables: BTreeMap<String, i64>,
    pub endorsements: Vec<Endorsement>,
    pub attachments: Vec<Entry>,
}

/// One file in the archive.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// Its path in the archive.
    pub path: String,
    pub bytes: u64,
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct Endorsement {
    pub list_id: i64,
    pub fingerprint: String,
}

const FORMAT: u32 = 1;
const MANIFEST: &str = "manifest.json";
const DATABASE: &str = "database.dump";
/// Attachments sit in the archive under the same key as in the file store.
const FILES: &str = "files/";

/// Sessions are left out of a backup: a restore must not bring back a
/// sign-in that was ended after the backup was taken.
const LEFT_OUT: &str = "tower_sessions.session";

fn sha256_hex(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

/// Runs `pg_dump` or `pg_restore` from the installed PostgreSQL; what it
/// said on failure becomes the error.
async fn run(program: &str, args: &[&OsStr], failed: &str) -> anyhow::Result<()> {
    let path = find_programs(&["pg_dump", "pg_restore"])
        .map(|dir| dir.join(program))
        .context("pg_dump and pg_restore were not found (install PostgreSQL's client programs)")?;
    let output = tokio::process::Command::new(path)
        .args(args)
        .output()
        .await
        .with_context(|| format!("running {program}"))?;
    if !output.status.success() {
        bail!(
            "{program} failed ({}){failed}: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}

/// What the manifest checks, read from the database: rows per table (all
/// but sessions), the schema version, and the endorsements' fingerprints.
async fn describe(
    conn: &mut PgConnection,
) -> anyhow::Result<(i64, BTreeMap<String, i64>, Vec<Endorsement>)> {
    let schema_version: i64 =
        sqlx::query_scalar("select coalesce(max(version), 0) from _sqlx_migrations")
            .fetch_one(&mut *conn)
            .await?;
    // One statement counts every table exactly.
    let tables: Vec<(String, i64)> = sqlx::query_as(
        "select schemaname || '.' || tablename,
                (xpath('/row/n/text()',
                       query_to_xml(format('select count(*) as n from %I.%I', schemaname, tablename),
                                    false, true, '')))[1]::text::bigint
         from pg_tables
         where schemaname in ('public', 'tower_sessions') and schemaname || '.' || tablename <> $1
         order by 1",
    )
    .bind(LEFT_OUT)
    .fetch_all(&mut *conn)
    .await?;
    let endorsements = sqlx::query_as(
        "select list_id, fingerprint from endorsements where transition = 'endorsed' order by list_id",
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok((schema_version, tables.into_iter().collect(), endorsements))
}
