//! The capture reader of `meterlab decode` (`meterlab_harness::capture`): hex text or raw bytes.
//! Raw input is passed on unchanged; hex gives one byte per two digits, so never more bytes
//! than half the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use meterlab_harness::capture::{read_capture, CaptureFormat};

fuzz_target!(|data: &[u8]| {
    let (bytes, format) = read_capture(data);
    match format {
        CaptureFormat::Raw => assert_eq!(bytes, data, "raw input must pass unchanged"),
        CaptureFormat::Hex => {
            assert!(!bytes.is_empty(), "hex capture of nothing");
            assert!(bytes.len() * 2 <= data.len(), "more bytes than hex digits");
        }
    }
});
