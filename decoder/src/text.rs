//! Wire bytes as text, shared by the text protocols (DSMR P1, IEC 62056-21): [`latin1`] for
//! values (one char per byte, lossless for any input), [`quote`] for error messages and
//! [`find_byte`] and [`find_any`] to find delimiters fast.

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

/// The index of the first `needle` in `haystack`, sixteen bytes at a time (a telegram's `!` is
/// near its end, and a byte-by-byte search costs a compare and a branch per byte).
pub fn find_byte(needle: u8, haystack: &[u8]) -> Option<usize> {
    find_any([needle], haystack)
}

/// The index of the first byte of `haystack` that is one of `needles`, sixteen bytes at a time.
pub fn find_any<const N: usize>(needles: [u8; N], haystack: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let patterns = needles.map(|n| ONES * u64::from(n));
    // A zero byte of `x` is a needle's byte; `(x - ONES) & !x & HIGHS` is non-zero exactly when
    // `x` has one. Two words per step, one test.
    let found = |chunk: &[u8]| {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let word = u64::from_le_bytes(word);
        patterns.iter().fold(0, |any, p| {
            let x = word ^ p;
            any | (x.wrapping_sub(ONES) & !x & HIGHS)
        })
    };
    let mut offset = 0;
    for chunk in haystack.chunks_exact(16) {
        if found(&chunk[..8]) | found(&chunk[8..]) != 0 {
            break;
        }
        offset += 16;
    }
    haystack[offset..]
        .iter()
        .position(|b| needles.contains(b))
        .map(|i| offset + i)
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

    #[test]
    fn find_byte_is_position() {
        let bytes: Vec<u8> = (0..40u8).map(|i| i.wrapping_mul(37) | 0x80).collect();
        for len in 0..bytes.len() {
            for needle in [b'!', 0x80, 0xA5, 0xFF, 0x00] {
                let mut hay = bytes[..len].to_vec();
                for at in [None, Some(0), Some(len / 2), Some(len.saturating_sub(1))] {
                    if let Some(at) = at.filter(|&a| a < len) {
                        hay[at] = needle;
                    }
                    assert_eq!(
                        find_byte(needle, &hay),
                        hay.iter().position(|&b| b == needle),
                        "{needle:02X} in {hay:02X?}"
                    );
                    let set = [needle, b'/', 0xDB];
                    assert_eq!(
                        find_any(set, &hay),
                        hay.iter().position(|b| set.contains(b)),
                        "{set:02X?} in {hay:02X?}"
                    );
                }
            }
        }
    }
}
