//! `docvault`: the command-line program over docvault-core.
//!
//! One crate, two targets: built natively it is the `docvault` command; built for
//! `wasm32-wasip1` it is `docvault.wasm`, the sandboxed guest that stock `wasmtime run` (or the
//! `docvault-wasmtime` runner) executes with only the directories it is granted. So everything
//! here is plain `std`: no threads, no network, no terminal tricks the sandbox lacks.
//!
//! The clock is read at most once, in `main`, and only when `--at`/`--date` are not given.
//!
//! Commands: `manifest`, `generate`, `summary`, `validate` (the core issue's, whose output
//! bytes are pinned by golden tests), and `backup`, `verify`, `restore` (a local backup set with
//! the S3 bucket's layout; see `backup.rs`, `verify.rs`, `restore.rs`). This file is the clap
//! front; the work is in the modules.
//!
//! Exit codes: 0 success; 1 a check found problems (an invalid manifest, an incomplete backup,
//! a verification problem, a tampered document, a restore target that exists); 2 bad usage;
//! 3 an I/O error.

mod backup;
mod error;
mod local;
mod output;
mod progress;
mod restore;
mod source;
mod verify;

use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{ArgGroup, Args, Parser, Subcommand};
use docvault_core::{
    BackupDate, Generator, GeneratorSpec, Label, Manifest, ManifestHeader, SourceDescription,
    Timestamp,
};

use crate::error::{CliError, EXIT_CODES};

#[derive(Debug, Parser)]
#[command(
    name = "docvault",
    version,
    about = "Daily document backups with verifiable manifests",
    long_about = "docvault backs up a day's business documents with a manifest of real SHA-256 \
                  checksums. Dates and times come from flags; without them the host clock is \
                  read once.",
    after_help = EXIT_CODES
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print the manifest JSON of a generated day to stdout.
    Manifest(ManifestArgs),
    /// Write a generated day's documents as files, one per document, named after its id.
    Generate(GenerateArgs),
    /// Print a short summary of a generated day (counts by type and department, bytes).
    Summary(SummaryArgs),
    /// Check a manifest file: syntax, schema version, counts, sums, ids, keys.
    Validate(ValidateArgs),
    /// Back up a directory (or a generated day) into a local backup set, manifest last.
    #[command(
        long_about = "Back up one day's documents into DIR/backups/{date}/documents/, with the \
                      same layout as the S3 bucket, then write DIR/backups/{date}/manifest.json \
                      last (create only). Every file is streamed and hashed; symbolic links are \
                      never followed. If any document fails, no manifest is written: the failures \
                      go to DIR/backups/{date}/incomplete/{run}.json and a rerun completes the \
                      day, keeping what is already stored. A day with a manifest is never \
                      rewritten.\n\nDirectory files become documents by one convention: id = \
                      relative path; department = first folder (lowercased) when it is a valid \
                      label, else `unassigned`; type = extension (lowercased) when it is a valid \
                      label, else `document`; priority medium; not confidential; created date = \
                      modification time.",
        after_help = EXIT_CODES
    )]
    Backup(BackupArgs),
    /// Re-hash every stored document of a day and compare it with the manifest.
    #[command(after_help = EXIT_CODES)]
    Verify(VerifyArgs),
    /// Restore a day, or one document, byte for byte, checking every checksum.
    #[command(after_help = EXIT_CODES)]
    Restore(RestoreArgs),
}

#[derive(Debug, Args)]
struct DayArgs {
    /// The day, YYYY-MM-DD (default: today, UTC, from the host clock).
    #[arg(long)]
    date: Option<BackupDate>,
    /// Generator seed: the same (date, count, seed) always gives the same documents.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("input").required(true).args(["generate", "source"])))]
struct ManifestArgs {
    /// Number of documents to generate.
    #[arg(long, value_name = "N")]
    generate: Option<u64>,
    /// A directory instead: the manifest a backup of it would commit (every file read and
    /// hashed, nothing written). Exit 1, with the manifest still printed (status `incomplete`,
    /// failures listed), when a file cannot be read.
    #[arg(long, value_name = "DIR")]
    source: Option<PathBuf>,
    #[command(flatten)]
    day: DayArgs,
    /// Backup time, RFC 3339 (default: now, from the host clock).
    #[arg(long, value_name = "RFC3339")]
    at: Option<Timestamp>,
    /// Deployment environment recorded in the manifest.
    #[arg(long = "env", default_value = "prod")]
    environment: Label,
    /// Run id recorded in the manifest.
    #[arg(long)]
    run_id: Option<String>,
}

#[derive(Debug, Args)]
struct GenerateArgs {
    /// Number of documents.
    #[arg(long, value_name = "N", default_value_t = docvault_core::generate::DEFAULT_COUNT)]
    count: u64,
    #[command(flatten)]
    day: DayArgs,
    /// Directory to write into (created if missing).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
}

#[derive(Debug, Args)]
struct SummaryArgs {
    /// Number of documents.
    #[arg(long, value_name = "N", default_value_t = docvault_core::generate::DEFAULT_COUNT)]
    count: u64,
    #[command(flatten)]
    day: DayArgs,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct ValidateArgs {
    /// The manifest file (`-` for stdin).
    file: PathBuf,
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("input").required(true).args(["source", "generate"])))]
struct BackupArgs {
    /// Backup root: the day goes to DIR/backups/{date}/ (created if missing).
    #[arg(long, value_name = "DIR")]
    dest: PathBuf,
    /// Directory to back up, walked recursively in sorted order.
    #[arg(long, value_name = "DIR")]
    source: Option<PathBuf>,
    /// Back up the synthetic day of N documents (the same documents as `generate`).
    #[arg(long, value_name = "N")]
    generate: Option<u64>,
    /// The day, YYYY-MM-DD (default: the UTC day of --at).
    #[arg(long)]
    date: Option<BackupDate>,
    /// Backup time, RFC 3339 (default: now, from the host clock).
    #[arg(long, value_name = "RFC3339")]
    at: Option<Timestamp>,
    /// Generator seed (with --generate).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Deployment environment recorded in the manifest.
    #[arg(long = "env", default_value = "prod")]
    environment: Label,
    /// Run id recorded in the manifest, and the name of an incomplete-run report.
    #[arg(long)]
    run_id: Option<String>,
    /// Print the result as JSON on stdout.
    #[arg(long)]
    json: bool,
    /// Read and hash everything, print the plan (each document's key, size, checksum, then the
    /// manifest key), and write nothing.
    #[arg(long)]
    dry_run: bool,
    /// No progress lines on stderr.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Debug, Args)]
struct VerifyArgs {
    /// Backup root (the --dest of the backup).
    #[arg(long, value_name = "DIR")]
    dest: PathBuf,
    /// The day to verify, YYYY-MM-DD.
    #[arg(long)]
    date: BackupDate,
    /// Print the report as JSON on stdout.
    #[arg(long)]
    json: bool,
    /// No progress lines on stderr.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Debug, Args)]
struct RestoreArgs {
    /// Backup root (the --dest of the backup).
    #[arg(long, value_name = "DIR")]
    dest: PathBuf,
    /// The day to restore, YYYY-MM-DD.
    #[arg(long)]
    date: BackupDate,
    /// Directory to restore into (created if missing); files keep their paths below
    /// documents/.
    #[arg(long, value_name = "OUT")]
    to: PathBuf,
    /// Restore only this document (its `document_id` in the manifest).
    #[arg(long, value_name = "ID")]
    document: Option<String>,
    /// Replace files that exist in OUT (by default nothing is written if any target exists).
    #[arg(long)]
    overwrite: bool,
    /// Print the result as JSON on stdout.
    #[arg(long)]
    json: bool,
    /// No progress lines on stderr.
    #[arg(long, short)]
    quiet: bool,
}

/// The host clock, read at most once per run.
struct Clock(Option<Timestamp>);

impl Clock {
    fn now(&mut self) -> Timestamp {
        *self.0.get_or_insert_with(|| {
            Timestamp::from(time::OffsetDateTime::now_utc()).truncate_to_seconds()
        })
    }

    fn date(&mut self, given: Option<BackupDate>) -> BackupDate {
        given.unwrap_or_else(|| self.now().date())
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut clock = Clock(None);
    match run(cli, &mut clock) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("docvault: error: {e}");
            if let Some(hint) = e.hint() {
                eprintln!("docvault: hint: {hint}");
            }
            ExitCode::from(e.exit_code())
        }
    }
}

fn run(cli: Cli, clock: &mut Clock) -> Result<(), CliError> {
    match cli.command {
        Command::Manifest(ManifestArgs {
            source: Some(dir),
            day,
            at,
            environment,
            run_id,
            ..
        }) => {
            let at = at.unwrap_or_else(|| clock.now());
            backup::backup(&backup::Request {
                dest: PathBuf::new(),
                input: backup::Input::Directory(dir),
                date: day.date.unwrap_or_else(|| at.date()),
                at,
                environment,
                run_id,
                json: false,
                dry_run: true,
                manifest_only: true,
                // Skipped links and progress on stderr; stdout is the manifest alone.
                quiet: false,
            })
        }
        Command::Manifest(args) => {
            let date = clock.date(args.day.date);
            let spec = GeneratorSpec {
                date,
                count: args.generate.unwrap_or_default(),
                seed: args.day.seed,
            };
            let header = ManifestHeader {
                backup_date: date,
                backup_timestamp: args.at.unwrap_or_else(|| clock.now()),
                environment: args.environment,
                run_id: args.run_id,
                source: SourceDescription::Generator {
                    count: spec.count,
                    seed: spec.seed,
                },
            };
            let manifest = generated_manifest(spec, header)?;
            let mut out = io::BufWriter::with_capacity(1 << 16, io::stdout().lock());
            manifest
                .write_json(&mut out)
                .and_then(|()| out.flush())
                .map_err(CliError::io("writing the manifest to stdout"))
        }
        Command::Generate(args) => {
            let spec = GeneratorSpec {
                date: clock.date(args.day.date),
                count: args.count,
                seed: args.day.seed,
            };
            let written = generate_files(spec, &args.out)?;
            eprintln!(
                "docvault: wrote {written} documents for {} into {}",
                spec.date,
                args.out.display()
            );
            Ok(())
        }
        Command::Summary(args) => {
            let date = clock.date(args.day.date);
            let spec = GeneratorSpec {
                date,
                count: args.count,
                seed: args.day.seed,
            };
            let header = ManifestHeader {
                backup_date: date,
                backup_timestamp: clock.now(),
                environment: Label::new("dev").map_err(|e| CliError::Invalid(e.to_string()))?,
                run_id: None,
                source: SourceDescription::Generator {
                    count: spec.count,
                    seed: spec.seed,
                },
            };
            let manifest = generated_manifest(spec, header)?;
            let text = if args.json {
                let mut v = serde_json::to_string_pretty(&manifest.backup_summary)
                    .map_err(|e| CliError::Invalid(e.to_string()))?;
                v.push('\n');
                v
            } else {
                human_summary(&manifest)
            };
            io::stdout()
                .write_all(text.as_bytes())
                .map_err(CliError::io("writing to stdout"))
        }
        Command::Validate(args) => {
            let text = if args.file == Path::new("-") {
                io::read_to_string(io::stdin()).map_err(CliError::io("reading stdin"))?
            } else {
                std::fs::read_to_string(&args.file)
                    .map_err(CliError::io(format!("reading {}", args.file.display())))?
            };
            let manifest = Manifest::from_json(&text)
                .map_err(|e| CliError::Invalid(format!("{}: {e}", args.file.display())))?;
            eprintln!(
                "docvault: {} is a valid {} manifest for {} ({} documents, {} failed)",
                args.file.display(),
                manifest.status,
                manifest.backup_date,
                manifest.total_documents,
                manifest.total_failed
            );
            Ok(())
        }
        Command::Backup(args) => {
            let at = args.at.unwrap_or_else(|| clock.now());
            let input = match (args.source, args.generate) {
                (Some(dir), None) => backup::Input::Directory(dir),
                (None, Some(count)) => backup::Input::Generated {
                    count,
                    seed: args.seed,
                },
                _ => unreachable!("clap requires exactly one of --source and --generate"),
            };
            backup::backup(&backup::Request {
                dest: args.dest,
                input,
                date: args.date.unwrap_or_else(|| at.date()),
                at,
                environment: args.environment,
                run_id: args.run_id,
                json: args.json,
                dry_run: args.dry_run,
                manifest_only: false,
                quiet: args.quiet,
            })
        }
        Command::Verify(args) => verify::verify(&verify::Request {
            dest: args.dest,
            date: args.date,
            json: args.json,
            quiet: args.quiet,
        }),
        Command::Restore(args) => restore::restore(&restore::Request {
            dest: args.dest,
            date: args.date,
            to: args.to,
            document: args.document,
            overwrite: args.overwrite,
            json: args.json,
            quiet: args.quiet,
        }),
    }
}

/// Generates a day and assembles its manifest, holding one body at a time.
fn generated_manifest(spec: GeneratorSpec, header: ManifestHeader) -> Result<Manifest, CliError> {
    let generator = Generator::new(spec);
    let mut body = Vec::new();
    let documents = (0..spec.count)
        .map(|i| generator.document_into(i, &mut body))
        .collect();
    Manifest::assemble(header, documents, Vec::new()).map_err(|e| CliError::Invalid(e.to_string()))
}

/// Writes every generated body to `out/<key below documents/>`; returns how many.
fn generate_files(spec: GeneratorSpec, out: &Path) -> Result<u64, CliError> {
    std::fs::create_dir_all(out).map_err(CliError::io(format!("creating {}", out.display())))?;
    let generator = Generator::new(spec);
    let prefix = docvault_core::Layout::new(spec.date).documents_prefix();
    let mut body = Vec::new();
    for i in 0..spec.count {
        let doc = generator.document_into(i, &mut body);
        let name = doc
            .object_key
            .strip_prefix(&prefix)
            .unwrap_or(doc.document_id.as_str());
        let path = out.join(name);
        std::fs::write(&path, &body)
            .map_err(CliError::io(format!("writing {}", path.display())))?;
    }
    Ok(spec.count)
}

fn human_summary(m: &Manifest) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{} documents for {} ({} bytes), status {}",
        m.total_documents, m.backup_date, m.backup_summary.total_size_bytes, m.status
    );
    let _ = writeln!(s, "by type:");
    for (k, v) in &m.backup_summary.document_types {
        let _ = writeln!(s, "  {k:<12} {v}");
    }
    let _ = writeln!(s, "by department:");
    for (k, v) in &m.backup_summary.departments {
        let _ = writeln!(s, "  {k:<12} {v}");
    }
    s
}
