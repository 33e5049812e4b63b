//! Removing the files of a record that is being deleted: their rows go in the
//! deleting transaction, their stored files once it has committed.

use object_store::path::Path as StorePath;

use crate::files::FileStore;

/// Deletes the attachment rows of one record, returning the stored names whose
/// files `remove_files` takes away after the commit.
pub async fn forget(
    tx: &mut sqlx::PgConnection,
    parent: &str,
    parent_id: i64,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar!(
        "delete from attachments where parent = $1 and parent_id = $2 returning stored_name",
        parent,
        parent_id
    )
    .fetch_all(tx)
    .await
}

/// Takes the files of forgotten attachments out of the store. A file that
/// cannot be removed is logged: its row is already gone, so nobody reaches it.
pub async fn remove_files(files: &FileStore, stored_names: Vec<String>) {
    for name in stored_names {
        let location = StorePath::from(format!("attachments/{name}"));
        if let Err(error) = files.store.delete(&location).await {
            tracing::warn!(%error, name, "a deleted record's file stayed in the store");
        }
    }
}
