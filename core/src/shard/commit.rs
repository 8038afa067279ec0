//! Joining a plan's parts into the day's manifest, or refusing to.

use std::collections::BTreeMap;

use super::plan::{ShardListing, ShardPlan, ids_digest, listing_digest};
use crate::manifest::parted::DEFAULT_PART_DOCUMENTS;
use crate::manifest::{BackupStatus, FailedDocument, FailureStage, Manifest};
use crate::model::{Document, Sha256Digest};
use crate::plan::{Commit, PlanError, PlanOptions, Transfer, manifest_put, parted_puts};

/// Why a shard's part cannot be joined into the day's manifest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PartProblem {
    /// No complete part was found.
    #[error(
        "shard {index} has no complete part: its run has not finished, or could not store \
         every document (see its incomplete report); run the shard again"
    )]
    Missing {
        /// The shard.
        index: u32,
    },
    /// More than one complete part was found (the shard's documents changed between two of its
    /// runs).
    #[error(
        "shard {index} has {count} different complete parts: its documents changed between two \
         runs; delete the stale part (or the day's work folder, to plan again) and rerun"
    )]
    Ambiguous {
        /// The shard.
        index: u32,
        /// How many.
        count: usize,
    },
    /// The part's bytes are not the ones its name records.
    #[error(
        "the part of shard {index} was altered after it was written (its SHA-256 is not the \
         one in its name); delete it and run the shard again"
    )]
    Altered {
        /// The shard.
        index: u32,
    },
    /// The part is not a valid manifest.
    #[error(
        "the part of shard {index} is not a valid manifest: {reason}; delete it and run the shard again"
    )]
    Invalid {
        /// The shard.
        index: u32,
        /// What is wrong.
        reason: String,
    },
    /// The part belongs to another run, or is not complete.
    #[error(
        "the part of shard {index} is not this plan's: {what}; delete it and run the shard again"
    )]
    NotThePlans {
        /// The shard.
        index: u32,
        /// What differs.
        what: String,
    },
    /// The part does not hold exactly the shard's documents.
    #[error(
        "the part of shard {index} holds {found} documents whose ids are not exactly the \
         {planned} the plan lists for it; delete it and run the shard again"
    )]
    Unaccounted {
        /// The shard.
        index: u32,
        /// Documents planned.
        planned: u64,
        /// Documents in the part.
        found: u64,
    },
}

impl PartProblem {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Missing { .. } => "part_missing",
            Self::Ambiguous { .. } => "part_ambiguous",
            Self::Altered { .. } => "part_altered",
            Self::Invalid { .. } => "part_invalid",
            Self::NotThePlans { .. } => "part_not_the_plans",
            Self::Unaccounted { .. } => "part_unaccounted",
        }
    }
}

/// Why a commit could not produce its last write at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ShardCommitError {
    /// A shard was neither joined nor recorded as unaccounted.
    #[error(
        "shard {0} was neither joined nor recorded as unaccounted: every shard of the plan needs \
         one or the other before the commit"
    )]
    Unsettled(u32),
    /// A shard index the plan does not have, or one settled twice.
    #[error("shard {0} is not in the plan, or was settled twice")]
    UnknownShard(u32),
    /// A listing that is not the shard's.
    #[error("the listing given for shard {0} is not the plan's listing of that shard")]
    WrongListing(u32),
    /// The manifest could not be assembled.
    #[error(transparent)]
    Plan(#[from] PlanError),
}

impl ShardCommitError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unsettled(_) => "shard_unsettled",
            Self::UnknownShard(_) => "unknown_shard",
            Self::WrongListing(_) => "wrong_listing",
            Self::Plan(e) => e.code(),
        }
    }
}

/// What became of one shard.
#[derive(Debug)]
enum Settled {
    Joined(Vec<Document>),
    Reported(Vec<Document>, Vec<FailedDocument>),
    Unaccounted(Vec<FailedDocument>),
}

/// The commit of a sharded day (sans-IO): the host reads the plan, hands over each shard's
/// part (or, when a part is missing or refused, the shard's listing), and
/// [`finish`](Self::finish) gives the last write: the day's manifest when every shard's part
/// holds exactly its planned documents, else an incomplete-run report in which every document
/// of a refused shard is recorded as failed. Nothing planned is ever left out.
#[derive(Debug)]
pub struct ShardCommit {
    plan: ShardPlan,
    digest: Sha256Digest,
    options: PlanOptions,
    settled: BTreeMap<u32, Settled>,
    part_documents: u64,
}

impl ShardCommit {
    /// Starts the commit of `plan`, to be written with `options` (its prefix and encryption;
    /// the plan decides the environment and the retention).
    pub fn new(plan: ShardPlan, options: PlanOptions) -> Self {
        let options = plan.options(options).for_run(&plan.header);
        Self {
            digest: plan.digest(),
            plan,
            options,
            settled: BTreeMap::new(),
            part_documents: DEFAULT_PART_DOCUMENTS,
        }
    }

    /// Writes a complete day of more than `documents` documents in parts of that many
    /// ([`crate::manifest::parted`]; default [`DEFAULT_PART_DOCUMENTS`]).
    #[must_use]
    pub fn with_part_documents(mut self, documents: u64) -> Self {
        self.part_documents = documents.max(1);
        self
    }

    /// The plan.
    pub fn plan(&self) -> &ShardPlan {
        &self.plan
    }

    /// The plan's digest.
    pub fn plan_digest(&self) -> Sha256Digest {
        self.digest
    }

    /// Joins shard `index`'s part: `body` as read, `named` the SHA-256 in its key.
    ///
    /// # Errors
    /// [`PartProblem`] when the part cannot be joined; record the shard with
    /// [`unaccounted`](Self::unaccounted) then.
    pub fn join(
        &mut self,
        index: u32,
        named: Sha256Digest,
        body: &[u8],
    ) -> Result<(), PartProblem> {
        let shard = self.unsettled_shard(index)?;
        if Sha256Digest::of(body) != named {
            return Err(PartProblem::Altered { index });
        }
        let invalid = |reason: String| PartProblem::Invalid { index, reason };
        let text = std::str::from_utf8(body).map_err(|e| invalid(e.to_string()))?;
        let part = Manifest::from_json(text).map_err(|e| invalid(e.to_string()))?;
        if part.header() != self.plan.header {
            return Err(PartProblem::NotThePlans {
                index,
                what: "its date, time, environment, run id or source differ from the plan's".into(),
            });
        }
        if part.status != BackupStatus::Complete {
            return Err(PartProblem::NotThePlans {
                index,
                what: "it is not complete".into(),
            });
        }
        let ids = ids_digest(part.documents.iter().map(|d| d.document_id.as_str()));
        if part.total_documents != shard.documents || ids != shard.ids_sha256 {
            return Err(PartProblem::Unaccounted {
                index,
                planned: shard.documents,
                found: part.total_documents,
            });
        }
        self.settled.insert(index, Settled::Joined(part.documents));
        Ok(())
    }

    /// Records a shard that has no part by its own incomplete report (`body`, as its last run
    /// wrote it): what it stored and what failed, with the reasons, as a single run's report
    /// records them. Used only when the report accounts for exactly the shard's planned ids;
    /// otherwise (or without a report) record the shard with [`unaccounted`](Self::unaccounted).
    /// The day is incomplete either way.
    ///
    /// # Errors
    /// Why the report cannot stand for the shard.
    pub fn record_report(&mut self, index: u32, body: &[u8]) -> Result<(), PartProblem> {
        let shard = self.unsettled_shard(index)?;
        let invalid = |reason: String| PartProblem::Invalid { index, reason };
        let text = std::str::from_utf8(body).map_err(|e| invalid(e.to_string()))?;
        let report = Manifest::from_json(text).map_err(|e| invalid(e.to_string()))?;
        if report.header() != self.plan.header || report.status != BackupStatus::Incomplete {
            return Err(PartProblem::NotThePlans {
                index,
                what: "its report is another run's, or not an incomplete one".into(),
            });
        }
        // Stored and failed ids together, in id order, must be exactly the shard's.
        let mut ids: Vec<&str> = report
            .documents
            .iter()
            .map(|d| d.document_id.as_str())
            .chain(
                report
                    .failed_documents
                    .iter()
                    .map(|f| f.document_id.as_str()),
            )
            .collect();
        ids.sort_unstable();
        let found = ids.len() as u64;
        if found != shard.documents || ids_digest(ids) != shard.ids_sha256 {
            return Err(PartProblem::Unaccounted {
                index,
                planned: shard.documents,
                found,
            });
        }
        self.settled.insert(
            index,
            Settled::Reported(report.documents, report.failed_documents),
        );
        Ok(())
    }

    /// Records every document of a shard whose part could not be joined as failed, with
    /// `problem` as the reason.
    ///
    /// # Errors
    /// [`ShardCommitError::WrongListing`] for a listing that is not the plan's listing of the
    /// shard, [`ShardCommitError::UnknownShard`] for a shard not in the plan or settled.
    pub fn unaccounted(
        &mut self,
        listing: ShardListing,
        problem: &PartProblem,
    ) -> Result<(), ShardCommitError> {
        let index = listing.index;
        let Some(shard) = self.plan.shards.get(index as usize) else {
            return Err(ShardCommitError::UnknownShard(index));
        };
        if listing.plan_sha256 != self.digest
            || listing_digest(&listing.documents) != shard.listing_sha256
        {
            return Err(ShardCommitError::WrongListing(index));
        }
        if self.settled.contains_key(&index) {
            return Err(ShardCommitError::UnknownShard(index));
        }
        let reason = problem.to_string();
        let failed = listing
            .documents
            .into_iter()
            .map(|l| FailedDocument {
                document_id: l.document_id,
                source: l.source,
                stage: FailureStage::Store,
                reason: reason.clone(),
                attempts: 0,
            })
            .collect();
        self.settled.insert(index, Settled::Unaccounted(failed));
        Ok(())
    }

    /// Shard `index` of the plan, when it is not settled yet.
    fn unsettled_shard(&self, index: u32) -> Result<&super::plan::Shard, PartProblem> {
        let Some(shard) = self.plan.shards.get(index as usize) else {
            return Err(PartProblem::NotThePlans {
                index,
                what: "the plan has no such shard".into(),
            });
        };
        if self.settled.contains_key(&index) {
            return Err(PartProblem::NotThePlans {
                index,
                what: "the shard was already settled".into(),
            });
        }
        Ok(shard)
    }

    /// The shards not settled yet.
    pub fn unsettled(&self) -> impl Iterator<Item = u32> + '_ {
        (0..self.plan.shards.len() as u32).filter(|i| !self.settled.contains_key(i))
    }

    /// The last write: the day's manifest (create-only) when every shard was joined, else the
    /// incomplete-run report.
    ///
    /// # Errors
    /// [`ShardCommitError::Unsettled`] while a shard is neither joined nor unaccounted.
    pub fn finish(self) -> Result<Commit, ShardCommitError> {
        if let Some(index) = self.unsettled().next() {
            return Err(ShardCommitError::Unsettled(index));
        }
        let mut documents = Vec::new();
        let mut failed = Vec::new();
        // Shards are contiguous id ranges in order: their documents join already sorted.
        for settled in self.settled.into_values() {
            match settled {
                Settled::Joined(d) => documents.extend(d),
                Settled::Reported(d, f) => {
                    documents.extend(d);
                    failed.extend(f);
                }
                Settled::Unaccounted(f) => failed.extend(f),
            }
        }
        let date = self.plan.header.backup_date;
        let mut manifest =
            Manifest::assemble(self.plan.header, documents, failed).map_err(PlanError::from)?;
        manifest.retention = self.options.day_retention(date);
        // `to_parted` is `None` for an incomplete run's report: always one document.
        let parted = Manifest::is_parted(manifest.total_documents, self.part_documents)
            .then(|| manifest.to_parted(self.part_documents))
            .flatten();
        let (body, put, parts) = match parted {
            Some(parted) => {
                let (puts, root) = parted_puts(&self.options, &manifest, &parted);
                (
                    parted.root_json,
                    root,
                    puts.into_iter().zip(parted.parts).collect(),
                )
            }
            None => {
                let body = manifest.to_json().into_bytes();
                let put = manifest_put(&self.options, &manifest, &body);
                (body, put, Vec::new())
            }
        };
        Ok(Commit {
            manifest,
            body,
            put,
            parts,
            transfer: Transfer::default(),
            stopped: None,
        })
    }
}
