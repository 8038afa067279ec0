//! A day's listing split into shards, and where a sharded run keeps its work.

use serde::{Deserialize, Serialize};

use crate::manifest::ManifestHeader;
use crate::model::{BackupDate, Sha256Digest, Sha256Hasher};
use crate::plan::PlanOptions;
use crate::retention::Retention;

/// The format name a plan carries, so a plan is never mistaken for another JSON object.
pub const PLAN_FORMAT: &str = "docvault-shard-plan/1";

/// The format name a shard listing carries.
pub const LISTING_FORMAT: &str = "docvault-shard-listing/1";

/// What one PUT costs, in bytes of body, when shards are balanced: at the measured rates
/// (about 4,000 small PUT/s, about 250 MB/s of large bodies against one server, BENCHMARKS.md)
/// one request takes about as long as sending 64 KiB.
pub const REQUEST_WEIGHT_BYTES: u64 = 64 * 1024;

/// The most shards a plan has (Step Functions' Distributed Map runs up to 10,000 children at
/// once; more shards than that only queue).
pub const MAX_SHARDS: u32 = 10_000;

/// One entry of a day's listing: a document (or a source entry that failed to become one) as
/// listed, before its body is read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Listed {
    /// The document id (or the failure id of an entry that has no valid id).
    pub document_id: String,
    /// Its size as listed (0 when unknown).
    pub size: u64,
    /// Where it comes from (a source key or path), when the shard needs it to read the body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The source's entity tag for it, so the shard reads exactly the object listed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    /// The source's modification time (Unix seconds), the document's created date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<i64>,
}

impl Listed {
    /// An entry known by its id and size alone (a generated day, a directory).
    pub fn new(document_id: impl Into<String>, size: u64) -> Self {
        Self {
            document_id: document_id.into(),
            size,
            source: None,
            etag: None,
            last_modified: None,
        }
    }
}

/// How to split a listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// Into at most this many shards of about equal work (bytes plus
    /// [`REQUEST_WEIGHT_BYTES`] per document); fewer when there are fewer documents.
    Count(u32),
    /// Into shards of at most this many documents and this many bytes (a document larger than
    /// `max_bytes` gets a shard of its own).
    Limits {
        /// Documents per shard.
        max_documents: u64,
        /// Bytes per shard.
        max_bytes: u64,
    },
}

/// One shard of a plan: a contiguous range of the day's document ids.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Shard {
    /// Its position, from 0.
    pub index: u32,
    /// The first id of the shard.
    pub first_id: String,
    /// The last id of the shard.
    pub last_id: String,
    /// How many listing entries it holds.
    pub documents: u64,
    /// Their listed bytes.
    pub bytes: u64,
    /// SHA-256 of its ids ([`ids_digest`]): the commit checks that a part accounts for
    /// exactly these.
    pub ids_sha256: Sha256Digest,
    /// SHA-256 of its listing's entries ([`listing_digest`]: ids, sizes, sources, entity tags,
    /// times): a source object replaced after the plan (even at the same size) makes a later
    /// worker's plan differ, instead of a shard that can never read what its listing names.
    pub listing_sha256: Sha256Digest,
}

/// A day's sharded run, decided before any body is read: the manifest header every part and
/// the commit share, and the shards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShardPlan {
    /// Always [`PLAN_FORMAT`].
    pub format: String,
    /// The run every shard belongs to.
    pub header: ManifestHeader,
    /// How long the day is kept and how its objects are locked: every shard writes with it and
    /// the commit records it, so no worker can differ.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention: Option<Retention>,
    /// Listing entries in all shards.
    pub total_documents: u64,
    /// Their listed bytes.
    pub total_bytes: u64,
    /// The shards, in id order.
    pub shards: Vec<Shard>,
}

/// The entries of one shard, written beside the plan for the worker that runs it and for the
/// commit (which records them as failed when their shard left no part).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShardListing {
    /// Always [`LISTING_FORMAT`].
    pub format: String,
    /// The plan's digest.
    pub plan_sha256: Sha256Digest,
    /// The shard.
    pub index: u32,
    /// Its entries, in id order.
    pub documents: Vec<Listed>,
}

/// Why a listing cannot be planned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ShardPlanError {
    /// Two entries share an id.
    #[error(
        "`{}` is listed twice: every document of a day needs its own id",
        crate::text::escaped(.0)
    )]
    Duplicate(String),
    /// A split that cannot make shards.
    #[error("{0}")]
    Split(String),
}

impl ShardPlanError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Duplicate(_) => "duplicate_document_id",
            Self::Split(_) => "invalid_split",
        }
    }
}

/// SHA-256 of a sequence of ids, each as its length (8 bytes, little-endian) then its bytes:
/// no two different sequences share a digest input.
pub fn ids_digest<'a>(ids: impl IntoIterator<Item = &'a str>) -> Sha256Digest {
    let mut h = Sha256Hasher::new();
    for id in ids {
        h.update(&(id.len() as u64).to_le_bytes());
        h.update(id.as_bytes());
    }
    h.finish()
}

/// SHA-256 of a listing's entries, each field length-prefixed (absent fields marked apart from
/// empty ones).
pub fn listing_digest<'a>(entries: impl IntoIterator<Item = &'a Listed>) -> Sha256Digest {
    let mut h = Sha256Hasher::new();
    let mut field = |bytes: Option<&[u8]>| match bytes {
        None => h.update(&[0]),
        Some(b) => {
            h.update(&[1]);
            h.update(&(b.len() as u64).to_le_bytes());
            h.update(b);
        }
    };
    for l in entries {
        field(Some(l.document_id.as_bytes()));
        field(Some(&l.size.to_le_bytes()));
        field(l.source.as_deref().map(str::as_bytes));
        field(l.etag.as_deref().map(str::as_bytes));
        field(
            l.last_modified
                .map(i64::to_le_bytes)
                .as_ref()
                .map(<[u8; 8]>::as_slice),
        );
    }
    h.finish()
}

impl ShardPlan {
    /// Splits `listing` (any order) into shards of contiguous id ranges.
    ///
    /// # Errors
    /// [`ShardPlanError`] for an id listed twice or a split of zero.
    pub fn split(
        header: ManifestHeader,
        retention: Option<Retention>,
        mut listing: Vec<Listed>,
        split: Split,
    ) -> Result<(Self, Vec<ShardListing>), ShardPlanError> {
        match split {
            Split::Count(0)
            | Split::Limits {
                max_documents: 0, ..
            } => {
                return Err(ShardPlanError::Split(
                    "a split needs at least one shard and one document per shard".into(),
                ));
            }
            Split::Count(n) if n > MAX_SHARDS => {
                return Err(ShardPlanError::Split(format!(
                    "{n} shards is more than {MAX_SHARDS}: use fewer, larger shards"
                )));
            }
            _ => {}
        }
        listing.sort_by(|a, b| a.document_id.cmp(&b.document_id));
        if let Some(p) = listing
            .windows(2)
            .find(|p| p[0].document_id == p[1].document_id)
        {
            return Err(ShardPlanError::Duplicate(p[1].document_id.clone()));
        }
        let cuts = cuts(&listing, split);
        let total_bytes = listing
            .iter()
            .map(|l| l.size)
            .fold(0u64, u64::saturating_add);
        let mut shards = Vec::with_capacity(cuts.len());
        let mut groups = Vec::with_capacity(cuts.len());
        let mut start = 0;
        for (index, end) in cuts.into_iter().enumerate() {
            let group: Vec<Listed> = listing[start..end].to_vec();
            start = end;
            let index = u32::try_from(index).unwrap_or(u32::MAX);
            shards.push(Shard {
                index,
                first_id: group[0].document_id.clone(),
                last_id: group[group.len() - 1].document_id.clone(),
                documents: group.len() as u64,
                bytes: group.iter().map(|l| l.size).fold(0u64, u64::saturating_add),
                ids_sha256: ids_digest(group.iter().map(|l| l.document_id.as_str())),
                listing_sha256: listing_digest(&group),
            });
            groups.push((index, group));
        }
        let plan = Self {
            format: PLAN_FORMAT.to_owned(),
            header,
            retention,
            total_documents: listing.len() as u64,
            total_bytes,
            shards,
        };
        if plan.shards.len() > MAX_SHARDS as usize {
            return Err(ShardPlanError::Split(format!(
                "these limits make {} shards, more than {MAX_SHARDS}: raise the documents or \
                 bytes per shard",
                plan.shards.len()
            )));
        }
        let digest = plan.digest();
        let listings = groups
            .into_iter()
            .map(|(index, documents)| ShardListing {
                format: LISTING_FORMAT.to_owned(),
                plan_sha256: digest,
                index,
                documents,
            })
            .collect();
        Ok((plan, listings))
    }

    /// This plan under another run's `header` (a later worker adopting the first one's time and
    /// run id): the shards do not depend on the header, so only its `listings` follow the new
    /// digest.
    pub fn with_header(mut self, header: ManifestHeader, listings: &mut [ShardListing]) -> Self {
        self.header = header;
        let digest = self.digest();
        for listing in listings {
            listing.plan_sha256 = digest;
        }
        self
    }

    /// The plan's canonical JSON (fixed field order, one line).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| unreachable!("a plan always serializes"))
    }

    /// The shards as the items of a Step Functions Distributed Map: `[{"index":0},...]`.
    pub fn items_json(&self) -> String {
        let mut out = String::with_capacity(self.shards.len() * 14 + 2);
        out.push('[');
        for (i, s) in self.shards.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&format!("{{\"index\":{}}}", s.index));
        }
        out.push(']');
        out
    }

    /// SHA-256 of [`to_json`](Self::to_json): the plan's identity, which every part and
    /// listing carries.
    pub fn digest(&self) -> Sha256Digest {
        Sha256Digest::of(self.to_json().as_bytes())
    }

    /// Parses and checks a stored plan.
    ///
    /// # Errors
    /// [`ShardFormatError`] saying what is wrong with it.
    pub fn from_json(text: &str) -> Result<Self, ShardFormatError> {
        let plan: Self =
            serde_json::from_str(text).map_err(|e| ShardFormatError::Parse(e.to_string()))?;
        if plan.format != PLAN_FORMAT {
            return Err(ShardFormatError::Format(plan.format));
        }
        if plan.shards.len() > MAX_SHARDS as usize {
            return Err(ShardFormatError::Shards(format!(
                "{} shards, more than the {MAX_SHARDS} a plan may have",
                plan.shards.len()
            )));
        }
        let mut previous: Option<&str> = None;
        let (mut documents, mut bytes) = (0u64, 0u64);
        for (i, s) in plan.shards.iter().enumerate() {
            let ordered = s.index as usize == i
                && s.documents > 0
                && s.first_id <= s.last_id
                && previous.is_none_or(|p| p < s.first_id.as_str());
            if !ordered {
                return Err(ShardFormatError::Shards(format!(
                    "shard {i} is out of order, empty or overlaps the one before"
                )));
            }
            previous = Some(&s.last_id);
            documents = documents.saturating_add(s.documents);
            bytes = bytes.saturating_add(s.bytes);
        }
        if documents != plan.total_documents || bytes != plan.total_bytes {
            return Err(ShardFormatError::Shards(
                "the shards' documents or bytes do not add up to the plan's totals".into(),
            ));
        }
        Ok(plan)
    }

    /// `options` as every worker and the commit of this plan write with: the plan's retention
    /// and environment.
    pub fn options(&self, options: PlanOptions) -> PlanOptions {
        PlanOptions {
            environment: self.header.environment.clone(),
            retention: self.retention,
            ..options
        }
    }

    /// What differs between this plan and `other`, for a person, or `None` when they are equal.
    pub fn difference(&self, other: &Self) -> Option<String> {
        let h = (&self.header, &other.header);
        let what = if h.0.backup_date != h.1.backup_date {
            format!("the day ({} and {})", h.0.backup_date, h.1.backup_date)
        } else if h.0.environment != h.1.environment {
            format!(
                "the environment ({} and {})",
                h.0.environment, h.1.environment
            )
        } else if h.0.source != h.1.source {
            "the source".to_owned()
        } else if self.retention != other.retention {
            "the retention".to_owned()
        } else if self.shards.len() != other.shards.len() {
            format!(
                "the number of shards ({} and {})",
                self.shards.len(),
                other.shards.len()
            )
        } else if (self.total_documents, self.total_bytes)
            != (other.total_documents, other.total_bytes)
        {
            format!(
                "the documents ({} documents of {} bytes, and {} of {})",
                self.total_documents, self.total_bytes, other.total_documents, other.total_bytes
            )
        } else if let Some(s) = self.shards.iter().zip(&other.shards).find(|(a, b)| a != b) {
            format!("the documents of shard {}", s.0.index)
        } else if self != other {
            "the run (its time or id)".to_owned()
        } else {
            return None;
        };
        Some(what)
    }

    /// The shard that holds `id`, if any.
    pub fn shard_of(&self, id: &str) -> Option<&Shard> {
        let i = self.shards.partition_point(|s| s.last_id.as_str() < id);
        self.shards.get(i).filter(|s| s.first_id.as_str() <= id)
    }
}

impl ShardListing {
    /// The listing's canonical JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| unreachable!("a listing always serializes"))
    }

    /// Parses a stored listing and checks it is `shard` of the plan with digest `plan`.
    ///
    /// # Errors
    /// [`ShardFormatError`] when it is not.
    pub fn from_json(
        text: &str,
        plan: Sha256Digest,
        shard: &Shard,
    ) -> Result<Self, ShardFormatError> {
        let listing: Self =
            serde_json::from_str(text).map_err(|e| ShardFormatError::Parse(e.to_string()))?;
        if listing.format != LISTING_FORMAT {
            return Err(ShardFormatError::Format(listing.format));
        }
        let entries = listing_digest(&listing.documents);
        if listing.plan_sha256 != plan
            || listing.index != shard.index
            || entries != shard.listing_sha256
        {
            return Err(ShardFormatError::Shards(format!(
                "the listing of shard {} is not the plan's (another plan's, or altered)",
                shard.index
            )));
        }
        Ok(listing)
    }
}

/// Why a stored plan or listing cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ShardFormatError {
    /// Not JSON of the right shape.
    #[error("not a shard plan or listing: {0}")]
    Parse(String),
    /// Another format.
    #[error("format `{}` is not one this version reads", crate::text::escaped(.0))]
    Format(String),
    /// Shards that do not fit together.
    #[error("{0}")]
    Shards(String),
}

impl ShardFormatError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Parse(_) => "invalid_json",
            Self::Format(_) => "unsupported_format",
            Self::Shards(_) => "invalid_shards",
        }
    }
}

/// Where the entries of a sorted listing are cut: the end of each shard.
fn cuts(listing: &[Listed], split: Split) -> Vec<usize> {
    let mut ends = Vec::new();
    match split {
        Split::Count(n) => {
            let weight = |l: &Listed| u128::from(l.size) + u128::from(REQUEST_WEIGHT_BYTES);
            let total: u128 = listing.iter().map(weight).sum();
            let n = u128::from(n);
            let mut done = 0u128;
            for (i, l) in listing.iter().enumerate() {
                done += weight(l);
                // Shard k ends once the work done reaches (k+1)/n of the whole.
                let k = ends.len() as u128;
                if done * n >= (k + 1) * total {
                    ends.push(i + 1);
                }
            }
        }
        Split::Limits {
            max_documents,
            max_bytes,
        } => {
            let (mut count, mut bytes) = (0u64, 0u64);
            for (i, l) in listing.iter().enumerate() {
                if count > 0 && (count >= max_documents || bytes.saturating_add(l.size) > max_bytes)
                {
                    ends.push(i);
                    count = 0;
                    bytes = 0;
                }
                count += 1;
                bytes = bytes.saturating_add(l.size);
            }
        }
    }
    if ends.last().copied().unwrap_or(0) != listing.len() {
        ends.push(listing.len());
    }
    ends.retain(|&e| e > 0);
    ends.dedup();
    ends
}

/// Where a sharded run of one day keeps its work, relative to the backup root: outside
/// `backups/`, so verify, holds and prune never see it, and under `work/`, which the stack
/// expires after a few days.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkLayout {
    day: String,
}

/// The folder, below the root, that holds sharded runs' work.
pub const WORK_FOLDER: &str = "work/";

impl WorkLayout {
    /// The work area of `date`.
    pub fn new(date: BackupDate) -> Self {
        Self {
            day: format!("{WORK_FOLDER}{date}/"),
        }
    }

    /// `work/{date}/plan.json`: the day's plan, written once (create-only); every shard and
    /// the commit use it.
    pub fn plan_key(&self) -> String {
        format!("{}plan.json", self.day)
    }

    /// `work/{date}/{plan}/`: the work of one plan.
    pub fn plan_prefix(&self, plan: &Sha256Digest) -> String {
        format!("{}{}/", self.day, plan.to_hex())
    }

    /// `work/{date}/{plan}/items.json`: the shards as a Distributed Map reads its items
    /// ([`ShardPlan::items_json`]).
    pub fn items_key(&self, plan: &Sha256Digest) -> String {
        format!("{}items.json", self.plan_prefix(plan))
    }

    /// `work/{date}/{plan}/listing-{index}.json`.
    pub fn listing_key(&self, plan: &Sha256Digest, index: u32) -> String {
        format!("{}listing-{index:05}.json", self.plan_prefix(plan))
    }

    /// `work/{date}/{plan}/part-{index}-`: the start of shard `index`'s part keys.
    pub fn part_prefix(&self, plan: &Sha256Digest, index: u32) -> String {
        format!("{}part-{index:05}-", self.plan_prefix(plan))
    }

    /// `work/{date}/{plan}/part-{index}-{sha256}.json`: shard `index`'s complete part, named by
    /// the SHA-256 of its bytes (a rerun that stores the same documents writes the same key; a
    /// part altered after it was written no longer matches its name).
    pub fn part_key(&self, plan: &Sha256Digest, index: u32, part: &Sha256Digest) -> String {
        format!("{}{}.json", self.part_prefix(plan, index), part.to_hex())
    }

    /// `work/{date}/{plan}/incomplete-{index}.json`: the report of a shard run that could not
    /// store every document (replaced by the next run of the shard).
    pub fn shard_report_key(&self, plan: &Sha256Digest, index: u32) -> String {
        format!("{}incomplete-{index:05}.json", self.plan_prefix(plan))
    }

    /// `work/{date}/{plan}/lease-{index}.json`: the lease a shard's run holds.
    pub fn shard_lease_key(&self, plan: &Sha256Digest, index: u32) -> String {
        format!("{}lease-{index:05}.json", self.plan_prefix(plan))
    }

    /// The digest in a part key below `prefix` (from [`part_prefix`](Self::part_prefix)).
    pub fn part_digest(prefix_key: &str, key: &str) -> Option<Sha256Digest> {
        let hex = key.strip_prefix(prefix_key)?.strip_suffix(".json")?;
        format!("sha256:{hex}").parse().ok()
    }
}
