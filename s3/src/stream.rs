//! Streams checked against a manifest entry as they flow, and streams hashed in passing.
//!
//! [`checked`] wraps a body so that it yields the bytes and holds back the last chunk until the
//! whole body is hashed: a body whose size or SHA-256 is not the entry's ends in an error
//! instead of its last chunk, so no consumer (an upload, a file) ever receives it complete. It
//! serves restores (the object read back) and uploads of files that could change between their
//! hash and their upload. [`hash_stream`] reads a stream to its end keeping only the running
//! SHA-256: how an object is re-hashed without holding it.

use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, ready};

use aws_sdk_s3::primitives::ByteStream;
use aws_smithy_types::body::SdkBody;
use bytes::Bytes;
use docvault_core::{Document, Sha256Digest, Sha256Hasher};
use http_body::{Body, Frame};

/// Reads `stream` to its end: its size and SHA-256, holding one chunk at a time.
///
/// # Errors
/// The stream's own error, as text.
pub async fn hash_stream(mut stream: ByteStream) -> Result<(u64, Sha256Digest), String> {
    let mut hasher = Sha256Hasher::new();
    let mut size = 0u64;
    while let Some(chunk) = stream.try_next().await.map_err(|e| e.to_string())? {
        hasher.update(&chunk);
        size += chunk.len() as u64;
    }
    Ok((size, hasher.finish()))
}

/// How a refusal by [`checked`] reads: "{subject} holds N bytes with X, the manifest says M
/// bytes with Y: {cause}".
#[derive(Debug, Clone, Copy)]
pub struct Wording {
    /// What was read (`the object`, `the file`).
    pub subject: &'static str,
    /// What happened and what it means.
    pub cause: &'static str,
}

impl Wording {
    /// For an object read back from the backup.
    pub const RESTORE: Self = Self {
        subject: "the object",
        cause: "it was altered after the backup; nothing was written",
    };
}

/// `stream`, checked against `doc` as it flows (see the module documentation); a refusal reads
/// as `wording` says.
pub fn checked(stream: ByteStream, doc: &Document, wording: Wording) -> (ByteStream, Verdict) {
    let verdict = Verdict::default();
    let body = CheckedBody {
        wording,
        inner: stream.into_inner(),
        hasher: Some(Sha256Hasher::new()),
        held: None,
        seen: 0,
        size: doc.file_size,
        checksum: doc.checksum,
        verdict: verdict.clone(),
    };
    (ByteStream::new(SdkBody::from_body_1_x(body)), verdict)
}

/// What the check of a [`checked`] stream found: nothing yet (or a good body), or why the body
/// is not the manifest's.
#[derive(Debug, Clone, Default)]
pub struct Verdict(Arc<OnceLock<String>>);

impl Verdict {
    /// Why the body was refused, once the stream has refused it.
    pub fn refused(&self) -> Option<&str> {
        self.0.get().map(String::as_str)
    }
}

/// The body behind a [`checked`] stream.
struct CheckedBody {
    wording: Wording,
    inner: SdkBody,
    /// `None` once the stream has ended (well or not).
    hasher: Option<Sha256Hasher>,
    /// The latest chunk, released only when a next one arrives or the check passed.
    held: Option<Bytes>,
    seen: u64,
    size: u64,
    checksum: Sha256Digest,
    verdict: Verdict,
}

impl CheckedBody {
    fn refuse(
        &mut self,
        found: String,
    ) -> Poll<Option<Result<Frame<Bytes>, aws_smithy_types::body::Error>>> {
        self.hasher = None;
        self.held = None;
        let reason = format!(
            "{} holds {found}, the manifest says {} bytes with {}: {}",
            self.wording.subject, self.size, self.checksum, self.wording.cause
        );
        let _ = self.verdict.0.set(reason.clone());
        Poll::Ready(Some(Err(reason.into())))
    }
}

impl Body for CheckedBody {
    type Data = Bytes;
    type Error = aws_smithy_types::body::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        loop {
            if this.hasher.is_none() {
                return Poll::Ready(None);
            }
            match ready!(Pin::new(&mut this.inner).poll_frame(cx)) {
                Some(Ok(frame)) => {
                    let Ok(chunk) = frame.into_data() else {
                        continue; // trailers carry no body bytes
                    };
                    if chunk.is_empty() {
                        continue;
                    }
                    this.seen += chunk.len() as u64;
                    if this.seen > this.size {
                        return this.refuse(format!("more than {} bytes", this.size));
                    }
                    if let Some(hasher) = this.hasher.as_mut() {
                        hasher.update(&chunk);
                    }
                    if let Some(previous) = this.held.replace(chunk) {
                        return Poll::Ready(Some(Ok(Frame::data(previous))));
                    }
                }
                Some(Err(e)) => {
                    this.hasher = None;
                    this.held = None;
                    return Poll::Ready(Some(Err(e)));
                }
                None => {
                    let Some(hasher) = this.hasher.take() else {
                        return Poll::Ready(None);
                    };
                    let actual = hasher.finish();
                    if this.seen != this.size || actual != this.checksum {
                        return this.refuse(format!("{} bytes with {actual}", this.seen));
                    }
                    return Poll::Ready(this.held.take().map(|b| Ok(Frame::data(b))));
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.hasher.is_none() && self.held.is_none()
    }
}

impl std::fmt::Debug for CheckedBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckedBody")
            .field("seen", &self.seen)
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use docvault_core::generate::{Generator, GeneratorSpec};

    use super::*;

    /// A body that yields the given chunks, one per poll.
    struct Chunks(VecDeque<Bytes>);

    impl Body for Chunks {
        type Data = Bytes;
        type Error = aws_smithy_types::body::Error;

        fn poll_frame(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
            Poll::Ready(self.get_mut().0.pop_front().map(|c| Ok(Frame::data(c))))
        }
    }

    fn stream(body: &[u8], chunk: usize) -> ByteStream {
        let chunks = body.chunks(chunk).map(Bytes::copy_from_slice).collect();
        ByteStream::new(SdkBody::from_body_1_x(Chunks(chunks)))
    }

    /// What a consumer of the checked stream receives: the bytes, and whether it ended in an error.
    async fn drain(mut stream: ByteStream) -> (Vec<u8>, bool) {
        let mut received = Vec::new();
        while let Some(item) = stream.next().await {
            match item {
                Ok(chunk) => received.extend_from_slice(&chunk),
                Err(_) => return (received, true),
            }
        }
        (received, false)
    }

    fn document() -> (Document, Vec<u8>) {
        let spec = GeneratorSpec {
            date: "2026-11-27".parse().unwrap(),
            count: 1,
            seed: 7,
        };
        let generated = Generator::new(spec).next().unwrap();
        assert!(generated.body.len() > 1000, "the test needs several chunks");
        (generated.document, generated.body)
    }

    #[tokio::test]
    async fn a_good_body_passes_whole_in_any_chunking() {
        let (doc, body) = document();
        for chunk in [1, 7, 1000, body.len()] {
            let (checked, verdict) = checked(stream(&body, chunk), &doc, Wording::RESTORE);
            assert_eq!(
                drain(checked).await,
                (body.clone(), false),
                "chunks of {chunk}"
            );
            assert_eq!(verdict.refused(), None);
        }
    }

    #[tokio::test]
    async fn an_altered_body_never_arrives_complete() {
        let (doc, body) = document();
        let mut same_size = body.clone();
        *same_size.last_mut().unwrap() ^= 1;
        let mut longer = body.clone();
        longer.extend_from_slice(b"appended");
        let shorter = body[..body.len() - 1].to_vec();
        for (what, altered) in [
            ("same size", same_size),
            ("longer", longer),
            ("shorter", shorter),
        ] {
            for chunk in [1, 100, body.len()] {
                let (checked, verdict) = checked(stream(&altered, chunk), &doc, Wording::RESTORE);
                let (received, failed) = drain(checked).await;
                assert!(
                    failed,
                    "{what}, chunks of {chunk}: the stream must end in an error"
                );
                assert!(
                    received.len() < body.len() && altered.starts_with(&received),
                    "{what}, chunks of {chunk}: {} bytes came through",
                    received.len()
                );
                let reason = verdict.refused().expect("a verdict");
                assert!(reason.contains("altered after the backup"), "{reason}");
                assert!(reason.contains(&doc.checksum.to_string()), "{reason}");
            }
        }
    }
}
