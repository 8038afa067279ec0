//! Which day a run backs up, and which days may be backed up at all.
//!
//! A day's manifest seals it: once committed, documents that land in the day's folder later are
//! never backed up. So a day is backed up after it has ended: the scheduled run at 02:00 UTC
//! backs up the UTC day before ([`scheduled_day`]), and a run for a day that has not ended yet
//! (today, or a future date) is refused unless the caller forces it ([`check_backup_day`]).

use crate::model::{BackupDate, Timestamp};

/// The first day docvault backs up: 1970-01-01 (the Unix epoch; nothing earlier is a plausible
/// backup day, and bounding dates keeps a typo like `0026-11-27` from sealing a day).
pub fn first_day() -> BackupDate {
    BackupDate::from_days_since_epoch(0).unwrap_or_else(|| unreachable!("1970-01-01 is in range"))
}

/// The day a run scheduled at `time` backs up: the UTC day before it, the last day that has
/// ended. `None` only for a time on 0000-01-01.
pub fn scheduled_day(time: Timestamp) -> Option<BackupDate> {
    time.date().previous_day()
}

/// Why a day may not be backed up now.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DayError {
    /// Before [`first_day`].
    #[error("{date} is before 1970-01-01: give the day to back up as YYYY-MM-DD")]
    BeforeFirst {
        /// The day asked for.
        date: BackupDate,
    },
    /// The day has not ended: documents can still arrive for it.
    #[error(
        "{date} has not ended yet (it is {now}): a backup seals its day, and documents landing \
         later would never be backed up; back it up after midnight UTC, or force it to seal \
         the day now"
    )]
    NotEnded {
        /// The day asked for.
        date: BackupDate,
        /// The host clock.
        now: Timestamp,
    },
}

impl DayError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BeforeFirst { .. } => "day_before_1970",
            Self::NotEnded { .. } => "day_not_ended",
        }
    }
}

/// Whether `date` may be backed up at `now`: not before [`first_day`], and ended, unless
/// `force`.
///
/// # Errors
/// [`DayError`].
pub fn check_backup_day(date: BackupDate, now: Timestamp, force: bool) -> Result<(), DayError> {
    if date < first_day() {
        return Err(DayError::BeforeFirst { date });
    }
    if !force && !date.has_ended_at(now) {
        return Err(DayError::NotEnded { date, now });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> BackupDate {
        s.parse().unwrap()
    }

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn the_nightly_run_backs_up_the_day_that_ended() {
        assert_eq!(
            scheduled_day(at("2026-11-28T02:00:00Z")),
            Some(day("2026-11-27"))
        );
        assert_eq!(
            scheduled_day(at("2026-01-01T00:00:00Z")),
            Some(day("2025-12-31"))
        );
        assert_eq!(scheduled_day(at("0000-01-01T05:00:00Z")), None);
    }

    #[test]
    fn only_days_that_ended_unless_forced() {
        let now = at("2026-11-28T02:00:00Z");
        assert!(check_backup_day(day("2026-11-27"), now, false).is_ok());
        let e = check_backup_day(day("2026-11-28"), now, false).unwrap_err();
        assert_eq!(e.code(), "day_not_ended");
        assert!(e.to_string().contains("force"), "{e}");
        assert!(check_backup_day(day("2026-11-28"), now, true).is_ok());
        assert_eq!(
            check_backup_day(day("2027-01-01"), now, false)
                .unwrap_err()
                .code(),
            "day_not_ended"
        );
        assert_eq!(
            check_backup_day(day("0026-11-27"), now, true)
                .unwrap_err()
                .code(),
            "day_before_1970"
        );
        assert!(check_backup_day(day("1970-01-01"), now, false).is_ok());
    }
}
