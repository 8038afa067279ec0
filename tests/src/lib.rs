//! Fixed inputs shared by docvault's cross-host tests.
//!
//! Each golden case is a manifest built from pinned inputs (date, time, count, seed, run id):
//! nothing is read from a clock, so the expected bytes are stored as plain files in
//! `tests/golden/` and every host (native, `wasmtime run`, Node) must reproduce them exactly.
//!
//! Update the files after an intended format change with
//! `UPDATE_GOLDEN=1 cargo test -p docvault-tests --test golden`, and review the diff.

use std::path::PathBuf;

use docvault_core::manifest::PartedManifest;
use docvault_core::{
    BackupRun, Encryption, FailedDocument, FailureStage, Generator, GeneratorSpec, KeyPrefix,
    Label, LockMode, Manifest, ManifestHeader, PlanOptions, Retention, RetentionPolicy,
    SourceDescription, Stored, Weekday,
};

/// The directory holding the golden files.
pub fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("golden")
}

/// One golden case: a file name and how to build its manifest.
#[derive(Debug, Clone, Copy)]
pub struct GoldenCase {
    /// File name under `tests/golden/`.
    pub file: &'static str,
    /// The CLI arguments that print the same manifest, when the CLI can (no failures).
    pub cli_args: Option<&'static [&'static str]>,
    build: fn() -> Manifest,
}

impl GoldenCase {
    /// Builds the manifest from the pinned inputs.
    pub fn manifest(&self) -> Manifest {
        (self.build)()
    }
}

/// Every golden case.
pub const CASES: &[GoldenCase] = &[
    GoldenCase {
        file: "manifest-500-2026-11-27.json",
        cli_args: Some(&[
            "manifest",
            "--generate",
            "500",
            "--date",
            "2026-11-27",
            "--at",
            "2026-11-27T02:00:00Z",
        ]),
        build: || generated(500, 0, "prod", None, &[]),
    },
    GoldenCase {
        file: "manifest-empty-2026-11-27.json",
        cli_args: Some(&[
            "manifest",
            "--generate",
            "0",
            "--date",
            "2026-11-27",
            "--at",
            "2026-11-27T02:00:00Z",
        ]),
        build: || generated(0, 0, "prod", None, &[]),
    },
    GoldenCase {
        file: "manifest-failed-2026-11-27.json",
        cli_args: None,
        build: || {
            generated(
                20,
                42,
                "staging",
                Some("golden-run-1"),
                &[
                    (
                        3,
                        FailureStage::Read,
                        "permission denied reading the source object",
                    ),
                    (
                        7,
                        FailureStage::Store,
                        "BadDigest: the body did not match x-amz-checksum-sha256",
                    ),
                    (11, FailureStage::Store, "SlowDown after 4 attempts"),
                ],
            )
        },
    },
    GoldenCase {
        file: "manifest-retention-daily-2026-11-27.json",
        cli_args: None,
        build: || retained("2026-11-27"),
    },
    GoldenCase {
        file: "manifest-retention-weekly-2026-11-29.json",
        cli_args: None,
        build: || retained("2026-11-29"),
    },
    GoldenCase {
        file: "manifest-retention-monthly-2026-12-01.json",
        cli_args: None,
        build: || retained("2026-12-01"),
    },
    GoldenCase {
        file: "manifest-retention-yearly-2027-01-01.json",
        cli_args: None,
        build: || retained("2027-01-01"),
    },
];

/// The golden day written in parts (`tests/golden/parted-2026-11-27/`, laid out as a day's
/// folder: `manifest.json`, the root, and `manifest-parts/`): the daily retention case
/// (`manifest-retention-daily-2026-11-27.json`) in parts of [`PARTED_DOCUMENTS`] documents.
pub const PARTED_DIR: &str = "parted-2026-11-27";

/// Documents per part of the golden day in parts.
pub const PARTED_DOCUMENTS: u64 = 2;

/// The golden day in parts, built.
pub fn parted() -> PartedManifest {
    retained("2026-11-27")
        .to_parted(PARTED_DOCUMENTS)
        .expect("a complete day with documents")
}

/// The files of the golden day in parts, relative to [`PARTED_DIR`], with their bytes.
pub fn parted_files() -> Vec<(String, Vec<u8>)> {
    let parted = parted();
    let day = docvault_core::Layout::new(parted.root.backup_date);
    let mut files = vec![("manifest.json".to_owned(), parted.root_json.clone())];
    for (part, body) in parted.root.parts.iter().zip(parted.parts) {
        let below = part
            .key
            .strip_prefix(day.day_prefix())
            .expect("a part key is below its day");
        files.push((below.to_owned(), body));
    }
    files
}

/// The retention of the golden retention cases: 7 dailies, 4 weeklies (Sundays), 12
/// monthlies, 7 yearlies, compliance lock.
pub fn golden_retention() -> Retention {
    Retention {
        policy: RetentionPolicy::new(7, 4, 12, 7, Weekday::Sunday).expect("a valid policy"),
        lock: LockMode::Compliance,
    }
}

/// Five generated documents of `date`, backed up through a [`BackupRun`] with
/// [`golden_retention`]: the run decides the day's class and records it.
pub fn retained(date: &str) -> Manifest {
    let date = date.parse().expect("valid date");
    let spec = GeneratorSpec {
        date,
        count: 5,
        seed: 7,
    };
    let header = ManifestHeader {
        backup_date: date,
        backup_timestamp: date
            .next_day()
            .expect("a later day")
            .start()
            .plus_seconds(7200),
        environment: Label::new("prod").expect("valid environment"),
        run_id: None,
        source: SourceDescription::Generator { count: 5, seed: 7 },
    };
    let mut run = BackupRun::new(
        header,
        PlanOptions {
            prefix: KeyPrefix::ROOT,
            environment: Label::new("prod").expect("valid environment"),
            encryption: Encryption::None,
            retention: Some(golden_retention()),
        },
    );
    for g in Generator::new(spec) {
        run.admit(g.document.document_id.as_str(), None)
            .expect("unique ids");
        run.record_stored(g.document, Stored::Uploaded)
            .expect("admitted");
    }
    run.finish().expect("every document stored").manifest
}

/// A generated day where the listed documents failed instead of being stored.
pub fn generated(
    count: u64,
    seed: u64,
    environment: &str,
    run_id: Option<&str>,
    failures: &[(u64, FailureStage, &str)],
) -> Manifest {
    let spec = GeneratorSpec {
        date: "2026-11-27".parse().expect("valid date"),
        count,
        seed,
    };
    let header = ManifestHeader {
        backup_date: spec.date,
        backup_timestamp: "2026-11-27T02:00:00Z".parse().expect("valid timestamp"),
        environment: Label::new(environment).expect("valid environment"),
        run_id: run_id.map(str::to_owned),
        source: SourceDescription::Generator { count, seed },
    };
    let mut stored = Vec::new();
    let mut failed = Vec::new();
    for (i, g) in Generator::new(spec).enumerate() {
        match failures.iter().find(|f| f.0 == i as u64) {
            Some(&(_, stage, reason)) => failed.push(FailedDocument {
                document_id: g.document.document_id.to_string(),
                source: None,
                stage,
                reason: reason.to_owned(),
                attempts: if stage == FailureStage::Read { 1 } else { 4 },
            }),
            None => stored.push(g.document),
        }
    }
    Manifest::assemble(header, stored, failed).expect("golden inputs assemble")
}
