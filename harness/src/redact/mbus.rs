//! Redacting wired M-Bus frames (EN 13757-2 long frames, EN 13757-3 data headers): the
//! identification number (secondary address, 8 BCD digits) of every RSP_UD with a long header
//! (CI 72, 76) and of every secondary select (CI 52), and ASCII strings that look like customer
//! or serial numbers (VIF 7C/FC plain-text units are not touched). The same id gets the same fake
//! in selects and replies. The checksum of a frame whose checksum was right is recomputed.

use super::{replace_all, Faker, Redacted};

/// Long frames `68 L L 68 … CS 16`: start and length.
pub(crate) fn long_frames(bytes: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i + 6 <= bytes.len() {
        let d = &bytes[i..];
        if d[0] == 0x68 && d[3] == 0x68 && d[1] == d[2] && d[1] >= 3 {
            let len = usize::from(d[1]) + 6;
            if d.get(len - 1) == Some(&0x16) {
                out.push((i, len));
                i += len;
                continue;
            }
        }
        i += 1;
    }
    out
}

/// Whether the checksum of the long frame at `bytes[start..start + len]` is right.
pub(crate) fn checksum_ok(frame: &[u8]) -> bool {
    let n = frame.len();
    n >= 6 && frame[4..n - 2].iter().fold(0u8, |a, b| a.wrapping_add(*b)) == frame[n - 2]
}

/// Recomputes a long frame's checksum.
pub(crate) fn fix_checksum(frame: &mut [u8]) {
    let n = frame.len();
    if n >= 6 {
        frame[n - 2] = frame[4..n - 2].iter().fold(0u8, |a, b| a.wrapping_add(*b));
    }
}

/// Redacts the frames in `out.bytes`.
pub fn redact(out: &mut Redacted, faker: &Faker) {
    let frames = long_frames(&out.bytes);
    let ok: Vec<bool> = frames
        .iter()
        .map(|&(s, n)| checksum_ok(&out.bytes[s..s + n]))
        .collect();
    let mut ids: Vec<Vec<u8>> = Vec::new();
    for &(s, n) in &frames {
        let f = &out.bytes[s..s + n];
        // 68 L L 68 C A CI | ID(4) MAN(2) VER MED …
        if n >= 13 && matches!(f[6], 0x52 | 0x72 | 0x76) {
            let id = f[7..11].to_vec();
            if id != [0xFF; 4] && !ids.contains(&id) {
                ids.push(id);
            }
        }
    }
    for id in &ids {
        let fake = faker.bcd(id);
        for &(s, n) in &frames {
            let f = &mut out.bytes[s..s + n];
            if n >= 13 && matches!(f[6], 0x52 | 0x72 | 0x76) && &f[7..11] == id.as_slice() {
                f[7..11].copy_from_slice(&fake);
            }
        }
        // The id as printed digits (a user's log often shows it), too.
        let digits: String = id.iter().rev().map(|b| format!("{b:02X}")).collect();
        let fake_digits: String = fake.iter().rev().map(|b| format!("{b:02X}")).collect();
        replace_all(&mut out.bytes, digits.as_bytes(), fake_digits.as_bytes());
        out.count("identification number");
    }
    for (&(s, n), ok) in frames.iter().zip(ok) {
        if ok {
            fix_checksum(&mut out.bytes[s..s + n]);
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;

    fn rsp_ud(id: [u8; 4]) -> Vec<u8> {
        let mut f = vec![0x68, 0, 0, 0x68, 0x08, 0x05, 0x72];
        f.extend(id);
        f.extend([
            0x2D, 0x2C, 0x01, 0x02, 0x01, 0x00, 0x00, 0x00, 0x04, 0x03, 0x10, 0x27, 0, 0,
        ]);
        f.push(0);
        f.push(0x16);
        let l = (f.len() - 6) as u8;
        f[1] = l;
        f[2] = l;
        fix_checksum(&mut f);
        f
    }

    #[test]
    fn ids_in_selects_and_replies_get_one_fake_and_checksums_follow() {
        let id = [0x78, 0x56, 0x34, 0x12];
        let mut select = vec![0x68, 0x0B, 0x0B, 0x68, 0x53, 0xFD, 0x52];
        select.extend(id);
        select.extend([0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x16]);
        fix_checksum(&mut select);
        let mut bytes = select.clone();
        bytes.push(0xE5);
        bytes.extend(rsp_ud(id));
        let mut out = Redacted {
            bytes: bytes.clone(),
            ..Redacted::default()
        };
        redact(&mut out, &Faker);
        assert_eq!(out.bytes.len(), bytes.len());
        assert!(!out.bytes.windows(4).any(|w| w == id), "id gone");
        let frames = long_frames(&out.bytes);
        assert_eq!(frames.len(), 2);
        for (s, n) in frames {
            assert!(checksum_ok(&out.bytes[s..s + n]));
        }
        assert_eq!(
            out.bytes[7..11],
            out.bytes[select.len() + 1 + 7..select.len() + 1 + 11]
        );
    }
}
