//! `samleng backup` and `samleng restore`, run as an operator runs them: the
//! demo data and an uploaded photo go into one archive and come back whole,
//! into an empty database and data folder only (issue 14).

use std::path::Path;
use std::process::{Command, Output};

use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use sqlx::PgPool;

use crate::helpers::{TestApp, empty_database, new_data_dir, spawn_app};

const PHOTO: &[u8] = b"\xFF\xD8\xFF\xE0\x00\x10JFIF\x00\x01 a photo of the meeting hall";

fn samleng(database_url: &str, data_dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_samleng"))
        .env("DATABASE_URL", database_url)
        .env("SAMLENG_DATA_DIR", data_dir)
        .env_remove("SAMLENG_S3_BUCKET")
        .env("RUST_LOG", "error")
        .args(args)
        .output()
        .expect("run samleng")
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

async fn upload_photo(app: &TestApp) -> String {
    let ngo = app.login_as("ngo@ctod.example").await;
    let activity: i64 = sqlx::query_scalar(
        "select id from activities where district_code = '0203' and kind = 'fgd' order by id limit 1",
    )
    .fetch_one(&app.pool)
    .await
    .expect("activity");
    let form = Form::new()
        .text("csrf_token", ngo.csrf_token().await)
        .text("caption", "The meeting hall")
        .part("file", Part::bytes(PHOTO.to_vec()).file_name("hall.jpg"));
    let response = ngo
        .client
        .post(app.url(&format!("/activities/{activity}/attachments")))
        .multipart(form)
        .send()
        .await
        .expect("upload");
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    sqlx::query_scalar("select stored_name from attachments where caption = 'The meeting hall'")
        .fetch_one(&app.pool)
        .await
        .expect("the photo's row")
}

/// Rows per table, as the test counts them itself.
async fn rows_per_table(pool: &PgPool) -> Vec<(String, i64)> {
    let tables: Vec<String> = sqlx::query_scalar(
        "select schemaname || '.' || tablename from pg_tables
         where schemaname in ('public', 'tower_sessions') order by 1",
    )
    .fetch_all(pool)
    .await
    .expect("tables");
    let mut counts = Vec::new();
    for table in tables {
        let count: i64 = sqlx::query_scalar(&format!("select count(*) from {table}"))
            .fetch_one(pool)
            .await
            .expect("count");
        counts.push((table, count));
    }
    counts
}

async fn fingerprints(pool: &PgPool) -> Vec<(i64, String)> {
    sqlx::query_as(
        "select list_id, fingerprint from endorsements where transition = 'endorsed' order by list_id",
    )
    .fetch_all(pool)
    .await
    .expect("fingerprints")
}

fn files_under(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir.join("files/attachments"))
        .map(|entries| {
            entries
                .flatten()
                .map(|entry| {
                    let bytes = std::fs::read(entry.path()).expect("file");
                    (entry.file_name().to_string_lossy().into_owned(), bytes)
                })
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

#[tokio::test]
async fn a_backup_restores_the_same_rows_fingerprints_and_files_into_an_empty_target_only() {
    let app = spawn_app().await;
    let photo = upload_photo(&app).await;
    let source_dir = app.files_dir.parent().expect("data folder").to_owned();
    let archive = new_data_dir().join("samleng.backup");
    let archive_text = archive.to_str().expect("path");

    let backup = samleng(&app.database_url, &source_dir, &["backup", archive_text]);
    assert!(backup.status.success(), "{}", text(&backup));
    assert!(text(&backup).contains("attachments"), "{}", text(&backup));
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&archive)
            .expect("the archive")
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600, "readable by its owner only");

    let (target, _, target_url) = empty_database().await;
    let target_dir = new_data_dir();
    let restore = samleng(&target_url, &target_dir, &["restore", archive_text]);
    assert!(restore.status.success(), "{}", text(&restore));
    assert!(
        text(&restore).contains("Restored and checked"),
        "{}",
        text(&restore)
    );

    // Everything but the sessions, which a restore must not bring back.
    let without_sessions = |counts: Vec<(String, i64)>| -> Vec<(String, i64)> {
        counts
            .into_iter()
            .filter(|(table, _)| table != "tower_sessions.session")
            .collect()
    };
    let source_rows = without_sessions(rows_per_table(&app.pool).await);
    assert!(
        source_rows
            .iter()
            .any(|(table, rows)| table == "public.activities" && *rows > 0)
    );
    assert_eq!(without_sessions(rows_per_table(&target).await), source_rows);
    let source_fingerprints = fingerprints(&app.pool).await;
    assert!(
        !source_fingerprints.is_empty(),
        "the demo has endorsed lists"
    );
    assert_eq!(fingerprints(&target).await, source_fingerprints);
    let restored_files = files_under(&target_dir);
    assert_eq!(restored_files, files_under(&source_dir));
    assert!(restored_files.contains(&(photo, PHOTO.to_vec())));

    // A second restore into what is no longer empty is refused, and changes nothing.
    let again = samleng(&target_url, &target_dir, &["restore", archive_text]);
    assert!(!again.status.success());
    assert!(text(&again).contains("not empty"), "{}", text(&again));
    assert_eq!(without_sessions(rows_per_table(&target).await), source_rows);
}

#[tokio::test]
async fn a_damaged_archive_is_refused_before_anything_is_loaded() {
    let app = spawn_app().await;
    let source_dir = app.files_dir.parent().expect("data folder").to_owned();
    let archive = new_data_dir().join("samleng.backup");
    let archive_text = archive.to_str().expect("path");
    let backup = samleng(&app.database_url, &source_dir, &["backup", archive_text]);
    assert!(backup.status.success(), "{}", text(&backup));
    // One byte of the database's dump changed (it is the archive's first
    // entry, after a 512-byte header).
    let mut bytes = std::fs::read(&archive).expect("archive");
    bytes[600] ^= 0xFF;
    std::fs::write(&archive, bytes).expect("write");

    let (target, _, target_url) = empty_database().await;
    let target_dir = new_data_dir();
    let restore = samleng(&target_url, &target_dir, &["restore", archive_text]);
    assert!(!restore.status.success());
    assert!(text(&restore).contains("damaged"), "{}", text(&restore));
    assert!(rows_per_table(&target).await.is_empty());
    assert!(files_under(&target_dir).is_empty());
}

#[tokio::test]
async fn the_embedded_database_is_backed_up_and_restored_into_a_new_data_folder() {
    let embedded = |data_dir: &Path, args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_samleng"))
            .env_remove("DATABASE_URL")
            .env_remove("SAMLENG_OWNER_DATABASE_URL")
            .env_remove("SAMLENG_S3_BUCKET")
            .env("SAMLENG_DATA_DIR", data_dir)
            .env("RUST_LOG", "error")
            .args(args)
            .output()
            .expect("run samleng")
    };
    // Each command starts the data folder's cluster and stops it when done.
    let source = new_data_dir();
    let migrated = embedded(&source, &["migrate"]);
    assert!(migrated.status.success(), "{}", text(&migrated));
    let first = embedded(
        &source,
        &[
            "create-user",
            "--email",
            "first@coalition.example",
            "--name",
            "First",
            "--role",
            "admin",
            "--org",
            "NEWCO",
            "--create-org",
        ],
    );
    assert!(first.status.success(), "{}", text(&first));
    let archive = new_data_dir().join("embedded.backup");
    let archive_text = archive.to_str().expect("path");
    let backup = embedded(&source, &["backup", archive_text]);
    assert!(backup.status.success(), "{}", text(&backup));

    let target = new_data_dir();
    let restore = embedded(&target, &["restore", archive_text]);
    assert!(restore.status.success(), "{}", text(&restore));
    assert!(text(&restore).contains("Restored and checked"));
    // The restore checked every table's rows against the backup's; a second
    // one finds the folder's database no longer empty.
    let again = embedded(&target, &["restore", archive_text]);
    assert!(!again.status.success());
    assert!(text(&again).contains("not empty"), "{}", text(&again));
}

#[tokio::test]
async fn a_refused_restore_leaves_its_target_as_it_was_and_a_good_one_then_restores() {
    let app = spawn_app().await;
    upload_photo(&app).await;
    let source_dir = app.files_dir.parent().expect("data folder").to_owned();
    let archive = new_data_dir().join("samleng.backup");
    let archive_text = archive.to_str().expect("path");
    let backup = samleng(&app.database_url, &source_dir, &["backup", archive_text]);
    assert!(backup.status.success(), "{}", text(&backup));

    // Random bytes, and the archive cut short: refused in words, nothing made.
    let random = new_data_dir().join("random.backup");
    std::fs::write(
        &random,
        b"\x1f\x8b\x08\x00\xde\xad\xbe\xef garbage \xff\xfe".repeat(40),
    )
    .expect("write");
    let truncated = new_data_dir().join("truncated.backup");
    let whole = std::fs::read(&archive).expect("archive");
    std::fs::write(&truncated, &whole[..whole.len() / 2]).expect("write");
    let (target, _, target_url) = empty_database().await;
    let target_dir = new_data_dir();
    for bad in [&random, &truncated] {
        let refused = samleng(
            &target_url,
            &target_dir,
            &["restore", bad.to_str().expect("path")],
        );
        assert!(!refused.status.success());
        let said = text(&refused);
        assert!(
            said.contains("not a Samleng backup") || said.contains("damaged"),
            "{said}"
        );
        assert!(
            !said.contains("garbage") && !said.contains('\u{fffd}'),
            "no bytes echoed: {said}"
        );
        assert!(rows_per_table(&target).await.is_empty());
        assert!(files_under(&target_dir).is_empty());
    }

    // A manifest that promises one row more than the dump holds: found only
    // after loading, and loading is then taken back, files included.
    let lying = new_data_dir().join("lying.backup");
    let mut reader = tar::Archive::new(std::fs::File::open(&archive).expect("archive"));
    let mut builder = tar::Builder::new(std::fs::File::create(&lying).expect("lying"));
    for entry in reader.entries().expect("entries") {
        let mut entry = entry.expect("entry");
        let path = entry.path().expect("path").into_owned();
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut bytes).expect("read");
        if path.to_str() == Some("manifest.json") {
            let mut manifest: serde_json::Value = serde_json::from_slice(&bytes).expect("manifest");
            let rows = &mut manifest["tables"]["public.activities"];
            *rows = serde_json::json!(rows.as_i64().expect("rows") + 1);
            bytes = serde_json::to_vec(&manifest).expect("json");
        }
        let mut header = entry.header().clone();
        header.set_size(bytes.len() as u64);
        header.set_cksum();
        builder.append(&header, bytes.as_slice()).expect("append");
    }
    builder.finish().expect("finish");
    let refused = samleng(
        &target_url,
        &target_dir,
        &["restore", lying.to_str().expect("path")],
    );
    assert!(!refused.status.success());
    assert!(
        text(&refused).contains("nothing was restored"),
        "{}",
        text(&refused)
    );
    assert!(
        rows_per_table(&target).await.is_empty(),
        "the database is empty again"
    );
    assert!(files_under(&target_dir).is_empty(), "the files went too");

    let restored = samleng(&target_url, &target_dir, &["restore", archive_text]);
    assert!(restored.status.success(), "{}", text(&restored));

    // The embedded database: a new data folder stays empty after a refusal.
    let folder = new_data_dir();
    let embedded = Command::new(env!("CARGO_BIN_EXE_samleng"))
        .env_remove("DATABASE_URL")
        .env_remove("SAMLENG_OWNER_DATABASE_URL")
        .env_remove("SAMLENG_S3_BUCKET")
        .env("SAMLENG_DATA_DIR", &folder)
        .env("RUST_LOG", "error")
        .args(["restore", random.to_str().expect("path")])
        .output()
        .expect("run samleng");
    assert!(!embedded.status.success());
    assert!(
        !folder.join("postgres").exists(),
        "no cluster is left behind"
    );
}
