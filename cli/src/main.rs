//! `docvault`: the command-line program over docvault-core.
//!
//! One crate, two targets: built natively it is the `docvault` command; built for
//! `wasm32-wasip1` it is `docvault.wasm`, the sandboxed guest that stock `wasmtime run` (or the
//! `docvault-wasmtime` runner) executes with only the directories it is granted. So everything
//! here is plain `std` and `docvault-fs`: no threads, no network, no terminal tricks the
//! sandbox lacks.
//!
//! The clock is read at most once, in `main`, and only when `--at`/`--date` are not given.
//!
//! * [`args`]: the commands and flags.
//! * [`inspect`]: `manifest`, `generate`, `summary`, `validate` (output bytes pinned by golden
//!   tests).
//! * [`backup`], [`verify`], [`restore`]: a local vault with the S3 bucket's layout
//!   ([`vault`]), from a source directory ([`source`]) or a generated day.
//!
//! Exit codes: 0 success; 1 a check found problems (an invalid manifest, an incomplete backup,
//! a verification problem, a tampered document, a restore target that exists); 2 bad usage;
//! 3 an I/O error.

mod args;
mod backup;
mod error;
mod inspect;
mod output;
mod progress;
mod prune;
mod restore;
mod source;
mod stream;
mod vault;
mod verify;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser as _;
use docvault_core::{BackupDate, Timestamp};

use crate::args::{Cli, Command, ManifestArgs};
use crate::error::CliError;

/// The host clock, read at most once per run.
pub(crate) struct Clock(Option<Timestamp>);

impl Clock {
    pub(crate) fn now(&mut self) -> Timestamp {
        *self.0.get_or_insert_with(|| {
            Timestamp::from_system_time(std::time::SystemTime::now())
                .map(Timestamp::truncate_to_seconds)
                .unwrap_or_else(|| {
                    // A clock outside years 0-9999 is broken; say when it was, not panic.
                    Timestamp::from_unix_seconds(0).unwrap_or_else(|| unreachable!("the epoch"))
                })
        })
    }

    pub(crate) fn date(&mut self, given: Option<BackupDate>) -> BackupDate {
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
                host_holds_lock: false,
            })
        }
        Command::Manifest(args) => inspect::manifest(args, clock),
        Command::Generate(args) => inspect::generate(args, clock),
        Command::Summary(args) => inspect::summary(args, clock),
        Command::Validate(args) => inspect::validate(&args),
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
                host_holds_lock: args.host_holds_lock,
            })
        }
        Command::Verify(args) => verify::verify(&verify::Request {
            dest: args.dest,
            date: args.date,
            json: args.json,
            quiet: args.quiet,
        }),
        Command::Prune(args) => {
            let policy = docvault_core::RetentionPolicy::new(
                args.keep_daily,
                args.keep_weekly,
                args.keep_monthly,
                args.keep_yearly,
                args.weekly_on,
            )
            .map_err(|e| CliError::Usage(e.to_string()))?;
            let now = clock.now();
            let today = args.today.unwrap_or_else(|| now.date());
            docvault_core::prune::check_today(today, now).map_err(CliError::Usage)?;
            prune::prune(&prune::PruneRequest {
                dest: args.dest,
                policy,
                today,
                yes: args.yes,
                json: args.json,
            })
        }
        Command::Hold(args) => prune::hold(&prune::HoldRequest {
            dest: args.dest,
            date: args.date,
            on: args.on,
            by: args.by,
            at: args.at.unwrap_or_else(|| clock.now()),
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
