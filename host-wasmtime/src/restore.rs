//! `restore --dest s3://...`: a day, or one document, from a bucket into a local directory,
//! byte for byte, checking every checksum (the checked stream is the Lambda crate's
//! [`docvault_lambda::restore::open_checked`], shared with the Lambda's restore into a prefix).
//!
//! Rules, as for a local restore (`docvault restore`):
//! * files keep their paths below the day's `documents/`;
//! * nothing is written when any target exists, unless `overwrite`;
//! * each object streams into a temporary file in its target directory while it is hashed; the
//!   file is flushed and renamed into place only when size and SHA-256 are the manifest's, so
//!   a document whose bytes were altered (kind `integrity`), or a crash, never leaves a file
//!   under the document's name. Memory stays at about one chunk per transfer, whatever the size.

use std::fs;
use std::path::{Component, Path, PathBuf};

use docvault_core::{BackupDate, Document};
use docvault_lambda::restore::{
    FetchError, NotRestored, RestoreError, RestoreReport, open_checked, relative_path,
    restore_each, selection,
};
use docvault_lambda::store::{ObjectStore, StoreError};
use tokio::io::AsyncWriteExt as _;

/// Restores `date` (or one `document`) from `store` under `prefix` into `to`.
///
/// # Errors
/// [`RestoreError`] when nothing can be restored; per-document failures are in the report.
pub async fn restore_day<S: ObjectStore>(
    store: &S,
    prefix: &str,
    date: BackupDate,
    to: &Path,
    document: Option<&str>,
    overwrite: bool,
    concurrency: usize,
) -> Result<RestoreReport, RestoreError> {
    let chosen = selection(store, prefix, date, document).await?;
    let mut targets = Vec::with_capacity(chosen.len());
    for doc in chosen {
        let target = relative_path(date, &doc)
            .and_then(|rel| below(to, rel))
            .ok_or_else(|| {
                RestoreError::UnsafeTarget(format!(
                    "the key {:?} does not map to a path below the target directory",
                    doc.object_key
                ))
            })?;
        targets.push((doc, target));
    }
    if !overwrite {
        let existing: Vec<&PathBuf> = targets
            .iter()
            .map(|(_, t)| t)
            .filter(|t| fs::symlink_metadata(t).is_ok())
            .collect();
        if let Some(first) = existing.first() {
            return Err(RestoreError::TargetsExist {
                count: existing.len(),
                first: first.display().to_string(),
            });
        }
    }

    Ok(restore_each(
        targets,
        concurrency,
        |(doc, target): (Document, PathBuf)| {
            let store = store.clone();
            let key = format!("{prefix}{}", doc.object_key);
            async move { restore_file(&store, &key, &doc, &target).await }
        },
    )
    .await?)
}

/// Streams `key` into `target` through a checked stream, a flushed temporary file and a rename.
async fn restore_file<S: ObjectStore>(
    store: &S,
    key: &str,
    doc: &Document,
    target: &Path,
) -> Result<Result<u64, NotRestored>, StoreError> {
    let fail = |kind, error: String| NotRestored {
        document_id: doc.document_id.to_string(),
        key: key.to_owned(),
        kind,
        error,
    };
    let (mut body, verdict) = match open_checked(store, key, doc).await {
        Ok(opened) => opened,
        Err(FetchError::Failed(kind, error)) => return Ok(Err(fail(kind, error))),
        Err(FetchError::Fatal(e)) => return Err(e),
    };
    let dir = target.parent().unwrap_or(Path::new("."));
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = dir.join(format!(".{name}.docvault-restore-{}", std::process::id()));
    // (what failed, why): `store` while reading, `write` while writing.
    let write = async {
        let local = |e: std::io::Error| ("write", format!("{}: {e}", target.display()));
        tokio::fs::create_dir_all(dir).await.map_err(local)?;
        let mut file = tokio::fs::File::create(&temp).await.map_err(local)?;
        while let Some(chunk) = body.next().await {
            // A refused body ends here, before its last chunk reaches the file.
            let chunk = chunk.map_err(|e| ("store", format!("reading {key}: {e}")))?;
            file.write_all(&chunk).await.map_err(local)?;
        }
        file.sync_all().await.map_err(local)?;
        drop(file);
        tokio::fs::rename(&temp, target).await.map_err(local)
    };
    let written: Result<(), (&'static str, String)> = write.await;
    if written.is_err() {
        let _ = tokio::fs::remove_file(&temp).await;
    }
    Ok(match (written, verdict.refused()) {
        (Ok(()), _) => Ok(doc.file_size),
        (Err(_), Some(reason)) => Err(fail("integrity", reason.to_owned())),
        (Err((kind, error)), None) => Err(fail(kind, error)),
    })
}

/// `root/rel` when `rel` is a relative path of plain names.
fn below(root: &Path, rel: &str) -> Option<PathBuf> {
    let path = Path::new(rel);
    (!rel.is_empty() && path.components().all(|c| matches!(c, Component::Normal(_))))
        .then(|| root.join(path))
}
