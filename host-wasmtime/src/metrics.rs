//! A run's metrics (the core's [`MetricSet`]: `BackupSuccess`, `BackupFailure`,
//! `DocumentsBackedUp`, `BackupSizeBytes`, `FailedDocuments`, `BackupDurationMs`, or a
//! verification's `VerificationFailures` and `DocumentsVerified`) to a local file for hosts
//! without AWS, or to CloudWatch with `PutMetricData`. Delivery to CloudWatch never fails a
//! run (errors are logged); a metrics file that cannot be written does.

use std::io;
use std::path::{Path, PathBuf};
use std::time::Instant;

use docvault_core::{Label, MetricSet, RunOutcome, Timestamp};
use docvault_s3::metrics::MetricsSink;

use crate::args::{BackupArgs, MetricsArgs, S3Args};
use crate::error::Failure;
use crate::remote;

/// Where metrics go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum MetricsTarget {
    /// A file: Prometheus text exposition when the name ends in `.prom`, else JSON.
    File(PathBuf),
    /// CloudWatch `PutMetricData` (the Lambda's batching).
    CloudWatch,
}

impl MetricsArgs {
    fn target(&self) -> Option<MetricsTarget> {
        match (&self.metrics_file, self.cloudwatch_metrics) {
            (Some(path), _) => Some(MetricsTarget::File(path.clone())),
            (None, true) => Some(MetricsTarget::CloudWatch),
            (None, false) => None,
        }
    }
}

/// `--env` as a label (the metric dimension).
pub(crate) fn label(environment: &str) -> Result<Label, Failure> {
    environment
        .parse()
        .map_err(|e| Failure::Usage(format!("--env {environment:?}: {e}")))
}

/// Sends a backup run's metrics where the flags say.
pub(crate) fn send_run(
    args: &BackupArgs,
    outcome: RunOutcome,
    at: Timestamp,
    started: Instant,
    runtime: Option<&tokio::runtime::Runtime>,
) -> Result<(), Failure> {
    if args.metrics.target().is_none() {
        return Ok(());
    }
    let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let set = MetricSet::for_run(
        &args.metrics.namespace,
        &label(&args.environment)?,
        at,
        outcome,
        Some(duration_ms),
    );
    deliver(&args.metrics, &args.s3, &set, runtime)
}

/// Sends `set` where the flags say. CloudWatch delivery errors are logged, never fatal.
pub(crate) fn deliver(
    metrics: &MetricsArgs,
    s3: &S3Args,
    set: &MetricSet,
    runtime: Option<&tokio::runtime::Runtime>,
) -> Result<(), Failure> {
    match metrics.target() {
        None => Ok(()),
        Some(MetricsTarget::File(path)) => {
            write_file(set, &path).map_err(Failure::io(format!("writing {}", path.display())))
        }
        Some(MetricsTarget::CloudWatch) => {
            let owned;
            let runtime = match runtime {
                Some(r) => r,
                None => {
                    owned = remote::runtime()?;
                    &owned
                }
            };
            runtime.block_on(async {
                let sdk = remote::sdk_config(s3).await;
                MetricsSink::PutMetricData(aws_sdk_cloudwatch::Client::new(&sdk))
                    .send(set)
                    .await;
            });
            Ok(())
        }
    }
}

/// Writes `set` to `path` through an exclusive temporary file in its directory and a rename,
/// so a reader such as node exporter's textfile collector never sees half a file, and a link
/// planted beside it is never written through.
///
/// # Errors
/// The file could not be written.
pub(crate) fn write_file(set: &MetricSet, path: &Path) -> io::Result<()> {
    let text = if path.extension().is_some_and(|e| e == "prom") {
        set.to_prometheus()
    } else {
        let mut json = serde_json::to_string_pretty(set).map_err(io::Error::other)?;
        json.push('\n');
        json
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| io::Error::other("the metrics file needs a UTF-8 file name"))?;
    let root = docvault_fs::Root::open(dir)?;
    let mut temp = root.temp_file("")?;
    std::io::Write::write_all(temp.file(), text.as_bytes())?;
    temp.commit_replace(&root, name)
}
