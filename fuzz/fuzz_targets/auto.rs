//! Protocol detection: `meterlab_decoder::auto::detect`, without keys and with the keys at the
//! start of the input, then the detected protocol's decoder (`auto::decoder_for`) on the stream,
//! as `meterlab decode` does.
#![no_main]

use libfuzzer_sys::fuzz_target;
use meterlab_decoder::auto::{decoder_for, detect};
use meterlab_decoder::Keys;

fn check(keys: &Keys, stream: &[u8]) {
    let Some(protocol) = detect(stream, keys) else {
        return;
    };
    meterlab_fuzz::check_stream(stream, &|| decoder_for(protocol, keys.clone()));
}

fuzz_target!(|data: &[u8]| {
    check(&Keys::default(), data);
    if let Some((keys, stream)) = meterlab_fuzz::split_keys(data) {
        check(&keys, stream);
    }
});
