//! The state of one backup run, driven by a host (sans-IO).
//!
//! The protocol, whatever the host (a directory, S3, the Lambda, the sandbox runner):
//!
//! ```text
//! for each document the source yields:
//!     match run.admit(id, source)? {
//!         Admission::Attempt => read its body, store it with run.put_for(&document), then
//!                               run.record_stored(document, how) or run.record_failed(why)
//!         Admission::Skipped => nothing: the run stopped, the document is recorded as not
//!                               attempted
//!     }
//!     a store that refuses everything: run.stop(reason)
//! run.finish()? -> the commit: the manifest (create-only) when every document was stored,
//!                  else the incomplete-run report
//! ```
//!
//! A document is admitted before its body is read (its size and checksum are known only after),
//! so the run knows every document it has to account for: [`BackupRun::finish`] refuses while
//! any admitted document has no outcome, and the manifest can never leave one out.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{ObjectPut, PlanError, PlanOptions, document_put, manifest_put, part_put};
use crate::manifest::{BackupStatus, FailedDocument, FailureStage, Manifest, ManifestHeader};
use crate::model::{Document, DocumentId, Sha256Digest};
use crate::retention::LockMode;

/// How a document came to be stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stored {
    /// Written by this run.
    Uploaded,
    /// Found stored by an earlier, interrupted run of the day, identical: not rewritten.
    AlreadyStored,
    /// Found stored with other bytes or encryption by an earlier run, and written again.
    Replaced,
}

/// Counts of what a run did to the store.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Transfer {
    /// Documents written by this run.
    pub uploaded: u64,
    /// Documents found already stored, identical, by an earlier run (not rewritten).
    pub already_stored: u64,
    /// Documents found with different content or encryption and stored again.
    pub replaced: u64,
    /// Bytes written by this run.
    pub bytes_uploaded: u64,
}

/// What the host does with a document it offered to the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Read it, store it, report the outcome.
    Attempt,
    /// The run has stopped: the document is recorded as not attempted; do nothing with it.
    Skipped,
}

/// What a run backs up, and so what its last write is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunScope {
    /// The whole day: the last write is the day's manifest (or its incomplete-run report).
    Day,
    /// One shard of a plan ([`crate::shard`]): the last write is the shard's part, which the
    /// commit later joins with the others into the day's manifest.
    Shard {
        /// The plan's digest.
        plan: Sha256Digest,
        /// The shard.
        index: u32,
    },
}

/// One backup run (see the module documentation).
#[derive(Debug)]
pub struct BackupRun {
    header: ManifestHeader,
    options: PlanOptions,
    scope: RunScope,
    /// Admitted, no outcome yet: id and where it came from.
    pending: BTreeMap<String, Option<String>>,
    stored: BTreeMap<DocumentId, Document>,
    failed: BTreeMap<String, FailedDocument>,
    stopped: Option<String>,
    transfer: Transfer,
}

/// The last write of a run: the manifest (or incomplete report), its bytes and its PUT.
#[derive(Debug, Clone)]
pub struct Commit {
    /// The manifest as assembled.
    pub manifest: Manifest,
    /// Its canonical JSON bytes.
    pub body: Vec<u8>,
    /// How to store it.
    pub put: ObjectPut,
    /// For a day written in parts ([`crate::manifest::parted`]): each part's PUT and bytes,
    /// to be written, in order, before `body` (then the root); empty for one document.
    pub parts: Vec<(ObjectPut, Vec<u8>)>,
    /// What the run did to the store.
    pub transfer: Transfer,
    /// Why the run stopped early, if it did.
    pub stopped: Option<String>,
}

impl Commit {
    /// Whether this commit is the day's complete manifest.
    pub fn is_complete(&self) -> bool {
        self.manifest.status == BackupStatus::Complete
    }
}

impl BackupRun {
    /// Starts a run. A day whose retention has already ended at the run's time (a late
    /// backfill) is written without a lock (S3 refuses a lock that ends in the past), and its
    /// manifest says so.
    pub fn new(header: ManifestHeader, options: PlanOptions) -> Self {
        Self::scoped(header, options, RunScope::Day)
    }

    /// Starts the run of one shard of a plan whose header is `header`.
    pub fn for_shard(
        header: ManifestHeader,
        options: PlanOptions,
        plan: Sha256Digest,
        index: u32,
    ) -> Self {
        Self::scoped(header, options, RunScope::Shard { plan, index })
    }

    fn scoped(header: ManifestHeader, options: PlanOptions, scope: RunScope) -> Self {
        let options = options.for_run(&header);
        Self {
            header,
            options,
            scope,
            pending: BTreeMap::new(),
            stored: BTreeMap::new(),
            failed: BTreeMap::new(),
            stopped: None,
            transfer: Transfer::default(),
        }
    }

    /// The run's header.
    pub fn header(&self) -> &ManifestHeader {
        &self.header
    }

    /// The run's options.
    pub fn options(&self) -> &PlanOptions {
        &self.options
    }

    /// What the run backs up.
    pub fn scope(&self) -> RunScope {
        self.scope
    }

    /// A document (by id, with where it comes from) enters the run.
    ///
    /// # Errors
    /// [`PlanError::AlreadyAdmitted`] for an id that already entered the run.
    pub fn admit(&mut self, id: &str, source: Option<&str>) -> Result<Admission, PlanError> {
        if self.known(id) {
            return Err(PlanError::AlreadyAdmitted(id.to_owned()));
        }
        if let Some(reason) = &self.stopped {
            let failure = not_attempted(id, source.map(str::to_owned), reason);
            self.failed.insert(id.to_owned(), failure);
            return Ok(Admission::Skipped);
        }
        self.pending
            .insert(id.to_owned(), source.map(str::to_owned));
        Ok(Admission::Attempt)
    }

    /// How to store `document`'s body.
    pub fn put_for(&self, document: &Document) -> ObjectPut {
        document_put(&self.options, self.header.backup_date, document)
    }

    /// Records that admitted `document` is stored, and how.
    ///
    /// # Errors
    /// [`PlanError::NotAdmitted`] or [`PlanError::AlreadyReported`].
    pub fn record_stored(&mut self, document: Document, how: Stored) -> Result<(), PlanError> {
        let id = document.document_id.as_str();
        if self.pending.remove(id).is_none() {
            return Err(self.unexpected(id));
        }
        match how {
            Stored::Uploaded => self.transfer.uploaded += 1,
            Stored::AlreadyStored => self.transfer.already_stored += 1,
            Stored::Replaced => self.transfer.replaced += 1,
        }
        if how != Stored::AlreadyStored {
            self.transfer.bytes_uploaded += document.file_size;
        }
        self.stored.insert(document.document_id.clone(), document);
        Ok(())
    }

    /// Records a failure: of an admitted document, or of a source entry that never became one
    /// (an unreadable file, a name that is not a valid id).
    ///
    /// # Errors
    /// [`PlanError::AlreadyReported`] when the document already has an outcome.
    pub fn record_failed(&mut self, failure: FailedDocument) -> Result<(), PlanError> {
        let id = failure.document_id.as_str();
        if self.pending.remove(id).is_none() && self.known(id) {
            return Err(PlanError::AlreadyReported(id.to_owned()));
        }
        self.failed.insert(failure.document_id.clone(), failure);
        Ok(())
    }

    /// Stops the run: the store refuses everything (permissions, a missing bucket, a full
    /// disk, a lost lease). Documents admitted from now on are recorded as not attempted, and
    /// the run cannot commit. The first reason is kept.
    pub fn stop(&mut self, reason: impl Into<String>) {
        if self.stopped.is_none() {
            self.stopped = Some(reason.into());
        }
    }

    /// Why the run stopped, if it did.
    pub fn stopped(&self) -> Option<&str> {
        self.stopped.as_deref()
    }

    /// Admitted documents without an outcome yet.
    pub fn pending_count(&self) -> usize {
        self.pending.len()
    }

    /// Documents recorded as stored so far.
    pub fn stored_count(&self) -> usize {
        self.stored.len()
    }

    /// Failures recorded so far.
    pub fn failed_count(&self) -> usize {
        self.failed.len()
    }

    /// What the run did to the store so far.
    pub fn transfer(&self) -> Transfer {
        self.transfer
    }

    /// Ends the run and returns its last write.
    ///
    /// # Errors
    /// [`PlanError::Unresolved`] while any admitted document has no outcome: the manifest is
    /// never produced before every document is accounted for.
    pub fn finish(self) -> Result<Commit, PlanError> {
        if let Some(first) = self.pending.keys().next() {
            return Err(PlanError::Unresolved {
                count: self.pending.len(),
                first: first.clone(),
            });
        }
        let documents = self.stored.into_values().collect();
        let date = self.header.backup_date;
        let mut manifest =
            Manifest::assemble(self.header, documents, self.failed.into_values().collect())?;
        let put;
        let body;
        match self.scope {
            RunScope::Day => {
                manifest.retention = self.options.day_retention(date);
                body = manifest.to_json().into_bytes();
                put = manifest_put(&self.options, &manifest, &body);
            }
            RunScope::Shard { plan, index } => {
                // A part is work, not a backup: the commit records the day's retention.
                body = manifest.to_json().into_bytes();
                put = part_put(&self.options, &manifest, &body, &plan, index);
            }
        }
        Ok(Commit {
            parts: Vec::new(),
            manifest,
            body,
            put,
            transfer: self.transfer,
            stopped: self.stopped,
        })
    }

    fn known(&self, id: &str) -> bool {
        self.pending.contains_key(id)
            || self.failed.contains_key(id)
            || DocumentId::new(id).is_ok_and(|id| self.stored.contains_key(&id))
    }

    fn unexpected(&self, id: &str) -> PlanError {
        if self.known(id) {
            PlanError::AlreadyReported(id.to_owned())
        } else {
            PlanError::NotAdmitted(id.to_owned())
        }
    }
}

impl PlanOptions {
    /// The options a run of `header` writes with: a day whose retention has already ended at
    /// the run's time (a late backfill) is written without a lock (S3 refuses a lock that ends
    /// in the past), and its manifest says so.
    pub fn for_run(mut self, header: &ManifestHeader) -> Self {
        if let Some(retention) = &mut self.retention
            && retention.for_day(header.backup_date).expires_at() <= header.backup_timestamp
        {
            retention.lock = LockMode::None;
        }
        self
    }
}

fn not_attempted(id: &str, source: Option<String>, reason: &str) -> FailedDocument {
    FailedDocument {
        document_id: id.to_owned(),
        source,
        stage: FailureStage::Store,
        reason: format!("not attempted: the run stopped ({reason})"),
        attempts: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::{Generator, GeneratorSpec};
    use crate::layout::KeyPrefix;
    use crate::manifest::SourceDescription;
    use crate::plan::Encryption;

    fn run() -> BackupRun {
        let date = "2026-11-27".parse().unwrap();
        BackupRun::new(
            ManifestHeader {
                backup_date: date,
                backup_timestamp: "2026-11-28T02:00:00Z".parse().unwrap(),
                environment: "prod".parse().unwrap(),
                run_id: Some("r1".into()),
                source: SourceDescription::Generator { count: 3, seed: 0 },
            },
            PlanOptions {
                prefix: KeyPrefix::parse("site-a/").unwrap(),
                environment: "prod".parse().unwrap(),
                encryption: Encryption::None,
                retention: None,
            },
        )
    }

    fn documents() -> Vec<Document> {
        Generator::new(GeneratorSpec {
            date: "2026-11-27".parse().unwrap(),
            count: 3,
            seed: 0,
        })
        .map(|g| g.document)
        .collect()
    }

    fn failure(id: &str) -> FailedDocument {
        FailedDocument {
            document_id: id.into(),
            source: None,
            stage: FailureStage::Read,
            reason: "unreadable".into(),
            attempts: 1,
        }
    }

    #[test]
    fn a_retained_day_locks_and_tags_every_object_with_one_retain_until() {
        use crate::retention::{LockMode, Retention, RetentionClass, RetentionPolicy, Weekday};
        let mut run = run();
        run.options.retention = Some(Retention {
            policy: RetentionPolicy::new(7, 4, 0, 0, Weekday::Sunday).unwrap(),
            lock: LockMode::Compliance,
        });
        let docs = documents();
        let mut puts = Vec::new();
        for d in &docs {
            run.admit(d.document_id.as_str(), None).unwrap();
            puts.push(run.put_for(d));
            run.record_stored(d.clone(), Stored::Uploaded).unwrap();
        }
        let lease = super::super::lease_put(
            run.options(),
            run.header().backup_date,
            RunScope::Day,
            b"{}",
            None,
        );
        let commit = run.finish().unwrap();
        let retention = commit.manifest.retention.expect("recorded in the manifest");
        assert_eq!(retention.class, RetentionClass::Daily);
        assert_eq!(retention.retain_until.to_string(), "2026-12-04");
        let lock = retention.object_lock().expect("locked");
        assert_eq!(lock.retain_until.to_string(), "2026-12-05T00:00:00Z");
        for put in puts.iter().chain([&commit.put]) {
            assert_eq!(put.lock, Some(lock), "{}", put.key);
            assert!(put.tagging.ends_with("&Retention=daily"), "{}", put.tagging);
        }
        // The lease is replaced while the run works: tagged to leave with its day, never locked.
        assert_eq!(lease.lock, None);
        assert!(lease.tagging.ends_with("&Retention=daily"));
        assert!(commit.body.windows(9).any(|w| w == b"retention"));
    }

    #[test]
    fn a_backfill_after_the_days_retention_ended_is_written_unlocked() {
        use crate::retention::{LockMode, Retention, RetentionPolicy, Weekday};
        let retention = Retention {
            policy: RetentionPolicy::new(7, 0, 0, 0, Weekday::Sunday).unwrap(),
            lock: LockMode::Compliance,
        };
        let mut header = run().header().clone();
        header.backup_timestamp = "2026-12-05T00:00:00Z".parse().unwrap();
        let options = PlanOptions {
            retention: Some(retention),
            ..run().options().clone()
        };
        let late = BackupRun::new(header.clone(), options.clone());
        let doc = &documents()[0];
        assert_eq!(late.put_for(doc).lock, None);
        let commit = late.finish().unwrap();
        assert_eq!(commit.manifest.retention.unwrap().lock_mode, LockMode::None);
        // A second earlier, the lock still ends in the future.
        header.backup_timestamp = "2026-12-04T23:59:59Z".parse().unwrap();
        assert!(BackupRun::new(header, options).put_for(doc).lock.is_some());
    }

    #[test]
    fn every_document_stored_commits_the_manifest_create_only() {
        let mut run = run();
        let docs = documents();
        for d in &docs {
            assert_eq!(
                run.admit(d.document_id.as_str(), None).unwrap(),
                Admission::Attempt
            );
        }
        // Outcomes arrive in any order.
        let hows = [Stored::Replaced, Stored::Uploaded, Stored::AlreadyStored];
        for (d, how) in docs.iter().rev().zip(hows) {
            assert_eq!(run.put_for(d).key, format!("site-a/{}", d.object_key));
            run.record_stored(d.clone(), how).unwrap();
        }
        let commit = run.finish().unwrap();
        assert!(commit.is_complete());
        assert_eq!(commit.put.key, "site-a/backups/2026-11-27/manifest.json");
        assert!(commit.put.if_none_match, "the commit never replaces one");
        let mut sorted = docs.clone();
        sorted.sort_by(|a, b| a.document_id.cmp(&b.document_id));
        assert_eq!(commit.manifest.documents, sorted, "in id order");
        assert_eq!(
            (commit.transfer.uploaded, commit.transfer.already_stored),
            (1, 1)
        );
        assert_eq!(commit.transfer.replaced, 1);
        assert_eq!(
            commit.transfer.bytes_uploaded,
            docs[1].file_size + docs[2].file_size,
            "what was already stored was not sent"
        );
    }

    #[test]
    fn no_manifest_while_a_document_has_no_outcome() {
        let mut run = run();
        let docs = documents();
        run.admit(docs[0].document_id.as_str(), None).unwrap();
        run.admit(docs[1].document_id.as_str(), None).unwrap();
        run.record_stored(docs[0].clone(), Stored::Uploaded)
            .unwrap();
        let e = run.finish().unwrap_err();
        assert_eq!(e.code(), "unresolved");
        assert!(e.to_string().contains(docs[1].document_id.as_str()), "{e}");
    }

    #[test]
    fn a_failure_makes_an_incomplete_report_not_a_manifest() {
        let mut run = run();
        let docs = documents();
        run.admit(docs[0].document_id.as_str(), None).unwrap();
        run.record_stored(docs[0].clone(), Stored::Uploaded)
            .unwrap();
        run.admit(docs[1].document_id.as_str(), Some("/src/x"))
            .unwrap();
        run.record_failed(failure(docs[1].document_id.as_str()))
            .unwrap();
        // A source entry that never became a document.
        run.record_failed(failure("bad\\xff name")).unwrap();
        let commit = run.finish().unwrap();
        assert!(!commit.is_complete());
        assert_eq!(
            commit.put.key,
            "site-a/backups/2026-11-27/incomplete/r1.json"
        );
        assert!(!commit.put.if_none_match);
        assert_eq!(commit.manifest.total_failed, 2);
        assert_eq!(commit.manifest.total_documents, 1);
    }

    #[test]
    fn a_stopped_run_records_what_it_never_attempted() {
        let mut run = run();
        let docs = documents();
        run.admit(docs[0].document_id.as_str(), None).unwrap();
        run.stop("AccessDenied: the role may not write");
        run.stop("a later reason is not kept");
        assert_eq!(
            run.admit(docs[1].document_id.as_str(), Some("s3://in/x"))
                .unwrap(),
            Admission::Skipped
        );
        // What was in flight still reports its own outcome.
        run.record_failed(failure(docs[0].document_id.as_str()))
            .unwrap();
        let commit = run.finish().unwrap();
        assert!(!commit.is_complete());
        let skipped = &commit.manifest.failed_documents[1];
        assert_eq!(skipped.document_id, docs[1].document_id.as_str());
        assert_eq!(skipped.attempts, 0);
        assert_eq!(skipped.source.as_deref(), Some("s3://in/x"));
        assert!(
            skipped.reason.contains("AccessDenied"),
            "{}",
            skipped.reason
        );
        assert_eq!(
            commit.stopped.as_deref(),
            Some("AccessDenied: the role may not write")
        );
    }

    #[test]
    fn each_document_enters_once_and_has_one_outcome() {
        let mut run = run();
        let docs = documents();
        let id = docs[0].document_id.as_str();
        run.admit(id, None).unwrap();
        assert_eq!(
            run.admit(id, None).unwrap_err().code(),
            "duplicate_document_id"
        );
        assert_eq!(
            run.record_stored(docs[1].clone(), Stored::Uploaded)
                .unwrap_err()
                .code(),
            "not_admitted"
        );
        run.record_stored(docs[0].clone(), Stored::Uploaded)
            .unwrap();
        assert_eq!(
            run.record_stored(docs[0].clone(), Stored::Uploaded)
                .unwrap_err()
                .code(),
            "already_reported"
        );
        assert_eq!(
            run.record_failed(failure(id)).unwrap_err().code(),
            "already_reported"
        );
        assert_eq!(
            run.admit(id, None).unwrap_err().code(),
            "duplicate_document_id"
        );
        run.record_failed(failure("gone")).unwrap();
        assert_eq!(
            run.record_failed(failure("gone")).unwrap_err().code(),
            "already_reported"
        );
        assert_eq!((run.stored_count(), run.failed_count()), (1, 1));
        assert_eq!(run.pending_count(), 0);
    }
}
