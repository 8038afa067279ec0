//! A local directory as a backup store: the same layout as the S3 bucket
//! (`backups/{date}/documents/...`, `backups/{date}/manifest.json`,
//! `backups/{date}/incomplete/{run}.json`), so a backup set can be synced to S3 with any tool.
//!
//! Every file appears under its final name only when it is whole: it is written to a temporary
//! file, flushed to disk, then renamed (documents, reports) or hard-linked create-only (the
//! manifest, the commit point). A crash at any point leaves at worst a temporary file, never a
//! half-written file under a real name.
//!
//! Only `std::fs`, so the same code runs natively and as a WASI guest, where it can reach only
//! the directories `wasmtime run --dir` granted.

use std::ffi::OsStr;
use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use docvault_core::{BackupDate, BackupStatus, Layout, Manifest, Sha256Digest, Sha256Hasher};

use crate::error::CliError;

/// Size of the one buffer every copy and hash streams through.
pub(crate) const BUF_SIZE: usize = 256 * 1024;

/// The path of `key` (a `/`-separated key relative to the backup root) below `root`.
pub(crate) fn key_path(root: &Path, key: &str) -> PathBuf {
    let mut path = root.to_path_buf();
    path.extend(key.split('/'));
    path
}

/// Creates `root/rel` and every missing directory on the way, refusing to go through a
/// symbolic link or a file (so a planted link cannot redirect writes out of the tree).
/// `root` itself is taken as given.
pub(crate) fn create_dirs_below(root: &Path, rel: &str) -> io::Result<PathBuf> {
    let mut path = root.to_path_buf();
    for segment in rel.split('/').filter(|s| !s.is_empty()) {
        path.push(segment);
        match fs::symlink_metadata(&path) {
            Ok(m) if m.is_dir() => {}
            Ok(m) => {
                let what = if m.file_type().is_symlink() {
                    "a symbolic link"
                } else {
                    "not a directory"
                };
                return Err(io::Error::other(format!(
                    "{} is {what}: refusing to write below it",
                    path.display()
                )));
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => match fs::create_dir(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && path.is_dir() => {}
                Err(e) => return Err(e),
            },
            Err(e) => return Err(e),
        }
    }
    Ok(path)
}

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

/// Size and SHA-256 of the regular file at `path` (not following a final symbolic link).
pub(crate) fn hash_file(path: &Path, buf: &mut [u8]) -> io::Result<(u64, Sha256Digest)> {
    let meta = fs::symlink_metadata(path)?;
    if !meta.is_file() {
        return Err(io::Error::other("not a regular file"));
    }
    let mut file = File::open(path)?;
    pump(&mut file, None, buf).map_err(|e| match e {
        PumpError::Read(e) | PumpError::Write(e) => e,
    })
}

/// A file being written under a temporary name. Dropped without being committed, it removes
/// itself, so an error never leaves it behind.
#[derive(Debug)]
pub(crate) struct TempFile {
    path: PathBuf,
    file: Option<File>,
}

impl TempFile {
    /// Creates (or truncates a stale) temporary file at `path`.
    pub(crate) fn create(path: PathBuf) -> io::Result<Self> {
        let file = File::create(&path)?;
        Ok(Self {
            path,
            file: Some(file),
        })
    }

    /// The open file.
    pub(crate) fn file(&mut self) -> &mut File {
        self.file
            .as_mut()
            .unwrap_or_else(|| unreachable!("the file is open until commit"))
    }

    fn flush_to_disk(&mut self) -> io::Result<()> {
        let file = self.file();
        file.flush()?;
        file.sync_all()?;
        self.file = None;
        Ok(())
    }

    /// Flushes to disk and renames onto `target`, replacing whatever file is there.
    pub(crate) fn commit_replace(mut self, target: &Path) -> io::Result<()> {
        self.flush_to_disk()?;
        fs::rename(&self.path, target)?;
        self.path = PathBuf::new();
        Ok(())
    }

    /// Flushes to disk and links the file in at `target` only if nothing is there yet
    /// (`AlreadyExists` otherwise): the local form of `If-None-Match: *`. Where the filesystem
    /// has no hard links, falls back to a check and a rename.
    pub(crate) fn commit_new(mut self, target: &Path) -> io::Result<()> {
        self.flush_to_disk()?;
        match fs::hard_link(&self.path, target) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Err(e),
            Err(_) if fs::symlink_metadata(target).is_ok() => {
                return Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    format!("{} already exists", target.display()),
                ));
            }
            Err(_) => {
                fs::rename(&self.path, target)?;
                self.path = PathBuf::new();
                return Ok(());
            }
        }
        // The link is made; the temporary name is only clutter now.
        let _ = fs::remove_file(&self.path);
        self.path = PathBuf::new();
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        self.file = None;
        if !self.path.as_os_str().is_empty() {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Flushes a directory's entries (renames, links) to disk where the platform allows it;
/// best effort (not every filesystem or WASI host can open a directory for syncing).
pub(crate) fn sync_dir(path: &Path) {
    if let Ok(dir) = File::open(path) {
        let _ = dir.sync_all();
    }
}

/// A file name as text, losing nothing: valid UTF-8 stays as it is, a backslash becomes `\\`,
/// control characters are escaped (`\n`, `\u{1b}`), and each byte that is not UTF-8 becomes
/// `\xNN`. Used to name entries that cannot be document ids.
pub(crate) fn escape_os(name: &OsStr) -> String {
    let mut out = String::new();
    for chunk in name.as_encoded_bytes().utf8_chunks() {
        for c in chunk.valid().chars() {
            if c == '\\' {
                out.push_str("\\\\");
            } else if c.is_control() {
                out.extend(c.escape_default());
            } else {
                out.push(c);
            }
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out
}

/// A regular file below a directory, as [`list_files`] finds it.
#[derive(Debug)]
pub(crate) struct Listed {
    /// Path relative to the listed directory, `/`-separated, escaped where not UTF-8.
    pub(crate) rel: String,
    /// The full path.
    pub(crate) path: PathBuf,
    /// Size in bytes.
    pub(crate) size: u64,
    /// `None` for a regular file, else what it is (symbolic link, ...).
    pub(crate) irregular: Option<&'static str>,
}

/// What an entry is when it is not a regular file or a directory.
pub(crate) fn kind_of(ft: fs::FileType) -> &'static str {
    if ft.is_symlink() {
        "symbolic link"
    } else if ft.is_dir() {
        "directory"
    } else if ft.is_file() {
        "regular file"
    } else {
        "special file (device, FIFO or socket)"
    }
}

/// Every entry below `dir` except directories, sorted by relative path; symbolic links are
/// listed (as irregular), never followed. A missing `dir` lists as empty.
pub(crate) fn list_files(dir: &Path) -> io::Result<Vec<Listed>> {
    let mut out = Vec::new();
    let mut stack: Vec<(PathBuf, String)> = vec![(dir.to_path_buf(), String::new())];
    while let Some((path, rel)) = stack.pop() {
        let entries = match fs::read_dir(&path) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound && rel.is_empty() => return Ok(out),
            Err(e) => return Err(e),
        };
        for entry in entries {
            let entry = entry?;
            let name = escape_os(&entry.file_name());
            let rel = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            let ft = entry.file_type()?;
            if ft.is_dir() {
                stack.push((entry.path(), rel));
                continue;
            }
            let size = if ft.is_file() {
                fs::symlink_metadata(entry.path())?.len()
            } else {
                0
            };
            out.push(Listed {
                rel,
                path: entry.path(),
                size,
                irregular: (!ft.is_file()).then(|| kind_of(ft)),
            });
        }
    }
    out.sort_by(|a, b| a.rel.cmp(&b.rel));
    Ok(out)
}

/// Reads and checks the complete manifest of `date` under `root`. A missing manifest is a
/// failed check (exit 1) that names any incomplete-run reports of the day.
pub(crate) fn load_manifest(root: &Path, date: BackupDate) -> Result<Manifest, CliError> {
    let layout = Layout::new(date);
    let key = layout.manifest_key();
    let path = key_path(root, &key);
    let text = match fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let reports = incomplete_reports(root, date);
            let mut msg = format!(
                "no complete backup of {date} in {}: {key} does not exist",
                root.display()
            );
            if !reports.is_empty() {
                let _ = write!(
                    msg,
                    " (incomplete runs: {}); rerun `docvault backup` for {date} to complete the day",
                    reports.join(", ")
                );
            }
            return Err(CliError::Invalid(msg));
        }
        Err(e) => return Err(CliError::io(format!("reading {}", path.display()))(e)),
    };
    let manifest = Manifest::from_json(&text)
        .map_err(|e| CliError::Invalid(format!("{}: {e}", path.display())))?;
    if manifest.backup_date != date {
        return Err(CliError::Invalid(format!(
            "{} is the manifest of {}, not of {date}: the backup set was moved or edited",
            path.display(),
            manifest.backup_date
        )));
    }
    if manifest.status != BackupStatus::Complete {
        return Err(CliError::Invalid(format!(
            "{} has status {}: only a complete manifest may be stored at {key}",
            path.display(),
            manifest.status
        )));
    }
    Ok(manifest)
}

/// The keys of the day's incomplete-run reports, sorted.
pub(crate) fn incomplete_reports(root: &Path, date: BackupDate) -> Vec<String> {
    let dir = key_path(
        root,
        &format!("{}incomplete", Layout::new(date).day_prefix()),
    );
    let mut names: Vec<String> = fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| {
                    format!(
                        "{}incomplete/{}",
                        Layout::new(date).day_prefix(),
                        escape_os(&e.file_name())
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// A relative path taken from a manifest (untrusted) made safe to join below a directory: the
/// same rules as a document id (relative, no empty, `.` or `..` segment, no backslash or
/// control character).
pub(crate) fn safe_relative(rel: &str) -> Result<&str, String> {
    docvault_core::DocumentId::new(rel)
        .map(|_| rel)
        .map_err(|e| e.to_string())
}

/// Human-readable byte count (`4.2 MB`), for progress lines and summaries.
pub(crate) fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_is_lossless_and_never_a_valid_id() {
        assert_eq!(escape_os(OsStr::new("plain é.txt")), "plain é.txt");
        assert_eq!(escape_os(OsStr::new("a\\b\nc")), "a\\\\b\\nc");
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStrExt as _;
            let name = OsStr::from_bytes(b"bad\xff\xfe.txt");
            let escaped = escape_os(name);
            assert_eq!(escaped, "bad\\xff\\xfe.txt");
            assert!(docvault_core::DocumentId::new(&escaped).is_err());
        }
    }

    #[test]
    fn unsafe_relative_paths_are_refused() {
        for bad in ["../x", "a/../../x", "/etc/passwd", "a//b", ""] {
            assert!(safe_relative(bad).is_err(), "{bad}");
        }
        assert_eq!(safe_relative("finance/q1.pdf"), Ok("finance/q1.pdf"));
    }

    #[test]
    fn bytes_for_people() {
        assert_eq!(human_bytes(999), "999 B");
        assert_eq!(human_bytes(4_208_862), "4.2 MB");
    }
}
