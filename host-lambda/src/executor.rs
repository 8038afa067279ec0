//! Executes the core's backup plan against an [`ObjectStore`], with bounded concurrency.
//!
//! This is the one S3 executor of docvault: the Lambda uses it, and the wasmtime runner links
//! it for `s3://` destinations. The core decides keys, headers and when the manifest may be
//! written; this module only moves bytes and reports outcomes back to the core's
//! [`BackupRun`].
//!
//! Rules it keeps:
//! * **Manifest last, create-only.** The manifest is written after every document has an
//!   outcome, with `If-None-Match: *`. A crash before that leaves no manifest.
//! * **Idempotent.** An existing manifest for the day ends the run ("already complete"). A
//!   document key that already exists (an earlier, interrupted run) is kept when it holds the
//!   same SHA-256 and encryption, and replaced otherwise (the bucket is versioned). Nothing is
//!   rewritten on a rerun of a complete day.
//! * **Nothing disappears.** A document that cannot be stored after the SDK's retries is
//!   recorded as failed, with the reason; a fatal error (permissions, missing bucket, unusable
//!   key) stops the run and every document not attempted is recorded too.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use aws_sdk_s3::primitives::ByteStream;
use bytes::Bytes;
use docvault_core::plan::document_put;
use docvault_core::{
    BackupRun, Document, Encryption, FailedDocument, FailureStage, GeneratedDocument, Layout,
    Manifest, ManifestError, ManifestHeader, ObjectPut, ObservedEncryption, PlanError, PlanOptions,
    Sha256Digest,
};
use tokio::task::JoinSet;

use crate::store::{ObjectStore, StoreError};

/// How one document ended up stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stored {
    Uploaded,
    AlreadyThere,
    Replaced,
}

/// Counts of what a run did to the store.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Transfer {
    /// Documents uploaded by this run.
    pub uploaded: u64,
    /// Documents found already stored, identical, by an earlier run (not rewritten).
    pub already_stored: u64,
    /// Documents found with different content or encryption and stored again.
    pub replaced: u64,
    /// Bytes uploaded by this run.
    pub bytes_uploaded: u64,
}

/// How a run ended (other than by a fatal error).
#[derive(Debug, Clone)]
pub enum BackupOutcome {
    /// Every document is stored and the manifest was committed by this run.
    Completed {
        /// The manifest written.
        manifest: Manifest,
        /// Where.
        manifest_key: String,
        /// What was transferred.
        transfer: Transfer,
    },
    /// The day's manifest already existed (a rerun, or a concurrent run committed first).
    AlreadyComplete {
        /// The existing manifest.
        manifest: Manifest,
        /// Where.
        manifest_key: String,
        /// What this run transferred before finding it (zero on a plain rerun).
        transfer: Transfer,
    },
    /// Some documents failed: no manifest; an incomplete report lists them.
    Incomplete {
        /// The report (status `incomplete`).
        manifest: Manifest,
        /// Where the report was written, if it could be.
        report_key: Option<String>,
        /// What was transferred.
        transfer: Transfer,
    },
}

impl BackupOutcome {
    /// The manifest or report of the run.
    pub fn manifest(&self) -> &Manifest {
        match self {
            Self::Completed { manifest, .. }
            | Self::AlreadyComplete { manifest, .. }
            | Self::Incomplete { manifest, .. } => manifest,
        }
    }

    /// What the run transferred.
    pub fn transfer(&self) -> Transfer {
        match self {
            Self::Completed { transfer, .. }
            | Self::AlreadyComplete { transfer, .. }
            | Self::Incomplete { transfer, .. } => *transfer,
        }
    }
}

/// Why a run stopped without an outcome.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackupError {
    /// The store refused in a way retrying cannot fix.
    #[error(
        "backup stopped after {stored} documents stored, {failed} failed or not attempted: {source}"
    )]
    Fatal {
        /// The store's refusal.
        #[source]
        source: StoreError,
        /// Documents stored before it.
        stored: u64,
        /// Documents failed or never attempted.
        failed: u64,
    },
    /// The existing manifest of the day could not be read.
    #[error("could not read the existing manifest at {key}: {source}")]
    ReadManifest {
        /// Its key.
        key: String,
        /// Why.
        #[source]
        source: StoreError,
    },
    /// The existing manifest of the day is not a valid manifest.
    #[error(
        "the existing manifest at {key} is invalid ({source}); it was not written by a complete \
         docvault run: inspect it, move it away, and rerun"
    )]
    CorruptManifest {
        /// Its key.
        key: String,
        /// What is wrong.
        #[source]
        source: ManifestError,
    },
    /// The plan refused a step (duplicate ids in the source, and the like).
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// An upload task panicked.
    #[error("an upload task failed unexpectedly: {0}")]
    Task(String),
}

/// One item of a run's input: a document to store, one that must be read first, or one the
/// host already knows it cannot store (a source file it could not read). All end up in the
/// manifest or the incomplete report.
#[derive(Debug)]
pub enum Incoming {
    /// A document with its body.
    Document(Box<GeneratedDocument>),
    /// A document to read (and hash) inside an upload slot, so reads are bounded like uploads.
    Fetch(Fetch),
    /// A document that failed before it reached the executor.
    Failed(FailedDocument),
}

/// A boxed, sendable future.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// A document whose record (size, SHA-256) is known only once its body has been read.
pub struct Fetch {
    /// Its id (for the failure record if the run stops before reading it).
    pub document_id: String,
    /// Where it comes from.
    pub source: Option<String>,
    /// Reads it: the record and the body, or why it cannot be read.
    pub read: BoxFuture<Result<Fetched, FailedDocument>>,
}

impl std::fmt::Debug for Fetch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fetch")
            .field("document_id", &self.document_id)
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

/// A document read by a [`Fetch`].
#[derive(Debug)]
pub struct Fetched {
    /// Its manifest record.
    pub document: Document,
    /// Its body.
    pub body: Body,
}

/// Opens a body again, as a stream.
pub type Reopen = Arc<dyn Fn() -> BoxFuture<Result<ByteStream, StoreError>> + Send + Sync>;

/// A body to upload.
pub enum Body {
    /// Held in memory (small documents, read once).
    Bytes(Bytes),
    /// Too large to hold: streamed from its source again for the upload (and again if an
    /// existing object must be replaced). The store checks the SHA-256 of what arrives against
    /// the record's, so a source that changed in between is refused, never stored unnoticed.
    Stream(Reopen),
}

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Bytes(b) => f.debug_tuple("Bytes").field(&b.len()).finish(),
            Self::Stream(_) => f.write_str("Stream"),
        }
    }
}

impl Body {
    async fn put<S: ObjectStore>(&self, store: &S, put: &ObjectPut) -> Result<(), StoreError> {
        match self {
            Self::Bytes(b) => store.put(put, b.clone()).await,
            Self::Stream(open) => store.put_stream(put, open().await?).await,
        }
    }
}

/// What an upload task reports.
enum Done {
    /// Read (or given) and attempted.
    Attempted {
        document: Box<Document>,
        /// Whether the executor must still register it with the run (fetched documents).
        unplanned: bool,
        result: Result<Stored, StoreError>,
    },
    /// Could not be read.
    Unread(FailedDocument),
}

impl From<GeneratedDocument> for Incoming {
    fn from(d: GeneratedDocument) -> Self {
        Self::Document(Box::new(d))
    }
}

impl From<FailedDocument> for Incoming {
    fn from(f: FailedDocument) -> Self {
        Self::Failed(f)
    }
}

/// Settings of one execution.
#[derive(Debug, Clone)]
pub struct ExecuteOptions {
    /// Uploads in flight at once.
    pub concurrency: usize,
    /// Attempts the SDK makes per request (reported in failure records).
    pub max_attempts: u32,
}

/// Backs up `documents` (in any order) into `store` for the day in `header`. Bodies are pulled
/// from the iterator only as upload slots free up, so at most `concurrency` are held at once.
///
/// # Errors
/// [`BackupError`] when the run stops: a fatal store error, an unreadable or invalid existing
/// manifest, or a plan violation.
pub async fn execute<S: ObjectStore>(
    store: &S,
    header: ManifestHeader,
    options: PlanOptions,
    documents: impl IntoIterator<Item = impl Into<Incoming>>,
    exec: &ExecuteOptions,
) -> Result<BackupOutcome, BackupError> {
    let manifest_key = format!(
        "{}{}",
        options.prefix,
        Layout::new(header.backup_date).manifest_key()
    );
    let mut transfer = Transfer::default();
    // A fatal refusal here (no bucket, no permission) stops the run before any upload, and
    // every document is then recorded as not attempted.
    let mut fatal: Option<StoreError> = None;
    match existing_manifest(store, &manifest_key).await {
        Ok(Some(manifest)) => {
            tracing::info!(key = %manifest_key, "the day is already backed up; nothing to do");
            return Ok(BackupOutcome::AlreadyComplete {
                manifest,
                manifest_key,
                transfer,
            });
        }
        Ok(None) => {}
        Err(BackupError::ReadManifest { source, .. }) if source.is_fatal() => fatal = Some(source),
        Err(e) => return Err(e),
    }

    let encryption = options.encryption.clone();
    let date = header.backup_date;
    let plan_options = options.clone();
    let mut run = BackupRun::new(header, options);
    let mut documents = documents.into_iter();
    let mut tasks: JoinSet<Done> = JoinSet::new();
    let concurrency = exec.concurrency.max(1);

    loop {
        while fatal.is_none() && tasks.len() < concurrency {
            let Some(next) = documents.next() else {
                break;
            };
            let store = store.clone();
            let encryption = encryption.clone();
            match next.into() {
                Incoming::Failed(f) => run.record_failed(f)?,
                Incoming::Document(generated) => {
                    let GeneratedDocument { document, body } = *generated;
                    let put = run.plan_document(document.clone())?;
                    let body = Body::Bytes(Bytes::from(body));
                    tasks.spawn(async move {
                        let result =
                            store_document(&store, put, &body, document.checksum, &encryption)
                                .await;
                        Done::Attempted {
                            document: Box::new(document),
                            unplanned: false,
                            result,
                        }
                    });
                }
                Incoming::Fetch(fetch) => {
                    let options = plan_options.clone();
                    tasks.spawn(async move {
                        let Fetched { document, body } = match fetch.read.await {
                            Ok(f) => f,
                            Err(failed) => return Done::Unread(failed),
                        };
                        let put = document_put(&options, date, &document);
                        let result =
                            store_document(&store, put, &body, document.checksum, &encryption)
                                .await;
                        Done::Attempted {
                            document: Box::new(document),
                            unplanned: true,
                            result,
                        }
                    });
                }
            }
        }
        let Some(joined) = tasks.join_next().await else {
            break;
        };
        let (document, unplanned, result) = match joined
            .map_err(|e| BackupError::Task(e.to_string()))?
        {
            Done::Unread(failed) => {
                tracing::warn!(document = %failed.document_id, reason = %failed.reason, "document not read");
                run.record_failed(failed)?;
                continue;
            }
            Done::Attempted {
                document,
                unplanned,
                result,
            } => (document, unplanned, result),
        };
        let id = document.document_id.clone();
        let size = document.file_size;
        match result {
            Ok(how) => {
                if unplanned {
                    run.plan_document(*document)?;
                }
                run.record_stored(&id)?;
                match how {
                    Stored::Uploaded => transfer.uploaded += 1,
                    Stored::AlreadyThere => transfer.already_stored += 1,
                    Stored::Replaced => transfer.replaced += 1,
                }
                if how != Stored::AlreadyThere {
                    transfer.bytes_uploaded += size;
                }
            }
            Err(error) => {
                let attempts = match error {
                    StoreError::Transient(_) => exec.max_attempts,
                    _ => 1,
                };
                tracing::warn!(document = %id, %error, "document not stored");
                run.record_failed(FailedDocument {
                    document_id: id.to_string(),
                    source: document.source,
                    stage: FailureStage::Store,
                    reason: error.to_string(),
                    attempts,
                })?;
                if error.is_fatal() && fatal.is_none() {
                    fatal = Some(error);
                }
            }
        }
    }

    if let Some(error) = fatal {
        // Account for every document the run never attempted, then leave a report if the
        // store still takes one. No manifest: the day is not backed up.
        for next in documents {
            match next.into() {
                Incoming::Document(d) => run.record_failed(FailedDocument {
                    document_id: d.document.document_id.to_string(),
                    source: d.document.source,
                    stage: FailureStage::Store,
                    reason: format!("not attempted: the run stopped ({error})"),
                    attempts: 0,
                })?,
                Incoming::Fetch(f) => run.record_failed(FailedDocument {
                    document_id: f.document_id,
                    source: f.source,
                    stage: FailureStage::Read,
                    reason: format!("not attempted: the run stopped ({error})"),
                    attempts: 0,
                })?,
                Incoming::Failed(f) => run.record_failed(f)?,
            }
        }
        let stored = run.stored_count() as u64;
        let failed = run.failed_count() as u64;
        let commit = run.finish()?;
        if let Err(e) = store.put(&commit.put, Bytes::from(commit.body)).await {
            tracing::warn!(error = %e, "could not write the incomplete-run report either");
        }
        return Err(BackupError::Fatal {
            source: error,
            stored,
            failed,
        });
    }

    let commit = run.finish()?;
    let complete = commit.is_complete();
    let key = commit.put.key.clone();
    match store.put(&commit.put, Bytes::from(commit.body)).await {
        Ok(()) if complete => Ok(BackupOutcome::Completed {
            manifest: commit.manifest,
            manifest_key: key,
            transfer,
        }),
        Ok(()) => Ok(BackupOutcome::Incomplete {
            manifest: commit.manifest,
            report_key: Some(key),
            transfer,
        }),
        Err(StoreError::PreconditionFailed) if complete => {
            // Another run committed the day between our check and our write.
            match existing_manifest(store, &key).await? {
                Some(manifest) => Ok(BackupOutcome::AlreadyComplete {
                    manifest,
                    manifest_key: key,
                    transfer,
                }),
                None => Err(BackupError::ReadManifest {
                    key,
                    source: StoreError::Transient(
                        "the manifest write was refused as existing, but it cannot be read".into(),
                    ),
                }),
            }
        }
        Err(e) if !complete => {
            tracing::warn!(error = %e, "could not write the incomplete-run report");
            Ok(BackupOutcome::Incomplete {
                manifest: commit.manifest,
                report_key: None,
                transfer,
            })
        }
        Err(e) => Err(BackupError::Fatal {
            stored: commit.manifest.total_documents,
            failed: 0,
            source: e,
        }),
    }
}

async fn existing_manifest<S: ObjectStore>(
    store: &S,
    key: &str,
) -> Result<Option<Manifest>, BackupError> {
    let Some(bytes) = store
        .get(key)
        .await
        .map_err(|source| BackupError::ReadManifest {
            key: key.to_owned(),
            source,
        })?
    else {
        return Ok(None);
    };
    let text = String::from_utf8_lossy(&bytes);
    Manifest::from_json(&text)
        .map(Some)
        .map_err(|source| BackupError::CorruptManifest {
            key: key.to_owned(),
            source,
        })
}

/// Stores one body create-only; if the key exists, keeps it when identical, else replaces it.
async fn store_document<S: ObjectStore>(
    store: &S,
    mut put: ObjectPut,
    body: &Body,
    checksum: Sha256Digest,
    encryption: &Encryption,
) -> Result<Stored, StoreError> {
    put.if_none_match = true;
    match body.put(store, &put).await {
        Ok(()) => return Ok(Stored::Uploaded),
        Err(StoreError::PreconditionFailed) => {}
        Err(e) => return Err(e),
    }
    let same = match store.head(&put.key).await? {
        None => false,
        Some(info) => {
            let encryption_ok = encryption.is_satisfied_by(&ObservedEncryption {
                algorithm: info.encryption.clone(),
                kms_key_id: info.kms_key_id.clone(),
            });
            let content_ok = match (info.checksum, info.checksum_parts, &put.parts) {
                // Some stores (moto) report the parts' checksum without its `-<count>`.
                (Some(c), None, parts) => c == checksum || parts.is_some_and(|p| p.checksum == c),
                // Stored in parts: S3 keeps the SHA-256 of the parts' digests.
                (Some(c), Some(n), Some(parts)) => c == parts.checksum && n == parts.count,
                (Some(_), Some(_), None) => false,
                // The store keeps no checksum: read the object back and hash it.
                (None, ..) => {
                    info.size == put.content_length
                        && store
                            .get(&put.key)
                            .await?
                            .is_some_and(|b| Sha256Digest::of(&b) == checksum)
                }
            };
            encryption_ok && content_ok
        }
    };
    if same {
        return Ok(Stored::AlreadyThere);
    }
    put.if_none_match = false;
    body.put(store, &put).await?;
    Ok(Stored::Replaced)
}
