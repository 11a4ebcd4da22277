//! DLMS without keys: `meterlab_decoder::DlmsDecoder` on any byte stream (the invariants are
//! `meterlab_fuzz::check_stream`'s).
#![no_main]

use libfuzzer_sys::fuzz_target;
use meterlab_decoder::{DlmsDecoder, Keys};

fuzz_target!(|data: &[u8]| {
    meterlab_fuzz::check_stream(data, &|| Box::new(DlmsDecoder::new(Keys::default())));
});
