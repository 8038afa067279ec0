//! Pruning a bucket that has no lifecycle rules for docvault (an S3-compatible store on
//! premises, a bucket outside the stack): the core decides which days go
//! ([`docvault_core::prune::decide`]); this file reads each day's manifest and hold record,
//! and deletes a day's object versions for good, its manifest's first, so an interrupted
//! prune leaves a day without a manifest (verify: no complete backup), never a manifest that
//! names deleted documents. A version S3 refuses to delete (locked, on hold) stops the prune
//! with what to do.

use docvault_core::prune::{Decision, StoredDay, decide};
use docvault_core::{BackupDate, KeyPrefix, Layout, LegalHoldRecord, RetentionPolicy};
use serde::Serialize;

use crate::manifest::{LoadError, load_committed};
use crate::store::{ObjectStore, StoreError};

/// The largest legal-hold record read.
const HOLD_LIMIT: u64 = 1 << 16;

/// What to prune.
#[derive(Debug, Clone)]
pub struct PruneOptions {
    /// The backup root in the bucket.
    pub prefix: KeyPrefix,
    /// The policy.
    pub policy: RetentionPolicy,
    /// The day to decide on.
    pub today: BackupDate,
    /// Delete; without it, only decide.
    pub delete: bool,
    /// The largest manifest read.
    pub manifest_limit: u64,
}

/// One day's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DayPruned {
    /// The day.
    pub date: BackupDate,
    /// The decision.
    #[serde(flatten)]
    pub decision: Decision,
    /// Object versions (and delete markers) deleted.
    pub deleted_versions: u64,
}

/// Why a prune stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PruneError {
    /// Listing or reading failed before anything was deleted.
    #[error("{0}")]
    Store(#[from] StoreError),
    /// A version could not be deleted.
    #[error(
        "deleting {key} (version {version}) of {date} failed: {source}; {}",
        if *.manifest_gone { "the day has no manifest now: run prune again to finish it" }
        else { "nothing of the day was deleted yet" }
    )]
    Delete {
        /// The day.
        date: BackupDate,
        /// The key.
        key: String,
        /// The version.
        version: String,
        /// Whether the day's manifest was already deleted.
        manifest_gone: bool,
        /// The store's answer.
        source: StoreError,
    },
}

impl PruneError {
    /// The store error behind this one.
    pub fn store_error(&self) -> Option<&StoreError> {
        match self {
            Self::Store(e) | Self::Delete { source: e, .. } => Some(e),
        }
    }
}

/// Decides every day below `options.prefix` and, with `options.delete`, deletes those to go.
///
/// # Errors
/// [`PruneError`]: the first failure; days decided before it keep their outcome.
pub async fn prune_store<S: ObjectStore>(
    store: &S,
    options: &PruneOptions,
) -> Result<Vec<DayPruned>, PruneError> {
    let backups = options.prefix.join("backups/");
    let mut days = Vec::new();
    for folder in store.folders(&backups).await? {
        let Some(date) = folder
            .strip_prefix(&backups)
            .and_then(|d| d.strip_suffix('/'))
            .and_then(|d| d.parse::<BackupDate>().ok())
        else {
            continue;
        };
        let (retention, readable) =
            match load_committed(store, &options.prefix, date, options.manifest_limit).await {
                Ok(m) => (m.and_then(|m| m.retention), true),
                Err(LoadError::Invalid { .. }) => (None, false),
                Err(LoadError::Store { source, .. }) => return Err(source.into()),
            };
        days.push(StoredDay {
            date,
            retention,
            held: held(store, &options.prefix, date).await?,
            readable,
        });
    }
    let mut out = Vec::new();
    for (date, decision) in decide(&options.policy, options.today, &days) {
        let deleted_versions = if decision == Decision::Delete && options.delete {
            delete_day(store, &options.prefix, date).await?
        } else {
            0
        };
        out.push(DayPruned {
            date,
            decision,
            deleted_versions,
        });
    }
    Ok(out)
}

/// Whether the day's hold record says it is on hold; a record that cannot be read is a hold.
async fn held<S: ObjectStore>(
    store: &S,
    prefix: &KeyPrefix,
    date: BackupDate,
) -> Result<bool, StoreError> {
    let key = prefix.join(&Layout::new(date).legal_hold_key());
    match store.get(&key, HOLD_LIMIT).await {
        Ok(None) => Ok(false),
        Ok(Some(object)) => Ok(LegalHoldRecord::holds(&object.body)),
        Err(StoreError::TooLarge { .. }) => Ok(true),
        Err(e) => Err(e),
    }
}

/// Deletes every version of the day, its manifest's first.
async fn delete_day<S: ObjectStore>(
    store: &S,
    prefix: &KeyPrefix,
    date: BackupDate,
) -> Result<u64, PruneError> {
    let layout = Layout::new(date);
    let manifest = prefix.join(&layout.manifest_key());
    let mut versions = store.versions(&prefix.join(layout.day_prefix())).await?;
    // The manifest's versions first: from the first deletion on, the day reads as not backed up.
    versions.sort_by_key(|v| v.key != manifest);
    let mut manifest_gone = !versions.iter().any(|v| v.key == manifest);
    let mut deleted = 0;
    for v in versions {
        store
            .delete_version(&v.key, &v.version_id)
            .await
            .map_err(|source| PruneError::Delete {
                date,
                key: v.key.clone(),
                version: v.version_id.clone(),
                manifest_gone,
                source,
            })?;
        deleted += 1;
        manifest_gone |= v.key == manifest;
    }
    Ok(deleted)
}
