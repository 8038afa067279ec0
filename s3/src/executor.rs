//! Executes a backup run against an [`ObjectStore`], with bounded concurrency.
//!
//! This is the one S3 executor of docvault: the Lambda and the sandbox runner both use it. The
//! core decides (keys, headers, when the manifest may be written, whether a stored copy is the
//! document); this module moves bytes and reports outcomes back to the core's [`BackupRun`],
//! in the loop the run's documentation shows:
//!
//! 1. The day has a committed manifest: nothing to do ("already complete"; nothing rewritten).
//! 2. Take the day's lease ([`crate::lease`]): a second run of the same day at the same time
//!    is refused while this one holds the lease, instead of writing beside it; look for a
//!    manifest again (another run may have committed the day between the first look and the
//!    lease).
//! 3. For each document: [`BackupRun::admit`], read its body when it is a [`Fetch`], store it
//!    create-only. An object already at its key (an earlier, interrupted run) is kept when the
//!    core's identity rule says it is the document and its encryption is right, and replaced
//!    otherwise, but never once another run has committed the day. Report the outcome; a
//!    refusal retrying cannot fix (permissions, a missing bucket, an unusable key) stops the
//!    run, and every document not attempted is recorded as such.
//! 4. [`BackupRun::finish`]: the manifest, create-only, when every document is stored; else the
//!    incomplete-run report. Release the lease.
//!
//! Nothing disappears: every document the source yields ends in the manifest or the report.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_s3::primitives::ByteStream;
use bytes::Bytes;
use docvault_core::plan::document_put;
use docvault_core::shard::WorkLayout;
use docvault_core::verify::{Identity, identity};
use docvault_core::{
    Admission, BackupDate, BackupRun, Document, FailedDocument, FailureStage, GeneratedDocument,
    Manifest, ManifestHeader, ObjectPut, PlanError, PlanOptions, RunScope, Stored, Timestamp,
    Transfer,
};
use futures::StreamExt as _;
use futures::stream::FuturesUnordered;
use tokio::task::JoinHandle;

use crate::lease::{DayLease, LeaseError, LeaseTerms};

use crate::manifest::{LoadError, load_committed, manifest_key};
use crate::store::{ObjectStore, StoreError};
use crate::stream::hash_stream;

/// How a run ended (other than by an error).
#[derive(Debug, Clone)]
pub enum BackupOutcome {
    /// Every document is stored and this run committed the manifest (a shard's run: its part).
    Completed {
        /// The manifest written.
        manifest: Manifest,
        /// Where (a shard's run: the part's key).
        manifest_key: String,
        /// What was transferred.
        transfer: Transfer,
    },
    /// The day's manifest already existed (a rerun, or another run committed first).
    AlreadyComplete {
        /// The existing manifest.
        manifest: Manifest,
        /// Where.
        manifest_key: String,
        /// What this run transferred before finding it (zero on a plain rerun).
        transfer: Transfer,
    },
    /// Some documents failed: no manifest; an incomplete-run report lists them.
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

    /// For a shard's run below `prefix`: the key of its part, written now or found written by
    /// an earlier run of the shard; `None` when the day was committed already (or the run is
    /// incomplete).
    pub fn part_key(&self, prefix: &docvault_core::KeyPrefix) -> Option<&str> {
        match self {
            Self::Completed {
                manifest_key,
                manifest,
                ..
            }
            | Self::AlreadyComplete {
                manifest_key,
                manifest,
                ..
            } => (*manifest_key != crate::manifest::manifest_key(prefix, manifest.backup_date))
                .then_some(manifest_key.as_str()),
            Self::Incomplete { .. } => None,
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
    /// The store refused in a way retrying cannot fix; the report lists every document.
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
    /// The day's manifest could not be read, or is not the day's backup.
    #[error("{0}; the existing manifest was left as it is: inspect it, move it away, and rerun")]
    Manifest(LoadError),
    /// Another run holds the day, or took it over from this one.
    #[error("{0}")]
    Lease(LeaseError),
    /// This run's lease was taken over while it ran: it stopped writing.
    #[error(
        "this run's lease on the day was taken over by another run after {stored} documents \
         were stored; it stopped writing and committed nothing (the other run completes the day)"
    )]
    LeaseLost {
        /// Documents stored before it stopped.
        stored: u64,
        /// Documents failed or never attempted.
        failed: u64,
    },
    /// The plan refused a step (two documents with one id in the source, and the like).
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// An upload task panicked.
    #[error("an upload task failed unexpectedly: {0}")]
    Task(String),
}

impl BackupError {
    /// The store error behind this one, when a store failed.
    pub fn store_error(&self) -> Option<&StoreError> {
        match self {
            Self::Fatal { source, .. } => Some(source),
            Self::Manifest(e) => e.store_error(),
            Self::Lease(LeaseError::Store(e)) => Some(e),
            _ => None,
        }
    }

    /// Documents stored and failed (or not attempted) by the time the run stopped, for metrics.
    pub fn counts(&self) -> (u64, u64) {
        match self {
            Self::Fatal { stored, failed, .. } | Self::LeaseLost { stored, failed } => {
                (*stored, *failed)
            }
            _ => (0, 0),
        }
    }
}

/// One item of a run's input: a document with its body, one that must be read first, or one
/// the host already knows it cannot store (a source file it could not read). All end up in the
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

impl Incoming {
    /// The id of the document (or of the failed source entry).
    pub fn document_id(&self) -> &str {
        match self {
            Self::Document(d) => d.document.document_id.as_str(),
            Self::Fetch(f) => &f.document_id,
            Self::Failed(f) => &f.document_id,
        }
    }
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

/// A boxed, sendable future.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// A document whose record (size, SHA-256) is known only once its body has been read.
pub struct Fetch {
    /// Its id.
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
            Self::Bytes(b) => store.put(put, b.clone()).await.map(|_| ()),
            Self::Stream(open) => store.put_stream(put, open().await?).await.map(|_| ()),
        }
    }
}

/// A clock the executor reads to take and renew the day's lease.
pub trait Clock: Send + Sync {
    /// Now.
    fn now(&self) -> Timestamp;
}

/// The host's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_system_time(std::time::SystemTime::now())
            .unwrap_or_else(|| Timestamp::from_unix_seconds(0).unwrap_or_else(|| unreachable!()))
    }
}

/// Settings of one execution.
#[derive(Debug, Clone, Copy)]
pub struct ExecuteOptions {
    /// Uploads in flight at once.
    pub concurrency: usize,
    /// Attempts the SDK makes per request (reported in failure records).
    pub max_attempts: u32,
    /// The largest existing manifest loaded ([`docvault_core::manifest::max_manifest_bytes`]).
    pub manifest_limit: u64,
    /// The day's lease.
    pub lease: LeaseTerms,
}

/// What an upload task reports.
enum Done {
    /// Stored.
    Stored(Box<Document>, Stored),
    /// Could not be read, or stored.
    Failed(FailedDocument, Option<StoreError>),
    /// Not written: another run committed the day meanwhile.
    Committed(FailedDocument),
}

/// The parts of a run every task shares.
struct Shared<S> {
    store: S,
    options: PlanOptions,
    date: BackupDate,
    manifest_key: String,
    max_attempts: u32,
}

/// Backs up `documents` (in any order) into `store` for the day in `header` (see the module
/// documentation). Bodies are pulled from the iterator only as upload slots free up, so at most
/// `concurrency` are held at once.
///
/// # Errors
/// [`BackupError`] when the run stops: a refusal, a day another run holds, an unreadable or
/// invalid existing manifest, or a plan violation.
pub async fn execute<S, I>(
    store: &S,
    header: ManifestHeader,
    options: PlanOptions,
    documents: I,
    exec: &ExecuteOptions,
    clock: &dyn Clock,
) -> Result<BackupOutcome, BackupError>
where
    S: ObjectStore,
    I: IntoIterator<Item = Incoming>,
{
    let run = Scoped::day(&header);
    execute_scoped(store, header, options, run, documents, exec, clock).await
}

/// What a run backs up, and the name it holds the lease under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scoped {
    /// The day, or one shard of it.
    pub scope: RunScope,
    /// The lease holder's run id: the run's own id for a day; for a shard, an id its retries
    /// share (its manifest header is the plan's, the same for every shard).
    pub lease_holder: String,
}

impl Scoped {
    /// A whole day's run, holding the lease under its run id (else its time).
    pub fn day(header: &ManifestHeader) -> Self {
        Self {
            scope: RunScope::Day,
            lease_holder: header
                .run_id
                .clone()
                .unwrap_or_else(|| header.backup_timestamp.to_string()),
        }
    }
}

/// [`execute`] for a whole day or for one shard of a sharded run
/// ([`docvault_core::shard`]): a shard runs under its own lease, and its last write is its
/// part instead of the day's manifest ([`BackupOutcome::Completed`] then names the part).
///
/// # Errors
/// As [`execute`].
pub async fn execute_scoped<S, I>(
    store: &S,
    header: ManifestHeader,
    options: PlanOptions,
    run: Scoped,
    documents: I,
    exec: &ExecuteOptions,
    clock: &dyn Clock,
) -> Result<BackupOutcome, BackupError>
where
    S: ObjectStore,
    I: IntoIterator<Item = Incoming>,
{
    let date = header.backup_date;
    let key = manifest_key(&options.prefix, date);
    let Scoped {
        scope,
        lease_holder: run_id,
    } = run;
    let mut run = match scope {
        RunScope::Day => BackupRun::new(header, options.clone()),
        RunScope::Shard { plan, index } => {
            BackupRun::for_shard(header, options.clone(), plan, index)
        }
    };
    let committed = |m: Manifest, transfer| BackupOutcome::AlreadyComplete {
        manifest: m,
        manifest_key: key.clone(),
        transfer,
    };

    // 1-2. The day done already? Then its lease, and the same question again.
    let mut lease = None;
    let mut fatal: Option<StoreError> = None;
    match load_committed(store, &options.prefix, date, exec.manifest_limit).await {
        Ok(Some(m)) => return Ok(committed(m, Transfer::default())),
        Ok(None) => {}
        // A store that refuses everything: every document is recorded as not attempted.
        Err(LoadError::Store { source, .. }) if source.is_fatal() => {
            run.stop(source.to_string());
            fatal = Some(source);
        }
        Err(e) => return Err(BackupError::Manifest(e)),
    }
    if run.stopped().is_none() {
        let acquired = DayLease::acquire_scoped(
            store,
            &options,
            date,
            scope,
            &run_id,
            clock.now(),
            exec.lease,
        )
        .await;
        match acquired {
            Ok(l) => lease = Some(l),
            Err(LeaseError::Store(e)) if e.is_fatal() => {
                run.stop(e.to_string());
                fatal = Some(e);
            }
            Err(e) => return Err(BackupError::Lease(e)),
        }
        if lease.is_some() {
            match load_committed(store, &options.prefix, date, exec.manifest_limit).await {
                Ok(Some(m)) => {
                    release(lease, clock).await;
                    return Ok(committed(m, Transfer::default()));
                }
                Ok(None) => {}
                Err(e) => {
                    release(lease, clock).await;
                    return Err(BackupError::Manifest(e));
                }
            }
            // A shard whose part is already written is done: its documents are not touched
            // again (a replaced document would make the part there claim the old bytes).
            if let RunScope::Shard { plan, index } = scope
                && let Some((part_key, part)) =
                    existing_part(store, &options, date, plan, index, exec.manifest_limit).await
            {
                release(lease, clock).await;
                return Ok(BackupOutcome::AlreadyComplete {
                    manifest: part,
                    manifest_key: part_key,
                    transfer: Transfer::default(),
                });
            }
        }
    }

    // 3. Every document.
    let shared = Arc::new(Shared {
        store: store.clone(),
        options,
        date,
        manifest_key: key.clone(),
        max_attempts: exec.max_attempts,
    });
    let mut items = documents.into_iter();
    let drove = drive(
        &shared,
        &mut run,
        &mut items,
        exec.concurrency,
        &mut lease,
        clock,
    )
    .await;
    // Whatever stopped the loop, what the source still holds is accounted for.
    for item in items {
        account(&mut run, item)?;
    }
    let signals = drove?;
    if fatal.is_none() {
        fatal = signals.fatal;
    }

    // 4. The last write.
    let stored = run.stored_count() as u64;
    let commit = run.finish()?;
    let failed = commit.manifest.total_failed;
    let transfer = commit.transfer;
    if signals.committed_by_other {
        release(lease, clock).await;
        return match load_committed(store, &shared.options.prefix, date, exec.manifest_limit).await
        {
            Ok(Some(m)) => Ok(committed(m, transfer)),
            Ok(None) => Err(BackupError::Manifest(LoadError::Store {
                key,
                source: StoreError::Transient(
                    "another run committed the day, but its manifest cannot be read".into(),
                ),
            })),
            Err(e) => Err(BackupError::Manifest(e)),
        };
    }
    if signals.lease_lost {
        write_report(store, &commit).await;
        return Err(BackupError::LeaseLost { stored, failed });
    }
    if let Some(source) = fatal {
        write_report(store, &commit).await;
        release(lease, clock).await;
        return Err(BackupError::Fatal {
            source,
            stored,
            failed,
        });
    }
    if !commit.is_complete() {
        let report_key = write_report(store, &commit).await;
        release(lease, clock).await;
        return Ok(BackupOutcome::Incomplete {
            manifest: commit.manifest,
            report_key,
            transfer,
        });
    }
    // Still this run's day? Another run may take a lease over only once it lapsed.
    if let Some(l) = lease.as_mut()
        && let Err(e) = l.renew(clock.now()).await
    {
        return match e {
            LeaseError::Lost => Err(BackupError::LeaseLost { stored, failed }),
            other => Err(BackupError::Lease(other)),
        };
    }
    let written = store.put(&commit.put, Bytes::from(commit.body)).await;
    let outcome = match written {
        Ok(_) => Ok(BackupOutcome::Completed {
            manifest: commit.manifest,
            manifest_key: match scope {
                RunScope::Day => key,
                RunScope::Shard { .. } => commit.put.key,
            },
            transfer,
        }),
        // A part is named by the SHA-256 of its bytes: the one there is this one (an earlier
        // run of the shard stored the same documents).
        Err(StoreError::PreconditionFailed) if scope != RunScope::Day => {
            Ok(BackupOutcome::Completed {
                manifest: commit.manifest,
                manifest_key: commit.put.key,
                transfer,
            })
        }
        Err(StoreError::PreconditionFailed) => {
            // Another run committed the day between the check and this write.
            match load_committed(store, &shared.options.prefix, date, exec.manifest_limit).await {
                Ok(Some(m)) => Ok(committed(m, transfer)),
                Ok(None) => Err(BackupError::Manifest(LoadError::Store {
                    key,
                    source: StoreError::Transient(
                        "the manifest write was refused as existing, but it cannot be read".into(),
                    ),
                })),
                Err(e) => Err(BackupError::Manifest(e)),
            }
        }
        Err(source) => Err(BackupError::Fatal {
            source,
            stored,
            failed: 0,
        }),
    };
    release(lease, clock).await;
    outcome
}

/// A valid complete part of shard `index` of `plan` already in the store (its bytes are the
/// ones its name records, and it parses as a complete manifest), if there is one.
async fn existing_part<S: ObjectStore>(
    store: &S,
    options: &PlanOptions,
    date: BackupDate,
    plan: docvault_core::Sha256Digest,
    index: u32,
    limit: u64,
) -> Option<(String, Manifest)> {
    let prefix = options
        .prefix
        .join(&WorkLayout::new(date).part_prefix(&plan, index));
    let listed = store.list(&prefix).await.ok()?;
    for object in listed {
        let Some(named) = WorkLayout::part_digest(&prefix, &object.key) else {
            continue;
        };
        let Ok(Some(stored)) = store.get(&object.key, limit).await else {
            continue;
        };
        if docvault_core::Sha256Digest::of(&stored.body) != named {
            continue;
        }
        let part = std::str::from_utf8(&stored.body)
            .ok()
            .and_then(|text| Manifest::from_json(text).ok())
            .filter(|m| m.status == docvault_core::BackupStatus::Complete);
        if let Some(part) = part {
            return Some((object.key, part));
        }
    }
    None
}

/// What the loop saw besides outcomes.
#[derive(Debug, Default)]
struct Signals {
    fatal: Option<StoreError>,
    committed_by_other: bool,
    lease_lost: bool,
}

/// Admits documents and runs their uploads, `concurrency` at a time, renewing the lease as it
/// goes; returns when the source is exhausted or the run stopped and nothing is in flight.
async fn drive<S: ObjectStore>(
    shared: &Arc<Shared<S>>,
    run: &mut BackupRun,
    items: &mut impl Iterator<Item = Incoming>,
    concurrency: usize,
    lease: &mut Option<DayLease<S>>,
    clock: &dyn Clock,
) -> Result<Signals, BackupError> {
    let mut signals = Signals::default();
    let mut in_flight: FuturesUnordered<JoinHandle<Done>> = FuturesUnordered::new();
    loop {
        while run.stopped().is_none() && in_flight.len() < concurrency.max(1) {
            let Some(item) = items.next() else { break };
            if let Some(task) = start(shared, run, item)? {
                in_flight.push(task);
            }
        }
        if in_flight.is_empty() {
            return Ok(signals);
        }
        let renew_in = lease
            .as_ref()
            .filter(|l| l.renews())
            .map(|l| l.seconds_until_renewal(clock.now()));
        let renewal = async {
            match renew_in {
                Some(secs) => tokio::time::sleep(Duration::from_secs(secs)).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            joined = in_flight.next() => {
                let Some(joined) = joined else { continue };
                let done = joined.map_err(|e| BackupError::Task(e.to_string()))?;
                record(run, done, &mut signals)?;
            }
            () = renewal => renew(run, lease, clock, &mut signals).await,
        }
    }
}

/// Renews the lease when due; a lease lost, or about to lapse unrenewed, stops the run.
async fn renew<S: ObjectStore>(
    run: &mut BackupRun,
    lease: &mut Option<DayLease<S>>,
    clock: &dyn Clock,
    signals: &mut Signals,
) {
    let Some(l) = lease.as_mut() else { return };
    let now = clock.now();
    if !l.renew_due(now) {
        return;
    }
    match l.renew(now).await {
        Ok(()) => {}
        Err(LeaseError::Lost) => {
            signals.lease_lost = true;
            run.stop("this run's lease on the day was taken over by another run");
        }
        Err(e) => {
            tracing::warn!(error = %e, "could not renew the day's lease; retrying");
            // Too close to lapsing to keep writing: another run may take the day over.
            if l.expires_at().unix_seconds() - now.unix_seconds() < 10 {
                signals.lease_lost = true;
                run.stop(format!("the day's lease could not be renewed ({e})"));
            } else {
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

/// Admits one item and starts its upload, or records it.
fn start<S: ObjectStore>(
    shared: &Arc<Shared<S>>,
    run: &mut BackupRun,
    item: Incoming,
) -> Result<Option<JoinHandle<Done>>, BackupError> {
    match item {
        Incoming::Failed(f) => {
            tracing::warn!(document = %f.document_id, reason = %f.reason, "document not read");
            run.record_failed(f)?;
            Ok(None)
        }
        Incoming::Document(generated) => {
            let GeneratedDocument { document, body } = *generated;
            if run.admit(document.document_id.as_str(), None)? == Admission::Skipped {
                return Ok(None);
            }
            let put = run.put_for(&document);
            let shared = Arc::clone(shared);
            Ok(Some(tokio::spawn(async move {
                let body = Body::Bytes(Bytes::from(body));
                store_and_report(&shared, put, &body, document).await
            })))
        }
        Incoming::Fetch(fetch) => {
            if run.admit(&fetch.document_id, fetch.source.as_deref())? == Admission::Skipped {
                return Ok(None);
            }
            let shared = Arc::clone(shared);
            Ok(Some(tokio::spawn(async move {
                let Fetched { document, body } = match fetch.read.await {
                    Ok(f) => f,
                    Err(failed) => return Done::Failed(failed, None),
                };
                let put = document_put(&shared.options, shared.date, &document);
                store_and_report(&shared, put, &body, document).await
            })))
        }
    }
}

/// Records an item the run never attempts (it stopped).
fn account(run: &mut BackupRun, item: Incoming) -> Result<(), BackupError> {
    match item {
        Incoming::Failed(f) => run.record_failed(f)?,
        Incoming::Document(d) => {
            run.admit(d.document.document_id.as_str(), None)?;
        }
        Incoming::Fetch(f) => {
            run.admit(&f.document_id, f.source.as_deref())?;
        }
    }
    Ok(())
}

fn record(run: &mut BackupRun, done: Done, signals: &mut Signals) -> Result<(), BackupError> {
    match done {
        Done::Stored(document, how) => run.record_stored(*document, how)?,
        Done::Failed(failure, error) => {
            tracing::warn!(document = %failure.document_id, reason = %failure.reason, "document not stored");
            run.record_failed(failure)?;
            if let Some(e) = error.filter(StoreError::is_fatal) {
                run.stop(e.to_string());
                signals.fatal.get_or_insert(e);
            }
        }
        Done::Committed(failure) => {
            run.record_failed(failure)?;
            signals.committed_by_other = true;
            run.stop("another run committed the day");
        }
    }
    Ok(())
}

async fn store_and_report<S: ObjectStore>(
    shared: &Shared<S>,
    put: ObjectPut,
    body: &Body,
    document: Document,
) -> Done {
    let failure = |reason: String, attempts| FailedDocument {
        document_id: document.document_id.to_string(),
        source: document.source.clone(),
        stage: FailureStage::Store,
        reason,
        attempts,
    };
    match store_document(shared, put, body, &document).await {
        Ok(Some(how)) => Done::Stored(Box::new(document), how),
        Ok(None) => Done::Committed(failure(
            "not written: another run committed the day meanwhile".into(),
            0,
        )),
        Err(error) => {
            let attempts = match error {
                StoreError::Transient(_) => shared.max_attempts,
                _ => 1,
            };
            Done::Failed(failure(error.to_string(), attempts), Some(error))
        }
    }
}

/// Stores one body create-only; if the key exists, keeps it when it is the document, else
/// replaces it unless the day has been committed meanwhile (`Ok(None)`).
async fn store_document<S: ObjectStore>(
    shared: &Shared<S>,
    mut put: ObjectPut,
    body: &Body,
    document: &Document,
) -> Result<Option<Stored>, StoreError> {
    let store = &shared.store;
    put.if_none_match = true;
    match body.put(store, &put).await {
        Ok(()) => return Ok(Some(Stored::Uploaded)),
        Err(StoreError::PreconditionFailed) => {}
        Err(e) => return Err(e),
    }
    if let Some(info) = store.head(&put.key).await? {
        let encrypted = shared.options.encryption.is_satisfied_by(&info.encryption);
        let same = match identity(document, info.size, info.checksum.as_ref(), None) {
            Identity::Same => true,
            Identity::Differs => false,
            // The store keeps no checksum: read the object back, one chunk at a time.
            Identity::Unknown => match store.get_stream(&put.key, None).await? {
                Some(stream) => {
                    let (size, digest) = hash_stream(stream).await.map_err(|e| {
                        StoreError::Transient(format!("reading {} back: {e}", put.key))
                    })?;
                    identity(document, size, None, Some(&digest)) == Identity::Same
                }
                None => false,
            },
        };
        if same && encrypted {
            return Ok(Some(Stored::AlreadyStored));
        }
    }
    // A different object: replace it, but never under a committed day.
    if store.head(&shared.manifest_key).await?.is_some() {
        return Ok(None);
    }
    put.if_none_match = false;
    body.put(store, &put).await?;
    Ok(Some(Stored::Replaced))
}

/// Writes the incomplete-run report; its key, or `None` when the store refused it too.
async fn write_report<S: ObjectStore>(store: &S, commit: &docvault_core::Commit) -> Option<String> {
    match store
        .put(&commit.put, Bytes::from(commit.body.clone()))
        .await
    {
        Ok(_) => Some(commit.put.key.clone()),
        Err(e) => {
            tracing::warn!(error = %e, "could not write the incomplete-run report");
            None
        }
    }
}

async fn release<S: ObjectStore>(lease: Option<DayLease<S>>, clock: &dyn Clock) {
    if let Some(l) = lease
        && let Err(e) = l.release(clock.now()).await
    {
        tracing::warn!(error = %e, "could not release the day's lease; it lapses on its own");
    }
}
