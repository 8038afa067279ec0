//! Restoring a day, or one document, from the backup bucket, checking every checksum.
//!
//! The pieces every host shares: which documents ([`selection`]), and [`fetch_checked`], which
//! downloads one object and refuses it unless its size and SHA-256 are the manifest's, so an
//! altered object never lands anywhere. The Lambda restores into another prefix of the bucket
//! ([`restore_to_prefix`], a `restore` event); the wasmtime runner restores into a directory
//! (`docvault-wasmtime restore --dest s3://...`).
//!
//! Bodies are downloaded whole (documents are kilobytes to a few megabytes), at most
//! `concurrency` at a time.

use bytes::Bytes;
use docvault_core::{BackupDate, Document, Layout, Manifest, PlanOptions, Sha256Digest, plan};
use serde::Serialize;
use tokio::task::JoinSet;

use crate::store::{ObjectStore, StoreError};

/// One document that was not restored.
#[derive(Debug, Clone, Serialize)]
pub struct NotRestored {
    /// The document.
    pub document_id: String,
    /// Its key in the bucket.
    pub key: String,
    /// `integrity` (bytes differ from the manifest), `missing`, `store`, `exists` or `write`.
    pub kind: &'static str,
    /// What happened.
    pub error: String,
}

/// The result of a restore.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RestoreReport {
    /// Documents asked for.
    pub requested: u64,
    /// Documents restored.
    pub restored: u64,
    /// Bytes restored.
    pub bytes: u64,
    /// Documents not restored, with why, sorted by key.
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
    /// A target that is not allowed.
    #[error("refused: {0}")]
    UnsafeTarget(String),
    /// The store failed.
    #[error("{0}")]
    Store(#[from] StoreError),
}

/// The documents of `date` under `prefix` to restore: all, or the one named.
///
/// # Errors
/// No manifest, an invalid one, an unknown document, or the store.
pub async fn selection<S: ObjectStore>(
    store: &S,
    prefix: &str,
    date: BackupDate,
    document: Option<&str>,
) -> Result<Vec<Document>, RestoreError> {
    let manifest_key = format!("{prefix}{}", Layout::new(date).manifest_key());
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
    match document {
        None => Ok(manifest.documents),
        Some(id) => manifest
            .documents
            .into_iter()
            .find(|d| d.document_id.as_str() == id)
            .map(|d| vec![d])
            .ok_or_else(|| RestoreError::UnknownDocument(id.to_owned())),
    }
}

/// A document's path below the day's `documents/` (where a restore puts it).
pub fn relative_path(date: BackupDate, doc: &Document) -> Option<&str> {
    doc.object_key
        .strip_prefix(&Layout::new(date).documents_prefix())
        .filter(|rel| {
            !rel.is_empty()
                && rel
                    .split('/')
                    .all(|s| !s.is_empty() && s != "." && s != "..")
        })
}

/// Downloads `key` and returns its bytes only when they are `doc`'s (size and SHA-256).
///
/// # Errors
/// [`FetchError::Failed`] for this document (`missing`, `store`, `integrity`);
/// [`FetchError::Fatal`] when the store refuses everything.
pub async fn fetch_checked<S: ObjectStore>(
    store: &S,
    key: &str,
    doc: &Document,
) -> Result<Bytes, FetchError> {
    let body = match store.get(key).await {
        Ok(Some(body)) => body,
        Ok(None) => {
            return Err(FetchError::Failed(
                "missing",
                "the object is not in the bucket".into(),
            ));
        }
        Err(e) if e.is_fatal() => return Err(FetchError::Fatal(e)),
        Err(e) => return Err(FetchError::Failed("store", e.to_string())),
    };
    let actual = Sha256Digest::of(&body);
    if body.len() as u64 != doc.file_size || actual != doc.checksum {
        return Err(FetchError::Failed(
            "integrity",
            format!(
                "the object holds {} bytes with {actual}, the manifest says {} bytes with {}: it \
                 was altered after the backup; nothing was written",
                body.len(),
                doc.file_size,
                doc.checksum
            ),
        ));
    }
    Ok(body)
}

/// Why [`fetch_checked`] gave no body.
#[derive(Debug)]
pub enum FetchError {
    /// This document fails (kind, message); others may still succeed.
    Failed(&'static str, String),
    /// The store refuses everything (permissions, missing bucket): stop.
    Fatal(StoreError),
}

/// A restore into another prefix of the same bucket.
#[derive(Debug, Clone)]
pub struct PrefixRestore {
    /// The day.
    pub date: BackupDate,
    /// Where restored documents go: `{to_prefix}{path below documents/}`.
    pub to_prefix: String,
    /// Only this document.
    pub document: Option<String>,
    /// Replace objects at the targets (otherwise writes are create-only).
    pub overwrite: bool,
    /// The backup's prefix, environment and encryption (restored objects are encrypted the
    /// same way and carry the same metadata and tags).
    pub options: PlanOptions,
    /// Transfers in flight.
    pub concurrency: usize,
}

/// Restores into `request.to_prefix`, create-only unless `overwrite`.
///
/// # Errors
/// [`RestoreError`] when nothing can be restored; per-document failures are in the report.
pub async fn restore_to_prefix<S: ObjectStore>(
    store: &S,
    request: &PrefixRestore,
) -> Result<RestoreReport, RestoreError> {
    let to = &request.to_prefix;
    let backups = format!("{}backups/", request.options.prefix);
    if to.is_empty()
        || !to.ends_with('/')
        || to.starts_with('/')
        || to.split('/').any(|s| s == "." || s == "..")
        || to.starts_with(&backups)
    {
        return Err(RestoreError::UnsafeTarget(format!(
            "to_prefix {to:?} must be a relative key prefix ending in '/', outside {backups} \
             (a restore never writes into the backups)"
        )));
    }
    let docs = selection(
        store,
        &request.options.prefix,
        request.date,
        request.document.as_deref(),
    )
    .await?;
    let mut report = RestoreReport {
        requested: docs.len() as u64,
        ..RestoreReport::default()
    };
    let mut pending = docs.into_iter();
    let mut tasks: JoinSet<Result<Result<u64, NotRestored>, StoreError>> = JoinSet::new();
    loop {
        while tasks.len() < request.concurrency.max(1) {
            let Some(doc) = pending.next() else { break };
            let store = store.clone();
            let request = request.clone();
            tasks.spawn(async move { restore_one(&store, &request, doc).await });
        }
        let Some(joined) = tasks.join_next().await else {
            break;
        };
        match joined.map_err(|e| StoreError::Transient(format!("a restore task failed: {e}")))?? {
            Ok(bytes) => {
                report.restored += 1;
                report.bytes += bytes;
            }
            Err(failed) => report.failed.push(failed),
        }
    }
    report.failed.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(report)
}

async fn restore_one<S: ObjectStore>(
    store: &S,
    request: &PrefixRestore,
    doc: Document,
) -> Result<Result<u64, NotRestored>, StoreError> {
    let source = format!("{}{}", request.options.prefix, doc.object_key);
    let fail = |kind, error| NotRestored {
        document_id: doc.document_id.to_string(),
        key: source.clone(),
        kind,
        error,
    };
    let Some(rel) = relative_path(request.date, &doc) else {
        return Ok(Err(fail(
            "write",
            format!("the key {} has no path below documents/", doc.object_key),
        )));
    };
    let body = match fetch_checked(store, &source, &doc).await {
        Ok(body) => body,
        Err(FetchError::Failed(kind, error)) => return Ok(Err(fail(kind, error))),
        Err(FetchError::Fatal(e)) => return Err(e),
    };
    let mut put = plan::document_put(&request.options, request.date, &doc);
    put.key = format!("{}{rel}", request.to_prefix);
    put.if_none_match = !request.overwrite;
    let size = body.len() as u64;
    match store.put(&put, body).await {
        Ok(()) => Ok(Ok(size)),
        Err(StoreError::PreconditionFailed) => Ok(Err(fail(
            "exists",
            format!(
                "{} exists already and was left as it is (ask to overwrite)",
                put.key
            ),
        ))),
        Err(e) if e.is_fatal() => Err(e),
        Err(e) => Ok(Err(fail("store", format!("writing {}: {e}", put.key)))),
    }
}
