//! The synthetic daily workload: the spec's 500 business documents a day, with real bodies.
//!
//! Everything is a pure function of `(date, count, seed)`; document `i` depends only on
//! `(date, seed, i)`, so the first ten documents of a 500-document day are the ten documents of
//! a 10-document day. Bodies are produced one at a time into a caller-supplied buffer, so a
//! million-document day never holds more than one body in memory.
//!
//! The attribute rules are the spec's: types cycle through invoice, receipt, contract, report,
//! memo; departments through finance, hr, operations, sales; priorities through low, medium,
//! high; every fifth document (index divisible by 5) is confidential; ids are `{type}_{i:04}`.

use crate::convention;
use crate::layout::Layout;
use crate::model::{
    BackupDate, Document, DocumentId, DocumentMetadata, Label, Priority, Sha256Digest,
};

/// Document types of the synthetic workload, in the spec's order.
pub const DOCUMENT_TYPES: [&str; 5] = ["invoice", "receipt", "contract", "report", "memo"];
/// Departments of the synthetic workload, in the spec's order.
pub const DEPARTMENTS: [&str; 4] = ["finance", "hr", "operations", "sales"];
/// Priorities of the synthetic workload, in the spec's order.
pub const PRIORITIES: [Priority; 3] = [Priority::Low, Priority::Medium, Priority::High];
/// The spec's daily document count.
pub const DEFAULT_COUNT: u64 = 500;
/// Smallest generated body, in bytes.
pub const MIN_BODY: u64 = 512;
/// Largest generated body, in bytes.
pub const MAX_BODY: u64 = 16 * 1024;

/// What to generate: one day of synthetic documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GeneratorSpec {
    /// The day the documents belong to.
    pub date: BackupDate,
    /// How many documents.
    pub count: u64,
    /// Seed: two runs with the same `(date, count, seed)` produce the same bytes.
    pub seed: u64,
}

/// One generated document: its manifest record and its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedDocument {
    /// The manifest record (checksum and size computed from `body`).
    pub document: Document,
    /// The body bytes.
    pub body: Vec<u8>,
}

/// Iterates over a generated day, one document at a time.
#[derive(Debug, Clone)]
pub struct Generator {
    spec: GeneratorSpec,
    layout: Layout,
    next: u64,
    labels: Labels,
}

#[derive(Debug, Clone)]
struct Labels {
    types: [Label; 5],
    departments: [Label; 4],
}

impl Labels {
    fn new() -> Self {
        // The constants above are valid labels; `Label::new` cannot fail on them.
        let label = |s: &str| Label::new(s).unwrap_or_else(|_| unreachable!("constant label {s}"));
        Self {
            types: DOCUMENT_TYPES.map(label),
            departments: DEPARTMENTS.map(label),
        }
    }
}

impl Generator {
    /// A generator for `spec`.
    pub fn new(spec: GeneratorSpec) -> Self {
        Self {
            spec,
            layout: Layout::new(spec.date),
            next: 0,
            labels: Labels::new(),
        }
    }

    /// The spec this generator follows.
    pub fn spec(&self) -> GeneratorSpec {
        self.spec
    }

    /// Generates document `index` (0-based), writing its body into `body` (cleared first) and
    /// returning its record. Reusing one buffer keeps memory flat for any count.
    pub fn document_into(&self, index: u64, body: &mut Vec<u8>) -> Document {
        // Reduce in u64 before indexing: `index as usize` would truncate on 32-bit targets
        // (wasm32) and make them generate other documents than native hosts.
        let kind = (index % 5) as usize;
        let doc_type = &self.labels.types[kind];
        let department = &self.labels.departments[(index % 4) as usize];
        let priority = PRIORITIES[(index % 3) as usize];
        let confidential = index.is_multiple_of(5);
        let mut rng = SplitMix64::new(
            self.spec.seed
                ^ (self.spec.date.days_since_epoch() as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
                ^ index.wrapping_mul(0xD1B5_4A32_D192_ED03),
        );
        // Created during the 24 hours before the backup day starts: the nightly run at 02:00
        // backs up what the business produced the day before.
        let created = self
            .spec
            .date
            .start()
            .plus_seconds(-86_400 + (rng.next() % 86_400) as i64);
        let size = MIN_BODY + rng.next() % (MAX_BODY - MIN_BODY + 1);
        let id = format!("{}_{index:04}", doc_type.as_str());
        let csv = kind < 2;
        let ext = if csv { "csv" } else { "txt" };
        let content_type = convention::content_type(Some(ext));

        body.clear();
        write_header(
            body,
            doc_type.as_str(),
            &id,
            &created.to_string(),
            department.as_str(),
            priority.as_str(),
            confidential,
            self.spec.seed,
        );
        fill_body(body, csv, size as usize, &mut rng);

        let document_id =
            DocumentId::new(&id).unwrap_or_else(|_| unreachable!("generated id {id} is valid"));
        Document {
            object_key: self.layout.document_key(&document_id, Some(ext)),
            document_id,
            doc_type: doc_type.clone(),
            created_date: created,
            file_size: body.len() as u64,
            checksum: Sha256Digest::of(body),
            content_type: compact_str::CompactString::const_new(content_type),
            source: None,
            parts: None,
            metadata: DocumentMetadata {
                department: department.clone(),
                priority,
                confidential,
            },
        }
    }
}

impl Iterator for Generator {
    type Item = GeneratedDocument;

    fn next(&mut self) -> Option<GeneratedDocument> {
        if self.next >= self.spec.count {
            return None;
        }
        let mut body = Vec::new();
        let document = self.document_into(self.next, &mut body);
        self.next += 1;
        Some(GeneratedDocument { document, body })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = usize::try_from(self.spec.count - self.next).unwrap_or(usize::MAX);
        (left, Some(left))
    }
}

#[allow(clippy::too_many_arguments)]
fn write_header(
    body: &mut Vec<u8>,
    doc_type: &str,
    id: &str,
    created: &str,
    department: &str,
    priority: &str,
    confidential: bool,
    seed: u64,
) {
    let title = doc_type.to_ascii_uppercase();
    let conf = if confidential { "yes" } else { "no" };
    let header = format!(
        "{title} {id}\nCreated: {created}\nDepartment: {department}\nPriority: {priority}\n\
         Confidential: {conf}\nGenerator-Seed: {seed}\n\n"
    );
    body.extend_from_slice(header.as_bytes());
}

const WORDS: [&str; 32] = [
    "account",
    "amount",
    "approved",
    "balance",
    "budget",
    "client",
    "contract",
    "credit",
    "delivery",
    "department",
    "due",
    "estimate",
    "freight",
    "goods",
    "hours",
    "invoice",
    "ledger",
    "net",
    "order",
    "paid",
    "payment",
    "period",
    "project",
    "quarter",
    "receipt",
    "renewal",
    "review",
    "service",
    "shipment",
    "supplier",
    "tax",
    "total",
];

/// Appends deterministic text, then cuts `body` to exactly `target` bytes.
/// Tabular types get CSV lines, the others prose.
fn fill_body(body: &mut Vec<u8>, tabular: bool, target: usize, rng: &mut SplitMix64) {
    body.reserve(target.saturating_sub(body.len()));
    if tabular {
        body.extend_from_slice(b"line,item,quantity,unit_price_cents\n");
    }
    let mut line = 1u64;
    while body.len() < target {
        let r = rng.next();
        if tabular {
            let item = WORDS[(r & 31) as usize];
            let qty = (r >> 8) % 100 + 1;
            let price = (r >> 16) % 1_000_000;
            let row = format!("{line},{item},{qty},{price}\n");
            body.extend_from_slice(row.as_bytes());
            line += 1;
        } else {
            for k in 0..8 {
                body.extend_from_slice(WORDS[((r >> (k * 5)) & 31) as usize].as_bytes());
                body.push(if k == 7 { b'\n' } else { b' ' });
            }
        }
    }
    body.truncate(target);
}

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, and fixed forever, so generated bytes never
/// change under a dependency upgrade.
#[derive(Debug, Clone)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn new(seed: u64) -> Self {
        Self(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(count: u64, seed: u64) -> GeneratorSpec {
        GeneratorSpec {
            date: "2026-11-27".parse().unwrap(),
            count,
            seed,
        }
    }

    #[test]
    fn spec_distribution() {
        let docs: Vec<_> = Generator::new(spec(500, 0)).collect();
        assert_eq!(docs.len(), 500);
        let count = |f: &dyn Fn(&Document) -> bool| docs.iter().filter(|d| f(&d.document)).count();
        for t in DOCUMENT_TYPES {
            assert_eq!(count(&|d| d.doc_type.as_str() == t), 100, "{t}");
        }
        for dep in DEPARTMENTS {
            assert_eq!(
                count(&|d| d.metadata.department.as_str() == dep),
                125,
                "{dep}"
            );
        }
        assert_eq!(count(&|d| d.metadata.confidential), 100);
        assert_eq!(docs[7].document.document_id.as_str(), "contract_0007");
        assert_eq!(
            docs[7].document.object_key,
            "backups/2026-11-27/documents/contract_0007.txt"
        );
    }

    #[test]
    fn bodies_are_real_and_checksummed() {
        for g in Generator::new(spec(50, 7)) {
            let d = &g.document;
            assert_eq!(d.file_size, g.body.len() as u64);
            assert!((MIN_BODY..=MAX_BODY).contains(&d.file_size));
            assert_eq!(d.checksum, Sha256Digest::of(&g.body));
            assert!(std::str::from_utf8(&g.body).is_ok());
            assert_eq!(d.created_date.date().to_string(), "2026-11-26");
        }
    }

    #[test]
    fn indices_beyond_u32_keep_the_cycle() {
        let g = Generator::new(spec(0, 0));
        let mut body = Vec::new();
        // (2^32 + 3) % 5 == 4 (memo), while a truncating 32-bit cast would see 3 (report).
        let d = g.document_into((1u64 << 32) + 3, &mut body);
        assert_eq!(
            d.doc_type.as_str(),
            DOCUMENT_TYPES[(((1u64 << 32) + 3) % 5) as usize]
        );
        assert_eq!(d.metadata.department.as_str(), DEPARTMENTS[3]);
    }

    #[test]
    fn prefix_stable_and_seed_sensitive() {
        let a: Vec<_> = Generator::new(spec(10, 1)).collect();
        let b: Vec<_> = Generator::new(spec(500, 1)).take(10).collect();
        assert_eq!(a, b);
        let c: Vec<_> = Generator::new(spec(10, 2)).collect();
        assert!(a.iter().zip(&c).all(|(x, y)| x.body != y.body));
    }
}
