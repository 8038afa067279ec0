//! `s3://bucket[/prefix]` locations and S3 bucket names, checked once for every host.

use std::fmt;
use std::str::FromStr;

use docvault_core::KeyPrefix;
use docvault_core::layout::PrefixError;

/// Whether `name` can be an S3 bucket name: 3-63 characters of a-z, 0-9, '-' and '.', starting
/// and ending with a letter or digit.
pub fn is_bucket_name(name: &str) -> bool {
    let b = name.as_bytes();
    (3..=63).contains(&b.len())
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-' || *c == b'.')
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
}

/// An `s3://bucket[/prefix]` location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Url {
    /// The bucket.
    pub bucket: String,
    /// The key prefix below it.
    pub prefix: KeyPrefix,
}

/// An `s3://` location that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum S3UrlError {
    /// Not `s3://`.
    #[error("{0:?} is not an s3:// location: write s3://BUCKET or s3://BUCKET/PREFIX")]
    Scheme(String),
    /// Not a bucket name.
    #[error(
        "{0:?} is not an S3 bucket name: use 3 to 63 characters of a-z, 0-9, '-' and '.', \
         starting and ending with a letter or digit"
    )]
    Bucket(String),
    /// A prefix that cannot be used.
    #[error(transparent)]
    Prefix(#[from] PrefixError),
}

impl FromStr for S3Url {
    type Err = S3UrlError;

    fn from_str(url: &str) -> Result<Self, Self::Err> {
        let rest = url
            .strip_prefix("s3://")
            .ok_or_else(|| S3UrlError::Scheme(url.to_owned()))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if !is_bucket_name(bucket) {
            return Err(S3UrlError::Bucket(bucket.to_owned()));
        }
        Ok(Self {
            bucket: bucket.to_owned(),
            prefix: KeyPrefix::parse(prefix)?,
        })
    }
}

impl fmt::Display for S3Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.prefix)
    }
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
        assert_eq!(u.to_string(), "s3://my-bucket/nightly/docs/");
        let u: S3Url = "s3://my-bucket".parse().unwrap();
        assert!(u.prefix.is_root());
        for bad in [
            "my-bucket",
            "s3://",
            "s3://UPPER",
            "s3://b/../x",
            "s3://ab",
            "s3://-bucket",
            "s3://bucket/a//b",
        ] {
            assert!(bad.parse::<S3Url>().is_err(), "{bad}");
        }
    }
}
