//! The published JSON Schema accepts what docvault writes and rejects malformed manifests.

use docvault_core::manifest::JSON_SCHEMA;
use docvault_tests::CASES;
use serde_json::{Value, json};

fn validator() -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(JSON_SCHEMA).expect("schema is JSON");
    jsonschema::validator_for(&schema).expect("schema compiles")
}

#[test]
fn golden_manifests_satisfy_the_schema() {
    let v = validator();
    for case in CASES {
        let doc: Value = serde_json::from_str(&case.manifest().to_json()).expect("JSON");
        let errors: Vec<String> = v.iter_errors(&doc).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{}: {errors:?}", case.file);
    }
}

#[test]
fn schema_rejects_broken_manifests() {
    let v = validator();
    let good: Value = serde_json::from_str(&CASES[2].manifest().to_json()).expect("JSON");
    assert!(v.is_valid(&good));
    type Mutation = (&'static str, fn(&mut Value));
    let mutations: Vec<Mutation> = vec![
        ("fake checksum", |m| {
            m["documents"][0]["checksum"] = json!("md5_0001")
        }),
        ("negative size", |m| {
            m["documents"][0]["file_size"] = json!(-1)
        }),
        ("schema version 2", |m| m["schema_version"] = json!(2)),
        ("unknown field", |m| m["extra"] = json!(true)),
        (
            "unknown retention class",
            |m| m["retention"] = json!({"class": "hourly", "retain_until": "2026-12-03", "lock_mode": "none", "legal_hold": false}),
        ),
        (
            "retention without its lock mode",
            |m| {
                m["retention"] =
                    json!({"class": "daily", "retain_until": "2026-12-03", "legal_hold": false})
            },
        ),
        ("missing summary", |m| {
            m.as_object_mut().expect("object").remove("backup_summary");
        }),
        ("key outside backups", |m| {
            m["documents"][0]["object_key"] = json!("etc/passwd")
        }),
        ("escaping id", |m| {
            m["documents"][0]["document_id"] = json!("../../etc/passwd")
        }),
        ("traversal key", |m| {
            m["documents"][0]["object_key"] = json!("backups/2026-11-27/documents/../../../x")
        }),
        ("absolute key below the day", |m| {
            m["documents"][0]["object_key"] = json!("backups/2026-11-27/documents//etc/passwd")
        }),
        ("key with a backslash", |m| {
            m["documents"][0]["object_key"] = json!("backups/2026-11-27/documents/a\\b")
        }),
        ("key with a terminal escape", |m| {
            m["documents"][0]["object_key"] = json!("backups/2026-11-27/documents/\u{1b}[2J")
        }),
        ("key with a C1 control", |m| {
            m["documents"][0]["object_key"] = json!("backups/2026-11-27/documents/a\u{9b}b")
        }),
        ("key ending in a slash", |m| {
            m["documents"][0]["object_key"] = json!("backups/2026-11-27/documents/a/")
        }),
        ("5,000-byte key", |m| {
            m["documents"][0]["object_key"] =
                json!(format!("backups/2026-11-27/documents/{}", "a".repeat(5000)))
        }),
        ("bad priority", |m| {
            m["documents"][0]["metadata"]["priority"] = json!("urgent")
        }),
        ("bad status", |m| m["status"] = json!("done")),
        ("bad stage", |m| {
            m["failed_documents"][0]["stage"] = json!("upload")
        }),
        ("bad timestamp", |m| {
            m["backup_timestamp"] = json!("yesterday")
        }),
    ];
    for (name, mutate) in mutations {
        let mut m = good.clone();
        mutate(&mut m);
        assert!(!v.is_valid(&m), "schema accepted a manifest with {name}");
    }
}

/// A document stored in parts: the schema and the parser accept its `parts`, and both refuse a
/// malformed one (the parser also checks that the parts can hold the body).
#[test]
fn parts_of_a_multipart_document() {
    let v = validator();
    let mut m: Value = serde_json::from_str(&CASES[2].manifest().to_json()).expect("JSON");
    let size = m["documents"][0]["file_size"].as_u64().expect("size");
    let part_size = size.div_ceil(3).max(1);
    m["documents"][0]["parts"] = json!({
        "part_size": part_size,
        "count": size.div_ceil(part_size).max(1),
        "checksum": format!("sha256:{}", "ab".repeat(32)),
    });
    assert!(
        v.is_valid(&m),
        "{:?}",
        v.iter_errors(&m).map(|e| e.to_string()).collect::<Vec<_>>()
    );
    let parsed = docvault_core::Manifest::from_json(&m.to_string()).expect("parses");
    assert_eq!(
        parsed.documents[0].parts.as_ref().map(|p| p.part_size),
        Some(part_size)
    );
    let mut unknown = m.clone();
    unknown["documents"][0]["parts"]["etag"] = json!("x");
    assert!(!v.is_valid(&unknown));
    let mut zero = m.clone();
    zero["documents"][0]["parts"]["count"] = json!(0);
    assert!(!v.is_valid(&zero));
    let mut wrong = m;
    wrong["documents"][0]["parts"]["count"] = json!(size.div_ceil(part_size) + 5);
    let err = docvault_core::Manifest::from_json(&wrong.to_string()).expect_err("too many parts");
    assert!(err.to_string().contains("cannot hold file_size"), "{err}");
}
