//! Legal hold on a whole day: set on (or cleared from) every object the day holds, then recorded
//! beside its manifest.
//!
//! Which objects a hold covers is the core's rule ([`Layout::is_held_with_day`]): everything
//! under the day's folder but its lease and its hold record. The record
//! (`backups/{date}/legal-hold.json`, a [`LegalHoldRecord`]) is written only after every object
//! answered, so a record saying "on" means every object was held when it was written; an
//! interrupted hold is repeated by sending it again (setting a hold twice changes nothing).

use docvault_core::plan::legal_hold_put;
use docvault_core::{BackupDate, Layout, LegalHoldRecord, PlanOptions, Timestamp};
use futures::StreamExt as _;
use serde::Serialize;

use crate::store::{ObjectStore, StoreError};

/// What a hold request did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HoldOutcome {
    /// The day.
    pub date: BackupDate,
    /// Whether the day is now on hold.
    pub on: bool,
    /// Objects whose hold was set or cleared.
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
    concurrency: usize,
) -> Result<HoldOutcome, HoldError> {
    let layout = Layout::new(date);
    let day = options.prefix.join(layout.day_prefix());
    let keys: Vec<String> = store
        .list(&day)
        .await?
        .into_iter()
        .map(|o| o.key)
        .filter(|key| {
            options
                .prefix
                .strip(key)
                .is_some_and(|relative| layout.is_held_with_day(relative))
        })
        .collect();
    if keys.is_empty() {
        return Err(HoldError::NothingToHold { date, prefix: day });
    }
    let results = futures::stream::iter(keys)
        .map(|key| {
            let store = store.clone();
            async move { store.set_legal_hold(&key, on).await }
        })
        .buffer_unordered(concurrency.max(1))
        .collect::<Vec<_>>()
        .await;
    let mut objects = 0;
    for result in results {
        // An object deleted since the listing has nothing left to hold.
        objects += u64::from(result?);
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
    Ok(HoldOutcome {
        date,
        on,
        objects,
        record_key: put.key,
    })
}
