//! A day's committed manifest read from a store: the one way the executor (is the day done?),
//! the verifier and the restores load it. The bytes are bounded before they are read, and the
//! core decides whether they are the day's backup ([`Manifest::from_committed`]).

use docvault_core::manifest::check_manifest_size;
use docvault_core::{BackupDate, CommittedError, KeyPrefix, Layout, Manifest, ManifestForm};

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
/// `limit` bytes are read ([`docvault_core::manifest::max_manifest_bytes`]) for the manifest,
/// and as much again for the parts of a day written in parts, each read to the size its root
/// records and joined ([`docvault_core::manifest::parted`]).
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
    let invalid = |key: &str, source| LoadError::Invalid {
        key: key.to_owned(),
        source,
    };
    let mut join = match ManifestForm::from_committed(&object.body, date) {
        Ok(ManifestForm::Whole(manifest)) => return Ok(Some(manifest)),
        Ok(ManifestForm::Parted(join)) => join,
        Err(source) => return Err(invalid(&key, source)),
    };
    check_manifest_size(join.root().parts_size(), limit).map_err(|e| invalid(&key, e))?;
    while let Some(part) = join.next_part() {
        let part_key = prefix.join(&part.key);
        let joined = match store.get(&part_key, part.size_bytes).await {
            Ok(Some(object)) => join.add(&object.body),
            Ok(None) => Err(join.missing()),
            Err(StoreError::TooLarge { size, .. }) => Err(join.oversized(Some(size))),
            Err(source) => {
                return Err(LoadError::Store {
                    key: part_key,
                    source,
                });
            }
        };
        joined.map_err(|e| invalid(&key, CommittedError::Invalid(e)))?;
    }
    join.finish()
        .map(Some)
        .map_err(|e| invalid(&key, CommittedError::Invalid(e)))
}

/// The key of `date`'s manifest below `prefix`.
pub fn manifest_key(prefix: &KeyPrefix, date: BackupDate) -> String {
    prefix.join(&Layout::new(date).manifest_key())
}
