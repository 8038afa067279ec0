//! A source directory: the deterministic walk, and the convention that turns a file into a
//! document (id, type, department, priority, content type).
//!
//! # The walk
//! Every directory is listed and sorted by name; symbolic links are never followed (a link is
//! skipped and reported, whatever it points to), nor are devices, FIFOs and sockets. A file whose
//! path is not valid UTF-8 or not a valid document id, and a directory that cannot be listed,
//! become failures with a reason: nothing found is silently dropped.
//!
//! # The convention
//! For a file at relative path `P` (segments joined by `/`), the **document id** is `P` itself
//! (`finance/2026/q1.pdf`), so the stored copy is at `backups/{date}/documents/P` and a restore
//! rebuilds the same tree. Type, department, priority and content type follow
//! [`docvault_core::convention`], shared with S3 sources. The **created date** is the file's
//! modification time (UTC, whole seconds), or the backup time when the filesystem gives none.

use std::ffi::OsString;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use docvault_core::DocumentId;

use crate::local::{escape_os, kind_of};

/// One entry of a source directory.
#[derive(Debug)]
pub(crate) enum Entry {
    /// A regular file with a valid id.
    File {
        /// Its id (its relative path).
        id: DocumentId,
        /// Its full path.
        path: PathBuf,
    },
    /// Something that should have been a document but cannot be: recorded as a failure.
    Failed {
        /// Its relative path, escaped where needed (never a valid id, so never confused with one).
        name: String,
        /// Its full path.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// Not a regular file (a symbolic link, a device, a FIFO, a socket): skipped and reported.
    Skipped {
        /// Its relative path, escaped where needed.
        name: String,
        /// What it is.
        kind: &'static str,
    },
}

impl Entry {
    /// The relative path as reported, for sorting.
    fn sort_key(&self) -> &str {
        match self {
            Self::File { id, .. } => id.as_str(),
            Self::Failed { name, .. } | Self::Skipped { name, .. } => name,
        }
    }
}

/// Lists `root` recursively, sorted by relative path.
///
/// # Errors
/// Only when `root` itself cannot be listed; problems below it become [`Entry::Failed`].
pub(crate) fn walk(root: &Path) -> io::Result<Vec<Entry>> {
    let mut out = Vec::new();
    // (directory path, its segments relative to root); an explicit stack, no recursion.
    let mut stack: Vec<(PathBuf, Vec<OsString>)> = vec![(root.to_path_buf(), Vec::new())];
    while let Some((dir, segments)) = stack.pop() {
        let listing = match fs::read_dir(&dir) {
            Ok(l) => l,
            Err(e) if segments.is_empty() => {
                let hint = hint(&e);
                // Keep the OS error (and its code) unless there is something to add.
                return Err(if hint.is_empty() {
                    e
                } else {
                    io::Error::new(e.kind(), format!("{e}{hint}"))
                });
            }
            Err(e) => {
                out.push(Entry::Failed {
                    name: format!("{}/", escaped(&segments)),
                    path: dir,
                    reason: format!(
                        "directory could not be listed ({e}{}): none of its files were backed up",
                        hint(&e)
                    ),
                });
                continue;
            }
        };
        let mut children = Vec::new();
        for item in listing {
            match item.and_then(|e| Ok((e.file_name(), e.path(), e.file_type()?))) {
                Ok(child) => children.push(child),
                Err(e) => out.push(Entry::Failed {
                    name: format!("{}/", escaped(&segments)),
                    path: dir.clone(),
                    reason: format!(
                        "an entry of this directory could not be read ({e}): it was not backed up"
                    ),
                }),
            }
        }
        children.sort_by(|a, b| a.0.as_encoded_bytes().cmp(b.0.as_encoded_bytes()));
        let mut subdirs = Vec::new();
        for (name, path, ft) in children {
            let mut rel = segments.clone();
            rel.push(name);
            if ft.is_dir() {
                subdirs.push((path, rel));
            } else if ft.is_file() {
                out.push(file_entry(&rel, path));
            } else {
                out.push(Entry::Skipped {
                    name: escaped(&rel),
                    kind: kind_of(ft),
                });
            }
        }
        stack.extend(subdirs.into_iter().rev());
    }
    out.sort_by(|a, b| a.sort_key().cmp(b.sort_key()));
    Ok(out)
}

/// `EILSEQ` ("illegal byte sequence"): what a WASI host returns for a directory holding a
/// name that is not UTF-8 (WASI passes names as UTF-8 strings).
#[cfg(target_os = "wasi")]
const EILSEQ: i32 = 25;
#[cfg(not(target_os = "wasi"))]
const EILSEQ: i32 = 84;

/// What to do about a listing error, when there is something specific to say.
fn hint(e: &io::Error) -> &'static str {
    if cfg!(target_os = "wasi") && e.raw_os_error() == Some(EILSEQ) {
        "; a name in it is not valid UTF-8, which a WASI sandbox cannot list: rename it, or \
         back this directory up with the native docvault, which records such a file as failed"
    } else {
        ""
    }
}

fn escaped(segments: &[OsString]) -> String {
    segments
        .iter()
        .map(|s| escape_os(s))
        .collect::<Vec<_>>()
        .join("/")
}

fn file_entry(segments: &[OsString], path: PathBuf) -> Entry {
    let utf8: Option<Vec<&str>> = segments.iter().map(|s| s.to_str()).collect();
    let Some(utf8) = utf8 else {
        return Entry::Failed {
            name: escaped(segments),
            path,
            reason: "its path is not valid UTF-8, so it cannot be a document id: rename it \
                     (invalid bytes are shown as \\xNN)"
                .to_owned(),
        };
    };
    match DocumentId::new(&utf8.join("/")) {
        Ok(id) => Entry::File { id, path },
        Err(e) => Entry::Failed {
            name: escaped(segments),
            path,
            reason: format!("{e}: rename it"),
        },
    }
}
