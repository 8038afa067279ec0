//! The lease a backup run holds on its day while it writes, as data and rules; a store makes it
//! exclusive with conditional writes.
//!
//! Two runs of one day at once (a retry that overlaps a slow run, a second scheduler, a late
//! manual run) must not both write the day's documents: one could replace the other's bytes
//! after the other committed its manifest. So a run takes the day's lease
//! (`backups/{date}/lease.json`, [`Layout::lease_key`](crate::layout::Layout::lease_key)) before
//! it writes any document:
//!
//! * no lease object: create it, create-only (`If-None-Match: *`); of two runs racing, one wins;
//! * a lease that is released or expired ([`decide`]): take it over by replacing it with
//!   `If-Match` on the ETag read, so of two runs taking over one stale lease, one wins;
//! * a live lease of another run: refuse (the other run is working on the day).
//!
//! The holder renews the lease (again `If-Match` on its own ETag) well before it expires
//! ([`Lease::renew_due`]) and stops writing if a renewal fails: its lease was taken over. It
//! releases the lease when done. A crashed run's lease expires on its own: its duration is
//! longer than the longest run can go without renewing.

use serde::{Deserialize, Serialize};

use crate::model::Timestamp;

/// The lease object's body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lease {
    /// The run holding it (the Lambda request id, a runner's run id).
    pub run_id: String,
    /// When it was taken or last renewed.
    pub renewed_at: Timestamp,
    /// When it lapses unless renewed.
    pub expires_at: Timestamp,
    /// Whether the holder gave it up (the day is committed, or the run ended).
    #[serde(default)]
    pub released: bool,
}

/// What a run may do about a day's lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaseDecision {
    /// There is none: create one, create-only.
    Create,
    /// The existing one lapsed or was released: replace it, conditional on its ETag.
    TakeOver,
    /// Another run holds it until the time given.
    Busy {
        /// Who.
        run_id: String,
        /// Until when, unless it renews.
        until: Timestamp,
    },
}

impl Lease {
    /// A lease for `run_id` from `now`, lasting `seconds`.
    pub fn new(run_id: &str, now: Timestamp, seconds: u32) -> Self {
        Self {
            run_id: run_id.to_owned(),
            renewed_at: now,
            expires_at: now.plus_seconds(i64::from(seconds)),
            released: false,
        }
    }

    /// The lease renewed at `now` for another `seconds`.
    pub fn renewed(&self, now: Timestamp, seconds: u32) -> Self {
        Self::new(&self.run_id, now, seconds)
    }

    /// The lease given up at `now`.
    pub fn released(&self, now: Timestamp) -> Self {
        Self {
            run_id: self.run_id.clone(),
            renewed_at: now,
            expires_at: now,
            released: true,
        }
    }

    /// Whether the holder should renew at `now`: a third of its time is left or less.
    pub fn renew_due(&self, now: Timestamp) -> bool {
        let total = self.expires_at.unix_seconds() - self.renewed_at.unix_seconds();
        let left = self.expires_at.unix_seconds() - now.unix_seconds();
        left * 3 <= total
    }

    /// The lease body as stored (compact JSON).
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Reads a stored lease body; `None` for bytes that are not one.
    pub fn from_json(bytes: &[u8]) -> Option<Self> {
        serde_json::from_slice(bytes).ok()
    }
}

/// What a run may do, given the day's lease as read (`None`: no lease object; `Some(None)`: an
/// object that is not a lease, which is taken over, since nothing can renew it) at `now`.
///
/// `retry_of`: the run id of this run when this run is a *retry* of that run, a later attempt
/// that cannot overlap the earlier one. Lambda retries a failed asynchronous invocation under the
/// same request id, only after the failed attempt ended; an attempt cut off from the store could
/// not release its lease, and its retry takes it over instead of waiting for it to lapse. A host
/// whose run ids may repeat for runs that overlap (a runner given `--run-id`) passes `None`.
pub fn decide(
    existing: Option<Option<&Lease>>,
    now: Timestamp,
    retry_of: Option<&str>,
) -> LeaseDecision {
    match existing {
        None => LeaseDecision::Create,
        Some(None) => LeaseDecision::TakeOver,
        Some(Some(lease)) if lease.released || lease.expires_at <= now => LeaseDecision::TakeOver,
        Some(Some(lease)) if retry_of == Some(lease.run_id.as_str()) => LeaseDecision::TakeOver,
        Some(Some(lease)) => LeaseDecision::Busy {
            run_id: lease.run_id.clone(),
            until: lease.expires_at,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn a_live_lease_is_busy_a_lapsed_or_released_one_is_taken_over() {
        let now = at("2026-11-28T02:00:00Z");
        let lease = Lease::new("run-a", now, 1200);
        assert_eq!(lease.expires_at, at("2026-11-28T02:20:00Z"));
        assert_eq!(decide(None, now, None), LeaseDecision::Create);
        assert_eq!(
            decide(Some(Some(&lease)), at("2026-11-28T02:19:59Z"), None),
            LeaseDecision::Busy {
                run_id: "run-a".into(),
                until: lease.expires_at
            }
        );
        assert_eq!(
            decide(Some(Some(&lease)), at("2026-11-28T02:20:00Z"), None),
            LeaseDecision::TakeOver
        );
        let released = lease.released(at("2026-11-28T02:05:00Z"));
        assert_eq!(
            decide(Some(Some(&released)), now, None),
            LeaseDecision::TakeOver
        );
        assert_eq!(decide(Some(None), now, None), LeaseDecision::TakeOver);
    }

    #[test]
    fn a_retry_of_the_holder_takes_its_live_lease_over_and_no_other_run_does() {
        let now = at("2026-11-28T02:00:00Z");
        let lease = Lease::new("request-1", now, 1200);
        let later = at("2026-11-28T02:03:00Z");
        assert_eq!(
            decide(Some(Some(&lease)), later, Some("request-1")),
            LeaseDecision::TakeOver
        );
        for other in [Some("request-2"), None] {
            assert!(matches!(
                decide(Some(Some(&lease)), later, other),
                LeaseDecision::Busy { .. }
            ));
        }
    }

    #[test]
    fn renewal_is_due_with_a_third_left() {
        let now = at("2026-11-28T02:00:00Z");
        let lease = Lease::new("run-a", now, 900);
        assert!(!lease.renew_due(at("2026-11-28T02:09:59Z")));
        assert!(lease.renew_due(at("2026-11-28T02:10:00Z")));
        let renewed = lease.renewed(at("2026-11-28T02:10:00Z"), 900);
        assert_eq!(renewed.expires_at, at("2026-11-28T02:25:00Z"));
        assert_eq!(renewed.run_id, "run-a");
    }

    #[test]
    fn the_body_round_trips_and_junk_is_no_lease() {
        let lease = Lease::new("run-a", at("2026-11-28T02:00:00Z"), 60);
        assert_eq!(Lease::from_json(&lease.to_json()), Some(lease));
        assert_eq!(Lease::from_json(b"{\"run_id\": 5}"), None);
        assert_eq!(Lease::from_json(b"\xff"), None);
    }
}
