//! `prune --dest s3://...`: the days a retention policy no longer keeps, deleted for good
//! through the shared [`prune_store`] (every version, the manifest's first).

use docvault_core::prune::PruneReport;
use docvault_core::{PlanOptions, RetentionPolicy};
use docvault_s3::executor::{Clock as _, SystemClock};
use docvault_s3::prune::{PruneError, PruneOptions, prune_store};

use crate::args::PruneArgs;
use crate::error::Failure;
use crate::{metrics, output, remote};

/// Runs `prune`.
pub(crate) fn prune(args: &PruneArgs) -> Result<(), Failure> {
    if !remote::is_s3(&args.dest) {
        return Err(Failure::Usage(format!(
            "--dest {} is not s3://...: prune a local backup set with `docvault prune --dest DIR \
             ...`",
            args.dest
        )));
    }
    let url = remote::url(&args.dest)?;
    let policy = RetentionPolicy::new(
        args.keep_daily,
        args.keep_weekly,
        args.keep_monthly,
        args.keep_yearly,
        args.weekly_on,
    )
    .map_err(|e| Failure::Usage(e.to_string()))?;
    let now = SystemClock.now().truncate_to_seconds();
    let today = args.today.unwrap_or_else(|| now.date());
    docvault_core::prune::check_today(today, now).map_err(Failure::Usage)?;
    let runtime = remote::runtime()?;
    let store = remote::store(&runtime, &args.s3, &url.bucket);
    let options = PruneOptions {
        plan: PlanOptions {
            prefix: url.prefix.clone(),
            environment: metrics::label(&args.environment)?,
            encryption: remote::encryption(args.s3.kms_key_id.as_deref()),
            retention: None,
        },
        run_id: format!("prune-{}", now.unix_seconds()),
        now,
        policy,
        today,
        delete: args.yes,
        manifest_limit: remote::manifest_limit(),
    };
    let days = runtime
        .block_on(prune_store(&store, &options))
        .map_err(|e| match &e {
            PruneError::Store(s) => Failure::storage(format!("prune of {url}"), s),
            _ => Failure::Check(e.to_string()),
        })?;
    let report = PruneReport::new(url.to_string(), today, !args.yes, days);
    if args.json {
        output::json(&report)
    } else {
        output::text(&report.render_text())
    }
}
