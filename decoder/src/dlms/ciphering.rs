//! The general-glo-ciphering APDU and its AES-128-GCM protection (DLMS UA 1000-2 "Green Book":
//! general-glo-ciphering APDU, security control byte, cryptographic security suite 0).
//!
//! ```text
//! DB | 08 | system title (8) | length (A-XDR) | SC | invocation counter (u32 BE) | ciphertext [| tag (12)]
//! ```
//!
//! The length is an A-XDR length (`< 0x80` in one byte, `81 xx`, `82 xx xx`, …) and counts the
//! security control byte, the invocation counter, the ciphertext and the tag. The security
//! control byte: bits 3-0 suite id, bit 4 authentication, bit 5 encryption, bit 6 broadcast key,
//! bit 7 compression. The IV is system title ‖ invocation counter (96 bits). With
//! authentication and encryption (SC 0x30) the last 12 bytes are the truncated GCM tag and the
//! additional authenticated data is SC ‖ AK. With encryption only (SC 0x20) there is no tag:
//! the plaintext is the ciphertext XOR the AES-CTR keystream from counter block IV ‖ 00000002,
//! exactly what GCM encrypts with. With authentication only (SC 0x10) the payload is the
//! plaintext followed by a GMAC tag over SC ‖ AK ‖ plaintext.
//!
//! [`GeneralGloCiphering`] is a zero-copy view whose ranges are checked once by
//! [`GeneralGloCiphering::new_checked`].

use aes_gcm::aead::consts::U12;
use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::aes::Aes128;
use aes_gcm::AesGcm;
use ctr::cipher::{KeyIvInit, StreamCipher};

use crate::keys::{Key, Keys};

/// AES-128-GCM with the 96-bit nonce and the 96-bit tag of DLMS security suite 0.
type Aes128Gcm96 = AesGcm<Aes128, U12, U12>;
/// AES-128 in counter mode, incrementing the last 32 bits big-endian (GCM's inc32).
type Aes128Ctr = ctr::Ctr32BE<Aes128>;

/// The APDU tag of general-glo-ciphering.
pub const GENERAL_GLO_CIPHERING: u8 = 0xDB;
/// The APDU tag of general-ded-ciphering (dedicated key; same layout, not supported here).
pub const GENERAL_DED_CIPHERING: u8 = 0xDC;
/// Length of a system title.
pub const SYSTEM_TITLE_LEN: usize = 8;
/// Length of the truncated GCM tag of suite 0.
pub const TAG_LEN: usize = 12;
/// Security control byte and invocation counter.
const SC_IC_LEN: usize = 5;

/// Why bytes are not a general-glo-ciphering APDU.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The first byte is not 0xDB.
    #[error("tag 0x{0:02X} is not general-glo-ciphering (0xDB)")]
    NotGlo(u8),
    /// The system title length byte is not 8.
    #[error("system title length {0}, expected 8")]
    SystemTitleLength(u8),
    /// The length byte is neither a short length nor `81`..`84`.
    #[error("length byte 0x{0:02X} is not a definite A-XDR length")]
    LengthForm(u8),
    /// The length is too small for what the security control byte says follows.
    #[error("length {len} is too short for security control, invocation counter{}", if *.with_tag { " and tag" } else { "" })]
    BodyTooShort {
        /// The length field.
        len: usize,
        /// Whether a tag is expected.
        with_tag: bool,
    },
    /// Fewer bytes than the APDU needs.
    #[error("cut off after {got} bytes")]
    Truncated {
        /// Bytes present.
        got: usize,
    },
}

/// Why an APDU cannot be deciphered.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CipherError {
    /// No encryption key was given.
    #[error("no encryption key")]
    MissingKey,
    /// The APDU is authenticated and no authentication key was given.
    #[error("security control 0x{0:02X} is authenticated and no authentication key was given")]
    MissingAuthenticationKey(u8),
    /// The GCM tag does not match.
    #[error("GCM tag mismatch: wrong key or corrupted frame")]
    TagMismatch,
    /// A security control this module does not implement.
    #[error("security control 0x{0:02X} is not supported: {1}")]
    Unsupported(u8, &'static str),
}

/// The security control byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SecurityControl(pub u8);

impl SecurityControl {
    /// Security suite id (bits 3-0): 0 = AES-GCM-128.
    pub fn suite(self) -> u8 {
        self.0 & 0x0F
    }
    /// Bit 4: the APDU carries a tag.
    pub fn authenticated(self) -> bool {
        self.0 & 0x10 != 0
    }
    /// Bit 5: the information is encrypted.
    pub fn encrypted(self) -> bool {
        self.0 & 0x20 != 0
    }
    /// Bit 6: the broadcast key was used instead of the unicast key.
    pub fn broadcast_key(self) -> bool {
        self.0 & 0x40 != 0
    }
    /// Bit 7: the information is compressed.
    pub fn compressed(self) -> bool {
        self.0 & 0x80 != 0
    }
}

/// Reads an A-XDR length at the start of `bytes`: `Ok(Some((length, bytes used)))`, or
/// `Ok(None)` if `bytes` ends before the length does.
#[inline]
pub fn parse_length(bytes: &[u8]) -> Result<Option<(usize, usize)>, Error> {
    let Some(&first) = bytes.first() else {
        return Ok(None);
    };
    if first < 0x80 {
        return Ok(Some((usize::from(first), 1)));
    }
    let n = usize::from(first & 0x7F);
    if !(1..=4).contains(&n) {
        return Err(Error::LengthForm(first));
    }
    let Some(digits) = bytes.get(1..=n) else {
        return Ok(None);
    };
    let value = digits
        .iter()
        .fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
    let value = usize::try_from(value).map_err(|_| Error::LengthForm(first))?;
    Ok(Some((value, 1 + n)))
}

/// Where the parts of an APDU are, known from its first bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Bytes before the security control byte: tag, system title length, system title, length.
    pub header_len: usize,
    /// The length field: security control, invocation counter, ciphertext and tag.
    pub body_len: usize,
}

impl Header {
    /// Reads the header from the first bytes of an APDU: `Ok(None)` if more bytes are needed to
    /// know the length. Checks the tag and the system title length, not the body.
    pub fn parse(prefix: &[u8]) -> Result<Option<Header>, Error> {
        match prefix.first() {
            None => return Ok(None),
            Some(&GENERAL_GLO_CIPHERING) => {}
            Some(&tag) => return Err(Error::NotGlo(tag)),
        }
        Self::parse_after_tag(prefix)
    }

    /// As [`Header::parse`], for general-glo-ciphering (`DB`) or general-ded-ciphering (`DC`),
    /// which share the layout.
    pub fn parse_ciphered(prefix: &[u8]) -> Result<Option<Header>, Error> {
        match prefix.first() {
            None => return Ok(None),
            Some(&GENERAL_GLO_CIPHERING | &GENERAL_DED_CIPHERING) => {}
            Some(&tag) => return Err(Error::NotGlo(tag)),
        }
        Self::parse_after_tag(prefix)
    }

    fn parse_after_tag(prefix: &[u8]) -> Result<Option<Header>, Error> {
        match prefix.get(1) {
            None => return Ok(None),
            Some(&8) => {}
            Some(&len) => return Err(Error::SystemTitleLength(len)),
        }
        let at = 2 + SYSTEM_TITLE_LEN;
        let Some((body_len, used)) = parse_length(prefix.get(at..).unwrap_or_default())? else {
            return Ok(None);
        };
        Ok(Some(Header {
            header_len: at + used,
            body_len,
        }))
    }

    /// The whole APDU's length.
    pub fn frame_len(&self) -> usize {
        self.header_len.saturating_add(self.body_len)
    }
}

/// A read-only view of a general-glo-ciphering APDU.
#[derive(Clone, Debug)]
pub struct GeneralGloCiphering<T: AsRef<[u8]>> {
    buffer: T,
    header: Header,
}

impl<T: AsRef<[u8]>> GeneralGloCiphering<T> {
    /// Checks the tag, the system title length, the length field against the security control
    /// byte (room for SC, invocation counter and, when authenticated, the tag), and that the
    /// buffer holds the whole APDU. Bytes after the APDU are allowed and ignored.
    pub fn new_checked(buffer: T) -> Result<Self, Error> {
        let bytes = buffer.as_ref();
        let got = bytes.len();
        let header = Header::parse(bytes)?.ok_or(Error::Truncated { got })?;
        let sc = bytes
            .get(header.header_len)
            .copied()
            .map(SecurityControl)
            .ok_or(Error::Truncated { got })?;
        let with_tag = sc.authenticated();
        let min = SC_IC_LEN + if with_tag { TAG_LEN } else { 0 };
        if header.body_len < min {
            return Err(Error::BodyTooShort {
                len: header.body_len,
                with_tag,
            });
        }
        if got < header.frame_len() {
            return Err(Error::Truncated { got });
        }
        Ok(GeneralGloCiphering { buffer, header })
    }

    /// Where the parts are.
    pub fn header(&self) -> Header {
        self.header
    }

    /// The APDU's length in bytes.
    pub fn frame_len(&self) -> usize {
        self.header.frame_len()
    }

    /// The sender's system title (8 bytes; Smarty: `SAG` and 5 bytes).
    pub fn system_title(&self) -> &[u8] {
        &self.buffer.as_ref()[2..2 + SYSTEM_TITLE_LEN]
    }

    /// The security control byte.
    pub fn security_control(&self) -> SecurityControl {
        SecurityControl(self.buffer.as_ref()[self.header.header_len])
    }

    /// The invocation counter (Smarty: frame counter).
    pub fn invocation_counter(&self) -> u32 {
        let at = self.header.header_len + 1;
        let b = &self.buffer.as_ref()[at..at + 4];
        u32::from_be_bytes([b[0], b[1], b[2], b[3]])
    }

    /// Everything after the invocation counter: ciphertext and, when authenticated, the tag.
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[self.header.header_len + SC_IC_LEN..self.frame_len()]
    }

    fn tag_len(&self) -> usize {
        if self.security_control().authenticated() {
            TAG_LEN
        } else {
            0
        }
    }

    /// The ciphertext (the plaintext when not encrypted), without the tag.
    pub fn ciphertext(&self) -> &[u8] {
        let payload = self.payload();
        &payload[..payload.len() - self.tag_len()]
    }

    /// The truncated GCM tag, when the APDU is authenticated.
    pub fn tag(&self) -> Option<&[u8]> {
        let payload = self.payload();
        self.security_control()
            .authenticated()
            .then(|| &payload[payload.len() - TAG_LEN..])
    }

    /// The initialisation vector: system title ‖ invocation counter.
    pub fn iv(&self) -> [u8; 12] {
        let mut iv = [0u8; 12];
        iv[..8].copy_from_slice(self.system_title());
        iv[8..].copy_from_slice(&self.invocation_counter().to_be_bytes());
        iv
    }

    /// Deciphers the APDU with `keys.encryption`, checking the tag (with `keys.authentication`
    /// as part of the additional authenticated data) when the APDU is authenticated.
    pub fn decrypt(&self, keys: &Keys) -> Result<Vec<u8>, CipherError> {
        let mut plaintext = Vec::new();
        self.decrypt_into(keys, &mut plaintext)?;
        Ok(plaintext)
    }

    /// As [`GeneralGloCiphering::decrypt`], into `plaintext` (cleared first; its capacity is
    /// reused, so a decoder deciphers push after push without allocating). On an error
    /// `plaintext` holds nothing that was not verified: it is cleared.
    pub fn decrypt_into(&self, keys: &Keys, plaintext: &mut Vec<u8>) -> Result<(), CipherError> {
        plaintext.clear();
        let plan = self.plan(keys)?;
        plaintext.extend_from_slice(self.ciphertext());
        if let Some(Err(e)) = plan.map(|plan| plan.run(plaintext)) {
            plaintext.clear();
            return Err(e);
        }
        Ok(())
    }

    /// What deciphering takes: `None` when the APDU is neither encrypted nor authenticated.
    fn plan<'k>(&self, keys: &'k Keys) -> Result<Option<Plan<'k>>, CipherError> {
        let sc = self.security_control();
        if sc.compressed() {
            return Err(CipherError::Unsupported(sc.0, "compression"));
        }
        if sc.suite() > 1 {
            return Err(CipherError::Unsupported(
                sc.0,
                "only AES-128 suites 0 and 1",
            ));
        }
        if !sc.authenticated() && !sc.encrypted() {
            return Ok(None);
        }
        let ek = keys.encryption.as_ref().ok_or(CipherError::MissingKey)?;
        let authentication = if sc.authenticated() {
            let ak = keys
                .authentication
                .as_ref()
                .ok_or(CipherError::MissingAuthenticationKey(sc.0))?;
            let tag: [u8; TAG_LEN] = self
                .tag()
                .and_then(|t| t.try_into().ok())
                .ok_or(CipherError::TagMismatch)?;
            Some((ak, tag))
        } else {
            None
        };
        Ok(Some(Plan {
            sc,
            ek,
            iv: self.iv(),
            authentication,
        }))
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> GeneralGloCiphering<T> {
    /// Deciphers the APDU where it lies, without copying it: afterwards the ciphertext's bytes
    /// are the plaintext, which is returned (a view into the buffer). On an error the buffer
    /// is unchanged (a GCM tag is checked before anything is deciphered).
    pub fn decrypt_in_place(&mut self, keys: &Keys) -> Result<&[u8], CipherError> {
        let plan = self.plan(keys)?;
        let start = self.header.header_len + SC_IC_LEN;
        let end = self.frame_len() - self.tag_len();
        let data = &mut self.buffer.as_mut()[start..end];
        if let Some(plan) = plan {
            plan.run(data)?;
        }
        Ok(data)
    }
}

/// The keys, IV and tag that decipher one APDU.
struct Plan<'k> {
    sc: SecurityControl,
    ek: &'k Key,
    iv: [u8; 12],
    /// The authentication key and the tag, when the APDU is authenticated.
    authentication: Option<(&'k Key, [u8; TAG_LEN])>,
}

impl Plan<'_> {
    /// Deciphers `data` in place (the ciphertext without the tag), checking the tag first when
    /// there is one; on an error `data` is unchanged.
    fn run(&self, data: &mut [u8]) -> Result<(), CipherError> {
        let Some((ak, tag)) = &self.authentication else {
            apply_keystream(self.ek, &self.iv, data);
            return Ok(());
        };
        let gcm = Aes128Gcm96::new(&(*self.ek.expose()).into());
        // The additional authenticated data: SC ‖ AK, and with authentication only the
        // plaintext after them.
        let mut head = [0u8; 17];
        head[0] = self.sc.0;
        head[1..].copy_from_slice(ak.expose());
        let iv = self.iv.into();
        let tag = (*tag).into();
        if self.sc.encrypted() {
            gcm.decrypt_in_place_detached(&iv, &head, data, &tag)
                .map_err(|_| CipherError::TagMismatch)
        } else {
            let mut aad = Vec::with_capacity(head.len() + data.len());
            aad.extend_from_slice(&head);
            aad.extend_from_slice(data);
            gcm.decrypt_in_place_detached(&iv, &aad, &mut [], &tag)
                .map_err(|_| CipherError::TagMismatch)
        }
    }
}

/// XORs `data` with the AES-128-CTR keystream that GCM encrypts with: counter blocks
/// IV ‖ 00000002, IV ‖ 00000003, …. Deciphers an encryption-only APDU, and lets a caller look at
/// the first plaintext bytes of any ciphered APDU (also SC 0x30, without checking the tag) to
/// tell what it carries.
pub fn apply_keystream(key: &Key, iv: &[u8; 12], data: &mut [u8]) {
    let mut counter = [0u8; 16];
    counter[..12].copy_from_slice(iv);
    counter[12..].copy_from_slice(&2u32.to_be_bytes());
    let mut cipher = Aes128Ctr::new(&(*key.expose()).into(), &counter.into());
    cipher.apply_keystream(data);
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::keys::Key;
    use crate::test_hex::unhex;

    fn key(hex: &str) -> Key {
        hex.parse().expect("valid key")
    }

    /// Green Book example as used by pwitab/dlms-cosem tests/test_security.py: EK 000102…0F,
    /// AK D0D1…DF, system title 4D4D4D0000BC614E, IC 01234567, SC 0x30.
    fn green_book() -> (Vec<u8>, Keys) {
        let mut apdu = unhex("DB 08 4D4D4D0000BC614E");
        let body = unhex("30 01234567 411312FF935A47566827C467BC7D825C3BE4A77C3FCC056B6B");
        apdu.push(body.len() as u8);
        apdu.extend_from_slice(&body);
        let keys = Keys {
            encryption: Some(key("000102030405060708090A0B0C0D0E0F")),
            authentication: Some(key("D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF")),
        };
        (apdu, keys)
    }

    /// Wiener Netze push from an Iskra AM550 (rddl-network/EnergyAgent smart_meter_tests,
    /// via meterlab's corpus `wienernetze_am550_a_ir`): SC 0x20, no tag; APDU only.
    static WIENER_NETZE_APDU: &str = "db0849534b6974a8d8994f2000909dd750e337f09d460befa73f43e61e5cbdd88f7f1e4a91ff2fcb38b8fd4e38bd0d431f6f42892c24545b49389a5b4a3e976c924ae466d4e25abfd26a1573b95c0a4a4bce9a273f1233765c38";
    static WIENER_NETZE_PLAIN: &str = "0f00909dd80c07e50a0d03071e3900ff88800209090c07e50a0d03071e3900ff8880060002186b0600000000060001771b06000004c00600000000060000000006000000000600000000";

    #[test]
    fn test_parse() {
        let (apdu, _) = green_book();
        let glo = GeneralGloCiphering::new_checked(&apdu[..]).expect("valid APDU");
        assert_eq!(glo.system_title(), unhex("4D4D4D0000BC614E"));
        assert_eq!(glo.security_control(), SecurityControl(0x30));
        assert!(glo.security_control().authenticated() && glo.security_control().encrypted());
        assert_eq!(glo.invocation_counter(), 0x0123_4567);
        assert_eq!(glo.frame_len(), apdu.len());
        assert_eq!(glo.ciphertext().len(), 13);
        assert_eq!(glo.tag().map(<[u8]>::len), Some(TAG_LEN));
        assert_eq!(glo.iv()[8..], [0x01, 0x23, 0x45, 0x67]);
    }

    #[test]
    fn test_decrypt_authenticated() {
        let (apdu, keys) = green_book();
        let glo = GeneralGloCiphering::new_checked(&apdu[..]).expect("valid APDU");
        assert_eq!(glo.decrypt(&keys), Ok(unhex("C0010000080000010000FF0200")));
        let wrong_ak = Keys {
            authentication: Some(key("00112233445566778899AABBCCDDEEFF")),
            ..keys.clone()
        };
        assert_eq!(glo.decrypt(&wrong_ak), Err(CipherError::TagMismatch));
        let no_ak = Keys {
            authentication: None,
            ..keys.clone()
        };
        assert_eq!(
            glo.decrypt(&no_ak),
            Err(CipherError::MissingAuthenticationKey(0x30))
        );
        assert_eq!(glo.decrypt(&Keys::default()), Err(CipherError::MissingKey));
        let mut corrupted = apdu.clone();
        corrupted[20] ^= 0x01;
        let glo = GeneralGloCiphering::new_checked(&corrupted[..]).expect("valid APDU");
        assert_eq!(glo.decrypt(&keys), Err(CipherError::TagMismatch));
    }

    #[test]
    fn test_decrypt_encryption_only() {
        let apdu = unhex(WIENER_NETZE_APDU);
        let glo = GeneralGloCiphering::new_checked(&apdu[..]).expect("valid APDU");
        assert_eq!(glo.security_control(), SecurityControl(0x20));
        assert_eq!(glo.tag(), None);
        let keys = Keys {
            encryption: Some(key("62DC84B413AF3E16AA271CE9ED04AC74")),
            authentication: None,
        };
        assert_eq!(glo.decrypt(&keys), Ok(unhex(WIENER_NETZE_PLAIN)));
    }

    #[test]
    fn test_decrypt_authentication_only() {
        // SC 0x10: plaintext ‖ GMAC tag over SC ‖ AK ‖ plaintext, made with aes-gcm directly.
        let (_, keys) = green_book();
        let plain = unhex("C0010000080000010000FF0200");
        let iv = unhex("4D4D4D0000BC614E01234567");
        let ek = keys.encryption.as_ref().expect("key");
        let ak = keys.authentication.as_ref().expect("key");
        let mut aad = vec![0x10];
        aad.extend_from_slice(ak.expose());
        aad.extend_from_slice(&plain);
        let iv: [u8; 12] = iv.try_into().expect("12 bytes");
        let tag = Aes128Gcm96::new(&(*ek.expose()).into())
            .encrypt_in_place_detached(&iv.into(), &aad, &mut [])
            .expect("encrypts");
        let mut apdu = unhex("DB 08 4D4D4D0000BC614E");
        apdu.push((5 + plain.len() + TAG_LEN) as u8);
        apdu.extend_from_slice(&unhex("10 01234567"));
        apdu.extend_from_slice(&plain);
        apdu.extend_from_slice(&tag);
        let glo = GeneralGloCiphering::new_checked(&apdu[..]).expect("valid APDU");
        assert_eq!(glo.decrypt(&keys), Ok(plain));
        let last = apdu.len() - 1;
        apdu[last] ^= 0x80;
        let glo = GeneralGloCiphering::new_checked(&apdu[..]).expect("valid APDU");
        assert_eq!(glo.decrypt(&keys), Err(CipherError::TagMismatch));
    }

    /// In place and into a reused buffer, deciphering gives what `decrypt` gives, for every
    /// security control; on an error the buffer is left as it was (in place) or empty.
    #[test]
    fn test_decrypt_in_place_and_into() {
        let (green, green_keys) = green_book();
        let wiener_keys = Keys {
            encryption: Some(key("62DC84B413AF3E16AA271CE9ED04AC74")),
            authentication: None,
        };
        let mut plaintext = vec![0xAA; 3];
        for (apdu, keys) in [(green, green_keys), (unhex(WIENER_NETZE_APDU), wiener_keys)] {
            let expected = GeneralGloCiphering::new_checked(&apdu[..])
                .expect("valid APDU")
                .decrypt(&keys)
                .expect("deciphers");
            let glo = GeneralGloCiphering::new_checked(&apdu[..]).expect("valid APDU");
            assert_eq!(glo.decrypt_into(&keys, &mut plaintext), Ok(()));
            assert_eq!(plaintext, expected);
            let mut buffer = apdu.clone();
            let mut glo = GeneralGloCiphering::new_checked(&mut buffer[..]).expect("valid APDU");
            assert_eq!(glo.decrypt_in_place(&keys), Ok(&expected[..]));
            assert_eq!(
                glo.decrypt_in_place(&Keys::default()),
                Err(CipherError::MissingKey)
            );
        }
        let (mut apdu, keys) = green_book();
        apdu[20] ^= 0x01;
        let glo = GeneralGloCiphering::new_checked(&apdu[..]).expect("valid APDU");
        assert_eq!(
            glo.decrypt_into(&keys, &mut plaintext),
            Err(CipherError::TagMismatch)
        );
        assert!(plaintext.is_empty());
        let before = apdu.clone();
        let mut glo = GeneralGloCiphering::new_checked(&mut apdu[..]).expect("valid APDU");
        assert_eq!(glo.decrypt_in_place(&keys), Err(CipherError::TagMismatch));
        assert_eq!(apdu, before);
    }

    #[test]
    fn test_lengths() {
        assert_eq!(parse_length(&[]), Ok(None));
        assert_eq!(parse_length(&[0x4F]), Ok(Some((0x4F, 1))));
        assert_eq!(parse_length(&[0x81, 0x90]), Ok(Some((0x90, 2))));
        assert_eq!(parse_length(&[0x82, 0x02]), Ok(None));
        assert_eq!(parse_length(&[0x82, 0x02, 0x7A]), Ok(Some((634, 3))));
        assert_eq!(parse_length(&[0x80]), Err(Error::LengthForm(0x80)));
        assert_eq!(
            parse_length(&[0x85, 1, 2, 3, 4, 5]),
            Err(Error::LengthForm(0x85))
        );
    }

    #[test]
    fn test_impossible_len() {
        let (apdu, _) = green_book();
        for cut in 0..apdu.len() {
            assert_eq!(
                GeneralGloCiphering::new_checked(&apdu[..cut]).err(),
                Some(Error::Truncated { got: cut }),
                "cut at {cut}"
            );
        }
        let mut short = apdu.clone();
        short[10] = 16; // SC + IC + 11 bytes: no room for the tag
        assert_eq!(
            GeneralGloCiphering::new_checked(&short[..]).err(),
            Some(Error::BodyTooShort {
                len: 16,
                with_tag: true
            })
        );
        let mut wrong = apdu.clone();
        wrong[0] = 0xDD;
        assert_eq!(
            GeneralGloCiphering::new_checked(&wrong[..]).err(),
            Some(Error::NotGlo(0xDD))
        );
        wrong[0] = 0xDB;
        wrong[1] = 0x07;
        assert_eq!(
            GeneralGloCiphering::new_checked(&wrong[..]).err(),
            Some(Error::SystemTitleLength(7))
        );
    }
}
