//! Wireless M-Bus (EN 13757-4/-7 in any receiver stick's framing):
//! `meterlab_decoder::WmbusDecoder` without a key on any byte stream.
#![no_main]

use libfuzzer_sys::fuzz_target;
use meterlab_decoder::{Keys, WmbusDecoder};

fuzz_target!(|data: &[u8]| {
    meterlab_fuzz::check_stream(data, &|| Box::new(WmbusDecoder::new(Keys::default())));
});
