//! `docvault verify`: every stored document of a day re-hashed and compared with its manifest
//! by the core's [`verify_objects`]; missing, extra, resized and altered files are reported by
//! key, and any problem makes the exit code 1.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use docvault_core::verify::verify_objects;
use docvault_core::{BackupDate, Layout, ObservedObject};
use serde_json::json;

use crate::error::CliError;
use crate::local::{self, BUF_SIZE, hash_file, key_path, list_files};
use crate::output::emit;
use crate::progress::Progress;

/// One `docvault verify` invocation.
#[derive(Debug)]
pub(crate) struct Request {
    pub(crate) dest: PathBuf,
    pub(crate) date: BackupDate,
    pub(crate) json: bool,
    pub(crate) quiet: bool,
}

/// Runs a verification.
pub(crate) fn verify(req: &Request) -> Result<(), CliError> {
    let manifest = local::load_manifest(&req.dest, req.date)?;
    let layout = Layout::new(req.date);
    let prefix = layout.documents_prefix();
    let dir = key_path(&req.dest, prefix.trim_end_matches('/'));
    let listed = list_files(&dir).map_err(CliError::io(format!("listing {}", dir.display())))?;
    let expected: BTreeMap<&str, u64> = manifest
        .documents
        .iter()
        .map(|d| (d.object_key.as_str(), d.file_size))
        .collect();
    let mut buf = vec![0; BUF_SIZE];
    let mut observed = Vec::with_capacity(listed.len());
    let mut irregular = Vec::new();
    let mut unreadable = Vec::new();
    let mut hashed = 0u64;
    let mut progress = Progress::start(
        format!("verify {}", req.date),
        listed.len() as u64,
        req.quiet,
    );
    for file in listed {
        let key = format!("{prefix}{}", file.rel);
        if let Some(kind) = file.irregular {
            progress.advance(0);
            irregular.push((key, kind));
            continue;
        }
        // Hash only what can match: a listed key of the right size.
        let mut size = file.size;
        let checksum = match expected.get(key.as_str()) {
            Some(&want) if want == size => match hash_file(&file.path, &mut buf) {
                Ok((n, digest)) => {
                    size = n;
                    hashed += n;
                    Some(digest)
                }
                Err(e) => {
                    unreadable.push((key.clone(), e.to_string()));
                    None
                }
            },
            _ => None,
        };
        progress.advance(size);
        observed.push(ObservedObject {
            key,
            size,
            checksum,
            checksum_parts: None,
            encryption: None,
        });
    }
    let report = verify_objects(&manifest, observed);
    let problems = report.problems() + irregular.len();

    let mut text = String::new();
    if problems == 0 {
        let _ = writeln!(
            text,
            "verify of {}: all {} documents match the manifest ({} re-hashed); no missing or \
             extra files",
            req.date,
            report.verified,
            local::human_bytes(hashed)
        );
    } else {
        let _ = writeln!(
            text,
            "verify of {}: {} of {} documents match the manifest; {problems} problems",
            req.date, report.verified, report.expected
        );
        for key in &report.missing {
            let _ = writeln!(text, "  missing   {key}");
        }
        for key in &report.extra {
            let _ = writeln!(text, "  extra     {key} (not in the manifest)");
        }
        for m in &report.size_mismatch {
            let _ = writeln!(
                text,
                "  size      {}: the manifest says {} bytes, the stored file has {}",
                m.key, m.expected, m.actual
            );
        }
        for m in &report.checksum_mismatch {
            let _ = writeln!(
                text,
                "  checksum  {}: the manifest says {}, the stored file has {}",
                m.key, m.expected, m.actual
            );
        }
        for key in &report.unverified {
            let why = unreadable
                .iter()
                .find(|(k, _)| k == key)
                .map_or("could not be hashed", |(_, e)| e.as_str());
            let _ = writeln!(text, "  unreadable {key}: {why}");
        }
        for (key, kind) in &irregular {
            let _ = writeln!(text, "  not a file {key}: a {kind}");
        }
    }
    let mut value = serde_json::to_value(&report).unwrap_or_else(|_| json!({}));
    if let Some(obj) = value.as_object_mut() {
        obj.insert("command".into(), json!("verify"));
        obj.insert("date".into(), json!(req.date.to_string()));
        obj.insert("manifest_key".into(), json!(layout.manifest_key()));
        obj.insert("clean".into(), json!(problems == 0));
        obj.insert("problems".into(), json!(problems));
        obj.insert(
            "not_regular".into(),
            irregular
                .iter()
                .map(|(key, kind)| json!({ "key": key, "kind": kind }))
                .collect(),
        );
        obj.insert(
            "unreadable".into(),
            unreadable
                .iter()
                .map(|(key, error)| json!({ "key": key, "error": error }))
                .collect(),
        );
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
