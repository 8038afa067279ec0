//! Whether a stored object is the document its manifest entry describes: the one rule behind
//! `verify` and behind a backup run's "already stored, keep it".
//!
//! Two kinds of evidence exist, and they are never confused:
//! * a checksum the **store** keeps and reports ([`StoreChecksum`]): S3 reports the SHA-256 of a
//!   body written in one PUT, and for a body written in parts the SHA-256 of its parts' digests
//!   with the part count (`<base64>-<count>`), which a manifest entry records in `parts`;
//! * the SHA-256 of the bytes a host **read** back itself, which can only be the body's.
//!
//! So a body read back whose SHA-256 happens to equal an entry's parts checksum is altered, not
//! verified. A parts checksum is of those parts only: for an object stored in parts other than
//! the ones the entry records (another tool copied it with its own part size, or the entry
//! records no parts), the store's checksum says nothing either way, and the object is judged
//! by its size and by a read, or is unverified. One store quirk is accepted: some S3-compatible stores (moto) report the parts
//! checksum without its `-<count>`; a store-reported value equal to the entry's parts checksum
//! then verifies it.

use serde::{Deserialize, Serialize};

use crate::model::{Document, Sha256Digest};

/// A checksum as a store reports it for an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreChecksum {
    /// The SHA-256 the store reports: of the body, or of the parts' digests.
    pub sha256: Sha256Digest,
    /// For an object stored in parts, the count the store reports with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parts: Option<u32>,
}

impl StoreChecksum {
    /// Parses S3's `x-amz-checksum-sha256`: `<base64>` or `<base64>-<count>`.
    pub fn from_s3(value: &str) -> Option<Self> {
        match value.split_once('-') {
            None => Some(Self {
                sha256: Sha256Digest::from_base64(value)?,
                parts: None,
            }),
            Some((digest, count)) => Some(Self {
                sha256: Sha256Digest::from_base64(digest)?,
                parts: Some(count.parse().ok()?),
            }),
        }
    }
}

/// What the evidence says about a stored object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Identity {
    /// Its bytes are the entry's.
    Same,
    /// Its bytes are not the entry's.
    Differs,
    /// Nothing checks its bytes: no store checksum, and it was not read.
    Unknown,
}

/// Whether an object of `size` bytes is `doc`, by the store's checksum and the host's read
/// (either may be absent; when both are given both must agree with the entry).
pub fn identity(
    doc: &Document,
    size: u64,
    stored: Option<&StoreChecksum>,
    read: Option<&Sha256Digest>,
) -> Identity {
    if size != doc.file_size {
        return Identity::Differs;
    }
    let by_store = stored.and_then(|c| store_matches(doc, c));
    let by_read = read.map(|d| *d == doc.checksum);
    match (by_store, by_read) {
        (None, None) => Identity::Unknown,
        (Some(false), _) | (_, Some(false)) => Identity::Differs,
        _ => Identity::Same,
    }
}

/// Whether a store-reported checksum is the one `doc` implies; `None` when it is of parts the
/// entry does not record, and so cannot be compared.
fn store_matches(doc: &Document, c: &StoreChecksum) -> Option<bool> {
    match (c.parts, &doc.parts) {
        (Some(n), Some(parts)) if n == parts.count => Some(c.sha256 == parts.checksum),
        (Some(_), _) => None,
        (None, parts) => {
            Some(c.sha256 == doc.checksum || parts.as_ref().is_some_and(|p| p.checksum == c.sha256))
        }
    }
}

/// The checksum a store should report for `doc` (for messages).
pub fn expected_store_checksum(doc: &Document) -> StoreChecksum {
    match &doc.parts {
        Some(p) => StoreChecksum {
            sha256: p.checksum,
            parts: Some(p.count),
        },
        None => StoreChecksum {
            sha256: doc.checksum,
            parts: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::{Generator, GeneratorSpec};
    use crate::model::UploadParts;

    fn doc() -> Document {
        Generator::new(GeneratorSpec {
            date: "2026-11-27".parse().unwrap(),
            count: 1,
            seed: 0,
        })
        .next()
        .unwrap()
        .document
    }

    fn parted() -> Document {
        let mut d = doc();
        d.parts = Some(Box::new(UploadParts {
            part_size: d.file_size.div_ceil(2),
            count: 2,
            checksum: Sha256Digest::of(b"digests of the parts"),
        }));
        d
    }

    #[test]
    fn a_read_body_is_judged_by_the_body_checksum_only() {
        let d = parted();
        let parts = d.parts.as_deref().copied().unwrap();
        let size = d.file_size;
        assert_eq!(identity(&d, size, None, Some(&d.checksum)), Identity::Same);
        // The body's bytes hashing to the parts checksum is an altered body.
        assert_eq!(
            identity(&d, size, None, Some(&parts.checksum)),
            Identity::Differs
        );
        assert_eq!(identity(&d, size, None, None), Identity::Unknown);
        assert_eq!(
            identity(&d, size + 1, None, Some(&d.checksum)),
            Identity::Differs
        );
    }

    #[test]
    fn a_store_checksum_is_of_the_body_or_of_the_parts() {
        let (d, p) = (parted(), parted().parts.unwrap());
        let store = |sha256, parts| StoreChecksum { sha256, parts };
        let size = d.file_size;
        let same = |c: StoreChecksum| identity(&d, size, Some(&c), None);
        assert_eq!(same(store(p.checksum, Some(2))), Identity::Same);
        assert_eq!(
            same(store(Sha256Digest::of(b"other"), Some(2))),
            Identity::Differs
        );
        assert_eq!(same(store(d.checksum, None)), Identity::Same);
        assert_eq!(
            same(store(Sha256Digest::of(b"other"), None)),
            Identity::Differs
        );
        // Other parts than the entry's: the store's figure is not comparable.
        assert_eq!(same(store(p.checksum, Some(3))), Identity::Unknown);
        assert_eq!(
            identity(
                &d,
                size,
                Some(&store(p.checksum, Some(3))),
                Some(&d.checksum)
            ),
            Identity::Same,
            "a read decides when the store's checksum cannot"
        );
        // moto: the parts checksum without its count.
        assert_eq!(same(store(p.checksum, None)), Identity::Same);
        let single = doc();
        // Copied in parts by another tool (`aws s3 sync` of a local set): no evidence from the
        // store either way, and a read of other bytes still finds the change.
        let c = store(
            Sha256Digest::of(b"digests of another tool's parts"),
            Some(3),
        );
        assert_eq!(
            identity(&single, single.file_size, Some(&c), None),
            Identity::Unknown
        );
        assert_eq!(
            identity(
                &single,
                single.file_size,
                Some(&c),
                Some(&Sha256Digest::of(b"x"))
            ),
            Identity::Differs
        );
        // Both kinds of evidence must agree.
        assert_eq!(
            identity(
                &d,
                size,
                Some(&store(p.checksum, Some(2))),
                Some(&p.checksum)
            ),
            Identity::Differs
        );
    }

    #[test]
    fn s3_checksum_forms() {
        let d = Sha256Digest::of(b"abc");
        assert_eq!(
            StoreChecksum::from_s3(&d.to_base64()),
            Some(StoreChecksum {
                sha256: d,
                parts: None
            })
        );
        assert_eq!(
            StoreChecksum::from_s3(&format!("{}-12", d.to_base64())),
            Some(StoreChecksum {
                sha256: d,
                parts: Some(12)
            })
        );
        for bad in ["", "abc", "-3", &format!("{}-x", d.to_base64())] {
            assert_eq!(StoreChecksum::from_s3(bad), None, "{bad}");
        }
    }
}
