//! `docvault verify`: every stored document of a day re-hashed and compared with its manifest
//! by the core ([`verify_objects`]); missing, extra, resized and altered files are reported by
//! key in the core's one rendering, and any problem makes the exit code 1.

use std::collections::BTreeMap;
use std::path::PathBuf;

use docvault_core::verify::{ObservedObject, VerifyPolicy, verify_objects};
use docvault_core::{BackupDate, Layout};
use docvault_fs::Kind;
use serde_json::json;

use crate::error::CliError;
use crate::output::emit;
use crate::progress::Progress;
use crate::stream::{BUF_SIZE, PumpError, pump};
use crate::vault::{Vault, escape_os};
use docvault_core::text::human_bytes;

/// One `docvault verify` invocation.
#[derive(Debug)]
pub(crate) struct Request {
    pub(crate) dest: PathBuf,
    pub(crate) date: BackupDate,
    pub(crate) json: bool,
    pub(crate) quiet: bool,
}

/// Every entry below the day's `documents/`, by key, without following links.
fn list(vault: &Vault, documents: &str) -> Result<Vec<(String, Kind, u64)>, CliError> {
    let mut out = Vec::new();
    let mut stack = vec![documents.to_owned()];
    while let Some(dir) = stack.pop() {
        let entries = match vault.root().read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && dir == documents => break,
            Err(e) => return Err(CliError::io(format!("listing {}", vault.display(&dir)))(e)),
        };
        for entry in entries {
            let key = format!("{dir}/{}", escape_os(&entry.name));
            match (entry.kind, entry.name.to_str()) {
                (Kind::Dir, Some(name)) => stack.push(format!("{dir}/{name}")),
                (Kind::File, Some(name)) => {
                    let key = format!("{dir}/{name}");
                    let len = vault
                        .root()
                        .metadata(&key)
                        .ok()
                        .flatten()
                        .map_or(0, |m| m.len);
                    out.push((key, Kind::File, len));
                }
                (kind, _) => out.push((key, kind, 0)),
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// Runs a verification.
pub(crate) fn verify(req: &Request) -> Result<(), CliError> {
    let vault = Vault::open(&req.dest).map_err(|e| match e {
        CliError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
            CliError::Invalid(format!(
                "no complete backup of {} in {}: the directory does not exist",
                req.date,
                req.dest.display()
            ))
        }
        other => other,
    })?;
    let manifest = vault.load_manifest(req.date)?;
    let layout = Layout::new(req.date);
    let documents = layout.documents_prefix();
    let listed = list(&vault, documents.trim_end_matches('/'))?;
    let expected: BTreeMap<&str, u64> = manifest
        .documents
        .iter()
        .map(|d| (d.object_key.as_str(), d.file_size))
        .collect();
    let mut buf = vec![0; BUF_SIZE];
    let mut observed = Vec::with_capacity(listed.len());
    let mut hashed = 0u64;
    let mut progress = Progress::start(
        format!("verify {}", req.date),
        listed.len() as u64,
        req.quiet,
    );
    for (key, kind, size) in listed {
        let mut object = ObservedObject::new(key.clone(), size);
        if kind != Kind::File {
            progress.advance(0);
            object.not_regular = Some(kind.describe().to_owned());
            observed.push(object);
            continue;
        }
        // Hash only what can match: a listed key of the right size.
        if expected.get(key.as_str()) == Some(&size) {
            match vault.root().open_file(&key) {
                Ok((mut file, _)) => match pump(&mut file, None, &mut buf) {
                    Ok((n, digest)) => {
                        object.size = n;
                        object.read_checksum = Some(digest);
                        hashed += n;
                    }
                    Err(PumpError::Read(e) | PumpError::Write(e)) => {
                        object.read_error = Some(e.to_string());
                    }
                },
                Err(e) => object.read_error = Some(e.to_string()),
            }
        }
        progress.advance(object.size);
        observed.push(object);
    }
    let report = verify_objects(&manifest, observed, &VerifyPolicy::default());
    let problems = report.problem_count();
    let mut text = report.render_text(&format!("{} in {}", req.date, req.dest.display()));
    if problems == 0 {
        text.push_str(&format!(
            "  every document re-hashed ({}); no missing or extra files\n",
            human_bytes(hashed)
        ));
    }
    let mut value = serde_json::to_value(&report).unwrap_or_else(|_| json!({}));
    if let Some(obj) = value.as_object_mut() {
        obj.insert("command".into(), json!("verify"));
        obj.insert("date".into(), json!(req.date.to_string()));
        obj.insert("manifest_key".into(), json!(layout.manifest_key()));
        obj.insert("clean".into(), json!(problems == 0));
        obj.insert("problems".into(), json!(problems));
    }
    emit(req.json, &text, &value)?;
    if problems == 0 {
        Ok(())
    } else {
        Err(CliError::Invalid(format!(
            "verify of {} in {} found {problems} problems",
            req.date,
            req.dest.display()
        )))
    }
}
