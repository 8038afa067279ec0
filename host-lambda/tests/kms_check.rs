//! The KMS key check's answers that moto_server cannot give (a denied DescribeKey, KMS
//! throttling), fed to the real KMS client with aws-smithy-mocks; moto covers the rest
//! (unknown and disabled keys, tests/e2e/test_lambda_moto.py).

use aws_sdk_kms::Client;
use aws_sdk_kms::error::ErrorMetadata;
use aws_sdk_kms::operation::describe_key::{DescribeKeyError, DescribeKeyOutput};
use aws_sdk_kms::types::{KeyMetadata, KeyState};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use docvault_lambda::kms::{KeyCheck, KeyError};

const KEY: &str = "arn:aws:kms:us-east-1:111122223333:key/abc";

fn failing(code: &'static str) -> Client {
    let rule = mock!(Client::describe_key).then_error(move || {
        DescribeKeyError::generic(ErrorMetadata::builder().code(code).message("no").build())
    });
    mock_client!(aws_sdk_kms, RuleMode::MatchAny, [&rule])
}

/// DescribeKey's answer for key `abc`.
fn described(enabled: bool, state: KeyState) -> DescribeKeyOutput {
    DescribeKeyOutput::builder()
        .key_metadata(
            KeyMetadata::builder()
                .key_id("abc")
                .enabled(enabled)
                .key_state(state)
                .build()
                .unwrap(),
        )
        .build()
}

#[tokio::test]
async fn a_denied_check_names_the_grant_and_is_not_retried() {
    let e = KeyCheck::new(failing("AccessDeniedException"), KEY)
        .ensure()
        .await
        .unwrap_err();
    assert!(!e.is_retryable(), "{e:?}");
    assert!(e.to_string().contains("kms:DescribeKey"), "{e}");
    assert!(e.to_string().contains(KEY), "{e}");
}

#[tokio::test]
async fn kms_trouble_is_retryable_and_asked_again() {
    let rule = mock!(Client::describe_key).then_error(|| {
        DescribeKeyError::generic(
            ErrorMetadata::builder()
                .code("KMSInternalException")
                .message("try later")
                .build(),
        )
    });
    let check = KeyCheck::new(mock_client!(aws_sdk_kms, RuleMode::MatchAny, [&rule]), KEY);
    for _ in 0..2 {
        let e = check.ensure().await.unwrap_err();
        assert!(
            matches!(&e, KeyError::Unreachable { reason, .. } if reason.contains("KMSInternalException")),
            "{e:?}"
        );
        assert!(e.is_retryable());
    }
    assert_eq!(rule.num_calls(), 2, "a failed check is not remembered");
}

#[tokio::test]
async fn an_enabled_key_is_asked_about_once() {
    let rule = mock!(Client::describe_key).then_output(|| described(true, KeyState::Enabled));
    let client = mock_client!(aws_sdk_kms, RuleMode::MatchAny, [&rule]);
    let check = KeyCheck::new(client, KEY);
    check.ensure().await.unwrap();
    check.clone().ensure().await.unwrap();
    assert_eq!(rule.num_calls(), 1, "clones share the result");
}

#[tokio::test]
async fn a_key_pending_deletion_is_refused() {
    let rule =
        mock!(Client::describe_key).then_output(|| described(false, KeyState::PendingDeletion));
    let client = mock_client!(aws_sdk_kms, RuleMode::MatchAny, [&rule]);
    let e = KeyCheck::new(client, KEY).ensure().await.unwrap_err();
    assert!(!e.is_retryable());
    assert!(e.to_string().contains("it is PendingDeletion"), "{e}");
    assert!(e.to_string().contains("cancel its deletion"), "{e}");
}
