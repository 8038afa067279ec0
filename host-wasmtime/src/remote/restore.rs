//! `restore --dest s3://... --to DIR`: a day, or one document, from a bucket into a local
//! directory, byte for byte, every checksum checked (the shared checked stream).
//!
//! Rules, as for a local restore (`docvault restore`):
//! * the core chooses the documents and their safe paths below the day's `documents/`;
//! * the target is reached only through its [`Root`]: no link is followed (a folder of the
//!   target that is a link is refused), temporary files are exclusive and unpredictable;
//! * nothing is written when any target exists, unless `--overwrite`;
//! * each object streams into a temporary file beside its target while it is hashed; the file
//!   is flushed and takes its name only when size and SHA-256 are the manifest's, so a document
//!   whose bytes were altered (kind `integrity`), or a crash, never leaves a file under the
//!   document's name. Memory stays at about one chunk per transfer, whatever the size.

use std::io::Write as _;

use docvault_core::restore::{NotRestored, NotRestoredKind, RestoreReport};
use docvault_core::{BackupDate, Document, KeyPrefix};
use docvault_fs::Root;
use docvault_s3::restore::{FetchError, RestoreError, open_checked, plan, restore_each};
use docvault_s3::store::{ObjectStore, StoreError};
use serde_json::json;

use crate::args::RestoreArgs;
use crate::error::Failure;
use crate::{output, remote};

/// Runs `restore --dest s3://... --to DIR`.
pub(crate) fn restore(args: &RestoreArgs) -> Result<(), Failure> {
    let url = remote::url(&args.dest)?;
    let target =
        Root::create(&args.to).map_err(Failure::io(format!("creating {}", args.to.display())))?;
    let runtime = remote::runtime()?;
    let store = remote::store(&runtime, &args.s3, &url.bucket);
    let report = runtime
        .block_on(restore_day(
            &store,
            &url.prefix,
            args.date,
            &target,
            args.document.as_deref(),
            args.overwrite,
            args.s3.concurrency,
        ))
        .map_err(|e| match e.store_error() {
            Some(s) => Failure::storage(format!("restore from {url}"), s),
            None => Failure::Check(e.to_string()),
        })?;
    if args.json {
        let mut value = serde_json::to_value(&report)
            .map_err(|e| Failure::Check(format!("serializing the report: {e}")))?;
        value["command"] = json!("restore");
        value["date"] = json!(args.date.to_string());
        value["from"] = json!(url.to_string());
        value["to"] = json!(args.to.display().to_string());
        output::json(&value)?;
    } else {
        let mut text = format!(
            "restore of {} from {url} into {}: {} of {} documents ({} bytes), every checksum \
             checked\n",
            args.date,
            args.to.display(),
            report.restored,
            report.requested,
            report.bytes
        );
        for f in &report.failed {
            text.push_str(&format!(
                "  not restored {} ({}): {}\n",
                docvault_core::text::escaped(&f.key),
                f.kind.as_str(),
                docvault_core::text::escaped(&f.error)
            ));
        }
        output::text(&text)?;
    }
    if report.failed.is_empty() {
        Ok(())
    } else {
        Err(Failure::Check(format!(
            "{} of {} documents of {} were not restored",
            report.failed.len(),
            report.requested,
            args.date
        )))
    }
}

/// Restores `date` (or one `document`) from `store` below `prefix` into `target`.
///
/// # Errors
/// [`RestoreError`] when nothing can be restored; per-document failures are in the report.
async fn restore_day<S: ObjectStore>(
    store: &S,
    prefix: &KeyPrefix,
    date: BackupDate,
    target: &Root,
    document: Option<&str>,
    overwrite: bool,
    concurrency: usize,
) -> Result<RestoreReport, RestoreError> {
    let chosen = plan(store, prefix, date, document, remote::manifest_limit()).await?;
    if !overwrite {
        let mut existing = Vec::new();
        for (_, path) in &chosen {
            let found = target.metadata(path).map_err(|e| {
                RestoreError::Store(StoreError::Transient(format!(
                    "examining {}: {e}",
                    target.display(path).display()
                )))
            })?;
            if found.is_some() {
                existing.push(target.display(path).display().to_string());
            }
        }
        if let Some(first) = existing.first() {
            return Err(RestoreError::TargetsExist {
                count: existing.len(),
                first: first.clone(),
            });
        }
    }
    Ok(restore_each(chosen, concurrency, |(doc, path)| {
        let store = store.clone();
        let key = prefix.join(&doc.object_key);
        let target = target.clone();
        async move { restore_file(&store, &key, &doc, &target, &path, overwrite).await }
    })
    .await?)
}

/// Streams `key` into `path` below `target` through a checked stream, an exclusive temporary
/// file and a rename (or a create-only link).
async fn restore_file<S: ObjectStore>(
    store: &S,
    key: &str,
    doc: &Document,
    target: &Root,
    path: &str,
    overwrite: bool,
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
    let shown = target.display(path).display().to_string();
    let local = |e: std::io::Error| (NotRestoredKind::Write, format!("{shown}: {e}"));
    let written: Result<(), (NotRestoredKind, String)> = async {
        let mut temp = target.prepare_file(path).map_err(local)?;
        while let Some(chunk) = body.next().await {
            // A refused body ends here, before its last chunk reaches the file.
            let chunk =
                chunk.map_err(|e| (NotRestoredKind::Store, format!("reading {key}: {e}")))?;
            temp.file().write_all(&chunk).map_err(local)?;
        }
        temp.commit_at(target, path, overwrite).map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                (
                    NotRestoredKind::Exists,
                    format!("{shown} appeared meanwhile and was left as it is"),
                )
            } else {
                local(e)
            }
        })
    }
    .await;
    Ok(match (written, verdict.refused()) {
        (Ok(()), _) => Ok(doc.file_size),
        (Err(_), Some(reason)) => Err(fail(NotRestoredKind::Integrity, reason.to_owned())),
        (Err((kind, error)), None) => Err(fail(kind, error)),
    })
}
