//! Untrusted manifests are rejected with errors that say where and what.

use docvault_core::{Manifest, ManifestError};
use docvault_tests::CASES;
use serde_json::{Value, json};

fn good() -> Value {
    serde_json::from_str(&CASES[2].manifest().to_json()).expect("JSON")
}

/// The error of `v`, the same whichever way it is read: the one-pass way or the careful one.
fn error_of(v: &Value) -> ManifestError {
    let text = v.to_string();
    let error = Manifest::from_json(&text).expect_err("must be rejected");
    assert_eq!(Manifest::from_json_reference(&text), Err(error.clone()));
    error
}

#[test]
fn not_json() {
    let e = Manifest::from_json("{\"schema_version\": 1,").expect_err("truncated");
    assert_eq!(e.code(), "invalid_json");
    assert!(e.to_string().contains("line 1"), "{e}");
}

#[test]
fn wrong_schema_version() {
    let mut v = good();
    v["schema_version"] = json!(2);
    let e = error_of(&v);
    assert_eq!(e.code(), "schema_version");
    assert!(e.to_string().contains("schema_version is 2"), "{e}");
    v.as_object_mut().expect("object").remove("schema_version");
    assert_eq!(error_of(&v).code(), "missing_field");
}

#[test]
fn negative_size_names_the_document_field() {
    let mut v = good();
    v["documents"][4]["file_size"] = json!(-5);
    let e = error_of(&v);
    assert_eq!(e.code(), "invalid_json");
    assert!(e.to_string().contains("documents[4].file_size"), "{e}");
}

#[test]
fn duplicate_ids_name_both_entries() {
    let mut v = good();
    v["documents"][5] = v["documents"][2].clone();
    let e = error_of(&v);
    assert_eq!(e.code(), "duplicate_document_id");
    let text = e.to_string();
    assert!(text.starts_with("documents[5] (`"), "{text}");
    assert!(text.contains("documents[2]"), "{text}");
}

#[test]
fn counts_that_do_not_add_up() {
    let mut v = good();
    v["total_documents"] = json!(18);
    let e = error_of(&v);
    assert_eq!(e.code(), "count_mismatch");
    assert!(e.to_string().contains("`total_documents` says 18"), "{e}");

    let mut v = good();
    let n = v["backup_summary"]["departments"]["hr"]
        .as_u64()
        .expect("count");
    v["backup_summary"]["departments"]["hr"] = json!(n + 1);
    let e = error_of(&v);
    assert!(
        e.to_string().contains("backup_summary.departments.hr"),
        "{e}"
    );
}

#[test]
fn status_must_match_failures() {
    let mut v = good();
    v["status"] = json!("complete");
    assert_eq!(error_of(&v).code(), "status_mismatch");
}

#[test]
fn keys_must_stay_in_their_day() {
    let mut v = good();
    v["documents"][0]["object_key"] = json!("backups/2026-11-28/documents/x.txt");
    let e = error_of(&v);
    assert_eq!(e.code(), "key_outside_day");
    assert!(
        e.to_string().contains("backups/2026-11-27/documents/"),
        "{e}"
    );
}

#[test]
fn path_traversal_ids_are_refused() {
    let mut v = good();
    v["documents"][0]["document_id"] = json!("../../etc/passwd");
    let e = error_of(&v);
    assert!(e.to_string().contains("documents[0].document_id"), "{e}");
}

#[test]
fn failure_also_stored() {
    let mut v = good();
    v["failed_documents"][0]["document_id"] = v["documents"][0]["document_id"].clone();
    let e = error_of(&v);
    assert_eq!(e.code(), "invalid_failure");
    assert!(e.to_string().contains("also listed as stored"), "{e}");
}

#[test]
fn fuzz_regressions_do_not_panic() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/fuzz");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("fixtures/fuzz exists") {
        let bytes = std::fs::read(entry.expect("entry").path()).expect("readable");
        let Ok(text) = std::str::from_utf8(&bytes) else {
            n += 1;
            continue;
        };
        let read = Manifest::from_json(text);
        assert_eq!(read, Manifest::from_json_reference(text), "{text}");
        if let Ok(m) = read {
            assert_eq!(Manifest::from_json(&m.to_json()).as_ref(), Ok(&m));
        }
        n += 1;
    }
    assert!(n > 0, "no fuzz fixtures in {}", dir.display());
}

#[test]
fn kept_date_and_time_inputs_parse_or_are_refused_without_panics() {
    use docvault_core::{BackupDate, Timestamp};
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/fuzz-time");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("fixtures/fuzz-time exists") {
        let bytes = std::fs::read(entry.expect("entry").path()).expect("readable");
        let Ok(text) = std::str::from_utf8(&bytes) else {
            continue;
        };
        if let Ok(t) = text.parse::<Timestamp>() {
            assert_eq!(t.to_string().parse::<Timestamp>(), Ok(t));
        }
        if let Ok(d) = text.parse::<BackupDate>() {
            assert_eq!(d.to_string().parse::<BackupDate>(), Ok(d));
        }
        n += 1;
    }
    assert!(n > 0, "no fixtures in {}", dir.display());
    assert!("9999-12-31T23:59:59-23:59".parse::<Timestamp>().is_err());
}

#[test]
fn unsafe_object_keys_are_refused() {
    for bad in [
        "backups/2026-11-27/documents/../../etc/passwd",
        "backups/2026-11-27/documents//etc/passwd",
        "backups/2026-11-27/documents/a\\b",
        "backups/2026-11-27/documents/a\u{0}b",
        "backups/2026-11-27/documents/a\nb",
    ] {
        let mut v = good();
        v["documents"][0]["object_key"] = json!(bad);
        let e = error_of(&v);
        assert_eq!(e.code(), "unsafe_key", "{bad:?}: {e}");
    }
    let mut v = good();
    v["documents"][0]["object_key"] =
        json!(format!("backups/2026-11-27/documents/{}", "a".repeat(5000)));
    assert_eq!(error_of(&v).code(), "key_too_long");
}

#[test]
fn retention_must_fit_the_day() {
    let daily = CASES
        .iter()
        .find(|c| c.file.contains("retention-daily"))
        .expect("a daily retention case");
    let good: Value = serde_json::from_str(&daily.manifest().to_json()).expect("JSON");
    assert!(Manifest::from_json(&good.to_string()).is_ok());

    let mut v = good.clone();
    v["retention"]["retain_until"] = json!("2026-11-26");
    let e = error_of(&v);
    assert_eq!(e.code(), "retention_mismatch");
    assert!(e.to_string().contains("before the backup date"), "{e}");

    let mut v = good.clone();
    v["retention"]["class"] = json!("monthly");
    let e = error_of(&v);
    assert_eq!(e.code(), "retention_mismatch");
    assert!(
        e.to_string().contains("cannot be the class of 2026-11-27"),
        "{e}"
    );

    let mut v = good.clone();
    v["retention"]["lock_mode"] = json!("forever");
    assert_eq!(error_of(&v).code(), "invalid_json");

    let mut v = good;
    v["retention"]["until_the_heat_death"] = json!(true);
    assert_eq!(error_of(&v).code(), "invalid_json");
}

/// The forms of a valid manifest's data that the one-pass reading might take differently from
/// the careful one: the fields as an array (serde reads a struct from one; docvault never
/// writes it), the keys in another order, leading whitespace, another schema version in place.
#[test]
fn other_forms_of_a_manifest_read_the_same_both_ways() {
    let both = |text: &str| {
        let read = Manifest::from_json(text);
        assert_eq!(read, Manifest::from_json_reference(text), "{text}");
        read
    };
    let m = CASES[2].manifest();
    let object = good();
    // Keys sorted (serde_json's map without `preserve_order`): read as the same manifest.
    assert_eq!(both(&object.to_string()), Ok(m.clone()));
    assert_eq!(both(&format!(" \n\t{}", m.to_json())), Ok(m.clone()));
    // The fields in their declared order, as an array: serde alone reads that as the manifest,
    // docvault refuses it, as the careful reading always did.
    let array = Value::Array(
        [
            "schema_version",
            "backup_date",
            "backup_timestamp",
            "environment",
            "run_id",
            "status",
            "source",
            "retention",
            "total_documents",
            "total_failed",
            "backup_summary",
            "documents",
            "failed_documents",
        ]
        .iter()
        .map(|k| object.get(*k).cloned().unwrap_or(Value::Null))
        .collect(),
    )
    .to_string();
    assert_eq!(
        serde_json::from_str::<Manifest>(&array).as_ref().ok(),
        Some(&m),
        "serde reads the array form"
    );
    assert_eq!(both(&array).expect_err("array form").code(), "invalid_json");
    let mut v = good();
    v["schema_version"] = json!(2);
    assert_eq!(
        both(&v.to_string()).expect_err("version").code(),
        "schema_version"
    );
}
