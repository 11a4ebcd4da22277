//! The scenario parser (`meterlab_harness::scenario::Scenario::parse`) on any text: a scenario
//! or an error that names the file, never a panic.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use meterlab_harness::scenario::Scenario;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = Path::new("fuzz.yaml");
    match Scenario::parse(path, text) {
        Ok(s) => assert_eq!(s.path, path),
        Err(e) => assert!(
            e.to_string().contains("fuzz.yaml"),
            "error without file: {e}"
        ),
    }
});
