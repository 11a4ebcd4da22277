//! The capture reader of `meterlab decode`, `diagnose` and `import`
//! (`meterlab_harness::capture`): every paste form, detected. No panic; segments lie inside the
//! bytes; the streaming reader (bounded memory) gives the same bytes as reading it whole.
#![no_main]

use libfuzzer_sys::fuzz_target;
use meterlab_harness::capture::{read, InputFormat, StreamReader};

fuzz_target!(|data: &[u8]| {
    let whole = read(data, InputFormat::Auto);
    if let Ok(capture) = &whole {
        for segment in &capture.segments {
            assert!(segment.range.start <= segment.range.end);
            assert!(segment.range.end <= capture.bytes.len());
        }
    }
    let Ok(mut reader) = StreamReader::new(data, InputFormat::Auto) else {
        assert!(whole.is_err(), "the streaming reader refused what read() took");
        return;
    };
    let mut streamed = Vec::new();
    loop {
        match reader.next_chunk() {
            Ok(Some(chunk)) => streamed.extend_from_slice(&chunk),
            Ok(None) => break,
            Err(_) => {
                assert!(whole.is_err(), "the streaming reader failed where read() did not");
                return;
            }
        }
    }
    if let Ok(capture) = whole {
        assert_eq!(streamed, capture.bytes, "streamed and whole reads differ");
    }
});
