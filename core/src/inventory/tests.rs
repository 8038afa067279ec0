use proptest::prelude::*;

use super::*;

const SCHEMA: &str = "Bucket, Key, VersionId, IsLatest, IsDeleteMarker, Size, LastModifiedDate, \
                      ETag, StorageClass";

fn day() -> BackupDate {
    "2026-11-27".parse().unwrap()
}

fn manifest_json(bucket: &str, created_ms: i64, format: &str, schema: &str) -> String {
    serde_json::json!({
        "sourceBucket": bucket,
        "destinationBucket": "arn:aws:s3:::inventories",
        "version": "2016-11-30",
        "creationTimestamp": created_ms.to_string(),
        "fileFormat": format,
        "fileSchema": schema,
        "files": [{
            "key": "inv/landing/daily/data/0a.csv.gz",
            "size": 120,
            "MD5checksum": "0123456789ABCDEF0123456789abcdef"
        }]
    })
    .to_string()
}

/// 2026-11-28T01:00Z, after the day ended.
const AFTER: i64 = 1_795_827_600_000;

/// Limits no test's report reaches.
const ROOMY: InventoryLimits = InventoryLimits {
    max_file_bytes: 1 << 30,
    max_objects: 1 << 20,
};

fn expected(limits: InventoryLimits) -> Expected<'static> {
    Expected {
        folder: "inv/landing/daily/",
        source_bucket: "landing",
        date: day(),
        limits,
    }
}

fn manifest_within(schema: &str, limits: InventoryLimits) -> InventoryManifest {
    InventoryManifest::from_json(
        "m.json",
        manifest_json("landing", AFTER, "CSV", schema).as_bytes(),
        &expected(limits),
    )
    .unwrap()
}

fn manifest(schema: &str) -> InventoryManifest {
    manifest_within(schema, ROOMY)
}

fn rows(
    m: &InventoryManifest,
    csv: &str,
    prefix: &str,
) -> Result<Vec<InventoryObject>, InventoryError> {
    let mut out = Vec::new();
    m.read_rows(&m.files[0], csv.as_bytes(), prefix, &mut out)?;
    Ok(out)
}

#[test]
fn a_report_folder_is_named_by_the_time_its_scan_began() {
    assert_eq!(
        report_time("2026-11-28T01-00Z").unwrap().to_string(),
        "2026-11-28T01:00:00Z"
    );
    for other in [
        "data",
        "hive",
        "2026-11-28T01:00Z",
        "2026-11-28T25-00Z",
        "2026-11-28T01-00",
    ] {
        assert_eq!(report_time(other), None, "{other}");
    }
}

#[test]
fn the_report_chosen_is_the_first_begun_after_the_day_ended() {
    let folders = [
        "data",
        "2026-11-29T01-00Z",
        "2026-11-27T01-00Z",
        "2026-11-28T00-00Z",
        "hive",
        "2026-11-28T01-00Z",
    ];
    // Midnight itself: the day has ended.
    assert_eq!(
        choose_report("inv/", folders, day()).unwrap(),
        "2026-11-28T00-00Z"
    );
    let next: BackupDate = "2026-11-28".parse().unwrap();
    assert_eq!(
        choose_report("inv/", folders, next).unwrap(),
        "2026-11-29T01-00Z"
    );
}

#[test]
fn a_day_without_a_later_report_is_refused_naming_the_latest() {
    let e = choose_report("inv/", ["data", "2026-11-27T23-59Z"], day()).unwrap_err();
    assert_eq!(e.code(), "inventory_no_report");
    let text = e.to_string();
    assert!(
        text.contains("2026-11-27T23:59:00Z") && text.contains("SOURCE_INVENTORY"),
        "{text}"
    );
    let e = choose_report("inv/", ["data"], day()).unwrap_err();
    assert!(e.to_string().contains("never"), "{e}");
}

#[test]
fn a_manifest_is_read_with_its_files_and_columns() {
    let m = manifest(SCHEMA);
    assert_eq!(m.source_bucket, "landing");
    assert_eq!(m.created.to_string(), "2026-11-28T01:00:00Z");
    assert_eq!(m.files.len(), 1);
    assert_eq!(m.files[0].md5, "0123456789abcdef0123456789abcdef");
    assert_eq!(m.files[0].size, 120);
}

#[test]
fn manifests_that_cannot_plan_the_day_are_refused_with_the_fix() {
    let cases = [
        (
            manifest_json("landing", AFTER, "ORC", SCHEMA),
            "set the inventory's output format to CSV",
        ),
        (manifest_json("other", AFTER, "CSV", SCHEMA), "bucket other"),
        (
            manifest_json("landing", AFTER - 2 * 3_600_000, "CSV", SCHEMA),
            "before 2026-11-27 ended",
        ),
        (
            manifest_json("landing", AFTER, "CSV", "Bucket, Key, Size"),
            "no LastModifiedDate, ETag column",
        ),
        (
            manifest_json("landing", AFTER, "CSV", SCHEMA).replace("\"1795", "\"x1795"),
            "milliseconds",
        ),
        (
            manifest_json("landing", AFTER, "CSV", SCHEMA).replace("0123456789ABCDEF", "zz"),
            "32 hex digits",
        ),
        ("[]".to_owned(), "manifest.json S3 Inventory wrote"),
    ];
    for (json, says) in cases {
        let e =
            InventoryManifest::from_json("m.json", json.as_bytes(), &expected(ROOMY)).unwrap_err();
        assert_eq!(e.code(), "inventory_bad_manifest");
        assert!(e.to_string().contains(says), "{e} should say {says}");
    }
}

#[test]
fn a_manifest_naming_a_file_outside_the_inventorys_data_folder_is_refused() {
    let json = manifest_json("landing", AFTER, "CSV", SCHEMA);
    for other in [
        "inv/landing/daily-2/data/0a.csv.gz",
        "inv/landing/daily/data/../../secrets/0a.csv.gz",
        "inv/landing/daily/data//0a.csv.gz",
        "inv/landing/daily/2026-11-28T01-00Z/manifest.json",
        "elsewhere/0a.csv.gz",
    ] {
        let crafted = json.replace("inv/landing/daily/data/0a.csv.gz", other);
        let e = InventoryManifest::from_json("m.json", crafted.as_bytes(), &expected(ROOMY))
            .unwrap_err();
        assert_eq!(e.code(), "inventory_bad_manifest", "{other}");
        assert!(
            e.to_string().contains("outside inv/landing/daily/data/"),
            "{e}"
        );
    }
}

#[test]
fn a_report_larger_than_the_memory_allowed_is_refused_with_the_fix() {
    // A data file recorded larger than the limit is refused before it is read.
    let small = InventoryLimits {
        max_file_bytes: 119,
        max_objects: 10,
    };
    let json = manifest_json("landing", AFTER, "CSV", SCHEMA);
    let e = InventoryManifest::from_json("m.json", json.as_bytes(), &expected(small)).unwrap_err();
    assert_eq!(e.code(), "inventory_too_large");
    assert!(
        e.to_string().contains("120 bytes, more than the 119")
            && e.to_string().contains("MemorySize"),
        "{e}"
    );

    // Rows beyond the object limit (a gzip bomb of valid rows) stop the read at the limit.
    let two = InventoryLimits {
        max_file_bytes: 1 << 20,
        max_objects: 2,
    };
    let m = manifest_within("Bucket, Key, Size, LastModifiedDate, ETag", two);
    let row = |i: u32| format!("\"landing\",\"k{i}\",\"1\",\"2026-11-27T00:00:00Z\",\"ab\"\n");
    let mut out = Vec::new();
    let csv: String = (0..3).map(row).collect();
    let e = m
        .read_rows(&m.files[0], csv.as_bytes(), "", &mut out)
        .unwrap_err();
    assert_eq!(e.code(), "inventory_too_large");
    assert!(e.to_string().contains("more than 2 objects"), "{e}");
    assert_eq!(out.len(), 2, "nothing is held beyond the limit");
    // Rows outside the prefix are not held, so they do not count.
    let mut out = Vec::new();
    m.read_rows(&m.files[0], csv.as_bytes(), "k1", &mut out)
        .unwrap();
    assert_eq!(out.len(), 1);

    assert_eq!(
        InventoryLimits::within(256 << 20),
        InventoryLimits {
            max_file_bytes: 256 << 20,
            max_objects: 1 << 20
        }
    );
}

#[test]
fn rows_give_the_current_objects_under_the_prefix_with_keys_decoded() {
    let m = manifest(SCHEMA);
    let csv = concat!(
        "\"landing\",\"in/2026-11-27/a+b%2Bc.pdf\",\"v1\",\"true\",\"false\",\"10\",\"2026-11-27T09:00:01.000Z\",\"9b2cf535f27731c974343645a3985328\",\"STANDARD\"\n",
        "\"landing\",\"in/2026-11-27/old.pdf\",\"v0\",\"false\",\"false\",\"7\",\"2026-11-26T09:00:00.000Z\",\"aa\",\"STANDARD\"\n",
        "\"landing\",\"in/2026-11-27/gone.pdf\",\"v2\",\"true\",\"true\",\"\",\"2026-11-27T10:00:00.000Z\",\"\",\"\"\n",
        "\"landing\",\"in/2026-11-26/other-day.pdf\",\"v3\",\"true\",\"false\",\"5\",\"2026-11-26T10:00:00.000Z\",\"bb\",\"STANDARD\"\n",
        "\"landing\",\"in/2026-11-27/%C3%A9t%C3%A9.txt\",\"\",\"true\",\"false\",\"0\",\"2026-11-27T23:59:59.999Z\",\"d41d8cd98f00b204e9800998ecf8427e-2\",\"GLACIER\"\n",
    );
    let objects = rows(&m, csv, "in/2026-11-27/").unwrap();
    assert_eq!(
        objects,
        vec![
            InventoryObject {
                key: "in/2026-11-27/a b+c.pdf".into(),
                size: 10,
                etag: "\"9b2cf535f27731c974343645a3985328\"".into(),
                last_modified: 1_795_770_001,
            },
            InventoryObject {
                key: "in/2026-11-27/été.txt".into(),
                size: 0,
                etag: "\"d41d8cd98f00b204e9800998ecf8427e-2\"".into(),
                last_modified: 1_795_823_999,
            },
        ]
    );
}

#[test]
fn a_report_of_current_versions_only_has_no_version_columns() {
    let m = manifest("Bucket, Key, Size, LastModifiedDate, ETag");
    let objects = rows(
        &m,
        "\"landing\",\"a.txt\",\"3\",\"2026-11-27T00:00:00.000Z\",\"ab\"\n",
        "",
    )
    .unwrap();
    assert_eq!(objects.len(), 1);
    assert_eq!(objects[0].key, "a.txt");
}

#[test]
fn rows_that_cannot_be_read_are_refused_by_file_and_line() {
    let m = manifest("Bucket, Key, Size, LastModifiedDate, ETag");
    let good = "\"landing\",\"a.txt\",\"3\",\"2026-11-27T00:00:00.000Z\",\"ab\"\n";
    let cases = [
        ("\"landing\",\"b.txt\",\"3\"\n", "3 fields"),
        (
            "\"elsewhere\",\"b.txt\",\"3\",\"2026-11-27T00:00:00.000Z\",\"ab\"\n",
            "bucket \"elsewhere\"",
        ),
        (
            "\"landing\",\"b.txt\",\"-3\",\"2026-11-27T00:00:00.000Z\",\"ab\"\n",
            "not a number",
        ),
        (
            "\"landing\",\"b.txt\",\"3\",\"yesterday\",\"ab\"\n",
            "not RFC 3339",
        ),
        (
            "\"landing\",\"b.txt\",\"3\",\"2026-11-27T00:00:00.000Z\",\"\"\n",
            "ETag",
        ),
        (
            "\"landing\",\"%FF.txt\",\"3\",\"2026-11-27T00:00:00.000Z\",\"ab\"\n",
            "UTF-8",
        ),
    ];
    for (row, says) in cases {
        let e = rows(&m, &format!("{good}{row}"), "").unwrap_err();
        assert_eq!(e.code(), "inventory_bad_row");
        let text = e.to_string();
        assert!(
            text.contains("line 2") && text.contains(says),
            "{text} should say {says}"
        );
    }
    let m = manifest(SCHEMA);
    let e = rows(
        &m,
        "\"landing\",\"a\",\"v\",\"maybe\",\"false\",\"1\",\"2026-11-27T00:00:00Z\",\"ab\",\"S\"\n",
        "",
    )
    .unwrap_err();
    assert!(e.to_string().contains("IsLatest is \"maybe\""), "{e}");
    // An empty flag says nothing: not read as "not the latest", which would drop the object.
    let e = rows(
        &m,
        "\"landing\",\"a\",\"v\",\"\",\"false\",\"1\",\"2026-11-27T00:00:00Z\",\"ab\",\"S\"\n",
        "",
    )
    .unwrap_err();
    assert!(e.to_string().contains("IsLatest is \"\""), "{e}");
    // A hostile field is quoted in part only.
    let e = rows(
        &m,
        &format!(
            "\"landing\",\"a\",\"v\",\"{}\",\"false\",\"1\",\"2026-11-27T00:00:00Z\",\"ab\",\"S\"\n",
            "y".repeat(100_000)
        ),
        "",
    )
    .unwrap_err();
    assert!(e.to_string().len() < 1_000, "{} bytes", e.to_string().len());
}

#[test]
fn a_line_longer_than_the_limit_is_refused_not_buffered() {
    let m = manifest("Bucket, Key, Size, LastModifiedDate, ETag");
    let long = "x".repeat(MAX_LINE_BYTES + 1);
    let e = rows(&m, &long, "").unwrap_err();
    assert!(e.to_string().contains("longer than"), "{e}");
    // An unclosed quote followed by many short lines is one row, and as long.
    let quoted = format!("\"landing\",\"{}", "x\n".repeat(MAX_LINE_BYTES / 2 + 1));
    let e = rows(&m, &quoted, "").unwrap_err();
    assert!(e.to_string().contains("longer than"), "{e}");
    // A line break inside a quoted field is part of its row, which is read.
    let objects = rows(
        &m,
        "\"landing\",\"a%0Ab\",\"1\",\"2026-11-27T00:00:00Z\",\"ab\"\n\"landing\",\"c\nd\",\"1\",\"2026-11-27T00:00:00Z\",\"ab\"\n",
        "",
    )
    .unwrap();
    assert_eq!(objects[1].key, "c\nd");
}

#[test]
fn a_file_read_is_checked_against_the_manifest() {
    let file = manifest(SCHEMA).files.remove(0);
    file.check(120, "0123456789ABCDEF0123456789ABCDEF").unwrap();
    let e = file
        .check(119, "0123456789abcdef0123456789abcdef")
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("119 bytes, the manifest records 120"),
        "{e}"
    );
    let e = file
        .check(120, "ffffffffffffffffffffffffffffffff")
        .unwrap_err();
    assert_eq!(e.code(), "inventory_file_altered");
}

#[test]
fn the_listing_is_sorted_and_a_key_listed_twice_is_refused() {
    let object = |key: &str| InventoryObject {
        key: key.into(),
        size: 1,
        etag: "\"e\"".into(),
        last_modified: 0,
    };
    let sorted = finish(vec![object("b"), object("a"), object("c")]).unwrap();
    let keys: Vec<&str> = sorted.iter().map(|o| o.key.as_str()).collect();
    assert_eq!(keys, ["a", "b", "c"]);
    let e = finish(vec![object("b"), object("a"), object("b")]).unwrap_err();
    assert_eq!(e, InventoryError::Duplicate { key: "b".into() });
}

proptest! {
    /// Any bytes as a report file: rows or an error, never a panic.
    #[test]
    fn any_file_reads_or_is_refused(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let m = manifest("Bucket, Key, Size, LastModifiedDate, ETag");
        let mut out = Vec::new();
        let _ = m.read_rows(&m.files[0], bytes.as_slice(), "", &mut out);
    }

    /// A key encoded as a CSV report encodes it (form encoding) decodes to itself.
    #[test]
    fn encoded_keys_decode_to_themselves(key in "\\PC{1,40}") {
        let encoded: String = key
            .bytes()
            .map(|b| match b {
                b' ' => "+".to_owned(),
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'/' => {
                    char::from(b).to_string()
                }
                b => format!("%{b:02X}"),
            })
            .collect();
        prop_assert_eq!(decode_key(&encoded).unwrap(), key);
    }
}
