//! A restore event: a day, or one document, copied to another prefix of the backup bucket, or
//! into `RESTORE_BUCKET`, every body checked as it streams (the shared
//! [`restore_to_prefix`]).

use docvault_core::{KeyPrefix, PlanOptions};
use docvault_s3::restore::{PrefixRestore, restore_to_prefix};
use docvault_s3::store::ObjectStore;
use serde_json::{Value, json};

use crate::event::RestoreEvent;
use crate::{App, HandlerError};

/// Failures named in the error message.
const NAMED_FAILURES: usize = 5;

/// Runs a restore event.
///
/// # Errors
/// [`HandlerError::Restore`] when the restore cannot start, [`HandlerError::RestoreIncomplete`]
/// when documents were not restored.
pub async fn handle<S: ObjectStore>(
    app: &App<S>,
    event: &RestoreEvent,
) -> Result<Value, HandlerError> {
    let config = &app.config;
    let to_prefix = KeyPrefix::parse(&event.to_prefix)
        .map_err(|e| HandlerError::RestoreTarget(format!("`to_prefix`: {e}")))?;
    let (target, other_bucket) = target(app, event.to_bucket.as_deref())?;
    let request = PrefixRestore {
        date: event.date,
        other_bucket: other_bucket.is_some(),
        to_prefix: to_prefix.clone(),
        document: event.document.clone(),
        overwrite: event.overwrite,
        // Restored copies are not backup days: no retention lock or class tag.
        options: PlanOptions {
            retention: None,
            ..config.plan_options()
        },
        concurrency: config.concurrency,
        manifest_limit: config.manifest_limit(),
    };
    if let Some(check) = &app.key_check {
        check.ensure().await?;
    }
    let into_bucket = other_bucket.unwrap_or(&config.bucket);
    let date = event.date;
    tracing::info!(%date, into_bucket, %to_prefix, overwrite = event.overwrite, "starting restore");
    let report = restore_to_prefix(&app.store, target, &request).await?;
    if report.failed.is_empty() {
        return Ok(json!({
            "action": "restore",
            "date": date.to_string(),
            "to_bucket": into_bucket,
            "to_prefix": to_prefix.as_str(),
            "requested": report.requested,
            "restored": report.restored,
            "bytes": report.bytes,
        }));
    }
    tracing::error!(%date, failed = ?report.failed, "restore incomplete");
    let summary: Vec<String> = report
        .failed
        .iter()
        .take(NAMED_FAILURES)
        .map(|f| {
            format!(
                "{} ({}: {})",
                docvault_core::text::escaped(&f.document_id),
                f.kind.as_str(),
                f.error
            )
        })
        .collect();
    Err(HandlerError::RestoreIncomplete {
        date: date.to_string(),
        to: format!("s3://{into_bucket}/{to_prefix}"),
        requested: report.requested,
        failed: report.failed.len() as u64,
        summary: summary.join("; "),
        retryable: report.only_store_failures(),
    })
}

/// The store a restore writes into: the backup bucket's, or `RESTORE_BUCKET`'s (then its name).
fn target<'a, S>(
    app: &'a App<S>,
    to_bucket: Option<&str>,
) -> Result<(&'a S, Option<&'a str>), HandlerError> {
    let config = &app.config;
    match to_bucket {
        None => Ok((&app.store, None)),
        Some(b) if b == config.bucket => Ok((&app.store, None)),
        Some(b) => match (&app.restore_target, &config.restore_bucket) {
            (Some(store), Some(allowed)) if allowed == b => Ok((store, Some(allowed))),
            (_, allowed) => Err(HandlerError::RestoreTarget(format!(
                "to_bucket {b:?} is not a bucket this function restores into: use the backup \
                 bucket {:?}{}",
                config.bucket,
                match allowed {
                    Some(a) => format!(" or the restore bucket {a:?}"),
                    None => " (another bucket needs RESTORE_BUCKET: the stack's \
                             RestoreBucketName parameter, which also grants the writes)"
                        .into(),
                }
            ))),
        },
    }
}
