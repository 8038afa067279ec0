//! Properties of sharded runs: whatever the day and however it is split, the shards cover every
//! document exactly once and their commit is the single run's manifest, byte for byte.

use docvault_core::shard::{Listed, ShardCommit, ShardPlan, Split, WorkLayout};
use docvault_core::{
    BackupRun, Document, Encryption, Generator, GeneratorSpec, KeyPrefix, LockMode, ManifestHeader,
    PlanOptions, Retention, RetentionPolicy, SourceDescription, Stored, Weekday,
};
use proptest::prelude::*;

fn header(count: u64, seed: u64) -> ManifestHeader {
    ManifestHeader {
        backup_date: "2026-12-01".parse().unwrap(),
        backup_timestamp: "2026-12-02T01:00:00Z".parse().unwrap(),
        environment: "prod".parse().unwrap(),
        run_id: Some("nightly".into()),
        source: SourceDescription::Generator { count, seed },
    }
}

fn options(lock: bool) -> PlanOptions {
    PlanOptions {
        prefix: KeyPrefix::parse("p/").unwrap(),
        environment: "prod".parse().unwrap(),
        encryption: Encryption::Kms { key_id: None },
        retention: lock.then(|| Retention {
            policy: RetentionPolicy::new(14, 4, 12, 1, Weekday::Sunday).unwrap(),
            lock: LockMode::Compliance,
        }),
    }
}

fn split() -> impl Strategy<Value = Split> {
    prop_oneof![
        (1u32..12).prop_map(Split::Count),
        (1u64..60, 1_000u64..3_000_000).prop_map(|(max_documents, max_bytes)| Split::Limits {
            max_documents,
            max_bytes
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn shards_cover_every_document_once_and_commit_to_the_single_runs_bytes(
        count in 0u64..160, seed in any::<u64>(), split in split(), lock in any::<bool>(),
        order in any::<u64>(),
    ) {
        let docs: Vec<Document> = Generator::new(GeneratorSpec {
            date: "2026-12-01".parse().unwrap(), count, seed,
        }).map(|g| g.document).collect();
        let listing = docs.iter().map(|d| Listed::new(d.document_id.to_string(), d.file_size)).collect();
        let opts = options(lock);
        let (plan, listings) =
            ShardPlan::split(header(count, seed), opts.retention, listing, split).unwrap();
        prop_assert_eq!(&ShardPlan::from_json(&plan.to_json()).unwrap(), &plan);
        let covered: usize = listings.iter().map(|l| l.documents.len()).sum();
        prop_assert_eq!(covered as u64, count);
        for d in &docs {
            let shard = plan.shard_of(d.document_id.as_str()).unwrap();
            prop_assert!(listings[shard.index as usize].documents.iter()
                .any(|l| l.document_id == d.document_id.as_str()));
        }

        // Each shard's run, then the commit, joining the parts in a shuffled order.
        let mut parts = Vec::new();
        for l in &listings {
            let mut run = BackupRun::for_shard(
                plan.header.clone(), plan.options(opts.clone()), plan.digest(), l.index);
            for entry in &l.documents {
                run.admit(&entry.document_id, None).unwrap();
                let doc = docs.iter().find(|d| d.document_id.as_str() == entry.document_id);
                run.record_stored(doc.unwrap().clone(), Stored::Uploaded).unwrap();
            }
            parts.push((l.index, run.finish().unwrap()));
        }
        let n = parts.len().max(1);
        parts.rotate_left(usize::try_from(order).unwrap_or(0) % n);
        let work = WorkLayout::new(plan.header.backup_date);
        let mut commit = ShardCommit::new(plan.clone(), opts.clone());
        for (index, part) in &parts {
            let prefix = format!("p/{}", work.part_prefix(&plan.digest(), *index));
            let named = WorkLayout::part_digest(&prefix, &part.put.key).unwrap();
            commit.join(*index, named, &part.body).unwrap();
        }
        let committed = commit.finish().unwrap();

        let mut single = BackupRun::new(header(count, seed), opts);
        for d in docs.iter().rev() {
            single.admit(d.document_id.as_str(), None).unwrap();
            single.record_stored(d.clone(), Stored::Uploaded).unwrap();
        }
        let single = single.finish().unwrap();
        prop_assert_eq!(committed.put, single.put);
        prop_assert!(committed.body == single.body);
    }
}
