//! Sharded runs in a store ([`docvault_core::shard`] decides): the day's plan written once
//! and shared by every worker, and the commit that joins the shards' parts into the day's
//! manifest. A shard's own run is [`crate::executor::execute_scoped`].

use bytes::Bytes;
use docvault_core::plan::work_put;
use docvault_core::shard::{
    Listed, PartProblem, ShardCommit, ShardCommitError, ShardFormatError, ShardListing, ShardPlan,
    ShardPlanError, Split, WorkLayout,
};
use docvault_core::{
    BackupDate, Encryption, KeyPrefix, ManifestHeader, ObjectPut, PlanOptions, RunScope,
    Sha256Digest, Transfer,
};

use crate::executor::{BackupOutcome, Clock};
use crate::lease::{DayLease, LeaseError, LeaseTerms};
use crate::manifest::{LoadError, load_committed, manifest_key};
use crate::store::{ObjectStore, StoreError};

/// Most bytes of a plan read (10,000 shards take about 3 MB).
const PLAN_LIMIT: u64 = 64 << 20;

/// Why a plan could not be published or read, or a commit could not decide.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ShardError {
    /// The store failed.
    #[error("{key}: {source}")]
    Store {
        /// The key.
        key: String,
        /// Why.
        #[source]
        source: StoreError,
    },
    /// The listing cannot be planned.
    #[error(transparent)]
    Split(#[from] ShardPlanError),
    /// The day has a plan, for other documents or another split.
    #[error(
        "{key} plans the day differently from this worker, in {differs} (the source changed \
         since it was planned, or the workers were started with different settings); run every \
         shard with the same source, split and retention, or delete the day's work folder to \
         plan again"
    )]
    PlanConflict {
        /// The plan's key.
        key: String,
        /// What differs.
        differs: String,
    },
    /// The day has no plan.
    #[error("{key} does not exist: no shard of the day has run; run the shards first")]
    NoPlan {
        /// The plan's key.
        key: String,
    },
    /// A stored plan or listing cannot be used.
    #[error("{key}: {source}; delete the day's work folder and run the shards again")]
    Format {
        /// The key.
        key: String,
        /// Why.
        #[source]
        source: ShardFormatError,
    },
    /// A shard's listing is missing, so its documents cannot be accounted for.
    #[error(
        "{key} does not exist: shard {index}'s documents cannot be accounted for; delete the \
         day's work folder and run the shards again"
    )]
    NoListing {
        /// The listing's key.
        key: String,
        /// The shard.
        index: u32,
    },
    /// A part of the day's manifest cannot be written: other bytes are at its key.
    #[error(
        "{key} holds other bytes than the manifest part named by that SHA-256: it was not \
         written by docvault; delete it (no manifest names it yet) and commit again"
    )]
    ForeignPart {
        /// The part's key.
        key: String,
    },
    /// The day's lease could not be taken.
    #[error(transparent)]
    Lease(#[from] LeaseError),
    /// The day's manifest could not be read, or is not the day's backup.
    #[error("{0}")]
    Manifest(LoadError),
    /// The commit could not decide.
    #[error(transparent)]
    Commit(#[from] ShardCommitError),
}

impl ShardError {
    /// The store error behind this one, when a store failed.
    pub fn store_error(&self) -> Option<&StoreError> {
        match self {
            Self::Store { source, .. } | Self::Lease(LeaseError::Store(source)) => Some(source),
            Self::Manifest(e) => e.store_error(),
            _ => None,
        }
    }
}

fn store_error(key: &str) -> impl FnOnce(StoreError) -> ShardError + '_ {
    move |source| ShardError::Store {
        key: key.to_owned(),
        source,
    }
}

/// The day's plan for `listing` split as `split` (with `options`' retention), published once: the first worker writes it
/// (create-only) with its listings; a later worker adopts the plan already there when the same
/// listing split the same way under that plan's header (run id, time) gives it, and refuses
/// otherwise. Every worker of a day therefore works to one plan.
///
/// # Errors
/// [`ShardError::PlanConflict`] when the stored plan is not this listing's; the store's errors.
pub async fn publish_plan<S: ObjectStore>(
    store: &S,
    options: &PlanOptions,
    header: ManifestHeader,
    listing: Vec<Listed>,
    split: Split,
) -> Result<(ShardPlan, Vec<ShardListing>), ShardError> {
    let work = WorkLayout::new(header.backup_date);
    let key = options.prefix.join(&work.plan_key());
    let (mut plan, mut listings) = ShardPlan::split(header, options.retention, listing, split)?;
    let body = plan.to_json();
    let put = work_put(options, work.plan_key(), body.as_bytes(), "ShardPlan", true);
    match store.put(&put, Bytes::from(body)).await {
        Ok(_) => {}
        Err(StoreError::PreconditionFailed) => {
            let existing =
                read_plan(store, &key)
                    .await?
                    .ok_or_else(|| ShardError::PlanConflict {
                        key: key.clone(),
                        differs: "the plan itself (it was deleted while this worker read it)"
                            .into(),
                    })?;
            plan = plan.with_header(existing.header.clone(), &mut listings);
            if let Some(differs) = existing.difference(&plan) {
                return Err(ShardError::PlanConflict { key, differs });
            }
        }
        Err(e) => return Err(store_error(&key)(e)),
    }
    let digest = plan.digest();
    for listing in &listings {
        let body = listing.to_json();
        let put = work_put(
            options,
            work.listing_key(&digest, listing.index),
            body.as_bytes(),
            "ShardListing",
            true,
        );
        match store.put(&put, Bytes::from(body)).await {
            // Bound to the plan by its digest and the shard's entries: the one there is this one.
            Ok(_) | Err(StoreError::PreconditionFailed) => {}
            Err(e) => return Err(store_error(&put.key)(e)),
        }
    }
    Ok((plan, listings))
}

/// The plan of `date` below `prefix`.
///
/// # Errors
/// [`ShardError::NoPlan`] when the day has none; an unusable plan; the store's errors.
pub async fn load_plan<S: ObjectStore>(
    store: &S,
    prefix: &KeyPrefix,
    date: BackupDate,
) -> Result<ShardPlan, ShardError> {
    let key = prefix.join(&WorkLayout::new(date).plan_key());
    read_plan(store, &key)
        .await?
        .ok_or(ShardError::NoPlan { key })
}

/// The listing of shard `shard` of `plan` (whose digest is `digest`) below `prefix`, checked
/// to be the plan's.
///
/// # Errors
/// [`ShardError::NoListing`], an unusable listing, the store's errors.
pub async fn load_listing<S: ObjectStore>(
    store: &S,
    prefix: &KeyPrefix,
    plan: &ShardPlan,
    digest: Sha256Digest,
    index: u32,
    limit: u64,
) -> Result<ShardListing, ShardError> {
    let key = prefix.join(&WorkLayout::new(plan.header.backup_date).listing_key(&digest, index));
    let format = |source| ShardError::Format {
        key: key.clone(),
        source,
    };
    let shard = plan.shards.get(index as usize).ok_or_else(|| {
        format(ShardFormatError::Shards(format!(
            "the plan has no shard {index}"
        )))
    })?;
    let object = store
        .get(&key, limit)
        .await
        .map_err(store_error(&key))?
        .ok_or_else(|| ShardError::NoListing {
            key: key.clone(),
            index,
        })?;
    let text = std::str::from_utf8(&object.body)
        .map_err(|e| format(ShardFormatError::Parse(e.to_string())))?;
    ShardListing::from_json(text, digest, shard).map_err(format)
}

async fn read_plan<S: ObjectStore>(store: &S, key: &str) -> Result<Option<ShardPlan>, ShardError> {
    let Some(object) = store.get(key, PLAN_LIMIT).await.map_err(store_error(key))? else {
        return Ok(None);
    };
    let format = |source| ShardError::Format {
        key: key.to_owned(),
        source,
    };
    let text = std::str::from_utf8(&object.body)
        .map_err(|e| format(ShardFormatError::Parse(e.to_string())))?;
    ShardPlan::from_json(text).map(Some).map_err(format)
}

/// Settings of a commit.
#[derive(Debug, Clone)]
pub struct CommitOptions {
    /// The largest manifest, part or listing loaded
    /// ([`docvault_core::manifest::max_manifest_bytes`]).
    pub manifest_limit: u64,
    /// The day's lease, held while the commit reads the parts and writes the manifest.
    pub lease: LeaseTerms,
    /// The lease holder's run id (retries of one commit share it); default: the plan's run
    /// id followed by `-commit`.
    pub lease_holder: Option<String>,
    /// A complete day of more documents than this is written in parts of this many
    /// ([`docvault_core::manifest::parted`]).
    pub part_documents: u64,
}

/// What a commit did.
#[derive(Debug)]
pub struct CommitOutcome {
    /// The day's manifest written, found already committed, or the incomplete-run report.
    pub outcome: BackupOutcome,
    /// Why shards could not be joined (empty when the day committed).
    pub problems: Vec<PartProblem>,
}

/// Commits the sharded run of `date`: joins each shard's part and writes the day's manifest
/// last, create-only, under the day's lease; when a part is missing, ambiguous, altered or
/// not the plan's, writes the incomplete-run report instead, with every document of that
/// shard recorded as failed. A day already committed is left as it is.
///
/// # Errors
/// [`ShardError`]: no plan, an unusable plan or listing, a busy day, the store's errors.
pub async fn commit<S: ObjectStore>(
    store: &S,
    prefix: &KeyPrefix,
    encryption: Encryption,
    date: BackupDate,
    settings: &CommitOptions,
    clock: &dyn Clock,
) -> Result<CommitOutcome, ShardError> {
    let day_key = manifest_key(prefix, date);
    let committed = load_committed(store, prefix, date, settings.manifest_limit)
        .await
        .map_err(ShardError::Manifest)?;
    if let Some(m) = committed {
        return Ok(already_committed(m, day_key));
    }
    let work = WorkLayout::new(date);
    let plan = load_plan(store, prefix, date).await?;
    // The plan decides the environment and the retention.
    let options = &plan.options(PlanOptions {
        prefix: prefix.clone(),
        environment: plan.header.environment.clone(),
        encryption,
        retention: None,
    });
    let holder = settings.lease_holder.clone().unwrap_or_else(|| {
        format!(
            "{}-commit",
            plan.header.run_id.as_deref().unwrap_or("sharded")
        )
    });
    let lease = DayLease::acquire_scoped(
        store,
        options,
        date,
        RunScope::Day,
        &holder,
        clock.now(),
        settings.lease,
    )
    .await?;
    // Everything from here on under the day's lease, the last write included.
    let result = commit_and_write(store, prefix, options, plan, &work, settings).await;
    if let Err(e) = lease.release(clock.now()).await {
        tracing::warn!(error = %e, "could not release the day's lease; it lapses on its own");
    }
    result
}

/// The outcome of a commit that found the day committed.
fn already_committed(manifest: docvault_core::Manifest, manifest_key: String) -> CommitOutcome {
    CommitOutcome {
        outcome: BackupOutcome::AlreadyComplete {
            manifest,
            manifest_key,
            transfer: Transfer::default(),
        },
        problems: Vec::new(),
    }
}

async fn commit_and_write<S: ObjectStore>(
    store: &S,
    prefix: &KeyPrefix,
    options: &PlanOptions,
    plan: ShardPlan,
    work: &WorkLayout,
    settings: &CommitOptions,
) -> Result<CommitOutcome, ShardError> {
    let date = plan.header.backup_date;
    let day_key = manifest_key(prefix, date);
    let done = already_committed;
    // Another commit may have written the day between the first look and the lease.
    if let Some(m) = load_committed(store, prefix, date, settings.manifest_limit)
        .await
        .map_err(ShardError::Manifest)?
    {
        return Ok(done(m, day_key));
    }
    let (commit, problems) = commit_under_lease(store, options, plan, work, settings).await?;
    let transfer = Transfer::default();
    if !commit.is_complete() {
        let report_key = match store.put(&commit.put, Bytes::from(commit.body)).await {
            Ok(_) => Some(commit.put.key),
            Err(e) => {
                tracing::warn!(error = %e, "could not write the incomplete-run report");
                None
            }
        };
        return Ok(CommitOutcome {
            outcome: BackupOutcome::Incomplete {
                manifest: commit.manifest,
                report_key,
                transfer,
            },
            problems,
        });
    }
    // A day written in parts: the parts first, the root (the commit point) last.
    for (put, body) in commit.parts {
        put_manifest_part(store, &put, body).await?;
    }
    match store.put(&commit.put, Bytes::from(commit.body)).await {
        Ok(_) => Ok(CommitOutcome {
            outcome: BackupOutcome::Completed {
                manifest: commit.manifest,
                manifest_key: day_key,
                transfer,
            },
            problems,
        }),
        // Committed meanwhile by a commit whose lease had lapsed: the manifest there is the
        // day's.
        Err(StoreError::PreconditionFailed) => {
            match load_committed(store, prefix, date, settings.manifest_limit).await {
                Ok(Some(m)) => Ok(done(m, day_key)),
                Ok(None) => Err(ShardError::Store {
                    key: day_key,
                    source: StoreError::Transient(
                        "the manifest write was refused as existing, but it cannot be read".into(),
                    ),
                }),
                Err(e) => Err(ShardError::Manifest(e)),
            }
        }
        Err(e) => Err(store_error(&day_key)(e)),
    }
}

/// Writes one part of the day's manifest, create-only. A part already there (an earlier
/// commit stopped before its root) is kept when its bytes are these: its key names their
/// SHA-256, and only the root, written after every part, makes the day.
async fn put_manifest_part<S: ObjectStore>(
    store: &S,
    put: &ObjectPut,
    body: Vec<u8>,
) -> Result<(), ShardError> {
    let len = body.len() as u64;
    let body = Bytes::from(body);
    match store.put(put, body.clone()).await {
        Ok(_) => Ok(()),
        Err(StoreError::PreconditionFailed) => match store.get(&put.key, len).await {
            Ok(Some(found)) if found.body == body => Ok(()),
            Ok(_) | Err(StoreError::TooLarge { .. }) => Err(ShardError::ForeignPart {
                key: put.key.clone(),
            }),
            Err(e) => Err(store_error(&put.key)(e)),
        },
        Err(e) => Err(store_error(&put.key)(e)),
    }
}

async fn commit_under_lease<S: ObjectStore>(
    store: &S,
    options: &PlanOptions,
    plan: ShardPlan,
    work: &WorkLayout,
    settings: &CommitOptions,
) -> Result<(docvault_core::Commit, Vec<PartProblem>), ShardError> {
    let shards = plan.shards.clone();
    let mut commit =
        ShardCommit::new(plan, options.clone()).with_part_documents(settings.part_documents);
    let digest = commit.plan_digest();
    let mut problems = Vec::new();
    for shard in &shards {
        let index = shard.index;
        let prefix = options.prefix.join(&work.part_prefix(&digest, index));
        let parts: Vec<_> = store
            .list(&prefix)
            .await
            .map_err(store_error(&prefix))?
            .into_iter()
            .filter_map(|o| WorkLayout::part_digest(&prefix, &o.key).map(|d| (o.key, d)))
            .collect();
        let joined = match parts.as_slice() {
            [] => Err(PartProblem::Missing { index }),
            [(key, named)] => match store.get(key, settings.manifest_limit).await {
                Ok(Some(object)) => commit.join(index, *named, &object.body),
                Ok(None) => Err(PartProblem::Missing { index }),
                Err(StoreError::TooLarge { size, limit, .. }) => Err(PartProblem::Invalid {
                    index,
                    reason: format!("it is {size} bytes, more than the {limit} this host loads"),
                }),
                Err(e) => return Err(store_error(key)(e)),
            },
            many => Err(PartProblem::Ambiguous {
                index,
                count: many.len(),
            }),
        };
        if let Err(problem) = joined {
            tracing::warn!(shard = index, problem = %problem, "shard not joined");
            // The shard's own report, when its last run wrote one that accounts for it: what
            // it stored and why the rest failed.
            if matches!(problem, PartProblem::Missing { .. }) {
                let key = options.prefix.join(&work.shard_report_key(&digest, index));
                if let Ok(Some(report)) = store.get(&key, settings.manifest_limit).await {
                    match commit.record_report(index, &report.body) {
                        Ok(()) => {
                            problems.push(problem);
                            continue;
                        }
                        Err(e) => {
                            tracing::warn!(shard = index, error = %e, "shard report not used")
                        }
                    }
                }
            }
            let listing = load_listing(
                store,
                &options.prefix,
                commit.plan(),
                digest,
                index,
                settings.manifest_limit,
            )
            .await?;
            commit.unaccounted(listing, &problem)?;
            problems.push(problem);
        }
    }
    Ok((commit.finish()?, problems))
}
