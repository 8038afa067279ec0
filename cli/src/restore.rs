//! `docvault restore`: a day, or one document, copied back byte for byte from a local vault.
//! The core chooses the documents and their safe paths ([`plan_restore`]); each body streams
//! into an exclusive temporary file beside its target (never through a link) while its SHA-256
//! is computed, and takes its name only when its size and checksum match the manifest, so a
//! tampered or corrupted copy leaves nothing that looks restored. Existing files are never
//! replaced without `--overwrite` (checked for every target before anything is written).

use std::fmt::Write as _;
use std::io;
use std::path::PathBuf;

use docvault_core::restore::{NotRestored, NotRestoredKind, RestoreReport, plan_restore};
use docvault_core::text::escaped;
use docvault_core::{BackupDate, Document};
use docvault_fs::Root;
use serde_json::json;

use crate::error::CliError;
use crate::output::emit;
use crate::progress::Progress;
use crate::stream::{BUF_SIZE, PumpError, pump};
use crate::vault::Vault;
use docvault_core::text::human_bytes;

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

/// Runs a restore.
pub(crate) fn restore(req: &Request) -> Result<(), CliError> {
    let vault = Vault::open(&req.dest)?;
    let manifest = vault.load_manifest(req.date)?;
    // Every target, checked before anything is written: the manifest is untrusted input.
    let plan = plan_restore(&manifest, req.document.as_deref())
        .map_err(|e| CliError::Invalid(e.to_string()))?;
    let target =
        Root::create(&req.to).map_err(CliError::io(format!("creating {}", req.to.display())))?;
    if !req.overwrite {
        let mut existing = Vec::new();
        for item in &plan {
            let found = target.metadata(item.path).map_err(CliError::io(format!(
                "examining {}",
                target.display(item.path).display()
            )))?;
            if found.is_some() {
                existing.push(target.display(item.path).display().to_string());
            }
        }
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
    let mut report = RestoreReport {
        requested: plan.len() as u64,
        ..RestoreReport::default()
    };
    for item in &plan {
        let outcome = restore_one(
            &vault,
            &target,
            item.document,
            item.path,
            req.overwrite,
            &mut buf,
        );
        progress.advance(outcome.as_ref().map_or(0, |n| *n));
        report.add(outcome);
    }
    let report = report.finish();
    print(req, &report)?;
    if report.failed.is_empty() {
        return Ok(());
    }
    let summary = format!(
        "{} of {} documents of {} were not restored",
        report.failed.len(),
        plan.len(),
        req.date
    );
    if report.has_integrity_failures() {
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

fn print(req: &Request, report: &RestoreReport) -> Result<(), CliError> {
    let mut text = format!(
        "restored {} of {} documents ({}) of {} into {}\n",
        report.restored,
        report.requested,
        human_bytes(report.bytes),
        req.date,
        req.to.display()
    );
    for f in &report.failed {
        let _ = writeln!(
            text,
            "  failed {}: {}",
            escaped(&f.document_id),
            escaped(&f.error)
        );
    }
    let mut value = serde_json::to_value(report).unwrap_or_else(|_| json!({}));
    if let Some(obj) = value.as_object_mut() {
        obj.insert("command".into(), json!("restore"));
        obj.insert("date".into(), json!(req.date.to_string()));
        obj.insert("to".into(), json!(req.to.to_string_lossy()));
    }
    emit(req.json, &text, &value)
}

fn restore_one(
    vault: &Vault,
    target: &Root,
    doc: &Document,
    path: &str,
    overwrite: bool,
    buf: &mut [u8],
) -> Result<u64, NotRestored> {
    let fail = |kind, error: String| NotRestored {
        document_id: doc.document_id.to_string(),
        key: doc.object_key.clone(),
        kind,
        error,
    };
    let key = &doc.object_key;
    let (mut input, meta) = vault.root().open_file(key).map_err(|e| {
        if e.kind() == io::ErrorKind::NotFound {
            fail(
                NotRestoredKind::Integrity,
                format!("the stored copy {key} is missing"),
            )
        } else {
            fail(
                NotRestoredKind::Integrity,
                format!(
                    "the stored copy {key} cannot be read as a file ({e}): nothing was restored"
                ),
            )
        }
    })?;
    if meta.len != doc.file_size {
        return Err(fail(
            NotRestoredKind::Integrity,
            format!(
                "the stored copy {key} has {} bytes, the manifest says {}: it was modified or \
                 truncated after the backup; nothing was restored",
                meta.len, doc.file_size
            ),
        ));
    }
    let shown = target.display(path).display().to_string();
    let write_err = |e: io::Error| fail(NotRestoredKind::Write, format!("writing {shown}: {e}"));
    let mut temp = target.prepare_file(path).map_err(write_err)?;
    let (size, digest) = pump(&mut input, Some(temp.file()), buf).map_err(|e| match e {
        PumpError::Read(e) => fail(NotRestoredKind::Store, format!("reading {key}: {e}")),
        PumpError::Write(e) => write_err(e),
    })?;
    if size != doc.file_size || digest != doc.checksum {
        // `temp` is dropped here, removing the partial file.
        return Err(fail(
            NotRestoredKind::Integrity,
            format!(
                "checksum mismatch: the stored copy {key} has {digest} ({size} bytes), the \
                 manifest says {} ({} bytes): it was modified or corrupted after the backup; \
                 nothing was restored",
                doc.checksum, doc.file_size
            ),
        ));
    }
    temp.commit_at(target, path, overwrite).map_err(|e| {
        if e.kind() == io::ErrorKind::AlreadyExists {
            fail(
                NotRestoredKind::Exists,
                format!("{shown} appeared meanwhile and was left as it is"),
            )
        } else {
            write_err(e)
        }
    })?;
    Ok(doc.file_size)
}
