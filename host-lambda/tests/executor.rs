//! The executor against an in-memory store that can fail at any point: commit order,
//! idempotency, crash consistency and failure accounting, without AWS.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use aws_sdk_s3::primitives::ByteStream;
use bytes::Bytes;
use docvault_core::{
    BackupStatus, Encryption, FailedDocument, FailureStage, Generator, GeneratorSpec, Label,
    Manifest, ManifestHeader, ObjectPut, PlanOptions, Sha256Digest, SourceDescription,
};
use docvault_lambda::executor::{BackupError, BackupOutcome, ExecuteOptions, Incoming, execute};
use docvault_lambda::source::{SourceOptions, list_documents};
use docvault_lambda::store::{ListedObject, ObjectInfo, ObjectStore, StoreError};

#[derive(Debug, Clone)]
struct Stored {
    body: Bytes,
    put: ObjectPut,
}

/// A store that checks checksums like S3, honours `If-None-Match`, logs every write, and fails
/// as told.
#[derive(Debug, Clone, Default)]
struct MemStore {
    objects: Arc<Mutex<BTreeMap<String, Stored>>>,
    writes: Arc<Mutex<Vec<String>>>,
    /// Writes accepted before every further write fails fatally (a crash, a revoked permission).
    fatal_after: Option<usize>,
    accepted: Arc<AtomicUsize>,
    /// Keys whose writes always fail with a transient error (after the SDK's retries).
    flaky: Arc<Mutex<Vec<String>>>,
    /// Flip a byte of bodies in flight for these keys (the store must refuse them).
    corrupt: Arc<Mutex<Vec<String>>>,
}

impl ObjectStore for MemStore {
    async fn put(&self, put: &ObjectPut, mut body: Bytes) -> Result<(), StoreError> {
        if let Some(limit) = self.fatal_after
            && self.accepted.load(Ordering::SeqCst) >= limit
        {
            return Err(StoreError::Fatal {
                code: "AccessDenied".into(),
                message: "injected".into(),
                fix: "test",
            });
        }
        if self
            .flaky
            .lock()
            .unwrap()
            .iter()
            .any(|k| put.key.ends_with(k.as_str()))
        {
            return Err(StoreError::Transient("SlowDown: injected".into()));
        }
        if self
            .corrupt
            .lock()
            .unwrap()
            .iter()
            .any(|k| put.key.ends_with(k.as_str()))
        {
            let mut v = body.to_vec();
            v[0] ^= 0xff;
            body = Bytes::from(v);
        }
        if Sha256Digest::of(&body).to_base64() != put.checksum_sha256 {
            return Err(StoreError::ChecksumMismatch(
                "BadDigest: injected corruption".into(),
            ));
        }
        let mut objects = self.objects.lock().unwrap();
        if put.if_none_match && objects.contains_key(&put.key) {
            return Err(StoreError::PreconditionFailed);
        }
        objects.insert(
            put.key.clone(),
            Stored {
                body,
                put: put.clone(),
            },
        );
        self.accepted.fetch_add(1, Ordering::SeqCst);
        self.writes.lock().unwrap().push(put.key.clone());
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<Option<Bytes>, StoreError> {
        Ok(self
            .objects
            .lock()
            .unwrap()
            .get(key)
            .map(|s| s.body.clone()))
    }

    async fn list(&self, prefix: &str) -> Result<Vec<ListedObject>, StoreError> {
        Ok(self
            .objects
            .lock()
            .unwrap()
            .range(prefix.to_owned()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, v)| ListedObject {
                key: k.clone(),
                size: v.body.len() as u64,
                etag: Some(v.put.checksum_sha256.clone()),
                last_modified: None,
            })
            .collect())
    }

    async fn get_stream(
        &self,
        key: &str,
        if_match: Option<&str>,
    ) -> Result<Option<ByteStream>, StoreError> {
        let objects = self.objects.lock().unwrap();
        let Some(stored) = objects.get(key) else {
            return Ok(None);
        };
        if if_match.is_some_and(|etag| etag != stored.put.checksum_sha256) {
            return Err(StoreError::PreconditionFailed);
        }
        Ok(Some(ByteStream::from(stored.body.clone())))
    }

    async fn head(&self, key: &str) -> Result<Option<ObjectInfo>, StoreError> {
        Ok(self.objects.lock().unwrap().get(key).map(|s| ObjectInfo {
            size: s.body.len() as u64,
            checksum: Sha256Digest::from_base64(&s.put.checksum_sha256),
            checksum_parts: None,
            encryption: match &s.put.encryption {
                Encryption::Kms { .. } => Some("aws:kms".into()),
                Encryption::None => None,
            },
            kms_key_id: match &s.put.encryption {
                Encryption::Kms { key_id } => key_id.clone(),
                Encryption::None => None,
            },
        }))
    }
}

const DATE: &str = "2026-11-27";
const MANIFEST: &str = "backups/2026-11-27/manifest.json";

async fn backup(store: &MemStore, count: u64) -> Result<BackupOutcome, BackupError> {
    let date = DATE.parse().unwrap();
    let header = ManifestHeader {
        backup_date: date,
        backup_timestamp: "2026-11-27T02:00:00Z".parse().unwrap(),
        environment: Label::new("dev").unwrap(),
        run_id: Some("test-run".into()),
        source: SourceDescription::Generator { count, seed: 0 },
    };
    let options = PlanOptions::new(
        "",
        Label::new("dev").unwrap(),
        Encryption::Kms {
            key_id: Some("arn:aws:kms:us-east-1:123456789012:key/k1".into()),
        },
    )
    .unwrap();
    let docs = Generator::new(GeneratorSpec {
        date,
        count,
        seed: 0,
    });
    execute(
        store,
        header,
        options,
        docs,
        &ExecuteOptions {
            concurrency: 8,
            max_attempts: 4,
        },
    )
    .await
}

fn manifest_in(store: &MemStore) -> Option<Manifest> {
    let objects = store.objects.lock().unwrap();
    let body = &objects.get(MANIFEST)?.body;
    Some(Manifest::from_json(std::str::from_utf8(body).unwrap()).unwrap())
}

#[tokio::test]
async fn stores_every_document_then_commits_the_manifest_last() {
    let store = MemStore::default();
    let outcome = backup(&store, 200).await.unwrap();
    let BackupOutcome::Completed {
        manifest,
        manifest_key,
        transfer,
    } = outcome
    else {
        panic!("expected a completed backup");
    };
    assert_eq!(manifest_key, MANIFEST);
    assert_eq!(transfer.uploaded, 200);
    let writes = store.writes.lock().unwrap().clone();
    assert_eq!(writes.len(), 201);
    assert_eq!(
        writes.last().map(String::as_str),
        Some(MANIFEST),
        "manifest is the last write"
    );
    let objects = store.objects.lock().unwrap();
    assert!(
        objects[MANIFEST].put.if_none_match,
        "manifest is written create-only"
    );
    for doc in &manifest.documents {
        let stored = &objects[&doc.object_key];
        assert_eq!(Sha256Digest::of(&stored.body), doc.checksum);
    }
    drop(objects);
    assert_eq!(manifest_in(&store), Some(manifest));
}

#[tokio::test]
async fn a_rerun_of_a_complete_day_rewrites_nothing() {
    let store = MemStore::default();
    backup(&store, 50).await.unwrap();
    let writes_before = store.writes.lock().unwrap().len();
    let outcome = backup(&store, 50).await.unwrap();
    assert!(matches!(outcome, BackupOutcome::AlreadyComplete { .. }));
    assert_eq!(outcome.transfer().uploaded, 0);
    assert_eq!(store.writes.lock().unwrap().len(), writes_before);
}

#[tokio::test]
async fn a_crash_mid_run_leaves_no_manifest_and_a_rerun_completes_the_missing_part() {
    let crashing = MemStore {
        fatal_after: Some(30),
        ..MemStore::default()
    };
    let err = backup(&crashing, 100).await.unwrap_err();
    let BackupError::Fatal { stored, failed, .. } = err else {
        panic!("expected fatal: {err}")
    };
    assert_eq!(stored + failed, 100, "every document is accounted for");
    assert_eq!(stored, 30, "exactly the writes the store accepted");
    assert!(
        manifest_in(&crashing).is_none(),
        "no manifest after a crash"
    );

    // Same objects, healthy store: the rerun keeps what is there and adds the rest.
    let healthy = MemStore {
        objects: crashing.objects.clone(),
        ..MemStore::default()
    };
    let outcome = backup(&healthy, 100).await.unwrap();
    let t = outcome.transfer();
    assert!(matches!(outcome, BackupOutcome::Completed { .. }));
    assert_eq!(t.already_stored, 30);
    assert_eq!(t.uploaded, 70);
    assert_eq!(manifest_in(&healthy).unwrap().total_documents, 100);
}

#[tokio::test]
async fn failed_documents_go_to_an_incomplete_report_not_a_manifest() {
    let store = MemStore::default();
    store.flaky.lock().unwrap().push("memo_0004.txt".into());
    store
        .corrupt
        .lock()
        .unwrap()
        .push("invoice_0005.csv".into());
    let outcome = backup(&store, 20).await.unwrap();
    let BackupOutcome::Incomplete {
        manifest,
        report_key,
        ..
    } = outcome
    else {
        panic!("expected an incomplete run");
    };
    assert_eq!(manifest.status, BackupStatus::Incomplete);
    assert_eq!(
        report_key.as_deref(),
        Some("backups/2026-11-27/incomplete/test-run.json")
    );
    let failed: Vec<(&str, &str, u32)> = manifest
        .failed_documents
        .iter()
        .map(|f| (f.document_id.as_str(), f.reason.as_str(), f.attempts))
        .collect();
    assert_eq!(failed.len(), 2);
    assert_eq!(failed[0].0, "invoice_0005");
    assert!(failed[0].1.contains("BadDigest"), "{}", failed[0].1);
    assert_eq!(failed[1], ("memo_0004", "SlowDown: injected", 4));
    assert_eq!(manifest.total_documents, 18);
    assert!(manifest_in(&store).is_none());

    // The fault clears: the rerun completes the day.
    store.flaky.lock().unwrap().clear();
    store.corrupt.lock().unwrap().clear();
    let outcome = backup(&store, 20).await.unwrap();
    assert_eq!(outcome.transfer().uploaded, 2);
    assert_eq!(outcome.transfer().already_stored, 18);
    assert_eq!(manifest_in(&store).unwrap().total_documents, 20);
}

#[tokio::test]
async fn failures_the_host_found_before_upload_are_recorded_not_dropped() {
    // A host that reads real files hands over the ones it could not read as failures.
    let store = MemStore::default();
    let date = DATE.parse().unwrap();
    let header = ManifestHeader {
        backup_date: date,
        backup_timestamp: "2026-11-27T02:00:00Z".parse().unwrap(),
        environment: Label::new("dev").unwrap(),
        run_id: Some("with-failures".into()),
        source: SourceDescription::Generator { count: 6, seed: 0 },
    };
    let options = PlanOptions::new("", Label::new("dev").unwrap(), Encryption::None).unwrap();
    let input: Vec<Incoming> = Generator::new(GeneratorSpec {
        date,
        count: 6,
        seed: 0,
    })
    .map(|d| {
        if d.document.document_id.as_str() == "report_0003" {
            Incoming::Failed(FailedDocument {
                document_id: "report_0003".into(),
                source: Some("/src/report_0003.txt".into()),
                stage: FailureStage::Read,
                reason: "changed while it was read".into(),
                attempts: 1,
            })
        } else {
            Incoming::from(d)
        }
    })
    .collect();
    let exec = ExecuteOptions {
        concurrency: 2,
        max_attempts: 1,
    };
    let outcome = execute(&store, header, options, input, &exec)
        .await
        .unwrap();
    let BackupOutcome::Incomplete { manifest, .. } = outcome else {
        panic!("a run with a failed document must not complete");
    };
    assert_eq!((manifest.total_documents, manifest.total_failed), (5, 1));
    assert_eq!(manifest.failed_documents[0].stage, FailureStage::Read);
    assert_eq!(
        manifest.failed_documents[0].source.as_deref(),
        Some("/src/report_0003.txt")
    );
    assert!(manifest_in(&store).is_none());
    assert!(
        store
            .objects
            .lock()
            .unwrap()
            .contains_key("backups/2026-11-27/incomplete/with-failures.json")
    );
}

#[tokio::test]
async fn an_existing_object_with_other_bytes_is_replaced() {
    let store = MemStore::default();
    backup(&store, 10).await.unwrap();
    // Someone overwrote a document and removed the manifest.
    {
        let mut objects = store.objects.lock().unwrap();
        objects.remove(MANIFEST);
        let key = "backups/2026-11-27/documents/receipt_0001.csv";
        let entry = objects.get_mut(key).unwrap();
        entry.body = Bytes::from_static(b"tampered");
        entry.put.checksum_sha256 = Sha256Digest::of(b"tampered").to_base64();
    }
    let outcome = backup(&store, 10).await.unwrap();
    assert_eq!(outcome.transfer().replaced, 1);
    assert_eq!(outcome.transfer().already_stored, 9);
    let m = manifest_in(&store).unwrap();
    let doc = m.document("receipt_0001").unwrap();
    let objects = store.objects.lock().unwrap();
    assert_eq!(
        Sha256Digest::of(&objects[&doc.object_key].body),
        doc.checksum
    );
}

#[tokio::test]
async fn a_corrupt_existing_manifest_stops_the_run() {
    let store = MemStore::default();
    backup(&store, 5).await.unwrap();
    store
        .objects
        .lock()
        .unwrap()
        .get_mut(MANIFEST)
        .unwrap()
        .body = Bytes::from_static(b"{}");
    let err = backup(&store, 5).await.unwrap_err();
    assert!(matches!(err, BackupError::CorruptManifest { .. }), "{err}");
    assert!(err.to_string().contains("move it away, and rerun"));
}

#[tokio::test]
async fn verify_finds_every_kind_of_tampering_without_downloading() {
    use docvault_lambda::verify::{VerifyOptions, verify_day};
    let store = MemStore::default();
    backup(&store, 20).await.unwrap();
    let key = "arn:aws:kms:us-east-1:123456789012:key/k1";
    let options = VerifyOptions {
        prefix: String::new(),
        date: DATE.parse().unwrap(),
        expected: Encryption::Kms {
            key_id: Some(key.into()),
        },
        read_fraction: 0.0,
        concurrency: 4,
    };
    let clean = verify_day(&store, &options).await.unwrap();
    assert!(clean.report.is_clean(), "{:?}", clean.report);
    assert_eq!(clean.report.verified, 20);
    assert_eq!(
        (clean.requests.get, clean.requests.head),
        (1, 20),
        "the manifest is the only GET"
    );

    let doc = |name: &str| format!("backups/2026-11-27/documents/{name}");
    {
        let mut objects = store.objects.lock().unwrap();
        objects.remove(&doc("memo_0004.txt"));
        // Other bytes, stored with their own (valid) checksum, as a careless tool would.
        let other = objects.get_mut(&doc("invoice_0005.csv")).unwrap();
        let mut body = other.body.to_vec();
        body[0] ^= 1;
        other.put.checksum_sha256 = Sha256Digest::of(&body).to_base64();
        other.body = Bytes::from(body);
        // Re-uploaded without KMS.
        objects
            .get_mut(&doc("report_0003.txt"))
            .unwrap()
            .put
            .encryption = Encryption::None;
        let mut stray = objects.get(&doc("receipt_0001.csv")).unwrap().clone();
        stray.put.key = doc("stray.bin");
        objects.insert(doc("stray.bin"), stray);
    }
    let found = verify_day(&store, &options).await.unwrap();
    let r = &found.report;
    assert_eq!(r.missing, [doc("memo_0004.txt")]);
    assert_eq!(r.extra, [doc("stray.bin")]);
    assert_eq!(r.checksum_mismatch.len(), 1);
    assert_eq!(r.checksum_mismatch[0].document_id, "invoice_0005");
    assert_eq!(r.encryption_mismatch.len(), 1);
    assert_eq!(r.encryption_mismatch[0].actual, "none");
    assert_eq!(found.problems(), 4);

    // Reading everything downloads each present document once more, and agrees.
    let read_all = verify_day(
        &store,
        &VerifyOptions {
            read_fraction: 1.0,
            ..options.clone()
        },
    )
    .await
    .unwrap();
    assert_eq!(read_all.read_sampled, 19);
    assert_eq!(read_all.requests.get, 20);
    assert_eq!(read_all.problems(), 4);
}

/// Puts `body` at `key` as a business system would (no docvault headers).
fn land(store: &MemStore, key: &str, body: &[u8]) {
    store.objects.lock().unwrap().insert(
        key.to_owned(),
        Stored {
            body: Bytes::copy_from_slice(body),
            put: ObjectPut {
                key: key.to_owned(),
                content_type: "application/octet-stream".into(),
                content_length: body.len() as u64,
                checksum_sha256: Sha256Digest::of(body).to_base64(),
                metadata: BTreeMap::new(),
                tagging: String::new(),
                encryption: Encryption::None,
                if_none_match: false,
                parts: None,
            },
        },
    );
}

async fn backup_from(
    source: &MemStore,
    backups: &MemStore,
    buffer_limit: u64,
    before_run: impl FnOnce(),
) -> Result<BackupOutcome, BackupError> {
    let date = DATE.parse().unwrap();
    let at = "2026-11-27T02:00:00Z".parse().unwrap();
    let options = SourceOptions {
        bucket: "landing".into(),
        prefix: "scans/{date}/".into(),
        buffer_limit,
        multipart_threshold: docvault_lambda::source::DEFAULT_MULTIPART_THRESHOLD,
        part_size: docvault_lambda::source::DEFAULT_PART_SIZE,
    };
    let documents = list_documents(source, &options, date, at).await.unwrap();
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
    let plan = PlanOptions::new("", Label::new("dev").unwrap(), Encryption::None).unwrap();
    let exec = ExecuteOptions {
        concurrency: 4,
        max_attempts: 1,
    };
    execute(backups, header, plan, documents, &exec).await
}

#[tokio::test]
async fn an_s3_source_is_read_hashed_and_every_object_accounted_for() {
    let source = MemStore::default();
    let big = vec![7u8; 5000];
    land(&source, "scans/2026-11-27/finance/q4.pdf", b"invoice bytes");
    land(&source, "scans/2026-11-27/hr/", b""); // a folder marker
    land(&source, "scans/2026-11-27/hr/big.tiff", &big);
    land(
        &source,
        "scans/2026-11-27/hr/gone.txt",
        b"deleted after listing",
    );
    land(
        &source,
        "scans/2026-11-27/bad//name.txt",
        b"not a document id",
    );
    land(&source, "scans/2026-11-27/ops/log.txt", b"first version");
    land(&source, "scans/2026-11-26/finance/old.pdf", b"another day");
    let backups = MemStore::default();

    // Bodies above 1,000 bytes are not held: `big.tiff` is streamed again for its upload.
    let outcome = backup_from(&source, &backups, 1000, || {
        source
            .objects
            .lock()
            .unwrap()
            .remove("scans/2026-11-27/hr/gone.txt");
        land(&source, "scans/2026-11-27/ops/log.txt", b"second version");
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
        backups.objects.lock().unwrap()[&big_doc.object_key].body,
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
    land(&source, "scans/2026-11-27/hr/gone.txt", b"back again");
    source
        .objects
        .lock()
        .unwrap()
        .remove("scans/2026-11-27/bad//name.txt");
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
