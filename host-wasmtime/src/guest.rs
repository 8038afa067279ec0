//! The guest program (`docvault.wasm`): found, loaded (from the compiled-module cache when it
//! can be), given its grants, run, and its report read back as the shared typed report.

use std::path::{Path, PathBuf};

use docvault_core::report::BackupReport;

use crate::args::SandboxArgs;
use crate::error::Failure;
use crate::sandbox::{Guest, GuestRun, Preopen};

/// What a backup gives the guest: its arguments for the input (`--source /src` or
/// `--generate N`, the time, the day, the environment), the grants, and the time read once.
#[derive(Debug)]
pub(crate) struct BackupInput {
    /// The guest's arguments that describe the input and the run.
    pub(crate) args: Vec<String>,
    /// The source, granted read-only as `/src`, when there is one.
    pub(crate) preopens: Vec<Preopen>,
    /// The source directory on the host.
    pub(crate) source: Option<PathBuf>,
    /// The backup time (the runner's clock, read once, or `--at`).
    pub(crate) at: docvault_core::Timestamp,
}

/// Most bytes of guest stdout the runner keeps (a manifest of a million documents is ~450 MB).
pub(crate) const CAPTURE_LIMIT: usize = 1 << 30;

/// The guest module, as the flags say.
pub(crate) fn load(sandbox: &SandboxArgs) -> Result<Guest, Failure> {
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

/// `--dir HOST::GUEST[::ro]`.
pub(crate) fn parse_grant(spec: &str) -> Result<Preopen, Failure> {
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

/// `path` resolved, when it is a directory.
pub(crate) fn existing_dir(path: &Path, flag: &str) -> Result<PathBuf, Failure> {
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

/// Arguments as the guest takes them.
pub(crate) fn owned(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| (*s).to_owned()).collect()
}

/// Adds `--json` and `--quiet` when asked.
pub(crate) fn flags(args: &mut Vec<&str>, json: bool, quiet: bool) {
    if json {
        args.push("--json");
    }
    if quiet {
        args.push("--quiet");
    }
}

/// The guest's exit, passed on.
pub(crate) fn exit(done: &GuestRun) -> Result<(), Failure> {
    match done.exit_code {
        0 => Ok(()),
        code => Err(Failure::Guest(code)),
    }
}

/// The guest's `--json` backup report: the shared type, every field required.
pub(crate) fn backup_report(done: &GuestRun) -> Result<BackupReport, Failure> {
    serde_json::from_slice(&done.stdout).map_err(|e| {
        Failure::Check(format!(
            "the guest (exit {}) printed no usable report: {e}; the guest and the runner must \
             come from the same docvault version",
            done.exit_code
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(stdout: &str) -> GuestRun {
        GuestRun {
            exit_code: 0,
            stdout: bytes::Bytes::copy_from_slice(stdout.as_bytes()),
        }
    }

    #[test]
    fn a_report_missing_a_field_is_an_error_not_a_zero() {
        let good = r#"{"command":"backup","date":"2026-11-27","dest":"/dst","status":"complete",
            "documents":2,"bytes":10,"uploaded":2,"already_stored":0,"replaced":0,
            "bytes_uploaded":10,"removed_unclaimed":0,"failed":[],"skipped":[],
            "manifest_key":"backups/2026-11-27/manifest.json","report_key":null}"#;
        assert_eq!(backup_report(&run(good)).unwrap().documents, 2);
        let missing = good.replace(r#""documents":2,"#, "");
        let e = backup_report(&run(&missing)).unwrap_err();
        assert!(e.to_string().contains("missing field `documents`"), "{e}");
        let renamed = good.replace("uploaded", "written");
        assert!(
            backup_report(&run(&renamed)).is_err(),
            "an unknown field is refused"
        );
        assert!(backup_report(&run("not json")).is_err());
    }
}
