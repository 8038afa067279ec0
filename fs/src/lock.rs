//! An exclusive, non-blocking lock on a file (`flock`), released when dropped or when the
//! process dies, so a crashed run never leaves a day locked.

use std::fs::{File, TryLockError};
use std::io;
use std::path::Path;

/// A lock taken on a file.
#[derive(Debug)]
pub enum Lock {
    /// Held until dropped.
    Held(File),
    /// The platform has no file locks (a WASI sandbox): nothing is held.
    Unsupported,
}

impl Lock {
    pub(crate) fn take(file: File, path: &Path) -> io::Result<Self> {
        match file.try_lock() {
            Ok(()) => Ok(Self::Held(file)),
            Err(TryLockError::WouldBlock) => Err(io::Error::new(
                io::ErrorKind::WouldBlock,
                format!("another process holds the lock {}", path.display()),
            )),
            Err(TryLockError::Error(e)) if e.kind() == io::ErrorKind::Unsupported => {
                Ok(Self::Unsupported)
            }
            Err(TryLockError::Error(e)) => Err(e),
        }
    }

    /// Whether a lock is really held.
    pub fn is_held(&self) -> bool {
        matches!(self, Self::Held(_))
    }
}
