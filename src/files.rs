//! Where uploaded files go: a folder in the data directory, or an
//! S3-compatible bucket. The state carries one store; attachments, imports,
//! the bin and backups read and write through it.

use std::sync::Arc;

use object_store::ObjectStore;

use crate::config::Config;

#[derive(Clone)]
pub struct FileStore {
    pub store: Arc<dyn ObjectStore>,
    /// The largest file accepted, in bytes.
    pub max_bytes: usize,
}

impl FileStore {
    /// The S3 bucket when one is named, else `files/` in the data folder.
    pub fn from_config(config: &Config) -> anyhow::Result<FileStore> {
        let store: Arc<dyn ObjectStore> = match &config.s3_bucket {
            Some(bucket) => Arc::new(
                object_store::aws::AmazonS3Builder::from_env()
                    .with_bucket_name(bucket)
                    .build()?,
            ),
            None => {
                let folder = config.data_dir.join("files");
                std::fs::create_dir_all(&folder)?;
                Arc::new(object_store::local::LocalFileSystem::new_with_prefix(
                    folder,
                )?)
            }
        };
        Ok(FileStore {
            store,
            max_bytes: config.max_upload_mb * 1024 * 1024,
        })
    }
}
