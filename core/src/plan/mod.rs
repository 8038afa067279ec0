//! Upload planning: which object goes where, with which headers, and when the manifest may be
//! written.
//!
//! This file holds the PUTs ([`document_put`], [`manifest_put`], a whole day's [`UploadPlan`]);
//! [`run`] holds the [`BackupRun`] a host drives: it admits each document, stores its body as
//! the PUT says, and reports the outcome back. Only when every admitted document has an outcome
//! does [`BackupRun::finish`] hand out the final write: the manifest at
//! `backups/{date}/manifest.json` with a create-only condition when everything was stored (the
//! commit point), or an incomplete-run report beside it otherwise. A crash before that leaves no
//! manifest, so nothing ever claims a document that is not stored.

use std::collections::BTreeMap;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::{Deserialize, Serialize};

use crate::layout::{KeyPrefix, Layout};
use crate::manifest::{AssembleError, BackupStatus, Manifest, PartedManifest, SCHEMA_VERSION};
use crate::model::{BackupDate, Document, Label, Sha256Digest, UploadParts};
use crate::retention::{DayRetention, ObjectLock, Retention};
use crate::shard::WorkLayout;

pub mod run;

pub use run::{Admission, BackupRun, Commit, RunScope, Stored, Transfer};

/// Server-side encryption the host must request on every PUT.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "kebab-case")]
pub enum Encryption {
    /// No encryption header (local directories, or stores that encrypt by bucket default).
    #[default]
    None,
    /// `x-amz-server-side-encryption: aws:kms`, with this key id or ARN when given.
    #[serde(rename = "aws:kms")]
    Kms {
        /// Key id, ARN or alias; `None` uses the bucket's default KMS key.
        key_id: Option<String>,
    },
}

/// How a host should store one object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectPut {
    /// Full key, including the configured prefix.
    pub key: String,
    /// `Content-Type`.
    pub content_type: String,
    /// Body length in bytes.
    pub content_length: u64,
    /// Base64 SHA-256 of the body, for `x-amz-checksum-sha256`: the store verifies the body.
    pub checksum_sha256: String,
    /// User metadata (`x-amz-meta-*`), ordered.
    pub metadata: BTreeMap<String, String>,
    /// Object tags as an URL-encoded query string (`x-amz-tagging`).
    pub tagging: String,
    /// Encryption to request.
    pub encryption: Encryption,
    /// Send `If-None-Match: *`: create only, never overwrite.
    pub if_none_match: bool,
    /// Send `If-Match` with this entity tag: replace only the object read (a lease taken over
    /// or renewed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub if_match: Option<String>,
    /// S3 Object Lock to write the object with (mode and retain-until), when the day is locked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lock: Option<ObjectLock>,
    /// Upload in parts of this layout (a multipart upload, each part with its own SHA-256);
    /// the store then reports [`UploadParts::store_checksum`] for the object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parts: Option<UploadParts>,
}

/// Settings shared by every object of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanOptions {
    /// Key prefix below the bucket or directory.
    pub prefix: KeyPrefix,
    /// Deployment environment, for tags.
    pub environment: Label,
    /// Encryption for every object.
    pub encryption: Encryption,
    /// How long the day is kept and how its objects are locked; `None` writes no lock, no
    /// retention tag and no retention in the manifest.
    pub retention: Option<Retention>,
}

impl PlanOptions {
    /// What the objects and the manifest of `date` carry, when a retention is configured.
    pub fn day_retention(&self, date: BackupDate) -> Option<DayRetention> {
        self.retention.map(|r| r.for_day(date))
    }
}

/// Why a plan step was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    /// A document entered the run twice.
    #[error(
        "document `{}` entered the run twice: every document of a day needs its own id",
        crate::text::escaped(.0)
    )]
    AlreadyAdmitted(String),
    /// An outcome was reported for a document that did not enter the run.
    #[error(
        "an outcome was reported for `{}`, which did not enter the run: call `admit` first",
        crate::text::escaped(.0)
    )]
    NotAdmitted(String),
    /// An outcome was reported twice.
    #[error(
        "an outcome for `{}` was already reported: report each document once",
        crate::text::escaped(.0)
    )]
    AlreadyReported(String),
    /// `finish` was called with documents still in flight.
    #[error(
        "{count} admitted documents have no outcome yet (first: `{}`): the manifest is written \
         only after every document is stored or recorded as failed",
        crate::text::escaped(first)
    )]
    Unresolved {
        /// How many.
        count: usize,
        /// The first, by id.
        first: String,
    },
    /// The manifest could not be assembled.
    #[error(transparent)]
    Assemble(#[from] AssembleError),
}

impl PlanError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::AlreadyAdmitted(_) => "duplicate_document_id",
            Self::NotAdmitted(_) => "not_admitted",
            Self::AlreadyReported(_) => "already_reported",
            Self::Unresolved { .. } => "unresolved",
            Self::Assemble(e) => e.code(),
        }
    }
}

/// The PUT for one document body.
pub fn document_put(options: &PlanOptions, date: BackupDate, doc: &Document) -> ObjectPut {
    let retention = options.day_retention(date);
    let mut metadata = BTreeMap::new();
    metadata.insert("backup-date".to_owned(), date.to_string());
    metadata.insert("department".to_owned(), doc.metadata.department.to_string());
    metadata.insert("document-id".to_owned(), doc.document_id.to_string());
    metadata.insert("document-type".to_owned(), doc.doc_type.to_string());
    metadata.insert(
        "priority".to_owned(),
        doc.metadata.priority.as_str().to_owned(),
    );
    metadata.insert(
        "confidential".to_owned(),
        doc.metadata.confidential.to_string(),
    );
    ObjectPut {
        key: options.prefix.join(&doc.object_key),
        content_type: doc.content_type.to_string(),
        content_length: doc.file_size,
        checksum_sha256: doc.checksum.to_base64(),
        metadata,
        tagging: tagging(
            &[
                ("Type", "BusinessDocument"),
                ("Department", doc.metadata.department.as_str()),
                ("Environment", options.environment.as_str()),
            ],
            retention.as_ref(),
        ),
        encryption: options.encryption.clone(),
        if_none_match: false,
        if_match: None,
        lock: retention.and_then(|r| r.object_lock()),
        parts: doc.parts.as_deref().copied(),
    }
}

/// The PUT for a finished manifest (`body` is its canonical JSON).
///
/// A complete manifest goes to the commit key with `If-None-Match: *`; an incomplete run's
/// report goes to `backups/{date}/incomplete/{run}.json` and may be overwritten.
pub fn manifest_put(options: &PlanOptions, manifest: &Manifest, body: &[u8]) -> ObjectPut {
    let layout = Layout::new(manifest.backup_date);
    let complete = manifest.status == BackupStatus::Complete;
    let key = if complete {
        layout.manifest_key()
    } else {
        layout.incomplete_report_key(&run_label(manifest))
    };
    let mut metadata = BTreeMap::new();
    metadata.insert("backup-date".to_owned(), manifest.backup_date.to_string());
    metadata.insert(
        "backup-type".to_owned(),
        "daily-business-documents".to_owned(),
    );
    metadata.insert(
        "document-count".to_owned(),
        manifest.total_documents.to_string(),
    );
    metadata.insert("failed-count".to_owned(), manifest.total_failed.to_string());
    metadata.insert("schema-version".to_owned(), SCHEMA_VERSION.to_string());
    metadata.insert("status".to_owned(), manifest.status.to_string());
    let kind = if complete {
        "BackupManifest"
    } else {
        "IncompleteBackupReport"
    };
    ObjectPut {
        key: options.prefix.join(&key),
        content_type: "application/json".to_owned(),
        content_length: body.len() as u64,
        checksum_sha256: Sha256Digest::of(body).to_base64(),
        metadata,
        tagging: tagging(
            &[
                ("Type", kind),
                ("Environment", options.environment.as_str()),
            ],
            manifest.retention.as_ref(),
        ),
        encryption: options.encryption.clone(),
        if_none_match: complete,
        if_match: None,
        lock: manifest.retention.and_then(|r| r.object_lock()),
        parts: None,
    }
}

/// The PUTs of a complete manifest in the parted form ([`crate::manifest::parted`]): each
/// part create-only at its key, locked and tagged like the manifest, in order; then the
/// root, the commit point, exactly as [`manifest_put`] writes a one-document manifest.
pub fn parted_puts(
    options: &PlanOptions,
    manifest: &Manifest,
    parted: &PartedManifest,
) -> (Vec<ObjectPut>, ObjectPut) {
    let root = manifest_put(options, manifest, &parted.root_json);
    let parts = parted
        .root
        .parts
        .iter()
        .zip(&parted.parts)
        .map(|(part, body)| {
            let mut put = json_put(
                options,
                &part.key,
                body,
                "BackupManifestPart",
                manifest.retention.as_ref(),
            );
            put.metadata = root.metadata.clone();
            put.metadata
                .insert("document-count".to_owned(), part.documents.to_string());
            put.if_none_match = true;
            put.lock = root.lock;
            put
        })
        .collect();
    (parts, root)
}

/// The PUT of a shard's result (`body` is the canonical JSON of `part`, a manifest of the
/// shard's documents with the plan's header): a complete part goes create-only to a key named
/// by its SHA-256 ([`WorkLayout::part_key`]); an incomplete one to the shard's report key,
/// replaced by the shard's next run. Work objects are never locked nor tagged with a class:
/// the `work/` lifecycle removes them.
pub fn part_put(
    options: &PlanOptions,
    part: &Manifest,
    body: &[u8],
    plan: &Sha256Digest,
    index: u32,
) -> ObjectPut {
    let work = WorkLayout::new(part.backup_date);
    let digest = Sha256Digest::of(body);
    let complete = part.status == BackupStatus::Complete;
    let key = if complete {
        work.part_key(plan, index, &digest)
    } else {
        work.shard_report_key(plan, index)
    };
    work_put(options, key, body, "BackupPart", complete)
}

/// The PUT of a piece of a sharded run's work (plan, listing, part): create-only unless
/// `replace`, never locked, tagged with `kind` and the environment.
pub fn work_put(
    options: &PlanOptions,
    key: String,
    body: &[u8],
    kind: &str,
    create_only: bool,
) -> ObjectPut {
    ObjectPut {
        if_none_match: create_only,
        ..json_put(options, &key, body, kind, None)
    }
}

/// A small JSON object a run writes beside its documents (a lease, a hold record, a sharded
/// run's work): never locked, tagged with `kind`, the environment and, when given, the day's
/// class; written unconditionally unless the caller sets a condition.
fn json_put(
    options: &PlanOptions,
    key: &str,
    body: &[u8],
    kind: &str,
    retention: Option<&DayRetention>,
) -> ObjectPut {
    ObjectPut {
        key: options.prefix.join(key),
        content_type: "application/json".to_owned(),
        content_length: body.len() as u64,
        checksum_sha256: Sha256Digest::of(body).to_base64(),
        metadata: BTreeMap::new(),
        tagging: tagging(
            &[
                ("Type", kind),
                ("Environment", options.environment.as_str()),
            ],
            retention,
        ),
        encryption: options.encryption.clone(),
        if_none_match: false,
        if_match: None,
        lock: None,
        parts: None,
    }
}

/// The PUT of a lease body ([`crate::lease`]): the day's, or in a sharded run a shard's;
/// create-only for a new lease, or only over the lease object with entity tag `over` (taken
/// over, renewed, released).
pub fn lease_put(
    options: &PlanOptions,
    date: BackupDate,
    scope: RunScope,
    body: &[u8],
    over: Option<&str>,
) -> ObjectPut {
    let (key, retention) = match scope {
        // Tagged with the day's class so the lifecycle rules remove it with its day.
        RunScope::Day => (Layout::new(date).lease_key(), options.day_retention(date)),
        // Work: the `work/` lifecycle removes it.
        RunScope::Shard { plan, index } => {
            (WorkLayout::new(date).shard_lease_key(&plan, index), None)
        }
    };
    // Never locked: it is replaced and released while the run works.
    ObjectPut {
        if_none_match: over.is_none(),
        if_match: over.map(str::to_owned),
        ..json_put(options, &key, body, "BackupLease", retention.as_ref())
    }
}

/// The PUT of a day's legal-hold record: never locked (it is replaced when the hold changes;
/// versioning keeps each one) and never tagged with a retention class, so no lifecycle rule
/// removes the record of a hold.
pub fn legal_hold_put(options: &PlanOptions, date: BackupDate, body: &[u8]) -> ObjectPut {
    json_put(
        options,
        &Layout::new(date).legal_hold_key(),
        body,
        "LegalHoldRecord",
        options.day_retention(date).as_ref(),
    )
}

/// The run label used in report keys: the run id when it is key-safe, else the timestamp.
fn run_label(manifest: &Manifest) -> String {
    match &manifest.run_id {
        Some(id)
            if !id.is_empty()
                && id.len() <= 128
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
        {
            id.clone()
        }
        _ => manifest
            .backup_timestamp
            .to_string()
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect(),
    }
}

/// What `x-amz-tagging` escapes: everything but the unreserved characters of RFC 3986.
const TAG_ESCAPES: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// The object tag that carries a day's retention class, which the bucket's lifecycle rules
/// filter on.
pub const RETENTION_TAG: &str = "Retention";

/// URL-encodes tag pairs, and the day's `Retention` class tag when it has one, as S3's
/// `x-amz-tagging` wants them.
fn tagging(pairs: &[(&str, &str)], retention: Option<&DayRetention>) -> String {
    pairs
        .iter()
        .copied()
        .chain(retention.map(|r| (RETENTION_TAG, r.class.as_str())))
        .map(|(k, v)| {
            format!(
                "{}={}",
                utf8_percent_encode(k, TAG_ESCAPES),
                utf8_percent_encode(v, TAG_ESCAPES)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// A whole day's plan at once, for dry runs and for tools: every document PUT, then the
/// manifest key, which is written last.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UploadPlan {
    /// The document PUTs, in manifest order.
    pub documents: Vec<ObjectPut>,
    /// Where the manifest goes once every document is stored.
    pub manifest_key: String,
    /// The manifest is written with `If-None-Match: *` after all documents.
    pub manifest_last: bool,
}

/// Plans a whole set of documents (sorted by id, as the manifest will list them).
///
/// # Errors
/// [`PlanError::AlreadyAdmitted`] when two documents share an id.
pub fn plan_uploads(
    options: &PlanOptions,
    date: BackupDate,
    documents: &[Document],
) -> Result<UploadPlan, PlanError> {
    let mut order: Vec<&Document> = documents.iter().collect();
    order.sort_by(|a, b| a.document_id.cmp(&b.document_id));
    if let Some(p) = order
        .windows(2)
        .find(|p| p[0].document_id == p[1].document_id)
    {
        return Err(PlanError::AlreadyAdmitted(p[1].document_id.to_string()));
    }
    Ok(UploadPlan {
        documents: order
            .into_iter()
            .map(|d| document_put(options, date, d))
            .collect(),
        manifest_key: options.prefix.join(&Layout::new(date).manifest_key()),
        manifest_last: true,
    })
}
