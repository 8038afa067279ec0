//! A day's committed manifest read from a store: the one way the executor (is the day done?),
//! the verifier and the restores load it. The bytes are bounded before they are read, and the
//! core decides whether they are the day's backup ([`Manifest::from_committed`]).

use docvault_core::{BackupDate, CommittedError, KeyPrefix, Layout, Manifest};

use crate::store::{ObjectStore, StoreError};

/// Why a day's manifest could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// The store failed.
    #[error("could not read {key}: {source}")]
    Store {
        /// The manifest's key.
        key: String,
        /// Why.
        #[source]
        source: StoreError,
    },
    /// The bytes there are not the day's backup.
    #[error("{key} cannot be used: {source}")]
    Invalid {
        /// The manifest's key.
        key: String,
        /// Why.
        #[source]
        source: CommittedError,
    },
}

impl LoadError {
    /// The store's error, when the store failed.
    pub fn store_error(&self) -> Option<&StoreError> {
        match self {
            Self::Store { source, .. } => Some(source),
            Self::Invalid { .. } => None,
        }
    }
}

/// The committed manifest of `date` below `prefix`, or `None` when the day has none; at most
/// `limit` bytes are read ([`docvault_core::manifest::max_manifest_bytes`]).
///
/// # Errors
/// [`LoadError`].
pub async fn load_committed<S: ObjectStore>(
    store: &S,
    prefix: &KeyPrefix,
    date: BackupDate,
    limit: u64,
) -> Result<Option<Manifest>, LoadError> {
    let key = manifest_key(prefix, date);
    let object = match store.get(&key, limit).await {
        Ok(object) => object,
        Err(StoreError::TooLarge { size, limit, .. }) => {
            return Err(LoadError::Invalid {
                key,
                source: CommittedError::TooLarge { size, limit },
            });
        }
        Err(source) => return Err(LoadError::Store { key, source }),
    };
    let Some(object) = object else {
        return Ok(None);
    };
    Manifest::from_committed(&object.body, date)
        .map(Some)
        .map_err(|source| LoadError::Invalid { key, source })
}

/// The key of `date`'s manifest below `prefix`.
pub fn manifest_key(prefix: &KeyPrefix, date: BackupDate) -> String {
    prefix.join(&Layout::new(date).manifest_key())
}
