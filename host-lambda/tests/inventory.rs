//! A day's S3 source listed from its S3 Inventory report (`SOURCE_INVENTORY`) against
//! in-memory stores: the reports are written as S3 writes them (gzipped CSV under `data/`,
//! `manifest.json` with each file's size and MD5, `manifest.checksum`), and a day is backed up
//! and planned from the one report that covers it, as from a listing; a report not there yet,
//! altered or of another bucket stops the run before anything is written. (The packaged
//! `bootstrap` reads a report from s3s-fs in `tests/e2e`.)

use std::io::Write;

use docvault_core::Manifest;
use docvault_lambda::config::DocumentSource;
use docvault_lambda::source::{SourceOptions, SourceStores, list_objects};
use docvault_lambda::{App, HandlerError, handle};
use docvault_s3::memory::MemoryStore;
use docvault_s3::store::ObjectStore;
use flate2::Compression;
use flate2::write::GzEncoder;
use md5::{Digest, Md5};
use serde_json::{Value, json};

mod common;
use common::{Metrics, invocation};

const DATE: &str = "2026-11-27";
const MANIFEST: &str = "backups/2026-11-27/manifest.json";
const FOLDER: &str = "inv/landing/daily/";
const SCHEMA: &str = "Bucket, Key, VersionId, IsLatest, IsDeleteMarker, Size, \
                      LastModifiedDate, ETag, StorageClass";
/// When the source objects were last modified, as the report records it.
const MODIFIED: &str = "2026-11-27T09:30:00.000Z";

fn app_with(vars: &[(&str, &str)], store: &MemoryStore) -> (App<MemoryStore>, Metrics) {
    let (mut app, metrics) = common::app(
        &[("DOCUMENT_SOURCE", "s3://landing/scans/{date}/")],
        vars,
        store.clone(),
    );
    if let DocumentSource::S3(options) = &app.config.source {
        app.inventory = options.inventory.as_ref().map(|_| store.clone());
    }
    (app, metrics)
}

fn with_inventory(store: &MemoryStore) -> (App<MemoryStore>, Metrics) {
    app_with(
        &[("SOURCE_INVENTORY", "s3://inventories/inv/landing/daily/")],
        store,
    )
}

async fn invoke(app: &App<MemoryStore>, event: Value) -> Result<Value, HandlerError> {
    handle(app, &event, &invocation("req-1")).await
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A key as S3 Inventory writes it in CSV: URL-encoded, a space as `+`.
fn encode(key: &str) -> String {
    key.bytes()
        .map(|b| match b {
            b' ' => "+".to_owned(),
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A CSV row of the report: `(key, size, etag without quotes, is latest, is delete marker)`.
fn row(bucket: &str, key: &str, size: u64, etag: &str, latest: bool, deleted: bool) -> String {
    format!(
        "\"{bucket}\",\"{}\",\"v1\",\"{latest}\",\"{deleted}\",\"{size}\",\"{MODIFIED}\",\
         \"{etag}\",\"STANDARD\"\n",
        encode(key)
    )
}

/// The rows S3 would write for the current objects of `store` under `scans/`, with an older
/// version and a delete marker that a backup must skip.
async fn rows_of(store: &MemoryStore) -> String {
    let mut csv = String::new();
    for object in store.list("scans/").await.unwrap() {
        let etag = object.etag.unwrap().trim_matches('"').to_owned();
        csv += &row("landing", &object.key, object.size, &etag, true, false);
    }
    csv += &row(
        "landing",
        "scans/2026-11-27/hr/old.txt",
        3,
        "e0ld",
        false,
        false,
    );
    csv += &row(
        "landing",
        "scans/2026-11-27/hr/removed.txt",
        0,
        "e0ff",
        true,
        true,
    );
    csv
}

fn gzip(text: &str) -> Vec<u8> {
    let mut gz = GzEncoder::new(Vec::new(), Compression::default());
    gz.write_all(text.as_bytes()).unwrap();
    gz.finish().unwrap()
}

/// Publishes a report begun at `begun` (`YYYY-MM-DDTHH-MMZ`) holding `csv`, as S3 does: the
/// data file, then `manifest.json`, then `manifest.checksum`. The data file is two gzip
/// members (its first line, then the rest), which a reader of the first member alone would
/// cut short.
fn publish(store: &MemoryStore, begun: &str, created_ms: i64, bucket: &str, csv: &str) {
    let split = csv.find('\n').map_or(csv.len(), |i| i + 1);
    let mut data = gzip(&csv[..split]);
    data.extend(gzip(&csv[split..]));
    let data_key = format!("{FOLDER}data/{begun}.csv.gz");
    store.land(&data_key, &data);
    let manifest = json!({
        "sourceBucket": bucket,
        "destinationBucket": "arn:aws:s3:::inventories",
        "version": "2016-11-30",
        "creationTimestamp": created_ms.to_string(),
        "fileFormat": "CSV",
        "fileSchema": SCHEMA,
        "files": [{"key": data_key, "size": data.len(), "MD5checksum": hex(&Md5::digest(&data))}]
    })
    .to_string();
    let folder = format!("{FOLDER}{begun}/");
    store.land(&format!("{folder}manifest.json"), manifest.as_bytes());
    store.land(
        &format!("{folder}manifest.checksum"),
        hex(&Md5::digest(manifest.as_bytes())).as_bytes(),
    );
}

/// Milliseconds since the epoch of 2026-11-27T01:00Z (before the day ended),
/// 2026-11-28T01:00Z and 2026-11-29T01:00Z.
const BEFORE_END: i64 = 1_795_741_200_000;
const AFTER_END: i64 = BEFORE_END + 86_400_000;
const NEXT_DAY: i64 = AFTER_END + 86_400_000;

/// A landing bucket for the day: keys with a space and a `+`, a folder marker, another day.
fn landing() -> MemoryStore {
    let store = MemoryStore::new();
    store.land("scans/2026-11-27/finance/q4 report.pdf", b"invoice bytes");
    store.land("scans/2026-11-27/finance/a+b.pdf", b"a plus b");
    store.land("scans/2026-11-27/hr/", b"");
    store.land("scans/2026-11-27/hr/contract.docx", b"contract");
    store.land("scans/2026-11-26/ops/old.txt", b"another day");
    store
}

#[tokio::test]
async fn a_day_is_backed_up_and_planned_from_the_report_that_covers_it() {
    let store = landing();
    let csv = rows_of(&store).await;
    // A report begun before the day ended misses the day's later documents; one begun the day
    // after lists a document that arrived since (and is not there to read): neither is used.
    publish(&store, "2026-11-27T01-00Z", BEFORE_END, "landing", "");
    publish(&store, "2026-11-28T01-00Z", AFTER_END, "landing", &csv);
    let later = csv.clone()
        + &row(
            "landing",
            "scans/2026-11-27/late.pdf",
            4,
            "e99",
            true,
            false,
        );
    publish(&store, "2026-11-29T01-00Z", NEXT_DAY, "landing", &later);

    let (app, _) = with_inventory(&store);
    let date = DATE.parse().unwrap();
    let options = match &app.config.source {
        DocumentSource::S3(options) => options.clone(),
        other => panic!("an S3 source is configured, not {other:?}"),
    };
    let from_report = list_objects(
        SourceStores {
            source: &store,
            inventory: Some(&store),
        },
        &options,
        date,
    )
    .await
    .unwrap();
    let plain = SourceOptions {
        inventory: None,
        ..options.clone()
    };
    let from_listing = list_objects(
        SourceStores {
            source: &store,
            inventory: None,
        },
        &plain,
        date,
    )
    .await
    .unwrap();
    let modified = MODIFIED
        .parse::<docvault_core::Timestamp>()
        .unwrap()
        .unix_seconds();
    assert_eq!(from_report.len(), 3, "{from_report:?}");
    for (report, listing) in from_report.iter().zip(&from_listing) {
        assert_eq!(
            (&report.key, report.size, &report.etag),
            (&listing.key, listing.size, &listing.etag)
        );
        assert_eq!(report.last_modified, Some(modified));
    }
    assert_eq!(from_report.len(), from_listing.len());

    // The scale-out plan lists the same three documents.
    let plan = invoke(&app, json!({"action": "plan", "date": DATE}))
        .await
        .unwrap();
    assert_eq!(plan["documents"], 3, "{plan}");

    let done = invoke(&app, json!({"date": DATE})).await.unwrap();
    assert_eq!(done["uploaded"], 3, "{done}");
    let manifest = {
        let objects = store.objects();
        Manifest::from_json(std::str::from_utf8(&objects[MANIFEST].body).unwrap()).unwrap()
    };
    let ids: Vec<&str> = manifest
        .documents
        .iter()
        .map(|d| d.document_id.as_str())
        .collect();
    assert_eq!(
        ids,
        [
            "finance/a+b.pdf",
            "finance/q4 report.pdf",
            "hr/contract.docx"
        ]
    );
    assert!(
        manifest
            .documents
            .iter()
            .all(|d| d.created_date.to_string() == "2026-11-27T09:30:00Z"),
        "the created date is the report's LastModifiedDate"
    );
}

/// Whether the run wrote anything into the backup area.
fn backed_up(store: &MemoryStore) -> bool {
    store.writes().iter().any(|k| k.starts_with("backups/"))
}

#[tokio::test]
async fn a_report_not_there_yet_altered_or_of_another_bucket_stops_the_run_unwritten() {
    let store = landing();
    let csv = rows_of(&store).await;
    publish(&store, "2026-11-27T01-00Z", BEFORE_END, "landing", &csv);
    let (app, metrics) = with_inventory(&store);

    // Only a report begun before the day ended: wait for the next one.
    let e = invoke(&app, json!({"date": DATE})).await.unwrap_err();
    assert_eq!(e.error_type(), "Fatal.InventoryNotReady", "{e}");
    assert!(e.to_string().contains("wait for the next report"), "{e}");
    assert_eq!(metrics.lock().unwrap()[0].value("BackupFailure"), Some(1));

    // The covering report is being written: its checksum is not there yet.
    publish(&store, "2026-11-28T01-00Z", AFTER_END, "landing", &csv);
    let checksum = format!("{FOLDER}2026-11-28T01-00Z/manifest.checksum");
    let saved = store.objects().remove(&checksum).unwrap();
    let e = invoke(&app, json!({"action": "plan", "date": DATE}))
        .await
        .unwrap_err();
    assert_eq!(e.error_type(), "Fatal.InventoryNotReady", "{e}");
    assert!(e.to_string().contains("manifest.checksum"), "{e}");
    store.objects().insert(checksum, saved);

    // A data file removed after the manifest was written: the report is damaged.
    let data = format!("{FOLDER}data/2026-11-28T01-00Z.csv.gz");
    let saved = store.objects().remove(&data).unwrap();
    let e = invoke(&app, json!({"date": DATE})).await.unwrap_err();
    assert_eq!(
        e.error_type(),
        "Fatal.Inventory",
        "S3 writes the data files first: one missing was removed, waiting will not help: {e}"
    );
    assert!(e.to_string().contains("it is missing"), "{e}");
    store.objects().insert(data.clone(), saved);

    // A data file replaced after the manifest recorded it: refused, not read.
    let replaced = row("landing", "scans/2026-11-27/x.pdf", 1, "e1", true, false);
    store.land(&data, &gzip(&replaced));
    let e = invoke(&app, json!({"date": DATE})).await.unwrap_err();
    assert_eq!(e.error_type(), "Fatal.Inventory", "{e}");
    assert!(
        e.to_string().contains("not the one its manifest records"),
        "{e}"
    );

    // A report of another bucket (a misconfigured SOURCE_INVENTORY).
    publish(&store, "2026-11-28T01-00Z", AFTER_END, "elsewhere", &csv);
    let e = invoke(&app, json!({"date": DATE})).await.unwrap_err();
    assert_eq!(e.error_type(), "Fatal.Inventory", "{e}");
    assert!(e.to_string().contains("elsewhere"), "{e}");

    assert!(
        !backed_up(&store),
        "nothing is written for a day not listed"
    );
    assert!(store.objects().get(MANIFEST).is_none());
}
