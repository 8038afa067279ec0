//! The invocation event, parsed strictly into a typed [`Event`]: unknown actions and unknown
//! fields are refused with an error that names what is accepted.
//!
//! * `{"action": "backup", ...}`, or no `action` at all: a backup ([`BackupEvent`]). An
//!   EventBridge scheduled event (`"source": "aws.events"`, `"detail-type": "Scheduled
//!   Event"`) is one too, with the envelope's fields.
//! * `{"action": "verify", ...}` ([`VerifyEvent`]), `{"action": "restore", ...}`
//!   ([`RestoreEvent`]) and `{"action": "legal_hold", "date": ..., "on": true|false}`
//!   ([`LegalHoldEvent`]).
//! * A sharded day (the scale-out state machine): `{"action": "plan", ...}` (the day chosen as
//!   for a backup), `{"action": "backup_shard", "Items": [...], "BatchInput": {...}}`
//!   ([`ShardBatchEvent`], the shape of a Distributed Map child with an `ItemBatcher`) and
//!   `{"action": "commit", "date": ...}` ([`CommitEvent`]).
//!
//! Which day a backup takes is [`BackupEvent::day`]: the event's `date`; else the UTC day before
//! its scheduled `time` (the day that just ended: a retry of the 02:00 event an hour later still
//! backs up the same day); else the day before the host clock's. A day that has not ended is
//! refused unless the event says `"force": true` (the core's [`check_backup_day`]).

use docvault_core::day::{DayError, check_backup_day, scheduled_day};
use docvault_core::{BackupDate, Timestamp};
use serde::Deserialize;
use serde_json::Value;

/// The actions an event may name.
pub const ACTIONS: [&str; 7] = [
    "backup",
    "verify",
    "restore",
    "legal_hold",
    "plan",
    "backup_shard",
    "commit",
];

/// A parsed invocation event.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Event {
    /// Back up a day.
    Backup(BackupEvent),
    /// Verify a stored day.
    Verify(VerifyEvent),
    /// Restore a day, or one document.
    Restore(RestoreEvent),
    /// Put a day on legal hold, or release it.
    LegalHold(LegalHoldEvent),
    /// Plan a sharded backup of a day (the first step of the scale-out state machine); the
    /// day is chosen as for a backup.
    Plan(BackupEvent),
    /// Back up a batch of shards of a planned day (one Distributed Map child).
    BackupShard(ShardBatchEvent),
    /// Join a planned day's parts into its manifest (the last step), or record the
    /// incomplete run.
    Commit(CommitEvent),
}

/// `{"action": "backup_shard", "Items": [{"index": 0}, ...], "BatchInput": {...}}`: the shape
/// Step Functions' `ItemBatcher` gives a Distributed Map child.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShardBatchEvent {
    /// The shards of this batch.
    #[serde(rename = "Items")]
    pub items: Vec<ShardItem>,
    /// What every batch shares.
    #[serde(rename = "BatchInput")]
    pub batch_input: ShardBatchInput,
}

/// One item of the plan's shard list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShardItem {
    /// The shard.
    pub index: u32,
}

/// The batch input: which day and which plan.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShardBatchInput {
    /// The day.
    pub date: BackupDate,
    /// The digest of the plan the state machine started with (the `plan` step's output): a
    /// shard of another plan is refused.
    pub plan_sha256: docvault_core::Sha256Digest,
    /// The Step Functions execution (`$$.Execution.Name`): retries of a shard within one
    /// execution take its lease over at once; another execution's run of the shard waits.
    #[serde(default)]
    pub execution: Option<String>,
}

/// `{"action": "commit", "date": ...}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommitEvent {
    /// The day.
    pub date: BackupDate,
    /// The Step Functions execution: a retry of this execution's commit takes over the day's
    /// lease its killed attempt left; another execution's commit waits for it.
    #[serde(default)]
    pub execution: Option<String>,
}

/// `{"action": "legal_hold"}`: set or clear the legal hold on every object of a day.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LegalHoldEvent {
    /// The day.
    pub date: BackupDate,
    /// `true` puts the day on hold, `false` releases it.
    pub on: bool,
}

/// `{"action": "backup"}`: which day, and whether a day that has not ended may be sealed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupEvent {
    /// The day to back up (a missed day, re-run).
    #[serde(default)]
    pub date: Option<BackupDate>,
    /// The scheduled time: the day before it is backed up.
    #[serde(default)]
    pub time: Option<Timestamp>,
    /// Back up a day that has not ended yet (sealing it: later documents are not backed up).
    #[serde(default)]
    pub force: bool,
}

/// `{"action": "verify"}`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyEvent {
    /// The day to verify; without it, the newest backup among the days up to `time` (or now).
    #[serde(default)]
    pub date: Option<BackupDate>,
    /// The scheduled time.
    #[serde(default)]
    pub time: Option<Timestamp>,
    /// Fraction of documents to download and re-hash, 0 to 1.
    #[serde(default)]
    pub read_data: Option<f64>,
    /// Count objects S3 keeps no checksum for, and that were not read, as problems.
    #[serde(default)]
    pub require_stored_checksums: bool,
}

/// `{"action": "restore"}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RestoreEvent {
    /// The day.
    pub date: BackupDate,
    /// Where restored documents go: a key prefix outside the backups.
    pub to_prefix: String,
    /// Another bucket to restore into (the function's `RESTORE_BUCKET`).
    #[serde(default)]
    pub to_bucket: Option<String>,
    /// Only this document.
    #[serde(default)]
    pub document: Option<String>,
    /// Replace objects at the targets.
    #[serde(default)]
    pub overwrite: bool,
}

/// The fields of an EventBridge scheduled event (its envelope; `detail` is empty). `source`,
/// `detail-type` and `time` are required; the rest of the envelope may be absent (test tools and
/// hand-written events leave it out), but nothing else may be there.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[allow(dead_code)] // Read for validation; only `time` is used.
struct Scheduled {
    detail_type: String,
    source: String,
    time: Timestamp,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    account: Option<String>,
    #[serde(default)]
    region: Option<String>,
    #[serde(default)]
    resources: Option<Vec<String>>,
    #[serde(default)]
    detail: Option<serde_json::Map<String, Value>>,
}

/// Where a backup's day came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DateOrigin {
    /// The event's `date`.
    Override,
    /// The day before the event's scheduled `time`.
    Schedule,
    /// The day before the host clock's.
    Clock,
}

/// An event that cannot be run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum EventError {
    /// Not a JSON object.
    #[error("the event is {0}, not a JSON object: send {{\"action\": \"backup\"}} or see README")]
    NotAnObject(String),
    /// An action this function does not know.
    #[error(
        "event action {0} is not supported: use \"backup\" (the default), \"verify\", \
         \"restore\", \"legal_hold\", or for sharded days \"plan\", \"backup_shard\" and \
         \"commit\""
    )]
    UnknownAction(String),
    /// A field is missing, unknown, or of the wrong kind.
    #[error("the {action} event is not usable: {message}")]
    Field {
        /// The action.
        action: &'static str,
        /// What serde found.
        message: String,
    },
    /// The day may not be backed up now.
    #[error("{0}{hint}", hint = force_hint(.0))]
    Day(DayError),
    /// A `read_data` outside 0 to 1.
    #[error("event field `read_data` is {0}: send a fraction from 0 to 1")]
    ReadData(f64),
}

fn force_hint(e: &DayError) -> &'static str {
    match e {
        DayError::NotEnded { .. } => " (send \"force\": true)",
        _ => "",
    }
}

impl EventError {
    /// The action the event named, when it named a known one (its failure metric is sent).
    pub fn action(&self) -> Option<&'static str> {
        match self {
            Self::Field { action, .. } => Some(action),
            Self::Day(_) => Some("backup"),
            Self::ReadData(_) => Some("verify"),
            Self::NotAnObject(_) | Self::UnknownAction(_) => None,
        }
    }
}

impl Event {
    /// Parses an invocation's payload (see the module documentation).
    ///
    /// # Errors
    /// [`EventError`] naming what is wrong and what is accepted.
    pub fn parse(payload: &Value) -> Result<Self, EventError> {
        let Some(object) = payload.as_object() else {
            return Err(EventError::NotAnObject(short(payload)));
        };
        let action = match object.get("action") {
            None => None,
            Some(Value::String(a)) if ACTIONS.contains(&a.as_str()) => {
                Some(ACTIONS[ACTIONS.iter().position(|x| x == a).unwrap_or(0)])
            }
            Some(other) => return Err(EventError::UnknownAction(short(other))),
        };
        let is_scheduled = object.get("source").and_then(Value::as_str) == Some("aws.events")
            && object.get("detail-type").and_then(Value::as_str) == Some("Scheduled Event");
        match action {
            None if is_scheduled => {
                let s: Scheduled = from_value("backup", payload.clone())?;
                Ok(Self::Backup(BackupEvent {
                    date: None,
                    time: Some(s.time),
                    force: false,
                }))
            }
            None => Ok(Self::Backup(from_value("backup", payload.clone())?)),
            Some(action) => {
                let event: Self = from_value(action, payload.clone())?;
                if let Self::Verify(VerifyEvent {
                    read_data: Some(f), ..
                }) = &event
                    && !(0.0..=1.0).contains(f)
                {
                    return Err(EventError::ReadData(*f));
                }
                Ok(event)
            }
        }
    }
}

impl BackupEvent {
    /// The day this event backs up at `now` (the host clock, read once per invocation), and
    /// where it came from.
    ///
    /// # Errors
    /// [`EventError::Day`] for a day that may not be backed up now.
    pub fn day(&self, now: Timestamp) -> Result<(BackupDate, DateOrigin), EventError> {
        let (date, origin) = match (self.date, self.time) {
            (Some(date), _) => (date, DateOrigin::Override),
            (None, Some(time)) => (
                scheduled_day(time).unwrap_or(time.date()),
                DateOrigin::Schedule,
            ),
            (None, None) => (scheduled_day(now).unwrap_or(now.date()), DateOrigin::Clock),
        };
        check_backup_day(date, now, self.force).map_err(EventError::Day)?;
        Ok((date, origin))
    }
}

fn from_value<T: serde::de::DeserializeOwned>(
    action: &'static str,
    value: Value,
) -> Result<T, EventError> {
    serde_json::from_value(value).map_err(|e| EventError::Field {
        action,
        message: e.to_string(),
    })
}

/// A JSON value for an error message, cut short.
fn short(v: &Value) -> String {
    let text = v.to_string();
    match text.char_indices().nth(80) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn now() -> Timestamp {
        "2026-11-28T03:10:00Z".parse().unwrap()
    }

    fn backup(v: Value) -> BackupEvent {
        match Event::parse(&v).unwrap() {
            Event::Backup(b) => b,
            other => panic!("not a backup: {other:?}"),
        }
    }

    #[test]
    fn the_scheduled_run_backs_up_the_day_that_ended() {
        let scheduled = json!({"version": "0", "id": "x", "detail-type": "Scheduled Event",
            "source": "aws.events", "account": "123456789012", "time": "2026-11-28T02:00:00Z",
            "region": "us-east-1", "resources": ["arn:aws:events:us-east-1:1:rule/r"],
            "detail": {}});
        let (d, o) = backup(scheduled).day(now()).unwrap();
        assert_eq!(
            (d.to_string().as_str(), o),
            ("2026-11-27", DateOrigin::Schedule)
        );
        // The envelope's bookkeeping fields may be absent; its time may not, nor may a stray field.
        let minimal = json!({"source": "aws.events", "detail-type": "Scheduled Event",
            "time": "2026-11-28T02:00:00Z", "detail": {}});
        assert_eq!(backup(minimal).day(now()).unwrap().0, d);
        for bad in [
            json!({"source": "aws.events", "detail-type": "Scheduled Event"}),
            json!({"source": "aws.events", "detail-type": "Scheduled Event",
                "time": "2026-11-28T02:00:00Z", "force": true}),
        ] {
            assert!(
                matches!(Event::parse(&bad), Err(EventError::Field { .. })),
                "{bad}"
            );
        }
        let (d, o) = backup(json!({"date": "2026-11-20"})).day(now()).unwrap();
        assert_eq!(
            (d.to_string().as_str(), o),
            ("2026-11-20", DateOrigin::Override)
        );
        let (d, o) = backup(json!({})).day(now()).unwrap();
        assert_eq!(
            (d.to_string().as_str(), o),
            ("2026-11-27", DateOrigin::Clock)
        );
        let (d, _) = backup(json!({"action": "backup", "time": "2026-11-28T02:00:00Z"}))
            .day(now())
            .unwrap();
        assert_eq!(d.to_string(), "2026-11-27");
    }

    #[test]
    fn a_day_that_has_not_ended_is_sealed_only_when_forced() {
        let e = backup(json!({"date": "2026-11-28"}))
            .day(now())
            .unwrap_err();
        assert!(e.to_string().contains("\"force\": true"), "{e}");
        assert!(backup(json!({"date": "2027-01-01"})).day(now()).is_err());
        let (d, _) = backup(json!({"date": "2026-11-28", "force": true}))
            .day(now())
            .unwrap();
        assert_eq!(d.to_string(), "2026-11-28");
        assert!(
            backup(json!({"date": "0000-01-01", "force": true}))
                .day(now())
                .is_err()
        );
    }

    #[test]
    fn events_are_parsed_strictly() {
        let code = |v: Value| Event::parse(&v).unwrap_err();
        for bad in [
            json!({"action": 5}),
            json!({"action": null}),
            json!({"action": "purge"}),
        ] {
            let e = code(bad);
            assert!(matches!(e, EventError::UnknownAction(_)), "{e}");
            assert!(e.to_string().contains("\"verify\""), "{e}");
        }
        for bad in [json!([]), json!("backup"), json!(7), Value::Null] {
            assert!(matches!(code(bad), EventError::NotAnObject(_)));
        }
        let e = code(json!({"date": "2026-11-27", "dryrun": true}));
        assert!(e.to_string().contains("unknown field `dryrun`"), "{e}");
        assert_eq!(e.action(), Some("backup"));
        assert!(
            code(json!({"date": "yesterday"}))
                .to_string()
                .contains("backup event")
        );
        let e = code(json!({"action": "verify", "time": "9999-12-31T23:59:59-23:59"}));
        assert_eq!(e.action(), Some("verify"), "{e}");
        assert!(matches!(
            code(json!({"action": "verify", "read_data": 2.0})),
            EventError::ReadData(_)
        ));
        let e = code(json!({"action": "restore", "date": "2026-11-27"}));
        assert!(e.to_string().contains("missing field `to_prefix`"), "{e}");
        assert!(matches!(
            code(json!({"source": "aws.events", "detail-type": "Scheduled Event", "time": 1})),
            EventError::Field { .. }
        ));
    }

    #[test]
    fn restore_and_verify_events() {
        let e = Event::parse(&json!({"action": "restore", "date": "2026-11-27",
            "to_prefix": "restores/r1/", "overwrite": true}))
        .unwrap();
        let Event::Restore(r) = e else { panic!() };
        assert!(r.overwrite && r.document.is_none());
        let e = Event::parse(&json!({"action": "verify", "read_data": 0.5})).unwrap();
        assert_eq!(
            e,
            Event::Verify(VerifyEvent {
                read_data: Some(0.5),
                ..VerifyEvent::default()
            })
        );
    }

    #[test]
    fn legal_hold_events_name_the_day_and_the_state() {
        let e = Event::parse(&json!({"action": "legal_hold", "date": "2026-11-27", "on": true}))
            .unwrap();
        assert_eq!(
            e,
            Event::LegalHold(LegalHoldEvent {
                date: "2026-11-27".parse().unwrap(),
                on: true,
            })
        );
        for bad in [
            json!({"action": "legal_hold", "date": "2026-11-27"}),
            json!({"action": "legal_hold", "on": false}),
            json!({"action": "legal_hold", "date": "2026-11-27", "on": "yes"}),
            json!({"action": "legal_hold", "date": "2026-11-27", "on": true, "days": 3}),
        ] {
            let e = Event::parse(&bad).unwrap_err();
            assert!(e.to_string().contains("legal_hold event"), "{e}");
        }
    }
}
