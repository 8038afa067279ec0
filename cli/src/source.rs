//! A source directory: the deterministic walk, and the convention that turns a file into a
//! document (id, type, department, priority, content type).
//!
//! # The walk
//! Every directory is listed through the source's [`Root`] (no link is ever followed: a link is
//! skipped and reported, whatever it points to, as are devices, FIFOs and sockets) and sorted
//! by name. A file whose path is not valid UTF-8 or not a valid document id, a directory whose
//! name is not a usable path, and a directory that cannot be listed become failures with a
//! reason: nothing found is silently dropped. (`walkdir` would walk by full paths, which a link
//! swapped in mid-walk can redirect; this walk goes through the one door.)
//!
//! # The convention
//! For a file at relative path `P` (segments joined by `/`), the **document id** is `P` itself
//! (`finance/2026/q1.pdf`), so the stored copy is at `backups/{date}/documents/P` and a restore
//! rebuilds the same tree. Type, department, priority and content type follow
//! [`docvault_core::convention`], shared with S3 sources. The **created date** is the file's
//! modification time (UTC, whole seconds), or the backup time when the filesystem gives none.

use std::io;

use docvault_core::DocumentId;
use docvault_core::model::relative_path_problem;
use docvault_fs::{Kind, Root};

use crate::vault::escape_os;

/// One entry of a source directory.
#[derive(Debug)]
pub(crate) enum Entry {
    /// A regular file with a valid id (its path below the source).
    File(DocumentId),
    /// Something that should have been a document but cannot be: recorded as a failure.
    Failed {
        /// Its relative path, escaped where needed (never a valid id, so never confused with one).
        name: String,
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
            Self::File(id) => id.as_str(),
            Self::Failed { name, .. } | Self::Skipped { name, .. } => name,
        }
    }
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_owned()
    } else {
        format!("{dir}/{name}")
    }
}

/// Lists `root` recursively, sorted by relative path.
///
/// # Errors
/// Only when `root` itself cannot be listed; problems below it become [`Entry::Failed`].
pub(crate) fn walk(root: &Root) -> io::Result<Vec<Entry>> {
    let mut out = Vec::new();
    // Directories to list, by path below the root; an explicit stack, no recursion.
    let mut stack: Vec<String> = vec![String::new()];
    while let Some(dir) = stack.pop() {
        let mut listing = match root.read_dir(&dir) {
            Ok(l) => l,
            Err(e) if dir.is_empty() => {
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
                    name: format!("{dir}/"),
                    reason: format!(
                        "directory could not be listed ({e}{}): none of its files were backed up",
                        hint(&e)
                    ),
                });
                continue;
            }
        };
        listing.sort_by(|a, b| a.name.as_encoded_bytes().cmp(b.name.as_encoded_bytes()));
        let mut subdirs = Vec::new();
        for entry in listing {
            let shown = join(&dir, &escape_os(&entry.name));
            let path = entry.name.to_str().map(|n| join(&dir, n));
            match (entry.kind, path) {
                (Kind::Dir, Some(path)) if relative_path_problem(&path).is_none() => {
                    subdirs.push(path);
                }
                (Kind::Dir, path) => out.push(Entry::Failed {
                    name: format!("{shown}/"),
                    reason: format!(
                        "the folder's name {}: none of its files were backed up; rename it",
                        match path {
                            None => "is not valid UTF-8 (invalid bytes are shown as \\xNN)",
                            Some(_) => "holds a backslash or a control character",
                        }
                    ),
                }),
                (Kind::File, Some(path)) => out.push(match DocumentId::new(&path) {
                    Ok(id) => Entry::File(id),
                    Err(e) => Entry::Failed {
                        name: shown,
                        reason: format!("{e}: rename it"),
                    },
                }),
                (Kind::File, None) => out.push(Entry::Failed {
                    name: shown,
                    reason: "its path is not valid UTF-8, so it cannot be a document id: rename \
                             it (invalid bytes are shown as \\xNN)"
                        .to_owned(),
                }),
                (kind, _) => out.push(Entry::Skipped {
                    name: shown,
                    kind: kind.describe(),
                }),
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
