//! `s3://bucket/prefix` destinations: the guest scans, the runner moves the bytes through the
//! shared S3 layer (`docvault-s3`).
//!
//! * [`files`]: the scanned files read for upload, through the source's one door.
//! * [`backup`]: `backup --dest s3://...`.
//! * [`verify`]: `verify --dest s3://...`, from S3's stored checksums.
//! * [`restore`]: `restore --dest s3://... --to DIR`, every body checked as it streams.
//! * [`shard`]: `backup --shard I/N --dest s3://...` and `commit`: a day spread over workers.

pub(crate) mod backup;
pub(crate) mod files;
pub(crate) mod hold;
pub(crate) mod prune;
pub(crate) mod restore;
pub(crate) mod shard;
pub(crate) mod verify;

use docvault_core::Encryption;
use docvault_s3::store::S3Store;
use docvault_s3::url::S3Url;

use crate::args::S3Args;
use crate::error::Failure;

/// Whether `dest` names an S3 location.
pub(crate) fn is_s3(dest: &str) -> bool {
    dest.starts_with("s3://")
}

/// `--dest s3://...`, checked.
pub(crate) fn url(dest: &str) -> Result<S3Url, Failure> {
    dest.parse()
        .map_err(|e: docvault_s3::url::S3UrlError| Failure::Usage(format!("--dest: {e}")))
}

/// The encryption `--kms-key-id` asks for (`none` or absent: none).
pub(crate) fn encryption(kms_key_id: Option<&str>) -> Encryption {
    match kms_key_id {
        None | Some("none") => Encryption::None,
        Some(key) => Encryption::Kms {
            key_id: Some(key.to_owned()),
        },
    }
}

/// The async runtime the S3 commands run on.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(Failure::io("starting the async runtime"))
}

/// The SDK's configuration from the flags (and the usual AWS variables).
pub(crate) async fn sdk_config(s3: &S3Args) -> aws_config::SdkConfig {
    let mut loader = docvault_s3::sdk::defaults()
        .region(aws_config::Region::new(s3.region.clone()))
        .retry_config(
            aws_config::retry::RetryConfig::standard().with_max_attempts(s3.max_attempts.max(1)),
        );
    if let Some(url) = &s3.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    loader.load().await
}

/// The store of `bucket`.
pub(crate) fn store(runtime: &tokio::runtime::Runtime, s3: &S3Args, bucket: &str) -> S3Store {
    runtime.block_on(async {
        let sdk = sdk_config(s3).await;
        let client = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&sdk)
                .force_path_style(s3.path_style)
                .build(),
        );
        S3Store::new(client, bucket.to_owned())
    })
}

/// The largest manifest the runner loads: a quarter of this machine's memory (it runs the
/// shared loader outside the sandbox).
pub(crate) fn manifest_limit() -> u64 {
    let total_kb = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .unwrap_or(4 << 20);
    docvault_core::manifest::max_manifest_bytes(total_kb * 1024)
}
