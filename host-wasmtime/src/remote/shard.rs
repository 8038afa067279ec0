//! Sharded days on s3:// destinations (`docvault_core::shard`): `backup --shard I/N` plans the
//! day (or adopts the plan another worker published) and backs up one shard; `commit` joins
//! the shards' parts into the day's manifest. The shared S3 layer does both.

use std::collections::BTreeSet;

use docvault_core::report::{BackupReport, RunStatus, ShardRun};
use docvault_core::shard::{Listed, Split, WorkLayout};
use docvault_core::{Manifest, ManifestHeader, PlanOptions, RunScope};
use docvault_s3::executor::{BackupOutcome, Scoped, SystemClock};
use docvault_s3::lease::LeaseTerms;
use docvault_s3::shard::{CommitOptions, ShardError, commit as commit_day, publish_plan};
use docvault_s3::store::S3Store;
use docvault_s3::url::S3Url;

use crate::args::{CommitArgs, ShardOf};
use crate::error::Failure;
use crate::{output, remote};

/// The commit's hold on the day while it reads the parts and writes the manifest.
const COMMIT_LEASE: LeaseTerms = LeaseTerms {
    seconds: 900,
    renew: false,
    retry_takes_over: false,
};

/// What one worker backs up.
pub(crate) struct ShardWork {
    /// The plan's header (the first worker's run id and time).
    pub(crate) header: ManifestHeader,
    /// The plan's options.
    pub(crate) options: PlanOptions,
    /// The run's scope and lease holder.
    pub(crate) scope: Scoped,
    /// The shard's ids.
    pub(crate) ids: BTreeSet<String>,
}

/// Plans the day from the guest's scan (or adopts the day's plan) and picks shard `of.index`;
/// `None` when the plan has fewer shards (the day has fewer documents than workers).
pub(crate) fn plan(
    runtime: &tokio::runtime::Runtime,
    store: &S3Store,
    url: &S3Url,
    scan: &Manifest,
    options: PlanOptions,
    of: ShardOf,
) -> Result<(Option<ShardWork>, ShardRun), Failure> {
    let listing = scan
        .documents
        .iter()
        .map(|d| Listed::new(d.document_id.to_string(), d.file_size))
        .chain(scan.failed_documents.iter().map(|f| Listed {
            document_id: f.document_id.clone(),
            size: 0,
            source: f.source.clone(),
            etag: None,
            last_modified: None,
        }))
        .collect();
    let (plan, listings) = runtime
        .block_on(publish_plan(
            store,
            &options,
            scan.header(),
            listing,
            Split::Count(of.count),
        ))
        .map_err(|e| shard_failure(&format!("planning the shards of {}", scan.backup_date), &e))?;
    let run = ShardRun {
        index: of.index,
        of: of.count,
        planned: u32::try_from(plan.shards.len()).unwrap_or(u32::MAX),
        plan_key: url
            .prefix
            .join(&WorkLayout::new(plan.header.backup_date).plan_key()),
        part_key: None,
    };
    let Some(listing) = listings.get(of.index as usize) else {
        return Ok((None, run));
    };
    let work = ShardWork {
        header: plan.header.clone(),
        options: plan.options(options),
        scope: Scoped {
            scope: RunScope::Shard {
                plan: plan.digest(),
                index: of.index,
            },
            // This worker's own run id (the plan's header may carry another worker's).
            lease_holder: format!(
                "{}-shard-{}",
                scan.run_id
                    .clone()
                    .unwrap_or_else(|| scan.backup_timestamp.to_string()),
                of.index
            ),
        },
        ids: listing
            .documents
            .iter()
            .map(|l| l.document_id.clone())
            .collect(),
    };
    Ok((Some(work), run))
}

/// The report of a worker whose index the plan does not have.
pub(crate) fn nothing_to_do(dest: &str, scan: &Manifest, run: ShardRun) -> BackupReport {
    let mut report = BackupReport::of(scan, dest.to_owned(), RunStatus::Complete);
    report.documents = 0;
    report.bytes = 0;
    report.failed.clear();
    report.shard = Some(run);
    report
}

/// A worker's report: the part's key instead of a manifest's.
pub(crate) fn shard_report(
    mut report: BackupReport,
    run: ShardRun,
    outcome: &BackupOutcome,
    prefix: &docvault_core::KeyPrefix,
) -> BackupReport {
    let part_key = outcome.part_key(prefix).map(str::to_owned);
    if part_key.is_some() {
        report.manifest_key = None;
    }
    report.shard = Some(ShardRun { part_key, ..run });
    report
}

/// A failure of the shared shard layer, in this program's terms.
fn shard_failure(context: &str, e: &ShardError) -> Failure {
    match e.store_error() {
        Some(store) => Failure::storage(format!("{context}: {e}"), store),
        None => Failure::Check(format!("{context}: {e}")),
    }
}

/// Runs `commit`.
pub(crate) fn commit(args: &CommitArgs) -> Result<(), Failure> {
    let url = remote::url(&args.dest)?;
    let Some(kms) = args.s3.kms_key_id.as_deref() else {
        return Err(Failure::Usage(
            "commit writes the day's manifest: it needs --kms-key-id KEY (as the shards were \
             given), or --kms-key-id none for a store without KMS"
                .into(),
        ));
    };
    let runtime = remote::runtime()?;
    let store = remote::store(&runtime, &args.s3, &url.bucket);
    let settings = CommitOptions {
        manifest_limit: remote::manifest_limit(),
        lease: COMMIT_LEASE,
        lease_holder: None,
        part_documents: args.part_documents,
    };
    let done = runtime
        .block_on(commit_day(
            &store,
            &url.prefix,
            remote::encryption(Some(kms)),
            args.date,
            &settings,
            &SystemClock,
        ))
        .map_err(|e| shard_failure(&format!("commit of {} in {url}", args.date), &e))?;
    let dest = url.to_string();
    let report = super::backup::report(&dest, &done.outcome);
    if args.json {
        output::json(&serde_json::json!({
            "command": "commit",
            "report": report,
            "problems": done.problems.iter().map(|p| serde_json::json!({
                "code": p.code(),
                "message": p.to_string(),
            })).collect::<Vec<_>>(),
        }))?;
    } else {
        let mut text = report.render_text();
        for p in &done.problems {
            text.push_str(&format!("  not joined: {p}\n"));
        }
        output::text(&text)?;
    }
    if report.status == RunStatus::Incomplete {
        Err(Failure::Check(format!(
            "the commit of {} is incomplete: {} shards could not be joined and their {} \
             documents are recorded as failed; no manifest was written. Run those shards again, \
             then commit again",
            args.date,
            done.problems.len(),
            report.failed.len()
        )))
    } else {
        Ok(())
    }
}
