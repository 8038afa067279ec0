//! Configuration from environment variables, checked once at cold start.
//!
//! Every error names the variable and says what to set, so a bad deployment fails on its first
//! invocation with a message that points at the fix.

use docvault_core::inventory::InventoryLimits;
use docvault_core::manifest::parted::DEFAULT_PART_DOCUMENTS;
use docvault_core::shard::Split;
use docvault_core::{
    Encryption, KeyPrefix, Label, LockMode, PlanOptions, Retention, RetentionPolicy, Weekday,
};
use docvault_s3::split::{
    DEFAULT_BUFFER_LIMIT, DEFAULT_MULTIPART_THRESHOLD, DEFAULT_PART_SIZE, MAX_SINGLE_PUT,
    MIN_PART_SIZE,
};
use docvault_s3::url::is_bucket_name;

use crate::source::{InventoryAt, SourceOptions};

/// Where the day's documents come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocumentSource {
    /// The spec's synthetic workload: `count` documents, seeded.
    Generator {
        /// Documents per day.
        count: u64,
        /// Generator seed.
        seed: u64,
    },
    /// Objects under an S3 prefix (real documents from business systems): `s3://bucket/prefix`,
    /// `{date}` in the prefix standing for the backup date; `SOURCE_BUFFER_BYTES`.
    S3(SourceOptions),
}

/// How metrics leave the function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricsMode {
    /// CloudWatch Embedded Metric Format lines on stdout: no API call, no IAM permission, and
    /// metric delivery can never fail a backup.
    Emf,
    /// `PutMetricData` through aws-sdk-cloudwatch, for hosts whose logs CloudWatch does not read.
    PutMetricData,
}

/// The validated configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `BACKUP_BUCKET`.
    pub bucket: String,
    /// `RESTORE_BUCKET`: the other bucket a `restore` event may write into (optional; without
    /// it restores go to another prefix of the backup bucket only).
    pub restore_bucket: Option<String>,
    /// `BACKUP_PREFIX` (optional key prefix inside the bucket).
    pub prefix: KeyPrefix,
    /// `ENVIRONMENT`.
    pub environment: Label,
    /// `KMS_KEY_ID` (ARN preferred; the stack's bucket policy expects the ARN).
    pub kms_key_id: Option<String>,
    /// `DOCUMENT_SOURCE` + `DOCUMENT_COUNT` + `DOCUMENT_SEED`.
    pub source: DocumentSource,
    /// `ALLOW_EMPTY_DAYS`: an S3 source with no documents for a day commits an empty manifest
    /// (otherwise the day is not sealed, and the run fails so that the alarm fires).
    pub allow_empty_days: bool,
    /// `UPLOAD_CONCURRENCY`.
    pub concurrency: usize,
    /// `METRICS_MODE`.
    pub metrics: MetricsMode,
    /// `METRICS_NAMESPACE`.
    pub namespace: String,
    /// `S3_FORCE_PATH_STYLE`: path-style addressing, for S3-compatible stores and local tests.
    pub force_path_style: bool,
    /// `MAX_ATTEMPTS`: SDK attempts per request (with exponential backoff) before a document is
    /// recorded as failed.
    pub max_attempts: u32,
    /// The function's memory (`AWS_LAMBDA_FUNCTION_MEMORY_SIZE`, MB), which bounds the largest
    /// manifest it loads.
    pub memory_mb: u64,
    /// `KEEP_DAILY`, `KEEP_WEEKLY`, `KEEP_MONTHLY`, `KEEP_YEARLY`, `WEEKLY_ON`, `LOCK_MODE`:
    /// each day's retention and Object Lock (none when `KEEP_DAILY` is not set).
    pub retention: Option<Retention>,
    /// `SHARD_MAX_DOCUMENTS` and `SHARD_MAX_BYTES`: how a `plan` event splits a day into shards
    /// (scale-out with Step Functions; each shard is one `backup_shard` invocation's work).
    pub shard_split: Split,
    /// `MANIFEST_PART_DOCUMENTS`: a committed sharded day of more documents than this is
    /// written as a manifest in parts of this many (a root listing its parts).
    pub manifest_part_documents: u64,
}

impl Config {
    /// The encryption every PUT requests.
    pub fn encryption(&self) -> Encryption {
        match &self.kms_key_id {
            Some(id) => Encryption::Kms {
                key_id: Some(id.clone()),
            },
            None => Encryption::None,
        }
    }

    /// How this function writes the objects of its backup days: prefix, environment tags,
    /// encryption and retention.
    pub fn plan_options(&self) -> PlanOptions {
        PlanOptions {
            prefix: self.prefix.clone(),
            environment: self.environment.clone(),
            encryption: self.encryption(),
            retention: self.retention,
        }
    }

    /// The largest manifest this function loads (a quarter of its memory).
    pub fn manifest_limit(&self) -> u64 {
        docvault_core::manifest::max_manifest_bytes(self.memory_mb * 1024 * 1024)
    }
}

/// A configuration problem, naming the variable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A required variable is not set.
    #[error("environment variable {name} is not set: {hint}")]
    Missing {
        /// The variable.
        name: &'static str,
        /// What to set it to.
        hint: &'static str,
    },
    /// A variable has a value that cannot be used.
    #[error("environment variable {name}={value:?} is invalid: {hint}")]
    Invalid {
        /// The variable.
        name: &'static str,
        /// Its value.
        value: String,
        /// What to set instead.
        hint: &'static str,
    },
}

/// The variables, read through a lookup (the process environment, or a map in tests).
struct Vars<F>(F);

impl<F: Fn(&str) -> Option<String>> Vars<F> {
    /// A set, non-blank variable.
    fn get(&self, name: &str) -> Option<String> {
        (self.0)(name).filter(|v| !v.trim().is_empty())
    }

    fn required(&self, name: &'static str, hint: &'static str) -> Result<String, ConfigError> {
        self.get(name).ok_or(ConfigError::Missing { name, hint })
    }

    fn number(
        &self,
        name: &'static str,
        default: u64,
        range: std::ops::RangeInclusive<u64>,
        hint: &'static str,
    ) -> Result<u64, ConfigError> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => match v.trim().parse::<u64>() {
                Ok(n) if range.contains(&n) => Ok(n),
                _ => Err(invalid(name, v, hint)),
            },
        }
    }

    fn flag(&self, name: &'static str) -> Result<bool, ConfigError> {
        match self.get(name).as_deref() {
            None | Some("false" | "0") => Ok(false),
            Some("true" | "1") => Ok(true),
            Some(v) => Err(invalid(name, v.to_owned(), "use true or false")),
        }
    }

    fn bucket(&self, name: &'static str, value: String) -> Result<String, ConfigError> {
        if is_bucket_name(&value) {
            Ok(value)
        } else {
            Err(invalid(
                name,
                value,
                "use an S3 bucket name: 3-63 characters of a-z, 0-9, '-' and '.'",
            ))
        }
    }
}

fn invalid(name: &'static str, value: String, hint: &'static str) -> ConfigError {
    ConfigError::Invalid { name, value, hint }
}

impl Config {
    /// Reads the configuration through `var` (the process environment in production, a map in
    /// tests).
    ///
    /// # Errors
    /// The first missing or invalid variable.
    pub fn from_lookup(var: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let vars = Vars(var);
        let bucket = vars.bucket(
            "BACKUP_BUCKET",
            vars.required("BACKUP_BUCKET", "set it to the backup bucket's name")?,
        )?;
        let restore_bucket = vars
            .get("RESTORE_BUCKET")
            .map(|b| vars.bucket("RESTORE_BUCKET", b))
            .transpose()?;
        let prefix_raw = vars.get("BACKUP_PREFIX").unwrap_or_default();
        let prefix = KeyPrefix::parse(&prefix_raw).map_err(|_| {
            invalid(
                "BACKUP_PREFIX",
                prefix_raw,
                "use a relative prefix like team-a/ without '.', '..' or empty segments",
            )
        })?;
        let env_raw = vars.required("ENVIRONMENT", "set it to dev, staging or prod")?;
        let environment = Label::new(&env_raw).map_err(|_| {
            invalid(
                "ENVIRONMENT",
                env_raw,
                "use a lowercase name such as dev, staging or prod",
            )
        })?;
        let kms_key_id = match vars.required(
            "KMS_KEY_ID",
            "set it to the backup key's ARN (or `none` for a store without KMS)",
        )? {
            k if k == "none" => None,
            k => Some(k),
        };
        Ok(Self {
            bucket,
            restore_bucket,
            prefix,
            environment,
            kms_key_id,
            source: document_source(&vars)?,
            allow_empty_days: vars.flag("ALLOW_EMPTY_DAYS")?,
            concurrency: vars.number(
                "UPLOAD_CONCURRENCY",
                32,
                1..=1024,
                "use a whole number of parallel uploads from 1 to 1024",
            )? as usize,
            metrics: metrics_mode(&vars)?,
            namespace: vars
                .get("METRICS_NAMESPACE")
                .unwrap_or_else(|| docvault_core::metrics::DEFAULT_NAMESPACE.into()),
            force_path_style: vars.flag("S3_FORCE_PATH_STYLE")?,
            max_attempts: vars.number(
                "MAX_ATTEMPTS",
                4,
                1..=20,
                "use a whole number of attempts from 1 to 20",
            )? as u32,
            memory_mb: memory_mb(&vars)?,
            retention: retention(&vars)?,
            shard_split: Split::Limits {
                max_documents: vars.number(
                    "SHARD_MAX_DOCUMENTS",
                    DEFAULT_SHARD_DOCUMENTS,
                    1..=10_000_000,
                    "use the most documents one shard holds, 1 to 10000000",
                )?,
                max_bytes: vars.number(
                    "SHARD_MAX_BYTES",
                    DEFAULT_SHARD_BYTES,
                    1_048_576..=1 << 40,
                    "use the most bytes one shard holds, 1 MiB (1048576) to 1 TiB",
                )?,
            },
            manifest_part_documents: vars.number(
                "MANIFEST_PART_DOCUMENTS",
                DEFAULT_PART_DOCUMENTS,
                1..=10_000_000,
                "use the most documents one part of a day's manifest holds, 1 to 10000000",
            )?,
        })
    }
}

/// `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`: the function's memory, MB.
fn memory_mb<F: Fn(&str) -> Option<String>>(vars: &Vars<F>) -> Result<u64, ConfigError> {
    vars.number(
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        512,
        128..=10_240,
        "Lambda sets it to the function's memory in MB (128 to 10240)",
    )
}

/// Documents per shard by default: at the measured ~1,000 small documents a second per
/// function (BENCHMARKS.md), a few minutes of a 15-minute invocation.
pub const DEFAULT_SHARD_DOCUMENTS: u64 = 100_000;

/// Bytes per shard by default: 8 GiB, about a minute at the 150 MB/s one function moves.
pub const DEFAULT_SHARD_BYTES: u64 = 8 << 30;

/// The retention policy and lock mode, when `KEEP_DAILY` is set.
fn retention<F: Fn(&str) -> Option<String>>(
    vars: &Vars<F>,
) -> Result<Option<Retention>, ConfigError> {
    const WITHOUT_POLICY: [&str; 5] = [
        "KEEP_WEEKLY",
        "KEEP_MONTHLY",
        "KEEP_YEARLY",
        "WEEKLY_ON",
        "LOCK_MODE",
    ];
    if vars.get("KEEP_DAILY").is_none() {
        // A lock or longer-kept periods without the policy they belong to is a mistake, not
        // a request for no retention.
        if let Some(name) = WITHOUT_POLICY.into_iter().find(|n| {
            vars.get(n)
                .is_some_and(|v| !matches!(v.trim(), "0" | "none" | "NONE"))
        }) {
            return Err(ConfigError::Missing {
                name: "KEEP_DAILY",
                hint: match name {
                    "LOCK_MODE" => "a lock needs a retention policy: set KEEP_DAILY (1 to 3650)",
                    _ => "the retention policy starts with it: set KEEP_DAILY (1 to 3650)",
                },
            });
        }
        return Ok(None);
    }
    let count = |name, max: u32, min: u64, hint| {
        vars.number(name, 0, min..=u64::from(max), hint)
            .map(|n| n as u32)
    };
    let policy = RetentionPolicy::new(
        count(
            "KEEP_DAILY",
            RetentionPolicy::MAX_DAILY,
            1,
            "use the number of daily backups to keep, 1 to 3650",
        )?,
        count(
            "KEEP_WEEKLY",
            RetentionPolicy::MAX_WEEKLY,
            0,
            "use the number of weekly backups to keep, 0 to 520",
        )?,
        count(
            "KEEP_MONTHLY",
            RetentionPolicy::MAX_MONTHLY,
            0,
            "use the number of monthly backups to keep, 0 to 1200",
        )?,
        count(
            "KEEP_YEARLY",
            RetentionPolicy::MAX_YEARLY,
            0,
            "use the number of yearly backups to keep, 0 to 100",
        )?,
        match vars.get("WEEKLY_ON") {
            None => Weekday::default(),
            Some(v) => v.trim().parse().map_err(|_| {
                invalid(
                    "WEEKLY_ON",
                    v,
                    "use the weekday of the weekly backup, monday to sunday",
                )
            })?,
        },
    )
    .map_err(|e| {
        invalid(
            "KEEP_DAILY",
            e.to_string(),
            "use counts within their ranges",
        )
    })?;
    let lock = match vars.get("LOCK_MODE") {
        None => LockMode::None,
        Some(v) => v.trim().parse().map_err(|_| {
            invalid(
                "LOCK_MODE",
                v,
                "use NONE, GOVERNANCE or COMPLIANCE (the bucket must have Object Lock enabled)",
            )
        })?,
    };
    Ok(Some(Retention { policy, lock }))
}

fn document_source<F: Fn(&str) -> Option<String>>(
    vars: &Vars<F>,
) -> Result<DocumentSource, ConfigError> {
    let uri = match vars.get("DOCUMENT_SOURCE") {
        None => return generator(vars),
        Some(uri) if uri == "generator" => return generator(vars),
        Some(uri) => uri,
    };
    let bad = || {
        invalid(
            "DOCUMENT_SOURCE",
            uri.clone(),
            "use `generator` or `s3://bucket/prefix` (`{date}` in the prefix stands for the \
             backup date)",
        )
    };
    let (bucket, prefix) = uri
        .strip_prefix("s3://")
        .map(|rest| rest.split_once('/').unwrap_or((rest, "")))
        .ok_or_else(bad)?;
    if !is_bucket_name(bucket) || prefix.replace("{date}", "").contains(['{', '}']) {
        return Err(bad());
    }
    // The prefix, with `{date}` standing for a date, must be a usable key prefix.
    KeyPrefix::parse(&prefix.replace("{date}", "2026-11-27")).map_err(|_| bad())?;
    Ok(DocumentSource::S3(SourceOptions {
        bucket: bucket.to_owned(),
        prefix: prefix.to_owned(),
        buffer_limit: vars.number(
            "SOURCE_BUFFER_BYTES",
            DEFAULT_BUFFER_LIMIT,
            0..=1 << 30,
            "use a whole number of bytes from 0 to 1073741824: documents up to this size are \
             held in memory, larger ones streamed twice",
        )?,
        multipart_threshold: vars.number(
            "MULTIPART_THRESHOLD_BYTES",
            DEFAULT_MULTIPART_THRESHOLD,
            MIN_PART_SIZE..=MAX_SINGLE_PUT,
            "use a whole number of bytes from 5242880 (5 MiB) to 5368709120 (5 GiB): larger \
             documents are uploaded in parts",
        )?,
        part_size: vars.number(
            "MULTIPART_PART_BYTES",
            DEFAULT_PART_SIZE,
            MIN_PART_SIZE..=MAX_SINGLE_PUT,
            "use a whole number of bytes from 5242880 (5 MiB) to 5368709120 (5 GiB) per part",
        )?,
        inventory: inventory(vars)?,
    }))
}

/// `SOURCE_INVENTORY=s3://bucket/destination-prefix/source-bucket/config-ID/`: the folder of
/// the source bucket's S3 Inventory, whose reports list the source instead of `ListObjectsV2`.
fn inventory<F: Fn(&str) -> Option<String>>(
    vars: &Vars<F>,
) -> Result<Option<InventoryAt>, ConfigError> {
    let Some(uri) = vars.get("SOURCE_INVENTORY") else {
        return Ok(None);
    };
    let bad = || {
        invalid(
            "SOURCE_INVENTORY",
            uri.clone(),
            "use the folder of the source bucket's S3 Inventory (CSV), \
             s3://inventory-bucket/destination-prefix/source-bucket/config-ID/, or leave it unset \
             to list the source",
        )
    };
    let (bucket, folder) = uri
        .strip_prefix("s3://")
        .map(|rest| rest.split_once('/').unwrap_or((rest, "")))
        .ok_or_else(bad)?;
    let folder = folder.trim_end_matches('/');
    if !is_bucket_name(bucket) || folder.is_empty() || KeyPrefix::parse(folder).is_err() {
        return Err(bad());
    }
    let memory = memory_mb(vars)? * 1024 * 1024;
    Ok(Some(InventoryAt {
        bucket: bucket.to_owned(),
        folder: format!("{folder}/"),
        limits: InventoryLimits::within(docvault_core::manifest::max_manifest_bytes(memory)),
    }))
}

fn generator<F: Fn(&str) -> Option<String>>(vars: &Vars<F>) -> Result<DocumentSource, ConfigError> {
    Ok(DocumentSource::Generator {
        count: vars.number(
            "DOCUMENT_COUNT",
            docvault_core::generate::DEFAULT_COUNT,
            0..=10_000_000,
            "use a whole number of documents from 0 to 10000000",
        )?,
        seed: vars.number("DOCUMENT_SEED", 0, 0..=u64::MAX, "use a whole number")?,
    })
}

fn metrics_mode<F: Fn(&str) -> Option<String>>(vars: &Vars<F>) -> Result<MetricsMode, ConfigError> {
    match vars.get("METRICS_MODE").as_deref() {
        None | Some("emf") => Ok(MetricsMode::Emf),
        Some("put-metric-data") => Ok(MetricsMode::PutMetricData),
        Some(v) => Err(invalid(
            "METRICS_MODE",
            v.to_owned(),
            "use `emf` (default) or `put-metric-data`",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: BTreeMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    const BASE: [(&str, &str); 3] = [
        ("BACKUP_BUCKET", "docvault-backups"),
        ("ENVIRONMENT", "prod"),
        ("KMS_KEY_ID", "arn:aws:kms:eu-west-1:111122223333:key/abc"),
    ];

    #[test]
    fn defaults_follow_the_spec() {
        let c = config(&BASE).unwrap();
        assert_eq!(
            c.source,
            DocumentSource::Generator {
                count: 500,
                seed: 0
            }
        );
        assert_eq!(c.namespace, "BackupSystem");
        assert_eq!(c.metrics, MetricsMode::Emf);
        assert_eq!(c.concurrency, 32);
        assert!(!c.allow_empty_days);
        assert_eq!(c.manifest_limit(), 128 * 1024 * 1024, "a quarter of 512 MB");
    }

    #[test]
    fn errors_name_the_variable() {
        let e = config(&BASE[1..]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "environment variable BACKUP_BUCKET is not set: set it to the backup bucket's name"
        );
        let mut vars = BASE.to_vec();
        vars.push(("RESTORE_BUCKET", "Not_A_Bucket"));
        assert_eq!(
            config(&vars).unwrap_err().to_string(),
            "environment variable RESTORE_BUCKET=\"Not_A_Bucket\" is invalid: use an S3 bucket \
             name: 3-63 characters of a-z, 0-9, '-' and '.'"
        );
        vars.pop();
        vars.push(("RESTORE_BUCKET", "restores-prod"));
        assert_eq!(
            config(&vars).unwrap().restore_bucket.as_deref(),
            Some("restores-prod")
        );
        assert_eq!(config(&BASE).unwrap().restore_bucket, None);
        for (name, value) in [
            ("UPLOAD_CONCURRENCY", "0"),
            ("DOCUMENT_SOURCE", "ftp://x"),
            ("BACKUP_PREFIX", "a/../b"),
            ("ALLOW_EMPTY_DAYS", "sometimes"),
        ] {
            let mut vars = BASE.to_vec();
            vars.push((name, value));
            let e = config(&vars).unwrap_err().to_string();
            assert!(e.contains(&format!("{name}=\"{value}\"")), "{e}");
        }
        let e = config(&[("BACKUP_BUCKET", "b-1"), ("ENVIRONMENT", "dev")]).unwrap_err();
        assert!(e.to_string().contains("KMS_KEY_ID"));
    }

    #[test]
    fn s3_source() {
        let mut vars = BASE.to_vec();
        vars.push(("DOCUMENT_SOURCE", "s3://incoming/docs/"));
        assert_eq!(
            config(&vars).unwrap().source,
            DocumentSource::S3(SourceOptions {
                bucket: "incoming".into(),
                prefix: "docs/".into(),
                buffer_limit: DEFAULT_BUFFER_LIMIT,
                multipart_threshold: DEFAULT_MULTIPART_THRESHOLD,
                part_size: DEFAULT_PART_SIZE,
                inventory: None,
            })
        );
        let mut vars = BASE.to_vec();
        vars.push(("DOCUMENT_SOURCE", "s3://landing/scans/{date}/"));
        vars.push(("SOURCE_BUFFER_BYTES", "1024"));
        vars.push(("ALLOW_EMPTY_DAYS", "true"));
        let c = config(&vars).unwrap();
        assert!(c.allow_empty_days);
        let DocumentSource::S3(source) = c.source else {
            panic!("an S3 source")
        };
        assert_eq!(source.buffer_limit, 1024);
        assert_eq!(
            source.uri_for("2026-11-27".parse().unwrap()),
            "s3://landing/scans/2026-11-27/"
        );
        for bad in [
            "s3://",
            "s3:///docs",
            "s3://landing/{day}/",
            "s3://landing/../{date}/",
        ] {
            let mut vars = BASE.to_vec();
            vars.push(("DOCUMENT_SOURCE", bad));
            let e = config(&vars).unwrap_err().to_string();
            assert!(
                e.contains("DOCUMENT_SOURCE") && e.contains("{date}"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn an_s3_source_listed_from_its_inventory() {
        let with = |inventory: &'static str| {
            let mut vars = BASE.to_vec();
            vars.push(("DOCUMENT_SOURCE", "s3://landing/scans/{date}/"));
            vars.push(("SOURCE_INVENTORY", inventory));
            config(&vars)
        };
        let DocumentSource::S3(source) = with("s3://inventories/inv/landing/daily").unwrap().source
        else {
            panic!("an S3 source")
        };
        assert_eq!(
            source.inventory,
            Some(InventoryAt {
                bucket: "inventories".into(),
                folder: "inv/landing/daily/".into(),
                // A quarter of the default 512 MB: 128 MiB of data file, 512 Ki objects.
                limits: InventoryLimits {
                    max_file_bytes: 128 << 20,
                    max_objects: 512 << 10,
                },
            })
        );
        for bad in [
            "inventories/inv/",
            "s3://inventories/",
            "s3://Inv/x/",
            "s3://inv/a/../b/",
        ] {
            let e = with(bad).unwrap_err().to_string();
            assert!(
                e.contains("SOURCE_INVENTORY") && e.contains("config-ID"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn retention_from_its_variables() {
        assert_eq!(config(&BASE).unwrap().retention, None);
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut vars = BASE.to_vec();
            vars.extend_from_slice(extra);
            config(&vars)
        };
        let r = with(&[
            ("KEEP_DAILY", "7"),
            ("KEEP_MONTHLY", "12"),
            ("WEEKLY_ON", "Monday"),
            ("LOCK_MODE", "COMPLIANCE"),
        ])
        .unwrap()
        .retention
        .expect("a retention");
        assert_eq!(
            r,
            Retention {
                policy: RetentionPolicy::new(7, 0, 12, 0, Weekday::Monday).unwrap(),
                lock: LockMode::Compliance,
            }
        );
        let e = with(&[("LOCK_MODE", "COMPLIANCE")]).unwrap_err();
        assert!(e.to_string().contains("KEEP_DAILY"), "{e}");
        assert!(
            e.to_string().contains("a lock needs a retention policy"),
            "{e}"
        );
        // The stack passes 0 and NONE for the parts it does not use.
        assert_eq!(
            with(&[("KEEP_WEEKLY", "0"), ("LOCK_MODE", "NONE")])
                .unwrap()
                .retention,
            None
        );
        for (name, value) in [
            ("KEEP_DAILY", "0"),
            ("KEEP_WEEKLY", "521"),
            ("WEEKLY_ON", "someday"),
            ("LOCK_MODE", "forever"),
        ] {
            let mut vars = vec![("KEEP_DAILY", "7")];
            vars.retain(|(n, _)| *n != name);
            vars.push((name, value));
            let e = with(&vars).unwrap_err();
            assert!(e.to_string().contains(name), "{name}: {e}");
        }
    }
}
