//! The report of a backup run, as every host prints it with `--json` and as the sandbox runner
//! reads it back from its guest: one serde type, so the two cannot drift, and a field that is
//! missing is an error, never a zero.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::manifest::{FailedDocument, Manifest};
use crate::model::BackupDate;
use crate::plan::Transfer;

/// Which command a report is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReportCommand {
    /// `backup`.
    Backup,
}

/// How a backup run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunStatus {
    /// Every document stored; this run committed the manifest.
    Complete,
    /// Some documents failed: no manifest, an incomplete-run report lists them.
    Incomplete,
    /// The day had a manifest already: nothing was rewritten.
    AlreadyComplete,
}

impl RunStatus {
    /// The name as written in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Complete => "complete",
            Self::Incomplete => "incomplete",
            Self::AlreadyComplete => "already-complete",
        }
    }
}

/// An entry of a source directory that is not a regular file: skipped, not followed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SkippedEntry {
    /// Its path below the source, escaped where not UTF-8.
    pub path: String,
    /// What it is (`symbolic link`, ...).
    pub kind: String,
}

/// The result of one backup run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupReport {
    /// Always `backup`.
    pub command: ReportCommand,
    /// The day.
    pub date: BackupDate,
    /// Where the backup went (a directory or `s3://bucket/prefix`).
    pub dest: String,
    /// How the run ended.
    pub status: RunStatus,
    /// Documents stored (in the manifest, or so far for an incomplete run).
    pub documents: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Documents this run wrote ([`Transfer::uploaded`]).
    pub uploaded: u64,
    /// Documents found stored, identical, by an earlier run ([`Transfer::already_stored`]).
    pub already_stored: u64,
    /// Documents found different and written again ([`Transfer::replaced`]).
    pub replaced: u64,
    /// Bytes this run wrote ([`Transfer::bytes_uploaded`]).
    pub bytes_uploaded: u64,
    /// Files under the day's `documents/` that no document claims, removed before the commit
    /// (local destinations: an interrupted earlier run stored them).
    pub removed_unclaimed: u64,
    /// Documents that failed, with why.
    pub failed: Vec<FailedDocument>,
    /// Source entries skipped (links, devices, FIFOs).
    pub skipped: Vec<SkippedEntry>,
    /// The manifest's key, unless the run is incomplete.
    pub manifest_key: Option<String>,
    /// The incomplete-run report's key, when one was written.
    pub report_key: Option<String>,
    /// When the run backed up one shard of a sharded day: which, and its part.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<ShardRun>,
}

/// The shard a run backed up ([`crate::shard`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShardRun {
    /// The shard, from 0.
    pub index: u32,
    /// Shards the run was asked to split the day into.
    pub of: u32,
    /// Shards the plan has (fewer than `of` when the day has fewer documents).
    pub planned: u32,
    /// The plan's key.
    pub plan_key: String,
    /// The shard's part, once every document of the shard is stored (`None` for an index the
    /// plan does not have, which has nothing to back up).
    pub part_key: Option<String>,
}

impl BackupReport {
    /// The report of a run that ended with `status` and `manifest` (the committed manifest, or
    /// the incomplete run's report) into `dest`: the day, its counts and failures from the
    /// manifest; no transfer, nothing skipped or removed and no keys until the host adds them.
    pub fn of(manifest: &Manifest, dest: String, status: RunStatus) -> Self {
        Self {
            command: ReportCommand::Backup,
            date: manifest.backup_date,
            dest,
            status,
            documents: manifest.total_documents,
            bytes: manifest.backup_summary.total_size_bytes,
            uploaded: 0,
            already_stored: 0,
            replaced: 0,
            bytes_uploaded: 0,
            removed_unclaimed: 0,
            failed: manifest.failed_documents.clone(),
            skipped: Vec::new(),
            manifest_key: None,
            report_key: None,
            shard: None,
        }
    }

    /// The transfer counts, as the run kept them.
    pub fn transfer(&self) -> Transfer {
        Transfer {
            uploaded: self.uploaded,
            already_stored: self.already_stored,
            replaced: self.replaced,
            bytes_uploaded: self.bytes_uploaded,
        }
    }

    /// The report as text for people, the one rendering every host prints.
    pub fn render_text(&self) -> String {
        use crate::text::{escaped, human_bytes};
        let mut text = String::new();
        let stored = match self.status {
            RunStatus::AlreadyComplete => "already complete",
            RunStatus::Complete => "complete",
            RunStatus::Incomplete => "incomplete",
        };
        if let Some(s) = &self.shard {
            let _ = write!(text, "shard {} of {}: ", s.index, s.of);
        }
        let _ = writeln!(
            text,
            "backup of {} into {} {stored}: {} documents ({}), {} failed",
            self.date,
            escaped(&self.dest),
            self.documents,
            human_bytes(self.bytes),
            self.failed.len()
        );
        if self.status == RunStatus::AlreadyComplete {
            let _ = writeln!(text, "  nothing was rewritten");
        } else {
            let _ = write!(
                text,
                "  {} written, {} kept (already stored by an earlier run), {} replaced",
                self.uploaded, self.already_stored, self.replaced
            );
            if self.removed_unclaimed > 0 {
                let _ = write!(text, ", {} unclaimed files removed", self.removed_unclaimed);
            }
            text.push('\n');
        }
        for f in &self.failed {
            let _ = writeln!(
                text,
                "  failed ({}) {}: {}",
                f.stage,
                escaped(&f.document_id),
                escaped(&f.reason)
            );
        }
        for s in &self.skipped {
            let _ = writeln!(
                text,
                "  skipped {}: {}, not followed or copied",
                escaped(&s.path),
                s.kind
            );
        }
        if let Some(key) = &self.manifest_key {
            let _ = writeln!(text, "manifest: {}", escaped(key));
        }
        if let Some(key) = &self.report_key {
            let _ = writeln!(text, "incomplete-run report: {}", escaped(key));
        }
        if let Some(s) = &self.shard {
            let _ = writeln!(
                text,
                "plan: {} ({} shards)",
                escaped(&s.plan_key),
                s.planned
            );
            match &s.part_key {
                Some(key) => {
                    let _ = writeln!(text, "part: {}", escaped(key));
                }
                None if self.status != RunStatus::Incomplete => {
                    let _ = writeln!(
                        text,
                        "  the plan has no shard {}: nothing to back up",
                        s.index
                    );
                }
                None => {}
            }
            if self.status == RunStatus::Complete {
                let _ = writeln!(
                    text,
                    "the day is committed by `commit` once every shard has its part"
                );
            }
        }
        text
    }

    /// Sets the transfer counts.
    pub fn with_transfer(mut self, t: Transfer) -> Self {
        self.uploaded = t.uploaded;
        self.already_stored = t.already_stored;
        self.replaced = t.replaced;
        self.bytes_uploaded = t.bytes_uploaded;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> BackupReport {
        BackupReport {
            command: ReportCommand::Backup,
            date: "2026-11-27".parse().unwrap(),
            dest: "/dst".into(),
            status: RunStatus::AlreadyComplete,
            documents: 3,
            bytes: 40,
            uploaded: 0,
            already_stored: 0,
            replaced: 0,
            bytes_uploaded: 0,
            removed_unclaimed: 0,
            failed: Vec::new(),
            skipped: Vec::new(),
            manifest_key: Some("backups/2026-11-27/manifest.json".into()),
            report_key: None,
            shard: None,
        }
    }

    #[test]
    fn reports_round_trip_and_a_missing_field_is_an_error() {
        let r = report();
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["status"], "already-complete");
        assert_eq!(json["uploaded"], 0);
        assert_eq!(
            serde_json::from_value::<BackupReport>(json.clone()).unwrap(),
            r
        );
        let mut missing = json.clone();
        missing.as_object_mut().unwrap().remove("documents");
        let e = serde_json::from_value::<BackupReport>(missing).unwrap_err();
        assert!(e.to_string().contains("documents"), "{e}");
        let mut wrong = json;
        wrong["bytes"] = serde_json::json!("40");
        assert!(serde_json::from_value::<BackupReport>(wrong).is_err());
    }
}
