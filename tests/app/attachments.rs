//! Photos and documents: accepted types, refused types and sizes, generated
//! names, and who may download what.

use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};

use crate::helpers::{MAX_UPLOAD_BYTES, TestApp, Visitor, spawn_app, text_of};

const JPEG: &[u8] = b"\xFF\xD8\xFF\xE0\x00\x10JFIF\x00\x01 a tiny photo";
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR a tiny image";
const WEBP: &[u8] = b"RIFF\x24\x00\x00\x00WEBPVP8 a tiny image";
const PDF: &[u8] = b"%PDF-1.7\n a tiny document";

async fn scalar(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(sql)
        .fetch_one(&app.pool)
        .await
        .expect(sql)
}

async fn upload(
    app: &TestApp,
    visitor: &Visitor,
    path: &str,
    file_name: &str,
    bytes: Vec<u8>,
    public: bool,
) -> (StatusCode, String) {
    let token = visitor.csrf_token().await;
    let mut form = Form::new()
        .text("csrf_token", token)
        .text("caption", "Meeting at the pagoda")
        .part("file", Part::bytes(bytes).file_name(file_name.to_owned()));
    if public {
        form = form.text("public", "on");
    }
    let response = visitor
        .client
        .post(app.url(path))
        .multipart(form)
        .send()
        .await
        .expect("upload");
    let status = response.status();
    (status, response.text().await.expect("body"))
}

/// The files in the store, less the demo's evidence files (which are PDFs
/// attached to progress reports).
async fn stored_files(app: &TestApp) -> Vec<String> {
    let demo: Vec<String> =
        sqlx::query_scalar("select stored_name from attachments where parent = 'action_update'")
            .fetch_all(&app.pool)
            .await
            .expect("demo files");
    let folder = app.files_dir.join("attachments");
    std::fs::read_dir(folder)
        .map(|entries| {
            entries
                .flatten()
                .map(|entry| entry.file_name().to_string_lossy().into_owned())
                .filter(|name| !demo.contains(name))
                .collect()
        })
        .unwrap_or_default()
}

async fn fgd(app: &TestApp, district: &str) -> i64 {
    scalar(
        app,
        &format!("select id from activities where district_code = '{district}' and kind = 'fgd'"),
    )
    .await
}

#[tokio::test]
async fn photos_and_pdfs_are_stored_under_generated_names_and_downloaded_as_sent() {
    let app = spawn_app().await;
    let ngo = app.login_as("ngo@ctod.example").await;
    let activity = fgd(&app, "0203").await;
    let path = format!("/activities/{activity}/attachments");
    for (name, bytes) in [
        ("pagoda.jpg", JPEG),
        ("chart.png", PNG),
        ("photo.webp", WEBP),
        ("minutes.pdf", PDF),
    ] {
        let (status, body) = upload(&app, &ngo, &path, name, bytes.to_vec(), false).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{name}: {body}");
    }
    let names: Vec<String> = sqlx::query_scalar(
        "select stored_name from attachments where parent = 'activity' order by id",
    )
    .fetch_all(&app.pool)
    .await
    .expect("names");
    assert_eq!(names.len(), 4);
    for name in &names {
        assert!(
            !name.contains("pagoda") && !name.contains("minutes") && name.len() > 32,
            "{name}"
        );
    }
    let mut on_disk = stored_files(&app).await;
    on_disk.sort();
    let mut expected = names.clone();
    expected.sort();
    assert_eq!(on_disk, expected);
    let page = ngo.get(&format!("/activities/{activity}")).await;
    assert!(page.body.contains("Meeting at the pagoda"));
    let id = scalar(
        &app,
        "select id from attachments where content_type = 'image/jpeg'",
    )
    .await;
    let download = ngo
        .client
        .get(app.url(&format!("/attachments/{id}")))
        .send()
        .await
        .expect("download");
    assert_eq!(download.status(), StatusCode::OK);
    assert_eq!(download.headers()["content-type"], "image/jpeg");
    assert!(
        download.headers()["content-disposition"]
            .to_str()
            .unwrap_or_default()
            .starts_with("attachment;")
    );
    assert_eq!(download.bytes().await.expect("bytes").as_ref(), JPEG);
}

#[tokio::test]
async fn a_script_renamed_jpg_an_empty_file_and_a_large_file_are_refused_and_nothing_is_stored() {
    let app = spawn_app().await;
    let ngo = app.login_as("ngo@ctod.example").await;
    let path = format!("/activities/{}/attachments", fgd(&app, "0203").await);
    let cases: [(&str, Vec<u8>, StatusCode, &str); 3] = [
        (
            "shell.jpg",
            b"<?php system($_GET['c']); ?>".to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "Only JPEG, PNG and WebP photos, PDF documents and Excel workbooks (.xlsx) without macros",
        ),
        (
            "empty.jpg",
            Vec::new(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "Choose a file.",
        ),
        (
            "huge.jpg",
            [JPEG, &vec![0u8; MAX_UPLOAD_BYTES]].concat(),
            StatusCode::PAYLOAD_TOO_LARGE,
            "The file is larger than 200 KB.",
        ),
    ];
    for (name, bytes, expected, message) in cases {
        let (status, body) = upload(&app, &ngo, &path, name, bytes, true).await;
        assert_eq!(status, expected, "{name}");
        assert!(body.contains(message), "{name}: {message}");
        assert!(
            body.contains(r#"value="Meeting at the pagoda""#),
            "the caption is kept"
        );
        assert!(
            body.contains(r#"name="public" checked"#),
            "so is the choice"
        );
    }
    assert_eq!(
        scalar(
            &app,
            "select count(*) from attachments where parent = 'activity'"
        )
        .await,
        0
    );
    assert!(stored_files(&app).await.is_empty());
}

#[tokio::test]
async fn only_those_who_may_read_the_record_download_its_files() {
    let app = spawn_app().await;
    let staff = app.login_as("secretariat@cpdd.example").await;
    let published = fgd(&app, "0203").await;
    let draft = fgd(&app, "0207").await;
    upload(
        &app,
        &staff,
        &format!("/activities/{published}/attachments"),
        "a.jpg",
        JPEG.to_vec(),
        true,
    )
    .await;
    upload(
        &app,
        &staff,
        &format!("/activities/{published}/attachments"),
        "b.jpg",
        JPEG.to_vec(),
        false,
    )
    .await;
    upload(
        &app,
        &staff,
        &format!("/activities/{draft}/attachments"),
        "c.pdf",
        PDF.to_vec(),
        false,
    )
    .await;
    let ids: Vec<i64> =
        sqlx::query_scalar("select id from attachments where parent = 'activity' order by id")
            .fetch_all(&app.pool)
            .await
            .expect("ids");
    let [public, internal, elsewhere] = ids[..] else {
        panic!("three attachments")
    };
    let status = |email: &'static str, id: i64| {
        let app = &app;
        async move {
            let visitor = app.login_as(email).await;
            visitor
                .client
                .get(app.url(&format!("/attachments/{id}")))
                .send()
                .await
                .expect("download")
                .status()
        }
    };
    assert_eq!(status("donor@donor.example", public).await, StatusCode::OK);
    assert_eq!(
        status("donor@donor.example", internal).await,
        StatusCode::FORBIDDEN,
        "not marked public"
    );
    assert_eq!(
        status("sna@battambang.example", internal).await,
        StatusCode::FORBIDDEN,
        "what citizens said alone in an FGD stays with the NGOs and the secretariat"
    );
    assert_eq!(status("ngo@ctod.example", internal).await, StatusCode::OK);
    assert_eq!(
        status("ngo@as.example", internal).await,
        StatusCode::FORBIDDEN,
        "AS does not cover 0203: it reads what donors read"
    );
    assert_eq!(
        status("ngo@as.example", elsewhere).await,
        StatusCode::OK,
        "AS covers 0207"
    );
    assert_eq!(
        status("ngo@ctod.example", elsewhere).await,
        StatusCode::FORBIDDEN,
        "CTOD does not"
    );
    assert_eq!(
        status("sna@battambang.example", elsewhere).await,
        StatusCode::FORBIDDEN
    );
    let outsider = app.login_as("ngo@ctod.example").await;
    let (refused, _) = upload(
        &app,
        &outsider,
        &format!("/activities/{draft}/attachments"),
        "d.jpg",
        JPEG.to_vec(),
        false,
    )
    .await;
    assert_eq!(refused, StatusCode::FORBIDDEN);
    assert_eq!(
        scalar(
            &app,
            "select count(*) from attachments where parent = 'activity'"
        )
        .await,
        3
    );
}

#[tokio::test]
async fn photos_are_previewed_and_their_writers_withdraw_or_delete_them() {
    let app = spawn_app().await;
    let ngo = app.login_as("ngo@ctod.example").await;
    let activity = fgd(&app, "0203").await;
    let page = format!("/activities/{activity}");
    let (status, _) = upload(
        &app,
        &ngo,
        &format!("{page}/attachments"),
        "pagoda.jpg",
        JPEG.to_vec(),
        true,
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let id = scalar(&app, "select max(id) from attachments").await;
    let donor = app.login_as("donor@donor.example").await;
    // A photo shows in the page, small, for those who may read it.
    let shown = donor.get(&page).await.body;
    assert!(shown.contains(&format!(
        r#"<img class="preview" src="/attachments/{id}/preview""#
    )));
    let preview = donor
        .client
        .get(app.url(&format!("/attachments/{id}/preview")))
        .send()
        .await
        .expect("preview");
    assert_eq!(preview.status(), StatusCode::OK);
    assert_eq!(preview.headers()["content-disposition"], "inline");
    assert_eq!(preview.bytes().await.expect("bytes").as_ref(), JPEG);
    // Only the district's writers withdraw it; donors then lose it.
    let outsider = app.login_as("ngo@as.example").await;
    assert_eq!(
        outsider
            .post(&format!("/attachments/{id}/withdraw"), &[])
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let withdrawn = ngo.post(&format!("/attachments/{id}/withdraw"), &[]).await;
    assert_eq!(withdrawn.status, StatusCode::SEE_OTHER);
    let download = |visitor: &Visitor| {
        visitor
            .client
            .get(app.url(&format!("/attachments/{id}")))
            .send()
    };
    assert_eq!(
        download(&donor).await.expect("download").status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        download(&ngo).await.expect("download").status(),
        StatusCode::OK
    );
    assert!(
        !donor
            .get(&page)
            .await
            .body
            .contains(&format!("/attachments/{id}"))
    );
    // Deleting puts it in the bin: its file waits in the store until the
    // bin is purged (tests/app/bin.rs).
    let files = stored_files(&app).await.len();
    let deleted = ngo.post(&format!("/attachments/{id}/delete"), &[]).await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER);
    assert_eq!(stored_files(&app).await.len(), files);
    assert_eq!(
        scalar(
            &app,
            &format!("select count(*) from attachments where id = {id}")
        )
        .await,
        0
    );
    assert_eq!(
        scalar(&app, &format!("select count(*) from audit_events where entity = 'attachment' and entity_id = '{id}' and action in ('attachment_withdrawn', 'attachment_deleted')")).await,
        2
    );
}

/// A workbook as a spreadsheet program saves one, with a macro project if
/// `macros` (rust_xlsxwriter writes it as Excel writes an `.xlsm`).
pub fn workbook(macros: bool) -> Vec<u8> {
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet
        .write_string(0, 0, "Citizens · Female")
        .expect("heading");
    sheet.write_number(1, 0, 12.0).expect("count");
    if macros {
        let project =
            std::env::temp_dir().join(format!("samleng-macros-{}.bin", std::process::id()));
        std::fs::write(&project, b"Attribute VB_Name = \"ThisWorkbook\"").expect("project");
        workbook.add_vba_project(&project).expect("macros");
        let bytes = workbook.save_to_buffer().expect("xlsm");
        std::fs::remove_file(&project).ok();
        return bytes;
    }
    workbook.save_to_buffer().expect("xlsx")
}

#[tokio::test]
async fn a_tally_sheet_workbook_is_attached_as_sent_and_one_with_macros_is_refused() {
    let app = spawn_app().await;
    let ngo = app.login_as("ngo@ctod.example").await;
    let activity = fgd(&app, "0203").await;
    let path = format!("/activities/{activity}/attachments");
    let tally = workbook(false);
    let (status, _) = upload(&app, &ngo, &path, "tally.xlsx", tally.clone(), false).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let id = scalar(
        &app,
        &format!(
            "select id from attachments where parent = 'activity' and parent_id = {activity}
             and content_type = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'"
        ),
    )
    .await;
    assert_eq!(ngo.get_bytes(&format!("/attachments/{id}")).await, tally);
    let files = stored_files(&app).await.len();
    let (status, body) = upload(&app, &ngo, &path, "tally.xlsm", workbook(true), false).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(text_of(&body).contains("Excel workbooks (.xlsx) without macros"));
    assert_eq!(stored_files(&app).await.len(), files, "nothing stored");
}
