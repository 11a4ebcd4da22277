//! Reading a capture for `meterlab decode`: hex text as people paste it into bug reports
//! (white space and `#` comments ignored, optional `0x` prefixes), or the raw bytes.

/// How the capture was read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CaptureFormat {
    /// Hex digits, two per byte.
    Hex,
    /// The bytes as they are.
    Raw,
}

/// Turns a capture into the byte stream it stands for, detecting hex text automatically: the
/// input is hex if, with `#` comments, white space, `0x` prefixes and `,`/`:` separators removed,
/// what is left is an even, non-zero number of hex digits. Anything else is raw bytes (a DSMR
/// telegram always contains `/`, `(` or `!`, which are not hex).
pub fn read_capture(input: &[u8]) -> (Vec<u8>, CaptureFormat) {
    match parse_hex(input) {
        Some(bytes) => (bytes, CaptureFormat::Hex),
        None => (input.to_vec(), CaptureFormat::Raw),
    }
}

fn parse_hex(input: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(input).ok()?;
    let mut digits = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("");
        for token in line.split(|c: char| c.is_whitespace() || c == ',' || c == ':') {
            let token = token
                .strip_prefix("0x")
                .or_else(|| token.strip_prefix("0X"))
                .unwrap_or(token);
            for c in token.chars() {
                digits.push(c.to_digit(16)? as u8);
            }
        }
    }
    if digits.is_empty() || digits.len() % 2 != 0 {
        return None;
    }
    Some(digits.chunks_exact(2).map(|p| p[0] << 4 | p[1]).collect())
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn detects_hex_and_raw() {
        let (b, f) = read_capture(b"# EVN push\n68 FA FA 68 # header\n53ff\n0x10\n");
        assert_eq!(f, CaptureFormat::Hex);
        assert_eq!(b, [0x68, 0xFA, 0xFA, 0x68, 0x53, 0xFF, 0x10]);
        let telegram = b"/ISk5\\2MT382-1000\r\n\r\n1-3:0.2.8(50)\r\n!6EEE\r\n";
        assert_eq!(
            read_capture(telegram),
            (telegram.to_vec(), CaptureFormat::Raw)
        );
        assert_eq!(
            read_capture(b"abc").1,
            CaptureFormat::Raw,
            "odd number of digits"
        );
        assert_eq!(read_capture(b"").1, CaptureFormat::Raw);
        assert_eq!(
            read_capture(&[0xDB, 0x08]).1,
            CaptureFormat::Raw,
            "binary input"
        );
    }
}
