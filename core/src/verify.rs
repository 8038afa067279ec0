//! Verification of a stored day against its manifest, as a comparison of data: the host lists
//! what the store holds (key, size, the SHA-256 the store reports or the host computed, and the
//! server-side encryption it reports) and the core says what is missing, extra, resized,
//! different, or not encrypted as expected. [`read_sample`] picks the documents a host also
//! downloads and re-hashes, from the manifest alone, so a sampled check repeats exactly.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::layout::Layout;
use crate::manifest::Manifest;
use crate::model::{Document, Sha256Digest};
use crate::plan::Encryption;

/// Server-side encryption as a store reports it for one object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedEncryption {
    /// `x-amz-server-side-encryption` (`aws:kms`, `AES256`); `None` when the store reports none.
    pub algorithm: Option<String>,
    /// The KMS key id or ARN the store reports, if any.
    pub kms_key_id: Option<String>,
}

impl ObservedEncryption {
    fn describe(&self) -> String {
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

    fn describe(&self) -> String {
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

/// One object as a store reports it, key relative to the backup root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedObject {
    /// Key relative to the backup root (`backups/{date}/documents/...`).
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256 as the store reports it or the host computed it; `None` when unknown.
    pub checksum: Option<Sha256Digest>,
    /// When the store's checksum is of parts (S3 reports `<base64>-<count>` for an object
    /// uploaded in parts), the count; `checksum` is then the SHA-256 of the parts' digests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum_parts: Option<u32>,
    /// Server-side encryption as the store reports it; `None` when the host did not ask.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption: Option<ObservedEncryption>,
}

/// A stored object that differs from its manifest entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mismatch {
    /// The document.
    pub document_id: String,
    /// Its key.
    pub key: String,
    /// What the manifest says.
    pub expected: String,
    /// What the store holds.
    pub actual: String,
}

/// The result of comparing a manifest with a listing. Every list is sorted by key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// Documents in the manifest.
    pub expected: u64,
    /// Documents whose size and checksum match.
    pub verified: u64,
    /// Manifest documents with no object.
    pub missing: Vec<String>,
    /// Objects under the day's `documents/` that the manifest does not list.
    pub extra: Vec<String>,
    /// Objects whose size differs.
    pub size_mismatch: Vec<Mismatch>,
    /// Objects whose checksum differs.
    pub checksum_mismatch: Vec<Mismatch>,
    /// Objects of the right size whose checksum the store could not give.
    pub unverified: Vec<String>,
    /// Objects not encrypted as expected (only checked by [`verify_objects_expecting`]).
    pub encryption_mismatch: Vec<Mismatch>,
}

impl VerifyReport {
    /// No problem of any kind.
    pub fn is_clean(&self) -> bool {
        self.missing.is_empty()
            && self.extra.is_empty()
            && self.size_mismatch.is_empty()
            && self.checksum_mismatch.is_empty()
            && self.unverified.is_empty()
            && self.encryption_mismatch.is_empty()
    }

    /// Number of problems found.
    pub fn problems(&self) -> usize {
        self.missing.len()
            + self.extra.len()
            + self.size_mismatch.len()
            + self.checksum_mismatch.len()
            + self.unverified.len()
            + self.encryption_mismatch.len()
    }
}

/// Compares `manifest` with what a store holds.
pub fn verify_objects(
    manifest: &Manifest,
    observed: impl IntoIterator<Item = ObservedObject>,
) -> VerifyReport {
    verify_objects_expecting(manifest, observed, &Encryption::None)
}

/// As [`verify_objects`], and every object whose encryption the host reports must satisfy
/// `expected` (an object reported without encryption data is not judged on it).
pub fn verify_objects_expecting(
    manifest: &Manifest,
    observed: impl IntoIterator<Item = ObservedObject>,
    expected: &Encryption,
) -> VerifyReport {
    let prefix = Layout::new(manifest.backup_date).documents_prefix();
    let mut seen: BTreeMap<String, ObservedObject> = observed
        .into_iter()
        .filter(|o| o.key.starts_with(&prefix))
        .map(|o| (o.key.clone(), o))
        .collect();
    let mut report = VerifyReport {
        expected: manifest.documents.len() as u64,
        ..VerifyReport::default()
    };
    for doc in &manifest.documents {
        let Some(obj) = seen.remove(&doc.object_key) else {
            report.missing.push(doc.object_key.clone());
            continue;
        };
        let mismatch = |expected: String, actual: String| Mismatch {
            document_id: doc.document_id.to_string(),
            key: doc.object_key.clone(),
            expected,
            actual,
        };
        if let Some(enc) = &obj.encryption
            && !expected.is_satisfied_by(enc)
        {
            report
                .encryption_mismatch
                .push(mismatch(expected.describe(), enc.describe()));
        }
        if obj.size != doc.file_size {
            report
                .size_mismatch
                .push(mismatch(doc.file_size.to_string(), obj.size.to_string()));
            continue;
        }
        let Some(actual) = obj.checksum else {
            report.unverified.push(doc.object_key.clone());
            continue;
        };
        let matches = match (obj.checksum_parts, &doc.parts) {
            // Some stores (moto) report the parts' checksum without its `-<count>`.
            (None, _) => actual == doc.checksum || doc.parts.is_some_and(|p| p.checksum == actual),
            (Some(n), Some(parts)) => actual == parts.checksum && n == parts.count,
            (Some(_), None) => false,
        };
        if matches {
            report.verified += 1;
        } else {
            let expected = match (obj.checksum_parts, &doc.parts) {
                (Some(_), Some(p)) => format!("{} of {} parts", p.checksum, p.count),
                (None, Some(p)) => format!(
                    "{} (the body) or {} (of its {} parts)",
                    doc.checksum, p.checksum, p.count
                ),
                _ => doc.checksum.to_string(),
            };
            let actual = match obj.checksum_parts {
                Some(n) => format!("{actual} of {n} parts"),
                None => actual.to_string(),
            };
            report.checksum_mismatch.push(mismatch(expected, actual));
        }
    }
    report.extra = seen.into_keys().collect();
    report.missing.sort();
    report.size_mismatch.sort_by(|a, b| a.key.cmp(&b.key));
    report.checksum_mismatch.sort_by(|a, b| a.key.cmp(&b.key));
    report.unverified.sort();
    report.encryption_mismatch.sort_by(|a, b| a.key.cmp(&b.key));
    report
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

    #[test]
    fn encryption_is_checked_against_the_expected_key() {
        let m = manifest(4);
        let arn = "arn:aws:kms:us-east-1:123456789012:key/k1";
        let expected = Encryption::Kms {
            key_id: Some(arn.into()),
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
                key: d.object_key.clone(),
                size: d.file_size,
                checksum: Some(d.checksum),
                checksum_parts: None,
                encryption: e,
            });
        let report = verify_objects_expecting(&m, observed, &expected);
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
        assert_eq!(report.problems(), 2);
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
        m.documents[0].parts = Some(parts);
        let observe = |d: &crate::model::Document, checksum, checksum_parts| ObservedObject {
            key: d.object_key.clone(),
            size: d.file_size,
            checksum: Some(checksum),
            checksum_parts,
            encryption: None,
        };
        let (a, b, c) = (&m.documents[0], &m.documents[1], &m.documents[2]);
        let clean = verify_objects_expecting(
            &m,
            [
                observe(a, parts.checksum, Some(2)),
                observe(b, b.checksum, None),
                // A copy hashed whole (a restore, a local store) is checked against the body.
                observe(c, c.checksum, None),
            ],
            &Encryption::None,
        );
        assert!(clean.is_clean(), "{clean:?}");
        assert_eq!(clean.verified, 3);
        let tampered = verify_objects_expecting(
            &m,
            [
                observe(a, parts.checksum, Some(3)),
                observe(b, b.checksum, Some(1)),
                observe(c, c.checksum, None),
            ],
            &Encryption::None,
        );
        let found: Vec<(&str, &str)> = tampered
            .checksum_mismatch
            .iter()
            .map(|x| (x.expected.as_str(), x.actual.as_str()))
            .collect();
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].0.ends_with(" of 2 parts") && found[0].1.ends_with(" of 3 parts"));
        assert_eq!(tampered.verified, 1);
    }
}
