//! The invocation event: which day to back up.
//!
//! * An EventBridge scheduled event backs up the UTC day of its `time` (the scheduled time, not
//!   the wall clock): a retry of the 02:00 event an hour later still backs up the same day.
//! * `{"date": "YYYY-MM-DD"}` re-runs a missed day.
//! * Anything else uses the host clock's day, and says so in the log.

use docvault_core::{BackupDate, Timestamp};
use serde_json::Value;

/// Where the day came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DateOrigin {
    /// The event's `date` override.
    Override,
    /// The EventBridge event's scheduled `time`.
    Schedule,
    /// The host clock (no date in the event).
    Clock,
}

/// An event that names its day badly.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EventError {
    /// `date` is present but not a date.
    #[error("event field `date` is {0}: send {{\"date\": \"YYYY-MM-DD\"}}")]
    BadDate(String),
    /// `time` is present but not RFC 3339.
    #[error("event field `time` is {0}: EventBridge sends RFC 3339 such as 2026-11-27T02:00:00Z")]
    BadTime(String),
    /// Another field is malformed.
    #[error("event field {0}")]
    BadField(String),
}

/// The day `event` asks for; `now` is the host clock, read once per invocation.
///
/// # Errors
/// [`EventError`] when `date` or `time` is present but malformed.
pub fn backup_date(event: &Value, now: Timestamp) -> Result<(BackupDate, DateOrigin), EventError> {
    if let Some(v) = event.get("date") {
        let date = v
            .as_str()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| EventError::BadDate(v.to_string()))?;
        return Ok((date, DateOrigin::Override));
    }
    if let Some(v) = event.get("time") {
        let time: Timestamp = v
            .as_str()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| EventError::BadTime(v.to_string()))?;
        return Ok((time.date(), DateOrigin::Schedule));
    }
    Ok((now.date(), DateOrigin::Clock))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn scheduled_time_wins_over_the_clock() {
        let now: Timestamp = "2026-11-28T03:10:00Z".parse().unwrap();
        let scheduled = json!({"source": "aws.events", "detail-type": "Scheduled Event",
            "time": "2026-11-27T02:00:00Z", "detail": {}});
        let (d, o) = backup_date(&scheduled, now).unwrap();
        assert_eq!(
            (d.to_string().as_str(), o),
            ("2026-11-27", DateOrigin::Schedule)
        );
        let (d, o) = backup_date(&json!({"date": "2026-11-20"}), now).unwrap();
        assert_eq!(
            (d.to_string().as_str(), o),
            ("2026-11-20", DateOrigin::Override)
        );
        let (d, o) = backup_date(&json!({}), now).unwrap();
        assert_eq!(
            (d.to_string().as_str(), o),
            ("2026-11-28", DateOrigin::Clock)
        );
        assert!(backup_date(&json!({"date": "yesterday"}), now).is_err());
        assert!(backup_date(&json!({"time": 5}), now).is_err());
    }
}
