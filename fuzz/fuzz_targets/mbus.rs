//! Wired M-Bus (EN 13757-2/-3): `meterlab_decoder::MbusDecoder` on any byte stream.
#![no_main]

use libfuzzer_sys::fuzz_target;
use meterlab_decoder::MbusDecoder;

fuzz_target!(|data: &[u8]| {
    meterlab_fuzz::check_stream(data, &|| Box::new(MbusDecoder::new()));
});
