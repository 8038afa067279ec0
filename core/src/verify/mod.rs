//! Verification of a stored day against its manifest, as a comparison of data: the host lists
//! what the store holds (key, size, the checksum the store keeps, the SHA-256 of the bytes when
//! the host read them, the server-side encryption) and the core says what is missing, extra,
//! resized, altered, or not encrypted as expected, by the one identity rule of [`identity`].
//! [`read_sample`] picks the documents a host also downloads and re-hashes, from the manifest
//! alone, so a sampled check repeats exactly. [`VerifyReport`] is rendered once, for every
//! host: as JSON (serde) and as text ([`VerifyReport::render_text`]).
//!
//! An object whose bytes nothing checks (the store keeps no checksum for it, and it was not
//! read) is **unverified**: counted and listed apart from problems, and a problem only when the
//! caller requires stored checksums (a set copied to S3 by a tool that does not send them
//! verifies by reading it back).

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};

use serde::{Deserialize, Serialize};

use crate::layout::Layout;
use crate::manifest::Manifest;
use crate::model::{Document, Sha256Digest};
use crate::plan::Encryption;
use crate::retention::ObservedRetention;
use crate::text::escaped;

pub mod identity;

pub use identity::{Identity, StoreChecksum, identity};

/// Server-side encryption as a store reports it for one object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedEncryption {
    /// `x-amz-server-side-encryption` (`aws:kms`, `AES256`); `None` when the store reports none.
    pub algorithm: Option<String>,
    /// The KMS key id or ARN the store reports, if any.
    pub kms_key_id: Option<String>,
}

impl ObservedEncryption {
    pub(crate) fn describe(&self) -> String {
        match (&self.algorithm, &self.kms_key_id) {
            (None, _) => "none".to_owned(),
            (Some(a), Some(k)) => format!("{a} key {k}"),
            (Some(a), None) => a.clone(),
        }
    }
}

impl Encryption {
    /// Whether an object the store reports as `observed` is encrypted as `self` asks. A
    /// configured key matches a reported one by ARN, by key id, or by the last path segment
    /// (stores report ARNs where a bare id was configured, and the reverse).
    pub fn is_satisfied_by(&self, observed: &ObservedEncryption) -> bool {
        match self {
            Self::None => true,
            Self::Kms { key_id } => {
                observed.algorithm.as_deref() == Some("aws:kms")
                    && key_id.as_deref().is_none_or(|want| {
                        observed
                            .kms_key_id
                            .as_deref()
                            .is_none_or(|got| key_ids_match(got, want))
                    })
            }
        }
    }

    pub(crate) fn describe(&self) -> String {
        match self {
            Self::None => "none".to_owned(),
            Self::Kms { key_id: Some(k) } => format!("aws:kms key {k}"),
            Self::Kms { key_id: None } => "aws:kms".to_owned(),
        }
    }
}

fn key_ids_match(reported: &str, configured: &str) -> bool {
    reported == configured || reported.rsplit('/').next() == configured.rsplit('/').next()
}

/// One object as a store (or a directory) holds it, key relative to the backup root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObservedObject {
    /// Key relative to the backup root (`backups/{date}/documents/...`).
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// The checksum the store keeps and reports for the object, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stored_checksum: Option<StoreChecksum>,
    /// The SHA-256 of the object's bytes, when the host read them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_checksum: Option<Sha256Digest>,
    /// Why the host could not read the object, when it tried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_error: Option<String>,
    /// What the entry is, when it is not a regular object (a directory's symbolic link, FIFO).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_regular: Option<String>,
    /// Server-side encryption as the store reports it; `None` when the host did not ask.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption: Option<ObservedEncryption>,
    /// Object Lock, legal hold and retention tag as the store reports them; `None` when the
    /// host did not ask (a directory has none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention: Option<ObservedRetention>,
}

impl ObservedObject {
    /// An object known by key and size only.
    pub fn new(key: impl Into<String>, size: u64) -> Self {
        Self {
            key: key.into(),
            size,
            stored_checksum: None,
            read_checksum: None,
            read_error: None,
            not_regular: None,
            encryption: None,
            retention: None,
        }
    }
}

/// What to require of a stored day.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyPolicy {
    /// The encryption every object must have ([`Encryption::None`]: not checked).
    pub encryption: Encryption,
    /// Count an object whose bytes nothing checks (no stored checksum, not read) as a problem.
    pub require_stored_checksums: bool,
}

/// A manifest document whose object has another size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SizeMismatch {
    /// The document.
    pub document_id: String,
    /// Its key.
    pub key: String,
    /// What the manifest says.
    pub expected: u64,
    /// What the store holds.
    pub actual: u64,
}

/// Where a checksum came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChecksumSource {
    /// The store's own checksum of the object.
    Store,
    /// The SHA-256 of the bytes the host read back.
    Read,
}

/// A manifest document whose object's bytes are not the manifest's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChecksumMismatch {
    /// The document.
    pub document_id: String,
    /// Its key.
    pub key: String,
    /// What was compared.
    pub source: ChecksumSource,
    /// What the manifest implies (`sha256:…`, with `of N parts` for a store's parts checksum).
    pub expected: String,
    /// What was found.
    pub actual: String,
}

/// A manifest document whose object is not encrypted as required.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EncryptionMismatch {
    /// The document.
    pub document_id: String,
    /// Its key.
    pub key: String,
    /// What is required.
    pub expected: String,
    /// What the store reports.
    pub actual: String,
}

/// A manifest document whose object is locked or tagged for less than the day's retention.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RetentionMismatch {
    /// The document.
    pub document_id: String,
    /// Its key.
    pub key: String,
    /// What the manifest's retention requires.
    pub expected: String,
    /// What the store reports.
    pub actual: String,
}

/// An entry that is not a regular object (found in a directory).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotRegular {
    /// Its key.
    pub key: String,
    /// What it is.
    pub kind: String,
}

/// An object the host could not read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unreadable {
    /// Its key.
    pub key: String,
    /// Why.
    pub error: String,
}

/// The result of comparing a manifest with what a store holds. Every list is sorted by key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// Documents in the manifest.
    pub expected: u64,
    /// Documents whose bytes a checksum confirms (the store's, or a read).
    pub verified: u64,
    /// Of those, documents read back and re-hashed.
    pub verified_by_read: u64,
    /// Manifest documents with no object.
    pub missing: Vec<String>,
    /// Objects under the day's `documents/` that the manifest does not list.
    pub extra: Vec<String>,
    /// Objects whose size differs.
    pub size_mismatch: Vec<SizeMismatch>,
    /// Objects whose bytes differ.
    pub checksum_mismatch: Vec<ChecksumMismatch>,
    /// Objects not encrypted as required.
    pub encryption_mismatch: Vec<EncryptionMismatch>,
    /// Objects locked or tagged for less than the day's retention.
    pub retention_mismatch: Vec<RetentionMismatch>,
    /// Objects under legal hold (not a problem: held days are reported).
    pub legal_holds: u64,
    /// Entries that are not regular objects.
    pub not_regular: Vec<NotRegular>,
    /// Objects that could not be read.
    pub unreadable: Vec<Unreadable>,
    /// Objects of the right size whose bytes nothing checks (no stored checksum, not read).
    pub unverified: Vec<String>,
    /// Whether `unverified` objects count as problems.
    pub require_stored_checksums: bool,
}

/// One problem of a [`VerifyReport`], for display.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem<'a> {
    /// A manifest document with no object.
    Missing(&'a str),
    /// An object the manifest does not list.
    Extra(&'a str),
    /// An object of another size.
    Size(&'a SizeMismatch),
    /// An object with other bytes.
    Checksum(&'a ChecksumMismatch),
    /// An object not encrypted as required.
    Encryption(&'a EncryptionMismatch),
    /// An object locked or tagged for less than the day's retention.
    Retention(&'a RetentionMismatch),
    /// An entry that is not a regular object.
    NotRegular(&'a NotRegular),
    /// An object that could not be read.
    Unreadable(&'a Unreadable),
    /// An object nothing checks, when stored checksums are required.
    Unverified(&'a str),
}

impl fmt::Display for Problem<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing(key) => write!(
                f,
                "missing     {}: listed in the manifest, not stored",
                escaped(key)
            ),
            Self::Extra(key) => write!(
                f,
                "extra       {}: stored, not in the manifest",
                escaped(key)
            ),
            Self::Size(m) => write!(
                f,
                "size        {}: the manifest says {} bytes, the store holds {}",
                escaped(&m.key),
                m.expected,
                m.actual
            ),
            Self::Checksum(m) => write!(
                f,
                "checksum    {}: the manifest says {}, {} {}",
                escaped(&m.key),
                m.expected,
                match m.source {
                    ChecksumSource::Store => "the store reports",
                    ChecksumSource::Read => "the bytes read back have",
                },
                m.actual
            ),
            Self::Encryption(m) => write!(
                f,
                "encryption  {}: required {}, the store reports {}",
                escaped(&m.key),
                escaped(&m.expected),
                escaped(&m.actual)
            ),
            Self::Retention(m) => write!(
                f,
                "retention   {}: required {}, the store reports {}",
                escaped(&m.key),
                m.expected,
                m.actual
            ),
            Self::NotRegular(n) => write!(
                f,
                "not a file  {}: a {}, not followed",
                escaped(&n.key),
                escaped(&n.kind)
            ),
            Self::Unreadable(u) => {
                write!(f, "unreadable  {}: {}", escaped(&u.key), escaped(&u.error))
            }
            Self::Unverified(key) => write!(
                f,
                "unverified  {}: the store keeps no SHA-256 for it and it was not read",
                escaped(key)
            ),
        }
    }
}

impl VerifyReport {
    /// Every problem, by kind, each kind in key order.
    pub fn problems(&self) -> impl Iterator<Item = Problem<'_>> {
        let unverified: &[String] = if self.require_stored_checksums {
            &self.unverified
        } else {
            &[]
        };
        self.missing
            .iter()
            .map(|k| Problem::Missing(k))
            .chain(self.extra.iter().map(|k| Problem::Extra(k)))
            .chain(self.size_mismatch.iter().map(Problem::Size))
            .chain(self.checksum_mismatch.iter().map(Problem::Checksum))
            .chain(self.encryption_mismatch.iter().map(Problem::Encryption))
            .chain(self.retention_mismatch.iter().map(Problem::Retention))
            .chain(self.not_regular.iter().map(Problem::NotRegular))
            .chain(self.unreadable.iter().map(Problem::Unreadable))
            .chain(unverified.iter().map(|k| Problem::Unverified(k)))
    }

    /// Number of problems.
    pub fn problem_count(&self) -> usize {
        self.problems().count()
    }

    /// No problem of any kind.
    pub fn is_clean(&self) -> bool {
        self.problems().next().is_none()
    }

    /// The report as text for people: a summary line naming `what` was verified (`2026-11-27
    /// in s3://bucket/`), then one line per problem, then the unverified objects when they are
    /// not problems. The one text rendering every host prints.
    pub fn render_text(&self, what: &str) -> String {
        let mut text = String::new();
        let problems = self.problem_count();
        let _ = write!(
            text,
            "verify of {what}: {} of {} documents verified",
            self.verified, self.expected
        );
        if self.verified_by_read > 0 {
            let _ = write!(text, " ({} read back and re-hashed)", self.verified_by_read);
        }
        if self.legal_holds > 0 {
            let _ = write!(text, ", {} under legal hold", self.legal_holds);
        }
        let unverified = if self.require_stored_checksums {
            0
        } else {
            self.unverified.len()
        };
        if unverified > 0 {
            let _ = write!(text, ", {unverified} unverified");
        }
        let _ = writeln!(
            text,
            "; {}",
            match problems {
                0 => "no problems".to_owned(),
                1 => "1 problem".to_owned(),
                n => format!("{n} problems"),
            }
        );
        for p in self.problems() {
            let _ = writeln!(text, "  {p}");
        }
        if self
            .retention_mismatch
            .iter()
            .any(|m| m.actual.starts_with("no lock"))
        {
            let _ = writeln!(
                text,
                "  (S3 shows an object's lock only to callers allowed s3:GetObjectRetention: if \
                 these credentials lack it, locked objects read as \"no lock\")"
            );
        }
        if unverified > 0 {
            for key in &self.unverified {
                let _ = writeln!(
                    text,
                    "  unverified  {}: the store keeps no SHA-256 for it and it was not read",
                    escaped(key)
                );
            }
            let _ = writeln!(
                text,
                "  (unverified objects were stored without a checksum, e.g. copied by a tool \
                 that does not send x-amz-checksum-sha256: read them back to verify them, or \
                 require stored checksums to count them as problems)"
            );
        }
        text
    }
}

/// Compares `manifest` with what a store holds, under `policy`.
pub fn verify_objects(
    manifest: &Manifest,
    observed: impl IntoIterator<Item = ObservedObject>,
    policy: &VerifyPolicy,
) -> VerifyReport {
    let prefix = Layout::new(manifest.backup_date).documents_prefix();
    let mut seen: BTreeMap<String, ObservedObject> = observed
        .into_iter()
        .filter(|o| o.key.starts_with(&prefix))
        .map(|o| (o.key.clone(), o))
        .collect();
    let mut report = VerifyReport {
        expected: manifest.documents.len() as u64,
        require_stored_checksums: policy.require_stored_checksums,
        ..VerifyReport::default()
    };
    for doc in &manifest.documents {
        let Some(obj) = seen.remove(&doc.object_key) else {
            report.missing.push(doc.object_key.clone());
            continue;
        };
        judge(&mut report, manifest, doc, obj, policy);
    }
    for (key, obj) in seen {
        match obj.not_regular {
            Some(kind) => report.not_regular.push(NotRegular { key, kind }),
            None => report.extra.push(key),
        }
    }
    report.missing.sort();
    report.size_mismatch.sort_by(|a, b| a.key.cmp(&b.key));
    report.checksum_mismatch.sort_by(|a, b| a.key.cmp(&b.key));
    report.encryption_mismatch.sort_by(|a, b| a.key.cmp(&b.key));
    report.retention_mismatch.sort_by(|a, b| a.key.cmp(&b.key));
    report.not_regular.sort_by(|a, b| a.key.cmp(&b.key));
    report.unreadable.sort_by(|a, b| a.key.cmp(&b.key));
    report.unverified.sort();
    report
}

/// Judges one object that a manifest document names.
fn judge(
    report: &mut VerifyReport,
    manifest: &Manifest,
    doc: &Document,
    obj: ObservedObject,
    policy: &VerifyPolicy,
) {
    let document_id = doc.document_id.to_string();
    if let Some(kind) = obj.not_regular {
        // No object of the document is there, and something else is in its place.
        report.missing.push(obj.key.clone());
        report.not_regular.push(NotRegular { key: obj.key, kind });
        return;
    }
    if let Some(enc) = &obj.encryption
        && !policy.encryption.is_satisfied_by(enc)
    {
        report.encryption_mismatch.push(EncryptionMismatch {
            document_id: document_id.clone(),
            key: obj.key.clone(),
            expected: policy.encryption.describe(),
            actual: enc.describe(),
        });
    }
    if let Some(observed) = &obj.retention {
        report.legal_holds += u64::from(observed.legal_hold);
        if let Some((expected, actual)) = manifest
            .retention
            .and_then(|retention| retention.shortfall(observed))
        {
            report.retention_mismatch.push(RetentionMismatch {
                document_id: document_id.clone(),
                key: obj.key.clone(),
                expected,
                actual,
            });
        }
    }
    if obj.size != doc.file_size {
        report.size_mismatch.push(SizeMismatch {
            document_id,
            key: obj.key,
            expected: doc.file_size,
            actual: obj.size,
        });
        return;
    }
    if let Some(error) = obj.read_error {
        report.unreadable.push(Unreadable {
            key: obj.key,
            error,
        });
        return;
    }
    let stored = obj.stored_checksum.as_ref();
    let read = obj.read_checksum.as_ref();
    match identity(doc, obj.size, stored, read) {
        Identity::Same => {
            report.verified += 1;
            if read.is_some() {
                report.verified_by_read += 1;
            }
        }
        Identity::Unknown => report.unverified.push(obj.key),
        Identity::Differs => {
            // Report the evidence that disagrees: the bytes read back first.
            let (source, expected, actual) = match (read, stored) {
                (Some(r), _) if *r != doc.checksum => (
                    ChecksumSource::Read,
                    doc.checksum.to_string(),
                    r.to_string(),
                ),
                (_, Some(s)) => (
                    ChecksumSource::Store,
                    describe_store(&identity::expected_store_checksum(doc)),
                    describe_store(s),
                ),
                _ => (
                    ChecksumSource::Read,
                    doc.checksum.to_string(),
                    String::from("(unknown)"),
                ),
            };
            report.checksum_mismatch.push(ChecksumMismatch {
                document_id,
                key: obj.key,
                source,
                expected,
                actual,
            });
        }
    }
}

fn describe_store(c: &StoreChecksum) -> String {
    match c.parts {
        Some(n) => format!("{} of {n} parts", c.sha256),
        None => c.sha256.to_string(),
    }
}

/// The documents a host downloads and re-hashes for `--read-data FRACTION`: those whose
/// SHA-256 (as a number in its first 8 bytes) falls in the lowest `fraction` of the range, so
/// the choice depends on the manifest alone and a check repeats exactly. With a fraction above
/// zero at least one document is chosen (the lowest); `1.0` or more chooses all. In key order.
pub fn read_sample(manifest: &Manifest, fraction: f64) -> Vec<&Document> {
    if manifest.documents.is_empty() || fraction.is_nan() || fraction <= 0.0 {
        return Vec::new();
    }
    let rank = |d: &Document| {
        let bytes = d.checksum.as_bytes();
        u64::from_be_bytes([
            bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
        ])
    };
    let mut chosen: Vec<&Document> = if fraction >= 1.0 {
        manifest.documents.iter().collect()
    } else {
        // Exact in integers: rank < fraction * 2^64.
        let bound = (fraction * 2f64.powi(64)) as u128;
        manifest
            .documents
            .iter()
            .filter(|d| u128::from(rank(d)) < bound)
            .collect()
    };
    if chosen.is_empty()
        && let Some(lowest) = manifest
            .documents
            .iter()
            .min_by_key(|d| (rank(d), &d.object_key))
    {
        chosen.push(lowest);
    }
    chosen.sort_by(|a, b| a.object_key.cmp(&b.object_key));
    chosen
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::{Generator, GeneratorSpec};
    use crate::manifest::{ManifestHeader, SourceDescription};

    fn manifest(count: u64) -> Manifest {
        let date = "2026-11-27".parse().unwrap();
        let docs = Generator::new(GeneratorSpec {
            date,
            count,
            seed: 0,
        })
        .map(|g| g.document)
        .collect();
        let header = ManifestHeader {
            backup_date: date,
            backup_timestamp: "2026-11-27T02:00:00Z".parse().unwrap(),
            environment: "prod".parse().unwrap(),
            run_id: None,
            source: SourceDescription::Generator { count, seed: 0 },
        };
        Manifest::assemble(header, docs, Vec::new()).unwrap()
    }

    fn kms(key: &str) -> ObservedEncryption {
        ObservedEncryption {
            algorithm: Some("aws:kms".into()),
            kms_key_id: Some(key.into()),
        }
    }

    fn stored(d: &Document) -> ObservedObject {
        ObservedObject {
            stored_checksum: Some(StoreChecksum {
                sha256: d.checksum,
                parts: None,
            }),
            ..ObservedObject::new(d.object_key.clone(), d.file_size)
        }
    }

    #[test]
    fn encryption_is_checked_against_the_expected_key() {
        let m = manifest(4);
        let arn = "arn:aws:kms:us-east-1:123456789012:key/k1";
        let policy = VerifyPolicy {
            encryption: Encryption::Kms {
                key_id: Some(arn.into()),
            },
            require_stored_checksums: false,
        };
        let encryptions = [
            Some(kms("k1")),
            Some(kms("arn:aws:kms:us-east-1:123456789012:key/k2")),
            Some(ObservedEncryption {
                algorithm: Some("AES256".into()),
                kms_key_id: None,
            }),
            None,
        ];
        let observed = m
            .documents
            .iter()
            .zip(encryptions)
            .map(|(d, e)| ObservedObject {
                encryption: e,
                ..stored(d)
            });
        let report = verify_objects(&m, observed, &policy);
        let found: Vec<(&str, &str)> = report
            .encryption_mismatch
            .iter()
            .map(|x| (x.document_id.as_str(), x.actual.as_str()))
            .collect();
        assert_eq!(
            found,
            [
                (
                    "invoice_0000",
                    "aws:kms key arn:aws:kms:us-east-1:123456789012:key/k2"
                ),
                ("receipt_0001", "AES256"),
            ]
        );
        assert_eq!(report.verified, 4, "checksums are judged separately");
        assert_eq!(report.problem_count(), 2);
        assert!(!report.is_clean());
    }

    #[test]
    fn the_read_sample_depends_on_the_manifest_alone() {
        let m = manifest(1000);
        let tenth = read_sample(&m, 0.1);
        assert!((60..=140).contains(&tenth.len()), "{}", tenth.len());
        assert_eq!(
            tenth,
            read_sample(&m, 0.1),
            "the same manifest, the same sample"
        );
        assert!(tenth.windows(2).all(|w| w[0].object_key < w[1].object_key));
        // A smaller fraction samples a subset of a larger one.
        let hundredth = read_sample(&m, 0.01);
        assert!(hundredth.iter().all(|d| tenth.contains(d)));
        assert_eq!(read_sample(&m, 1.0).len(), 1000);
        assert_eq!(
            read_sample(&m, 1e-12).len(),
            1,
            "a positive fraction reads at least one"
        );
        assert!(read_sample(&m, 0.0).is_empty());
        assert!(read_sample(&m, f64::NAN).is_empty());
    }

    #[test]
    fn objects_stored_in_parts_are_checked_against_their_parts_checksum() {
        let mut m = manifest(3);
        let parts = crate::model::UploadParts {
            part_size: m.documents[0].file_size.div_ceil(2),
            count: 2,
            checksum: Sha256Digest::of(b"digests of the parts"),
        };
        m.documents[0].parts = Some(Box::new(parts));
        let observe = |d: &Document, sha256, parts| ObservedObject {
            stored_checksum: Some(StoreChecksum { sha256, parts }),
            ..ObservedObject::new(d.object_key.clone(), d.file_size)
        };
        let (a, b, c) = (&m.documents[0], &m.documents[1], &m.documents[2]);
        let policy = VerifyPolicy::default();
        let clean = verify_objects(
            &m,
            [
                observe(a, parts.checksum, Some(2)),
                observe(b, b.checksum, None),
                observe(c, c.checksum, None),
            ],
            &policy,
        );
        assert!(clean.is_clean(), "{clean:?}");
        assert_eq!(clean.verified, 3);
        let other = Sha256Digest::of(b"other bytes");
        let tampered = verify_objects(
            &m,
            [
                observe(a, other, Some(2)),
                observe(b, other, None),
                observe(c, c.checksum, None),
            ],
            &policy,
        );
        let found: Vec<(&str, &str)> = tampered
            .checksum_mismatch
            .iter()
            .map(|x| (x.expected.as_str(), x.actual.as_str()))
            .collect();
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].0.ends_with(" of 2 parts") && found[0].1.ends_with(" of 2 parts"));
        assert_eq!(tampered.verified, 1);
        // Stored in other parts than the manifest records (copied by another tool): S3's
        // checksum is of those parts and says nothing either way: unverified, listed apart,
        // and a problem when stored checksums are required.
        let copied = [
            observe(a, parts.checksum, Some(3)),
            observe(b, b.checksum, Some(1)),
            observe(c, c.checksum, None),
        ];
        let report = verify_objects(&m, copied.clone(), &policy);
        assert!(report.checksum_mismatch.is_empty(), "{report:?}");
        assert_eq!(
            report.unverified,
            vec![a.object_key.clone(), b.object_key.clone()]
        );
        assert_eq!(report.verified, 1);
        let strict = VerifyPolicy {
            require_stored_checksums: true,
            ..VerifyPolicy::default()
        };
        assert!(!verify_objects(&m, copied, &strict).is_clean());
    }

    #[test]
    fn a_body_read_back_is_never_checked_against_the_parts_checksum() {
        let mut m = manifest(1);
        let parts = crate::model::UploadParts {
            part_size: m.documents[0].file_size,
            count: 1,
            checksum: Sha256Digest::of(b"digests of the parts"),
        };
        m.documents[0].parts = Some(Box::new(parts));
        let d = &m.documents[0];
        // Altered bytes of the right size, whose SHA-256 is the parts checksum.
        let read = ObservedObject {
            read_checksum: Some(parts.checksum),
            ..ObservedObject::new(d.object_key.clone(), d.file_size)
        };
        let r = verify_objects(&m, [read], &VerifyPolicy::default());
        assert_eq!(r.verified, 0);
        assert_eq!(r.checksum_mismatch.len(), 1);
        assert_eq!(r.checksum_mismatch[0].source, ChecksumSource::Read);
    }

    #[test]
    fn unverified_objects_are_apart_from_problems_unless_required() {
        let m = manifest(3);
        let observed: Vec<ObservedObject> = m
            .documents
            .iter()
            .enumerate()
            .map(|(i, d)| match i {
                // Copied by a tool that sent no checksum, and read back.
                0 => ObservedObject {
                    read_checksum: Some(d.checksum),
                    ..ObservedObject::new(d.object_key.clone(), d.file_size)
                },
                // Copied so, and not read.
                1 => ObservedObject::new(d.object_key.clone(), d.file_size),
                _ => stored(d),
            })
            .collect();
        let r = verify_objects(&m, observed.clone(), &VerifyPolicy::default());
        assert!(r.is_clean(), "{r:?}");
        assert_eq!((r.verified, r.verified_by_read), (2, 1));
        assert_eq!(r.unverified, [m.documents[1].object_key.clone()]);
        assert!(
            r.render_text("2026-11-27")
                .contains("1 unverified; no problems")
        );
        let strict = VerifyPolicy {
            require_stored_checksums: true,
            ..VerifyPolicy::default()
        };
        let r = verify_objects(&m, observed, &strict);
        assert_eq!(r.problem_count(), 1);
        assert!(
            r.render_text("x")
                .contains("unverified  backups/2026-11-27/documents/")
        );
    }

    #[test]
    fn the_text_names_every_problem_and_escapes_keys() {
        let m = manifest(3);
        let d = &m.documents;
        let mut observed = vec![
            ObservedObject {
                size: d[0].file_size + 1,
                ..stored(&d[0])
            },
            ObservedObject {
                read_checksum: Some(Sha256Digest::of(b"other")),
                ..ObservedObject::new(d[1].object_key.clone(), d[1].file_size)
            },
        ];
        observed.push(ObservedObject::new(
            "backups/2026-11-27/documents/\u{1b}[2Jx",
            1,
        ));
        observed.push(ObservedObject::new(
            "backups/2026-11-27/documents/evil\u{1b}[2J",
            1,
        ));
        let r = verify_objects(&m, observed, &VerifyPolicy::default());
        let text = r.render_text("2026-11-27 in ./vault");
        assert!(
            text.starts_with(
                "verify of 2026-11-27 in ./vault: 0 of 3 documents verified; 5 problems\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("  missing     backups/2026-11-27/documents/"),
            "{text}"
        );
        assert!(text.contains("the bytes read back have sha256:"), "{text}");
        assert!(text.contains("evil\\u{1b}[2J"), "{text}");
        assert!(!text.contains('\u{1b}'), "no raw escape reaches a terminal");
        assert_eq!(r.size_mismatch[0].actual, d[0].file_size + 1);
    }
}
