//! S3's size limits, and the one decision that follows from them: a body goes up in one PUT or
//! as a multipart upload, in parts of which size.

use docvault_core::UploadParts;

/// The largest object one `PutObject` stores (5 GiB).
pub const MAX_SINGLE_PUT: u64 = 5 * 1024 * 1024 * 1024;

/// The fewest bytes a part other than the last may have (S3: 5 MiB).
pub const MIN_PART_SIZE: u64 = 5 * 1024 * 1024;

/// The most parts one multipart upload may have (S3: 10,000).
pub const MAX_PARTS: u64 = 10_000;

/// Default size up to which a body read once is kept in memory for its upload: 4 MiB (with the
/// default 32 uploads at once and 4 multipart uploads of 16 MiB parts, at most 192 MiB of
/// bodies in memory).
pub const DEFAULT_BUFFER_LIMIT: u64 = 4 * 1024 * 1024;

/// Default size above which a body goes up in parts: 64 MiB.
pub const DEFAULT_MULTIPART_THRESHOLD: u64 = 64 * 1024 * 1024;

/// Default part size: 16 MiB.
pub const DEFAULT_PART_SIZE: u64 = 16 * 1024 * 1024;

/// How a body of `size` bytes goes up: `Ok(None)` in one PUT (up to `threshold`, and never above
/// S3's 5 GiB single-PUT limit), `Ok(Some(part_size))` in parts of `part_size`.
///
/// # Errors
/// The number of parts it would need, when that is more than [`MAX_PARTS`].
pub fn upload_split(size: u64, threshold: u64, part_size: u64) -> Result<Option<u64>, u64> {
    if size <= threshold.min(MAX_SINGLE_PUT) {
        return Ok(None);
    }
    match UploadParts::count_for(size, part_size) {
        parts if parts > MAX_PARTS => Err(parts),
        _ => Ok(Some(part_size)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_put_up_to_the_threshold_then_parts() {
        let mib = 1024 * 1024;
        assert_eq!(upload_split(64 * mib, 64 * mib, 16 * mib), Ok(None));
        assert_eq!(
            upload_split(64 * mib + 1, 64 * mib, 16 * mib),
            Ok(Some(16 * mib))
        );
        // Never one PUT above 5 GiB, whatever the threshold.
        assert_eq!(
            upload_split(MAX_SINGLE_PUT + 1, u64::MAX, 1024 * mib),
            Ok(Some(1024 * mib))
        );
        assert_eq!(
            upload_split(MAX_PARTS * MIN_PART_SIZE + 1, 0, MIN_PART_SIZE),
            Err(MAX_PARTS + 1)
        );
    }
}
