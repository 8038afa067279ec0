//! `prune` and `hold` on a local backup set: the core decides which days a retention policy
//! lets go ([`docvault_core::prune`]); this file reads what each day holds, asks, and deletes
//! through the vault's [`docvault_fs::Root`] (never outside it, never through a link), each day
//! under its lock so that a backup of the same day cannot run meanwhile.

use std::io;
use std::path::PathBuf;

use docvault_core::prune::{Decision, KeepReason, PruneReport, PrunedDay, StoredDay, decide};
use docvault_core::{
    BackupDate, Layout, LegalHoldRecord, ManifestForm, RetentionPolicy, Timestamp,
};

use docvault_fs::Kind;

use crate::error::CliError;
use crate::output;
use crate::vault::{MANIFEST_LIMIT, Vault, day_dir};

/// The largest legal-hold record read.
const HOLD_LIMIT: u64 = 1 << 16;

/// What `prune` was asked.
pub(crate) struct PruneRequest {
    pub(crate) dest: PathBuf,
    pub(crate) policy: RetentionPolicy,
    pub(crate) today: BackupDate,
    pub(crate) yes: bool,
    pub(crate) json: bool,
}

/// Runs `prune`.
pub(crate) fn prune(request: &PruneRequest) -> Result<(), CliError> {
    let vault = Vault::open(&request.dest)?;
    let days = stored_days(&vault)?;
    let decisions = decide(&request.policy, request.today, &days);
    let mut outcomes = Vec::with_capacity(decisions.len());
    for (date, mut decision) in decisions {
        let mut deleted = false;
        if decision == Decision::Delete && request.yes {
            decision = delete_day(&vault, &request.policy, request.today, date)?;
            deleted = decision == Decision::Delete;
        }
        outcomes.push(PrunedDay {
            date,
            decision,
            deleted,
            deleted_versions: None,
        });
    }
    let report = PruneReport::new(
        request.dest.display().to_string(),
        request.today,
        !request.yes,
        outcomes,
    );
    output::emit(request.json, &report.render_text(), &report)
}

/// Every day folder under `backups/`, with what the decision needs.
fn stored_days(vault: &Vault) -> Result<Vec<StoredDay>, CliError> {
    let entries = match vault.root().read_dir("backups") {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(CliError::io(format!(
                "listing {}",
                vault.display("backups")
            ))(e));
        }
    };
    let mut days = Vec::new();
    for entry in entries {
        // Only day folders; anything else under backups/ is not this command's.
        let Some(date) = entry
            .name
            .to_str()
            .and_then(|n| n.parse::<BackupDate>().ok())
        else {
            continue;
        };
        if entry.kind != Kind::Dir {
            continue;
        }
        days.push(stored_day(vault, date)?);
    }
    Ok(days)
}

/// What the decision needs of one day: its manifest's retention (and whether it could be
/// read) and its hold.
fn stored_day(vault: &Vault, date: BackupDate) -> Result<StoredDay, CliError> {
    let key = Layout::new(date).manifest_key();
    let (retention, readable) = match vault.root().read_limited(&key, MANIFEST_LIMIT) {
        // The root of a day in parts holds the retention too: its parts are not needed.
        Ok(bytes) => match ManifestForm::from_committed(&bytes, date) {
            Ok(ManifestForm::Whole(m)) => (m.retention, true),
            Ok(ManifestForm::Parted(join)) => (join.root().retention, true),
            Err(_) => (None, false),
        },
        Err(e) if e.kind() == io::ErrorKind::NotFound => (None, true),
        Err(_) => (None, false),
    };
    Ok(StoredDay {
        date,
        retention,
        held: held(vault, date)?,
        readable,
    })
}

/// Whether the day's legal-hold record says it is on hold. A record that cannot be read is a
/// hold: nothing is deleted on a guess.
fn held(vault: &Vault, date: BackupDate) -> Result<bool, CliError> {
    let key = Layout::new(date).legal_hold_key();
    match vault.root().read_limited(&key, HOLD_LIMIT) {
        Ok(bytes) => Ok(LegalHoldRecord::holds(&bytes)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(_) => Ok(true),
    }
}

/// Deletes one day, manifest first (moved off its commit key), under the day's lock, after
/// deciding again under it (a backup or a hold may have changed the day since it was read).
/// Returns the decision taken: [`Decision::Delete`] when the day was deleted.
fn delete_day(
    vault: &Vault,
    policy: &RetentionPolicy,
    today: BackupDate,
    date: BackupDate,
) -> Result<Decision, CliError> {
    let _lock = match vault.lock_day(date) {
        Ok(lock) => lock,
        Err(CliError::Invalid(_)) => return Ok(Decision::Keep(KeepReason::Busy)),
        Err(e) => return Err(e),
    };
    let now = stored_day(vault, date)?;
    let decision = decide(policy, today, std::slice::from_ref(&now))
        .pop()
        .map_or(Decision::Delete, |(_, d)| d);
    if decision != Decision::Delete {
        return Ok(decision);
    }
    let layout = Layout::new(date);
    let manifest = layout.manifest_key();
    let root = vault.root();
    if root
        .metadata(&manifest)
        .map_err(CliError::io(format!(
            "examining {}",
            vault.display(&manifest)
        )))?
        .is_some()
    {
        let pruning = layout.pruning_key();
        root.rename(&manifest, &pruning)
            .map_err(CliError::io(format!(
                "moving {} aside",
                vault.display(&manifest)
            )))?;
        root.sync_dir(&day_dir(date));
    }
    let documents = layout.documents_prefix();
    let documents = documents.trim_end_matches('/');
    root.remove_dir_all(documents)
        .map_err(CliError::io(format!(
            "deleting {} (the day has no manifest now; run prune again to finish it)",
            vault.display(documents)
        )))?;
    let day = day_dir(date);
    root.remove_dir_all(&day).map_err(CliError::io(format!(
        "deleting {} (the day has no manifest now; run prune again to finish it)",
        vault.display(&day)
    )))?;
    Ok(Decision::Delete)
}

/// What `hold` was asked.
pub(crate) struct HoldRequest {
    pub(crate) dest: PathBuf,
    pub(crate) date: BackupDate,
    pub(crate) on: bool,
    pub(crate) by: Option<String>,
    pub(crate) at: Timestamp,
}

/// Runs `hold`: writes the day's legal-hold record (a local backup set has no per-file holds;
/// `prune` reads the record).
pub(crate) fn hold(request: &HoldRequest) -> Result<(), CliError> {
    let vault = Vault::open(&request.dest)?;
    let layout = Layout::new(request.date);
    let day = day_dir(request.date);
    if vault
        .root()
        .metadata(&day)
        .map_err(CliError::io(format!("examining {}", vault.display(&day))))?
        .is_none()
    {
        return Err(CliError::Invalid(format!(
            "{} holds no backup of {}: nothing to hold (check the date)",
            vault.root().path().display(),
            request.date
        )));
    }
    // Under the day's lock: a prune deciding the day waits for the record, or sees it.
    let _lock = vault.lock_day(request.date)?;
    let objects = vault
        .load_manifest(request.date)
        .map_or(0, |m| m.total_documents + 1);
    let record = LegalHoldRecord {
        backup_date: request.date,
        on: request.on,
        at: request.at,
        by: request.by.clone(),
        objects,
    };
    let key = layout.legal_hold_key();
    let mut file = vault
        .root()
        .prepare_file(&key)
        .map_err(CliError::io(format!("writing {}", vault.display(&key))))?;
    io::Write::write_all(file.file(), &record.to_json())
        .map_err(CliError::io(format!("writing {}", vault.display(&key))))?;
    file.commit_replace(vault.root(), &key)
        .map_err(CliError::io(format!("writing {}", vault.display(&key))))?;
    output::emit(
        false,
        &format!(
            "{}: legal hold {} ({})\n",
            request.date,
            if request.on { "set" } else { "cleared" },
            vault.display(&key)
        ),
        &(),
    )
}
