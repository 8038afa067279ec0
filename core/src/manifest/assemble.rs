//! A manifest from a run's results: sorted into canonical order, checked by the one rule
//! checker ([`rules::check`](super::rules)), summarized.

use super::rules::{self, DocumentProblem, FailureProblem, Violation};
use super::{BackupStatus, FailedDocument, Manifest, ManifestHeader, SCHEMA_VERSION};
use crate::model::{Document, DocumentId};

/// Why a manifest could not be assembled from a run's results: the first document or failure
/// that breaks a rule (the same rules [`Manifest::validate`] applies to a written manifest).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AssembleError {
    /// A stored document breaks a rule.
    #[error("document `{}`: {problem}", crate::text::escaped(.document_id.as_str()))]
    Document {
        /// The document.
        document_id: DocumentId,
        /// What is wrong; indexes count in id order, the manifest's order.
        problem: DocumentProblem,
    },
    /// A failure record breaks a rule.
    #[error("failed document `{}`: {problem}", crate::text::escaped(document_id))]
    Failure {
        /// The failure's document id.
        document_id: String,
        /// What is wrong; indexes count in id order.
        problem: FailureProblem,
    },
    /// The documents' sizes add up to more than a manifest can record (2^64 - 1 bytes).
    #[error("the documents add up to {0} bytes, more than a manifest can record: split the day")]
    TotalTooLarge(u128),
}

impl AssembleError {
    /// A stable machine-readable code, the same as [`ManifestError::code`] gives a written
    /// manifest with the same problem (failures get their own codes here).
    ///
    /// [`ManifestError::code`]: super::ManifestError::code
    pub fn code(&self) -> &'static str {
        match self {
            Self::Document { problem, .. } => problem.code(),
            Self::Failure { problem, .. } => problem.code(),
            Self::TotalTooLarge(_) => "count_mismatch",
        }
    }
}

impl Manifest {
    /// Assembles a manifest from a run's results: sorts, checks every rule between entries,
    /// computes the summary. The status is `complete` exactly when `failed` is empty. What this
    /// returns always passes [`Manifest::validate`].
    ///
    /// # Errors
    /// [`AssembleError`]: the first document or failure (in id order) that breaks a rule.
    pub fn assemble(
        header: ManifestHeader,
        mut documents: Vec<Document>,
        mut failed: Vec<FailedDocument>,
    ) -> Result<Self, AssembleError> {
        sort_documents(&mut documents);
        if !failed.is_sorted_by(|a, b| a.document_id <= b.document_id) {
            failed.sort_by(|a, b| a.document_id.cmp(&b.document_id));
        }
        let totals = match rules::check(header.backup_date, &documents, &failed) {
            Ok(totals) => totals,
            Err(Violation::Document { index, problem }) => {
                return Err(AssembleError::Document {
                    document_id: documents[index].document_id.clone(),
                    problem,
                });
            }
            Err(Violation::Failure { index, problem }) => {
                return Err(AssembleError::Failure {
                    document_id: failed[index].document_id.clone(),
                    problem,
                });
            }
        };
        let mut summary = totals.summary;
        summary.total_size_bytes =
            u64::try_from(totals.bytes).map_err(|_| AssembleError::TotalTooLarge(totals.bytes))?;
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
            retention: None,
            total_documents: documents.len() as u64,
            total_failed: failed.len() as u64,
            backup_summary: summary,
            documents,
            failed_documents: failed,
        })
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
