//! Redacting DLMS/COSEM pushes (and the Luxembourg Smarty frame): the APDU is put together
//! from its transport (HDLC frames, IEC 62056-46; M-Bus long frames, EN 13757-2; or none),
//! its general-glo-ciphering decrypted with the user's key (Green Book 9.2.7), the plaintext
//! redacted — printable A-XDR strings with digits (meter numbers, logical device names, customer
//! numbers) and the system title wherever it appears, Smarty's DSMR text as P1 text — and
//! encrypted again with the profile's test key under a fake system title (the manufacturer's
//! three letters kept). Without the user's key only the system title can be replaced; the
//! ciphertext stays as captured. The APDU keeps its length, so it goes back into the same
//! frames, whose HDLC HCS/FCS or M-Bus checksum is recomputed where it was right.

use meterlab_decoder::crc::crc16_x25;
use meterlab_decoder::dlms::ciphering::GeneralGloCiphering;
use meterlab_decoder::{Keys, Protocol};
use meterlab_sim::dlms::ciphering::GeneralGloCipheringRepr;
use meterlab_sim::replay::frames;

use super::{mbus, replace_all, Faker, Redacted};

/// How a frame carries its piece of the APDU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Carrier {
    /// HDLC: HCS at `hcs` (if any), FCS at the end.
    Hdlc { hcs: Option<usize> },
    /// An M-Bus long frame.
    Mbus,
    /// No framing.
    Bare,
}

/// A frame and the part of it that is APDU.
#[derive(Clone, Debug)]
struct Piece {
    frame: std::ops::Range<usize>,
    data: std::ops::Range<usize>,
    carrier: Carrier,
    check_ok: bool,
    ends_push: bool,
}

/// The APDU bytes of the frame at `bytes[range]`.
fn piece(bytes: &[u8], range: std::ops::Range<usize>, ends_push: bool) -> Piece {
    let f = &bytes[range.clone()];
    let s = range.start;
    let bare = Piece {
        frame: range.clone(),
        data: range.clone(),
        carrier: Carrier::Bare,
        check_ok: false,
        ends_push,
    };
    // The frame may have unframed bytes before it: find its start.
    if let Some(k) = (0..f.len())
        .find(|&k| f[k] == 0x68 && f.get(k + 3) == Some(&0x68) && f.get(k + 1) == f.get(k + 2))
    {
        let n = f.len() - k;
        if n >= 11 && usize::from(f[k + 1]) + 6 == n && matches!(f[k + 4], 0x53 | 0x73) {
            return Piece {
                frame: s + k..range.end,
                data: s + k + 9..range.end - 2,
                carrier: Carrier::Mbus,
                check_ok: mbus::checksum_ok(&f[k..]),
                ends_push,
            };
        }
    }
    if let Some(k) =
        (0..f.len()).find(|&k| f[k] == 0x7E && f.get(k + 1).is_some_and(|b| b & 0xF0 == 0xA0))
    {
        let fr = &f[k..];
        let n = fr.len();
        // 7E F F | dest … (last byte odd) | src … | control | HCS | info | FCS | 7E
        let mut i = 3;
        for _ in 0..2 {
            while i < n && fr[i] & 1 == 0 {
                i += 1;
            }
            i += 1;
        }
        let control = i;
        let hcs = control + 1;
        if n >= 9 && hcs + 2 <= n - 3 {
            let info = hcs + 2;
            let fcs_ok = crc16_x25(&fr[1..n - 3]).to_le_bytes() == [fr[n - 3], fr[n - 2]];
            let hcs_ok = crc16_x25(&fr[1..hcs]).to_le_bytes() == [fr[hcs], fr[hcs + 1]];
            let llc = fr
                .get(info..info + 3)
                .is_some_and(|l| matches!(l, [0xE6, 0xE6 | 0xE7, 0x00]));
            let mut start = info + if llc { 3 } else { 0 };
            // A General Block Transfer block (Green Book 9.1.4.5): E0, block control, block
            // number, acknowledged block number, then the block's length; the APDU follows.
            if fr.get(start) == Some(&0xE0) {
                let len_at = start + 6;
                start = len_at
                    + match fr.get(len_at) {
                        Some(0x81) => 2,
                        Some(0x82) => 3,
                        _ => 1,
                    };
            }
            let start = start.min(n - 3);
            return Piece {
                frame: s + k..range.end,
                data: s + k + start..range.end - 3,
                carrier: Carrier::Hdlc {
                    hcs: Some(s + k + hcs),
                },
                check_ok: fcs_ok && hcs_ok,
                ends_push,
            };
        }
        return Piece {
            frame: s + k..range.end,
            ..bare
        };
    }
    bare
}

/// Printable A-XDR strings (`09`/`0A` len …) with at least four digits, from `from` on.
fn identity_strings(plain: &[u8]) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i + 2 < plain.len() {
        if matches!(plain[i], 0x09 | 0x0A) {
            let len = usize::from(plain[i + 1]);
            if let Some(s) = plain.get(i + 2..i + 2 + len) {
                if (6..=64).contains(&len)
                    && s.iter().all(|c| c.is_ascii_graphic() || *c == b' ')
                    && s.iter().filter(|c| c.is_ascii_digit()).count() >= 4
                {
                    out.push(i + 2..i + 2 + len);
                    i += 2 + len;
                    continue;
                }
            }
        }
        i += 1;
    }
    out
}

/// Redacts a plaintext APDU (or Smarty's DSMR text) in place.
fn redact_plain(plain: &mut Vec<u8>, faker: &Faker, out: &mut Redacted) {
    if plain.first() == Some(&b'/') {
        let mut inner = Redacted {
            bytes: std::mem::take(plain),
            ..Redacted::default()
        };
        super::dsmr::redact(&mut inner, faker);
        *plain = inner.bytes;
        for (k, n) in inner.replaced {
            *out.replaced.entry(k).or_default() += n;
        }
        return;
    }
    for r in identity_strings(plain) {
        let fake = faker.text(&plain[r.clone()]);
        let original = plain[r].to_vec();
        replace_all(plain, &original, &fake);
        out.count("meter number");
    }
}

/// Redacts `out.bytes`; `user` decrypts, `test` encrypts again.
pub fn redact(out: &mut Redacted, faker: &Faker, user: &Keys, test: &Keys) {
    let pieces: Vec<Piece> = frames(Protocol::Dlms, &out.bytes)
        .into_iter()
        .map(|f| piece(&out.bytes, f.range, f.ends_push))
        .collect();
    let mut titles: Vec<([u8; 8], [u8; 8])> = Vec::new();
    let mut group: Vec<&Piece> = Vec::new();
    let mut pushes: Vec<Vec<&Piece>> = Vec::new();
    for p in &pieces {
        group.push(p);
        if p.ends_push {
            pushes.push(std::mem::take(&mut group));
        }
    }
    if !group.is_empty() {
        pushes.push(group);
    }
    for push in pushes {
        let mut apdu: Vec<u8> = push
            .iter()
            .flat_map(|p| out.bytes[p.data.clone()].to_vec())
            .collect();
        let start = apdu
            .iter()
            .position(|&b| b == 0xDB || b == 0x0F)
            .unwrap_or(0);
        if apdu.get(start..start + 2) == Some(&[0xDB, 0x08]) {
            redact_ciphered(&mut apdu[start..], faker, user, test, out, &mut titles);
        } else {
            let mut plain = apdu[start..].to_vec();
            redact_plain(&mut plain, faker, out);
            apdu[start..].copy_from_slice(&plain);
        }
        let mut k = 0;
        for p in &push {
            let n = p.data.len();
            out.bytes[p.data.clone()].copy_from_slice(&apdu[k..k + n]);
            k += n;
        }
    }
    // A system title seen anywhere else (an HDLC address, a log line) goes too.
    for (title, fake) in &titles {
        replace_all(&mut out.bytes, title, fake);
    }
    for p in &pieces {
        if !p.check_ok {
            continue;
        }
        let f = &mut out.bytes[p.frame.clone()];
        let n = f.len();
        match p.carrier {
            Carrier::Mbus => mbus::fix_checksum(f),
            Carrier::Hdlc { hcs } => {
                if let Some(h) = hcs.map(|h| h - p.frame.start) {
                    let c = crc16_x25(&f[1..h]).to_le_bytes();
                    f[h..h + 2].copy_from_slice(&c);
                }
                let c = crc16_x25(&f[1..n - 3]).to_le_bytes();
                f[n - 3..n - 1].copy_from_slice(&c);
            }
            Carrier::Bare => {}
        }
    }
}

fn redact_ciphered(
    apdu: &mut [u8],
    faker: &Faker,
    user: &Keys,
    test: &Keys,
    out: &mut Redacted,
    titles: &mut Vec<([u8; 8], [u8; 8])>,
) {
    let Ok(glo) = GeneralGloCiphering::new_checked(&apdu[..]) else {
        out.notes
            .push("a ciphered APDU could not be parsed; left as captured".into());
        return;
    };
    let len = glo.frame_len().min(apdu.len());
    let Ok(title) = <[u8; 8]>::try_from(glo.system_title()) else {
        return;
    };
    let fake = match titles.iter().find(|(t, _)| *t == title) {
        Some((_, f)) => *f,
        None => {
            let mut f = title;
            f[3..].copy_from_slice(&faker.bytes(&title[3..]));
            titles.push((title, f));
            out.count("system title");
            f
        }
    };
    let sc = glo.security_control().0;
    let ic = glo.invocation_counter();
    let plain = if user.encryption.is_some() {
        glo.decrypt(user).ok()
    } else {
        None
    };
    let Some(mut plain) = plain else {
        apdu[2..10].copy_from_slice(&fake);
        let why = if user.encryption.is_some() {
            "the key given does not decrypt the capture"
        } else {
            "no key given"
        };
        if !out.notes.iter().any(|n| n.starts_with(why)) {
            out.notes.push(format!(
                "{why}: only the system title is replaced, the ciphertext is kept as captured"
            ));
        }
        return;
    };
    redact_plain(&mut plain, faker, out);
    for (t, f) in titles.iter() {
        replace_all(&mut plain, t, f);
    }
    let Some(key) = test.encryption.as_ref() else {
        apdu[2..10].copy_from_slice(&fake);
        out.notes
            .push("the profile has no test key: ciphertext kept".into());
        return;
    };
    let auth = test.authentication.as_ref().or(Some(key));
    let repr = GeneralGloCipheringRepr {
        system_title: fake,
        security_control: sc,
        invocation_counter: ic,
    };
    match repr.encrypt(&plain, key, auth) {
        Ok(new) if new.len() == len => {
            apdu[..len].copy_from_slice(&new);
            out.reencrypted += 1;
        }
        _ => {
            apdu[2..10].copy_from_slice(&fake);
            out.notes
                .push("re-encryption changed the length: ciphertext kept as captured".into());
        }
    }
}
