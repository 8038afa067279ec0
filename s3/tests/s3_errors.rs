//! S3 refusals as the real S3 client reports them, classified into what the executor does next
//! (each host words the fix for each kind of refusal; the Lambda's and the runner's wordings are
//! tested with them). Some of these (an unknown KMS key, a denied permission) moto_server never
//! returns, so they are fed to the SDK with aws-smithy-mocks.

use aws_sdk_s3::Client;
use aws_sdk_s3::error::ErrorMetadata;
use aws_sdk_s3::operation::put_object::{PutObjectError, PutObjectOutput};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use bytes::Bytes;
use docvault_core::{Encryption, ObjectPut, Sha256Digest};
use docvault_s3::store::{ObjectStore, Refusal, S3Store, StoreError};

fn put() -> ObjectPut {
    ObjectPut {
        key: "backups/2026-11-27/documents/memo_0004.txt".into(),
        content_type: "text/plain".into(),
        content_length: 5,
        checksum_sha256: Sha256Digest::of(b"hello").to_base64(),
        metadata: Default::default(),
        tagging: "Type=BusinessDocument".into(),
        encryption: Encryption::Kms {
            key_id: Some("arn:aws:kms:us-east-1:1:key/x".into()),
        },
        if_none_match: true,
        if_match: None,
        lock: None,
        parts: None,
    }
}

async fn put_failing_with(code: &'static str, message: &'static str) -> StoreError {
    let rule = mock!(Client::put_object).then_error(move || {
        PutObjectError::generic(ErrorMetadata::builder().code(code).message(message).build())
    });
    let client = mock_client!(aws_sdk_s3, RuleMode::MatchAny, [&rule]);
    S3Store::new(client, "docvault-test")
        .put(&put(), Bytes::from_static(b"hello"))
        .await
        .expect_err("the mock refuses")
}

#[tokio::test]
async fn an_unknown_kms_key_is_a_refusal_of_the_key() {
    let e = put_failing_with(
        "KMS.NotFoundException",
        "Invalid keyId arn:aws:kms:us-east-1:1:key/x",
    )
    .await;
    assert!(e.is_fatal(), "{e:?}");
    assert_eq!(e.refusal(), Some(Refusal::KmsKey));
    assert!(
        e.to_string()
            .starts_with("KMS.NotFoundException: Invalid keyId"),
        "{e}"
    );
}

#[tokio::test]
async fn access_denied_is_a_refusal_of_permissions() {
    let e = put_failing_with("AccessDenied", "Access Denied").await;
    assert!(e.is_fatal());
    assert_eq!(e.refusal(), Some(Refusal::Denied));
}

#[tokio::test]
async fn a_missing_bucket_is_its_own_refusal() {
    let e = put_failing_with("NoSuchBucket", "The specified bucket does not exist").await;
    assert!(e.is_fatal());
    assert_eq!(e.refusal(), Some(Refusal::NoSuchBucket));
}

#[tokio::test]
async fn create_only_conflict_and_checksum_refusal_are_told_apart() {
    assert_eq!(
        put_failing_with(
            "PreconditionFailed",
            "At least one of the pre-conditions failed"
        )
        .await,
        StoreError::PreconditionFailed
    );
    let e = put_failing_with("BadDigest", "The SHA256 you specified did not match").await;
    assert!(matches!(e, StoreError::ChecksumMismatch(_)), "{e:?}");
    assert!(!e.is_fatal());
}

#[tokio::test]
async fn throttling_is_transient() {
    let e = put_failing_with("SlowDown", "Please reduce your request rate").await;
    assert!(matches!(e, StoreError::Transient(_)), "{e:?}");
}

#[tokio::test]
async fn successful_put_sends_the_planned_headers() {
    let rule = mock!(Client::put_object)
        .match_requests(|req| {
            req.checksum_sha256() == Some(Sha256Digest::of(b"hello").to_base64().as_str())
                && req.server_side_encryption().map(|s| s.as_str()) == Some("aws:kms")
                && req.ssekms_key_id() == Some("arn:aws:kms:us-east-1:1:key/x")
                && req.if_none_match() == Some("*")
                && req.tagging() == Some("Type=BusinessDocument")
                && req.content_type() == Some("text/plain")
        })
        .then_output(|| PutObjectOutput::builder().build());
    let client = mock_client!(aws_sdk_s3, [&rule]);
    S3Store::new(client, "docvault-test")
        .put(&put(), Bytes::from_static(b"hello"))
        .await
        .expect("the request matches the plan");
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn a_conditional_write_over_a_key_that_is_gone_is_a_precondition_failure() {
    // S3 answers `If-Match` on a missing key with 404 NoSuchKey: the lease it named is gone.
    let rule = mock!(Client::put_object).then_error(|| {
        PutObjectError::generic(
            ErrorMetadata::builder()
                .code("NoSuchKey")
                .message("The specified key does not exist.")
                .build(),
        )
    });
    let client = mock_client!(aws_sdk_s3, RuleMode::MatchAny, [&rule]);
    let mut conditional = put();
    conditional.if_none_match = false;
    conditional.if_match = Some("\"e1\"".into());
    let e = S3Store::new(client, "docvault-test")
        .put(&conditional, Bytes::from_static(b"hello"))
        .await
        .expect_err("refused");
    assert_eq!(e, StoreError::PreconditionFailed);
}
