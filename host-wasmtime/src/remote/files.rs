//! The bodies of a scanned manifest, read by the runner for upload.
//!
//! The sandboxed guest walks the source (granted read-only), hashes every file, and prints the
//! manifest the backup would commit. The runner then reads each listed file itself and streams
//! it to S3 through the shared executor. Bytes go from the source disk to the network once;
//! nothing is staged on disk.
//!
//! The guest's output is untrusted input to the runner: the manifest is parsed and validated
//! by the core (ids are safe relative paths), and every file is opened through the source's
//! [`Root`] (`docvault-fs`): no link is followed anywhere on the way, a FIFO or device is
//! refused without blocking, and a file whose size is not the scanned one is refused before a
//! byte of it is read (a huge file swapped in is never read whole). Files are read inside the
//! executor's upload slots: up to [`FileReading::buffer_limit`] a file is read whole and
//! checked before its upload; a larger one is hashed in a stream first, then streamed again
//! into the upload through a check that holds back its last chunk until the bytes are the
//! scanned ones (a file changed in between never lands); above
//! [`FileReading::multipart_threshold`] it is hashed by part too and goes up as a multipart
//! upload whose parts checksum the manifest records. Memory stays at `concurrency` x
//! `buffer_limit` + 4 parts, whatever the files' sizes. The runner hashes natively (with
//! SHA-NI where the CPU has it), so this second hash costs little next to the upload.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::sync::Arc;

use aws_sdk_s3::primitives::ByteStream;
use aws_smithy_types::byte_stream::Length;
use docvault_core::{
    Document, DocumentId, FailedDocument, FailureStage, Generator, GeneratorSpec, Manifest,
    PartedHasher, SourceDescription, UploadParts,
};
use docvault_fs::Root;
use docvault_s3::executor::{Body, Fetch, Fetched, Incoming, Reopen};
use docvault_s3::split::{
    DEFAULT_BUFFER_LIMIT, DEFAULT_MULTIPART_THRESHOLD, DEFAULT_PART_SIZE, MAX_PARTS, upload_split,
};
use docvault_s3::store::StoreError;
use docvault_s3::stream::{Wording, checked};

/// How the runner reads a directory's files for upload (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FileReading {
    /// Files up to this size are read whole, once.
    pub(crate) buffer_limit: u64,
    /// Files above this size go up in parts.
    pub(crate) multipart_threshold: u64,
    /// The size of those parts.
    pub(crate) part_size: u64,
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
pub(crate) enum Bodies {
    /// Files below this directory (the one granted to the guest as its source).
    Directory(Root, FileReading),
    /// The generated day the manifest describes (`source.kind = generator`).
    Generated,
}

/// The executor's input for a scanned manifest: every document with its body, read lazily
/// (one at a time, as upload slots free up), and every failure the guest found.
pub(crate) fn incoming(
    manifest: &Manifest,
    bodies: Bodies,
) -> Box<dyn Iterator<Item = Incoming> + Send> {
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
                        root.display(document.document_id.as_str())
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

/// Opens `id` below `root` for reading, refusing anything but a regular file of the scanned
/// size (checked before a byte is read).
fn open_scanned(root: &Root, id: &str, size: u64) -> Result<File, String> {
    let (file, meta) = root
        .open_file(id)
        .map_err(|e| format!("could not be read for upload: {e}"))?;
    if meta.len != size {
        return Err(format!(
            "changed after the sandbox read it: {} bytes now, {size} when scanned; it was not \
             read",
            meta.len
        ));
    }
    Ok(file)
}

/// Reads one scanned file for upload, in an upload slot (see the module documentation).
async fn read_file(
    root: Root,
    mut document: Document,
    reading: FileReading,
) -> Result<Fetched, FailedDocument> {
    let id = document.document_id.to_string();
    let fail = |reason: String| FailedDocument {
        document_id: id.clone(),
        source: Some(root.display(&id).display().to_string()),
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
    let (hash_root, hash_id) = (root.clone(), id.clone());
    let (read, checksum, parts) = tokio::task::spawn_blocking(move || {
        let file = open_scanned(&hash_root, &hash_id, size)?;
        hash_file(file, part_size).map_err(|e| format!("could not be read for upload: {e}"))
    })
    .await
    .map_err(|e| fail(format!("the hash task failed: {e}")))?
    .map_err(&fail)?;
    if read != size || checksum != document.checksum {
        return Err(fail(format!(
            "changed after the sandbox read it: {read} bytes now with {checksum}, {size} bytes \
             with {} when scanned",
            document.checksum
        )));
    }
    document.parts = parts.map(Box::new);
    let expected = document.clone();
    let reopen: Reopen = Arc::new(move || {
        let (root, id, expected) = (root.clone(), id.clone(), expected.clone());
        Box::pin(async move {
            let shown = root.display(&id).display().to_string();
            let file = open_scanned(&root, &id, expected.file_size)
                .map_err(|e| StoreError::Transient(format!("reading {shown} for upload: {e}")))?;
            let stream = ByteStream::read_from()
                .file(tokio::fs::File::from_std(file))
                .length(Length::Exact(expected.file_size))
                .build()
                .await
                .map_err(|e| StoreError::Transient(format!("reading {shown} for upload: {e}")))?;
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

/// Size, SHA-256 and (with `part_size`) the parts checksum of `file`, read in a stream.
fn hash_file(
    mut file: File,
    part_size: Option<u64>,
) -> std::io::Result<(u64, docvault_core::Sha256Digest, Option<UploadParts>)> {
    let mut hasher = PartedHasher::new(part_size);
    let mut buffer = vec![0; 1 << 20];
    let mut read = 0u64;
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
        read += n as u64;
    }
    let (checksum, parts) = hasher.finish();
    Ok((read, checksum, parts))
}

/// Reads `id` for upload: a regular file below the source, no link on the way, of the declared
/// size (checked before reading) and SHA-256.
fn read_body(root: &Root, id: &str, document: &Document) -> Result<Vec<u8>, String> {
    let file = open_scanned(root, id, document.file_size)?;
    let mut body = Vec::with_capacity(usize::try_from(document.file_size).unwrap_or(0));
    file.take(document.file_size.saturating_add(1))
        .read_to_end(&mut body)
        .map_err(|e| format!("could not be read for upload: {e}"))?;
    if body.len() as u64 != document.file_size {
        return Err(format!(
            "changed after the sandbox read it: {} bytes now, {} when scanned",
            body.len(),
            document.file_size
        ));
    }
    if docvault_core::Sha256Digest::of(&body) != document.checksum {
        return Err(
            "changed after the sandbox read it: its SHA-256 differs from the scanned one".into(),
        );
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::os::unix::fs::symlink;

    use super::*;

    fn generated(seed: u64) -> docvault_core::GeneratedDocument {
        Generator::new(GeneratorSpec {
            date: "2026-11-27".parse().unwrap(),
            count: 1,
            seed,
        })
        .next()
        .unwrap()
    }

    #[test]
    fn a_file_that_changed_after_the_scan_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let generated = generated(0);
        let doc = &generated.document;
        let id = doc.document_id.as_str();
        let path = dir.path().join(id);
        fs::write(&path, &generated.body).unwrap();
        let root = Root::open(dir.path()).unwrap();
        assert_eq!(read_body(&root, id, doc).unwrap(), generated.body);

        let mut same_size = generated.body.clone();
        same_size[0] ^= 1;
        fs::write(&path, &same_size).unwrap();
        assert!(
            read_body(&root, id, doc)
                .unwrap_err()
                .contains("SHA-256 differs")
        );
        fs::write(&path, b"shorter").unwrap();
        let e = read_body(&root, id, doc).unwrap_err();
        assert!(
            e.contains("7 bytes now") && e.contains("it was not read"),
            "{e}"
        );
        fs::remove_file(&path).unwrap();
        assert!(
            read_body(&root, id, doc)
                .unwrap_err()
                .contains("could not be read")
        );
    }

    /// A FIFO or a huge file swapped in for a scanned file: refused at once, never read.
    #[test]
    fn a_fifo_or_a_huge_file_swapped_in_is_refused_without_reading() {
        let dir = tempfile::tempdir().unwrap();
        let generated = generated(0);
        let doc = &generated.document;
        let id = doc.document_id.as_str();
        let path = dir.path().join(id);
        let root = Root::open(dir.path()).unwrap();
        assert!(
            std::process::Command::new("mkfifo")
                .arg(&path)
                .status()
                .unwrap()
                .success()
        );
        let e = read_body(&root, id, doc).unwrap_err();
        assert!(e.contains("not a regular file"), "{e}");
        fs::remove_file(&path).unwrap();
        let huge = fs::File::create(&path).unwrap();
        huge.set_len(64 << 30).unwrap(); // sparse: 64 GiB that would never fit in memory
        let e = read_body(&root, id, doc).unwrap_err();
        assert!(e.contains("it was not read"), "{e}");
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
        let generated = generated(3);
        let doc = generated.document.clone();
        let path = dir.path().join(doc.document_id.as_str());
        fs::write(&path, &generated.body).unwrap();
        let root = Root::open(dir.path()).unwrap();
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
        let parts = *fetched.document.parts.clone().expect("parts");
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
    fn links_on_the_way_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("a.txt"), "a").unwrap();
        let root = Root::open(dir.path()).unwrap();
        assert!(open_scanned(&root, "a.txt", 1).is_ok());
        symlink("/etc", dir.path().join("etc")).unwrap();
        let e = open_scanned(&root, "etc/hostname", 1).unwrap_err();
        assert!(e.contains("links are never followed"), "{e}");
        for bad in ["../a.txt", "/etc/passwd", "x/../../a.txt", "./a.txt", ""] {
            assert!(open_scanned(&root, bad, 1).is_err(), "{bad}");
        }
    }
}
