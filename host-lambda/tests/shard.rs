//! The scale-out events against in-memory stores: `plan`, `backup_shard` batches as the
//! Distributed Map sends them, and `commit`, for a generated day and an S3 source; the faults
//! a state machine meets (a batch of another plan, a source object replaced after the plan, a
//! commit before the shards, a second commit). The state machine itself runs on moto in
//! `tests/e2e`.

use docvault_lambda::{App, HandlerError, handle};
use docvault_s3::memory::MemoryStore;
use serde_json::{Value, json};

const DATE: &str = "2026-11-27";
const MANIFEST: &str = "backups/2026-11-27/manifest.json";

mod common;
use common::{Metrics, invocation};

fn app_with(vars: &[(&str, &str)], store: MemoryStore) -> (App<MemoryStore>, Metrics) {
    common::app(
        &[("DOCUMENT_COUNT", "40"), ("SHARD_MAX_DOCUMENTS", "7")],
        vars,
        store,
    )
}

async fn invoke(app: &App<MemoryStore>, id: &str, event: Value) -> Result<Value, HandlerError> {
    handle(app, &event, &invocation(id)).await
}

/// What the state machine does: plan, then each batch of `batch` items, then commit.
async fn run_day(
    app: &App<MemoryStore>,
    store: &MemoryStore,
    batch: usize,
) -> Result<Value, HandlerError> {
    let plan = invoke(app, "plan-req", json!({"action": "plan", "date": DATE})).await?;
    assert_eq!(plan["already_complete"], false);
    let key = plan["items_key"].as_str().unwrap();
    let items: Vec<Value> = serde_json::from_slice(&store.objects()[key].body).unwrap();
    assert_eq!(items.len() as u64, plan["shards"].as_u64().unwrap());
    for (n, chunk) in items.chunks(batch).enumerate() {
        let event = json!({"action": "backup_shard", "Items": chunk, "BatchInput": {
            "date": DATE, "plan_sha256": plan["plan_sha256"], "execution": "exec-1"}});
        let done = invoke(app, &format!("shard-req-{n}"), event).await?;
        assert_eq!(done["parts"].as_array().unwrap().len(), chunk.len());
    }
    invoke(app, "commit-req", json!({"action": "commit", "date": DATE})).await
}

/// A `backup_shard` event of one shard of `plan`, as the Distributed Map batches it.
fn shard_batch(plan: &Value, index: u32) -> Value {
    json!({"action": "backup_shard", "Items": [{"index": index}],
    "BatchInput": {"date": DATE, "plan_sha256": plan["plan_sha256"]}})
}

/// The day's incomplete-run report, which a refused commit writes.
fn incomplete_report(store: &MemoryStore) -> Value {
    let objects = store.objects();
    let (_, report) = objects
        .iter()
        .find(|(k, _)| k.starts_with("backups/2026-11-27/incomplete/"))
        .expect("the commit records the incomplete run");
    serde_json::from_slice(&report.body).unwrap()
}

#[tokio::test]
async fn a_planned_day_commits_the_manifest_a_single_invocation_writes() {
    let sharded = MemoryStore::new();
    let (app, metrics) = app_with(&[], sharded.clone());
    let done = run_day(&app, &sharded, 2).await.unwrap();
    assert_eq!(
        (
            done["documents"].as_u64(),
            done["already_complete"].as_bool()
        ),
        (Some(40), Some(false))
    );
    // 40 documents, at most 7 a shard: 6 shards, 6 parts.
    let parts = sharded
        .objects()
        .keys()
        .filter(|k| k.contains("/part-"))
        .count();
    assert_eq!(parts, 6);
    // The commit alone sends the day's metrics, once.
    let sent = metrics.lock().unwrap().clone();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].value("BackupSuccess"), Some(1));
    assert_eq!(sent[0].value("DocumentsBackedUp"), Some(40));

    let single = MemoryStore::new();
    let (one, _) = app_with(&[], single.clone());
    invoke(&one, "plan-req", json!({"date": DATE}))
        .await
        .unwrap();
    assert_eq!(
        sharded.objects()[MANIFEST].body,
        single.objects()[MANIFEST].body
    );

    // Run again: the plan sees the committed day; a second commit rewrites nothing.
    let writes = sharded.writes().len();
    let again = invoke(&app, "plan-2", json!({"action": "plan", "date": DATE}))
        .await
        .unwrap();
    assert_eq!(again["already_complete"], true);
    let again = invoke(&app, "commit-2", json!({"action": "commit", "date": DATE}))
        .await
        .unwrap();
    assert_eq!(again["already_complete"], true);
    assert_eq!(sharded.writes().len(), writes);
}

#[tokio::test]
async fn an_s3_source_object_replaced_after_the_plan_fails_its_shard_and_the_commit_records_it() {
    let store = MemoryStore::new();
    for i in 0..12 {
        store.land(
            &format!("scans/{DATE}/ops/doc-{i:02}.txt"),
            format!("body {i}").as_bytes(),
        );
    }
    let vars = [
        ("DOCUMENT_SOURCE", "s3://landing/scans/{date}/"),
        ("SHARD_MAX_DOCUMENTS", "5"),
    ];
    let (app, metrics) = app_with(&vars, store.clone());
    let plan = invoke(&app, "plan-req", json!({"action": "plan", "date": DATE}))
        .await
        .unwrap();
    assert_eq!(
        (plan["shards"].as_u64(), plan["documents"].as_u64()),
        (Some(3), Some(12))
    );
    // Shard 1 holds doc-05 to doc-09; one of them is replaced after the listing.
    store.land(&format!("scans/{DATE}/ops/doc-07.txt"), b"replaced");
    let batch = |index: u32| shard_batch(&plan, index);
    invoke(&app, "s0", batch(0)).await.unwrap();
    let e = invoke(&app, "s1", batch(1)).await.unwrap_err();
    assert_eq!(e.error_type(), "Retryable.Incomplete", "{e}");
    invoke(&app, "s2", batch(2)).await.unwrap();
    let e = invoke(&app, "c1", json!({"action": "commit", "date": DATE}))
        .await
        .unwrap_err();
    assert_eq!(e.error_type(), "Fatal.CommitIncomplete");
    assert!(
        e.to_string().contains("1 documents are recorded as failed"),
        "{e}"
    );
    assert!(!store.objects().contains_key(MANIFEST));
    let report = incomplete_report(&store);
    assert_eq!(
        (
            report["total_documents"].as_u64(),
            report["total_failed"].as_u64()
        ),
        (Some(11), Some(1))
    );
    assert_eq!(
        metrics
            .lock()
            .unwrap()
            .last()
            .unwrap()
            .value("BackupFailure"),
        Some(1)
    );

    // A plan of other documents for the day is refused, not mixed in.
    let e = invoke(&app, "plan-2", json!({"action": "plan", "date": DATE}))
        .await
        .unwrap_err();
    assert_eq!(e.error_type(), "Fatal.PlanConflict", "{e}");
    assert!(
        e.to_string()
            .contains("in the documents (12 documents of 74 bytes"),
        "{e}"
    );
}

#[tokio::test]
async fn batches_of_another_plan_and_commits_without_a_plan_are_refused() {
    let store = MemoryStore::new();
    let (app, _) = app_with(&[], store.clone());
    let e = invoke(&app, "c", json!({"action": "commit", "date": DATE}))
        .await
        .unwrap_err();
    assert_eq!(e.error_type(), "Fatal.NoPlan", "{e}");
    invoke(&app, "p", json!({"action": "plan", "date": DATE}))
        .await
        .unwrap();
    let other = format!("sha256:{}", "0".repeat(64));
    let e = invoke(
        &app,
        "s",
        json!({"action": "backup_shard", "Items": [{"index": 0}],
        "BatchInput": {"date": DATE, "plan_sha256": other}}),
    )
    .await
    .unwrap_err();
    assert_eq!(e.error_type(), "Fatal.PlanConflict", "{e}");
    for bad in [
        json!({"action": "backup_shard", "Items": [{"index": 0}]}),
        json!({"action": "backup_shard", "Items": [{"shard": 0}], "BatchInput": {"date": DATE, "plan_sha256": other}}),
        json!({"action": "commit"}),
    ] {
        let e = invoke(&app, "bad", bad.clone()).await.unwrap_err();
        assert_eq!(e.error_type(), "Fatal.BadEvent", "{bad}: {e}");
    }
}

/// Step Functions' tolerated failures (moto ignores them, so they are shown here): were the
/// Map allowed to tolerate a failed batch (the stack tolerates none), it would go on to the
/// commit with that batch's shards never written. The commit still refuses the day, accounts
/// for every document of the missing shard as failed, and the day completes once the batch
/// is run again.
#[tokio::test]
async fn a_map_that_tolerated_a_failed_batch_still_cannot_commit_the_day() {
    let store = MemoryStore::new();
    let (app, metrics) = app_with(&[], store.clone());
    let plan = invoke(&app, "plan-req", json!({"action": "plan", "date": DATE}))
        .await
        .unwrap();
    let batch = |index: u32| shard_batch(&plan, index);
    let shards = plan["shards"].as_u64().unwrap() as u32;
    // 40 documents, at most 7 a shard: the 7 of shard 2 are the tolerated failure.
    for index in (0..shards).filter(|&i| i != 2) {
        invoke(&app, &format!("s{index}"), batch(index))
            .await
            .unwrap();
    }
    let e = invoke(&app, "c1", json!({"action": "commit", "date": DATE}))
        .await
        .unwrap_err();
    assert_eq!(e.error_type(), "Fatal.CommitIncomplete", "{e}");
    assert!(
        !store.objects().contains_key(MANIFEST),
        "the day is not sealed"
    );
    let report = incomplete_report(&store);
    assert_eq!(
        (
            report["total_documents"].as_u64(),
            report["total_failed"].as_u64()
        ),
        (Some(33), Some(7)),
        "every document of the missing shard is accounted for: {report}"
    );
    assert_eq!(
        metrics
            .lock()
            .unwrap()
            .last()
            .unwrap()
            .value("FailedDocuments"),
        Some(7)
    );

    // The batch is run again (a redrive): the day commits with all 40.
    invoke(&app, "s2-again", batch(2)).await.unwrap();
    let done = invoke(&app, "c2", json!({"action": "commit", "date": DATE}))
        .await
        .unwrap();
    assert_eq!(done["documents"], 40, "{done}");
    assert!(store.objects().contains_key(MANIFEST));
}
