//! # docvault-lambda
//!
//! The nightly backup as an AWS Lambda (`provided.al2023`, binary `bootstrap`).
//!
//! **Contract.** The core decides what to upload (keys, headers, checksums, tags, the manifest
//! last) and the shared S3 layer ([`docvault_s3`]) moves the bytes; this crate is the Lambda's
//! edge: it reads the configuration once at cold start ([`config`]), builds the SDK clients
//! once, parses each event into a typed [`event::Event`], runs it, reports metrics (EMF by
//! default), and maps every error to a `Retryable.*` or `Fatal.*` type with the fix in this
//! function's terms ([`error`]). The handler is generic over [`ObjectStore`], so everything but
//! the SDK calls is tested without AWS.
//!
//! * [`backup`]: a backup event (the day's checks, the S3 source, the executor).
//! * [`verify`]: a verify event.
//! * [`restore`]: a restore event.
//! * [`shard`]: a sharded day's `plan`, `backup_shard` and `commit` events (scale-out).
//! * [`source`]: the documents of an S3 source prefix.
//! * [`kms`]: the check of `KMS_KEY_ID` before the first write.

pub mod backup;
pub mod config;
pub mod error;
pub mod event;
pub mod hold;
pub mod kms;
pub mod restore;
pub mod shard;
pub mod source;
pub mod verify;

use docvault_core::{MetricSet, RunOutcome, Timestamp};
use docvault_s3::metrics::MetricsSink;
use docvault_s3::store::ObjectStore;
use serde_json::Value;

pub use crate::config::Config;
pub use crate::error::HandlerError;
use crate::event::{Event, EventError};
use crate::kms::KeyCheck;

/// Everything built once per cold start.
#[derive(Debug, Clone)]
pub struct App<S> {
    /// Validated configuration.
    pub config: Config,
    /// Where backups go.
    pub store: S,
    /// Where metrics go.
    pub metrics: MetricsSink,
    /// The source bucket's store, when `DOCUMENT_SOURCE` is `s3://...`.
    pub source: Option<S>,
    /// The store of the source's S3 Inventory bucket, when `SOURCE_INVENTORY` is set.
    pub inventory: Option<S>,
    /// The store of `RESTORE_BUCKET`, when set: the one other bucket restores may write into.
    pub restore_target: Option<S>,
    /// The check of `KMS_KEY_ID` before the first write (none without a key).
    pub key_check: Option<KeyCheck>,
}

/// What the host knows of one invocation.
#[derive(Debug, Clone)]
pub struct Invocation {
    /// The Lambda request id: the run id in manifests, reports and the day's lease.
    pub request_id: String,
    /// The host clock, read once for this invocation.
    pub now: Timestamp,
    /// When Lambda stops this invocation (its deadline), if known: the day's lease lasts a
    /// minute past it, so a run that is killed frees the day soon after.
    pub deadline: Option<Timestamp>,
}

/// Handles one invocation.
///
/// # Errors
/// [`HandlerError`]; metrics are sent in every case.
pub async fn handle<S: ObjectStore>(
    app: &App<S>,
    payload: &Value,
    invocation: &Invocation,
) -> Result<Value, HandlerError> {
    let event = match Event::parse(payload) {
        Ok(event) => event,
        Err(e) => {
            report_bad_event(app, &e, invocation.now).await;
            return Err(e.into());
        }
    };
    match event {
        Event::Backup(e) => backup::handle(app, &e, invocation).await,
        Event::Verify(e) => verify::handle(app, &e, invocation.now).await,
        Event::Restore(e) => restore::handle(app, &e).await,
        Event::LegalHold(e) => hold::handle(app, &e, invocation.now, &invocation.request_id).await,
        Event::Plan(e) => shard::plan(app, &e, invocation).await,
        Event::BackupShard(e) => shard::backup_shard(app, &e, invocation).await,
        Event::Commit(e) => shard::commit_day(app, &e, invocation).await,
    }
}

/// A bad event still counts: its action's failure metric is sent, so the alarm sees it.
async fn report_bad_event<S: ObjectStore>(app: &App<S>, e: &EventError, now: Timestamp) {
    tracing::error!(error = %e, "bad event");
    let (namespace, environment) = (&app.config.namespace, &app.config.environment);
    let set = match e.action() {
        Some("verify") => MetricSet::for_verification(namespace, environment, now, 1, 0),
        Some("backup") => {
            MetricSet::for_run(namespace, environment, now, RunOutcome::aborted(), None)
        }
        _ => return,
    };
    app.metrics.send(&set).await;
}
