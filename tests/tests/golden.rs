//! Golden manifests: pinned inputs give exactly the bytes stored in `tests/golden/`.

use docvault_core::{Manifest, ManifestForm};
use docvault_tests::{CASES, PARTED_DIR, golden_dir, parted_files, retained};

#[test]
fn manifests_match_golden_files_byte_for_byte() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    for case in CASES {
        let path = golden_dir().join(case.file);
        let actual = case.manifest().to_json();
        if update {
            std::fs::write(&path, &actual).expect("write golden file");
            continue;
        }
        let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e}; create it with UPDATE_GOLDEN=1 cargo test -p docvault-tests --test golden",
                path.display()
            )
        });
        assert!(
            actual == expected,
            "{} differs from the freshly built manifest; if the change is intended, run \
             UPDATE_GOLDEN=1 cargo test -p docvault-tests --test golden and review the diff",
            case.file
        );
    }
}

#[test]
fn golden_files_parse_back_to_the_same_manifest() {
    for case in CASES {
        let text = std::fs::read_to_string(golden_dir().join(case.file)).expect("golden file");
        let parsed = Manifest::from_json(&text).expect("golden file is valid");
        assert_eq!(parsed, case.manifest(), "{}", case.file);
        assert_eq!(parsed.to_json(), text, "{}", case.file);
    }
}

#[test]
fn golden_500_has_the_spec_distribution() {
    let m = CASES[0].manifest();
    assert_eq!(m.total_documents, 500);
    assert!(m.backup_summary.document_types.values().all(|&n| n == 100));
    assert_eq!(m.backup_summary.document_types.len(), 5);
    assert!(m.backup_summary.departments.values().all(|&n| n == 125));
    assert_eq!(m.backup_summary.departments.len(), 4);
    let confidential = m
        .documents
        .iter()
        .filter(|d| d.metadata.confidential)
        .count();
    assert_eq!(confidential, 100);
}

#[test]
fn failed_case_lists_failures_and_leaves_them_out_of_the_counts() {
    let m = CASES[2].manifest();
    assert_eq!(m.status, docvault_core::BackupStatus::Incomplete);
    assert_eq!(m.total_documents, 17);
    assert_eq!(m.total_failed, 3);
    let ids: Vec<&str> = m
        .failed_documents
        .iter()
        .map(|f| f.document_id.as_str())
        .collect();
    assert_eq!(ids, ["contract_0007", "receipt_0011", "report_0003"]);
    for id in ids {
        assert!(m.document(id).is_none(), "{id} is failed, not stored");
    }
    let by_type: u64 = m.backup_summary.document_types.values().sum();
    let by_department: u64 = m.backup_summary.departments.values().sum();
    assert_eq!((by_type, by_department), (17, 17));
}

#[test]
fn the_day_in_parts_matches_its_golden_files_byte_for_byte() {
    let dir = golden_dir().join(PARTED_DIR);
    let files = parted_files();
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        let _ = std::fs::remove_dir_all(&dir);
        for (name, bytes) in &files {
            let path = dir.join(name);
            std::fs::create_dir_all(path.parent().expect("a folder")).expect("create folder");
            std::fs::write(&path, bytes).expect("write golden file");
        }
        return;
    }
    let mut on_disk: Vec<String> = std::fs::read_dir(dir.join("manifest-parts"))
        .expect("the golden parts")
        .map(|e| {
            format!(
                "manifest-parts/{}",
                e.unwrap().file_name().to_str().unwrap()
            )
        })
        .chain(["manifest.json".to_owned()])
        .collect();
    on_disk.sort();
    let mut names: Vec<String> = files.iter().map(|(n, _)| n.clone()).collect();
    names.sort();
    assert_eq!(
        on_disk, names,
        "the golden day in parts has other files; UPDATE_GOLDEN=1"
    );
    for (name, bytes) in &files {
        let expected = std::fs::read(dir.join(name)).expect("golden file");
        assert!(
            *bytes == expected,
            "{PARTED_DIR}/{name} differs from the freshly built one; if intended, run \
             UPDATE_GOLDEN=1 cargo test -p docvault-tests --test golden and review the diff"
        );
    }
}

#[test]
fn the_golden_day_in_parts_joins_to_the_one_document_manifest() {
    let dir = golden_dir().join(PARTED_DIR);
    let root = std::fs::read_to_string(dir.join("manifest.json")).expect("golden root");
    let ManifestForm::Parted(mut join) = ManifestForm::from_json(&root).expect("valid root") else {
        panic!("a root");
    };
    assert_eq!(join.root().parts.len(), 3);
    while let Some(part) = join.next_part() {
        let name = part.key.rsplit('/').next().unwrap();
        let bytes = std::fs::read(dir.join("manifest-parts").join(name)).expect("golden part");
        join.add(&bytes).expect("the root's part");
    }
    let joined = join.finish().expect("a valid day");
    assert_eq!(joined, retained("2026-11-27"));
    let single =
        std::fs::read_to_string(golden_dir().join("manifest-retention-daily-2026-11-27.json"))
            .expect("golden file");
    assert_eq!(
        joined.to_json(),
        single,
        "joined, the parts write the one-document golden file"
    );
}
