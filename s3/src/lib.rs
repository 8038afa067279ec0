//! # docvault-s3
//!
//! docvault's S3 layer, shared by every host that talks to S3 (the Lambda, the sandbox runner):
//! the object store port and its aws-sdk-s3 implementation, the backup executor, the day's
//! lease, verification and restores, checked streams, S3's limits, `s3://` locations and the
//! metrics sink.
//!
//! **Contract.** The core decides (keys, headers, checksums, when the manifest may be written,
//! whether a stored object is the document, which paths a restore writes); this crate does the
//! I/O and reports back. It knows nothing of its hosts: errors carry the store's code and
//! message and a kind ([`store::Refusal`]), and each host adds the fix in its own words (the
//! Lambda names its environment variables, the runner its flags).
//!
//! * [`store`]: the [`store::ObjectStore`] port and [`store::S3Store`].
//! * [`executor`]: a backup run against a store, manifest last, create-only.
//! * [`shard`]: a sharded day's plan, published once, and the commit of its parts.
//! * [`inventory`]: a day's source listing read from an S3 Inventory report.
//! * [`lease`]: the day's lease, so two runs of one day never write at once.
//! * [`manifest`]: loading a day's committed manifest.
//! * [`hold`]: legal hold on a whole day, and its record.
//! * [`prune`]: days a retention policy lets go, deleted for good (buckets without lifecycle
//!   rules).
//! * [`verify`]: a stored day checked from S3's stored checksums, with an optional read sample.
//! * [`restore`]: restores, every body checked as it streams.
//! * [`stream`]: checked and hashed streams.
//! * [`split`]: S3's size limits and the single-PUT-or-parts decision.
//! * [`url`]: `s3://bucket/prefix` and bucket names.
//! * [`sdk`]: the SDK's defaults with docvault's HTTPS client (rustls on ring), for every host.
//! * [`metrics`]: the core's metric sets to CloudWatch (EMF lines or `PutMetricData`).
//! * `memory` (feature `test-util`): an in-memory store that fails as told, for tests.

pub mod executor;
pub mod hold;
pub mod inventory;
pub mod lease;
pub mod manifest;
#[cfg(any(test, feature = "test-util"))]
pub mod memory;
pub mod metrics;
pub mod prune;
pub mod restore;
pub mod sdk;
pub mod shard;
pub mod split;
pub mod store;
pub mod stream;
pub mod url;
pub mod verify;
