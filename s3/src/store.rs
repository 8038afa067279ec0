//! The object store port and its S3 implementation.
//!
//! [`ObjectStore`] is the small surface the executor, the verifier and the restores need: put
//! (with the core's headers; create-only or conditional on an ETag when asked), get (small
//! objects, bounded), head with checksum, list, and streamed reads and writes. [`S3Store`]
//! implements it with aws-sdk-s3; [`crate::memory`] in memory, for tests that inject faults at
//! any point.
//!
//! Errors are classified for the callers' decisions ([`StoreError`]); a refusal carries the
//! store's code and message and what kind of refusal it is ([`Refusal`]), and each host adds its
//! own fix (the Lambda names its variables, the runner its flags).

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::Arc;

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::{ByteStream, DateTime};
use aws_sdk_s3::types::{
    ChecksumAlgorithm, ChecksumMode, CompletedMultipartUpload, CompletedPart, ObjectLockLegalHold,
    ObjectLockLegalHoldStatus, ObjectLockMode, ServerSideEncryption,
};
use bytes::{Bytes, BytesMut};
use docvault_core::verify::StoreChecksum;
use docvault_core::{
    Encryption, ObjectLock, ObjectPut, ObservedEncryption, ObservedRetention, Sha256Digest,
    Sha256Hasher, Timestamp, UploadParts,
};
use tokio::sync::Semaphore;

/// What the store says about an existing object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    /// Size in bytes.
    pub size: u64,
    /// The checksum the store keeps for it, when it keeps one (S3 does for objects written
    /// with `x-amz-checksum-sha256`; some S3-compatible stores do not).
    pub checksum: Option<StoreChecksum>,
    /// Server-side encryption as reported.
    pub encryption: ObservedEncryption,
    /// Entity tag.
    pub etag: Option<String>,
    /// Object Lock and legal hold as reported (S3 reports them to callers allowed
    /// `s3:GetObjectRetention` and `s3:GetObjectLegalHold`); the class tag is read apart
    /// ([`ObjectStore::tags`]).
    pub retention: ObservedRetention,
}

/// One object of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedObject {
    /// Full key.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// Entity tag, when the store gives one (used to read exactly the version listed).
    pub etag: Option<String>,
    /// Last modification, in Unix seconds, when the store gives it.
    pub last_modified: Option<i64>,
}

/// One version of an object (or a delete marker) in a versioned bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectVersion {
    /// Full key.
    pub key: String,
    /// Its version id (`null` for an object written before versioning).
    pub version_id: String,
    /// Whether it is a delete marker.
    pub delete_marker: bool,
}

/// A small object read whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredObject {
    /// Its bytes.
    pub body: Bytes,
    /// Its entity tag, for a later write conditional on it.
    pub etag: Option<String>,
}

/// What a write left.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Written {
    /// The new object's entity tag, when the store gives it.
    pub etag: Option<String>,
}

/// What kind of refusal retrying cannot fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Credentials or permissions (`AccessDenied`, `InvalidAccessKeyId`, ...).
    Denied,
    /// The bucket does not exist.
    NoSuchBucket,
    /// The KMS key cannot be used.
    KmsKey,
    /// The request was refused as invalid (a bad bucket name, prefix or key id).
    Invalid,
    /// An object lock was asked of a bucket without Object Lock enabled.
    LockNotEnabled,
}

/// Why a store call failed, classified for the caller's decisions.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A conditional write found the object there (create-only) or changed (`If-Match`).
    #[error("the object already exists or changed (a conditional write was refused)")]
    PreconditionFailed,
    /// The store refused the body because it does not match its checksum.
    #[error("the store refused the body: it does not match x-amz-checksum-sha256 ({0})")]
    ChecksumMismatch(String),
    /// Retrying cannot help: permissions, a missing bucket, an unusable KMS key, a bad request.
    /// The run stops and reports this; the host says what to fix for each [`Refusal`].
    #[error("{code}: {message}")]
    Refused {
        /// Service error code (`AccessDenied`, `NoSuchBucket`, `KMS.NotFoundException`...).
        code: String,
        /// Service message.
        message: String,
        /// What kind of refusal.
        refusal: Refusal,
    },
    /// An object read whole is larger than the caller allows.
    #[error("{key} is {size} bytes, more than the {limit} bytes allowed here")]
    TooLarge {
        /// The key.
        key: String,
        /// Its size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// Still failing after the SDK's retries with backoff (throttling, 5xx, network).
    #[error("{0}")]
    Transient(String),
}

impl StoreError {
    /// Whether the run must stop (retrying other objects cannot succeed either).
    pub fn is_fatal(&self) -> bool {
        matches!(self, Self::Refused { .. } | Self::TooLarge { .. })
    }

    /// The kind of refusal, when this is one.
    pub fn refusal(&self) -> Option<Refusal> {
        match self {
            Self::Refused { refusal, .. } => Some(*refusal),
            _ => None,
        }
    }
}

/// The object store the executor writes to.
pub trait ObjectStore: Clone + Send + Sync + 'static {
    /// Stores `body` as `put` says (headers, checksum, encryption, tags, and the condition:
    /// create-only with `if_none_match`, only over the given ETag with `if_match`).
    fn put(
        &self,
        put: &ObjectPut,
        body: Bytes,
    ) -> impl Future<Output = Result<Written, StoreError>> + Send;
    /// Reads a whole object of at most `limit` bytes; `None` when it does not exist.
    fn get(
        &self,
        key: &str,
        limit: u64,
    ) -> impl Future<Output = Result<Option<StoredObject>, StoreError>> + Send;
    /// Describes an object without reading it; `None` when it does not exist.
    fn head(
        &self,
        key: &str,
    ) -> impl Future<Output = Result<Option<ObjectInfo>, StoreError>> + Send;
    /// Sets or clears the legal hold on one version of the object (its current one when
    /// `version_id` is `None`); `false` when it does not exist.
    fn set_legal_hold(
        &self,
        key: &str,
        version_id: Option<&str>,
        on: bool,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// The object's tags, in key order; `None` when it does not exist.
    fn tags(
        &self,
        key: &str,
    ) -> impl Future<Output = Result<Option<BTreeMap<String, String>>, StoreError>> + Send;
    /// The folders right below `prefix` (keys up to the next `/`, with it), in order.
    fn folders(&self, prefix: &str)
    -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;
    /// Every version and delete marker of every key below `prefix`.
    fn versions(
        &self,
        prefix: &str,
    ) -> impl Future<Output = Result<Vec<ObjectVersion>, StoreError>> + Send;
    /// Deletes one version (or delete marker) for good. A locked or held version is refused.
    fn delete_version(
        &self,
        key: &str,
        version_id: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Every object whose key starts with `prefix`, in key order.
    fn list(
        &self,
        prefix: &str,
    ) -> impl Future<Output = Result<Vec<ListedObject>, StoreError>> + Send;
    /// Opens an object for reading in a stream; `None` when it does not exist. With `if_match`,
    /// fails with [`StoreError::PreconditionFailed`] when the object no longer has that entity
    /// tag (it changed since it was listed).
    fn get_stream(
        &self,
        key: &str,
        if_match: Option<&str>,
    ) -> impl Future<Output = Result<Option<ByteStream>, StoreError>> + Send;
    /// Stores a body that arrives in a stream (of exactly `put.content_length` bytes, whose
    /// SHA-256 is `put.checksum_sha256`: the store refuses it otherwise).
    fn put_stream(
        &self,
        put: &ObjectPut,
        body: ByteStream,
    ) -> impl Future<Output = Result<Written, StoreError>> + Send;
}

/// [`ObjectStore`] on S3 (or any S3-compatible endpoint).
#[derive(Debug, Clone)]
pub struct S3Store {
    client: aws_sdk_s3::Client,
    bucket: String,
    /// Multipart uploads in flight at once (each holds one part in memory).
    multipart_gate: Arc<Semaphore>,
}

/// Multipart uploads one [`S3Store`] runs at once: each holds a part in memory, so this bounds
/// their memory to this many parts whatever the upload concurrency.
pub const MULTIPART_UPLOADS_AT_ONCE: usize = 4;

impl S3Store {
    /// A store writing into `bucket` through `client`.
    pub fn new(client: aws_sdk_s3::Client, bucket: impl Into<String>) -> Self {
        Self {
            client,
            bucket: bucket.into(),
            multipart_gate: Arc::new(Semaphore::new(MULTIPART_UPLOADS_AT_ONCE)),
        }
    }

    /// The bucket.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }
}

impl ObjectStore for S3Store {
    async fn put(&self, put: &ObjectPut, body: Bytes) -> Result<Written, StoreError> {
        self.put_object(put, ByteStream::from(body)).await
    }

    async fn get(&self, key: &str, limit: u64) -> Result<Option<StoredObject>, StoreError> {
        let out = match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) if is_not_found(&e) => return Ok(None),
            Err(e) => return Err(classify(e)),
        };
        let too_large = |size| StoreError::TooLarge {
            key: key.to_owned(),
            size,
            limit,
        };
        let declared = out.content_length().and_then(|n| u64::try_from(n).ok());
        if let Some(size) = declared.filter(|&n| n > limit) {
            return Err(too_large(size));
        }
        let etag = out.e_tag().map(str::to_owned);
        // Collected with a cap, whatever the length header said.
        let mut body = out.body;
        let mut buf = BytesMut::with_capacity(declared.unwrap_or(0).min(limit) as usize);
        while let Some(chunk) = body
            .try_next()
            .await
            .map_err(|e| StoreError::Transient(format!("reading {key}: {e}")))?
        {
            let size = buf.len() as u64 + chunk.len() as u64;
            if size > limit {
                return Err(too_large(size));
            }
            buf.extend_from_slice(&chunk);
        }
        Ok(Some(StoredObject {
            body: buf.freeze(),
            etag,
        }))
    }

    async fn head(&self, key: &str) -> Result<Option<ObjectInfo>, StoreError> {
        match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .checksum_mode(ChecksumMode::Enabled)
            .send()
            .await
        {
            Ok(out) => Ok(Some(ObjectInfo {
                size: out
                    .content_length()
                    .and_then(|n| u64::try_from(n).ok())
                    .unwrap_or(0),
                checksum: out.checksum_sha256().and_then(StoreChecksum::from_s3),
                encryption: ObservedEncryption {
                    algorithm: out.server_side_encryption().map(|e| e.as_str().to_owned()),
                    kms_key_id: out.ssekms_key_id().map(str::to_owned),
                },
                etag: out.e_tag().map(str::to_owned),
                retention: ObservedRetention {
                    lock_mode: out
                        .object_lock_mode()
                        .and_then(|m| m.as_str().parse().ok())
                        .unwrap_or_default(),
                    retain_until: out
                        .object_lock_retain_until_date()
                        .and_then(|t| Timestamp::from_unix_seconds(t.secs())),
                    legal_hold: out.object_lock_legal_hold_status()
                        == Some(&ObjectLockLegalHoldStatus::On),
                    class_tag: None,
                },
            })),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(classify(e)),
        }
    }

    async fn set_legal_hold(
        &self,
        key: &str,
        version_id: Option<&str>,
        on: bool,
    ) -> Result<bool, StoreError> {
        let status = if on {
            ObjectLockLegalHoldStatus::On
        } else {
            ObjectLockLegalHoldStatus::Off
        };
        match self
            .client
            .put_object_legal_hold()
            .bucket(&self.bucket)
            .key(key)
            .set_version_id(version_id.map(str::to_owned))
            .legal_hold(ObjectLockLegalHold::builder().status(status).build())
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if is_not_found(&e) => Ok(false),
            Err(e) => Err(classify(e)),
        }
    }

    async fn tags(&self, key: &str) -> Result<Option<BTreeMap<String, String>>, StoreError> {
        match self
            .client
            .get_object_tagging()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(out) => Ok(Some(
                out.tag_set()
                    .iter()
                    .map(|t| (t.key().to_owned(), t.value().to_owned()))
                    .collect(),
            )),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(classify(e)),
        }
    }

    async fn list(&self, prefix: &str) -> Result<Vec<ListedObject>, StoreError> {
        self.list_all(prefix).await
    }

    async fn folders(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let mut out = Vec::new();
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .delimiter("/")
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(classify)?;
            out.extend(
                page.common_prefixes()
                    .iter()
                    .filter_map(|p| p.prefix().map(str::to_owned)),
            );
        }
        Ok(out)
    }

    async fn versions(&self, prefix: &str) -> Result<Vec<ObjectVersion>, StoreError> {
        // ListObjectVersions pages with two markers; the SDK has no paginator for it.
        let mut out = Vec::new();
        let (mut key_marker, mut version_marker) = (None::<String>, None::<String>);
        loop {
            let page = self
                .client
                .list_object_versions()
                .bucket(&self.bucket)
                .prefix(prefix)
                .set_key_marker(key_marker.take())
                .set_version_id_marker(version_marker.take())
                .send()
                .await
                .map_err(classify)?;
            let version = |key: Option<&str>, id: Option<&str>, delete_marker| {
                key.map(|key| ObjectVersion {
                    key: key.to_owned(),
                    version_id: id.unwrap_or("null").to_owned(),
                    delete_marker,
                })
            };
            out.extend(
                page.versions()
                    .iter()
                    .filter_map(|v| version(v.key(), v.version_id(), false)),
            );
            out.extend(
                page.delete_markers()
                    .iter()
                    .filter_map(|m| version(m.key(), m.version_id(), true)),
            );
            if page.is_truncated() != Some(true) || page.next_key_marker().is_none() {
                return Ok(out);
            }
            key_marker = page.next_key_marker().map(str::to_owned);
            version_marker = page.next_version_id_marker().map(str::to_owned);
        }
    }

    async fn delete_version(&self, key: &str, version_id: &str) -> Result<(), StoreError> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .version_id(version_id)
            .send()
            .await
            .map(|_| ())
            .map_err(classify)
    }

    async fn get_stream(
        &self,
        key: &str,
        if_match: Option<&str>,
    ) -> Result<Option<ByteStream>, StoreError> {
        match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .set_if_match(if_match.map(str::to_owned))
            .send()
            .await
        {
            Ok(out) => Ok(Some(out.body)),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(classify(e)),
        }
    }

    async fn put_stream(&self, put: &ObjectPut, body: ByteStream) -> Result<Written, StoreError> {
        self.put_object(put, body).await
    }
}

impl S3Store {
    /// One PutObject with the core's headers. A streamed body is sent as it arrives (the SDK
    /// cannot retry it: the executor records the document as failed and a rerun retries).
    async fn put_object(&self, put: &ObjectPut, body: ByteStream) -> Result<Written, StoreError> {
        if let Some(parts) = &put.parts {
            return self.put_parts(put, parts, body).await;
        }
        let metadata: HashMap<String, String> = put.metadata.clone().into_iter().collect();
        let mut req = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(&put.key)
            .body(body)
            .content_type(&put.content_type)
            .content_length(i64::try_from(put.content_length).unwrap_or(i64::MAX))
            .checksum_algorithm(ChecksumAlgorithm::Sha256)
            .checksum_sha256(&put.checksum_sha256)
            .set_metadata(Some(metadata))
            .tagging(&put.tagging);
        if let Encryption::Kms { key_id } = &put.encryption {
            req = req
                .server_side_encryption(ServerSideEncryption::AwsKms)
                .set_ssekms_key_id(key_id.clone());
        }
        if let Some(lock) = &put.lock {
            req = req
                .set_object_lock_mode(lock_mode(lock))
                .object_lock_retain_until_date(DateTime::from_secs(
                    lock.retain_until.unix_seconds(),
                ));
        }
        if put.if_none_match {
            req = req.if_none_match("*");
        }
        if let Some(etag) = &put.if_match {
            req = req.if_match(etag);
        }
        match req.send().await {
            Ok(out) => Ok(Written {
                etag: out.e_tag().map(str::to_owned),
            }),
            // S3 answers `If-Match` on a key that is gone with 404: the object it named changed.
            Err(e) if put.if_match.is_some() && is_not_found(&e) => {
                Err(StoreError::PreconditionFailed)
            }
            Err(e) => Err(classify(e)),
        }
    }

    /// A multipart upload: created with the core's headers (SSE-KMS, metadata, tags, SHA-256
    /// checksums), each part sent with its own `x-amz-checksum-sha256` (S3 checks it), and
    /// completed (create-only when asked) only if the parts' digests form the checksum the
    /// plan expects; otherwise, and on any error, the upload is aborted so no parts linger.
    async fn put_parts(
        &self,
        put: &ObjectPut,
        parts: &UploadParts,
        body: ByteStream,
    ) -> Result<Written, StoreError> {
        let _slot = self
            .multipart_gate
            .acquire()
            .await
            .map_err(|e| StoreError::Transient(format!("multipart uploads stopped: {e}")))?;
        let metadata: HashMap<String, String> = put.metadata.clone().into_iter().collect();
        let mut create = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(&put.key)
            .content_type(&put.content_type)
            .checksum_algorithm(ChecksumAlgorithm::Sha256)
            .set_metadata(Some(metadata))
            .tagging(&put.tagging);
        if let Encryption::Kms { key_id } = &put.encryption {
            create = create
                .server_side_encryption(ServerSideEncryption::AwsKms)
                .set_ssekms_key_id(key_id.clone());
        }
        if let Some(lock) = &put.lock {
            create = create
                .set_object_lock_mode(lock_mode(lock))
                .object_lock_retain_until_date(DateTime::from_secs(
                    lock.retain_until.unix_seconds(),
                ));
        }
        let created = create.send().await.map_err(classify)?;
        let Some(upload_id) = created.upload_id() else {
            return Err(StoreError::Transient(format!(
                "CreateMultipartUpload for {} returned no upload id",
                put.key
            )));
        };
        let result = match self.upload_parts(put, parts, upload_id, body).await {
            Ok(completed) => {
                let mut complete = self
                    .client
                    .complete_multipart_upload()
                    .bucket(&self.bucket)
                    .key(&put.key)
                    .upload_id(upload_id)
                    .multipart_upload(
                        CompletedMultipartUpload::builder()
                            .set_parts(Some(completed))
                            .build(),
                    );
                if put.if_none_match {
                    complete = complete.if_none_match("*");
                }
                if let Some(etag) = &put.if_match {
                    complete = complete.if_match(etag);
                }
                complete
                    .send()
                    .await
                    .map(|out| Written {
                        etag: out.e_tag().map(str::to_owned),
                    })
                    .map_err(classify)
            }
            Err(e) => Err(e),
        };
        if result.is_err() {
            let aborted = self
                .client
                .abort_multipart_upload()
                .bucket(&self.bucket)
                .key(&put.key)
                .upload_id(upload_id)
                .send()
                .await;
            if let Err(e) = aborted {
                tracing::warn!(key = %put.key, error = %aws_sdk_s3::error::DisplayErrorContext(&e),
                    "could not abort a failed multipart upload; the bucket's lifecycle rule \
                     removes its parts");
            }
        }
        result
    }

    /// Sends `body` in parts of `parts.part_size` bytes (one part in memory at a time).
    async fn upload_parts(
        &self,
        put: &ObjectPut,
        parts: &UploadParts,
        upload_id: &str,
        mut body: ByteStream,
    ) -> Result<Vec<CompletedPart>, StoreError> {
        let part_size = usize::try_from(parts.part_size).unwrap_or(usize::MAX);
        let mut completed = Vec::with_capacity(parts.count as usize);
        let mut of_parts = Sha256Hasher::new();
        let mut buffer = BytesMut::with_capacity(part_size.min(64 << 20));
        let mut finished = false;
        while !finished {
            match body.try_next().await.map_err(|e| {
                StoreError::Transient(format!("reading the body of {}: {e}", put.key))
            })? {
                Some(mut chunk) => {
                    while !chunk.is_empty() {
                        let take = (part_size - buffer.len()).min(chunk.len());
                        buffer.extend_from_slice(&chunk.split_to(take));
                        if buffer.len() == part_size {
                            let part = buffer.split().freeze();
                            completed.push(
                                self.upload_part(
                                    put,
                                    upload_id,
                                    completed.len(),
                                    part,
                                    &mut of_parts,
                                )
                                .await?,
                            );
                        }
                    }
                }
                None => finished = true,
            }
        }
        if !buffer.is_empty() || completed.is_empty() {
            let part = buffer.split().freeze();
            completed.push(
                self.upload_part(put, upload_id, completed.len(), part, &mut of_parts)
                    .await?,
            );
        }
        let count = u32::try_from(completed.len()).unwrap_or(u32::MAX);
        let checksum = of_parts.finish();
        if checksum != parts.checksum || count != parts.count {
            return Err(StoreError::Transient(format!(
                "the body of {} changed since it was hashed ({count} parts, checksum of parts \
                 {checksum}, expected {} parts, {}): nothing was stored",
                put.key, parts.count, parts.checksum
            )));
        }
        Ok(completed)
    }

    async fn upload_part(
        &self,
        put: &ObjectPut,
        upload_id: &str,
        index: usize,
        part: Bytes,
        of_parts: &mut Sha256Hasher,
    ) -> Result<CompletedPart, StoreError> {
        let digest = Sha256Digest::of(&part);
        of_parts.update(digest.as_bytes());
        let number = i32::try_from(index + 1).unwrap_or(i32::MAX);
        let out = self
            .client
            .upload_part()
            .bucket(&self.bucket)
            .key(&put.key)
            .upload_id(upload_id)
            .part_number(number)
            .content_length(part.len() as i64)
            .checksum_algorithm(ChecksumAlgorithm::Sha256)
            .checksum_sha256(digest.to_base64())
            .body(ByteStream::from(part))
            .send()
            .await
            .map_err(classify)?;
        Ok(CompletedPart::builder()
            .part_number(number)
            .set_e_tag(out.e_tag().map(str::to_owned))
            .checksum_sha256(digest.to_base64())
            .build())
    }

    async fn list_all(&self, prefix: &str) -> Result<Vec<ListedObject>, StoreError> {
        let mut out = Vec::new();
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(classify)?;
            for object in page.contents() {
                if let Some(key) = object.key() {
                    out.push(ListedObject {
                        key: key.to_owned(),
                        size: object
                            .size()
                            .and_then(|n| u64::try_from(n).ok())
                            .unwrap_or(0),
                        etag: object.e_tag().map(str::to_owned),
                        last_modified: object.last_modified().map(|t| t.secs()),
                    });
                }
            }
        }
        Ok(out)
    }
}

type HttpResponse = aws_sdk_s3::config::http::HttpResponse;

/// The S3 lock mode of a planned lock.
fn lock_mode(lock: &ObjectLock) -> Option<ObjectLockMode> {
    lock.mode.s3_name().map(ObjectLockMode::from)
}

fn is_not_found<E: ProvideErrorMetadata>(e: &SdkError<E, HttpResponse>) -> bool {
    let code = e.as_service_error().and_then(ProvideErrorMetadata::code);
    let status = e.raw_response().map(|r| r.status().as_u16());
    matches!(code, Some("NoSuchKey" | "NotFound"))
        || (status == Some(404) && code != Some("NoSuchBucket"))
}

/// Maps an SDK error to the caller's classes.
pub fn classify<E>(e: SdkError<E, HttpResponse>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let status = e.raw_response().map(|r| r.status().as_u16());
    let code = e
        .as_service_error()
        .and_then(ProvideErrorMetadata::code)
        .map(str::to_owned)
        .or_else(|| match status {
            // Responses without a body (HEAD) carry only the status.
            Some(403) => Some("AccessDenied".to_owned()),
            Some(412) => Some("PreconditionFailed".to_owned()),
            _ => None,
        });
    let message = match (e.as_service_error(), status) {
        (Some(service), _) if service.message().is_some() => {
            service.message().unwrap_or_default().to_owned()
        }
        // A service error without a message: the status says enough.
        (Some(_), Some(status)) => format!("HTTP {status}"),
        // Timeouts, refused connections, I/O: the whole chain is the useful part.
        _ => aws_sdk_s3::error::DisplayErrorContext(&e).to_string(),
    };
    let refused = |code: &str, refusal| StoreError::Refused {
        code: code.to_owned(),
        message: message.clone(),
        refusal,
    };
    match code.as_deref() {
        Some("PreconditionFailed" | "ConditionalRequestConflict") => StoreError::PreconditionFailed,
        Some(c @ ("BadDigest" | "XAmzContentChecksumMismatch" | "XAmzContentSHA256Mismatch")) => {
            StoreError::ChecksumMismatch(format!("{c}: {message}"))
        }
        Some("InvalidRequest") if message.to_ascii_lowercase().contains("checksum") => {
            StoreError::ChecksumMismatch(format!("InvalidRequest: {message}"))
        }
        Some(
            c @ ("AccessDenied"
            | "AllAccessDisabled"
            | "InvalidAccessKeyId"
            | "SignatureDoesNotMatch"),
        ) => refused(c, Refusal::Denied),
        Some(c @ "NoSuchBucket") => refused(c, Refusal::NoSuchBucket),
        Some(c) if c.starts_with("KMS") || message.contains("KMS") => refused(c, Refusal::KmsKey),
        // AWS: "Bucket is missing Object Lock Configuration"; moto: "...ObjectLockConfiguration".
        Some(c @ "InvalidRequest")
            if message
                .replace(' ', "")
                .to_ascii_lowercase()
                .contains("objectlock") =>
        {
            refused(c, Refusal::LockNotEnabled)
        }
        Some(c @ ("InvalidArgument" | "InvalidBucketName" | "InvalidRequest")) => {
            refused(c, Refusal::Invalid)
        }
        _ => StoreError::Transient(match code {
            Some(c) => format!("{c}: {message}"),
            None => message,
        }),
    }
}
