//! Bare link-layer frames (EN 13757-4; wmbusmeters' `rawtty`, simulation files, captures of
//! sticks in transparent mode): `L C M A CI …` with the block CRCs of format A or B, or
//! without CRCs, as most sticks deliver it. Which one the caller states ([`Crcs`]); in
//! [`Crcs::Auto`] a frame whose first block CRC (format A) or block 2 CRC (format B) is right
//! has CRCs, and any other frame must look like one: a known C field, manufacturer letters
//! A–Z and a CI of a wireless layer.

use super::{Delivered, Unit};
use crate::wmbus::afl::CI_AFL;
use crate::wmbus::ell::is_ell;
use crate::wmbus::link::{first_block_ok, format_b_ok, strip_crcs, FrameFormat, CI_OFFSET};
use crate::wmbus::tpl::tpl_kind;
use crate::wmbus::ErrorKind;

/// Whether bare frames carry their CRCs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Crcs {
    /// Tell from each frame (see the module documentation).
    #[default]
    Auto,
    /// Every frame has its block CRCs (format A or B); frames without are not taken.
    Present,
    /// No frame has CRCs.
    Absent,
}

/// Whether `c` is a C field a meter (or a gateway answering it) sends.
pub fn plausible_control(c: u8) -> bool {
    matches!(c & 0x7F, 0x06 | 0x08 | 0x40 | 0x44 | 0x46 | 0x47 | 0x48)
}

/// Whether `m` spells three letters A–Z.
pub fn plausible_manufacturer(m: u16) -> bool {
    [10u16, 5, 0]
        .iter()
        .all(|&s| (1..=26).contains(&((m >> s) & 0x1F)))
}

/// Whether `ci` starts a layer this decoder reads (or names: manufacturer specific).
pub fn plausible_ci(ci: u8) -> bool {
    tpl_kind(ci).is_some() || is_ell(ci) || ci == CI_AFL || (0xA0..=0xB7).contains(&ci)
}

/// What the bytes at the start of `b` are.
pub fn unit(b: &[u8], at_end: bool, crcs: Crcs) -> Unit {
    let need = || if at_end { Unit::Junk } else { Unit::Need };
    let (Some(&l), Some(&c)) = (b.first(), b.get(1)) else {
        return need();
    };
    if usize::from(l) < CI_OFFSET || !plausible_control(c) {
        return Unit::Junk;
    }
    let taken = |format| match strip_crcs(b, format) {
        Ok((frame, len)) => Unit::Telegrams {
            len,
            telegrams: vec![Delivered::frame(frame)],
        },
        Err(e) if e.kind == ErrorKind::Truncated && !at_end => Unit::Need,
        // The first block's CRC is right: a frame cut off by the end of the stream.
        Err(e) if e.kind == ErrorKind::Truncated => Unit::Error {
            len: b.len(),
            error: e,
        },
        Err(e) => Unit::Error {
            len: b.len().min(crate::wmbus::link::framed_len(l, format)),
            error: e,
        },
    };
    if crcs != Crcs::Absent {
        if b.len() < CI_OFFSET + 2 {
            return need();
        }
        if first_block_ok(b) {
            return taken(FrameFormat::A);
        }
        let block2 = (usize::from(l) + 1).min(128);
        if b.len() < block2 {
            return need();
        }
        if format_b_ok(b) {
            return taken(FrameFormat::B);
        }
        if crcs == Crcs::Present {
            return Unit::Junk;
        }
    }
    let n = usize::from(l) + 1;
    let Some(frame) = b.get(..n) else {
        return need();
    };
    if crcs == Crcs::Auto
        && !(plausible_manufacturer(u16::from_le_bytes([frame[2], frame[3]]))
            && plausible_ci(frame[CI_OFFSET]))
    {
        return Unit::Junk;
    }
    Unit::Telegrams {
        len: n,
        telegrams: vec![Delivered::frame(frame.to_vec())],
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::test_hex::unhex;

    #[test]
    fn with_and_without_crcs() {
        let plain = unhex("1844AE4C4455223368077A55000000041389E20100023B0000");
        let on_air = unhex("1844AE4C4455223368075F787A55000000041389E20100023B0000D0C6");
        for (b, crcs) in [
            (&plain, Crcs::Auto),
            (&plain, Crcs::Absent),
            (&on_air, Crcs::Auto),
            (&on_air, Crcs::Present),
        ] {
            let Unit::Telegrams { len, telegrams } = unit(b, true, crcs) else {
                panic!("{crcs:?}: telegram expected")
            };
            assert_eq!(len, b.len());
            assert_eq!(telegrams[0].frame.as_ref(), Ok(&plain));
        }
        assert_eq!(unit(&plain, true, Crcs::Present), Unit::Junk);
        assert_eq!(unit(&on_air[..20], false, Crcs::Present), Unit::Need);
        assert!(!plausible_manufacturer(0));
        assert!(plausible_manufacturer(0x4CAE));
    }
}
