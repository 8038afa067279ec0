//! An S3 Inventory report as a day's source listing, for sources too large to list in one
//! invocation (ten million objects are about 10,000 `ListObjectsV2` pages).
//!
//! S3 publishes a report under the inventory's folder
//! (`destination-prefix/source-bucket/config-ID/`): per report a folder named by the time its
//! scan began (`YYYY-MM-DDTHH-MMZ/`) holding `manifest.json` (the report's files, their sizes
//! and MD5s, the CSV columns) and `manifest.checksum` (the MD5 of `manifest.json`), and the
//! gzipped CSV files under `data/`. This module decides, without reading anything:
//!
//! * **which report covers a day** ([`choose_report`]): the first one whose scan began after
//!   the day ended (an earlier one can miss documents that arrived later that day). The same
//!   report is chosen however late the plan runs, so a rerun plans the same documents;
//! * **what a report's manifest says** ([`InventoryManifest::from_json`]): CSV only, of the
//!   configured source bucket, begun after the day ended, with the columns a backup needs
//!   (`Bucket`, `Key`, `Size`, `LastModifiedDate`, `ETag`);
//! * **which rows are the day's objects** ([`InventoryManifest::read_rows`]): the source
//!   bucket's current versions (rows of older versions and delete markers are skipped) under the
//!   day's prefix, keys URL-decoded (`+` is a space), ETags quoted as a listing gives them, so
//!   a plan from a report is the plan a listing of the same objects gives;
//! * **the listing** ([`finish`]): sorted by key; a key listed twice as current is refused.
//!
//! The host reads the objects, checks each file's MD5 and size against the manifest
//! ([`InventoryFile::check`]) and gunzips the CSV into [`InventoryManifest::read_rows`].

use std::io::{self, Read};

use percent_encoding::percent_decode;
use serde::Deserialize;

use crate::model::{BackupDate, Timestamp};

/// The longest CSV line read (a key is at most 1,024 bytes, 3 KiB URL-encoded; a report's
/// widest optional columns are a few KiB): a longer line is refused, not buffered.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// The columns a report must have to plan a backup from it.
pub const REQUIRED_COLUMNS: [&str; 5] = ["Bucket", "Key", "Size", "LastModifiedDate", "ETag"];

/// What a report may hold in memory, checked as it is read: a hostile or outsized report (a
/// manifest recording a huge file, a gzip bomb of rows) is refused with the fix instead of
/// exhausting memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InventoryLimits {
    /// The largest data file read (each is held gzipped while it is checked and read).
    pub max_file_bytes: u64,
    /// The most objects listed under the day's prefix.
    pub max_objects: u64,
}

impl InventoryLimits {
    /// About what one listed object holds in memory (key, ETag, size, time, allocations), for
    /// [`InventoryLimits::within`].
    pub const BYTES_PER_OBJECT: u64 = 256;

    /// Limits for `budget` bytes of memory: a data file of up to the budget, and as many
    /// objects as the budget holds.
    pub fn within(budget: u64) -> Self {
        Self {
            max_file_bytes: budget,
            max_objects: budget / Self::BYTES_PER_OBJECT,
        }
    }
}

/// What the report must be: of the configured inventory folder and source bucket, for a day,
/// within the memory it may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expected<'a> {
    /// The inventory folder (`destination-prefix/source-bucket/config-ID/`): every data file
    /// must be under its `data/`.
    pub folder: &'a str,
    /// The source bucket the report must list.
    pub source_bucket: &'a str,
    /// The day.
    pub date: BackupDate,
    /// The memory it may use.
    pub limits: InventoryLimits,
}

/// Why an inventory report cannot be a day's listing. Each says what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InventoryError {
    /// No report under the inventory folder began after the day ended.
    #[error(
        "no inventory report in {folder} began after {date} ended (the latest began {latest}): \
         documents may have arrived after it; wait for the next report (S3 publishes daily \
         reports once a day), or unset SOURCE_INVENTORY to list the source instead"
    )]
    NoReport {
        /// The inventory folder.
        folder: String,
        /// The day.
        date: BackupDate,
        /// When the latest report there began, or `never`.
        latest: String,
    },
    /// The manifest is not an S3 Inventory manifest docvault can read.
    #[error("the inventory manifest {key} is not usable: {reason}")]
    BadManifest {
        /// The manifest's key.
        key: String,
        /// What is wrong, and the fix.
        reason: String,
    },
    /// A report file is not the one the manifest records.
    #[error(
        "the inventory file {key} is not the one its manifest records ({reason}): it was \
         replaced or is still being written; plan again once the report is complete"
    )]
    FileAltered {
        /// The file's key.
        key: String,
        /// What differs.
        reason: String,
    },
    /// A row of a report file cannot be read.
    #[error("the inventory file {key}, line {line}: {reason}")]
    BadRow {
        /// The file's key.
        key: String,
        /// The line, from 1.
        line: u64,
        /// What is wrong.
        reason: String,
    },
    /// The report is larger than the memory the host may use for it.
    #[error(
        "the inventory report is too large to plan from here: {reason}; raise the function's \
         memory (MemorySize), or narrow the document source's prefix"
    )]
    TooLarge {
        /// What exceeds which limit.
        reason: String,
    },
    /// A key is listed twice as a current object.
    #[error(
        "the inventory report lists {key} twice as a current object: it is not a report of one \
         bucket's current objects; check the report, or unset SOURCE_INVENTORY to list the \
         source instead"
    )]
    Duplicate {
        /// The key.
        key: String,
    },
}

impl InventoryError {
    /// A stable code for logs and tests.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NoReport { .. } => "inventory_no_report",
            Self::BadManifest { .. } => "inventory_bad_manifest",
            Self::FileAltered { .. } => "inventory_file_altered",
            Self::BadRow { .. } => "inventory_bad_row",
            Self::TooLarge { .. } => "inventory_too_large",
            Self::Duplicate { .. } => "inventory_duplicate",
        }
    }
}

/// When a report folder's scan began, from its name (`2026-11-28T01-00Z`), or `None` for the
/// inventory folder's other entries (`data`, `hive`).
pub fn report_time(name: &str) -> Option<Timestamp> {
    let b = name.as_bytes();
    if b.len() != 17 || b[10] != b'T' || b[13] != b'-' || b[16] != b'Z' {
        return None;
    }
    format!("{}:{}:00Z", &name[..13], &name[14..16])
        .parse()
        .ok()
}

/// The report that covers `date`: the first whose scan began when or after the day ended.
/// `folders` are the names of the inventory folder's entries, without slashes.
///
/// # Errors
/// [`InventoryError::NoReport`] when no report began after the day ended.
pub fn choose_report<'a>(
    inventory_folder: &str,
    folders: impl IntoIterator<Item = &'a str>,
    date: BackupDate,
) -> Result<&'a str, InventoryError> {
    let end = date.next_day().map(BackupDate::start);
    let mut reports: Vec<(Timestamp, &str)> = folders
        .into_iter()
        .filter_map(|name| report_time(name).map(|t| (t, name)))
        .collect();
    reports.sort_unstable();
    let covering = reports
        .iter()
        .find(|(t, _)| end.is_some_and(|end| *t >= end));
    covering
        .map(|(_, name)| *name)
        .ok_or_else(|| InventoryError::NoReport {
            folder: inventory_folder.to_owned(),
            date,
            latest: reports
                .last()
                .map_or_else(|| "never".to_owned(), |(t, _)| t.to_string()),
        })
}

/// One data file of a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InventoryFile {
    /// Its key in the inventory bucket.
    pub key: String,
    /// Its size in bytes (gzipped).
    pub size: u64,
    /// The MD5 of its bytes, lowercase hex.
    pub md5: String,
}

impl InventoryFile {
    /// Checks the file read against the manifest: its size and the MD5 of its bytes
    /// (lowercase hex, computed by the host).
    ///
    /// # Errors
    /// [`InventoryError::FileAltered`] naming what differs.
    pub fn check(&self, size: u64, md5_hex: &str) -> Result<(), InventoryError> {
        let reason = if size != self.size {
            format!("{size} bytes, the manifest records {}", self.size)
        } else if !md5_hex.eq_ignore_ascii_case(&self.md5) {
            format!("MD5 {md5_hex}, the manifest records {}", self.md5)
        } else {
            return Ok(());
        };
        Err(InventoryError::FileAltered {
            key: self.key.clone(),
            reason,
        })
    }
}

/// Where each needed column is in a report's rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Columns {
    bucket: usize,
    key: usize,
    size: usize,
    last_modified: usize,
    etag: usize,
    is_latest: Option<usize>,
    is_delete_marker: Option<usize>,
    count: usize,
}

/// A report's manifest, checked for a day's backup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InventoryManifest {
    /// The source bucket the report lists.
    pub source_bucket: String,
    /// When the report's scan began.
    pub created: Timestamp,
    /// Its data files.
    pub files: Vec<InventoryFile>,
    columns: Columns,
    max_objects: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawManifest {
    source_bucket: String,
    creation_timestamp: String,
    file_format: String,
    #[serde(default)]
    file_schema: String,
    files: Vec<RawFile>,
}

#[derive(Deserialize)]
struct RawFile {
    key: String,
    size: u64,
    #[serde(rename = "MD5checksum")]
    md5: String,
}

impl InventoryManifest {
    /// Reads the manifest at `key` (its bytes `json`) as the report `expected` describes.
    ///
    /// # Errors
    /// [`InventoryError::BadManifest`]: not a manifest, not CSV, of another bucket, begun
    /// before the day ended, without a needed column, or naming a data file outside the
    /// folder's `data/`; [`InventoryError::TooLarge`]: a data file larger than the limit.
    pub fn from_json(key: &str, json: &[u8], expected: &Expected) -> Result<Self, InventoryError> {
        let Expected {
            folder,
            source_bucket,
            date,
            limits,
        } = *expected;
        let bad = |reason: String| InventoryError::BadManifest {
            key: key.to_owned(),
            reason,
        };
        let raw: RawManifest = serde_json::from_slice(json).map_err(|e| {
            bad(format!(
                "{e}; it should be the manifest.json S3 Inventory wrote"
            ))
        })?;
        if raw.file_format != "CSV" {
            return Err(bad(format!(
                "the report is in {}: docvault reads CSV reports; set the inventory's output \
                 format to CSV",
                raw.file_format
            )));
        }
        if raw.source_bucket != source_bucket {
            return Err(bad(format!(
                "it lists bucket {}, but the document source is bucket {source_bucket}: set \
                 SOURCE_INVENTORY to the folder of the source bucket's inventory",
                raw.source_bucket
            )));
        }
        let created = raw
            .creation_timestamp
            .parse::<i64>()
            .ok()
            .and_then(|ms| Timestamp::from_unix(ms.div_euclid(1000), 0))
            .ok_or_else(|| {
                bad(format!(
                    "its creationTimestamp {:?} is not milliseconds since 1970",
                    raw.creation_timestamp
                ))
            })?;
        if date.next_day().is_none_or(|end| created < end.start()) {
            return Err(bad(format!(
                "its scan began {created}, before {date} ended: documents may have arrived after \
                 it; use a later report"
            )));
        }
        let columns = Columns::from_schema(&raw.file_schema).map_err(bad)?;
        let data = format!("{folder}data/");
        let files = raw
            .files
            .into_iter()
            .map(|f| {
                let inside = f.key.strip_prefix(&data).is_some_and(|rest| {
                    rest.split('/')
                        .all(|segment| !matches!(segment, "" | "." | ".."))
                });
                if !inside {
                    return Err(bad(format!(
                        "it names the data file {}, outside {data}: it is not this \
                         inventory's report",
                        shown(&f.key)
                    )));
                }
                let md5 = f.md5.to_ascii_lowercase();
                if md5.len() != 32 || !md5.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(bad(format!("the MD5 of {} is not 32 hex digits", f.key)));
                }
                if f.size > limits.max_file_bytes {
                    return Err(InventoryError::TooLarge {
                        reason: format!(
                            "its data file {} is {} bytes, more than the {} this function may \
                             hold",
                            f.key, f.size, limits.max_file_bytes
                        ),
                    });
                }
                Ok(InventoryFile {
                    key: f.key,
                    size: f.size,
                    md5,
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            source_bucket: raw.source_bucket,
            created,
            files,
            columns,
            max_objects: limits.max_objects,
        })
    }

    /// Reads the rows of `file` (its gunzipped CSV from `csv`) and appends to `out` the source
    /// bucket's current objects whose key starts with `prefix`.
    ///
    /// # Errors
    /// [`InventoryError::BadRow`]: a line longer than [`MAX_LINE_BYTES`], a row of another
    /// width, an undecodable key, a size, date or flag that does not parse, or the read failing;
    /// [`InventoryError::TooLarge`]: `out` would hold more objects than the limit.
    pub fn read_rows<R: Read>(
        &self,
        file: &InventoryFile,
        csv: R,
        prefix: &str,
        out: &mut Vec<InventoryObject>,
    ) -> Result<(), InventoryError> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(LineLimit::new(csv));
        let mut record = csv::ByteRecord::new();
        let mut line = 0u64;
        loop {
            line += 1;
            let bad = |reason: String| InventoryError::BadRow {
                key: file.key.clone(),
                line,
                reason,
            };
            match reader.read_byte_record(&mut record) {
                Ok(true) => {}
                Ok(false) => return Ok(()),
                Err(e) => return Err(bad(e.to_string())),
            }
            if let Some(object) = self
                .columns
                .object(&record, &self.source_bucket, prefix)
                .map_err(bad)?
            {
                if out.len() as u64 >= self.max_objects {
                    return Err(InventoryError::TooLarge {
                        reason: format!(
                            "it lists more than {} objects under the prefix, more than this \
                             function may hold",
                            self.max_objects
                        ),
                    });
                }
                out.push(object);
            }
        }
    }
}

impl Columns {
    fn from_schema(schema: &str) -> Result<Self, String> {
        let names: Vec<&str> = schema.split(',').map(str::trim).collect();
        let at = |name: &str| names.iter().position(|n| *n == name);
        let missing: Vec<&str> = REQUIRED_COLUMNS
            .iter()
            .copied()
            .filter(|c| at(c).is_none())
            .collect();
        match (
            at("Bucket"),
            at("Key"),
            at("Size"),
            at("LastModifiedDate"),
            at("ETag"),
        ) {
            (Some(bucket), Some(key), Some(size), Some(last_modified), Some(etag)) => Ok(Self {
                bucket,
                key,
                size,
                last_modified,
                etag,
                is_latest: at("IsLatest"),
                is_delete_marker: at("IsDeleteMarker"),
                count: names.len(),
            }),
            _ => Err(format!(
                "its fileSchema has no {} column: add Size, Last modified date and ETag to the \
                 inventory's additional fields",
                missing.join(", ")
            )),
        }
    }

    /// The object a row lists, or `None` for a row of another version, a delete marker or a
    /// key outside `prefix`.
    fn object(
        &self,
        row: &csv::ByteRecord,
        bucket: &str,
        prefix: &str,
    ) -> Result<Option<InventoryObject>, String> {
        if row.len() != self.count {
            return Err(format!(
                "{} fields, the manifest's fileSchema has {}",
                row.len(),
                self.count
            ));
        }
        let field = |i: usize| -> Result<&str, String> {
            std::str::from_utf8(&row[i]).map_err(|_| "a field is not UTF-8".to_owned())
        };
        let flag = |i: Option<usize>, name: &str| -> Result<bool, String> {
            match i.map(field).transpose()? {
                None => Ok(false),
                Some("true") => Ok(true),
                Some("false") => Ok(false),
                Some(other) => Err(format!("{name} is {:?}, not true or false", shown(other))),
            }
        };
        if field(self.bucket)? != bucket {
            return Err(format!(
                "it lists bucket {:?}, the manifest's is {bucket}",
                shown(field(self.bucket)?)
            ));
        }
        let current = self.is_latest.is_none() || flag(self.is_latest, "IsLatest")?;
        if !current || flag(self.is_delete_marker, "IsDeleteMarker")? {
            return Ok(None);
        }
        let key = decode_key(field(self.key)?)?;
        if !key.starts_with(prefix) {
            return Ok(None);
        }
        let size = field(self.size)?;
        let size = size.parse::<u64>().map_err(|_| {
            format!(
                "the size of {} is {:?}, not a number of bytes",
                shown(&key),
                shown(size)
            )
        })?;
        let modified = field(self.last_modified)?;
        let last_modified = modified
            .parse::<Timestamp>()
            .map_err(|_| {
                format!(
                    "the LastModifiedDate of {} is {:?}, not RFC 3339",
                    shown(&key),
                    shown(modified)
                )
            })?
            .unix_seconds();
        let etag = field(self.etag)?;
        if etag.is_empty() || etag.contains('"') {
            return Err(format!("the ETag of {} is {:?}", shown(&key), shown(etag)));
        }
        Ok(Some(InventoryObject {
            key,
            size,
            etag: format!("\"{etag}\""),
            last_modified,
        }))
    }
}

/// A key as a CSV report writes it: URL-encoded, a space as `+`.
fn decode_key(encoded: &str) -> Result<String, String> {
    let plus_as_space = encoded.replace('+', " ");
    percent_decode(plus_as_space.as_bytes())
        .decode_utf8()
        .map(|k| k.into_owned())
        .map_err(|_| format!("the key {:?} does not decode to UTF-8", shown(encoded)))
}

/// At most the first 120 characters of a value quoted in an error: a hostile report's fields
/// can be a mebibyte long.
fn shown(value: &str) -> &str {
    value
        .char_indices()
        .nth(120)
        .map_or(value, |(end, _)| &value[..end])
}

/// One object a report lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InventoryObject {
    /// Its key in the source bucket.
    pub key: String,
    /// Its size in bytes.
    pub size: u64,
    /// Its ETag, quoted as `ListObjectsV2` gives it.
    pub etag: String,
    /// When it was last modified, in Unix seconds.
    pub last_modified: i64,
}

/// The objects read from every file of a report, as a listing: sorted by key.
///
/// # Errors
/// [`InventoryError::Duplicate`] when a key is listed twice.
pub fn finish(mut objects: Vec<InventoryObject>) -> Result<Vec<InventoryObject>, InventoryError> {
    objects.sort_unstable_by(|a, b| a.key.cmp(&b.key));
    if let Some(pair) = objects.windows(2).find(|w| w[0].key == w[1].key) {
        return Err(InventoryError::Duplicate {
            key: pair[0].key.clone(),
        });
    }
    Ok(objects)
}

/// A reader that refuses a row longer than [`MAX_LINE_BYTES`] instead of letting the CSV
/// reader buffer it. A row ends at a line break outside quotes (one inside a quoted field is
/// part of the row), so an unclosed quote cannot make one unbounded row.
struct LineLimit<R> {
    inner: R,
    line: usize,
    quoted: bool,
}

impl<R> LineLimit<R> {
    fn new(inner: R) -> Self {
        Self {
            inner,
            line: 0,
            quoted: false,
        }
    }
}

impl<R: Read> Read for LineLimit<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        for &b in &buf[..n] {
            // `""` inside a quoted field flips twice: parity is all that matters.
            self.quoted ^= b == b'"';
            if b == b'\n' && !self.quoted {
                self.line = 0;
            } else {
                self.line += 1;
                if self.line > MAX_LINE_BYTES {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("a row is longer than {MAX_LINE_BYTES} bytes"),
                    ));
                }
            }
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests;
