//! A sharded day on Step Functions (the scale-out state machine of `infra/template.yaml`):
//!
//! * `plan`: the day's source listed (the generator, or the S3 source with every page of its
//!   listing), split into shards by `SHARD_MAX_DOCUMENTS` and `SHARD_MAX_BYTES`, and published
//!   once under `work/{date}/` with the Distributed Map's item list;
//! * `backup_shard`: the shards of one Map batch, each run like a day's backup whose last write
//!   is its part (`docvault_s3::executor::execute_scoped`);
//! * `commit`: the parts joined into the day's manifest, written last, create-only; or the
//!   incomplete-run report when a shard left no usable part.
//!
//! Metrics: the commit sends the day's run metrics (the same a single run sends); shards send
//! none of their own, so a day is counted once.

use std::collections::BTreeSet;
use std::time::Instant;

use bytes::Bytes;
use docvault_core::plan::work_put;
use docvault_core::shard::{Listed, WorkLayout};
use docvault_core::{
    Generator, GeneratorSpec, ManifestHeader, MetricSet, RunOutcome, RunScope, SourceDescription,
};
use docvault_s3::executor::{
    BackupOutcome, ExecuteOptions, Incoming, Scoped, SystemClock, execute_scoped,
};
use docvault_s3::lease::LeaseTerms;
use docvault_s3::manifest::load_committed;
use docvault_s3::shard::{CommitOptions, commit, load_listing, load_plan, publish_plan};
use docvault_s3::store::{ListedObject, ObjectStore, StoreError};
use serde_json::{Value, json};

use crate::config::DocumentSource;
use crate::event::{BackupEvent, CommitEvent, ShardBatchEvent};
use crate::{App, HandlerError, Invocation, backup, source};

/// Runs a `plan` event.
///
/// # Errors
/// [`HandlerError`]: a day that may not be backed up, an unreadable source, a plan of other
/// documents already published for the day.
pub async fn plan<S: ObjectStore>(
    app: &App<S>,
    event: &BackupEvent,
    invocation: &Invocation,
) -> Result<Value, HandlerError> {
    let (date, origin) = event.day(invocation.now)?;
    let config = &app.config;
    let options = config.plan_options();
    let work = WorkLayout::new(date);
    if let Some(m) = load_committed(&app.store, &options.prefix, date, config.manifest_limit())
        .await
        .map_err(|e| HandlerError::Backup(docvault_s3::executor::BackupError::Manifest(e)))?
    {
        tracing::info!(%date, "the day is already backed up; nothing to plan");
        return Ok(json!({
            "action": "plan",
            "backup_date": date,
            "already_complete": true,
            "documents": m.total_documents,
        }));
    }
    if let Some(check) = &app.key_check {
        check.ensure().await?;
    }
    tracing::info!(%date, ?origin, run_id = %invocation.request_id, "planning a sharded backup");
    let header = |source| backup::run_header(app, date, invocation, source);
    let (header, listing) = match &config.source {
        DocumentSource::Generator { count, seed } => {
            let listing = Generator::new(GeneratorSpec {
                date,
                count: *count,
                seed: *seed,
            })
            .map(|g| Listed::new(g.document.document_id.to_string(), g.document.file_size))
            .collect();
            (
                header(SourceDescription::Generator {
                    count: *count,
                    seed: *seed,
                }),
                listing,
            )
        }
        DocumentSource::S3(source_options) => {
            let uri = source_options.uri_for(date);
            let stores = backup::source_stores(app, &uri)?;
            let objects = source::list_objects(stores, source_options, date)
                .await
                .map_err(|e| HandlerError::listing(uri.clone(), e))?;
            if objects.is_empty() && !config.allow_empty_days {
                return Err(HandlerError::EmptySource {
                    uri,
                    date: date.to_string(),
                });
            }
            let listing = objects
                .into_iter()
                .map(|o| Listed {
                    document_id: source::relative_key(source_options, date, &o.key).to_owned(),
                    size: o.size,
                    source: Some(o.key),
                    etag: o.etag,
                    last_modified: o.last_modified,
                })
                .collect();
            (header(SourceDescription::S3 { uri }), listing)
        }
    };
    let (plan, _) = publish_plan(&app.store, &options, header, listing, config.shard_split).await?;
    let digest = plan.digest();
    let items = plan.items_json();
    let items_key = work.items_key(&digest);
    let put = work_put(&options, items_key, items.as_bytes(), "ShardItems", true);
    match app.store.put(&put, Bytes::from(items)).await {
        Ok(_) | Err(StoreError::PreconditionFailed) => {}
        Err(source) => {
            return Err(HandlerError::Shard(docvault_s3::shard::ShardError::Store {
                key: put.key,
                source,
            }));
        }
    }
    tracing::info!(%date, shards = plan.shards.len(), documents = plan.total_documents, "planned");
    Ok(json!({
        "action": "plan",
        "backup_date": date,
        "already_complete": false,
        "bucket": config.bucket,
        "plan_key": options.prefix.join(&work.plan_key()),
        "plan_sha256": digest,
        "items_key": put.key,
        "shards": plan.shards.len(),
        "documents": plan.total_documents,
        "bytes": plan.total_bytes,
    }))
}

/// Runs a `backup_shard` event: each shard of the batch in turn.
///
/// # Errors
/// [`HandlerError`]: a plan that is not the batch's, a shard that could not store every
/// document (retryable), the store's refusals.
pub async fn backup_shard<S: ObjectStore>(
    app: &App<S>,
    event: &ShardBatchEvent,
    invocation: &Invocation,
) -> Result<Value, HandlerError> {
    let input = &event.batch_input;
    let config = &app.config;
    let plan = load_plan(&app.store, &config.prefix, input.date).await?;
    let digest = plan.digest();
    if digest != input.plan_sha256 {
        return Err(HandlerError::PlanReplaced {
            named: input.plan_sha256.to_string(),
            stored: digest.to_string(),
        });
    }
    if let Some(check) = &app.key_check {
        check.ensure().await?;
    }
    let options = plan.options(config.plan_options());
    let mut parts = Vec::new();
    for item in &event.items {
        let listing = load_listing(
            &app.store,
            &config.prefix,
            &plan,
            digest,
            item.index,
            config.manifest_limit(),
        )
        .await?;
        let documents = shard_documents(app, &plan.header, listing.documents, invocation)?;
        // Retries of this shard within one execution share its lease holder and take a lease
        // their killed attempt left over; another execution's run of the shard waits for it.
        let (holder, takes_over) = match &input.execution {
            Some(execution) => (format!("{execution}-shard-{}", item.index), true),
            None => (
                format!("{}-shard-{}", invocation.request_id, item.index),
                false,
            ),
        };
        let exec = ExecuteOptions {
            concurrency: config.concurrency,
            max_attempts: config.max_attempts,
            manifest_limit: config.manifest_limit(),
            lease: LeaseTerms {
                seconds: backup::lease_seconds(invocation),
                renew: false,
                retry_takes_over: takes_over,
            },
        };
        let run = Scoped {
            scope: RunScope::Shard {
                plan: digest,
                index: item.index,
            },
            lease_holder: holder,
        };
        let outcome = execute_scoped(
            &app.store,
            plan.header.clone(),
            options.clone(),
            run,
            documents,
            &exec,
            &SystemClock,
        )
        .await?;
        let m = outcome.manifest();
        let t = outcome.transfer();
        if let BackupOutcome::Incomplete { report_key, .. } = &outcome {
            return Err(HandlerError::Incomplete {
                date: input.date.to_string(),
                failed: m.total_failed,
                stored: m.total_documents,
                report: report_key
                    .clone()
                    .unwrap_or_else(|| "(not written: the store refused it)".into()),
            });
        }
        // Written now, or by an earlier run of the shard; none when the day was committed.
        let part_key = outcome.part_key(&config.prefix);
        tracing::info!(
            shard = item.index,
            documents = m.total_documents,
            "shard stored"
        );
        parts.push(json!({
            "index": item.index,
            "part_key": part_key,
            "documents": m.total_documents,
            "uploaded": t.uploaded,
            "already_stored": t.already_stored,
            "day_already_complete": part_key.is_none(),
        }));
    }
    Ok(json!({"action": "backup_shard", "backup_date": input.date, "parts": parts}))
}

/// The documents of a shard's listing as executor input: generated again, or read from the S3
/// source exactly as listed (each object's ETag).
fn shard_documents<S: ObjectStore>(
    app: &App<S>,
    header: &ManifestHeader,
    listing: Vec<Listed>,
    invocation: &Invocation,
) -> Result<Box<dyn Iterator<Item = Incoming> + Send>, HandlerError> {
    let date = header.backup_date;
    match (&header.source, &app.config.source) {
        (SourceDescription::Generator { count, seed }, _) => {
            let ids: BTreeSet<String> = listing.into_iter().map(|l| l.document_id).collect();
            let spec = GeneratorSpec {
                date,
                count: *count,
                seed: *seed,
            };
            Ok(Box::new(
                Generator::new(spec)
                    .filter(move |g| ids.contains(g.document.document_id.as_str()))
                    .map(Incoming::from),
            ))
        }
        (SourceDescription::S3 { uri }, DocumentSource::S3(options)) => {
            let source = backup::source_store(app, uri)?;
            let objects = listing.into_iter().map(|l| ListedObject {
                key: l
                    .source
                    .unwrap_or_else(|| format!("{}{}", options.prefix_for(date), l.document_id)),
                size: l.size,
                etag: l.etag,
                last_modified: l.last_modified,
            });
            Ok(Box::new(
                source::incoming(source, options, date, invocation.now, objects).into_iter(),
            ))
        }
        (planned, configured) => Err(HandlerError::SourceChanged {
            planned: match planned {
                SourceDescription::S3 { uri } => uri.clone(),
                other => format!("{other:?}"),
            },
            configured: match configured {
                DocumentSource::S3(options) => options.uri_for(date),
                DocumentSource::Generator { .. } => "generator".into(),
            },
        }),
    }
}

/// Runs a `commit` event; sends the day's run metrics whatever happens.
///
/// # Errors
/// [`HandlerError::CommitIncomplete`] when a shard left no usable part (the report records
/// its documents as failed); no plan; the store's refusals.
pub async fn commit_day<S: ObjectStore>(
    app: &App<S>,
    event: &CommitEvent,
    invocation: &Invocation,
) -> Result<Value, HandlerError> {
    let started = Instant::now();
    let config = &app.config;
    let (holder, takes_over) = match &event.execution {
        Some(execution) => (format!("{execution}-commit"), true),
        None => (format!("{}-commit", invocation.request_id), false),
    };
    let settings = CommitOptions {
        manifest_limit: config.manifest_limit(),
        lease: LeaseTerms {
            seconds: backup::lease_seconds(invocation),
            renew: false,
            retry_takes_over: takes_over,
        },
        lease_holder: Some(holder),
        part_documents: config.manifest_part_documents,
    };
    let result = commit(
        &app.store,
        &config.prefix,
        config.encryption(),
        event.date,
        &settings,
        &SystemClock,
    )
    .await;
    let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let outcome = match &result {
        Ok(done) => RunOutcome::of(done.outcome.manifest()),
        Err(_) => RunOutcome::aborted(),
    };
    let set = MetricSet::for_run(
        &config.namespace,
        &config.environment,
        invocation.now,
        outcome,
        Some(duration_ms),
    );
    app.metrics.send(&set).await;
    let done = result?;
    if let BackupOutcome::Incomplete {
        manifest,
        report_key,
        ..
    } = &done.outcome
    {
        return Err(HandlerError::CommitIncomplete {
            date: event.date.to_string(),
            shards: done.problems.len(),
            first: done
                .problems
                .first()
                .map(ToString::to_string)
                .unwrap_or_default(),
            failed: manifest.total_failed,
            report: report_key
                .clone()
                .unwrap_or_else(|| "(not written: the store refused it)".into()),
        });
    }
    backup::respond(done.outcome, duration_ms)
}
