//! The native side of `host-node/bench.mjs`: the same work the npm package does, measured
//! natively, printed as one JSON object of median milliseconds.
//!
//! `cargo run --release -p docvault-node --example native_bench [ROUNDS]`
//!
//! * `day/N`: generate a day of N documents (bodies and SHA-256), assemble the manifest, write
//!   its canonical JSON (what `generateManifestJson` does).
//! * `generate/N`: the N records alone (what `generateDocuments` computes).
//! * `build/N`: N records already in memory, assembled and written (what `buildManifestJson`
//!   does once its argument has crossed; hashing excluded, as in `core/benches/core.rs`).
//! * `build-text/N`: the N records as one JSON array text, parsed, assembled and written (what
//!   `buildManifestJsonFromText` does once its string has crossed).
//! * `parse/N`: the manifest text read back and validated (what `validateManifest` does).

use std::hint::black_box;
use std::time::Instant;

use docvault_core::{
    BackupSummary, Document, Generator, GeneratorSpec, Label, Manifest, ManifestHeader,
    SourceDescription,
};

fn spec(count: u64) -> GeneratorSpec {
    GeneratorSpec {
        date: "2026-11-27".parse().expect("date"),
        count,
        seed: 0,
    }
}

fn header(count: u64) -> ManifestHeader {
    ManifestHeader {
        backup_date: spec(count).date,
        backup_timestamp: "2026-11-27T02:00:00Z".parse().expect("timestamp"),
        environment: Label::new("prod").expect("label"),
        run_id: None,
        source: SourceDescription::Generator { count, seed: 0 },
    }
}

fn records(count: u64) -> Vec<Document> {
    let generator = Generator::new(spec(count));
    let mut body = Vec::new();
    (0..count)
        .map(|i| generator.document_into(i, &mut body))
        .collect()
}

/// Median wall time of `rounds` runs of `f` (after one warm-up run), in milliseconds.
fn median_ms<T>(rounds: usize, mut f: impl FnMut() -> T) -> f64 {
    black_box(f());
    let mut times: Vec<f64> = (0..rounds)
        .map(|_| {
            let start = Instant::now();
            black_box(f());
            start.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(15);
    let mut out = Vec::new();
    for count in [500u64, 100_000] {
        let r = if count > 1000 {
            rounds.div_ceil(3)
        } else {
            rounds * 4
        };
        out.push((
            format!("day/{count}"),
            median_ms(r, || {
                let docs = records(count);
                Manifest::assemble(header(count), docs, Vec::new())
                    .expect("assembles")
                    .to_json()
            }),
        ));
        out.push((format!("generate/{count}"), median_ms(r, || records(count))));
        let docs = records(count);
        out.push((
            format!("build/{count}"),
            median_ms(r * 2, || {
                Manifest::assemble(header(count), docs.clone(), Vec::new())
                    .expect("assembles")
                    .to_json()
            }),
        ));
        let records_text = serde_json::to_string(&docs).expect("records serialize");
        out.push((
            format!("build-text/{count}"),
            median_ms(r * 2, || {
                let docs: Vec<Document> = serde_json::from_str(&records_text).expect("records");
                Manifest::assemble(header(count), docs, Vec::new())
                    .expect("assembles")
                    .to_json()
            }),
        ));
        out.push((
            format!("summarize/{count}"),
            median_ms(r * 2, || BackupSummary::of(&docs)),
        ));
        let text = Manifest::assemble(header(count), docs, Vec::new())
            .expect("assembles")
            .to_json();
        out.push((
            format!("parse/{count}"),
            median_ms(r * 2, || Manifest::from_json(&text).expect("valid")),
        ));
    }
    let fields: Vec<String> = out
        .iter()
        .map(|(k, v)| format!("  \"{k}\": {v:.4}"))
        .collect();
    println!("{{\n{}\n}}", fields.join(",\n"));
}
