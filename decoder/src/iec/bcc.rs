//! The block check character (IEC 62056-21:2002 §6.2, "Calculation of the block check
//! character").
//!
//! Every message framed by SOH or STX ends with ETX (a complete block) or EOT (a partial block)
//! and one more byte, the BCC: the exclusive or of every byte after the *first* SOH or STX up to
//! and including the ETX or EOT. A later STX (the one after `SOH C D` in a programming command)
//! is covered like any other byte. The BCC can be any byte, control characters included (a
//! Landis+Gyr E350 readout ends in `ETX 0x01`, a pwitab write command in `ETX 0x1B`).
//!
//! ```
//! use meterlab_decoder::iec::bcc;
//!
//! // The break message SOH B0 ETX has the BCC "q".
//! assert_eq!(bcc::compute(b"B0\x03"), b'q');
//! let check = bcc::check(b"\x01B0\x03q").expect("a framed message");
//! assert!(check.matches());
//! ```

use std::fmt;

/// Start of header: opens a programming command or the break message.
pub const SOH: u8 = 0x01;
/// Start of text: opens a data message.
pub const STX: u8 = 0x02;
/// End of text: ends a complete block; the BCC follows.
pub const ETX: u8 = 0x03;
/// End of transmission: ends a partial block (programming mode); the BCC follows.
pub const EOT: u8 = 0x04;

/// The exclusive or of `covered`: the BCC of a block whose covered bytes these are.
pub fn compute(covered: &[u8]) -> u8 {
    covered.iter().fold(0, |acc, &b| acc ^ b)
}

/// The bytes a message's BCC covers: from after its first SOH or STX up to and including the
/// first ETX or EOT after it. `None` if `message` has no SOH/STX or no ETX/EOT after it.
pub fn covered(message: &[u8]) -> Option<&[u8]> {
    let (start, end) = span(message)?;
    Some(&message[start + 1..=end])
}

/// The stated and computed BCC of a message: the byte right after the first ETX/EOT (that
/// follows the first SOH/STX) against [`compute`] over [`covered`]. `None` if the message has
/// no SOH/STX, no ETX/EOT after it, or no byte after the ETX/EOT.
pub fn check(message: &[u8]) -> Option<BccCheck> {
    let (start, end) = span(message)?;
    Some(BccCheck {
        stated: *message.get(end + 1)?,
        computed: compute(&message[start + 1..=end]),
    })
}

/// Positions of the first SOH/STX and of the first ETX/EOT after it.
fn span(message: &[u8]) -> Option<(usize, usize)> {
    let start = message.iter().position(|&b| b == SOH || b == STX)?;
    let end = start
        + 1
        + message[start + 1..]
            .iter()
            .position(|&b| b == ETX || b == EOT)?;
    Some((start, end))
}

/// A block check character as sent and as computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BccCheck {
    /// The byte the message carries after its ETX/EOT.
    pub stated: u8,
    /// The exclusive or of the covered bytes.
    pub computed: u8,
}

impl BccCheck {
    /// Whether the stated BCC is the computed one.
    pub fn matches(&self) -> bool {
        self.stated == self.computed
    }
}

impl fmt::Display for BccCheck {
    /// `block check character 0x46, computed 0x4D`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "block check character 0x{:02X}, computed 0x{:02X}",
            self.stated, self.computed
        )
    }
}

#[cfg(test)]
mod test {
    use super::*;

    /// Iskra ME162 data readout, BCC "L" (wdoekes/pe32me162ir_pub, example.log; corpus
    /// `iskra-me162-mode-c-data-readout`).
    static ME162_READOUT: &[u8] = b"\x02C.1.0(28342193)\r\n0.0.0(28342193)\r\n\
1.8.0(0033402.264*kWh)\r\n1.8.1(0000000.000*kWh)\r\n1.8.2(0033402.264*kWh)\r\n\
2.8.0(0000013.465*kWh)\r\n2.8.1(0000000.000*kWh)\r\n2.8.2(0000013.465*kWh)\r\n\
F.F(0000000)\r\n!\r\n\x03L";

    /// Break message, BCC "q" (same log).
    static BREAK: &[u8] = b"\x01B0\x03q";

    #[test]
    fn test_corpus_bccs() {
        assert_eq!(ME162_READOUT.len(), 198);
        let check = check(ME162_READOUT).expect("framed");
        assert_eq!(
            check,
            BccCheck {
                stated: b'L',
                computed: b'L'
            }
        );
        assert!(check.matches());
        assert_eq!(covered(BREAK), Some(&b"B0\x03"[..]));
        assert_eq!(compute(b"B0\x03"), b'q');
        // Programming command: the STX after "SOH R1" is covered (same log, BCC "Z").
        let read = b"\x01R1\x021.8.0()\x03Z";
        assert!(check_matches(read));
        // pwitab/iec62056-21 tests/test_bcc.py: write command, BCC 0x1B.
        assert!(check_matches(b"\x01W2\x02C003(910324092239)\x03\x1b"));
        assert!(check_matches(b"\x01P0\x02(1234567)\x03P"));
    }

    fn check_matches(message: &[u8]) -> bool {
        check(message).is_some_and(|c| c.matches())
    }

    #[test]
    fn test_partial_block_and_leading_bytes() {
        // EOT ends a partial block just like ETX; bytes before the first STX are not covered.
        let partial = b"junk\x02(1)\x04";
        let bcc = compute(b"(1)\x04");
        let mut message = partial.to_vec();
        message.push(bcc);
        assert_eq!(covered(&message), Some(&b"(1)\x04"[..]));
        assert!(check_matches(&message));
    }

    #[test]
    fn test_mismatch_and_impossible() {
        let mut bad = ME162_READOUT.to_vec();
        bad[5] ^= 0x01;
        let check = check(&bad).expect("framed");
        assert!(!check.matches());
        assert_eq!(check.stated, b'L');
        assert_eq!(
            check.to_string(),
            format!("block check character 0x4C, computed 0x{:02X}", b'L' ^ 0x01)
        );
        assert_eq!(super::check(b""), None);
        assert_eq!(super::check(b"no frame\x03x"), None);
        assert_eq!(super::check(b"\x02no end"), None);
        assert_eq!(super::check(b"\x02no bcc\x03"), None);
        assert_eq!(covered(b"\x02\x03"), Some(&b"\x03"[..]));
    }
}
