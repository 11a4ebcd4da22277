//! TPL security (EN 13757-7 §9 / OMS Vol. 2 §9, as quoted in `wmbus.md` §2): mode 5 (AES-128-CBC
//! with IV = `M ‖ A ‖ ACC×8`) and mode 7 (AES-128-CBC with IV 0 under a key derived with
//! AES-CMAC from the message counter and the meter id; the AFL MAC with a second derived key).
//!
//! The plaintext starts with the `2F 2F` check bytes and is filled up to whole 16-byte blocks with
//! `2F` idle fillers, as real meters do.

use aes::cipher::{generic_array::GenericArray, BlockEncryptMut, KeyInit, KeyIvInit};
use aes::Aes128;
use cmac::{Cmac, Mac};
use meterlab_decoder::Key;
use thiserror::Error;

/// The check bytes an encrypted payload starts with, and the idle filler.
pub const FILLER: u8 = 0x2F;
/// Bytes of an AES block.
pub const BLOCK: usize = 16;
/// Most encrypted blocks the configuration word can count.
pub const MAX_BLOCKS: usize = 15;

/// The security modes the simulated meters use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SecurityMode {
    /// Mode 0: no encryption.
    None,
    /// Mode 5: AES-128-CBC, IV from M, A and the access number.
    Mode5,
    /// Mode 7: AES-128-CBC, IV 0, derived keys, AFL MAC.
    Mode7,
    /// ELL `0x8D` AES-128-CTR (Kamstrup), no TPL security.
    EllCtr,
}

impl SecurityMode {
    /// The number in the configuration word.
    pub fn number(self) -> u8 {
        match self {
            SecurityMode::None | SecurityMode::EllCtr => 0,
            SecurityMode::Mode5 => 5,
            SecurityMode::Mode7 => 7,
        }
    }
}

/// Plaintext that cannot be encrypted.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum SecurityError {
    /// More than 15 blocks.
    #[error("{0} bytes of plaintext need more than 15 encrypted blocks")]
    TooLong(usize),
    /// The plaintext does not start with the `2F 2F` check bytes.
    #[error("the plaintext must start with 2F 2F")]
    NoCheckBytes,
}

/// `data` filled with `2F` to whole blocks; the number of blocks.
pub fn pad(data: &[u8]) -> Result<(Vec<u8>, u8), SecurityError> {
    if !data.starts_with(&[FILLER, FILLER]) {
        return Err(SecurityError::NoCheckBytes);
    }
    let blocks = data.len().div_ceil(BLOCK);
    if blocks > MAX_BLOCKS {
        return Err(SecurityError::TooLong(data.len()));
    }
    let mut out = data.to_vec();
    out.resize(blocks * BLOCK, FILLER);
    Ok((out, blocks as u8))
}

/// AES-128-CBC over whole blocks (no padding: `data.len()` is a multiple of 16).
pub fn cbc_encrypt(key: &[u8; 16], iv: &[u8; 16], data: &mut [u8]) {
    let mut enc = cbc::Encryptor::<Aes128>::new(key.into(), iv.into());
    for block in data.chunks_exact_mut(BLOCK) {
        enc.encrypt_block_mut(GenericArray::from_mut_slice(block));
    }
}

/// AES-CMAC of `parts` (concatenated).
pub fn cmac(key: &[u8; 16], parts: &[&[u8]]) -> [u8; 16] {
    let mut mac = <Cmac<Aes128> as KeyInit>::new(key.into());
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

/// The mode 5 IV: `M ‖ A ‖ ACC×8`.
pub fn mode5_iv(m_a: &[u8; 8], access_number: u8) -> [u8; 16] {
    let mut iv = [access_number; 16];
    iv[..8].copy_from_slice(m_a);
    iv
}

/// Mode 5: encrypts the padded plaintext in place.
pub fn mode5_encrypt(key: &Key, m_a: &[u8; 8], access_number: u8, data: &mut [u8]) {
    cbc_encrypt(key.expose(), &mode5_iv(m_a, access_number), data);
}

/// The two keys of mode 7 (KDF selection 1).
#[derive(Clone)]
pub struct Mode7Keys {
    /// Kenc.
    pub enc: [u8; 16],
    /// Kmac.
    pub mac: [u8; 16],
}

impl Mode7Keys {
    /// Kenc = CMAC(K, `00 ‖ MCR ‖ ID ‖ 07×7`), Kmac = CMAC(K, `01 ‖ …`); `id` as sent (4 BCD bytes,
    /// LSB first).
    pub fn derive(key: &Key, counter: u32, id: &[u8; 4]) -> Self {
        let mcr = counter.to_le_bytes();
        let derive = |d: u8| cmac(key.expose(), &[&[d], &mcr, id, &[0x07; 7]]);
        Mode7Keys {
            enc: derive(0x00),
            mac: derive(0x01),
        }
    }

    /// Encrypts the padded plaintext in place (IV 0).
    pub fn encrypt(&self, data: &mut [u8]) {
        cbc_encrypt(&self.enc, &[0; 16], data);
    }

    /// The AFL MAC: CMAC(Kmac, `MCL ‖ MCR ‖ TPL…`), first 8 bytes.
    pub fn mac(&self, mcl: u8, counter: u32, tpl: &[u8]) -> [u8; 8] {
        let full = cmac(&self.mac, &[&[mcl], &counter.to_le_bytes(), tpl]);
        let mut out = [0; 8];
        out.copy_from_slice(&full[..8]);
        out
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn test_cmac_rfc4493_example() {
        // RFC 4493 §4, example 2 (16-byte message).
        let key: [u8; 16] = crate::wmbus::test_vectors::hex("2b7e151628aed2a6abf7158809cf4f3c")
            .try_into()
            .expect("16");
        let msg = crate::wmbus::test_vectors::hex("6bc1bee22e409f96e93d7e117393172a");
        assert_eq!(
            cmac(&key, &[&msg[..7], &msg[7..]]).to_vec(),
            crate::wmbus::test_vectors::hex("070a16b46b4d4144f79bdd9dd04a287c")
        );
    }

    #[test]
    fn test_pad_fills_with_2f() {
        let (p, n) = pad(&[0x2F, 0x2F, 0x01]).expect("pads");
        assert_eq!(n, 1);
        assert_eq!(p.len(), 16);
        assert!(p[3..].iter().all(|&b| b == FILLER));
        assert_eq!(pad(&[0x01, 0x2F]), Err(SecurityError::NoCheckBytes));
        let mut long = vec![FILLER; 241];
        assert_eq!(pad(&long), Err(SecurityError::TooLong(241)));
        long.truncate(240);
        assert_eq!(pad(&long).map(|(_, n)| n), Ok(15));
    }
}
