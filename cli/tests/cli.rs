//! The `docvault` binary as users run it: the acceptance commands of the core issue.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use docvault_core::Manifest;

fn docvault(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_docvault"))
        .args(args)
        .output()
        .expect("docvault runs")
}

fn golden(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/golden")
        .join(file)
}

const DAY: [&str; 6] = [
    "--date",
    "2026-11-27",
    "--at",
    "2026-11-27T02:00:00Z",
    "--env",
    "prod",
];

#[test]
fn manifest_command_prints_the_golden_bytes() {
    for (count, file) in [
        ("500", "manifest-500-2026-11-27.json"),
        ("0", "manifest-empty-2026-11-27.json"),
    ] {
        let mut args = vec!["manifest", "--generate", count];
        args.extend(DAY);
        let out = docvault(&args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let expected = std::fs::read(golden(file)).expect("golden file");
        assert!(
            out.stdout == expected,
            "`docvault {}` differs from {file}",
            args.join(" ")
        );
    }
}

#[test]
fn sha256sum_agrees_with_every_checksum() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out_dir = dir.path().join("d");
    let out = docvault(&[
        "generate",
        "--count",
        "500",
        "--date",
        "2026-11-27",
        "--out",
        out_dir.to_str().expect("utf-8"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut args = vec!["manifest", "--generate", "500"];
    args.extend(DAY);
    let manifest = Manifest::from_json(&String::from_utf8(docvault(&args).stdout).expect("utf-8"))
        .expect("valid manifest");

    // One `sha256sum -c` line per manifest document, hex from the manifest's `sha256:` value.
    let mut check = String::new();
    for doc in &manifest.documents {
        let name = doc.object_key.rsplit('/').next().expect("file name");
        let hex = doc
            .checksum
            .to_string()
            .strip_prefix("sha256:")
            .expect("prefix")
            .to_owned();
        check.push_str(&format!("{hex}  {name}\n"));
    }
    std::fs::write(dir.path().join("SHA256SUMS"), check).expect("write list");
    let status = Command::new("sha256sum")
        .args(["--check", "--strict", "--quiet", "../SHA256SUMS"])
        .current_dir(&out_dir)
        .status()
        .expect("sha256sum (coreutils) runs");
    assert!(status.success(), "sha256sum disagrees with the manifest");
    let files = std::fs::read_dir(&out_dir).expect("dir").count();
    assert_eq!(files, 500, "one file per document");
}

#[test]
fn validate_accepts_golden_and_rejects_edits() {
    for file in [
        "manifest-500-2026-11-27.json",
        "manifest-failed-2026-11-27.json",
    ] {
        let out = docvault(&["validate", golden(file).to_str().expect("utf-8")]);
        assert!(
            out.status.success(),
            "{file}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let text = std::fs::read_to_string(golden("manifest-500-2026-11-27.json")).expect("golden");
    let edited = text.replacen("\"total_documents\": 500", "\"total_documents\": 10", 1);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("m.json");
    std::fs::write(&path, edited).expect("write");
    let out = docvault(&["validate", path.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("`total_documents` says 10 but the document list gives 500"),
        "{err}"
    );
}

#[test]
fn bad_flags_are_usage_errors() {
    let out = docvault(&["manifest", "--generate", "5", "--date", "2026-02-30"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("is not a date"), "{err}");
    let out = docvault(&[
        "manifest",
        "--generate",
        "5",
        "--date",
        "2026-02-03",
        "--env",
        "Prod!",
    ]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn summary_counts() {
    let out = docvault(&[
        "summary",
        "--count",
        "500",
        "--date",
        "2026-11-27",
        "--json",
    ]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["document_types"]["memo"], 100);
    assert_eq!(v["departments"]["sales"], 125);
}

#[test]
fn validate_reads_a_day_in_parts_beside_its_root_and_names_a_bad_part() {
    let root = golden("parted-2026-11-27/manifest.json");
    let out = docvault(&["validate", root.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("5 documents, 0 failed, in 3 parts"));

    // A copy with one byte of a part changed.
    let tmp = tempfile::tempdir().expect("tempdir");
    let copy = tmp.path().join("day");
    std::fs::create_dir_all(copy.join("manifest-parts")).unwrap();
    std::fs::copy(&root, copy.join("manifest.json")).unwrap();
    let parts = golden("parted-2026-11-27/manifest-parts");
    let mut names: Vec<_> = std::fs::read_dir(&parts)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort();
    for name in &names {
        std::fs::copy(parts.join(name), copy.join("manifest-parts").join(name)).unwrap();
    }
    let victim = copy.join("manifest-parts").join(&names[1]);
    let mut bytes = std::fs::read(&victim).unwrap();
    let at = bytes.iter().position(|&b| b == b'5').unwrap();
    bytes[at] = b'6';
    std::fs::write(&victim, bytes).unwrap();
    let copied_root = copy.join("manifest.json");
    let out = docvault(&["validate", copied_root.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("part 1") && err.contains("altered or replaced"),
        "{err}"
    );

    // A part replaced by a link to another file is not followed.
    std::fs::remove_file(&victim).unwrap();
    std::os::unix::fs::symlink(parts.join(&names[1]), &victim).unwrap();
    let out = docvault(&["validate", copied_root.to_str().unwrap()]);
    assert!(!out.status.success(), "a link was followed");

    // A root on stdin cannot name where its parts are.
    let out = Command::new(env!("CARGO_BIN_EXE_docvault"))
        .args(["validate", "-"])
        .stdin(std::fs::File::open(&root).unwrap())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("give the file's path"));
}
