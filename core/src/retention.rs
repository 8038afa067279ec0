//! Retention: how long each backup day is kept, and how S3 is told to enforce it.
//!
//! A [`RetentionPolicy`] keeps the last `keep_daily` days, and one day from each of the last
//! `keep_weekly` weeks, `keep_monthly` months and `keep_yearly` years, the promise of restic's
//! `forget --keep-daily/weekly/monthly/yearly` for a backup that runs every day. Unlike restic,
//! which keeps each period's *newest* snapshot and so can only decide later, docvault keeps each
//! period's *first* day, on a fixed calendar: a day's fate is known when it is written, so its
//! objects can be locked until then and tagged for the bucket's lifecycle rules.
//!
//! The calendar: a day is *yearly* on 1 January, *monthly* on the 1st of a month, *weekly* on the
//! policy's weekday (Sunday unless set), and *daily* otherwise. A day that starts several
//! periods gets the class whose period keeps it longest. Its `retain_until` is the last date it
//! must exist: the daily class keeps a day `keep_daily` days (through `date + keep_daily - 1`),
//! a weekly day for `keep_weekly` weeks, a monthly day for `keep_monthly` calendar months, a
//! yearly day for `keep_yearly` calendar years. From the first moment of the day after
//! `retain_until` (its *expiry*), it may be deleted.
//!
//! What the fixed calendar means: a period whose first day was not backed up (the vault's first,
//! partial week, month or year, or a failed 1st of the month) has no long-kept day; its days are
//! kept as dailies only.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::model::{BackupDate, Timestamp};

/// The class a day is kept as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RetentionClass {
    /// Kept `keep_daily` days.
    Daily,
    /// The first day of a week: kept `keep_weekly` weeks.
    Weekly,
    /// The first day of a month: kept `keep_monthly` months.
    Monthly,
    /// The first day of a year: kept `keep_yearly` years.
    Yearly,
}

impl RetentionClass {
    /// Every class, shortest-lived first.
    pub const ALL: [Self; 4] = [Self::Daily, Self::Weekly, Self::Monthly, Self::Yearly];

    /// The lowercase name, as written in manifests and in the `Retention` object tag.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Daily => "daily",
            Self::Weekly => "weekly",
            Self::Monthly => "monthly",
            Self::Yearly => "yearly",
        }
    }

    /// The class named `s` (`daily`, `weekly`, `monthly`, `yearly`).
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

impl fmt::Display for RetentionClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A day of the week.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[allow(missing_docs)]
pub enum Weekday {
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    #[default]
    Sunday,
}

impl Weekday {
    const ALL: [Self; 7] = [
        Self::Monday,
        Self::Tuesday,
        Self::Wednesday,
        Self::Thursday,
        Self::Friday,
        Self::Saturday,
        Self::Sunday,
    ];

    /// Days since Monday (Monday 0, Sunday 6).
    pub fn from_monday(self) -> u8 {
        self as u8
    }

    /// The lowercase English name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Monday => "monday",
            Self::Tuesday => "tuesday",
            Self::Wednesday => "wednesday",
            Self::Thursday => "thursday",
            Self::Friday => "friday",
            Self::Saturday => "saturday",
            Self::Sunday => "sunday",
        }
    }
}

impl FromStr for Weekday {
    type Err = RetentionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.to_ascii_lowercase();
        Self::ALL
            .into_iter()
            .find(|d| d.as_str() == lower || d.as_str()[..3] == lower)
            .ok_or_else(|| RetentionError::Weekday(s.to_owned()))
    }
}

impl fmt::Display for Weekday {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How S3 Object Lock protects a day's objects until their retention ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LockMode {
    /// No lock: the lifecycle rules delete the day on time, but anyone allowed to delete can
    /// delete it sooner.
    #[default]
    None,
    /// Locked; a caller with `s3:BypassGovernanceRetention` can still delete or shorten it.
    Governance,
    /// Locked; nobody, not even the account's root user, can delete it or shorten the lock
    /// before it ends. Cannot be undone.
    Compliance,
}

impl LockMode {
    /// The name S3 uses (`GOVERNANCE`, `COMPLIANCE`), or `None` for no lock.
    pub fn s3_name(self) -> Option<&'static str> {
        match self {
            Self::None => None,
            Self::Governance => Some("GOVERNANCE"),
            Self::Compliance => Some("COMPLIANCE"),
        }
    }

    /// The lowercase name, as written in manifests.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Governance => "governance",
            Self::Compliance => "compliance",
        }
    }
}

impl FromStr for LockMode {
    type Err = RetentionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "none" | "" => Ok(Self::None),
            "governance" => Ok(Self::Governance),
            "compliance" => Ok(Self::Compliance),
            _ => Err(RetentionError::LockMode(s.to_owned())),
        }
    }
}

impl fmt::Display for LockMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a retention setting was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RetentionError {
    /// A count is out of range.
    #[error("{name} = {value} is out of range: use {min} to {max}")]
    OutOfRange {
        /// The setting.
        name: &'static str,
        /// What was given.
        value: u32,
        /// The smallest allowed.
        min: u32,
        /// The largest allowed.
        max: u32,
    },
    /// Not a day of the week.
    #[error("`{}` is not a day of the week: use monday to sunday", crate::text::escaped(.0))]
    Weekday(String),
    /// Not a lock mode.
    #[error("`{}` is not a lock mode: use none, governance or compliance", crate::text::escaped(.0))]
    LockMode(String),
}

impl RetentionError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::OutOfRange { .. } => "retention_out_of_range",
            Self::Weekday(_) => "retention_weekday",
            Self::LockMode(_) => "retention_lock_mode",
        }
    }
}

/// How many days, weeks, months and years of backups to keep (see the module documentation).
/// Deserialized through [`RetentionPolicy::new`], so its bounds always hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields, try_from = "PolicyFields")]
pub struct RetentionPolicy {
    keep_daily: u32,
    keep_weekly: u32,
    keep_monthly: u32,
    keep_yearly: u32,
    weekly_on: Weekday,
}

/// A policy's fields as written, checked by [`RetentionPolicy::new`] when read.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFields {
    keep_daily: u32,
    keep_weekly: u32,
    keep_monthly: u32,
    keep_yearly: u32,
    weekly_on: Weekday,
}

impl TryFrom<PolicyFields> for RetentionPolicy {
    type Error = RetentionError;

    fn try_from(f: PolicyFields) -> Result<Self, Self::Error> {
        Self::new(
            f.keep_daily,
            f.keep_weekly,
            f.keep_monthly,
            f.keep_yearly,
            f.weekly_on,
        )
    }
}

impl RetentionPolicy {
    /// The most days a policy keeps as dailies (ten years).
    pub const MAX_DAILY: u32 = 3650;
    /// The most weeks (ten years).
    pub const MAX_WEEKLY: u32 = 520;
    /// The most months (a hundred years).
    pub const MAX_MONTHLY: u32 = 1200;
    /// The most years.
    pub const MAX_YEARLY: u32 = 100;

    /// A policy. At least the last day is always kept (`keep_daily` ≥ 1).
    ///
    /// # Errors
    /// [`RetentionError::OutOfRange`] for a count outside its range.
    pub fn new(
        keep_daily: u32,
        keep_weekly: u32,
        keep_monthly: u32,
        keep_yearly: u32,
        weekly_on: Weekday,
    ) -> Result<Self, RetentionError> {
        let check = |name, value, min, max| {
            if (min..=max).contains(&value) {
                Ok(())
            } else {
                Err(RetentionError::OutOfRange {
                    name,
                    value,
                    min,
                    max,
                })
            }
        };
        check("keep_daily", keep_daily, 1, Self::MAX_DAILY)?;
        check("keep_weekly", keep_weekly, 0, Self::MAX_WEEKLY)?;
        check("keep_monthly", keep_monthly, 0, Self::MAX_MONTHLY)?;
        check("keep_yearly", keep_yearly, 0, Self::MAX_YEARLY)?;
        Ok(Self {
            keep_daily,
            keep_weekly,
            keep_monthly,
            keep_yearly,
            weekly_on,
        })
    }

    /// The count of periods kept for `class`.
    pub fn keep(&self, class: RetentionClass) -> u32 {
        match class {
            RetentionClass::Daily => self.keep_daily,
            RetentionClass::Weekly => self.keep_weekly,
            RetentionClass::Monthly => self.keep_monthly,
            RetentionClass::Yearly => self.keep_yearly,
        }
    }

    /// The weekday whose backup is the week's weekly.
    pub fn weekly_on(&self) -> Weekday {
        self.weekly_on
    }

    /// Whether `date` starts a period of `class` on the fixed calendar.
    pub fn starts_period(&self, class: RetentionClass, date: BackupDate) -> bool {
        match class {
            RetentionClass::Daily => true,
            RetentionClass::Weekly => date.weekday_from_monday() == self.weekly_on.from_monday(),
            RetentionClass::Monthly => date.day() == 1,
            RetentionClass::Yearly => date.day() == 1 && date.month() == 1,
        }
    }

    /// The last date a day of `class` written for `date` must exist, if the policy keeps that
    /// class at all (a count of 0 keeps none). Saturates at 9999-12-31.
    ///
    /// Periods count from the day after `date`: a day is backed up once it has ended, so on
    /// day T the newest backup is of T - 1, and "the last N dailies" are T - N to T - 1. A day
    /// is therefore kept through `date + N days` (`+ N weeks`, `+ N months`, `+ N years`).
    fn horizon(&self, class: RetentionClass, date: BackupDate) -> Option<BackupDate> {
        let keep = self.keep(class);
        if keep == 0 {
            return None;
        }
        let end = match class {
            RetentionClass::Daily => date.plus_days(i64::from(keep)),
            RetentionClass::Weekly => date.plus_days(7 * i64::from(keep)),
            RetentionClass::Monthly => date.plus_months(keep),
            RetentionClass::Yearly => date.plus_months(12 * keep),
        };
        Some(end.unwrap_or(BackupDate::LAST))
    }

    /// The class `date` is kept as and the last date it must exist.
    pub fn classify(&self, date: BackupDate) -> (RetentionClass, BackupDate) {
        RetentionClass::ALL
            .into_iter()
            .filter(|&c| self.starts_period(c, date))
            .filter_map(|c| self.horizon(c, date).map(|h| (c, h)))
            // The longest-kept class; among equals, the higher class (later in `ALL`).
            .max_by_key(|&(c, h)| (h, c))
            .unwrap_or((RetentionClass::Daily, date))
    }

    /// Whether the day `date` must still exist on `today`.
    pub fn keeps(&self, date: BackupDate, today: BackupDate) -> bool {
        self.classify(date).1 >= today
    }

    /// The days after an object's creation after which a bucket lifecycle rule for `class` may
    /// delete it, so that the rule never deletes a day of that class before its expiry. S3 adds
    /// the days to the object's creation time and rounds up to the next midnight UTC; a day's
    /// objects are created during the day at the earliest (a forced backup of a day that has
    /// not ended), so `retain_until - date` days, rounded up, end no sooner than
    /// `retain_until + 1`, the expiry. 0 when the policy keeps no day of the class.
    pub fn lifecycle_days(&self, class: RetentionClass) -> u32 {
        let keep = self.keep(class);
        match class {
            RetentionClass::Daily => keep,
            RetentionClass::Weekly => 7 * keep,
            RetentionClass::Monthly => longest_span(keep, 1),
            RetentionClass::Yearly => longest_span(keep, 12),
        }
    }
}

/// The most days that `count` periods of `months_each` months span, starting on any 1st of a
/// month of the Gregorian calendar's 400-year cycle.
fn longest_span(count: u32, months_each: u32) -> u32 {
    if count == 0 {
        return 0;
    }
    let months = count * months_each;
    (0..400u16)
        .flat_map(|y| (1..=12u8).map(move |m| (2000 + y, m)))
        .filter(|&(_, m)| months_each == 1 || m == 1)
        .filter_map(|(y, m)| {
            let start = BackupDate::from_ymd(y, m, 1)?;
            let end = start.plus_months(months)?;
            u32::try_from(end.days_since_epoch() - start.days_since_epoch()).ok()
        })
        .max()
        .unwrap_or(0)
}

/// A policy and how S3 enforces it: what a run is configured with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Retention {
    /// How long days are kept.
    pub policy: RetentionPolicy,
    /// How objects are locked until then.
    pub lock: LockMode,
}

impl Retention {
    /// What the manifest of `date` records, and what every object of that day carries.
    pub fn for_day(&self, date: BackupDate) -> DayRetention {
        let (class, retain_until) = self.policy.classify(date);
        DayRetention {
            class,
            retain_until,
            lock_mode: self.lock,
            legal_hold: false,
        }
    }
}

/// One day's retention, as its manifest records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DayRetention {
    /// The class the day is kept as.
    pub class: RetentionClass,
    /// The last date the day must exist.
    pub retain_until: BackupDate,
    /// How its objects are locked until the day after `retain_until`.
    pub lock_mode: LockMode,
    /// Whether its objects were written under legal hold.
    pub legal_hold: bool,
}

impl DayRetention {
    /// The first instant the day may be deleted: midnight UTC after `retain_until` (the last
    /// instant a timestamp can hold for a day kept to the end of 9999).
    pub fn expires_at(&self) -> Timestamp {
        self.retain_until.next_day().map_or_else(
            || self.retain_until.start().plus_seconds(86_399),
            BackupDate::start,
        )
    }

    /// The object lock every object of the day is written with, if any.
    pub fn object_lock(&self) -> Option<ObjectLock> {
        (self.lock_mode != LockMode::None).then(|| ObjectLock {
            mode: self.lock_mode,
            retain_until: self.expires_at(),
        })
    }
}

/// Object Lock, legal hold and retention tag as a store reports them for one object.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ObservedRetention {
    /// The lock mode reported ([`LockMode::None`]: no lock).
    pub lock_mode: LockMode,
    /// The lock's retain-until date, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retain_until: Option<Timestamp>,
    /// Whether the object is under legal hold.
    #[serde(default)]
    pub legal_hold: bool,
    /// The object's `Retention` tag, if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class_tag: Option<String>,
}

impl ObservedRetention {
    fn describe(&self) -> String {
        let lock = match (self.lock_mode, self.retain_until) {
            (LockMode::None, _) => "no lock".to_owned(),
            (mode, Some(until)) => format!("{mode} lock until {until}"),
            (mode, None) => format!("{mode} lock with no retain-until date"),
        };
        match &self.class_tag {
            Some(tag) => format!("{lock}, class tag `{}`", crate::text::escaped(tag)),
            None => format!("{lock}, no class tag"),
        }
    }
}

impl DayRetention {
    /// How an object of this day, as observed, falls short of this retention: its class tag
    /// differs, or its lock is weaker (another mode, none, or an earlier retain-until; a
    /// later one, an extension, is fine). `None` when it holds; else what was expected and
    /// what was found.
    pub fn shortfall(&self, observed: &ObservedRetention) -> Option<(String, String)> {
        let tag_ok = observed.class_tag.as_deref() == Some(self.class.as_str());
        let lock_ok = self.object_lock().is_none_or(|lock| {
            // A compliance lock is at least a governance lock.
            (observed.lock_mode == lock.mode
                || (lock.mode == LockMode::Governance
                    && observed.lock_mode == LockMode::Compliance))
                && observed
                    .retain_until
                    .is_some_and(|until| until >= lock.retain_until)
        });
        if tag_ok && lock_ok {
            return None;
        }
        let expected = match self.object_lock() {
            Some(lock) => format!(
                "{} lock until {}, class tag `{}`",
                lock.mode, lock.retain_until, self.class
            ),
            None => format!("class tag `{}`", self.class),
        };
        Some((expected, observed.describe()))
    }
}

/// The record of a day's legal hold, written beside its manifest
/// ([`Layout::legal_hold_key`](crate::Layout::legal_hold_key)) after the hold was set on, or
/// cleared from, every object of the day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LegalHoldRecord {
    /// The day.
    pub backup_date: BackupDate,
    /// Whether the day is on hold.
    pub on: bool,
    /// When it was set or cleared.
    pub at: Timestamp,
    /// Who set or cleared it (a Lambda request id, a run id), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    /// The objects whose hold was set or cleared.
    pub objects: u64,
}

impl LegalHoldRecord {
    /// Whether a stored record's bytes put its day on hold: a record that says `on`, and also
    /// one that cannot be read (nothing is deleted on a guess).
    pub fn holds(bytes: &[u8]) -> bool {
        serde_json::from_slice::<Self>(bytes).map_or(true, |r| r.on)
    }

    /// The record's JSON bytes.
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec_pretty(self).unwrap_or_default();
        out.push(b'\n');
        out
    }
}

/// S3 Object Lock headers for one PUT: `x-amz-object-lock-mode` and
/// `x-amz-object-lock-retain-until-date`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ObjectLock {
    /// Governance or compliance (never [`LockMode::None`]).
    pub mode: LockMode,
    /// Until when.
    pub retain_until: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> BackupDate {
        s.parse().unwrap()
    }

    fn policy(d: u32, w: u32, m: u32, y: u32) -> RetentionPolicy {
        RetentionPolicy::new(d, w, m, y, Weekday::Sunday).unwrap()
    }

    #[test]
    fn the_calendar_decides_the_class() {
        let p = policy(7, 4, 12, 7);
        // 2026-11-29 is a Sunday.
        assert_eq!(
            p.classify(date("2026-11-27")),
            (RetentionClass::Daily, date("2026-12-04"))
        );
        assert_eq!(
            p.classify(date("2026-11-29")),
            (RetentionClass::Weekly, date("2026-12-27"))
        );
        assert_eq!(
            p.classify(date("2026-12-01")),
            (RetentionClass::Monthly, date("2027-12-01"))
        );
        assert_eq!(
            p.classify(date("2027-01-01")),
            (RetentionClass::Yearly, date("2034-01-01"))
        );
    }

    #[test]
    fn a_class_the_policy_does_not_keep_falls_back_to_the_longest_kept() {
        // No yearlies: 1 January is kept as a monthly.
        let p = policy(7, 0, 12, 0);
        assert_eq!(
            p.classify(date("2027-01-01")),
            (RetentionClass::Monthly, date("2028-01-01"))
        );
        // No weeklies: a Sunday is a daily.
        assert_eq!(p.classify(date("2026-11-29")).0, RetentionClass::Daily);
        // Thirty dailies outlast one weekly: the day keeps the longer promise.
        let p = policy(30, 1, 0, 0);
        assert_eq!(
            p.classify(date("2026-11-29")),
            (RetentionClass::Daily, date("2026-12-29"))
        );
    }

    #[test]
    fn months_are_calendar_months() {
        let p = policy(1, 0, 1, 0);
        assert_eq!(p.classify(date("2027-02-01")).1, date("2027-03-01"));
        assert_eq!(p.classify(date("2028-02-01")).1, date("2028-03-01"));
        assert_eq!(p.classify(date("2027-01-01")).1, date("2027-02-01"));
        assert_eq!(p.lifecycle_days(RetentionClass::Monthly), 31);
        assert_eq!(
            policy(1, 0, 12, 0).lifecycle_days(RetentionClass::Monthly),
            366
        );
        assert_eq!(
            policy(1, 0, 0, 1).lifecycle_days(RetentionClass::Yearly),
            366
        );
        assert_eq!(
            policy(1, 0, 0, 4).lifecycle_days(RetentionClass::Yearly),
            1461
        );
        assert_eq!(policy(1, 0, 0, 0).lifecycle_days(RetentionClass::Yearly), 0);
    }

    #[test]
    fn the_end_of_the_calendar_saturates() {
        let p = policy(1, 0, 0, 100);
        let r = Retention {
            policy: p,
            lock: LockMode::Compliance,
        }
        .for_day(date("9999-01-01"));
        assert_eq!(r.retain_until, BackupDate::LAST);
        assert_eq!(
            r.object_lock().unwrap().retain_until.to_string(),
            "9999-12-31T23:59:59Z"
        );
    }

    #[test]
    fn the_lock_ends_at_midnight_after_the_last_day() {
        let r = Retention {
            policy: policy(7, 0, 0, 0),
            lock: LockMode::Governance,
        }
        .for_day(date("2026-11-27"));
        let lock = r.object_lock().unwrap();
        assert_eq!(lock.mode, LockMode::Governance);
        assert_eq!(lock.retain_until.to_string(), "2026-12-05T00:00:00Z");
        let none = Retention {
            policy: policy(7, 0, 0, 0),
            lock: LockMode::None,
        };
        assert_eq!(none.for_day(date("2026-11-27")).object_lock(), None);
    }

    #[test]
    fn an_object_falls_short_when_its_lock_is_weaker_or_its_tag_differs() {
        let r = Retention {
            policy: policy(7, 0, 0, 0),
            lock: LockMode::Compliance,
        }
        .for_day(date("2026-11-27"));
        let until: Timestamp = "2026-12-05T00:00:00Z".parse().unwrap();
        let good = ObservedRetention {
            lock_mode: LockMode::Compliance,
            retain_until: Some(until),
            legal_hold: false,
            class_tag: Some("daily".into()),
        };
        assert_eq!(r.shortfall(&good), None);
        let extended = ObservedRetention {
            retain_until: Some(until.plus_seconds(86_400)),
            ..good.clone()
        };
        assert_eq!(r.shortfall(&extended), None);
        let shorter = ObservedRetention {
            retain_until: Some(until.plus_seconds(-1)),
            ..good.clone()
        };
        let (expected, actual) = r.shortfall(&shorter).unwrap();
        assert_eq!(
            expected,
            "compliance lock until 2026-12-05T00:00:00Z, class tag `daily`"
        );
        assert_eq!(
            actual,
            "compliance lock until 2026-12-04T23:59:59Z, class tag `daily`"
        );
        let unlocked = ObservedRetention {
            lock_mode: LockMode::None,
            retain_until: None,
            ..good.clone()
        };
        assert_eq!(
            r.shortfall(&unlocked).unwrap().1,
            "no lock, class tag `daily`"
        );
        let governance = ObservedRetention {
            lock_mode: LockMode::Governance,
            ..good.clone()
        };
        assert!(r.shortfall(&governance).is_some());
        let governed = Retention {
            policy: policy(7, 0, 0, 0),
            lock: LockMode::Governance,
        }
        .for_day(date("2026-11-27"));
        assert_eq!(
            governed.shortfall(&good),
            None,
            "compliance satisfies governance"
        );
        assert!(governed.shortfall(&unlocked).is_some());
        let untagged = ObservedRetention {
            class_tag: None,
            ..good.clone()
        };
        assert!(r.shortfall(&untagged).unwrap().1.ends_with("no class tag"));
        // Without a lock, only the tag is required.
        let r = Retention {
            policy: policy(7, 0, 0, 0),
            lock: LockMode::None,
        }
        .for_day(date("2026-11-27"));
        assert_eq!(r.shortfall(&unlocked), None);
    }

    #[test]
    fn a_deserialized_policy_keeps_the_bounds() {
        let ok: RetentionPolicy = serde_json::from_str(
            r#"{"keep_daily": 7, "keep_weekly": 4, "keep_monthly": 0, "keep_yearly": 0, "weekly_on": "sunday"}"#,
        )
        .unwrap();
        assert_eq!(ok, policy(7, 4, 0, 0));
        for bad in [
            r#"{"keep_daily": 0, "keep_weekly": 0, "keep_monthly": 0, "keep_yearly": 0, "weekly_on": "sunday"}"#,
            r#"{"keep_daily": 1, "keep_weekly": 4294967295, "keep_monthly": 0, "keep_yearly": 0, "weekly_on": "sunday"}"#,
        ] {
            assert!(
                serde_json::from_str::<RetentionPolicy>(bad).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn out_of_range_settings_say_the_range() {
        let e = RetentionPolicy::new(0, 0, 0, 0, Weekday::Sunday).unwrap_err();
        assert_eq!(
            e.to_string(),
            "keep_daily = 0 is out of range: use 1 to 3650"
        );
        assert!(RetentionPolicy::new(1, 521, 0, 0, Weekday::Sunday).is_err());
        assert_eq!("Sun".parse::<Weekday>().unwrap(), Weekday::Sunday);
        assert!("funday".parse::<Weekday>().is_err());
        assert_eq!(
            "COMPLIANCE".parse::<LockMode>().unwrap(),
            LockMode::Compliance
        );
        assert!("forever".parse::<LockMode>().is_err());
    }
}
