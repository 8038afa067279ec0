//! A verify event: the newest backup among the last days (or the event's `date`), verified from
//! S3's stored checksums through the shared verifier; `VerificationFailures` is sent whatever
//! happens (a day that cannot be verified counts as one failure).

use docvault_core::verify::VerifyPolicy;
use docvault_core::{BackupDate, MetricSet, Timestamp};
use docvault_s3::manifest::manifest_key;
use docvault_s3::store::ObjectStore;
use docvault_s3::verify::{Verification, VerifyError, VerifyOptions, verify_day};
use serde_json::{Value, json};

use crate::event::VerifyEvent;
use crate::{App, HandlerError};

/// How many days back a verification without a `date` looks for the latest backup.
pub const VERIFY_LOOKBACK_DAYS: u16 = 7;

/// Problems named in the error message; the response and the log have them all.
const NAMED_PROBLEMS: usize = 5;

/// Runs a verify event.
///
/// # Errors
/// [`HandlerError::Verify`] when nothing could be verified, [`HandlerError::VerificationFailed`]
/// when problems were found.
pub async fn handle<S: ObjectStore>(
    app: &App<S>,
    event: &VerifyEvent,
    now: Timestamp,
) -> Result<Value, HandlerError> {
    let result = verify(app, event, now).await;
    let (problems, verified) = match &result {
        Ok((_, v)) => (v.problems(), v.report.verified),
        Err(_) => (1, 0),
    };
    let set = MetricSet::for_verification(
        &app.config.namespace,
        &app.config.environment,
        now,
        problems,
        verified,
    );
    app.metrics.send(&set).await;
    let (date, v) = result?;
    let r = &v.report;
    let response = json!({
        "action": "verify",
        "date": date.to_string(),
        "manifest_key": v.manifest_key,
        "documents": v.documents,
        "verified": r.verified,
        "unverified": r.unverified.len(),
        "problems": v.problems(),
        "legal_holds": r.legal_holds,
        "read_sampled": v.read_sampled,
        "requests": v.requests,
        "report": r,
    });
    if v.problems() == 0 {
        tracing::info!(%date, verified = r.verified, "verification clean");
        return Ok(response);
    }
    tracing::error!(%date, report = %response, "verification found problems");
    let named: Vec<String> = r
        .problems()
        .take(NAMED_PROBLEMS)
        .map(|p| {
            p.to_string()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    let more = r.problem_count().saturating_sub(NAMED_PROBLEMS);
    Err(HandlerError::VerificationFailed {
        date: date.to_string(),
        problems: v.problems(),
        summary: if more > 0 {
            format!("{} and {more} more", named.join("; "))
        } else {
            named.join("; ")
        },
    })
}

async fn verify<S: ObjectStore>(
    app: &App<S>,
    event: &VerifyEvent,
    now: Timestamp,
) -> Result<(BackupDate, Verification), HandlerError> {
    let config = &app.config;
    let date = match event.date {
        Some(date) => date,
        None => latest_backup(app, event.time.unwrap_or(now).date()).await?,
    };
    let read_fraction = event.read_data.unwrap_or(0.0);
    let options = VerifyOptions {
        prefix: config.prefix.clone(),
        date,
        policy: VerifyPolicy {
            encryption: config.encryption(),
            require_stored_checksums: event.require_stored_checksums,
        },
        read_fraction,
        concurrency: config.concurrency,
        manifest_limit: config.manifest_limit(),
    };
    tracing::info!(%date, read_fraction, "starting verification");
    Ok((date, verify_day(&app.store, &options).await?))
}

/// The newest day with a manifest, from `day` back [`VERIFY_LOOKBACK_DAYS`] days.
async fn latest_backup<S: ObjectStore>(
    app: &App<S>,
    day: BackupDate,
) -> Result<BackupDate, HandlerError> {
    let mut candidate = Some(day);
    for _ in 0..VERIFY_LOOKBACK_DAYS {
        let Some(date) = candidate else { break };
        let key = manifest_key(&app.config.prefix, date);
        if app
            .store
            .head(&key)
            .await
            .map_err(|e| HandlerError::Verify(VerifyError::Store(e)))?
            .is_some()
        {
            return Ok(date);
        }
        candidate = date.previous_day();
    }
    Err(HandlerError::Verify(VerifyError::NoManifest {
        key: manifest_key(&app.config.prefix, day),
        date: day,
    }))
}
