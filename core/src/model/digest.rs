//! SHA-256 digests in their three written forms (`sha256:<hex>` in manifests, base64 for S3's
//! `x-amz-checksum-sha256`, bare hex as `sha256sum` prints it), incremental hashing, and the
//! checksum S3 keeps for a body stored in parts.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::Digest as _;

use super::ValueError;
use super::time::ascii;

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
        // Every digit is looked up, bad ones marked with a high bit checked once at the end:
        // a manifest holds a million of these, so no branch per digit.
        let mut out = [0u8; 32];
        let mut bad = 0u8;
        for (i, pair) in hex.chunks_exact(2).enumerate() {
            let (high, low) = (
                HEX_VALUE[usize::from(pair[0])],
                HEX_VALUE[usize::from(pair[1])],
            );
            bad |= high | low;
            out[i] = (high << 4) | (low & 0x0f);
        }
        if bad & NOT_HEX != 0 {
            return Err(err());
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

/// Marks a byte that is not a lowercase hex digit in [`HEX_VALUE`].
const NOT_HEX: u8 = 0x80;

/// The value of each lowercase hex digit, [`NOT_HEX`] for every other byte.
const HEX_VALUE: [u8; 256] = {
    let mut table = [NOT_HEX; 256];
    let mut i = 0;
    while i < 10 {
        table[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        table[b'a' as usize + i] = 10 + i as u8;
        i += 1;
    }
    table
};

fn hex_into(bytes: &[u8; 32], out: &mut [u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for (i, b) in bytes.iter().enumerate() {
        out[2 * i] = HEX[usize::from(b >> 4)];
        out[2 * i + 1] = HEX[usize::from(b & 0xf)];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    proptest::proptest! {
        /// The table lookup accepts exactly `sha256:` and 64 lowercase hex digits, and reads
        /// them as the digits say.
        #[test]
        fn the_digest_rule_is_the_char_rule(
            digits in "[0-9a-f]{63,65}",
            at in 0..65usize,
            swapped in "[0-9a-fA-Fg/:@`G\u{80}-\u{ff}]",
            bytes in proptest::prelude::any::<[u8; 32]>(),
        ) {
            // Lowercase hex digits, one of them (when `at` falls inside) swapped for another
            // character, which may itself be a valid digit.
            let digits: String = digits
                .chars()
                .enumerate()
                .map(|(i, c)| if i == at { swapped.clone() } else { c.to_string() })
                .collect();
            let text = format!("sha256:{digits}");
            let reference = digits.len() == 64
                && digits.bytes().all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c));
            let parsed = text.parse::<Sha256Digest>();
            proptest::prop_assert_eq!(parsed.is_ok(), reference, "{}", text);
            if let Ok(d) = parsed {
                proptest::prop_assert_eq!(d.to_string(), text);
            }
            let d = Sha256Digest(bytes);
            proptest::prop_assert_eq!(d.to_string().parse::<Sha256Digest>(), Ok(d));
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
