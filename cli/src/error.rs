//! The one error type of the program, mapped to an exit code at the edge (`main`).

use std::io;

/// Exit codes, as `--help` documents them.
pub(crate) const EXIT_CODES: &str = "Exit codes: 0 success; 1 a check failed (invalid manifest, \
incomplete backup, verification problems, a tampered document, a restore target that exists); \
2 bad usage; 3 an I/O error.";

/// What went wrong.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    /// A file or stream could not be read or written (exit 3).
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },
    /// A check found problems: an invalid manifest, an incomplete backup, a verification
    /// problem, a tampered document (exit 1).
    #[error("{0}")]
    Invalid(String),
    /// Arguments that parse but cannot be used as given (exit 2, like clap's own errors).
    #[error("{0}")]
    Usage(String),
}

impl CliError {
    /// An adapter for `map_err` that adds what was being done.
    pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(io::Error) -> Self {
        let context = context.into();
        move |source| Self::Io { context, source }
    }

    /// What to do about it, when the error alone does not say. Inside a WASI sandbox, paths the
    /// runtime was not given (`ENOTCAPABLE`), or that lead out of a granted directory with `..`
    /// (`EPERM` from the runtime's path resolution), fail with errors that do not name the cause.
    pub(crate) fn hint(&self) -> Option<&'static str> {
        const WASI_EPERM: i32 = 63;
        const WASI_ENOTCAPABLE: i32 = 76;
        match self {
            Self::Io { source, .. }
                if cfg!(target_os = "wasi")
                    && matches!(source.raw_os_error(), Some(WASI_EPERM | WASI_ENOTCAPABLE)) =>
            {
                Some(
                    "this path was not granted to the sandbox, or leads out of a granted \
                     directory: grant the directory with `wasmtime run --dir HOST::GUEST` and \
                     name it by its GUEST path",
                )
            }
            _ => None,
        }
    }

    /// The process exit code for this error.
    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            Self::Invalid(_) => 1,
            Self::Usage(_) => 2,
            Self::Io { .. } => 3,
        }
    }
}
