//! The convention that turns a relative path (a file below a source directory, an object key
//! below a source prefix) into a document's attributes. One function, [`attributes`], so every
//! host and every kind of source describes the same path the same way.
//!
//! For a document with id (relative path) `P`, segments joined by `/`:
//! * **department** = the first segment of `P`, lowercased, when `P` has more than one segment
//!   and that segment is a valid label (`a-z`, `0-9`, `-`, `_`); otherwise `unassigned`;
//! * **type** = the extension, lowercased, when it is a valid label (`report.PDF` -> `pdf`);
//!   otherwise `document`;
//! * **priority** `medium`, **confidential** `false` (a plain file carries no such data);
//! * **content type** from the extension (a fixed table), else `application/octet-stream`.
//!
//! The created date is the host's to give (a file's modification time, an object's
//! `LastModified`), as is the stored key (`documents/P`).

use compact_str::CompactString;

use crate::model::{DocumentId, DocumentMetadata, Label, Priority};

/// What the convention says about a document (see the module documentation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attributes {
    /// Document type.
    pub doc_type: Label,
    /// Business metadata.
    pub metadata: DocumentMetadata,
    /// MIME type: the convention's own static text, so a record holds it without a copy.
    pub content_type: CompactString,
}

/// The convention: type, department, priority, confidentiality and content type of the
/// document with id (relative path) `id`. The one place these are decided.
pub fn attributes(id: &DocumentId) -> Attributes {
    let path = id.as_str();
    let label = |s: &str| Label::new(&s.to_ascii_lowercase()).ok();
    let fixed = |s: &str| Label::new(s).unwrap_or_else(|_| unreachable!("constant label {s}"));
    let department = path
        .split_once('/')
        .and_then(|(first, _)| label(first))
        .unwrap_or_else(|| fixed("unassigned"));
    let file_name = path.rsplit('/').next().unwrap_or(path);
    let ext = file_name
        .rsplit_once('.')
        .filter(|(stem, ext)| !stem.is_empty() && !ext.is_empty())
        .map(|(_, ext)| ext.to_ascii_lowercase());
    let doc_type = ext
        .as_deref()
        .and_then(label)
        .unwrap_or_else(|| fixed("document"));
    Attributes {
        doc_type,
        metadata: DocumentMetadata {
            department,
            priority: Priority::Medium,
            confidential: false,
        },
        content_type: CompactString::const_new(content_type(ext.as_deref())),
    }
}

/// MIME types by (lowercased) extension.
const CONTENT_TYPES: &[(&[&str], &str)] = &[
    (&["txt", "text", "log"], "text/plain; charset=utf-8"),
    (&["csv"], "text/csv"),
    (&["tsv"], "text/tab-separated-values"),
    (&["md"], "text/markdown; charset=utf-8"),
    (&["html", "htm"], "text/html"),
    (&["json"], "application/json"),
    (&["xml"], "application/xml"),
    (&["pdf"], "application/pdf"),
    (&["rtf"], "application/rtf"),
    (&["doc"], "application/msword"),
    (
        &["docx"],
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ),
    (&["xls"], "application/vnd.ms-excel"),
    (
        &["xlsx"],
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ),
    (&["ppt"], "application/vnd.ms-powerpoint"),
    (
        &["pptx"],
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ),
    (&["odt"], "application/vnd.oasis.opendocument.text"),
    (&["ods"], "application/vnd.oasis.opendocument.spreadsheet"),
    (&["eml"], "message/rfc822"),
    (&["png"], "image/png"),
    (&["jpg", "jpeg"], "image/jpeg"),
    (&["gif"], "image/gif"),
    (&["tif", "tiff"], "image/tiff"),
    (&["zip"], "application/zip"),
];

/// The MIME type of any other extension, or of none.
const UNKNOWN_CONTENT_TYPE: &str = "application/octet-stream";

/// MIME type by (lowercased) extension.
pub fn content_type(ext: Option<&str>) -> &'static str {
    let ext = ext.unwrap_or("");
    CONTENT_TYPES
        .iter()
        .find(|(exts, _)| exts.contains(&ext))
        .map_or(UNKNOWN_CONTENT_TYPE, |(_, mime)| mime)
}

/// `mime` as the convention's own `'static` text when it is one of its types (so a record can
/// hold it without a copy), `None` for any other.
pub fn known_content_type(mime: &str) -> Option<&'static str> {
    CONTENT_TYPES
        .iter()
        .map(|(_, known)| *known)
        .chain([UNKNOWN_CONTENT_TYPE])
        .find(|known| *known == mime)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(path: &str) -> (String, String, String) {
        let a = attributes(&DocumentId::new(path).unwrap());
        assert_eq!(a.metadata.priority, Priority::Medium);
        assert!(!a.metadata.confidential);
        (
            a.doc_type.to_string(),
            a.metadata.department.to_string(),
            a.content_type.to_string(),
        )
    }

    #[test]
    fn the_convention() {
        assert_eq!(
            attrs("finance/2026/q1.PDF"),
            ("pdf".into(), "finance".into(), "application/pdf".into())
        );
        assert_eq!(
            attrs("Sales/deal.docx").1,
            "sales",
            "department is lowercased"
        );
        assert_eq!(
            attrs("notes.txt"),
            (
                "txt".into(),
                "unassigned".into(),
                "text/plain; charset=utf-8".into()
            )
        );
        assert_eq!(
            attrs("my docs/README"),
            (
                "document".into(),
                "unassigned".into(),
                "application/octet-stream".into()
            )
        );
        assert_eq!(
            attrs("hr/.profile").0,
            "document",
            "a dot file has no extension"
        );
        assert_eq!(attrs("hr/a.tar~").0, "document", "not a label");
    }

    #[test]
    fn every_type_the_convention_gives_is_known() {
        for ext in CONTENT_TYPES.iter().flat_map(|(exts, _)| *exts) {
            let mime = content_type(Some(ext));
            assert_eq!(known_content_type(mime), Some(mime), "{ext}");
        }
        assert_eq!(
            known_content_type(content_type(None)),
            Some(UNKNOWN_CONTENT_TYPE)
        );
        assert_eq!(known_content_type("text/plain"), None);
    }
}
