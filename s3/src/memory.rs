//! An [`ObjectStore`] in memory, for tests that need a fault at an exact point: it checks
//! checksums as S3 does, honours `If-None-Match` and `If-Match`, gives ETags, logs every write,
//! and fails as told. (End-to-end tests use real S3 stand-ins; this is for what they cannot
//! time precisely: a crash after the 30th write, one key that always fails.)

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use aws_sdk_s3::primitives::ByteStream;
use bytes::Bytes;
use docvault_core::verify::StoreChecksum;
use docvault_core::{Encryption, ObjectPut, ObservedEncryption, ObservedRetention, Sha256Digest};
use percent_encoding::percent_decode_str;

use crate::store::{
    ListedObject, ObjectInfo, ObjectStore, ObjectVersion, Refusal, StoreError, StoredObject,
    Written,
};

/// One stored object.
#[derive(Debug, Clone)]
pub struct MemObject {
    /// Its bytes.
    pub body: Bytes,
    /// The PUT that wrote it (headers, encryption).
    pub put: ObjectPut,
    /// Its entity tag.
    pub etag: String,
    /// Whether it is under legal hold.
    pub legal_hold: bool,
}

/// What to do wrong, and when.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// Writes accepted before every further write is refused (a revoked permission).
    pub refuse_after: Option<usize>,
    /// Keys (by suffix) whose writes fail with a transient error (after the SDK's retries).
    pub flaky: Vec<String>,
    /// Keys (by suffix) whose bodies get a byte flipped in flight (the store refuses them).
    pub corrupt: Vec<String>,
    /// Keep no checksums (HEAD reports none), as some S3-compatible stores.
    pub no_checksums: bool,
    /// Delay every document write by this long.
    pub write_delay: Option<Duration>,
}

/// The store (cheap to clone; clones share the objects).
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    objects: Arc<Mutex<BTreeMap<String, MemObject>>>,
    writes: Arc<Mutex<Vec<String>>>,
    faults: Arc<Mutex<Faults>>,
    accepted: Arc<AtomicUsize>,
    etags: Arc<AtomicU64>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// A store that shares this one's objects, with no faults and a fresh write log.
    pub fn healthy_view(&self) -> Self {
        Self {
            objects: Arc::clone(&self.objects),
            etags: Arc::clone(&self.etags),
            ..Self::default()
        }
    }

    /// The objects, to look at or tamper with.
    pub fn objects(&self) -> MutexGuard<'_, BTreeMap<String, MemObject>> {
        self.objects.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The faults, to set.
    pub fn faults(&self) -> MutexGuard<'_, Faults> {
        self.faults.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every key written so far, in order.
    pub fn writes(&self) -> Vec<String> {
        self.writes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Puts `body` at `key` as another tool would (no docvault headers, no encryption).
    pub fn land(&self, key: &str, body: &[u8]) {
        let put = ObjectPut {
            key: key.to_owned(),
            content_type: "application/octet-stream".into(),
            content_length: body.len() as u64,
            checksum_sha256: Sha256Digest::of(body).to_base64(),
            metadata: BTreeMap::new(),
            tagging: String::new(),
            encryption: Encryption::None,
            if_none_match: false,
            if_match: None,
            lock: None,
            parts: None,
        };
        let etag = self.next_etag();
        self.objects().insert(
            key.to_owned(),
            MemObject {
                body: Bytes::copy_from_slice(body),
                put,
                etag,
                legal_hold: false,
            },
        );
    }

    fn next_etag(&self) -> String {
        format!("\"e{}\"", self.etags.fetch_add(1, Ordering::SeqCst))
    }

    fn matches(key: &str, suffixes: &[String]) -> bool {
        suffixes.iter().any(|k| key.ends_with(k.as_str()))
    }
}

impl ObjectStore for MemoryStore {
    async fn put(&self, put: &ObjectPut, mut body: Bytes) -> Result<Written, StoreError> {
        let (refuse_after, flaky, corrupt, delay) = {
            let f = self.faults();
            (
                f.refuse_after,
                Self::matches(&put.key, &f.flaky),
                Self::matches(&put.key, &f.corrupt),
                f.write_delay,
            )
        };
        if let Some(delay) = delay
            && put.key.contains("/documents/")
        {
            tokio::time::sleep(delay).await;
        }
        if refuse_after.is_some_and(|limit| self.accepted.load(Ordering::SeqCst) >= limit) {
            return Err(StoreError::Refused {
                code: "AccessDenied".into(),
                message: "injected".into(),
                refusal: Refusal::Denied,
            });
        }
        if flaky {
            return Err(StoreError::Transient("SlowDown: injected".into()));
        }
        if corrupt && !body.is_empty() {
            let mut v = body.to_vec();
            v[0] ^= 0xff;
            body = Bytes::from(v);
        }
        if body.len() as u64 != put.content_length
            || Sha256Digest::of(&body).to_base64() != put.checksum_sha256
        {
            return Err(StoreError::ChecksumMismatch(
                "BadDigest: the body does not match its checksum".into(),
            ));
        }
        let etag = self.next_etag();
        {
            let mut objects = self.objects();
            let current = objects.get(&put.key).map(|o| o.etag.clone());
            if put.if_none_match && current.is_some() {
                return Err(StoreError::PreconditionFailed);
            }
            if let Some(want) = &put.if_match
                && current.as_ref() != Some(want)
            {
                return Err(StoreError::PreconditionFailed);
            }
            objects.insert(
                put.key.clone(),
                MemObject {
                    body,
                    put: put.clone(),
                    etag: etag.clone(),
                    legal_hold: false,
                },
            );
        }
        self.accepted.fetch_add(1, Ordering::SeqCst);
        self.writes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(put.key.clone());
        Ok(Written { etag: Some(etag) })
    }

    async fn get(&self, key: &str, limit: u64) -> Result<Option<StoredObject>, StoreError> {
        let objects = self.objects();
        let Some(o) = objects.get(key) else {
            return Ok(None);
        };
        if o.body.len() as u64 > limit {
            return Err(StoreError::TooLarge {
                key: key.to_owned(),
                size: o.body.len() as u64,
                limit,
            });
        }
        Ok(Some(StoredObject {
            body: o.body.clone(),
            etag: Some(o.etag.clone()),
        }))
    }

    async fn head(&self, key: &str) -> Result<Option<ObjectInfo>, StoreError> {
        let no_checksums = self.faults().no_checksums;
        Ok(self.objects().get(key).map(|o| ObjectInfo {
            size: o.body.len() as u64,
            checksum: if no_checksums {
                None
            } else {
                Sha256Digest::from_base64(&o.put.checksum_sha256).map(|sha256| StoreChecksum {
                    sha256,
                    parts: None,
                })
            },
            encryption: match &o.put.encryption {
                Encryption::Kms { key_id } => ObservedEncryption {
                    algorithm: Some("aws:kms".into()),
                    kms_key_id: key_id.clone(),
                },
                Encryption::None => ObservedEncryption {
                    algorithm: None,
                    kms_key_id: None,
                },
            },
            etag: Some(o.etag.clone()),
            retention: ObservedRetention {
                lock_mode: o.put.lock.map(|l| l.mode).unwrap_or_default(),
                retain_until: o.put.lock.map(|l| l.retain_until),
                legal_hold: o.legal_hold,
                class_tag: None,
            },
        }))
    }

    async fn set_legal_hold(
        &self,
        key: &str,
        version_id: Option<&str>,
        on: bool,
    ) -> Result<bool, StoreError> {
        Ok(self
            .objects()
            .get_mut(key)
            .filter(|o| version_id.is_none_or(|v| v == o.etag))
            .map(|o| o.legal_hold = on)
            .is_some())
    }

    async fn tags(&self, key: &str) -> Result<Option<BTreeMap<String, String>>, StoreError> {
        Ok(self.objects().get(key).map(|o| {
            o.put
                .tagging
                .split('&')
                .filter_map(|pair| pair.split_once('='))
                .map(|(k, v)| {
                    let decode = |s: &str| percent_decode_str(s).decode_utf8_lossy().into_owned();
                    (decode(k), decode(v))
                })
                .collect()
        }))
    }

    async fn folders(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let mut out: Vec<String> = self
            .objects()
            .keys()
            .filter_map(|k| {
                let rest = k.strip_prefix(prefix)?;
                let end = rest.find('/')?;
                Some(format!("{prefix}{}", &rest[..=end]))
            })
            .collect();
        out.dedup();
        Ok(out)
    }

    /// This store keeps one version per key (its ETag stands for the version id).
    async fn versions(&self, prefix: &str) -> Result<Vec<ObjectVersion>, StoreError> {
        Ok(self
            .objects()
            .range(prefix.to_owned()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, o)| ObjectVersion {
                key: k.clone(),
                version_id: o.etag.clone(),
                delete_marker: false,
            })
            .collect())
    }

    async fn delete_version(&self, key: &str, version_id: &str) -> Result<(), StoreError> {
        let mut objects = self.objects();
        let Some(object) = objects.get(key) else {
            return Ok(());
        };
        if object.etag != version_id {
            return Ok(());
        }
        if object.legal_hold || object.put.lock.is_some() {
            return Err(StoreError::Refused {
                code: "AccessDenied".into(),
                message: "the object is locked or on legal hold".into(),
                refusal: Refusal::Denied,
            });
        }
        objects.remove(key);
        Ok(())
    }

    async fn list(&self, prefix: &str) -> Result<Vec<ListedObject>, StoreError> {
        Ok(self
            .objects()
            .range(prefix.to_owned()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, o)| ListedObject {
                key: k.clone(),
                size: o.body.len() as u64,
                etag: Some(o.etag.clone()),
                last_modified: None,
            })
            .collect())
    }

    async fn get_stream(
        &self,
        key: &str,
        if_match: Option<&str>,
    ) -> Result<Option<ByteStream>, StoreError> {
        let objects = self.objects();
        let Some(o) = objects.get(key) else {
            return Ok(None);
        };
        if if_match.is_some_and(|etag| etag != o.etag) {
            return Err(StoreError::PreconditionFailed);
        }
        Ok(Some(ByteStream::from(o.body.clone())))
    }

    async fn put_stream(&self, put: &ObjectPut, body: ByteStream) -> Result<Written, StoreError> {
        let bytes = body
            .collect()
            .await
            .map_err(|e| StoreError::Transient(format!("reading the body of {}: {e}", put.key)))?
            .into_bytes();
        self.put(put, bytes).await
    }
}
