use super::*;
use crate::generate::{Generator, GeneratorSpec};
use crate::layout::KeyPrefix;
use crate::manifest::{BackupStatus, ManifestHeader, SourceDescription};
use crate::model::{Document, Sha256Digest};
use crate::plan::{BackupRun, Commit, Encryption, PlanOptions, Stored};
use crate::retention::{LockMode, Retention, RetentionPolicy, Weekday};

fn header(count: u64) -> ManifestHeader {
    ManifestHeader {
        backup_date: "2026-11-27".parse().unwrap(),
        backup_timestamp: "2026-11-28T02:00:00Z".parse().unwrap(),
        environment: "prod".parse().unwrap(),
        run_id: Some("r1".into()),
        source: SourceDescription::Generator { count, seed: 7 },
    }
}

/// The plan of `listing`, with the options' retention.
fn plan_of(
    header: ManifestHeader,
    listing: Vec<Listed>,
    split: Split,
) -> Result<(ShardPlan, Vec<ShardListing>), ShardPlanError> {
    ShardPlan::split(header, options().retention, listing, split)
}

fn options() -> PlanOptions {
    PlanOptions {
        prefix: KeyPrefix::parse("site-a/").unwrap(),
        environment: "prod".parse().unwrap(),
        encryption: Encryption::None,
        retention: Some(Retention {
            policy: RetentionPolicy::new(7, 4, 0, 0, Weekday::Sunday).unwrap(),
            lock: LockMode::Governance,
        }),
    }
}

fn documents(count: u64) -> Vec<Document> {
    Generator::new(GeneratorSpec {
        date: "2026-11-27".parse().unwrap(),
        count,
        seed: 7,
    })
    .map(|g| g.document)
    .collect()
}

fn listing(docs: &[Document]) -> Vec<Listed> {
    docs.iter()
        .map(|d| Listed::new(d.document_id.to_string(), d.file_size))
        .collect()
}

/// The part one shard's run writes: its key and body.
fn run_shard(plan: &ShardPlan, listing: &ShardListing, docs: &[Document]) -> Commit {
    let mut run =
        BackupRun::for_shard(plan.header.clone(), options(), plan.digest(), listing.index);
    for l in &listing.documents {
        run.admit(&l.document_id, None).unwrap();
        let doc = docs
            .iter()
            .find(|d| d.document_id.as_str() == l.document_id)
            .unwrap();
        run.record_stored(doc.clone(), Stored::Uploaded).unwrap();
    }
    run.finish().unwrap()
}

fn single_run(docs: &[Document], count: u64) -> Commit {
    let mut run = BackupRun::new(header(count), options());
    for d in docs {
        run.admit(d.document_id.as_str(), None).unwrap();
        run.record_stored(d.clone(), Stored::Uploaded).unwrap();
    }
    run.finish().unwrap()
}

fn named(plan: &ShardPlan, index: u32, key: &str) -> Sha256Digest {
    let work = WorkLayout::new(plan.header.backup_date);
    let prefix = format!("site-a/{}", work.part_prefix(&plan.digest(), index));
    WorkLayout::part_digest(&prefix, key).expect("a part key")
}

#[test]
fn a_count_split_makes_contiguous_balanced_shards_that_cover_every_id_once() {
    let docs = documents(1000);
    let (plan, listings) = plan_of(header(1000), listing(&docs), Split::Count(8)).unwrap();
    assert_eq!(plan.shards.len(), 8);
    assert_eq!(plan.total_documents, 1000);
    let mut all: Vec<&str> = listings
        .iter()
        .flat_map(|l| l.documents.iter().map(|d| d.document_id.as_str()))
        .collect();
    assert!(all.is_sorted(), "shards follow each other in id order");
    all.dedup();
    assert_eq!(all.len(), 1000);
    let work = |s: &Shard| s.bytes + s.documents * plan::REQUEST_WEIGHT_BYTES;
    let total: u64 = plan.shards.iter().map(work).sum();
    for s in &plan.shards {
        // Each shard is within one document of an eighth of the work.
        assert!(work(s).abs_diff(total / 8) < 200_000, "{s:?}");
        assert_eq!(plan.shard_of(&s.first_id).unwrap().index, s.index);
        assert_eq!(plan.shard_of(&s.last_id).unwrap().index, s.index);
    }
    assert!(plan.shard_of("").is_none());
    assert!(plan.shard_of("\u{10ffff}").is_none());
    for l in &listings {
        assert_eq!(l.plan_sha256, plan.digest());
    }
}

#[test]
fn limits_bound_every_shard_and_few_documents_make_few_shards() {
    let docs = documents(500);
    let max_bytes = 3_000_000;
    let (plan, _) = plan_of(
        header(500),
        listing(&docs),
        Split::Limits {
            max_documents: 40,
            max_bytes,
        },
    )
    .unwrap();
    assert!(plan.shards.len() >= 500 / 40);
    for s in &plan.shards {
        assert!(
            s.documents <= 40 && (s.bytes <= max_bytes || s.documents == 1),
            "{s:?}"
        );
    }
    let (plan, _) = plan_of(header(3), listing(&documents(3)), Split::Count(10)).unwrap();
    assert_eq!(plan.shards.len(), 3, "never an empty shard");
    let (plan, listings) = plan_of(header(0), Vec::new(), Split::Count(4)).unwrap();
    assert!(plan.shards.is_empty() && listings.is_empty());
}

#[test]
fn a_listing_with_a_duplicate_or_a_zero_split_is_refused() {
    let mut l = listing(&documents(5));
    l.push(l[2].clone());
    let e = plan_of(header(5), l.clone(), Split::Count(2)).unwrap_err();
    assert_eq!(e.code(), "duplicate_document_id");
    l.pop();
    for split in [
        Split::Count(0),
        Split::Count(plan::MAX_SHARDS + 1),
        Split::Limits {
            max_documents: 0,
            max_bytes: 1,
        },
    ] {
        let e = plan_of(header(5), l.clone(), split).unwrap_err();
        assert_eq!(e.code(), "invalid_split", "{split:?}");
    }
}

#[test]
fn a_plan_reads_back_as_itself_and_a_tampered_plan_is_refused() {
    let docs = documents(50);
    let (plan, listings) = plan_of(header(50), listing(&docs), Split::Count(4)).unwrap();
    let text = plan.to_json();
    assert_eq!(ShardPlan::from_json(&text).unwrap(), plan);
    assert_eq!(Sha256Digest::of(text.as_bytes()), plan.digest());
    let listing_text = listings[1].to_json();
    let back = ShardListing::from_json(&listing_text, plan.digest(), &plan.shards[1]).unwrap();
    assert_eq!(back, listings[1]);
    assert_eq!(
        ShardListing::from_json(&listing_text, plan.digest(), &plan.shards[2])
            .unwrap_err()
            .code(),
        "invalid_shards"
    );

    assert_eq!(
        plan.items_json(),
        r#"[{"index":0},{"index":1},{"index":2},{"index":3}]"#
    );
    // Adopting another run's header is splitting under it.
    let mut other = header(50);
    other.run_id = Some("r9".into());
    let (split_under, listings_under) =
        plan_of(other.clone(), listing(&docs), Split::Count(4)).unwrap();
    let mut adopted_listings = listings.clone();
    let adopted = plan.clone().with_header(other, &mut adopted_listings);
    assert_eq!((adopted, adopted_listings), (split_under, listings_under));
    let mut grown = plan.clone();
    grown.total_documents += 1;
    assert_eq!(
        ShardPlan::from_json(&grown.to_json()).unwrap_err().code(),
        "invalid_shards"
    );
    let mut swapped = plan.clone();
    swapped.shards.swap(0, 1);
    assert_eq!(
        ShardPlan::from_json(&swapped.to_json()).unwrap_err().code(),
        "invalid_shards"
    );
    let mut other = plan;
    other.format = "docvault-shard-plan/9".into();
    assert_eq!(
        ShardPlan::from_json(&other.to_json()).unwrap_err().code(),
        "unsupported_format"
    );
    assert_eq!(
        ShardPlan::from_json("[").unwrap_err().code(),
        "invalid_json"
    );
}

#[test]
fn the_committed_manifest_is_byte_for_byte_the_single_runs() {
    for (count, n) in [(0u64, 3u32), (1, 1), (37, 5), (500, 10)] {
        let docs = documents(count);
        let (plan, listings) = plan_of(header(count), listing(&docs), Split::Count(n)).unwrap();
        let mut commit = ShardCommit::new(plan.clone(), options());
        for l in &listings {
            let part = run_shard(&plan, l, &docs);
            assert!(part.put.if_none_match, "a part is written create-only");
            assert_eq!(part.put.lock, None, "work is never locked");
            assert!(
                part.put.key.starts_with("site-a/work/2026-11-27/"),
                "{}",
                part.put.key
            );
            commit
                .join(l.index, named(&plan, l.index, &part.put.key), &part.body)
                .unwrap();
        }
        let committed = commit.finish().unwrap();
        let single = single_run(&docs, count);
        assert!(committed.is_complete());
        assert_eq!(committed.put, single.put, "{count} documents in {n} shards");
        assert_eq!(
            committed.body, single.body,
            "{count} documents in {n} shards"
        );
    }
}

#[test]
fn a_day_larger_than_a_part_commits_in_parts_that_join_to_the_single_runs_manifest() {
    let docs = documents(37);
    let (plan, listings) = plan_of(header(37), listing(&docs), Split::Count(4)).unwrap();
    let mut commit = ShardCommit::new(plan.clone(), options()).with_part_documents(10);
    for l in &listings {
        let part = run_shard(&plan, l, &docs);
        commit
            .join(l.index, named(&plan, l.index, &part.put.key), &part.body)
            .unwrap();
    }
    let committed = commit.finish().unwrap();
    let single = single_run(&docs, 37);
    assert_eq!(committed.manifest, single.manifest);
    assert_eq!(committed.parts.len(), 4, "37 documents in parts of 10");
    // The root goes where the one-document manifest would, the same way.
    assert_eq!(committed.put.key, single.put.key);
    assert!(committed.put.if_none_match);
    assert_eq!(committed.put.lock, single.put.lock);
    for (put, body) in &committed.parts {
        assert!(put.if_none_match, "a part is written create-only");
        assert_eq!(put.lock, single.put.lock, "a part is locked like the day");
        assert!(
            put.key
                .starts_with("site-a/backups/2026-11-27/manifest-parts/")
        );
        assert_eq!(put.content_length, body.len() as u64);
    }
    let text = std::str::from_utf8(&committed.body).unwrap();
    let crate::manifest::ManifestForm::Parted(mut join) =
        crate::manifest::ManifestForm::from_json(text).unwrap()
    else {
        panic!("a root");
    };
    for (_, body) in &committed.parts {
        join.add(body).unwrap();
    }
    assert_eq!(join.finish().unwrap(), single.manifest);
}

#[test]
fn a_missing_or_refused_part_makes_an_incomplete_report_that_names_its_documents() {
    let docs = documents(60);
    let (plan, listings) = plan_of(header(60), listing(&docs), Split::Count(3)).unwrap();
    let parts: Vec<Commit> = listings
        .iter()
        .map(|l| run_shard(&plan, l, &docs))
        .collect();
    let mut commit = ShardCommit::new(plan.clone(), options());
    commit
        .join(0, named(&plan, 0, &parts[0].put.key), &parts[0].body)
        .unwrap();
    commit
        .join(2, named(&plan, 2, &parts[2].put.key), &parts[2].body)
        .unwrap();
    assert_eq!(commit.unsettled().collect::<Vec<_>>(), [1]);
    let problem = PartProblem::Missing { index: 1 };
    // Not yet: shard 1 is neither joined nor recorded.
    let early = ShardCommit::new(plan.clone(), options());
    assert_eq!(early.finish().unwrap_err().code(), "shard_unsettled");
    // Another shard's listing is refused.
    let mut wrong = listings[0].clone();
    wrong.index = 1;
    assert_eq!(
        commit.unaccounted(wrong, &problem).unwrap_err().code(),
        "wrong_listing"
    );
    commit.unaccounted(listings[1].clone(), &problem).unwrap();
    let report = commit.finish().unwrap();
    assert!(!report.is_complete());
    assert!(!report.put.if_none_match);
    assert!(
        report.put.key.contains("/incomplete/"),
        "{}",
        report.put.key
    );
    let m = &report.manifest;
    assert_eq!(
        m.total_documents + m.total_failed,
        60,
        "nothing planned is left out"
    );
    assert_eq!(m.total_failed, plan.shards[1].documents);
    assert!(
        m.failed_documents[0]
            .reason
            .contains("shard 1 has no complete part")
    );
}

#[test]
fn an_altered_foreign_or_short_part_is_refused() {
    let docs = documents(40);
    let (plan, listings) = plan_of(header(40), listing(&docs), Split::Count(2)).unwrap();
    let part = run_shard(&plan, &listings[0], &docs);
    let digest = named(&plan, 0, &part.put.key);
    let mut commit = ShardCommit::new(plan.clone(), options());

    // One byte changed: no longer the bytes its name records.
    let mut altered = part.body.clone();
    let at = altered.iter().position(|&b| b == b'7').unwrap();
    altered[at] = b'8';
    assert_eq!(
        commit.join(0, digest, &altered).unwrap_err().code(),
        "part_altered"
    );
    // Renamed after the edit: the content checks catch what the name cannot.
    let renamed = Sha256Digest::of(&altered);
    let code = commit.join(0, renamed, &altered).unwrap_err().code();
    assert!(
        ["part_invalid", "part_not_the_plans", "part_unaccounted"].contains(&code),
        "{code}"
    );
    // Another shard's part under this shard's index.
    let other = run_shard(&plan, &listings[1], &docs);
    let e = commit
        .join(0, named(&plan, 1, &other.put.key), &other.body)
        .unwrap_err();
    assert_eq!(e.code(), "part_unaccounted");
    // A part of another run of the day (another header).
    let mut foreign_header = plan.header.clone();
    foreign_header.run_id = Some("r2".into());
    let (foreign, foreign_listings) =
        plan_of(foreign_header, listing(&docs), Split::Count(2)).unwrap();
    let foreign_part = run_shard(&foreign, &foreign_listings[0], &docs);
    let e = commit
        .join(0, Sha256Digest::of(&foreign_part.body), &foreign_part.body)
        .unwrap_err();
    assert_eq!(e.code(), "part_not_the_plans");
    // A part that left a document out.
    let mut short = listings[0].clone();
    short.documents.pop();
    let short_part = run_shard(&plan, &short, &docs);
    let e = commit
        .join(0, Sha256Digest::of(&short_part.body), &short_part.body)
        .unwrap_err();
    assert_eq!(
        e,
        PartProblem::Unaccounted {
            index: 0,
            planned: listings[0].documents.len() as u64,
            found: listings[0].documents.len() as u64 - 1
        }
    );
    // Not a manifest at all.
    let e = commit.join(0, Sha256Digest::of(b"{}"), b"{}").unwrap_err();
    assert_eq!(e.code(), "part_invalid");
    // The real part still joins, once.
    commit.join(0, digest, &part.body).unwrap();
    assert_eq!(
        commit.join(0, digest, &part.body).unwrap_err().code(),
        "part_not_the_plans"
    );
}

#[test]
fn a_shard_with_a_failure_writes_a_replaceable_report_not_a_part() {
    let docs = documents(10);
    let (plan, listings) = plan_of(header(10), listing(&docs), Split::Count(2)).unwrap();
    let mut run = BackupRun::for_shard(
        plan.header.clone(),
        options(),
        plan.digest(),
        listings[1].index,
    );
    for l in &listings[1].documents {
        run.admit(&l.document_id, None).unwrap();
        run.record_failed(crate::manifest::FailedDocument {
            document_id: l.document_id.clone(),
            source: None,
            stage: crate::manifest::FailureStage::Read,
            reason: "unreadable".into(),
            attempts: 1,
        })
        .unwrap();
    }
    let report = run.finish().unwrap();
    assert_eq!(report.manifest.status, BackupStatus::Incomplete);
    assert!(
        !report.put.if_none_match,
        "the shard's next run replaces it"
    );
    assert!(
        report.put.key.ends_with("/incomplete-00001.json"),
        "{}",
        report.put.key
    );
}

#[test]
fn a_shard_without_a_part_is_recorded_by_its_own_report_when_it_accounts_for_the_shard() {
    let docs = documents(30);
    let (plan, listings) = plan_of(header(30), listing(&docs), Split::Count(3)).unwrap();
    // Shard 1 stored all but one document; its report says which and why.
    let mut run = BackupRun::for_shard(
        plan.header.clone(),
        options(),
        plan.digest(),
        listings[1].index,
    );
    let (bad, good) = listings[1].documents.split_first().unwrap();
    for l in good {
        run.admit(&l.document_id, None).unwrap();
        let doc = docs
            .iter()
            .find(|d| d.document_id.as_str() == l.document_id)
            .unwrap();
        run.record_stored(doc.clone(), Stored::Uploaded).unwrap();
    }
    run.admit(&bad.document_id, None).unwrap();
    run.record_failed(crate::manifest::FailedDocument {
        document_id: bad.document_id.clone(),
        source: Some("/src/x".into()),
        stage: crate::manifest::FailureStage::Read,
        reason: "permission denied".into(),
        attempts: 2,
    })
    .unwrap();
    let report = run.finish().unwrap();

    let mut commit = ShardCommit::new(plan.clone(), options());
    // Another shard's report does not stand for this one.
    let other = run_shard(&plan, &listings[2], &docs);
    assert!(commit.record_report(1, &other.body).is_err());
    for i in [0, 2] {
        let part = run_shard(&plan, &listings[i as usize], &docs);
        commit
            .join(i, named(&plan, i, &part.put.key), &part.body)
            .unwrap();
    }
    commit.record_report(1, &report.body).unwrap();
    let day = commit.finish().unwrap();
    assert!(!day.is_complete());
    let m = &day.manifest;
    assert_eq!(
        (m.total_documents, m.total_failed),
        (29, 1),
        "what the shard stored is kept"
    );
    assert_eq!(m.failed_documents[0].reason, "permission denied");
    assert_eq!(m.failed_documents[0].attempts, 2);
}
