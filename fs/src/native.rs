//! The native backend: every operation relative to an open directory (`openat` and friends,
//! through rustix), with `O_NOFOLLOW` on every component.

use std::ffi::OsString;
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStringExt as _;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rustix::fs::{AtFlags, FileType, Mode, OFlags, RenameFlags, Stat};

use crate::meta::{Kind, Meta};

/// An open directory.
#[derive(Debug, Clone)]
pub(crate) struct Dir(Arc<OwnedFd>);

/// How to open a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Open {
    /// Read an existing regular file.
    Read,
    /// Create a new file for writing; fails if anything is there (a link included).
    CreateNew,
    /// Open or create for reading and writing (a lock file).
    Lock,
}

const DIR_FLAGS: OFlags = OFlags::RDONLY
    .union(OFlags::DIRECTORY)
    .union(OFlags::NOFOLLOW)
    .union(OFlags::CLOEXEC);

pub(crate) fn open_root(path: &Path) -> io::Result<Dir> {
    // The root is the user's choice, by its path: links in it are followed.
    let fd = rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    Ok(Dir(Arc::new(fd)))
}

/// Opens directory `name` of `dir`, refusing a link.
pub(crate) fn open_dir(dir: &Dir, name: &str) -> io::Result<Dir> {
    let fd = rustix::fs::openat(dir.0.as_fd(), name, DIR_FLAGS, Mode::empty())?;
    Ok(Dir(Arc::new(fd)))
}

pub(crate) fn open_file(dir: &Dir, name: &str, how: Open) -> io::Result<File> {
    let flags = OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let (flags, mode) = match how {
        // Non-blocking: a FIFO opens at once instead of waiting for a writer, then is refused.
        Open::Read => (flags | OFlags::RDONLY | OFlags::NONBLOCK, Mode::empty()),
        Open::CreateNew => (
            flags | OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL,
            Mode::from_raw_mode(0o644),
        ),
        Open::Lock => (
            flags | OFlags::RDWR | OFlags::CREATE | OFlags::NONBLOCK,
            Mode::from_raw_mode(0o644),
        ),
    };
    let fd = rustix::fs::openat(dir.0.as_fd(), name, flags, mode)?;
    let file = File::from(fd);
    if how == Open::Read {
        // Reads of a regular file never block; clear the flag so `read` behaves as usual.
        rustix::fs::fcntl_setfl(&file, OFlags::empty())?;
    }
    Ok(file)
}

pub(crate) fn stat(dir: &Dir, name: &str) -> io::Result<Meta> {
    Ok(meta(&rustix::fs::statat(
        dir.0.as_fd(),
        name,
        AtFlags::SYMLINK_NOFOLLOW,
    )?))
}

pub(crate) fn fstat(file: &File) -> io::Result<Meta> {
    Ok(meta(&rustix::fs::fstat(file)?))
}

pub(crate) fn mkdir(dir: &Dir, name: &str) -> io::Result<()> {
    Ok(rustix::fs::mkdirat(
        dir.0.as_fd(),
        name,
        Mode::from_raw_mode(0o755),
    )?)
}

pub(crate) fn read_dir(dir: &Dir) -> io::Result<Vec<(OsString, Kind)>> {
    // A fresh descriptor: reading a directory moves its offset.
    let fd = rustix::fs::openat(dir.0.as_fd(), ".", DIR_FLAGS, Mode::empty())?;
    let mut entries = Vec::new();
    for entry in rustix::fs::Dir::read_from(&fd)? {
        let entry = entry?;
        let name = entry.file_name().to_bytes();
        if name == b"." || name == b".." {
            continue;
        }
        let kind = match entry.file_type() {
            FileType::RegularFile => Kind::File,
            FileType::Directory => Kind::Dir,
            FileType::Symlink => Kind::Symlink,
            FileType::Unknown => {
                let name = String::from_utf8_lossy(name);
                stat(dir, &name).map_or(Kind::Special, |m| m.kind)
            }
            _ => Kind::Special,
        };
        entries.push((OsString::from_vec(name.to_vec()), kind));
    }
    Ok(entries)
}

pub(crate) fn rename(from: &Dir, from_name: &str, to: &Dir, to_name: &str) -> io::Result<()> {
    Ok(rustix::fs::renameat(
        from.0.as_fd(),
        from_name,
        to.0.as_fd(),
        to_name,
    )?)
}

/// Puts `from_name` at `to_name` only if nothing is there: a hard link (then the caller removes
/// the old name), or where links are not possible an exclusive rename.
pub(crate) fn link_new(from: &Dir, from_name: &str, to: &Dir, to_name: &str) -> io::Result<bool> {
    match rustix::fs::linkat(
        from.0.as_fd(),
        from_name,
        to.0.as_fd(),
        to_name,
        AtFlags::empty(),
    ) {
        Ok(()) => Ok(true),
        Err(rustix::io::Errno::EXIST) => Err(io::Error::from(io::ErrorKind::AlreadyExists)),
        Err(_) => {
            rustix::fs::renameat_with(
                from.0.as_fd(),
                from_name,
                to.0.as_fd(),
                to_name,
                RenameFlags::NOREPLACE,
            )?;
            Ok(false)
        }
    }
}

pub(crate) fn unlink(dir: &Dir, name: &str) -> io::Result<()> {
    Ok(rustix::fs::unlinkat(dir.0.as_fd(), name, AtFlags::empty())?)
}

pub(crate) fn rmdir(dir: &Dir, name: &str) -> io::Result<()> {
    Ok(rustix::fs::unlinkat(
        dir.0.as_fd(),
        name,
        AtFlags::REMOVEDIR,
    )?)
}

pub(crate) fn sync(dir: &Dir) {
    let _ = rustix::fs::fsync(dir.0.as_fd());
}

fn meta(st: &Stat) -> Meta {
    let kind = match FileType::from_raw_mode(st.st_mode) {
        FileType::RegularFile => Kind::File,
        FileType::Directory => Kind::Dir,
        FileType::Symlink => Kind::Symlink,
        _ => Kind::Special,
    };
    Meta {
        kind,
        len: u64::try_from(st.st_size).unwrap_or(0),
        modified: system_time(st.st_mtime, st.st_mtime_nsec as i64),
        changed: Some((st.st_ctime, st.st_ctime_nsec as i64)),
        identity: Some((st.st_dev, st.st_ino)),
    }
}

/// Seconds and nanoseconds since the epoch (negative: before it) as a `SystemTime`.
fn system_time(secs: i64, nsec: i64) -> Option<SystemTime> {
    let nanos = Duration::from_nanos(u64::try_from(nsec).ok()?);
    if secs >= 0 {
        UNIX_EPOCH
            .checked_add(Duration::from_secs(secs.unsigned_abs()))?
            .checked_add(nanos)
    } else {
        UNIX_EPOCH
            .checked_sub(Duration::from_secs(secs.unsigned_abs()))?
            .checked_add(nanos)
    }
}
