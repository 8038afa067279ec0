//! Where things live in a backup, relative to the backup root (an S3 bucket and prefix, or a
//! local directory): the spec's `backups/{date}/documents/...` and `backups/{date}/manifest.json`.
//!
//! Keys in a manifest are relative to the root, so a backup set can be moved between a local
//! directory and any bucket or prefix unchanged.

use crate::model::{BackupDate, DocumentId};

/// The key layout of one day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    day_prefix: String,
}

impl Layout {
    /// The layout of `date`.
    pub fn new(date: BackupDate) -> Self {
        Self {
            day_prefix: format!("backups/{date}/"),
        }
    }

    /// `backups/{date}/`.
    pub fn day_prefix(&self) -> &str {
        &self.day_prefix
    }

    /// `backups/{date}/documents/`: every document key starts with this.
    pub fn documents_prefix(&self) -> String {
        format!("{}documents/", self.day_prefix)
    }

    /// `backups/{date}/documents/{id}[.{ext}]`.
    pub fn document_key(&self, id: &DocumentId, ext: Option<&str>) -> String {
        let id = id.as_str();
        let ext_len = ext.map_or(0, |e| e.len() + 1);
        let mut key = String::with_capacity(self.day_prefix.len() + 10 + id.len() + ext_len);
        key.push_str(&self.day_prefix);
        key.push_str("documents/");
        key.push_str(id);
        if let Some(ext) = ext {
            key.push('.');
            key.push_str(ext);
        }
        key
    }

    /// `backups/{date}/manifest.json`: the commit point. It exists only for a complete backup.
    pub fn manifest_key(&self) -> String {
        format!("{}manifest.json", self.day_prefix)
    }

    /// `backups/{date}/incomplete/{run}.json`: the report of a run that could not store every
    /// document. It never counts as a backup; a later run for the same day completes it.
    pub fn incomplete_report_key(&self, run: &str) -> String {
        format!("{}incomplete/{run}.json", self.day_prefix)
    }
}

/// A key prefix below the bucket or directory root (`""` or ending in `/`).
///
/// # Errors
/// Returns the offending prefix when it starts with `/` or contains an empty, `.` or `..`
/// segment.
pub fn normalize_prefix(prefix: &str) -> Result<String, String> {
    let trimmed = prefix.trim_end_matches('/');
    if trimmed.is_empty() {
        return Ok(String::new());
    }
    if trimmed.starts_with('/')
        || trimmed
            .split('/')
            .any(|s| s.is_empty() || s == "." || s == "..")
    {
        return Err(prefix.to_owned());
    }
    Ok(format!("{trimmed}/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_layout() {
        let l = Layout::new("2026-11-27".parse().unwrap());
        let id = DocumentId::new("invoice_0000").unwrap();
        assert_eq!(
            l.document_key(&id, Some("csv")),
            "backups/2026-11-27/documents/invoice_0000.csv"
        );
        assert_eq!(l.manifest_key(), "backups/2026-11-27/manifest.json");
        assert_eq!(normalize_prefix("team-a/").unwrap(), "team-a/");
        assert_eq!(normalize_prefix("").unwrap(), "");
        assert!(normalize_prefix("a/../b").is_err());
    }
}
