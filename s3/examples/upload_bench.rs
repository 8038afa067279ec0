//! Upload benchmark harness (not a test): runs docvault's S3 executor against an S3 endpoint
//! and prints one JSON line with wall time, PUT rate, client CPU and peak memory.
//! Driven by `scripts/bench-lambda.sh`; results in BENCHMARKS.md.
//!
//!   upload_bench ENDPOINT BUCKET COUNT SIZE|generated CONCURRENCY [DATE]
//!
//! `SIZE` fixes every body at that many bytes (filled with deterministic text); `generated`
//! backs up the spec's generated day instead. Credentials come from the usual AWS variables.

use std::time::Instant;

use docvault_core::{
    Document, DocumentId, DocumentMetadata, Encryption, GeneratedDocument, Generator,
    GeneratorSpec, Label, Layout, ManifestHeader, PlanOptions, Priority, Sha256Digest,
    SourceDescription,
};
use docvault_s3::executor::{Clock as _, ExecuteOptions, Incoming, SystemClock, execute};
use docvault_s3::lease::LeaseTerms;
use docvault_s3::store::S3Store;

fn proc_status(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        })
        .unwrap_or(0)
}

/// User and system CPU seconds of this process (from /proc/self/stat, 100 ticks/s).
fn cpu_seconds() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let tick = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0) / 100.0;
    (tick(11), tick(12))
}

fn fixed_size_documents(
    date: docvault_core::BackupDate,
    count: u64,
    size: usize,
) -> impl Iterator<Item = GeneratedDocument> {
    let layout = Layout::new(date);
    let label = |s: &str| Label::new(s).expect("label");
    (0..count).map(move |i| {
        let mut body = format!("document {i:08} ").into_bytes();
        while body.len() < size {
            body.extend_from_slice(b"ledger entry amount due net total ");
        }
        body.truncate(size);
        let id = DocumentId::new(&format!("bench_{i:08}")).expect("id");
        GeneratedDocument {
            document: Document {
                object_key: layout.document_key(&id, Some("txt")),
                document_id: id,
                doc_type: label("report"),
                created_date: date.start(),
                file_size: body.len() as u64,
                checksum: Sha256Digest::of(&body),
                content_type: "text/plain".into(),
                source: None,
                parts: None,
                metadata: DocumentMetadata {
                    department: label("operations"),
                    priority: Priority::Medium,
                    confidential: false,
                },
            },
            body,
        }
    })
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 6 {
        eprintln!("usage: upload_bench ENDPOINT BUCKET COUNT SIZE|generated CONCURRENCY [DATE]");
        std::process::exit(2);
    }
    let started = Instant::now();
    let (endpoint, bucket) = (&args[1], &args[2]);
    let count: u64 = args[3].parse().expect("COUNT");
    let concurrency: usize = args[5].parse().expect("CONCURRENCY");
    let date = args
        .get(6)
        .map_or("2026-11-27", String::as_str)
        .parse()
        .expect("DATE");
    let sdk = docvault_s3::sdk::defaults()
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .load()
        .await;
    let client = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(true)
            .build(),
    );
    let store = S3Store::new(client, bucket.clone());
    let env = Label::new("dev").expect("label");
    let header = ManifestHeader {
        backup_date: date,
        backup_timestamp: SystemClock.now().truncate_to_seconds(),
        environment: env.clone(),
        run_id: Some(format!("bench-{}", std::process::id())),
        source: SourceDescription::Generator { count, seed: 0 },
    };
    let options = PlanOptions {
        prefix: docvault_core::KeyPrefix::ROOT,
        environment: env,
        encryption: Encryption::None,
        retention: None,
    };
    let exec = ExecuteOptions {
        concurrency,
        max_attempts: 3,
        manifest_limit: 1 << 30,
        lease: LeaseTerms {
            seconds: 960,
            renew: false,
            retry_takes_over: false,
        },
    };
    let init = started.elapsed().as_secs_f64();
    let t = Instant::now();
    let outcome = if args[4] == "generated" {
        let docs = Generator::new(GeneratorSpec {
            date,
            count,
            seed: 0,
        });
        execute(
            &store,
            header,
            options,
            docs.map(Incoming::from),
            &exec,
            &SystemClock,
        )
        .await
    } else {
        let size: usize = args[4].parse().expect("SIZE");
        execute(
            &store,
            header,
            options,
            fixed_size_documents(date, count, size).map(Incoming::from),
            &exec,
            &SystemClock,
        )
        .await
    }
    .expect("backup runs");
    let elapsed = t.elapsed().as_secs_f64();
    let (user, sys) = cpu_seconds();
    // The documents and the manifest; the day's lease adds three small writes (take, renew
    // before the commit, release), counted apart.
    let puts = outcome.transfer().uploaded + 1;
    println!(
        "{}",
        serde_json::json!({
            "count": count,
            "puts": puts,
            "concurrency": concurrency,
            "init_s": init,
            "elapsed_s": elapsed,
            "puts_per_s": puts as f64 / elapsed,
            "cpu_user_s": user,
            "cpu_sys_s": sys,
            "cpu_ms_per_put": (user + sys) * 1000.0 / puts as f64,
            "max_rss_kb": proc_status("VmHWM:"),
            "lease_puts": 3,
            "complete": matches!(outcome, docvault_s3::executor::BackupOutcome::Completed { .. }),
        })
    );
}
