//! The CLI under attack: links planted in the vault, the restore target and the source; links
//! swapped in while a backup runs; a file rewritten in place with its time put back; two
//! backups of one day at once; manifests that are FIFOs, links to `/dev/zero`, not UTF-8, or
//! carry year-10000 times and terminal escapes. Each test names what it protects.

#![cfg(unix)]

use std::fs;
use std::io::Write as _;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const DATE: &str = "2026-11-27";
const AT: &str = "2026-11-27T02:00:00Z";
const DAY: &str = "backups/2026-11-27";

fn docvault(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_docvault"))
        .args(args)
        .output()
        .expect("docvault runs")
}

/// Runs docvault, killing it after `limit`: `None` when it had to be killed (it hung).
fn docvault_within(args: &[&str], limit: Duration) -> Option<Output> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_docvault"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("docvault runs");
    let started = Instant::now();
    while started.elapsed() < limit {
        if child.try_wait().expect("wait").is_some() {
            return Some(child.wait_with_output().expect("output"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 test path")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn generate_backup(dest: &Path, count: &str) -> Output {
    docvault(&[
        "backup",
        "--generate",
        count,
        "--dest",
        s(dest),
        "--date",
        DATE,
        "--at",
        AT,
        "-q",
    ])
}

fn backup_dir(src: &Path, dest: &Path) -> Output {
    docvault(&[
        "backup",
        "--source",
        s(src),
        "--dest",
        s(dest),
        "--date",
        DATE,
        "--at",
        AT,
        "--json",
        "-q",
    ])
}

#[test]
fn restore_never_writes_through_a_link_planted_in_the_target() {
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("dest");
    assert!(generate_backup(&dest, "5").status.success());
    let victim = tmp.path().join("victim.txt");
    fs::write(&victim, b"must survive").unwrap();
    let to = tmp.path().join("to");
    fs::create_dir_all(&to).unwrap();
    // The temporary name the old restore used, and a link in place of a folder.
    symlink(&victim, to.join(".memo_0004.txt.docvault-partial")).unwrap();
    let out = docvault(&[
        "restore",
        "--dest",
        s(&dest),
        "--date",
        DATE,
        "--to",
        s(&to),
        "--json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(fs::read(&victim).unwrap(), b"must survive");
    assert!(fs::metadata(to.join("memo_0004.txt")).unwrap().len() > 0);
}

#[test]
fn restore_never_follows_a_linked_folder_in_the_target() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    fs::create_dir_all(src.join("finance")).unwrap();
    fs::write(src.join("finance/q1.txt"), b"q1").unwrap();
    let dest = tmp.path().join("dest");
    assert!(backup_dir(&src, &dest).status.success());
    let outside = tmp.path().join("outside");
    fs::create_dir_all(&outside).unwrap();
    let to = tmp.path().join("to");
    fs::create_dir_all(&to).unwrap();
    symlink(&outside, to.join("finance")).unwrap();
    let out = docvault(&[
        "restore",
        "--dest",
        s(&dest),
        "--date",
        DATE,
        "--to",
        s(&to),
    ]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("links are never followed"),
        "{}",
        stderr(&out)
    );
    assert!(
        fs::read_dir(&outside).unwrap().next().is_none(),
        "nothing written outside"
    );
}

#[test]
fn a_linked_documents_folder_never_loses_files_outside_the_vault() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    fs::create_dir_all(&src).unwrap();
    fs::write(src.join("a.txt"), b"a").unwrap();
    let dest = tmp.path().join("dest");
    let precious = tmp.path().join("precious");
    fs::create_dir_all(precious.join("sub")).unwrap();
    fs::write(precious.join("keep.txt"), b"keep").unwrap();
    fs::write(precious.join("sub/keep2.txt"), b"keep").unwrap();
    // The day's documents folder, and in a second case one folder below it, are links.
    fs::create_dir_all(dest.join(DAY)).unwrap();
    symlink(&precious, dest.join(DAY).join("documents")).unwrap();
    let out = backup_dir(&src, &dest);
    assert!(
        !out.status.success(),
        "a day stored through a link is not complete"
    );
    assert!(!dest.join(DAY).join("manifest.json").exists());
    assert!(precious.join("keep.txt").exists() && precious.join("sub/keep2.txt").exists());

    fs::remove_file(dest.join(DAY).join("documents")).unwrap();
    fs::create_dir_all(dest.join(DAY).join("documents")).unwrap();
    symlink(&precious, dest.join(DAY).join("documents/sub")).unwrap();
    let out = backup_dir(&src, &dest);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(precious.join("keep.txt").exists() && precious.join("sub/keep2.txt").exists());
    assert!(
        fs::symlink_metadata(dest.join(DAY).join("documents/sub")).is_err(),
        "the unclaimed link was removed, not what it points to"
    );
    let verify = docvault(&["verify", "--dest", s(&dest), "--date", DATE]);
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );
}

#[test]
fn a_second_backup_of_the_same_day_refuses_while_the_first_holds_the_day() {
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("dest");
    fs::create_dir_all(dest.join(DAY)).unwrap();
    // Another run holds the day's lock.
    let lock = fs::File::create(dest.join(DAY).join(".lock")).unwrap();
    lock.try_lock().unwrap();
    let out = generate_backup(&dest, "5");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("another docvault run"),
        "{}",
        stderr(&out)
    );
    assert!(
        !dest.join(DAY).join("documents").exists(),
        "nothing written"
    );
    drop(lock);
    assert!(generate_backup(&dest, "5").status.success());
}

/// Two backups of one day with different sources started together, several times: the day
/// always ends complete and verifiable, holding exactly what its manifest says.
#[test]
fn concurrent_backups_of_one_day_never_mix() {
    for round in 0..4 {
        let tmp = tempfile::tempdir().unwrap();
        let dest = tmp.path().join("dest");
        let sources: Vec<_> = (0..2)
            .map(|i| {
                let src = tmp.path().join(format!("src{i}"));
                fs::create_dir_all(&src).unwrap();
                for n in 0..40 {
                    fs::write(
                        src.join(format!("doc{n}.txt")),
                        format!("run {i} doc {n} {round}"),
                    )
                    .unwrap();
                }
                src
            })
            .collect();
        let children: Vec<_> = sources
            .iter()
            .map(|src| {
                Command::new(env!("CARGO_BIN_EXE_docvault"))
                    .args([
                        "backup",
                        "--source",
                        s(src),
                        "--dest",
                        s(&dest),
                        "--date",
                        DATE,
                        "--at",
                        AT,
                        "-q",
                    ])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let codes: Vec<Option<i32>> = children
            .into_iter()
            .map(|c| c.wait_with_output().unwrap().status.code())
            .collect();
        assert!(codes.contains(&Some(0)), "round {round}: {codes:?}");
        let verify = docvault(&["verify", "--dest", s(&dest), "--date", DATE]);
        assert!(
            verify.status.success(),
            "round {round}: {}",
            String::from_utf8_lossy(&verify.stdout)
        );
    }
}

/// A folder of the source swapped for a link to outside while backups run: what is outside is
/// never stored, whatever the timing.
#[test]
fn a_link_swapped_into_the_source_mid_backup_is_never_followed() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    let outside = tmp.path().join("outside");
    fs::create_dir_all(src.join("dir")).unwrap();
    fs::create_dir_all(&outside).unwrap();
    for n in 0..200 {
        fs::write(src.join(format!("dir/f{n:03}.txt")), b"inside").unwrap();
        fs::write(outside.join(format!("f{n:03}.txt")), b"TOP-SECRET").unwrap();
    }
    let stop = Arc::new(AtomicBool::new(false));
    let swapper = {
        let (stop, src, outside) = (Arc::clone(&stop), src.clone(), outside.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let _ = fs::rename(src.join("dir"), src.join("real"));
                let _ = symlink(&outside, src.join("dir"));
                std::thread::sleep(Duration::from_micros(200));
                let _ = fs::remove_file(src.join("dir"));
                let _ = fs::rename(src.join("real"), src.join("dir"));
                std::thread::sleep(Duration::from_micros(200));
            }
        })
    };
    for round in 0..6 {
        let dest = tmp.path().join(format!("dest{round}"));
        let _ = backup_dir(&src, &dest);
    }
    stop.store(true, Ordering::Relaxed);
    swapper.join().unwrap();
    for round in 0..6 {
        let mut stack = vec![tmp.path().join(format!("dest{round}"))];
        while let Some(dir) = stack.pop() {
            let Ok(entries) = fs::read_dir(&dir) else {
                continue;
            };
            for e in entries {
                let e = e.unwrap();
                let ft = e.file_type().unwrap();
                if ft.is_dir() {
                    stack.push(e.path());
                } else if ft.is_file() {
                    let body = fs::read(e.path()).unwrap();
                    assert!(
                        !body.windows(10).any(|w| w == b"TOP-SECRET"),
                        "{} holds what the link pointed to",
                        e.path().display()
                    );
                }
            }
        }
    }
}

/// A file rewritten in place, same size, with its modification time put back, while it is
/// read: never stored torn. Each backup stores one whole version or records the change.
#[test]
fn a_torn_read_with_the_time_put_back_is_never_stored() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    fs::create_dir_all(&src).unwrap();
    let path = src.join("ledger.bin");
    let size = 8 << 20;
    let (a, b) = (vec![b'A'; size], vec![b'B'; size]);
    fs::write(&path, &a).unwrap();
    let mtime = fs::metadata(&path).unwrap().modified().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (stop, path, a, b) = (Arc::clone(&stop), path.clone(), a.clone(), b.clone());
        std::thread::spawn(move || {
            let mut f = fs::OpenOptions::new().write(true).open(&path).unwrap();
            let mut flip = false;
            while !stop.load(Ordering::Relaxed) {
                use std::io::Seek as _;
                f.seek(std::io::SeekFrom::Start(0)).unwrap();
                // Half a version at a time: a read in between sees a mix.
                let body = if flip { &a } else { &b };
                f.write_all(&body[..size / 2]).unwrap();
                std::thread::sleep(Duration::from_micros(300));
                f.write_all(&body[size / 2..]).unwrap();
                f.set_modified(mtime).unwrap();
                flip = !flip;
            }
        })
    };
    let (sha_a, sha_b) = (
        docvault_core::Sha256Digest::of(&a),
        docvault_core::Sha256Digest::of(&b),
    );
    for round in 0..6 {
        let dest = tmp.path().join(format!("dest{round}"));
        let out = backup_dir(&src, &dest);
        let stored = dest.join(DAY).join("documents/ledger.bin");
        if out.status.success() {
            let body = fs::read(&stored).unwrap();
            let sha = docvault_core::Sha256Digest::of(&body);
            assert!(
                sha == sha_a || sha == sha_b,
                "round {round}: a torn body was stored"
            );
        } else {
            assert!(
                String::from_utf8_lossy(&out.stdout).contains("changed while being read"),
                "round {round}: {}",
                String::from_utf8_lossy(&out.stdout)
            );
            assert!(!stored.exists());
        }
    }
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
}

#[test]
fn generate_never_writes_through_a_planted_link() {
    let tmp = tempfile::tempdir().unwrap();
    let out_dir = tmp.path().join("out");
    fs::create_dir_all(&out_dir).unwrap();
    let victim = tmp.path().join("victim.txt");
    fs::write(&victim, b"must survive").unwrap();
    symlink(&victim, out_dir.join("invoice_0000.csv")).unwrap();
    let out = docvault(&[
        "generate",
        "--count",
        "3",
        "--date",
        DATE,
        "--out",
        s(&out_dir),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(fs::read(&victim).unwrap(), b"must survive");
    assert!(
        fs::symlink_metadata(out_dir.join("invoice_0000.csv"))
            .unwrap()
            .is_file()
    );
}

/// Manifests that are not files, or too large, or hostile: refused at once, never a hang, a
/// panic or memory exhaustion.
#[test]
fn hostile_manifests_are_refused_quickly() {
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("dest");
    fs::create_dir_all(dest.join(DAY)).unwrap();
    let manifest = dest.join(DAY).join("manifest.json");
    let limit = Duration::from_secs(20);
    let restored = tmp.path().join("r");
    let commands: [&[&str]; 3] = [
        &["verify", "--dest", s(&dest), "--date", DATE],
        &[
            "restore",
            "--dest",
            s(&dest),
            "--date",
            DATE,
            "--to",
            s(&restored),
        ],
        &[
            "backup",
            "--generate",
            "3",
            "--dest",
            s(&dest),
            "--date",
            DATE,
            "--at",
            AT,
        ],
    ];
    // A link to an endless device.
    symlink("/dev/zero", &manifest).unwrap();
    for args in commands {
        let out = docvault_within(args, limit).expect("it must not hang");
        assert!(!out.status.success(), "{args:?}");
        assert!(
            out.status.code().is_some(),
            "{args:?} died: {}",
            stderr(&out)
        );
    }
    // A FIFO nobody writes to.
    fs::remove_file(&manifest).unwrap();
    assert!(
        Command::new("mkfifo")
            .arg(&manifest)
            .status()
            .unwrap()
            .success()
    );
    for args in commands {
        let out = docvault_within(args, limit).expect("it must not block on a FIFO");
        assert!(!out.status.success(), "{args:?}");
    }
    let out = docvault_within(&["validate", s(&manifest)], limit).expect("no hang");
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    // Not UTF-8: refused, never repaired.
    fs::remove_file(&manifest).unwrap();
    fs::write(&manifest, b"{\"schema_version\": 1, \xff}").unwrap();
    let out = docvault(&["verify", "--dest", s(&dest), "--date", DATE]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("not UTF-8"), "{}", stderr(&out));
}

#[test]
fn year_10000_timestamps_are_errors_not_panics() {
    let tmp = tempfile::tempdir().unwrap();
    let golden =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/golden/manifest-500-2026-11-27.json");
    let text = fs::read_to_string(golden)
        .unwrap()
        .replace("2026-11-27T02:00:00Z", "9999-12-31T23:59:59-23:59");
    let path = tmp.path().join("m.json");
    fs::write(&path, text).unwrap();
    let out = docvault(&["validate", s(&path)]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("not an RFC 3339 timestamp"),
        "{}",
        stderr(&out)
    );
    let out = docvault(&[
        "manifest",
        "--generate",
        "1",
        "--at",
        "9999-12-31T23:59:59-23:59",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn terminal_escapes_in_names_are_shown_not_obeyed() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    fs::create_dir_all(&src).unwrap();
    fs::write(src.join("ok.txt"), b"ok").unwrap();
    fs::write(src.join("evil\u{1b}[2Jname.txt"), b"x").unwrap();
    let out = docvault(&[
        "backup",
        "--source",
        s(&src),
        "--dest",
        s(&tmp.path().join("d")),
        "--date",
        DATE,
        "--at",
        AT,
    ]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("evil\\u{1b}[2Jname.txt"), "{text}");
    assert!(
        !out.stdout.contains(&0x1b),
        "a raw escape reached the terminal"
    );
    assert!(
        !out.stderr.contains(&0x1b),
        "a raw escape reached the terminal"
    );
}
