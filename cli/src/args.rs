//! The command line: every command and flag (clap), with the text `--help` shows.

use std::path::PathBuf;

use clap::{ArgGroup, Args, Parser, Subcommand};
use docvault_core::{BackupDate, Label, RetentionPolicy, Timestamp, Weekday};

use crate::error::EXIT_CODES;

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
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
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
    /// Delete the days a retention policy no longer keeps (shows what it would delete unless
    /// --yes is given).
    #[command(
        long_about = "Decide, for every day of the backup set, whether the retention policy \
                      keeps it on --today (default: today, UTC): the last --keep-daily days, \
                      and the first backup of each of the last --keep-weekly weeks (on \
                      --weekly-on), --keep-monthly months and --keep-yearly years. A day is \
                      also kept while its manifest's own retain_until has not passed, and while \
                      it is on legal hold (`docvault hold`). Without --yes nothing is deleted: \
                      the decisions are printed. With --yes each day to go first loses its \
                      manifest (moved to pruning.json), then its documents and the rest, so an \
                      interrupted prune never leaves a manifest naming deleted files; run it \
                      again to finish.",
        after_help = EXIT_CODES
    )]
    Prune(PruneArgs),
    /// Put a day of a backup set on legal hold (--on) or release it (--off): a held day is
    /// never pruned.
    #[command(after_help = EXIT_CODES)]
    Hold(HoldArgs),
}

#[derive(Debug, Args)]
pub(crate) struct DayArgs {
    /// The day, YYYY-MM-DD (default: today, UTC, from the host clock).
    #[arg(long)]
    pub(crate) date: Option<BackupDate>,
    /// Generator seed: the same (date, count, seed) always gives the same documents.
    #[arg(long, default_value_t = 0)]
    pub(crate) seed: u64,
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("input").required(true).args(["generate", "source"])))]
pub(crate) struct ManifestArgs {
    /// Number of documents to generate.
    #[arg(long, value_name = "N")]
    pub(crate) generate: Option<u64>,
    /// A directory instead: the manifest a backup of it would commit (every file read and
    /// hashed, nothing written). Exit 1, with the manifest still printed (status `incomplete`,
    /// failures listed), when a file cannot be read.
    #[arg(long, value_name = "DIR")]
    pub(crate) source: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) day: DayArgs,
    /// Backup time, RFC 3339 (default: now, from the host clock).
    #[arg(long, value_name = "RFC3339")]
    pub(crate) at: Option<Timestamp>,
    /// Deployment environment recorded in the manifest.
    #[arg(long = "env", default_value = "prod")]
    pub(crate) environment: Label,
    /// Run id recorded in the manifest.
    #[arg(long)]
    pub(crate) run_id: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct GenerateArgs {
    /// Number of documents.
    #[arg(long, value_name = "N", default_value_t = docvault_core::generate::DEFAULT_COUNT)]
    pub(crate) count: u64,
    #[command(flatten)]
    pub(crate) day: DayArgs,
    /// Directory to write into (created if missing).
    #[arg(long, value_name = "DIR")]
    pub(crate) out: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct SummaryArgs {
    /// Number of documents.
    #[arg(long, value_name = "N", default_value_t = docvault_core::generate::DEFAULT_COUNT)]
    pub(crate) count: u64,
    #[command(flatten)]
    pub(crate) day: DayArgs,
    /// Print the summary as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ValidateArgs {
    /// The manifest file (`-` for stdin).
    pub(crate) file: PathBuf,
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("input").required(true).args(["source", "generate"])))]
pub(crate) struct BackupArgs {
    /// Backup root: the day goes to DIR/backups/{date}/ (created if missing).
    #[arg(long, value_name = "DIR")]
    pub(crate) dest: PathBuf,
    /// Directory to back up, walked recursively in sorted order.
    #[arg(long, value_name = "DIR")]
    pub(crate) source: Option<PathBuf>,
    /// Back up the synthetic day of N documents (the same documents as `generate`).
    #[arg(long, value_name = "N")]
    pub(crate) generate: Option<u64>,
    /// The day, YYYY-MM-DD (default: the UTC day of --at).
    #[arg(long)]
    pub(crate) date: Option<BackupDate>,
    /// Backup time, RFC 3339 (default: now, from the host clock).
    #[arg(long, value_name = "RFC3339")]
    pub(crate) at: Option<Timestamp>,
    /// Generator seed (with --generate).
    #[arg(long, default_value_t = 0)]
    pub(crate) seed: u64,
    /// Deployment environment recorded in the manifest.
    #[arg(long = "env", default_value = "prod")]
    pub(crate) environment: Label,
    /// Run id recorded in the manifest, and the name of an incomplete-run report.
    #[arg(long)]
    pub(crate) run_id: Option<String>,
    /// Print the result as JSON on stdout.
    #[arg(long)]
    pub(crate) json: bool,
    /// Read and hash everything, print the plan (each document's key, size, checksum, then the
    /// manifest key), and write nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// No progress lines on stderr.
    #[arg(long, short)]
    pub(crate) quiet: bool,
    /// The host runs this guest under the day's lock (docvault-wasmtime): no warning that a
    /// sandbox cannot lock files.
    #[arg(long, hide = true)]
    pub(crate) host_holds_lock: bool,
}

#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// Backup root (the --dest of the backup).
    #[arg(long, value_name = "DIR")]
    pub(crate) dest: PathBuf,
    /// The day to verify, YYYY-MM-DD.
    #[arg(long)]
    pub(crate) date: BackupDate,
    /// Print the report as JSON on stdout.
    #[arg(long)]
    pub(crate) json: bool,
    /// No progress lines on stderr.
    #[arg(long, short)]
    pub(crate) quiet: bool,
}

#[derive(Debug, Args)]
pub(crate) struct RestoreArgs {
    /// Backup root (the --dest of the backup).
    #[arg(long, value_name = "DIR")]
    pub(crate) dest: PathBuf,
    /// The day to restore, YYYY-MM-DD.
    #[arg(long)]
    pub(crate) date: BackupDate,
    /// Directory to restore into (created if missing); files keep their paths below
    /// documents/.
    #[arg(long, value_name = "OUT")]
    pub(crate) to: PathBuf,
    /// Restore only this document (its `document_id` in the manifest).
    #[arg(long, value_name = "ID")]
    pub(crate) document: Option<String>,
    /// Replace files that exist in OUT (by default nothing is written if any target exists).
    #[arg(long)]
    pub(crate) overwrite: bool,
    /// Print the result as JSON on stdout.
    #[arg(long)]
    pub(crate) json: bool,
    /// No progress lines on stderr.
    #[arg(long, short)]
    pub(crate) quiet: bool,
}

#[derive(Debug, Args)]
pub(crate) struct PruneArgs {
    /// Backup root (the --dest of the backups).
    #[arg(long, value_name = "DIR")]
    pub(crate) dest: PathBuf,
    /// Keep the last N daily backups (1 to 3650).
    #[arg(long, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=i64::from(RetentionPolicy::MAX_DAILY)))]
    pub(crate) keep_daily: u32,
    /// Keep the first backup of each of the last N weeks (0 to 520).
    #[arg(long, value_name = "N", default_value_t = 0,
          value_parser = clap::value_parser!(u32).range(0..=i64::from(RetentionPolicy::MAX_WEEKLY)))]
    pub(crate) keep_weekly: u32,
    /// Keep the first backup of each of the last N months (0 to 1200).
    #[arg(long, value_name = "N", default_value_t = 0,
          value_parser = clap::value_parser!(u32).range(0..=i64::from(RetentionPolicy::MAX_MONTHLY)))]
    pub(crate) keep_monthly: u32,
    /// Keep the first backup of each of the last N years (0 to 100).
    #[arg(long, value_name = "N", default_value_t = 0,
          value_parser = clap::value_parser!(u32).range(0..=i64::from(RetentionPolicy::MAX_YEARLY)))]
    pub(crate) keep_yearly: u32,
    /// The weekday whose backup is the week's weekly.
    #[arg(long, value_name = "DAY", default_value_t = Weekday::Sunday)]
    pub(crate) weekly_on: Weekday,
    /// The day to decide on, YYYY-MM-DD (default: today, UTC, from the host clock).
    #[arg(long)]
    pub(crate) today: Option<BackupDate>,
    /// Delete. Without it, only print what would be deleted.
    #[arg(long)]
    pub(crate) yes: bool,
    /// Print the result as JSON on stdout.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("state").required(true).args(["on", "off"])))]
pub(crate) struct HoldArgs {
    /// Backup root (the --dest of the backups).
    #[arg(long, value_name = "DIR")]
    pub(crate) dest: PathBuf,
    /// The day, YYYY-MM-DD.
    #[arg(long)]
    pub(crate) date: BackupDate,
    /// Put the day on hold.
    #[arg(long)]
    pub(crate) on: bool,
    /// Release the day's hold.
    #[arg(long)]
    pub(crate) off: bool,
    /// Who asks (recorded with the hold, e.g. a case number).
    #[arg(long, value_name = "TEXT")]
    pub(crate) by: Option<String>,
    /// When, RFC 3339 (default: now).
    #[arg(long, value_name = "RFC3339")]
    pub(crate) at: Option<Timestamp>,
}
