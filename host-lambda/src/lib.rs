//! # docvault-lambda
//!
//! The nightly backup as an AWS Lambda (`provided.al2023`, binary `bootstrap`), and the S3
//! executor that other hosts link.
//!
//! **Contract.** The core decides what to upload (keys, headers, checksums, tags, the manifest
//! last); this crate only does I/O: it reads the configuration once at cold start, builds the
//! SDK clients once, and per invocation streams the day's documents into S3 with SSE-KMS and
//! `x-amz-checksum-sha256`, commits the manifest with `If-None-Match: *`, and reports metrics
//! (EMF by default). The handler is generic over [`store::ObjectStore`], so everything but the
//! SDK calls is tested without AWS.

pub mod config;
pub mod event;
pub mod executor;
pub mod kms;
pub mod metrics;
pub mod restore;
pub mod source;
pub mod store;
pub mod verify;

use std::time::Instant;

use docvault_core::{
    BackupDate, Generator, GeneratorSpec, ManifestHeader, MetricSet, PlanOptions, RunOutcome,
    SourceDescription, Timestamp,
};
use serde_json::{Value, json};

use crate::config::{Config, DocumentSource};
use crate::event::{DateOrigin, EventError, backup_date};
use crate::executor::{BackupError, BackupOutcome, ExecuteOptions, execute};
use crate::kms::{KeyCheck, KeyError};
use crate::metrics::MetricsSink;
use crate::restore::{PrefixRestore, RestoreError, restore_to_prefix};
use crate::store::{ObjectStore, StoreError};
use crate::verify::{Verification, VerifyError, VerifyOptions, verify_day};

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
    /// The store of `RESTORE_BUCKET`, when set: the one other bucket restores may write into.
    pub restore_target: Option<S>,
    /// The check of `KMS_KEY_ID` before the first write (none without a key).
    pub key_check: Option<KeyCheck>,
}

/// Why an invocation failed. `error_type` tells Lambda (and people) whether a retry can help.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HandlerError {
    /// The event names its day badly. Not retryable.
    #[error(transparent)]
    Event(#[from] EventError),
    /// The run stopped or could not complete.
    #[error(transparent)]
    Backup(#[from] BackupError),
    /// Some documents failed; the report lists them and a rerun completes the day. Retryable.
    #[error(
        "backup of {date} is incomplete: {failed} documents failed ({stored} stored); the report is \
         at {report}; rerunning the same date completes it"
    )]
    Incomplete {
        /// The day.
        date: String,
        /// Failed documents.
        failed: u64,
        /// Stored documents.
        stored: u64,
        /// Where the report is.
        report: String,
    },
    /// This configuration cannot run yet.
    #[error("{0}")]
    Unsupported(String),
    /// The document source could not be listed; nothing was backed up.
    #[error("could not list the document source {uri}: {error}")]
    Source {
        /// `s3://bucket/prefix` for the day.
        uri: String,
        /// The store's answer.
        #[source]
        error: StoreError,
    },
    /// A verification could not run (no backup in the window, an invalid manifest, the store).
    #[error(transparent)]
    Verify(#[from] VerifyError),
    /// A restore could not start (no backup that day, an unknown document, a bad target).
    #[error(transparent)]
    Restore(#[from] RestoreError),
    /// `KMS_KEY_ID` names a key that cannot be used (or KMS could not be asked).
    #[error(transparent)]
    Key(#[from] KeyError),
    /// Some documents were not restored.
    #[error(
        "restore of {date} into {to} is incomplete: {failed} of {requested} documents \
         were not restored: {summary}"
    )]
    RestoreIncomplete {
        /// The day.
        date: String,
        /// Where to: `s3://bucket/prefix`.
        to: String,
        /// Documents asked for.
        requested: u64,
        /// Documents not restored.
        failed: u64,
        /// The first failures.
        summary: String,
        /// Whether a retry can help (only store errors were seen).
        retryable: bool,
    },
    /// A verification found problems; the response log and the metric carry the details.
    #[error(
        "verification of {date} found {problems} problems (missing, extra, resized, altered or \
         wrongly encrypted objects): {summary}"
    )]
    VerificationFailed {
        /// The day verified.
        date: String,
        /// Problems found.
        problems: u64,
        /// The first problems, for the error message.
        summary: String,
    },
}

impl HandlerError {
    /// `Retryable.*` when a later attempt can succeed, `Fatal.*` when someone must fix something.
    pub fn error_type(&self) -> &'static str {
        match self {
            Self::Event(_) => "Fatal.BadEvent",
            Self::Backup(BackupError::Fatal { .. }) => "Fatal.StoreRefused",
            Self::Backup(BackupError::CorruptManifest { .. }) => "Fatal.CorruptManifest",
            Self::Backup(BackupError::Plan(_)) => "Fatal.Plan",
            Self::Backup(_) => "Retryable.Store",
            Self::Incomplete { .. } => "Retryable.Incomplete",
            Self::Unsupported(_) => "Fatal.Unsupported",
            Self::Source { error, .. } if error.is_fatal() => "Fatal.SourceRefused",
            Self::Source { .. } => "Retryable.Source",
            Self::Verify(VerifyError::Store(e)) if !e.is_fatal() => "Retryable.Store",
            Self::Verify(_) => "Fatal.NotVerifiable",
            Self::VerificationFailed { .. } => "Fatal.VerificationFailed",
            Self::Restore(RestoreError::Store(e)) if !e.is_fatal() => "Retryable.Store",
            Self::Restore(_) => "Fatal.NotRestorable",
            Self::RestoreIncomplete {
                retryable: true, ..
            } => "Retryable.RestoreIncomplete",
            Self::RestoreIncomplete { .. } => "Fatal.RestoreIncomplete",
            Self::Key(e) if e.is_retryable() => "Retryable.KmsKey",
            Self::Key(_) => "Fatal.KmsKey",
        }
    }
}

impl From<HandlerError> for lambda_runtime::Diagnostic {
    fn from(e: HandlerError) -> Self {
        Self {
            error_type: e.error_type().to_owned(),
            error_message: e.to_string(),
        }
    }
}

/// Handles one invocation. `now` is the host clock read once for this invocation; `run_id` is
/// the Lambda request id.
///
/// # Errors
/// [`HandlerError`]; metrics are sent in every case.
pub async fn handle<S: ObjectStore>(
    app: &App<S>,
    event: &Value,
    run_id: &str,
    now: Timestamp,
) -> Result<Value, HandlerError> {
    match event.get("action").and_then(Value::as_str) {
        None | Some("backup") => {}
        Some("verify") => return handle_verify(app, event, now).await,
        Some("restore") => return handle_restore(app, event).await,
        Some(other) => {
            return Err(HandlerError::Unsupported(format!(
                "event action {other:?} is not supported: use \"backup\" (the default), \
                 \"verify\" or \"restore\""
            )));
        }
    }
    let started = Instant::now();
    let result = run(app, event, run_id, now).await;
    let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let outcome = match &result {
        Ok(o) => RunOutcome::of(o.manifest()),
        Err(HandlerError::Backup(BackupError::Fatal { stored, failed, .. })) => RunOutcome {
            success: false,
            documents: *stored,
            bytes: 0,
            failed: *failed,
        },
        Err(_) => RunOutcome::aborted(),
    };
    let set = MetricSet::for_run(
        &app.config.namespace,
        &app.config.environment,
        now,
        outcome,
        Some(duration_ms),
    );
    app.metrics.send(&set).await;
    let outcome = result?;
    let m = outcome.manifest();
    let t = outcome.transfer();
    let mut response = json!({
        "backup_date": m.backup_date,
        "status": m.status,
        "documents": m.total_documents,
        "failed": m.total_failed,
        "total_size_bytes": m.backup_summary.total_size_bytes,
        "uploaded": t.uploaded,
        "already_stored": t.already_stored,
        "replaced": t.replaced,
        "duration_ms": duration_ms,
    });
    match &outcome {
        BackupOutcome::Completed { manifest_key, .. } => {
            tracing::info!(key = %manifest_key, documents = m.total_documents, "backup complete");
            response["manifest_key"] = json!(manifest_key);
            response["already_complete"] = json!(false);
            Ok(response)
        }
        BackupOutcome::AlreadyComplete { manifest_key, .. } => {
            response["manifest_key"] = json!(manifest_key);
            response["already_complete"] = json!(true);
            Ok(response)
        }
        BackupOutcome::Incomplete { report_key, .. } => Err(HandlerError::Incomplete {
            date: m.backup_date.to_string(),
            failed: m.total_failed,
            stored: m.total_documents,
            report: report_key
                .clone()
                .unwrap_or_else(|| "(not written: the store refused it)".into()),
        }),
    }
}

/// `{"action": "restore", "date": "YYYY-MM-DD", "to_prefix": "restores/x/", "to_bucket": B?,
/// "document": ID?, "overwrite": bool?}`: copies the day's documents (or one) to `to_prefix` in
/// the backup bucket (outside `backups/`), or in `to_bucket` when that is the configured
/// `RESTORE_BUCKET`; each streams from the backup into its target PUT, checked against the
/// manifest's SHA-256 on the way (with SSE-KMS and `x-amz-checksum-sha256`, create-only unless
/// `overwrite`).
async fn handle_restore<S: ObjectStore>(
    app: &App<S>,
    event: &Value,
) -> Result<Value, HandlerError> {
    let bad = |what: String| HandlerError::Event(EventError::BadField(what));
    let date: BackupDate = event
        .get("date")
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("`date` is required for a restore: YYYY-MM-DD".into()))?;
    let to_prefix = event
        .get("to_prefix")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            bad("`to_prefix` is required for a restore, e.g. \"restores/2026-11-27/\"".into())
        })?
        .to_owned();
    let document = match event.get("document") {
        None | Some(Value::Null) => None,
        Some(Value::String(id)) => Some(id.clone()),
        Some(v) => return Err(bad(format!("`document` is {v}: send a document id"))),
    };
    let config = &app.config;
    let (target, to_bucket) = match event.get("to_bucket") {
        None | Some(Value::Null) => (&app.store, None),
        Some(Value::String(b)) if *b == config.bucket => (&app.store, None),
        Some(Value::String(b)) => match (&app.restore_target, &config.restore_bucket) {
            (Some(store), Some(allowed)) if allowed == b => (store, Some(b.clone())),
            (_, allowed) => {
                return Err(HandlerError::Restore(RestoreError::UnsafeTarget(format!(
                    "to_bucket {b:?} is not a bucket this function restores into: use the \
                     backup bucket {:?}{}",
                    config.bucket,
                    match allowed {
                        Some(a) => format!(" or the restore bucket {a:?}"),
                        None => " (another bucket needs RESTORE_BUCKET: the stack's \
                                 RestoreBucketName parameter, which also grants the writes)"
                            .into(),
                    }
                ))));
            }
        },
        Some(v) => return Err(bad(format!("`to_bucket` is {v}: send a bucket name"))),
    };
    let overwrite = match event.get("overwrite") {
        None => false,
        Some(v) => v
            .as_bool()
            .ok_or_else(|| bad(format!("`overwrite` is {v}: send true or false")))?,
    };
    let request = PrefixRestore {
        date,
        to_bucket: to_bucket.clone(),
        to_prefix: to_prefix.clone(),
        document,
        overwrite,
        options: PlanOptions {
            prefix: config.prefix.clone(),
            environment: config.environment.clone(),
            encryption: config.encryption(),
        },
        concurrency: config.concurrency,
    };
    if let Some(check) = &app.key_check {
        check.ensure().await?;
    }
    let into_bucket = to_bucket.as_deref().unwrap_or(&config.bucket);
    tracing::info!(%date, into_bucket, to_prefix, overwrite, "starting restore");
    let report = restore_to_prefix(&app.store, target, &request).await?;
    if report.failed.is_empty() {
        return Ok(json!({
            "action": "restore",
            "date": date.to_string(),
            "to_bucket": into_bucket,
            "to_prefix": to_prefix,
            "requested": report.requested,
            "restored": report.restored,
            "bytes": report.bytes,
        }));
    }
    tracing::error!(%date, failed = ?report.failed, "restore incomplete");
    let summary: Vec<String> = report
        .failed
        .iter()
        .take(5)
        .map(|f| format!("{} ({}: {})", f.document_id, f.kind, f.error))
        .collect();
    Err(HandlerError::RestoreIncomplete {
        date: date.to_string(),
        to: format!("s3://{into_bucket}/{to_prefix}"),
        requested: report.requested,
        failed: report.failed.len() as u64,
        summary: summary.join("; "),
        retryable: report.failed.iter().all(|f| f.kind == "store"),
    })
}

/// How many days back a verification without a `date` looks for the latest backup.
pub const VERIFY_LOOKBACK_DAYS: u16 = 7;

/// `{"action": "verify"}`: verifies the latest backup (the newest day with a manifest among
/// the `VERIFY_LOOKBACK_DAYS` days up to the event's scheduled time), or the event's `date`,
/// from S3's stored checksums; `read_data` (0 to 1) also re-hashes a sample. Always sends
/// `VerificationFailures` (a day that cannot be verified counts as one).
async fn handle_verify<S: ObjectStore>(
    app: &App<S>,
    event: &Value,
    now: Timestamp,
) -> Result<Value, HandlerError> {
    let result = verify_event(app, event, now).await;
    let (problems, verified) = match &result {
        Ok((_, v)) => (v.problems(), v.report.verified),
        Err(_) => (1, 0),
    };
    let set = MetricSet::for_verification(
        &app.config.namespace,
        &app.config.environment,
        now,
        problems,
        verified,
    );
    app.metrics.send(&set).await;
    let (date, v) = result?;
    let r = &v.report;
    let response = json!({
        "action": "verify",
        "date": date.to_string(),
        "manifest_key": v.manifest_key,
        "documents": v.documents,
        "verified": r.verified,
        "problems": v.problems(),
        "read_sampled": v.read_sampled,
        "requests": v.requests,
        "report": r,
    });
    if v.problems() == 0 {
        tracing::info!(%date, verified = r.verified, "verification clean");
        return Ok(response);
    }
    tracing::error!(%date, report = %response, "verification found problems");
    let mut first: Vec<String> = Vec::new();
    first.extend(r.missing.iter().map(|k| format!("missing {k}")));
    first.extend(r.extra.iter().map(|k| format!("extra {k}")));
    first.extend(r.size_mismatch.iter().map(|m| format!("resized {}", m.key)));
    first.extend(
        r.checksum_mismatch
            .iter()
            .map(|m| format!("altered {}", m.key)),
    );
    first.extend(r.unverified.iter().map(|k| format!("no checksum {k}")));
    first.extend(
        r.encryption_mismatch
            .iter()
            .map(|m| format!("encryption {} ({})", m.key, m.actual)),
    );
    let more = first.len().saturating_sub(5);
    first.truncate(5);
    Err(HandlerError::VerificationFailed {
        date: date.to_string(),
        problems: v.problems(),
        summary: if more > 0 {
            format!("{} and {more} more", first.join(", "))
        } else {
            first.join(", ")
        },
    })
}

async fn verify_event<S: ObjectStore>(
    app: &App<S>,
    event: &Value,
    now: Timestamp,
) -> Result<(BackupDate, Verification), HandlerError> {
    let (day, origin) = backup_date(event, now)?;
    let read_fraction = match event.get("read_data") {
        None => 0.0,
        Some(v) => v
            .as_f64()
            .filter(|f| (0.0..=1.0).contains(f))
            .ok_or_else(|| {
                HandlerError::Event(EventError::BadField(format!(
                    "`read_data` is {v}: send a fraction from 0 to 1"
                )))
            })?,
    };
    let config = &app.config;
    let date = if origin == DateOrigin::Override {
        day
    } else {
        latest_backup(app, day).await?
    };
    let options = VerifyOptions {
        prefix: config.prefix.clone(),
        date,
        expected: config.encryption(),
        read_fraction,
        concurrency: config.concurrency,
    };
    tracing::info!(%date, ?origin, read_fraction, "starting verification");
    Ok((date, verify_day(&app.store, &options).await?))
}

/// The newest day with a manifest, from `day` back `VERIFY_LOOKBACK_DAYS` days.
async fn latest_backup<S: ObjectStore>(
    app: &App<S>,
    day: BackupDate,
) -> Result<BackupDate, HandlerError> {
    let mut date = day.date();
    for _ in 0..VERIFY_LOOKBACK_DAYS {
        let candidate = BackupDate::from(date);
        let key = format!(
            "{}{}",
            app.config.prefix,
            docvault_core::Layout::new(candidate).manifest_key()
        );
        if app
            .store
            .head(&key)
            .await
            .map_err(|e| HandlerError::Verify(VerifyError::Store(e)))?
            .is_some()
        {
            return Ok(candidate);
        }
        let Some(previous) = date.previous_day() else {
            break;
        };
        date = previous;
    }
    Err(HandlerError::Verify(VerifyError::NoManifest {
        key: format!(
            "{}{}",
            app.config.prefix,
            docvault_core::Layout::new(day).manifest_key()
        ),
        date: day,
    }))
}

async fn run<S: ObjectStore>(
    app: &App<S>,
    event: &Value,
    run_id: &str,
    now: Timestamp,
) -> Result<BackupOutcome, HandlerError> {
    let (date, origin) = backup_date(event, now)?;
    if let Some(check) = &app.key_check {
        check.ensure().await?;
    }
    tracing::info!(%date, ?origin, run_id, "starting backup");
    let config = &app.config;
    let options = PlanOptions {
        prefix: config.prefix.clone(),
        environment: config.environment.clone(),
        encryption: config.encryption(),
    };
    let exec = ExecuteOptions {
        concurrency: config.concurrency,
        max_attempts: config.max_attempts,
    };
    let header = |source| ManifestHeader {
        backup_date: date,
        backup_timestamp: now,
        environment: config.environment.clone(),
        run_id: Some(run_id.to_owned()),
        source,
    };
    match &config.source {
        DocumentSource::Generator { count, seed } => {
            let (count, seed) = (*count, *seed);
            let documents = Generator::new(GeneratorSpec { date, count, seed });
            let header = header(SourceDescription::Generator { count, seed });
            Ok(execute(&app.store, header, options, documents, &exec).await?)
        }
        DocumentSource::S3(source_options) => {
            let uri = source_options.uri_for(date);
            let Some(source) = &app.source else {
                return Err(HandlerError::Unsupported(format!(
                    "DOCUMENT_SOURCE={uri} needs a source store, and this host built none"
                )));
            };
            let documents = source::list_documents(source, source_options, date, now)
                .await
                .map_err(|error| HandlerError::Source {
                    uri: uri.clone(),
                    error,
                })?;
            tracing::info!(%uri, objects = documents.len(), "listed the document source");
            let header = header(SourceDescription::S3 { uri });
            Ok(execute(&app.store, header, options, documents, &exec).await?)
        }
    }
}
