//! Copying and hashing in one pass, through one fixed buffer.

use std::fs::File;
use std::io::{self, Read, Write as _};

use docvault_core::{Sha256Digest, Sha256Hasher};

/// Size of the one buffer every copy and hash streams through.
pub(crate) const BUF_SIZE: usize = 256 * 1024;

/// Why a streamed copy stopped.
#[derive(Debug)]
pub(crate) enum PumpError {
    /// Reading the input failed.
    Read(io::Error),
    /// Writing the output failed.
    Write(io::Error),
}

/// Streams `input` through one fixed buffer into the hasher and, when given, into `output`.
/// Returns the number of bytes and their SHA-256.
pub(crate) fn pump(
    input: &mut impl Read,
    mut output: Option<&mut File>,
    buf: &mut [u8],
) -> Result<(u64, Sha256Digest), PumpError> {
    let mut hasher = Sha256Hasher::new();
    let mut total = 0u64;
    loop {
        let n = match input.read(buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(PumpError::Read(e)),
        };
        hasher.update(&buf[..n]);
        if let Some(out) = output.as_deref_mut() {
            out.write_all(&buf[..n]).map_err(PumpError::Write)?;
        }
        total += n as u64;
    }
    Ok((total, hasher.finish()))
}
