//! The Lambda's handler and its S3 source against in-memory stores: typed events, the day's
//! rules, empty days, restore targets, the fix each refusal names, and every object of a source
//! accounted for. (The packaged `bootstrap` runs against moto and s3s-fs in `tests/e2e`.)

use std::collections::BTreeMap;

use bytes::Bytes;
use docvault_core::{
    Encryption, FailedDocument, FailureStage, KeyPrefix, Label, Manifest, ManifestHeader,
    PlanOptions, Sha256Digest, SourceDescription,
};
use docvault_lambda::config::Config;
use docvault_lambda::error::Reported;
use docvault_lambda::source::{SourceOptions, SourceStores, list_documents};
use docvault_lambda::{App, HandlerError, handle};
use docvault_s3::executor::{BackupError, BackupOutcome, ExecuteOptions, SystemClock, execute};
use docvault_s3::lease::LeaseTerms;
use docvault_s3::memory::MemoryStore;
use docvault_s3::metrics::MetricsSink;
use serde_json::{Value, json};

const DATE: &str = "2026-11-27";
const MANIFEST: &str = "backups/2026-11-27/manifest.json";

mod common;
use common::{Metrics, invocation};

fn app_with(vars: &[(&str, &str)], store: MemoryStore) -> (App<MemoryStore>, Metrics) {
    common::app(&[("DOCUMENT_COUNT", "12")], vars, store)
}

async fn invoke(app: &App<MemoryStore>, event: Value) -> Result<Value, HandlerError> {
    handle(app, &event, &invocation("req-1")).await
}

fn manifest_in(store: &MemoryStore) -> Option<Manifest> {
    let objects = store.objects();
    let body = &objects.get(MANIFEST)?.body;
    Some(Manifest::from_json(std::str::from_utf8(body).unwrap()).unwrap())
}

#[tokio::test]
async fn the_scheduled_event_backs_up_the_day_that_ended() {
    let store = MemoryStore::new();
    let (app, metrics) = app_with(&[], store.clone());
    let scheduled = json!({"version": "0", "id": "1", "detail-type": "Scheduled Event",
        "source": "aws.events", "account": "123456789012", "time": "2026-11-28T02:00:00Z",
        "region": "us-east-1", "resources": [], "detail": {}});
    let response = invoke(&app, scheduled).await.unwrap();
    assert_eq!(response["backup_date"], DATE);
    assert_eq!(response["uploaded"], 12);
    assert_eq!(manifest_in(&store).unwrap().total_documents, 12);
    let sent = metrics.lock().unwrap();
    assert_eq!(sent[0].value("BackupSuccess"), Some(1));
    assert_eq!(sent[0].value("DocumentsBackedUp"), Some(12));
}

#[tokio::test]
async fn a_day_that_has_not_ended_is_not_sealed_unless_forced() {
    let store = MemoryStore::new();
    let (app, metrics) = app_with(&[], store.clone());
    let e = invoke(&app, json!({"date": "2026-11-28"}))
        .await
        .unwrap_err();
    assert_eq!(e.error_type(), "Fatal.BadEvent");
    assert!(e.to_string().contains("has not ended"), "{e}");
    assert!(store.objects().is_empty(), "nothing written");
    assert_eq!(metrics.lock().unwrap()[0].value("BackupFailure"), Some(1));
    let forced = invoke(&app, json!({"date": "2026-11-28", "force": true}))
        .await
        .unwrap();
    assert_eq!(forced["backup_date"], "2026-11-28");
}

#[tokio::test]
async fn bad_events_are_refused_and_still_counted() {
    let (app, metrics) = app_with(&[], MemoryStore::new());
    for (event, needle) in [
        (json!({"action": 5}), "\"verify\""),
        (json!([]), "not a JSON object"),
        (
            json!({"date": "2026-11-27", "dryrun": true}),
            "unknown field `dryrun`",
        ),
        (json!({"date": "0000-01-01", "force": true}), "before 1970"),
    ] {
        let e = invoke(&app, event.clone()).await.unwrap_err();
        assert_eq!(e.error_type(), "Fatal.BadEvent", "{event}");
        assert!(e.to_string().contains(needle), "{event}: {e}");
    }
    // A verify event whose time is year 10000 in UTC: refused, no panic, the alarm's metric sent.
    metrics.lock().unwrap().clear();
    let e = invoke(
        &app,
        json!({"action": "verify", "time": "9999-12-31T23:59:59-23:59"}),
    )
    .await
    .unwrap_err();
    assert_eq!(e.error_type(), "Fatal.BadEvent");
    assert_eq!(
        metrics.lock().unwrap()[0].value("VerificationFailures"),
        Some(1)
    );
}

#[tokio::test]
async fn an_empty_source_day_is_reported_not_sealed() {
    let store = MemoryStore::new();
    store.land("scans/2026-11-26/finance/a.pdf", b"another day");
    let source = [("DOCUMENT_SOURCE", "s3://landing/scans/{date}/")];
    let (app, metrics) = app_with(&source, store.clone());
    let e = invoke(&app, json!({"date": DATE})).await.unwrap_err();
    assert_eq!(e.error_type(), "Retryable.EmptySource");
    assert!(e.to_string().contains("ALLOW_EMPTY_DAYS=true"), "{e}");
    assert!(manifest_in(&store).is_none(), "the day is not sealed");
    assert_eq!(metrics.lock().unwrap()[0].value("BackupFailure"), Some(1));

    // Documents land later: the day is backed up with them.
    store.land("scans/2026-11-27/finance/late.pdf", b"late");
    invoke(&app, json!({"date": DATE})).await.unwrap();
    assert_eq!(manifest_in(&store).unwrap().total_documents, 1);

    // Where empty days are normal, one is committed as such.
    let store = MemoryStore::new();
    let allowed = [source[0], ("ALLOW_EMPTY_DAYS", "true")];
    let (app, _) = app_with(&allowed, store.clone());
    invoke(&app, json!({"date": DATE})).await.unwrap();
    assert_eq!(manifest_in(&store).unwrap().total_documents, 0);
}

#[tokio::test]
async fn a_restore_never_writes_into_or_over_the_backup_area() {
    let store = MemoryStore::new();
    let (app, _) = app_with(&[("BACKUP_PREFIX", "site-a/")], store.clone());
    invoke(&app, json!({"date": DATE})).await.unwrap();
    let before: Vec<String> = store.objects().keys().cloned().collect();
    // `site-a/` above `site-a/backups/`: a restored `backups/...` key would land on a real one.
    for to_prefix in ["site-a/", "", "site-a/backups/2026-11-28/", "a/../b/"] {
        let e = invoke(
            &app,
            json!({"action": "restore", "date": DATE, "to_prefix": to_prefix}),
        )
        .await
        .unwrap_err();
        assert_eq!(e.error_type(), "Fatal.NotRestorable", "{to_prefix}: {e}");
    }
    let after: Vec<String> = store.objects().keys().cloned().collect();
    assert_eq!(before, after, "nothing was written");
    let ok = invoke(
        &app,
        json!({"action": "restore", "date": DATE, "to_prefix": "site-a/restores/r1"}),
    )
    .await
    .unwrap();
    assert_eq!(ok["restored"], 12);
    assert_eq!(ok["to_prefix"], "site-a/restores/r1/");
}

#[tokio::test]
async fn a_restore_from_a_manifest_with_an_unsafe_key_writes_nothing() {
    let store = MemoryStore::new();
    let (app, _) = app_with(&[], store.clone());
    invoke(&app, json!({"date": DATE})).await.unwrap();
    // A forged manifest whose key climbs out of the day.
    let mut m = manifest_in(&store).unwrap();
    m.documents[0].object_key =
        "backups/2026-11-27/documents/../../2026-11-28/manifest.json".into();
    store.objects().get_mut(MANIFEST).unwrap().body = Bytes::from(serde_json::to_vec(&m).unwrap());
    let before = store.objects().len();
    let e = invoke(
        &app,
        json!({"action": "restore", "date": DATE, "to_prefix": "restores/x/"}),
    )
    .await
    .unwrap_err();
    assert_eq!(e.error_type(), "Fatal.NotRestorable", "{e}");
    assert_eq!(store.objects().len(), before);
}

#[tokio::test]
async fn a_manifest_that_is_not_utf8_is_refused_not_repaired() {
    let store = MemoryStore::new();
    let (app, _) = app_with(&[], store.clone());
    invoke(&app, json!({"date": DATE})).await.unwrap();
    let mut body = store.objects()[MANIFEST].body.to_vec();
    body.push(0xff);
    store.objects().get_mut(MANIFEST).unwrap().body = Bytes::from(body);
    for event in [
        json!({"action": "verify", "date": DATE}),
        json!({"action": "restore", "date": DATE, "to_prefix": "restores/y/"}),
        json!({"date": DATE}),
    ] {
        let e = invoke(&app, event.clone()).await.unwrap_err();
        assert!(e.to_string().contains("not UTF-8"), "{event}: {e}");
    }
}

#[tokio::test]
async fn a_manifest_larger_than_the_memory_allows_is_refused_unread_with_the_fix() {
    let store = MemoryStore::new();
    let (app, _) = app_with(&[("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")], store.clone());
    invoke(&app, json!({"date": DATE})).await.unwrap();
    // 128 MB of memory loads manifests up to 32 MiB.
    store.objects().get_mut(MANIFEST).unwrap().body = Bytes::from(vec![b' '; 33 << 20]);
    for event in [
        json!({"action": "verify", "date": DATE}),
        json!({"action": "restore", "date": DATE, "to_prefix": "restores/y/"}),
        json!({"date": DATE}),
    ] {
        let e = invoke(&app, event.clone()).await.unwrap_err();
        assert_eq!(e.error_type(), "Fatal.ManifestTooLarge", "{event}: {e}");
        let reported = Reported(&e).to_string();
        assert!(
            reported.contains("more than the 33554432 bytes")
                && reported.contains("LambdaMemorySize"),
            "{event}: {reported}"
        );
    }
}

/// S3's refusals, through the real S3 client, name the fix in this function's terms.
#[tokio::test]
async fn refusals_name_the_variable_or_grant_to_fix() {
    use aws_sdk_s3::Client;
    use aws_sdk_s3::error::ErrorMetadata;
    use aws_sdk_s3::operation::get_object::GetObjectError;
    use aws_sdk_s3::operation::put_object::PutObjectError;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use docvault_s3::store::S3Store;

    for (code, needle) in [
        ("KMS.NotFoundException", "KMS_KEY_ID"),
        ("AccessDenied", "s3:PutObject"),
        ("NoSuchBucket", "BACKUP_BUCKET"),
    ] {
        let get = mock!(Client::get_object).then_error(move || {
            GetObjectError::generic(ErrorMetadata::builder().code(code).message("no").build())
        });
        // The incomplete-run report is refused too.
        let put = mock!(Client::put_object).then_error(move || {
            PutObjectError::generic(ErrorMetadata::builder().code(code).message("no").build())
        });
        let client = mock_client!(aws_sdk_s3, RuleMode::MatchAny, [&get, &put]);
        let mut all: BTreeMap<String, String> = BTreeMap::new();
        all.insert("BACKUP_BUCKET".into(), "docvault-backups".into());
        all.insert("ENVIRONMENT".into(), "dev".into());
        all.insert("KMS_KEY_ID".into(), "none".into());
        let config = Config::from_lookup(|k| all.get(k).cloned()).unwrap();
        let app = App {
            config,
            store: S3Store::new(client, "docvault-backups"),
            metrics: MetricsSink::Memory(Metrics::default()),
            source: None,
            inventory: None,
            restore_target: None,
            key_check: None,
        };
        let e = handle(&app, &json!({"date": DATE}), &invocation("r"))
            .await
            .unwrap_err();
        assert_eq!(e.error_type(), "Fatal.StoreRefused", "{code}: {e}");
        assert!(
            Reported(&e).to_string().contains(needle),
            "{code}: {}",
            Reported(&e)
        );
    }
}

async fn backup_from(
    source: &MemoryStore,
    backups: &MemoryStore,
    buffer_limit: u64,
    before_run: impl FnOnce(),
) -> Result<BackupOutcome, BackupError> {
    let date = DATE.parse().unwrap();
    let at = "2026-11-27T02:00:00Z".parse().unwrap();
    let options = SourceOptions {
        bucket: "landing".into(),
        prefix: "scans/{date}/".into(),
        buffer_limit,
        multipart_threshold: docvault_s3::split::DEFAULT_MULTIPART_THRESHOLD,
        part_size: docvault_s3::split::DEFAULT_PART_SIZE,
        inventory: None,
    };
    let stores = SourceStores {
        source,
        inventory: None,
    };
    let documents = list_documents(stores, &options, date, at).await.unwrap();
    before_run();
    let header = ManifestHeader {
        backup_date: date,
        backup_timestamp: at,
        environment: Label::new("dev").unwrap(),
        run_id: Some("test-run".into()),
        source: SourceDescription::S3 {
            uri: options.uri_for(date),
        },
    };
    let plan = PlanOptions {
        prefix: KeyPrefix::ROOT,
        environment: Label::new("dev").unwrap(),
        encryption: Encryption::None,
        retention: None,
    };
    let exec = ExecuteOptions {
        concurrency: 4,
        max_attempts: 1,
        manifest_limit: 1 << 30,
        lease: LeaseTerms {
            seconds: 60,
            renew: false,
            retry_takes_over: true,
        },
    };
    execute(backups, header, plan, documents, &exec, &SystemClock).await
}

#[tokio::test]
async fn an_s3_source_is_read_hashed_and_every_object_accounted_for() {
    let source = MemoryStore::new();
    let big = vec![7u8; 5000];
    source.land("scans/2026-11-27/finance/q4.pdf", b"invoice bytes");
    source.land("scans/2026-11-27/hr/", b""); // a folder marker
    source.land("scans/2026-11-27/hr/big.tiff", &big);
    source.land("scans/2026-11-27/hr/gone.txt", b"deleted after listing");
    source.land("scans/2026-11-27/bad//name.txt", b"not a document id");
    source.land("scans/2026-11-27/ops/log.txt", b"first version");
    source.land("scans/2026-11-26/finance/old.pdf", b"another day");
    let backups = MemoryStore::new();

    // Bodies above 1,000 bytes are not held: `big.tiff` is streamed again for its upload.
    let outcome = backup_from(&source, &backups, 1000, || {
        source.objects().remove("scans/2026-11-27/hr/gone.txt");
        source.land("scans/2026-11-27/ops/log.txt", b"second version");
    })
    .await
    .unwrap();
    let BackupOutcome::Incomplete { manifest, .. } = outcome else {
        panic!("three objects could not be backed up: the run must be incomplete");
    };
    let ids: Vec<&str> = manifest
        .documents
        .iter()
        .map(|d| d.document_id.as_str())
        .collect();
    assert_eq!(ids, ["finance/q4.pdf", "hr/big.tiff"]);
    let big_doc = &manifest.documents[1];
    assert_eq!(big_doc.checksum, Sha256Digest::of(&big));
    assert_eq!(big_doc.file_size, 5000);
    assert_eq!(big_doc.doc_type.as_str(), "tiff");
    assert_eq!(big_doc.metadata.department.as_str(), "hr");
    assert_eq!(
        big_doc.source.as_deref(),
        Some("s3://landing/scans/2026-11-27/hr/big.tiff")
    );
    assert_eq!(
        backups.objects()[&big_doc.object_key].body,
        Bytes::from(big.clone())
    );
    let failed: BTreeMap<&str, &FailedDocument> = manifest
        .failed_documents
        .iter()
        .map(|f| (f.document_id.as_str(), f))
        .collect();
    assert_eq!(failed.len(), 3, "{failed:?}");
    assert!(
        failed["ops/log.txt"]
            .reason
            .contains("replaced after it was listed"),
        "read exactly the version listed, or nothing"
    );
    assert!(
        failed["hr/gone.txt"]
            .reason
            .contains("deleted after it was listed")
    );
    assert_eq!(failed["hr/gone.txt"].stage, FailureStage::Read);
    assert!(
        failed["bad//name.txt"]
            .reason
            .contains("not a valid document id")
    );
    assert!(
        manifest_in(&backups).is_none(),
        "no manifest for an incomplete day"
    );

    // The business system fixes both; the rerun completes the day, keeping what is stored.
    source.land("scans/2026-11-27/hr/gone.txt", b"back again");
    source.objects().remove("scans/2026-11-27/bad//name.txt");
    let outcome = backup_from(&source, &backups, 1000, || {}).await.unwrap();
    let BackupOutcome::Completed {
        manifest, transfer, ..
    } = outcome
    else {
        panic!("the rerun completes the day");
    };
    assert_eq!(manifest.total_documents, 4);
    assert_eq!((transfer.uploaded, transfer.already_stored), (2, 2));
    assert_eq!(
        manifest.backup_summary.total_size_bytes,
        13 + 5000 + 10 + 14
    );
}
