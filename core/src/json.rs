//! The fast path of manifest writing: documents and failures written straight into a byte
//! buffer, producing exactly the bytes `serde_json` would (a proptest in `tests/` holds the two
//! paths equal). A manifest is mostly documents, and writing them field by field through serde
//! spends most of its time re-escaping constant keys.

use crate::manifest::{FailedDocument, FailureStage};
use crate::model::Document;

/// Appends `s` as a JSON string literal, escaped exactly as `serde_json` escapes it.
pub(crate) fn write_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0x00..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        if escape.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(b >> 4)]);
            out.push(HEX[usize::from(b & 0xf)]);
        } else {
            out.extend_from_slice(escape);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

fn write_u64(out: &mut Vec<u8>, n: u64) {
    let mut buf = itoa::Buffer::new();
    out.extend_from_slice(buf.format(n).as_bytes());
}

/// Appends one document as compact JSON, fields in the order of [`Document`]'s serde derive.
pub(crate) fn write_document(out: &mut Vec<u8>, d: &Document) {
    out.extend_from_slice(b"{\"document_id\":");
    write_str(out, d.document_id.as_str());
    out.extend_from_slice(b",\"type\":");
    write_str(out, d.doc_type.as_str());
    out.extend_from_slice(b",\"created_date\":\"");
    d.created_date.write_to(out);
    out.extend_from_slice(b"\",\"file_size\":");
    write_u64(out, d.file_size);
    out.extend_from_slice(b",\"checksum\":\"");
    d.checksum.write_to(out);
    out.extend_from_slice(b"\",\"content_type\":");
    write_str(out, &d.content_type);
    out.extend_from_slice(b",\"object_key\":");
    write_str(out, &d.object_key);
    if let Some(source) = &d.source {
        out.extend_from_slice(b",\"source\":");
        write_str(out, source);
    }
    if let Some(parts) = &d.parts {
        out.extend_from_slice(b",\"parts\":{\"part_size\":");
        write_u64(out, parts.part_size);
        out.extend_from_slice(b",\"count\":");
        write_u64(out, u64::from(parts.count));
        out.extend_from_slice(b",\"checksum\":\"");
        parts.checksum.write_to(out);
        out.extend_from_slice(b"\"}");
    }
    out.extend_from_slice(b",\"metadata\":{\"department\":");
    write_str(out, d.metadata.department.as_str());
    out.extend_from_slice(b",\"priority\":\"");
    out.extend_from_slice(d.metadata.priority.as_str().as_bytes());
    out.extend_from_slice(if d.metadata.confidential {
        b"\",\"confidential\":true}}"
    } else {
        b"\",\"confidential\":false}}"
    });
}

/// Appends one failure as compact JSON, fields in the order of [`FailedDocument`]'s derive.
pub(crate) fn write_failure(out: &mut Vec<u8>, f: &FailedDocument) {
    out.extend_from_slice(b"{\"document_id\":");
    write_str(out, &f.document_id);
    if let Some(source) = &f.source {
        out.extend_from_slice(b",\"source\":");
        write_str(out, source);
    }
    out.extend_from_slice(b",\"stage\":\"");
    out.extend_from_slice(match f.stage {
        FailureStage::Read => b"read",
        FailureStage::Store => b"store",
        FailureStage::Verify => b"verify",
    });
    out.extend_from_slice(b"\",\"reason\":");
    write_str(out, &f.reason);
    out.extend_from_slice(b",\"attempts\":");
    write_u64(out, u64::from(f.attempts));
    out.push(b'}');
}
