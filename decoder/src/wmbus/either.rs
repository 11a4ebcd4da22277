//! An M-Bus capture that may be wired (EN 13757-2 frames, [`MbusDecoder`]) or wireless (what a
//! receiver stick delivers, [`WmbusDecoder`]): [`MbusEitherDecoder`] holds the first bytes
//! until it can tell which, then hands the stream to that decoder. Wired when the capture
//! starts with a wired frame, wireless when it starts with a complete wireless message
//! ([`super::dongle::detect`]); with neither, the first position where one of them starts decides, and a
//! capture with neither is wired (whose decoder reports its bytes as skipped).

use super::dongle;
use super::stream::WmbusDecoder;
use crate::keys::Keys;
use crate::mbus::MbusDecoder;
use crate::reading::Message;
use crate::stream::StreamDecoder;

/// Bytes held before the decision is made on what is there: more than the longest first
/// message of any framing (a CUL line is looked at up to [`dongle::MAX_LINE`] bytes), and the
/// decision looks at no more, so it does not depend on how the stream is chunked.
const HOLD: usize = dongle::MAX_LINE + 64;

enum Inner {
    Undecided,
    Wired(MbusDecoder),
    Wireless(Box<WmbusDecoder>),
}

/// The decoder of a wired or wireless M-Bus capture.
pub struct MbusEitherDecoder {
    keys: Keys,
    inner: Inner,
    held: Vec<u8>,
}

impl std::fmt::Debug for MbusEitherDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match self.inner {
            Inner::Undecided => "undecided",
            Inner::Wired(_) => "wired",
            Inner::Wireless(_) => "wireless",
        };
        f.debug_struct("MbusEitherDecoder")
            .field("state", &state)
            .finish()
    }
}

/// A wired frame start: `68 L L 68`, a short frame with its checksum, `E5` before another
/// frame or alone (`at_end`: `b` is all there is; a lone `E5` may be followed by anything).
fn wired_start(b: &[u8], at_end: bool) -> bool {
    matches!(*b, [0x68, l1, l2, 0x68, ..] if l1 == l2)
        || matches!(*b, [0x10, c, a, cs, 0x16, ..] if c.wrapping_add(a) == cs)
        || matches!(*b, [0xE5, 0x10 | 0x68 | 0xE5, ..])
        || (at_end && b == [0xE5])
}

/// Whether the capture is wireless; `None` while undecided.
fn classify(b: &[u8], at_end: bool) -> Option<bool> {
    // Only the first HOLD bytes count, and a message they only begin is not taken, so the
    // decision does not depend on how the stream is chunked.
    // A wired frame start is looked at first: it shows in the first 2 to 5 bytes, before any
    // wireless message can be complete, so a stream that begins with both (a bare wireless
    // frame whose L is 0x68, say) is told the same whatever its chunks.
    let b = &b[..b.len().min(HOLD)];
    if wired_start(b, at_end) {
        return Some(false);
    }
    if dongle::detect(b, true, true, at_end) {
        return Some(true);
    }
    if !at_end && b.len() < HOLD {
        return None;
    }
    (1..b.len())
        .find_map(|i| {
            let rest = &b[i..];
            if dongle::detect(rest, false, matches!(b[i - 1], b'\n' | b'\r'), at_end) {
                Some(true)
            } else if wired_start(rest, at_end) {
                Some(false)
            } else {
                None
            }
        })
        .or(Some(false))
}

impl MbusEitherDecoder {
    /// A decoder at the start of a stream; `keys.encryption` is the wireless meters' key.
    pub fn new(keys: Keys) -> Self {
        MbusEitherDecoder {
            keys,
            inner: Inner::Undecided,
            held: Vec::new(),
        }
    }

    fn decide(&mut self, at_end: bool) {
        if !matches!(self.inner, Inner::Undecided) {
            return;
        }
        if let Some(wireless) = classify(&self.held, at_end) {
            self.inner = if wireless {
                Inner::Wireless(Box::new(WmbusDecoder::new(self.keys.clone())))
            } else {
                Inner::Wired(MbusDecoder::new())
            };
        }
    }

    fn decoder(&mut self) -> Option<&mut dyn StreamDecoder> {
        match &mut self.inner {
            Inner::Undecided => None,
            Inner::Wired(d) => Some(d),
            Inner::Wireless(d) => Some(d.as_mut()),
        }
    }
}

impl StreamDecoder for MbusEitherDecoder {
    fn feed(&mut self, bytes: &[u8], out: &mut Vec<Message>) {
        if let Some(d) = self.decoder() {
            d.feed(bytes, out);
            return;
        }
        self.held.extend_from_slice(bytes);
        self.decide(false);
        let held = std::mem::take(&mut self.held);
        match self.decoder() {
            Some(d) => d.feed(&held, out),
            None => self.held = held,
        }
    }

    fn finish(&mut self, out: &mut Vec<Message>) {
        self.decide(true);
        let held = std::mem::take(&mut self.held);
        if let Some(d) = self.decoder() {
            d.feed(&held, out);
            d.finish(out);
        }
        // The next stream is told afresh.
        self.inner = Inner::Undecided;
    }
}

#[cfg(test)]
mod test {
    use super::*;

    fn messages(chunks: &[&[u8]]) -> Vec<Message> {
        let mut d = MbusEitherDecoder::new(Keys::default());
        let mut out = Vec::new();
        for c in chunks {
            d.feed(c, &mut out);
        }
        d.finish(&mut out);
        out
    }

    /// Found by the `auto` fuzz target: `TMODE` (the start of a culfw reply line) before a cut
    /// wired frame was taken for a CUL line when the bytes came one at a time, and for junk
    /// before a wired frame when they came at once.
    #[test]
    fn the_decision_does_not_depend_on_the_chunking() {
        let cases: [&[u8]; 3] = [
            b"TMODEh))h\x08\xfdrD\"u\x92$#)\x1f\x00\x00\x00\x0c\x13'\x04\x85\x02\x0b;'\x01\x00L\x13\x19TD\x01Bl\x0b\x0c\x00\x02\x02\xff\x00\x99\x16",
            b"TMODE\r\n",
            b"\xe5A",
        ];
        let found = include_bytes!("../../../fuzz/regressions/auto/wired-start-and-bare-frame");
        for bytes in cases.into_iter().chain([&found[..]]) {
            let whole = messages(&[bytes]);
            let singles: Vec<&[u8]> = bytes.chunks(1).collect();
            assert_eq!(messages(&singles), whole, "{bytes:?}");
        }
    }
}
