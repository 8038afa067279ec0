//! Days and instants: [`BackupDate`] (a UTC calendar day) and [`Timestamp`] (an instant in UTC).
//!
//! Both hold values from year 0000 to year 9999 only, an invariant every constructor keeps:
//! the canonical forms have four-digit years, and no input, however hostile, can build a value
//! that would overflow or panic later (a `-23:59` offset on `9999-12-31T23:59:59` is year 10000
//! in UTC, and is refused). Calendar arithmetic is chrono's; chrono stays private to this
//! module, so hosts deal only in these two types.

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Datelike as _, NaiveDate, TimeZone as _, Timelike as _, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::ValueError;

/// The first instant a [`Timestamp`] can hold: `0000-01-01T00:00:00Z`.
const FIRST_SECOND: i64 = -62_167_219_200;
/// The last whole second a [`Timestamp`] can hold: `9999-12-31T23:59:59Z`.
const LAST_SECOND: i64 = 253_402_300_799;
/// chrono counts days from the Common Era (0001-01-01 is day 1); 1970-01-01 is this day.
const EPOCH_DAYS_FROM_CE: i64 = 719_163;

/// The day a backup belongs to (UTC calendar date), written `YYYY-MM-DD`, years 0000 to 9999.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BackupDate(NaiveDate);

impl BackupDate {
    /// The day `days` after 1970-01-01 (negative: before), when it lies within years 0-9999.
    pub fn from_days_since_epoch(days: i64) -> Option<Self> {
        let ce = i32::try_from(days.checked_add(EPOCH_DAYS_FROM_CE)?).ok()?;
        NaiveDate::from_num_days_from_ce_opt(ce)
            .filter(in_range)
            .map(Self)
    }

    /// Days since 1970-01-01 (negative before).
    pub fn days_since_epoch(self) -> i64 {
        i64::from(self.0.num_days_from_ce()) - EPOCH_DAYS_FROM_CE
    }

    /// The day before, unless this is 0000-01-01.
    pub fn previous_day(self) -> Option<Self> {
        Self::from_days_since_epoch(self.days_since_epoch() - 1)
    }

    /// The day after, unless this is 9999-12-31.
    pub fn next_day(self) -> Option<Self> {
        Self::from_days_since_epoch(self.days_since_epoch() + 1)
    }

    /// The year (0 to 9999).
    pub fn year(self) -> u16 {
        // In range by construction.
        u16::try_from(self.0.year()).unwrap_or(0)
    }

    /// The month (1 to 12).
    pub fn month(self) -> u8 {
        self.0.month() as u8
    }

    /// The day of the month (1 to 31).
    pub fn day(self) -> u8 {
        self.0.day() as u8
    }

    /// Days since Monday (Monday 0, Sunday 6).
    pub fn weekday_from_monday(self) -> u8 {
        self.0.weekday().num_days_from_monday() as u8
    }

    /// The day with this year, month and day of the month, when it exists within 0-9999.
    pub fn from_ymd(year: u16, month: u8, day: u8) -> Option<Self> {
        NaiveDate::from_ymd_opt(i32::from(year), u32::from(month), u32::from(day))
            .filter(in_range)
            .map(Self)
    }

    /// The same day of the month `months` months later (the month's last day when it is
    /// shorter), unless that lies after 9999-12-31.
    pub fn plus_months(self, months: u32) -> Option<Self> {
        self.0
            .checked_add_months(chrono::Months::new(months))
            .filter(in_range)
            .map(Self)
    }

    /// The day `days` days later (negative: earlier), unless that lies outside 0-9999.
    pub fn plus_days(self, days: i64) -> Option<Self> {
        Self::from_days_since_epoch(self.days_since_epoch().checked_add(days)?)
    }

    /// The last day a [`BackupDate`] can hold, 9999-12-31.
    pub const LAST: Self = Self(NaiveDate::from_ymd_opt(9999, 12, 31).expect("a valid date"));

    /// Midnight UTC at the start of this day.
    pub fn start(self) -> Timestamp {
        Timestamp(Utc.from_utc_datetime(&self.0.and_time(chrono::NaiveTime::MIN)))
    }

    /// Whether this day has ended at `now` (its last instant is before `now`).
    pub fn has_ended_at(self, now: Timestamp) -> bool {
        now.date() > self
    }

    pub(crate) fn write(self, out: &mut [u8]) {
        put_digits(&mut out[0..4], u32::from(self.year()));
        out[4] = b'-';
        put_digits(&mut out[5..7], u32::from(self.month()));
        out[7] = b'-';
        put_digits(&mut out[8..10], u32::from(self.day()));
    }
}

fn in_range(d: &NaiveDate) -> bool {
    (0..=9999).contains(&d.year())
}

impl FromStr for BackupDate {
    type Err = ValueError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ValueError::Date {
            value: s.to_owned(),
        };
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return Err(err());
        }
        let (y, m, d) = (
            digits(&b[0..4]).ok_or_else(err)?,
            digits(&b[5..7]).ok_or_else(err)?,
            digits(&b[8..10]).ok_or_else(err)?,
        );
        let date = NaiveDate::from_ymd_opt(y as i32, m, d).ok_or_else(err)?;
        Ok(Self(date))
    }
}

/// The value of a run of ASCII digits (at most 4 here).
fn digits(part: &[u8]) -> Option<u32> {
    part.iter().try_fold(0u32, |n, &c| {
        c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
    })
}

impl fmt::Display for BackupDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = [0u8; 10];
        self.write(&mut buf);
        f.write_str(ascii(&buf))
    }
}

impl Serialize for BackupDate {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut buf = [0u8; 10];
        self.write(&mut buf);
        s.serialize_str(ascii(&buf))
    }
}

impl<'de> Deserialize<'de> for BackupDate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// An instant from `0000-01-01T00:00:00Z` to the end of 9999, held and written in UTC as
/// RFC 3339 (`2026-11-27T02:00:00Z`, with a fraction only when it is not zero).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(DateTime<Utc>);

impl Timestamp {
    /// The instant `seconds` (and `nanos`, below 10^9) after the Unix epoch, when it lies in
    /// years 0-9999.
    pub fn from_unix(seconds: i64, nanos: u32) -> Option<Self> {
        if !(FIRST_SECOND..=LAST_SECOND).contains(&seconds) || nanos >= 1_000_000_000 {
            return None;
        }
        Utc.timestamp_opt(seconds, nanos).single().map(Self)
    }

    /// The instant `seconds` after the epoch (see [`from_unix`](Self::from_unix)).
    pub fn from_unix_seconds(seconds: i64) -> Option<Self> {
        Self::from_unix(seconds, 0)
    }

    /// A system time (a file's modification time, the host clock read by a host), when it lies
    /// in years 0-9999. Converting a value reads no clock.
    pub fn from_system_time(t: SystemTime) -> Option<Self> {
        match t.duration_since(UNIX_EPOCH) {
            Ok(d) => Self::from_unix(i64::try_from(d.as_secs()).ok()?, d.subsec_nanos()),
            Err(e) => {
                // Before the epoch: round towards the past, keeping the fraction positive.
                let d: Duration = e.duration();
                let secs = i64::try_from(d.as_secs()).ok()?;
                match d.subsec_nanos() {
                    0 => Self::from_unix(-secs, 0),
                    n => Self::from_unix(-secs - 1, 1_000_000_000 - n),
                }
            }
        }
    }

    /// Seconds since the Unix epoch.
    pub fn unix_seconds(self) -> i64 {
        self.0.timestamp()
    }

    /// Milliseconds since the Unix epoch (what CloudWatch EMF expects).
    pub fn unix_millis(self) -> i64 {
        self.0.timestamp_millis()
    }

    /// The UTC calendar day this instant falls on.
    pub fn date(self) -> BackupDate {
        BackupDate(self.0.date_naive())
    }

    /// This instant without its fraction of a second.
    pub fn truncate_to_seconds(self) -> Self {
        Self(self.0.with_nanosecond(0).unwrap_or(self.0))
    }

    /// This instant plus whole seconds (negative: minus), held within years 0-9999: a result
    /// outside them is the first or last second of that range.
    pub fn plus_seconds(self, seconds: i64) -> Self {
        let target = self.unix_seconds().saturating_add(seconds);
        let clamped = target.clamp(FIRST_SECOND, LAST_SECOND);
        let nanos = if clamped == target {
            self.0.nanosecond()
        } else {
            0
        };
        Self::from_unix(clamped, nanos).unwrap_or(self)
    }

    /// Writes the canonical form into `out`; returns the number of bytes written.
    fn write(self, out: &mut [u8; 30]) -> usize {
        let t = self.0;
        self.date().write(&mut out[..10]);
        out[10] = b'T';
        put_digits(&mut out[11..13], t.hour());
        out[13] = b':';
        put_digits(&mut out[14..16], t.minute());
        out[16] = b':';
        put_digits(&mut out[17..19], t.second());
        let mut n = 19;
        // Below 10^9: leap seconds are folded into the second before when parsed.
        let nanos = t.nanosecond().min(999_999_999);
        if nanos != 0 {
            out[n] = b'.';
            put_digits(&mut out[n + 1..n + 10], nanos);
            n += 10;
            while out[n - 1] == b'0' {
                n -= 1;
            }
        }
        out[n] = b'Z';
        n + 1
    }

    /// Appends the canonical form (without quotes).
    pub(crate) fn write_to(self, out: &mut Vec<u8>) {
        let mut buf = [0u8; 30];
        let n = self.write(&mut buf);
        out.extend_from_slice(&buf[..n]);
    }
}

impl FromStr for Timestamp {
    type Err = ValueError;

    /// RFC 3339 with a zone (`Z` or `±HH:MM`), date and time separated by `T`; the result in
    /// UTC must fall in years 0-9999. A leap second (`:60`) is held as the last nanosecond of
    /// the second before it, so every value has one canonical text.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ValueError::Timestamp {
            value: s.to_owned(),
        };
        // chrono also takes a space or a `t` between date and time, and a `z` zone; the
        // published JSON Schema (and every manifest docvault writes) has `T` and `Z`.
        if s.as_bytes().get(10) != Some(&b'T') || s.ends_with('z') {
            return Err(err());
        }
        let parsed = DateTime::parse_from_rfc3339(s).map_err(|_| err())?;
        let utc = parsed.with_timezone(&Utc);
        let seconds = utc.timestamp();
        if !(FIRST_SECOND..=LAST_SECOND).contains(&seconds) {
            return Err(err());
        }
        let nanos = utc.nanosecond();
        let t = if nanos >= 1_000_000_000 {
            utc.with_nanosecond(999_999_999).ok_or_else(err)?
        } else {
            utc
        };
        Ok(Self(t))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = [0u8; 30];
        let n = self.write(&mut buf);
        f.write_str(ascii(&buf[..n]))
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut buf = [0u8; 30];
        let n = self.write(&mut buf);
        s.serialize_str(ascii(&buf[..n]))
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Writes `n` as zero-padded decimal filling all of `out`.
pub(crate) fn put_digits(out: &mut [u8], mut n: u32) {
    for slot in out.iter_mut().rev() {
        *slot = b'0' + (n % 10) as u8;
        n /= 10;
    }
}

/// Views bytes this module wrote (always ASCII) as text.
pub(crate) fn ascii(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_canonical_form() {
        let t: Timestamp = "2026-11-27T03:00:00+01:00".parse().unwrap();
        assert_eq!(t.to_string(), "2026-11-27T02:00:00Z");
        let t: Timestamp = "2026-11-27T02:00:00.250Z".parse().unwrap();
        assert_eq!(t.to_string(), "2026-11-27T02:00:00.25Z");
        for bad in [
            "2026-11-27 02:00",
            "2026-11-27 02:00:00Z",
            "2026-11-27T02:00:00",
            "",
            "2026-11-27T25:00:00Z",
            "2026-11-27t02:00:00Z",
            "2026-11-27T02:00:00z",
        ] {
            assert!(bad.parse::<Timestamp>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn timestamps_stay_within_years_0_to_9999() {
        // Year 10000 in UTC: refused, never a panic.
        for bad in [
            "9999-12-31T23:59:59-23:59",
            "9999-12-31T23:59:59.999999999-00:01",
            "0000-01-01T00:00:00+00:01",
        ] {
            assert!(bad.parse::<Timestamp>().is_err(), "{bad}");
        }
        let last: Timestamp = "9999-12-31T23:59:59.999999999Z".parse().unwrap();
        assert_eq!(last.to_string(), "9999-12-31T23:59:59.999999999Z");
        let first: Timestamp = "0000-01-01T00:00:00Z".parse().unwrap();
        assert_eq!(first.to_string(), "0000-01-01T00:00:00Z");
        assert_eq!(first.plus_seconds(-1), first, "clamped at the first second");
        assert_eq!(
            last.plus_seconds(i64::MAX).to_string(),
            "9999-12-31T23:59:59Z"
        );
        assert_eq!(Timestamp::from_unix_seconds(LAST_SECOND + 1), None);
        assert_eq!(Timestamp::from_unix_seconds(i64::MIN), None);
        assert_eq!(Timestamp::from_unix(0, 1_000_000_000), None);
    }

    #[test]
    fn a_leap_second_has_one_canonical_form() {
        let t: Timestamp = "2016-12-31T23:59:60Z".parse().unwrap();
        assert_eq!(t.to_string(), "2016-12-31T23:59:59.999999999Z");
        assert_eq!(t.to_string().parse::<Timestamp>().unwrap(), t);
        let shifted: Timestamp = "2017-01-01T00:59:60+01:00".parse().unwrap();
        assert_eq!(shifted, t);
    }

    #[test]
    fn system_times_convert_exactly() {
        let after = UNIX_EPOCH + Duration::new(1_764_208_800, 5);
        assert_eq!(
            Timestamp::from_system_time(after).unwrap().to_string(),
            "2025-11-27T02:00:00.000000005Z"
        );
        let before = UNIX_EPOCH - Duration::new(1, 250_000_000);
        assert_eq!(
            Timestamp::from_system_time(before).unwrap().to_string(),
            "1969-12-31T23:59:58.75Z"
        );
    }

    #[test]
    fn date_round_trip_and_errors() {
        let d: BackupDate = "2026-02-28".parse().unwrap();
        assert_eq!(d.to_string(), "2026-02-28");
        assert_eq!(d.days_since_epoch(), 20512);
        assert_eq!(BackupDate::from_days_since_epoch(20512), Some(d));
        assert_eq!(d.next_day().unwrap().to_string(), "2026-03-01");
        assert_eq!(d.previous_day().unwrap().to_string(), "2026-02-27");
        assert_eq!(
            "0000-01-01".parse::<BackupDate>().unwrap().previous_day(),
            None
        );
        assert_eq!("9999-12-31".parse::<BackupDate>().unwrap().next_day(), None);
        assert_eq!(BackupDate::from_days_since_epoch(i64::MAX), None);
        for bad in [
            "2026-02-30",
            "2026-13-01",
            "26-01-01",
            "2026/01/01",
            "2026-1-01",
            "+026-01-01",
            "2026-01-0\u{661}",
        ] {
            assert!(bad.parse::<BackupDate>().is_err(), "{bad}");
        }
    }

    #[test]
    fn a_day_ends_at_the_next_midnight() {
        let d: BackupDate = "2026-11-27".parse().unwrap();
        let at = |s: &str| s.parse::<Timestamp>().unwrap();
        assert!(!d.has_ended_at(at("2026-11-27T23:59:59.999Z")));
        assert!(d.has_ended_at(at("2026-11-28T00:00:00Z")));
        assert!(!d.has_ended_at(at("2026-11-26T02:00:00Z")));
        assert_eq!(d.weekday_from_monday(), 4, "a Friday");
    }
}
