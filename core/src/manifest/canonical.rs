//! Reading canonical manifest text quickly: the mirror of `write`'s fast path.
//!
//! A manifest is mostly its documents list, and reading each record through serde spends most
//! of its time parsing constant keys and dispatching on them. Text in the exact layout docvault
//! writes (`write_list` and `write_document`: keys in order, no whitespace inside a record, no
//! escapes in strings) is read here byte by byte, each value checked by the same constructor
//! its serde implementation calls. The rest of the manifest (the fields around the list) is
//! still read by serde, from the text with the list left out.
//!
//! Anything else, even one record with an escaped character or a key out of order, gives
//! `None`, and the caller reads the whole text with serde, which decides. So whatever is read
//! here, serde reads to the same value: `Manifest::from_json` is held equal to the careful
//! reading (`Manifest::from_json_reference`) by the parse-error tests, a proptest that edits
//! valid manifests at random, and the `read_manifest_both_ways` fuzz target.

use compact_str::CompactString;

use super::Manifest;
use crate::convention::known_content_type;
use crate::model::{
    Document, DocumentId, DocumentMetadata, Label, Sha256Digest, Timestamp, UploadParts,
};

/// What opens the documents list in canonical text: a member of the root object.
const OPEN: &str = ",\n  \"documents\": [";

/// Reads `text` when it is canonical; `None` when it is not (or is not a manifest at all). The
/// result is not yet validated.
pub(super) fn read(text: &str) -> Option<Manifest> {
    let at = text.find(OPEN)?;
    if !at_top_level(&text.as_bytes()[..at]) {
        return None;
    }
    let list = at + OPEN.len();
    let (documents, len) = read_documents(&text[list..])?;
    // The same text with the list empty: serde reads every other field, and refuses the text
    // if anything around the list is wrong (including a second `documents`).
    let rest = &text[list + len..];
    let mut without = String::with_capacity(list + rest.len());
    without.push_str(&text[..list]);
    without.push_str(rest);
    let mut manifest: Manifest = serde_json::from_str(&without).ok()?;
    debug_assert!(manifest.documents.is_empty());
    manifest.documents = documents;
    Some(manifest)
}

/// Whether the end of `head` is a member position of the root object: inside exactly one
/// container, and not inside a string.
fn at_top_level(head: &[u8]) -> bool {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &b in head {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => depth += 1,
            b'}' | b']' => match depth.checked_sub(1) {
                Some(d) => depth = d,
                None => return false,
            },
            _ => {}
        }
    }
    depth == 1 && !in_string
}

/// Reads the canonical items of a documents list from `s` (the text just after its `[`): the
/// documents, and the length read up to the closing `]` (which is left unread).
fn read_documents(s: &str) -> Option<(Vec<Document>, usize)> {
    if s.starts_with(']') {
        return Some((Vec::new(), 0));
    }
    let mut r = Reader { s, at: 0 };
    // About 370 bytes a record in generated manifests; an estimate saves the small regrowths.
    let mut documents = Vec::with_capacity(s.len() / 512);
    r.literal("\n    ")?;
    loop {
        documents.push(r.document()?);
        if r.eat(",\n    ") {
            continue;
        }
        r.literal("\n  ")?;
        return s[r.at..].starts_with(']').then_some((documents, r.at));
    }
}

/// A position in canonical text.
struct Reader<'a> {
    s: &'a str,
    at: usize,
}

impl<'a> Reader<'a> {
    /// Consumes `lit` if the text continues with it.
    fn eat(&mut self, lit: &str) -> bool {
        let found = self.s.as_bytes()[self.at..].starts_with(lit.as_bytes());
        if found {
            self.at += lit.len();
        }
        found
    }

    /// Consumes `lit`, or gives up on the text.
    fn literal(&mut self, lit: &str) -> Option<()> {
        self.eat(lit).then_some(())
    }

    /// A string without escapes or control characters (serde reads those; they are rare).
    fn string(&mut self) -> Option<&'a str> {
        self.literal("\"")?;
        let start = self.at;
        let len = self.s.as_bytes()[start..]
            .iter()
            .position(|&b| matches!(b, b'"' | b'\\' | 0x00..=0x1f))?;
        if self.s.as_bytes()[start + len] != b'"' {
            return None;
        }
        self.at = start + len + 1;
        // Both ends are ASCII quotes, so this is a whole UTF-8 string.
        self.s.get(start..start + len)
    }

    /// An unsigned integer as serde_json reads one into a `u64`: digits, no leading zero, no
    /// fraction or exponent (the literal that must follow refuses those), no overflow.
    fn u64(&mut self) -> Option<u64> {
        let digits = self.s.as_bytes()[self.at..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        let text = &self.s.as_bytes()[self.at..self.at + digits];
        if text.is_empty() || (text[0] == b'0' && digits > 1) {
            return None;
        }
        let mut n = 0u64;
        for &d in text {
            n = n.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
        }
        self.at += digits;
        Some(n)
    }

    fn bool(&mut self) -> Option<bool> {
        if self.eat("true") {
            Some(true)
        } else if self.eat("false") {
            Some(false)
        } else {
            None
        }
    }

    /// One record, in the order and form of `write_document`.
    fn document(&mut self) -> Option<Document> {
        self.literal("{\"document_id\":")?;
        let document_id = DocumentId::new(self.string()?).ok()?;
        self.literal(",\"type\":")?;
        let doc_type = Label::new(self.string()?).ok()?;
        self.literal(",\"created_date\":")?;
        let created_date: Timestamp = self.string()?.parse().ok()?;
        self.literal(",\"file_size\":")?;
        let file_size = self.u64()?;
        self.literal(",\"checksum\":")?;
        let checksum: Sha256Digest = self.string()?.parse().ok()?;
        self.literal(",\"content_type\":")?;
        let content_type = self.string()?;
        // The convention's types are held as the static text they are, without a copy.
        let content_type = known_content_type(content_type).map_or_else(
            || CompactString::new(content_type),
            CompactString::const_new,
        );
        self.literal(",\"object_key\":")?;
        let object_key = self.string()?.to_owned();
        let source = if self.eat(",\"source\":") {
            Some(self.string()?.to_owned())
        } else {
            None
        };
        let parts = if self.eat(",\"parts\":{\"part_size\":") {
            let part_size = self.u64()?;
            self.literal(",\"count\":")?;
            let count = u32::try_from(self.u64()?).ok()?;
            self.literal(",\"checksum\":")?;
            let checksum = self.string()?.parse().ok()?;
            self.literal("}")?;
            Some(Box::new(UploadParts {
                part_size,
                count,
                checksum,
            }))
        } else {
            None
        };
        self.literal(",\"metadata\":{\"department\":")?;
        let department = Label::new(self.string()?).ok()?;
        self.literal(",\"priority\":")?;
        let priority = self.string()?.parse().ok()?;
        self.literal(",\"confidential\":")?;
        let confidential = self.bool()?;
        self.literal("}}")?;
        Some(Document {
            document_id,
            doc_type,
            created_date,
            file_size,
            checksum,
            content_type,
            object_key,
            source,
            parts,
            metadata: DocumentMetadata {
                department,
                priority,
                confidential,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::{Generator, GeneratorSpec};
    use crate::manifest::{FailedDocument, FailureStage, ManifestHeader, SourceDescription};
    use crate::model::BackupDate;

    /// A day with every optional field of a record somewhere, and a failure after the list.
    fn day() -> Manifest {
        let date: BackupDate = "2026-11-27".parse().unwrap();
        let mut documents: Vec<Document> = Generator::new(GeneratorSpec {
            date,
            count: 6,
            seed: 9,
        })
        .map(|g| g.document)
        .collect();
        documents[1].source = Some("/srv/docs/ré sumé.pdf".into());
        documents[2].file_size = 20 << 20;
        documents[2].parts = Some(Box::new(UploadParts {
            part_size: 8 << 20,
            count: 3,
            checksum: Sha256Digest::of(b"parts"),
        }));
        documents[3].file_size = 0;
        documents[4].metadata.confidential = true;
        let header = ManifestHeader {
            backup_date: date,
            backup_timestamp: "2026-11-28T02:00:00Z".parse().unwrap(),
            environment: "prod".parse().unwrap(),
            run_id: Some("run-1".into()),
            source: SourceDescription::Directory {
                path: "/srv/docs".into(),
            },
        };
        let failed = vec![FailedDocument {
            document_id: "late.pdf".into(),
            source: None,
            stage: FailureStage::Read,
            reason: "it vanished".into(),
            attempts: 1,
        }];
        Manifest::assemble(header, documents, failed).unwrap()
    }

    #[test]
    fn canonical_text_reads_to_the_manifest_serde_reads() {
        let manifest = day();
        let text = manifest.to_json();
        assert_eq!(read(&text), Some(manifest.clone()));
        assert_eq!(serde_json::from_str::<Manifest>(&text).unwrap(), manifest);
        let mut empty = manifest;
        empty.documents.clear();
        assert_eq!(read(&empty.to_json()), Some(empty));
    }

    #[test]
    fn other_text_is_left_to_serde() {
        let text = day().to_json();
        let edits = [
            // An escape serde would read: left to it.
            ("ré sumé", "r\\u00e9 sum\\u00e9"),
            // Whitespace inside a record.
            ("{\"document_id\":", "{ \"document_id\":"),
            // A number serde refuses (leading zero), one it reads as a float, one too large.
            ("\"file_size\":0,", "\"file_size\":00,"),
            ("\"file_size\":0,", "\"file_size\":0.0,"),
            ("\"file_size\":0,", "\"file_size\":18446744073709551616,"),
            ("\"count\":3,", "\"count\":4294967296,"),
            // A value its type refuses.
            ("\"priority\":\"high\"", "\"priority\":\"urgent\""),
            // The list not a member of the root.
            ("{\n  \"schema_version\"", "{\"x\": {\n  \"schema_version\""),
        ];
        for (from, to) in edits {
            assert!(text.contains(from), "{from}");
            let edited = text.replacen(from, to, 1);
            assert_eq!(read(&edited), None, "{to}");
        }
        // A second list after the first: the reading of everything else refuses it.
        let twice = text.replacen(
            "\n  \"failed_documents\"",
            "\n  \"documents\": [],\n  \"failed_documents\"",
            1,
        );
        assert_eq!(read(&twice), None);
    }
}
