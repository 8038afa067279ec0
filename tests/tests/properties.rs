//! Properties of manifest assembly and parsing over arbitrary document sets.

use docvault_core::{
    BackupDate, Document, DocumentId, DocumentMetadata, FailedDocument, FailureStage, Label,
    Layout, Manifest, ManifestError, ManifestHeader, Priority, Sha256Digest, SourceDescription,
    Timestamp, UploadParts,
};
use proptest::prelude::*;

fn date() -> BackupDate {
    "2026-11-27".parse().expect("date")
}

fn header() -> ManifestHeader {
    ManifestHeader {
        backup_date: date(),
        backup_timestamp: "2026-11-27T02:00:00Z".parse().expect("timestamp"),
        environment: Label::new("dev").expect("label"),
        run_id: Some("prop".into()),
        source: SourceDescription::Directory {
            path: "/src".into(),
        },
    }
}

prop_compose! {
    fn document()(
        id in "[a-z]{1,6}(/[a-z0-9_][a-z0-9_.-]{0,5}){0,2}",
        doc_type in prop_oneof![prop::sample::select(vec!["invoice", "receipt", "memo", "x-ray"]).prop_map(String::from), "[a-z][a-z0-9_-]{0,2}"],
        department in prop::sample::select(vec!["finance", "hr", "ops_2"]),
        priority in prop::sample::select(vec![Priority::Low, Priority::Medium, Priority::High]),
        confidential in any::<bool>(),
        size in 0u64..(1 << 40),
        hash in any::<[u8; 32]>(),
        created in 0i64..4_000_000_000,
        source in proptest::option::of("[ -~]{0,12}"),
        part_size in proptest::option::of(1u64 << 20..1 << 30),
        parts_hash in any::<[u8; 32]>(),
    ) -> Document {
        let document_id = DocumentId::new(&id).expect("generated ids are valid");
        Document {
            object_key: Layout::new(date()).document_key(&document_id, Some("bin")),
            document_id,
            doc_type: Label::new(&doc_type).expect("label"),
            created_date: Timestamp::from_unix_seconds(created).expect("in range"),
            file_size: size,
            checksum: Sha256Digest(hash),
            content_type: "application/octet-stream".into(),
            source,
            parts: part_size.map(|part_size| Box::new(UploadParts {
                part_size,
                count: u32::try_from(UploadParts::count_for(size, part_size)).expect("few parts"),
                checksum: Sha256Digest(parts_hash),
            })),
            metadata: DocumentMetadata {
                department: Label::new(department).expect("label"),
                priority,
                confidential,
            },
        }
    }
}

/// Documents with unique ids.
fn documents() -> impl Strategy<Value = Vec<Document>> {
    prop::collection::vec(document(), 0..40).prop_map(|mut docs| {
        docs.sort_by(|a, b| a.document_id.cmp(&b.document_id));
        docs.dedup_by(|a, b| a.document_id == b.document_id);
        docs
    })
}

proptest! {
    #[test]
    fn summary_agrees_with_documents(docs in documents()) {
        let m = Manifest::assemble(header(), docs.clone(), Vec::new()).expect("assembles");
        prop_assert_eq!(m.total_documents, docs.len() as u64);
        prop_assert_eq!(m.backup_summary.total_size_bytes, docs.iter().map(|d| d.file_size).sum::<u64>());
        for (label, n) in &m.backup_summary.document_types {
            prop_assert_eq!(*n, docs.iter().filter(|d| &d.doc_type == label).count() as u64);
        }
        for (label, n) in &m.backup_summary.departments {
            prop_assert_eq!(*n, docs.iter().filter(|d| &d.metadata.department == label).count() as u64);
        }
        prop_assert_eq!(m.backup_summary.document_types.values().sum::<u64>(), m.total_documents);
        prop_assert_eq!(m.backup_summary.departments.values().sum::<u64>(), m.total_documents);
    }

    #[test]
    fn parse_of_serialize_is_identity(docs in documents(), fail_every in 2usize..6) {
        let (failed, stored): (Vec<_>, Vec<_>) =
            docs.into_iter().enumerate().partition(|(i, _)| i % fail_every == 0);
        let failed = failed
            .into_iter()
            .map(|(_, d)| FailedDocument {
                document_id: d.document_id.to_string(),
                source: d.source,
                stage: FailureStage::Store,
                reason: "injected \"quoted\" \u{7} reason".into(),
                attempts: 3,
            })
            .collect();
        let stored = stored.into_iter().map(|(_, d)| d).collect();
        let m = Manifest::assemble(header(), stored, failed).expect("assembles");
        let text = m.to_json();
        let back = Manifest::from_json(&text).expect("own output parses");
        prop_assert_eq!(&back, &m);
        prop_assert_eq!(back.to_json(), text);
    }

    #[test]
    fn output_does_not_depend_on_input_order(docs in documents(), seed in any::<u64>()) {
        let mut shuffled = docs.clone();
        // A deterministic permutation from the seed.
        let n = shuffled.len();
        for i in (1..n).rev() {
            let j = (seed.wrapping_mul(i as u64 + 1) >> 7) as usize % (i + 1);
            shuffled.swap(i, j);
        }
        let a = Manifest::assemble(header(), docs, Vec::new()).expect("assembles");
        let b = Manifest::assemble(header(), shuffled, Vec::new()).expect("assembles");
        prop_assert_eq!(a.to_json(), b.to_json());
    }

    #[test]
    fn edited_counts_are_caught(docs in documents(), bump in 1u64..1000) {
        let m = Manifest::assemble(header(), docs, Vec::new()).expect("assembles");
        let mut v: serde_json::Value = serde_json::from_str(&m.to_json()).expect("JSON");
        let total = v["backup_summary"]["total_size_bytes"].as_u64().expect("u64");
        v["backup_summary"]["total_size_bytes"] = total.wrapping_add(bump).into();
        let err = Manifest::from_json(&v.to_string()).expect_err("edited total must fail");
        let is_count = matches!(err, ManifestError::Count { .. });
        prop_assert!(is_count, "{err}");
    }
}

proptest! {
    /// The fast writer and serde agree byte for byte, including on strings that need escaping.
    #[test]
    fn fast_writer_equals_serde(
        docs in documents(),
        source in any::<String>(),
        content_type in any::<String>(),
        reason in any::<String>(),
        run_id in proptest::option::of(any::<String>()),
    ) {
        let mut docs = docs;
        if let Some(d) = docs.first_mut() {
            d.source = Some(source.clone());
            d.content_type = content_type.as_str().into();
        }
        let failed = vec![FailedDocument {
            document_id: format!("FAILED-{source}"),
            source: Some(source),
            stage: FailureStage::Read,
            reason,
            attempts: u32::MAX,
        }];
        let mut h = header();
        h.run_id = run_id;
        let m = Manifest::assemble(h, docs, failed).expect("assembles");
        prop_assert_eq!(m.to_json(), m.to_json_reference());
        let mut streamed = Vec::new();
        m.write_json(&mut streamed).expect("in memory");
        prop_assert_eq!(String::from_utf8(streamed).expect("UTF-8"), m.to_json());
    }
}

/// Any document set, valid or not: duplicate ids and keys, keys outside the day or with
/// traversal, control characters or excess length, parts that cannot hold the body, failures
/// with empty, repeated or stored ids.
fn hostile_documents() -> impl Strategy<Value = (Vec<Document>, Vec<FailedDocument>)> {
    let key = prop_oneof![
        4 => Just(None),
        1 => prop::sample::select(vec![
            "backups/2026-11-27/documents/../../etc/passwd",
            "backups/2026-11-27/documents//abs",
            "backups/2026-11-27/documents/a\\b",
            "backups/2026-11-27/documents/\u{1b}[2J",
            "backups/2026-11-27/documents/",
            "backups/2026-11-28/documents/x",
            "backups/2026-11-27/manifest.json",
        ])
        .prop_map(|k| Some(k.to_owned())),
        1 => (1000usize..1100).prop_map(|n| Some(format!("backups/2026-11-27/documents/{}", "k".repeat(n)))),
    ];
    let doc = (document(), key, any::<bool>()).prop_map(|(mut d, key, bad_parts)| {
        if let Some(k) = key {
            d.object_key = k;
        }
        if bad_parts && let Some(p) = &mut d.parts {
            p.count = p.count.saturating_add(2);
        }
        d
    });
    let docs = prop::collection::vec(doc, 0..20).prop_map(|mut docs| {
        // Some repeated ids and keys.
        if docs.len() > 3 {
            docs[3] = docs[1].clone();
        }
        docs
    });
    let failure = prop_oneof![
        Just(String::new()),
        "[a-z]{1,6}(/[a-z0-9_]{1,3})?",
        "[ -~]{0,8}"
    ]
    .prop_map(|id| FailedDocument {
        document_id: id,
        source: None,
        stage: FailureStage::Read,
        reason: "x".into(),
        attempts: 1,
    });
    (docs, prop::collection::vec(failure, 0..6))
}

proptest! {
    /// One rule checker serves assembly and validation: whatever `assemble` accepts validates,
    /// parses back equal, and whatever it refuses names a rule `validate` has too.
    #[test]
    fn an_assembled_manifest_always_validates((docs, failed) in hostile_documents()) {
        match Manifest::assemble(header(), docs, failed) {
            Ok(m) => {
                prop_assert_eq!(m.validate(), Ok(()));
                let back = Manifest::from_json(&m.to_json());
                prop_assert_eq!(back.as_ref(), Ok(&m));
            }
            Err(e) => {
                let known = [
                    "duplicate_document_id", "duplicate_object_key", "key_outside_day",
                    "unsafe_key", "key_too_long", "bad_parts", "empty_failure_id",
                    "duplicate_failure", "stored_and_failed",
                ];
                prop_assert!(known.contains(&e.code()), "{}: {e}", e.code());
            }
        }
    }

    /// Timestamps: every instant of years 0-9999 prints and parses back exactly; any text parses
    /// or is refused, never panics, and what parses stays within years 0-9999.
    #[test]
    fn timestamps_round_trip_and_never_panic(
        secs in -62_167_219_200i64..=253_402_300_799,
        nanos in 0u32..1_000_000_000,
        text in "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-6][0-9](\\.[0-9]{1,12})?(Z|[+-][0-9]{2}:[0-9]{2})",
        junk in any::<String>(),
    ) {
        let t = Timestamp::from_unix(secs, nanos).expect("in range");
        prop_assert_eq!(t.to_string().parse::<Timestamp>(), Ok(t));
        for s in [text.as_str(), junk.as_str()] {
            if let Ok(t) = s.parse::<Timestamp>() {
                let year: u32 = t.to_string()[..4].parse().expect("four digits");
                prop_assert!(year <= 9999);
                prop_assert_eq!(t.to_string().parse::<Timestamp>(), Ok(t));
            }
        }
    }

    /// Dates: every day of years 0-9999 round-trips through text and day numbers.
    #[test]
    fn dates_round_trip(days in -719_528i64..=2_932_896) {
        let d = BackupDate::from_days_since_epoch(days).expect("in range");
        prop_assert_eq!(d.days_since_epoch(), days);
        prop_assert_eq!(d.to_string().parse::<BackupDate>(), Ok(d));
        prop_assert_eq!(d.start().date(), d);
    }
}

/// One edit of manifest text: a byte range replaced with one of the fragments an editor or an
/// attacker would write (other types, other fields, duplicates, escapes, broken structure).
fn edited(text: &str, at: usize, len: usize, with: &str) -> String {
    let bytes = text.as_bytes();
    let at = at % (bytes.len() + 1);
    let end = (at + len).min(bytes.len());
    let mut out = bytes[..at].to_vec();
    out.extend_from_slice(with.as_bytes());
    out.extend_from_slice(&bytes[end..]);
    String::from_utf8_lossy(&out).into_owned()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Reading a manifest in one pass gives what the careful reading gives (the probe of form
    /// and version, then the fields with their paths): the same manifest, or the same error
    /// with the same path, position and message, on valid and edited text alike.
    #[test]
    fn the_one_pass_reading_is_the_careful_reading(
        (docs, failed) in hostile_documents(),
        edits in prop::collection::vec((any::<usize>(), 0usize..12, prop::sample::select(vec![
            "", "\"", "{", "}", "[", "]", ",", ":", "0", "-1", "1e3", "2", "null", "true",
            "\"x\"", "\\u0000", "\\\"", "\"parts\":[],", "\"schema_version\":2,",
            "\"document_id\":\"a\",", "\"extra\":1,", "\"status\":\"complete\",",
            "\"file_size\":18446744073709551616,", "é", "\u{7f}",
        ])), 0..3),
        form in 0u8..3,
    ) {
        let Ok(m) = Manifest::assemble(header(), docs, failed) else {
            return Ok(());
        };
        // As written, with the keys in another order, or with another field in place: text
        // that the one-pass reading takes too, not only text that no longer parses.
        let mut text = match form {
            0 => m.to_json(),
            1 => serde_json::from_str::<serde_json::Value>(&m.to_json()).expect("JSON").to_string(),
            _ => {
                let mut v: serde_json::Value = serde_json::from_str(&m.to_json()).expect("JSON");
                v["total_failed"] = v["total_documents"].clone();
                v.to_string()
            }
        };
        for (at, len, with) in edits {
            text = edited(&text, at, len, with);
        }
        prop_assert_eq!(Manifest::from_json(&text), Manifest::from_json_reference(&text));
    }
}
