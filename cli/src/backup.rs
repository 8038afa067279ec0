//! `docvault backup`: one day's documents into a local backup set, driven through the core's
//! [`BackupRun`], with the manifest written last.
//!
//! How a run goes:
//! 1. `backups/{date}/manifest.json` exists: the day is complete. It is checked, reported, and
//!    nothing is rewritten.
//! 2. Every document (a file of the source directory, or a generated one) is streamed through
//!    one fixed buffer into a temporary file under `backups/{date}/.partial/` while its SHA-256
//!    is computed; the source's size and modification time are checked again after the read, so
//!    a file that changed while it was read is recorded as failed (stage `read`) rather than
//!    stored half old, half new. The document is then planned (`plan_document`), its temporary
//!    file flushed to disk and renamed onto the planned key, and the outcome recorded. A stored
//!    file an earlier, interrupted run left with the same SHA-256 is kept as it is.
//! 3. Once every document has an outcome, `finish` gives the last write. Complete: files under
//!    the day's `documents/` that no document claims (left by an earlier attempt) are removed,
//!    and the manifest is written to a temporary file and hard-linked in create-only, so it
//!    appears whole or not at all and never replaces another run's. Incomplete: the report goes
//!    to `backups/{date}/incomplete/{run}.json`, the command exits 1, and a rerun completes the
//!    day.
//!
//! A destination that fills up or disappears stops the run: the remaining documents are
//! recorded as not attempted, and no manifest is written.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::{self, Write as _};
use std::path::{Component, Path, PathBuf};
use std::time::UNIX_EPOCH;

use docvault_core::{
    BackupDate, BackupRun, Commit, Document, DocumentId, Encryption, FailedDocument, FailureStage,
    Generator, GeneratorSpec, Label, Layout, Manifest, ManifestHeader, ObjectPut, PlanOptions,
    Sha256Digest, SourceDescription, Timestamp,
};
use serde_json::json;

use crate::error::CliError;
use crate::local::{
    self, BUF_SIZE, PumpError, TempFile, create_dirs_below, hash_file, key_path, list_files, pump,
};
use crate::output::emit;
use crate::progress::Progress;
use crate::source::{self, Entry};

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
}

/// What happened to the stored documents.
#[derive(Debug, Default)]
struct Tally {
    written: u64,
    kept: u64,
    replaced: u64,
    removed_stale: u64,
}

/// Why one document was not stored.
#[derive(Debug)]
enum Failure {
    /// Reading the source failed, or the source changed while read.
    Read(String),
    /// Writing into the destination failed.
    Store(io::Error),
}

/// A document read and hashed, waiting for its plan.
#[derive(Debug)]
struct Staged {
    doc: Document,
    /// The body in a temporary file, or `None` when an identical copy is already stored (or in
    /// a dry run).
    temp: Option<TempFile>,
    /// A file (with other content) is at the target already.
    replaces: bool,
}

struct Context<'a> {
    req: &'a Request,
    layout: Layout,
    day_dir: PathBuf,
    partial: PathBuf,
    seq: u64,
    buf: Vec<u8>,
    tally: Tally,
    touched: BTreeSet<PathBuf>,
    fatal: Option<String>,
    puts: Vec<ObjectPut>,
    skipped: Vec<(String, &'static str)>,
}

/// Runs a backup.
pub(crate) fn backup(req: &Request) -> Result<(), CliError> {
    let layout = Layout::new(req.date);
    let manifest_path = key_path(&req.dest, &layout.manifest_key());
    if !req.manifest_only && fs::symlink_metadata(&manifest_path).is_ok() {
        let existing = local::load_manifest(&req.dest, req.date).map_err(|e| match e {
            CliError::Invalid(m) => CliError::Invalid(format!(
                "{m}; it was left as it is: move it away to back up {} again",
                req.date
            )),
            other => other,
        })?;
        return report_already_complete(req, &layout, &existing);
    }
    let source = match &req.input {
        Input::Directory(src) => {
            if !req.manifest_only {
                check_not_nested(src, &req.dest)?;
            }
            SourceDescription::Directory {
                path: src.to_string_lossy().into_owned(),
            }
        }
        Input::Generated { count, seed } => SourceDescription::Generator {
            count: *count,
            seed: *seed,
        },
    };
    let header = ManifestHeader {
        backup_date: req.date,
        backup_timestamp: req.at,
        environment: req.environment.clone(),
        run_id: req.run_id.clone(),
        source,
    };
    let options = PlanOptions::new("", req.environment.clone(), Encryption::None)
        .map_err(|e| CliError::Usage(e.to_string()))?;
    let mut run = BackupRun::new(header, options);
    let day_dir = key_path(&req.dest, layout.day_prefix().trim_end_matches('/'));
    let mut ctx = Context {
        req,
        partial: day_dir.join(".partial"),
        day_dir,
        layout,
        seq: 0,
        buf: vec![0; BUF_SIZE],
        tally: Tally::default(),
        touched: BTreeSet::new(),
        fatal: None,
        puts: Vec::new(),
        skipped: Vec::new(),
    };
    if !req.dry_run {
        ctx.prepare()?;
    }
    let result = match &req.input {
        Input::Generated { count, seed } => {
            let spec = GeneratorSpec {
                date: req.date,
                count: *count,
                seed: *seed,
            };
            back_up_generated(&mut ctx, &mut run, spec)
        }
        Input::Directory(src) => back_up_directory(&mut ctx, &mut run, src),
    };
    let finished = result.and_then(|()| run.finish().map_err(plan_error));
    let outcome = match finished {
        Ok(commit) if req.manifest_only => print_manifest(req, &commit),
        Ok(commit) if req.dry_run => report_dry_run(&ctx, &commit),
        Ok(commit) => ctx.commit(&commit).and_then(|()| report(&ctx, &commit)),
        Err(e) => Err(e),
    };
    if !req.dry_run {
        // Temporary files of this run are gone (each removes itself); remove their folder.
        let _ = fs::remove_dir_all(&ctx.partial);
    }
    outcome
}

/// `docvault manifest --source`: the bytes the run would commit, on stdout.
fn print_manifest(req: &Request, commit: &Commit) -> Result<(), CliError> {
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

fn plan_error(e: docvault_core::PlanError) -> CliError {
    CliError::Invalid(format!("backup plan refused: {e}"))
}

impl Context<'_> {
    /// Creates the day's folder and an empty `.partial/` for temporary files (a crashed run's
    /// leftovers there are removed: nothing refers to them).
    fn prepare(&mut self) -> Result<(), CliError> {
        fs::create_dir_all(&self.req.dest).map_err(CliError::io(format!(
            "creating {}",
            self.req.dest.display()
        )))?;
        let day = self.layout.day_prefix().trim_end_matches('/').to_owned();
        create_dirs_below(&self.req.dest, &day)
            .map_err(CliError::io(format!("creating {}", self.day_dir.display())))?;
        match fs::remove_dir_all(&self.partial) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(CliError::io(format!(
                    "removing stale temporary files in {}",
                    self.partial.display()
                ))(e));
            }
        }
        fs::create_dir(&self.partial)
            .map_err(CliError::io(format!("creating {}", self.partial.display())))
    }

    fn temp(&mut self) -> io::Result<TempFile> {
        self.seq += 1;
        TempFile::create(self.partial.join(format!("{}.part", self.seq)))
    }

    /// Puts a staged body at its planned key.
    fn place(&mut self, temp: TempFile, key: &str) -> io::Result<()> {
        let parent = key.rsplit_once('/').map_or("", |(p, _)| p);
        let dir = create_dirs_below(&self.req.dest, parent)?;
        temp.commit_replace(&key_path(&self.req.dest, key))?;
        self.touched.insert(dir);
        Ok(())
    }

    /// Notes a store error that will fail every later document too.
    fn note_store_error(&mut self, e: &io::Error) {
        if self.fatal.is_some() {
            return;
        }
        use io::ErrorKind as K;
        if matches!(
            e.kind(),
            K::StorageFull | K::QuotaExceeded | K::ReadOnlyFilesystem
        ) {
            self.fatal = Some(format!("the destination cannot take more data ({e})"));
        } else if !self.day_dir.is_dir() {
            self.fatal = Some(format!(
                "the destination {} disappeared ({e})",
                self.day_dir.display()
            ));
        }
    }

    fn not_attempted(&self, id: String, source: Option<String>) -> Option<FailedDocument> {
        self.fatal.as_ref().map(|why| FailedDocument {
            document_id: id,
            source,
            stage: FailureStage::Store,
            reason: format!("not attempted: {why}"),
            attempts: 0,
        })
    }

    /// The last write: the manifest (create-only) or the incomplete-run report.
    fn commit(&mut self, commit: &Commit) -> Result<(), CliError> {
        let target = key_path(&self.req.dest, &commit.put.key);
        if commit.is_complete() {
            self.remove_unclaimed(&commit.manifest)?;
            for dir in &self.touched {
                local::sync_dir(dir);
            }
            let mut temp = self
                .temp()
                .map_err(CliError::io(format!("writing {}", target.display())))?;
            temp.file()
                .write_all(&commit.body)
                .map_err(CliError::io(format!("writing {}", target.display())))?;
            match temp.commit_new(&target) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    return Err(CliError::Invalid(format!(
                        "{} appeared while this run was working: another run completed {} \
                         first; it was left as it is",
                        target.display(),
                        self.req.date
                    )));
                }
                Err(e) => return Err(CliError::io(format!("writing {}", target.display()))(e)),
            }
            local::sync_dir(&self.day_dir);
            Ok(())
        } else {
            let failed = commit.manifest.total_failed;
            let context = format!(
                "writing the incomplete-run report {} ({failed} documents failed; no manifest \
                 was written)",
                target.display()
            );
            let parent = commit.put.key.rsplit_once('/').map_or("", |(p, _)| p);
            create_dirs_below(&self.req.dest, parent).map_err(CliError::io(context.clone()))?;
            let mut temp = self.temp().map_err(CliError::io(context.clone()))?;
            temp.file()
                .write_all(&commit.body)
                .map_err(CliError::io(context.clone()))?;
            temp.commit_replace(&target)
                .map_err(CliError::io(context.clone()))?;
            Ok(())
        }
    }

    /// Removes files under the day's `documents/` that the manifest does not list: an earlier
    /// attempt stored them and their source has since gone. No manifest claims them (the day has
    /// none yet), and leaving them would make `verify` report them.
    fn remove_unclaimed(&mut self, manifest: &Manifest) -> Result<(), CliError> {
        let prefix = self.layout.documents_prefix();
        let dir = key_path(&self.req.dest, prefix.trim_end_matches('/'));
        let claimed: BTreeSet<&str> = manifest
            .documents
            .iter()
            .map(|d| d.object_key.as_str())
            .collect();
        let listed =
            list_files(&dir).map_err(CliError::io(format!("listing {}", dir.display())))?;
        for file in listed {
            if !claimed.contains(format!("{prefix}{}", file.rel).as_str()) {
                fs::remove_file(&file.path)
                    .map_err(CliError::io(format!("removing {}", file.path.display())))?;
                self.tally.removed_stale += 1;
            }
        }
        Ok(())
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
        if let Some(f) = ctx.not_attempted(doc.document_id.to_string(), None) {
            run.record_failed(f).map_err(plan_error)?;
            continue;
        }
        let (id, checksum) = (doc.document_id.clone(), doc.checksum);
        let put = run.plan_document(doc).map_err(plan_error)?;
        if ctx.req.dry_run {
            ctx.puts.push(put);
            run.record_stored(&id).map_err(plan_error)?;
            continue;
        }
        match store_body(ctx, &put.key, &body, checksum) {
            Ok(()) => run.record_stored(&id).map_err(plan_error)?,
            Err(e) => {
                ctx.note_store_error(&e);
                run.record_failed(FailedDocument {
                    document_id: id.to_string(),
                    source: None,
                    stage: FailureStage::Store,
                    reason: format!("could not be stored at {}: {e}", put.key),
                    attempts: 1,
                })
                .map_err(plan_error)?;
            }
        }
    }
    Ok(())
}

/// Stores an in-memory body at `key`, keeping an identical stored copy.
fn store_body(
    ctx: &mut Context<'_>,
    key: &str,
    body: &[u8],
    checksum: Sha256Digest,
) -> io::Result<()> {
    let target = key_path(&ctx.req.dest, key);
    let existing = fs::symlink_metadata(&target).ok();
    if let Some(meta) = &existing
        && meta.is_file()
        && meta.len() == body.len() as u64
        && hash_file(&target, &mut ctx.buf).is_ok_and(|(_, d)| d == checksum)
    {
        ctx.tally.kept += 1;
        return Ok(());
    }
    let mut temp = ctx.temp()?;
    temp.file().write_all(body)?;
    ctx.place(temp, key)?;
    if existing.is_some() {
        ctx.tally.replaced += 1;
    } else {
        ctx.tally.written += 1;
    }
    Ok(())
}

fn back_up_directory(
    ctx: &mut Context<'_>,
    run: &mut BackupRun,
    src: &Path,
) -> Result<(), CliError> {
    let entries = source::walk(src).map_err(CliError::io(format!(
        "reading the source directory {}",
        src.display()
    )))?;
    let files = entries
        .iter()
        .filter(|e| !matches!(e, Entry::Skipped { .. }))
        .count() as u64;
    let mut progress = Progress::start(format!("backup {}", ctx.req.date), files, ctx.req.quiet);
    for entry in entries {
        match entry {
            Entry::Skipped { name, kind } => {
                if !ctx.req.quiet {
                    eprintln!("docvault: skipped {name}: {kind}, not followed or copied");
                }
                ctx.skipped.push((name, kind));
            }
            Entry::Failed { name, path, reason } => {
                progress.advance(0);
                run.record_failed(FailedDocument {
                    document_id: name,
                    source: Some(local::escape_os(path.as_os_str())),
                    stage: FailureStage::Read,
                    reason,
                    attempts: 1,
                })
                .map_err(plan_error)?;
            }
            Entry::File { id, path } => {
                let source = Some(path.to_string_lossy().into_owned());
                if let Some(f) = ctx.not_attempted(id.to_string(), source.clone()) {
                    progress.advance(0);
                    run.record_failed(f).map_err(plan_error)?;
                    continue;
                }
                let key = ctx.layout.document_key(&id, None);
                let failure = |stage, reason| FailedDocument {
                    document_id: id.to_string(),
                    source: source.clone(),
                    stage,
                    reason,
                    attempts: 1,
                };
                match stage_file(ctx, &id, &path, &key) {
                    Ok(staged) => {
                        progress.advance(staged.doc.file_size);
                        let fresh = staged.temp.is_some();
                        let put = run.plan_document(staged.doc).map_err(plan_error)?;
                        let placed = match staged.temp {
                            Some(temp) => ctx.place(temp, &put.key),
                            None => Ok(()),
                        };
                        match placed {
                            Ok(()) => {
                                match (ctx.req.dry_run, fresh, staged.replaces) {
                                    (true, _, _) => ctx.puts.push(put),
                                    (false, false, _) => ctx.tally.kept += 1,
                                    (false, true, true) => ctx.tally.replaced += 1,
                                    (false, true, false) => ctx.tally.written += 1,
                                }
                                run.record_stored(&id).map_err(plan_error)?;
                            }
                            Err(e) => {
                                ctx.note_store_error(&e);
                                run.record_failed(failure(
                                    FailureStage::Store,
                                    format!("could not be stored at {}: {e}", put.key),
                                ))
                                .map_err(plan_error)?;
                            }
                        }
                    }
                    Err(Failure::Read(reason)) => {
                        progress.advance(0);
                        run.record_failed(failure(FailureStage::Read, reason))
                            .map_err(plan_error)?;
                    }
                    Err(Failure::Store(e)) => {
                        progress.advance(0);
                        ctx.note_store_error(&e);
                        run.record_failed(failure(
                            FailureStage::Store,
                            format!("could not be stored at {key}: {e}"),
                        ))
                        .map_err(plan_error)?;
                    }
                }
            }
        }
    }
    Ok(())
}

/// Reads and hashes one source file, into a temporary file unless an identical copy is stored
/// already (or this is a dry run).
fn stage_file(
    ctx: &mut Context<'_>,
    id: &DocumentId,
    path: &Path,
    key: &str,
) -> Result<Staged, Failure> {
    let at = ctx.req.at;
    let target = key_path(&ctx.req.dest, key);
    let existing = if ctx.req.dry_run {
        None
    } else {
        fs::symlink_metadata(&target).ok()
    };
    // An earlier, interrupted run may have stored this file: compare before writing anything.
    if let Some(meta) = &existing
        && meta.is_file()
        && fs::symlink_metadata(path).is_ok_and(|m| m.len() == meta.len())
        && let Ok((_, stored)) = hash_file(&target, &mut ctx.buf)
    {
        let (size, digest, before) = read_source(path, None, &mut ctx.buf)?;
        if digest == stored {
            return Ok(Staged {
                doc: document(at, id, key, size, digest, &before),
                temp: None,
                replaces: false,
            });
        }
    }
    if ctx.req.dry_run {
        let (size, digest, before) = read_source(path, None, &mut ctx.buf)?;
        return Ok(Staged {
            doc: document(at, id, key, size, digest, &before),
            temp: None,
            replaces: false,
        });
    }
    let mut temp = ctx.temp().map_err(Failure::Store)?;
    let (size, digest, before) = read_source(path, Some(temp.file()), &mut ctx.buf)?;
    Ok(Staged {
        doc: document(at, id, key, size, digest, &before),
        temp: Some(temp),
        replaces: existing.is_some(),
    })
}

/// Reads the source file at `path` once: checks it is still a regular file (the same one the
/// walk listed, where the platform can tell), streams it into `sink` while hashing, then checks
/// that its size and modification time did not change meanwhile.
fn read_source(
    path: &Path,
    sink: Option<&mut File>,
    buf: &mut [u8],
) -> Result<(u64, Sha256Digest, fs::Metadata), Failure> {
    let listed = fs::symlink_metadata(path)
        .map_err(|e| Failure::Read(format!("could not be examined: {e}")))?;
    if !listed.is_file() {
        return Err(Failure::Read(format!(
            "is no longer a regular file (now a {}): it was not followed",
            local::kind_of(listed.file_type())
        )));
    }
    let mut file =
        File::open(path).map_err(|e| Failure::Read(format!("could not be opened: {e}")))?;
    let before = file
        .metadata()
        .map_err(|e| Failure::Read(format!("could not be examined: {e}")))?;
    if !same_file(&listed, &before) {
        return Err(Failure::Read(
            "was replaced (by a link or another file) while being backed up: rerun the backup"
                .to_owned(),
        ));
    }
    let (read, digest) = pump(&mut file, sink, buf).map_err(|e| match e {
        PumpError::Read(e) => Failure::Read(format!("could not be read: {e}")),
        PumpError::Write(e) => Failure::Store(e),
    })?;
    let after = file
        .metadata()
        .map_err(|e| Failure::Read(format!("could not be examined: {e}")))?;
    let (opened, end) = (before.len(), after.len());
    let touched = before.modified().ok() != after.modified().ok();
    if read != opened || end != opened || touched {
        return Err(Failure::Read(format!(
            "it changed while being read ({opened} bytes when opened, {read} bytes read, {end} \
             bytes at the end{}): nothing was stored; rerun the backup once it is stable",
            if touched {
                ", modification time changed"
            } else {
                ""
            }
        )));
    }
    Ok((read, digest, before))
}

/// Whether the opened file is the entry the walk saw.
#[cfg(unix)]
fn same_file(listed: &fs::Metadata, opened: &fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt as _;
    opened.is_file() && listed.dev() == opened.dev() && listed.ino() == opened.ino()
}

/// Whether the opened file is the entry the walk saw. Inode numbers are not in stable `std`
/// for WASI; there the sandbox keeps every open inside the granted directories anyway.
#[cfg(not(unix))]
fn same_file(_listed: &fs::Metadata, opened: &fs::Metadata) -> bool {
    opened.is_file()
}

/// A directory file's manifest record, by [`docvault_core::convention`].
fn document(
    at: Timestamp,
    id: &DocumentId,
    key: &str,
    size: u64,
    checksum: Sha256Digest,
    meta: &fs::Metadata,
) -> Document {
    let attrs = docvault_core::convention::attributes(id);
    Document {
        document_id: id.clone(),
        doc_type: attrs.doc_type,
        created_date: modified(meta).unwrap_or(at),
        file_size: size,
        checksum,
        content_type: attrs.content_type.into(),
        object_key: key.to_owned(),
        source: None,
        parts: None,
        metadata: attrs.metadata,
    }
}

/// The modification time in whole seconds, when the filesystem has one within years 0-9999.
fn modified(meta: &fs::Metadata) -> Option<Timestamp> {
    const FIRST: i64 = -62_167_219_200; // 0000-01-01T00:00:00Z
    const LAST: i64 = 253_402_300_799; // 9999-12-31T23:59:59Z
    let t = meta.modified().ok()?;
    let secs = match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).ok()?,
        Err(e) => {
            let d = e.duration();
            -i64::try_from(d.as_secs()).ok()? - i64::from(d.subsec_nanos() > 0)
        }
    };
    if (FIRST..=LAST).contains(&secs) {
        Timestamp::from_unix_seconds(secs)
    } else {
        None
    }
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
fn canonicalize(path: &Path) -> io::Result<PathBuf> {
    fs::canonicalize(path)
}

#[cfg(target_os = "wasi")]
fn canonicalize(_path: &Path) -> io::Result<PathBuf> {
    Err(io::Error::from(io::ErrorKind::Unsupported))
}

fn stage_name(stage: FailureStage) -> &'static str {
    match stage {
        FailureStage::Read => "read",
        FailureStage::Store => "store",
        FailureStage::Verify => "verify",
    }
}

fn failure_lines(text: &mut String, failed: &[FailedDocument], skipped: &[(String, &str)]) {
    for f in failed {
        let _ = writeln!(
            text,
            "  failed ({}) {}: {}",
            stage_name(f.stage),
            f.document_id,
            f.reason
        );
    }
    for (name, kind) in skipped {
        let _ = writeln!(text, "  skipped {name}: {kind}, not followed or copied");
    }
}

fn skipped_json(skipped: &[(String, &str)]) -> serde_json::Value {
    skipped
        .iter()
        .map(|(name, kind)| json!({ "path": name, "kind": kind }))
        .collect()
}

fn report_already_complete(req: &Request, layout: &Layout, m: &Manifest) -> Result<(), CliError> {
    let key = layout.manifest_key();
    let text = format!(
        "backup of {} is already complete: {} documents, {} ({key}); nothing was rewritten\n",
        req.date,
        m.total_documents,
        local::human_bytes(m.backup_summary.total_size_bytes),
    );
    let value = json!({
        "command": "backup",
        "date": req.date.to_string(),
        "status": "already-complete",
        "dry_run": req.dry_run,
        "documents": m.total_documents,
        "bytes": m.backup_summary.total_size_bytes,
        "manifest_key": key,
    });
    emit(req.json, &text, &value)
}

fn report(ctx: &Context<'_>, commit: &Commit) -> Result<(), CliError> {
    let (req, m, t) = (ctx.req, &commit.manifest, &ctx.tally);
    let complete = commit.is_complete();
    let mut text = String::new();
    let _ = writeln!(
        text,
        "backup of {} {}: {} documents stored ({}), {} failed",
        req.date,
        m.status,
        m.total_documents,
        local::human_bytes(m.backup_summary.total_size_bytes),
        m.total_failed
    );
    let _ = writeln!(
        text,
        "  {} written, {} kept (already stored by an earlier run), {} replaced, {} unclaimed \
         files removed",
        t.written, t.kept, t.replaced, t.removed_stale
    );
    failure_lines(&mut text, &m.failed_documents, &ctx.skipped);
    let _ = writeln!(
        text,
        "{}: {}",
        if complete { "manifest" } else { "report" },
        commit.put.key
    );
    let value = json!({
        "command": "backup",
        "date": req.date.to_string(),
        "status": m.status,
        "dry_run": false,
        "documents": m.total_documents,
        "bytes": m.backup_summary.total_size_bytes,
        "written": t.written,
        "kept": t.kept,
        "replaced": t.replaced,
        "removed_unclaimed": t.removed_stale,
        "failed": m.failed_documents,
        "skipped": skipped_json(&ctx.skipped),
        "manifest_key": complete.then(|| commit.put.key.clone()),
        "report_key": (!complete).then(|| commit.put.key.clone()),
    });
    emit(req.json, &text, &value)?;
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

fn report_dry_run(ctx: &Context<'_>, commit: &Commit) -> Result<(), CliError> {
    let (req, m) = (ctx.req, &commit.manifest);
    let mut text = format!(
        "dry run of the backup of {}: nothing was written; the plan:\n",
        req.date
    );
    for put in &ctx.puts {
        let _ = writeln!(
            text,
            "  put {}  {} bytes  {}  sha256 {}",
            put.key, put.content_length, put.content_type, put.checksum_sha256
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
        "skipped": skipped_json(&ctx.skipped),
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
