//! `docvault-wasmtime`: runs the docvault WASI guest (`docvault.wasm`, the `docvault-cli` crate
//! built for `wasm32-wasip1`) in an embedded wasmtime, with only the directories it is granted,
//! no network, and memory and time limits; and adds what the sandbox must not do itself: S3
//! uploads (through the Lambda's executor, linked from `docvault-lambda`) and metrics.
//!
//! * [`sandbox`]: the engine, the compiled-module cache, grants and limits.
//! * [`remote`]: the `s3://` destination (the guest scans, the runner uploads).
//! * [`restore`]: restores from `s3://` into a directory, checking every checksum.
//! * [`metrics`]: where a run's metrics go (a local JSON or Prometheus file, or CloudWatch).

pub mod metrics;
pub mod remote;
pub mod restore;
pub mod sandbox;
