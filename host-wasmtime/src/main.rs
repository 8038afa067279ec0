//! `docvault-wasmtime`: the docvault guest in an embedded wasmtime sandbox, plus S3 uploads and
//! metrics. See the crate docs (`lib.rs`) and the README's "Sandboxed runs" section.

use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{ArgGroup, Args, Parser, Subcommand};
use docvault_core::{Encryption, Manifest, MetricSet, PlanOptions, RunOutcome, Timestamp};
use docvault_lambda::executor::{BackupError, BackupOutcome, ExecuteOptions, execute};
use docvault_lambda::metrics::MetricsSink;
use docvault_lambda::restore::RestoreError;
use docvault_lambda::source::{
    DEFAULT_MULTIPART_THRESHOLD, DEFAULT_PART_SIZE, MAX_SINGLE_PUT, MIN_PART_SIZE,
};
use docvault_lambda::store::S3Store;
use docvault_lambda::verify::{Verification, VerifyError, VerifyOptions, verify_day};
use docvault_wasmtime::metrics::{MetricsTarget, write_file};
use docvault_wasmtime::remote::{Bodies, FileReading, S3Url, header_of, incoming};
use docvault_wasmtime::restore::restore_day;
use docvault_wasmtime::sandbox::{Guest, GuestRun, Limits, Preopen, SandboxError, Stdout};
use serde_json::{Value, json};

const EXIT_CODES: &str = "Exit codes: 0 success; 1 a check failed (incomplete backup, \
verification problems, a tampered document, a restore target that exists); 2 bad usage; 3 an \
I/O or storage error; 4 the sandbox stopped the guest (time or memory limit, trap) or could not \
load it.";

/// Exit code when the sandbox, not the guest, ended the run.
const EXIT_SANDBOX: u8 = 4;

/// Most bytes of guest stdout the runner keeps (a manifest of a million documents is ~450 MB).
const CAPTURE_LIMIT: usize = 1 << 30;

#[derive(Debug, Parser)]
#[command(
    name = "docvault-wasmtime",
    version,
    about = "Runs docvault in a wasmtime sandbox: only the granted directories, no network, \
             memory and time limits; adds S3 destinations and metrics",
    after_help = EXIT_CODES
)]
struct Cli {
    #[command(flatten)]
    sandbox: SandboxArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Args)]
struct SandboxArgs {
    /// The guest module (docvault-cli built for wasm32-wasip1). Default: docvault.wasm next to
    /// this program.
    #[arg(long, global = true, env = "DOCVAULT_WASM", value_name = "FILE")]
    wasm: Option<PathBuf>,
    /// The guest's memory limit.
    #[arg(long, global = true, default_value_t = 512, value_name = "MIB")]
    memory_mib: usize,
    /// The guest's wall-clock limit; 0: none (the guest is then compiled without the checks a
    /// limit needs, and its manifest work runs faster: for trusted batch runs).
    #[arg(long, global = true, default_value_t = 3600, value_name = "SECONDS")]
    timeout: u64,
    /// Where compiled modules are cached. Default: $XDG_CACHE_HOME/docvault-wasmtime or
    /// ~/.cache/docvault-wasmtime.
    #[arg(long, global = true, env = "DOCVAULT_CACHE_DIR", value_name = "DIR")]
    cache_dir: Option<PathBuf>,
    /// Compile the module on every run.
    #[arg(long, global = true)]
    no_cache: bool,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Back up a directory (or a generated day) into a local directory or s3://bucket/prefix.
    #[command(after_help = EXIT_CODES)]
    Backup(Box<BackupArgs>),
    /// Verify a local backup set (the guest re-hashes every stored document; read-only grant).
    #[command(after_help = EXIT_CODES)]
    Verify(VerifyArgs),
    /// Restore a day, or one document, from a local backup set (read-only grant).
    #[command(after_help = EXIT_CODES)]
    Restore(RestoreArgs),
    /// Run the guest with any arguments and explicit grants, as `wasmtime run` would, with the
    /// runner's limits: e.g. `run -- manifest --generate 500 --date 2026-11-27 --at ...`.
    #[command(after_help = EXIT_CODES)]
    Run(RunArgs),
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("input").required(true).args(["source", "generate"])))]
struct BackupArgs {
    /// A local directory, or s3://BUCKET[/PREFIX].
    #[arg(long, value_name = "DIR|S3URL")]
    dest: String,
    /// Directory to back up (granted to the guest read-only).
    #[arg(long, value_name = "DIR")]
    source: Option<PathBuf>,
    /// Back up the synthetic day of N documents.
    #[arg(long, value_name = "N")]
    generate: Option<u64>,
    /// Generator seed (with --generate).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// The day, YYYY-MM-DD (default: the UTC day of --at).
    #[arg(long)]
    date: Option<String>,
    /// Backup time, RFC 3339 (default: now; the runner reads its clock once and passes it in).
    #[arg(long, value_name = "RFC3339")]
    at: Option<String>,
    /// Deployment environment (manifest, tags, metric dimension).
    #[arg(long = "env", default_value = "prod")]
    environment: String,
    /// Run id (manifest; name of an incomplete-run report).
    #[arg(long)]
    run_id: Option<String>,
    /// Print the result as JSON on stdout.
    #[arg(long)]
    json: bool,
    /// Read and hash everything, print the plan, write nothing.
    #[arg(long)]
    dry_run: bool,
    /// No progress lines on stderr.
    #[arg(long, short)]
    quiet: bool,
    /// s3:// destinations: files larger than this go up as multipart uploads (5 MiB to 5 GiB).
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MULTIPART_THRESHOLD,
          value_parser = clap::value_parser!(u64).range(MIN_PART_SIZE..=MAX_SINGLE_PUT))]
    multipart_threshold: u64,
    /// s3:// destinations: the size of each part of a multipart upload (5 MiB to 5 GiB).
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_PART_SIZE,
          value_parser = clap::value_parser!(u64).range(MIN_PART_SIZE..=MAX_SINGLE_PUT))]
    part_size: u64,
    #[command(flatten)]
    s3: S3Args,
    #[command(flatten)]
    metrics: MetricsArgs,
}

#[derive(Debug, Args)]
struct S3Args {
    /// S3 endpoint (an S3-compatible on-prem store). Default: AWS, or $AWS_ENDPOINT_URL.
    #[arg(long, value_name = "URL")]
    endpoint_url: Option<String>,
    /// Region.
    #[arg(long, env = "AWS_REGION", default_value = "us-east-1")]
    region: String,
    /// Path-style addressing (most S3-compatible stores).
    #[arg(long)]
    path_style: bool,
    /// KMS key. backup: SSE-KMS on every object (required with s3://; `none` for a store
    /// without KMS). verify: the key every object must be encrypted with (unchecked if absent).
    #[arg(long, value_name = "KEY|none")]
    kms_key_id: Option<String>,
    /// Uploads in flight.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Attempts per request (exponential backoff) before a document counts as failed.
    #[arg(long, default_value_t = 4)]
    max_attempts: u32,
}

#[derive(Debug, Args)]
struct MetricsArgs {
    /// Write the run's metrics to FILE: Prometheus text if it ends in .prom, else JSON.
    #[arg(long, value_name = "FILE", conflicts_with = "cloudwatch_metrics")]
    metrics_file: Option<PathBuf>,
    /// Send the run's metrics to CloudWatch (PutMetricData).
    #[arg(long)]
    cloudwatch_metrics: bool,
    /// Metrics namespace.
    #[arg(long, default_value = "BackupSystem")]
    namespace: String,
}

#[derive(Debug, Args)]
struct VerifyArgs {
    /// Backup root: a local directory (the guest re-hashes every stored document), or
    /// s3://BUCKET[/PREFIX] (S3's stored checksums, no downloads).
    #[arg(long, value_name = "DIR|S3URL")]
    dest: String,
    /// The day, YYYY-MM-DD.
    #[arg(long)]
    date: String,
    /// With s3://: also download and re-hash this fraction of the documents (0 to 1), chosen
    /// from the manifest alone, so the same check repeats exactly.
    #[arg(long, value_name = "FRACTION", default_value_t = 0.0)]
    read_data: f64,
    /// Deployment environment (the metric dimension).
    #[arg(long = "env", default_value = "prod")]
    environment: String,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// No progress lines.
    #[arg(long, short)]
    quiet: bool,
    #[command(flatten)]
    s3: S3Args,
    #[command(flatten)]
    metrics: MetricsArgs,
}

#[derive(Debug, Args)]
struct RestoreArgs {
    /// Backup root: a local directory (read-only grant) or s3://BUCKET[/PREFIX].
    #[arg(long, value_name = "DIR|S3URL")]
    dest: String,
    /// The day, YYYY-MM-DD.
    #[arg(long)]
    date: String,
    /// Directory to restore into (created if missing; the only directory the guest may write).
    #[arg(long, value_name = "OUT")]
    to: PathBuf,
    /// Restore only this document.
    #[arg(long, value_name = "ID")]
    document: Option<String>,
    /// Replace files that exist in OUT.
    #[arg(long)]
    overwrite: bool,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
    /// No progress lines.
    #[arg(long, short)]
    quiet: bool,
    #[command(flatten)]
    s3: S3Args,
}

#[derive(Debug, Args)]
struct RunArgs {
    /// Grant a directory: HOST::GUEST (read-write) or HOST::GUEST::ro (read-only).
    #[arg(long = "dir", value_name = "HOST::GUEST[::ro]")]
    dirs: Vec<String>,
    /// The guest's arguments.
    #[arg(last = true)]
    args: Vec<String>,
}

/// What ended a run, mapped to an exit code at the edge.
#[derive(Debug, thiserror::Error)]
enum Failure {
    #[error("{0}")]
    Usage(String),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },
    #[error(transparent)]
    Sandbox(#[from] SandboxError),
    #[error("{0}")]
    Storage(String),
    #[error("{0}")]
    Check(String),
    /// The guest already reported; pass its exit code on.
    #[error("the guest exited with code {0}")]
    Guest(i32),
}

impl Failure {
    fn io(context: impl Into<String>) -> impl FnOnce(io::Error) -> Self {
        let context = context.into();
        move |source| Self::Io { context, source }
    }

    fn exit_code(&self) -> u8 {
        match self {
            Self::Check(_) => 1,
            Self::Usage(_) => 2,
            Self::Io { .. } | Self::Storage(_) => 3,
            Self::Sandbox(_) => EXIT_SANDBOX,
            Self::Guest(code) => u8::try_from(*code).unwrap_or(EXIT_SANDBOX),
        }
    }
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("DOCVAULT_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(io::stderr)
        .with_ansi(io::IsTerminal::is_terminal(&io::stderr()))
        .init();
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Guest(code)) => ExitCode::from(Failure::Guest(code).exit_code()),
        Err(e) => {
            eprintln!("docvault-wasmtime: error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

fn run(cli: Cli) -> Result<(), Failure> {
    let started = Instant::now();
    let sandbox = &cli.sandbox;
    let limits = Limits {
        memory_bytes: sandbox.memory_mib.saturating_mul(1024 * 1024),
        timeout: (sandbox.timeout > 0).then(|| Duration::from_secs(sandbox.timeout)),
    };
    let guest = load_guest(sandbox)?;
    match cli.command {
        Command::Run(args) => {
            let preopens = args
                .dirs
                .iter()
                .map(|d| parse_grant(d))
                .collect::<Result<Vec<_>, _>>()?;
            let done = guest.run(&args.args, &preopens, Stdout::Inherit, limits)?;
            guest_exit(&done)
        }
        Command::Verify(args) if args.dest.starts_with("s3://") => verify_s3(&args),
        Command::Verify(args) => {
            if args.read_data != 0.0 {
                return Err(Failure::Usage(
                    "--read-data applies to s3:// destinations; a local verify re-hashes every \
                     document"
                        .into(),
                ));
            }
            let dest = existing_dir(Path::new(&args.dest), "--dest")?;
            let mut guest_args = vec!["verify", "--dest", "/dst", "--date", &args.date];
            flags(&mut guest_args, args.json, args.quiet);
            let done = guest.run(
                &owned(&guest_args),
                &[Preopen::read_only(dest, "/dst")],
                Stdout::Inherit,
                limits,
            )?;
            guest_exit(&done)
        }
        Command::Restore(args) if args.dest.starts_with("s3://") => restore_s3(&args),
        Command::Restore(args) => {
            let dest = existing_dir(Path::new(&args.dest), "--dest")?;
            std::fs::create_dir_all(&args.to)
                .map_err(Failure::io(format!("creating {}", args.to.display())))?;
            let to = existing_dir(&args.to, "--to")?;
            let mut guest_args = vec![
                "restore", "--dest", "/dst", "--date", &args.date, "--to", "/out",
            ];
            if let Some(id) = &args.document {
                guest_args.extend(["--document", id]);
            }
            if args.overwrite {
                guest_args.push("--overwrite");
            }
            flags(&mut guest_args, args.json, args.quiet);
            let done = guest.run(
                &owned(&guest_args),
                &[
                    Preopen::read_only(dest, "/dst"),
                    Preopen::read_write(to, "/out"),
                ],
                Stdout::Inherit,
                limits,
            )?;
            guest_exit(&done)
        }
        Command::Backup(args) => backup(&guest, limits, &args, started),
    }
}

fn load_guest(sandbox: &SandboxArgs) -> Result<Guest, Failure> {
    let wasm = match &sandbox.wasm {
        Some(p) => p.clone(),
        None => std::env::current_exe()
            .ok()
            .and_then(|exe| exe.parent().map(|d| d.join("docvault.wasm")))
            .filter(|p| p.is_file())
            .ok_or_else(|| {
                Failure::Usage(
                    "no guest module: pass --wasm FILE (or set DOCVAULT_WASM), or put \
                     docvault.wasm next to this program; build it with `scripts/build-wasm.sh \
                     wasip1 docvault-cli`"
                        .into(),
                )
            })?,
    };
    let cache = if sandbox.no_cache {
        None
    } else {
        sandbox.cache_dir.clone().or_else(default_cache_dir)
    };
    let guest = Guest::load(&wasm, cache.as_deref(), sandbox.timeout > 0)?;
    tracing::debug!(
        module = %wasm.display(),
        source = ?guest.source(),
        load_us = guest.load_time().as_micros(),
        "guest module ready"
    );
    Ok(guest)
}

fn default_cache_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("docvault-wasmtime"))
}

fn parse_grant(spec: &str) -> Result<Preopen, Failure> {
    let parts: Vec<&str> = spec.split("::").collect();
    let (host, guest, writable) = match parts.as_slice() {
        [host, guest] => (host, guest, true),
        [host, guest, "ro"] => (host, guest, false),
        _ => {
            return Err(Failure::Usage(format!(
                "--dir {spec:?}: expected HOST::GUEST or HOST::GUEST::ro"
            )));
        }
    };
    let host = existing_dir(Path::new(host), "--dir")?;
    Ok(Preopen {
        host,
        guest: (*guest).to_owned(),
        writable,
    })
}

fn existing_dir(path: &Path, flag: &str) -> Result<PathBuf, Failure> {
    let canonical = path
        .canonicalize()
        .map_err(Failure::io(format!("{flag} {}", path.display())))?;
    if canonical.is_dir() {
        Ok(canonical)
    } else {
        Err(Failure::Usage(format!(
            "{flag} {} is not a directory",
            path.display()
        )))
    }
}

fn owned(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| (*s).to_owned()).collect()
}

fn flags(args: &mut Vec<&str>, json: bool, quiet: bool) {
    if json {
        args.push("--json");
    }
    if quiet {
        args.push("--quiet");
    }
}

fn guest_exit(done: &GuestRun) -> Result<(), Failure> {
    match done.exit_code {
        0 => Ok(()),
        code => Err(Failure::Guest(code)),
    }
}

fn backup(
    guest: &Guest,
    limits: Limits,
    args: &BackupArgs,
    started: Instant,
) -> Result<(), Failure> {
    // The clock, read once; the guest gets the time as an argument.
    let at = match &args.at {
        Some(at) => at.clone(),
        None => Timestamp::from(time::OffsetDateTime::now_utc())
            .truncate_to_seconds()
            .to_string(),
    };
    let source = match &args.source {
        Some(dir) => Some(existing_dir(dir, "--source")?),
        None => None,
    };
    let count = args.generate.map(|n| n.to_string());
    let seed = args.seed.to_string();
    let mut input: Vec<&str> = match (&source, &count) {
        (Some(_), _) => vec!["--source", "/src"],
        (None, Some(n)) => vec!["--generate", n, "--seed", &seed],
        (None, None) => unreachable!("clap requires --source or --generate"),
    };
    input.extend(["--at", &at, "--env", &args.environment]);
    if let Some(date) = &args.date {
        input.extend(["--date", date]);
    }
    if let Some(id) = &args.run_id {
        input.extend(["--run-id", id]);
    }
    let mut preopens: Vec<Preopen> = source
        .iter()
        .map(|s| Preopen::read_only(s, "/src"))
        .collect();

    if args.dest.starts_with("s3://") {
        let url: S3Url = args
            .dest
            .parse()
            .map_err(|e: docvault_wasmtime::remote::S3UrlError| Failure::Usage(e.to_string()))?;
        return backup_to_s3(
            guest, limits, args, &input, &preopens, source, &url, started,
        );
    }

    // A local destination: the guest writes the backup set itself, through a read-write grant.
    let dest = Path::new(&args.dest);
    std::fs::create_dir_all(dest).map_err(Failure::io(format!("creating {}", dest.display())))?;
    let dest = existing_dir(dest, "--dest")?;
    if let Some(src) = &source
        && (dest.starts_with(src) || src.starts_with(&dest))
    {
        // Inside the sandbox both look unrelated (/src, /dst): check on the host.
        return Err(Failure::Usage(format!(
            "the destination {} and the source {} overlap: each backup would copy the earlier \
             ones; choose a destination outside the source",
            dest.display(),
            src.display()
        )));
    }
    preopens.push(Preopen::read_write(dest, "/dst"));
    let mut guest_args = vec!["backup"];
    guest_args.extend(&input);
    guest_args.extend(["--dest", "/dst"]);
    if args.quiet {
        guest_args.push("--quiet");
    }
    if args.dry_run {
        guest_args.push("--dry-run");
        flags(&mut guest_args, args.json, false);
        let done = guest.run(&owned(&guest_args), &preopens, Stdout::Inherit, limits)?;
        return guest_exit(&done);
    }
    // The guest reports as JSON; the runner keeps it for the metrics and prints it as asked.
    guest_args.push("--json");
    let done = guest.run(
        &owned(&guest_args),
        &preopens,
        Stdout::Capture {
            capacity: CAPTURE_LIMIT,
        },
        limits,
    )?;
    let report: Value = serde_json::from_slice(&done.stdout).map_err(|e| {
        Failure::Check(format!(
            "the guest (exit {}) printed no report: {e}",
            done.exit_code
        ))
    })?;
    let failed = report["failed"].as_array().map_or(0, Vec::len) as u64;
    let outcome = RunOutcome {
        success: done.exit_code == 0,
        documents: report["documents"].as_u64().unwrap_or(0),
        bytes: report["bytes"].as_u64().unwrap_or(0),
        failed,
    };
    send_metrics(args, outcome, &at, started, None)?;
    if args.json {
        print_json(&report)?;
    } else {
        let mut text = format!(
            "backup of {} {}: {} documents ({} bytes) in {}, {failed} failed\n",
            report["date"].as_str().unwrap_or("?"),
            report["status"].as_str().unwrap_or("?"),
            outcome.documents,
            outcome.bytes,
            args.dest
        );
        if let Some(key) = report["manifest_key"].as_str() {
            text.push_str(&format!("manifest: {key}\n"));
        }
        if let Some(key) = report["report_key"].as_str() {
            text.push_str(&format!("incomplete-run report: {key}\n"));
        }
        print_text(&text)?;
    }
    guest_exit(&done)
}

#[allow(clippy::too_many_arguments)]
fn backup_to_s3(
    guest: &Guest,
    limits: Limits,
    args: &BackupArgs,
    input: &[&str],
    preopens: &[Preopen],
    source: Option<PathBuf>,
    url: &S3Url,
    started: Instant,
) -> Result<(), Failure> {
    let Some(kms) = &args.s3.kms_key_id else {
        return Err(Failure::Usage(
            "an s3:// destination needs --kms-key-id KEY (the key ARN or id for SSE-KMS), or \
             --kms-key-id none for a store without KMS"
                .into(),
        ));
    };
    let encryption = if kms == "none" {
        Encryption::None
    } else {
        Encryption::Kms {
            key_id: Some(kms.clone()),
        }
    };
    // 1. The guest scans: reads and hashes every document in the sandbox, prints the manifest.
    let mut guest_args = vec!["manifest"];
    guest_args.extend(input);
    let scan = guest.run(
        &owned(&guest_args),
        preopens,
        Stdout::Capture {
            capacity: CAPTURE_LIMIT,
        },
        limits,
    )?;
    if scan.exit_code > 1 {
        return Err(Failure::Guest(scan.exit_code));
    }
    let text = std::str::from_utf8(&scan.stdout)
        .map_err(|e| Failure::Check(format!("the guest's manifest is not UTF-8: {e}")))?;
    let manifest = Manifest::from_json(text)
        .map_err(|e| Failure::Check(format!("the guest's manifest is invalid: {e}")))?;
    let bodies = match source {
        Some(dir) => Bodies::Directory(
            dir,
            FileReading {
                multipart_threshold: args.multipart_threshold,
                part_size: args.part_size,
                ..FileReading::default()
            },
        ),
        None => Bodies::Generated,
    };
    let options = PlanOptions::new(&url.prefix, manifest.environment.clone(), encryption)
        .map_err(|e| Failure::Usage(e.to_string()))?;

    if args.dry_run {
        let plan: Vec<Value> = manifest
            .documents
            .iter()
            .map(|d| {
                json!({
                    "key": format!("{}{}", url.prefix, d.object_key),
                    "size": d.file_size,
                    "checksum": d.checksum.to_string(),
                })
            })
            .collect();
        let value = json!({
            "command": "backup",
            "dry_run": true,
            "dest": url.to_string(),
            "documents": plan,
            "then": format!("{}{}", url.prefix, docvault_core::Layout::new(manifest.backup_date).manifest_key()),
            "failed": manifest.failed_documents,
        });
        return if args.json {
            print_json(&value)
        } else {
            let mut text = String::new();
            for d in &plan {
                text.push_str(&format!(
                    "put {} ({} bytes, {})\n",
                    d["key"].as_str().unwrap_or_default(),
                    d["size"],
                    d["checksum"].as_str().unwrap_or_default()
                ));
            }
            text.push_str(&format!(
                "then put {} (create-only) to {}\n",
                value["then"].as_str().unwrap_or_default(),
                url
            ));
            print_text(&text)
        };
    }

    // 2. The runner uploads: bodies read on the host, checked against the scan, streamed to S3.
    let runtime = runtime_for_io()?;
    let store = s3_store(&runtime, &args.s3, &url.bucket);
    let result = runtime.block_on(async {
        let exec = ExecuteOptions {
            concurrency: args.s3.concurrency.max(1),
            max_attempts: args.s3.max_attempts.max(1),
        };
        let documents = incoming(&manifest, bodies);
        execute(&store, header_of(&manifest), options, documents, &exec).await
    });
    let outcome = match &result {
        Ok(o) => RunOutcome::of(o.manifest()),
        Err(BackupError::Fatal { stored, failed, .. }) => RunOutcome {
            success: false,
            documents: *stored,
            bytes: 0,
            failed: *failed,
        },
        Err(_) => RunOutcome::aborted(),
    };
    send_metrics(
        args,
        outcome,
        &manifest.backup_timestamp.to_string(),
        started,
        Some(&runtime),
    )?;
    let outcome = result.map_err(|e| Failure::Storage(e.to_string()))?;
    let m = outcome.manifest();
    let t = outcome.transfer();
    let (status, key) = match &outcome {
        BackupOutcome::Completed { manifest_key, .. } => ("complete", Some(manifest_key.clone())),
        BackupOutcome::AlreadyComplete { manifest_key, .. } => {
            ("already-complete", Some(manifest_key.clone()))
        }
        BackupOutcome::Incomplete { report_key, .. } => ("incomplete", report_key.clone()),
    };
    let value = json!({
        "command": "backup",
        "dest": url.to_string(),
        "date": m.backup_date.to_string(),
        "status": status,
        "documents": m.total_documents,
        "bytes": m.backup_summary.total_size_bytes,
        "uploaded": t.uploaded,
        "already_stored": t.already_stored,
        "replaced": t.replaced,
        "bytes_uploaded": t.bytes_uploaded,
        "failed": m.failed_documents,
        "manifest_key": (status != "incomplete").then(|| key.clone()),
        "report_key": (status == "incomplete").then_some(key),
    });
    if args.json {
        print_json(&value)?;
    } else {
        let mut text = format!(
            "backup of {} to {url} {status}: {} documents ({} bytes); {} uploaded, {} already \
             stored, {} replaced; {} failed\n",
            m.backup_date,
            m.total_documents,
            m.backup_summary.total_size_bytes,
            t.uploaded,
            t.already_stored,
            t.replaced,
            m.total_failed
        );
        for f in &m.failed_documents {
            text.push_str(&format!(
                "  failed {} ({:?}): {}\n",
                f.document_id, f.stage, f.reason
            ));
        }
        print_text(&text)?;
    }
    if status == "incomplete" {
        Err(Failure::Check(format!(
            "the backup of {} is incomplete: {} documents failed; no manifest was written. Fix \
             them and rerun to complete the day",
            m.backup_date, m.total_failed
        )))
    } else {
        Ok(())
    }
}

async fn sdk_config(s3: &S3Args) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(s3.region.clone()))
        .retry_config(
            aws_config::retry::RetryConfig::standard().with_max_attempts(s3.max_attempts.max(1)),
        );
    if let Some(url) = &s3.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    loader.load().await
}

fn send_metrics(
    args: &BackupArgs,
    outcome: RunOutcome,
    at: &str,
    started: Instant,
    runtime: Option<&tokio::runtime::Runtime>,
) -> Result<(), Failure> {
    if args.metrics.target().is_none() {
        return Ok(());
    }
    let timestamp: Timestamp = at
        .parse()
        .map_err(|e| Failure::Usage(format!("--at {at:?}: {e}")))?;
    let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let set = MetricSet::for_run(
        &args.metrics.namespace,
        &label(&args.environment)?,
        timestamp,
        outcome,
        Some(duration_ms),
    );
    deliver(&args.metrics, &args.s3, &set, runtime)
}

fn label(environment: &str) -> Result<docvault_core::Label, Failure> {
    environment
        .parse()
        .map_err(|e| Failure::Usage(format!("--env {environment:?}: {e}")))
}

impl MetricsArgs {
    fn target(&self) -> Option<MetricsTarget> {
        match (&self.metrics_file, self.cloudwatch_metrics) {
            (Some(path), _) => Some(MetricsTarget::File(path.clone())),
            (None, true) => Some(MetricsTarget::CloudWatch),
            (None, false) => None,
        }
    }
}

/// Sends `set` where the flags say. CloudWatch delivery errors are logged, never fatal.
fn deliver(
    metrics: &MetricsArgs,
    s3: &S3Args,
    set: &MetricSet,
    runtime: Option<&tokio::runtime::Runtime>,
) -> Result<(), Failure> {
    match metrics.target() {
        None => Ok(()),
        Some(MetricsTarget::File(path)) => {
            write_file(set, &path).map_err(Failure::io(format!("writing {}", path.display())))
        }
        Some(MetricsTarget::CloudWatch) => {
            let owned;
            let runtime = match runtime {
                Some(r) => r,
                None => {
                    owned = runtime_for_io()?;
                    &owned
                }
            };
            runtime.block_on(async {
                let sdk = sdk_config(s3).await;
                MetricsSink::PutMetricData(aws_sdk_cloudwatch::Client::new(&sdk))
                    .send(set)
                    .await;
            });
            Ok(())
        }
    }
}

fn runtime_for_io() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(Failure::io("starting the async runtime"))
}

fn s3_store(runtime: &tokio::runtime::Runtime, s3: &S3Args, bucket: &str) -> S3Store {
    runtime.block_on(async {
        let sdk = sdk_config(s3).await;
        let client = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&sdk)
                .force_path_style(s3.path_style)
                .build(),
        );
        S3Store::new(client, bucket.to_owned())
    })
}

fn verify_s3(args: &VerifyArgs) -> Result<(), Failure> {
    let url: S3Url = args
        .dest
        .parse()
        .map_err(|e: docvault_wasmtime::remote::S3UrlError| Failure::Usage(e.to_string()))?;
    let date: docvault_core::BackupDate = args
        .date
        .parse()
        .map_err(|e| Failure::Usage(format!("--date {:?}: {e}", args.date)))?;
    if !(0.0..=1.0).contains(&args.read_data) {
        return Err(Failure::Usage(
            "--read-data takes a fraction from 0 to 1".into(),
        ));
    }
    let expected = match args.s3.kms_key_id.as_deref() {
        None | Some("none") => Encryption::None,
        Some(key) => Encryption::Kms {
            key_id: Some(key.to_owned()),
        },
    };
    let environment = label(&args.environment)?;
    let runtime = runtime_for_io()?;
    let store = s3_store(&runtime, &args.s3, &url.bucket);
    let options = VerifyOptions {
        prefix: url.prefix.clone(),
        date,
        expected: expected.clone(),
        read_fraction: args.read_data,
        concurrency: args.s3.concurrency.max(1),
    };
    let result = runtime.block_on(verify_day(&store, &options));
    // A day that cannot be verified at all counts as one failure: the alarm must see it.
    let (problems, verified) = match &result {
        Ok(v) => (v.problems(), v.report.verified),
        Err(_) => (1, 0),
    };
    let now = Timestamp::from(time::OffsetDateTime::now_utc()).truncate_to_seconds();
    let set = MetricSet::for_verification(
        &args.metrics.namespace,
        &environment,
        now,
        problems,
        verified,
    );
    deliver(&args.metrics, &args.s3, &set, Some(&runtime))?;
    let v = result.map_err(|e| match e {
        VerifyError::NoManifest { .. } | VerifyError::CorruptManifest { .. } => {
            Failure::Check(e.to_string())
        }
        VerifyError::Store(e) => Failure::Storage(e.to_string()),
    })?;
    if args.json {
        let mut value = serde_json::to_value(&v)
            .map_err(|e| Failure::Check(format!("serializing the report: {e}")))?;
        value["command"] = json!("verify");
        value["dest"] = json!(url.to_string());
        value["date"] = json!(date.to_string());
        value["clean"] = json!(v.problems() == 0);
        value["problems"] = json!(v.problems());
        value["encryption_checked"] = json!(expected != Encryption::None);
        print_json(&value)?;
    } else {
        print_text(&verify_text(&url, date, &v, &expected))?;
    }
    if v.problems() == 0 {
        Ok(())
    } else {
        Err(Failure::Check(format!(
            "verify of {date} in {url} found {} problems",
            v.problems()
        )))
    }
}

fn restore_s3(args: &RestoreArgs) -> Result<(), Failure> {
    let url: S3Url = args
        .dest
        .parse()
        .map_err(|e: docvault_wasmtime::remote::S3UrlError| Failure::Usage(e.to_string()))?;
    let date: docvault_core::BackupDate = args
        .date
        .parse()
        .map_err(|e| Failure::Usage(format!("--date {:?}: {e}", args.date)))?;
    std::fs::create_dir_all(&args.to)
        .map_err(Failure::io(format!("creating {}", args.to.display())))?;
    let to = existing_dir(&args.to, "--to")?;
    let runtime = runtime_for_io()?;
    let store = s3_store(&runtime, &args.s3, &url.bucket);
    let report = runtime
        .block_on(restore_day(
            &store,
            &url.prefix,
            date,
            &to,
            args.document.as_deref(),
            args.overwrite,
            args.s3.concurrency,
        ))
        .map_err(|e| match e {
            RestoreError::Store(e) => Failure::Storage(e.to_string()),
            other => Failure::Check(other.to_string()),
        })?;
    if args.json {
        let mut value = serde_json::to_value(&report)
            .map_err(|e| Failure::Check(format!("serializing the report: {e}")))?;
        value["command"] = json!("restore");
        value["date"] = json!(date.to_string());
        value["from"] = json!(url.to_string());
        value["to"] = json!(to.display().to_string());
        print_json(&value)?;
    } else {
        let mut text = format!(
            "restore of {date} from {url} into {}: {} of {} documents ({} bytes), every \
             checksum checked\n",
            to.display(),
            report.restored,
            report.requested,
            report.bytes
        );
        for f in &report.failed {
            text.push_str(&format!(
                "  not restored {} ({}): {}\n",
                f.key, f.kind, f.error
            ));
        }
        print_text(&text)?;
    }
    if report.failed.is_empty() {
        Ok(())
    } else {
        Err(Failure::Check(format!(
            "{} of {} documents of {date} were not restored",
            report.failed.len(),
            report.requested
        )))
    }
}

fn verify_text(
    url: &S3Url,
    date: docvault_core::BackupDate,
    v: &Verification,
    expected: &Encryption,
) -> String {
    let r = &v.report;
    let mut text = format!(
        "verify of {date} in {url}: {} of {} documents match the manifest (S3's stored \
         SHA-256, {} HEAD requests, no document downloaded{}); {} problems\n",
        r.verified,
        v.documents,
        v.requests.head,
        if v.read_sampled > 0 {
            format!(" but the {} sampled and re-hashed", v.read_sampled)
        } else {
            String::new()
        },
        v.problems()
    );
    for key in &r.missing {
        text.push_str(&format!("  missing    {key}\n"));
    }
    for key in &r.extra {
        text.push_str(&format!("  extra      {key}\n"));
    }
    for m in &r.size_mismatch {
        text.push_str(&format!(
            "  size       {}: the manifest says {} bytes, S3 holds {}\n",
            m.key, m.expected, m.actual
        ));
    }
    for m in &r.checksum_mismatch {
        text.push_str(&format!(
            "  checksum   {}: the manifest says {}, S3 holds {}\n",
            m.key, m.expected, m.actual
        ));
    }
    for key in &r.unverified {
        text.push_str(&format!(
            "  unverified {key}: S3 keeps no SHA-256 for it (written without \
             x-amz-checksum-sha256)\n"
        ));
    }
    for m in &r.encryption_mismatch {
        text.push_str(&format!(
            "  encryption {}: expected {}, S3 reports {}\n",
            m.key, m.expected, m.actual
        ));
    }
    if *expected == Encryption::None {
        text.push_str("  (encryption not checked: pass --kms-key-id KEY to check it)\n");
    }
    text
}

fn print_json(value: &Value) -> Result<(), Failure> {
    let mut out = io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)
        .map_err(io::Error::from)
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush())
        .map_err(Failure::io("writing to stdout"))
}

fn print_text(text: &str) -> Result<(), Failure> {
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(Failure::io("writing to stdout"))
}
