//! Replays the kept inputs of the event fuzz target (`scripts/fuzz.sh 600 parse_event`): every
//! one parses into an event or a typed error, and a backup's day is decided or refused, without
//! a panic.

use docvault_core::Timestamp;
use docvault_lambda::event::Event;

#[test]
fn kept_event_inputs_never_panic() {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/fuzz-events");
    let now: Timestamp = "2026-11-28T02:00:05Z".parse().unwrap();
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("fixtures exist") {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        if let Ok(value) = serde_json::from_slice::<serde_json::Value>(&bytes)
            && let Ok(Event::Backup(backup)) = Event::parse(&value)
        {
            let _ = backup.day(now);
        }
        n += 1;
    }
    assert!(n > 0, "no fixtures in {}", dir.display());
}
