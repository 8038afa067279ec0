//! The summary of a day's stored documents: counts by type and by department, and total bytes.

use std::collections::BTreeMap;

use super::BackupSummary;
use crate::model::{Document, Label};

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
pub(crate) struct SummaryCounter {
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
    pub(crate) fn add(&mut self, doc: &Document) {
        self.types.bump(&doc.doc_type);
        self.departments.bump(&doc.metadata.department);
        self.bytes = self.bytes.saturating_add(doc.file_size);
    }

    pub(crate) fn finish(self) -> BackupSummary {
        BackupSummary {
            document_types: self.types.finish(),
            departments: self.departments.finish(),
            total_size_bytes: self.bytes,
        }
    }
}
