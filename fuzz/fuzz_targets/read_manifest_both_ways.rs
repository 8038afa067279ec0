//! The one-pass reading of a manifest against the careful one (the probe of form and version,
//! then every field with its path tracked): on every input the same manifest, or the same
//! error with the same path, position and message.
#![no_main]

use docvault_core::Manifest;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    assert_eq!(
        Manifest::from_json(text),
        Manifest::from_json_reference(text)
    );
});
