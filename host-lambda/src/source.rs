//! Documents from an S3 prefix (`DOCUMENT_SOURCE=s3://bucket/prefix`): real documents that
//! business systems drop into a landing bucket.
//!
//! * **Which objects.** Every object under the prefix, where `{date}` in the prefix stands for
//!   the backup date (`s3://landing/scans/{date}/` backs up that day's folder; without it the
//!   whole prefix is backed up each night). Folder markers (keys ending in `/`) are skipped.
//!   The objects are listed with `ListObjectsV2`, or, when `SOURCE_INVENTORY` names the
//!   source's S3 Inventory (CSV), read from the first daily report begun after the day ended
//!   ([`docvault_s3::inventory`]): the report's checksums are checked and a missing report
//!   stops the run rather than backing up a partial listing.
//! * **What they become.** The key below the prefix is the document id, so the backup keeps
//!   the tree; type, department and content type follow [`docvault_core::convention`] (as for a
//!   directory), and the created date is the object's `LastModified`.
//! * **How they are read.** Each object is read in a stream (`GetObject` with `If-Match` on the
//!   listed ETag, so a replaced object is refused rather than mixed) and hashed as it arrives.
//!   Bodies up to [`SourceOptions::buffer_limit`] are kept from that one read and uploaded from
//!   memory; larger ones are not held: they are streamed from the source a second time straight
//!   into the backup `PutObject`, whose `x-amz-checksum-sha256` (from the first read) makes S3
//!   refuse anything that differs.
//! * **Large objects go in parts.** Above [`SourceOptions::multipart_threshold`] an object is
//!   hashed part by part too, and uploaded as a multipart upload, each part with its own
//!   SHA-256 (S3 checks each). S3 then keeps the SHA-256 of the parts' digests, which the
//!   manifest records next to the body's SHA-256 ([`docvault_core::UploadParts`]), so such an
//!   object is verified without reading it too. At most
//!   [`MULTIPART_UPLOADS_AT_ONCE`](docvault_s3::store::MULTIPART_UPLOADS_AT_ONCE) run at once, each
//!   holding one part, so bodies in memory stay within `UPLOAD_CONCURRENCY` x
//!   `SOURCE_BUFFER_BYTES` + 4 x `MULTIPART_PART_BYTES` (192 MiB by default).
//! * **Nothing disappears.** An object that cannot be read (deleted or replaced after the
//!   listing, archived in Glacier, permission denied), whose key is not a valid document id, or
//!   that would need more than 10,000 parts, is recorded as a failed document with the reason;
//!   the run is then incomplete and reports failure.

use std::sync::Arc;

use docvault_core::convention::attributes;
use docvault_core::{
    BackupDate, Document, DocumentId, FailedDocument, FailureStage, Layout, PartedHasher, Timestamp,
};

use docvault_core::inventory::InventoryLimits;
use docvault_s3::executor::{Body, Fetch, Fetched, Incoming};
use docvault_s3::inventory::{self, InventoryReadError};
use docvault_s3::split::{MAX_PARTS, upload_split};
use docvault_s3::store::{ListedObject, ObjectStore, StoreError};

/// Where the documents are and how to read them.
///
/// Sizes: bodies up to `buffer_limit` are held from their one read; above
/// `multipart_threshold` (at most S3's single-PUT limit) they go up in parts of `part_size`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceOptions {
    /// Source bucket.
    pub bucket: String,
    /// Key prefix; `{date}` stands for the backup date.
    pub prefix: String,
    /// Bodies up to this size are kept in memory from their one read; larger ones are read a
    /// second time, in a stream, for the upload.
    pub buffer_limit: u64,
    /// Bodies larger than this (at most S3's 5 GiB single-PUT limit) are uploaded in parts.
    pub multipart_threshold: u64,
    /// Bytes per part (at least [`MIN_PART_SIZE`]).
    pub part_size: u64,
    /// Where the source bucket's S3 Inventory is, when its reports list the source.
    pub inventory: Option<InventoryAt>,
}

/// The folder of an S3 Inventory (`SOURCE_INVENTORY`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InventoryAt {
    /// The inventory's destination bucket.
    pub bucket: String,
    /// `destination-prefix/source-bucket/config-ID/`, with its slash.
    pub folder: String,
    /// What a report may hold in memory (a quarter of the function's).
    pub limits: InventoryLimits,
}

impl SourceOptions {
    /// The prefix for `date`.
    pub fn prefix_for(&self, date: BackupDate) -> String {
        self.prefix.replace("{date}", &date.to_string())
    }

    /// `s3://bucket/prefix` for `date`, as recorded in the manifest.
    pub fn uri_for(&self, date: BackupDate) -> String {
        format!("s3://{}/{}", self.bucket, self.prefix_for(date))
    }
}

/// Where a day's source is listed from: the source bucket's store, and the inventory bucket's
/// store when `SOURCE_INVENTORY` is set.
#[derive(Debug)]
pub struct SourceStores<'a, S> {
    /// The source bucket.
    pub source: &'a S,
    /// The bucket of the source's S3 Inventory reports.
    pub inventory: Option<&'a S>,
}

// Two shared references are copied whatever `S` is; a derive would ask `S: Copy`.
impl<S> Clone for SourceStores<'_, S> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<S> Copy for SourceStores<'_, S> {}

/// Why a day's source could not be listed.
#[derive(Debug, thiserror::Error)]
pub enum ListError {
    /// `ListObjectsV2` failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The day's inventory report could not be read or used.
    #[error(transparent)]
    Inventory(#[from] InventoryReadError),
}

/// Lists the documents of `date` (see [`list_objects`]) as executor input: a [`Fetch`] per
/// object that reads and hashes it inside an upload slot, or a failure record for an object
/// that cannot be a document.
///
/// # Errors
/// [`ListError`]: the listing's store error, or the inventory report's.
pub async fn list_documents<S: ObjectStore>(
    stores: SourceStores<'_, S>,
    options: &SourceOptions,
    date: BackupDate,
    at: Timestamp,
) -> Result<Vec<Incoming>, ListError> {
    let objects = list_objects(stores, options, date).await?;
    Ok(incoming(stores.source, options, date, at, objects))
}

/// The objects of `date`, in key order: every object below the day's prefix but folder
/// markers, listed by `ListObjectsV2`, or read from the source's S3 Inventory report that
/// covers the day when `options.inventory` is set ([`docvault_s3::inventory`]).
///
/// # Errors
/// [`ListError`]: the listing's store error, or the inventory report's.
pub async fn list_objects<S: ObjectStore>(
    stores: SourceStores<'_, S>,
    options: &SourceOptions,
    date: BackupDate,
) -> Result<Vec<ListedObject>, ListError> {
    let prefix = options.prefix_for(date);
    let mut listed = match (&options.inventory, stores.inventory) {
        (None, _) => stores.source.list(&prefix).await?,
        (Some(at), Some(store)) => {
            let listing =
                inventory::list(store, &at.folder, &options.bucket, &prefix, date, at.limits)
                    .await?;
            tracing::info!(report = %listing.manifest_key, objects = listing.objects.len(),
                "listed the source from its inventory report");
            listing.objects
        }
        (Some(_), None) => {
            return Err(ListError::Store(StoreError::Transient(
                "this host built no store for the inventory bucket".into(),
            )));
        }
    };
    listed.retain(|object| {
        let marker = object.key.ends_with('/') && object.size == 0;
        if marker {
            tracing::debug!(key = %object.key, "skipping a folder marker");
        }
        !marker && object.key.starts_with(&prefix)
    });
    Ok(listed)
}

/// The document id of a listed object: its key below the day's prefix (which
/// [`list_objects`] guarantees).
pub fn relative_key<'k>(options: &SourceOptions, date: BackupDate, key: &'k str) -> &'k str {
    let prefix = options.prefix_for(date);
    key.strip_prefix(prefix.as_str()).unwrap_or(key)
}

/// Listed objects as executor input (see [`list_documents`]).
pub fn incoming<S: ObjectStore>(
    source: &S,
    options: &SourceOptions,
    date: BackupDate,
    at: Timestamp,
    objects: impl IntoIterator<Item = ListedObject>,
) -> Vec<Incoming> {
    let layout = Layout::new(date);
    let mut out = Vec::new();
    for object in objects {
        let relative = relative_key(options, date, &object.key).to_owned();
        let uri = format!("s3://{}/{}", options.bucket, object.key);
        let failed = |reason: String| {
            Incoming::Failed(FailedDocument {
                document_id: relative.clone(),
                source: Some(uri.clone()),
                stage: FailureStage::Read,
                reason,
                attempts: 0,
            })
        };
        let id = match DocumentId::new(&relative) {
            Ok(id) => id,
            Err(e) => {
                out.push(failed(format!(
                    "its key below the source prefix is not a valid document id ({e}): rename it"
                )));
                continue;
            }
        };
        let part_size =
            match upload_split(object.size, options.multipart_threshold, options.part_size) {
                Ok(part_size) => part_size,
                Err(_) => {
                    out.push(failed(format!(
                        "it is {} bytes: more than {MAX_PARTS} parts of {} bytes (the most one \
                         upload has); raise MULTIPART_PART_BYTES",
                        object.size, options.part_size
                    )));
                    continue;
                }
            };
        out.push(Incoming::Fetch(Fetch {
            document_id: id.to_string(),
            source: Some(uri.clone()),
            read: Box::pin(read(
                source.clone(),
                object,
                Named {
                    object_key: layout.document_key(&id, None),
                    id,
                    uri,
                },
                Reading {
                    buffer_limit: options.buffer_limit,
                    part_size,
                    at,
                },
            )),
        }));
    }
    out
}

/// What a listed object is called: its document id, its backup key, its source URI.
struct Named {
    id: DocumentId,
    object_key: String,
    uri: String,
}

/// How to read one object.
struct Reading {
    buffer_limit: u64,
    /// Hash it in parts of this size too (it will be uploaded in parts).
    part_size: Option<u64>,
    /// The backup time (the created date when the store gives no `LastModified`).
    at: Timestamp,
}

/// Reads one listed object in a stream, hashing it; keeps the body if it is small enough.
async fn read<S: ObjectStore>(
    source: S,
    object: ListedObject,
    name: Named,
    reading: Reading,
) -> Result<Fetched, FailedDocument> {
    let Reading {
        buffer_limit,
        part_size,
        at,
    } = reading;
    let Named {
        id,
        object_key,
        uri,
    } = name;
    let fail = |reason: String| FailedDocument {
        document_id: id.to_string(),
        source: Some(uri.clone()),
        stage: FailureStage::Read,
        reason,
        attempts: 1,
    };
    let ListedObject {
        key,
        size,
        etag,
        last_modified,
    } = object;
    let mut stream = open(&source, &key, etag.as_deref())
        .await
        .map_err(|e| fail(e.to_string()))?;
    let keep = size <= buffer_limit;
    let mut body = Vec::with_capacity(if keep {
        usize::try_from(size).unwrap_or(0)
    } else {
        0
    });
    let mut hasher = PartedHasher::new(part_size);
    let mut read: u64 = 0;
    loop {
        match stream.try_next().await {
            Ok(Some(chunk)) => {
                hasher.update(&chunk);
                read += chunk.len() as u64;
                if keep && read <= size {
                    body.extend_from_slice(&chunk);
                }
            }
            Ok(None) => break,
            Err(e) => {
                return Err(fail(format!(
                    "reading it failed after {read} of {size} bytes: {e}; rerun the backup"
                )));
            }
        }
    }
    if read != size {
        return Err(fail(format!(
            "it changed while being read ({size} bytes listed, {read} bytes read): nothing was \
             stored; rerun the backup once it is stable"
        )));
    }
    let (checksum, parts) = hasher.finish();
    let attrs = attributes(&id);
    let document = Document {
        object_key,
        document_id: id,
        doc_type: attrs.doc_type,
        created_date: last_modified
            .and_then(Timestamp::from_unix_seconds)
            .unwrap_or(at),
        file_size: size,
        checksum,
        content_type: attrs.content_type,
        source: Some(uri),
        parts: parts.map(Box::new),
        metadata: attrs.metadata,
    };
    let body = if keep {
        Body::Bytes(body.into())
    } else {
        let source = Arc::new(source);
        Body::Stream(Arc::new(move || {
            let (source, key, etag) = (Arc::clone(&source), key.clone(), etag.clone());
            Box::pin(async move { open(source.as_ref(), &key, etag.as_deref()).await })
        }))
    };
    Ok(Fetched { document, body })
}

/// Opens `key` as listed (with its ETag), with errors that say what happened to it.
async fn open<S: ObjectStore>(
    source: &S,
    key: &str,
    etag: Option<&str>,
) -> Result<aws_sdk_s3::primitives::ByteStream, StoreError> {
    match source.get_stream(key, etag).await {
        Ok(Some(stream)) => Ok(stream),
        Ok(None) => Err(StoreError::Transient(
            "it was deleted after it was listed: nothing was stored".to_owned(),
        )),
        Err(StoreError::PreconditionFailed) => Err(StoreError::Transient(
            "it was replaced after it was listed (its ETag changed): nothing was stored; rerun \
             the backup"
                .to_owned(),
        )),
        Err(e) => Err(e),
    }
}
