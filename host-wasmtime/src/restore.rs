//! `restore --dest s3://...`: a day, or one document, from a bucket into a local directory,
//! byte for byte, checking every checksum (the download and the check are the Lambda crate's
//! [`docvault_lambda::restore`], shared with the Lambda's restore into a prefix).
//!
//! Rules, as for a local restore (`docvault restore`):
//! * files keep their paths below the day's `documents/`;
//! * nothing is written when any target exists, unless `overwrite`;
//! * a document whose bytes do not match the manifest's SHA-256 is reported (kind `integrity`)
//!   and leaves no file behind; a good one is written to a temporary file in the target
//!   directory, flushed, and renamed into place, so a crash never leaves a partial file under
//!   the document's name.

use std::fs;
use std::io::Write as _;
use std::path::{Component, Path, PathBuf};

use docvault_core::BackupDate;
use docvault_lambda::restore::{
    FetchError, NotRestored, RestoreError, RestoreReport, fetch_checked, relative_path, selection,
};
use docvault_lambda::store::{ObjectStore, StoreError};
use tokio::task::JoinSet;

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

    let mut report = RestoreReport {
        requested: targets.len() as u64,
        ..RestoreReport::default()
    };
    let mut pending = targets.into_iter();
    let mut tasks = JoinSet::new();
    loop {
        while tasks.len() < concurrency.max(1) {
            let Some((doc, target)) = pending.next() else {
                break;
            };
            let store = store.clone();
            let key = format!("{prefix}{}", doc.object_key);
            tasks.spawn(async move {
                let body = fetch_checked(&store, &key, &doc).await;
                (doc, target, key, body)
            });
        }
        let Some(joined) = tasks.join_next().await else {
            break;
        };
        let (doc, target, key, body) =
            joined.map_err(|e| StoreError::Transient(format!("a download task failed: {e}")))?;
        let fail = |kind, error: String| NotRestored {
            document_id: doc.document_id.to_string(),
            key: key.clone(),
            kind,
            error,
        };
        let body = match body {
            Ok(body) => body,
            Err(FetchError::Failed(kind, error)) => {
                report.failed.push(fail(kind, error));
                continue;
            }
            Err(FetchError::Fatal(e)) => return Err(e.into()),
        };
        match write_whole(&target, &body) {
            Ok(()) => {
                report.restored += 1;
                report.bytes += body.len() as u64;
            }
            Err(e) => report
                .failed
                .push(fail("write", format!("{}: {e}", target.display()))),
        }
    }
    report.failed.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(report)
}

/// `root/rel` when `rel` is a relative path of plain names.
fn below(root: &Path, rel: &str) -> Option<PathBuf> {
    let path = Path::new(rel);
    (!rel.is_empty() && path.components().all(|c| matches!(c, Component::Normal(_))))
        .then(|| root.join(path))
}

/// Writes `body` at `target` through a flushed temporary file and a rename.
fn write_whole(target: &Path, body: &[u8]) -> std::io::Result<()> {
    let dir = target.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir)?;
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = dir.join(format!(".{name}.docvault-restore-{}", std::process::id()));
    let result = (|| {
        let mut file = fs::File::create(&temp)?;
        file.write_all(body)?;
        file.sync_all()?;
        fs::rename(&temp, target)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}
