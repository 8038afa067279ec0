//! Upload planning: which object goes where, with which headers, and when the manifest may be
//! written.
//!
//! A host drives a [`BackupRun`]: it asks for the [`ObjectPut`] of each document, stores the
//! body, and reports the outcome back. Only when every planned document has an outcome does
//! [`BackupRun::finish`] hand out the final write: the manifest at `backups/{date}/manifest.json`
//! with a create-only condition when everything was stored (the commit point), or an
//! incomplete-run report beside it otherwise. A crash before that leaves no manifest, so nothing
//! ever claims a document that is not stored.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::layout::{Layout, normalize_prefix};
use crate::manifest::{
    AssembleError, BackupStatus, FailedDocument, Manifest, ManifestHeader, SCHEMA_VERSION,
};
use crate::model::{BackupDate, Document, DocumentId, Label, Sha256Digest, UploadParts};

/// Server-side encryption the host must request on every PUT.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "kebab-case")]
pub enum Encryption {
    /// No encryption header (local directories, or stores that encrypt by bucket default).
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
    /// Upload in parts of this layout (a multipart upload, each part with its own SHA-256);
    /// the store then reports [`UploadParts::store_checksum`] for the object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parts: Option<UploadParts>,
}

/// Settings shared by every object of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanOptions {
    /// Key prefix below the bucket or directory (`""` or ending in `/`).
    pub prefix: String,
    /// Deployment environment, for tags.
    pub environment: Label,
    /// Encryption for every object.
    pub encryption: Encryption,
}

impl PlanOptions {
    /// Options with a checked prefix.
    ///
    /// # Errors
    /// [`PlanError::Prefix`] when the prefix is absolute or has `.`/`..`/empty segments.
    pub fn new(
        prefix: &str,
        environment: Label,
        encryption: Encryption,
    ) -> Result<Self, PlanError> {
        Ok(Self {
            prefix: normalize_prefix(prefix).map_err(PlanError::Prefix)?,
            environment,
            encryption,
        })
    }
}

/// Why a plan step was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    /// Bad key prefix.
    #[error(
        "key prefix `{0}` is not usable: give a relative prefix like `team-a/` without `.`, `..` \
         or empty segments"
    )]
    Prefix(String),
    /// A document was planned twice.
    #[error(
        "document `{0}` was planned twice in one run: every document of a day needs its own id"
    )]
    AlreadyPlanned(DocumentId),
    /// An outcome was reported for a document that was not planned.
    #[error("an outcome was reported for `{0}`, which was not planned: call `plan_document` first")]
    NotPlanned(String),
    /// An outcome was reported twice.
    #[error("an outcome for `{0}` was already reported: report each document once")]
    AlreadyReported(String),
    /// `finish` was called with documents still in flight.
    #[error(
        "{count} planned documents have no outcome yet (first: `{first}`): the manifest is written \
         only after every document is stored or recorded as failed"
    )]
    Unresolved {
        /// How many.
        count: usize,
        /// The first, by id.
        first: DocumentId,
    },
    /// The manifest could not be assembled.
    #[error(transparent)]
    Assemble(#[from] AssembleError),
}

/// The PUT for one document body.
pub fn document_put(options: &PlanOptions, date: BackupDate, doc: &Document) -> ObjectPut {
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
        key: format!("{}{}", options.prefix, doc.object_key),
        content_type: doc.content_type.to_string(),
        content_length: doc.file_size,
        checksum_sha256: doc.checksum.to_base64(),
        metadata,
        tagging: tagging(&[
            ("Type", "BusinessDocument"),
            ("Department", doc.metadata.department.as_str()),
            ("Environment", options.environment.as_str()),
        ]),
        encryption: options.encryption.clone(),
        if_none_match: false,
        parts: doc.parts,
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
        key: format!("{}{key}", options.prefix),
        content_type: "application/json".to_owned(),
        content_length: body.len() as u64,
        checksum_sha256: Sha256Digest::of(body).to_base64(),
        metadata,
        tagging: tagging(&[
            ("Type", kind),
            ("Environment", options.environment.as_str()),
        ]),
        encryption: options.encryption.clone(),
        if_none_match: complete,
        parts: None,
    }
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

/// URL-encodes tag pairs as S3's `x-amz-tagging` wants them.
fn tagging(pairs: &[(&str, &str)]) -> String {
    let enc = |s: &str| {
        let mut out = String::with_capacity(s.len());
        for b in s.bytes() {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                out.push(char::from(b));
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
        out
    };
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
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
/// [`PlanError::AlreadyPlanned`] when two documents share an id.
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
        return Err(PlanError::AlreadyPlanned(p[1].document_id.clone()));
    }
    Ok(UploadPlan {
        documents: order
            .into_iter()
            .map(|d| document_put(options, date, d))
            .collect(),
        manifest_key: format!("{}{}", options.prefix, Layout::new(date).manifest_key()),
        manifest_last: true,
    })
}

#[derive(Debug)]
struct Slot {
    doc: Document,
    stored: bool,
}

/// The state of one backup run, driven by a host (sans-IO).
#[derive(Debug)]
pub struct BackupRun {
    header: ManifestHeader,
    options: PlanOptions,
    documents: BTreeMap<DocumentId, Slot>,
    failed: BTreeMap<String, FailedDocument>,
    pending: usize,
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
}

impl Commit {
    /// Whether this commit is the day's complete manifest.
    pub fn is_complete(&self) -> bool {
        self.manifest.status == BackupStatus::Complete
    }
}

impl BackupRun {
    /// Starts a run.
    pub fn new(header: ManifestHeader, options: PlanOptions) -> Self {
        Self {
            header,
            options,
            documents: BTreeMap::new(),
            failed: BTreeMap::new(),
            pending: 0,
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

    /// Registers `doc` and returns how to store it.
    ///
    /// # Errors
    /// [`PlanError::AlreadyPlanned`] for a second document with the same id.
    pub fn plan_document(&mut self, doc: Document) -> Result<ObjectPut, PlanError> {
        if self.documents.contains_key(&doc.document_id)
            || self.failed.contains_key(doc.document_id.as_str())
        {
            return Err(PlanError::AlreadyPlanned(doc.document_id));
        }
        let put = document_put(&self.options, self.header.backup_date, &doc);
        self.documents
            .insert(doc.document_id.clone(), Slot { doc, stored: false });
        self.pending += 1;
        Ok(put)
    }

    /// Records that the body of planned document `id` is stored (uploaded now, or found
    /// already stored with the same checksum by an earlier run).
    ///
    /// # Errors
    /// [`PlanError::NotPlanned`] or [`PlanError::AlreadyReported`].
    pub fn record_stored(&mut self, id: &DocumentId) -> Result<(), PlanError> {
        let slot = self
            .documents
            .get_mut(id)
            .ok_or_else(|| PlanError::NotPlanned(id.to_string()))?;
        if slot.stored {
            return Err(PlanError::AlreadyReported(id.to_string()));
        }
        slot.stored = true;
        self.pending -= 1;
        Ok(())
    }

    /// Records a failure: of a planned document (it leaves the stored set), or of a source
    /// entry that never became a document (unreadable file, invalid name).
    ///
    /// # Errors
    /// [`PlanError::AlreadyReported`] when the document already has an outcome.
    pub fn record_failed(&mut self, failure: FailedDocument) -> Result<(), PlanError> {
        if self.failed.contains_key(&failure.document_id) {
            return Err(PlanError::AlreadyReported(failure.document_id));
        }
        if let Ok(id) = DocumentId::new(&failure.document_id) {
            match self.documents.get(&id).map(|s| s.stored) {
                Some(true) => return Err(PlanError::AlreadyReported(failure.document_id)),
                Some(false) => {
                    self.documents.remove(&id);
                    self.pending -= 1;
                }
                None => {}
            }
        }
        self.failed.insert(failure.document_id.clone(), failure);
        Ok(())
    }

    /// Planned documents without an outcome yet.
    pub fn pending(&self) -> impl Iterator<Item = &Document> {
        self.documents
            .values()
            .filter(|s| !s.stored)
            .map(|s| &s.doc)
    }

    /// Number of documents recorded as stored so far.
    pub fn stored_count(&self) -> usize {
        self.documents.len() - self.pending
    }

    /// Number of failures recorded so far.
    pub fn failed_count(&self) -> usize {
        self.failed.len()
    }

    /// Ends the run and returns its last write.
    ///
    /// # Errors
    /// [`PlanError::Unresolved`] while any planned document has no outcome: the manifest is
    /// never produced before every document is accounted for.
    pub fn finish(self) -> Result<Commit, PlanError> {
        if self.pending > 0 {
            let first = self
                .pending()
                .next()
                .map(|d| d.document_id.clone())
                .unwrap_or_else(|| unreachable!("pending > 0"));
            return Err(PlanError::Unresolved {
                count: self.pending,
                first,
            });
        }
        let documents = self.documents.into_values().map(|s| s.doc).collect();
        let manifest =
            Manifest::assemble(self.header, documents, self.failed.into_values().collect())?;
        let body = manifest.to_json().into_bytes();
        let put = manifest_put(&self.options, &manifest, &body);
        Ok(Commit {
            manifest,
            body,
            put,
        })
    }
}
