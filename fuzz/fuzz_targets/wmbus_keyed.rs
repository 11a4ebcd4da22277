//! Wireless M-Bus with a key: `meterlab_decoder::WmbusDecoder` holding the key at the start of
//! the input (`meterlab_fuzz::split_keys`), on the rest of it, so that the decrypted content of
//! mode 5 and 7 telegrams and of the encrypted ELL is reached.
#![no_main]

use libfuzzer_sys::fuzz_target;
use meterlab_decoder::WmbusDecoder;

fuzz_target!(|data: &[u8]| {
    if let Some((keys, stream)) = meterlab_fuzz::split_keys(data) {
        meterlab_fuzz::check_stream(stream, &|| Box::new(WmbusDecoder::new(keys.clone())));
    }
});
