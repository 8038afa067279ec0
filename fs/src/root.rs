//! [`Root`]: a directory and the only way to reach what is below it.

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use docvault_core::model::relative_path_problem;

use crate::lock::Lock;
use crate::meta::{Kind, Meta};
use crate::temp::TempFile;

#[cfg(not(target_os = "wasi"))]
pub(crate) use crate::native as sys;
#[cfg(target_os = "wasi")]
pub(crate) use crate::wasi as sys;

/// A directory everything below which is reached only by safe relative paths, never through a
/// link (see the crate documentation).
#[derive(Debug, Clone)]
pub struct Root {
    dir: sys::Dir,
    path: PathBuf,
}

/// One entry of a directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Its name (not necessarily UTF-8).
    pub name: OsString,
    /// What it is.
    pub kind: Kind,
}

/// The error for a relative path that breaks the rule.
fn unsafe_path(rel: &str, problem: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!(
            "refused path `{}`: {problem}",
            docvault_core::text::escaped(rel)
        ),
    )
}

/// Splits a checked relative path into its directories and its last name.
fn split(rel: &str) -> io::Result<(Vec<&str>, &str)> {
    if let Some(problem) = relative_path_problem(rel) {
        return Err(unsafe_path(rel, problem));
    }
    let mut parts: Vec<&str> = rel.split('/').collect();
    let name = parts.pop().unwrap_or(rel);
    Ok((parts, name))
}

/// A link, or something other than a directory, where a directory was expected: named.
fn on_the_way(err: io::Error, path: &Path) -> io::Error {
    let link = matches!(err.raw_os_error(), Some(code) if code == LOOP || code == NOTDIR);
    if link {
        io::Error::new(
            err.kind(),
            format!(
                "{} is a symbolic link or not a directory: links are never followed",
                path.display()
            ),
        )
    } else {
        err
    }
}

#[cfg(not(target_os = "wasi"))]
const LOOP: i32 = rustix::io::Errno::LOOP.raw_os_error();
#[cfg(not(target_os = "wasi"))]
const NOTDIR: i32 = rustix::io::Errno::NOTDIR.raw_os_error();
#[cfg(target_os = "wasi")]
const LOOP: i32 = 32;
#[cfg(target_os = "wasi")]
const NOTDIR: i32 = 54;

/// The metadata of an open file (for "did it change while it was read").
///
/// # Errors
/// The system cannot describe it.
pub fn file_meta(file: &File) -> io::Result<Meta> {
    sys::fstat(file)
}

impl Root {
    /// The directory at `path` (which must exist). The path itself is taken as given, links
    /// included: it is the caller's choice; nothing below it is reached through a link.
    ///
    /// # Errors
    /// The directory cannot be opened.
    pub fn open(path: &Path) -> io::Result<Self> {
        Ok(Self {
            dir: sys::open_root(path)?,
            path: path.to_path_buf(),
        })
    }

    /// As [`open`](Self::open), creating the directory (and its parents) first when missing.
    ///
    /// # Errors
    /// The directory cannot be created or opened.
    pub fn create(path: &Path) -> io::Result<Self> {
        std::fs::create_dir_all(path)?;
        Self::open(path)
    }

    /// The root's path, as given.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `rel`'s path below the root, for messages.
    pub fn display(&self, rel: &str) -> PathBuf {
        let mut path = self.path.clone();
        path.extend(rel.split('/').filter(|s| !s.is_empty()));
        path
    }

    /// The directory at `rel` (`""`: the root itself) as a root of its own.
    ///
    /// # Errors
    /// A component is missing, a link, or not a directory.
    pub fn subdir(&self, rel: &str) -> io::Result<Root> {
        if rel.is_empty() {
            return Ok(self.clone());
        }
        let (parents, name) = split(rel)?;
        let parent = self.walk(&parents)?;
        let dir = sys::open_dir(&parent, name).map_err(|e| on_the_way(e, &self.display(rel)))?;
        Ok(Root {
            dir,
            path: self.display(rel),
        })
    }

    /// Opens the directories `names` one below the other, refusing links.
    fn walk(&self, names: &[&str]) -> io::Result<sys::Dir> {
        let mut dir = self.dir.clone();
        let mut path = self.path.clone();
        for name in names {
            path.push(name);
            dir = sys::open_dir(&dir, name).map_err(|e| on_the_way(e, &path))?;
        }
        Ok(dir)
    }

    /// The parent directory of `rel` and its last name.
    pub(crate) fn parent_of<'r>(&self, rel: &'r str) -> io::Result<(sys::Dir, &'r str)> {
        let (parents, name) = split(rel)?;
        Ok((self.walk(&parents)?, name))
    }

    /// What is at `rel`, without following a link; `None` when nothing is.
    ///
    /// # Errors
    /// A directory on the way is a link or cannot be read.
    pub fn metadata(&self, rel: &str) -> io::Result<Option<Meta>> {
        let (parent, name) = match self.parent_of(rel) {
            Ok(found) => found,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        match sys::stat(&parent, name) {
            Ok(m) => Ok(Some(m)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Opens the regular file at `rel` for reading, with its metadata as opened.
    ///
    /// # Errors
    /// A link anywhere on the way (or the file itself), something other than a regular file
    /// (a FIFO is refused without blocking), or the file cannot be opened.
    pub fn open_file(&self, rel: &str) -> io::Result<(File, Meta)> {
        let (parent, name) = self.parent_of(rel)?;
        let file = sys::open_file(&parent, name, sys::Open::Read)
            .map_err(|e| on_the_way(e, &self.display(rel)))?;
        let meta = sys::fstat(&file)?;
        if !meta.is_file() {
            return Err(io::Error::other(format!(
                "{} is a {}, not a regular file: it was not read",
                self.display(rel).display(),
                meta.kind.describe()
            )));
        }
        Ok((file, meta))
    }

    /// Reads the regular file at `rel` whole, refusing one larger than `limit` bytes before
    /// reading it (and stopping at the limit if it grows meanwhile).
    ///
    /// # Errors
    /// As [`open_file`](Self::open_file), or [`io::ErrorKind::FileTooLarge`] past `limit`.
    pub fn read_limited(&self, rel: &str, limit: u64) -> io::Result<Vec<u8>> {
        let (file, meta) = self.open_file(rel)?;
        let too_large = |size: u64| {
            io::Error::new(
                io::ErrorKind::FileTooLarge,
                format!(
                    "{} is {size} bytes, more than the {limit} bytes read here",
                    self.display(rel).display()
                ),
            )
        };
        if meta.len > limit {
            return Err(too_large(meta.len));
        }
        let mut body = Vec::with_capacity(usize::try_from(meta.len).unwrap_or(0));
        file.take(limit.saturating_add(1)).read_to_end(&mut body)?;
        if body.len() as u64 > limit {
            return Err(too_large(body.len() as u64));
        }
        Ok(body)
    }

    /// The entries of the directory at `rel` (`""`: the root), in no particular order.
    ///
    /// # Errors
    /// A link or a non-directory on the way, or the directory cannot be listed.
    pub fn read_dir(&self, rel: &str) -> io::Result<Vec<Entry>> {
        let dir = if rel.is_empty() {
            self.dir.clone()
        } else {
            self.subdir(rel)?.dir
        };
        Ok(sys::read_dir(&dir)?
            .into_iter()
            .map(|(name, kind)| Entry { name, kind })
            .collect())
    }

    /// Creates the directory `rel` and every missing one on the way, refusing to go through a
    /// link or a file.
    ///
    /// # Errors
    /// A link or a file on the way, or a directory cannot be created.
    pub fn create_dirs(&self, rel: &str) -> io::Result<()> {
        if rel.is_empty() {
            return Ok(());
        }
        let (parents, name) = split(rel)?;
        let mut dir = self.dir.clone();
        let mut path = self.path.clone();
        for part in parents.iter().copied().chain([name]) {
            path.push(part);
            match sys::mkdir(&dir, part) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e),
            }
            dir = sys::open_dir(&dir, part).map_err(|e| on_the_way(e, &path))?;
        }
        Ok(())
    }

    /// A new temporary file in directory `dir_rel` (which must exist), created exclusively
    /// under an unpredictable name; it removes itself unless committed.
    ///
    /// # Errors
    /// A link on the way, or the file cannot be created.
    pub fn temp_file(&self, dir_rel: &str) -> io::Result<TempFile> {
        let dir = if dir_rel.is_empty() {
            self.dir.clone()
        } else {
            self.subdir(dir_rel)?.dir
        };
        TempFile::create_in(dir, self.display(dir_rel))
    }

    /// A temporary file beside `rel` (its directory created first, never through a link), to
    /// be committed at `rel` with [`TempFile::commit_at`].
    ///
    /// # Errors
    /// A link or a file on the way, or the file cannot be created.
    pub fn prepare_file(&self, rel: &str) -> io::Result<TempFile> {
        let (parents, _) = split(rel)?;
        let dir = parents.join("/");
        self.create_dirs(&dir)?;
        self.temp_file(&dir)
    }

    /// Renames the entry at `from` to `to` (both below the root), replacing a file at `to`;
    /// links are moved themselves, never followed.
    ///
    /// # Errors
    /// A link on the way to either, or the rename fails.
    pub fn rename(&self, from: &str, to: &str) -> io::Result<()> {
        let (from_dir, from_name) = self.parent_of(from)?;
        let (to_dir, to_name) = self.parent_of(to)?;
        sys::rename(&from_dir, from_name, &to_dir, to_name)
    }

    /// Removes the file (or link) at `rel`; a link is removed itself, never followed.
    ///
    /// # Errors
    /// A link on the way, or it cannot be removed.
    pub fn remove_file(&self, rel: &str) -> io::Result<()> {
        let (parent, name) = self.parent_of(rel)?;
        sys::unlink(&parent, name)
    }

    /// Removes the directory at `rel` and everything in it, never following a link (links are
    /// removed themselves). A missing directory is not an error.
    ///
    /// # Errors
    /// Something in it cannot be removed.
    pub fn remove_dir_all(&self, rel: &str) -> io::Result<()> {
        let (parent, name) = match self.parent_of(rel) {
            Ok(found) => found,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        match sys::stat(&parent, name) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
            Ok(m) if !m.is_dir() => return sys::unlink(&parent, name),
            Ok(_) => {}
        }
        let sub = self.subdir(rel)?;
        for entry in sys::read_dir(&sub.dir)? {
            let Some(child) = entry.0.to_str() else {
                return Err(io::Error::other(format!(
                    "{} holds a name that is not UTF-8: remove it by hand",
                    self.display(rel).display()
                )));
            };
            let child_rel = format!("{rel}/{child}");
            if entry.1 == Kind::Dir {
                self.remove_dir_all(&child_rel)?;
            } else {
                sys::unlink(&sub.dir, child)?;
            }
        }
        sys::rmdir(&parent, name)
    }

    /// Removes the directory at `rel` if it is empty (else leaves it).
    pub fn remove_empty_dir(&self, rel: &str) {
        if let Ok((parent, name)) = self.parent_of(rel) {
            let _ = sys::rmdir(&parent, name);
        }
    }

    /// Takes the exclusive lock on file `rel` (created if missing), without waiting.
    ///
    /// # Errors
    /// [`io::ErrorKind::WouldBlock`] when another process holds it; a link on the way; the
    /// file cannot be opened.
    pub fn lock(&self, rel: &str) -> io::Result<Lock> {
        let (parent, name) = self.parent_of(rel)?;
        let file = sys::open_file(&parent, name, sys::Open::Lock)
            .map_err(|e| on_the_way(e, &self.display(rel)))?;
        Lock::take(file, &self.display(rel))
    }

    /// Flushes the directory `rel`'s entries (renames, links) to disk, where the platform can.
    pub fn sync_dir(&self, rel: &str) {
        if let Ok(sub) = self.subdir(rel) {
            sys::sync(&sub.dir);
        }
    }
}
