//! The authentication and fragmentation layer (AFL, CI `0x90`, EN 13757-7 §6 / OMS Vol. 2
//! §7.3, as quoted in `wmbus.md` §2): `90 len FCL(2) [MCL] [KI(2)] [MCR(4)] [MAC]`, as real mode 7
//! meters send it (one fragment, MCL, message counter and an 8-byte AES-CMAC).

/// CI of the AFL.
pub const CI_AFL: u8 = 0x90;
/// FCL: more fragments follow.
pub const FCL_MORE: u16 = 0x4000;
/// FCL: message control (MCL) present.
pub const FCL_MCL: u16 = 0x2000;
/// FCL: message length present.
pub const FCL_ML: u16 = 0x1000;
/// FCL: message counter (MCR) present.
pub const FCL_MCR: u16 = 0x0800;
/// FCL: MAC present.
pub const FCL_MAC: u16 = 0x0400;
/// FCL: key information present.
pub const FCL_KI: u16 = 0x0200;
/// MCL as real mode 7 meters send it: MCR present (bit 5), MAC type 5 (AES-CMAC-128 truncated
/// to 8 bytes).
pub const MCL_CMAC8: u8 = 0x25;
/// Bytes of the truncated MAC.
pub const MAC_LEN: usize = 8;

/// One unfragmented AFL with message counter and MAC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AflRepr {
    /// Message control.
    pub mcl: u8,
    /// Message counter.
    pub counter: u32,
    /// The MAC (computed over `MCL ‖ MCR ‖` the TPL by the security layer).
    pub mac: [u8; MAC_LEN],
}

impl AflRepr {
    /// The fragment control field this AFL sends (MCL, MCR and MAC present, fragment 0).
    pub fn fcl(&self) -> u16 {
        FCL_MCL | FCL_MCR | FCL_MAC
    }

    /// Bytes it takes, CI and length included.
    pub fn buffer_len(&self) -> usize {
        2 + 2 + 1 + 4 + MAC_LEN
    }

    /// Appends `90 len FCL MCL MCR MAC`.
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&[CI_AFL, (self.buffer_len() - 2) as u8]);
        out.extend_from_slice(&self.fcl().to_le_bytes());
        out.push(self.mcl);
        out.extend_from_slice(&self.counter.to_le_bytes());
        out.extend_from_slice(&self.mac);
    }
}
