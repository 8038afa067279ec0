//! `docvault restore`: a day, or one document, copied back byte for byte from a local backup
//! set. Each body is streamed into a temporary file beside its target while its SHA-256 is
//! computed; only a body whose size and checksum match the manifest is renamed onto the target
//! name, so a tampered or corrupted copy leaves nothing that looks restored. Existing files are
//! never replaced without `--overwrite` (checked for every target before anything is written).

use std::fmt::Write as _;
use std::fs::{self, File};
use std::io;
use std::path::PathBuf;

use docvault_core::{BackupDate, Document, Layout};
use serde_json::json;

use crate::error::CliError;
use crate::local::{
    self, BUF_SIZE, PumpError, TempFile, create_dirs_below, key_path, pump, safe_relative,
};
use crate::output::emit;
use crate::progress::Progress;

/// One `docvault restore` invocation.
#[derive(Debug)]
pub(crate) struct Request {
    pub(crate) dest: PathBuf,
    pub(crate) date: BackupDate,
    pub(crate) to: PathBuf,
    pub(crate) document: Option<String>,
    pub(crate) overwrite: bool,
    pub(crate) json: bool,
    pub(crate) quiet: bool,
}

/// Why one document was not restored.
#[derive(Debug)]
enum Failure {
    /// The stored copy does not match the manifest (exit 1).
    Integrity(String),
    /// Reading or writing failed (exit 3).
    Io(String),
}

/// Runs a restore.
pub(crate) fn restore(req: &Request) -> Result<(), CliError> {
    let manifest = local::load_manifest(&req.dest, req.date)?;
    let prefix = Layout::new(req.date).documents_prefix();
    let selected: Vec<&Document> = match &req.document {
        Some(id) => vec![manifest.document(id).ok_or_else(|| {
            CliError::Invalid(format!(
                "document `{id}` is not in the manifest of {} ({} documents): give a \
                 `document_id` from backups/{}/manifest.json",
                req.date, manifest.total_documents, req.date
            ))
        })?],
        None => manifest.documents.iter().collect(),
    };
    // Every target, checked before anything is written: the manifest is untrusted input.
    let mut plan = Vec::with_capacity(selected.len());
    for doc in selected {
        let rel = doc
            .object_key
            .strip_prefix(&prefix)
            .ok_or(())
            .and_then(|rel| safe_relative(rel).map_err(|_| ()))
            .map_err(|()| {
                CliError::Invalid(format!(
                    "document `{}` has object key `{}`, which does not stay below {prefix}: \
                     refusing to restore from this manifest",
                    doc.document_id, doc.object_key
                ))
            })?;
        plan.push((doc, rel));
    }
    fs::create_dir_all(&req.to).map_err(CliError::io(format!("creating {}", req.to.display())))?;
    if !req.overwrite {
        let existing: Vec<String> = plan
            .iter()
            .map(|(_, rel)| key_path(&req.to, rel))
            .filter(|p| fs::symlink_metadata(p).is_ok())
            .map(|p| p.display().to_string())
            .collect();
        if let Some(first) = existing.first() {
            return Err(CliError::Invalid(format!(
                "{} restore targets exist already (first: {first}): nothing was written; pass \
                 --overwrite to replace them, or restore into an empty directory",
                existing.len()
            )));
        }
    }

    let mut buf = vec![0; BUF_SIZE];
    let mut progress = Progress::start(
        format!("restore {}", req.date),
        plan.len() as u64,
        req.quiet,
    );
    let (mut restored, mut bytes) = (0u64, 0u64);
    let mut failures: Vec<(&Document, Failure)> = Vec::new();
    for (doc, rel) in &plan {
        match restore_one(req, doc, rel, &mut buf) {
            Ok(()) => {
                restored += 1;
                bytes += doc.file_size;
                progress.advance(doc.file_size);
            }
            Err(f) => {
                progress.advance(0);
                failures.push((doc, f));
            }
        }
    }

    let mut text = format!(
        "restored {restored} of {} documents ({}) of {} into {}\n",
        plan.len(),
        local::human_bytes(bytes),
        req.date,
        req.to.display()
    );
    for (doc, f) in &failures {
        let (Failure::Integrity(m) | Failure::Io(m)) = f;
        let _ = writeln!(text, "  failed {}: {m}", doc.document_id);
    }
    let value = json!({
        "command": "restore",
        "date": req.date.to_string(),
        "to": req.to.to_string_lossy(),
        "requested": plan.len(),
        "restored": restored,
        "bytes": bytes,
        "failed": failures.iter().map(|(doc, f)| {
            let (kind, message) = match f {
                Failure::Integrity(m) => ("integrity", m),
                Failure::Io(m) => ("io", m),
            };
            json!({
                "document_id": doc.document_id,
                "key": doc.object_key,
                "kind": kind,
                "error": message,
            })
        }).collect::<Vec<_>>(),
    });
    emit(req.json, &text, &value)?;
    if failures.is_empty() {
        return Ok(());
    }
    let summary = format!(
        "{} of {} documents of {} were not restored",
        failures.len(),
        plan.len(),
        req.date
    );
    if failures
        .iter()
        .any(|(_, f)| matches!(f, Failure::Integrity(_)))
    {
        Err(CliError::Invalid(format!(
            "{summary}: a stored copy does not match the manifest (run `docvault verify`)"
        )))
    } else {
        Err(CliError::Io {
            context: summary,
            source: io::Error::other("see the failures listed above"),
        })
    }
}

fn restore_one(req: &Request, doc: &Document, rel: &str, buf: &mut [u8]) -> Result<(), Failure> {
    let src = key_path(&req.dest, &doc.object_key);
    let meta = fs::symlink_metadata(&src).map_err(|e| {
        if e.kind() == io::ErrorKind::NotFound {
            Failure::Integrity(format!("the stored copy {} is missing", doc.object_key))
        } else {
            Failure::Io(format!("{}: {e}", src.display()))
        }
    })?;
    if !meta.is_file() {
        return Err(Failure::Integrity(format!(
            "the stored copy {} is a {}, not a file: nothing was restored",
            doc.object_key,
            local::kind_of(meta.file_type())
        )));
    }
    if meta.len() != doc.file_size {
        return Err(Failure::Integrity(format!(
            "the stored copy {} has {} bytes, the manifest says {}: it was modified or \
             truncated after the backup; nothing was restored",
            doc.object_key,
            meta.len(),
            doc.file_size
        )));
    }
    let (parent, name) = rel.rsplit_once('/').unwrap_or(("", rel));
    let dir = create_dirs_below(&req.to, parent)
        .map_err(|e| Failure::Io(format!("creating the folder for {rel}: {e}")))?;
    let target = dir.join(name);
    let write_err = |e: io::Error| Failure::Io(format!("writing {}: {e}", target.display()));
    let mut temp =
        TempFile::create(dir.join(format!(".{name}.docvault-partial"))).map_err(write_err)?;
    let mut input = File::open(&src).map_err(|e| Failure::Io(format!("{}: {e}", src.display())))?;
    let (size, digest) = pump(&mut input, Some(temp.file()), buf).map_err(|e| match e {
        PumpError::Read(e) => Failure::Io(format!("reading {}: {e}", src.display())),
        PumpError::Write(e) => write_err(e),
    })?;
    if size != doc.file_size || digest != doc.checksum {
        // `temp` is dropped here, removing the partial file.
        return Err(Failure::Integrity(format!(
            "checksum mismatch: the stored copy {} has {digest} ({size} bytes), the manifest \
             says {} ({} bytes): it was modified or corrupted after the backup; nothing was \
             restored",
            doc.object_key, doc.checksum, doc.file_size
        )));
    }
    let committed = if req.overwrite {
        temp.commit_replace(&target)
    } else {
        temp.commit_new(&target)
    };
    committed.map_err(write_err)
}
