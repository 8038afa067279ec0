//! The object store port and its S3 implementation.
//!
//! [`ObjectStore`] is the small surface the executor and the verifier need: put (with the core's
//! headers, and create-only when asked), get, head with checksum, and list. [`S3Store`] implements it with
//! aws-sdk-s3; tests implement it in memory to inject faults at any point.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    ChecksumAlgorithm, ChecksumMode, CompletedMultipartUpload, CompletedPart, ServerSideEncryption,
};
use bytes::{Bytes, BytesMut};
use docvault_core::{Encryption, ObjectPut, Sha256Digest, Sha256Hasher, UploadParts};
use tokio::sync::Semaphore;

/// What the store says about an existing object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    /// Size in bytes.
    pub size: u64,
    /// SHA-256 the store keeps for it, when it keeps one (S3 does for objects written with
    /// `x-amz-checksum-sha256`; some S3-compatible stores do not).
    pub checksum: Option<Sha256Digest>,
    /// For an object stored in parts, their count: `checksum` is then the SHA-256 of the
    /// parts' SHA-256 digests (S3 reports `<base64>-<count>`).
    pub checksum_parts: Option<u32>,
    /// Server-side encryption reported (`aws:kms`, `AES256`), if any.
    pub encryption: Option<String>,
    /// KMS key reported, if any.
    pub kms_key_id: Option<String>,
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

/// Why a store call failed, classified for the executor's decisions.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A create-only write found the object already there.
    #[error("object already exists")]
    PreconditionFailed,
    /// The store refused the body because it does not match its checksum.
    #[error("the store refused the body: it does not match x-amz-checksum-sha256 ({0})")]
    ChecksumMismatch(String),
    /// Retrying cannot help: permissions, a missing bucket, an unusable KMS key, a bad request.
    /// The run stops and reports this.
    #[error("{code}: {message}. {fix}")]
    Fatal {
        /// Service error code (`AccessDenied`, `NoSuchBucket`, `KMS.NotFoundException`...).
        code: String,
        /// Service message.
        message: String,
        /// What to do about it.
        fix: &'static str,
    },
    /// Still failing after the SDK's retries with backoff (throttling, 5xx, network).
    #[error("{0}")]
    Transient(String),
}

impl StoreError {
    /// Whether the run must stop (retrying other documents cannot succeed either).
    pub fn is_fatal(&self) -> bool {
        matches!(self, Self::Fatal { .. })
    }
}

/// The object store the executor writes to.
pub trait ObjectStore: Clone + Send + Sync + 'static {
    /// Stores `body` as `put` says (headers, checksum, encryption, tags, create-only).
    fn put(
        &self,
        put: &ObjectPut,
        body: Bytes,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Reads a whole object; `None` when it does not exist.
    fn get(&self, key: &str) -> impl Future<Output = Result<Option<Bytes>, StoreError>> + Send;
    /// Describes an object without reading it; `None` when it does not exist.
    fn head(
        &self,
        key: &str,
    ) -> impl Future<Output = Result<Option<ObjectInfo>, StoreError>> + Send;
    /// Every object whose key starts with `prefix`, in key order.
    fn list(
        &self,
        prefix: &str,
    ) -> impl Future<Output = Result<Vec<ListedObject>, StoreError>> + Send;
    /// Opens an object for reading in a stream; `None` when it does not exist. With `if_match`,
    /// fails with [`StoreError::PreconditionFailed`] when the object no longer has that entity
    /// tag (it changed since it was listed). The default reads the whole object with
    /// [`get`](Self::get) (enough for stores held in memory).
    fn get_stream(
        &self,
        key: &str,
        if_match: Option<&str>,
    ) -> impl Future<Output = Result<Option<ByteStream>, StoreError>> + Send {
        let _ = if_match;
        async move { Ok(self.get(key).await?.map(ByteStream::from)) }
    }
    /// Stores a body that arrives in a stream (of exactly `put.content_length` bytes, whose
    /// SHA-256 is `put.checksum_sha256`: the store refuses it otherwise). The default collects
    /// it and calls [`put`](Self::put).
    fn put_stream(
        &self,
        put: &ObjectPut,
        body: ByteStream,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        async move {
            let bytes = body
                .collect()
                .await
                .map_err(|e| {
                    StoreError::Transient(format!("reading the body of {}: {e}", put.key))
                })?
                .into_bytes();
            self.put(put, bytes).await
        }
    }
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
    async fn put(&self, put: &ObjectPut, body: Bytes) -> Result<(), StoreError> {
        self.put_object(put, ByteStream::from(body)).await
    }

    async fn get(&self, key: &str) -> Result<Option<Bytes>, StoreError> {
        match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(out) => out
                .body
                .collect()
                .await
                .map(|b| Some(b.into_bytes()))
                .map_err(|e| StoreError::Transient(format!("reading {key}: {e}"))),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(classify(e)),
        }
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
                checksum: out
                    .checksum_sha256()
                    .and_then(|c| parse_checksum(c).map(|p| p.0)),
                checksum_parts: out.checksum_sha256().and_then(|c| parse_checksum(c)?.1),
                encryption: out.server_side_encryption().map(|e| e.as_str().to_owned()),
                kms_key_id: out.ssekms_key_id().map(str::to_owned),
            })),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(classify(e)),
        }
    }

    async fn list(&self, prefix: &str) -> Result<Vec<ListedObject>, StoreError> {
        self.list_all(prefix).await
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

    async fn put_stream(&self, put: &ObjectPut, body: ByteStream) -> Result<(), StoreError> {
        self.put_object(put, body).await
    }
}

impl S3Store {
    /// One PutObject with the core's headers. A streamed body is sent as it arrives (the SDK
    /// cannot retry it: the executor records the document as failed and a rerun retries).
    async fn put_object(&self, put: &ObjectPut, body: ByteStream) -> Result<(), StoreError> {
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
        if put.if_none_match {
            req = req.if_none_match("*");
        }
        req.send().await.map(|_| ()).map_err(classify)
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
    ) -> Result<(), StoreError> {
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
                complete.send().await.map(|_| ()).map_err(classify)
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

/// S3's `x-amz-checksum-sha256` of an object: `<base64>` for a body, `<base64>-<count>` for an
/// object uploaded in parts.
pub fn parse_checksum(s: &str) -> Option<(Sha256Digest, Option<u32>)> {
    match s.split_once('-') {
        None => Some((Sha256Digest::from_base64(s)?, None)),
        Some((digest, count)) => Some((
            Sha256Digest::from_base64(digest)?,
            Some(count.parse().ok()?),
        )),
    }
}

fn is_not_found<E: ProvideErrorMetadata>(e: &SdkError<E, HttpResponse>) -> bool {
    let code = e.as_service_error().and_then(ProvideErrorMetadata::code);
    let status = e.raw_response().map(|r| r.status().as_u16());
    matches!(code, Some("NoSuchKey" | "NotFound"))
        || (status == Some(404) && code != Some("NoSuchBucket"))
}

/// Maps an SDK error to the executor's classes, with the fix for the fatal ones.
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
    let fatal = |code: String, fix: &'static str| StoreError::Fatal {
        code,
        message: message.clone(),
        fix,
    };
    match code.as_deref() {
        Some("PreconditionFailed") => StoreError::PreconditionFailed,
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
        ) => fatal(
            c.to_owned(),
            "grant the function's role s3:PutObject, s3:GetObject and s3:ListBucket on the backup \
             bucket and kms:GenerateDataKey/kms:Decrypt on its key (see infra/template.yaml)",
        ),
        Some("NoSuchBucket") => fatal(
            "NoSuchBucket".to_owned(),
            "create the bucket or fix BACKUP_BUCKET (the stack output BackupBucketName)",
        ),
        Some(c) if c.starts_with("KMS") || c == "KMSInvalidKeyUsage" || message.contains("KMS") => {
            fatal(
                c.to_owned(),
                "set KMS_KEY_ID to an enabled key's ARN in the bucket's region that the role may use",
            )
        }
        Some(c @ ("InvalidArgument" | "InvalidBucketName" | "InvalidRequest")) => fatal(
            c.to_owned(),
            "the request was refused as invalid; check BACKUP_BUCKET, BACKUP_PREFIX and KMS_KEY_ID",
        ),
        _ => StoreError::Transient(match code {
            Some(c) => format!("{c}: {message}"),
            None => message,
        }),
    }
}
