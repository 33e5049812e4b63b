//! The bin (src/deleted): deleting a field record asks first, puts it in the
//! bin, and takes it out of every figure; the secretariat restores it as it
//! was, with its id, counts, findings, files and history; after 30 days it is
//! purged with its history and files. Each step is audited.

use std::sync::Arc;

use object_store::local::LocalFileSystem;
use reqwest::StatusCode;

use samleng::files::FileStore;

use crate::helpers::{MAX_UPLOAD_BYTES, TestApp, Visitor, spawn_app, text_of};

const WRITER: &str = "ngo@as.example";
const STAFF: &str = "secretariat@cpdd.example";

async fn scalar(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(sql)
        .fetch_one(&app.pool)
        .await
        .unwrap_or_else(|error| panic!("{sql}: {error}"))
}

fn stored_files(app: &TestApp) -> usize {
    std::fs::read_dir(app.files_dir.join("attachments")).map_or(0, |dir| dir.count())
}

/// An FGD AS recorded in Rotonak Mondol (0207), with 9 women, a finding that
/// has a revision, and a file: everything a deletion must take and give back.
async fn recorded_fgd(app: &TestApp, writer: &Visitor) -> (i64, i64, i64) {
    let activity = scalar(
        app,
        "with a as (insert into activities (kind, held_on, district_code, facilitating_organization_id, place)
                    select 'fgd', '2021-09-01', '0207', id, 'Wat Kor hall' from organizations where acronym = 'AS' returning id),
              c as (insert into participant_counts (activity_id, participant_group, sex, count)
                    select id, 'citizen', 'female', 9 from a)
         select id from a",
    )
    .await;
    let finding = scalar(
        app,
        &format!("insert into findings (activity_id, text_en) values ({activity}, 'Wells are far') returning id"),
    )
    .await;
    sqlx::query("insert into revisions (entity, entity_id, version, snapshot) values ('finding', $1, 1, '{}')")
        .bind(finding)
        .execute(&app.pool)
        .await
        .expect("a revision");
    let pdf =
        reqwest::multipart::Part::bytes(b"%PDF-1.4\n minutes".to_vec()).file_name("minutes.pdf");
    let upload = writer
        .post_multipart(
            &app.url(&format!("/activities/{activity}/attachments")),
            reqwest::multipart::Form::new()
                .text("csrf_token", writer.csrf_token().await)
                .part("file", pdf),
        )
        .await;
    assert_eq!(upload.status, StatusCode::SEE_OTHER, "{}", upload.body);
    let file = scalar(
        app,
        &format!("select id from attachments where parent = 'activity' and parent_id = {activity}"),
    )
    .await;
    (activity, finding, file)
}

/// What the secretariat's dashboard counts for Rotonak Mondol.
async fn women_counted(app: &TestApp) -> i64 {
    scalar(
        app,
        "select coalesce(sum(participants_female), 0)::bigint from activities where district_code = '0207'",
    )
    .await
}

/// The bin's restore and purge buttons for the entry of `kind` #`record`.
fn entry_of(bin_page: &str, label: &str) -> i64 {
    let text_at = bin_page
        .find(label)
        .unwrap_or_else(|| panic!("the bin lists {label}"));
    let rest = &bin_page[text_at..];
    let action = rest
        .split("action=\"/bin/")
        .nth(1)
        .expect("a restore button");
    action
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .expect("an entry id")
}

#[tokio::test]
async fn a_deleted_activity_waits_in_the_bin_and_comes_back_whole() {
    let app = spawn_app().await;
    let writer = app.login_as(WRITER).await;
    let (activity, finding, file) = recorded_fgd(&app, &writer).await;
    let women = women_counted(&app).await;
    let files = stored_files(&app);

    // The page asks first: the button that deletes sits behind a warning.
    let page = writer.get(&format!("/activities/{activity}")).await;
    let delete_at = page
        .body
        .find(&format!("action=\"/activities/{activity}/delete\""))
        .expect("a delete form");
    let before = &page.body[..delete_at];
    assert!(before.rfind("<details").unwrap_or(0) > before.rfind("</details>").unwrap_or(0));
    assert!(
        text_of(&page.body).contains("goes to the bin. The secretariat can restore it for 30 days")
    );

    let deleted = writer
        .post(&format!("/activities/{activity}/delete"), &[])
        .await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER);
    let told = writer
        .get(deleted.location.as_deref().expect("to the list"))
        .await;
    assert!(text_of(&told.body).contains("moved to the bin"));
    assert_eq!(
        writer.get(&format!("/activities/{activity}")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(women_counted(&app).await, women - 9, "out of every figure");
    assert_eq!(stored_files(&app), files, "its file waits in the store");

    // Only the secretariat reaches the bin.
    for person in [
        WRITER,
        "ngo@ctod.example",
        "sna@banan.example",
        "donor@donor.example",
    ] {
        let visitor = app.login_as(person).await;
        assert_eq!(
            visitor.get("/bin").await.status,
            StatusCode::FORBIDDEN,
            "{person}"
        );
    }
    let staff = app.login_as(STAFF).await;
    let bin = staff.get("/bin").await;
    assert_eq!(bin.status, StatusCode::OK);
    assert!(text_of(&bin.body).contains(&format!(
        "Activity #{activity}: Focus group discussion · 2021-09-01"
    )));
    assert!(text_of(&bin.body).contains("Wat Kor hall"));
    let entry = entry_of(&bin.body, &format!("Activity #{activity}"));
    let outsider = app.login_as(WRITER).await;
    assert_eq!(
        outsider
            .post(&format!("/bin/{entry}/restore"), &[])
            .await
            .status,
        StatusCode::FORBIDDEN
    );

    let restored = staff.post(&format!("/bin/{entry}/restore"), &[]).await;
    assert_eq!(restored.status, StatusCode::SEE_OTHER);
    let told = staff.get("/bin").await;
    assert!(text_of(&told.body).contains("restored as it was"));
    assert!(text_of(&told.body).contains("The bin is empty"));
    // The same id, counts, finding, file and history.
    let shown = writer.get(&format!("/activities/{activity}")).await;
    assert_eq!(shown.status, StatusCode::OK);
    assert!(text_of(&shown.body).contains("Wells are far"));
    assert_eq!(women_counted(&app).await, women);
    let download = writer.get(&format!("/attachments/{file}")).await;
    assert_eq!(download.status, StatusCode::OK);
    assert!(download.body.contains("minutes"));
    assert_eq!(
        scalar(
            &app,
            &format!(
                "select count(*) from revisions where entity = 'finding' and entity_id = {finding}"
            )
        )
        .await,
        1
    );
    // A second click on Restore finds it gone, and says so.
    let again = staff.post(&format!("/bin/{entry}/restore"), &[]).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    assert!(text_of(&staff.get("/bin").await.body).contains("no longer in the bin"));
    assert_eq!(
        scalar(
            &app,
            &format!("select count(*) from activities where id = {activity}")
        )
        .await,
        1
    );
    assert_eq!(
        scalar(
            &app,
            &format!("select count(*) from audit_events where entity_id = '{activity}' and action in ('activity_deleted', 'restored_from_bin')")
        )
        .await,
        2
    );
}

#[tokio::test]
async fn a_finding_and_a_file_are_restored_only_where_they_belong() {
    let app = spawn_app().await;
    let writer = app.login_as(WRITER).await;
    let (activity, finding, file) = recorded_fgd(&app, &writer).await;
    let page = writer.get(&format!("/activities/{activity}")).await;
    assert!(text_of(&page.body).contains("The finding goes to the bin"));
    assert!(text_of(&page.body).contains("The file goes to the bin"));
    for path in [
        format!("/findings/{finding}/delete"),
        format!("/attachments/{file}/delete"),
    ] {
        let deleted = writer.post(&path, &[]).await;
        assert_eq!(deleted.status, StatusCode::SEE_OTHER, "{path}");
    }
    let shown = writer.get(&format!("/activities/{activity}")).await;
    assert!(!text_of(&shown.body).contains("Wells are far"));
    assert_eq!(
        writer.get(&format!("/attachments/{file}")).await.status,
        StatusCode::NOT_FOUND
    );

    // With its activity gone too, the finding has nowhere to go back to.
    let deleted = writer
        .post(&format!("/activities/{activity}/delete"), &[])
        .await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER);
    let staff = app.login_as(STAFF).await;
    let bin = staff.get("/bin").await;
    let finding_entry = entry_of(&bin.body, &format!("Finding #{finding}"));
    let file_entry = entry_of(&bin.body, &format!("File #{file}"));
    let activity_entry = entry_of(&bin.body, &format!("Activity #{activity}"));
    let refused = staff
        .post(&format!("/bin/{finding_entry}/restore"), &[])
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(text_of(&refused.body).contains("Restore that first"));
    assert_eq!(
        scalar(&app, "select count(*) from bin").await,
        3,
        "nothing changed"
    );

    for entry in [activity_entry, finding_entry, file_entry] {
        let restored = staff.post(&format!("/bin/{entry}/restore"), &[]).await;
        assert_eq!(restored.status, StatusCode::SEE_OTHER);
    }
    let shown = writer.get(&format!("/activities/{activity}")).await;
    assert!(text_of(&shown.body).contains("Wells are far"));
    assert_eq!(
        writer.get(&format!("/attachments/{file}")).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn after_thirty_days_the_bin_is_purged_with_history_and_files() {
    let app = spawn_app().await;
    let writer = app.login_as(WRITER).await;
    let (activity, finding, _file) = recorded_fgd(&app, &writer).await;
    let files = stored_files(&app);
    let deleted = writer
        .post(&format!("/activities/{activity}/delete"), &[])
        .await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER);
    let store = FileStore {
        store: Arc::new(LocalFileSystem::new_with_prefix(&app.files_dir).expect("file store")),
        max_bytes: MAX_UPLOAD_BYTES,
    };
    // The hourly purge, run when the entry is `days` old: how many it took.
    let purged_at = async |days: i32| {
        sqlx::query("update bin set deleted_at = now() - make_interval(days => $1)")
            .bind(days)
            .execute(&app.pool)
            .await
            .expect("aged");
        samleng::deleted::purge_expired(&app.app_pool, &store)
            .await
            .expect("purge")
    };
    // Not yet: 29 days on, it can still be restored.
    assert_eq!(purged_at(29).await, 0);
    assert_eq!(scalar(&app, "select count(*) from bin").await, 1);
    assert_eq!(purged_at(31).await, 1);
    assert_eq!(scalar(&app, "select count(*) from bin").await, 0);
    assert_eq!(stored_files(&app), files - 1, "its file is gone");
    assert_eq!(
        scalar(
            &app,
            &format!(
                "select count(*) from revisions where entity = 'finding' and entity_id = {finding}"
            )
        )
        .await,
        0
    );
    assert_eq!(
        scalar(&app, &format!("select count(*) from audit_events where action = 'purged_from_bin' and entity_id = '{activity}'")).await,
        1
    );

    // The secretariat may purge at once, for what must not wait.
    let (activity, _, _) = recorded_fgd(&app, &writer).await;
    let deleted = writer
        .post(&format!("/activities/{activity}/delete"), &[])
        .await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER);
    let staff = app.login_as(STAFF).await;
    let bin = staff.get("/bin").await;
    let entry = entry_of(&bin.body, &format!("Activity #{activity}"));
    assert!(bin.body.contains(&format!("action=\"/bin/{entry}/purge\"")));
    let purged = staff.post(&format!("/bin/{entry}/purge"), &[]).await;
    assert_eq!(purged.status, StatusCode::SEE_OTHER);
    assert!(text_of(&staff.get("/bin").await.body).contains("purged for good"));
    assert_eq!(scalar(&app, "select count(*) from bin").await, 0);
    assert_eq!(stored_files(&app), files - 1);
}
