//! DLMS with keys: `meterlab_decoder::DlmsDecoder` holding the keys at the start of the input
//! (`meterlab_fuzz::split_keys`), on the rest of it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use meterlab_decoder::DlmsDecoder;

fuzz_target!(|data: &[u8]| {
    if let Some((keys, stream)) = meterlab_fuzz::split_keys(data) {
        meterlab_fuzz::check_stream(stream, &|| Box::new(DlmsDecoder::new(keys.clone())));
    }
});
