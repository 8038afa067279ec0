//! A legal-hold event: the hold set on, or cleared from, every object of a day (the shared
//! [`set_day_hold`]), recorded beside the day's manifest with this invocation's request id.

use docvault_core::Timestamp;
use docvault_s3::hold::set_day_hold;
use docvault_s3::store::ObjectStore;
use serde_json::{Value, json};

use crate::event::LegalHoldEvent;
use crate::{App, HandlerError};

/// Runs a legal-hold event.
///
/// # Errors
/// [`HandlerError::Hold`] when the day holds nothing or the store fails.
pub async fn handle<S: ObjectStore>(
    app: &App<S>,
    event: &LegalHoldEvent,
    now: Timestamp,
    request_id: &str,
) -> Result<Value, HandlerError> {
    let options = app.config.plan_options();
    tracing::info!(date = %event.date, on = event.on, "setting the day's legal hold");
    let outcome = set_day_hold(
        &app.store,
        &options,
        event.date,
        event.on,
        now,
        Some(request_id.to_owned()),
    )
    .await?;
    Ok(json!({
        "action": "legal_hold",
        "date": outcome.date.to_string(),
        "on": outcome.on,
        "objects": outcome.objects,
        "record_key": outcome.record_key,
    }))
}
