//! Manifests arrive from buckets and other tools: parsing is untrusted input.
//! Any input must give `Ok` or a `ManifestError`, never a panic; an accepted manifest must
//! survive a write/parse round trip unchanged.
#![no_main]

use docvault_core::Manifest;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(m) = Manifest::from_json(text) {
        let written = m.to_json();
        let back = Manifest::from_json(&written).expect("own output must parse");
        assert_eq!(back, m);
        assert_eq!(written, m.to_json_reference());
    }
});
