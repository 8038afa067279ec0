//! Restoring a day, or one document, from the backup bucket, checking every checksum.
//!
//! The pieces every host shares: which documents ([`selection`]), and [`open_checked`], which
//! streams one object through a check of its size and SHA-256 against the manifest. The check
//! runs while the bytes flow and holds back the last chunk until the whole body is hashed: an
//! altered object ends in an error instead of its last bytes, so no consumer (an upload, a
//! file) ever receives it complete. The Lambda restores into another prefix or bucket
//! ([`restore_to_prefix`], a `restore` event), streaming from the backup straight into the
//! target PUT; the wasmtime runner restores into a directory (`docvault-wasmtime restore
//! --dest s3://...`), streaming into a temporary file it renames only once the check passed.
//!
//! At most `concurrency` documents are in flight; each holds about one chunk of its body in
//! memory, whatever its size.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, ready};

use aws_sdk_s3::primitives::ByteStream;
use aws_smithy_types::body::SdkBody;
use bytes::Bytes;
use docvault_core::{
    BackupDate, Document, Layout, Manifest, PlanOptions, Sha256Digest, Sha256Hasher, plan,
};
use http_body::{Body, Frame};
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

/// Opens `key` as a stream checked against `doc` (see the module documentation): the stream
/// yields the object's bytes, and ends in an error instead of its last chunk when the size or
/// SHA-256 is not the manifest's; the [`Verdict`] then says what was found.
///
/// # Errors
/// [`FetchError::Failed`] for this document (`missing`, `store`);
/// [`FetchError::Fatal`] when the store refuses everything.
pub async fn open_checked<S: ObjectStore>(
    store: &S,
    key: &str,
    doc: &Document,
) -> Result<(ByteStream, Verdict), FetchError> {
    let stream = match store.get_stream(key, None).await {
        Ok(Some(stream)) => stream,
        Ok(None) => {
            return Err(FetchError::Failed(
                "missing",
                "the object is not in the bucket".into(),
            ));
        }
        Err(e) if e.is_fatal() => return Err(FetchError::Fatal(e)),
        Err(e) => return Err(FetchError::Failed("store", e.to_string())),
    };
    Ok(checked(stream, doc, Wording::RESTORE))
}

/// How a refusal by [`checked`] reads: "{subject} holds N bytes with X, the manifest says M
/// bytes with Y: {cause}".
#[derive(Debug, Clone, Copy)]
pub struct Wording {
    /// What was read (`the object`, `the file`).
    pub subject: &'static str,
    /// What happened and what it means.
    pub cause: &'static str,
}

impl Wording {
    /// For an object read back from the backup.
    pub const RESTORE: Self = Self {
        subject: "the object",
        cause: "it was altered after the backup; nothing was written",
    };
}

/// `stream`, checked against `doc` as it flows (see [`open_checked`]); a refusal reads as
/// `wording` says.
pub fn checked(stream: ByteStream, doc: &Document, wording: Wording) -> (ByteStream, Verdict) {
    let verdict = Verdict::default();
    let body = CheckedBody {
        wording,
        inner: stream.into_inner(),
        hasher: Some(Sha256Hasher::new()),
        held: None,
        seen: 0,
        size: doc.file_size,
        checksum: doc.checksum,
        verdict: verdict.clone(),
    };
    (ByteStream::new(SdkBody::from_body_1_x(body)), verdict)
}

/// What the check of a stream from [`open_checked`] found: nothing yet (or a good body), or
/// why the body is not the manifest's.
#[derive(Debug, Clone, Default)]
pub struct Verdict(Arc<OnceLock<String>>);

impl Verdict {
    /// Why the body was refused, once the stream has refused it.
    pub fn refused(&self) -> Option<&str> {
        self.0.get().map(String::as_str)
    }
}

/// The body behind [`open_checked`]'s stream.
struct CheckedBody {
    wording: Wording,
    inner: SdkBody,
    /// `None` once the stream has ended (well or not).
    hasher: Option<Sha256Hasher>,
    /// The latest chunk, released only when a next one arrives or the check passed.
    held: Option<Bytes>,
    seen: u64,
    size: u64,
    checksum: Sha256Digest,
    verdict: Verdict,
}

impl CheckedBody {
    fn refuse(
        &mut self,
        found: String,
    ) -> Poll<Option<Result<Frame<Bytes>, aws_smithy_types::body::Error>>> {
        self.hasher = None;
        self.held = None;
        let reason = format!(
            "{} holds {found}, the manifest says {} bytes with {}: {}",
            self.wording.subject, self.size, self.checksum, self.wording.cause
        );
        let _ = self.verdict.0.set(reason.clone());
        Poll::Ready(Some(Err(reason.into())))
    }
}

impl Body for CheckedBody {
    type Data = Bytes;
    type Error = aws_smithy_types::body::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        loop {
            if this.hasher.is_none() {
                return Poll::Ready(None);
            }
            match ready!(Pin::new(&mut this.inner).poll_frame(cx)) {
                Some(Ok(frame)) => {
                    let Ok(chunk) = frame.into_data() else {
                        continue; // trailers carry no body bytes
                    };
                    if chunk.is_empty() {
                        continue;
                    }
                    this.seen += chunk.len() as u64;
                    if this.seen > this.size {
                        return this.refuse(format!("more than {} bytes", this.size));
                    }
                    if let Some(hasher) = this.hasher.as_mut() {
                        hasher.update(&chunk);
                    }
                    if let Some(previous) = this.held.replace(chunk) {
                        return Poll::Ready(Some(Ok(Frame::data(previous))));
                    }
                }
                Some(Err(e)) => {
                    this.hasher = None;
                    this.held = None;
                    return Poll::Ready(Some(Err(e)));
                }
                None => {
                    let Some(hasher) = this.hasher.take() else {
                        return Poll::Ready(None);
                    };
                    let actual = hasher.finish();
                    if this.seen != this.size || actual != this.checksum {
                        return this.refuse(format!("{} bytes with {actual}", this.seen));
                    }
                    return Poll::Ready(this.held.take().map(|b| Ok(Frame::data(b))));
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.hasher.is_none() && self.held.is_none()
    }
}

impl std::fmt::Debug for CheckedBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckedBody")
            .field("seen", &self.seen)
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

/// Why [`open_checked`] gave no stream.
#[derive(Debug)]
pub enum FetchError {
    /// This document fails (kind, message); others may still succeed.
    Failed(&'static str, String),
    /// The store refuses everything (permissions, missing bucket): stop.
    Fatal(StoreError),
}

/// A restore into another prefix of the backup bucket, or into another bucket.
#[derive(Debug, Clone)]
pub struct PrefixRestore {
    /// The day.
    pub date: BackupDate,
    /// The bucket written to when it is not the backup bucket (for reports; the target store
    /// passed to [`restore_to_prefix`] writes there).
    pub to_bucket: Option<String>,
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

/// Restores from `backup` into `request.to_prefix` of `target` (the backup bucket's store, or
/// another bucket's when `request.to_bucket` is set), create-only unless `overwrite`. Each
/// object streams from the backup into its target PUT through [`open_checked`], with the
/// manifest's SHA-256 as `x-amz-checksum-sha256`: the check refuses an altered body before its
/// last bytes are sent, and S3 refuses a body that does not match the header.
///
/// # Errors
/// [`RestoreError`] when nothing can be restored; per-document failures are in the report.
pub async fn restore_to_prefix<S: ObjectStore>(
    backup: &S,
    target: &S,
    request: &PrefixRestore,
) -> Result<RestoreReport, RestoreError> {
    let to = &request.to_prefix;
    let backups = format!("{}backups/", request.options.prefix);
    let same_bucket = request.to_bucket.is_none();
    let unsafe_prefix = to.starts_with('/')
        || to.split('/').any(|s| s == "." || s == "..")
        || (!to.is_empty() && !to.ends_with('/'));
    if unsafe_prefix {
        return Err(RestoreError::UnsafeTarget(format!(
            "to_prefix {to:?} must be a relative key prefix ending in '/', without '.' or '..'"
        )));
    }
    if same_bucket && (to.is_empty() || to.starts_with(&backups)) {
        return Err(RestoreError::UnsafeTarget(format!(
            "to_prefix {to:?} must be a prefix outside {backups} (a restore never writes into the \
             backups)"
        )));
    }
    let docs = selection(
        backup,
        &request.options.prefix,
        request.date,
        request.document.as_deref(),
    )
    .await?;
    Ok(restore_each(docs, request.concurrency, |doc| {
        let (backup, target) = (backup.clone(), target.clone());
        let request = request.clone();
        async move { restore_one(&backup, &target, &request, doc).await }
    })
    .await?)
}

/// Runs `restore` for every item, at most `concurrency` at a time, and adds up the report:
/// each item restores one document (its size) or says why not; a [`StoreError`] stops all.
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
    let mut pending = items.into_iter();
    let mut tasks = JoinSet::new();
    loop {
        while tasks.len() < concurrency.max(1) {
            let Some(item) = pending.next() else { break };
            tasks.spawn(restore(item));
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
    backup: &S,
    target: &S,
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
    let (body, verdict) = match open_checked(backup, &source, &doc).await {
        Ok(opened) => opened,
        Err(FetchError::Failed(kind, error)) => return Ok(Err(fail(kind, error))),
        Err(FetchError::Fatal(e)) => return Err(e),
    };
    let mut put = plan::document_put(&request.options, request.date, &doc);
    put.key = format!("{}{rel}", request.to_prefix);
    put.if_none_match = !request.overwrite;
    let written = target.put_stream(&put, body).await;
    if let Some(reason) = verdict.refused() {
        let reason = match written {
            Ok(()) => format!(
                "{reason}; but the target store accepted the partial body it was sent: remove \
                 {} there",
                put.key
            ),
            Err(_) => reason.to_owned(),
        };
        return Ok(Err(fail("integrity", reason)));
    }
    match written {
        Ok(()) => Ok(Ok(doc.file_size)),
        Err(StoreError::PreconditionFailed) => Ok(Err(fail(
            "exists",
            format!(
                "{} exists already and was left as it is (ask to overwrite)",
                put.key
            ),
        ))),
        Err(StoreError::ChecksumMismatch(e)) => Ok(Err(fail(
            "integrity",
            format!("the target refused the body as altered: {e}; nothing was written"),
        ))),
        Err(e) if e.is_fatal() => Err(e),
        Err(e) => Ok(Err(fail("store", format!("writing {}: {e}", put.key)))),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use docvault_core::generate::{Generator, GeneratorSpec};

    use super::*;

    /// A body that yields the given chunks, one per poll.
    struct Chunks(VecDeque<Bytes>);

    impl Body for Chunks {
        type Data = Bytes;
        type Error = aws_smithy_types::body::Error;

        fn poll_frame(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
            Poll::Ready(self.get_mut().0.pop_front().map(|c| Ok(Frame::data(c))))
        }
    }

    fn stream(body: &[u8], chunk: usize) -> ByteStream {
        let chunks = body.chunks(chunk).map(Bytes::copy_from_slice).collect();
        ByteStream::new(SdkBody::from_body_1_x(Chunks(chunks)))
    }

    /// What a consumer of the checked stream receives: the bytes, and whether it ended in an error.
    async fn drain(mut stream: ByteStream) -> (Vec<u8>, bool) {
        let mut received = Vec::new();
        while let Some(item) = stream.next().await {
            match item {
                Ok(chunk) => received.extend_from_slice(&chunk),
                Err(_) => return (received, true),
            }
        }
        (received, false)
    }

    fn document() -> (Document, Vec<u8>) {
        let spec = GeneratorSpec {
            date: "2026-11-27".parse().unwrap(),
            count: 1,
            seed: 7,
        };
        let generated = Generator::new(spec).next().unwrap();
        assert!(generated.body.len() > 1000, "the test needs several chunks");
        (generated.document, generated.body)
    }

    #[tokio::test]
    async fn a_good_body_passes_whole_in_any_chunking() {
        let (doc, body) = document();
        for chunk in [1, 7, 1000, body.len()] {
            let (checked, verdict) = checked(stream(&body, chunk), &doc, Wording::RESTORE);
            assert_eq!(
                drain(checked).await,
                (body.clone(), false),
                "chunks of {chunk}"
            );
            assert_eq!(verdict.refused(), None);
        }
    }

    #[tokio::test]
    async fn an_altered_body_never_arrives_complete() {
        let (doc, body) = document();
        let mut same_size = body.clone();
        *same_size.last_mut().unwrap() ^= 1;
        let mut longer = body.clone();
        longer.extend_from_slice(b"appended");
        let shorter = body[..body.len() - 1].to_vec();
        for (what, altered) in [
            ("same size", same_size),
            ("longer", longer),
            ("shorter", shorter),
        ] {
            for chunk in [1, 100, body.len()] {
                let (checked, verdict) = checked(stream(&altered, chunk), &doc, Wording::RESTORE);
                let (received, failed) = drain(checked).await;
                assert!(
                    failed,
                    "{what}, chunks of {chunk}: the stream must end in an error"
                );
                assert!(
                    received.len() < body.len() && altered.starts_with(&received),
                    "{what}, chunks of {chunk}: {} bytes came through",
                    received.len()
                );
                let reason = verdict.refused().expect("a verdict");
                assert!(reason.contains("altered after the backup"), "{reason}");
                assert!(reason.contains(&doc.checksum.to_string()), "{reason}");
            }
        }
    }
}
