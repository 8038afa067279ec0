//! Backup metrics as plain data, and their two wire forms that need no SDK: CloudWatch
//! Embedded Metric Format (a JSON log line) and Prometheus text.
//!
//! Names, namespace and dimension are the spec's, so its alarms keep working: namespace
//! `BackupSystem`, dimension `Environment`, metrics `BackupSuccess`, `BackupFailure`,
//! `DocumentsBackedUp`, `BackupSizeBytes`; plus `FailedDocuments` and `BackupDurationMs`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::manifest::{BackupStatus, Manifest};
use crate::model::{Label, Timestamp};

/// The spec's metric namespace.
pub const DEFAULT_NAMESPACE: &str = "BackupSystem";

/// CloudWatch units used by docvault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Unit {
    /// A count.
    Count,
    /// Bytes.
    Bytes,
    /// Milliseconds.
    Milliseconds,
}

impl Unit {
    /// CloudWatch's name for the unit.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Count => "Count",
            Self::Bytes => "Bytes",
            Self::Milliseconds => "Milliseconds",
        }
    }
}

/// One value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MetricDatum {
    /// Metric name.
    pub name: &'static str,
    /// Unit.
    pub unit: Unit,
    /// Value (all docvault metrics are whole numbers).
    pub value: u64,
}

/// The metrics of one run, all with the same namespace, dimensions and timestamp.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MetricSet {
    /// CloudWatch namespace.
    pub namespace: String,
    /// Dimensions (`Environment`), ordered.
    pub dimensions: BTreeMap<String, String>,
    /// When the values were observed.
    pub timestamp: Timestamp,
    /// The values.
    pub data: Vec<MetricDatum>,
}

/// What a host knows at the end of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunOutcome {
    /// The run stored every document and committed the manifest.
    pub success: bool,
    /// Documents stored.
    pub documents: u64,
    /// Bytes stored.
    pub bytes: u64,
    /// Documents that failed.
    pub failed: u64,
}

impl RunOutcome {
    /// The outcome a manifest records.
    pub fn of(manifest: &Manifest) -> Self {
        Self {
            success: manifest.status == BackupStatus::Complete,
            documents: manifest.total_documents,
            bytes: manifest.backup_summary.total_size_bytes,
            failed: manifest.total_failed,
        }
    }

    /// A run that failed before it could account for documents (bad configuration, no access).
    pub fn aborted() -> Self {
        Self {
            success: false,
            documents: 0,
            bytes: 0,
            failed: 0,
        }
    }
}

impl MetricSet {
    /// The metrics of a run.
    pub fn for_run(
        namespace: &str,
        environment: &Label,
        timestamp: Timestamp,
        outcome: RunOutcome,
        duration_ms: Option<u64>,
    ) -> Self {
        let mut data = vec![
            MetricDatum {
                name: "BackupSuccess",
                unit: Unit::Count,
                value: u64::from(outcome.success),
            },
            MetricDatum {
                name: "BackupFailure",
                unit: Unit::Count,
                value: u64::from(!outcome.success),
            },
            MetricDatum {
                name: "DocumentsBackedUp",
                unit: Unit::Count,
                value: outcome.documents,
            },
            MetricDatum {
                name: "BackupSizeBytes",
                unit: Unit::Bytes,
                value: outcome.bytes,
            },
            MetricDatum {
                name: "FailedDocuments",
                unit: Unit::Count,
                value: outcome.failed,
            },
        ];
        if let Some(ms) = duration_ms {
            data.push(MetricDatum {
                name: "BackupDurationMs",
                unit: Unit::Milliseconds,
                value: ms,
            });
        }
        let mut dimensions = BTreeMap::new();
        dimensions.insert("Environment".to_owned(), environment.to_string());
        Self {
            namespace: namespace.to_owned(),
            dimensions,
            timestamp,
            data,
        }
    }

    /// The metrics of a verification: `VerificationFailures` (problems found: missing, extra,
    /// resized, altered or wrongly encrypted objects; the alarm's metric) and
    /// `DocumentsVerified` (documents that matched).
    pub fn for_verification(
        namespace: &str,
        environment: &Label,
        timestamp: Timestamp,
        problems: u64,
        verified: u64,
    ) -> Self {
        let mut dimensions = BTreeMap::new();
        dimensions.insert("Environment".to_owned(), environment.to_string());
        Self {
            namespace: namespace.to_owned(),
            dimensions,
            timestamp,
            data: vec![
                MetricDatum {
                    name: "VerificationFailures",
                    unit: Unit::Count,
                    value: problems,
                },
                MetricDatum {
                    name: "DocumentsVerified",
                    unit: Unit::Count,
                    value: verified,
                },
            ],
        }
    }

    /// The value of metric `name` in this set, if it has one.
    pub fn value(&self, name: &str) -> Option<u64> {
        self.data.iter().find(|d| d.name == name).map(|d| d.value)
    }

    /// One CloudWatch Embedded Metric Format line (no trailing newline). Printed to a Lambda's
    /// stdout, CloudWatch Logs turns it into metrics: no API call, no IAM permission.
    pub fn to_emf(&self) -> String {
        let mut root = serde_json::Map::new();
        let dims: Vec<&String> = self.dimensions.keys().collect();
        let metrics: Vec<serde_json::Value> = self
            .data
            .iter()
            .map(|d| serde_json::json!({"Name": d.name, "Unit": d.unit.as_str()}))
            .collect();
        root.insert(
            "_aws".to_owned(),
            serde_json::json!({
                "Timestamp": self.timestamp.unix_millis(),
                "CloudWatchMetrics": [{
                    "Namespace": self.namespace,
                    "Dimensions": [dims],
                    "Metrics": metrics,
                }],
            }),
        );
        for (k, v) in &self.dimensions {
            root.insert(k.clone(), serde_json::Value::from(v.as_str()));
        }
        for d in &self.data {
            root.insert(d.name.to_owned(), serde_json::Value::from(d.value));
        }
        serde_json::Value::Object(root).to_string()
    }

    /// Prometheus text exposition (for node_exporter's textfile collector on hosts without AWS).
    pub fn to_prometheus(&self) -> String {
        let mut out = String::new();
        let prefix = snake(&self.namespace);
        let labels = self
            .dimensions
            .iter()
            .map(|(k, v)| {
                format!(
                    "{}=\"{}\"",
                    snake(k),
                    v.replace('\\', "\\\\").replace('"', "\\\"")
                )
            })
            .collect::<Vec<_>>()
            .join(",");
        for d in &self.data {
            let name = format!("{prefix}_{}", snake(d.name));
            let _ = writeln!(out, "# TYPE {name} gauge");
            let _ = writeln!(
                out,
                "{name}{{{labels}}} {} {}",
                d.value,
                self.timestamp.unix_millis()
            );
        }
        out
    }
}

/// `BackupSizeBytes` -> `backup_size_bytes`.
fn snake(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else if c.is_ascii_alphanumeric() {
            out.push(c);
        } else {
            out.push('_');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emf_shape() {
        let set = MetricSet::for_run(
            DEFAULT_NAMESPACE,
            &Label::new("prod").unwrap(),
            "2026-11-27T02:00:00Z".parse().unwrap(),
            RunOutcome {
                success: true,
                documents: 500,
                bytes: 1234,
                failed: 0,
            },
            Some(900),
        );
        let v: serde_json::Value = serde_json::from_str(&set.to_emf()).unwrap();
        assert_eq!(v["_aws"]["Timestamp"], 1_795_744_800_000_i64);
        let cw = &v["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(cw["Namespace"], "BackupSystem");
        assert_eq!(cw["Dimensions"], serde_json::json!([["Environment"]]));
        assert_eq!(cw["Metrics"].as_array().unwrap().len(), 6);
        assert_eq!(v["Environment"], "prod");
        assert_eq!(v["BackupSuccess"], 1);
        assert_eq!(v["BackupFailure"], 0);
        assert_eq!(v["DocumentsBackedUp"], 500);
        assert_eq!(v["BackupSizeBytes"], 1234);
        assert_eq!(v["BackupDurationMs"], 900);
        let prom = set.to_prometheus();
        assert!(prom.contains("backup_system_documents_backed_up{environment=\"prod\"} 500 "));
    }
}
