//! IEC 62056-21: `meterlab_decoder::IecDecoder` on any byte stream (a captured dialogue or a
//! mode D push).
#![no_main]

use libfuzzer_sys::fuzz_target;
use meterlab_decoder::IecDecoder;

fuzz_target!(|data: &[u8]| {
    meterlab_fuzz::check_stream(data, &|| Box::new(IecDecoder::new()));
});
