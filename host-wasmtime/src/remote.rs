//! `--dest s3://bucket/prefix`: the guest scans, the runner uploads.
//!
//! The split (README, "Design notes"): the sandboxed guest walks the source (granted read-only)
//! and hashes every file, and prints the manifest the backup would commit. The runner then reads
//! each listed file itself and streams it to S3 through the Lambda's executor
//! (`docvault_lambda::executor::execute`: SSE-KMS, `x-amz-checksum-sha256`, create-only writes,
//! manifest last). Bytes go from the source disk to the network once; nothing is staged on disk.
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

use docvault_core::{
    Document, DocumentId, FailedDocument, FailureStage, GeneratedDocument, Generator,
    GeneratorSpec, Manifest, ManifestHeader, Sha256Digest, SourceDescription,
};
use docvault_lambda::executor::Incoming;

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
        let valid_bucket = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
        if !valid_bucket {
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

/// Where the runner finds the bodies of a scanned manifest's documents.
#[derive(Debug, Clone)]
pub enum Bodies {
    /// Files below this host directory (the one granted to the guest as its source).
    Directory(PathBuf),
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
        Bodies::Directory(root) => {
            let docs =
                manifest.documents.clone().into_iter().map(move |document| {
                    match read_body(&root, document.document_id.as_str(), &document) {
                        Ok(body) => GeneratedDocument { document, body }.into(),
                        Err(reason) => Incoming::Failed(FailedDocument {
                            document_id: document.document_id.to_string(),
                            source: Some(
                                root.join(document.document_id.as_str())
                                    .display()
                                    .to_string(),
                            ),
                            stage: FailureStage::Read,
                            reason,
                            attempts: 1,
                        }),
                    }
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
