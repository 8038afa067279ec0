//! S3 refusals as the real S3 client reports them, classified into what the executor does next.
//! Some of these (an unknown KMS key, a denied permission) moto_server never returns, so they
//! are fed to the SDK with aws-smithy-mocks.

use aws_sdk_s3::Client;
use aws_sdk_s3::error::ErrorMetadata;
use aws_sdk_s3::operation::put_object::{PutObjectError, PutObjectOutput};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use bytes::Bytes;
use docvault_core::{Encryption, ObjectPut, Sha256Digest};
use docvault_lambda::store::{ObjectStore, S3Store, StoreError};

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
async fn unknown_kms_key_stops_the_run_and_names_the_variable() {
    let e = put_failing_with(
        "KMS.NotFoundException",
        "Invalid keyId arn:aws:kms:us-east-1:1:key/x",
    )
    .await;
    assert!(e.is_fatal(), "{e:?}");
    assert!(e.to_string().contains("KMS_KEY_ID"), "{e}");
}

#[tokio::test]
async fn access_denied_names_the_permissions() {
    let e = put_failing_with("AccessDenied", "Access Denied").await;
    assert!(e.is_fatal());
    assert!(e.to_string().contains("s3:PutObject"), "{e}");
}

#[tokio::test]
async fn missing_bucket_names_the_variable() {
    let e = put_failing_with("NoSuchBucket", "The specified bucket does not exist").await;
    assert!(e.is_fatal());
    assert!(e.to_string().contains("BACKUP_BUCKET"), "{e}");
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
