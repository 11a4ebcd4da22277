//! Redacting P1 text (DSMR, and IEC 62056-21 data sets, which share the `id(value)` form):
//! equipment identifiers (`*:96.1.*` but `96.1.4`, the version), logical device names
//! (`42.0.0`), text messages (`96.13.*`) and IEC serial numbers and device addresses (`0.0.0`,
//! `0.0.1`, `C.1.0`, `C.1.1`). Values in hex-coded ASCII (DSMR 96.1.1) are faked as the text
//! they code and coded again. A telegram whose CRC-16 (DSMR P1 CS §6.2) was right gets it
//! recomputed; an IEC data block whose BCC was right, too.

use meterlab_decoder::dsmr::crc::crc16_arc;

use super::{replace_all, Faker, Redacted};

/// Whether the data set `id` (`0-0:96.1.1`, `C.1.0*255`) names an identity.
fn is_identity(id: &[u8]) -> Option<&'static str> {
    let id = std::str::from_utf8(id).ok()?.trim();
    let cde = id.rsplit(':').next()?.split('*').next()?;
    let cde = cde.split('&').next()?;
    match cde {
        "96.1.4" => None,
        s if s.starts_with("96.1.") => Some("equipment id"),
        "42.0.0" => Some("logical device name"),
        s if s.starts_with("96.13.") => Some("text message"),
        "0.0.0" | "0.0.1" | "C.1.0" | "C.1.1" | "96.1.0" => Some("serial number"),
        _ => None,
    }
}

/// The fake of one value: hex-coded text as text, else the characters themselves.
fn fake_value(faker: Faker, value: &[u8]) -> Vec<u8> {
    let hex_text = value.len() >= 2
        && value.len() % 2 == 0
        && value.iter().all(u8::is_ascii_hexdigit)
        && hex::decode(value)
            .ok()
            .is_some_and(|t| t.iter().all(|c| c.is_ascii_graphic() || *c == b' '));
    if hex_text {
        if let Ok(text) = hex::decode(value) {
            let fake = faker.text(&text);
            let lower = value.iter().any(u8::is_ascii_lowercase);
            let coded = if lower {
                hex::encode(fake)
            } else {
                hex::encode_upper(fake)
            };
            return coded.into_bytes();
        }
    }
    faker.text(value)
}

/// Spans `/`..`!` followed by four hex digits whose CRC is right.
fn crc_ok_spans(bytes: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(start) = bytes[i..].iter().position(|&b| b == b'/').map(|p| p + i) {
        let Some(bang) = bytes[start..]
            .iter()
            .position(|&b| b == b'!')
            .map(|p| p + start)
        else {
            break;
        };
        let digits = bytes.get(bang + 1..bang + 5);
        if let Some(d) = digits.filter(|d| d.iter().all(u8::is_ascii_hexdigit)) {
            let stated = std::str::from_utf8(d)
                .ok()
                .and_then(|s| u16::from_str_radix(s, 16).ok());
            if stated == Some(crc16_arc(&bytes[start..=bang])) {
                out.push((start, bang));
            }
        }
        i = bang + 1;
    }
    out
}

/// STX .. ETX BCC blocks whose BCC (XOR of everything after STX up to and with ETX) is right.
fn bcc_ok_blocks(bytes: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(stx) = bytes[i..].iter().position(|&b| b == 0x02).map(|p| p + i) {
        let Some(etx) = bytes[stx..]
            .iter()
            .position(|&b| b == 0x03 || b == 0x04)
            .map(|p| p + stx)
        else {
            break;
        };
        if let Some(&bcc) = bytes.get(etx + 1) {
            if bytes[stx + 1..=etx].iter().fold(0u8, |a, b| a ^ b) == bcc {
                out.push((stx, etx));
            }
        }
        i = etx + 1;
    }
    out
}

/// Redacts the text in `out.bytes`.
pub fn redact(out: &mut Redacted, faker: &Faker) {
    let crcs = crc_ok_spans(&out.bytes);
    let bccs = bcc_ok_blocks(&out.bytes);
    let mut pairs: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    let mut kinds: Vec<&'static str> = Vec::new();
    for line in out.bytes.split(|&b| b == b'\n') {
        let Some(open) = line.iter().position(|&b| b == b'(') else {
            continue;
        };
        let Some(kind) = is_identity(&line[..open]) else {
            continue;
        };
        let Some(close) = line[open..].iter().position(|&b| b == b')') else {
            continue;
        };
        let value = &line[open + 1..open + close];
        let value = value.split(|&b| b == b'*').next().unwrap_or(value);
        if value.iter().any(u8::is_ascii_alphanumeric) && !pairs.iter().any(|(o, _)| o == value) {
            pairs.push((value.to_vec(), fake_value(*faker, value)));
            kinds.push(kind);
        }
    }
    for kind in kinds {
        out.count(kind);
    }
    // Longest first, so that an id inside a longer one is not replaced piecewise.
    pairs.sort_by_key(|(o, _)| std::cmp::Reverse(o.len()));
    for (original, fake) in &pairs {
        replace_all(&mut out.bytes, original, fake);
        // The text a hex-coded id stands for, wherever else it appears.
        if original.len() >= 12 && original.len() % 2 == 0 {
            if let (Ok(o), Ok(f)) = (hex::decode(original), hex::decode(fake)) {
                replace_all(&mut out.bytes, &o, &f);
            }
        }
    }
    for (start, bang) in crcs {
        let crc = format!("{:04X}", crc16_arc(&out.bytes[start..=bang]));
        out.bytes[bang + 1..bang + 5].copy_from_slice(crc.as_bytes());
    }
    for (stx, etx) in bccs {
        out.bytes[etx + 1] = out.bytes[stx + 1..=etx].iter().fold(0u8, |a, b| a ^ b);
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn ids_are_replaced_and_the_crc_follows() {
        let body = "/ISK5\\2M550T-1012\r\n\r\n1-3:0.2.8(50)\r\n0-0:96.1.1(4530303339303033303030313233343536)\r\n0-1:96.1.0(4730303738)\r\n1-0:1.8.1(000123.456*kWh)\r\n!";
        let text = format!("{body}{:04X}\r\n", crc16_arc(body.as_bytes()));
        let mut out = Redacted {
            bytes: text.clone().into_bytes(),
            ..Redacted::default()
        };
        redact(&mut out, &Faker);
        let s = String::from_utf8(out.bytes.clone()).expect("text");
        assert!(!s.contains("4530303339303033303030313233343536"), "{s}");
        assert!(!s.contains("4730303738"), "{s}");
        assert!(s.contains("1-0:1.8.1(000123.456*kWh)"));
        assert_eq!(s.len(), text.len());
        assert_eq!(crc_ok_spans(&out.bytes).len(), 1, "CRC recomputed: {s}");
        assert_eq!(out.replaced.get("equipment id"), Some(&2));
        let fake_id = &s[s.find("96.1.1(").expect("id") + 7..][..34];
        let decoded = hex::decode(fake_id).expect("still hex");
        assert!(decoded[0].is_ascii_uppercase() && decoded[1..].iter().all(u8::is_ascii_digit));
    }

    #[test]
    fn iec_serial_numbers_go_and_the_bcc_follows() {
        let block = b"\x02C.1.0(21356789)\r\n0.0.0(21356789)\r\n1.8.0(0012345.6*kWh)\r\n!\r\n\x03";
        let bcc = block[1..].iter().fold(0u8, |a, b| a ^ b);
        let mut bytes = b"/LGZ4ZMF100AC.M26\r\n".to_vec();
        bytes.extend(block);
        bytes.push(bcc);
        let mut out = Redacted {
            bytes: bytes.clone(),
            ..Redacted::default()
        };
        redact(&mut out, &Faker);
        assert!(!out.bytes.windows(8).any(|w| w == b"21356789"));
        assert!(out.bytes.windows(13).any(|w| w == b"0012345.6*kWh"));
        assert_eq!(bcc_ok_blocks(&out.bytes).len(), 1, "BCC recomputed");
        assert_eq!(
            out.replaced.get("serial number"),
            Some(&1),
            "one id, one fake"
        );
    }

    #[test]
    fn a_wrong_crc_stays_wrong() {
        let text = b"/ISK5\\2M550T\r\n\r\n0-0:96.1.1(12345678)\r\n!0000\r\n".to_vec();
        let mut out = Redacted {
            bytes: text,
            ..Redacted::default()
        };
        redact(&mut out, &Faker);
        assert!(out.bytes.ends_with(b"!0000\r\n"));
        assert!(crc_ok_spans(&out.bytes).is_empty());
    }
}
