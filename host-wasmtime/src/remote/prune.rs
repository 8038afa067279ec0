//! `prune --dest s3://...`: the days a retention policy no longer keeps, deleted for good
//! through the shared [`prune_store`] (every version, the manifest's first).

use std::fmt::Write as _;

use docvault_core::prune::Decision;
use docvault_core::{PlanOptions, RetentionPolicy};
use docvault_s3::executor::{Clock as _, SystemClock};
use docvault_s3::prune::{PruneError, PruneOptions, prune_store};
use serde_json::json;

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
    let to_delete = days
        .iter()
        .filter(|d| d.decision == Decision::Delete)
        .count();
    if args.json {
        return output::json(&json!({
            "command": "prune",
            "dest": url.to_string(),
            "today": today.to_string(),
            "dry_run": !args.yes,
            "kept": days.len() - to_delete,
            "to_delete": to_delete,
            "days": days,
        }));
    }
    let mut text = String::new();
    for day in &days {
        let what = match day.decision {
            Decision::Delete if args.yes => {
                format!("deleted ({} versions)", day.deleted_versions)
            }
            Decision::Delete => "would delete".to_owned(),
            keep => keep.to_string(),
        };
        let _ = writeln!(text, "{}  {what}", day.date);
    }
    let _ = writeln!(
        text,
        "prune of {url} on {today}: {} days kept, {to_delete} {}",
        days.len() - to_delete,
        if args.yes {
            "deleted"
        } else {
            "would be deleted (nothing was deleted: add --yes to delete them)"
        }
    );
    output::text(&text)
}
