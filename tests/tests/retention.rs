//! Properties of the retention rule: what a policy keeps, looked at from any day of any run of
//! consecutive daily backups.

use docvault_core::{BackupDate, RetentionClass, RetentionPolicy, Weekday};
use proptest::prelude::*;

fn weekday(i: u8) -> Weekday {
    ["mon", "tue", "wed", "thu", "fri", "sat", "sun"][usize::from(i % 7)]
        .parse()
        .unwrap()
}

fn policy() -> impl Strategy<Value = RetentionPolicy> {
    (1u32..40, 0u32..10, 0u32..30, 0u32..5, 0u8..7)
        .prop_map(|(d, w, m, y, wd)| RetentionPolicy::new(d, w, m, y, weekday(wd)).unwrap())
}

fn day(n: i64) -> BackupDate {
    BackupDate::from_days_since_epoch(n).unwrap()
}

/// The start of the period of `class` that contains `date`, on the policy's calendar.
fn period_start(p: &RetentionPolicy, class: RetentionClass, date: BackupDate) -> BackupDate {
    let mut d = date;
    while !p.starts_period(class, d) {
        d = d.previous_day().unwrap();
    }
    d
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Every date gets exactly one class, a class whose period it starts, and is kept at
    /// least through its own day.
    #[test]
    fn every_date_gets_one_class_it_qualifies_for(p in policy(), n in -700_000i64..2_900_000) {
        let date = day(n);
        let (class, until) = p.classify(date);
        prop_assert!(p.starts_period(class, date));
        prop_assert!(class == RetentionClass::Daily || p.keep(class) > 0);
        prop_assert!(until >= date);
        prop_assert_eq!(p.classify(date), (class, until));
    }

    /// A policy that keeps more never keeps a day for less time.
    #[test]
    fn retain_until_never_decreases_when_the_policy_grows(
        p in policy(), more in (0u32..5, 0u32..5, 0u32..5, 0u32..3), n in 0i64..40_000,
    ) {
        let grown = RetentionPolicy::new(
            p.keep(RetentionClass::Daily) + more.0,
            p.keep(RetentionClass::Weekly) + more.1,
            p.keep(RetentionClass::Monthly) + more.2,
            p.keep(RetentionClass::Yearly) + more.3,
            p.weekly_on(),
        ).unwrap();
        let date = day(n);
        prop_assert!(grown.classify(date).1 >= p.classify(date).1);
    }

    /// On any day of a run of consecutive daily backups (each day backed up once it has
    /// ended, so the newest backup on `today` is of the day before), the days still kept
    /// include the last `keep_daily` backups and the first day of each of the last
    /// `keep_weekly` weeks, `keep_monthly` months and `keep_yearly` years that the run covers
    /// from their first day.
    #[test]
    fn what_is_kept_includes_the_last_periods(
        p in policy(), start in 0i64..30_000, length in 1i64..2_500, look in 0.0f64..1.0,
    ) {
        let first = day(start);
        let latest = day(start + ((length - 1) as f64 * look) as i64);
        let today = latest.next_day().unwrap();
        let kept = |d: BackupDate| d >= first && d <= latest && p.keeps(d, today);
        // The last keep_daily backups.
        for back in 0..i64::from(p.keep(RetentionClass::Daily)) {
            let d = day(latest.days_since_epoch() - back);
            if d >= first {
                prop_assert!(kept(d), "daily {d} not kept on {today}");
            }
        }
        // One day from each of the last N weeks, months, years.
        for class in [RetentionClass::Weekly, RetentionClass::Monthly, RetentionClass::Yearly] {
            let mut period = period_start(&p, class, latest);
            for _ in 0..p.keep(class) {
                if period < first {
                    break;
                }
                prop_assert!(kept(period), "{class} {period} not kept on {today}");
                period = period_start(&p, class, period.previous_day().unwrap());
            }
        }
    }

    /// A lifecycle rule of a class never deletes a day of that class before its expiry (the
    /// day after `retain_until`): S3 deletes at the first midnight UTC after creation plus the
    /// rule's days, and a day's objects are created during that day at the earliest.
    #[test]
    fn lifecycle_days_cover_every_day_of_the_class(
        p in policy(), n in 0i64..400_000, created_seconds in 1i64..86_400,
    ) {
        let date = day(n);
        let (class, until) = p.classify(date);
        let created = date.start().unix_seconds() + created_seconds;
        let deleted_after = created + 86_400 * i64::from(p.lifecycle_days(class));
        let deleted_at = (deleted_after / 86_400 + 1) * 86_400; // the next midnight UTC
        let expiry = until.next_day().unwrap().start().unix_seconds();
        prop_assert!(deleted_at >= expiry, "{class} {date}: deleted before {until} ended");
    }
}
