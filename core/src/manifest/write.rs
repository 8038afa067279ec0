//! The canonical JSON text of a manifest.
//!
//! The header goes through serde with [`ManifestFormatter`] (indented like
//! `json.dumps(indent=2)` for the first two levels); documents and failures are written straight
//! into a byte buffer by a fast path producing exactly the bytes `serde_json` would (a proptest
//! in `tests/` holds the two paths equal): a manifest is mostly documents, and writing them
//! field by field through serde spends most of its time re-escaping constant keys.

use std::io;

use serde::Serialize;

use super::{BackupStatus, BackupSummary, FailedDocument, Manifest, SourceDescription};
use crate::model::{BackupDate, Document, Label, Timestamp};
use crate::retention::DayRetention;

/// Bytes [`Manifest::write_json`] buffers before handing them to its writer.
const CHUNK: usize = 1 << 20;

/// The fields of a manifest before its lists, in order, for serde.
#[derive(Serialize)]
struct Head<'a> {
    schema_version: u32,
    backup_date: BackupDate,
    backup_timestamp: Timestamp,
    environment: &'a Label,
    #[serde(skip_serializing_if = "Option::is_none")]
    run_id: Option<&'a str>,
    status: BackupStatus,
    source: &'a SourceDescription,
    #[serde(skip_serializing_if = "Option::is_none")]
    retention: Option<&'a DayRetention>,
    total_documents: u64,
    total_failed: u64,
    backup_summary: &'a BackupSummary,
}

impl Manifest {
    /// The canonical JSON text (UTF-8, one document per line, trailing newline).
    pub fn to_json(&self) -> String {
        let mut out = Vec::with_capacity(1024 + self.documents.len() * 400);
        // Writing into the Vec itself: nothing to flush.
        self.encode(&mut out, |_| Ok(()))
            .unwrap_or_else(|_| unreachable!("writing to a Vec cannot fail"));
        String::from_utf8(out).unwrap_or_else(|_| unreachable!("the encoder writes UTF-8"))
    }

    /// Writes the canonical JSON text to `out`, in chunks of about 1 MiB.
    ///
    /// # Errors
    /// Only the errors of `out` itself.
    pub fn write_json<W: io::Write>(&self, mut out: W) -> io::Result<()> {
        let mut buf = Vec::with_capacity(CHUNK + 4096);
        self.encode(&mut buf, |b| {
            out.write_all(b)?;
            b.clear();
            Ok(())
        })?;
        out.write_all(&buf)
    }

    /// The same text produced field by field through serde. It is the reference the fast path
    /// is tested against; use [`Manifest::to_json`].
    #[doc(hidden)]
    pub fn to_json_reference(&self) -> String {
        let mut out = Vec::new();
        let mut ser = serde_json::Serializer::with_formatter(&mut out, ManifestFormatter::new());
        self.serialize(&mut ser)
            .unwrap_or_else(|_| unreachable!("writing to a Vec cannot fail"));
        out.push(b'\n');
        String::from_utf8(out).unwrap_or_else(|_| unreachable!("serde_json writes UTF-8"))
    }

    /// Encodes into `buf`, calling `flush` whenever `buf` holds more than [`CHUNK`] bytes.
    fn encode(
        &self,
        buf: &mut Vec<u8>,
        mut flush: impl FnMut(&mut Vec<u8>) -> io::Result<()>,
    ) -> io::Result<()> {
        // Everything up to the summary goes through serde (small, and the formatter's layout).
        let head = Head {
            schema_version: self.schema_version,
            backup_date: self.backup_date,
            backup_timestamp: self.backup_timestamp,
            environment: &self.environment,
            run_id: self.run_id.as_deref(),
            status: self.status,
            source: &self.source,
            retention: self.retention.as_ref(),
            total_documents: self.total_documents,
            total_failed: self.total_failed,
            backup_summary: &self.backup_summary,
        };
        open_object(buf, &head)?;
        write_list(
            buf,
            "documents",
            &self.documents,
            write_document,
            &mut flush,
        )?;
        write_list(
            buf,
            "failed_documents",
            &self.failed_documents,
            write_failure,
            &mut flush,
        )?;
        buf.extend_from_slice(b"\n}\n");
        Ok(())
    }
}

/// Writes `head` through serde with [`ManifestFormatter`] and leaves the object open for the
/// lists that follow it.
pub(super) fn open_object(buf: &mut Vec<u8>, head: &impl Serialize) -> io::Result<()> {
    let mut ser = serde_json::Serializer::with_formatter(&mut *buf, ManifestFormatter::new());
    head.serialize(&mut ser).map_err(io::Error::other)?;
    // The head ends with "\n}"; continue the object after it.
    buf.truncate(buf.len() - 2);
    Ok(())
}

/// Appends the member `"name": [...]` with one item per line, as serde with
/// [`ManifestFormatter`] would, calling `flush` whenever `buf` holds more than [`CHUNK`] bytes.
pub(super) fn write_list<T>(
    buf: &mut Vec<u8>,
    name: &str,
    items: &[T],
    write: fn(&mut Vec<u8>, &T),
    flush: &mut impl FnMut(&mut Vec<u8>) -> io::Result<()>,
) -> io::Result<()> {
    buf.extend_from_slice(b",\n  \"");
    buf.extend_from_slice(name.as_bytes());
    buf.extend_from_slice(b"\": [");
    for (i, item) in items.iter().enumerate() {
        buf.extend_from_slice(if i == 0 { b"\n    " } else { b",\n    " });
        write(buf, item);
        if buf.len() > CHUNK {
            flush(buf)?;
        }
    }
    buf.extend_from_slice(if items.is_empty() { b"]" } else { b"\n  ]" });
    Ok(())
}

/// Appends `s` as a JSON string literal, escaped exactly as `serde_json` escapes it.
fn write_str(out: &mut Vec<u8>, s: &str) {
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
pub(super) fn write_document(out: &mut Vec<u8>, d: &Document) {
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
fn write_failure(out: &mut Vec<u8>, f: &FailedDocument) {
    out.extend_from_slice(b"{\"document_id\":");
    write_str(out, &f.document_id);
    if let Some(source) = &f.source {
        out.extend_from_slice(b",\"source\":");
        write_str(out, source);
    }
    out.extend_from_slice(b",\"stage\":\"");
    out.extend_from_slice(f.stage.as_str().as_bytes());
    out.extend_from_slice(b"\",\"reason\":");
    write_str(out, &f.reason);
    out.extend_from_slice(b",\"attempts\":");
    write_u64(out, u64::from(f.attempts));
    out.push(b'}');
}

/// JSON layout of a manifest: indented like `json.dumps(indent=2)` for the first two levels,
/// compact below, so each document is one line. Readable, diffable, and about as fast and small
/// as compact JSON.
#[derive(Debug)]
pub(super) struct ManifestFormatter {
    depth: usize,
    has_value: bool,
}

/// Containers at this depth or shallower put each member on its own line.
const PRETTY_DEPTH: usize = 2;

impl ManifestFormatter {
    pub(super) fn new() -> Self {
        Self {
            depth: 0,
            has_value: false,
        }
    }

    fn newline_indent<W: ?Sized + io::Write>(&self, w: &mut W, depth: usize) -> io::Result<()> {
        const SPACES: &[u8; 16] = b"                ";
        w.write_all(b"\n")?;
        w.write_all(&SPACES[..(2 * depth).min(SPACES.len())])
    }

    fn begin<W: ?Sized + io::Write>(&mut self, w: &mut W, open: &[u8]) -> io::Result<()> {
        self.depth += 1;
        self.has_value = false;
        w.write_all(open)
    }

    fn end<W: ?Sized + io::Write>(&mut self, w: &mut W, close: &[u8]) -> io::Result<()> {
        self.depth -= 1;
        if self.depth < PRETTY_DEPTH && self.has_value {
            self.newline_indent(w, self.depth)?;
        }
        w.write_all(close)
    }

    fn member<W: ?Sized + io::Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        if !first {
            w.write_all(b",")?;
        }
        if self.depth <= PRETTY_DEPTH {
            self.newline_indent(w, self.depth)?;
        }
        Ok(())
    }
}

impl serde_json::ser::Formatter for ManifestFormatter {
    fn begin_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.begin(w, b"[")
    }
    fn end_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.end(w, b"]")
    }
    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.member(w, first)
    }
    fn end_array_value<W: ?Sized + io::Write>(&mut self, _w: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
    fn begin_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.begin(w, b"{")
    }
    fn end_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.end(w, b"}")
    }
    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.member(w, first)
    }
    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(if self.depth <= PRETTY_DEPTH {
            b": "
        } else {
            b":"
        })
    }
    fn end_object_value<W: ?Sized + io::Write>(&mut self, _w: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}
