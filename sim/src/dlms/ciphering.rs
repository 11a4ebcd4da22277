//! general-glo-ciphering APDU emission (DLMS UA Green Book, security suite 0: AES-128-GCM).
//!
//! `DB 08 <system title> <A-XDR length> <security control> <invocation counter u32 BE>
//! <ciphertext> [<12-byte tag>]`, the length counting SC, IC, ciphertext and tag. The IV is the
//! system title followed by the invocation counter. With security control 0x30 (authenticated and
//! encrypted) the tag covers AAD = SC ‖ authentication key; with 0x20/0x21 (encryption only) there
//! is no tag and the ciphertext is the GCM keystream (AES-CTR from counter block IV‖00000002)
//! applied to the plaintext. This is the emit half of the decoder's `dlms::ciphering`.

use aes_gcm::aead::consts::U12;
use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::aes::Aes128;
use aes_gcm::AesGcm;
use meterlab_decoder::Key;

/// AES-128-GCM with a 96-bit nonce and a 96-bit (12-byte) tag, as DLMS uses it.
type DlmsGcm = AesGcm<Aes128, U12, U12>;

/// The general-glo-ciphering tag.
pub const TAG_GENERAL_GLO_CIPHERING: u8 = 0xDB;
/// Security control: authenticated and encrypted, suite 0.
pub const SC_AUTH_ENC: u8 = 0x30;
/// Security control: encrypted only, suite 0.
pub const SC_ENC: u8 = 0x20;
/// Security control: encrypted only, suite 1 (the KSM West Kaifa MA309 push; the symmetric
/// computation is the same as suite 0).
pub const SC_ENC_SUITE_1: u8 = 0x21;

/// A general-glo-ciphering APDU before encryption.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GeneralGloCipheringRepr {
    /// The meter's system title (3-letter manufacturer flag id + 5 bytes).
    pub system_title: [u8; 8],
    /// Security control byte (0x20, 0x21, 0x30...).
    pub security_control: u8,
    /// Invocation counter (frame counter).
    pub invocation_counter: u32,
}

/// The APDU could not be built.
#[derive(Debug, thiserror::Error)]
pub enum CipheringError {
    /// Security control 0x30 needs an authentication key.
    #[error("security control {0:#04x} needs an authentication key")]
    MissingAuthenticationKey(u8),
    /// The AES-GCM implementation refused (plaintext too long).
    #[error("AES-GCM encryption failed")]
    Encrypt,
}

impl GeneralGloCipheringRepr {
    /// Whether the security control asks for an authentication tag.
    pub fn authenticated(&self) -> bool {
        self.security_control & 0x10 != 0
    }

    /// Bytes the APDU takes for a plaintext of `plaintext_len` bytes.
    pub fn buffer_len(&self, plaintext_len: usize) -> usize {
        let len = 5 + plaintext_len + if self.authenticated() { 12 } else { 0 };
        2 + 8 + super::axdr::length_len(len) + len
    }

    /// Encrypts `plaintext` and returns the whole APDU (named `encrypt`, not `emit`: it needs
    /// the keys and can fail, where every `emit` appends to a buffer).
    pub fn encrypt(
        &self,
        plaintext: &[u8],
        key: &Key,
        auth_key: Option<&Key>,
    ) -> Result<Vec<u8>, CipheringError> {
        let mut iv = [0u8; 12];
        iv[..8].copy_from_slice(&self.system_title);
        iv[8..].copy_from_slice(&self.invocation_counter.to_be_bytes());
        let cipher = DlmsGcm::new(key.expose().into());
        let mut body = plaintext.to_vec();
        let tag = if self.authenticated() {
            let ak = auth_key.ok_or(CipheringError::MissingAuthenticationKey(
                self.security_control,
            ))?;
            let mut aad = Vec::with_capacity(17);
            aad.push(self.security_control);
            aad.extend_from_slice(ak.expose());
            let tag = cipher
                .encrypt_in_place_detached((&iv).into(), &aad, &mut body)
                .map_err(|_| CipheringError::Encrypt)?;
            Some(tag)
        } else {
            // Encryption only: GCM's ciphertext without its tag is exactly the CTR keystream
            // starting at IV‖00000002, which is what such meters send.
            cipher
                .encrypt_in_place_detached((&iv).into(), &[], &mut body)
                .map_err(|_| CipheringError::Encrypt)?;
            None
        };
        let len = 1 + 4 + body.len() + tag.as_ref().map_or(0, |t| t.len());
        let mut out = Vec::with_capacity(len + 14);
        out.push(TAG_GENERAL_GLO_CIPHERING);
        out.push(8);
        out.extend_from_slice(&self.system_title);
        push_axdr_length(&mut out, len);
        out.push(self.security_control);
        out.extend_from_slice(&self.invocation_counter.to_be_bytes());
        out.extend_from_slice(&body);
        if let Some(tag) = tag {
            out.extend_from_slice(&tag);
        }
        Ok(out)
    }
}

/// Appends an A-XDR length: one byte below 0x80, else `81 xx`, `82 xx xx` (longer lengths in the
/// `83`/`84` forms). The same as [`axdr::push_length`](super::axdr::push_length).
pub fn push_axdr_length(out: &mut Vec<u8>, len: usize) {
    super::axdr::push_length(out, len);
}

#[cfg(test)]
mod test {
    use super::*;

    fn key(hex: &str) -> Key {
        hex.parse().expect("test key")
    }

    /// The Green Book unit vector (as re-computed in shared/protocols/dlms.md): EK 000102…0F,
    /// AK D0D1…DF, system title 4D4D4D0000BC614E, IC 01234567, SC 30.
    #[test]
    fn green_book_vector() {
        let repr = GeneralGloCipheringRepr {
            system_title: [0x4D, 0x4D, 0x4D, 0x00, 0x00, 0xBC, 0x61, 0x4E],
            security_control: SC_AUTH_ENC,
            invocation_counter: 0x0123_4567,
        };
        let pt = [
            0xC0, 0x01, 0x00, 0x00, 0x08, 0x00, 0x00, 0x01, 0x00, 0x00, 0xFF, 0x02, 0x00,
        ];
        let out = repr
            .encrypt(
                &pt,
                &key("000102030405060708090A0B0C0D0E0F"),
                Some(&key("D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF")),
            )
            .expect("encrypts");
        let expect_ct_tag = [
            0x41, 0x13, 0x12, 0xFF, 0x93, 0x5A, 0x47, 0x56, 0x68, 0x27, 0xC4, 0x67, 0xBC, 0x7D,
            0x82, 0x5C, 0x3B, 0xE4, 0xA7, 0x7C, 0x3F, 0xCC, 0x05, 0x6B, 0x6B,
        ];
        assert_eq!(
            &out[..10],
            &[0xDB, 0x08, 0x4D, 0x4D, 0x4D, 0x00, 0x00, 0xBC, 0x61, 0x4E]
        );
        assert_eq!(out[10] as usize, 5 + expect_ct_tag.len());
        assert_eq!(&out[11..16], &[0x30, 0x01, 0x23, 0x45, 0x67]);
        assert_eq!(&out[16..], &expect_ct_tag);
    }

    #[test]
    fn needs_auth_key_for_sc30() {
        let repr = GeneralGloCipheringRepr {
            system_title: [0; 8],
            security_control: SC_AUTH_ENC,
            invocation_counter: 1,
        };
        assert!(repr
            .encrypt(b"x", &key("000102030405060708090A0B0C0D0E0F"), None)
            .is_err());
        let repr = GeneralGloCipheringRepr {
            security_control: SC_ENC,
            ..repr
        };
        let out = repr
            .encrypt(b"abc", &key("000102030405060708090A0B0C0D0E0F"), None)
            .expect("no tag needed");
        assert_eq!(out.len(), 2 + 8 + 1 + 5 + 3);
    }

    #[test]
    fn axdr_lengths() {
        let mut v = Vec::new();
        push_axdr_length(&mut v, 0x7F);
        push_axdr_length(&mut v, 0xF8);
        push_axdr_length(&mut v, 0x155);
        assert_eq!(v, [0x7F, 0x81, 0xF8, 0x82, 0x01, 0x55]);
    }
}
