//! Local destinations: the guest does the work inside the sandbox, with only the directories
//! it needs granted (the source read-only, the vault read-write for a backup and read-only for
//! verify and restore); the runner adds what the guest cannot do itself: the day's lock (WASI
//! has no file locks), the check that source and destination do not overlap (inside the
//! sandbox both look unrelated), and metrics.

use std::path::Path;
use std::time::Instant;

use docvault_core::report::RunStatus;
use docvault_core::{Layout, RunOutcome};
use docvault_fs::Root;

use crate::args::{BackupArgs, RestoreArgs, RunArgs, VerifyArgs};
use crate::error::Failure;
use crate::guest::{self, BackupInput, CAPTURE_LIMIT, existing_dir, flags, owned, parse_grant};
use crate::sandbox::{Guest, Limits, Preopen, Stdout};
use crate::{metrics, output};

/// `run`: the guest with any arguments and explicit grants.
pub(crate) fn run(guest: &Guest, limits: Limits, args: &RunArgs) -> Result<(), Failure> {
    let preopens = args
        .dirs
        .iter()
        .map(|d| parse_grant(d))
        .collect::<Result<Vec<_>, _>>()?;
    let done = guest.run(&args.args, &preopens, Stdout::Inherit, limits)?;
    guest::exit(&done)
}

/// `verify --dest DIR`: the guest re-hashes every stored document (read-only grant).
pub(crate) fn verify(guest: &Guest, limits: Limits, args: &VerifyArgs) -> Result<(), Failure> {
    if args.read_data != 0.0 || args.require_stored_checksums {
        return Err(Failure::Usage(
            "--read-data and --require-stored-checksums apply to s3:// destinations; a local \
             verify re-hashes every document"
                .into(),
        ));
    }
    let dest = existing_dir(Path::new(&args.dest), "--dest")?;
    let date = args.date.to_string();
    let mut guest_args = vec!["verify", "--dest", "/dst", "--date", &date];
    flags(&mut guest_args, args.json, args.quiet);
    let done = guest.run(
        &owned(&guest_args),
        &[Preopen::read_only(dest, "/dst")],
        Stdout::Inherit,
        limits,
    )?;
    guest::exit(&done)
}

/// `restore --dest DIR --to OUT`: the guest copies from the vault (read-only) into `OUT`.
pub(crate) fn restore(guest: &Guest, limits: Limits, args: &RestoreArgs) -> Result<(), Failure> {
    let dest = existing_dir(Path::new(&args.dest), "--dest")?;
    std::fs::create_dir_all(&args.to)
        .map_err(Failure::io(format!("creating {}", args.to.display())))?;
    let to = existing_dir(&args.to, "--to")?;
    let date = args.date.to_string();
    let mut guest_args = vec!["restore", "--dest", "/dst", "--date", &date, "--to", "/out"];
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
    guest::exit(&done)
}

/// `backup --dest DIR`: the guest writes the vault through a read-write grant, under the day's
/// lock the runner holds on the host.
pub(crate) fn backup(
    guest: &Guest,
    limits: Limits,
    args: &BackupArgs,
    input: BackupInput,
    started: Instant,
) -> Result<(), Failure> {
    let BackupInput {
        args: input,
        mut preopens,
        source,
        at,
    } = input;
    let dest = Path::new(&args.dest);
    std::fs::create_dir_all(dest).map_err(Failure::io(format!("creating {}", dest.display())))?;
    let dest = existing_dir(dest, "--dest")?;
    if let Some(src) = &source
        && (dest.starts_with(src) || src.starts_with(&dest))
    {
        return Err(Failure::Usage(format!(
            "the destination {} and the source {} overlap: each backup would copy the earlier \
             ones; choose a destination outside the source",
            dest.display(),
            src.display()
        )));
    }
    // The guest cannot lock files: the runner holds the day for it while it runs.
    let date = args.date.unwrap_or_else(|| at.date());
    let vault = Root::open(&dest).map_err(Failure::io(format!("opening {}", dest.display())))?;
    let day = Layout::new(date)
        .day_prefix()
        .trim_end_matches('/')
        .to_owned();
    vault.create_dirs(&day).map_err(Failure::io(format!(
        "creating {}",
        vault.display(&day).display()
    )))?;
    let lock_key = format!("{day}/.lock");
    let _lock = vault.lock(&lock_key).map_err(|e| {
        if e.kind() == std::io::ErrorKind::WouldBlock {
            Failure::Check(format!(
                "another docvault run is backing up {date} into {} (it holds {}): nothing was \
                 written; wait for it to finish, then run again",
                dest.display(),
                vault.display(&lock_key).display()
            ))
        } else {
            Failure::io(format!("locking {}", vault.display(&lock_key).display()))(e)
        }
    })?;
    preopens.push(Preopen::read_write(dest, "/dst"));
    let mut guest_args = vec!["backup"];
    guest_args.extend(input.iter().map(String::as_str));
    guest_args.extend(["--dest", "/dst", "--host-holds-lock"]);
    if args.quiet {
        guest_args.push("--quiet");
    }
    if args.dry_run {
        guest_args.push("--dry-run");
        flags(&mut guest_args, args.json, false);
        let done = guest.run(&owned(&guest_args), &preopens, Stdout::Inherit, limits)?;
        return guest::exit(&done);
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
    let mut report = guest::backup_report(&done)?;
    report.dest = args.dest.clone();
    let outcome = RunOutcome {
        success: done.exit_code == 0 && report.status != RunStatus::Incomplete,
        documents: report.documents,
        bytes: report.bytes,
        failed: report.failed.len() as u64,
    };
    metrics::send_run(args, outcome, at, started, None)?;
    if args.json {
        output::json(&report)?;
    } else {
        output::text(&report.render_text())?;
    }
    guest::exit(&done)
}
