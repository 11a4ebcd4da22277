//! Security of wireless M-Bus telegrams (EN 13757-7:2018 clause 7 and 9, OMS vol. 2 annex A):
//!
//! - mode 5 (AES-128-CBC, IV = M(2) ‖ A(6) ‖ ACC×8; M and A of the long TPL header when there is
//!   one, else of the link layer): [`mode5_iv`], [`decrypt_cbc`];
//! - mode 7 (AES-128-CBC with IV 0, keys derived per message with AES-CMAC from the message
//!   counter and the meter id, the AFL MAC an AES-CMAC under the derived MAC key):
//!   [`mode7_keys`], [`afl_mac`];
//! - the encrypted extended link layer (CI `8D`/`8F`, AES-128-CTR, EN 13757-4 13.2.11):
//!   [`decrypt_ell`].
//!
//! Decrypted TPL payloads start with the check bytes `2F 2F` ([`CHECK_BYTES`]); the ELL payload
//! carries a CRC instead. Neither catches everything: mode 5 with an IV built from another
//! address decrypts to `2F 2F` all the same (only IV bytes 2–7 differ, and CBC spoils only the
//! same plaintext bytes of the first block), which is why [`super::telegram`] also requires the
//! records to parse to their end.

use aes::Aes128;
use cbc::cipher::{block_padding::NoPadding, BlockDecryptMut, KeyInit, KeyIvInit, StreamCipher};
use cmac::{Cmac, Mac};

use crate::keys::Key;

/// The first two bytes of every decrypted mode 5/7 payload.
pub const CHECK_BYTES: [u8; 2] = [0x2F, 0x2F];
/// AES block size.
pub const BLOCK: usize = 16;

type Aes128CbcDec = cbc::Decryptor<Aes128>;
type Aes128Ctr = ctr::Ctr128BE<Aes128>;

/// The mode 5 IV: M and A (8 bytes as sent), then the access number eight times.
pub fn mode5_iv(m_and_a: &[u8; 8], access_number: u8) -> [u8; 16] {
    let mut iv = [access_number; 16];
    iv[..8].copy_from_slice(m_and_a);
    iv
}

/// AES-128-CBC decryption of `data` (whole blocks; a shorter tail is left as it is).
pub fn decrypt_cbc(key: &[u8; 16], iv: &[u8; 16], data: &[u8]) -> Vec<u8> {
    let mut out = data.to_vec();
    let whole = out.len() / BLOCK * BLOCK;
    let cipher = Aes128CbcDec::new(key.into(), iv.into());
    // Whole blocks without padding cannot fail.
    let _ = cipher.decrypt_padded_mut::<NoPadding>(&mut out[..whole]);
    out
}

/// AES-CMAC (RFC 4493) of `data` under `key`.
pub fn cmac(key: &[u8; 16], data: &[&[u8]]) -> [u8; 16] {
    let mut mac = <Cmac<Aes128> as KeyInit>::new(key.into());
    for d in data {
        mac.update(d);
    }
    mac.finalize().into_bytes().into()
}

/// The mode 7 keys (KDF selection 1): Kenc = CMAC(K, `00` ‖ MCR ‖ ID ‖ `07`×7) and
/// Kmac = CMAC(K, `01` ‖ MCR ‖ ID ‖ `07`×7), MCR and ID (4 bytes each) as sent.
pub fn mode7_keys(key: &Key, mcr: &[u8; 4], id: &[u8; 4]) -> ([u8; 16], [u8; 16]) {
    let derive = |constant: u8| {
        let mut input = [0x07u8; 16];
        input[0] = constant;
        input[1..5].copy_from_slice(mcr);
        input[5..9].copy_from_slice(id);
        cmac(key.expose(), &[&input])
    };
    (derive(0x00), derive(0x01))
}

/// The AFL MAC before truncation: CMAC(Kmac, MCL ‖ MCR ‖ the telegram from the TPL CI on).
pub fn afl_mac(kmac: &[u8; 16], mcl: Option<u8>, mcr: &[u8; 4], tpl: &[u8]) -> [u8; 16] {
    let mcl = mcl.map(|m| [m]);
    cmac(kmac, &[mcl.as_ref().map_or(&[][..], |m| &m[..]), mcr, tpl])
}

/// Decrypts the AES-CTR payload of an encrypted ELL: counter block
/// M(2) ‖ A(6) ‖ CC with bits 1 and 4 cleared ‖ SN(4) ‖ FN = `0000` ‖ BC = `00`, BC counting the
/// blocks.
pub fn decrypt_ell(key: &Key, m_and_a: &[u8; 8], cc: u8, sn: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut counter = [0u8; 16];
    counter[..8].copy_from_slice(m_and_a);
    counter[8] = cc & !0x12;
    counter[9..13].copy_from_slice(sn);
    let mut out = data.to_vec();
    let mut cipher = Aes128Ctr::new(key.expose().into(), &counter.into());
    cipher.apply_keystream(&mut out);
    out
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::test_hex::unhex;

    fn arr<const N: usize>(hex: &str) -> [u8; N] {
        unhex(hex).try_into().expect("length")
    }

    #[test]
    fn cmac_rfc4493() {
        let key = arr::<16>("2b7e151628aed2a6abf7158809cf4f3c");
        assert_eq!(
            cmac(&key, &[]),
            arr::<16>("bb1d6929e95937287fa37d129b756746")
        );
        let m = unhex("6bc1bee22e409f96e93d7e117393172a");
        assert_eq!(
            cmac(&key, &[&m[..4], &m[4..]]),
            arr::<16>("070a16b46b4d4144f79bdd9dd04a287c")
        );
    }

    #[test]
    fn oms_mode7_example() {
        // OMS example (jMBus): K = 00..0F, MCR B30A0000, ID 78563412.
        let key = Key::new(arr("000102030405060708090A0B0C0D0E0F"));
        let (kenc, kmac) = mode7_keys(&key, &arr("B30A0000"), &arr("78563412"));
        let tpl =
            unhex("7A75002007109058475F4BC91DF878B80A1B0F98B629024AAC727942BFC549233C0140829B93");
        let mac = afl_mac(&kmac, Some(0x25), &arr("B30A0000"), &tpl);
        assert_eq!(mac[..8], unhex("21924D4F2FB66E01")[..]);
        let plain = decrypt_cbc(&kenc, &[0; 16], &tpl[6..38]);
        assert_eq!(plain[..2], CHECK_BYTES);
    }
}
