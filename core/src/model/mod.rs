//! The data model of one business document and the small value types it is made of.
//!
//! Every type here serializes to one canonical text form, so a value written on one host
//! reads back equal on every other host.

use std::fmt;
use std::str::FromStr;

use compact_str::CompactString;
use serde::{Deserialize, Deserializer, Serialize};

mod digest;
mod time;

pub use digest::{PartedHasher, Sha256Digest, Sha256Hasher, UploadParts};
pub use time::{BackupDate, Timestamp};

/// A problem with one value, independent of where it appears.
///
/// Callers add the location (field, document) when they report it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValueError {
    /// A date is not a calendar date written as `YYYY-MM-DD`.
    #[error("`{value}` is not a date: write it as YYYY-MM-DD, e.g. 2026-11-27")]
    Date { value: String },
    /// A timestamp is not RFC 3339.
    #[error(
        "`{value}` is not an RFC 3339 timestamp: write it with a zone, e.g. 2026-11-27T02:00:00Z"
    )]
    Timestamp { value: String },
    /// A checksum is not `sha256:` followed by 64 lowercase hex digits.
    #[error("`{value}` is not a SHA-256 checksum: expected `sha256:` and 64 lowercase hex digits")]
    Checksum { value: String },
    /// A label (type, department, environment) has characters outside `[a-z0-9_-]`.
    #[error(
        "`{value}` is not a valid label: use 1 to 64 characters from a-z, 0-9, `-` and `_`, starting with a letter or digit"
    )]
    Label { value: String },
    /// A document id cannot be used as a relative object key.
    #[error("`{value}` is not a valid document id: {problem}")]
    DocumentId {
        value: String,
        problem: &'static str,
    },
    /// A priority outside low/medium/high.
    #[error("`{value}` is not a priority: use low, medium or high")]
    Priority { value: String },
}

/// A short lowercase name: a document type, a department or an environment.
///
/// Stored inline (no allocation) up to 24 bytes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Label(CompactString);

impl Label {
    /// Checks and wraps `s`.
    pub fn new(s: &str) -> Result<Self, ValueError> {
        let b = s.as_bytes();
        let ok = !b.is_empty()
            && b.len() <= 64
            && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
            && b.iter()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-' || *c == b'_');
        if ok {
            Ok(Self(CompactString::new(s)))
        } else {
            Err(ValueError::Label {
                value: s.to_owned(),
            })
        }
    }

    /// The label text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Label {
    type Err = ValueError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl<'de> Deserialize<'de> for Label {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::new(&s).map_err(serde::de::Error::custom)
    }
}

/// The identity of a document inside one day's backup.
///
/// It is also the document's path below `documents/`, so it must be a clean relative path:
/// segments of `[A-Za-z0-9._-]` and other printable non-ASCII-control characters, separated by
/// `/`, none empty, `.` or `..`, at most 512 bytes. This is what keeps a restore inside its
/// target directory.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct DocumentId(CompactString);

impl DocumentId {
    /// The longest id, in bytes.
    pub const MAX_LEN: usize = 512;

    /// Checks and wraps `s`.
    pub fn new(s: &str) -> Result<Self, ValueError> {
        let problem = if s.len() > Self::MAX_LEN {
            Some("it is longer than 512 bytes")
        } else {
            relative_path_problem(s)
        };
        match problem {
            None => Ok(Self(CompactString::new(s))),
            Some(problem) => Err(ValueError::DocumentId {
                value: s.to_owned(),
                problem,
            }),
        }
    }

    /// The id text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DocumentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for DocumentId {
    type Err = ValueError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl<'de> Deserialize<'de> for DocumentId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::new(&s).map_err(serde::de::Error::custom)
    }
}

/// How urgent a document is, as the business systems tag it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
}

impl Priority {
    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
        }
    }
}

impl FromStr for Priority {
    type Err = ValueError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "low" => Ok(Self::Low),
            "medium" => Ok(Self::Medium),
            "high" => Ok(Self::High),
            _ => Err(ValueError::Priority {
                value: s.to_owned(),
            }),
        }
    }
}

/// What keeps `s` from being a safe relative path (a document id, the part of an object key
/// below `documents/`, a restored file's path), or `None`: `/`-separated segments, none empty,
/// `.` or `..`, no leading `/`, no backslash and no control character. Joined below any root,
/// such a path stays below it; printed, it cannot move a terminal's cursor. The one rule for
/// every path that comes from a manifest or a source.
pub fn relative_path_problem(s: &str) -> Option<&'static str> {
    let b = s.as_bytes();
    if b.is_empty() {
        return Some("it is empty");
    }
    if b[0] == b'/' {
        return Some("it starts with `/`: it must be a relative path");
    }
    // One pass over the bytes: control characters are C0 and DEL (one byte) and C1 (U+0080 to
    // U+009F, encoded 0xC2 0x80..=0x9F); segments end at `/` or at the end.
    let mut segment_start = 0;
    for (i, &c) in b.iter().enumerate() {
        match c {
            0x00..=0x1f | 0x7f | b'\\' => {
                return Some("it contains a control character or a backslash");
            }
            0xc2 if matches!(b.get(i + 1), Some(0x80..=0x9f)) => {
                return Some("it contains a control character or a backslash");
            }
            b'/' => {
                if matches!(&b[segment_start..i], b"" | b"." | b"..") {
                    return Some("it has an empty, `.` or `..` path segment");
                }
                segment_start = i + 1;
            }
            _ => {}
        }
    }
    if matches!(&b[segment_start..], b"" | b"." | b"..") {
        return Some("it has an empty, `.` or `..` path segment");
    }
    None
}

/// Business metadata carried with each document (the spec's `metadata` object).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentMetadata {
    /// Owning department (`finance`, `hr`, ...).
    pub department: Label,
    /// Priority.
    pub priority: Priority,
    /// Whether the document is confidential.
    pub confidential: bool,
}

/// One business document as it appears in a manifest: everything about it except its body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Document {
    /// Identity within the day (also its path below `documents/`).
    pub document_id: DocumentId,
    /// Document type (`invoice`, `receipt`, ...).
    #[serde(rename = "type")]
    pub doc_type: Label,
    /// When the document was created.
    pub created_date: Timestamp,
    /// Body size in bytes.
    pub file_size: u64,
    /// SHA-256 of the body.
    pub checksum: Sha256Digest,
    /// MIME type of the body.
    pub content_type: CompactString,
    /// Object key of the stored body, relative to the backup root.
    pub object_key: String,
    /// Where the body came from (a path or an S3 key), when it came from somewhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// For a body stored in parts: how the store's checksum of it is formed. Boxed: few
    /// documents have parts, and inline they would make every record 48 bytes larger (a
    /// manifest holds a million records).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parts: Option<Box<UploadParts>>,
    /// Business metadata.
    pub metadata: DocumentMetadata,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_ids_stay_relative() {
        for ok in ["invoice_0001", "finance/2026/a b.pdf", "é.txt"] {
            assert!(DocumentId::new(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "/etc/passwd",
            "a/../b",
            "..",
            "a//b",
            "a/./b",
            "a\\b",
            "a\nb",
        ] {
            assert!(DocumentId::new(bad).is_err(), "{bad:?}");
        }
    }

    proptest::proptest! {
        /// The byte scan of `relative_path_problem` is the rule written out with `char`s.
        #[test]
        fn the_path_rule_is_the_char_rule(
            s in proptest::prelude::any::<String>(),
            path in "[a./\\\\\u{0}-\u{1f}\u{7f}-\u{a0}é]{0,8}",
        ) {
            for s in [s.as_str(), path.as_str()] {
                let reference = !s.is_empty()
                    && !s.starts_with('/')
                    && !s.chars().any(|c| c.is_control() || c == '\\')
                    && !s.split('/').any(|seg| seg.is_empty() || seg == "." || seg == "..");
                proptest::prop_assert_eq!(relative_path_problem(s).is_none(), reference, "{:?}", s);
            }
        }
    }

    #[test]
    fn labels() {
        assert!(Label::new("operations").is_ok());
        for bad in ["", "Finance", "-x", "a b"] {
            assert!(Label::new(bad).is_err(), "{bad:?}");
        }
    }
}
