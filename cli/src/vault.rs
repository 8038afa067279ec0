//! A local directory as a backup store (a vault): the same layout as the S3 bucket
//! (`backups/{date}/documents/...`, `backups/{date}/manifest.json`,
//! `backups/{date}/incomplete/{run}.json`), so a backup set can be copied to S3 and back.
//!
//! Everything below the vault is reached through its [`Root`] (`docvault-fs`): no path leaves
//! it, no link is followed. Every file appears under its final name only when it is whole: it
//! is written to an exclusive temporary file, flushed to disk, then renamed (documents,
//! reports) or linked in create-only (the manifest, the commit point). A crash at any point
//! leaves at worst a temporary file, never a half-written file under a real name.

use std::fmt::Write as _;
use std::io;
use std::path::Path;

use docvault_core::manifest::check_manifest_size;
use docvault_core::manifest::parted::RootJoin;
use docvault_core::{BackupDate, Layout, Manifest, ManifestError, ManifestForm};
use docvault_fs::{Lock, Root};

use crate::error::CliError;

/// The largest manifest read (a day of a million documents has about 450 MB of manifest).
pub(crate) const MANIFEST_LIMIT: u64 = 1 << 30;

/// A vault: a backup root directory.
#[derive(Debug, Clone)]
pub(crate) struct Vault {
    root: Root,
}

impl Vault {
    /// The vault at `path`, which must exist.
    pub(crate) fn open(path: &Path) -> Result<Self, CliError> {
        Root::open(path)
            .map(|root| Self { root })
            .map_err(CliError::io(format!("opening {}", path.display())))
    }

    /// The vault at `path`, created if missing.
    pub(crate) fn create(path: &Path) -> Result<Self, CliError> {
        Root::create(path)
            .map(|root| Self { root })
            .map_err(CliError::io(format!("creating {}", path.display())))
    }

    /// Its root.
    pub(crate) fn root(&self) -> &Root {
        &self.root
    }

    /// `key`'s path, for messages.
    pub(crate) fn display(&self, key: &str) -> String {
        self.root.display(key).display().to_string()
    }

    /// Takes the day's lock (`backups/{date}/.lock`): one backup of a day into this vault at
    /// a time. The lock is the kernel's, so a run that dies releases it.
    pub(crate) fn lock_day(&self, date: BackupDate) -> Result<Lock, CliError> {
        let day = day_dir(date);
        self.root
            .create_dirs(&day)
            .map_err(CliError::io(format!("creating {}", self.display(&day))))?;
        let key = format!("{day}/.lock");
        match self.root.lock(&key) {
            Ok(lock) => Ok(lock),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Err(CliError::Invalid(format!(
                "another docvault run is backing up {date} into {} (it holds {}): nothing was \
                 written; wait for it to finish, then run again",
                self.root.path().display(),
                self.display(&key)
            ))),
            Err(e) => Err(CliError::io(format!("locking {}", self.display(&key)))(e)),
        }
    }

    /// Whether the day's commit key holds anything.
    pub(crate) fn has_manifest(&self, date: BackupDate) -> Result<bool, CliError> {
        let key = Layout::new(date).manifest_key();
        self.root
            .metadata(&key)
            .map(|m| m.is_some())
            .map_err(CliError::io(format!("examining {}", self.display(&key))))
    }

    /// Reads and checks the complete manifest of `date`: a regular file of at most
    /// [`MANIFEST_LIMIT`] bytes, no link on the way, UTF-8, valid, of that day, complete. A
    /// missing manifest is a failed check (exit 1) that names any incomplete-run reports.
    pub(crate) fn load_manifest(&self, date: BackupDate) -> Result<Manifest, CliError> {
        let key = Layout::new(date).manifest_key();
        let bytes = match self.root.read_limited(&key, MANIFEST_LIMIT) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let reports = self.incomplete_reports(date);
                let mut msg = format!(
                    "no complete backup of {date} in {}: {key} does not exist",
                    self.root.path().display()
                );
                if !reports.is_empty() {
                    let _ = write!(
                        msg,
                        " (incomplete runs: {}); rerun `docvault backup` for {date} to complete \
                         the day",
                        reports.join(", ")
                    );
                }
                return Err(CliError::Invalid(msg));
            }
            Err(e) if e.kind() == io::ErrorKind::FileTooLarge => {
                return Err(CliError::Invalid(e.to_string()));
            }
            Err(e) => return Err(CliError::io(format!("reading {}", self.display(&key)))(e)),
        };
        let invalid =
            |e: &dyn std::fmt::Display| CliError::Invalid(format!("{}: {e}", self.display(&key)));
        match ManifestForm::from_committed(&bytes, date).map_err(|e| invalid(&e))? {
            ManifestForm::Whole(manifest) => Ok(manifest),
            ManifestForm::Parted(join) => {
                join_parts(&self.root, PartsAt::Vault, join).map_err(|e| match e {
                    PartsError::Io(e) => e,
                    PartsError::Invalid(e) => invalid(&e),
                })
            }
        }
    }

    /// The keys of the day's incomplete-run reports, sorted.
    pub(crate) fn incomplete_reports(&self, date: BackupDate) -> Vec<String> {
        let prefix = Layout::new(date).incomplete_prefix();
        let mut names: Vec<String> = self
            .root
            .read_dir(prefix.trim_end_matches('/'))
            .map(|entries| {
                entries
                    .into_iter()
                    .map(|e| format!("{prefix}{}", escape_os(&e.name)))
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }
}

/// `backups/{date}` (no trailing `/`).
pub(crate) fn day_dir(date: BackupDate) -> String {
    Layout::new(date)
        .day_prefix()
        .trim_end_matches('/')
        .to_owned()
}

/// A file name as text, losing nothing: valid UTF-8 stays as it is, a backslash becomes `\\`,
/// control characters are escaped (`\n`, `\u{1b}`), and each byte that is not UTF-8 becomes
/// `\xNN`. Used to name entries that cannot be document ids.
pub(crate) fn escape_os(name: &std::ffi::OsStr) -> String {
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

#[cfg(test)]
mod tests {
    use std::ffi::OsStr;

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
}

/// Why the parts of a manifest written in parts could not be joined.
pub(crate) enum PartsError {
    /// Reading failed.
    Io(CliError),
    /// The parts are not the root's, or break a rule.
    Invalid(ManifestError),
}

/// Where a root's parts are read from.
#[derive(Debug, Clone, Copy)]
pub(crate) enum PartsAt {
    /// At their keys below the vault's root.
    Vault,
    /// Beside the root, as a day's folder holds them (`manifest-parts/...`).
    BesideRoot,
}

/// Joins the parts of a manifest written in parts, each read below `root` to at most its
/// recorded size, never through a link; at most [`MANIFEST_LIMIT`] bytes of parts in all.
pub(crate) fn join_parts(
    root: &Root,
    at: PartsAt,
    mut join: RootJoin,
) -> Result<Manifest, PartsError> {
    let day = Layout::new(join.root().backup_date);
    check_manifest_size(join.root().parts_size(), MANIFEST_LIMIT)
        .map_err(|e| PartsError::Io(CliError::Invalid(e.to_string())))?;
    while let Some(part) = join.next_part() {
        let path = match at {
            PartsAt::Vault => part.key.as_str(),
            // The root checked the key: below the day's `manifest-parts/`.
            PartsAt::BesideRoot => part.key.strip_prefix(day.day_prefix()).unwrap_or(&part.key),
        }
        .to_owned();
        let joined = match root.read_limited(&path, part.size_bytes) {
            Ok(bytes) => join.add(&bytes),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(join.missing()),
            Err(e) if e.kind() == io::ErrorKind::FileTooLarge => Err(join.oversized(None)),
            Err(e) => {
                let shown = root.display(&path).display().to_string();
                return Err(PartsError::Io(CliError::io(format!("reading {shown}"))(e)));
            }
        };
        joined.map_err(PartsError::Invalid)?;
    }
    join.finish().map_err(PartsError::Invalid)
}
