//! `hold --dest s3://... --date D --on|--off`: a day's legal hold set or cleared on every object
//! of the day, through the shared [`set_day_hold`], and recorded beside its manifest.

use docvault_core::PlanOptions;
use docvault_s3::executor::{Clock as _, SystemClock};
use docvault_s3::hold::{HoldError, set_day_hold};
use serde_json::json;

use crate::args::HoldArgs;
use crate::error::Failure;
use crate::{metrics, output, remote};

/// Runs `hold`.
pub(crate) fn hold(args: &HoldArgs) -> Result<(), Failure> {
    let url = remote::url(&args.dest)?;
    let runtime = remote::runtime()?;
    let store = remote::store(&runtime, &args.s3, &url.bucket);
    let options = PlanOptions {
        prefix: url.prefix.clone(),
        environment: metrics::label(&args.environment)?,
        encryption: remote::encryption(args.s3.kms_key_id.as_deref()),
        retention: None,
    };
    let at = SystemClock.now().truncate_to_seconds();
    let outcome = runtime
        .block_on(set_day_hold(
            &store,
            &options,
            args.date,
            args.on,
            at,
            args.by.clone(),
        ))
        .map_err(|e| match &e {
            HoldError::Store(s) => Failure::storage(format!("hold of {} in {url}", args.date), s),
            _ => Failure::Check(e.to_string()),
        })?;
    if args.json {
        output::json(&json!({
            "command": "hold",
            "dest": url.to_string(),
            "date": outcome.date.to_string(),
            "on": outcome.on,
            "objects": outcome.objects,
            "record_key": outcome.record_key,
        }))
    } else {
        output::text(&format!(
            "{} in {url}: legal hold {} on {} objects (recorded at {})\n",
            outcome.date,
            if outcome.on { "set" } else { "cleared" },
            outcome.objects,
            outcome.record_key
        ))
    }
}
