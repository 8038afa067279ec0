//! Pruning: which stored days a retention policy lets go, for stores without lifecycle rules
//! (a local backup set; a bucket without the stack's rules).
//!
//! A day is kept while the policy keeps it ([`RetentionPolicy::keeps`]), while its manifest's
//! own `retain_until` has not passed (it was written under a longer policy, or locked: the
//! promise made when it was written stands), and while it is on legal hold. Everything else is
//! deleted, in an order that never leaves a manifest pointing at deleted documents: the
//! manifest first leaves its commit key ([`Layout::pruning_key`]), so the day reads as not
//! backed up, then the documents and the rest of the day go. A prune interrupted at any point
//! leaves a day without a manifest, which verify reports as having no complete backup and the
//! next prune finishes.

use serde::Serialize;

use crate::model::BackupDate;
use crate::retention::{DayRetention, RetentionClass, RetentionPolicy};

/// What a host knows of one stored day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDay {
    /// The day.
    pub date: BackupDate,
    /// The retention its manifest records, when it has a readable manifest that records one.
    pub retention: Option<DayRetention>,
    /// Whether it is on legal hold.
    pub held: bool,
    /// Whether its manifest, when it has one, could be read (a day whose manifest cannot be
    /// read is kept: its own retention is unknown).
    pub readable: bool,
}

/// Why a day is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum KeepReason {
    /// The policy keeps it, as this class, through this date.
    Policy {
        /// Its class under the policy.
        class: RetentionClass,
        /// The last date the policy keeps it.
        retain_until: BackupDate,
    },
    /// Its manifest's retention has not ended.
    Manifest {
        /// The manifest's `retain_until`.
        retain_until: BackupDate,
    },
    /// It is on legal hold.
    LegalHold,
    /// Its manifest cannot be read, so its own retention is unknown: look at it.
    Unreadable,
    /// A backup of the day is running (it holds the day's lock or lease).
    Busy,
}

/// The decision for one day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Decision {
    /// Kept, and why (the first reason that applies).
    Keep(KeepReason),
    /// Deleted.
    Delete,
}

impl std::fmt::Display for Decision {
    /// The decision for people: `delete`, or `keep` and why (one line, aligned in reports).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Delete => f.write_str("delete"),
            Self::Keep(KeepReason::Policy {
                class,
                retain_until,
            }) => write!(f, "keep    {class}, until {retain_until}"),
            Self::Keep(KeepReason::Manifest { retain_until }) => {
                write!(f, "keep    its manifest keeps it until {retain_until}")
            }
            Self::Keep(KeepReason::LegalHold) => f.write_str("keep    on legal hold"),
            Self::Keep(KeepReason::Unreadable) => {
                f.write_str("keep    its manifest cannot be read: check it with verify")
            }
            Self::Keep(KeepReason::Busy) => {
                f.write_str("keep    a backup of the day is running: prune again later")
            }
        }
    }
}

/// One day's outcome of a prune.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PrunedDay {
    /// The day.
    pub date: BackupDate,
    /// The decision taken (after deciding again under the day's lock or lease).
    #[serde(flatten)]
    pub decision: Decision,
    /// Whether the day was deleted (only when the prune was asked to delete).
    pub deleted: bool,
    /// Object versions deleted, where the store has versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_versions: Option<u64>,
}

/// What a prune did, for every host: as JSON (serde) and as text ([`PruneReport::render_text`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PruneReport {
    /// Always `prune`.
    pub command: &'static str,
    /// The backup set, as the user named it.
    pub dest: String,
    /// The day decided on.
    pub today: BackupDate,
    /// Whether nothing was to be deleted (decisions only).
    pub dry_run: bool,
    /// Days kept.
    pub kept: usize,
    /// Days the policy lets go.
    pub to_delete: usize,
    /// Days deleted.
    pub deleted: usize,
    /// Every day, in date order.
    pub days: Vec<PrunedDay>,
}

impl PruneReport {
    /// The report of a prune of `dest` on `today`.
    pub fn new(dest: String, today: BackupDate, dry_run: bool, days: Vec<PrunedDay>) -> Self {
        let to_delete = days
            .iter()
            .filter(|d| d.decision == Decision::Delete)
            .count();
        Self {
            command: "prune",
            dest,
            today,
            dry_run,
            kept: days.len() - to_delete,
            to_delete,
            deleted: days.iter().filter(|d| d.deleted).count(),
            days,
        }
    }

    /// The report as text for people: a line per day, then a summary.
    pub fn render_text(&self) -> String {
        use std::fmt::Write as _;
        let mut text = String::new();
        for day in &self.days {
            let what = match (day.decision, day.deleted_versions) {
                (Decision::Delete, Some(n)) if day.deleted => format!("deleted ({n} versions)"),
                (Decision::Delete, None) if day.deleted => "deleted".to_owned(),
                (Decision::Delete, _) => "would delete".to_owned(),
                (keep, _) => keep.to_string(),
            };
            let _ = writeln!(text, "{}  {what}", day.date);
        }
        let _ = writeln!(
            text,
            "prune of {} on {}: {} days kept, {}",
            crate::text::escaped(&self.dest),
            self.today,
            self.kept,
            if self.dry_run {
                format!(
                    "{} would be deleted (nothing was deleted: add --yes to delete them)",
                    self.to_delete
                )
            } else {
                format!("{} deleted", self.deleted)
            }
        );
        text
    }
}

/// A `today` to prune on that is later than tomorrow at `now` (a typo would delete every day
/// the policy keeps): refused, with the fix.
///
/// # Errors
/// The message, naming both dates.
pub fn check_today(today: BackupDate, now: crate::model::Timestamp) -> Result<(), String> {
    let tomorrow = now.date().next_day().unwrap_or(BackupDate::LAST);
    if today > tomorrow {
        Err(format!(
            "--today {today} is after tomorrow ({tomorrow}): pruning as of a future day would \
             delete days the policy still keeps; give today's date or leave --today out"
        ))
    } else {
        Ok(())
    }
}

/// Decides, for each stored day, whether `policy` keeps it on `today`. Days come back in date
/// order.
pub fn decide(
    policy: &RetentionPolicy,
    today: BackupDate,
    days: &[StoredDay],
) -> Vec<(BackupDate, Decision)> {
    let mut out: Vec<(BackupDate, Decision)> = days
        .iter()
        .map(|day| {
            let (class, retain_until) = policy.classify(day.date);
            let decision = if retain_until >= today {
                Decision::Keep(KeepReason::Policy {
                    class,
                    retain_until,
                })
            } else if let Some(r) = day.retention.filter(|r| r.retain_until >= today) {
                Decision::Keep(KeepReason::Manifest {
                    retain_until: r.retain_until,
                })
            } else if day.held {
                Decision::Keep(KeepReason::LegalHold)
            } else if !day.readable {
                Decision::Keep(KeepReason::Unreadable)
            } else {
                Decision::Delete
            };
            (day.date, decision)
        })
        .collect();
    out.sort_by_key(|(date, _)| *date);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::retention::{LockMode, Weekday};

    fn date(s: &str) -> BackupDate {
        s.parse().unwrap()
    }

    fn day(s: &str) -> StoredDay {
        StoredDay {
            date: date(s),
            retention: None,
            held: false,
            readable: true,
        }
    }

    #[test]
    fn a_future_today_is_refused() {
        let now = "2026-11-30T10:00:00Z".parse().unwrap();
        assert!(check_today(date("2026-12-01"), now).is_ok());
        assert!(check_today(date("2026-11-01"), now).is_ok());
        let e = check_today(date("2027-11-30"), now).unwrap_err();
        assert!(e.contains("after tomorrow (2026-12-01)"), "{e}");
    }

    #[test]
    fn the_policy_the_manifest_and_a_hold_each_keep_a_day() {
        let policy = RetentionPolicy::new(3, 0, 0, 0, Weekday::Sunday).unwrap();
        let today = date("2026-11-30");
        let mut long = day("2026-11-10");
        long.retention = Some(DayRetention {
            class: RetentionClass::Daily,
            retain_until: date("2026-12-09"),
            lock_mode: LockMode::None,
            legal_hold: false,
        });
        let mut held = day("2026-11-11");
        held.held = true;
        let mut unreadable = day("2026-11-13");
        unreadable.readable = false;
        let days = [
            day("2026-11-28"),
            day("2026-11-27"),
            long,
            held,
            day("2026-11-12"),
            unreadable,
        ];
        let decisions = decide(&policy, today, &days);
        assert_eq!(
            decisions,
            [
                (
                    date("2026-11-10"),
                    Decision::Keep(KeepReason::Manifest {
                        retain_until: date("2026-12-09")
                    })
                ),
                (date("2026-11-11"), Decision::Keep(KeepReason::LegalHold)),
                (date("2026-11-12"), Decision::Delete),
                (date("2026-11-13"), Decision::Keep(KeepReason::Unreadable)),
                (
                    date("2026-11-27"),
                    Decision::Keep(KeepReason::Policy {
                        class: RetentionClass::Daily,
                        retain_until: date("2026-11-30")
                    })
                ),
                (
                    date("2026-11-28"),
                    Decision::Keep(KeepReason::Policy {
                        class: RetentionClass::Daily,
                        retain_until: date("2026-12-01")
                    })
                ),
            ]
        );
    }
}
