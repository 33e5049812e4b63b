//! Writing a backup: the database and the manifest's figures from one
//! snapshot, then the attachments that snapshot names.

use std::ffi::OsStr;
use std::fs::File;
use std::io::{BufWriter, Write as _};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context as _;
use object_store::path::Path as StorePath;
use sha2::{Digest as _, Sha256};
use sqlx::{Connection as _, PgConnection};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{DATABASE, Entry, FILES, FORMAT, LEFT_OUT, MANIFEST, Manifest, describe};
use crate::db::Database;
use crate::files::FileStore;

/// Writes the backup to `out` (through a temporary file beside it, so a
/// failed run never leaves a file that looks whole).
pub async fn backup(
    database: &Database,
    files: &FileStore,
    out: &Path,
) -> anyhow::Result<Manifest> {
    let started = Instant::now();
    let partial = beside(out, "partial");
    let dump = beside(out, "dump");
    let result = write(database, files, &partial, &dump).await;
    std::fs::remove_file(&dump).ok();
    match result {
        Ok(manifest) => {
            std::fs::rename(&partial, out)
                .with_context(|| format!("moving the backup to {}", out.display()))?;
            println!(
                "Backup written to {} in {:.1} s.",
                out.display(),
                started.elapsed().as_secs_f64()
            );
            Ok(manifest)
        }
        Err(error) => {
            std::fs::remove_file(&partial).ok();
            Err(error)
        }
    }
}

async fn write(
    database: &Database,
    files: &FileStore,
    partial: &Path,
    dump: &Path,
) -> anyhow::Result<Manifest> {
    let mut conn = PgConnection::connect_with(&database.owner_options()).await?;
    // pg_dump reads the snapshot this transaction exported, so the dump, the
    // counts and the list of attachments all describe the same moment.
    sqlx::query("begin isolation level repeatable read, read only")
        .execute(&mut conn)
        .await?;
    let snapshot: String = sqlx::query_scalar("select pg_export_snapshot()")
        .fetch_one(&mut conn)
        .await?;
    let (schema_version, tables, endorsements) = describe(&mut conn).await?;
    // Files in the bin go too: a restored backup can still restore them.
    let attachments: Vec<String> = sqlx::query_scalar(
        "select stored_name from attachments
         union all select unnest(files) from bin order by 1",
    )
    .fetch_all(&mut conn)
    .await?;
    println!("Dumping the database ({} tables)…", tables.len());
    dump_database(&database.owner_url(), &snapshot, dump).await?;
    sqlx::query("commit").execute(&mut conn).await?;
    conn.close().await?;

    // It holds password hashes and every record: for its owner's eyes only.
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(partial)
        .with_context(|| format!("creating {}", partial.display()))?;
    let mut archive = tar::Builder::new(BufWriter::new(file));
    let database_entry = append_file(&mut archive, DATABASE, dump)?;
    println!(
        "Database: {:.1} MB. Attachments: {}.",
        database_entry.bytes as f64 / 1e6,
        attachments.len()
    );
    let mut entries = Vec::with_capacity(attachments.len());
    for (done, stored_name) in attachments.iter().enumerate() {
        let key = format!("attachments/{stored_name}");
        let bytes = files
            .store
            .get(&StorePath::from(key.as_str()))
            .await
            .with_context(|| format!("reading {key} from the file store"))?
            .bytes()
            .await?;
        entries.push(append_bytes(
            &mut archive,
            &format!("{FILES}{key}"),
            &bytes,
        )?);
        if (done + 1) % 100 == 0 || done + 1 == attachments.len() {
            println!("  {}/{} attachments", done + 1, attachments.len());
        }
    }
    let manifest = Manifest {
        format: FORMAT,
        created_at: OffsetDateTime::now_utc().format(&Rfc3339)?,
        app_version: env!("CARGO_PKG_VERSION").to_owned(),
        schema_version,
        database: database_entry,
        tables,
        endorsements,
        attachments: entries,
    };
    append_bytes(
        &mut archive,
        MANIFEST,
        &serde_json::to_vec_pretty(&manifest)?,
    )?;
    let mut writer = archive.into_inner()?;
    writer.flush()?;
    writer.get_ref().sync_all()?;
    Ok(manifest)
}

async fn dump_database(url: &str, snapshot: &str, dump: &Path) -> anyhow::Result<()> {
    let snapshot = format!("--snapshot={snapshot}");
    let left_out = format!("--exclude-table-data={LEFT_OUT}");
    let args: [&OsStr; 7] = [
        "--format=custom".as_ref(),
        snapshot.as_ref(),
        left_out.as_ref(),
        "--file".as_ref(),
        dump.as_ref(),
        "--dbname".as_ref(),
        url.as_ref(),
    ];
    super::run("pg_dump", &args, "").await
}

fn append_file(
    archive: &mut tar::Builder<BufWriter<File>>,
    path: &str,
    file: &Path,
) -> anyhow::Result<Entry> {
    let open = || File::open(file).with_context(|| format!("reading {}", file.display()));
    let mut hasher = Sha256::new();
    let bytes = std::io::copy(&mut open()?, &mut hasher)?;
    archive.append_file(path, &mut open()?)?;
    Ok(Entry {
        path: path.to_owned(),
        bytes,
        sha256: format!("{:x}", hasher.finalize()),
    })
}

fn append_bytes(
    archive: &mut tar::Builder<BufWriter<File>>,
    path: &str,
    bytes: &[u8],
) -> anyhow::Result<Entry> {
    let mut header = tar::Header::new_gnu();
    header.set_size(bytes.len() as u64);
    header.set_mode(0o600);
    header.set_mtime(OffsetDateTime::now_utc().unix_timestamp().max(0) as u64);
    archive.append_data(&mut header, path, bytes)?;
    Ok(Entry {
        path: path.to_owned(),
        bytes: bytes.len() as u64,
        sha256: super::sha256_hex(bytes),
    })
}

/// `backup.tar` → `.backup.tar.partial` in the same folder.
fn beside(out: &Path, suffix: &str) -> PathBuf {
    let name = out
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| "samleng-backup".into());
    out.with_file_name(format!(".{name}.{suffix}"))
}
