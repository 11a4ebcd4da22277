//! The authentication and fragmentation layer (EN 13757-7:2018 clause 6, OMS vol. 2 annex):
//! CI `90`, its length, the fragmentation control field FCL and the optional fields it
//! announces: message control MCL, key information KI, message counter MCR, MAC, message
//! length ML.
//!
//! ```text
//! 90 AFLL FCL(2, LE) [MCL] [KI(2)] [MCR(4, LE)] [MAC] [ML(2)]
//! ```
//!
//! FCL bits: 14 more fragments, 13 MCL present, 12 ML present, 11 MCR present, 10 MAC present,
//! 9 KI present, 7–0 fragment id. The low nibble of MCL is the MAC type (5 = AES-CMAC-128
//! truncated to 8 bytes); the MAC takes what the AFL length leaves. The MAC is verified in
//! [`super::security`].

use super::{Error, ErrorKind};

/// The CI of the AFL.
pub const CI_AFL: u8 = 0x90;

/// FCL: more fragments follow.
pub const FCL_MORE_FRAGMENTS: u16 = 0x4000;
/// FCL: MCL present.
pub const FCL_MCL: u16 = 0x2000;
/// FCL: ML present.
pub const FCL_ML: u16 = 0x1000;
/// FCL: MCR present.
pub const FCL_MCR: u16 = 0x0800;
/// FCL: MAC present.
pub const FCL_MAC: u16 = 0x0400;
/// FCL: KI present.
pub const FCL_KI: u16 = 0x0200;

/// The parsed AFL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AflRepr {
    /// Fragmentation control field.
    pub fcl: u16,
    /// Message control (MAC type in the low nibble).
    pub mcl: Option<u8>,
    /// Key information.
    pub ki: Option<u16>,
    /// Message counter as sent (4 bytes, LSB first).
    pub mcr: Option<[u8; 4]>,
    /// The MAC as sent.
    pub mac: Option<Vec<u8>>,
    /// Message length.
    pub ml: Option<u16>,
}

impl AflRepr {
    /// Parses the AFL at the start of `b` (which starts with CI `90`); returns it and the
    /// number of bytes it takes (CI included).
    pub fn parse(b: &[u8]) -> Result<(AflRepr, usize), Error> {
        let cut = |what: &str| {
            Error::new(
                ErrorKind::PrematureEnd,
                format!("the authentication and fragmentation layer ends inside its {what}"),
            )
        };
        let &len = b.get(1).ok_or_else(|| cut("length"))?;
        let end = 2 + usize::from(len);
        let body = b.get(2..end).ok_or_else(|| cut("fields"))?;
        let fcl = u16::from_le_bytes([
            *body.first().ok_or_else(|| cut("FCL"))?,
            *body.get(1).ok_or_else(|| cut("FCL"))?,
        ]);
        let mut at = 2;
        let take = |at: &mut usize, n: usize, what: &str| -> Result<&[u8], Error> {
            let s = body.get(*at..*at + n).ok_or_else(|| cut(what))?;
            *at += n;
            Ok(s)
        };
        let mcl = if fcl & FCL_MCL != 0 {
            Some(take(&mut at, 1, "MCL")?[0])
        } else {
            None
        };
        let ki = if fcl & FCL_KI != 0 {
            let k = take(&mut at, 2, "KI")?;
            Some(u16::from_le_bytes([k[0], k[1]]))
        } else {
            None
        };
        let mcr = if fcl & FCL_MCR != 0 {
            let m = take(&mut at, 4, "MCR")?;
            Some([m[0], m[1], m[2], m[3]])
        } else {
            None
        };
        let ml_len = if fcl & FCL_ML != 0 { 2 } else { 0 };
        let mac = if fcl & FCL_MAC != 0 {
            let n = body.len().saturating_sub(at + ml_len);
            if n == 0 {
                return Err(cut("MAC"));
            }
            Some(take(&mut at, n, "MAC")?.to_vec())
        } else {
            None
        };
        let ml = if ml_len != 0 {
            let m = take(&mut at, 2, "ML")?;
            Some(u16::from_le_bytes([m[0], m[1]]))
        } else {
            None
        };
        Ok((
            AflRepr {
                fcl,
                mcl,
                ki,
                mcr,
                mac,
                ml,
            },
            end,
        ))
    }

    /// The message counter as a number.
    pub fn message_counter(&self) -> Option<u32> {
        self.mcr.map(u32::from_le_bytes)
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::test_hex::unhex;

    #[test]
    fn oms_example() {
        // The OMS mode 7 example (jMBus VariableDataStructureTest), AFL and the TPL CI after it.
        let b = unhex("900F002C25B30A000021924D4F2FB66E017A");
        let (afl, n) = AflRepr::parse(&b).expect("afl");
        assert_eq!(n, 17);
        assert_eq!(afl.fcl, 0x2C00);
        assert_eq!(afl.mcl, Some(0x25));
        assert_eq!(afl.message_counter(), Some(0x0AB3));
        assert_eq!(afl.mac.as_deref(), Some(&unhex("21924D4F2FB66E01")[..]));
        assert!(AflRepr::parse(&b[..10]).is_err());
        assert!(AflRepr::parse(&unhex("9002002C")).is_err());
    }
}
