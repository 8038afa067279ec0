//! `backup --dest s3://...`: the guest scans (reads and hashes every document inside the
//! sandbox and prints the manifest the backup would commit); the runner reads each body once
//! more on the host and streams it into S3 through the shared executor: SSE-KMS,
//! `x-amz-checksum-sha256`, create-only writes, the day's lease, the manifest last.

use std::time::Instant;

use docvault_core::report::{BackupReport, RunStatus};
use docvault_core::{Layout, Manifest, PlanOptions, RunOutcome};
use docvault_fs::Root;
use docvault_s3::executor::{
    BackupOutcome, ExecuteOptions, Incoming, Scoped, SystemClock, execute_scoped,
};
use docvault_s3::lease::LeaseTerms;
use serde_json::{Value, json};

use crate::args::BackupArgs;
use crate::error::Failure;
use crate::guest::{BackupInput, CAPTURE_LIMIT};
use crate::remote::files::{Bodies, FileReading, incoming};
use crate::remote::shard;
use crate::sandbox::{Guest, Limits, Stdout};
use crate::{metrics, output, remote};

/// How long the runner's lease on a day lasts; it renews it while it runs.
const LEASE_SECONDS: u32 = 300;

/// Runs `backup --dest s3://...`.
pub(crate) fn backup(
    guest: &Guest,
    limits: Limits,
    args: &BackupArgs,
    input: BackupInput,
    started: Instant,
) -> Result<(), Failure> {
    let url = remote::url(&args.dest)?;
    let Some(kms) = args.s3.kms_key_id.as_deref() else {
        return Err(Failure::Usage(
            "an s3:// destination needs --kms-key-id KEY (the key ARN or id for SSE-KMS), or \
             --kms-key-id none for a store without KMS"
                .into(),
        ));
    };
    // 1. The guest scans: reads and hashes every document in the sandbox, prints the manifest.
    let mut guest_args = vec!["manifest".to_owned()];
    guest_args.extend(input.args.iter().cloned());
    let scan = guest.run(
        &guest_args,
        &input.preopens,
        Stdout::Capture {
            capacity: CAPTURE_LIMIT,
        },
        limits,
    )?;
    if scan.exit_code > 1 {
        return Err(Failure::Guest(scan.exit_code));
    }
    let text = std::str::from_utf8(&scan.stdout)
        .map_err(|e| Failure::Check(format!("the guest's manifest is not UTF-8: {e}")))?;
    let manifest = Manifest::from_json(text)
        .map_err(|e| Failure::Check(format!("the guest's manifest is invalid: {e}")))?;
    let bodies = match &input.source {
        Some(dir) => Bodies::Directory(
            Root::open(dir).map_err(Failure::io(format!("opening {}", dir.display())))?,
            FileReading {
                multipart_threshold: args.multipart_threshold,
                part_size: args.part_size,
                ..FileReading::default()
            },
        ),
        None => Bodies::Generated,
    };
    let options = PlanOptions {
        prefix: url.prefix.clone(),
        environment: manifest.environment.clone(),
        encryption: remote::encryption(Some(kms)),
        retention: args
            .retention
            .retention()
            .map_err(|e| Failure::Usage(e.to_string()))?,
    };
    if args.dry_run {
        return dry_run(args, &url, &manifest);
    }

    // 2. The runner uploads: bodies read on the host, checked against the scan, streamed to S3.
    let runtime = remote::runtime()?;
    let store = remote::store(&runtime, &args.s3, &url.bucket);
    let exec = ExecuteOptions {
        concurrency: args.s3.concurrency.max(1),
        max_attempts: args.s3.max_attempts.max(1),
        manifest_limit: remote::manifest_limit(),
        lease: LeaseTerms {
            seconds: LEASE_SECONDS,
            renew: true,
            retry_takes_over: false,
        },
    };
    let (header, options, scope, shard_run, documents) = match args.shard {
        None => (
            manifest.header(),
            options,
            Scoped::day(&manifest.header()),
            None,
            incoming(&manifest, bodies),
        ),
        Some(of) => match shard::plan(&runtime, &store, &url, &manifest, options, of)? {
            (Some(work), run) => {
                let ids = work.ids;
                let mine: Box<dyn Iterator<Item = Incoming> + Send> = Box::new(
                    incoming(&manifest, bodies).filter(move |i| ids.contains(i.document_id())),
                );
                (work.header, work.options, work.scope, Some(run), mine)
            }
            (None, run) => {
                let report = shard::nothing_to_do(&url.to_string(), &manifest, run);
                return emit(args, &report);
            }
        },
    };
    let result = runtime.block_on(execute_scoped(
        &store,
        header,
        options,
        scope,
        documents,
        &exec,
        &SystemClock,
    ));
    let outcome = match &result {
        Ok(o) => RunOutcome::of(o.manifest()),
        Err(e) => match e.counts() {
            (0, 0) => RunOutcome::aborted(),
            (documents, failed) => RunOutcome {
                success: false,
                documents,
                bytes: 0,
                failed,
            },
        },
    };
    metrics::send_run(args, outcome, input.at, started, Some(&runtime))?;
    let outcome = result.map_err(|e| match e.store_error() {
        Some(store) => Failure::storage(format!("backup to {url}"), store),
        None => match &e {
            docvault_s3::executor::BackupError::Lease(_)
            | docvault_s3::executor::BackupError::LeaseLost { .. }
            | docvault_s3::executor::BackupError::Manifest(_) => Failure::Check(e.to_string()),
            _ => Failure::Storage {
                message: e.to_string(),
                refusal: None,
            },
        },
    })?;
    let mut report = report(&url.to_string(), &outcome);
    if let Some(run) = shard_run {
        report = shard::shard_report(report, run, &outcome, &url.prefix);
    }
    emit(args, &report)?;
    if report.status == RunStatus::Incomplete {
        Err(Failure::Check(format!(
            "the backup of {} is incomplete: {} documents failed; no manifest (or shard part) \
             was written. Fix them and rerun to complete the day",
            report.date,
            report.failed.len()
        )))
    } else {
        Ok(())
    }
}

fn emit(args: &BackupArgs, report: &BackupReport) -> Result<(), Failure> {
    if args.json {
        output::json(report)
    } else {
        output::text(&report.render_text())
    }
}

/// The shared report of an S3 run.
pub(crate) fn report(dest: &str, outcome: &BackupOutcome) -> BackupReport {
    let m = outcome.manifest();
    let (status, manifest_key, report_key) = match outcome {
        BackupOutcome::Completed { manifest_key, .. } => {
            (RunStatus::Complete, Some(manifest_key.clone()), None)
        }
        BackupOutcome::AlreadyComplete { manifest_key, .. } => {
            (RunStatus::AlreadyComplete, Some(manifest_key.clone()), None)
        }
        BackupOutcome::Incomplete { report_key, .. } => {
            (RunStatus::Incomplete, None, report_key.clone())
        }
    };
    BackupReport {
        manifest_key,
        report_key,
        ..BackupReport::of(m, dest.to_owned(), status)
    }
    .with_transfer(outcome.transfer())
}

fn dry_run(
    args: &BackupArgs,
    url: &docvault_s3::url::S3Url,
    manifest: &Manifest,
) -> Result<(), Failure> {
    let plan: Vec<Value> = manifest
        .documents
        .iter()
        .map(|d| {
            json!({
                "key": url.prefix.join(&d.object_key),
                "size": d.file_size,
                "checksum": d.checksum.to_string(),
            })
        })
        .collect();
    let then = url
        .prefix
        .join(&Layout::new(manifest.backup_date).manifest_key());
    if args.json {
        return output::json(&json!({
            "command": "backup",
            "dry_run": true,
            "dest": url.to_string(),
            "documents": plan,
            "then": then,
            "failed": manifest.failed_documents,
        }));
    }
    let mut text = String::new();
    for d in &manifest.documents {
        text.push_str(&format!(
            "put {} ({} bytes, {})\n",
            docvault_core::text::escaped(&url.prefix.join(&d.object_key)),
            d.file_size,
            d.checksum
        ));
    }
    text.push_str(&format!("then put {then} (create-only) to {url}\n"));
    output::text(&text)
}
