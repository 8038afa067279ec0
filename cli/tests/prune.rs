//! `docvault prune` and `docvault hold` on a real local backup set of 400 consecutive days.

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt as _;
use std::path::Path;
use std::process::{Command, Output};

use chrono::{Datelike as _, Days, Months, NaiveDate, Weekday};
use serde_json::Value;

fn docvault(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_docvault"))
        .args(args)
        .output()
        .expect("docvault runs")
}

fn ok(out: &Output) {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

const FIRST: &str = "2025-06-01";
const DAYS: u64 = 400;

fn first() -> NaiveDate {
    FIRST.parse().unwrap()
}

/// The vault after one small backup a day for 400 days (2025-06-01 to 2026-07-05).
fn vault(dir: &Path) {
    for i in 0..DAYS {
        let date = (first() + Days::new(i)).to_string();
        let at = format!("{}T02:00:00Z", first() + Days::new(i + 1));
        ok(&docvault(&[
            "backup",
            "--generate",
            "2",
            "--dest",
            s(dir),
            "--date",
            &date,
            "--at",
            &at,
            "-q",
        ]));
    }
}

fn days_in(dir: &Path) -> BTreeSet<NaiveDate> {
    fs::read_dir(dir.join("backups"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_str().unwrap().parse().unwrap())
        .collect()
}

/// The days a 7-daily, 4-weekly (Sundays), 6-monthly, 2-yearly policy keeps on `today`, stated
/// directly from the calendar rather than through the code under test. On `today` the newest
/// finished day is `today - 1`, the latest: kept are the 7 days up to it; each Sunday of the 4
/// weeks up to it; each 1st of the 6 months up to it; each 1 January of the 2 years up to it;
/// and anything newer than it (today's own backup, made early), among the days backed up.
fn expected(today: NaiveDate, backed_up: &BTreeSet<NaiveDate>) -> BTreeSet<NaiveDate> {
    let latest = today - Days::new(1);
    let mut keep = BTreeSet::from([today]);
    for back in 0..7 {
        keep.insert(latest - Days::new(back));
    }
    let mut sunday = latest;
    while sunday.weekday() != Weekday::Sun {
        sunday = sunday.pred_opt().unwrap();
    }
    for w in 0..4 {
        keep.insert(sunday - Days::new(7 * w));
    }
    let month = latest.with_day(1).unwrap();
    for m in 0..6 {
        keep.insert(month - Months::new(m));
    }
    let year = NaiveDate::from_ymd_opt(latest.year(), 1, 1).unwrap();
    for y in 0..2 {
        keep.insert(year - Months::new(12 * y));
    }
    keep.intersection(backed_up).copied().collect()
}

const POLICY: [&str; 8] = [
    "--keep-daily",
    "7",
    "--keep-weekly",
    "4",
    "--keep-monthly",
    "6",
    "--keep-yearly",
    "2",
];

#[test]
fn prune_keeps_exactly_what_the_policy_says_survives_a_crash_and_spares_a_held_day() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("vault");
    vault(&dir);
    let all = days_in(&dir);
    assert_eq!(all.len(), DAYS as usize);
    let today: NaiveDate = "2026-07-05".parse().unwrap();

    // A held day that the policy lets go.
    let held = "2025-08-13";
    ok(&docvault(&[
        "hold",
        "--dest",
        s(&dir),
        "--date",
        held,
        "--on",
        "--by",
        "case-7",
        "--at",
        "2026-07-01T09:00:00Z",
    ]));

    // Without --yes: decisions printed, nothing deleted.
    let mut args = vec![
        "prune",
        "--dest",
        s(&dir),
        "--today",
        "2026-07-05",
        "--json",
    ];
    args.extend(POLICY);
    let dry = docvault(&args);
    ok(&dry);
    let report: Value = serde_json::from_slice(&dry.stdout).unwrap();
    assert_eq!(report["dry_run"], true);
    assert_eq!(days_in(&dir), all, "a dry run deletes nothing");
    let want: BTreeSet<NaiveDate> = expected(today, &all)
        .into_iter()
        .chain([held.parse().unwrap()])
        .collect();
    assert_eq!(report["kept"], want.len());
    let held_day = report["days"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["date"] == held)
        .unwrap();
    assert_eq!(held_day["reason"], "legal_hold");

    // A crash mid-prune: a file no prune can delete (its name is not UTF-8) in the first day
    // to go stops the run after that day's manifest has left its commit key.
    let victim = dir.join("backups/2025-06-02/documents");
    fs::write(victim.join(OsStr::from_bytes(b"stuck\xff")), b"x").unwrap();
    args.push("--yes");
    let crashed = docvault(&args);
    assert!(!crashed.status.success());
    assert!(
        String::from_utf8_lossy(&crashed.stderr).contains("run prune again to finish it"),
        "{}",
        String::from_utf8_lossy(&crashed.stderr)
    );
    let day = dir.join("backups/2025-06-02");
    assert!(
        !day.join("manifest.json").exists(),
        "no manifest naming deleted files"
    );
    let verify = docvault(&["verify", "--dest", s(&dir), "--date", "2025-06-02"]);
    assert_eq!(
        verify.status.code(),
        Some(1),
        "the day reads as not backed up"
    );
    // Every other day to go that was not reached yet is whole: its manifest names only files
    // that exist.
    for date in days_in(&dir) {
        let m = dir.join(format!("backups/{date}/manifest.json"));
        if m.exists() {
            ok(&docvault(&[
                "verify",
                "--dest",
                s(&dir),
                "--date",
                &date.to_string(),
                "-q",
            ]));
        }
    }

    // Fixed by hand, the next prune finishes.
    fs::remove_file(victim.join(OsStr::from_bytes(b"stuck\xff"))).unwrap();
    let done = docvault(&args);
    ok(&done);
    let report: Value = serde_json::from_slice(&done.stdout).unwrap();
    assert_eq!(report["dry_run"], false);
    assert_eq!(
        days_in(&dir),
        want,
        "what remains is exactly the policy's days and the held day"
    );
    for date in &want {
        ok(&docvault(&[
            "verify",
            "--dest",
            s(&dir),
            "--date",
            &date.to_string(),
            "-q",
        ]));
    }

    // Released, the held day goes with the next prune.
    ok(&docvault(&[
        "hold",
        "--dest",
        s(&dir),
        "--date",
        held,
        "--off",
    ]));
    ok(&docvault(&args));
    assert!(!days_in(&dir).contains(&held.parse().unwrap()));
}

#[test]
fn prune_refuses_a_policy_that_keeps_nothing_and_an_unknown_weekday() {
    let tmp = tempfile::tempdir().unwrap();
    let out = docvault(&["prune", "--dest", s(tmp.path()), "--keep-daily", "0"]);
    assert_eq!(out.status.code(), Some(2));
    let out = docvault(&[
        "prune",
        "--dest",
        s(tmp.path()),
        "--keep-daily",
        "3",
        "--weekly-on",
        "someday",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("monday to sunday"));
}

#[test]
fn a_day_whose_backup_is_running_is_not_pruned() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("vault");
    for date in ["2026-01-05", "2026-01-06"] {
        ok(&docvault(&[
            "backup",
            "--generate",
            "1",
            "--dest",
            s(&dir),
            "--date",
            date,
            "--at",
            "2026-01-07T02:00:00Z",
            "-q",
        ]));
    }
    // Another process holds 2026-01-05's lock, as a running backup of that day does.
    let lock = dir.join("backups/2026-01-05/.lock");
    let mut holder = Command::new("flock")
        .args([s(&lock), "sleep", "30"])
        .spawn()
        .expect("flock runs");
    std::thread::sleep(std::time::Duration::from_millis(300));
    let out = docvault(&[
        "prune",
        "--dest",
        s(&dir),
        "--keep-daily",
        "1",
        "--today",
        "2026-03-01",
        "--yes",
        "--json",
    ]);
    holder.kill().unwrap();
    holder.wait().unwrap();
    ok(&out);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let reasons: Vec<(&str, &str)> = report["days"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["date"].as_str().unwrap(),
                d.get("reason").and_then(Value::as_str).unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(reasons, [("2026-01-05", "busy"), ("2026-01-06", "")]);
    assert_eq!(days_in(&dir).len(), 1, "the busy day stays, the other goes");
}
