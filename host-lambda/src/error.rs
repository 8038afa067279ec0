//! The handler's one error type, mapped at the edge to Lambda's `errorType`: `Retryable.*` when
//! a later attempt can succeed, `Fatal.*` when someone must fix something. Refusals from S3
//! get the fix in this function's terms (its environment variables, its role).

use std::fmt;

use docvault_core::inventory::InventoryError;
use docvault_core::manifest::CommittedError;
use docvault_s3::executor::BackupError;
use docvault_s3::hold::HoldError;
use docvault_s3::inventory::InventoryReadError;
use docvault_s3::lease::LeaseError;
use docvault_s3::manifest::LoadError;
use docvault_s3::restore::RestoreError;
use docvault_s3::shard::ShardError;
use docvault_s3::store::{Refusal, StoreError};
use docvault_s3::verify::VerifyError;

use crate::event::EventError;
use crate::kms::KeyError;
use crate::source::ListError;

/// Why an invocation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HandlerError {
    /// The event cannot be run. Not retryable.
    #[error(transparent)]
    Event(#[from] EventError),
    /// The run stopped or could not complete.
    #[error(transparent)]
    Backup(#[from] BackupError),
    /// Some documents failed; the report lists them and a rerun completes the day. Retryable.
    #[error(
        "backup of {date} is incomplete: {failed} documents failed ({stored} stored); the report is \
         at {report}; rerunning the same date completes it"
    )]
    Incomplete {
        /// The day.
        date: String,
        /// Failed documents.
        failed: u64,
        /// Stored documents.
        stored: u64,
        /// Where the report is.
        report: String,
    },
    /// The S3 source holds no document for the day, and empty days are not normal here.
    #[error(
        "the document source {uri} holds no documents for {date}: the day was not sealed (a \
         later run backs up what lands there); if days without documents are normal, set \
         ALLOW_EMPTY_DAYS=true"
    )]
    EmptySource {
        /// `s3://bucket/prefix` for the day.
        uri: String,
        /// The day.
        date: String,
    },
    /// The document source could not be listed; nothing was backed up.
    #[error("could not list the document source {uri}: {error}")]
    Source {
        /// `s3://bucket/prefix` for the day.
        uri: String,
        /// The store's answer.
        #[source]
        error: StoreError,
    },
    /// The day's source could not be listed from its S3 Inventory report; nothing was backed
    /// up.
    #[error("could not list the document source {uri} from its inventory: {error}")]
    Inventory {
        /// `s3://bucket/prefix` for the day.
        uri: String,
        /// What went wrong.
        #[source]
        error: InventoryReadError,
    },
    /// A verification could not run (no backup in the window, an invalid manifest, the store).
    #[error(transparent)]
    Verify(#[from] VerifyError),
    /// A day's legal hold could not be set or cleared.
    #[error(transparent)]
    Hold(#[from] HoldError),
    /// A verification found problems; the response log and the metric carry the details.
    #[error(
        "verification of {date} found {problems} problems (missing, extra, resized, altered, \
         wrongly encrypted or under-locked objects): {summary}"
    )]
    VerificationFailed {
        /// The day verified.
        date: String,
        /// Problems found.
        problems: u64,
        /// The first problems, for the error message.
        summary: String,
    },
    /// A restore could not start (no backup that day, an unknown document, a bad target).
    #[error(transparent)]
    Restore(#[from] RestoreError),
    /// A restore target this function may not write (another bucket, an unusable prefix).
    #[error("refused: {0}")]
    RestoreTarget(String),
    /// Some documents were not restored.
    #[error(
        "restore of {date} into {to} is incomplete: {failed} of {requested} documents \
         were not restored: {summary}"
    )]
    RestoreIncomplete {
        /// The day.
        date: String,
        /// Where to: `s3://bucket/prefix`.
        to: String,
        /// Documents asked for.
        requested: u64,
        /// Documents not restored.
        failed: u64,
        /// The first failures.
        summary: String,
        /// Whether a retry can help (only store errors were seen).
        retryable: bool,
    },
    /// `KMS_KEY_ID` names a key that cannot be used (or KMS could not be asked).
    #[error(transparent)]
    Key(#[from] KeyError),
    /// A sharded day's plan or commit could not be made.
    #[error(transparent)]
    Shard(#[from] ShardError),
    /// The day's plan names another source than `DOCUMENT_SOURCE`.
    #[error(
        "the day's plan lists documents of {planned}, but DOCUMENT_SOURCE is now {configured}: \
         delete the day's work folder (work/{{date}}/) and start a new execution to plan again"
    )]
    SourceChanged {
        /// The plan's source.
        planned: String,
        /// This function's source for the day.
        configured: String,
    },
    /// A `backup_shard` event names a plan that is not the day's.
    #[error(
        "the batch names plan {named}, but the day's plan is {stored}: this execution's plan \
         was replaced; start a new execution for the day"
    )]
    PlanReplaced {
        /// The batch's plan.
        named: String,
        /// The day's plan.
        stored: String,
    },
    /// The commit could not join every shard: the incomplete-run report lists their
    /// documents as failed. Run the failed shards again (redrive the execution), then commit.
    #[error(
        "commit of {date} is incomplete: {shards} shards could not be joined ({first}); their \
         {failed} documents are recorded as failed in {report}; redrive the execution (or run \
         those shards again) and commit again"
    )]
    CommitIncomplete {
        /// The day.
        date: String,
        /// Shards not joined.
        shards: usize,
        /// The first problem.
        first: String,
        /// Documents recorded as failed.
        failed: u64,
        /// Where the report is.
        report: String,
    },
}

impl HandlerError {
    /// The error of listing the source `uri`.
    pub fn listing(uri: String, error: ListError) -> Self {
        match error {
            ListError::Store(error) => Self::Source { uri, error },
            ListError::Inventory(error) => Self::Inventory { uri, error },
        }
    }

    /// `Retryable.*` when a later attempt can succeed, `Fatal.*` when someone must fix something.
    pub fn error_type(&self) -> &'static str {
        let store_type = |e: &StoreError| {
            if e.is_fatal() {
                None
            } else {
                Some("Retryable.Store")
            }
        };
        if self.manifest_too_large() {
            return "Fatal.ManifestTooLarge";
        }
        match self {
            Self::Event(_) => "Fatal.BadEvent",
            Self::Backup(e) => match e {
                BackupError::Fatal { .. } => "Fatal.StoreRefused",
                BackupError::Manifest(LoadError::Invalid { .. }) => "Fatal.CorruptManifest",
                BackupError::Manifest(LoadError::Store { source, .. }) => {
                    store_type(source).unwrap_or("Fatal.StoreRefused")
                }
                BackupError::Lease(LeaseError::Busy { .. }) => "Retryable.Busy",
                BackupError::Lease(LeaseError::Store(e)) => {
                    store_type(e).unwrap_or("Fatal.StoreRefused")
                }
                BackupError::Lease(_) | BackupError::LeaseLost { .. } => "Retryable.LeaseLost",
                BackupError::Plan(_) => "Fatal.Plan",
                _ => "Retryable.Store",
            },
            Self::Incomplete { .. } => "Retryable.Incomplete",
            Self::EmptySource { .. } => "Retryable.EmptySource",
            Self::Source { error, .. } if error.is_fatal() => "Fatal.SourceRefused",
            Self::Source { .. } => "Retryable.Source",
            Self::Inventory { error, .. } => match error {
                InventoryReadError::Store { source, .. } => {
                    store_type(source).unwrap_or("Fatal.SourceRefused")
                }
                InventoryReadError::Missing { .. }
                | InventoryReadError::Report(InventoryError::NoReport { .. }) => {
                    "Fatal.InventoryNotReady"
                }
                _ => "Fatal.Inventory",
            },
            Self::Verify(e) => e
                .store_error()
                .and_then(store_type)
                .unwrap_or("Fatal.NotVerifiable"),
            Self::VerificationFailed { .. } => "Fatal.VerificationFailed",
            Self::Hold(HoldError::Store(e)) => store_type(e).unwrap_or("Fatal.StoreRefused"),
            Self::Hold(HoldError::Busy { .. }) => "Retryable.Busy",
            Self::Hold(_) => "Fatal.NothingToHold",
            Self::Restore(e) => e
                .store_error()
                .and_then(store_type)
                .unwrap_or("Fatal.NotRestorable"),
            Self::RestoreTarget(_) => "Fatal.NotRestorable",
            Self::RestoreIncomplete {
                retryable: true, ..
            } => "Retryable.RestoreIncomplete",
            Self::RestoreIncomplete { .. } => "Fatal.RestoreIncomplete",
            Self::Key(e) if e.is_retryable() => "Retryable.KmsKey",
            Self::Key(_) => "Fatal.KmsKey",
            Self::Shard(e) => match e {
                ShardError::Lease(LeaseError::Busy { .. }) => "Retryable.Busy",
                ShardError::PlanConflict { .. } => "Fatal.PlanConflict",
                ShardError::NoPlan { .. } => "Fatal.NoPlan",
                e => match e.store_error() {
                    Some(store) => store_type(store).unwrap_or("Fatal.StoreRefused"),
                    None => "Fatal.Shard",
                },
            },
            Self::PlanReplaced { .. } | Self::SourceChanged { .. } => "Fatal.PlanConflict",
            Self::CommitIncomplete { .. } => "Fatal.CommitIncomplete",
        }
    }

    /// Whether the day's manifest is larger than this function loads.
    fn manifest_too_large(&self) -> bool {
        let load = match self {
            Self::Backup(BackupError::Manifest(e))
            | Self::Verify(VerifyError::Manifest(e))
            | Self::Restore(RestoreError::Manifest(e)) => e,
            _ => return false,
        };
        matches!(
            load,
            LoadError::Invalid {
                source: CommittedError::TooLarge { .. },
                ..
            }
        )
    }

    /// What to do about a refusal, in this function's terms.
    pub fn fix(&self) -> Option<&'static str> {
        if self.manifest_too_large() {
            return Some(
                "the largest manifest this function loads is a quarter of its memory: raise the \
                 function's memory (the stack's LambdaMemorySize)",
            );
        }
        let (refusal, of) = match self {
            Self::Backup(e) => (e.store_error()?.refusal()?, Bucket::Backup),
            Self::Verify(e) => (e.store_error()?.refusal()?, Bucket::Backup),
            Self::Hold(HoldError::Store(e)) => (e.refusal()?, Bucket::Backup),
            Self::Restore(e) => (e.store_error()?.refusal()?, Bucket::Restore),
            Self::Source { error, .. } => (error.refusal()?, Bucket::Source),
            Self::Inventory { error, .. } => (error.store_error()?.refusal()?, Bucket::Inventory),
            Self::Shard(e) => (e.store_error()?.refusal()?, Bucket::Backup),
            _ => return None,
        };
        Some(fix(refusal, of))
    }
}

/// Which bucket a refusal came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bucket {
    /// `BACKUP_BUCKET`.
    Backup,
    /// The `DOCUMENT_SOURCE` bucket.
    Source,
    /// The `SOURCE_INVENTORY` bucket.
    Inventory,
    /// The backup bucket or `RESTORE_BUCKET`, in a restore.
    Restore,
}

/// What to do about `refusal` by bucket `of`.
pub fn fix(refusal: Refusal, of: Bucket) -> &'static str {
    match (of, refusal) {
        (Bucket::Inventory, _) => {
            "check SOURCE_INVENTORY: the inventory bucket must exist, and the function's role \
             needs s3:ListBucket on it and s3:GetObject (and kms:Decrypt for SSE-KMS reports) \
             under the inventory folder"
        }
        (Bucket::Source, _) => {
            "check DOCUMENT_SOURCE: the source bucket must exist, and the function's role needs \
             s3:ListBucket on it and s3:GetObject (and kms:Decrypt for SSE-KMS objects) under \
             the prefix"
        }
        (_, Refusal::Denied) => {
            "grant the function's role s3:PutObject, s3:GetObject and s3:ListBucket on the backup \
             bucket (s3:PutObject on RESTORE_BUCKET for restores there) and \
             kms:GenerateDataKey/kms:Decrypt on its key (see infra/template.yaml)"
        }
        (_, Refusal::NoSuchBucket) => {
            "create the bucket or fix BACKUP_BUCKET (the stack output BackupBucketName), or \
             RESTORE_BUCKET for a restore into another bucket"
        }
        (_, Refusal::KmsKey) => {
            "set KMS_KEY_ID to an enabled key's ARN in the bucket's region that the role may use"
        }
        (_, Refusal::Invalid) => {
            "the request was refused as invalid; check BACKUP_BUCKET, BACKUP_PREFIX and KMS_KEY_ID"
        }
        (_, Refusal::LockNotEnabled) => {
            "the bucket does not have Object Lock enabled, which LOCK_MODE and legal holds need: \
             enable it on the bucket (the stack does when LockMode is not NONE), or set LOCK_MODE \
             to NONE"
        }
    }
}

/// The error as Lambda reports it: its message with the fix, and its type.
#[derive(Debug)]
pub struct Reported<'a>(pub &'a HandlerError);

impl fmt::Display for Reported<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.fix() {
            Some(fix) => write!(f, "{}. To fix: {fix}", self.0),
            None => write!(f, "{}", self.0),
        }
    }
}

impl From<HandlerError> for lambda_runtime::Diagnostic {
    fn from(e: HandlerError) -> Self {
        Self {
            error_type: e.error_type().to_owned(),
            error_message: Reported(&e).to_string(),
        }
    }
}
