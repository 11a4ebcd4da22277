//! Hex text to bytes, for unit tests (white space between digits is ignored).

/// The bytes `s` spells in hex; panics on a bad digit (test data only).
pub(crate) fn unhex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    digits
        .chunks_exact(2)
        .map(|p| {
            let hi = (p[0] as char).to_digit(16).expect("hex digit");
            let lo = (p[1] as char).to_digit(16).expect("hex digit");
            (hi * 16 + lo) as u8
        })
        .collect()
}
