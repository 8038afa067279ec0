//! The day's lease in a store ([`docvault_core::lease`] decides; this makes it exclusive with
//! conditional writes): created create-only, taken over, renewed and released only over the
//! entity tag last read or written.

use docvault_core::lease::{Lease, LeaseDecision, decide};
use docvault_core::plan::lease_put;
use docvault_core::shard::WorkLayout;
use docvault_core::{BackupDate, Layout, PlanOptions, RunScope, Timestamp};

use crate::store::{ObjectStore, StoreError};

/// Most bytes of a lease object read (a lease is about 150).
const LEASE_LIMIT: u64 = 64 * 1024;

/// How long a lease lasts and whether its holder renews it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseTerms {
    /// Seconds from taking (or renewing) the lease to its expiry.
    pub seconds: u32,
    /// Renew it while the run goes on (for runs that may outlast `seconds`).
    pub renew: bool,
    /// This run is a retry of the run with the same run id, which has ended: it may take that
    /// run's live lease over ([`decide`]'s `retry_of`). Only for hosts whose run ids never repeat
    /// for runs that overlap (the Lambda's request id).
    pub retry_takes_over: bool,
}

/// Why the day's lease could not be taken or kept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LeaseError {
    /// Another run holds it.
    #[error(
        "another run ({run_id}) is backing up this day and holds its lease until {until}; this \
         run wrote nothing. Retry after that time (a run that crashed releases the day when its \
         lease lapses)"
    )]
    Busy {
        /// The other run.
        run_id: String,
        /// Until when.
        until: Timestamp,
    },
    /// This run's lease was taken over (it lapsed while this run was stalled).
    #[error("this run's lease was taken over by another run")]
    Lost,
    /// The store failed.
    #[error("the day's lease: {0}")]
    Store(#[from] StoreError),
}

/// The lease a run holds on its day.
#[derive(Debug)]
pub struct DayLease<S> {
    store: S,
    options: PlanOptions,
    date: BackupDate,
    scope: RunScope,
    lease: Lease,
    etag: String,
    terms: LeaseTerms,
}

impl<S: ObjectStore> DayLease<S> {
    /// Takes the lease of `date` for `run_id` at `now`.
    ///
    /// # Errors
    /// [`LeaseError::Busy`] when a live lease of another run is there; the store's errors.
    pub async fn acquire(
        store: &S,
        options: &PlanOptions,
        date: BackupDate,
        run_id: &str,
        now: Timestamp,
        terms: LeaseTerms,
    ) -> Result<Self, LeaseError> {
        Self::acquire_scoped(store, options, date, RunScope::Day, run_id, now, terms).await
    }

    /// Takes the lease of `scope` (the day, or one shard of a sharded run of it) for `run_id`
    /// at `now`: shards of one day run at once, each under its own lease.
    ///
    /// # Errors
    /// As [`acquire`](Self::acquire).
    pub async fn acquire_scoped(
        store: &S,
        options: &PlanOptions,
        date: BackupDate,
        scope: RunScope,
        run_id: &str,
        now: Timestamp,
        terms: LeaseTerms,
    ) -> Result<Self, LeaseError> {
        let key = options.prefix.join(&match scope {
            RunScope::Day => Layout::new(date).lease_key(),
            RunScope::Shard { plan, index } => WorkLayout::new(date).shard_lease_key(&plan, index),
        });
        let lease = Lease::new(run_id, now, terms.seconds);
        let body = lease.to_json();
        // A lost race (another run created or took over the lease between our read and our
        // write) is read again: the winner's lease is then live, and this run is busy.
        for _ in 0..3 {
            let existing = store.get(&key, LEASE_LIMIT).await?;
            let parsed = existing.as_ref().map(|o| Lease::from_json(&o.body));
            let retry_of = terms.retry_takes_over.then_some(run_id);
            let over = match decide(parsed.as_ref().map(Option::as_ref), now, retry_of) {
                LeaseDecision::Busy { run_id, until } => {
                    return Err(LeaseError::Busy { run_id, until });
                }
                LeaseDecision::Create => None,
                LeaseDecision::TakeOver => existing.and_then(|o| o.etag),
            };
            let put = lease_put(options, date, scope, &body, over.as_deref());
            match store.put(&put, body.clone().into()).await {
                Ok(written) => {
                    let etag = written.etag.ok_or_else(|| {
                        StoreError::Transient("the store gave the lease no ETag".into())
                    })?;
                    return Ok(Self {
                        store: store.clone(),
                        options: options.clone(),
                        date,
                        scope,
                        lease,
                        etag,
                        terms,
                    });
                }
                Err(StoreError::PreconditionFailed) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(StoreError::Transient("the day's lease kept changing while it was taken".into()).into())
    }

    /// Whether this lease is renewed while the run goes on.
    pub fn renews(&self) -> bool {
        self.terms.renew
    }

    /// When the lease should be renewed, if it is renewed at all.
    pub fn renew_due(&self, now: Timestamp) -> bool {
        self.terms.renew && self.lease.renew_due(now)
    }

    /// When the lease lapses.
    pub fn expires_at(&self) -> Timestamp {
        self.lease.expires_at
    }

    /// Seconds until a renewal is due (0 when it is due now).
    pub fn seconds_until_renewal(&self, now: Timestamp) -> u64 {
        let total = i64::from(self.terms.seconds);
        let due = self.lease.expires_at.unix_seconds() - total / 3;
        u64::try_from(due - now.unix_seconds()).unwrap_or(0)
    }

    /// Renews the lease at `now`, only if it is still this run's.
    ///
    /// # Errors
    /// [`LeaseError::Lost`] when another run took it over; the store's errors.
    pub async fn renew(&mut self, now: Timestamp) -> Result<(), LeaseError> {
        let renewed = self.lease.renewed(now, self.terms.seconds);
        self.etag = self.write(&renewed).await?;
        self.lease = renewed;
        Ok(())
    }

    /// Gives the lease up at `now`, if it is still this run's.
    ///
    /// # Errors
    /// [`LeaseError::Lost`] when another run took it over; the store's errors.
    pub async fn release(self, now: Timestamp) -> Result<(), LeaseError> {
        let released = self.lease.released(now);
        self.write(&released).await.map(|_| ())
    }

    async fn write(&self, lease: &Lease) -> Result<String, LeaseError> {
        let body = lease.to_json();
        let put = lease_put(
            &self.options,
            self.date,
            self.scope,
            &body,
            Some(&self.etag),
        );
        match self.store.put(&put, body.into()).await {
            Ok(written) => written.etag.ok_or_else(|| {
                StoreError::Transient("the store gave the lease no ETag".into()).into()
            }),
            Err(StoreError::PreconditionFailed) => Err(LeaseError::Lost),
            Err(e) => Err(e.into()),
        }
    }
}
