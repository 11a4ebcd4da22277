//! Recovering what a meter sent through an inverted signal (a DSMR P1 port read without the
//! inverter), for 10-bit characters (8N1, or 7E1 read as 8N1) of a text protocol.
//!
//! Seen by a receiver with normal polarity, the meter's idle line is a break, its start bit is a
//! mark and its stop bit a space. Once the receiver takes a meter's stop bit for its start bit
//! (the stop bit is always a space, so this alignment is stable), it reads the next character's
//! start bit and data bits 0–6: the byte it delivers is `1 | !d0..!d6 << 1`, and the meter's byte
//! is `!(r >> 1) & 0x7F` (bit 7 is 0 in text, or the parity bit of 7E1). At the start of every
//! message (after the idle break) the receiver is not aligned yet and starts at the first data bit
//! that is a 1, so the first few bytes come out differently; they are found by searching the
//! meter bytes whose characters, through an ideal receiver (one sample per bit, in the middle),
//! give exactly the bytes received, until the alignment is reached. Bits the receiver never
//! sampled (its stop samples, the line between its characters) can make several starts fit; the
//! caller's check (a CRC) picks one, and the search keeps a bounded number of them, so a start
//! is not always found: then the message's first bytes stay undone.

use std::collections::HashMap;

/// The meter's byte for a byte received in the stable alignment.
pub fn aligned(r: u8) -> u8 {
    !(r >> 1) & 0x7F
}

/// Whether the capture looks inverted: most bytes are odd (bit 0 is the meter's start bit).
pub fn looks_inverted(bytes: &[u8]) -> bool {
    let odd = bytes.iter().filter(|&&b| b & 1 == 1).count();
    bytes.len() >= 16 && odd * 10 >= bytes.len() * 8
}

/// The receiver-side levels (1 = mark for the receiver) of a meter character `byte` sent
/// inverted: start bit, 7 data bits, bit 8 (0 for text, or the even parity of 7E1), stop bit.
fn slots(byte: u8, parity: bool, out: &mut Vec<u8>) {
    let bit8 = if parity {
        (byte.count_ones() % 2) as u8
    } else {
        0
    };
    out.push(1);
    for i in 0..7 {
        out.push(1 - ((byte >> i) & 1));
    }
    out.push(1 - bit8);
    out.push(0);
}

/// An ideal receiver (8N1, one sample per bit) over levels `r` (after two idle slots): the
/// complete characters and, for each, the slot its start bit is at.
fn receive(r: &[u8]) -> Vec<(usize, u8)> {
    let mut out = Vec::new();
    let mut hunt = 1;
    while let Some(t) = (hunt.max(1)..r.len()).find(|&t| r[t - 1] == 1 && r[t] == 0) {
        if t + 9 >= r.len() {
            break;
        }
        let byte = (0..8).fold(0u8, |acc, i| acc | (r[t + 1 + i] << i));
        out.push((t, byte));
        hunt = t + 10;
    }
    out
}

/// Whether `start` followed by the aligned bytes of `target[used..]` gives `target` through the
/// ideal receiver (every complete character but the last, which depends on what follows).
fn explains(target: &[u8], start: &[u8], used: usize, parity: bool) -> bool {
    let mut r = vec![0, 0];
    let rest: Vec<u8> = target[used..].iter().map(|&t| aligned(t)).collect();
    if !rest.iter().all(|c| TEXT.contains(c)) {
        // Not aligned yet: the bytes taken as aligned are not text.
        return false;
    }
    for &b in start.iter().chain(&rest) {
        slots(b, parity, &mut r);
    }
    slots(0, parity, &mut r);
    let got: Vec<u8> = receive(&r).into_iter().map(|(_, b)| b).collect();
    let n = target.len().saturating_sub(1);
    got.len() >= n && got[..n] == target[..n]
}

/// Different message starts searched per capture.
const MAX_SEARCHES: usize = 32;

/// Prefixes kept per search level.
const BEAM: usize = 512;

/// The meter bytes at the start of a message whose received bytes are `target` (after the
/// break), up to the stable alignment: the bytes and how many received bytes they explain.
/// `None` if no text bytes explain them. A breadth-first search over meter bytes, keeping the
/// prefixes whose complete characters match `target`.
fn message_start(target: &[u8], parity: bool) -> Vec<(Vec<u8>, usize)> {
    let mut level: Vec<Vec<u8>> = vec![Vec::new()];
    let mut found = Vec::new();
    for _ in 0..14 {
        let mut next = Vec::new();
        for prefix in &level {
            for &c in TEXT.iter() {
                let mut bytes = prefix.clone();
                bytes.push(c);
                let mut r = vec![0, 0];
                for &b in &bytes {
                    slots(b, parity, &mut r);
                }
                let got = receive(&r);
                let consistent =
                    got.len() <= target.len() && got.iter().zip(target).all(|((_, g), t)| g == t);
                if !consistent {
                    continue;
                }
                // Aligned: the last complete character started at a meter stop bit (slot 9 of
                // frame f; frames start at slot 2) and read frame f + 1, the last byte here.
                if let Some(&(t, _)) = got.last() {
                    if (t - 2) % 10 == 9 && (t - 2) / 10 + 2 == bytes.len() {
                        let start = &bytes[..bytes.len() - 1];
                        let used = got.len() - 1;
                        if explains(target, start, used, parity) && found.len() < 64 {
                            found.push((start.to_vec(), used));
                        }
                    }
                }
                if next.len() < BEAM {
                    next.push(bytes);
                }
            }
        }
        if next.is_empty() {
            break;
        }
        level = next;
    }
    found
}

/// Bytes a text protocol sends, most likely first (the search keeps the first prefixes when
/// there are too many): capital letters and digits (identification lines), small letters,
/// other printable ASCII, CR, LF, the IEC 62056-21 control characters (SOH, STX, ETX, ACK, NAK).
const TEXT: [u8; 102] = {
    let mut t = [0u8; 102];
    let mut n = 0;
    let mut pass = 0;
    while pass < 3 {
        let mut c = 0x20u8;
        while c < 0x7F {
            let class = if c.is_ascii_uppercase() || c.is_ascii_digit() {
                0
            } else if c.is_ascii_lowercase() {
                1
            } else {
                2
            };
            if class == pass {
                t[n] = c;
                n += 1;
            }
            c += 1;
        }
        pass += 1;
    }
    let controls = [b'\r', b'\n', 0x01, 0x02, 0x03, 0x06, 0x15];
    let mut j = 0;
    while j < controls.len() {
        t[n + j] = controls[j];
        j += 1;
    }
    t
};

/// What the meter sent, reconstructed from `received` (read at 8N1 through an inverted signal,
/// meter at the same rate with 10-bit characters; `parity`: the meter sends 7E1). Messages are
/// separated by the idle line's break (a `00` byte).
///
/// Where several meter byte sequences explain a message's start (bits the receiver never
/// sampled), the first for which `accept` holds on the whole message is taken (the caller checks
/// a CRC), else the first.
pub fn recover(received: &[u8], parity: bool, accept: impl Fn(&[u8]) -> bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(received.len());
    // Messages of a meter start alike (the same header): each start is searched once, and at
    // most `MAX_SEARCHES` different ones (a long capture of garbage stays fast).
    let mut searched: HashMap<&[u8], Vec<(Vec<u8>, usize)>> = HashMap::new();
    let mut chosen: HashMap<&[u8], usize> = HashMap::new();
    for message in received.split(|&b| b == 0x00) {
        if message.is_empty() {
            continue;
        }
        let head = &message[..message.len().min(20)];
        let tail = |used: usize| message[used..].iter().map(|&r| aligned(r));
        let starts = match searched.get(head) {
            Some(s) => s.clone(),
            None if searched.len() < MAX_SEARCHES => {
                let s = message_start(head, parity);
                searched.insert(head, s.clone());
                s
            }
            None => Vec::new(),
        };
        let candidates: Vec<Vec<u8>> = starts
            .into_iter()
            .map(|(start, used)| start.into_iter().chain(tail(used)).collect())
            .collect();
        // The start accepted for the previous message with this head is tried first.
        let first = chosen.get(head).copied().unwrap_or(0);
        let order = std::iter::once(first).chain((0..candidates.len()).filter(|&i| i != first));
        let pick = order
            .filter(|&i| i < candidates.len())
            .find(|&i| accept(&candidates[i]));
        if let Some(i) = pick {
            chosen.insert(head, i);
        }
        match pick.or((!candidates.is_empty()).then_some(0)) {
            Some(i) => out.extend_from_slice(&candidates[i]),
            None => out.extend(tail(0)),
        }
    }
    out
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn the_ideal_receiver_reads_an_inverted_slash_as_68() {
        let mut r = vec![0, 0];
        slots(b'/', false, &mut r);
        slots(b'I', false, &mut r);
        assert_eq!(receive(&r)[0].1, 0x68);
    }

    #[test]
    fn a_message_start_is_found_again() {
        let text = b"/ISK5\\2M550T-1012\r\n\r\n1-3:0.2.8(50)\r\n";
        let mut r = vec![0, 0];
        for &b in text {
            slots(b, false, &mut r);
        }
        let received: Vec<u8> = receive(&r).into_iter().map(|(_, b)| b).collect();
        let back = recover(&received, false, |m| m.starts_with(b"/ISK5\\2M5"));
        assert!(
            text.starts_with(&back),
            "{:?}",
            String::from_utf8_lossy(&back)
        );
        assert!(back.len() + 2 >= text.len());
    }
}
