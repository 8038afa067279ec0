//! Pruning a bucket that has no lifecycle rules for docvault (an S3-compatible store on
//! premises, a bucket outside the stack): the core decides which days go
//! ([`docvault_core::prune::decide`]); this file reads each day's manifest and hold record,
//! and deletes a day's object versions for good, its manifest's first, so an interrupted
//! prune leaves a day without a manifest (verify: no complete backup), never a manifest that
//! names deleted documents. Each day is deleted under its lease (the one backups take), after
//! deciding again under it, so a backup of the day cannot run meanwhile and a day whose
//! backup is running is kept. A version S3 refuses to delete (locked, on hold) stops the
//! prune with what to do.

use docvault_core::prune::{Decision, KeepReason, PrunedDay, StoredDay, decide};
use docvault_core::{
    BackupDate, KeyPrefix, Layout, LegalHoldRecord, PlanOptions, RetentionPolicy, Timestamp,
};

use crate::lease::{DayLease, LeaseError, LeaseTerms};
use crate::manifest::{LoadError, load_committed};
use crate::store::{ObjectStore, StoreError};

/// The largest legal-hold record read.
const HOLD_LIMIT: u64 = 1 << 16;

/// What to prune.
#[derive(Debug, Clone)]
pub struct PruneOptions {
    /// The backup root (its prefix) and how the day's lease is written.
    pub plan: PlanOptions,
    /// The policy.
    pub policy: RetentionPolicy,
    /// The day to decide on.
    pub today: BackupDate,
    /// Delete; without it, only decide.
    pub delete: bool,
    /// The largest manifest read.
    pub manifest_limit: u64,
    /// This prune's run id (its lease on each day it deletes).
    pub run_id: String,
    /// The time, for the leases.
    pub now: Timestamp,
}

/// How long a prune holds a day's lease while it deletes it.
const LEASE: LeaseTerms = LeaseTerms {
    seconds: 900,
    renew: false,
    retry_takes_over: false,
};

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
) -> Result<Vec<PrunedDay>, PruneError> {
    let prefix = &options.plan.prefix;
    let backups = prefix.join("backups/");
    let mut days = Vec::new();
    for folder in store.folders(&backups).await? {
        let Some(date) = folder
            .strip_prefix(&backups)
            .and_then(|d| d.strip_suffix('/'))
            .and_then(|d| d.parse::<BackupDate>().ok())
        else {
            continue;
        };
        days.push(stored_day(store, options, date).await?);
    }
    let mut out = Vec::new();
    for (date, mut decision) in decide(&options.policy, options.today, &days) {
        let mut deleted_versions = None;
        if decision == Decision::Delete && options.delete {
            let (taken, versions) = delete_day(store, options, date).await?;
            decision = taken;
            deleted_versions = (taken == Decision::Delete).then_some(versions);
        }
        out.push(PrunedDay {
            date,
            decision,
            deleted: deleted_versions.is_some(),
            deleted_versions,
        });
    }
    Ok(out)
}

/// What the decision needs of one day.
async fn stored_day<S: ObjectStore>(
    store: &S,
    options: &PruneOptions,
    date: BackupDate,
) -> Result<StoredDay, StoreError> {
    let prefix = &options.plan.prefix;
    let (retention, readable) =
        match load_committed(store, prefix, date, options.manifest_limit).await {
            Ok(m) => (m.and_then(|m| m.retention), true),
            Err(LoadError::Invalid { .. }) => (None, false),
            Err(LoadError::Store { source, .. }) => return Err(source),
        };
    Ok(StoredDay {
        date,
        retention,
        held: held(store, prefix, date).await?,
        readable,
    })
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

/// Deletes every version of the day, its manifest's first, holding the day's lease (so no
/// backup of the day runs meanwhile) and after deciding again under it. Returns the decision
/// taken and the versions deleted.
async fn delete_day<S: ObjectStore>(
    store: &S,
    options: &PruneOptions,
    date: BackupDate,
) -> Result<(Decision, u64), PruneError> {
    let lease = match DayLease::acquire(
        store,
        &options.plan,
        date,
        &options.run_id,
        options.now,
        LEASE,
    )
    .await
    {
        Ok(lease) => lease,
        Err(LeaseError::Busy { .. }) => return Ok((Decision::Keep(KeepReason::Busy), 0)),
        Err(LeaseError::Store(e)) => return Err(e.into()),
        Err(LeaseError::Lost) => return Ok((Decision::Keep(KeepReason::Busy), 0)),
    };
    let now = stored_day(store, options, date).await?;
    let decision = decide(&options.policy, options.today, std::slice::from_ref(&now))
        .pop()
        .map_or(Decision::Delete, |(_, d)| d);
    if decision != Decision::Delete {
        // Best effort: an unreleased lease lapses by itself.
        let _ = lease.release(options.now).await;
        return Ok((decision, 0));
    }
    let prefix = &options.plan.prefix;
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
    // The lease went with the day's other versions.
    drop(lease);
    Ok((Decision::Delete, deleted))
}
