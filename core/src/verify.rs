//! Verification of a stored day against its manifest, as a comparison of data: the host lists
//! what the store holds (key, size, and the SHA-256 the store reports or the host computed) and
//! the core says what is missing, extra, resized or different.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::layout::Layout;
use crate::manifest::Manifest;
use crate::model::Sha256Digest;

/// One object as a store reports it, key relative to the backup root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedObject {
    /// Key relative to the backup root (`backups/{date}/documents/...`).
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256 as the store reports it or the host computed it; `None` when unknown.
    pub checksum: Option<Sha256Digest>,
}

/// A stored object that differs from its manifest entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mismatch {
    /// The document.
    pub document_id: String,
    /// Its key.
    pub key: String,
    /// What the manifest says.
    pub expected: String,
    /// What the store holds.
    pub actual: String,
}

/// The result of comparing a manifest with a listing. Every list is sorted by key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// Documents in the manifest.
    pub expected: u64,
    /// Documents whose size and checksum match.
    pub verified: u64,
    /// Manifest documents with no object.
    pub missing: Vec<String>,
    /// Objects under the day's `documents/` that the manifest does not list.
    pub extra: Vec<String>,
    /// Objects whose size differs.
    pub size_mismatch: Vec<Mismatch>,
    /// Objects whose checksum differs.
    pub checksum_mismatch: Vec<Mismatch>,
    /// Objects of the right size whose checksum the store could not give.
    pub unverified: Vec<String>,
}

impl VerifyReport {
    /// No problem of any kind.
    pub fn is_clean(&self) -> bool {
        self.missing.is_empty()
            && self.extra.is_empty()
            && self.size_mismatch.is_empty()
            && self.checksum_mismatch.is_empty()
            && self.unverified.is_empty()
    }

    /// Number of problems found.
    pub fn problems(&self) -> usize {
        self.missing.len()
            + self.extra.len()
            + self.size_mismatch.len()
            + self.checksum_mismatch.len()
            + self.unverified.len()
    }
}

/// Compares `manifest` with what a store holds.
pub fn verify_objects(
    manifest: &Manifest,
    observed: impl IntoIterator<Item = ObservedObject>,
) -> VerifyReport {
    let prefix = Layout::new(manifest.backup_date).documents_prefix();
    let mut seen: BTreeMap<String, ObservedObject> = observed
        .into_iter()
        .filter(|o| o.key.starts_with(&prefix))
        .map(|o| (o.key.clone(), o))
        .collect();
    let mut report = VerifyReport {
        expected: manifest.documents.len() as u64,
        ..VerifyReport::default()
    };
    for doc in &manifest.documents {
        let Some(obj) = seen.remove(&doc.object_key) else {
            report.missing.push(doc.object_key.clone());
            continue;
        };
        let mismatch = |expected: String, actual: String| Mismatch {
            document_id: doc.document_id.to_string(),
            key: doc.object_key.clone(),
            expected,
            actual,
        };
        if obj.size != doc.file_size {
            report
                .size_mismatch
                .push(mismatch(doc.file_size.to_string(), obj.size.to_string()));
            continue;
        }
        match obj.checksum {
            Some(c) if c == doc.checksum => report.verified += 1,
            Some(c) => report
                .checksum_mismatch
                .push(mismatch(doc.checksum.to_string(), c.to_string())),
            None => report.unverified.push(doc.object_key.clone()),
        }
    }
    report.extra = seen.into_keys().collect();
    report.missing.sort();
    report.size_mismatch.sort_by(|a, b| a.key.cmp(&b.key));
    report.checksum_mismatch.sort_by(|a, b| a.key.cmp(&b.key));
    report.unverified.sort();
    report
}
