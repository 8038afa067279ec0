//! Bodies into the vault: read from the source (or generated), hashed while they stream into
//! an exclusive temporary file under `backups/{date}/.partial/`, then put at their key; the
//! commit (manifest or report); the removal of files no document claims.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{self, Write as _};

use docvault_core::{
    BackupDate, Commit, Document, DocumentId, Manifest, Sha256Digest, Stored, Timestamp,
};
use docvault_fs::{Kind, Lock, Meta, Root, TempFile};

use crate::error::CliError;
use crate::stream::{BUF_SIZE, PumpError, pump};
use crate::vault::{Vault, day_dir};

/// Why one document was not stored.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Reading the source failed, or the source changed while read.
    Read(String),
    /// Writing into the destination failed.
    Store(io::Error),
}

/// Puts bodies into one day of a vault.
pub(crate) struct Stager {
    vault: Vault,
    date: BackupDate,
    /// `backups/{date}/.partial`: where bodies are written before they take their name.
    partial: String,
    /// Directories that received files, flushed before the commit.
    touched: BTreeSet<String>,
}

impl Stager {
    /// Prepares the day's folders. With the day's lock held, temporary files a crashed run
    /// left are removed first (no other run can be writing them).
    pub(crate) fn new(
        vault: Vault,
        date: BackupDate,
        lock: Option<&Lock>,
    ) -> Result<Self, CliError> {
        let partial = format!("{}/.partial", day_dir(date));
        let root = vault.root();
        if lock.is_some_and(Lock::is_held) {
            root.remove_dir_all(&partial).map_err(CliError::io(format!(
                "removing stale temporary files in {}",
                vault.display(&partial)
            )))?;
        }
        root.create_dirs(&partial).map_err(CliError::io(format!(
            "creating {}",
            vault.display(&partial)
        )))?;
        Ok(Self {
            vault,
            date,
            partial,
            touched: BTreeSet::new(),
        })
    }

    fn root(&self) -> &Root {
        self.vault.root()
    }

    fn temp(&self) -> io::Result<TempFile> {
        self.root().temp_file(&self.partial)
    }

    /// Puts a temporary file at `key`, replacing what is there.
    fn place(&mut self, temp: TempFile, key: &str) -> io::Result<()> {
        let parent = key.rsplit_once('/').map_or("", |(p, _)| p);
        self.root().create_dirs(parent)?;
        temp.commit_replace(self.root(), key)?;
        self.touched.insert(parent.to_owned());
        Ok(())
    }

    /// The size and SHA-256 of the regular file stored at `key`, if one is there.
    fn stored(&self, key: &str, buf: &mut [u8]) -> Option<(u64, Sha256Digest)> {
        let (mut file, meta) = self.root().open_file(key).ok()?;
        let (n, digest) = pump(&mut file, None, buf).ok()?;
        (n == meta.len).then_some((n, digest))
    }

    /// Whether something (other than nothing) is at `key`.
    fn occupied(&self, key: &str) -> bool {
        self.root().metadata(key).is_ok_and(|m| m.is_some())
    }

    /// Stores an in-memory body at `key`, keeping an identical stored copy.
    pub(crate) fn store_body(
        &mut self,
        key: &str,
        body: &[u8],
        checksum: Sha256Digest,
    ) -> io::Result<Stored> {
        let mut buf = vec![0; BUF_SIZE];
        if self
            .stored(key, &mut buf)
            .is_some_and(|(n, d)| n == body.len() as u64 && d == checksum)
        {
            return Ok(Stored::AlreadyStored);
        }
        let replaces = self.occupied(key);
        let mut temp = self.temp()?;
        temp.file().write_all(body)?;
        self.place(temp, key)?;
        Ok(if replaces {
            Stored::Replaced
        } else {
            Stored::Uploaded
        })
    }

    /// Reads and hashes one source file into the vault at `key`, unless an identical copy is
    /// stored already (then it is only read and compared).
    pub(crate) fn stage_file(
        &mut self,
        src: &Root,
        id: &DocumentId,
        key: &str,
        at: Timestamp,
        buf: &mut [u8],
    ) -> Result<(Document, Stored), Failure> {
        // An earlier, interrupted run may have stored this file: compare before writing.
        let stored = self.stored(key, buf);
        let source_len = src.metadata(id.as_str()).ok().flatten().map(|m| m.len);
        if let Some((n, stored_digest)) = stored
            && source_len == Some(n)
        {
            let (doc, _) = read_source(src, id, key, at, None, buf)?;
            if doc.checksum == stored_digest {
                return Ok((doc, Stored::AlreadyStored));
            }
        }
        let replaces = self.occupied(key);
        let mut temp = self.temp().map_err(Failure::Store)?;
        let (doc, _) = read_source(src, id, key, at, Some(temp.file()), buf)?;
        self.place(temp, key).map_err(Failure::Store)?;
        let how = if replaces {
            Stored::Replaced
        } else {
            Stored::Uploaded
        };
        Ok((doc, how))
    }

    /// Removes files under the day's `documents/` that the manifest does not list: an earlier
    /// attempt stored them and their source has since gone. No manifest claims them (the day
    /// has none yet), and leaving them would make `verify` report them. Links are removed
    /// themselves, never followed. Returns how many were removed.
    pub(crate) fn remove_unclaimed(&mut self, manifest: &Manifest) -> Result<u64, CliError> {
        let documents = format!("{}/documents", day_dir(self.date));
        let claimed: BTreeSet<&str> = manifest
            .documents
            .iter()
            .map(|d| d.object_key.as_str())
            .collect();
        let mut removed = 0;
        let mut stack = vec![documents.clone()];
        while let Some(dir) = stack.pop() {
            let entries = match self.root().read_dir(&dir) {
                Ok(e) => e,
                Err(e) if e.kind() == io::ErrorKind::NotFound && dir == documents => {
                    return Ok(0);
                }
                Err(e) => {
                    return Err(CliError::io(format!(
                        "listing {}",
                        self.vault.display(&dir)
                    ))(e));
                }
            };
            for entry in entries {
                let Some(name) = entry.name.to_str() else {
                    return Err(CliError::Invalid(format!(
                        "{} holds a name that is not UTF-8, which no document has: remove it \
                         and rerun",
                        self.vault.display(&dir)
                    )));
                };
                let rel = format!("{dir}/{name}");
                if entry.kind == Kind::Dir {
                    stack.push(rel);
                } else if !(entry.kind == Kind::File && claimed.contains(rel.as_str())) {
                    self.root().remove_file(&rel).map_err(CliError::io(format!(
                        "removing {}",
                        self.vault.display(&rel)
                    )))?;
                    removed += 1;
                }
            }
        }
        Ok(removed)
    }

    /// Links the manifest in at its key, create-only, after flushing the day's folders.
    pub(crate) fn commit_manifest(&mut self, commit: &Commit) -> Result<(), CliError> {
        let target = self.vault.display(&commit.put.key);
        for dir in &self.touched {
            self.root().sync_dir(dir);
        }
        let mut temp = self
            .temp()
            .map_err(CliError::io(format!("writing {target}")))?;
        temp.file()
            .write_all(&commit.body)
            .map_err(CliError::io(format!("writing {target}")))?;
        match temp.commit_new(self.root(), &commit.put.key) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                return Err(CliError::Invalid(format!(
                    "{target} appeared while this run was working: another run completed {} \
                     first; it was left as it is",
                    self.date
                )));
            }
            Err(e) => return Err(CliError::io(format!("writing {target}"))(e)),
        }
        self.root().sync_dir(&day_dir(self.date));
        Ok(())
    }

    /// Writes the incomplete-run report (replacing one of the same run).
    pub(crate) fn write_report(&mut self, commit: &Commit) -> Result<(), CliError> {
        let failed = commit.manifest.total_failed;
        let context = format!(
            "writing the incomplete-run report {} ({failed} documents failed; no manifest was \
             written)",
            self.vault.display(&commit.put.key)
        );
        let mut temp = self.temp().map_err(CliError::io(context.clone()))?;
        temp.file()
            .write_all(&commit.body)
            .map_err(CliError::io(context.clone()))?;
        self.place(temp, &commit.put.key)
            .map_err(CliError::io(context))
    }

    /// Removes the folder of temporary files when this run left it empty.
    pub(crate) fn close(self) {
        self.root().remove_empty_dir(&self.partial);
    }
}

/// Reads and hashes one source file without writing anything (dry runs, `manifest --source`).
pub(crate) fn read_only(
    src: &Root,
    id: &DocumentId,
    key: &str,
    at: Timestamp,
    buf: &mut [u8],
) -> Result<(Document, Stored), Failure> {
    read_source(src, id, key, at, None, buf).map(|(doc, _)| (doc, Stored::Uploaded))
}

/// Reads the source file `id` once through the source's root (no link followed anywhere on the
/// way; a regular file, opened without blocking), streaming it into `sink` while hashing, then
/// checks that it did not change meanwhile: the same size, modification and status-change
/// times and inode before and after, and the bytes read equal to its size.
fn read_source(
    src: &Root,
    id: &DocumentId,
    key: &str,
    at: Timestamp,
    sink: Option<&mut File>,
    buf: &mut [u8],
) -> Result<(Document, Meta), Failure> {
    let listed = src
        .metadata(id.as_str())
        .map_err(|e| Failure::Read(format!("could not be examined: {e}")))?
        .ok_or_else(|| {
            Failure::Read("was removed while being backed up: rerun the backup".into())
        })?;
    if !listed.is_file() {
        return Err(Failure::Read(format!(
            "is no longer a regular file (now a {}): it was not followed",
            listed.kind.describe()
        )));
    }
    let (mut file, before) = src
        .open_file(id.as_str())
        .map_err(|e| Failure::Read(format!("could not be opened: {e}")))?;
    if !listed.same_file(&before) {
        return Err(Failure::Read(
            "was replaced (by a link or another file) while being backed up: rerun the backup"
                .to_owned(),
        ));
    }
    let (read, digest) = pump(&mut file, sink, buf).map_err(|e| match e {
        PumpError::Read(e) => Failure::Read(format!("could not be read: {e}")),
        PumpError::Write(e) => Failure::Store(e),
    })?;
    let after = docvault_fs::file_meta(&file)
        .map_err(|e| Failure::Read(format!("could not be examined: {e}")))?;
    if read != before.len || before.changed_by(&after) {
        return Err(Failure::Read(format!(
            "it changed while being read ({} bytes when opened, {read} bytes read, {} bytes at \
             the end{}): nothing was stored; rerun the backup once it is stable",
            before.len,
            after.len,
            if before.len == after.len && read == before.len {
                ", its modification or status-change time moved"
            } else {
                ""
            }
        )));
    }
    Ok((document(at, id, key, read, digest, &before), before))
}

/// A directory file's manifest record, by [`docvault_core::convention`].
fn document(
    at: Timestamp,
    id: &DocumentId,
    key: &str,
    size: u64,
    checksum: Sha256Digest,
    meta: &Meta,
) -> Document {
    let attrs = docvault_core::convention::attributes(id);
    Document {
        document_id: id.clone(),
        doc_type: attrs.doc_type,
        created_date: meta
            .modified
            .and_then(Timestamp::from_system_time)
            .map_or(at, Timestamp::truncate_to_seconds),
        file_size: size,
        checksum,
        content_type: attrs.content_type,
        object_key: key.to_owned(),
        source: None,
        parts: None,
        metadata: attrs.metadata,
    }
}
