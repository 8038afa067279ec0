//! The backup manifest: what was stored for one day, assembled, written and checked.
//!
//! Field names follow the original spec where it has them (`backup_date`, `backup_timestamp`,
//! `total_documents`, `backup_summary.{document_types,departments,total_size_bytes}`, and per
//! document `document_id`, `type`, `created_date`, `file_size`, `checksum`, `metadata`). What a
//! real backup needs is added: `schema_version`, `environment`, `status`, the source, the day's
//! `retention` (when a policy is configured), each document's `object_key` and `content_type`, and the documents that failed, with reasons.
//!
//! The written form is canonical: documents sorted by id, maps ordered, fixed field order, one
//! document per line. The same inputs give the same bytes on every host.
//!
//! * this file: the types;
//! * [`rules`]: the one checker of every rule that ties entries together, used by both
//!   [`Manifest::assemble`] and [`Manifest::validate`], so an assembled manifest always
//!   validates;
//! * `assemble`: a manifest from a run's results;
//! * `write`: the canonical JSON text;
//! * `read`: parsing and validating untrusted text, and loading a day's committed manifest;
//! * `canonical`: the fast reading of text in exactly the form `write` gives it;
//! * [`parted`]: the form of a day too large for one JSON document (a root and its parts).

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::model::{BackupDate, Document, Label, Timestamp};
use crate::retention::DayRetention;

mod assemble;
mod canonical;
pub mod parted;
mod read;
pub mod rules;
mod summary;
mod write;

pub use assemble::AssembleError;
pub use parted::{ManifestForm, ManifestRoot, PartRef, PartedManifest, PartsProblem, RootJoin};
pub use read::{CommittedError, ManifestError, check_manifest_size, max_manifest_bytes};
pub use rules::{DocumentProblem, FailureProblem};

/// The manifest format this crate writes and reads.
pub const SCHEMA_VERSION: u32 = 1;

/// The published JSON Schema of [`SCHEMA_VERSION`] (`core/schema/manifest.v1.schema.json`).
/// It checks shapes and formats; [`Manifest::from_json`] also checks the cross-field rules.
pub const JSON_SCHEMA: &str = include_str!("../../schema/manifest.v1.schema.json");

/// Whether a run stored every document it found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackupStatus {
    /// Every document was stored; this manifest is the day's commit point.
    Complete,
    /// Some documents failed; this is a report, not a backup. A rerun completes the day.
    Incomplete,
}

/// Where the documents of a run came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum SourceDescription {
    /// The synthetic workload: rerunning the generator with these values reproduces the bodies.
    Generator {
        /// Documents generated.
        count: u64,
        /// Generator seed.
        seed: u64,
    },
    /// Files under a directory.
    Directory {
        /// The directory as the backup saw it.
        path: String,
    },
    /// Objects under an S3 prefix.
    S3 {
        /// `s3://bucket/prefix`.
        uri: String,
    },
}

/// Counts by type and department and the total size of the stored documents.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupSummary {
    /// Stored documents per type.
    pub document_types: BTreeMap<Label, u64>,
    /// Stored documents per department.
    pub departments: BTreeMap<Label, u64>,
    /// Sum of the stored documents' sizes.
    pub total_size_bytes: u64,
}

/// The step at which a document failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FailureStage {
    /// Its body could not be read from the source.
    Read,
    /// It could not be stored (or the store refused its checksum).
    Store,
    /// It was stored but what came back did not match.
    Verify,
}

/// A document that was found but not stored, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FailedDocument {
    /// Its id, or for a source entry that has no valid id, a lossless-as-possible rendering of
    /// its name.
    pub document_id: String,
    /// Where it came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The step that failed.
    pub stage: FailureStage,
    /// What went wrong, for a person.
    pub reason: String,
    /// How many attempts were made.
    pub attempts: u32,
}

/// What a run knows before it looks at any document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestHeader {
    /// The day backed up.
    pub backup_date: BackupDate,
    /// When the run happened (passed in: the core reads no clock).
    pub backup_timestamp: Timestamp,
    /// Deployment environment (`dev`, `staging`, `prod`).
    pub environment: Label,
    /// The run's identity (e.g. the Lambda request id), when the host has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// Where the documents came from.
    pub source: SourceDescription,
}

/// One day's backup manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Always [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The day backed up.
    pub backup_date: BackupDate,
    /// When the run happened.
    pub backup_timestamp: Timestamp,
    /// Deployment environment.
    pub environment: Label,
    /// The run's identity, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// Complete, or a report of an incomplete run.
    pub status: BackupStatus,
    /// Where the documents came from.
    pub source: SourceDescription,
    /// How long the day is kept and how its objects are locked, when a retention policy was
    /// configured (absent in manifests written without one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention: Option<DayRetention>,
    /// Number of stored documents (`documents.len()`).
    pub total_documents: u64,
    /// Number of failed documents (`failed_documents.len()`).
    pub total_failed: u64,
    /// Counts and size of the stored documents.
    pub backup_summary: BackupSummary,
    /// The stored documents, sorted by id.
    pub documents: Vec<Document>,
    /// The documents that could not be stored, sorted by id.
    pub failed_documents: Vec<FailedDocument>,
}

impl Manifest {
    /// The stored document with id `id`, if any (documents are sorted by id after assembly).
    pub fn document(&self, id: &str) -> Option<&Document> {
        match self
            .documents
            .binary_search_by(|d| d.document_id.as_str().cmp(id))
        {
            Ok(i) => Some(&self.documents[i]),
            Err(_) => self.documents.iter().find(|d| d.document_id.as_str() == id),
        }
    }

    /// The header of the run this manifest records.
    pub fn header(&self) -> ManifestHeader {
        ManifestHeader {
            backup_date: self.backup_date,
            backup_timestamp: self.backup_timestamp,
            environment: self.environment.clone(),
            run_id: self.run_id.clone(),
            source: self.source.clone(),
        }
    }
}

impl fmt::Display for BackupStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Complete => "complete",
            Self::Incomplete => "incomplete",
        })
    }
}

impl fmt::Display for FailureStage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FailureStage {
    /// The lowercase name, as written in manifests.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Store => "store",
            Self::Verify => "verify",
        }
    }
}
