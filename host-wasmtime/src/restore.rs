//! `restore --dest s3://...`: a day, or one document, from a bucket into a local directory,
//! byte for byte, checking every checksum.
//!
//! Rules, as for a local restore (`docvault restore`):
//! * files keep their paths below the day's `documents/`;
//! * nothing is written when any target exists, unless `overwrite`;
//! * each body is hashed before it lands: a document whose bytes do not match the manifest's
//!   SHA-256 is reported (kind `integrity`) and leaves no file behind; a good one is written to
//!   a temporary file in the target directory, flushed, and renamed into place, so a crash never
//!   leaves a partial file under the document's name.

use std::fs;
use std::io::Write as _;
use std::path::{Component, Path, PathBuf};

use docvault_core::{BackupDate, Document, Layout, Manifest, Sha256Digest};
use docvault_lambda::store::{ObjectStore, StoreError};
use serde::Serialize;
use tokio::task::JoinSet;

/// One document that was not restored.
#[derive(Debug, Clone, Serialize)]
pub struct NotRestored {
    /// The document.
    pub document_id: String,
    /// Its key in the bucket.
    pub key: String,
    /// `integrity` (bytes differ from the manifest), `missing`, `store` or `write`.
    pub kind: &'static str,
    /// What happened.
    pub error: String,
}

/// The result of a restore.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RestoreReport {
    /// Documents asked for.
    pub requested: u64,
    /// Documents written.
    pub restored: u64,
    /// Bytes written.
    pub bytes: u64,
    /// Documents not written, with why.
    pub failed: Vec<NotRestored>,
}

/// Why a restore could not start.
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    /// No manifest for the day.
    #[error("{0} does not exist: the day has no complete backup")]
    NoManifest(String),
    /// The manifest does not validate.
    #[error("the manifest {key} is invalid: {reason}")]
    CorruptManifest {
        /// Its key.
        key: String,
        /// Why.
        reason: String,
    },
    /// The document asked for is not in the manifest.
    #[error("{0:?} is not a document of this day's manifest")]
    UnknownDocument(String),
    /// Targets exist and `overwrite` was not given.
    #[error(
        "{count} target file(s) exist already, e.g. {first}: nothing was restored; restore into \
         an empty directory or pass --overwrite"
    )]
    TargetsExist {
        /// How many.
        count: usize,
        /// The first one.
        first: PathBuf,
    },
    /// A manifest key that would leave the target directory.
    #[error("refused: the key {0:?} does not map to a path below the target directory")]
    UnsafeKey(String),
    /// The store failed.
    #[error("{0}")]
    Store(#[from] StoreError),
}

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
    let layout = Layout::new(date);
    let manifest_key = format!("{prefix}{}", layout.manifest_key());
    let bytes = store
        .get(&manifest_key)
        .await?
        .ok_or_else(|| RestoreError::NoManifest(manifest_key.clone()))?;
    let manifest = Manifest::from_json(&String::from_utf8_lossy(&bytes)).map_err(|e| {
        RestoreError::CorruptManifest {
            key: manifest_key.clone(),
            reason: e.to_string(),
        }
    })?;
    let chosen: Vec<Document> = match document {
        Some(id) => vec![
            manifest
                .documents
                .iter()
                .find(|d| d.document_id.as_str() == id)
                .cloned()
                .ok_or_else(|| RestoreError::UnknownDocument(id.to_owned()))?,
        ],
        None => manifest.documents.clone(),
    };
    let documents_prefix = layout.documents_prefix();
    let mut targets = Vec::with_capacity(chosen.len());
    for doc in chosen {
        let target = doc
            .object_key
            .strip_prefix(&documents_prefix)
            .and_then(|rel| below(to, rel))
            .ok_or_else(|| RestoreError::UnsafeKey(doc.object_key.clone()))?;
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
                first: (*first).clone(),
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
                let body = store.get(&key).await;
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
            Ok(Some(body)) => body,
            Ok(None) => {
                report
                    .failed
                    .push(fail("missing", "the object is not in the bucket".into()));
                continue;
            }
            Err(e) if e.is_fatal() => return Err(e.into()),
            Err(e) => {
                report.failed.push(fail("store", e.to_string()));
                continue;
            }
        };
        let actual = Sha256Digest::of(&body);
        if body.len() as u64 != doc.file_size || actual != doc.checksum {
            report.failed.push(fail(
                "integrity",
                format!(
                    "the object holds {} bytes with {actual}, the manifest says {} bytes with \
                     {}: it was altered after the backup; nothing was written",
                    body.len(),
                    doc.file_size,
                    doc.checksum
                ),
            ));
            continue;
        }
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
