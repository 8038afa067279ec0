//! Lambda events arrive from EventBridge, people and scripts: parsing is untrusted input.
//! Any bytes must give a typed event or an `EventError`, never a panic; a backup event's day
//! must be decided or refused (years 0-9999, the day that ended), never panic either.
#![no_main]

use docvault_core::Timestamp;
use docvault_lambda::event::Event;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let now: Timestamp = "2026-11-28T02:00:05Z".parse().expect("a fixed now");
    if let Ok(Event::Backup(backup)) = Event::parse(&value) {
        if let Ok((date, _)) = backup.day(now) {
            assert!(backup.force || date < now.date(), "a day that has not ended, unforced");
        }
    }
});
