//! `verify --dest s3://...`: a day checked without downloading it (S3's stored checksums and
//! encryption, one HEAD per object), through the shared verifier; `--read-data` also
//! downloads and re-hashes a sample. A day that cannot be verified counts as one failure in
//! the metrics, so an alarm sees it.

use docvault_core::verify::VerifyPolicy;
use docvault_core::{Encryption, MetricSet};
use docvault_s3::executor::{Clock as _, SystemClock};
use docvault_s3::verify::{VerifyError, VerifyOptions, verify_day};
use serde_json::json;

use crate::args::VerifyArgs;
use crate::error::Failure;
use crate::{metrics, output, remote};

/// Runs `verify --dest s3://...`.
pub(crate) fn verify(args: &VerifyArgs) -> Result<(), Failure> {
    let url = remote::url(&args.dest)?;
    if !(0.0..=1.0).contains(&args.read_data) {
        return Err(Failure::Usage(
            "--read-data takes a fraction from 0 to 1".into(),
        ));
    }
    let encryption = remote::encryption(args.s3.kms_key_id.as_deref());
    let environment = metrics::label(&args.environment)?;
    let runtime = remote::runtime()?;
    let store = remote::store(&runtime, &args.s3, &url.bucket);
    let options = VerifyOptions {
        prefix: url.prefix.clone(),
        date: args.date,
        policy: VerifyPolicy {
            encryption: encryption.clone(),
            require_stored_checksums: args.require_stored_checksums,
        },
        read_fraction: args.read_data,
        concurrency: args.s3.concurrency.max(1),
        manifest_limit: remote::manifest_limit(),
    };
    let result = runtime.block_on(verify_day(&store, &options));
    let (problems, verified) = match &result {
        Ok(v) => (v.problems(), v.report.verified),
        Err(_) => (1, 0),
    };
    let now = SystemClock.now().truncate_to_seconds();
    let set = MetricSet::for_verification(
        &args.metrics.namespace,
        &environment,
        now,
        problems,
        verified,
    );
    metrics::deliver(&args.metrics, &args.s3, &set, Some(&runtime))?;
    let v = result.map_err(|e| match &e {
        VerifyError::Store(s) => Failure::storage(format!("verify of {url}"), s),
        other => match other.store_error() {
            Some(s) => Failure::storage(format!("verify of {url}"), s),
            None => Failure::Check(e.to_string()),
        },
    })?;
    if args.json {
        let mut value = serde_json::to_value(&v)
            .map_err(|e| Failure::Check(format!("serializing the report: {e}")))?;
        value["command"] = json!("verify");
        value["dest"] = json!(url.to_string());
        value["date"] = json!(args.date.to_string());
        value["clean"] = json!(v.problems() == 0);
        value["problems"] = json!(v.problems());
        value["encryption_checked"] = json!(encryption != Encryption::None);
        output::json(&value)?;
    } else {
        let mut text = v.report.render_text(&format!("{} in {url}", args.date));
        text.push_str(&format!(
            "  ({} HEAD requests, {} documents downloaded and re-hashed{})\n",
            v.requests.head,
            v.read_sampled,
            if encryption == Encryption::None {
                "; encryption not checked: pass --kms-key-id KEY to check it"
            } else {
                ""
            }
        ));
        output::text(&text)?;
    }
    if v.problems() == 0 {
        Ok(())
    } else {
        Err(Failure::Check(format!(
            "verify of {} in {url} found {} problems",
            args.date,
            v.problems()
        )))
    }
}
