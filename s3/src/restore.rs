//! Restoring a day, or one document, from a backup in a store, checking every checksum.
//!
//! What every store-backed restore shares: the day's manifest loaded and the documents chosen
//! by the core ([`plan`]: safe relative paths, or a typed refusal), each object opened as a
//! stream checked against its entry ([`open_checked`]: an altered body ends in an error before
//! its last chunk, so no consumer ever receives it complete), and a loop that runs at most
//! `concurrency` documents at a time and adds up the report ([`restore_each`]). The Lambda
//! restores into another prefix or bucket ([`restore_to_prefix`]); the sandbox runner restores
//! into a directory, through its confined filesystem.
//!
//! Each document in flight holds about one chunk of its body in memory, whatever its size.

use std::future::Future;

use aws_sdk_s3::primitives::ByteStream;
use docvault_core::layout::{RestoreTargetError, check_restore_target};
use docvault_core::restore::{
    NotRestored, NotRestoredKind, RestorePlanError, RestoreReport, plan_restore,
};
use docvault_core::{BackupDate, Document, KeyPrefix, PlanOptions, plan};
use futures::StreamExt as _;

use crate::manifest::{LoadError, load_committed, manifest_key};
use crate::store::{ObjectStore, StoreError};
use crate::stream::{Verdict, Wording, checked};

/// Why a restore could not start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RestoreError {
    /// No manifest for the day.
    #[error("{0} does not exist: the day has no complete backup")]
    NoManifest(String),
    /// The manifest cannot be loaded.
    #[error(transparent)]
    Manifest(LoadError),
    /// The manifest does not allow this restore (an unknown document, an unsafe key).
    #[error(transparent)]
    Plan(#[from] RestorePlanError),
    /// The target may not be written.
    #[error(transparent)]
    Target(#[from] RestoreTargetError),
    /// Targets exist and overwriting was not asked for.
    #[error(
        "{count} target(s) exist already, e.g. {first}: nothing was restored; restore into an \
         empty place or ask to overwrite"
    )]
    TargetsExist {
        /// How many.
        count: usize,
        /// The first one.
        first: String,
    },
    /// The store failed.
    #[error("{0}")]
    Store(#[from] StoreError),
}

impl RestoreError {
    /// The store error behind this one, when a store failed.
    pub fn store_error(&self) -> Option<&StoreError> {
        match self {
            Self::Store(e) => Some(e),
            Self::Manifest(e) => e.store_error(),
            _ => None,
        }
    }
}

/// The documents of `date` (below `prefix`) to restore, all or the one named, each with its
/// path below the target.
///
/// # Errors
/// No manifest, one that cannot be loaded, an unknown document or an unsafe key, the store.
pub async fn plan<S: ObjectStore>(
    store: &S,
    prefix: &KeyPrefix,
    date: BackupDate,
    document: Option<&str>,
    manifest_limit: u64,
) -> Result<Vec<(Document, String)>, RestoreError> {
    let manifest = load_committed(store, prefix, date, manifest_limit)
        .await
        .map_err(RestoreError::Manifest)?
        .ok_or_else(|| RestoreError::NoManifest(manifest_key(prefix, date)))?;
    Ok(plan_restore(&manifest, document)?
        .into_iter()
        .map(|item| (item.document.clone(), item.path.to_owned()))
        .collect())
}

/// Why [`open_checked`] gave no stream.
#[derive(Debug)]
pub enum FetchError {
    /// This document fails; others may still succeed.
    Failed(NotRestoredKind, String),
    /// The store refuses everything (permissions, missing bucket): stop.
    Fatal(StoreError),
}

/// Opens `key` as a stream checked against `doc`: it yields the object's bytes, and ends in an
/// error instead of its last chunk when the size or SHA-256 is not the manifest's; the
/// [`Verdict`] then says what was found.
///
/// # Errors
/// [`FetchError::Failed`] for this document (missing, store); [`FetchError::Fatal`] when the
/// store refuses everything.
pub async fn open_checked<S: ObjectStore>(
    store: &S,
    key: &str,
    doc: &Document,
) -> Result<(ByteStream, Verdict), FetchError> {
    match store.get_stream(key, None).await {
        Ok(Some(stream)) => Ok(checked(stream, doc, Wording::RESTORE)),
        Ok(None) => Err(FetchError::Failed(
            NotRestoredKind::Missing,
            "the object is not in the bucket".into(),
        )),
        Err(e) if e.is_fatal() => Err(FetchError::Fatal(e)),
        Err(e) => Err(FetchError::Failed(NotRestoredKind::Store, e.to_string())),
    }
}

/// Runs `restore` for every item, at most `concurrency` at a time (each on its own task), and
/// adds up the report: each item restores one document (its size) or says why not; a
/// [`StoreError`] stops all.
///
/// # Errors
/// The first [`StoreError`] (a store that refuses everything), or a task that failed.
pub async fn restore_each<T, F, Fut>(
    items: Vec<T>,
    concurrency: usize,
    mut restore: F,
) -> Result<RestoreReport, StoreError>
where
    F: FnMut(T) -> Fut,
    Fut: Future<Output = Result<Result<u64, NotRestored>, StoreError>> + Send + 'static,
{
    let mut report = RestoreReport {
        requested: items.len() as u64,
        ..RestoreReport::default()
    };
    let mut outcomes = futures::stream::iter(items)
        .map(|item| tokio::spawn(restore(item)))
        .buffer_unordered(concurrency.max(1));
    while let Some(joined) = outcomes.next().await {
        let outcome =
            joined.map_err(|e| StoreError::Transient(format!("a restore task failed: {e}")))??;
        report.add(outcome);
    }
    Ok(report.finish())
}

/// A restore into another prefix of the backup bucket, or into another bucket.
#[derive(Debug, Clone)]
pub struct PrefixRestore {
    /// The day.
    pub date: BackupDate,
    /// Whether the target store is another bucket than the backup's.
    pub other_bucket: bool,
    /// Where restored documents go: `{to_prefix}{path below documents/}`.
    pub to_prefix: KeyPrefix,
    /// Only this document.
    pub document: Option<String>,
    /// Replace objects at the targets (otherwise writes are create-only).
    pub overwrite: bool,
    /// The backup's prefix, environment and encryption (restored objects are encrypted the
    /// same way and carry the same metadata and tags).
    pub options: PlanOptions,
    /// Transfers in flight.
    pub concurrency: usize,
    /// The largest manifest loaded.
    pub manifest_limit: u64,
}

/// Restores from `backup` into `request.to_prefix` of `target` (the backup bucket's store, or
/// another bucket's), create-only unless `overwrite`. The target may neither be inside nor
/// contain the backup area ([`check_restore_target`]). Each object streams from the backup
/// into its target PUT through [`open_checked`], with the manifest's SHA-256 as
/// `x-amz-checksum-sha256`: the check refuses an altered body before its last bytes are sent,
/// and S3 refuses a body that does not match the header.
///
/// # Errors
/// [`RestoreError`] when nothing can be restored; per-document failures are in the report.
pub async fn restore_to_prefix<S: ObjectStore>(
    backup: &S,
    target: &S,
    request: &PrefixRestore,
) -> Result<RestoreReport, RestoreError> {
    check_restore_target(
        &request.options.prefix,
        &request.to_prefix,
        !request.other_bucket,
    )?;
    let docs = plan(
        backup,
        &request.options.prefix,
        request.date,
        request.document.as_deref(),
        request.manifest_limit,
    )
    .await?;
    Ok(restore_each(docs, request.concurrency, |(doc, path)| {
        let (backup, target) = (backup.clone(), target.clone());
        let request = request.clone();
        async move { restore_one(&backup, &target, &request, doc, &path).await }
    })
    .await?)
}

async fn restore_one<S: ObjectStore>(
    backup: &S,
    target: &S,
    request: &PrefixRestore,
    doc: Document,
    path: &str,
) -> Result<Result<u64, NotRestored>, StoreError> {
    let source = request.options.prefix.join(&doc.object_key);
    let fail = |kind, error| NotRestored {
        document_id: doc.document_id.to_string(),
        key: source.clone(),
        kind,
        error,
    };
    let (body, verdict) = match open_checked(backup, &source, &doc).await {
        Ok(opened) => opened,
        Err(FetchError::Failed(kind, error)) => return Ok(Err(fail(kind, error))),
        Err(FetchError::Fatal(e)) => return Err(e),
    };
    let mut put = plan::document_put(&request.options, request.date, &doc);
    put.key = request.to_prefix.join(path);
    put.if_none_match = !request.overwrite;
    let written = target.put_stream(&put, body).await;
    if let Some(reason) = verdict.refused() {
        let reason = match written {
            Ok(_) => format!(
                "{reason}; but the target store accepted the partial body it was sent: remove \
                 {} there",
                put.key
            ),
            Err(_) => reason.to_owned(),
        };
        return Ok(Err(fail(NotRestoredKind::Integrity, reason)));
    }
    match written {
        Ok(_) => Ok(Ok(doc.file_size)),
        Err(StoreError::PreconditionFailed) => Ok(Err(fail(
            NotRestoredKind::Exists,
            format!(
                "{} exists already and was left as it is (ask to overwrite)",
                put.key
            ),
        ))),
        Err(StoreError::ChecksumMismatch(e)) => Ok(Err(fail(
            NotRestoredKind::Integrity,
            format!("the target refused the body as altered: {e}; nothing was written"),
        ))),
        Err(e) if e.is_fatal() => Err(e),
        Err(e) => Ok(Err(fail(
            NotRestoredKind::Store,
            format!("writing {}: {e}", put.key),
        ))),
    }
}
