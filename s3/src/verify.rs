//! Verifies a stored day against its manifest, reading as little as it can.
//!
//! Requests: one GET (the manifest), one listing of the day's `documents/` (a page per 1,000
//! keys), and one HEAD per listed object with checksum mode, which returns the checksum S3
//! keeps for objects written with `x-amz-checksum-sha256`, the object's encryption and its
//! Object Lock; for a day with a retention, one tagging read per object (its class tag). With a
//! read fraction, the documents the core picks from the manifest ([`read_sample`]) are also
//! downloaded and re-hashed, one chunk at a time. The comparison is the core's
//! ([`verify_objects`]): an object whose bytes a read confirmed is verified whatever the store
//! keeps; one that nothing checks is reported as unverified, a problem only when the policy
//! requires stored checksums.
//!
//! The Lambda (a `verify` event) and the sandbox runner (`verify --dest s3://...`) both call
//! [`verify_day`].

use std::collections::BTreeMap;

use docvault_core::plan::RETENTION_TAG;
use docvault_core::verify::{
    ObservedObject, RetentionMismatch, VerifyPolicy, VerifyReport, read_sample, verify_objects,
};
use docvault_core::{BackupDate, KeyPrefix, Layout};
use futures::StreamExt as _;
use serde::Serialize;

use crate::manifest::{LoadError, load_committed, manifest_key};
use crate::store::{ObjectStore, StoreError};
use crate::stream::hash_stream;

/// What to verify.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// Key prefix of the backup root in the bucket.
    pub prefix: KeyPrefix,
    /// The day.
    pub date: BackupDate,
    /// What to require.
    pub policy: VerifyPolicy,
    /// Fraction of documents to download and re-hash (0: none).
    pub read_fraction: f64,
    /// HEAD (and GET) requests in flight.
    pub concurrency: usize,
    /// The largest manifest loaded.
    pub manifest_limit: u64,
}

/// Requests a verification made, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RequestCounts {
    /// GETs: the manifest, and the sampled documents.
    pub get: u64,
    /// HEADs: one per listed object.
    pub head: u64,
    /// Listings (one call per page).
    pub list: u64,
    /// Tagging reads: one per listed object of a day with a retention.
    pub tagging: u64,
}

/// The result of verifying a day in a store.
#[derive(Debug, Clone, Serialize)]
pub struct Verification {
    /// The manifest's key.
    pub manifest_key: String,
    /// Documents the manifest lists.
    pub documents: u64,
    /// The comparison (missing, extra, resized, altered, wrongly encrypted objects).
    pub report: VerifyReport,
    /// Documents downloaded and re-hashed.
    pub read_sampled: u64,
    /// Requests made.
    pub requests: RequestCounts,
}

impl Verification {
    /// Problems found.
    pub fn problems(&self) -> u64 {
        self.report.problem_count() as u64
    }
}

/// Why a day could not be verified at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// There is no manifest: the day was never backed up, or not completely.
    #[error(
        "{key} does not exist: {date} has no complete backup (look for an incomplete-run report \
         under its incomplete/ folder)"
    )]
    NoManifest {
        /// The manifest key looked for.
        key: String,
        /// The day.
        date: BackupDate,
    },
    /// The manifest cannot be loaded.
    #[error(transparent)]
    Manifest(LoadError),
    /// The store failed.
    #[error("{0}")]
    Store(#[from] StoreError),
}

impl VerifyError {
    /// The store error behind this one, when a store failed.
    pub fn store_error(&self) -> Option<&StoreError> {
        match self {
            Self::Store(e) => Some(e),
            Self::Manifest(e) => e.store_error(),
            Self::NoManifest { .. } => None,
        }
    }
}

/// Verifies the day `options.date` under `options.prefix` in `store`.
///
/// # Errors
/// [`VerifyError`] when there is nothing to verify or the store fails; problems found are in
/// the returned [`Verification`].
pub async fn verify_day<S: ObjectStore>(
    store: &S,
    options: &VerifyOptions,
) -> Result<Verification, VerifyError> {
    let layout = Layout::new(options.date);
    let prefix = &options.prefix;
    let key = manifest_key(prefix, options.date);
    let mut requests = RequestCounts {
        get: 1,
        ..RequestCounts::default()
    };
    let manifest = load_committed(store, prefix, options.date, options.manifest_limit)
        .await
        .map_err(VerifyError::Manifest)?
        .ok_or_else(|| VerifyError::NoManifest {
            key: key.clone(),
            date: options.date,
        })?;

    let listed = store.list(&prefix.join(&layout.documents_prefix())).await?;
    requests.list = (listed.len() as u64 / 1000) + 1;
    requests.head = listed.len() as u64;
    // A retained day's objects carry its class in a tag, which only a tagging request shows.
    let read_tags = manifest.retention.is_some();
    if read_tags {
        requests.tagging = listed.len() as u64;
    }
    let concurrency = options.concurrency.max(1);
    let heads = futures::stream::iter(listed)
        .map(|object| {
            let store = store.clone();
            let relative = prefix.strip(&object.key).unwrap_or(&object.key).to_owned();
            tokio::spawn(async move {
                let Some(info) = store.head(&object.key).await? else {
                    return Ok(None);
                };
                let mut retention = info.retention;
                if read_tags {
                    retention.class_tag = store
                        .tags(&object.key)
                        .await?
                        .and_then(|mut tags| tags.remove(RETENTION_TAG));
                }
                Ok::<_, StoreError>(Some(ObservedObject {
                    stored_checksum: info.checksum,
                    encryption: Some(info.encryption),
                    retention: Some(retention),
                    ..ObservedObject::new(relative, info.size)
                }))
            })
        })
        .buffer_unordered(concurrency)
        .collect::<Vec<_>>()
        .await;
    let mut observed: BTreeMap<String, ObservedObject> = BTreeMap::new();
    for joined in heads {
        // An object deleted between the listing and its HEAD is simply missing.
        if let Some(object) = joined.map_err(|e| StoreError::Transient(e.to_string()))?? {
            observed.insert(object.key.clone(), object);
        }
    }

    // The sampled documents, downloaded and re-hashed as they stream.
    let sample: Vec<String> = read_sample(&manifest, options.read_fraction)
        .into_iter()
        .map(|d| d.object_key.clone())
        .filter(|k| observed.contains_key(k))
        .collect();
    requests.get += sample.len() as u64;
    let read_sampled = sample.len() as u64;
    let reads = futures::stream::iter(sample)
        .map(|relative| {
            let store = store.clone();
            let full = prefix.join(&relative);
            tokio::spawn(async move {
                let read = match store.get_stream(&full, None).await? {
                    Some(stream) => Some(hash_stream(stream).await),
                    None => None,
                };
                Ok::<_, StoreError>((relative, read))
            })
        })
        .buffer_unordered(concurrency)
        .collect::<Vec<_>>()
        .await;
    for joined in reads {
        let (relative, read) = joined.map_err(|e| StoreError::Transient(e.to_string()))??;
        let Some(object) = observed.get_mut(&relative) else {
            continue;
        };
        match read {
            // Deleted since its HEAD: judged by what the HEAD saw.
            None => {}
            Some(Ok((size, digest))) => {
                object.size = size;
                object.read_checksum = Some(digest);
            }
            Some(Err(e)) => object.read_error = Some(format!("reading it back failed: {e}")),
        }
    }
    let mut report = verify_objects(&manifest, observed.into_values(), &options.policy);
    // The manifest object is held to the day's retention as its documents are: a manifest
    // replaced by an unlocked one would otherwise set the terms it is checked by.
    if let Some(retention) = manifest.retention {
        requests.head += 1;
        requests.tagging += 1;
        if let Some(info) = store.head(&key).await? {
            let mut observed = info.retention;
            observed.class_tag = store
                .tags(&key)
                .await?
                .and_then(|mut tags| tags.remove(RETENTION_TAG));
            if let Some((expected, actual)) = retention.shortfall(&observed) {
                report.retention_mismatch.insert(
                    0,
                    RetentionMismatch {
                        document_id: "(the manifest)".into(),
                        key: prefix.strip(&key).unwrap_or(&key).to_owned(),
                        expected,
                        actual,
                    },
                );
            }
        }
    }
    Ok(Verification {
        manifest_key: key,
        documents: manifest.documents.len() as u64,
        report,
        read_sampled,
        requests,
    })
}
