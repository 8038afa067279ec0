//! A backup event: the day's checks, the documents (generated, or an S3 source), the shared
//! executor, the metrics and the response.

use std::time::Instant;

use docvault_core::{
    BackupDate, Generator, GeneratorSpec, ManifestHeader, MetricSet, RunOutcome, SourceDescription,
};
use docvault_s3::executor::{
    BackupError, BackupOutcome, ExecuteOptions, Incoming, SystemClock, execute,
};
use docvault_s3::lease::LeaseTerms;
use docvault_s3::store::ObjectStore;
use serde_json::{Value, json};

use crate::config::DocumentSource;
use crate::event::BackupEvent;
use crate::{App, HandlerError, Invocation, source};

/// The shortest lease, for a run without a known deadline (tests, other hosts of the handler).
const DEFAULT_LEASE_SECONDS: u32 = 960;

/// Runs a backup event; sends the run's metrics whatever happens.
///
/// # Errors
/// [`HandlerError`].
pub async fn handle<S: ObjectStore>(
    app: &App<S>,
    event: &BackupEvent,
    invocation: &Invocation,
) -> Result<Value, HandlerError> {
    let started = Instant::now();
    let result = run(app, event, invocation).await;
    let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let outcome = match &result {
        Ok(o) => RunOutcome::of(o.manifest()),
        Err(HandlerError::Backup(e)) if e.counts() != (0, 0) => {
            let (documents, failed) = e.counts();
            RunOutcome {
                success: false,
                documents,
                bytes: 0,
                failed,
            }
        }
        Err(_) => RunOutcome::aborted(),
    };
    let set = MetricSet::for_run(
        &app.config.namespace,
        &app.config.environment,
        invocation.now,
        outcome,
        Some(duration_ms),
    );
    app.metrics.send(&set).await;
    respond(result?, duration_ms)
}

/// The response of a run that ended (a backup, or a sharded day's commit).
pub(crate) fn respond(outcome: BackupOutcome, duration_ms: u64) -> Result<Value, HandlerError> {
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
            tracing::info!(key = %manifest_key, "the day is already backed up; nothing rewritten");
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

async fn run<S: ObjectStore>(
    app: &App<S>,
    event: &BackupEvent,
    invocation: &Invocation,
) -> Result<BackupOutcome, HandlerError> {
    let (date, origin) = event.day(invocation.now)?;
    if let Some(check) = &app.key_check {
        check.ensure().await?;
    }
    tracing::info!(%date, ?origin, run_id = %invocation.request_id, "starting backup");
    let config = &app.config;
    let options = config.plan_options();
    let lease_seconds = lease_seconds(invocation);
    let exec = ExecuteOptions {
        concurrency: config.concurrency,
        max_attempts: config.max_attempts,
        manifest_limit: config.manifest_limit(),
        // A Lambda run cannot outlast its deadline: one lease lasting past it, never renewed.
        // Lambda retries a failed invocation under its request id (the run id) only after the
        // failed attempt ended, so a retry takes over a lease its earlier attempt could not
        // release (the store was unreachable) instead of waiting for it to lapse.
        lease: LeaseTerms {
            seconds: lease_seconds,
            renew: false,
            retry_takes_over: true,
        },
    };
    let header = |source| run_header(app, date, invocation, source);
    let (header, documents) = match &config.source {
        DocumentSource::Generator { count, seed } => {
            let (count, seed) = (*count, *seed);
            let documents: Box<dyn Iterator<Item = Incoming> + Send> =
                Box::new(Generator::new(GeneratorSpec { date, count, seed }).map(Incoming::from));
            (
                header(SourceDescription::Generator { count, seed }),
                documents,
            )
        }
        DocumentSource::S3(source_options) => {
            let uri = source_options.uri_for(date);
            let documents = list_source(app, source_options, date, invocation).await?;
            (header(SourceDescription::S3 { uri }), documents)
        }
    };
    execute(&app.store, header, options, documents, &exec, &SystemClock)
        .await
        .map_err(|e: BackupError| e.into())
}

/// The header of a run this invocation starts (a backup, or a sharded day's plan): the day,
/// the invocation's time and request id, the function's environment.
pub(crate) fn run_header<S: ObjectStore>(
    app: &App<S>,
    date: BackupDate,
    invocation: &Invocation,
    source: SourceDescription,
) -> ManifestHeader {
    ManifestHeader {
        backup_date: date,
        backup_timestamp: invocation.now,
        environment: app.config.environment.clone(),
        run_id: Some(invocation.request_id.clone()),
        source,
    }
}

/// How long a lease taken by this invocation lasts: a minute past its deadline (it cannot
/// outlast it), never renewed.
pub(crate) fn lease_seconds(invocation: &Invocation) -> u32 {
    invocation
        .deadline
        .map(|d| d.unix_seconds() - invocation.now.unix_seconds() + 60)
        .and_then(|s| u32::try_from(s.max(60)).ok())
        .unwrap_or(DEFAULT_LEASE_SECONDS)
}

/// The store of the S3 document source.
///
/// # Errors
/// [`HandlerError::Source`] when this host built none.
pub(crate) fn source_store<'a, S: ObjectStore>(
    app: &'a App<S>,
    uri: &str,
) -> Result<&'a S, HandlerError> {
    app.source.as_ref().ok_or_else(|| HandlerError::Source {
        uri: uri.to_owned(),
        error: docvault_s3::store::StoreError::Transient(
            "this host built no store for the document source".into(),
        ),
    })
}

/// The stores the S3 document source is listed from.
///
/// # Errors
/// [`HandlerError::Source`] when this host built no store for the source.
pub(crate) fn source_stores<'a, S: ObjectStore>(
    app: &'a App<S>,
    uri: &str,
) -> Result<source::SourceStores<'a, S>, HandlerError> {
    Ok(source::SourceStores {
        source: source_store(app, uri)?,
        inventory: app.inventory.as_ref(),
    })
}

async fn list_source<S: ObjectStore>(
    app: &App<S>,
    options: &source::SourceOptions,
    date: BackupDate,
    invocation: &Invocation,
) -> Result<Box<dyn Iterator<Item = Incoming> + Send>, HandlerError> {
    let uri = options.uri_for(date);
    let documents =
        source::list_documents(source_stores(app, &uri)?, options, date, invocation.now)
            .await
            .map_err(|e| HandlerError::listing(uri.clone(), e))?;
    tracing::info!(%uri, objects = documents.len(), "listed the document source");
    if documents.is_empty() && !app.config.allow_empty_days {
        return Err(HandlerError::EmptySource {
            uri,
            date: date.to_string(),
        });
    }
    Ok(Box::new(documents.into_iter()))
}
