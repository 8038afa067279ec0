//! `--dest s3://bucket/prefix`: the guest scans, the runner uploads.
//!
//! The split (README, "Design notes"): the sandboxed guest walks the source (granted read-only)
//! and hashes every file, and prints the manifest the backup would commit. The runner then reads
//! each listed file itself and streams it to S3 through the Lambda's executor
//! (`docvault_lambda::executor::execute`: SSE-KMS, `x-amz-checksum-sha256`, create-only writes,
//! manifest last). Bytes go from the source disk to the network once; nothing is staged on disk.
//!
//! Files are read inside the executor's upload slots, as the Lambda reads an S3 source: up to
//! [`FileReading::buffer_limit`] a file is read whole and checked before its upload; a larger
//! one is hashed in a stream first, then streamed again from disk into the upload through a
//! check that holds back its last chunk until the bytes are the scanned ones (a file changed in
//! between never lands); above [`FileReading::multipart_threshold`] it is hashed by part too
//! and goes up as a multipart upload whose parts checksum the manifest records. Memory stays at
//! `concurrency` x `buffer_limit` + 4 parts, whatever the files' sizes.
//!
//! The guest's output is untrusted input to the runner: the manifest is parsed and validated by
//! the core, every document id must be a plain relative path below the source (no `..`, no
//! absolute paths, no symbolic links on the way), and each file the runner reads must have the
//! size and SHA-256 the guest declared, or it is recorded as failed (stage `read`: it changed
//! after the scan). S3 checks the same SHA-256 again on arrival. The runner hashes natively
//! (with SHA-NI where the CPU has it), so this second hash costs little next to the upload.

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::path::{Component, Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use aws_sdk_s3::primitives::ByteStream;
use docvault_core::{
    Document, DocumentId, FailedDocument, FailureStage, Generator, GeneratorSpec, Manifest,
    ManifestHeader, PartedHasher, Sha256Digest, SourceDescription, UploadParts,
};
use docvault_lambda::config::is_bucket_name;
use docvault_lambda::executor::{Body, Fetch, Fetched, Incoming, Reopen};
use docvault_lambda::restore::{Wording, checked};
use docvault_lambda::source::{
    DEFAULT_BUFFER_LIMIT, DEFAULT_MULTIPART_THRESHOLD, DEFAULT_PART_SIZE, MAX_PARTS, upload_split,
};
use docvault_lambda::store::StoreError;
use tokio::io::AsyncReadExt as _;

/// An `s3://bucket[/prefix]` destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Url {
    /// The bucket.
    pub bucket: String,
    /// Key prefix: `""`, or ending in `/`.
    pub prefix: String,
}

/// An `s3://` destination that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("invalid S3 destination {url:?}: {why} (expected s3://BUCKET or s3://BUCKET/PREFIX)")]
pub struct S3UrlError {
    url: String,
    why: &'static str,
}

impl FromStr for S3Url {
    type Err = S3UrlError;

    fn from_str(url: &str) -> Result<Self, Self::Err> {
        let err = |why| S3UrlError {
            url: url.to_owned(),
            why,
        };
        let rest = url.strip_prefix("s3://").ok_or_else(|| err("not s3://"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if !is_bucket_name(bucket) {
            return Err(err(
                "a bucket name has 3 to 63 characters: a-z, 0-9, '-' and '.'",
            ));
        }
        let prefix = prefix.trim_matches('/');
        if prefix.split('/').any(|s| s == ".." || s == ".") {
            return Err(err("the prefix may not contain '.' or '..' segments"));
        }
        Ok(Self {
            bucket: bucket.to_owned(),
            prefix: if prefix.is_empty() {
                String::new()
            } else {
                format!("{prefix}/")
            },
        })
    }
}

impl fmt::Display for S3Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.prefix)
    }
}

/// The header of the run a scanned manifest describes.
pub fn header_of(manifest: &Manifest) -> ManifestHeader {
    ManifestHeader {
        backup_date: manifest.backup_date,
        backup_timestamp: manifest.backup_timestamp,
        environment: manifest.environment.clone(),
        run_id: manifest.run_id.clone(),
        source: manifest.source.clone(),
    }
}

/// How the runner reads a directory's files for upload (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileReading {
    /// Files up to this size are read whole, once.
    pub buffer_limit: u64,
    /// Files above this size go up in parts.
    pub multipart_threshold: u64,
    /// The size of those parts.
    pub part_size: u64,
}

impl Default for FileReading {
    /// The Lambda's defaults: 4 MiB, 64 MiB, 16 MiB.
    fn default() -> Self {
        Self {
            buffer_limit: DEFAULT_BUFFER_LIMIT,
            multipart_threshold: DEFAULT_MULTIPART_THRESHOLD,
            part_size: DEFAULT_PART_SIZE,
        }
    }
}

/// Where the runner finds the bodies of a scanned manifest's documents.
#[derive(Debug, Clone)]
pub enum Bodies {
    /// Files below this host directory (the one granted to the guest as its source), read so.
    Directory(PathBuf, FileReading),
    /// The generated day the manifest describes (`source.kind = generator`).
    Generated,
}

/// The executor's input for a scanned manifest: every document with its body, read lazily
/// (one at a time, as upload slots free up), and every failure the guest or the runner found.
pub fn incoming(manifest: &Manifest, bodies: Bodies) -> Box<dyn Iterator<Item = Incoming> + Send> {
    let failed = manifest
        .failed_documents
        .clone()
        .into_iter()
        .map(Incoming::Failed);
    match bodies {
        Bodies::Directory(root, reading) => {
            let docs = manifest.documents.clone().into_iter().map(move |document| {
                Incoming::Fetch(Fetch {
                    document_id: document.document_id.to_string(),
                    source: Some(
                        root.join(document.document_id.as_str())
                            .display()
                            .to_string(),
                    ),
                    read: Box::pin(read_file(root.clone(), document, reading)),
                })
            });
            Box::new(docs.chain(failed))
        }
        Bodies::Generated => {
            let (count, seed) = match manifest.source {
                SourceDescription::Generator { count, seed } => (count, seed),
                _ => (0, 0),
            };
            let generator = Generator::new(GeneratorSpec {
                date: manifest.backup_date,
                count,
                seed,
            });
            // The manifest lists documents by id; the generator yields them by index.
            let mut expected: BTreeMap<DocumentId, Document> = manifest
                .documents
                .iter()
                .map(|d| (d.document_id.clone(), d.clone()))
                .collect();
            let docs = generator.map(move |generated| {
                match expected.remove(&generated.document.document_id) {
                    Some(doc) if doc == generated.document => generated.into(),
                    _ => Incoming::Failed(FailedDocument {
                        document_id: generated.document.document_id.to_string(),
                        source: None,
                        stage: FailureStage::Read,
                        reason: "the sandbox's manifest does not list this generated document \
                                 as the runner generates it: the guest and the runner come \
                                 from different docvault versions"
                            .into(),
                        attempts: 1,
                    }),
                }
            });
            Box::new(docs.chain(failed))
        }
    }
}

/// Reads one scanned file for upload, in an upload slot (see the module documentation).
async fn read_file(
    root: PathBuf,
    mut document: Document,
    reading: FileReading,
) -> Result<Fetched, FailedDocument> {
    let id = document.document_id.to_string();
    let fail = |reason: String| FailedDocument {
        document_id: id.clone(),
        source: Some(root.join(&id).display().to_string()),
        stage: FailureStage::Read,
        reason,
        attempts: 1,
    };
    let size = document.file_size;
    if size <= reading.buffer_limit {
        let (root, id) = (root.clone(), id.clone());
        return tokio::task::spawn_blocking(move || {
            read_body(&root, &id, &document).map(|body| Fetched {
                document,
                body: Body::Bytes(body.into()),
            })
        })
        .await
        .map_err(|e| fail(format!("the read task failed: {e}")))?
        .map_err(fail);
    }
    let part_size =
        upload_split(size, reading.multipart_threshold, reading.part_size).map_err(|_| {
            fail(format!(
                "it is {size} bytes: more than {MAX_PARTS} parts of {} bytes (the most one \
                 upload has); raise --part-size",
                reading.part_size
            ))
        })?;
    let path = confined(&root, &id).map_err(fail)?;
    let (read, checksum, parts) = hash_file(&path, part_size)
        .await
        .map_err(|e| fail(format!("could not be read for upload: {e}")))?;
    if read != size || checksum != document.checksum {
        return Err(fail(format!(
            "changed after the sandbox read it: {read} bytes now with {checksum}, {size} bytes \
             with {} when scanned",
            document.checksum
        )));
    }
    document.parts = parts;
    let expected = document.clone();
    let reopen: Reopen = Arc::new(move || {
        let (path, expected) = (path.clone(), expected.clone());
        Box::pin(async move {
            let stream = ByteStream::from_path(&path).await.map_err(|e| {
                StoreError::Transient(format!("reading {} for upload: {e}", path.display()))
            })?;
            // A file changed since it was hashed ends the upload before its last bytes.
            let wording = Wording {
                subject: "the file",
                cause: "it changed after it was hashed for this backup; nothing was stored: \
                        rerun the backup once it is stable",
            };
            Ok(checked(stream, &expected, wording).0)
        })
    });
    Ok(Fetched {
        document,
        body: Body::Stream(reopen),
    })
}

/// Size, SHA-256 and (with `part_size`) the parts checksum of the file at `path`, read in a
/// stream.
async fn hash_file(
    path: &Path,
    part_size: Option<u64>,
) -> std::io::Result<(u64, Sha256Digest, Option<UploadParts>)> {
    let mut file = tokio::fs::File::open(path).await?;
    let mut hasher = PartedHasher::new(part_size);
    let mut buffer = vec![0; 1 << 20];
    let mut read = 0u64;
    loop {
        let n = file.read(&mut buffer).await?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
        read += n as u64;
    }
    let (checksum, parts) = hasher.finish();
    Ok((read, checksum, parts))
}

/// Reads `root/id` for upload: a plain relative path, no links, the declared size and SHA-256.
fn read_body(root: &Path, id: &str, document: &docvault_core::Document) -> Result<Vec<u8>, String> {
    let path = confined(root, id)?;
    let body = fs::read(&path).map_err(|e| format!("could not be read for upload: {e}"))?;
    if body.len() as u64 != document.file_size {
        return Err(format!(
            "changed after the sandbox read it: {} bytes now, {} when scanned",
            body.len(),
            document.file_size
        ));
    }
    if Sha256Digest::of(&body) != document.checksum {
        return Err(
            "changed after the sandbox read it: its SHA-256 differs from the scanned one".into(),
        );
    }
    Ok(body)
}

/// `root/id`, when `id` is a relative path of plain names and nothing on the way is a link.
fn confined(root: &Path, id: &str) -> Result<PathBuf, String> {
    let relative = Path::new(id);
    if id.is_empty()
        || !relative
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
    {
        return Err(format!(
            "refused: {id:?} is not a plain relative path below the source"
        ));
    }
    let mut path = root.to_path_buf();
    for component in relative.components() {
        path.push(component);
        let meta = fs::symlink_metadata(&path).map_err(|e| format!("could not be read: {e}"))?;
        if meta.file_type().is_symlink() {
            return Err(format!(
                "refused: {} is a symbolic link (links are never followed)",
                path.display()
            ));
        }
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_urls() {
        let u: S3Url = "s3://my-bucket/nightly/docs/".parse().unwrap();
        assert_eq!(
            (u.bucket.as_str(), u.prefix.as_str()),
            ("my-bucket", "nightly/docs/")
        );
        let u: S3Url = "s3://my-bucket".parse().unwrap();
        assert_eq!(u.prefix, "");
        for bad in ["my-bucket", "s3://", "s3://UPPER", "s3://b/../x", "s3://ab"] {
            assert!(bad.parse::<S3Url>().is_err(), "{bad}");
        }
    }

    #[test]
    fn a_file_that_changed_after_the_scan_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let generated = Generator::new(GeneratorSpec {
            date: "2026-11-27".parse().unwrap(),
            count: 1,
            seed: 0,
        })
        .next()
        .unwrap();
        let doc = &generated.document;
        let id = doc.document_id.as_str();
        let path = dir.path().join(id);
        fs::write(&path, &generated.body).unwrap();
        assert_eq!(read_body(dir.path(), id, doc).unwrap(), generated.body);

        let mut same_size = generated.body.clone();
        same_size[0] ^= 1;
        fs::write(&path, &same_size).unwrap();
        assert!(
            read_body(dir.path(), id, doc)
                .unwrap_err()
                .contains("SHA-256 differs")
        );
        fs::write(&path, b"shorter").unwrap();
        assert!(
            read_body(dir.path(), id, doc)
                .unwrap_err()
                .contains("7 bytes now")
        );
        fs::remove_file(&path).unwrap();
        assert!(
            read_body(dir.path(), id, doc)
                .unwrap_err()
                .contains("could not be read")
        );
    }

    /// Everything a [`Body`] gives when uploaded, or the error that ends it.
    async fn upload(body: &Body) -> Result<Vec<u8>, String> {
        let mut stream = match body {
            Body::Bytes(b) => return Ok(b.to_vec()),
            Body::Stream(reopen) => reopen().await.map_err(|e| e.to_string())?,
        };
        let mut out = Vec::new();
        while let Some(chunk) = stream.next().await {
            out.extend_from_slice(&chunk.map_err(|e| {
                let mut text = e.to_string();
                let mut source = std::error::Error::source(&e);
                while let Some(cause) = source {
                    text.push_str(&format!(": {cause}"));
                    source = cause.source();
                }
                text
            })?);
        }
        Ok(out)
    }

    #[tokio::test]
    async fn large_files_stream_and_split_into_parts() {
        let dir = tempfile::tempdir().unwrap();
        let generated = Generator::new(GeneratorSpec {
            date: "2026-11-27".parse().unwrap(),
            count: 1,
            seed: 3,
        })
        .next()
        .unwrap();
        let doc = generated.document.clone();
        let path = dir.path().join(doc.document_id.as_str());
        fs::write(&path, &generated.body).unwrap();
        let root = dir.path().to_path_buf();
        let size = doc.file_size;

        // Small enough to hold: read whole, no parts.
        let held = read_file(root.clone(), doc.clone(), FileReading::default())
            .await
            .unwrap();
        assert!(matches!(held.body, Body::Bytes(_)) && held.document == doc);
        assert_eq!(upload(&held.body).await.unwrap(), generated.body);

        // Above the buffer: streamed; above the threshold: parts recorded as S3 will compute them.
        let parted = FileReading {
            buffer_limit: 0,
            multipart_threshold: 1000,
            part_size: 1000,
        };
        let fetched = read_file(root.clone(), doc.clone(), parted).await.unwrap();
        let parts = fetched.document.parts.expect("parts");
        assert_eq!(
            (parts.part_size, u64::from(parts.count)),
            (1000, size.div_ceil(1000))
        );
        let mut expected = PartedHasher::new(Some(1000));
        expected.update(&generated.body);
        assert_eq!(expected.finish(), (doc.checksum, Some(parts)));
        assert!(matches!(fetched.body, Body::Stream(_)));
        assert_eq!(upload(&fetched.body).await.unwrap(), generated.body);
        let streamed = FileReading {
            multipart_threshold: size,
            ..parted
        };
        let single = read_file(root.clone(), doc.clone(), streamed)
            .await
            .unwrap();
        assert_eq!(single.document, doc, "no parts at or below the threshold");

        // Changed between the hash and the upload: the upload ends in an error, never complete.
        let mut altered = generated.body.clone();
        *altered.last_mut().unwrap() ^= 1;
        fs::write(&path, &altered).unwrap();
        let refused = upload(&fetched.body).await.unwrap_err();
        assert!(
            refused.contains("the file holds") && refused.contains("changed after it was hashed"),
            "{refused}"
        );
        // Changed before it was read: recorded as failed, with why.
        let failed = read_file(root, doc, parted).await.unwrap_err();
        assert_eq!(failed.stage, FailureStage::Read);
        assert!(
            failed.reason.contains("changed after the sandbox read it"),
            "{}",
            failed.reason
        );
    }

    #[test]
    fn ids_that_leave_the_source_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("a.txt"), "a").unwrap();
        assert!(confined(dir.path(), "a.txt").is_ok());
        for bad in ["../a.txt", "/etc/passwd", "x/../../a.txt", "./a.txt", ""] {
            let e = confined(dir.path(), bad).unwrap_err();
            assert!(
                e.contains("refused") || e.contains("could not"),
                "{bad}: {e}"
            );
        }
        std::os::unix::fs::symlink("/etc", dir.path().join("etc")).unwrap();
        assert!(
            confined(dir.path(), "etc/hostname")
                .unwrap_err()
                .contains("symbolic link")
        );
    }
}
