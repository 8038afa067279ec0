//! The data model of one business document and the small value types it is made of.
//!
//! Every type here serializes to one canonical text form, so a value written on one host
//! reads back equal on every other host.

use std::fmt;
use std::str::FromStr;

use compact_str::CompactString;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::Digest as _;
use time::{Date, OffsetDateTime, UtcOffset, format_description::well_known::Rfc3339};

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

/// The day a backup belongs to (UTC calendar date), written `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BackupDate(Date);

impl BackupDate {
    /// The calendar date.
    pub fn date(self) -> Date {
        self.0
    }

    /// Midnight UTC at the start of this day.
    pub fn start(self) -> Timestamp {
        Timestamp(self.0.midnight().assume_utc())
    }

    /// Days since 1970-01-01 (negative before).
    pub fn days_since_epoch(self) -> i64 {
        i64::from(self.0.to_julian_day()) - 2_440_588
    }

    fn write(self, out: &mut [u8]) {
        let (year, month, day) = (self.0.year(), u8::from(self.0.month()), self.0.day());
        // Years are limited to 0000..=9999 by `FromStr`, so four digits always suffice.
        let year = year.clamp(0, 9999) as u32;
        put_digits(&mut out[0..4], year);
        out[4] = b'-';
        put_digits(&mut out[5..7], u32::from(month));
        out[7] = b'-';
        put_digits(&mut out[8..10], u32::from(day));
    }
}

impl From<Date> for BackupDate {
    fn from(date: Date) -> Self {
        Self(date)
    }
}

impl FromStr for BackupDate {
    type Err = ValueError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ValueError::Date {
            value: s.to_owned(),
        };
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return Err(err());
        }
        let num = |r: std::ops::Range<usize>| -> Result<u32, ValueError> {
            let part = &b[r];
            if !part.iter().all(u8::is_ascii_digit) {
                return Err(err());
            }
            Ok(part.iter().fold(0, |n, d| n * 10 + u32::from(d - b'0')))
        };
        let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let month = u8::try_from(m)
            .ok()
            .and_then(|m| time::Month::try_from(m).ok())
            .ok_or_else(err)?;
        let date = Date::from_calendar_date(y as i32, month, d as u8).map_err(|_| err())?;
        Ok(Self(date))
    }
}

impl fmt::Display for BackupDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = [0u8; 10];
        self.write(&mut buf);
        f.write_str(ascii(&buf))
    }
}

impl Serialize for BackupDate {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut buf = [0u8; 10];
        self.write(&mut buf);
        s.serialize_str(ascii(&buf))
    }
}

impl<'de> Deserialize<'de> for BackupDate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// An instant, always held and written in UTC as RFC 3339
/// (`2026-11-27T02:00:00Z`, with a fraction only when it is not zero).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(OffsetDateTime);

impl Timestamp {
    /// Seconds since the Unix epoch.
    pub fn unix_seconds(self) -> i64 {
        self.0.unix_timestamp()
    }

    /// Milliseconds since the Unix epoch (what CloudWatch EMF expects).
    pub fn unix_millis(self) -> i64 {
        (self.0.unix_timestamp_nanos() / 1_000_000) as i64
    }

    /// The instant `seconds` after the epoch.
    pub fn from_unix_seconds(seconds: i64) -> Option<Self> {
        OffsetDateTime::from_unix_timestamp(seconds).ok().map(Self)
    }

    /// The UTC calendar day this instant falls on.
    pub fn date(self) -> BackupDate {
        BackupDate(self.0.date())
    }

    /// This instant without its fraction of a second.
    pub fn truncate_to_seconds(self) -> Self {
        Self(self.0.replace_nanosecond(0).unwrap_or(self.0))
    }

    /// This instant plus whole seconds.
    pub fn plus_seconds(self, seconds: i64) -> Self {
        Self(self.0 + time::Duration::seconds(seconds))
    }

    /// Writes the canonical form into `out`; returns the number of bytes written.
    fn write(self, out: &mut [u8; 30]) -> usize {
        let t = self.0;
        BackupDate(t.date()).write(&mut out[..10]);
        out[10] = b'T';
        put_digits(&mut out[11..13], u32::from(t.hour()));
        out[13] = b':';
        put_digits(&mut out[14..16], u32::from(t.minute()));
        out[16] = b':';
        put_digits(&mut out[17..19], u32::from(t.second()));
        let mut n = 19;
        let nanos = t.nanosecond();
        if nanos != 0 {
            out[n] = b'.';
            put_digits(&mut out[n + 1..n + 10], nanos);
            n += 10;
            while out[n - 1] == b'0' {
                n -= 1;
            }
        }
        out[n] = b'Z';
        n + 1
    }
}

impl Timestamp {
    /// Appends the canonical form (without quotes).
    pub(crate) fn write_to(self, out: &mut Vec<u8>) {
        let mut buf = [0u8; 30];
        let n = self.write(&mut buf);
        out.extend_from_slice(&buf[..n]);
    }
}

impl From<OffsetDateTime> for Timestamp {
    fn from(t: OffsetDateTime) -> Self {
        Self(t.to_offset(UtcOffset::UTC))
    }
}

impl From<Timestamp> for OffsetDateTime {
    fn from(t: Timestamp) -> Self {
        t.0
    }
}

impl FromStr for Timestamp {
    type Err = ValueError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = OffsetDateTime::parse(s, &Rfc3339).map_err(|_| ValueError::Timestamp {
            value: s.to_owned(),
        })?;
        if !(0..=9999).contains(&t.to_offset(UtcOffset::UTC).year()) {
            return Err(ValueError::Timestamp {
                value: s.to_owned(),
            });
        }
        Ok(Self::from(t))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = [0u8; 30];
        let n = self.write(&mut buf);
        f.write_str(ascii(&buf[..n]))
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut buf = [0u8; 30];
        let n = self.write(&mut buf);
        s.serialize_str(ascii(&buf[..n]))
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A SHA-256 digest, written `sha256:<64 lowercase hex digits>`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Sha256Digest(pub [u8; 32]);

impl Sha256Digest {
    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Self(sha2::Sha256::digest(bytes).into())
    }

    /// The raw 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Standard base64 of the raw digest: the value of S3's `x-amz-checksum-sha256`.
    pub fn to_base64(&self) -> String {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(self.0)
    }

    /// Parses S3's base64 form back into a digest.
    pub fn from_base64(s: &str) -> Option<Self> {
        use base64::Engine as _;
        let bytes = base64::engine::general_purpose::STANDARD.decode(s).ok()?;
        Some(Self(bytes.try_into().ok()?))
    }

    /// Lowercase hex, as `sha256sum` prints it.
    pub fn to_hex(&self) -> String {
        let mut buf = [0u8; 64];
        hex_into(&self.0, &mut buf);
        ascii(&buf).to_owned()
    }

    fn write_prefixed(&self, out: &mut [u8; 71]) {
        out[..7].copy_from_slice(b"sha256:");
        hex_into(&self.0, &mut out[7..]);
    }
}

impl Sha256Digest {
    /// Appends `sha256:<hex>` (without quotes).
    pub(crate) fn write_to(&self, out: &mut Vec<u8>) {
        let mut buf = [0u8; 71];
        self.write_prefixed(&mut buf);
        out.extend_from_slice(&buf);
    }
}

impl fmt::Debug for Sha256Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Sha256Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = [0u8; 71];
        self.write_prefixed(&mut buf);
        f.write_str(ascii(&buf))
    }
}

impl FromStr for Sha256Digest {
    type Err = ValueError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ValueError::Checksum {
            value: s.to_owned(),
        };
        let hex = s.strip_prefix("sha256:").ok_or_else(err)?.as_bytes();
        if hex.len() != 64 {
            return Err(err());
        }
        let mut out = [0u8; 32];
        for (i, pair) in hex.chunks_exact(2).enumerate() {
            let nibble = |c: u8| match c {
                b'0'..=b'9' => Some(c - b'0'),
                b'a'..=b'f' => Some(c - b'a' + 10),
                _ => None,
            };
            out[i] = (nibble(pair[0]).ok_or_else(err)? << 4) | nibble(pair[1]).ok_or_else(err)?;
        }
        Ok(Self(out))
    }
}

impl Serialize for Sha256Digest {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut buf = [0u8; 71];
        self.write_prefixed(&mut buf);
        s.serialize_str(ascii(&buf))
    }
}

impl<'de> Deserialize<'de> for Sha256Digest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Incremental SHA-256 for hosts that hash a stream (a file, an S3 body) chunk by chunk.
#[derive(Debug, Clone, Default)]
pub struct Sha256Hasher(sha2::Sha256);

impl Sha256Hasher {
    /// A fresh hasher.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds the next chunk.
    pub fn update(&mut self, chunk: &[u8]) {
        self.0.update(chunk);
    }

    /// The digest of everything fed so far.
    pub fn finish(self) -> Sha256Digest {
        Sha256Digest(self.0.finalize().into())
    }
}

/// How a body stored in parts (an S3 multipart upload) is checked. For such an object S3 keeps
/// not the body's SHA-256 but the SHA-256 of its parts' SHA-256 digests, reported as
/// `<base64>-<count>`; the manifest records it so a stored copy can be verified without reading
/// it, next to the body's own SHA-256 (`checksum`), which a restore checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UploadParts {
    /// Bytes per part (the last part may be shorter).
    pub part_size: u64,
    /// Number of parts.
    pub count: u32,
    /// SHA-256 of the concatenated SHA-256 digests of the parts, in order.
    pub checksum: Sha256Digest,
}

impl UploadParts {
    /// The parts a body of `file_size` bytes has at `part_size` bytes per part (at least one).
    pub fn count_for(file_size: u64, part_size: u64) -> u64 {
        file_size.div_ceil(part_size.max(1)).max(1)
    }

    /// Whether these parts can be those of a body of `file_size` bytes (a positive part size,
    /// and [`count_for`](Self::count_for) parts).
    pub fn holds(&self, file_size: u64) -> bool {
        self.part_size > 0 && u64::from(self.count) == Self::count_for(file_size, self.part_size)
    }

    /// What S3 reports as the object's `x-amz-checksum-sha256`: `<base64>-<count>`.
    pub fn store_checksum(&self) -> String {
        format!("{}-{}", self.checksum.to_base64(), self.count)
    }
}

/// Hashes a stream as a whole and, when given a part size, part by part too, for bodies that
/// are uploaded in parts. Part boundaries fall every `part_size` bytes whatever the chunks.
#[derive(Debug, Clone)]
pub struct PartedHasher {
    whole: Sha256Hasher,
    part_size: Option<u64>,
    part: Sha256Hasher,
    in_part: u64,
    parts: Sha256Hasher,
    count: u32,
}

impl PartedHasher {
    /// A hasher of the whole body, and of its parts when `part_size` is given (at least 1).
    pub fn new(part_size: Option<u64>) -> Self {
        Self {
            whole: Sha256Hasher::new(),
            part_size: part_size.map(|n| n.max(1)),
            part: Sha256Hasher::new(),
            in_part: 0,
            parts: Sha256Hasher::new(),
            count: 0,
        }
    }

    /// Feeds the next chunk.
    pub fn update(&mut self, mut chunk: &[u8]) {
        self.whole.update(chunk);
        let Some(part_size) = self.part_size else {
            return;
        };
        while !chunk.is_empty() {
            let room = usize::try_from(part_size - self.in_part).unwrap_or(usize::MAX);
            let (now, rest) = chunk.split_at(room.min(chunk.len()));
            self.part.update(now);
            self.in_part += now.len() as u64;
            chunk = rest;
            if self.in_part == part_size {
                self.close_part();
            }
        }
    }

    fn close_part(&mut self) {
        let part = std::mem::take(&mut self.part).finish();
        self.parts.update(part.as_bytes());
        self.in_part = 0;
        self.count += 1;
    }

    /// The body's SHA-256, and its parts when a part size was given.
    pub fn finish(mut self) -> (Sha256Digest, Option<UploadParts>) {
        let whole = std::mem::take(&mut self.whole).finish();
        let Some(part_size) = self.part_size else {
            return (whole, None);
        };
        if self.in_part > 0 || self.count == 0 {
            self.close_part();
        }
        let parts = UploadParts {
            part_size,
            count: self.count,
            checksum: self.parts.finish(),
        };
        (whole, Some(parts))
    }
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
    /// Checks and wraps `s`.
    pub fn new(s: &str) -> Result<Self, ValueError> {
        let problem = if s.is_empty() {
            Some("it is empty")
        } else if s.len() > 512 {
            Some("it is longer than 512 bytes")
        } else if s.starts_with('/') {
            Some("it starts with `/`: ids are relative paths")
        } else if s.chars().any(|c| c.is_control() || c == '\\') {
            Some("it contains a control character or a backslash")
        } else if s
            .split('/')
            .any(|seg| seg.is_empty() || seg == "." || seg == "..")
        {
            Some("it has an empty, `.` or `..` path segment")
        } else {
            None
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
    /// For a body stored in parts: how the store's checksum of it is formed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parts: Option<UploadParts>,
    /// Business metadata.
    pub metadata: DocumentMetadata,
}

/// Writes `n` as zero-padded decimal filling all of `out`.
fn put_digits(out: &mut [u8], mut n: u32) {
    for slot in out.iter_mut().rev() {
        *slot = b'0' + (n % 10) as u8;
        n /= 10;
    }
}

fn hex_into(bytes: &[u8; 32], out: &mut [u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for (i, b) in bytes.iter().enumerate() {
        out[2 * i] = HEX[usize::from(b >> 4)];
        out[2 * i + 1] = HEX[usize::from(b & 0xf)];
    }
}

/// Views bytes this module wrote (always ASCII) as text.
fn ascii(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_canonical_form() {
        let t: Timestamp = "2026-11-27T03:00:00+01:00".parse().unwrap();
        assert_eq!(t.to_string(), "2026-11-27T02:00:00Z");
        let t: Timestamp = "2026-11-27T02:00:00.250Z".parse().unwrap();
        assert_eq!(t.to_string(), "2026-11-27T02:00:00.25Z");
        assert!("2026-11-27 02:00".parse::<Timestamp>().is_err());
    }

    #[test]
    fn date_round_trip_and_errors() {
        let d: BackupDate = "2026-02-28".parse().unwrap();
        assert_eq!(d.to_string(), "2026-02-28");
        assert_eq!(d.days_since_epoch(), 20512);
        for bad in [
            "2026-02-30",
            "2026-13-01",
            "26-01-01",
            "2026/01/01",
            "2026-1-01",
        ] {
            assert!(bad.parse::<BackupDate>().is_err(), "{bad}");
        }
    }

    #[test]
    fn digest_forms_match_sha256sum_and_s3() {
        let d = Sha256Digest::of(b"abc");
        assert_eq!(
            d.to_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            d.to_base64(),
            "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0="
        );
        assert_eq!(Sha256Digest::from_base64(&d.to_base64()), Some(d));
        assert_eq!(d.to_string().parse::<Sha256Digest>().unwrap(), d);
        assert!("sha256:ABC".parse::<Sha256Digest>().is_err());
        assert!("md5_0001".parse::<Sha256Digest>().is_err());
        let mut h = Sha256Hasher::new();
        h.update(b"a");
        h.update(b"bc");
        assert_eq!(h.finish(), d);
    }

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

    #[test]
    fn labels() {
        assert!(Label::new("operations").is_ok());
        for bad in ["", "Finance", "-x", "a b"] {
            assert!(Label::new(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn parts_are_hashed_at_fixed_boundaries_whatever_the_chunks() {
        let body: Vec<u8> = (0..10_007u32).map(|i| (i * 31 % 251) as u8).collect();
        // The parts' digests, computed the plain way.
        let mut of_parts = Vec::new();
        for part in body.chunks(4096) {
            of_parts.extend_from_slice(Sha256Digest::of(part).as_bytes());
        }
        let expected = UploadParts {
            part_size: 4096,
            count: 3,
            checksum: Sha256Digest::of(&of_parts),
        };
        for chunk in [1, 7, 4095, 4096, 5000, 20_000] {
            let mut h = PartedHasher::new(Some(4096));
            for c in body.chunks(chunk) {
                h.update(c);
            }
            assert_eq!(
                h.finish(),
                (Sha256Digest::of(&body), Some(expected)),
                "chunks of {chunk}"
            );
        }
        assert_eq!(UploadParts::count_for(body.len() as u64, 4096), 3);
        assert_eq!(UploadParts::count_for(8192, 4096), 2, "no empty last part");
        assert_eq!(
            UploadParts::count_for(0, 4096),
            1,
            "an empty body is one part"
        );
        let (whole, parts) = PartedHasher::new(None).finish();
        assert_eq!((whole, parts), (Sha256Digest::of(b""), None));
        // S3's form: base64 of the digest of digests, dash, count.
        assert!(expected.store_checksum().ends_with("=-3"));
    }
}
