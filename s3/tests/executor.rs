//! The executor against an in-memory store that fails at exact points: commit order,
//! idempotency, crash consistency, failure accounting and overlapping runs, without AWS (the
//! end-to-end suites run the same paths against moto and s3s-fs).

use bytes::Bytes;
use docvault_core::{
    BackupStatus, Encryption, FailedDocument, FailureStage, Generator, GeneratorSpec, KeyPrefix,
    Label, Manifest, ManifestHeader, PlanOptions, Sha256Digest, SourceDescription, Timestamp,
};
use docvault_s3::executor::{BackupError, BackupOutcome, Clock, ExecuteOptions, Incoming, execute};
use docvault_s3::lease::{DayLease, LeaseError, LeaseTerms};
use docvault_s3::memory::MemoryStore;

const DATE: &str = "2026-11-27";
const MANIFEST: &str = "backups/2026-11-27/manifest.json";
const LEASE: &str = "backups/2026-11-27/lease.json";

/// Time for leases: tokio's clock (paused in the tests that need it) from a fixed start.
struct TestClock(tokio::time::Instant);

impl TestClock {
    fn new() -> Self {
        Self(tokio::time::Instant::now())
    }
}

impl Clock for TestClock {
    fn now(&self) -> Timestamp {
        let start: Timestamp = "2026-11-28T02:00:00Z".parse().unwrap();
        start.plus_seconds(self.0.elapsed().as_secs() as i64)
    }
}

/// A clock far in the future: every lease taken before has lapsed.
struct Later;

impl Clock for Later {
    fn now(&self) -> Timestamp {
        "2026-11-29T02:00:00Z".parse().unwrap()
    }
}

fn exec(concurrency: usize, lease: LeaseTerms) -> ExecuteOptions {
    ExecuteOptions {
        concurrency,
        max_attempts: 4,
        manifest_limit: 1 << 30,
        lease,
    }
}

const LAMBDA_LEASE: LeaseTerms = LeaseTerms {
    seconds: 960,
    renew: false,
    retry_takes_over: true,
};

fn header(run: &str, count: u64, seed: u64) -> ManifestHeader {
    ManifestHeader {
        backup_date: DATE.parse().unwrap(),
        backup_timestamp: "2026-11-28T02:00:00Z".parse().unwrap(),
        environment: Label::new("dev").unwrap(),
        run_id: Some(run.into()),
        source: SourceDescription::Generator { count, seed },
    }
}

fn options() -> PlanOptions {
    PlanOptions {
        prefix: KeyPrefix::ROOT,
        environment: Label::new("dev").unwrap(),
        encryption: Encryption::Kms {
            key_id: Some("arn:aws:kms:us-east-1:123456789012:key/k1".into()),
        },
        retention: None,
    }
}

/// Verify of the test day at the root: no encryption required, nothing read back.
fn verify_options() -> docvault_s3::verify::VerifyOptions {
    docvault_s3::verify::VerifyOptions {
        prefix: KeyPrefix::ROOT,
        date: DATE.parse().unwrap(),
        policy: docvault_core::verify::VerifyPolicy::default(),
        read_fraction: 0.0,
        concurrency: 4,
        manifest_limit: 1 << 30,
    }
}

fn generated(count: u64, seed: u64) -> impl Iterator<Item = Incoming> {
    Generator::new(GeneratorSpec {
        date: DATE.parse().unwrap(),
        count,
        seed,
    })
    .map(Incoming::from)
}

async fn backup_with(
    store: &MemoryStore,
    run: &str,
    count: u64,
    seed: u64,
    exec: &ExecuteOptions,
    clock: &dyn Clock,
) -> Result<BackupOutcome, BackupError> {
    execute(
        store,
        header(run, count, seed),
        options(),
        generated(count, seed),
        exec,
        clock,
    )
    .await
}

/// Takes the day's lease for `run` with the Lambda's terms, as another run would.
async fn hold_lease(store: &MemoryStore, run: &str, clock: &TestClock) -> DayLease<MemoryStore> {
    let date = DATE.parse().unwrap();
    DayLease::acquire(store, &options(), date, run, clock.now(), LAMBDA_LEASE)
        .await
        .unwrap()
}

async fn backup(store: &MemoryStore, count: u64) -> Result<BackupOutcome, BackupError> {
    backup_with(
        store,
        "test-run",
        count,
        0,
        &exec(8, LAMBDA_LEASE),
        &TestClock::new(),
    )
    .await
}

fn manifest_in(store: &MemoryStore) -> Option<Manifest> {
    let objects = store.objects();
    let body = &objects.get(MANIFEST)?.body;
    Some(Manifest::from_json(std::str::from_utf8(body).unwrap()).unwrap())
}

/// Every document of `m` is stored with the manifest's bytes.
fn assert_day_matches(store: &MemoryStore, m: &Manifest) {
    let objects = store.objects();
    for doc in &m.documents {
        let stored = &objects[&doc.object_key];
        assert_eq!(
            Sha256Digest::of(&stored.body),
            doc.checksum,
            "{}",
            doc.object_key
        );
    }
}

#[tokio::test]
async fn stores_every_document_then_commits_the_manifest_last() {
    let store = MemoryStore::new();
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
    let writes = store.writes();
    let documents: Vec<&String> = writes
        .iter()
        .filter(|k| k.contains("/documents/"))
        .collect();
    assert_eq!(documents.len(), 200);
    let at = |key: &str| writes.iter().rposition(|k| k == key).unwrap();
    let last_document = writes
        .iter()
        .rposition(|k| k.contains("/documents/"))
        .unwrap();
    assert!(
        at(MANIFEST) > last_document,
        "the manifest after every document"
    );
    assert_eq!(writes[0], LEASE, "the lease before any document");
    assert!(
        writes[at(MANIFEST) + 1..].iter().all(|k| k == LEASE),
        "after the manifest, only the lease is released: {:?}",
        &writes[at(MANIFEST)..]
    );
    assert!(
        store.objects()[MANIFEST].put.if_none_match,
        "manifest is written create-only"
    );
    assert_day_matches(&store, &manifest);
    assert_eq!(manifest_in(&store), Some(manifest));
    let lease = store.objects()[LEASE].body.clone();
    assert!(
        String::from_utf8_lossy(&lease).contains("\"released\":true"),
        "the lease is released"
    );
}

#[tokio::test]
async fn a_rerun_of_a_complete_day_rewrites_nothing() {
    let store = MemoryStore::new();
    backup(&store, 50).await.unwrap();
    let writes_before = store.writes().len();
    let outcome = backup(&store, 50).await.unwrap();
    assert!(matches!(outcome, BackupOutcome::AlreadyComplete { .. }));
    assert_eq!(outcome.transfer().uploaded, 0);
    assert_eq!(store.writes().len(), writes_before, "not even the lease");
}

#[tokio::test]
async fn a_crash_mid_run_leaves_no_manifest_and_a_rerun_completes_the_missing_part() {
    let crashing = MemoryStore::new();
    // The lease is the first accepted write; 29 documents follow, then everything is refused.
    crashing.faults().refuse_after = Some(30);
    let err = backup(&crashing, 100).await.unwrap_err();
    let BackupError::Fatal { stored, failed, .. } = err else {
        panic!("expected fatal: {err}")
    };
    assert_eq!(stored + failed, 100, "every document is accounted for");
    assert_eq!(stored, 29, "exactly the documents the store accepted");
    assert!(
        manifest_in(&crashing).is_none(),
        "no manifest after a crash"
    );

    // Same objects, healthy store, after the crashed run's lease lapsed: the rerun keeps what
    // is there and adds the rest.
    let healthy = crashing.healthy_view();
    let outcome = backup_with(&healthy, "rerun", 100, 0, &exec(8, LAMBDA_LEASE), &Later)
        .await
        .unwrap();
    let t = outcome.transfer();
    assert!(matches!(outcome, BackupOutcome::Completed { .. }));
    assert_eq!((t.already_stored, t.uploaded), (29, 71));
    assert_eq!(manifest_in(&healthy).unwrap().total_documents, 100);
}

#[tokio::test]
async fn a_run_refused_before_its_first_write_records_every_document() {
    let store = MemoryStore::new();
    store.faults().refuse_after = Some(0);
    let err = backup(&store, 12).await.unwrap_err();
    let BackupError::Fatal { stored, failed, .. } = err else {
        panic!("expected fatal: {err}")
    };
    assert_eq!(
        (stored, failed),
        (0, 12),
        "nothing disappears from the metrics"
    );
}

#[tokio::test]
async fn failed_documents_go_to_an_incomplete_report_not_a_manifest() {
    let store = MemoryStore::new();
    store.faults().flaky.push("memo_0004.txt".into());
    store.faults().corrupt.push("invoice_0005.csv".into());
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

    // The fault clears: the rerun completes the day (the first run released its lease).
    store.faults().flaky.clear();
    store.faults().corrupt.clear();
    let outcome = backup(&store, 20).await.unwrap();
    assert_eq!(outcome.transfer().uploaded, 2);
    assert_eq!(outcome.transfer().already_stored, 18);
    assert_eq!(manifest_in(&store).unwrap().total_documents, 20);
}

#[tokio::test]
async fn failures_the_host_found_before_upload_are_recorded_not_dropped() {
    // A host that reads real files hands over the ones it could not read as failures.
    let store = MemoryStore::new();
    let input: Vec<Incoming> = generated(6, 0)
        .map(|item| match item {
            Incoming::Document(d) if d.document.document_id.as_str() == "report_0003" => {
                Incoming::Failed(FailedDocument {
                    document_id: "report_0003".into(),
                    source: Some("/src/report_0003.txt".into()),
                    stage: FailureStage::Read,
                    reason: "changed while it was read".into(),
                    attempts: 1,
                })
            }
            other => other,
        })
        .collect();
    let outcome = execute(
        &store,
        header("with-failures", 6, 0),
        options(),
        input,
        &exec(2, LAMBDA_LEASE),
        &TestClock::new(),
    )
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
            .objects()
            .contains_key("backups/2026-11-27/incomplete/with-failures.json")
    );
}

#[tokio::test]
async fn an_existing_object_with_other_bytes_is_replaced() {
    let store = MemoryStore::new();
    backup(&store, 10).await.unwrap();
    // Someone overwrote a document and removed the manifest.
    {
        let mut objects = store.objects();
        objects.remove(MANIFEST);
        let entry = objects
            .get_mut("backups/2026-11-27/documents/receipt_0001.csv")
            .unwrap();
        entry.body = Bytes::from_static(b"tampered");
        entry.put.checksum_sha256 = Sha256Digest::of(b"tampered").to_base64();
        entry.put.content_length = 8;
    }
    let outcome = backup(&store, 10).await.unwrap();
    assert_eq!(outcome.transfer().replaced, 1);
    assert_eq!(outcome.transfer().already_stored, 9);
    assert_day_matches(&store, &manifest_in(&store).unwrap());
}

#[tokio::test]
async fn without_stored_checksums_an_existing_object_is_read_back_to_judge_it() {
    let store = MemoryStore::new();
    backup(&store, 6).await.unwrap();
    store.objects().remove(MANIFEST);
    store.faults().no_checksums = true;
    {
        let mut objects = store.objects();
        let entry = objects
            .get_mut("backups/2026-11-27/documents/invoice_0000.csv")
            .unwrap();
        let mut body = entry.body.to_vec();
        body[0] ^= 1;
        entry.body = Bytes::from(body);
    }
    let outcome = backup(&store, 6).await.unwrap();
    assert_eq!(
        (
            outcome.transfer().already_stored,
            outcome.transfer().replaced
        ),
        (5, 1),
        "the same-size altered copy is found by its bytes"
    );
    assert_day_matches(&store, &manifest_in(&store).unwrap());
}

#[tokio::test]
async fn a_corrupt_existing_manifest_stops_the_run() {
    let store = MemoryStore::new();
    backup(&store, 5).await.unwrap();
    store.objects().get_mut(MANIFEST).unwrap().body = Bytes::from_static(b"{}");
    let err = backup(&store, 5).await.unwrap_err();
    assert!(matches!(err, BackupError::Manifest(_)), "{err}");
    assert!(err.to_string().contains("move it away, and rerun"), "{err}");
    // Not UTF-8: refused, never repaired into another manifest.
    store.objects().get_mut(MANIFEST).unwrap().body = Bytes::from_static(b"\xff\xfe{");
    let err = backup(&store, 5).await.unwrap_err();
    assert!(err.to_string().contains("not UTF-8"), "{err}");
}

#[tokio::test]
async fn a_manifest_too_large_to_load_is_refused_before_it_is_read() {
    let store = MemoryStore::new();
    backup(&store, 5).await.unwrap();
    let small = ExecuteOptions {
        manifest_limit: 100,
        ..exec(8, LAMBDA_LEASE)
    };
    let err = backup_with(&store, "r", 5, 0, &small, &TestClock::new())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("more than the 100 bytes"), "{err}");
}

#[tokio::test]
async fn a_day_another_run_holds_is_left_alone() {
    let store = MemoryStore::new();
    let clock = TestClock::new();
    let other = hold_lease(&store, "other-run", &clock).await;
    let err = backup(&store, 5).await.unwrap_err();
    let BackupError::Lease(LeaseError::Busy { run_id, .. }) = &err else {
        panic!("expected busy: {err}");
    };
    assert_eq!(run_id, "other-run");
    assert!(err.to_string().contains("wrote nothing"), "{err}");
    assert!(
        store.objects().keys().all(|k| k == LEASE),
        "not a document was written"
    );
    // Once the other run releases the day, it can be backed up.
    other.release(clock.now()).await.unwrap();
    assert!(matches!(
        backup(&store, 5).await.unwrap(),
        BackupOutcome::Completed { .. }
    ));
}

/// An attempt cut off from the store leaves its live lease behind. Its retry (the same run id,
/// as Lambda retries an invocation) takes the lease over and completes the day; a host whose
/// run ids may repeat for overlapping runs waits for the lease instead.
#[tokio::test]
async fn a_retry_of_a_run_that_could_not_release_its_lease_takes_it_over() {
    let store = MemoryStore::new();
    let clock = TestClock::new();
    let left_behind = hold_lease(&store, "test-run", &clock).await;
    drop(left_behind);
    let no_retries = LeaseTerms {
        retry_takes_over: false,
        ..LAMBDA_LEASE
    };
    let err = backup_with(&store, "test-run", 5, 0, &exec(8, no_retries), &clock)
        .await
        .unwrap_err();
    assert!(
        matches!(err, BackupError::Lease(LeaseError::Busy { .. })),
        "{err}"
    );
    assert!(matches!(
        backup(&store, 5).await.unwrap(),
        BackupOutcome::Completed { .. }
    ));
}

/// Two runs of one day with different sources at once: the second waits for the first's lease
/// to lapse (the first stalled past it), takes the day over, replaces what differs and
/// commits; the first, resuming, never replaces a document of the committed day and ends with
/// the day complete as the second committed it.
#[tokio::test(start_paused = true)]
async fn overlapping_runs_never_overwrite_a_committed_day() {
    let store = MemoryStore::new();
    store.faults().write_delay = Some(std::time::Duration::from_millis(500));
    let clock = TestClock::new();
    let short = LeaseTerms {
        seconds: 3,
        renew: false,
        retry_takes_over: false,
    };
    let slow = exec(1, short);
    let first = backup_with(&store, "first", 12, 0, &slow, &clock);
    let second = async {
        // The first run's lease lapses after 3 seconds; 5 of its documents are stored by then.
        tokio::time::sleep(std::time::Duration::from_secs(4)).await;
        backup_with(&store, "second", 12, 1, &exec(4, short), &clock).await
    };
    let (first, second) = tokio::join!(first, second);
    let second = second.unwrap();
    assert!(
        matches!(second, BackupOutcome::Completed { .. }),
        "{second:?}"
    );
    assert!(
        second.transfer().replaced > 0,
        "the second replaced the first's bytes"
    );
    match first {
        Ok(BackupOutcome::AlreadyComplete { manifest, .. }) => {
            assert_eq!(manifest.run_id.as_deref(), Some("second"));
        }
        Err(BackupError::LeaseLost { .. }) => {}
        other => panic!("the first run must yield the day: {other:?}"),
    }
    let committed = manifest_in(&store).unwrap();
    assert_eq!(committed.run_id.as_deref(), Some("second"));
    assert_day_matches(&store, &committed);
}

#[tokio::test(start_paused = true)]
async fn a_long_run_renews_its_lease_and_keeps_the_day() {
    let store = MemoryStore::new();
    store.faults().write_delay = Some(std::time::Duration::from_millis(500));
    let clock = TestClock::new();
    let renewing = LeaseTerms {
        seconds: 3,
        renew: true,
        retry_takes_over: false,
    };
    let slow = exec(1, renewing);
    let first = backup_with(&store, "long", 12, 0, &slow, &clock);
    let second = async {
        tokio::time::sleep(std::time::Duration::from_secs(4)).await;
        backup_with(&store, "late", 12, 1, &exec(4, renewing), &clock).await
    };
    let (first, second) = tokio::join!(first, second);
    assert!(
        matches!(first.unwrap(), BackupOutcome::Completed { .. }),
        "the renewing run keeps its day"
    );
    assert!(
        matches!(second, Err(BackupError::Lease(LeaseError::Busy { .. }))),
        "{second:?}"
    );
    let renewals = store.writes().iter().filter(|k| *k == LEASE).count();
    assert!(
        renewals >= 4,
        "taken, renewed at least twice, released: {renewals}"
    );
    assert_day_matches(&store, &manifest_in(&store).unwrap());
}

#[tokio::test]
async fn verify_finds_every_kind_of_tampering_without_downloading() {
    use docvault_core::verify::VerifyPolicy;
    use docvault_s3::verify::{VerifyOptions, verify_day};
    let store = MemoryStore::new();
    backup(&store, 20).await.unwrap();
    let key = "arn:aws:kms:us-east-1:123456789012:key/k1";
    let options = VerifyOptions {
        policy: VerifyPolicy {
            encryption: Encryption::Kms {
                key_id: Some(key.into()),
            },
            require_stored_checksums: false,
        },
        ..verify_options()
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
        let mut objects = store.objects();
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
    assert_eq!(
        read_all.report.verified_by_read, 18,
        "all but the altered one"
    );
}

/// A set copied to S3 by a tool that sends no checksums: nothing to compare without reading;
/// read back, every body is verified and the day is clean.
#[tokio::test]
async fn a_set_copied_without_checksums_verifies_by_reading_it() {
    use docvault_core::verify::VerifyPolicy;
    use docvault_s3::verify::{VerifyOptions, verify_day};
    let store = MemoryStore::new();
    backup(&store, 8).await.unwrap();
    store.faults().no_checksums = true;
    let options = verify_options();
    let unread = verify_day(&store, &options).await.unwrap();
    assert!(unread.report.is_clean(), "unverified is not a problem");
    assert_eq!(unread.report.unverified.len(), 8);
    let strict = VerifyOptions {
        policy: VerifyPolicy {
            require_stored_checksums: true,
            ..VerifyPolicy::default()
        },
        ..options.clone()
    };
    assert_eq!(verify_day(&store, &strict).await.unwrap().problems(), 8);
    let read = verify_day(
        &store,
        &VerifyOptions {
            read_fraction: 1.0,
            ..strict
        },
    )
    .await
    .unwrap();
    assert!(read.report.is_clean(), "{:?}", read.report);
    assert_eq!((read.report.verified, read.report.verified_by_read), (8, 8));
}

#[tokio::test]
async fn a_retained_day_is_locked_and_tagged_and_verify_finds_an_object_that_lost_its_lock() {
    use docvault_core::{LockMode, Retention, RetentionPolicy, Weekday};
    use docvault_s3::verify::verify_day;
    let store = MemoryStore::new();
    let retention = Retention {
        policy: RetentionPolicy::new(7, 4, 12, 7, Weekday::Sunday).unwrap(),
        lock: LockMode::Compliance,
    };
    let outcome = execute(
        &store,
        header("retained", 6, 0),
        PlanOptions {
            retention: Some(retention),
            ..options()
        },
        generated(6, 0),
        &exec(4, LAMBDA_LEASE),
        &TestClock::new(),
    )
    .await
    .unwrap();
    let day = outcome
        .manifest()
        .retention
        .expect("the manifest records it");
    assert_eq!(day.retain_until.to_string(), "2026-12-04");
    let lock = day.object_lock().unwrap();
    {
        let objects = store.objects();
        for (key, object) in objects.iter().filter(|(k, _)| !k.ends_with("lease.json")) {
            assert_eq!(object.put.lock, Some(lock), "{key}");
            assert!(object.put.tagging.ends_with("Retention=daily"), "{key}");
        }
    }
    let options = verify_options();
    let clean = verify_day(&store, &options).await.unwrap();
    assert!(clean.report.is_clean(), "{:?}", clean.report);
    assert_eq!(clean.requests.tagging, 7, "six documents and the manifest");

    // The same bytes put again by another tool: no lock, no class tag.
    let key = "backups/2026-11-27/documents/invoice_0005.csv";
    let body = store.objects()[key].body.clone();
    store.land(key, &body);
    // And one whose lock was put back with an earlier date.
    let shortened = "backups/2026-11-27/documents/memo_0004.txt";
    store.objects().get_mut(shortened).unwrap().put.lock = Some(docvault_core::ObjectLock {
        retain_until: lock.retain_until.plus_seconds(-3600),
        ..lock
    });
    let found = verify_day(&store, &options).await.unwrap();
    let r = &found.report;
    assert_eq!(r.checksum_mismatch, []);
    let keys: Vec<&str> = r
        .retention_mismatch
        .iter()
        .map(|m| m.key.as_str())
        .collect();
    assert_eq!(keys, [key, shortened]);
    assert_eq!(r.retention_mismatch[0].actual, "no lock, no class tag");
    assert!(
        r.retention_mismatch[1]
            .actual
            .starts_with("compliance lock until 2026-12-04T23:00:00Z")
    );
    assert_eq!(found.problems(), 2);
    assert!(
        r.render_text("the day")
            .contains("retention   backups/2026-11-27/documents/invoice_0005.csv: required compliance lock until 2026-12-05T00:00:00Z, class tag `daily`")
    );

    assert!(
        r.render_text("the day")
            .contains("only to callers allowed s3:GetObjectRetention")
    );

    // The manifest put again without its lock is reported too.
    let body = store.objects()[MANIFEST].body.clone();
    store.land(MANIFEST, &body);
    let found = verify_day(&store, &options).await.unwrap();
    let first = &found.report.retention_mismatch[0];
    assert_eq!(
        (first.document_id.as_str(), first.key.as_str()),
        ("(the manifest)", MANIFEST)
    );
    assert_eq!(found.problems(), 3);
}

#[tokio::test]
async fn a_legal_hold_covers_every_object_of_the_day_and_is_recorded() {
    use docvault_s3::hold::{HoldError, set_day_hold};
    use docvault_s3::verify::verify_day;
    let store = MemoryStore::new();
    backup(&store, 5).await.unwrap();
    let date = DATE.parse().unwrap();
    let at: Timestamp = "2026-12-01T09:00:00Z".parse().unwrap();
    let on = set_day_hold(&store, &options(), date, true, at, Some("audit-17".into()))
        .await
        .unwrap();
    assert_eq!(
        (on.objects, on.on),
        (6, true),
        "five documents and the manifest"
    );
    {
        let objects = store.objects();
        for (key, object) in objects.iter() {
            let expected = !key.ends_with("lease.json") && !key.ends_with("legal-hold.json");
            assert_eq!(object.legal_hold, expected, "{key}");
        }
        let record: serde_json::Value =
            serde_json::from_slice(&objects[&on.record_key].body).unwrap();
        assert_eq!(
            record,
            serde_json::json!({"backup_date": DATE, "on": true, "at": "2026-12-01T09:00:00Z",
                               "by": "audit-17", "objects": 6})
        );
    }
    let check = verify_options();
    let held = verify_day(&store, &check).await.unwrap();
    assert!(held.report.is_clean());
    assert_eq!(
        held.report.legal_holds, 5,
        "verify reports the held documents"
    );
    assert!(
        held.report
            .render_text("the day")
            .contains("5 under legal hold")
    );

    let off = set_day_hold(&store, &options(), date, false, at, None)
        .await
        .unwrap();
    assert_eq!((off.objects, off.on), (6, false));
    assert!(store.objects().values().all(|o| !o.legal_hold));
    assert_eq!(
        verify_day(&store, &check).await.unwrap().report.legal_holds,
        0
    );

    let other = "2026-10-01".parse().unwrap();
    let nothing = set_day_hold(&store, &options(), other, true, at, None).await;
    assert!(
        matches!(nothing, Err(HoldError::NothingToHold { .. })),
        "{nothing:?}"
    );
}
