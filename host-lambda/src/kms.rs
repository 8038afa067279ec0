//! The KMS key check made before the first write of a container's life.
//!
//! S3 names an unusable key only when the first SSE-KMS PUT fails, and some S3-compatible
//! stores (moto among them) never check the key at all, so a wrong `KMS_KEY_ID` could store a
//! whole day under a key nobody can use. One `kms:DescribeKey` before writing turns that into a
//! clear, immediate error naming the variable. A key that passed is not asked about again in
//! the same container; a check that failed is repeated on the next invocation.

use std::sync::Arc;

use aws_sdk_kms::error::ProvideErrorMetadata;
use aws_sdk_kms::types::KeyState;
use tokio::sync::OnceCell;

/// Why the backup key cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The key is missing, disabled, pending deletion, or not ours to use: retrying cannot
    /// help; the configuration must change.
    #[error("the backup key {key} cannot be used: {reason}. {fix}")]
    Unusable {
        /// `KMS_KEY_ID`.
        key: String,
        /// What KMS said.
        reason: String,
        /// What to do.
        fix: &'static str,
    },
    /// KMS could not be asked (throttling, network); the next invocation asks again.
    #[error("could not check the backup key {key} with KMS: {reason}")]
    Unreachable {
        /// `KMS_KEY_ID`.
        key: String,
        /// The error.
        reason: String,
    },
}

impl KeyError {
    /// Whether a retry can help.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Unreachable { .. })
    }
}

const FIX_KEY: &str = "Set KMS_KEY_ID to the ARN of an enabled key in the bucket's region (the \
                       stack output KMSKeyArn)";

/// Checks `KMS_KEY_ID` once per container with `kms:DescribeKey` (clones share the result).
#[derive(Debug, Clone)]
pub struct KeyCheck {
    client: aws_sdk_kms::Client,
    key_id: String,
    passed: Arc<OnceCell<()>>,
}

impl KeyCheck {
    /// A check of `key_id` through `client`.
    pub fn new(client: aws_sdk_kms::Client, key_id: impl Into<String>) -> Self {
        Self {
            client,
            key_id: key_id.into(),
            passed: Arc::new(OnceCell::new()),
        }
    }

    /// Succeeds when the key exists and is enabled (asked once; later calls return at once).
    ///
    /// # Errors
    /// [`KeyError`] naming what is wrong and the fix.
    pub async fn ensure(&self) -> Result<(), KeyError> {
        self.passed
            .get_or_try_init(|| async { self.describe().await })
            .await
            .copied()
    }

    async fn describe(&self) -> Result<(), KeyError> {
        let key = self.key_id.clone();
        let unusable = |reason: String, fix| KeyError::Unusable {
            key: key.clone(),
            reason,
            fix,
        };
        match self.client.describe_key().key_id(&self.key_id).send().await {
            Ok(out) => {
                let meta = out
                    .key_metadata()
                    .ok_or_else(|| unusable("KMS described no key".into(), FIX_KEY))?;
                let state = meta.key_state().cloned();
                if meta.enabled() && state.as_ref().is_none_or(|s| *s == KeyState::Enabled) {
                    tracing::info!(key = %self.key_id, "backup key checked: enabled");
                    Ok(())
                } else {
                    Err(unusable(
                        format!(
                            "it is {}",
                            state.map_or_else(|| "disabled".to_owned(), |s| s.as_str().to_owned())
                        ),
                        "Enable the key (or cancel its deletion), or set KMS_KEY_ID to an \
                         enabled key",
                    ))
                }
            }
            Err(e) => {
                let code = e.code().map(str::to_owned);
                let message = e
                    .message()
                    .map(str::to_owned)
                    .unwrap_or_else(|| aws_sdk_kms::error::DisplayErrorContext(&e).to_string());
                match code.as_deref() {
                    Some("NotFoundException" | "InvalidArnException") => Err(unusable(
                        format!("{}: {message}", code.unwrap_or_default()),
                        FIX_KEY,
                    )),
                    Some(c @ ("AccessDeniedException" | "AccessDenied")) => Err(unusable(
                        format!("{c}: {message}"),
                        "Grant the function's role kms:DescribeKey on the key (infra/template.yaml \
                         does), or set KMS_KEY_ID to the stack's key",
                    )),
                    // Throttling, KMS's own failures, the network: the SDK has retried
                    // already; the next invocation asks again.
                    _ => Err(KeyError::Unreachable {
                        key: self.key_id.clone(),
                        reason: match code {
                            Some(c) => format!("{c}: {message}"),
                            None => message,
                        },
                    }),
                }
            }
        }
    }
}
