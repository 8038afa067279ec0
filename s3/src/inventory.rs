//! A day's source listing read from an S3 Inventory report instead of `ListObjectsV2`: the
//! report the core chooses ([`docvault_core::inventory`]), its manifest checked against its
//! `manifest.checksum`, each gzipped CSV file checked against the manifest's size and MD5 and
//! read row by row. The result is the listing `ListObjectsV2` gives for the same objects.

use docvault_core::BackupDate;
use docvault_core::inventory::{
    self, Expected, InventoryError, InventoryLimits, InventoryManifest,
};
use flate2::read::MultiGzDecoder;
use md5::{Digest, Md5};

use crate::store::{ListedObject, ObjectStore, StoreError};

/// The largest `manifest.json` read (a report of millions of objects lists a few thousand
/// files).
pub const MAX_MANIFEST_BYTES: u64 = 16 << 20;

/// Why a listing could not be read from an inventory report.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InventoryReadError {
    /// The inventory bucket could not be read.
    #[error("could not read {key} from the inventory bucket: {source}")]
    Store {
        /// The key (or folder) read.
        key: String,
        /// The store's answer.
        #[source]
        source: StoreError,
    },
    /// An object the report needs is not there (yet).
    #[error(
        "the inventory report has no {key}: S3 may still be writing the report; plan again \
         once it is complete"
    )]
    Missing {
        /// The key.
        key: String,
    },
    /// The report cannot be the day's listing.
    #[error(transparent)]
    Report(#[from] InventoryError),
}

impl InventoryReadError {
    /// The store's error, when the store failed.
    pub fn store_error(&self) -> Option<&StoreError> {
        match self {
            Self::Store { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// A listing read from a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InventoryListing {
    /// The key of the report's `manifest.json`.
    pub manifest_key: String,
    /// The objects of `source_bucket` under the prefix, in key order.
    pub objects: Vec<ListedObject>,
}

/// Lists the objects of `source_bucket` whose keys start with `prefix` from the report in
/// `folder` of `store` (the inventory bucket) that covers `date`, holding at most what
/// `limits` allow.
///
/// # Errors
/// [`InventoryReadError`]: the store, a report not complete yet, a report that cannot be the
/// day's listing (none begun after the day ended, not CSV, another bucket, an altered or
/// missing data file, an unreadable row, more than the limits).
pub async fn list<S: ObjectStore>(
    store: &S,
    folder: &str,
    source_bucket: &str,
    prefix: &str,
    date: BackupDate,
    limits: InventoryLimits,
) -> Result<InventoryListing, InventoryReadError> {
    let store_error = |key: &str| {
        let key = key.to_owned();
        move |source| InventoryReadError::Store { key, source }
    };
    let folders = store.folders(folder).await.map_err(store_error(folder))?;
    let names = folders
        .iter()
        .map(|f| f.strip_prefix(folder).unwrap_or(f).trim_end_matches('/'));
    let report = inventory::choose_report(folder, names, date)?;
    let manifest_key = format!("{folder}{report}/manifest.json");
    let checksum_key = format!("{folder}{report}/manifest.checksum");
    let json = read(store, &manifest_key, MAX_MANIFEST_BYTES).await?;
    let checksum = read(store, &checksum_key, 1024).await?;
    let recorded = String::from_utf8_lossy(&checksum)
        .trim()
        .to_ascii_lowercase();
    let manifest_file = inventory::InventoryFile {
        key: manifest_key.clone(),
        size: json.len() as u64,
        md5: recorded,
    };
    manifest_file.check(json.len() as u64, &md5_hex(&json))?;
    let expected = Expected {
        folder,
        source_bucket,
        date,
        limits,
    };
    let manifest = InventoryManifest::from_json(&manifest_key, &json, &expected)?;
    let mut objects = Vec::new();
    for file in &manifest.files {
        // S3 writes the data files before the manifest: one missing now was removed.
        let body = match read(store, &file.key, file.size).await {
            Err(InventoryReadError::Missing { key }) => {
                return Err(InventoryError::FileAltered {
                    key,
                    reason: "it is missing".into(),
                }
                .into());
            }
            read => read?,
        };
        file.check(body.len() as u64, &md5_hex(&body))?;
        // Every gzip member: a file of several members read as one would lose rows.
        let csv = MultiGzDecoder::new(body.as_ref());
        manifest.read_rows(file, csv, prefix, &mut objects)?;
    }
    let objects = inventory::finish(objects)?
        .into_iter()
        .map(|o| ListedObject {
            key: o.key,
            size: o.size,
            etag: Some(o.etag),
            last_modified: Some(o.last_modified),
        })
        .collect();
    Ok(InventoryListing {
        manifest_key,
        objects,
    })
}

async fn read<S: ObjectStore>(
    store: &S,
    key: &str,
    limit: u64,
) -> Result<bytes::Bytes, InventoryReadError> {
    match store.get(key, limit).await {
        Ok(Some(object)) => Ok(object.body),
        Ok(None) => Err(InventoryReadError::Missing {
            key: key.to_owned(),
        }),
        Err(StoreError::TooLarge { size, .. }) => Err(InventoryError::FileAltered {
            key: key.to_owned(),
            reason: format!("{size} bytes, more than the {limit} expected"),
        }
        .into()),
        Err(source) => Err(InventoryReadError::Store {
            key: key.to_owned(),
            source,
        }),
    }
}

fn md5_hex(bytes: &[u8]) -> String {
    Md5::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
