//! What a backup prints: the shared [`BackupReport`] as JSON (`--json`) or text, the plan of a
//! dry run, and the manifest alone for `docvault manifest --source`.

use std::fmt::Write as _;
use std::io::{self, Write as _};

use docvault_core::report::{BackupReport, RunStatus, SkippedEntry};
use docvault_core::text::escaped;
use docvault_core::{Commit, FailedDocument, Manifest};
use serde_json::json;

use super::{Context, Request};
use crate::error::CliError;
use crate::output::emit;

/// `docvault manifest --source`: the bytes the run would commit, on stdout.
pub(crate) fn print_manifest(req: &Request, commit: &Commit) -> Result<(), CliError> {
    let mut out = io::stdout().lock();
    out.write_all(&commit.body)
        .and_then(|()| out.flush())
        .map_err(CliError::io("writing the manifest to stdout"))?;
    if commit.is_complete() {
        Ok(())
    } else {
        Err(CliError::Invalid(format!(
            "{} of the files for {} could not be read; the manifest printed has status \
             `incomplete` and lists them",
            commit.manifest.total_failed, req.date
        )))
    }
}

fn failure_lines(text: &mut String, failed: &[FailedDocument], skipped: &[(String, &str)]) {
    for f in failed {
        let _ = writeln!(
            text,
            "  failed ({}) {}: {}",
            f.stage,
            escaped(&f.document_id),
            escaped(&f.reason)
        );
    }
    for (name, kind) in skipped {
        let _ = writeln!(
            text,
            "  skipped {}: {kind}, not followed or copied",
            escaped(name)
        );
    }
}

fn skipped(skipped: &[(String, &str)]) -> Vec<SkippedEntry> {
    skipped
        .iter()
        .map(|(path, kind)| SkippedEntry {
            path: path.clone(),
            kind: (*kind).to_owned(),
        })
        .collect()
}

/// The day was complete before this run.
pub(crate) fn already_complete(req: &Request, m: &Manifest) -> Result<(), CliError> {
    let key = docvault_core::Layout::new(req.date).manifest_key();
    let dest = req.dest.to_string_lossy().into_owned();
    let report = BackupReport {
        manifest_key: Some(key),
        ..BackupReport::of(m, dest, RunStatus::AlreadyComplete)
    };
    emit(req.json, &report.render_text(), &report)
}

/// The run committed its manifest, or wrote its incomplete report.
pub(crate) fn finished(ctx: &Context<'_>, commit: &Commit) -> Result<(), CliError> {
    let (req, m, t) = (ctx.req, &commit.manifest, commit.transfer);
    let complete = commit.is_complete();
    let status = if complete {
        RunStatus::Complete
    } else {
        RunStatus::Incomplete
    };
    let report = BackupReport {
        removed_unclaimed: ctx.removed_unclaimed,
        skipped: skipped(&ctx.skipped),
        manifest_key: complete.then(|| commit.put.key.clone()),
        report_key: (!complete).then(|| commit.put.key.clone()),
        ..BackupReport::of(m, req.dest.to_string_lossy().into_owned(), status)
    }
    .with_transfer(t);
    emit(req.json, &report.render_text(), &report)?;
    if complete {
        Ok(())
    } else {
        Err(CliError::Invalid(format!(
            "the backup of {} is incomplete: {} of {} documents failed (listed in {}); no \
             manifest was written. Fix them and rerun to complete the day",
            req.date,
            m.total_failed,
            m.total_failed + m.total_documents,
            commit.put.key
        )))
    }
}

/// A dry run: the plan, nothing written.
pub(crate) fn dry_run(ctx: &Context<'_>, commit: &Commit) -> Result<(), CliError> {
    let (req, m) = (ctx.req, &commit.manifest);
    let mut text = format!(
        "dry run of the backup of {}: nothing was written; the plan:\n",
        req.date
    );
    for put in &ctx.puts {
        let _ = writeln!(
            text,
            "  put {}  {} bytes  {}  sha256 {}",
            escaped(&put.key),
            put.content_length,
            put.content_type,
            put.checksum_sha256
        );
    }
    failure_lines(&mut text, &m.failed_documents, &ctx.skipped);
    let _ = writeln!(
        text,
        "then {}{}",
        commit.put.key,
        if commit.put.if_none_match {
            " (create only, last)"
        } else {
            " (incomplete-run report: documents failed)"
        }
    );
    let value = json!({
        "command": "backup",
        "date": req.date.to_string(),
        "status": m.status,
        "dry_run": true,
        "documents": ctx.puts,
        "then": commit.put,
        "failed": m.failed_documents,
        "skipped": skipped(&ctx.skipped),
    });
    emit(req.json, &text, &value)?;
    if commit.is_complete() {
        Ok(())
    } else {
        Err(CliError::Invalid(format!(
            "dry run: the backup of {} would be incomplete: {} documents would fail",
            req.date, m.total_failed
        )))
    }
}
