//! The runner's command line: the sandbox's limits and every command and flag (clap).

use std::path::PathBuf;

use clap::{ArgGroup, Args, Parser, Subcommand};
use docvault_core::manifest::parted::DEFAULT_PART_DOCUMENTS;
use docvault_core::{
    BackupDate, LockMode, Retention, RetentionError, RetentionPolicy, Timestamp, Weekday,
};
use docvault_s3::split::{
    DEFAULT_MULTIPART_THRESHOLD, DEFAULT_PART_SIZE, MAX_SINGLE_PUT, MIN_PART_SIZE,
};

use crate::error::EXIT_CODES;

#[derive(Debug, Parser)]
#[command(
    name = "docvault-wasmtime",
    version,
    about = "Runs docvault in a wasmtime sandbox: only the granted directories, no network, \
             memory and time limits; adds S3 destinations and metrics",
    after_help = EXIT_CODES
)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) sandbox: SandboxArgs,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Args)]
pub(crate) struct SandboxArgs {
    /// The guest module (docvault-cli built for wasm32-wasip1). Default: docvault.wasm next to
    /// this program.
    #[arg(long, global = true, env = "DOCVAULT_WASM", value_name = "FILE")]
    pub(crate) wasm: Option<PathBuf>,
    /// The guest's memory limit.
    #[arg(long, global = true, default_value_t = 512, value_name = "MIB")]
    pub(crate) memory_mib: usize,
    /// The guest's wall-clock limit; 0: none (the guest is then compiled without the checks a
    /// limit needs, and its manifest work runs faster: for trusted batch runs).
    #[arg(long, global = true, default_value_t = 3600, value_name = "SECONDS")]
    pub(crate) timeout: u64,
    /// Where compiled modules are cached. Default: $XDG_CACHE_HOME/docvault-wasmtime or
    /// ~/.cache/docvault-wasmtime.
    #[arg(long, global = true, env = "DOCVAULT_CACHE_DIR", value_name = "DIR")]
    pub(crate) cache_dir: Option<PathBuf>,
    /// Compile the module on every run.
    #[arg(long, global = true)]
    pub(crate) no_cache: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Back up a directory (or a generated day) into a local directory or s3://bucket/prefix.
    #[command(after_help = EXIT_CODES)]
    Backup(Box<BackupArgs>),
    /// Verify a local backup set (the guest re-hashes every stored document; read-only grant).
    #[command(after_help = EXIT_CODES)]
    Verify(VerifyArgs),
    /// Restore a day, or one document, from a local backup set (read-only grant).
    #[command(after_help = EXIT_CODES)]
    Restore(RestoreArgs),
    /// Delete the days of an s3:// backup that a retention policy no longer keeps, every
    /// version for good (for buckets without lifecycle rules; shows what it would delete unless
    /// --yes). For a local backup set use `docvault prune`.
    #[command(after_help = EXIT_CODES)]
    Prune(PruneArgs),
    /// Commit a day backed up in shards (`backup --shard I/N`): join every shard's part into
    /// the day's manifest, written last and create-only; when a shard's part is missing or
    /// altered, record its documents as failed in an incomplete-run report instead.
    #[command(after_help = EXIT_CODES)]
    Commit(CommitArgs),
    /// Put a day of an s3:// backup on legal hold (--on), or release it (--off): every object
    /// of the day, then a record beside its manifest. The bucket needs Object Lock enabled.
    Hold(HoldArgs),
    /// Run the guest with any arguments and explicit grants, as `wasmtime run` would, with the
    /// runner's limits: e.g. `run -- manifest --generate 500 --date 2026-11-27 --at ...`.
    #[command(after_help = EXIT_CODES)]
    Run(RunArgs),
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("input").required(true).args(["source", "generate"])))]
pub(crate) struct BackupArgs {
    /// A local directory, or s3://BUCKET[/PREFIX].
    #[arg(long, value_name = "DIR|S3URL")]
    pub(crate) dest: String,
    /// Directory to back up (granted to the guest read-only).
    #[arg(long, value_name = "DIR")]
    pub(crate) source: Option<PathBuf>,
    /// Back up the synthetic day of N documents.
    #[arg(long, value_name = "N")]
    pub(crate) generate: Option<u64>,
    /// Generator seed (with --generate).
    #[arg(long, default_value_t = 0)]
    pub(crate) seed: u64,
    /// The day, YYYY-MM-DD (default: the UTC day of --at).
    #[arg(long)]
    pub(crate) date: Option<BackupDate>,
    /// Backup time, RFC 3339 (default: now; the runner reads its clock once and passes it in).
    #[arg(long, value_name = "RFC3339")]
    pub(crate) at: Option<Timestamp>,
    /// Deployment environment (manifest, tags, metric dimension).
    #[arg(long = "env", default_value = "prod")]
    pub(crate) environment: String,
    /// Run id (manifest; name of an incomplete-run report).
    #[arg(long)]
    pub(crate) run_id: Option<String>,
    /// Print the result as JSON on stdout.
    #[arg(long)]
    pub(crate) json: bool,
    /// Read and hash everything, print the plan, write nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// No progress lines on stderr.
    #[arg(long, short)]
    pub(crate) quiet: bool,
    /// s3:// destinations: files larger than this go up as multipart uploads (5 MiB to 5 GiB).
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MULTIPART_THRESHOLD,
          value_parser = clap::value_parser!(u64).range(MIN_PART_SIZE..=MAX_SINGLE_PUT))]
    pub(crate) multipart_threshold: u64,
    /// s3:// destinations: the size of each part of a multipart upload (5 MiB to 5 GiB).
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_PART_SIZE,
          value_parser = clap::value_parser!(u64).range(MIN_PART_SIZE..=MAX_SINGLE_PUT))]
    pub(crate) part_size: u64,
    /// s3:// destinations: back up only shard I (from 0) of N, for a day spread over N
    /// workers (a Kubernetes Indexed Job, a batch system): every worker plans the same split
    /// of the source, the first one's plan is kept, and each stores its shard's documents and
    /// a part; `commit` then writes the day's manifest. Every worker needs the same source,
    /// N and retention flags.
    #[arg(long, value_name = "I/N", conflicts_with = "dry_run")]
    pub(crate) shard: Option<ShardOf>,
    #[command(flatten)]
    pub(crate) retention: RetentionArgs,
    #[command(flatten)]
    pub(crate) s3: S3Args,
    #[command(flatten)]
    pub(crate) metrics: MetricsArgs,
}

/// `--shard I/N`: shard I (0 to N-1) of N.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ShardOf {
    pub(crate) index: u32,
    pub(crate) count: u32,
}

impl std::str::FromStr for ShardOf {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let usage = || {
            format!(
                "`{s}` is not I/N: give the shard index from 0 and the number of shards, \
                 e.g. 0/4 (N at most {})",
                docvault_core::shard::plan::MAX_SHARDS
            )
        };
        let (i, n) = s.split_once('/').ok_or_else(usage)?;
        let index: u32 = i.trim().parse().map_err(|_| usage())?;
        let count: u32 = n.trim().parse().map_err(|_| usage())?;
        if count == 0 || index >= count || count > docvault_core::shard::plan::MAX_SHARDS {
            return Err(usage());
        }
        Ok(Self { index, count })
    }
}

#[derive(Debug, Args)]
pub(crate) struct CommitArgs {
    /// The backup: s3://BUCKET[/PREFIX].
    #[arg(long, value_name = "S3URL")]
    pub(crate) dest: String,
    /// The day, YYYY-MM-DD.
    #[arg(long)]
    pub(crate) date: BackupDate,
    /// A day of more documents than N is written as a manifest in parts of N documents (a
    /// root `manifest.json` listing its parts).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_PART_DOCUMENTS,
          value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    pub(crate) part_documents: u64,
    /// Print the result as JSON on stdout.
    #[arg(long)]
    pub(crate) json: bool,
    #[command(flatten)]
    pub(crate) s3: S3Args,
}

#[derive(Debug, Args)]
pub(crate) struct PruneArgs {
    /// The backup: s3://BUCKET[/PREFIX].
    #[arg(long, value_name = "S3URL")]
    pub(crate) dest: String,
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
    /// The day to decide on, YYYY-MM-DD (default: today, UTC).
    #[arg(long)]
    pub(crate) today: Option<BackupDate>,
    /// Delete. Without it, only print what would be deleted.
    #[arg(long)]
    pub(crate) yes: bool,
    /// Print the result as JSON on stdout.
    #[arg(long)]
    pub(crate) json: bool,
    /// Deployment environment (the tag of the day's lease while it is deleted).
    #[arg(long = "env", default_value = "prod")]
    pub(crate) environment: String,
    #[command(flatten)]
    pub(crate) s3: S3Args,
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("state").required(true).args(["on", "off"])))]
pub(crate) struct HoldArgs {
    /// The backup: s3://BUCKET[/PREFIX].
    #[arg(long, value_name = "S3URL")]
    pub(crate) dest: String,
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
    /// Deployment environment (the hold record's tag).
    #[arg(long = "env", default_value = "prod")]
    pub(crate) environment: String,
    /// Print the result as JSON on stdout.
    #[arg(long)]
    pub(crate) json: bool,
    #[command(flatten)]
    pub(crate) s3: S3Args,
}

/// How long the day is kept, and its S3 Object Lock (s3:// destinations).
#[derive(Debug, Args)]
pub(crate) struct RetentionArgs {
    /// Keep the last N daily backups (1 to 3650). Setting it records the day's retention class
    /// and retain-until in the manifest and tags every object with its class.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=i64::from(RetentionPolicy::MAX_DAILY)))]
    pub(crate) keep_daily: Option<u32>,
    /// Keep one backup from each of the last N weeks (0 to 520).
    #[arg(long, value_name = "N", default_value_t = 0, requires = "keep_daily",
          value_parser = clap::value_parser!(u32).range(0..=i64::from(RetentionPolicy::MAX_WEEKLY)))]
    pub(crate) keep_weekly: u32,
    /// Keep one backup from each of the last N months (0 to 1200).
    #[arg(long, value_name = "N", default_value_t = 0, requires = "keep_daily",
          value_parser = clap::value_parser!(u32).range(0..=i64::from(RetentionPolicy::MAX_MONTHLY)))]
    pub(crate) keep_monthly: u32,
    /// Keep one backup from each of the last N years (0 to 100).
    #[arg(long, value_name = "N", default_value_t = 0, requires = "keep_daily",
          value_parser = clap::value_parser!(u32).range(0..=i64::from(RetentionPolicy::MAX_YEARLY)))]
    pub(crate) keep_yearly: u32,
    /// The weekday whose backup is the week's weekly.
    #[arg(long, value_name = "DAY", default_value_t = Weekday::Sunday, requires = "keep_daily")]
    pub(crate) weekly_on: Weekday,
    /// S3 Object Lock for every object of the day, until its retention ends: none, governance,
    /// or compliance (cannot be shortened or removed by anyone, the account root included).
    /// The bucket must have Object Lock enabled.
    #[arg(long, value_name = "MODE", default_value_t = LockMode::None, requires = "keep_daily")]
    pub(crate) lock: LockMode,
}

impl RetentionArgs {
    /// The configured retention, if any.
    ///
    /// # Errors
    /// A count out of its range (clap checks them first).
    pub(crate) fn retention(&self) -> Result<Option<Retention>, RetentionError> {
        let Some(keep_daily) = self.keep_daily else {
            return Ok(None);
        };
        let policy = RetentionPolicy::new(
            keep_daily,
            self.keep_weekly,
            self.keep_monthly,
            self.keep_yearly,
            self.weekly_on,
        )?;
        Ok(Some(Retention {
            policy,
            lock: self.lock,
        }))
    }
}

#[derive(Debug, Args)]
pub(crate) struct S3Args {
    /// S3 endpoint (an S3-compatible on-prem store). Default: AWS, or $AWS_ENDPOINT_URL.
    #[arg(long, value_name = "URL")]
    pub(crate) endpoint_url: Option<String>,
    /// Region.
    #[arg(long, env = "AWS_REGION", default_value = "us-east-1")]
    pub(crate) region: String,
    /// Path-style addressing (most S3-compatible stores).
    #[arg(long)]
    pub(crate) path_style: bool,
    /// KMS key. backup: SSE-KMS on every object (required with s3://; `none` for a store
    /// without KMS). verify: the key every object must be encrypted with (unchecked if absent).
    #[arg(long, value_name = "KEY|none")]
    pub(crate) kms_key_id: Option<String>,
    /// Uploads in flight.
    #[arg(long, default_value_t = 16)]
    pub(crate) concurrency: usize,
    /// Attempts per request (exponential backoff) before a document counts as failed.
    #[arg(long, default_value_t = 4)]
    pub(crate) max_attempts: u32,
}

#[derive(Debug, Args)]
pub(crate) struct MetricsArgs {
    /// Write the run's metrics to FILE: Prometheus text if it ends in .prom, else JSON.
    #[arg(long, value_name = "FILE", conflicts_with = "cloudwatch_metrics")]
    pub(crate) metrics_file: Option<PathBuf>,
    /// Send the run's metrics to CloudWatch (PutMetricData).
    #[arg(long)]
    pub(crate) cloudwatch_metrics: bool,
    /// Metrics namespace.
    #[arg(long, default_value = "BackupSystem")]
    pub(crate) namespace: String,
}

#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// Backup root: a local directory (the guest re-hashes every stored document), or
    /// s3://BUCKET[/PREFIX] (S3's stored checksums, no downloads).
    #[arg(long, value_name = "DIR|S3URL")]
    pub(crate) dest: String,
    /// The day, YYYY-MM-DD.
    #[arg(long)]
    pub(crate) date: BackupDate,
    /// With s3://: also download and re-hash this fraction of the documents (0 to 1), chosen
    /// from the manifest alone, so the same check repeats exactly.
    #[arg(long, value_name = "FRACTION", default_value_t = 0.0)]
    pub(crate) read_data: f64,
    /// With s3://: count objects S3 keeps no SHA-256 for (and that were not read) as problems.
    /// Without it they are listed as unverified: copied by a tool that sent no checksum, they
    /// verify by reading them back (--read-data 1).
    #[arg(long)]
    pub(crate) require_stored_checksums: bool,
    /// Deployment environment (the metric dimension).
    #[arg(long = "env", default_value = "prod")]
    pub(crate) environment: String,
    /// Print the report as JSON.
    #[arg(long)]
    pub(crate) json: bool,
    /// No progress lines.
    #[arg(long, short)]
    pub(crate) quiet: bool,
    #[command(flatten)]
    pub(crate) s3: S3Args,
    #[command(flatten)]
    pub(crate) metrics: MetricsArgs,
}

#[derive(Debug, Args)]
pub(crate) struct RestoreArgs {
    /// Backup root: a local directory (read-only grant) or s3://BUCKET[/PREFIX].
    #[arg(long, value_name = "DIR|S3URL")]
    pub(crate) dest: String,
    /// The day, YYYY-MM-DD.
    #[arg(long)]
    pub(crate) date: BackupDate,
    /// Directory to restore into (created if missing; the only directory the guest may write).
    #[arg(long, value_name = "OUT")]
    pub(crate) to: PathBuf,
    /// Restore only this document.
    #[arg(long, value_name = "ID")]
    pub(crate) document: Option<String>,
    /// Replace files that exist in OUT.
    #[arg(long)]
    pub(crate) overwrite: bool,
    /// Print the result as JSON.
    #[arg(long)]
    pub(crate) json: bool,
    /// No progress lines.
    #[arg(long, short)]
    pub(crate) quiet: bool,
    #[command(flatten)]
    pub(crate) s3: S3Args,
}

#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// Grant a directory: HOST::GUEST (read-write) or HOST::GUEST::ro (read-only).
    #[arg(long = "dir", value_name = "HOST::GUEST[::ro]")]
    pub(crate) dirs: Vec<String>,
    /// The guest's arguments.
    #[arg(last = true)]
    pub(crate) args: Vec<String>,
}
