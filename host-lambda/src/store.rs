//! The object store port and its S3 implementation.
//!
//! [`ObjectStore`] is the small surface the executor and the verifier need: put (with the core's
//! headers, and create-only when asked), get, head with checksum, and list. [`S3Store`] implements it with
//! aws-sdk-s3; tests implement it in memory to inject faults at any point.

use std::collections::HashMap;
use std::future::Future;

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ChecksumAlgorithm, ChecksumMode, ServerSideEncryption};
use bytes::Bytes;
use docvault_core::{Encryption, ObjectPut, Sha256Digest};

/// What the store says about an existing object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    /// Size in bytes.
    pub size: u64,
    /// SHA-256 the store keeps for it, when it keeps one (S3 does for objects written with
    /// `x-amz-checksum-sha256`; some S3-compatible stores do not).
    pub checksum: Option<Sha256Digest>,
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
}

impl S3Store {
    /// A store writing into `bucket` through `client`.
    pub fn new(client: aws_sdk_s3::Client, bucket: impl Into<String>) -> Self {
        Self {
            client,
            bucket: bucket.into(),
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
                checksum: out.checksum_sha256().and_then(Sha256Digest::from_base64),
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
