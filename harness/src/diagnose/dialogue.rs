//! The reader's own requests inside a capture of what it received: an optical head or level
//! converter that echoes what the reader sends (IEC 62056-21 heads are half duplex), or a log
//! that mixes both directions. Requests recognised: IEC 62056-21 sign-on `/?…!CR LF`, option
//! select `ACK V Z Y CR LF`, programming commands `SOH C D STX … ETX BCC` and break `SOH B0 ETX`
//! (IEC 62056-21 §6.3); M-Bus short frames `10 C A CS 16` of a master (EN 13757-2 §5).

/// A request found in the capture, `start..end`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
    /// Whether the same request follows at once (the reader's log and its echo) or line noise
    /// comes before it (an optical head waking up): signs of an echo.
    pub echo_like: bool,
    /// An IEC 62056-21 sign-on `/?…!`: unmistakable on its own (an M-Bus short frame is five
    /// bytes that noise can make).
    pub sign_on: bool,
}

/// The requests of a reader in `bytes`.
pub fn requests(bytes: &[u8]) -> Vec<Request> {
    let mut out: Vec<Request> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if let Some(len) = request_at(&bytes[i..]) {
            let this = &bytes[i..i + len];
            let repeated = bytes.get(i + len..i + 2 * len) == Some(this)
                || out
                    .last()
                    .is_some_and(|r| r.end == i && bytes[r.start..r.end] == *this);
            let noise_before = i > 0 && matches!(bytes[i - 1], 0x7F | 0xFF | 0x00);
            out.push(Request {
                start: i,
                end: i + len,
                echo_like: repeated || noise_before,
                sign_on: this.starts_with(b"/?"),
            });
            i += len;
        } else {
            i += 1;
        }
    }
    out
}

fn request_at(d: &[u8]) -> Option<usize> {
    match *d {
        [b'/', b'?', ..] => {
            let end = d.iter().take(40).position(|&b| b == b'!')?;
            (d.get(end + 1..end + 3) == Some(b"\r\n")).then_some(end + 3)
        }
        [0x06, v, z, y, b'\r', b'\n', ..]
            if v.is_ascii_digit() && z.is_ascii_digit() && y.is_ascii_digit() =>
        {
            Some(6)
        }
        [0x01, b'B', b'0', 0x03, ..] => Some(5.min(d.len())),
        [0x01, c, n, 0x02, ..] if matches!(c, b'P' | b'R' | b'W' | b'E') && n.is_ascii_digit() => {
            let etx = d.iter().take(128).position(|&b| b == 0x03)?;
            (etx + 2 <= d.len()).then_some(etx + 2)
        }
        [0x10, c, a, cs, 0x16, ..] if c.wrapping_add(a) == cs && c & 0x40 != 0 && c & 0x80 == 0 => {
            Some(5)
        }
        _ => None,
    }
}

/// `bytes` without the requests: what the meter sent.
pub fn meter_side(bytes: &[u8], requests: &[Request]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    for r in requests {
        out.extend_from_slice(&bytes[at..r.start]);
        at = r.end;
    }
    out.extend_from_slice(&bytes[at..]);
    out
}
