//! Loading a backup into an empty database and an empty file store, after
//! checking every byte of the archive against its manifest, then checking
//! what was loaded against the manifest again.

use std::ffi::OsStr;
use std::fs::File;
use std::io::{BufReader, Read as _};
use std::path::Path;

use anyhow::{Context as _, bail, ensure};
use futures_util::StreamExt as _;
use object_store::path::Path as StorePath;
use sha2::{Digest as _, Sha256};
use sqlx::{Connection as _, PgConnection};

use super::{DATABASE, FILES, FORMAT, MANIFEST, Manifest, describe, sha256_hex};
use crate::db::{Database, MIGRATOR};
use crate::files::FileStore;

/// Restores `archive` into the (empty) database and file store.
pub async fn restore(
    database: &Database,
    files: &FileStore,
    archive: &Path,
) -> anyhow::Result<Manifest> {
    let manifest = read_manifest(archive)?;
    let newest = MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0);
    ensure!(
        manifest.schema_version <= newest,
        "the backup's schema ({}) is newer than this version of Samleng knows ({newest}); \
         restore it with the version that wrote it ({})",
        manifest.schema_version,
        manifest.app_version
    );
    let mut conn = PgConnection::connect_with(&database.owner_options()).await?;
    refuse_non_empty(&mut conn, files).await?;
    println!(
        "Checking the archive ({} tables, {} attachments, taken {})…",
        manifest.tables.len(),
        manifest.attachments.len(),
        manifest.created_at
    );
    let dump = archive.with_file_name(format!(
        ".{}.restoring",
        archive.file_name().unwrap_or_default().to_string_lossy()
    ));
    if let Err(error) = check_and_extract(archive, &manifest, &dump) {
        std::fs::remove_file(&dump).ok();
        return Err(error);
    }
    let mut put = Vec::new();
    let loaded = async {
        println!("Loading the database…");
        create_app_role(&mut conn).await?;
        load_database(&database.owner_url(), &dump).await?;
        put_attachments(archive, &manifest, files, &mut put).await?;
        check_restored(&mut conn, files, &manifest).await
    }
    .await;
    std::fs::remove_file(&dump).ok();
    if let Err(error) = loaded {
        // All or nothing: what was loaded goes, and the target is as it was.
        undo(&mut conn, files, &put)
            .await
            .context("undoing the refused restore (the target may need emptying by hand)")?;
        return Err(error.context("nothing was restored; the target is as it was"));
    }
    conn.close().await?;
    println!(
        "Restored and checked: {} rows in {} tables, {} endorsement fingerprints, {} attachments.",
        manifest.tables.values().sum::<i64>(),
        manifest.tables.len(),
        manifest.endorsements.len(),
        manifest.attachments.len()
    );
    Ok(manifest)
}

fn open(archive: &Path) -> anyhow::Result<tar::Archive<BufReader<File>>> {
    let file = File::open(archive).with_context(|| format!("opening {}", archive.display()))?;
    Ok(tar::Archive::new(BufReader::new(file)))
}

/// Checks `archive` whole against its manifest, touching no database or
/// file store: for refusing a bad archive before a target is even made.
pub fn check_archive(archive: &Path) -> anyhow::Result<()> {
    let manifest = read_manifest(archive)?;
    let dump = archive.with_file_name(format!(
        ".{}.checking",
        archive.file_name().unwrap_or_default().to_string_lossy()
    ));
    let checked = check_and_extract(archive, &manifest, &dump);
    std::fs::remove_file(&dump).ok();
    checked
}

/// The manifest is written last; seeking past the rest finds it quickly.
/// What cannot be read as an archive is said in words, never with the
/// reader's error, which may quote the file's bytes.
fn read_manifest(archive: &Path) -> anyhow::Result<Manifest> {
    let file = File::open(archive).with_context(|| format!("opening {}", archive.display()))?;
    let unreadable = || {
        anyhow::anyhow!(
            "{} is not a Samleng backup, or it is damaged: it cannot be read as one",
            archive.display()
        )
    };
    let mut tar = tar::Archive::new(file);
    for entry in tar.entries_with_seek().map_err(|_| unreadable())? {
        let mut entry = entry.map_err(|_| unreadable())?;
        if entry.path().map_err(|_| unreadable())?.to_str() == Some(MANIFEST) {
            let mut text = String::new();
            entry.read_to_string(&mut text).map_err(|_| unreadable())?;
            let manifest: Manifest = serde_json::from_str(&text).map_err(|_| unreadable())?;
            ensure!(
                manifest.format == FORMAT,
                "this archive's format ({}) is not one this version reads ({FORMAT})",
                manifest.format
            );
            return Ok(manifest);
        }
    }
    bail!(
        "{} is not a Samleng backup: it holds no {MANIFEST}",
        archive.display()
    )
}

/// A restore never mixes a backup with data that is already there.
async fn refuse_non_empty(conn: &mut PgConnection, files: &FileStore) -> anyhow::Result<()> {
    let tables: i64 = sqlx::query_scalar(
        "select count(*) from pg_tables where schemaname in ('public', 'tower_sessions')",
    )
    .fetch_one(&mut *conn)
    .await?;
    ensure!(
        tables == 0,
        "the database is not empty ({tables} tables): restore into an empty database \
         (or, with the embedded database, a new data folder)"
    );
    let stored = files.store.list(None).next().await.transpose()?;
    ensure!(
        stored.is_none(),
        "the file store is not empty: restore into an empty folder or bucket"
    );
    Ok(())
}

/// Reads the whole archive once: every entry must match the manifest, and
/// every file the manifest names must be there. The dump is written out for
/// `pg_restore` on the way.
fn check_and_extract(archive: &Path, manifest: &Manifest, dump: &Path) -> anyhow::Result<()> {
    let mut expected: std::collections::HashMap<&str, &super::Entry> = manifest
        .attachments
        .iter()
        .chain([&manifest.database])
        .map(|entry| (entry.path.as_str(), entry))
        .collect();
    let damaged = || anyhow::anyhow!("{} is damaged: it cannot be read whole", archive.display());
    let mut tar = open(archive)?;
    for entry in tar.entries().map_err(|_| damaged())? {
        let mut entry = entry.map_err(|_| damaged())?;
        let path = entry
            .path()
            .map_err(|_| damaged())?
            .to_string_lossy()
            .into_owned();
        if path == MANIFEST {
            continue;
        }
        let Some(wanted) = expected.remove(path.as_str()) else {
            bail!("the archive holds {path}, which its manifest does not list");
        };
        let mut hasher = Sha256::new();
        let bytes = if path == DATABASE {
            let mut out = File::create(dump)?;
            let mut tee = Tee(&mut hasher, &mut out);
            let bytes = std::io::copy(&mut entry, &mut tee)?;
            out.sync_all()?;
            bytes
        } else {
            std::io::copy(&mut entry, &mut hasher)?
        };
        ensure!(
            bytes == wanted.bytes && format!("{:x}", hasher.finalize()) == wanted.sha256,
            "{path} in the archive is damaged: its checksum differs from the manifest's"
        );
    }
    if let Some(missing) = expected.keys().next() {
        bail!("the archive lacks {missing}, which its manifest lists");
    }
    Ok(())
}

/// Writes to two places at once: the dump's checksum is taken as it is copied.
struct Tee<'a>(&'a mut Sha256, &'a mut File);

impl std::io::Write for Tee<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let written = self.1.write(bytes)?;
        self.0.update(&bytes[..written]);
        Ok(written)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.1.flush()
    }
}

/// The role the application serves as is the cluster's, not the database's,
/// so a dump does not carry it; its grants in the dump need it to exist.
async fn create_app_role(conn: &mut PgConnection) -> anyhow::Result<()> {
    sqlx::query(&format!(
        "do $$ begin
             if not exists (select from pg_roles where rolname = '{role}') then
                 create role {role} nologin;
             end if;
         end $$",
        role = crate::db::APP_ROLE
    ))
    .execute(&mut *conn)
    .await
    .context("creating the application's role (the owner needs CREATEROLE, or create it first)")?;
    Ok(())
}

/// All or nothing: one transaction, stopped at the first error.
async fn load_database(url: &str, dump: &Path) -> anyhow::Result<()> {
    let args: [&OsStr; 6] = [
        "--no-owner".as_ref(),
        "--exit-on-error".as_ref(),
        "--single-transaction".as_ref(),
        "--dbname".as_ref(),
        url.as_ref(),
        dump.as_ref(),
    ];
    super::run("pg_restore", &args, ", nothing was loaded").await
}

/// Puts the archive's attachments into the store, noting each in `put`.
async fn put_attachments(
    archive: &Path,
    manifest: &Manifest,
    files: &FileStore,
    put: &mut Vec<StorePath>,
) -> anyhow::Result<()> {
    let total = manifest.attachments.len();
    let mut tar = open(archive)?;
    let mut done = 0;
    for entry in tar.entries()? {
        let mut entry = entry?;
        let path = entry.path()?.to_string_lossy().into_owned();
        let Some(key) = path.strip_prefix(FILES) else {
            continue;
        };
        let mut bytes = Vec::with_capacity(entry.size() as usize);
        entry.read_to_end(&mut bytes)?;
        let location = StorePath::from(key);
        files
            .store
            .put(&location, bytes.into())
            .await
            .with_context(|| format!("writing {key} to the file store"))?;
        put.push(location);
        done += 1;
        if done % 100 == 0 || done == total {
            println!("  {done}/{total} attachments");
        }
    }
    Ok(())
}

/// What was loaded is what was backed up: the same schema version, rows per
/// table and endorsements, each endorsement's fingerprint still the SHA-256
/// of its snapshot, and every attachment in the store at its size.
async fn check_restored(
    conn: &mut PgConnection,
    files: &FileStore,
    manifest: &Manifest,
) -> anyhow::Result<()> {
    let (schema_version, tables, endorsements) = describe(conn).await?;
    ensure!(
        schema_version == manifest.schema_version,
        "the restored schema version {schema_version} is not the backup's {}",
        manifest.schema_version
    );
    for (table, rows) in &manifest.tables {
        let restored = tables.get(table).copied().unwrap_or(0);
        ensure!(
            restored == *rows,
            "{table} has {restored} rows after the restore; the backup had {rows}"
        );
    }
    ensure!(
        endorsements == manifest.endorsements,
        "the restored endorsements' fingerprints differ from the backup's"
    );
    let snapshots: Vec<(i64, String, String)> = sqlx::query_as(
        "select list_id, fingerprint, snapshot from endorsements where transition = 'endorsed'",
    )
    .fetch_all(&mut *conn)
    .await?;
    for (list_id, fingerprint, snapshot) in snapshots {
        ensure!(
            sha256_hex(snapshot.as_bytes()) == fingerprint,
            "list {list_id}'s endorsed snapshot no longer matches its fingerprint"
        );
    }
    for entry in &manifest.attachments {
        let key = entry.path.strip_prefix(FILES).unwrap_or(&entry.path);
        let stored = files
            .store
            .head(&StorePath::from(key))
            .await
            .with_context(|| format!("{key} is missing from the file store"))?;
        ensure!(
            stored.size as u64 == entry.bytes,
            "{key} has {} bytes in the file store; the backup had {}",
            stored.size,
            entry.bytes
        );
    }
    Ok(())
}

/// Takes back a restore that was refused after loading began: the schemas it
/// loaded are dropped (the database is empty again, as `refuse_non_empty`
/// found it) and the files it put are deleted.
async fn undo(conn: &mut PgConnection, files: &FileStore, put: &[StorePath]) -> anyhow::Result<()> {
    sqlx::raw_sql(
        "drop schema if exists tower_sessions cascade;
         drop schema if exists public cascade;
         create schema public authorization pg_database_owner;
         grant usage on schema public to public;",
    )
    .execute(&mut *conn)
    .await?;
    for location in put {
        files.store.delete(location).await?;
    }
    Ok(())
}
