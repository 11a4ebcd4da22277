//! Telling the protocol of a capture from its first bytes, and the decoder for a protocol.
//!
//! [`detect`] looks for the first position where a message of a known protocol starts:
//!
//! - `/?…!` (a request), `STX` or `SOH` + letter: IEC 62056-21;
//! - `/` and three letters (the manufacturer flag): DSMR P1 (DSMR P1 Companion Standard §6.2),
//!   unless the capture goes on like an IEC 62056-21 dialogue or push (a data block, an option
//!   select, full OBIS ids with `*F`);
//! - `68 L L 68 53|73 FF`: an M-Bus long frame as Austrian P1 meters push DLMS in it
//!   (EN 13757-2; C = SND_UD, A = broadcast);
//! - `68 L L 68 08|18|28|38`: an M-Bus RSP_UD long frame (EN 13757-2; C = RSP_UD from a
//!   slave), `10 C A CS 16` (a short frame: the master's requests, checksum right) or `E5` at
//!   the end or before another frame: wired M-Bus;
//! - `7E A_`: an HDLC frame of format type 3 (IEC 62056-46), the Nordic HAN and Austrian IR push;
//! - `0F` followed by a plausible data-notification header: a bare DLMS push;
//! - `DB 08`: general-glo-ciphering, used both by DLMS pushes and by the Luxembourg Smarty around
//!   DSMR text. With an encryption key, the first ciphertext byte is deciphered with the AES-CTR
//!   keystream (which is also how GCM encrypts, so this works for SC 0x30 without checking the
//!   tag): `0F` is DLMS, `/` is DSMR. Without a key, or when that byte is neither, the guess is
//!   DSMR for a length in the `82 xx xx` form with SC 0x30 (every Smarty frame: ~600 bytes,
//!   authenticated and encrypted) and DLMS otherwise;
//! - wireless M-Bus in a receiver stick's framing (iM871A, AMB8465, CUL, rtl_wmbus, bare
//!   frames; [`crate::wmbus::dongle::detect`]): M-Bus, whose decoder tells wired from wireless.

use crate::dlms::apdu::{self, Plausible};
use crate::dlms::ciphering::{self, Header, GENERAL_GLO_CIPHERING};
use crate::dlms::DlmsDecoder;
use crate::dsmr::DsmrDecoder;
use crate::keys::Keys;
use crate::reading::Protocol;
use crate::stream::StreamDecoder;

/// The protocol of the first message found in `bytes`, if any (see the module documentation).
pub fn detect(bytes: &[u8], keys: &Keys) -> Option<Protocol> {
    // A capture that starts with a wireless M-Bus message is one, whatever its bytes spell
    // in ASCII (a bare frame `2F 44 …` starts like a DSMR identification line).
    wireless(bytes, 0).or_else(|| {
        (0..bytes.len()).find_map(|i| detect_at(&bytes[i..], keys).or_else(|| wireless(bytes, i)))
    })
}

/// Wireless M-Bus as a receiver stick delivers it, at `bytes[i]`
/// ([`crate::wmbus::dongle::detect`]): decoded by the M-Bus decoder, which tells wired from
/// wireless.
fn wireless(bytes: &[u8], i: usize) -> Option<Protocol> {
    let line_start = i == 0 || matches!(bytes[i - 1], b'\n' | b'\r');
    crate::wmbus::dongle::detect(&bytes[i..], i == 0, line_start, true).then_some(Protocol::Mbus)
}

/// Whether a capture that starts like a DSMR telegram (`/XXXZ ident`) is really an IEC 62056-21
/// dialogue or push: it carries a data block (`STX` at a line start), an option select (`ACK`),
/// a programming command (`SOH`), or full OBIS ids with a billing field (`1-0:1.8.0*255(`), which
/// DSMR never writes.
fn looks_like_iec(d: &[u8]) -> bool {
    let block = d
        .windows(2)
        .any(|w| w[0] == b'\n' && matches!(w[1], 0x01 | 0x02 | 0x06));
    let full_obis = d.split(|&b| b == b'\n').any(|line| {
        let id = line.split(|&b| b == b'(').next().unwrap_or(&[]);
        id.contains(&b':') && id.contains(&b'*') && id.first().is_some_and(u8::is_ascii_digit)
    });
    block || full_obis
}

fn detect_at(d: &[u8], keys: &Keys) -> Option<Protocol> {
    match *d {
        [b'/', b'?' | b'2', ..] if d.iter().take(40).any(|&b| b == b'!') => {
            Some(Protocol::Iec62056_21)
        }
        [0x02, ..] | [0x01, b'A'..=b'Z', ..] => Some(Protocol::Iec62056_21),
        [b'/', a, b, c, ..] if [a, b, c].iter().all(u8::is_ascii_alphabetic) => {
            Some(if looks_like_iec(d) {
                Protocol::Iec62056_21
            } else {
                Protocol::Dsmr
            })
        }
        [0x68, l1, l2, 0x68, 0x53 | 0x73, 0xFF, ..] if l1 == l2 => Some(Protocol::Dlms),
        [0x68, l1, l2, 0x68, 0x08 | 0x18 | 0x28 | 0x38, ..] if l1 == l2 => Some(Protocol::Mbus),
        [0x10, c, a, cs, 0x16, ..] if c.wrapping_add(a) == cs => Some(Protocol::Mbus),
        [0xE5] | [0xE5, 0x10 | 0x68 | 0xE5, ..] => Some(Protocol::Mbus),
        [0x7E, format, ..] if format & 0xF0 == 0xA0 => Some(Protocol::Dlms),
        [apdu::DATA_NOTIFICATION, ..] => {
            (apdu::plausible_start(d) == Plausible::Yes).then_some(Protocol::Dlms)
        }
        [GENERAL_GLO_CIPHERING, 0x08, ..] => ciphered(d, keys),
        _ => None,
    }
}

/// DLMS or Smarty DSMR inside general-glo-ciphering.
fn ciphered(d: &[u8], keys: &Keys) -> Option<Protocol> {
    let header = Header::parse(d).ok()??;
    let sc = *d.get(header.header_len)?;
    let guess = if d[10] == 0x82 && sc == 0x30 {
        Protocol::Dsmr
    } else {
        Protocol::Dlms
    };
    let first = header.header_len + 5;
    let (Some(key), Some(&byte)) = (keys.encryption.as_ref(), d.get(first)) else {
        return Some(guess);
    };
    let mut iv = [0u8; 12];
    iv[..8].copy_from_slice(&d[2..10]);
    iv[8..].copy_from_slice(&d[header.header_len + 1..first]);
    let mut plain = [byte];
    ciphering::apply_keystream(key, &iv, &mut plain);
    Some(match plain[0] {
        apdu::DATA_NOTIFICATION => Protocol::Dlms,
        b'/' => Protocol::Dsmr,
        _ => guess,
    })
}

/// The reference decoder for a protocol: DSMR → [`DsmrDecoder`], DLMS → [`DlmsDecoder`], IEC
/// 62056-21 → [`IecDecoder`](crate::IecDecoder), M-Bus → [`MbusEitherDecoder`](crate::MbusEitherDecoder)
/// (wired [`MbusDecoder`](crate::MbusDecoder) or wireless [`WmbusDecoder`](crate::WmbusDecoder)).
pub fn decoder_for(protocol: Protocol, keys: Keys) -> Box<dyn StreamDecoder + Send> {
    match protocol {
        Protocol::Dlms => Box::new(DlmsDecoder::new(keys)),
        Protocol::Iec62056_21 => Box::new(crate::IecDecoder::new()),
        Protocol::Mbus => Box::new(crate::wmbus::MbusEitherDecoder::new(keys)),
        Protocol::Dsmr => Box::new(DsmrDecoder::new(keys)),
    }
}

/// Choices that loosen the reference decoder for analysis; the defaults are strict.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DecodeOptions {
    /// DSMR: decode telegrams whose CRC is wrong or missing anyway, every value flagged
    /// `unverified` ([`crate::dsmr::CrcPolicy::Ignore`]).
    pub ignore_crc: bool,
}

/// [`decoder_for`] with [`DecodeOptions`].
pub fn decoder_with(
    protocol: Protocol,
    keys: Keys,
    options: DecodeOptions,
) -> Box<dyn StreamDecoder + Send> {
    match protocol {
        Protocol::Dsmr if options.ignore_crc => Box::new(DsmrDecoder::with_crc_policy(
            keys,
            crate::dsmr::CrcPolicy::Ignore,
        )),
        _ => decoder_for(protocol, keys),
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::test_hex::unhex;

    #[test]
    fn detects_each_start() {
        let none = Keys::default();
        assert_eq!(
            detect(b"\r\n/ISk5\\2MT382-1000\r\n", &none),
            Some(Protocol::Dsmr)
        );
        assert_eq!(
            detect(&unhex("0000 68FAFA6853FF000167DB08"), &none),
            Some(Protocol::Dlms)
        );
        assert_eq!(detect(&unhex("7EA0270102"), &none), Some(Protocol::Dlms));
        let kaifa = unhex("0F40000000090C07E1090C0217122AFF800000020106000005 28");
        assert_eq!(detect(&kaifa, &none), Some(Protocol::Dlms));
        assert_eq!(detect(&unhex("0F 00 11 22"), &none), None);
        assert_eq!(detect(b"nothing here", &none), None);
    }

    #[test]
    fn ciphered_by_plaintext_or_guess() {
        // Wiener Netze AM550 APDU (corpus wienernetze_am550_a_ir): SC 0x20, short length.
        let wn = unhex("db0849534b6974a8d8994f2000909dd750e337f09d460befa73f43e61e5cbdd8");
        let key = Keys {
            encryption: Some("62DC84B413AF3E16AA271CE9ED04AC74".parse().expect("key")),
            authentication: None,
        };
        assert_eq!(detect(&wn, &key), Some(Protocol::Dlms));
        assert_eq!(detect(&wn, &Keys::default()), Some(Protocol::Dlms));
        // A Smarty-shaped header without key: 82 length form and SC 0x30 → DSMR.
        let smarty = unhex("DB08 5341476770010000 820271 30 00000001 AABBCC");
        assert_eq!(detect(&smarty, &Keys::default()), Some(Protocol::Dsmr));
        let wrong = Keys {
            encryption: Some("00000000000000000000000000000000".parse().expect("key")),
            authentication: None,
        };
        assert!(detect(&smarty, &wrong).is_some());
    }
}

#[cfg(test)]
mod iec_detection {
    use super::*;

    #[test]
    fn iec_captures_are_told_from_dsmr() {
        let keys = Keys::default();
        // The Iskra ME162 dialogue of the IEC corpus.
        let dialogue = b"/?!\r\n/ISK5ME162-0033\r\n\x06050\r\n\x02C.1.0(28342193)\r\n!\r\n\x03L";
        assert_eq!(detect(dialogue, &keys), Some(Protocol::Iec62056_21));
        assert_eq!(
            detect(&dialogue[5..], &keys),
            Some(Protocol::Iec62056_21),
            "from the identification on"
        );
        // Hager eHZ mode D push: full OBIS ids with *255.
        let push = b"/HAG5eHZ010C_EHZ1vA02\r\n\r\n1-0:0.0.0*255(1095100000067865)\r\n!\r\n";
        assert_eq!(detect(push, &keys), Some(Protocol::Iec62056_21));
        // A DSMR telegram stays DSMR, also with the 0x02 artifact in its header.
        let dsmr = b"/ISk5\x02MT382-1000\r\n\r\n1-3:0.2.8(50)\r\n!6EEE\r\n";
        assert_eq!(detect(dsmr, &keys), Some(Protocol::Dsmr));
    }
}

#[cfg(test)]
mod mbus_detection {
    use super::*;

    #[test]
    fn mbus_frames_are_told_from_dlms() {
        let keys = Keys::default();
        // RSP_UD (libmbus test frame abb_delta, start), a REQ_UD2 short frame, a lone E5.
        let rsp_ud = [0x68, 0x98, 0x98, 0x68, 0x08, 0x01, 0x72, 0x12, 0x34];
        assert_eq!(detect(&rsp_ud, &keys), Some(Protocol::Mbus));
        assert_eq!(
            detect(&[0x10, 0x5B, 0xFE, 0x59, 0x16], &keys),
            Some(Protocol::Mbus)
        );
        assert_eq!(detect(&[0xE5], &keys), Some(Protocol::Mbus));
        assert_eq!(detect(&[0xE5, 0x68, 0x03], &keys), Some(Protocol::Mbus));
        assert_eq!(detect(&[0x10, 0x5B, 0xFE, 0x00, 0x16], &keys), None);
        // DLMS over M-Bus (SND_UD to FF) stays DLMS.
        let dlms = [0x68, 0xFA, 0xFA, 0x68, 0x53, 0xFF, 0x00, 0x01, 0x67];
        assert_eq!(detect(&dlms, &keys), Some(Protocol::Dlms));
        let mut d = decoder_for(Protocol::Mbus, keys);
        let frame = [
            0x68, 0x05, 0x05, 0x68, 0x08, 0x00, 0x78, 0x0F, 0x00, 0x8F, 0x16,
        ];
        let messages = d.decode_all(&frame);
        assert!(matches!(messages.as_slice(), [crate::Message::Reading(_)]));
    }
}

#[cfg(test)]
mod wmbus_detection {
    use super::*;
    use crate::test_hex::unhex;

    #[test]
    fn wireless_captures_are_mbus() {
        let keys = Keys::default();
        let forms: [&[u8]; 3] = [
            b"b1844AE4C4455223368075F787A55000000041389E20100023B0000D0C62FC8\r\n",
            b"T1;1;1;2019-04-03 19:00:42.000;97;148;33225544;0x1844AE4C4455223368077A55000000041389E20100023B0000\n",
            b"\r\nb1844AE4C4455223368075F787A55000000041389E20100023B0000D0C62FC8\r\n",
        ];
        for f in forms {
            assert_eq!(detect(f, &keys), Some(Protocol::Mbus));
        }
        for hex in [
            "A5C2031844AE4C4455223368077A55000000041389E20100023B0000C8C6C1",
            "FF031944AE4C4455223368077A55000000041389E20100023B0000B0F7",
            "1844AE4C4455223368075F787A55000000041389E20100023B0000D0C6",
            "1844AE4C4455223368077A55000000041389E20100023B0000",
            // After junk, a bare frame only with its CRCs.
            "00001844AE4C4455223368075F787A55000000041389E20100023B0000D0C6",
        ] {
            assert_eq!(detect(&unhex(hex), &keys), Some(Protocol::Mbus), "{hex}");
        }
        // A bare frame without CRCs after junk is not taken; an rtl_wmbus `0x` inside a line
        // is none.
        assert_ne!(
            detect(
                &unhex("00001844AE4C4455223368077A55000000041389E20100023B0000"),
                &keys
            ),
            Some(Protocol::Mbus)
        );
        assert_eq!(detect(b"ab0x1844AE4C44552233", &keys), None);
        let mut d = decoder_for(Protocol::Mbus, keys);
        let messages = d.decode_all(forms[0]);
        assert!(matches!(messages.as_slice(), [crate::Message::Reading(_)]));
    }
}
