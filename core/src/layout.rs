//! Where things live in a backup, relative to the backup root (an S3 bucket and prefix, or a
//! local directory): the spec's `backups/{date}/documents/...` and `backups/{date}/manifest.json`.
//!
//! Keys in a manifest are relative to the root, so a backup set can be moved between a local
//! directory and any bucket or prefix unchanged. This module holds the rules every host applies
//! to keys and prefixes, once: what a document key may be ([`Layout::document_path`]), what a
//! key prefix may be ([`KeyPrefix`]), and where a restore may write
//! ([`check_restore_target`]).

use std::fmt;
use std::str::FromStr;

use crate::model::{BackupDate, DocumentId, relative_path_problem};

/// The longest object key S3 accepts, in bytes; a document key (relative to the root) must
/// leave room for it.
pub const MAX_KEY_LEN: usize = 1024;

/// The folder, below the root, that holds every day of backups.
pub const BACKUPS_FOLDER: &str = "backups/";

/// The key layout of one day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    day_prefix: String,
    /// Kept, not formatted per call: every document key of a manifest is checked against it.
    documents_prefix: String,
}

impl Layout {
    /// The layout of `date`.
    pub fn new(date: BackupDate) -> Self {
        let day_prefix = format!("{BACKUPS_FOLDER}{date}/");
        Self {
            documents_prefix: format!("{day_prefix}documents/"),
            day_prefix,
        }
    }

    /// `backups/{date}/`.
    pub fn day_prefix(&self) -> &str {
        &self.day_prefix
    }

    /// `backups/{date}/documents/`: every document key starts with this.
    pub fn documents_prefix(&self) -> String {
        self.documents_prefix.clone()
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

    /// `backups/{date}/manifest-parts/{index:05}-{sha256 hex}.json`: part `index` of a day's
    /// manifest written in parts ([`crate::manifest::parted`]), named by its own SHA-256, so a
    /// part is never replaced by other bytes under the same name. Written before the root at
    /// [`manifest_key`](Self::manifest_key), which lists them.
    pub fn manifest_part_key(&self, index: usize, sha256: &crate::model::Sha256Digest) -> String {
        format!(
            "{}manifest-parts/{index:05}-{}.json",
            self.day_prefix,
            sha256.to_hex()
        )
    }

    /// `backups/{date}/incomplete/{run}.json`: the report of a run that could not store every
    /// document. It never counts as a backup; a later run for the same day completes it.
    pub fn incomplete_report_key(&self, run: &str) -> String {
        format!("{}incomplete/{run}.json", self.day_prefix)
    }

    /// `backups/{date}/incomplete/`: where the day's incomplete-run reports are.
    pub fn incomplete_prefix(&self) -> String {
        format!("{}incomplete/", self.day_prefix)
    }

    /// `backups/{date}/lease.json`: the lock a run holds on the day while it writes
    /// ([`crate::lease`]).
    pub fn lease_key(&self) -> String {
        format!("{}lease.json", self.day_prefix)
    }

    /// `backups/{date}/legal-hold.json`: the record of the day's legal hold (set or cleared,
    /// when, by which run): the manifest is immutable, so the hold is recorded beside it.
    pub fn legal_hold_key(&self) -> String {
        format!("{}legal-hold.json", self.day_prefix)
    }

    /// `backups/{date}/pruning.json`: where a prune moves the day's manifest before it deletes
    /// the day, so that an interrupted prune never leaves a manifest naming deleted documents
    /// ([`crate::prune`]).
    pub fn pruning_key(&self) -> String {
        format!("{}pruning.json", self.day_prefix)
    }

    /// Whether a legal hold on the day covers the object at `key` (relative to the backup
    /// root): every object of the day but its lease and its hold record, which are replaced.
    pub fn is_held_with_day(&self, key: &str) -> bool {
        key.starts_with(&self.day_prefix) && key != self.lease_key() && key != self.legal_hold_key()
    }

    /// The path of a document below the day's `documents/` folder: the part of `key` after
    /// [`documents_prefix`](Self::documents_prefix), when `key` is one of this day's document
    /// keys. This is the one rule for keys from a manifest (untrusted input): the path is
    /// relative, has no empty, `.` or `..` segment, no backslash and no control character,
    /// and the whole key fits in [`MAX_KEY_LEN`] bytes. Joined below a restore target it stays
    /// below it.
    ///
    /// # Errors
    /// [`KeyError`] saying which part of the rule `key` breaks.
    pub fn document_path<'k>(&self, key: &'k str) -> Result<&'k str, KeyError> {
        let Some(path) = key.strip_prefix(&self.documents_prefix) else {
            return Err(KeyError::OutsideDay {
                key: key.to_owned(),
                expected_prefix: self.documents_prefix.clone(),
            });
        };
        if key.len() > MAX_KEY_LEN {
            return Err(KeyError::TooLong {
                key: key.to_owned(),
                len: key.len(),
            });
        }
        match relative_path_problem(path) {
            None => Ok(path),
            Some(problem) => Err(KeyError::Unsafe {
                key: key.to_owned(),
                problem,
            }),
        }
    }
}

/// Why a key is not one of a day's document keys.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// Not under the day's `documents/` prefix.
    #[error("object_key `{key}` is not under `{expected_prefix}`, where this day's documents live")]
    OutsideDay {
        /// The key.
        key: String,
        /// The day's documents prefix.
        expected_prefix: String,
    },
    /// The path below `documents/` could leave a restore target or fool a terminal.
    #[error(
        "object_key `{}` does not stay below documents/ as a safe path: {problem}",
        crate::text::escaped(key)
    )]
    Unsafe {
        /// The key.
        key: String,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// Longer than S3 allows.
    #[error("object_key is {len} bytes long; S3 keys have at most {MAX_KEY_LEN}")]
    TooLong {
        /// The key.
        key: String,
        /// Its length in bytes.
        len: usize,
    },
}

impl KeyError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::OutsideDay { .. } => "key_outside_day",
            Self::Unsafe { .. } => "unsafe_key",
            Self::TooLong { .. } => "key_too_long",
        }
    }
}

/// A key prefix below a bucket or directory root: `""`, or relative `/`-separated segments
/// ending in `/` (`team-a/`, `site/2026/`). Given without the trailing `/`, one is added.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyPrefix(String);

/// The longest prefix accepted: a key below it must still fit in [`MAX_KEY_LEN`].
const MAX_PREFIX_LEN: usize = 256;

impl KeyPrefix {
    /// The empty prefix (the root itself).
    pub const ROOT: Self = Self(String::new());

    /// Checks and normalizes `prefix` (trailing `/` added, repeated trailing `/` removed).
    ///
    /// # Errors
    /// [`PrefixError`] for an absolute prefix, an empty, `.` or `..` segment, a backslash or a
    /// control character, or a prefix longer than 256 bytes.
    pub fn parse(prefix: &str) -> Result<Self, PrefixError> {
        let trimmed = prefix.trim_end_matches('/');
        if trimmed.is_empty() && (prefix.is_empty() || prefix.len() == 1) {
            return Ok(Self::ROOT);
        }
        let problem = if trimmed.len() > MAX_PREFIX_LEN {
            Some("it is longer than 256 bytes")
        } else {
            relative_path_problem(trimmed)
        };
        match problem {
            None => Ok(Self(format!("{trimmed}/"))),
            Some(problem) => Err(PrefixError {
                value: prefix.to_owned(),
                problem,
            }),
        }
    }

    /// The prefix text (`""` or ending in `/`).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is the root.
    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// `key` below this prefix.
    pub fn join(&self, key: &str) -> String {
        let mut out = String::with_capacity(self.0.len() + key.len());
        out.push_str(&self.0);
        out.push_str(key);
        out
    }

    /// `key` relative to this prefix, when it is below it.
    pub fn strip<'k>(&self, key: &'k str) -> Option<&'k str> {
        key.strip_prefix(self.0.as_str())
    }

    /// `{self}backups/`: the area every day of backups lives in.
    pub fn backup_area(&self) -> Self {
        Self(self.join(BACKUPS_FOLDER))
    }
}

impl FromStr for KeyPrefix {
    type Err = PrefixError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for KeyPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A key prefix that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "key prefix `{}` is not usable: {problem}; give a relative prefix such as `team-a/`, \
     without `.`, `..`, empty segments, backslashes or control characters",
    crate::text::escaped(value)
)]
pub struct PrefixError {
    /// The prefix as given.
    pub value: String,
    /// What is wrong with it.
    pub problem: &'static str,
}

/// Why a restore may not write under a prefix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RestoreTargetError {
    /// The target is inside the backup area: restored objects could pose as backups.
    #[error(
        "restore target `{target}` is inside the backup area `{area}`: a restore never writes \
         among the backups; choose a prefix outside it, such as `restores/`"
    )]
    InsideBackups {
        /// The target prefix.
        target: String,
        /// The backup area.
        area: String,
    },
    /// The target contains the backup area: a restored object could land on a backup key
    /// (a day's manifest, say).
    #[error(
        "restore target `{}` contains the backup area `{area}`: restored objects could land on \
         backup keys; choose a prefix beside it, such as `restores/`",
        if target.is_empty() { "(the bucket root)" } else { target }
    )]
    ContainsBackups {
        /// The target prefix.
        target: String,
        /// The backup area.
        area: String,
    },
}

/// Where a restore may write in the bucket that holds the backups: neither inside the backup
/// area (`{backup_prefix}backups/`) nor above it. Every key a restore writes starts with the
/// target, so with neither prefix containing the other no restored key can be a backup key.
/// In another bucket any prefix is allowed.
///
/// # Errors
/// [`RestoreTargetError`] naming the overlap.
pub fn check_restore_target(
    backup_prefix: &KeyPrefix,
    target: &KeyPrefix,
    same_bucket: bool,
) -> Result<(), RestoreTargetError> {
    if !same_bucket {
        return Ok(());
    }
    let area = backup_prefix.backup_area();
    let (t, a) = (target.as_str(), area.as_str());
    if t.starts_with(a) {
        Err(RestoreTargetError::InsideBackups {
            target: t.to_owned(),
            area: a.to_owned(),
        })
    } else if a.starts_with(t) {
        Err(RestoreTargetError::ContainsBackups {
            target: t.to_owned(),
            area: a.to_owned(),
        })
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout() -> Layout {
        Layout::new("2026-11-27".parse().unwrap())
    }

    #[test]
    fn spec_layout() {
        let l = layout();
        let id = DocumentId::new("invoice_0000").unwrap();
        assert_eq!(
            l.document_key(&id, Some("csv")),
            "backups/2026-11-27/documents/invoice_0000.csv"
        );
        assert_eq!(l.manifest_key(), "backups/2026-11-27/manifest.json");
        assert_eq!(l.lease_key(), "backups/2026-11-27/lease.json");
        assert_eq!(l.legal_hold_key(), "backups/2026-11-27/legal-hold.json");
    }

    #[test]
    fn a_legal_hold_covers_the_day_but_its_lease_and_record() {
        let l = layout();
        for held in [
            "backups/2026-11-27/manifest.json",
            "backups/2026-11-27/documents/a.txt",
            "backups/2026-11-27/incomplete/r1.json",
        ] {
            assert!(l.is_held_with_day(held), "{held}");
        }
        for free in [
            "backups/2026-11-27/lease.json",
            "backups/2026-11-27/legal-hold.json",
            "backups/2026-11-28/manifest.json",
            "other/2026-11-27/manifest.json",
        ] {
            assert!(!l.is_held_with_day(free), "{free}");
        }
    }

    #[test]
    fn document_paths_are_safe_relative_paths() {
        let l = layout();
        assert_eq!(
            l.document_path("backups/2026-11-27/documents/finance/q1.pdf"),
            Ok("finance/q1.pdf")
        );
        let code = |key: &str| l.document_path(key).unwrap_err().code();
        assert_eq!(code("backups/2026-11-28/documents/x"), "key_outside_day");
        assert_eq!(code("backups/2026-11-27/manifest.json"), "key_outside_day");
        for bad in [
            "../../../etc/passwd",
            "a/../../b",
            "/etc/passwd",
            "a\\b",
            "a\0b",
            "a\nb",
            "\u{1b}[2J",
            "",
            "a//b",
            "./a",
        ] {
            let key = format!("backups/2026-11-27/documents/{bad}");
            assert_eq!(code(&key), "unsafe_key", "{bad:?}");
        }
        let long = format!("backups/2026-11-27/documents/{}", "a".repeat(5000));
        assert_eq!(code(&long), "key_too_long");
        let fits = format!(
            "backups/2026-11-27/documents/{}",
            "a".repeat(MAX_KEY_LEN - 29)
        );
        assert_eq!(fits.len(), MAX_KEY_LEN);
        assert!(l.document_path(&fits).is_ok());
    }

    #[test]
    fn prefixes() {
        let p = |s: &str| KeyPrefix::parse(s).map(|p| p.as_str().to_owned());
        assert_eq!(p("team-a/").unwrap(), "team-a/");
        assert_eq!(p("team-a").unwrap(), "team-a/");
        assert_eq!(p("team-a//").unwrap(), "team-a/");
        assert_eq!(p("").unwrap(), "");
        assert_eq!(p("/").unwrap(), "");
        for bad in ["a/../b", "/abs", "..", "a//b/", "a\\b", "a\u{7}b", "//"] {
            assert!(p(bad).is_err(), "{bad:?}");
        }
        assert!(p(&"x".repeat(300)).is_err());
        let e = KeyPrefix::parse("a/../b").unwrap_err();
        assert!(e.to_string().contains("team-a/"), "{e}");
    }

    #[test]
    fn a_restore_never_writes_into_or_over_the_backup_area() {
        let prefix = |s: &str| KeyPrefix::parse(s).unwrap();
        let check = |backup: &str, target: &str, same| {
            check_restore_target(&prefix(backup), &prefix(target), same)
        };
        assert!(check("", "restores/r1/", true).is_ok());
        assert!(check("site-a/", "site-a/restores/", true).is_ok());
        assert!(check("site-a/", "restores/", true).is_ok());
        assert!(check("", "backups-restored/", true).is_ok());
        for (backup, target) in [
            ("", "backups/"),
            ("", "backups/2026-11-28/"),
            ("site-a/", "site-a/backups/x/"),
        ] {
            assert!(
                matches!(
                    check(backup, target, true),
                    Err(RestoreTargetError::InsideBackups { .. })
                ),
                "{backup} {target}"
            );
        }
        // A target above the area: `to_prefix` `site-a/` with BACKUP_PREFIX `site-a/` would
        // put a restored `backups/2026-11-28/manifest.json` onto a real day's commit key.
        for (backup, target) in [("", ""), ("site-a/", "site-a/"), ("site-a/", "")] {
            assert!(
                matches!(
                    check(backup, target, true),
                    Err(RestoreTargetError::ContainsBackups { .. })
                ),
                "{backup} {target}"
            );
        }
        assert!(check("", "", false).is_ok(), "another bucket: anywhere");
    }
}
