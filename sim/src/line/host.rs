//! The host's serial driver: how received characters become the bytes `read()` returns.
//!
//! This models the POSIX termios input flags of a port in raw mode (Linux `n_tty` with `ICANON`,
//! `ISTRIP`, `IXON` and `BRKINT` off) for characters the UART flags as erroneous:
//!
//! - `INPCK` off (the Linux default): parity and framing errors are not checked, the byte is
//!   delivered as received; a break reads as a `0x00` byte.
//! - `IGNPAR` + `IGNBRK`: characters with a parity or framing error, and breaks, are dropped.
//! - `PARMRK`: a character `c` with an error reads as `FF 00 c`, a break as `FF 00 00`, and a
//!   real `FF` data byte is doubled (`FF FF`) so the marks are unambiguous.

use super::uart::RxChar;

/// What the host's serial driver does with characters received with errors (termios).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorPolicy {
    /// `INPCK` off (Linux default): byte delivered as received; a break reads as 0x00.
    #[default]
    Pass,
    /// `IGNPAR` + `IGNBRK`: characters with parity or framing errors, and breaks, are dropped.
    Ignore,
    /// `PARMRK`: error char `c` → `FF 00 c`; break → `FF 00 00`; a real `FF` data byte → `FF FF`.
    Mark,
}

/// The bytes a reader's `read()` returns for these received characters.
pub fn host_bytes(chars: &[RxChar], policy: ErrorPolicy) -> Vec<u8> {
    let mut out = Vec::with_capacity(chars.len());
    for c in chars {
        push_host_bytes(c, policy, &mut out);
    }
    out
}

/// Appends to `out` the bytes a reader's `read()` returns for one received character (none,
/// one, or up to three with [`ErrorPolicy::Mark`]).
pub fn push_host_bytes(c: &RxChar, policy: ErrorPolicy, out: &mut Vec<u8>) {
    let error = c.parity_error || c.framing_error;
    match policy {
        ErrorPolicy::Pass => out.push(if c.brk { 0x00 } else { c.byte }),
        ErrorPolicy::Ignore => {
            if !error && !c.brk {
                out.push(c.byte);
            }
        }
        ErrorPolicy::Mark => {
            if c.brk {
                out.extend([0xFF, 0x00, 0x00]);
            } else if error {
                out.extend([0xFF, 0x00, c.byte]);
            } else if c.byte == 0xFF {
                out.extend([0xFF, 0xFF]);
            } else {
                out.push(c.byte);
            }
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;

    fn ch(byte: u8, parity_error: bool, framing_error: bool, brk: bool) -> RxChar {
        RxChar {
            byte,
            time_ns: 0,
            parity_error,
            framing_error,
            brk,
        }
    }

    fn sample() -> Vec<RxChar> {
        vec![
            ch(b'A', false, false, false),
            ch(b'B', true, false, false),
            ch(0xFF, false, false, false),
            ch(b'C', false, true, false),
            ch(0x00, false, true, true),
            ch(0xFF, true, false, false),
            ch(0x00, false, false, false),
        ]
    }

    #[test]
    fn pass_delivers_everything() {
        assert_eq!(
            host_bytes(&sample(), ErrorPolicy::Pass),
            vec![b'A', b'B', 0xFF, b'C', 0x00, 0xFF, 0x00]
        );
    }

    #[test]
    fn ignore_drops_errors_and_breaks() {
        assert_eq!(
            host_bytes(&sample(), ErrorPolicy::Ignore),
            vec![b'A', 0xFF, 0x00]
        );
    }

    #[test]
    fn mark_escapes() {
        assert_eq!(
            host_bytes(&sample(), ErrorPolicy::Mark),
            vec![
                b'A', 0xFF, 0x00, b'B', 0xFF, 0xFF, 0xFF, 0x00, b'C', 0xFF, 0x00, 0x00, 0xFF, 0x00,
                0xFF, 0x00
            ]
        );
        assert_eq!(ErrorPolicy::default(), ErrorPolicy::Pass);
    }
}
