//! What docvault needs to know about a filesystem entry: its kind, size, times and identity,
//! and the one rule for "did this file change while it was read".

use std::time::SystemTime;

/// What an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link (never followed).
    Symlink,
    /// A device, FIFO or socket.
    Special,
}

impl Kind {
    /// How it is named in messages and reports.
    pub fn describe(self) -> &'static str {
        match self {
            Self::File => "regular file",
            Self::Dir => "directory",
            Self::Symlink => "symbolic link",
            Self::Special => "special file (device, FIFO or socket)",
        }
    }
}

/// An entry's metadata, as read without following links.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Meta {
    /// What it is.
    pub kind: Kind,
    /// Size in bytes.
    pub len: u64,
    /// Last modification.
    pub modified: Option<SystemTime>,
    /// Last status change (seconds, nanoseconds): moves on every write and cannot be set back,
    /// unlike the modification time. `None` where the platform does not give it.
    pub changed: Option<(i64, i64)>,
    /// Device and inode, where the platform gives them.
    pub identity: Option<(u64, u64)>,
}

impl Meta {
    /// Whether this is a regular file.
    pub fn is_file(&self) -> bool {
        self.kind == Kind::File
    }

    /// Whether this is a directory.
    pub fn is_dir(&self) -> bool {
        self.kind == Kind::Dir
    }

    /// Whether `later` (the same file read again) shows that it changed since `self`: another
    /// size, modification time, status-change time or inode. A writer that puts the
    /// modification time back cannot put back the status-change time.
    pub fn changed_by(&self, later: &Meta) -> bool {
        self.len != later.len
            || self.modified != later.modified
            || self.changed != later.changed
            || self.identity != later.identity
    }

    /// Whether `other` is the same file (same device and inode) where the platform can tell.
    pub fn same_file(&self, other: &Meta) -> bool {
        match (self.identity, other.identity) {
            (Some(a), Some(b)) => a == b,
            _ => true,
        }
    }
}
