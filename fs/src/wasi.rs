//! The WASI backend: plain `std::fs` by path, inside the runtime's grants, with every component
//! checked (`symlink_metadata`, which never follows the last link) before it is used. The
//! runtime keeps every path inside its grants; the check keeps links below a grant from being
//! followed, short of a concurrent swap by another process on the host.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::meta::{Kind, Meta};

/// A directory, by its path inside the sandbox.
#[derive(Debug, Clone)]
pub(crate) struct Dir(Arc<PathBuf>);

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

fn refuse_link(path: &Path) -> io::Error {
    io::Error::other(format!(
        "{} is a symbolic link: links are never followed",
        path.display()
    ))
}

pub(crate) fn open_root(path: &Path) -> io::Result<Dir> {
    if !fs::metadata(path)?.is_dir() {
        return Err(io::Error::from(io::ErrorKind::NotADirectory));
    }
    Ok(Dir(Arc::new(path.to_path_buf())))
}

pub(crate) fn open_dir(dir: &Dir, name: &str) -> io::Result<Dir> {
    let path = dir.0.join(name);
    let m = fs::symlink_metadata(&path)?;
    if m.file_type().is_symlink() {
        return Err(refuse_link(&path));
    }
    if !m.is_dir() {
        return Err(io::Error::from(io::ErrorKind::NotADirectory));
    }
    Ok(Dir(Arc::new(path)))
}

pub(crate) fn open_file(dir: &Dir, name: &str, how: Open) -> io::Result<File> {
    let path = dir.0.join(name);
    match how {
        // Exclusive creation never follows a link: a link there is "already exists".
        Open::CreateNew => OpenOptions::new().write(true).create_new(true).open(&path),
        Open::Read | Open::Lock => {
            match fs::symlink_metadata(&path) {
                Ok(m) if m.file_type().is_symlink() => return Err(refuse_link(&path)),
                Ok(m) if !m.is_file() => {
                    return Err(io::Error::other(format!(
                        "{} is not a regular file",
                        path.display()
                    )));
                }
                Ok(_) => {}
                Err(e) if how == Open::Lock && e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
            match how {
                Open::Read => File::open(&path),
                _ => OpenOptions::new()
                    .read(true)
                    .write(true)
                    .create(true)
                    .truncate(false)
                    .open(&path),
            }
        }
    }
}

pub(crate) fn stat(dir: &Dir, name: &str) -> io::Result<Meta> {
    Ok(meta(&fs::symlink_metadata(dir.0.join(name))?))
}

pub(crate) fn fstat(file: &File) -> io::Result<Meta> {
    Ok(meta(&file.metadata()?))
}

pub(crate) fn mkdir(dir: &Dir, name: &str) -> io::Result<()> {
    fs::create_dir(dir.0.join(name))
}

pub(crate) fn read_dir(dir: &Dir) -> io::Result<Vec<(OsString, Kind)>> {
    let mut entries = Vec::new();
    for entry in fs::read_dir(dir.0.as_ref())? {
        let entry = entry?;
        let ft = entry.file_type()?;
        entries.push((entry.file_name(), kind(ft)));
    }
    Ok(entries)
}

pub(crate) fn rename(from: &Dir, from_name: &str, to: &Dir, to_name: &str) -> io::Result<()> {
    fs::rename(from.0.join(from_name), to.0.join(to_name))
}

pub(crate) fn link_new(from: &Dir, from_name: &str, to: &Dir, to_name: &str) -> io::Result<bool> {
    let (source, target) = (from.0.join(from_name), to.0.join(to_name));
    match fs::hard_link(&source, &target) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(e),
        Err(_) if fs::symlink_metadata(&target).is_ok() => {
            Err(io::Error::from(io::ErrorKind::AlreadyExists))
        }
        Err(_) => fs::rename(&source, &target).map(|()| false),
    }
}

pub(crate) fn unlink(dir: &Dir, name: &str) -> io::Result<()> {
    fs::remove_file(dir.0.join(name))
}

pub(crate) fn rmdir(dir: &Dir, name: &str) -> io::Result<()> {
    fs::remove_dir(dir.0.join(name))
}

pub(crate) fn sync(dir: &Dir) {
    if let Ok(d) = File::open(dir.0.as_ref()) {
        let _ = d.sync_all();
    }
}

fn kind(ft: fs::FileType) -> Kind {
    if ft.is_symlink() {
        Kind::Symlink
    } else if ft.is_dir() {
        Kind::Dir
    } else if ft.is_file() {
        Kind::File
    } else {
        Kind::Special
    }
}

fn meta(m: &fs::Metadata) -> Meta {
    Meta {
        kind: kind(m.file_type()),
        len: m.len(),
        modified: m.modified().ok(),
        // Stable Rust exposes neither the status-change time nor the inode on WASI.
        changed: None,
        identity: None,
    }
}
