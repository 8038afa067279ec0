//! A run's metrics (the core's [`MetricSet`]: `BackupSuccess`, `BackupFailure`,
//! `DocumentsBackedUp`, `BackupSizeBytes`, `FailedDocuments`, `BackupDurationMs`) to a local
//! file for hosts without AWS, or to CloudWatch with `PutMetricData`.

use std::io;
use std::path::{Path, PathBuf};

use docvault_core::MetricSet;

/// Where metrics go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetricsTarget {
    /// A file: Prometheus text exposition when the name ends in `.prom`, else JSON.
    File(PathBuf),
    /// CloudWatch `PutMetricData` (the Lambda's batching).
    CloudWatch,
}

/// Writes `set` to `path` (through a temporary file and a rename, so a reader such as node
/// exporter's textfile collector never sees half a file).
///
/// # Errors
/// The file could not be written.
pub fn write_file(set: &MetricSet, path: &Path) -> io::Result<()> {
    let text = if path.extension().is_some_and(|e| e == "prom") {
        set.to_prometheus()
    } else {
        let mut json = serde_json::to_string_pretty(set).map_err(io::Error::other)?;
        json.push('\n');
        json
    };
    let mut temp = path.as_os_str().to_owned();
    temp.push(".tmp");
    std::fs::write(&temp, text)?;
    std::fs::rename(&temp, path)
}
