//! Restores as data: which documents a restore copies and to which relative path
//! ([`plan_restore`]), and the report every host gives ([`RestoreReport`]).
//!
//! A restored document keeps its path below the day's `documents/` folder. That path comes from
//! the manifest, which is untrusted input, so it passes the one key rule
//! ([`Layout::document_path`]): relative, no `.`/`..`/empty segment, no backslash or control
//! character. Every host joins it below its target (a directory, a prefix) only through this
//! function.

use serde::Serialize;

use crate::layout::{KeyError, Layout};
use crate::manifest::Manifest;
use crate::model::Document;

/// One document to restore.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RestoreItem<'m> {
    /// Its manifest entry.
    pub document: &'m Document,
    /// Its path below the target: `/`-separated, safe to join below any root.
    pub path: &'m str,
}

/// Why a restore cannot start from a manifest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RestorePlanError {
    /// The document asked for is not in the manifest.
    #[error(
        "document `{}` is not in the manifest of {date} ({count} documents): give a \
         `document_id` that its manifest.json lists",
        crate::text::escaped(id)
    )]
    UnknownDocument {
        /// The id asked for.
        id: String,
        /// The day.
        date: crate::model::BackupDate,
        /// How many documents the day has.
        count: usize,
    },
    /// A manifest key that does not map to a safe path: nothing is restored from this manifest.
    #[error(
        "document `{}` cannot be restored: {error}; refusing to restore from this manifest",
        crate::text::escaped(document_id)
    )]
    UnsafeKey {
        /// The document.
        document_id: String,
        /// What is wrong with its key.
        error: KeyError,
    },
}

impl RestorePlanError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnknownDocument { .. } => "unknown_document",
            Self::UnsafeKey { error, .. } => error.code(),
        }
    }
}

/// The documents of `manifest` to restore, all or the one with id `document`, each with its
/// path below the target, in manifest order. Every key is checked before any is returned, so a
/// host never writes part of a restore from a manifest that holds an unsafe key.
///
/// # Errors
/// [`RestorePlanError`].
pub fn plan_restore<'m>(
    manifest: &'m Manifest,
    document: Option<&str>,
) -> Result<Vec<RestoreItem<'m>>, RestorePlanError> {
    let selected: Vec<&Document> = match document {
        None => manifest.documents.iter().collect(),
        Some(id) => {
            vec![
                manifest
                    .document(id)
                    .ok_or_else(|| RestorePlanError::UnknownDocument {
                        id: id.to_owned(),
                        date: manifest.backup_date,
                        count: manifest.documents.len(),
                    })?,
            ]
        }
    };
    let layout = Layout::new(manifest.backup_date);
    selected
        .into_iter()
        .map(|document| {
            layout
                .document_path(&document.object_key)
                .map(|path| RestoreItem { document, path })
                .map_err(|error| RestorePlanError::UnsafeKey {
                    document_id: document.document_id.to_string(),
                    error,
                })
        })
        .collect()
}

/// Why one document was not restored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NotRestoredKind {
    /// The stored bytes are not the manifest's: nothing was written for it.
    Integrity,
    /// The stored copy does not exist.
    Missing,
    /// Reading it from the store failed (retrying may help).
    Store,
    /// The target exists and overwriting was not asked for.
    Exists,
    /// Writing the target failed.
    Write,
}

impl NotRestoredKind {
    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Integrity => "integrity",
            Self::Missing => "missing",
            Self::Store => "store",
            Self::Exists => "exists",
            Self::Write => "write",
        }
    }
}

/// One document that was not restored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotRestored {
    /// The document.
    pub document_id: String,
    /// Its key in the backup.
    pub key: String,
    /// What kind of failure.
    pub kind: NotRestoredKind,
    /// What happened.
    pub error: String,
}

/// The result of a restore.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RestoreReport {
    /// Documents asked for.
    pub requested: u64,
    /// Documents restored.
    pub restored: u64,
    /// Bytes restored.
    pub bytes: u64,
    /// Documents not restored, with why, sorted by key.
    pub failed: Vec<NotRestored>,
}

impl RestoreReport {
    /// Adds the outcome of one document.
    pub fn add(&mut self, outcome: Result<u64, NotRestored>) {
        match outcome {
            Ok(bytes) => {
                self.restored += 1;
                self.bytes += bytes;
            }
            Err(failed) => self.failed.push(failed),
        }
    }

    /// Sorts the failures by key (call once every outcome is in).
    pub fn finish(mut self) -> Self {
        self.failed.sort_by(|a, b| a.key.cmp(&b.key));
        self
    }

    /// Whether any document failed because its bytes are not the manifest's.
    pub fn has_integrity_failures(&self) -> bool {
        self.failed
            .iter()
            .any(|f| f.kind == NotRestoredKind::Integrity)
    }

    /// Whether every failure is one a retry can help with (store errors only).
    pub fn only_store_failures(&self) -> bool {
        self.failed.iter().all(|f| f.kind == NotRestoredKind::Store)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::{Generator, GeneratorSpec};
    use crate::manifest::{ManifestHeader, SourceDescription};

    fn manifest() -> Manifest {
        let date = "2026-11-27".parse().unwrap();
        let docs = Generator::new(GeneratorSpec {
            date,
            count: 3,
            seed: 0,
        })
        .map(|g| g.document)
        .collect();
        let header = ManifestHeader {
            backup_date: date,
            backup_timestamp: "2026-11-28T02:00:00Z".parse().unwrap(),
            environment: "prod".parse().unwrap(),
            run_id: None,
            source: SourceDescription::Generator { count: 3, seed: 0 },
        };
        Manifest::assemble(header, docs, Vec::new()).unwrap()
    }

    #[test]
    fn every_document_maps_to_its_path_below_documents() {
        let m = manifest();
        let items = plan_restore(&m, None).unwrap();
        let paths: Vec<&str> = items.iter().map(|i| i.path).collect();
        assert_eq!(
            paths,
            ["contract_0002.txt", "invoice_0000.csv", "receipt_0001.csv"]
        );
        let one = plan_restore(&m, Some("receipt_0001")).unwrap();
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].document.document_id.as_str(), "receipt_0001");
        let e = plan_restore(&m, Some("nope\u{1b}")).unwrap_err();
        assert_eq!(e.code(), "unknown_document");
        assert!(e.to_string().contains("nope\\u{1b}"), "{e}");
    }

    #[test]
    fn one_unsafe_key_refuses_the_whole_restore() {
        let mut m = manifest();
        m.documents[2].object_key =
            "backups/2026-11-27/documents/a/../../../../etc/cron.d/x".into();
        let e = plan_restore(&m, None).unwrap_err();
        assert_eq!(e.code(), "unsafe_key");
        // Selecting another document still works: only what is restored is judged.
        assert!(plan_restore(&m, Some("contract_0002")).is_ok());
    }

    #[test]
    fn reports_add_up_and_sort() {
        let mut r = RestoreReport {
            requested: 3,
            ..RestoreReport::default()
        };
        let fail = |key: &str, kind| NotRestored {
            document_id: key.into(),
            key: key.into(),
            kind,
            error: "x".into(),
        };
        r.add(Err(fail("b", NotRestoredKind::Store)));
        r.add(Ok(10));
        r.add(Err(fail("a", NotRestoredKind::Integrity)));
        let r = r.finish();
        assert_eq!((r.restored, r.bytes), (1, 10));
        assert_eq!(r.failed[0].key, "a");
        assert!(r.has_integrity_failures() && !r.only_store_failures());
    }
}
