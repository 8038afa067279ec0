//! Verifies a stored day against its manifest without downloading it.
//!
//! Requests: one GET (the manifest), one listing of the day's `documents/` (a page per 1,000
//! keys), and one HEAD per listed object with checksum mode, which returns the SHA-256 S3 keeps
//! for objects written with `x-amz-checksum-sha256`, and the object's encryption. The
//! comparison is the core's ([`verify_objects_expecting`]). With a read fraction, the documents
//! the core picks from the manifest ([`read_sample`]) are also downloaded and re-hashed: the
//! only GETs of document bodies.
//!
//! The Lambda (a `verify` event) and the wasmtime runner (`verify --dest s3://...`) both call
//! [`verify_day`].

use docvault_core::verify::Mismatch;
use docvault_core::{
    BackupDate, Encryption, Layout, Manifest, ManifestError, ObservedEncryption, ObservedObject,
    Sha256Digest, VerifyReport, read_sample, verify_objects_expecting,
};
use serde::Serialize;
use tokio::task::JoinSet;

use crate::store::{ObjectStore, StoreError};

/// What to verify.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// Key prefix of the backup root in the bucket (`""` or ending in `/`).
    pub prefix: String,
    /// The day.
    pub date: BackupDate,
    /// The encryption every object must have ([`Encryption::None`]: not checked).
    pub expected: Encryption,
    /// Fraction of documents to download and re-hash (0: none).
    pub read_fraction: f64,
    /// HEAD (and GET) requests in flight.
    pub concurrency: usize,
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
        self.report.problems() as u64
    }
}

/// Why a day could not be verified at all.
#[derive(Debug, thiserror::Error)]
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
    /// The manifest exists but does not parse or validate.
    #[error("the manifest {key} is invalid: {source}")]
    CorruptManifest {
        /// Its key.
        key: String,
        /// Why.
        #[source]
        source: ManifestError,
    },
    /// The store failed.
    #[error("{0}")]
    Store(#[from] StoreError),
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
    let manifest_key = format!("{prefix}{}", layout.manifest_key());
    let mut requests = RequestCounts {
        get: 1,
        ..RequestCounts::default()
    };
    let Some(bytes) = store.get(&manifest_key).await? else {
        return Err(VerifyError::NoManifest {
            key: manifest_key,
            date: options.date,
        });
    };
    let manifest = Manifest::from_json(&String::from_utf8_lossy(&bytes)).map_err(|source| {
        VerifyError::CorruptManifest {
            key: manifest_key.clone(),
            source,
        }
    })?;

    let listed = store
        .list(&format!("{prefix}{}", layout.documents_prefix()))
        .await?;
    requests.list = (listed.len() as u64 / 1000) + 1;
    let concurrency = options.concurrency.max(1);
    let mut observed = Vec::with_capacity(listed.len());
    let mut tasks: JoinSet<Result<Option<ObservedObject>, StoreError>> = JoinSet::new();
    let mut pending = listed.into_iter();
    loop {
        while tasks.len() < concurrency {
            let Some(object) = pending.next() else { break };
            let store = store.clone();
            let relative = object.key[prefix.len()..].to_owned();
            requests.head += 1;
            tasks.spawn(async move {
                Ok(store.head(&object.key).await?.map(|info| ObservedObject {
                    key: relative,
                    size: info.size,
                    checksum: info.checksum,
                    checksum_parts: info.checksum_parts,
                    encryption: Some(ObservedEncryption {
                        algorithm: info.encryption,
                        kms_key_id: info.kms_key_id,
                    }),
                }))
            });
        }
        let Some(joined) = tasks.join_next().await else {
            break;
        };
        // An object deleted between the listing and its HEAD is simply missing.
        if let Some(object) = joined.map_err(|e| StoreError::Transient(e.to_string()))?? {
            observed.push(object);
        }
    }
    let present: std::collections::BTreeSet<String> =
        observed.iter().map(|o| o.key.clone()).collect();
    let mut report = verify_objects_expecting(&manifest, observed, &options.expected);

    // The sampled documents, downloaded and re-hashed.
    let mut read_sampled = 0;
    for doc in read_sample(&manifest, options.read_fraction) {
        if !present.contains(&doc.object_key) {
            continue;
        }
        requests.get += 1;
        read_sampled += 1;
        let key = format!("{prefix}{}", doc.object_key);
        let actual = match store.get(&key).await? {
            Some(body) => Sha256Digest::of(&body),
            None => continue,
        };
        if actual != doc.checksum
            && !report
                .checksum_mismatch
                .iter()
                .any(|m| m.key == doc.object_key)
        {
            report.checksum_mismatch.push(Mismatch {
                document_id: doc.document_id.to_string(),
                key: doc.object_key.clone(),
                expected: doc.checksum.to_string(),
                actual: format!("{actual} (downloaded bytes)"),
            });
        }
    }
    report.checksum_mismatch.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(Verification {
        manifest_key,
        documents: manifest.documents.len() as u64,
        report,
        read_sampled,
        requests,
    })
}
