//! `meterlab import --redact`: a capture with the user's identities replaced by stable fakes.
//!
//! Meter ids, serial numbers, system titles and customer numbers are replaced by fakes of the
//! same length and character class (digits stay digits, hex stays hex, letters stay letters),
//! derived from the original with a keyed hash under a fixed project key ([`Faker`]): the same
//! input gives the same fake, in every place it occurs and on every run, so a capture stays
//! consistent (a gas meter's id in two telegrams, a secondary address in a select and in the
//! reply). Lengths never change, so framing is kept as it was; checksums that were right are
//! recomputed (DSMR CRC, M-Bus checksum, HDLC HCS and FCS), a wrong one stays wrong (it may be
//! the bug). An encrypted DLMS or Smarty capture is decrypted with the user's key, redacted
//! and encrypted again with the profile's test key, so the user's key never reaches the
//! scenario. One file per protocol: [`dsmr`] (P1 text), [`mbus`] (EN 13757-2/-3 frames),
//! [`dlms`] (HDLC and M-Bus transport, general-glo-ciphering, A-XDR strings).

pub mod dlms;
pub mod dsmr;
pub mod mbus;

use meterlab_decoder::{Keys, Protocol};

/// The project key of the fakes' keyed hash (not a secret: it only makes fakes stable).
const PROJECT_KEY: &[u8] = b"meterlab/redact/v1";

/// A redacted capture.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Redacted {
    /// The bytes, as long as the original.
    pub bytes: Vec<u8>,
    /// Fields replaced, by kind (`equipment id`, `system title`, …).
    pub replaced: std::collections::BTreeMap<String, usize>,
    /// Ciphered APDUs encrypted again with the test key.
    pub reencrypted: usize,
    /// What could not be done (no key for an encrypted capture, …).
    pub notes: Vec<String>,
}

impl Redacted {
    /// One line for the scenario's description.
    pub fn summary(&self) -> String {
        let mut parts: Vec<String> = self
            .replaced
            .iter()
            .map(|(k, n)| format!("{n} {k}"))
            .collect();
        if parts.is_empty() {
            parts.push("nothing to replace found".into());
        }
        let mut s = format!("redacted: {}", parts.join(", "));
        if self.reencrypted > 0 {
            s.push_str(&format!(
                "; {} APDU(s) re-encrypted with the profile's test key",
                self.reencrypted
            ));
        }
        for n in &self.notes {
            s.push_str("; ");
            s.push_str(n);
        }
        s
    }

    pub(crate) fn count(&mut self, kind: &str) {
        *self.replaced.entry(kind.to_string()).or_default() += 1;
    }
}

/// Redacts a capture of `protocol`; `user` decrypts it, `test` encrypts it again.
pub fn redact(protocol: Protocol, bytes: &[u8], user: &Keys, test: &Keys) -> Redacted {
    let mut out = Redacted {
        bytes: bytes.to_vec(),
        ..Redacted::default()
    };
    let faker = Faker;
    match protocol {
        Protocol::Dsmr => {
            if bytes.starts_with(&[0xDB, 0x08]) || !bytes.contains(&b'/') {
                dlms::redact(&mut out, &faker, user, test);
            } else {
                dsmr::redact(&mut out, &faker);
            }
        }
        Protocol::Dlms => dlms::redact(&mut out, &faker, user, test),
        Protocol::Mbus => mbus::redact(&mut out, &faker),
        Protocol::Iec62056_21 => dsmr::redact(&mut out, &faker),
    }
    out
}

/// Stable fakes: a keyed hash of the original under [`PROJECT_KEY`] seeds the characters.
#[derive(Clone, Copy, Debug, Default)]
pub struct Faker;

impl Faker {
    fn stream(self, original: &[u8]) -> impl FnMut() -> u64 {
        // FNV-1a over key ‖ original, then SplitMix64.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for &b in PROJECT_KEY.iter().chain([0u8].iter()).chain(original) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01B3);
        }
        let mut state = h;
        move || {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }
    }

    /// Text of the same length and classes: each digit a digit, each letter a letter of the same
    /// case, anything else kept. Never equal to the original when it has a digit or letter.
    pub fn text(self, original: &[u8]) -> Vec<u8> {
        let mut next = self.stream(original);
        let mut out: Vec<u8> = original
            .iter()
            .map(|&c| {
                let r = next();
                match c {
                    b'0'..=b'9' => b'0' + (r % 10) as u8,
                    b'A'..=b'Z' => b'A' + (r % 26) as u8,
                    b'a'..=b'z' => b'a' + (r % 26) as u8,
                    _ => c,
                }
            })
            .collect();
        if out == original {
            if let Some(c) = out.iter_mut().find(|c| c.is_ascii_alphanumeric()) {
                *c = match *c {
                    b'9' => b'0',
                    b'z' => b'a',
                    b'Z' => b'A',
                    x => x + 1,
                };
            }
        }
        out
    }

    /// Bytes of the same length, each differing from the original's.
    pub fn bytes(self, original: &[u8]) -> Vec<u8> {
        let mut next = self.stream(original);
        original
            .iter()
            .map(|&b| {
                let r = (next() % 255) as u8;
                b ^ (r + 1)
            })
            .collect()
    }

    /// BCD digits (least significant byte first, as M-Bus ids), same length, valid BCD.
    pub fn bcd(self, original: &[u8]) -> Vec<u8> {
        let mut next = self.stream(original);
        let mut out: Vec<u8> = original
            .iter()
            .map(|_| {
                let r = next();
                ((r % 10) as u8) << 4 | ((r / 10) % 10) as u8
            })
            .collect();
        if out == original {
            if let Some(b) = out.first_mut() {
                *b = if *b & 0x0F == 9 { *b & 0xF0 } else { *b + 1 };
            }
        }
        out
    }
}

/// Replaces every occurrence of `from` in `bytes` by `to` (same length); returns how many.
pub(crate) fn replace_all(bytes: &mut [u8], from: &[u8], to: &[u8]) -> usize {
    if from.is_empty() || from.len() != to.len() {
        return 0;
    }
    let mut n = 0;
    let mut i = 0;
    while i + from.len() <= bytes.len() {
        if &bytes[i..i + from.len()] == from {
            bytes[i..i + from.len()].copy_from_slice(to);
            n += 1;
            i += from.len();
        } else {
            i += 1;
        }
    }
    n
}

#[cfg(test)]
mod test {
    use super::*;

    proptest::proptest! {
        #[test]
        fn any_bytes_keep_their_length_and_nothing_panics(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400),
            p in 0usize..4,
            prefix in 0usize..4,
        ) {
            let protocol = [Protocol::Dsmr, Protocol::Dlms, Protocol::Mbus, Protocol::Iec62056_21][p];
            // Start like a frame of each kind so the parsers get past the first byte.
            let heads: [&[u8]; 4] = [b"/ISK5\\2M550T\r\n\r\n0-0:96.1.1(", &[0xDB, 0x08], &[0x68, 0xFA, 0xFA, 0x68, 0x53, 0xFF, 0x00, 0x01, 0x67, 0xDB, 0x08], &[0x7E, 0xA0, 0x40]];
            let mut input = heads[prefix].to_vec();
            input.extend(&bytes);
            let key: meterlab_decoder::Key = "000102030405060708090A0B0C0D0E0F".parse().expect("key");
            let keys = Keys { encryption: Some(key.clone()), authentication: Some(key) };
            let out = redact(protocol, &input, &keys, &keys);
            proptest::prop_assert_eq!(out.bytes.len(), input.len());
            let out = redact(protocol, &input, &Keys::default(), &Keys::default());
            proptest::prop_assert_eq!(out.bytes.len(), input.len());
        }
    }

    #[test]
    fn fakes_are_stable_and_keep_classes() {
        let f = Faker;
        let a = f.text(b"E0039003000012345");
        assert_eq!(a, f.text(b"E0039003000012345"), "same input, same fake");
        assert_ne!(a, b"E0039003000012345".to_vec());
        assert_eq!(a.len(), 17);
        assert!(a[0].is_ascii_uppercase() && a[1..].iter().all(u8::is_ascii_digit));
        assert_ne!(f.text(b"1234"), f.text(b"1235"));
        let b = f.bcd(&[0x78, 0x56, 0x34, 0x12]);
        assert!(b.iter().all(|x| x >> 4 < 10 && x & 0x0F < 10));
        assert_ne!(b, [0x78, 0x56, 0x34, 0x12]);
        let raw = [0u8, 1, 2, 0xFF];
        assert!(f.bytes(&raw).iter().zip(raw).all(|(x, y)| *x != y));
    }
}
