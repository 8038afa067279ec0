//! Comparison of two manifests (yesterday and today, or two runs of one day).

use serde::Serialize;

use crate::manifest::Manifest;
use crate::model::Document;

/// A document present in both manifests whose record differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChangedDocument {
    /// The document.
    pub document_id: String,
    /// Names of the fields that differ, in manifest order.
    pub fields: Vec<&'static str>,
}

/// What changed from `old` to `new`. Lists are sorted by id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ManifestDiff {
    /// Ids only in `new`.
    pub added: Vec<String>,
    /// Ids only in `old`.
    pub removed: Vec<String>,
    /// Ids in both with different records.
    pub changed: Vec<ChangedDocument>,
    /// Ids in both with equal records (ignoring object keys, which carry the date).
    pub unchanged: u64,
}

/// Compares two manifests document by document.
pub fn compare(old: &Manifest, new: &Manifest) -> ManifestDiff {
    let mut a: Vec<&Document> = old.documents.iter().collect();
    let mut b: Vec<&Document> = new.documents.iter().collect();
    a.sort_by(|x, y| x.document_id.cmp(&y.document_id));
    b.sort_by(|x, y| x.document_id.cmp(&y.document_id));
    let mut diff = ManifestDiff::default();
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        match (a.get(i), b.get(j)) {
            (Some(x), Some(y)) if x.document_id == y.document_id => {
                let fields = changed_fields(x, y);
                if fields.is_empty() {
                    diff.unchanged += 1;
                } else {
                    diff.changed.push(ChangedDocument {
                        document_id: x.document_id.to_string(),
                        fields,
                    });
                }
                i += 1;
                j += 1;
            }
            (Some(x), Some(y)) if x.document_id < y.document_id => {
                diff.removed.push(x.document_id.to_string());
                i += 1;
            }
            (Some(x), None) => {
                diff.removed.push(x.document_id.to_string());
                i += 1;
            }
            (_, Some(y)) => {
                diff.added.push(y.document_id.to_string());
                j += 1;
            }
            (None, None) => break,
        }
    }
    diff
}

fn changed_fields(x: &Document, y: &Document) -> Vec<&'static str> {
    let mut f = Vec::new();
    if x.doc_type != y.doc_type {
        f.push("type");
    }
    if x.created_date != y.created_date {
        f.push("created_date");
    }
    if x.file_size != y.file_size {
        f.push("file_size");
    }
    if x.checksum != y.checksum {
        f.push("checksum");
    }
    if x.content_type != y.content_type {
        f.push("content_type");
    }
    if x.source != y.source {
        f.push("source");
    }
    if x.metadata != y.metadata {
        f.push("metadata");
    }
    f
}
