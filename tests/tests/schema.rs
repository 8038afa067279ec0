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
        ("missing summary", |m| {
            m.as_object_mut().expect("object").remove("backup_summary");
        }),
        ("key outside backups", |m| {
            m["documents"][0]["object_key"] = json!("etc/passwd")
        }),
        ("escaping id", |m| {
            m["documents"][0]["document_id"] = json!("../../etc/passwd")
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
