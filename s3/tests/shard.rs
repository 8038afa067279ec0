//! Sharded runs against the in-memory store: shards run one by one (in any order) and the
//! commit gives the single run's manifest byte for byte; a part deleted or altered before the
//! commit, a plan that does not match, a commit run twice. The loopback suites run the same
//! paths against s3s-fs and moto through the runner.

use std::collections::BTreeSet;

use bytes::Bytes;
use docvault_core::manifest::parted::DEFAULT_PART_DOCUMENTS;
use docvault_core::shard::{Listed, Split};
use docvault_core::{
    BackupStatus, Encryption, Generator, GeneratorSpec, KeyPrefix, Label, LockMode, ManifestHeader,
    PlanOptions, Retention, RetentionPolicy, RunScope, SourceDescription, Timestamp, Weekday,
};
use docvault_s3::executor::{
    BackupOutcome, Clock, ExecuteOptions, Incoming, Scoped, execute, execute_scoped,
};
use docvault_s3::lease::LeaseTerms;
use docvault_s3::memory::MemoryStore;
use docvault_s3::shard::{CommitOptions, ShardError, commit, publish_plan};

const DATE: &str = "2026-11-27";
const COUNT: u64 = 300;

struct Fixed;

impl Clock for Fixed {
    fn now(&self) -> Timestamp {
        "2026-11-28T02:00:00Z".parse().unwrap()
    }
}

const LEASE: LeaseTerms = LeaseTerms {
    seconds: 300,
    renew: false,
    retry_takes_over: false,
};

fn exec() -> ExecuteOptions {
    ExecuteOptions {
        concurrency: 8,
        max_attempts: 2,
        manifest_limit: 1 << 30,
        lease: LEASE,
    }
}

fn settings() -> CommitOptions {
    CommitOptions {
        manifest_limit: 1 << 30,
        lease: LEASE,
        lease_holder: None,
        part_documents: DEFAULT_PART_DOCUMENTS,
    }
}

fn header(at: &str) -> ManifestHeader {
    ManifestHeader {
        backup_date: DATE.parse().unwrap(),
        backup_timestamp: at.parse().unwrap(),
        environment: Label::new("prod").unwrap(),
        run_id: Some("nightly".into()),
        source: SourceDescription::Generator {
            count: COUNT,
            seed: 3,
        },
    }
}

fn options() -> PlanOptions {
    PlanOptions {
        prefix: KeyPrefix::parse("site/").unwrap(),
        environment: Label::new("prod").unwrap(),
        encryption: Encryption::None,
        retention: Some(Retention {
            policy: RetentionPolicy::new(7, 4, 0, 0, Weekday::Sunday).unwrap(),
            lock: LockMode::None,
        }),
    }
}

fn prefix() -> KeyPrefix {
    options().prefix
}

fn generated() -> impl Iterator<Item = Incoming> {
    Generator::new(GeneratorSpec {
        date: DATE.parse().unwrap(),
        count: COUNT,
        seed: 3,
    })
    .map(Incoming::from)
}

fn listing() -> Vec<Listed> {
    generated()
        .map(|i| Listed::new(i.document_id().to_owned(), 0))
        .collect()
}

/// One worker: plans (or adopts the plan), then runs shard `index` of `n`.
async fn worker(
    store: &MemoryStore,
    at: &str,
    index: u32,
    n: u32,
) -> Result<BackupOutcome, ShardError> {
    let (plan, listings) =
        publish_plan(store, &options(), header(at), listing(), Split::Count(n)).await?;
    let ids: BTreeSet<String> = listings[index as usize]
        .documents
        .iter()
        .map(|l| l.document_id.clone())
        .collect();
    let scope = Scoped {
        scope: RunScope::Shard {
            plan: plan.digest(),
            index,
        },
        lease_holder: format!("worker-{index}"),
    };
    let mine = generated().filter(move |i| ids.contains(i.document_id()));
    Ok(execute_scoped(
        store,
        plan.header.clone(),
        plan.options(options()),
        scope,
        mine,
        &exec(),
        &Fixed,
    )
    .await
    .unwrap())
}

fn manifest_bytes(store: &MemoryStore) -> Bytes {
    store.objects()["site/backups/2026-11-27/manifest.json"]
        .body
        .clone()
}

fn part_keys(store: &MemoryStore) -> Vec<String> {
    store
        .objects()
        .keys()
        .filter(|k| k.contains("/part-"))
        .cloned()
        .collect()
}

#[tokio::test]
async fn four_workers_and_a_commit_write_the_single_runs_manifest() {
    let single = MemoryStore::new();
    execute(
        &single,
        header("2026-11-28T02:00:00Z"),
        options(),
        generated(),
        &exec(),
        &Fixed,
    )
    .await
    .unwrap();

    let sharded = MemoryStore::new();
    // Workers start at different times: the first plans, the others adopt its plan (and its
    // time), in any order.
    for (i, at) in [
        (2, "2026-11-28T02:00:00Z"),
        (0, "2026-11-28T02:00:05Z"),
        (3, "2026-11-28T02:00:09Z"),
        (1, "2026-11-28T02:01:00Z"),
    ] {
        let outcome = worker(&sharded, at, i, 4).await.unwrap();
        assert!(
            matches!(outcome, BackupOutcome::Completed { .. }),
            "{outcome:?}"
        );
    }
    assert!(
        !sharded
            .objects()
            .contains_key("site/backups/2026-11-27/manifest.json"),
        "no manifest before the commit"
    );
    assert_eq!(part_keys(&sharded).len(), 4);
    let done = commit(
        &sharded,
        &prefix(),
        Encryption::None,
        DATE.parse().unwrap(),
        &settings(),
        &Fixed,
    )
    .await
    .unwrap();
    assert!(done.problems.is_empty());
    assert!(matches!(done.outcome, BackupOutcome::Completed { .. }));
    assert_eq!(manifest_bytes(&sharded), manifest_bytes(&single));
    // Every document object is the single run's too.
    for (key, object) in single
        .objects()
        .iter()
        .filter(|(k, _)| k.contains("/documents/"))
    {
        assert_eq!(sharded.objects()[key].body, object.body, "{key}");
        assert_eq!(sharded.objects()[key].put, object.put, "{key}");
    }

    // The commit again, and a worker again: nothing rewritten.
    let writes = sharded.writes().len();
    let again = commit(
        &sharded,
        &prefix(),
        Encryption::None,
        DATE.parse().unwrap(),
        &settings(),
        &Fixed,
    )
    .await
    .unwrap();
    assert!(matches!(
        again.outcome,
        BackupOutcome::AlreadyComplete { .. }
    ));
    let rerun = worker(&sharded, "2026-11-29T02:00:00Z", 1, 4)
        .await
        .unwrap();
    assert!(matches!(rerun, BackupOutcome::AlreadyComplete { .. }));
    assert_eq!(
        sharded.writes().len(),
        writes,
        "{:?}",
        &sharded.writes()[writes..]
    );
}

#[tokio::test]
async fn a_deleted_or_altered_part_makes_the_commit_record_an_incomplete_run() {
    for fault in ["deleted", "altered"] {
        let store = MemoryStore::new();
        for i in 0..3 {
            worker(&store, "2026-11-28T02:00:00Z", i, 3).await.unwrap();
        }
        let victim = part_keys(&store)[1].clone();
        match fault {
            "deleted" => {
                store.objects().remove(&victim);
            }
            _ => {
                let mut body = store.objects()[&victim].body.to_vec();
                let at = body.iter().position(|&b| b == b'1').unwrap();
                body[at] = b'2';
                store.land(&victim, &body);
            }
        }
        let done = commit(
            &store,
            &prefix(),
            Encryption::None,
            DATE.parse().unwrap(),
            &settings(),
            &Fixed,
        )
        .await
        .unwrap();
        let BackupOutcome::Incomplete {
            manifest,
            report_key,
            ..
        } = &done.outcome
        else {
            panic!("{fault}: {:?}", done.outcome);
        };
        assert_eq!(manifest.status, BackupStatus::Incomplete);
        assert_eq!(
            manifest.total_documents + manifest.total_failed,
            COUNT,
            "{fault}: every planned document is in the report"
        );
        assert!(manifest.total_failed > 0);
        let code = done.problems[0].code();
        assert_eq!(
            code,
            if fault == "deleted" {
                "part_missing"
            } else {
                "part_altered"
            }
        );
        assert!(report_key.as_deref().unwrap().contains("/incomplete/"));
        assert!(
            !store
                .objects()
                .contains_key("site/backups/2026-11-27/manifest.json")
        );

        // Rerunning the shard (after removing the altered part) completes the day.
        store.objects().remove(&victim);
        assert!(victim.contains("/part-00001-"), "{victim}");
        worker(&store, "2026-11-28T03:00:00Z", 1, 3).await.unwrap();
        let done = commit(
            &store,
            &prefix(),
            Encryption::None,
            DATE.parse().unwrap(),
            &settings(),
            &Fixed,
        )
        .await
        .unwrap();
        assert!(
            matches!(done.outcome, BackupOutcome::Completed { .. }),
            "{fault}"
        );
    }
}

#[tokio::test]
async fn a_worker_with_another_split_or_source_is_refused_and_a_commit_needs_a_plan() {
    let store = MemoryStore::new();
    let e = commit(
        &store,
        &prefix(),
        Encryption::None,
        DATE.parse().unwrap(),
        &settings(),
        &Fixed,
    )
    .await
    .unwrap_err();
    assert!(matches!(e, ShardError::NoPlan { .. }), "{e}");
    worker(&store, "2026-11-28T02:00:00Z", 0, 3).await.unwrap();
    let e = worker(&store, "2026-11-28T02:00:00Z", 0, 4)
        .await
        .unwrap_err();
    assert!(matches!(e, ShardError::PlanConflict { .. }), "{e}");
    let mut fewer = listing();
    fewer.pop();
    let e = publish_plan(
        &store,
        &options(),
        header("2026-11-28T02:00:00Z"),
        fewer,
        Split::Count(3),
    )
    .await
    .unwrap_err();
    assert!(
        e.to_string().contains("delete the day's work folder"),
        "{e}"
    );
}

#[tokio::test]
async fn a_shard_whose_part_is_written_is_not_run_again() {
    let store = MemoryStore::new();
    let first = worker(&store, "2026-11-28T02:00:00Z", 0, 2).await.unwrap();
    let BackupOutcome::Completed { manifest_key, .. } = first else {
        panic!("{first:?}")
    };
    // A document of the shard changes in the store; the rerun must not replace it under the
    // part that records the old bytes (verify reports the change instead).
    let doc = store
        .objects()
        .keys()
        .find(|k| k.contains("/documents/"))
        .cloned()
        .unwrap();
    store.land(&doc, b"changed");
    let writes = store.writes().len();
    let again = worker(&store, "2026-11-28T03:00:00Z", 0, 2).await.unwrap();
    assert_eq!(again.part_key(&prefix()), Some(manifest_key.as_str()));
    let BackupOutcome::AlreadyComplete {
        manifest_key: found,
        ..
    } = again
    else {
        panic!("{again:?}")
    };
    assert_eq!(found, manifest_key, "the part there is reported");
    assert_eq!(&store.objects()[&doc].body[..], b"changed");
    // Only the shard's lease was written (taken and released).
    assert!(
        store.writes()[writes..]
            .iter()
            .all(|k| k.contains("/lease-")),
        "{:?}",
        &store.writes()[writes..]
    );
}

/// Four workers' shards of the day in a fresh store, not committed.
async fn sharded_day() -> MemoryStore {
    let store = MemoryStore::new();
    for i in 0..4 {
        worker(&store, "2026-11-28T02:00:00Z", i, 4).await.unwrap();
    }
    store
}

fn manifest_part_keys(store: &MemoryStore) -> Vec<String> {
    store
        .objects()
        .keys()
        .filter(|k| k.contains("/manifest-parts/"))
        .cloned()
        .collect()
}

async fn commit_in_parts(store: &MemoryStore) -> Result<BackupOutcome, ShardError> {
    let settings = CommitOptions {
        part_documents: 100,
        ..settings()
    };
    commit(
        store,
        &prefix(),
        Encryption::None,
        DATE.parse().unwrap(),
        &settings,
        &Fixed,
    )
    .await
    .map(|done| done.outcome)
}

async fn load(store: &MemoryStore) -> Result<Option<docvault_core::Manifest>, String> {
    docvault_s3::manifest::load_committed(store, &prefix(), DATE.parse().unwrap(), 1 << 30)
        .await
        .map_err(|e| match e {
            docvault_s3::manifest::LoadError::Invalid { source, .. } => source.code().to_owned(),
            other => other.to_string(),
        })
}

#[tokio::test]
async fn a_day_larger_than_a_part_commits_in_parts_and_loads_as_the_single_runs_manifest() {
    let single = MemoryStore::new();
    execute(
        &single,
        header("2026-11-28T02:00:00Z"),
        options(),
        generated(),
        &exec(),
        &Fixed,
    )
    .await
    .unwrap();
    let store = sharded_day().await;
    let outcome = commit_in_parts(&store).await.unwrap();
    assert!(
        matches!(outcome, BackupOutcome::Completed { .. }),
        "{outcome:?}"
    );
    // 300 documents in parts of 100, each written before the root, create-only.
    let parts = manifest_part_keys(&store);
    assert_eq!(parts.len(), 3, "{parts:?}");
    let writes = store.writes();
    let root_at = writes
        .iter()
        .position(|k| k == "site/backups/2026-11-27/manifest.json")
        .unwrap();
    for part in &parts {
        let at = writes.iter().position(|k| k == part).unwrap();
        assert!(at < root_at, "{part} is written before the root");
        assert!(store.objects()[part].put.if_none_match);
    }
    // Loaded, the parted day is the single run's manifest; verify finds it clean.
    let loaded = load(&store).await.unwrap().unwrap();
    assert_eq!(Some(loaded), load(&single).await.unwrap());
    let verify = docvault_s3::verify::verify_day(
        &store,
        &docvault_s3::verify::VerifyOptions {
            prefix: prefix(),
            date: DATE.parse().unwrap(),
            policy: docvault_core::verify::VerifyPolicy::default(),
            read_fraction: 1.0,
            concurrency: 4,
            manifest_limit: 1 << 30,
        },
    )
    .await
    .unwrap();
    assert!(verify.report.is_clean(), "{:?}", verify.report);
    assert_eq!(verify.report.verified, COUNT);
    // A second commit writes nothing.
    let before = store.writes().len();
    assert!(matches!(
        commit_in_parts(&store).await.unwrap(),
        BackupOutcome::AlreadyComplete { .. }
    ));
    assert_eq!(store.writes().len(), before);

    // A part altered or deleted after the commit: the day no longer loads, and says why.
    let mut body = store.objects()[&parts[1]].body.to_vec();
    let at = body.iter().position(|&b| b == b'1').unwrap();
    body[at] = b'2';
    store.land(&parts[1], &body);
    assert_eq!(load(&store).await.unwrap_err(), "part_altered");
    store.objects().remove(&parts[1]);
    assert_eq!(load(&store).await.unwrap_err(), "part_missing");
}

#[tokio::test]
async fn a_commit_keeps_the_parts_an_earlier_commit_left_and_refuses_foreign_bytes() {
    // The parts' keys and bytes, from a commit of the same day elsewhere.
    let reference = sharded_day().await;
    commit_in_parts(&reference).await.unwrap();
    let parts: Vec<(String, Bytes)> = manifest_part_keys(&reference)
        .into_iter()
        .map(|k| {
            let body = reference.objects()[&k].body.clone();
            (k, body)
        })
        .collect();

    // An earlier commit stopped after two parts: the next one completes the day.
    let store = sharded_day().await;
    for (key, body) in &parts[..2] {
        store.land(key, body);
    }
    let outcome = commit_in_parts(&store).await.unwrap();
    assert!(
        matches!(outcome, BackupOutcome::Completed { .. }),
        "{outcome:?}"
    );
    assert_eq!(load(&store).await.unwrap(), load(&reference).await.unwrap());

    // Other bytes planted at a part's key: the commit refuses and writes no root.
    let store = sharded_day().await;
    store.land(&parts[0].0, b"{}");
    let err = commit_in_parts(&store).await.unwrap_err();
    assert!(matches!(err, ShardError::ForeignPart { .. }), "{err}");
    assert!(err.to_string().contains("delete it"), "{err}");
    assert_eq!(load(&store).await.unwrap(), None, "no root, no day");
}
