//! The backup manifest: what was stored for one day, assembled, written and checked.
//!
//! Field names follow the original spec where it has them (`backup_date`, `backup_timestamp`,
//! `total_documents`, `backup_summary.{document_types,departments,total_size_bytes}`, and per
//! document `document_id`, `type`, `created_date`, `file_size`, `checksum`, `metadata`). What a
//! real backup needs is added: `schema_version`, `environment`, `status`, the source, each
//! document's `object_key` and `content_type`, and the documents that failed, with reasons.
//!
//! The written form is canonical: documents sorted by id, maps ordered, fixed field order, one
//! document per line. The same inputs give the same bytes on every host.

use std::collections::BTreeMap;
use std::fmt;
use std::io;

use serde::{Deserialize, Serialize};

use crate::layout::Layout;
use crate::model::{BackupDate, Document, DocumentId, Label, Timestamp};

/// The manifest format this crate writes and reads.
pub const SCHEMA_VERSION: u32 = 1;

/// The published JSON Schema of [`SCHEMA_VERSION`] (`core/schema/manifest.v1.schema.json`).
/// It checks shapes and formats; [`Manifest::from_json`] also checks the cross-field rules.
pub const JSON_SCHEMA: &str = include_str!("../schema/manifest.v1.schema.json");

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

impl BackupSummary {
    /// The summary of `documents`.
    pub fn of(documents: &[Document]) -> Self {
        let mut counter = SummaryCounter::default();
        for doc in documents {
            counter.add(doc);
        }
        counter.finish()
    }
}

/// Counts labels: the first few distinct labels in a small vector (a day has a handful of types
/// and departments, and a linear scan beats a tree lookup), any further ones in a tree, so
/// hostile input with a million distinct labels stays O(n log n). Hands out ordered maps.
#[derive(Debug, Default)]
struct SummaryCounter {
    types: LabelCounts,
    departments: LabelCounts,
    bytes: u64,
}

#[derive(Debug, Default)]
struct LabelCounts {
    few: Vec<(Label, u64)>,
    more: BTreeMap<Label, u64>,
}

/// Distinct labels counted in the vector before the tree takes over.
const FEW_LABELS: usize = 16;

impl LabelCounts {
    fn bump(&mut self, key: &Label) {
        if let Some((_, n)) = self.few.iter_mut().find(|(k, _)| k == key) {
            *n += 1;
        } else if self.few.len() < FEW_LABELS {
            self.few.push((key.clone(), 1));
        } else if let Some(n) = self.more.get_mut(key) {
            *n += 1;
        } else {
            self.more.insert(key.clone(), 1);
        }
    }

    fn finish(self) -> BTreeMap<Label, u64> {
        let mut all = self.more;
        all.extend(self.few);
        all
    }
}

impl SummaryCounter {
    fn add(&mut self, doc: &Document) {
        self.types.bump(&doc.doc_type);
        self.departments.bump(&doc.metadata.department);
        self.bytes = self.bytes.saturating_add(doc.file_size);
    }

    fn finish(self) -> BackupSummary {
        BackupSummary {
            document_types: self.types.finish(),
            departments: self.departments.finish(),
            total_size_bytes: self.bytes,
        }
    }
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

/// Bytes [`Manifest::write_json`] buffers before handing them to its writer.
const CHUNK: usize = 1 << 20;

/// The fields of a manifest before its lists, in order, for serde.
#[derive(Serialize)]
struct Head<'a> {
    schema_version: u32,
    backup_date: BackupDate,
    backup_timestamp: Timestamp,
    environment: &'a Label,
    #[serde(skip_serializing_if = "Option::is_none")]
    run_id: Option<&'a str>,
    status: BackupStatus,
    source: &'a SourceDescription,
    total_documents: u64,
    total_failed: u64,
    backup_summary: &'a BackupSummary,
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

/// Why a manifest could not be assembled from a run's results.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AssembleError {
    /// Two documents share an id; ids must be unique within a day.
    #[error(
        "document id `{0}` appears twice: give every document of a day its own id (for directory \
         sources, two files map to the same id)"
    )]
    DuplicateDocumentId(DocumentId),
    /// Two documents would be stored under one key and one would overwrite the other.
    #[error(
        "documents `{first}` and `{second}` would both be stored at `{key}`: make their ids or \
         extensions differ"
    )]
    DuplicateObjectKey {
        /// The key.
        key: String,
        /// One document.
        first: DocumentId,
        /// The other.
        second: DocumentId,
    },
    /// A document's key is not under the day's `documents/` prefix.
    #[error(
        "document `{id}` has object key `{key}`, outside `{expected_prefix}`: build keys with \
         `Layout::document_key` for the manifest's date"
    )]
    KeyOutsideDay {
        /// The document.
        id: DocumentId,
        /// Its key.
        key: String,
        /// Where keys of this day must start.
        expected_prefix: String,
    },
    /// A document's `parts` cannot describe its body.
    #[error(
        "document `{id}` says {count} parts of {part_size} bytes, which cannot hold its \
         {file_size} bytes: count the parts with `UploadParts::count_for`"
    )]
    BadParts {
        /// The document.
        id: DocumentId,
        /// Parts declared.
        count: u32,
        /// Part size declared.
        part_size: u64,
        /// The body's size.
        file_size: u64,
    },
    /// A document is listed both as stored and as failed.
    #[error(
        "document `{0}` is listed both as stored and as failed: report each document once, with \
         its final outcome"
    )]
    StoredAndFailed(String),
    /// A failure is reported twice.
    #[error("failed document `{0}` is reported twice: report each failure once")]
    DuplicateFailure(String),
}

impl Manifest {
    /// Assembles a manifest from a run's results: sorts, checks uniqueness, computes the
    /// summary. The status is `complete` exactly when `failed` is empty.
    ///
    /// # Errors
    /// See [`AssembleError`]: duplicate ids or keys, keys outside the day, a document reported
    /// both stored and failed.
    pub fn assemble(
        header: ManifestHeader,
        mut documents: Vec<Document>,
        mut failed: Vec<FailedDocument>,
    ) -> Result<Self, AssembleError> {
        sort_documents(&mut documents);
        if !failed.is_sorted_by(|a, b| a.document_id <= b.document_id) {
            failed.sort_by(|a, b| a.document_id.cmp(&b.document_id));
        }
        if let Some(p) = failed
            .windows(2)
            .find(|p| p[0].document_id == p[1].document_id)
        {
            return Err(AssembleError::DuplicateFailure(p[1].document_id.clone()));
        }
        // One pass over the sorted documents: unique ids, keys inside the day and ascending
        // (which proves them unique), and the summary.
        let prefix = Layout::new(header.backup_date).documents_prefix();
        let mut counter = SummaryCounter::default();
        let mut keys_ascend = true;
        for (i, d) in documents.iter().enumerate() {
            if !key_in_day(&d.object_key, &prefix) {
                return Err(AssembleError::KeyOutsideDay {
                    id: d.document_id.clone(),
                    key: d.object_key.clone(),
                    expected_prefix: prefix,
                });
            }
            if let Some(p) = &d.parts
                && !p.holds(d.file_size)
            {
                return Err(AssembleError::BadParts {
                    id: d.document_id.clone(),
                    count: p.count,
                    part_size: p.part_size,
                    file_size: d.file_size,
                });
            }
            if i > 0 {
                let prev = &documents[i - 1];
                if prev.document_id == d.document_id {
                    return Err(AssembleError::DuplicateDocumentId(d.document_id.clone()));
                }
                keys_ascend &= prev.object_key < d.object_key;
            }
            counter.add(d);
        }
        if !keys_ascend && let Some((key, first, second)) = duplicate_key(&documents) {
            return Err(AssembleError::DuplicateObjectKey { key, first, second });
        }
        if let Some(f) = failed.iter().find(|f| {
            documents
                .binary_search_by(|d| d.document_id.as_str().cmp(&f.document_id))
                .is_ok()
        }) {
            return Err(AssembleError::StoredAndFailed(f.document_id.clone()));
        }
        Ok(Self {
            schema_version: SCHEMA_VERSION,
            backup_date: header.backup_date,
            backup_timestamp: header.backup_timestamp,
            environment: header.environment,
            run_id: header.run_id,
            status: if failed.is_empty() {
                BackupStatus::Complete
            } else {
                BackupStatus::Incomplete
            },
            source: header.source,
            total_documents: documents.len() as u64,
            total_failed: failed.len() as u64,
            backup_summary: counter.finish(),
            documents,
            failed_documents: failed,
        })
    }

    /// The canonical JSON text (UTF-8, one document per line, trailing newline).
    pub fn to_json(&self) -> String {
        let mut out = Vec::with_capacity(1024 + self.documents.len() * 400);
        // Writing into the Vec itself: nothing to flush.
        self.encode(&mut out, |_| Ok(()))
            .unwrap_or_else(|_| unreachable!("writing to a Vec cannot fail"));
        String::from_utf8(out).unwrap_or_else(|_| unreachable!("the encoder writes UTF-8"))
    }

    /// Writes the canonical JSON text to `out`, in chunks of about 1 MiB.
    ///
    /// # Errors
    /// Only the errors of `out` itself.
    pub fn write_json<W: io::Write>(&self, mut out: W) -> io::Result<()> {
        let mut buf = Vec::with_capacity(CHUNK + 4096);
        self.encode(&mut buf, |b| {
            out.write_all(b)?;
            b.clear();
            Ok(())
        })?;
        out.write_all(&buf)
    }

    /// The same text produced field by field through serde. It is the reference the fast path
    /// is tested against; use [`Manifest::to_json`].
    #[doc(hidden)]
    pub fn to_json_reference(&self) -> String {
        let mut out = Vec::new();
        let mut ser = serde_json::Serializer::with_formatter(&mut out, ManifestFormatter::new());
        self.serialize(&mut ser)
            .unwrap_or_else(|_| unreachable!("writing to a Vec cannot fail"));
        out.push(b'\n');
        String::from_utf8(out).unwrap_or_else(|_| unreachable!("serde_json writes UTF-8"))
    }

    /// Encodes into `buf`, calling `flush` whenever `buf` holds more than [`CHUNK`] bytes.
    fn encode(
        &self,
        buf: &mut Vec<u8>,
        mut flush: impl FnMut(&mut Vec<u8>) -> io::Result<()>,
    ) -> io::Result<()> {
        // Everything up to the summary goes through serde (small, and the formatter's layout).
        let head = Head {
            schema_version: self.schema_version,
            backup_date: self.backup_date,
            backup_timestamp: self.backup_timestamp,
            environment: &self.environment,
            run_id: self.run_id.as_deref(),
            status: self.status,
            source: &self.source,
            total_documents: self.total_documents,
            total_failed: self.total_failed,
            backup_summary: &self.backup_summary,
        };
        let mut ser = serde_json::Serializer::with_formatter(&mut *buf, ManifestFormatter::new());
        head.serialize(&mut ser).map_err(io::Error::other)?;
        // The head ends with "\n}"; continue the object after it.
        buf.truncate(buf.len() - 2);
        buf.extend_from_slice(b",\n  \"documents\": [");
        for (i, d) in self.documents.iter().enumerate() {
            buf.extend_from_slice(if i == 0 { b"\n    " } else { b",\n    " });
            crate::json::write_document(buf, d);
            if buf.len() > CHUNK {
                flush(buf)?;
            }
        }
        buf.extend_from_slice(if self.documents.is_empty() {
            b"]"
        } else {
            b"\n  ]"
        });
        buf.extend_from_slice(b",\n  \"failed_documents\": [");
        for (i, f) in self.failed_documents.iter().enumerate() {
            buf.extend_from_slice(if i == 0 { b"\n    " } else { b",\n    " });
            crate::json::write_failure(buf, f);
            if buf.len() > CHUNK {
                flush(buf)?;
            }
        }
        buf.extend_from_slice(if self.failed_documents.is_empty() {
            b"]"
        } else {
            b"\n  ]"
        });
        buf.extend_from_slice(b"\n}\n");
        Ok(())
    }

    /// Parses and validates a manifest from untrusted text: syntax, types, schema version, and
    /// every cross-field rule (counts, sums, uniqueness, keys inside the day, status).
    ///
    /// # Errors
    /// A [`ManifestError`] naming the field and, for documents, the index and id.
    pub fn from_json(text: &str) -> Result<Self, ManifestError> {
        #[derive(Deserialize)]
        struct Probe {
            schema_version: Option<serde_json::Value>,
        }
        let probe: Probe = serde_json::from_str(text).map_err(|e| ManifestError::Json {
            path: String::from("."),
            line: e.line(),
            column: e.column(),
            message: strip_position(&e),
        })?;
        match probe.schema_version {
            None => {
                return Err(ManifestError::MissingField {
                    field: "schema_version",
                });
            }
            Some(v) if v.as_u64() != Some(u64::from(SCHEMA_VERSION)) => {
                return Err(ManifestError::SchemaVersion {
                    found: v.to_string(),
                });
            }
            Some(_) => {}
        }
        let mut de = serde_json::Deserializer::from_str(text);
        let manifest: Self = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            ManifestError::Json {
                path,
                line: inner.line(),
                column: inner.column(),
                message: strip_position(&inner),
            }
        })?;
        de.end().map_err(|e| ManifestError::Json {
            path: String::from("."),
            line: e.line(),
            column: e.column(),
            message: strip_position(&e),
        })?;
        manifest.validate()?;
        Ok(manifest)
    }

    /// Checks every rule that ties fields together; [`Manifest::assemble`] output always passes.
    ///
    /// # Errors
    /// The first rule broken, as a [`ManifestError`].
    pub fn validate(&self) -> Result<(), ManifestError> {
        if self.schema_version != SCHEMA_VERSION {
            return Err(ManifestError::SchemaVersion {
                found: self.schema_version.to_string(),
            });
        }
        let prefix = Layout::new(self.backup_date).documents_prefix();
        let mut ids: BTreeMap<&str, usize> = BTreeMap::new();
        let mut keys: BTreeMap<&str, usize> = BTreeMap::new();
        for (index, d) in self.documents.iter().enumerate() {
            let doc_err = |problem| ManifestError::Document {
                index,
                document_id: d.document_id.to_string(),
                problem,
            };
            if let Some(first) = ids.insert(d.document_id.as_str(), index) {
                return Err(doc_err(DocumentProblem::DuplicateId { first }));
            }
            if !key_in_day(&d.object_key, &prefix) {
                return Err(doc_err(DocumentProblem::KeyOutsideDay {
                    key: d.object_key.clone(),
                    expected_prefix: prefix,
                }));
            }
            if let Some(first) = keys.insert(d.object_key.as_str(), index) {
                return Err(doc_err(DocumentProblem::DuplicateKey {
                    key: d.object_key.clone(),
                    first,
                }));
            }
            if let Some(parts) = &d.parts
                && !parts.holds(d.file_size)
            {
                return Err(doc_err(DocumentProblem::Parts {
                    count: parts.count,
                    part_size: parts.part_size,
                    file_size: d.file_size,
                }));
            }
        }
        let mut failed_ids: BTreeMap<&str, usize> = BTreeMap::new();
        for (index, f) in self.failed_documents.iter().enumerate() {
            let fail_err = |problem| ManifestError::Failure {
                index,
                document_id: f.document_id.clone(),
                problem,
            };
            if f.document_id.is_empty() {
                return Err(fail_err(FailureProblem::EmptyId));
            }
            if let Some(first) = failed_ids.insert(f.document_id.as_str(), index) {
                return Err(fail_err(FailureProblem::Duplicate { first }));
            }
            if let Some(&stored) = ids.get(f.document_id.as_str()) {
                return Err(fail_err(FailureProblem::AlsoStored { stored }));
            }
        }
        let count = |field: String, declared: u64, actual: u64| {
            if declared == actual {
                Ok(())
            } else {
                Err(ManifestError::Count {
                    field,
                    declared,
                    actual,
                })
            }
        };
        count(
            "total_documents".into(),
            self.total_documents,
            self.documents.len() as u64,
        )?;
        count(
            "total_failed".into(),
            self.total_failed,
            self.failed_documents.len() as u64,
        )?;
        let actual_bytes: u128 = self.documents.iter().map(|d| u128::from(d.file_size)).sum();
        if u128::from(self.backup_summary.total_size_bytes) != actual_bytes {
            return Err(ManifestError::Count {
                field: "backup_summary.total_size_bytes".into(),
                declared: self.backup_summary.total_size_bytes,
                actual: u64::try_from(actual_bytes).unwrap_or(u64::MAX),
            });
        }
        let actual = BackupSummary::of(&self.documents);
        for (name, declared, actual) in [
            (
                "document_types",
                &self.backup_summary.document_types,
                &actual.document_types,
            ),
            (
                "departments",
                &self.backup_summary.departments,
                &actual.departments,
            ),
        ] {
            let labels: std::collections::BTreeSet<&Label> =
                declared.keys().chain(actual.keys()).collect();
            for label in labels {
                count(
                    format!("backup_summary.{name}.{label}"),
                    declared.get(label).copied().unwrap_or(0),
                    actual.get(label).copied().unwrap_or(0),
                )?;
            }
        }
        let expected = if self.failed_documents.is_empty() {
            BackupStatus::Complete
        } else {
            BackupStatus::Incomplete
        };
        if self.status != expected {
            return Err(ManifestError::Status {
                declared: self.status,
                failed: self.failed_documents.len(),
            });
        }
        Ok(())
    }

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
}

/// Sorts by id.
///
/// Documents are large (about 200 bytes), so this sorts small `(prefix, position)` pairs and
/// then moves each document once. The prefix is the id's first 16 bytes, big-endian and
/// zero-padded: ids contain no NUL, so comparing prefixes is comparing ids whenever they differ
/// within 16 bytes; runs of equal prefixes are then ordered by the full id.
fn sort_documents(documents: &mut [Document]) {
    if documents.is_sorted_by(|a, b| a.document_id <= b.document_id) {
        return;
    }
    let prefix = |d: &Document| {
        let mut p = [0u8; 16];
        let id = d.document_id.as_str().as_bytes();
        let n = id.len().min(16);
        p[..n].copy_from_slice(&id[..n]);
        u128::from_be_bytes(p)
    };
    let mut order: Vec<(u128, usize)> = documents
        .iter()
        .enumerate()
        .map(|(i, d)| (prefix(d), i))
        .collect();
    order.sort_unstable();
    for run in order.chunk_by_mut(|a, b| a.0 == b.0) {
        if run.len() > 1 {
            run.sort_unstable_by(|a, b| {
                documents[a.1].document_id.cmp(&documents[b.1].document_id)
            });
        }
    }
    // Apply the permutation in place, one cycle at a time (a second 200-byte-per-document
    // buffer would cost more in fresh pages than the moves themselves).
    let mut source: Vec<usize> = order.into_iter().map(|(_, i)| i).collect();
    for start in 0..source.len() {
        let mut cur = start;
        loop {
            let next = source[cur];
            source[cur] = cur;
            if next == start || next == cur {
                break;
            }
            documents.swap(cur, next);
            cur = next;
        }
    }
}

fn key_in_day(key: &str, prefix: &str) -> bool {
    key.len() > prefix.len() && key.starts_with(prefix)
}

fn duplicate_key(documents: &[Document]) -> Option<(String, DocumentId, DocumentId)> {
    // Keys are usually `prefix + id + ext`, so sorted ids give nearly sorted keys; sort indices.
    let mut order: Vec<usize> = (0..documents.len()).collect();
    order.sort_unstable_by(|&a, &b| documents[a].object_key.cmp(&documents[b].object_key));
    order.windows(2).find_map(|p| {
        let (a, b) = (&documents[p[0]], &documents[p[1]]);
        (a.object_key == b.object_key).then(|| {
            (
                a.object_key.clone(),
                a.document_id.clone(),
                b.document_id.clone(),
            )
        })
    })
}

fn strip_position(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}

/// Why a manifest text was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ManifestError {
    /// Not JSON, or a field of the wrong type or an unknown field.
    #[error(
        "manifest is not valid at `{path}` (line {line}, column {column}): {message}; fix that \
         field or regenerate the manifest"
    )]
    Json {
        /// JSON path of the field (`documents[3].file_size`), `.` for the whole text.
        path: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What the parser expected.
        message: String,
    },
    /// A required field is absent.
    #[error("manifest has no `{field}` field: it was not written by docvault or is truncated")]
    MissingField {
        /// The field.
        field: &'static str,
    },
    /// A schema version this build does not read.
    #[error(
        "manifest schema_version is {found}, this docvault reads version {SCHEMA_VERSION}: use a \
         docvault release that supports it"
    )]
    SchemaVersion {
        /// The version found, as written.
        found: String,
    },
    /// A document entry breaks a rule.
    #[error("documents[{index}] (`{document_id}`): {problem}")]
    Document {
        /// Position in `documents`.
        index: usize,
        /// Its id.
        document_id: String,
        /// What is wrong.
        problem: DocumentProblem,
    },
    /// A failed-document entry breaks a rule.
    #[error("failed_documents[{index}] (`{document_id}`): {problem}")]
    Failure {
        /// Position in `failed_documents`.
        index: usize,
        /// Its id.
        document_id: String,
        /// What is wrong.
        problem: FailureProblem,
    },
    /// A declared count or sum disagrees with the document list.
    #[error(
        "`{field}` says {declared} but the document list gives {actual}: the manifest was edited \
         or truncated; regenerate it rather than fixing the number"
    )]
    Count {
        /// The field, as a path.
        field: String,
        /// What the manifest says.
        declared: u64,
        /// What its documents add up to.
        actual: u64,
    },
    /// `status` disagrees with the failure list.
    #[error(
        "status is `{declared:?}` with {failed} failed documents: a manifest is complete exactly \
         when no document failed"
    )]
    Status {
        /// The status written.
        declared: BackupStatus,
        /// Number of failures listed.
        failed: usize,
    },
}

impl ManifestError {
    /// A stable machine-readable code for this error (for JS and JSON reports).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Json { .. } => "invalid_json",
            Self::MissingField { .. } => "missing_field",
            Self::SchemaVersion { .. } => "schema_version",
            Self::Document { problem, .. } => match problem {
                DocumentProblem::DuplicateId { .. } => "duplicate_document_id",
                DocumentProblem::DuplicateKey { .. } => "duplicate_object_key",
                DocumentProblem::KeyOutsideDay { .. } => "key_outside_day",
                DocumentProblem::Parts { .. } => "bad_parts",
            },
            Self::Failure { .. } => "invalid_failure",
            Self::Count { .. } => "count_mismatch",
            Self::Status { .. } => "status_mismatch",
        }
    }
}

/// What is wrong with one entry of `documents`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DocumentProblem {
    /// Same id as an earlier entry.
    #[error("same document_id as documents[{first}]; ids must be unique within a day")]
    DuplicateId {
        /// The earlier entry.
        first: usize,
    },
    /// Same key as an earlier entry.
    #[error("object_key `{key}` is also used by documents[{first}]; one would overwrite the other")]
    DuplicateKey {
        /// The key.
        key: String,
        /// The earlier entry.
        first: usize,
    },
    /// Key not under the day's documents prefix.
    #[error("object_key `{key}` is not under `{expected_prefix}`, where this day's documents live")]
    KeyOutsideDay {
        /// The key.
        key: String,
        /// The day's prefix.
        expected_prefix: String,
    },
    /// `parts` does not describe the body.
    #[error(
        "parts says {count} parts of {part_size} bytes, which cannot hold file_size {file_size} \
         (every part but the last is full, and there is at least one)"
    )]
    Parts {
        /// Parts declared.
        count: u32,
        /// Part size declared.
        part_size: u64,
        /// The body's size.
        file_size: u64,
    },
}

/// What is wrong with one entry of `failed_documents`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FailureProblem {
    /// No id.
    #[error("document_id is empty; name the document that failed")]
    EmptyId,
    /// Reported twice.
    #[error("also reported at failed_documents[{first}]; report each failure once")]
    Duplicate {
        /// The earlier entry.
        first: usize,
    },
    /// Also in `documents`.
    #[error("also listed as stored at documents[{stored}]; a document either failed or was stored")]
    AlsoStored {
        /// The stored entry.
        stored: usize,
    },
}

impl fmt::Display for BackupStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Complete => "complete",
            Self::Incomplete => "incomplete",
        })
    }
}

/// JSON layout of a manifest: indented like `json.dumps(indent=2)` for the first two levels,
/// compact below, so each document is one line. Readable, diffable, and about as fast and small
/// as compact JSON.
#[derive(Debug)]
struct ManifestFormatter {
    depth: usize,
    has_value: bool,
}

/// Containers at this depth or shallower put each member on its own line.
const PRETTY_DEPTH: usize = 2;

impl ManifestFormatter {
    fn new() -> Self {
        Self {
            depth: 0,
            has_value: false,
        }
    }

    fn newline_indent<W: ?Sized + io::Write>(&self, w: &mut W, depth: usize) -> io::Result<()> {
        const SPACES: &[u8; 16] = b"                ";
        w.write_all(b"\n")?;
        w.write_all(&SPACES[..(2 * depth).min(SPACES.len())])
    }

    fn begin<W: ?Sized + io::Write>(&mut self, w: &mut W, open: &[u8]) -> io::Result<()> {
        self.depth += 1;
        self.has_value = false;
        w.write_all(open)
    }

    fn end<W: ?Sized + io::Write>(&mut self, w: &mut W, close: &[u8]) -> io::Result<()> {
        self.depth -= 1;
        if self.depth < PRETTY_DEPTH && self.has_value {
            self.newline_indent(w, self.depth)?;
        }
        w.write_all(close)
    }

    fn member<W: ?Sized + io::Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        if !first {
            w.write_all(b",")?;
        }
        if self.depth <= PRETTY_DEPTH {
            self.newline_indent(w, self.depth)?;
        }
        Ok(())
    }
}

impl serde_json::ser::Formatter for ManifestFormatter {
    fn begin_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.begin(w, b"[")
    }
    fn end_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.end(w, b"]")
    }
    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.member(w, first)
    }
    fn end_array_value<W: ?Sized + io::Write>(&mut self, _w: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
    fn begin_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.begin(w, b"{")
    }
    fn end_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.end(w, b"}")
    }
    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.member(w, first)
    }
    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(if self.depth <= PRETTY_DEPTH {
            b": "
        } else {
            b":"
        })
    }
    fn end_object_value<W: ?Sized + io::Write>(&mut self, _w: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}
