//! A wasm32-unknown-unknown module over docvault-core with a C ABI and no imports.
//!
//! `tests/wasm/probe.mjs` loads it in Node with an empty import object (so any import would fail
//! instantiation), checks `WebAssembly.Module.imports` is empty, and compares the manifest it
//! builds with the golden file byte for byte.

use std::sync::Mutex;

use docvault_core::{
    BackupDate, Generator, GeneratorSpec, Label, Manifest, ManifestHeader, SourceDescription,
    Timestamp,
};

static OUTPUT: Mutex<Vec<u8>> = Mutex::new(Vec::new());

/// Builds the manifest of a generated day, parses it back, and keeps its bytes.
/// `date_days` is days since 1970-01-01, `at_seconds` the backup time in Unix seconds.
/// Returns the byte length (read it from [`docvault_probe_output`]), or 0 on error.
#[unsafe(no_mangle)]
pub extern "C" fn docvault_probe_manifest(
    count: u32,
    seed: u64,
    date_days: i32,
    at_seconds: i64,
) -> u32 {
    let Some(date) =
        Timestamp::from_unix_seconds(i64::from(date_days) * 86_400).map(Timestamp::date)
    else {
        return 0;
    };
    let Some(at) = Timestamp::from_unix_seconds(at_seconds) else {
        return 0;
    };
    match manifest(date, at, u64::from(count), seed) {
        Some(bytes) => {
            let len = bytes.len() as u32;
            if let Ok(mut out) = OUTPUT.lock() {
                *out = bytes;
                len
            } else {
                0
            }
        }
        None => 0,
    }
}

/// Address of the bytes kept by the last call of [`docvault_probe_manifest`].
#[unsafe(no_mangle)]
pub extern "C" fn docvault_probe_output() -> usize {
    OUTPUT.lock().map(|o| o.as_ptr() as usize).unwrap_or(0)
}

fn manifest(date: BackupDate, at: Timestamp, count: u64, seed: u64) -> Option<Vec<u8>> {
    let spec = GeneratorSpec { date, count, seed };
    let header = ManifestHeader {
        backup_date: date,
        backup_timestamp: at,
        environment: Label::new("prod").ok()?,
        run_id: None,
        source: SourceDescription::Generator { count, seed },
    };
    let docs = Generator::new(spec).map(|g| g.document).collect();
    let m = Manifest::assemble(header, docs, Vec::new()).ok()?;
    let text = m.to_json();
    // Exercise the parser too: a module that only writes would not prove parsing is pure.
    (Manifest::from_json(&text).ok()? == m).then(|| text.into_bytes())
}
