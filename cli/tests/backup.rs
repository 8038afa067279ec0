//! `docvault backup`, `verify` and `restore` through the real binary, on real directories:
//! nested folders, empty files, names that cannot be ids, unreadable files, links out of the
//! source, files changing while read, a destination that refuses writes, tampered backups.

#![cfg(unix)]

use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _, symlink};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use docvault_core::Manifest;
use serde_json::Value;

const DATE: &str = "2026-11-27";
const AT: &str = "2026-11-27T02:00:00Z";
const DAY: &str = "backups/2026-11-27";

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_docvault")
}

fn docvault(args: &[&str]) -> Output {
    Command::new(bin())
        .args(args)
        .output()
        .expect("docvault runs")
}

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 test path")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            stderr(out)
        )
    })
}

fn ok(out: &Output) {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        stderr(out)
    );
}

fn backup_dir(src: &Path, dest: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
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
    ];
    args.extend(extra);
    docvault(&args)
}

fn verify(dest: &Path) -> Output {
    docvault(&["verify", "--dest", s(dest), "--date", DATE, "--json"])
}

fn restore(dest: &Path, to: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "restore",
        "--dest",
        s(dest),
        "--date",
        DATE,
        "--to",
        s(to),
        "--json",
    ];
    args.extend(extra);
    docvault(&args)
}

fn manifest(dest: &Path) -> Manifest {
    let text = fs::read_to_string(dest.join(DAY).join("manifest.json")).expect("manifest.json");
    Manifest::from_json(&text).expect("valid manifest")
}

fn write(path: &Path, bytes: &[u8]) {
    fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    fs::write(path, bytes).expect("write");
}

/// Deterministic bytes that are not text.
fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// Every regular file below `root`, relative path -> bytes (links are not followed).
fn files(root: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in fs::read_dir(&dir).expect("read_dir") {
            let e = e.expect("entry");
            let ft = e.file_type().expect("type");
            if ft.is_dir() {
                stack.push(e.path());
            } else if ft.is_file() {
                let rel = e.path().strip_prefix(root).expect("below").to_owned();
                out.push((
                    rel.to_string_lossy().into_owned(),
                    fs::read(e.path()).expect("read"),
                ));
            }
        }
    }
    out.sort();
    out
}

fn cmp(a: &Path, b: &Path) {
    let status = Command::new("cmp")
        .arg(a)
        .arg(b)
        .status()
        .expect("cmp (diffutils) runs");
    assert!(status.success(), "cmp {} {}", a.display(), b.display());
}

/// A source tree with nested folders, an empty file, a file larger than the copy buffer, a
/// non-ASCII name, and links pointing out of the source.
fn sample_source(root: &Path) -> PathBuf {
    let src = root.join("src");
    write(
        &src.join("finance/2026/q1-report.pdf"),
        &pattern(700_000, 1),
    );
    write(&src.join("finance/2026/q2.csv"), b"a,b\n1,2\n");
    write(&src.join("hr/policies/handbook.docx"), &pattern(4096, 2));
    write(&src.join("ventes/été.txt"), "résumé\n".as_bytes());
    write(&src.join("README"), b"top level, no extension\n");
    write(&src.join("empty.dat"), b"");
    write(
        &root.join("outside/secret.txt"),
        b"TOP-SECRET-OUTSIDE-THE-SOURCE",
    );
    symlink(root.join("outside/secret.txt"), src.join("link-to-secret")).expect("symlink");
    symlink(root.join("outside"), src.join("finance/link-to-dir")).expect("symlink");
    src
}

#[test]
fn directory_backup_verifies_and_restores_byte_for_byte() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let src = sample_source(tmp.path());
    let dest = tmp.path().join("dest");

    let out = backup_dir(&src, &dest, &[]);
    ok(&out);
    let report = json(&out);
    assert_eq!(report["status"], "complete");
    assert_eq!(report["documents"], 6);
    assert_eq!(report["uploaded"], 6);
    let skipped: Vec<&str> = report["skipped"]
        .as_array()
        .expect("skipped")
        .iter()
        .map(|s| s["path"].as_str().expect("path"))
        .collect();
    assert_eq!(skipped, ["finance/link-to-dir", "link-to-secret"]);

    // The layout of the bucket, the manifest last, and nothing of what the links point to.
    let m = manifest(&dest);
    let ids: Vec<&str> = m.documents.iter().map(|d| d.document_id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "README",
            "empty.dat",
            "finance/2026/q1-report.pdf",
            "finance/2026/q2.csv",
            "hr/policies/handbook.docx",
            "ventes/été.txt"
        ]
    );
    let pdf = m.document("finance/2026/q1-report.pdf").expect("pdf");
    assert_eq!(
        pdf.object_key,
        format!("{DAY}/documents/finance/2026/q1-report.pdf")
    );
    assert_eq!(
        (pdf.doc_type.as_str(), pdf.metadata.department.as_str()),
        ("pdf", "finance")
    );
    assert_eq!(pdf.content_type, "application/pdf");
    assert_eq!(pdf.file_size, 700_000);
    let readme = m.document("README").expect("README");
    assert_eq!(
        (
            readme.doc_type.as_str(),
            readme.metadata.department.as_str()
        ),
        ("document", "unassigned")
    );
    assert_eq!(m.document("empty.dat").expect("empty").file_size, 0);
    assert_eq!(
        m.source,
        docvault_core::SourceDescription::Directory {
            path: s(&src).to_owned()
        }
    );
    for (name, body) in files(&dest) {
        assert!(
            !body.windows(10).any(|w| w == b"TOP-SECRET".as_slice()),
            "{name} holds what a link outside the source points to"
        );
    }
    assert!(
        !dest.join(DAY).join(".partial").exists(),
        "temporary files left"
    );
    ok(&docvault(&[
        "validate",
        s(&dest.join(DAY).join("manifest.json")),
    ]));

    let out = verify(&dest);
    ok(&out);
    let v = json(&out);
    assert_eq!(
        (v["clean"].clone(), v["verified"].clone()),
        (Value::Bool(true), 6.into())
    );

    let to = tmp.path().join("restored");
    let out = restore(&dest, &to, &[]);
    ok(&out);
    assert_eq!(json(&out)["restored"], 6);
    let expected: Vec<(String, Vec<u8>)> = files(&src);
    assert_eq!(
        files(&to),
        expected,
        "restored tree differs from the source"
    );
    for (rel, _) in &expected {
        cmp(&src.join(rel), &to.join(rel));
    }
    assert!(
        fs::symlink_metadata(to.join("link-to-secret")).is_err(),
        "a link was restored"
    );
}

/// Runs docvault without the power to read every file: as root, chmod does not stop reads
/// (CAP_DAC_OVERRIDE), so the binary runs as `nobody` through util-linux's `setpriv`; as any
/// other user, directly. `None` when neither works (the unreadable-file check is skipped).
fn unprivileged() -> Option<Vec<String>> {
    let uid = fs::metadata("/proc/self").map(|m| m.uid()).unwrap_or(0);
    if uid != 0 {
        return Some(vec![bin().to_owned()]);
    }
    let runner = [
        "setpriv",
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        bin(),
    ];
    let probe = Command::new(runner[0])
        .args(&runner[1..])
        .arg("--version")
        .output();
    match probe {
        Ok(o) if o.status.success() => Some(runner.iter().map(|s| (*s).to_owned()).collect()),
        _ => None,
    }
}

fn run_as(runner: &[String], args: &[&str]) -> Output {
    Command::new(&runner[0])
        .args(&runner[1..])
        .args(args)
        .output()
        .expect("docvault runs")
}

fn open_up(path: &Path) {
    // Lets `nobody` walk and write the test's folders.
    fs::set_permissions(path, fs::Permissions::from_mode(0o777)).expect("chmod");
}

#[test]
fn failures_are_recorded_and_a_rerun_completes_the_day() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let src = tmp.path().join("src");
    let dest = tmp.path().join("dest");
    write(&src.join("ok/a.txt"), b"a\n");
    write(&src.join("ok/b.txt"), b"bb\n");
    write(
        &src.join("old.txt"),
        b"removed from the source before the rerun\n",
    );
    let bad_utf8 = src.join(OsStr::from_bytes(b"bad\xff.txt"));
    write(&bad_utf8, b"name is not UTF-8\n");
    let backslash = src.join("back\\slash.txt");
    write(&backslash, b"not a valid id\n");
    let locked = src.join("ok/locked.txt");
    write(&locked, b"unreadable\n");

    let runner = unprivileged();
    let runner = match runner {
        Some(r) => {
            fs::set_permissions(&locked, fs::Permissions::from_mode(0o000)).expect("chmod");
            for dir in [tmp.path(), &src, &src.join("ok")] {
                open_up(dir);
            }
            r
        }
        None => {
            eprintln!("running as root without setpriv: the unreadable-file check is skipped");
            fs::remove_file(&locked).expect("rm");
            vec![bin().to_owned()]
        }
    };
    let checks_unreadable = fs::symlink_metadata(&locked).is_ok();
    let args = [
        "backup",
        "--source",
        s(&src),
        "--dest",
        s(&dest),
        "--date",
        DATE,
        "--at",
        AT,
        "--run-id",
        "first",
        "--json",
    ];

    let out = run_as(&runner, &args);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("incomplete"), "{}", stderr(&out));
    let report = json(&out);
    assert_eq!(report["status"], "incomplete");
    assert_eq!(report["report_key"], format!("{DAY}/incomplete/first.json"));
    let failed = report["failed"].as_array().expect("failed");
    let find = |id: &str| {
        failed
            .iter()
            .find(|f| f["document_id"] == id)
            .unwrap_or_else(|| panic!("{id} not recorded as failed: {failed:?}"))
    };
    let f = find("bad\\xff.txt");
    assert_eq!(f["stage"], "read");
    assert!(
        f["reason"]
            .as_str()
            .expect("reason")
            .contains("not valid UTF-8")
    );
    let f = find("back\\\\slash.txt");
    assert!(f["reason"].as_str().expect("reason").contains("backslash"));
    if checks_unreadable {
        let f = find("ok/locked.txt");
        assert_eq!(f["stage"], "read");
        let reason = f["reason"].as_str().expect("reason");
        assert!(
            reason.contains("could not be opened") && reason.contains("ermission denied"),
            "{reason}"
        );
    }
    assert_eq!(failed.len(), 2 + usize::from(checks_unreadable));
    // No manifest claims anything; the report is a valid incomplete manifest.
    assert!(!dest.join(DAY).join("manifest.json").exists());
    let report_path = dest.join(DAY).join("incomplete/first.json");
    let r = Manifest::from_json(&fs::read_to_string(&report_path).expect("report"))
        .expect("valid report");
    assert_eq!(r.total_documents, 3);
    let out = verify(&dest);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("incomplete runs: backups/2026-11-27/incomplete/first.json"));

    // Fix the source; the rerun keeps what is stored, removes what no document claims.
    let stored = |name: &str| {
        fs::metadata(dest.join(DAY).join("documents").join(name))
            .expect("stored")
            .ino()
    };
    let inode = stored("ok/a.txt");
    fs::remove_file(&bad_utf8).expect("rm");
    fs::rename(&backslash, src.join("back-slash.txt")).expect("mv");
    fs::remove_file(src.join("old.txt")).expect("rm");
    if checks_unreadable {
        fs::set_permissions(&locked, fs::Permissions::from_mode(0o644)).expect("chmod");
    }
    let args2 = [
        "backup",
        "--source",
        s(&src),
        "--dest",
        s(&dest),
        "--date",
        DATE,
        "--at",
        AT,
        "--run-id",
        "second",
        "--json",
    ];
    let out = run_as(&runner, &args2);
    ok(&out);
    let report = json(&out);
    assert_eq!(report["status"], "complete");
    assert_eq!(report["already_stored"], 2, "{report}");
    assert_eq!(report["removed_unclaimed"], 1, "{report}");
    assert_eq!(
        stored("ok/a.txt"),
        inode,
        "an identical stored file was rewritten"
    );
    ok(&verify(&dest));

    // A complete day is reported and never rewritten.
    let before = fs::read(dest.join(DAY).join("manifest.json")).expect("manifest");
    let inode = fs::metadata(dest.join(DAY).join("manifest.json"))
        .expect("m")
        .ino();
    write(
        &src.join("new-after-commit.txt"),
        b"too late for this day\n",
    );
    let out = run_as(&runner, &args2);
    ok(&out);
    assert_eq!(json(&out)["status"], "already-complete");
    assert_eq!(
        fs::read(dest.join(DAY).join("manifest.json")).expect("m"),
        before
    );
    assert_eq!(
        fs::metadata(dest.join(DAY).join("manifest.json"))
            .expect("m")
            .ino(),
        inode
    );
    assert!(
        !dest
            .join(DAY)
            .join("documents/new-after-commit.txt")
            .exists()
    );
}

#[test]
fn a_file_changing_while_read_is_recorded_not_stored() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let src = tmp.path().join("src");
    let dest = tmp.path().join("dest");
    write(&src.join("stable.txt"), b"stable\n");
    let growing = src.join("growing.log");
    write(&growing, &pattern(16 << 20, 3));

    // A writer appends to the file for as long as the backup runs.
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (stop, growing) = (Arc::clone(&stop), growing.clone());
        std::thread::spawn(move || {
            use std::io::Write as _;
            let mut f = fs::OpenOptions::new()
                .append(true)
                .open(&growing)
                .expect("open");
            while !stop.load(Ordering::Relaxed) {
                f.write_all(&[b'x'; 512]).expect("append");
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
        })
    };
    let out = backup_dir(&src, &dest, &[]);
    stop.store(true, Ordering::Relaxed);
    writer.join().expect("writer");

    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let report = json(&out);
    let failed = report["failed"].as_array().expect("failed");
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0]["document_id"], "growing.log");
    assert_eq!(failed[0]["stage"], "read");
    let reason = failed[0]["reason"].as_str().expect("reason");
    assert!(reason.contains("changed while being read"), "{reason}");
    assert!(
        !dest.join(DAY).join("documents/growing.log").exists(),
        "a file that changed while read was stored"
    );
    assert!(!dest.join(DAY).join("manifest.json").exists());

    let out = backup_dir(&src, &dest, &[]);
    ok(&out);
    assert_eq!(json(&out)["documents"], 2);
    ok(&verify(&dest));
}

#[test]
fn a_destination_that_refuses_a_write_gives_an_incomplete_day_then_a_rerun_completes() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let src = tmp.path().join("src");
    let dest = tmp.path().join("dest");
    write(&src.join("finance/q1.txt"), b"q1\n");
    write(&src.join("hr/x.txt"), b"x\n");
    // A file where the document needs a folder: that one store fails, the others go on.
    let blocker = dest.join(DAY).join("documents/finance");
    write(&blocker, b"in the way");

    let out = backup_dir(&src, &dest, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let report = json(&out);
    let failed = report["failed"].as_array().expect("failed");
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0]["document_id"], "finance/q1.txt");
    assert_eq!(failed[0]["stage"], "store");
    assert!(
        failed[0]["reason"]
            .as_str()
            .expect("reason")
            .contains("not a directory"),
        "{failed:?}"
    );
    assert!(!dest.join(DAY).join("manifest.json").exists());

    fs::remove_file(&blocker).expect("rm");
    let out = backup_dir(&src, &dest, &[]);
    ok(&out);
    let report = json(&out);
    assert_eq!(
        (report["uploaded"].clone(), report["already_stored"].clone()),
        (1.into(), 1.into())
    );
    ok(&verify(&dest));
}

#[test]
fn generated_day_matches_the_golden_manifest_and_restores_the_generated_files() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dest = tmp.path().join("dest");
    let backup = [
        "backup",
        "--generate",
        "500",
        "--dest",
        s(&dest),
        "--date",
        DATE,
        "--at",
        AT,
        "--json",
    ];
    let out = docvault(&backup);
    ok(&out);
    assert_eq!(json(&out)["uploaded"], 500);
    let golden =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/golden/manifest-500-2026-11-27.json");
    assert!(
        fs::read(dest.join(DAY).join("manifest.json")).expect("manifest")
            == fs::read(&golden).expect("golden"),
        "the backup's manifest differs from the golden manifest"
    );
    ok(&verify(&dest));

    let to = tmp.path().join("restored");
    ok(&restore(&dest, &to, &[]));
    let generated = tmp.path().join("generated");
    ok(&docvault(&[
        "generate",
        "--count",
        "500",
        "--date",
        DATE,
        "--out",
        s(&generated),
    ]));
    assert!(files(&to) == files(&generated), "restored files differ");
    cmp(
        &to.join("invoice_0000.csv"),
        &generated.join("invoice_0000.csv"),
    );

    // Rerun: nothing rewritten.
    let out = docvault(&backup);
    ok(&out);
    assert_eq!(json(&out)["status"], "already-complete");

    // A dry run prints the plan and writes nothing.
    let out = docvault(&[
        "backup",
        "--generate",
        "3",
        "--dest",
        s(&dest),
        "--date",
        "2026-11-28",
        "--at",
        "2026-11-28T02:00:00Z",
        "--dry-run",
        "--json",
    ]);
    ok(&out);
    let plan = json(&out);
    assert_eq!(plan["dry_run"], true);
    assert_eq!(plan["documents"].as_array().expect("puts").len(), 3);
    assert_eq!(plan["then"]["key"], "backups/2026-11-28/manifest.json");
    assert_eq!(plan["then"]["if_none_match"], true);
    assert!(!dest.join("backups/2026-11-28").exists(), "a dry run wrote");
}

#[test]
fn tampering_is_reported_by_verify_and_refused_by_restore() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dest = tmp.path().join("dest");
    ok(&docvault(&[
        "backup",
        "--generate",
        "20",
        "--dest",
        s(&dest),
        "--date",
        DATE,
        "--at",
        AT,
        "-q",
    ]));
    let docs = dest.join(DAY).join("documents");
    let key = |name: &str| format!("{DAY}/documents/{name}");
    // Same size, one byte changed.
    let mut body = fs::read(docs.join("invoice_0000.csv")).expect("read");
    body[100] ^= 1;
    fs::write(docs.join("invoice_0000.csv"), &body).expect("write");
    // Truncated, deleted, added, replaced by a link.
    let receipt = fs::read(docs.join("receipt_0001.csv")).expect("read");
    fs::write(docs.join("receipt_0001.csv"), &receipt[..10]).expect("truncate");
    fs::remove_file(docs.join("contract_0002.txt")).expect("rm");
    fs::write(docs.join("intruder.txt"), b"not in the manifest").expect("write");
    fs::remove_file(docs.join("report_0003.txt")).expect("rm");
    symlink("/etc/hostname", docs.join("report_0003.txt")).expect("symlink");

    let out = verify(&dest);
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    assert_eq!(v["clean"], false);
    assert_eq!(v["verified"], 16);
    assert_eq!(v["checksum_mismatch"][0]["key"], key("invoice_0000.csv"));
    assert_eq!(v["size_mismatch"][0]["key"], key("receipt_0001.csv"));
    assert_eq!(
        v["missing"],
        serde_json::json!([key("contract_0002.txt"), key("report_0003.txt")])
    );
    assert_eq!(v["extra"], serde_json::json!([key("intruder.txt")]));
    assert_eq!(v["not_regular"][0]["key"], key("report_0003.txt"));
    let text = docvault(&["verify", "--dest", s(&dest), "--date", DATE, "-q"]);
    let report = String::from_utf8_lossy(&text.stdout);
    assert!(
        report.contains("checksum    backups/2026-11-27/documents/invoice_0000.csv"),
        "{report}"
    );

    // One tampered document: a clear error, and nothing that looks restored.
    let to = tmp.path().join("one");
    let out = restore(&dest, &to, &["--document", "invoice_0000"]);
    assert_eq!(out.status.code(), Some(1));
    let r = json(&out);
    assert_eq!(r["failed"][0]["kind"], "integrity");
    assert!(
        r["failed"][0]["error"]
            .as_str()
            .expect("error")
            .contains("checksum mismatch")
    );
    assert!(files(&to).is_empty(), "a tampered document left a file");

    // The whole day: the intact documents come back, the tampered ones do not.
    let to = tmp.path().join("all");
    let out = restore(&dest, &to, &[]);
    assert_eq!(out.status.code(), Some(1));
    let restored = files(&to);
    assert_eq!(restored.len(), 16);
    assert!(
        restored
            .iter()
            .all(|(name, _)| !name.contains("invoice_0000")
                && !name.contains("receipt_0001")
                && !name.contains("report_0003")
                && !name.contains("docvault-partial"))
    );

    // A manifest edited to point out of the backup is refused before anything is written.
    let manifest_path = dest.join(DAY).join("manifest.json");
    let text = fs::read_to_string(&manifest_path).expect("manifest");
    let evil = text.replace(
        "\"object_key\":\"backups/2026-11-27/documents/memo_0004.txt\"",
        "\"object_key\":\"backups/2026-11-27/documents/../../../../escaped.txt\"",
    );
    assert_ne!(evil, text);
    fs::write(&manifest_path, evil).expect("write");
    let to = tmp.path().join("evil");
    let out = restore(&dest, &to, &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("does not stay below"),
        "{}",
        stderr(&out)
    );
    assert!(!tmp.path().join("escaped.txt").exists());
    assert!(
        !to.exists(),
        "nothing may be written for a refused manifest"
    );
}

#[test]
fn restore_never_overwrites_without_being_asked() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dest = tmp.path().join("dest");
    ok(&docvault(&[
        "backup",
        "--generate",
        "5",
        "--dest",
        s(&dest),
        "--date",
        DATE,
        "--at",
        AT,
        "-q",
    ]));
    let to = tmp.path().join("out");
    ok(&restore(&dest, &to, &[]));
    let original = fs::read(to.join("memo_0004.txt")).expect("restored");
    fs::write(to.join("memo_0004.txt"), b"local edit").expect("edit");

    let out = restore(&dest, &to, &["--document", "memo_0004"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("exist already"), "{}", stderr(&out));
    assert_eq!(
        fs::read(to.join("memo_0004.txt")).expect("kept"),
        b"local edit"
    );

    ok(&restore(
        &dest,
        &to,
        &["--document", "memo_0004", "--overwrite"],
    ));
    assert_eq!(
        fs::read(to.join("memo_0004.txt")).expect("restored"),
        original
    );
}

#[test]
fn usage_and_missing_backups() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dest = tmp.path().join("dest");
    // Neither or both inputs: usage errors.
    let out = docvault(&["backup", "--dest", s(&dest), "--date", DATE]);
    assert_eq!(out.status.code(), Some(2));
    let out = docvault(&[
        "backup",
        "--dest",
        s(&dest),
        "--source",
        s(tmp.path()),
        "--generate",
        "3",
    ]);
    assert_eq!(out.status.code(), Some(2));
    // A destination inside the source.
    let src = tmp.path().join("src");
    write(&src.join("a.txt"), b"a");
    let out = backup_dir(&src, &src.join("backup-here"), &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("inside the source"),
        "{}",
        stderr(&out)
    );
    // A source that is not there: an I/O error.
    let out = backup_dir(&tmp.path().join("nope"), &dest, &[]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    // No backup of that day.
    let out = verify(&dest);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("no complete backup of 2026-11-27"));
    // Help everywhere, with the exit codes.
    for cmd in ["backup", "verify", "restore"] {
        let out = docvault(&[cmd, "--help"]);
        ok(&out);
        assert!(String::from_utf8_lossy(&out.stdout).contains("Exit codes"));
    }
}

#[test]
fn manifest_of_a_directory_is_what_its_backup_commits() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let src = sample_source(tmp.path());
    let dest = tmp.path().join("dest");
    let printed = docvault(&[
        "manifest",
        "--source",
        s(&src),
        "--date",
        DATE,
        "--at",
        AT,
        "--env",
        "prod",
    ]);
    ok(&printed);
    assert!(
        !dest.exists(),
        "`manifest --source` reads the source and writes nothing"
    );
    ok(&backup_dir(&src, &dest, &[]));
    let committed = fs::read(dest.join(DAY).join("manifest.json")).expect("manifest");
    assert!(
        printed.stdout == committed,
        "the printed manifest differs from the committed one"
    );

    // A file that cannot be a document: the manifest is still printed, listing the failure,
    // with status `incomplete` and exit 1.
    write(
        &src.join(OsStr::from_bytes(b"bad\xff.txt")),
        b"name is not UTF-8\n",
    );
    let out = docvault(&["manifest", "--source", s(&src), "--date", DATE, "--at", AT]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let m = Manifest::from_json(std::str::from_utf8(&out.stdout).expect("utf-8")).expect("valid");
    assert_eq!((m.total_documents, m.total_failed), (6, 1));
    assert_eq!(m.failed_documents[0].document_id, "bad\\xff.txt");
    assert!(
        stderr(&out).contains("status `incomplete`"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_day_written_in_parts_verifies_and_restores_like_one_document_and_a_lost_part_is_named() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dest = tmp.path().join("dest");
    ok(&docvault(&[
        "backup",
        "--generate",
        "30",
        "--dest",
        s(&dest),
        "--date",
        DATE,
        "--at",
        AT,
    ]));
    let day = dest.join(DAY);
    let one = manifest(&dest);
    // The same day as a sharded commit in S3 would write it: a root and its parts (copied
    // down from a bucket, say).
    let parted = one.to_parted(7).expect("complete");
    fs::remove_file(day.join("manifest.json")).expect("remove");
    write(&day.join("manifest.json"), &parted.root_json);
    for (part, body) in parted.root.parts.iter().zip(&parted.parts) {
        write(&dest.join(&part.key), body);
    }
    let out = verify(&dest);
    ok(&out);
    assert_eq!(json(&out)["verified"], 30);
    let to = tmp.path().join("restored");
    ok(&restore(&dest, &to, &[]));
    assert_eq!(files(&to).len(), 30);
    ok(&docvault(&["validate", s(&day.join("manifest.json"))]));
    // A part lost: every command that needs the day says which part.
    fs::remove_file(dest.join(&parted.root.parts[2].key)).expect("remove part");
    for out in [
        verify(&dest),
        restore(&dest, &tmp.path().join("again"), &[]),
        docvault(&["validate", s(&day.join("manifest.json"))]),
    ] {
        assert!(!out.status.success());
        let err = stderr(&out);
        assert!(
            err.contains("part 2") && err.contains("is missing"),
            "{err}"
        );
    }
}
