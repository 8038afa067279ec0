//! `docvault backup`: one day's documents into a local vault, driven through the core's
//! [`BackupRun`], with the manifest written last.
//!
//! How a run goes (this file drives; [`stage`] stores bodies in the vault; [`report`] prints):
//! 1. `backups/{date}/manifest.json` exists: the day is complete. It is checked, reported, and
//!    nothing is rewritten.
//! 2. The day's lock is taken (`backups/{date}/.lock`): a second backup of the same day into
//!    the same vault refuses instead of mixing its files with this one's.
//! 3. Every document (a file of the source directory, or a generated one) is admitted to the
//!    run, then streamed through one fixed buffer into an exclusive temporary file under
//!    `backups/{date}/.partial/` while its SHA-256 is computed; the source is checked again
//!    after the read (size, modification and status-change times, inode), so a file that
//!    changed while it was read is recorded as failed (stage `read`) rather than stored half
//!    old, half new. The temporary file is flushed and renamed onto the document's key, and
//!    the outcome recorded. A stored file an earlier, interrupted run left with the same
//!    SHA-256 is kept as it is.
//! 4. Once every document has an outcome, `finish` gives the last write. Complete: files under
//!    the day's `documents/` that no document claims (left by an earlier attempt) are removed
//!    (links there are removed, never followed), and the manifest is linked in create-only,
//!    so it appears whole or not at all and never replaces another run's. Incomplete: the
//!    report goes to `backups/{date}/incomplete/{run}.json`, the command exits 1, and a rerun
//!    completes the day.
//!
//! A destination that fills up or disappears stops the run: the remaining documents are
//! recorded as not attempted, and no manifest is written.

mod report;
mod stage;

use std::path::{Component, Path, PathBuf};

use docvault_core::{
    Admission, BackupDate, BackupRun, Encryption, FailedDocument, FailureStage, Generator,
    GeneratorSpec, KeyPrefix, Label, Layout, ManifestHeader, ObjectPut, PlanOptions,
    SourceDescription, Stored, Timestamp,
};
use docvault_fs::{Lock, Root};

use crate::error::CliError;
use crate::progress::Progress;
use crate::source::{self, Entry};
use crate::vault::{Vault, day_dir};

/// Where the documents come from.
#[derive(Debug, Clone)]
pub(crate) enum Input {
    /// Files under a directory.
    Directory(PathBuf),
    /// The synthetic day (the same documents as `docvault generate`).
    Generated {
        /// How many documents.
        count: u64,
        /// Generator seed.
        seed: u64,
    },
}

/// One `docvault backup` invocation.
#[derive(Debug)]
pub(crate) struct Request {
    pub(crate) dest: PathBuf,
    pub(crate) input: Input,
    pub(crate) date: BackupDate,
    pub(crate) at: Timestamp,
    pub(crate) environment: Label,
    pub(crate) run_id: Option<String>,
    pub(crate) json: bool,
    pub(crate) dry_run: bool,
    /// Print the manifest the run would commit (or its incomplete report) instead of a plan;
    /// implies `dry_run`, and the destination is not looked at.
    pub(crate) manifest_only: bool,
    pub(crate) quiet: bool,
    /// The host holds the day's lock for this run (a sandbox cannot lock files).
    pub(crate) host_holds_lock: bool,
}

/// A run in progress: where it writes, what it saw.
pub(crate) struct Context<'a> {
    pub(crate) req: &'a Request,
    /// The vault (none for `manifest --source`).
    vault: Option<Vault>,
    pub(crate) layout: Layout,
    stager: Option<stage::Stager>,
    /// Files under the day's `documents/` that no document claims, removed before the commit.
    removed_unclaimed: u64,
    /// A store error that stops the run: later documents are not attempted.
    fatal: bool,
    /// The PUTs a dry run prints.
    puts: Vec<ObjectPut>,
    /// Source entries skipped (links, devices).
    skipped: Vec<(String, &'static str)>,
}

/// Runs a backup.
pub(crate) fn backup(req: &Request) -> Result<(), CliError> {
    let layout = Layout::new(req.date);
    let vault = if req.manifest_only {
        None
    } else if req.dry_run {
        Vault::open(&req.dest).ok()
    } else {
        Some(Vault::create(&req.dest)?)
    };
    if let Some(v) = &vault
        && let Some(done) = already_complete(req, v)?
    {
        return done;
    }
    let source_root = match &req.input {
        Input::Directory(src) => {
            if !req.manifest_only {
                check_not_nested(src, &req.dest)?;
            }
            Some(Root::open(src).map_err(CliError::io(format!("reading {}", src.display())))?)
        }
        Input::Generated { .. } => None,
    };
    // One run of a day into one vault at a time; held until the run ends.
    let day_lock = match (&vault, req.dry_run) {
        (Some(v), false) => Some(lock(v, req)?),
        _ => None,
    };
    if let (Some(v), false) = (&vault, req.dry_run)
        && let Some(done) = already_complete(req, v)?
    {
        return done;
    }
    let mut run = BackupRun::new(header(req), options(req)?);
    let stager = match (&vault, req.dry_run) {
        (Some(v), false) => Some(stage::Stager::new(v.clone(), req.date, day_lock.as_ref())?),
        _ => None,
    };
    let mut ctx = Context {
        req,
        vault,
        layout,
        stager,
        removed_unclaimed: 0,
        fatal: false,
        puts: Vec::new(),
        skipped: Vec::new(),
    };
    let result = match (&req.input, &source_root) {
        (Input::Generated { count, seed }, _) => {
            let spec = GeneratorSpec {
                date: req.date,
                count: *count,
                seed: *seed,
            };
            back_up_generated(&mut ctx, &mut run, spec)
        }
        (Input::Directory(_), Some(src)) => back_up_directory(&mut ctx, &mut run, src),
        (Input::Directory(_), None) => unreachable!("a directory input has a root"),
    };
    let finished = result.and_then(|()| run.finish().map_err(plan_error));
    let outcome = match finished {
        Ok(commit) if req.manifest_only => report::print_manifest(req, &commit),
        Ok(commit) if req.dry_run => report::dry_run(&ctx, &commit),
        Ok(commit) => ctx
            .commit(&commit)
            .and_then(|()| report::finished(&ctx, &commit)),
        Err(e) => Err(e),
    };
    if let Some(stager) = ctx.stager.take() {
        stager.close();
    }
    drop(day_lock);
    outcome
}

/// The day's manifest is there already: checked and reported; `None` when there is none.
fn already_complete(
    req: &Request,
    vault: &Vault,
) -> Result<Option<Result<(), CliError>>, CliError> {
    if !vault.has_manifest(req.date)? {
        return Ok(None);
    }
    let existing = vault.load_manifest(req.date).map_err(|e| match e {
        CliError::Invalid(m) => CliError::Invalid(format!(
            "{m}; it was left as it is: move it away to back up {} again",
            req.date
        )),
        other => other,
    })?;
    Ok(Some(report::already_complete(req, &existing)))
}

fn lock(vault: &Vault, req: &Request) -> Result<Lock, CliError> {
    let lock = vault.lock_day(req.date)?;
    if !lock.is_held() && !req.host_holds_lock {
        eprintln!(
            "docvault: warning: this sandbox has no file locks, so a second backup of {} into \
             the same directory at the same time cannot be stopped: run one at a time (the \
             docvault-wasmtime runner locks the day for its guest)",
            req.date
        );
    }
    Ok(lock)
}

fn header(req: &Request) -> ManifestHeader {
    let source = match &req.input {
        Input::Directory(src) => SourceDescription::Directory {
            path: src.to_string_lossy().into_owned(),
        },
        Input::Generated { count, seed } => SourceDescription::Generator {
            count: *count,
            seed: *seed,
        },
    };
    ManifestHeader {
        backup_date: req.date,
        backup_timestamp: req.at,
        environment: req.environment.clone(),
        run_id: req.run_id.clone(),
        source,
    }
}

fn options(req: &Request) -> Result<PlanOptions, CliError> {
    Ok(PlanOptions {
        prefix: KeyPrefix::ROOT,
        environment: req.environment.clone(),
        encryption: Encryption::None,
        retention: None,
    })
}

pub(crate) fn plan_error(e: docvault_core::PlanError) -> CliError {
    CliError::Invalid(format!("backup plan refused: {e}"))
}

impl Context<'_> {
    /// Records a store error; one that will fail every later document too stops the run.
    fn note_store_error(&mut self, run: &mut BackupRun, e: &std::io::Error) {
        if self.fatal {
            return;
        }
        use std::io::ErrorKind as K;
        let why = if matches!(
            e.kind(),
            K::StorageFull | K::QuotaExceeded | K::ReadOnlyFilesystem
        ) {
            Some(format!("the destination cannot take more data ({e})"))
        } else if let Some(v) = &self.vault
            && !v
                .root()
                .metadata(&day_dir(self.req.date))
                .is_ok_and(|m| m.is_some_and(|m| m.is_dir()))
        {
            Some(format!(
                "the destination {} disappeared ({e})",
                v.display(&day_dir(self.req.date))
            ))
        } else {
            None
        };
        if let Some(why) = why {
            self.fatal = true;
            run.stop(why);
        }
    }

    /// The last write: the manifest (create-only) or the incomplete-run report.
    fn commit(&mut self, commit: &docvault_core::Commit) -> Result<(), CliError> {
        let stager = self
            .stager
            .as_mut()
            .unwrap_or_else(|| unreachable!("a run that writes has a stager"));
        if commit.is_complete() {
            self.removed_unclaimed = stager.remove_unclaimed(&commit.manifest)?;
            stager.commit_manifest(commit)
        } else {
            stager.write_report(commit)
        }
    }
}

fn back_up_generated(
    ctx: &mut Context<'_>,
    run: &mut BackupRun,
    spec: GeneratorSpec,
) -> Result<(), CliError> {
    let generator = Generator::new(spec);
    let mut body = Vec::new();
    let mut progress = Progress::start(
        format!("backup {} (generated)", spec.date),
        spec.count,
        ctx.req.quiet,
    );
    for i in 0..spec.count {
        let doc = generator.document_into(i, &mut body);
        progress.advance(doc.file_size);
        if run
            .admit(doc.document_id.as_str(), None)
            .map_err(plan_error)?
            == Admission::Skipped
        {
            continue;
        }
        let put = run.put_for(&doc);
        let Some(stager) = ctx.stager.as_mut() else {
            ctx.puts.push(put);
            run.record_stored(doc, Stored::Uploaded)
                .map_err(plan_error)?;
            continue;
        };
        match stager.store_body(&put.key, &body, doc.checksum) {
            Ok(how) => run.record_stored(doc, how).map_err(plan_error)?,
            Err(e) => {
                let failure = FailedDocument {
                    document_id: doc.document_id.to_string(),
                    source: None,
                    stage: FailureStage::Store,
                    reason: format!("could not be stored at {}: {e}", put.key),
                    attempts: 1,
                };
                run.record_failed(failure).map_err(plan_error)?;
                ctx.note_store_error(run, &e);
            }
        }
    }
    Ok(())
}

fn back_up_directory(
    ctx: &mut Context<'_>,
    run: &mut BackupRun,
    src: &Root,
) -> Result<(), CliError> {
    let entries = source::walk(src).map_err(CliError::io(format!(
        "listing the source {}",
        src.path().display()
    )))?;
    let mut progress = Progress::start(
        format!("backup {} from {}", ctx.req.date, src.path().display()),
        entries.len() as u64,
        ctx.req.quiet,
    );
    let mut buf = vec![0; crate::stream::BUF_SIZE];
    for entry in entries {
        match entry {
            Entry::Skipped { name, kind } => {
                progress.advance(0);
                ctx.skipped.push((name, kind));
            }
            Entry::Failed { name, reason } => {
                progress.advance(0);
                run.record_failed(FailedDocument {
                    document_id: name,
                    source: None,
                    stage: FailureStage::Read,
                    reason,
                    attempts: 1,
                })
                .map_err(plan_error)?;
            }
            Entry::File(id) => {
                if run.admit(id.as_str(), None).map_err(plan_error)? == Admission::Skipped {
                    progress.advance(0);
                    continue;
                }
                let key = ctx.layout.document_key(&id, None);
                let failure = |stage, reason| FailedDocument {
                    document_id: id.to_string(),
                    source: None,
                    stage,
                    reason,
                    attempts: 1,
                };
                let staged = match ctx.stager.as_mut() {
                    Some(stager) => stager.stage_file(src, &id, &key, ctx.req.at, &mut buf),
                    None => stage::read_only(src, &id, &key, ctx.req.at, &mut buf),
                };
                match staged {
                    Ok((doc, how)) => {
                        progress.advance(doc.file_size);
                        if ctx.stager.is_none() && !ctx.req.manifest_only {
                            ctx.puts.push(run.put_for(&doc));
                        }
                        run.record_stored(doc, how).map_err(plan_error)?;
                    }
                    Err(stage::Failure::Read(reason)) => {
                        progress.advance(0);
                        run.record_failed(failure(FailureStage::Read, reason))
                            .map_err(plan_error)?;
                    }
                    Err(stage::Failure::Store(e)) => {
                        progress.advance(0);
                        run.record_failed(failure(
                            FailureStage::Store,
                            format!("could not be stored at {key}: {e}"),
                        ))
                        .map_err(plan_error)?;
                        ctx.note_store_error(run, &e);
                    }
                }
            }
        }
    }
    Ok(())
}

/// Refuses a destination inside the source: every backup would copy the earlier ones.
fn check_not_nested(src: &Path, dest: &Path) -> Result<(), CliError> {
    if resolve(dest).starts_with(resolve(src)) {
        return Err(CliError::Usage(format!(
            "the destination {} is inside the source {}: each backup would copy the earlier \
             ones; choose a destination outside the source",
            dest.display(),
            src.display()
        )));
    }
    Ok(())
}

/// `path` made absolute and free of `.`/`..`, through real directories where they exist (a
/// WASI guest cannot resolve links: there it stays lexical).
fn resolve(path: &Path) -> PathBuf {
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().map_or_else(|_| path.to_path_buf(), |cwd| cwd.join(path))
    };
    let mut lexical = PathBuf::new();
    for c in absolute.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                lexical.pop();
            }
            other => lexical.push(other),
        }
    }
    let mut rest = Vec::new();
    let mut base = lexical.as_path();
    loop {
        if let Ok(real) = canonicalize(base) {
            let mut out = real;
            out.extend(rest.iter().rev());
            return out;
        }
        match (base.parent(), base.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_owned());
                base = parent;
            }
            _ => return lexical,
        }
    }
}

/// `fs::canonicalize`, which WASI lacks (wasi-libc has no `realpath`: linking it fails).
#[cfg(not(target_os = "wasi"))]
fn canonicalize(path: &Path) -> std::io::Result<PathBuf> {
    std::fs::canonicalize(path)
}

#[cfg(target_os = "wasi")]
fn canonicalize(_path: &Path) -> std::io::Result<PathBuf> {
    Err(std::io::Error::from(std::io::ErrorKind::Unsupported))
}
