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
//! * [`manifest`]: assembling, writing (canonical JSON) and validating a day's manifest.
//! * [`plan`]: upload planning and the run state machine whose last write is the manifest.
//! * [`metrics`]: the spec's CloudWatch metrics as data, as EMF and as Prometheus text.
//! * [`verify`]: a stored day compared with its manifest.
//! * [`diff`]: two manifests compared.
//! * [`layout`]: object keys.
//! * [`convention`]: a relative path's document attributes (type, department, content type).

pub mod convention;
pub mod diff;
pub mod generate;
mod json;
pub mod layout;
pub mod manifest;
pub mod metrics;
pub mod model;
pub mod plan;
pub mod verify;

pub use generate::{GeneratedDocument, Generator, GeneratorSpec};
pub use layout::Layout;
pub use manifest::{
    AssembleError, BackupStatus, BackupSummary, FailedDocument, FailureStage, Manifest,
    ManifestError, ManifestHeader, SCHEMA_VERSION, SourceDescription,
};
pub use metrics::{MetricSet, RunOutcome};
pub use model::{
    BackupDate, Document, DocumentId, DocumentMetadata, Label, PartedHasher, Priority,
    Sha256Digest, Sha256Hasher, Timestamp, UploadParts, ValueError,
};
pub use plan::{BackupRun, Commit, Encryption, ObjectPut, PlanError, PlanOptions, UploadPlan};
pub use verify::{
    ObservedEncryption, ObservedObject, VerifyReport, read_sample, verify_objects_expecting,
};
