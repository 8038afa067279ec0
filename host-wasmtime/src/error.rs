//! What ends a run, mapped to an exit code at the edge, with the fix for S3's refusals in this
//! program's terms (its flags).

use std::io;

use docvault_s3::store::{Refusal, StoreError};

use crate::sandbox::SandboxError;

/// Exit codes, as `--help` documents them.
pub(crate) const EXIT_CODES: &str = "Exit codes: 0 success; 1 a check failed (incomplete \
backup, verification problems, a tampered document, a restore target that exists, a day \
another run is backing up); 2 bad usage; 3 an I/O or storage error; 4 the sandbox stopped the \
guest (time or memory limit, trap) or could not load it.";

/// Exit code when the sandbox, not the guest, ended the run.
pub(crate) const EXIT_SANDBOX: u8 = 4;

/// What ended a run.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Failure {
    /// Arguments that cannot be used (exit 2).
    #[error("{0}")]
    Usage(String),
    /// A local file could not be read or written (exit 3).
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },
    /// The sandbox stopped the guest, or could not load it (exit 4).
    #[error(transparent)]
    Sandbox(#[from] SandboxError),
    /// The store failed (exit 3); a refusal says what to fix.
    #[error("{message}{}", fix_suffix(.refusal))]
    Storage {
        message: String,
        refusal: Option<Refusal>,
    },
    /// A check found problems (exit 1).
    #[error("{0}")]
    Check(String),
    /// The guest already reported; pass its exit code on.
    #[error("the guest exited with code {0}")]
    Guest(i32),
}

impl Failure {
    pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(io::Error) -> Self {
        let context = context.into();
        move |source| Self::Io { context, source }
    }

    /// A store error, in context.
    pub(crate) fn storage(context: impl std::fmt::Display, e: &StoreError) -> Self {
        Self::Storage {
            message: format!("{context}: {e}"),
            refusal: e.refusal(),
        }
    }

    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            Self::Check(_) => 1,
            Self::Usage(_) => 2,
            Self::Io { .. } | Self::Storage { .. } => 3,
            Self::Sandbox(_) => EXIT_SANDBOX,
            Self::Guest(code) => u8::try_from(*code).unwrap_or(EXIT_SANDBOX),
        }
    }
}

fn fix_suffix(refusal: &Option<Refusal>) -> String {
    refusal.map_or_else(String::new, |r| format!(". {}", fix(r)))
}

/// What to do about a refusal, in this program's flags.
pub(crate) fn fix(refusal: Refusal) -> &'static str {
    match refusal {
        Refusal::Denied => {
            "check the credentials (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE): \
             they need s3:PutObject, s3:GetObject and s3:ListBucket on the bucket of --dest, and \
             the use of the key of --kms-key-id"
        }
        Refusal::NoSuchBucket => {
            "create the bucket, or fix the bucket in --dest (for an S3-compatible store, check \
             --endpoint-url and --path-style)"
        }
        Refusal::KmsKey => {
            "set --kms-key-id to an enabled key in the bucket's region that these credentials \
             may use (or `none` for a store without KMS)"
        }
        Refusal::Invalid => {
            "the store refused the request as invalid: check --dest, --kms-key-id and \
             --endpoint-url"
        }
        Refusal::LockNotEnabled => {
            "the bucket of --dest does not have Object Lock enabled, which --lock and legal holds \
             need: enable it on the bucket, or leave --lock out"
        }
    }
}
