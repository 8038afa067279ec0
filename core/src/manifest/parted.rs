//! The parted form of a day's manifest, for days too large for one JSON document.
//!
//! The commit key (`backups/{date}/manifest.json`) then holds a *root*: the day's header,
//! counts and summary, exactly as the one-document form has them, and instead of the document
//! list the `parts` it is split into, each with its key, document count, size and SHA-256.
//! Each part (`backups/{date}/manifest-parts/{index:05}-{sha256}.json`, [`Layout::manifest_part_key`])
//! holds a contiguous run of the day's documents in id order. Parts are written first, each
//! create-only and named by its own SHA-256; the root is written last, create-only, so the day
//! is committed exactly when its root exists, as in the one-document form.
//!
//! The one-document form stays the form of ordinary days and of every incomplete-run report (a
//! root records a complete day only). [`Manifest::to_parted`] writes the parted form of a
//! complete manifest; [`ManifestForm`] reads either form; [`RootJoin`] checks each part the
//! host fetches against the root (size, SHA-256, date, position, count) and joins them into the
//! one [`Manifest`] every host verifies and restores from, checked by the same rules as a
//! one-document manifest ([`Manifest::validate`]): joined, the two forms of a day are equal.

use std::io;

use serde::{Deserialize, Serialize};

use super::write::{ManifestFormatter, open_object, write_document, write_list};
use super::{
    BackupStatus, BackupSummary, CommittedError, Manifest, ManifestError, SCHEMA_VERSION,
    SourceDescription,
};
use crate::layout::Layout;
use crate::model::{BackupDate, Document, Label, Sha256Digest, Timestamp};
use crate::retention::DayRetention;

/// Documents per part when a host does not choose: a part of a million documents is about
/// 400 MB of JSON, which one PUT and one parse handle.
pub const DEFAULT_PART_DOCUMENTS: u64 = 1_000_000;

/// The most parts a root may list.
pub const MAX_PARTS: usize = 10_000;

/// One part as the root lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartRef {
    /// Its key relative to the backup root ([`Layout::manifest_part_key`]).
    pub key: String,
    /// The documents it holds.
    pub documents: u64,
    /// Its size in bytes.
    pub size_bytes: u64,
    /// The SHA-256 of its bytes.
    pub sha256: Sha256Digest,
}

/// The root of a day's manifest written in parts: what the commit key holds for such a day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestRoot {
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
    /// Always complete: an incomplete run's report is one document.
    pub status: BackupStatus,
    /// Where the documents came from.
    pub source: SourceDescription,
    /// The day's retention, when a policy is configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention: Option<DayRetention>,
    /// Number of stored documents, over all parts.
    pub total_documents: u64,
    /// Always 0.
    pub total_failed: u64,
    /// Counts and size of the stored documents, over all parts.
    pub backup_summary: BackupSummary,
    /// The parts, in id order.
    pub parts: Vec<PartRef>,
}

/// The head of a part file, before its documents.
#[derive(Serialize)]
struct PartHead {
    schema_version: u32,
    backup_date: BackupDate,
    part: usize,
    total_documents: u64,
}

/// A part file as read.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PartFile {
    schema_version: u32,
    backup_date: BackupDate,
    part: usize,
    total_documents: u64,
    documents: Vec<Document>,
}

/// A complete manifest in the parted form, ready to write: the parts first, then the root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartedManifest {
    /// The root, for the commit key.
    pub root: ManifestRoot,
    /// The root's canonical JSON bytes.
    pub root_json: Vec<u8>,
    /// Each part's canonical JSON bytes, in the order of `root.parts`.
    pub parts: Vec<Vec<u8>>,
}

/// What is wrong with a root or with one of its parts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PartsProblem {
    /// A root that records an incomplete day.
    #[error(
        "a manifest in parts records a complete day (status complete, no failures); an \
         incomplete run's report is one document"
    )]
    NotComplete,
    /// No parts, or more than [`MAX_PARTS`].
    #[error("it lists {count} parts; a manifest in parts has 1 to {MAX_PARTS}")]
    PartCount {
        /// Parts listed.
        count: usize,
    },
    /// A part with no documents.
    #[error("parts[{index}] holds no documents; every part holds at least one")]
    EmptyPart {
        /// The part.
        index: usize,
    },
    /// A part's key is not the one its position and SHA-256 give.
    #[error(
        "parts[{index}].key is `{}`, not `{expected}`: parts live below the day, named by \
         their position and SHA-256",
        crate::text::escaped(found)
    )]
    PartKey {
        /// The part.
        index: usize,
        /// The key written.
        found: String,
        /// The key its position and digest give.
        expected: String,
    },
    /// The parts' counts do not add up to `total_documents`.
    #[error("the parts hold {sum} documents but total_documents says {declared}")]
    PartsSum {
        /// `total_documents`.
        declared: u64,
        /// The sum over the parts (saturating).
        sum: u64,
    },
    /// A part the root lists is not there.
    #[error("part {index} (`{key}`) is missing: the day's manifest cannot be read without it")]
    Missing {
        /// The part.
        index: usize,
        /// Its key.
        key: String,
    },
    /// A part whose bytes are not the ones the root recorded.
    #[error(
        "part {index} (`{key}`) is not the {expected} bytes with the SHA-256 the root records \
         ({}): it was altered or replaced",
        found.map_or_else(|| "it is larger".to_owned(), |n| format!("it has {n} bytes"))
    )]
    Altered {
        /// The part.
        index: usize,
        /// Its key.
        key: String,
        /// Its size as read, when it was read.
        found: Option<u64>,
        /// Its size as recorded.
        expected: u64,
    },
    /// A part that is not valid JSON of a part.
    #[error("part {index} (`{key}`): {reason}")]
    Invalid {
        /// The part.
        index: usize,
        /// Its key.
        key: String,
        /// What is wrong.
        reason: String,
    },
    /// A part of another day or position, or with another count than the root records.
    #[error("part {index} (`{key}`) is not the root's: {what}")]
    Mismatch {
        /// The part.
        index: usize,
        /// Its key.
        key: String,
        /// What differs.
        what: String,
    },
}

impl PartsProblem {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotComplete => "parted_not_complete",
            Self::PartCount { .. } | Self::EmptyPart { .. } | Self::PartsSum { .. } => {
                "bad_parts_list"
            }
            Self::PartKey { .. } => "bad_part_key",
            Self::Missing { .. } => "part_missing",
            Self::Altered { .. } => "part_altered",
            Self::Invalid { .. } => "part_invalid",
            Self::Mismatch { .. } => "part_mismatch",
        }
    }
}

impl Manifest {
    /// Whether a complete day of `total_documents` is written in parts of `part_documents`:
    /// exactly when it does not fit in one. The one rule for the form of a commit.
    pub fn is_parted(total_documents: u64, part_documents: u64) -> bool {
        total_documents > part_documents.max(1)
    }

    /// The parted form of this manifest, in parts of `part_documents` documents (the last may
    /// hold fewer), or `None` for a manifest that is not complete or has no documents.
    pub fn to_parted(&self, part_documents: u64) -> Option<PartedManifest> {
        if self.status != BackupStatus::Complete
            || !self.failed_documents.is_empty()
            || self.documents.is_empty()
        {
            return None;
        }
        // Never more than MAX_PARTS parts: larger parts instead.
        let fewest = (self.documents.len() as u64).div_ceil(MAX_PARTS as u64);
        let size = usize::try_from(part_documents.max(fewest).max(1)).unwrap_or(usize::MAX);
        let layout = Layout::new(self.backup_date);
        let mut parts = Vec::new();
        let mut refs = Vec::new();
        for (index, documents) in self.documents.chunks(size).enumerate() {
            let body = part_json(self.backup_date, index, documents);
            let sha256 = Sha256Digest::of(&body);
            refs.push(PartRef {
                key: layout.manifest_part_key(index, &sha256),
                documents: documents.len() as u64,
                size_bytes: body.len() as u64,
                sha256,
            });
            parts.push(body);
        }
        let root = ManifestRoot {
            schema_version: self.schema_version,
            backup_date: self.backup_date,
            backup_timestamp: self.backup_timestamp,
            environment: self.environment.clone(),
            run_id: self.run_id.clone(),
            status: self.status,
            source: self.source.clone(),
            retention: self.retention,
            total_documents: self.total_documents,
            total_failed: 0,
            backup_summary: self.backup_summary.clone(),
            parts: refs,
        };
        let root_json = root.to_json();
        Some(PartedManifest {
            root,
            root_json,
            parts,
        })
    }
}

/// The canonical bytes of part `index` of `date` holding `documents`.
fn part_json(date: BackupDate, index: usize, documents: &[Document]) -> Vec<u8> {
    let mut buf = Vec::with_capacity(256 + documents.len() * 400);
    let head = PartHead {
        schema_version: SCHEMA_VERSION,
        backup_date: date,
        part: index,
        total_documents: documents.len() as u64,
    };
    let mut none = |_: &mut Vec<u8>| Ok(());
    (|| -> io::Result<()> {
        open_object(&mut buf, &head)?;
        write_list(&mut buf, "documents", documents, write_document, &mut none)?;
        buf.extend_from_slice(b"\n}\n");
        Ok(())
    })()
    .unwrap_or_else(|_| unreachable!("writing to a Vec cannot fail"));
    buf
}

impl ManifestRoot {
    /// The canonical JSON bytes.
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut ser = serde_json::Serializer::with_formatter(&mut out, ManifestFormatter::new());
        self.serialize(&mut ser)
            .unwrap_or_else(|_| unreachable!("writing to a Vec cannot fail"));
        out.push(b'\n');
        out
    }

    /// The sum of the parts' sizes: what joining them reads (check it against the host's
    /// limit with [`check_manifest_size`](super::check_manifest_size) before fetching).
    pub fn parts_size(&self) -> u64 {
        self.parts
            .iter()
            .fold(0u64, |sum, p| sum.saturating_add(p.size_bytes))
    }

    /// The rules a root obeys by itself: schema version, complete, 1 to [`MAX_PARTS`]
    /// non-empty parts at their keys, whose counts add up to `total_documents`, and a
    /// retention that fits the date. The documents are checked when the parts are joined.
    ///
    /// # Errors
    /// The first rule broken.
    pub fn validate(&self) -> Result<(), ManifestError> {
        if self.schema_version != SCHEMA_VERSION {
            return Err(ManifestError::SchemaVersion {
                found: self.schema_version.to_string(),
            });
        }
        let problem = |p| Err(ManifestError::Parts(p));
        if self.status != BackupStatus::Complete || self.total_failed != 0 {
            return problem(PartsProblem::NotComplete);
        }
        if self.parts.is_empty() || self.parts.len() > MAX_PARTS {
            return problem(PartsProblem::PartCount {
                count: self.parts.len(),
            });
        }
        let layout = Layout::new(self.backup_date);
        let mut sum = 0u64;
        for (index, part) in self.parts.iter().enumerate() {
            if part.documents == 0 {
                return problem(PartsProblem::EmptyPart { index });
            }
            let expected = layout.manifest_part_key(index, &part.sha256);
            if part.key != expected {
                return problem(PartsProblem::PartKey {
                    index,
                    found: part.key.clone(),
                    expected,
                });
            }
            sum = sum.saturating_add(part.documents);
        }
        if sum != self.total_documents {
            return problem(PartsProblem::PartsSum {
                declared: self.total_documents,
                sum,
            });
        }
        if let Some(retention) = &self.retention {
            super::read::check_retention(self.backup_date, retention)?;
        }
        Ok(())
    }

    /// Starts joining the parts.
    pub fn join(self) -> RootJoin {
        RootJoin {
            documents: Vec::new(),
            root: self,
            next: 0,
        }
    }
}

/// A root whose parts are being joined, in order: the host fetches
/// [`next_part`](Self::next_part) (at most its `size_bytes`), hands the bytes to
/// [`add`](Self::add) (or reports it missing with [`missing`](Self::missing)), and
/// [`finish`](Self::finish) gives the day's manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootJoin {
    root: ManifestRoot,
    documents: Vec<Document>,
    next: usize,
}

impl RootJoin {
    /// The root.
    pub fn root(&self) -> &ManifestRoot {
        &self.root
    }

    /// The part to fetch next, or `None` when every part is joined.
    pub fn next_part(&self) -> Option<&PartRef> {
        self.root.parts.get(self.joined())
    }

    /// Parts joined so far.
    fn joined(&self) -> usize {
        self.next
    }

    /// The error for the next part when the host found nothing at its key.
    pub fn missing(&self) -> ManifestError {
        let index = self.joined();
        ManifestError::Parts(PartsProblem::Missing {
            index,
            key: self
                .root
                .parts
                .get(index)
                .map_or_else(String::new, |p| p.key.clone()),
        })
    }

    /// The error for the next part when the host found more bytes at its key than the root
    /// records (`found`, when the store says how many), without reading them.
    pub fn oversized(&self, found: Option<u64>) -> ManifestError {
        let index = self.joined();
        let part = self.root.parts.get(index);
        ManifestError::Parts(PartsProblem::Altered {
            index,
            key: part.map_or_else(String::new, |p| p.key.clone()),
            found,
            expected: part.map_or(0, |p| p.size_bytes),
        })
    }

    /// Joins the next part from the bytes stored at its key.
    ///
    /// # Errors
    /// [`ManifestError::Parts`] when the bytes are not the part the root records.
    pub fn add(&mut self, bytes: &[u8]) -> Result<(), ManifestError> {
        let index = self.joined();
        let Some(part) = self.root.parts.get(index) else {
            return Err(ManifestError::Parts(PartsProblem::Mismatch {
                index,
                key: String::new(),
                what: "the root lists no more parts".into(),
            }));
        };
        let key = || part.key.clone();
        let fail = |p| Err(ManifestError::Parts(p));
        if bytes.len() as u64 != part.size_bytes || Sha256Digest::of(bytes) != part.sha256 {
            return fail(PartsProblem::Altered {
                index,
                key: key(),
                found: Some(bytes.len() as u64),
                expected: part.size_bytes,
            });
        }
        let invalid = |reason: String| {
            Err(ManifestError::Parts(PartsProblem::Invalid {
                index,
                key: key(),
                reason,
            }))
        };
        let text = match std::str::from_utf8(bytes) {
            Ok(text) => text,
            Err(e) => return invalid(format!("not UTF-8 at offset {}", e.valid_up_to())),
        };
        let file: PartFile = match super::read::parse_json(text) {
            Ok(file) => file,
            Err(e) => return invalid(e.to_string()),
        };
        let mismatch = |what: String| {
            Err(ManifestError::Parts(PartsProblem::Mismatch {
                index,
                key: key(),
                what,
            }))
        };
        if file.schema_version != SCHEMA_VERSION {
            return mismatch(format!("schema_version {}", file.schema_version));
        }
        if file.backup_date != self.root.backup_date {
            return mismatch(format!("it is a part of {}", file.backup_date));
        }
        if file.part != index {
            return mismatch(format!("it is part {}", file.part));
        }
        let count = file.documents.len() as u64;
        if file.total_documents != count || count != part.documents {
            return mismatch(format!(
                "it holds {count} documents (total_documents {}), the root records {}",
                file.total_documents, part.documents
            ));
        }
        self.documents.extend(file.documents);
        self.next += 1;
        Ok(())
    }

    /// The day's manifest, once every part is joined: the same rules as a one-document
    /// manifest (unique ids and keys, keys inside the day, counts, sums and summary).
    ///
    /// # Errors
    /// [`PartsProblem::Missing`] for a part not joined yet, or the first rule the joined
    /// documents break.
    pub fn finish(self) -> Result<Manifest, ManifestError> {
        if self.next_part().is_some() {
            return Err(self.missing());
        }
        let root = self.root;
        let manifest = Manifest {
            schema_version: root.schema_version,
            backup_date: root.backup_date,
            backup_timestamp: root.backup_timestamp,
            environment: root.environment,
            run_id: root.run_id,
            status: root.status,
            source: root.source,
            retention: root.retention,
            total_documents: root.total_documents,
            total_failed: root.total_failed,
            backup_summary: root.backup_summary,
            documents: self.documents,
            failed_documents: Vec::new(),
        };
        manifest.validate()?;
        Ok(manifest)
    }
}

/// A day's manifest text in either form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ManifestForm {
    /// One document holding every entry.
    Whole(Manifest),
    /// A root whose parts are still to be joined.
    Parted(RootJoin),
}

impl ManifestForm {
    /// Loads the committed manifest of `date` from the bytes stored at its commit key, in
    /// either form: UTF-8, valid, of that day, complete (see [`Manifest::from_committed`]).
    /// A root's parts are still to be joined.
    ///
    /// # Errors
    /// [`CommittedError`] saying why these bytes are not the day's backup.
    pub fn from_committed(bytes: &[u8], date: BackupDate) -> Result<Self, CommittedError> {
        let text = std::str::from_utf8(bytes).map_err(|e| CommittedError::NotUtf8 {
            at: e.valid_up_to(),
        })?;
        match Self::from_json(text).map_err(CommittedError::Invalid)? {
            Self::Whole(manifest) => {
                super::read::check_committed(manifest.backup_date, manifest.status, date)?;
                Ok(Self::Whole(manifest))
            }
            Self::Parted(join) => {
                let root = join.root();
                if root.backup_date != date {
                    return Err(CommittedError::WrongDate {
                        found: root.backup_date,
                        expected: date,
                    });
                }
                Ok(Self::Parted(join))
            }
        }
    }

    /// Parses and validates manifest text in either form (a root is told by its `parts`):
    /// a one-document manifest fully, a root by itself ([`ManifestRoot::validate`]).
    ///
    /// # Errors
    /// [`ManifestError`] naming the field.
    pub fn from_json(text: &str) -> Result<Self, ManifestError> {
        if let Some(manifest) = super::read::parse_whole(text) {
            manifest.validate()?;
            return Ok(Self::Whole(manifest));
        }
        if super::read::probe(text)?.parted {
            let root: ManifestRoot = super::read::parse_json(text)?;
            root.validate()?;
            Ok(Self::Parted(root.join()))
        } else {
            Manifest::from_json_reference(text).map(Self::Whole)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::{Generator, GeneratorSpec};
    use crate::manifest::ManifestHeader;

    fn day(count: u64) -> Manifest {
        let date: BackupDate = "2026-11-27".parse().unwrap();
        let documents = Generator::new(GeneratorSpec {
            date,
            count,
            seed: 3,
        })
        .map(|g| g.document)
        .collect();
        let header = ManifestHeader {
            backup_date: date,
            backup_timestamp: "2026-11-28T02:00:00Z".parse().unwrap(),
            environment: "prod".parse().unwrap(),
            run_id: Some("run-1".into()),
            source: SourceDescription::Generator { count, seed: 3 },
        };
        Manifest::assemble(header, documents, Vec::new()).unwrap()
    }

    fn join(root: &[u8], parts: &[Vec<u8>]) -> Result<Manifest, ManifestError> {
        let ManifestForm::Parted(mut join) =
            ManifestForm::from_json(std::str::from_utf8(root).unwrap())?
        else {
            panic!("a root");
        };
        for part in parts {
            join.add(part)?;
        }
        join.finish()
    }

    fn code(result: Result<Manifest, ManifestError>) -> &'static str {
        result.expect_err("refused").code()
    }

    #[test]
    fn joined_parts_are_the_one_document_manifest() {
        let manifest = day(25);
        let parted = manifest.to_parted(10).unwrap();
        assert_eq!(parted.parts.len(), 3);
        let counts: Vec<u64> = parted.root.parts.iter().map(|p| p.documents).collect();
        assert_eq!(counts, [10, 10, 5]);
        assert_eq!(join(&parted.root_json, &parted.parts).unwrap(), manifest);
        // The same inputs give the same bytes.
        assert_eq!(manifest.to_parted(10).unwrap(), parted);
        assert!(Manifest::is_parted(25, 10));
        assert!(!Manifest::is_parted(10, 10));
    }

    #[test]
    fn only_complete_days_with_documents_are_parted() {
        let mut manifest = day(3);
        assert!(day(0).to_parted(1).is_none());
        manifest.status = BackupStatus::Incomplete;
        assert!(manifest.to_parted(1).is_none());
    }

    #[test]
    fn never_more_than_max_parts() {
        // MAX_PARTS + 1 documents in parts of one would be one part too many: parts grow.
        let mut manifest = day(1);
        let template = manifest.documents[0].clone();
        let layout = Layout::new(manifest.backup_date);
        manifest.documents = (0..=MAX_PARTS)
            .map(|i| {
                let mut d = template.clone();
                d.document_id = format!("doc_{i:06}").parse().unwrap();
                d.object_key = layout.document_key(&d.document_id, Some("txt"));
                d
            })
            .collect();
        manifest.total_documents = manifest.documents.len() as u64;
        manifest.backup_summary = BackupSummary::of(&manifest.documents);
        manifest.validate().unwrap();
        let parted = manifest.to_parted(1).unwrap();
        assert_eq!(parted.parts.len(), MAX_PARTS.div_ceil(2) + 1);
        assert_eq!(join(&parted.root_json, &parted.parts).unwrap(), manifest);
    }

    #[test]
    fn a_root_is_not_read_as_one_document() {
        let parted = day(4).to_parted(2).unwrap();
        let text = std::str::from_utf8(&parted.root_json).unwrap();
        let err = Manifest::from_json(text).unwrap_err();
        assert_eq!(err.code(), "parted_manifest");
        assert!(err.to_string().contains("manifest-parts/"), "{err}");
    }

    #[test]
    fn altered_swapped_missing_and_foreign_parts_are_refused() {
        let manifest = day(9);
        let parted = manifest.to_parted(3).unwrap();
        let (root, parts) = (&parted.root_json, &parted.parts);
        // One byte changed.
        let mut altered = parts.clone();
        altered[1][40] ^= 1;
        assert_eq!(code(join(root, &altered)), "part_altered");
        // Parts in another order.
        let mut swapped = parts.clone();
        swapped.swap(0, 2);
        assert_eq!(code(join(root, &swapped)), "part_altered");
        // A part left out.
        assert_eq!(code(join(root, &parts[..2])), "part_missing");
        // A part of another day's manifest with the same documents.
        let mut other = manifest.clone();
        other.backup_date = "2026-11-28".parse().unwrap();
        let foreign = part_json(other.backup_date, 0, &manifest.documents[..3]);
        let mut root_for_foreign: ManifestRoot = serde_json::from_slice(root).unwrap();
        root_for_foreign.parts[0].sha256 = Sha256Digest::of(&foreign);
        root_for_foreign.parts[0].size_bytes = foreign.len() as u64;
        root_for_foreign.parts[0].key = Layout::new(manifest.backup_date)
            .manifest_part_key(0, &root_for_foreign.parts[0].sha256);
        let mut with_foreign = parts.clone();
        with_foreign[0] = foreign;
        assert_eq!(
            code(join(&root_for_foreign.to_json(), &with_foreign)),
            "part_mismatch"
        );
    }

    #[test]
    fn a_root_whose_figures_lie_is_refused() {
        let manifest = day(9);
        let parted = manifest.to_parted(3).unwrap();
        let edit = |f: &dyn Fn(&mut ManifestRoot)| {
            let mut root = parted.root.clone();
            f(&mut root);
            join(&root.to_json(), &parted.parts)
        };
        assert_eq!(code(edit(&|r| r.total_documents = 8)), "bad_parts_list");
        assert_eq!(
            code(edit(&|r| r.backup_summary.total_size_bytes += 1)),
            "count_mismatch"
        );
        assert_eq!(
            code(edit(
                &|r| r.parts[1].key = "backups/2026-11-27/documents/x".into()
            )),
            "bad_part_key"
        );
        assert_eq!(
            code(edit(&|r| r.status = BackupStatus::Incomplete)),
            "parted_not_complete"
        );
        assert_eq!(code(edit(&|r| r.parts.clear())), "bad_parts_list");
        // Documents moved between parts with the root's counts and digests made to match:
        // the parts are consistent, and the join equals the day.
        let moved = {
            let docs = &manifest.documents;
            let mut root = parted.root.clone();
            let bodies = vec![
                part_json(root.backup_date, 0, &docs[..4]),
                part_json(root.backup_date, 1, &docs[4..9]),
            ];
            root.parts.truncate(2);
            for (i, body) in bodies.iter().enumerate() {
                let sha = Sha256Digest::of(body);
                root.parts[i] = PartRef {
                    key: Layout::new(root.backup_date).manifest_part_key(i, &sha),
                    documents: if i == 0 { 4 } else { 5 },
                    size_bytes: body.len() as u64,
                    sha256: sha,
                };
            }
            join(&root.to_json(), &bodies)
        };
        assert_eq!(moved.unwrap(), manifest);
        // A document repeated in two parts breaks the day's rules.
        let repeated = {
            let docs = &manifest.documents;
            let mut root = parted.root.clone();
            let second: Vec<Document> = docs[2..3].iter().chain(&docs[4..6]).cloned().collect();
            let bodies = [
                part_json(root.backup_date, 0, &docs[..3]),
                part_json(root.backup_date, 1, &second),
                parted.parts[2].clone(),
            ];
            for (i, body) in bodies.iter().enumerate().take(2) {
                let sha = Sha256Digest::of(body);
                root.parts[i].key = Layout::new(root.backup_date).manifest_part_key(i, &sha);
                root.parts[i].size_bytes = body.len() as u64;
                root.parts[i].sha256 = sha;
            }
            join(&root.to_json(), &bodies)
        };
        assert_eq!(code(repeated), "duplicate_document_id");
    }

    #[test]
    fn committed_roots_are_of_their_day() {
        let parted = day(4).to_parted(2).unwrap();
        let date = parted.root.backup_date;
        assert!(matches!(
            ManifestForm::from_committed(&parted.root_json, date),
            Ok(ManifestForm::Parted(_))
        ));
        let other: BackupDate = "2026-11-26".parse().unwrap();
        assert_eq!(
            ManifestForm::from_committed(&parted.root_json, other)
                .unwrap_err()
                .code(),
            "wrong_date"
        );
    }

    #[test]
    fn committed_errors_are_one_line_of_single_spaced_text() {
        let date: BackupDate = "2026-11-27".parse().unwrap();
        let other: BackupDate = "2026-11-26".parse().unwrap();
        let errors = [
            ManifestForm::from_committed(b"{\xff}", date).unwrap_err(),
            ManifestForm::from_committed(&day(4).to_parted(2).unwrap().root_json, other)
                .unwrap_err(),
            CommittedError::NotComplete {
                status: BackupStatus::Incomplete,
            },
            CommittedError::TooLarge { size: 2, limit: 1 },
        ];
        for error in errors {
            let text = error.to_string();
            assert!(
                !text.contains("  ") && !text.contains('\n'),
                "{}: {text:?}",
                error.code()
            );
        }
    }
}
