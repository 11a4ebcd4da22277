//! Wire bytes as text, shared by the text protocols (DSMR P1, IEC 62056-21): [`latin1`] for
//! values (one char per byte, lossless for any input) and [`quote`] for error messages.

/// Bytes as text, each byte one char (ISO 8859-1): lossless for any input.
pub fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| b as char).collect()
}

/// A line for an error message: quoted, escaped, at most 80 characters of it.
pub fn quote(bytes: &[u8]) -> String {
    const MAX: usize = 80;
    let text = latin1(&bytes[..bytes.len().min(MAX)]);
    if bytes.len() > MAX {
        format!("{text:?}… ({} bytes)", bytes.len())
    } else {
        format!("{text:?}")
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn latin1_keeps_every_byte_and_quote_cuts() {
        assert_eq!(latin1(b"a\xe9\xff").chars().count(), 3);
        assert_eq!(latin1(&[0xE9]), "\u{e9}");
        assert_eq!(quote(b"ab\r\n"), "\"ab\\r\\n\"");
        let long = quote(&[b'x'; 100]);
        assert!(long.ends_with("… (100 bytes)"), "{long}");
    }
}
