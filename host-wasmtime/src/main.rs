//! `docvault-wasmtime`: runs the docvault WASI guest (`docvault.wasm`, the `docvault-cli` crate
//! built for `wasm32-wasip1`) in an embedded wasmtime, with only the directories it is granted,
//! no network, and memory and time limits; and adds what the sandbox must not do itself: S3
//! (through the shared `docvault-s3`), the day's lock for local backups, and metrics. See the
//! README's section "The native runner".
//!
//! * [`args`]: the command line.
//! * [`sandbox`]: the engine, the compiled-module cache, grants and limits.
//! * [`guest`]: the guest program, loaded, run, and its report read back.
//! * [`local`]: local destinations (the guest does the work).
//! * [`remote`]: `s3://` destinations (the guest scans, the runner moves the bytes).
//! * [`metrics`]: a run's metrics to a file or CloudWatch.

mod args;
mod error;
mod guest;
mod local;
mod metrics;
mod output;
mod remote;
mod sandbox;

use std::io;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser as _;
use docvault_s3::executor::{Clock as _, SystemClock};

use crate::args::{BackupArgs, Cli, Command};
use crate::error::Failure;
use crate::guest::{BackupInput, existing_dir};
use crate::sandbox::{Guest, Limits, Preopen};

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
    match cli.command {
        // Verify and restore from S3 need no guest.
        Command::Verify(args) if remote::is_s3(&args.dest) => remote::verify::verify(&args),
        Command::Restore(args) if remote::is_s3(&args.dest) => remote::restore::restore(&args),
        Command::Hold(args) => remote::hold::hold(&args),
        Command::Prune(args) => remote::prune::prune(&args),
        Command::Commit(args) => remote::shard::commit(&args),
        command => {
            let guest = guest::load(sandbox)?;
            match command {
                Command::Run(args) => local::run(&guest, limits, &args),
                Command::Verify(args) => local::verify(&guest, limits, &args),
                Command::Restore(args) => local::restore(&guest, limits, &args),
                Command::Backup(args) => backup(&guest, limits, &args, started),
                Command::Hold(args) => remote::hold::hold(&args),
                Command::Prune(args) => remote::prune::prune(&args),
                Command::Commit(args) => remote::shard::commit(&args),
            }
        }
    }
}

/// `backup`: the guest's input (the source granted read-only as `/src`, or a generated day),
/// the time read once, then a local or an S3 destination.
fn backup(
    guest: &Guest,
    limits: Limits,
    args: &BackupArgs,
    started: Instant,
) -> Result<(), Failure> {
    // The clock, read once; the guest gets the time as an argument.
    let at = args
        .at
        .unwrap_or_else(|| SystemClock.now().truncate_to_seconds());
    let source = match &args.source {
        Some(dir) => Some(existing_dir(dir, "--source")?),
        None => None,
    };
    let mut input: Vec<String> = match (&source, args.generate) {
        (Some(_), _) => vec!["--source".into(), "/src".into()],
        (None, Some(n)) => vec![
            "--generate".into(),
            n.to_string(),
            "--seed".into(),
            args.seed.to_string(),
        ],
        (None, None) => unreachable!("clap requires --source or --generate"),
    };
    input.extend([
        "--at".into(),
        at.to_string(),
        "--env".into(),
        args.environment.clone(),
    ]);
    if let Some(date) = &args.date {
        input.extend(["--date".into(), date.to_string()]);
    }
    if let Some(id) = &args.run_id {
        input.extend(["--run-id".into(), id.clone()]);
    }
    let preopens: Vec<Preopen> = source
        .iter()
        .map(|s| Preopen::read_only(s, "/src"))
        .collect();
    let input = BackupInput {
        args: input,
        preopens,
        source,
        at,
    };
    if remote::is_s3(&args.dest) {
        remote::backup::backup(guest, limits, args, input, started)
    } else if args.shard.is_some() {
        Err(Failure::Usage(
            "--shard needs an s3:// destination: the shards' parts and the plan live in the \
             bucket, where every worker and the commit find them"
                .into(),
        ))
    } else if args.retention.keep_daily.is_some() {
        Err(Failure::Usage(
            "--keep-daily and the other retention flags apply to s3:// destinations; a local \
             backup set keeps days with `docvault prune --dest DIR --keep-daily N ...` (or \
             `docvault-wasmtime run --dir DIR::/v -- prune --dest /v --keep-daily N ...`)"
                .into(),
        ))
    } else {
        local::backup(guest, limits, args, input, started)
    }
}
