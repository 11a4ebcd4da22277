//! CUL sticks running culfw (wmbus.md §3.3): one text line per telegram, `b` + the frame as
//! sent on the air **with its CRCs**, in upper-case hex, + LQI (2 digits) + RSSI (2 digits),
//! CR LF. Format B frames are marked `bY`. Every block CRC is checked. culfw's answers to the
//! host's start-up (`TMODE`/`CMODE`/`SMODE` for `brt`/`brc`/`brs`, the `V …CUL…` version line)
//! are link messages, not skipped bytes.

use super::{line, unhex, Delivered, Unit};
use crate::reading::Direction;
use crate::wmbus::link::{framed_len, strip_crcs, FrameFormat};
use crate::wmbus::{Error, ErrorKind};

/// culfw's answers to `brt`, `brc`, `brs` (wmbus.md §3.3).
const MODE_REPLIES: [&[u8]; 3] = [b"TMODE", b"CMODE", b"SMODE"];

/// A culfw answer line at the start of `b`: a link-mode reply or the version line.
fn reply(b: &[u8], at_end: bool) -> Unit {
    let could_be = |word: &[u8]| {
        let n = b.len().min(word.len());
        b[..n] == word[..n]
    };
    let version = b.starts_with(b"V ") || b == b"V";
    if !version && !MODE_REPLIES.iter().any(|w| could_be(w)) {
        return Unit::Junk;
    }
    let Some((text, len)) = line(b, at_end) else {
        return Unit::Need;
    };
    let detail = if MODE_REPLIES.contains(&text) {
        format!("{} (link mode set)", String::from_utf8_lossy(text))
    } else if version && text.windows(3).any(|w| w == b"CUL") {
        format!("version {}", String::from_utf8_lossy(&text[2..]))
    } else {
        return Unit::Junk;
    };
    Unit::Link {
        len,
        kind: "cul",
        direction: Direction::FromMeter,
        detail,
    }
}

/// What the bytes at the start of `b` are.
pub fn unit(b: &[u8], at_end: bool) -> Unit {
    if b.first() != Some(&b'b') {
        return reply(b, at_end);
    }
    // A `b` followed by anything but hex digits (or `Y`) is no telegram line.
    match b.get(1) {
        None => return if at_end { Unit::Junk } else { Unit::Need },
        Some(c) if c.is_ascii_hexdigit() || *c == b'Y' => {}
        Some(_) => return Unit::Junk,
    }
    let Some((text, len)) = line(b, at_end) else {
        return Unit::Need;
    };
    let (format, digits) = match text[1..].strip_prefix(b"Y") {
        Some(d) => (FrameFormat::B, d),
        None => (FrameFormat::A, &text[1..]),
    };
    let Some(bytes) = unhex(digits) else {
        return Unit::Junk;
    };
    let telegram = match bytes.first() {
        None => Delivered::error(Error::new(
            ErrorKind::Length,
            "a CUL line without a telegram",
        )),
        Some(&l) => {
            let framed = framed_len(l, format);
            match strip_crcs(&bytes, format) {
                Ok((frame, _)) => {
                    let mut d = Delivered::frame(frame);
                    if bytes.len() != framed + 2 {
                        d.warnings.push(format!(
                            "the CUL line holds {} bytes after the frame, not LQI and RSSI",
                            bytes.len().saturating_sub(framed)
                        ));
                    }
                    d
                }
                Err(e) => Delivered::error(e),
            }
        }
    };
    Unit::Telegrams {
        len,
        telegrams: vec![telegram],
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn lines() {
        let l = b"b1844AE4C4455223368075F787A55000000041389E20100023B0000D0C62FC8\r\nb18";
        let Unit::Telegrams { len, telegrams } = unit(l, false) else {
            panic!("telegram expected")
        };
        assert_eq!(len, 65);
        assert!(telegrams[0].frame.is_ok());
        assert!(telegrams[0].warnings.is_empty());
        assert_eq!(unit(&l[65..], false), Unit::Need);
        let bad = b"b1844AE4C4455223368075F787A55000000041389E20100023B0000D0C72FC8\r\n";
        let Unit::Telegrams { telegrams, .. } = unit(bad, false) else {
            panic!("telegram expected")
        };
        assert_eq!(
            telegrams[0].frame.as_ref().map_err(|e| e.kind.name()),
            Err("crc_mismatch")
        );
        assert_eq!(unit(b"bye\r\n", false), Unit::Junk);
    }

    #[test]
    fn start_up_replies_are_link_messages() {
        for reply in [
            &b"TMODE\r\n"[..],
            b"CMODE\r\n",
            b"SMODE\r\n",
            b"V 1.67 nanoCUL868\r\n",
        ] {
            assert!(
                matches!(unit(reply, false), Unit::Link { len, direction: Direction::FromMeter, .. } if len == reply.len()),
                "{reply:?}"
            );
            // Cut anywhere before its end, it waits for more.
            assert_eq!(
                unit(&reply[..reply.len() - 1], false),
                Unit::Need,
                "{reply:?}"
            );
        }
        assert_eq!(unit(b"TMODEX\r\n", false), Unit::Junk);
        assert_eq!(unit(b"V 1.0 other\r\n", false), Unit::Junk);
        assert_eq!(unit(b"TX", false), Unit::Junk);
    }
}
