//! The rules that tie a manifest's entries together, checked in one place.
//!
//! [`check`] is the only implementation: [`Manifest::assemble`](super::Manifest::assemble) runs
//! it on a run's results, [`Manifest::validate`](super::Manifest::validate) on untrusted text, so
//! what one accepts the other accepts too. Per document: its key is one of the day's document
//! keys, a safe relative path below `documents/` ([`Layout::document_path`]); its `parts` can
//! hold its size; no other document has its id or its key. Per failure: it has an id, is
//! reported once, and is not also stored.
//!
//! Entries are checked in their order; the first entry that breaks a rule is reported, and for
//! one entry the rules in the order above. Input already in canonical order (ids ascending, as
//! every manifest docvault writes) is checked in one pass; other orders cost a sort of
//! indices.

use std::collections::BTreeMap;

use super::BackupSummary;
use super::summary::SummaryCounter;
use crate::layout::{KeyError, Layout};
use crate::manifest::FailedDocument;
use crate::model::{BackupDate, Document};

/// What is wrong with one entry of `documents`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DocumentProblem {
    /// Same id as an earlier entry.
    #[error(
        "same document_id as documents[{first}]; ids must be unique within a day (for a \
         directory source, two files map to the same id)"
    )]
    DuplicateId {
        /// The earlier entry.
        first: usize,
    },
    /// Same key as an earlier entry.
    #[error(
        "object_key `{}` is also used by documents[{first}]; one would overwrite the other",
        crate::text::escaped(key)
    )]
    DuplicateKey {
        /// The key.
        key: String,
        /// The earlier entry.
        first: usize,
    },
    /// The key is not one of the day's document keys (see [`Layout::document_path`]).
    #[error(transparent)]
    Key(KeyError),
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

impl DocumentProblem {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::DuplicateId { .. } => "duplicate_document_id",
            Self::DuplicateKey { .. } => "duplicate_object_key",
            Self::Key(e) => e.code(),
            Self::Parts { .. } => "bad_parts",
        }
    }
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

impl FailureProblem {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::EmptyId => "empty_failure_id",
            Self::Duplicate { .. } => "duplicate_failure",
            Self::AlsoStored { .. } => "stored_and_failed",
        }
    }
}

/// The first rule an entry breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Violation {
    /// `documents[index]`.
    Document {
        index: usize,
        problem: DocumentProblem,
    },
    /// `failed_documents[index]`.
    Failure {
        index: usize,
        problem: FailureProblem,
    },
}

/// What the entries add up to, once they follow the rules.
#[derive(Debug)]
pub(crate) struct Totals {
    /// Counts by type and department; `total_size_bytes` saturates at `u64::MAX`.
    pub(crate) summary: BackupSummary,
    /// The exact sum of the documents' sizes.
    pub(crate) bytes: u128,
}

/// Checks every rule between the entries of a day's manifest (see the module documentation).
pub(crate) fn check(
    date: BackupDate,
    documents: &[Document],
    failures: &[FailedDocument],
) -> Result<Totals, Violation> {
    let layout = Layout::new(date);
    let mut counter = SummaryCounter::default();
    let mut bytes = 0u128;
    let (mut ids_ascend, mut keys_ascend) = (true, true);
    // The first entry that breaks a rule of its own, and the rule's rank at that entry.
    let mut own: Option<(usize, u8, DocumentProblem)> = None;
    for (i, d) in documents.iter().enumerate() {
        if i > 0 {
            let prev = &documents[i - 1];
            ids_ascend &= prev.document_id < d.document_id;
            keys_ascend &= prev.object_key < d.object_key;
        }
        if let Err(e) = layout.document_path(&d.object_key) {
            own = Some((i, RANK_KEY, DocumentProblem::Key(e)));
            break;
        }
        if let Some(p) = &d.parts
            && !p.holds(d.file_size)
        {
            own = Some((
                i,
                RANK_PARTS,
                DocumentProblem::Parts {
                    count: p.count,
                    part_size: p.part_size,
                    file_size: d.file_size,
                },
            ));
            break;
        }
        counter.add(d);
        bytes += u128::from(d.file_size);
    }
    // Entries after `own` cannot matter: a duplicate is reported at its later entry.
    let scanned = own.as_ref().map_or(documents.len(), |(i, ..)| i + 1);
    let mut candidates = Vec::with_capacity(3);
    if (!ids_ascend || own.is_some())
        && let Some((i, first)) = first_repeat(&documents[..scanned], |d| d.document_id.as_str())
    {
        candidates.push((i, RANK_ID, DocumentProblem::DuplicateId { first }));
    }
    if (!keys_ascend || own.is_some())
        && let Some((i, first)) = first_repeat(&documents[..scanned], |d| d.object_key.as_str())
    {
        let key = documents[i].object_key.clone();
        candidates.push((
            i,
            RANK_DUP_KEY,
            DocumentProblem::DuplicateKey { key, first },
        ));
    }
    candidates.extend(own);
    if let Some((index, _, problem)) = candidates
        .into_iter()
        .min_by_key(|(i, rank, _)| (*i, *rank))
    {
        return Err(Violation::Document { index, problem });
    }
    check_failures(documents, ids_ascend, failures)?;
    Ok(Totals {
        summary: counter.finish(),
        bytes,
    })
}

/// At one entry, rules are reported in this order.
const RANK_ID: u8 = 0;
const RANK_KEY: u8 = 1;
const RANK_DUP_KEY: u8 = 2;
const RANK_PARTS: u8 = 3;

fn check_failures(
    documents: &[Document],
    ids_ascend: bool,
    failures: &[FailedDocument],
) -> Result<(), Violation> {
    if failures.is_empty() {
        return Ok(());
    }
    let stored_at = |id: &str| -> Option<usize> {
        if ids_ascend {
            documents
                .binary_search_by(|d| d.document_id.as_str().cmp(id))
                .ok()
        } else {
            documents.iter().position(|d| d.document_id.as_str() == id)
        }
    };
    // Without an ascending order, looking each failure up in the documents is a scan; index
    // them instead (ids are unique by now).
    let index: Option<BTreeMap<&str, usize>> = (!ids_ascend && failures.len() > 8).then(|| {
        documents
            .iter()
            .enumerate()
            .map(|(i, d)| (d.document_id.as_str(), i))
            .collect()
    });
    let repeat = first_repeat(failures, |f| f.document_id.as_str());
    for (i, f) in failures.iter().enumerate() {
        let fail = |problem| Err(Violation::Failure { index: i, problem });
        if f.document_id.is_empty() {
            return fail(FailureProblem::EmptyId);
        }
        if let Some((at, first)) = repeat
            && at == i
        {
            return fail(FailureProblem::Duplicate { first });
        }
        let stored = match &index {
            Some(index) => index.get(f.document_id.as_str()).copied(),
            None => stored_at(&f.document_id),
        };
        if let Some(stored) = stored {
            return fail(FailureProblem::AlsoStored { stored });
        }
    }
    Ok(())
}

/// The first entry whose name an earlier entry has, and that earlier entry: `(later, earlier)`.
fn first_repeat<'a, T>(items: &'a [T], name: impl Fn(&'a T) -> &'a str) -> Option<(usize, usize)> {
    if items.windows(2).all(|w| name(&w[0]) < name(&w[1])) {
        return None;
    }
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_unstable_by(|&a, &b| name(&items[a]).cmp(name(&items[b])).then(a.cmp(&b)));
    // In a run of equal names sorted by position, the second is the first repeat of the run;
    // the earliest such second entry is reported, with the one entry before it.
    order
        .windows(2)
        .filter(|w| name(&items[w[0]]) == name(&items[w[1]]))
        .map(|w| (w[1], w[0]))
        .min()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::{Generator, GeneratorSpec};
    use crate::manifest::FailureStage;

    fn documents(count: u64) -> Vec<Document> {
        Generator::new(GeneratorSpec {
            date: date(),
            count,
            seed: 0,
        })
        .map(|g| g.document)
        .collect()
    }

    fn date() -> BackupDate {
        "2026-11-27".parse().unwrap()
    }

    fn failure(id: &str) -> FailedDocument {
        FailedDocument {
            document_id: id.into(),
            source: None,
            stage: FailureStage::Read,
            reason: "unreadable".into(),
            attempts: 1,
        }
    }

    fn problem(docs: &[Document], failures: &[FailedDocument]) -> Option<(usize, &'static str)> {
        match check(date(), docs, failures) {
            Ok(_) => None,
            Err(Violation::Document { index, problem }) => Some((index, problem.code())),
            Err(Violation::Failure { index, problem }) => Some((index, problem.code())),
        }
    }

    #[test]
    fn canonical_input_passes_and_adds_up() {
        let docs = documents(50);
        let totals = check(date(), &docs, &[failure("zz")]).unwrap();
        assert_eq!(totals.summary, BackupSummary::of(&docs));
        assert_eq!(
            totals.bytes,
            docs.iter().map(|d| u128::from(d.file_size)).sum::<u128>()
        );
    }

    #[test]
    fn the_earliest_entry_is_reported_first() {
        let mut docs = documents(10);
        docs.swap(2, 7);
        docs[8] = docs[3].clone();
        docs[5].object_key = "backups/2026-11-27/documents/../x".into();
        // documents[5] breaks the key rule before documents[8] repeats documents[3].
        assert_eq!(problem(&docs, &[]), Some((5, "unsafe_key")));
        let mut docs = documents(10);
        docs[6] = docs[1].clone();
        docs[6].object_key = "elsewhere".into();
        // At one entry, a repeated id is reported before a bad key.
        assert_eq!(problem(&docs, &[]), Some((6, "duplicate_document_id")));
        let mut docs = documents(10);
        docs[4].object_key = docs[2].object_key.clone();
        assert_eq!(problem(&docs, &[]), Some((4, "duplicate_object_key")));
    }

    #[test]
    fn a_repeat_names_the_entry_it_repeats() {
        let mut docs = documents(6);
        docs[5] = docs[2].clone();
        docs[4] = docs[2].clone();
        let Err(Violation::Document { index, problem }) = check(date(), &docs, &[]) else {
            panic!("a repeat");
        };
        assert_eq!(
            (index, problem),
            (4, DocumentProblem::DuplicateId { first: 2 })
        );
    }

    #[test]
    fn failures_are_named_reported_once_and_not_stored() {
        let docs = documents(5);
        let stored = docs[3].document_id.to_string();
        assert_eq!(
            problem(&docs, &[failure("a"), failure("")]),
            Some((1, "empty_failure_id"))
        );
        assert_eq!(
            problem(&docs, &[failure("b"), failure("a"), failure("b")]),
            Some((2, "duplicate_failure"))
        );
        assert_eq!(
            problem(&docs, &[failure("a"), failure(&stored)]),
            Some((1, "stored_and_failed"))
        );
        let mut shuffled = docs.clone();
        shuffled.reverse();
        let many: Vec<FailedDocument> = (0..20)
            .map(|i| failure(&format!("f{i}")))
            .chain([failure(&stored)])
            .collect();
        assert_eq!(problem(&shuffled, &many), Some((20, "stored_and_failed")));
    }
}
