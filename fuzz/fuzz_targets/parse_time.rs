//! Dates and timestamps come from manifests, events and flags: any text parses into a value of
//! years 0-9999 that prints and parses back equal, or is refused; nothing panics, and the
//! arithmetic on what parses (days before and after, a scheduled day, a lease) stays in range.
#![no_main]

use docvault_core::day::{check_backup_day, scheduled_day};
use docvault_core::lease::Lease;
use docvault_core::{BackupDate, Timestamp};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(t) = text.parse::<Timestamp>() {
        let printed = t.to_string();
        assert_eq!(printed.parse::<Timestamp>(), Ok(t));
        let _ = scheduled_day(t);
        let _ = t.plus_seconds(i64::MAX);
        let _ = t.plus_seconds(i64::MIN);
        let lease = Lease::new("fuzz", t, u32::MAX);
        let _ = lease.renew_due(t);
        let _ = check_backup_day(t.date(), t, false);
    }
    if let Ok(d) = text.parse::<BackupDate>() {
        assert_eq!(d.to_string().parse::<BackupDate>(), Ok(d));
        let _ = d.previous_day();
        let _ = d.next_day();
        let _ = d.start().plus_seconds(-1);
    }
});
