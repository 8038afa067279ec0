//! Sharded runs: one day backed up by many workers at once, committed by one manifest.
//!
//! The protocol, whatever runs the workers (Step Functions' Distributed Map, a Kubernetes
//! Indexed Job, processes on one machine):
//!
//! ```text
//! plan:    list the day's source; ShardPlan::split -> the plan and one listing per shard;
//!          write the plan (create-only) to work/{date}/plan.json, the listings beside it
//! shard i: BackupRun::for_shard(plan.header, options, plan.digest(), i) driven over the
//!          listing's documents exactly like a day's run; its last write is the shard's part
//!          (a manifest of the shard's documents), create-only, named by its SHA-256
//! commit:  ShardCommit: join each shard's part, or record its listing as unaccounted;
//!          finish -> the day's manifest (create-only), or the incomplete-run report
//! ```
//!
//! The guarantees of a single run hold: a part exists only once its shard stored every one of
//! its documents; the commit refuses a part that is missing, altered (its bytes no longer
//! match the SHA-256 in its name), another plan's, or that does not hold exactly its shard's
//! planned ids, and then records every document of that shard as failed; the day's manifest is
//! written last, create-only. Shards are contiguous id ranges, so the joined parts are already
//! in manifest order, and the committed manifest is byte for byte the one a single run of the
//! same documents writes.
//!
//! * [`plan`]: the split, the plan and listing formats, the work area's keys;
//! * [`commit`]: joining the parts.

pub mod commit;
pub mod plan;

pub use commit::{PartProblem, ShardCommit, ShardCommitError};
pub use plan::{
    Listed, Shard, ShardFormatError, ShardListing, ShardPlan, ShardPlanError, Split, WorkLayout,
    ids_digest, listing_digest,
};

#[cfg(test)]
mod tests;
