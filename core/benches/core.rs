//! Criterion benchmarks of docvault-core (`cargo bench -p docvault-core`).
//!
//! * `manifest/assemble+serialize/N`: a day of N documents (already hashed: content hashing is
//!   excluded, as the target says) assembled into a manifest and written as canonical JSON.
//! * `manifest/assemble+serialize/in-id-order/N`: the same with the documents handed over in id
//!   order, as a `BackupRun` holds them (no sort).
//! * `manifest/to_json/N`: serialization alone into a freshly allocated `String`.
//! * `manifest/parse+validate/N`: the same text read back as untrusted input.
//! * `sha256/BLOCK`: SHA-256 throughput of the `sha2` crate (SHA-NI picked at run time).
//!
//! Results and the machine are recorded in BENCHMARKS.md.

use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use docvault_core::{
    Document, Generator, GeneratorSpec, Label, Manifest, ManifestHeader, Sha256Digest,
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

/// Generation order (not sorted by id), as a host would hand documents over.
fn documents(count: u64) -> Vec<Document> {
    let generator = Generator::new(spec(count));
    let mut body = Vec::new();
    (0..count)
        .map(|i| generator.document_into(i, &mut body))
        .collect()
}

fn manifest(c: &mut Criterion) {
    let mut group = c.benchmark_group("manifest");
    for count in [500u64, 100_000, 1_000_000] {
        if count >= 1_000_000 {
            group.sample_size(10);
        } else if count >= 100_000 {
            group.sample_size(20);
        }
        let docs = documents(count);
        group.throughput(Throughput::Elements(count));
        // Serialized into a reused buffer: the cost of producing the bytes, not of the kernel
        // handing out fresh pages (that is `to_json/N` below).
        let mut buf: Vec<u8> = Vec::with_capacity(count as usize * 400 + 4096);
        let mut in_id_order = docs.clone();
        in_id_order.sort_by(|a, b| a.document_id.cmp(&b.document_id));
        // Generation order makes the sort real work; id order is how a `BackupRun` (and so
        // every host that records its outcomes in one) hands its documents over.
        for (name, docs) in [
            ("assemble+serialize", &docs),
            ("assemble+serialize/in-id-order", &in_id_order),
        ] {
            group.bench_function(format!("{name}/{count}"), |b| {
                b.iter_batched(
                    || docs.clone(),
                    |docs| {
                        let m =
                            Manifest::assemble(header(count), docs, Vec::new()).expect("assembles");
                        buf.clear();
                        m.write_json(&mut buf).expect("in memory");
                        black_box(buf.len());
                        m
                    },
                    BatchSize::LargeInput,
                );
            });
        }
        drop((buf, in_id_order));
        let manifest = Manifest::assemble(header(count), docs, Vec::new()).expect("assembles");
        group.bench_function(format!("to_json/{count}"), |b| {
            b.iter(|| black_box(manifest.to_json()));
        });
        let text = manifest.to_json();
        group.bench_function(format!("parse+validate/{count}"), |b| {
            b.iter(|| black_box(Manifest::from_json(black_box(&text)).expect("valid")));
        });
    }
    group.finish();
}

fn sha256(c: &mut Criterion) {
    let mut group = c.benchmark_group("sha256");
    for size in [16 * 1024usize, 1024 * 1024] {
        let data = vec![0x5au8; size];
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_function(format!("{}KiB", size / 1024), |b| {
            b.iter(|| black_box(Sha256Digest::of(black_box(&data))));
        });
    }
    group.finish();
}

criterion_group!(benches, manifest, sha256);
criterion_main!(benches);
