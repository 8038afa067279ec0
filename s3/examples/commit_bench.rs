//! The commit of a sharded day, measured: N generated documents in shards of S, each shard's
//! part built as a worker builds it, then the commit (every part parsed, checked against the
//! plan and joined, the day's manifest assembled and written) timed, with the peak memory.
//!
//! ```text
//! cargo run --release -p docvault-s3 --example commit_bench -- 1000000 100000
//! ```
//! Prints one line: documents, shards, parts' bytes, commit seconds, manifest bytes, and the
//! peak RSS of the whole process (the commit's peak is the highest point: the joined records
//! and the manifest's text; the records it was built from are dropped before it starts).

use std::time::Instant;

use docvault_core::shard::{Listed, ShardCommit, ShardPlan, Split, WorkLayout};
use docvault_core::{
    BackupRun, Encryption, Generator, GeneratorSpec, KeyPrefix, ManifestHeader, PlanOptions,
    SourceDescription, Stored,
};

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let count: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let per_shard: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let date = "2026-11-27".parse().expect("a date");
    let header = ManifestHeader {
        backup_date: date,
        backup_timestamp: "2026-11-28T02:00:00Z".parse().expect("a time"),
        environment: "prod".parse().expect("a label"),
        run_id: Some("bench".into()),
        source: SourceDescription::Generator { count, seed: 1 },
    };
    let options = PlanOptions {
        prefix: KeyPrefix::ROOT,
        environment: "prod".parse().expect("a label"),
        encryption: Encryption::None,
        retention: None,
    };
    // Records only (the bodies are not needed to build parts).
    let mut documents: Vec<_> = Generator::new(GeneratorSpec {
        date,
        count,
        seed: 1,
    })
    .map(|g| g.document)
    .collect();
    // In id order, as the plan's shards list them.
    documents.sort_by(|a, b| a.document_id.cmp(&b.document_id));
    let listing = documents
        .iter()
        .map(|d| Listed::new(d.document_id.to_string(), d.file_size))
        .collect();
    let split = Split::Limits {
        max_documents: per_shard,
        max_bytes: u64::MAX,
    };
    let (plan, listings) =
        ShardPlan::split(header, None, listing, split).expect("a listing that splits");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut parts = Vec::new();
    let mut part_bytes = 0usize;
    let mut next = 0;
    for l in &listings {
        let mut run =
            BackupRun::for_shard(plan.header.clone(), options.clone(), plan.digest(), l.index);
        for _ in &l.documents {
            let d = documents[next].clone();
            next += 1;
            run.admit(d.document_id.as_str(), None).expect("admitted");
            run.record_stored(d, Stored::Uploaded).expect("recorded");
        }
        let part = run.finish().expect("a part");
        let prefix = WorkLayout::new(date).part_prefix(&plan.digest(), l.index);
        let named = WorkLayout::part_digest(&prefix, &part.put.key).expect("a part key");
        // Parts wait on disk, as they wait in S3: the commit reads one at a time.
        let path = dir.path().join(format!("part-{}", l.index));
        std::fs::write(&path, &part.body).expect("a part written");
        part_bytes += part.body.len();
        parts.push((l.index, named, path));
    }
    drop(documents);
    drop(listings);
    let shards = parts.len();

    let started = Instant::now();
    let mut commit = ShardCommit::new(plan, options);
    // Each part is read, joined and dropped in turn, as the S3 layer does.
    for (index, named, path) in parts.drain(..) {
        let body = std::fs::read(&path).expect("a part read");
        commit.join(index, named, &body).expect("a part that joins");
    }
    let done = commit.finish().expect("a manifest");
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "documents={count} shards={shards} parts_bytes={part_bytes} commit_s={seconds:.2} \
         manifest_bytes={} complete={} peak_rss_mib={:.0}",
        done.body.len(),
        done.is_complete(),
        peak_rss_mib()
    );
}
