//! Legal hold on a whole day: set on (or cleared from) every object the day holds, then recorded
//! beside its manifest.
//!
//! Which objects a hold covers is the core's rule ([`Layout::is_held_with_day`]): everything
//! under the day's folder but its lease and its hold record, every version of it (a version
//! overwritten or hidden behind a delete marker, by a lifecycle rule or by hand, is held too).
//! The hold runs under the day's lease, so no backup of the day adds objects meanwhile; the
//! manifest is held first and released last. The record (`backups/{date}/legal-hold.json`, a
//! [`LegalHoldRecord`], never tagged with a retention class, so no lifecycle rule removes it)
//! is written only after every version answered, so a record saying "on" means every version
//! was held when it was written; an interrupted hold is repeated by sending it again.

use docvault_core::plan::legal_hold_put;
use docvault_core::{BackupDate, Layout, LegalHoldRecord, PlanOptions, Timestamp};
use serde::Serialize;

use crate::lease::{DayLease, LeaseError, LeaseTerms};
use crate::store::{ObjectStore, ObjectVersion, StoreError};

/// The lease a hold takes on its day while it sets every version.
const HOLD_LEASE: LeaseTerms = LeaseTerms {
    seconds: 900,
    renew: false,
    retry_takes_over: false,
};

/// What a hold request did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HoldOutcome {
    /// The day.
    pub date: BackupDate,
    /// Whether the day is now on hold.
    pub on: bool,
    /// Object versions whose hold was set or cleared.
    pub objects: u64,
    /// The record's key.
    pub record_key: String,
}

/// Why a day's hold could not be set or cleared.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HoldError {
    /// The day holds no object.
    #[error("{date} has no backup objects under {prefix}: nothing to hold (check the date)")]
    NothingToHold {
        /// The day.
        date: BackupDate,
        /// The day's folder.
        prefix: String,
    },
    /// A backup of the day is running.
    #[error(
        "a backup of {date} is running (run {run_id}, until {until}): hold the day after it ends"
    )]
    Busy {
        /// The day.
        date: BackupDate,
        /// The run.
        run_id: String,
        /// Its lease's end.
        until: Timestamp,
    },
    /// The store failed; objects answered before it keep what they were set to.
    #[error("{0} (send the same request again: objects already set are unchanged)")]
    Store(#[from] StoreError),
}

/// Sets (`on`) or clears the legal hold on every object of `date`, then writes its record.
///
/// # Errors
/// [`HoldError`]; nothing is recorded unless every object answered.
pub async fn set_day_hold<S: ObjectStore>(
    store: &S,
    options: &PlanOptions,
    date: BackupDate,
    on: bool,
    at: Timestamp,
    by: Option<String>,
) -> Result<HoldOutcome, HoldError> {
    let layout = Layout::new(date);
    let day = options.prefix.join(layout.day_prefix());
    let run_id = by
        .clone()
        .unwrap_or_else(|| format!("hold-{}", at.unix_seconds()));
    let lease = match DayLease::acquire(store, options, date, &run_id, at, HOLD_LEASE).await {
        Ok(lease) => lease,
        Err(LeaseError::Busy { run_id, until }) => {
            return Err(HoldError::Busy {
                date,
                run_id,
                until,
            });
        }
        Err(LeaseError::Store(e)) => return Err(e.into()),
        Err(e) => return Err(StoreError::Transient(e.to_string()).into()),
    };
    let manifest = options.prefix.join(&layout.manifest_key());
    let mut versions: Vec<ObjectVersion> = store
        .versions(&day)
        .await?
        .into_iter()
        .filter(|v| {
            !v.delete_marker
                && options
                    .prefix
                    .strip(&v.key)
                    .is_some_and(|relative| layout.is_held_with_day(relative))
        })
        .collect();
    if versions.is_empty() {
        let _ = lease.release(at).await;
        return Err(HoldError::NothingToHold { date, prefix: day });
    }
    // On: the manifest first. Off: the manifest last. A hold cut short never leaves the
    // manifest free while documents are held (a prune deletes the manifest first).
    versions.sort_by_key(|v| (v.key == manifest) != on);
    let mut objects = 0;
    for v in &versions {
        objects += u64::from(
            store
                .set_legal_hold(&v.key, Some(&v.version_id), on)
                .await?,
        );
    }
    let record = LegalHoldRecord {
        backup_date: date,
        on,
        at,
        by,
        objects,
    };
    let body = record.to_json();
    let put = legal_hold_put(options, date, &body);
    store.put(&put, body.into()).await?;
    // Best effort: an unreleased lease lapses by itself.
    let _ = lease.release(at).await;
    Ok(HoldOutcome {
        date,
        on,
        objects,
        record_key: put.key,
    })
}
