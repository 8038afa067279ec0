//! Times the phases of assembling and writing a large manifest (a profiling aid; the numbers
//! that count are criterion's, in BENCHMARKS.md). `cargo run --release -p docvault-tests
//! --example phases -- 1000000`
use std::time::Instant;

use docvault_core::{Generator, GeneratorSpec, Label, Manifest, ManifestHeader, SourceDescription};

fn main() {
    let count: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let spec = GeneratorSpec {
        date: "2026-11-27".parse().expect("date"),
        count,
        seed: 0,
    };
    let g = Generator::new(spec);
    let mut body = Vec::new();
    let docs: Vec<_> = (0..count).map(|i| g.document_into(i, &mut body)).collect();
    let header = ManifestHeader {
        backup_date: spec.date,
        backup_timestamp: "2026-11-27T02:00:00Z".parse().expect("timestamp"),
        environment: Label::new("prod").expect("label"),
        run_id: None,
        source: SourceDescription::Generator { count, seed: 0 },
    };
    for _ in 0..3 {
        let d = docs.clone();
        let t = Instant::now();
        let m = Manifest::assemble(header.clone(), d, Vec::new()).expect("assembles");
        let t1 = t.elapsed();
        let s = m.to_json();
        let t2 = t.elapsed();
        let t4 = Instant::now();
        m.write_json(std::io::sink()).expect("sink");
        eprintln!("write_json to sink {:?}", t4.elapsed());
        let t4 = Instant::now();
        let r = m.to_json_reference();
        eprintln!("serde reference {:?} equal {}", t4.elapsed(), r == s);
        let t2 = t2 + (Instant::now() - t4) + t4.elapsed() - t4.elapsed();
        drop(m);
        let t3 = t.elapsed();
        eprintln!(
            "assemble {t1:?} serialize {:?} drop {:?} total {t3:?} ({} bytes)",
            t2 - t1,
            t3 - t2,
            s.len()
        );
    }
    let mut d = docs.clone();
    let t = Instant::now();
    d.sort_unstable_by(|a, b| a.document_id.cmp(&b.document_id));
    eprintln!("sort alone {:?}", t.elapsed());
    let d2 = d.clone();
    let t = Instant::now();
    let m = Manifest::assemble(header.clone(), d2, Vec::new()).expect("assembles");
    eprintln!("assemble of sorted input {:?}", t.elapsed());
    drop(m);
    let t = Instant::now();
    let s = docvault_core::BackupSummary::of(&d);
    eprintln!("summary alone {:?} {}", t.elapsed(), s.total_size_bytes);
    let t = Instant::now();
    let mut order: Vec<usize> = (0..d.len()).collect();
    order.sort_unstable_by(|&a, &b| d[a].object_key.cmp(&d[b].object_key));
    eprintln!("key index sort alone {:?}", t.elapsed());
    eprintln!(
        "size_of Document = {}",
        std::mem::size_of::<docvault_core::Document>()
    );
}
