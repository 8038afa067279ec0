//! Reading manifests: untrusted text parsed and validated ([`Manifest::from_json`]), and a day's
//! committed manifest loaded for use ([`Manifest::from_committed`]), the one way every host
//! loads the manifest it verifies, restores from or finds already complete.

use std::collections::BTreeSet;

use serde::Deserialize;

use super::rules::{self, DocumentProblem, FailureProblem, Violation};
use super::{BackupStatus, Manifest, SCHEMA_VERSION};
use crate::model::{BackupDate, Label};
use crate::retention::{DayRetention, RetentionClass};

impl Manifest {
    /// Parses and validates a manifest from untrusted text: syntax, types, schema version, and
    /// every cross-field rule (counts, sums, uniqueness, keys inside the day, status).
    ///
    /// # Errors
    /// A [`ManifestError`] naming the field and, for documents, the index and id.
    pub fn from_json(text: &str) -> Result<Self, ManifestError> {
        match parse_whole(text) {
            Some(manifest) => {
                manifest.validate()?;
                Ok(manifest)
            }
            None => Self::from_json_reference(text),
        }
    }

    /// The same reading done the careful way on every input: the form and schema version
    /// first, then the fields with their paths tracked, then the rules. [`Manifest::from_json`]
    /// takes this way only for text that does not parse, so its errors are these; it is the
    /// reference the fast way is tested against.
    ///
    /// # Errors
    /// As [`Manifest::from_json`].
    #[doc(hidden)]
    pub fn from_json_reference(text: &str) -> Result<Self, ManifestError> {
        if probe(text)?.parted {
            return Err(ManifestError::Parted);
        }
        let manifest: Self = parse_json(text)?;
        manifest.validate()?;
        Ok(manifest)
    }

    /// Checks every rule that ties fields together: the entries ([`rules`](super::rules), the
    /// same checker [`Manifest::assemble`] uses, so assembled output always passes), then the
    /// counts, the summary and the status.
    ///
    /// # Errors
    /// The first rule broken, as a [`ManifestError`].
    pub fn validate(&self) -> Result<(), ManifestError> {
        if self.schema_version != SCHEMA_VERSION {
            return Err(ManifestError::SchemaVersion {
                found: self.schema_version.to_string(),
            });
        }
        let totals = match rules::check(self.backup_date, &self.documents, &self.failed_documents) {
            Ok(totals) => totals,
            Err(Violation::Document { index, problem }) => {
                return Err(ManifestError::Document {
                    index,
                    document_id: self.documents[index].document_id.to_string(),
                    problem,
                });
            }
            Err(Violation::Failure { index, problem }) => {
                return Err(ManifestError::Failure {
                    index,
                    document_id: self.failed_documents[index].document_id.clone(),
                    problem,
                });
            }
        };
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
        if u128::from(self.backup_summary.total_size_bytes) != totals.bytes {
            return Err(ManifestError::Count {
                field: "backup_summary.total_size_bytes".into(),
                declared: self.backup_summary.total_size_bytes,
                actual: u64::try_from(totals.bytes).unwrap_or(u64::MAX),
            });
        }
        let actual = totals.summary;
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
            let labels: BTreeSet<&Label> = declared.keys().chain(actual.keys()).collect();
            for label in labels {
                count(
                    format!("backup_summary.{name}.{label}"),
                    declared.get(label).copied().unwrap_or(0),
                    actual.get(label).copied().unwrap_or(0),
                )?;
            }
        }
        if let Some(retention) = &self.retention {
            check_retention(self.backup_date, retention)?;
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

    /// Loads the committed manifest of `date` from the bytes stored at its commit key: UTF-8
    /// (never repaired: a replaced byte would be a different manifest), parsed and validated,
    /// written for `date`, and complete. Check its size first with [`check_manifest_size`].
    ///
    /// # Errors
    /// [`CommittedError`] saying why these bytes are not the day's backup.
    pub fn from_committed(bytes: &[u8], date: BackupDate) -> Result<Self, CommittedError> {
        let text = std::str::from_utf8(bytes).map_err(|e| CommittedError::NotUtf8 {
            at: e.valid_up_to(),
        })?;
        let manifest = Self::from_json(text).map_err(CommittedError::Invalid)?;
        check_committed(manifest.backup_date, manifest.status, date)?;
        Ok(manifest)
    }
}

/// A manifest read at `date`'s commit key is that day's, and complete.
pub(super) fn check_committed(
    found: BackupDate,
    status: BackupStatus,
    date: BackupDate,
) -> Result<(), CommittedError> {
    if found != date {
        return Err(CommittedError::WrongDate {
            found,
            expected: date,
        });
    }
    if status != BackupStatus::Complete {
        return Err(CommittedError::NotComplete { status });
    }
    Ok(())
}

/// What is known of manifest text before it is parsed as one form or the other.
pub(super) struct Probe {
    /// A root of a manifest in parts (it has `parts`).
    pub(super) parted: bool,
}

/// Reads the schema version (refusing any other) and the form of manifest text.
pub(super) fn probe(text: &str) -> Result<Probe, ManifestError> {
    #[derive(Deserialize)]
    struct Fields {
        schema_version: Option<serde_json::Value>,
        parts: Option<serde::de::IgnoredAny>,
    }
    let fields: Fields = serde_json::from_str(text).map_err(|e| ManifestError::Json {
        path: String::from("."),
        line: e.line(),
        column: e.column(),
        message: strip_position(&e),
    })?;
    match fields.schema_version {
        None => Err(ManifestError::MissingField {
            field: "schema_version",
        }),
        Some(v) if v.as_u64() != Some(u64::from(SCHEMA_VERSION)) => {
            Err(ManifestError::SchemaVersion {
                found: v.to_string(),
            })
        }
        Some(_) => Ok(Probe {
            parted: fields.parts.is_some(),
        }),
    }
}

/// A one-document manifest parsed in one pass, not yet validated, or `None` when the text is
/// not one; the careful way ([`Manifest::from_json_reference`]) then says why. Text in the
/// canonical form docvault writes is read by [`canonical`](super::canonical), anything else by
/// serde. Whatever parses here the careful way parses too, to the same value: its probe
/// refuses only a root (which has `parts`, an unknown field here), another schema version
/// (which `validate` refuses with the same error), and text that is not a JSON object: serde
/// reads a struct from an array of its fields too, a form docvault never writes and the careful
/// way refuses, so only an object is read here.
pub(super) fn parse_whole(text: &str) -> Option<Manifest> {
    if !text
        .trim_start_matches([' ', '\t', '\n', '\r'])
        .starts_with('{')
    {
        return None;
    }
    super::canonical::read(text).or_else(|| serde_json::from_str(text).ok())
}

/// Parses JSON text into `T`, naming the path of the first field that does not fit. Text that
/// parses takes one pass; only text that does not is parsed again with its paths tracked
/// (which costs half as much again), for the error. Tracking paths changes no outcome.
pub(super) fn parse_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, ManifestError> {
    if let Ok(value) = serde_json::from_str(text) {
        return Ok(value);
    }
    let mut de = serde_json::Deserializer::from_str(text);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
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
    Ok(value)
}

/// The day's retention agrees with its date: kept at least through the day itself, and its
/// class one the date can have on any policy's calendar (monthly on a 1st, yearly on 1 January).
pub(super) fn check_retention(
    date: BackupDate,
    retention: &DayRetention,
) -> Result<(), ManifestError> {
    if retention.retain_until < date {
        return Err(ManifestError::Retention(format!(
            "retain_until {} is before the backup date {date}",
            retention.retain_until
        )));
    }
    let fits = match retention.class {
        RetentionClass::Daily | RetentionClass::Weekly => true,
        RetentionClass::Monthly => date.day() == 1,
        RetentionClass::Yearly => date.day() == 1 && date.month() == 1,
    };
    if !fits {
        return Err(ManifestError::Retention(format!(
            "class `{}` cannot be the class of {date}",
            retention.class
        )));
    }
    Ok(())
}

/// The largest manifest a host with `memory_bytes` of memory loads: parsing holds the text and
/// the parsed documents at once, about three times the text's size at its peak (measured in
/// BENCHMARKS.md), so a quarter of the memory leaves room for the rest of the work.
pub const fn max_manifest_bytes(memory_bytes: u64) -> u64 {
    memory_bytes / 4
}

/// Refuses a stored manifest of `size` bytes when it is larger than `limit`, before it is read.
///
/// # Errors
/// [`CommittedError::TooLarge`].
pub fn check_manifest_size(size: u64, limit: u64) -> Result<(), CommittedError> {
    if size > limit {
        Err(CommittedError::TooLarge { size, limit })
    } else {
        Ok(())
    }
}

/// Why the bytes at a day's commit key are not that day's backup.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CommittedError {
    /// Larger than this host can hold (see [`max_manifest_bytes`]).
    #[error(
        "the manifest is {size} bytes, more than the {limit} bytes this host loads: give it \
         more memory, or verify and restore this day from a host that has it"
    )]
    TooLarge {
        /// Its size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// Not UTF-8.
    #[error(
        "the manifest is not UTF-8 text (first bad byte at offset {at}): docvault did not \
         write it, or it was altered; it is left as it is"
    )]
    NotUtf8 {
        /// Offset of the first byte that is not UTF-8.
        at: usize,
    },
    /// Not a valid manifest.
    #[error(transparent)]
    Invalid(ManifestError),
    /// The manifest of another day.
    #[error(
        "it is the manifest of {found}, not of {expected}: the backup set was moved or edited; \
         it is left as it is"
    )]
    WrongDate {
        /// The date it records.
        found: BackupDate,
        /// The day of its key.
        expected: BackupDate,
    },
    /// An incomplete-run report where the commit point should be.
    #[error(
        "it has status {status}: only a complete manifest may be stored at a day's commit key; \
         it is left as it is"
    )]
    NotComplete {
        /// The status it records.
        status: BackupStatus,
    },
}

impl CommittedError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::TooLarge { .. } => "manifest_too_large",
            Self::NotUtf8 { .. } => "not_utf8",
            Self::Invalid(e) => e.code(),
            Self::WrongDate { .. } => "wrong_date",
            Self::NotComplete { .. } => "not_complete",
        }
    }
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
    #[error(
        "documents[{index}] (`{}`): {problem}",
        crate::text::escaped(document_id)
    )]
    Document {
        /// Position in `documents`.
        index: usize,
        /// Its id.
        document_id: String,
        /// What is wrong.
        problem: DocumentProblem,
    },
    /// A failed-document entry breaks a rule.
    #[error(
        "failed_documents[{index}] (`{}`): {problem}",
        crate::text::escaped(document_id)
    )]
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
    /// The day's retention contradicts its date.
    #[error("retention: {0}; the manifest was edited or written by a broken tool")]
    Retention(String),
    /// The root of a manifest in parts, where one document was expected.
    #[error(
        "this is the root of a manifest written in parts (it lists `parts` instead of \
         `documents`): read it with its parts (`docvault validate` finds them beside it, in \
         `manifest-parts/`)"
    )]
    Parted,
    /// A root of a manifest in parts, or one of its parts, breaks a rule.
    #[error("{0}")]
    Parts(super::parted::PartsProblem),
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
            Self::Document { problem, .. } => problem.code(),
            Self::Failure { .. } => "invalid_failure",
            Self::Count { .. } => "count_mismatch",
            Self::Status { .. } => "status_mismatch",
            Self::Retention(_) => "retention_mismatch",
            Self::Parted => "parted_manifest",
            Self::Parts(p) => p.code(),
        }
    }
}
