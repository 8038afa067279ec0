//! # docvault-core
//!
//! The pure core of docvault, a daily document backup system. It decides; hosts act.
//!
//! **Contract.** Nothing in this crate reads a clock, draws randomness, reads the environment,
//! touches a filesystem or opens a connection. Time, dates, seeds and run ids are arguments;
//! results are data. The same inputs give the same bytes on every target (native, `wasm32`).
//! clippy's `disallowed-methods` in `core/clippy.toml` enforces it, and the `wasm32-unknown-unknown`
//! build is checked to import nothing.
//!
//! * [`model`]: a business document and its value types (dates, timestamps, SHA-256, labels).
//! * [`generate`]: the spec's synthetic day, with real bodies and real checksums.
//! * [`manifest`]: assembling, writing (canonical JSON), validating and loading a day's manifest.
//! * [`plan`]: upload planning and the run state machine whose last write is the manifest.
//! * [`lease`]: the lease a run holds on its day while it writes.
//! * [`day`]: which day a run backs up, and which days may be backed up.
//! * [`metrics`]: the spec's CloudWatch metrics as data, as EMF and as Prometheus text.
//! * [`verify`]: a stored day compared with its manifest; the one object-identity rule.
//! * [`prune`]: which stored days a policy lets go, and in which order a day is deleted.
//! * [`inventory`]: an S3 Inventory report as a day's source listing.
//! * [`shard`]: one day backed up by many workers, joined into one manifest by a commit.
//! * [`retention`]: how long each day is kept (daily, weekly, monthly, yearly) and its S3 lock.
//! * [`restore`]: which documents a restore copies, to which safe relative paths.
//! * [`report`]: the backup report hosts print and read back.
//! * [`diff`]: two manifests compared.
//! * [`layout`]: object keys, key prefixes and where a restore may write.
//! * [`convention`]: a relative path's document attributes (type, department, content type).
//! * [`text`]: untrusted text made safe to print.

pub mod convention;
pub mod day;
pub mod diff;
pub mod generate;
pub mod inventory;
pub mod layout;
pub mod lease;
pub mod manifest;
pub mod metrics;
pub mod model;
pub mod plan;
pub mod prune;
pub mod report;
pub mod restore;
pub mod retention;
pub mod shard;
pub mod text;
pub mod verify;

pub use generate::{GeneratedDocument, Generator, GeneratorSpec};
pub use layout::{KeyPrefix, Layout};
pub use manifest::{
    AssembleError, BackupStatus, BackupSummary, CommittedError, FailedDocument, FailureStage,
    Manifest, ManifestError, ManifestForm, ManifestHeader, ManifestRoot, SCHEMA_VERSION,
    SourceDescription,
};
pub use metrics::{MetricSet, RunOutcome};
pub use model::{
    BackupDate, Document, DocumentId, DocumentMetadata, Label, PartedHasher, Priority,
    Sha256Digest, Sha256Hasher, Timestamp, UploadParts, ValueError,
};
pub use plan::{
    Admission, BackupRun, Commit, Encryption, ObjectPut, PlanError, PlanOptions, RunScope, Stored,
    Transfer, UploadPlan,
};
pub use retention::{
    DayRetention, LegalHoldRecord, LockMode, ObjectLock, ObservedRetention, Retention,
    RetentionClass, RetentionError, RetentionPolicy, Weekday,
};
pub use verify::{
    ObservedEncryption, ObservedObject, StoreChecksum, VerifyPolicy, VerifyReport, read_sample,
    verify_objects,
};
