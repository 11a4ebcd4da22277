//! Finding IEC 62056-21 messages in a captured byte stream (IEC 62056-21:2002 §6.3 message
//! formats, §6.4.4 mode D, §6.5.1 readout syntax).
//!
//! A capture holds what the reader received: in modes A, B, C and E a dialogue (the meter's
//! identification and data message, often with the reader's own request and option select
//! echoed by the optical head), in mode D one push after another; some tools store only the
//! data lines. [`IecDecoder`] takes, in stream order:
//!
//! - a **block** from SOH or STX through the first ETX or EOT and the BCC after it. A data
//!   message (STX … `!` … ETX) is a reading; a BCC that does not match is `bcc_mismatch`.
//!   Programming commands and replies (and the break) with a matching BCC are dialogue, not
//!   readings, and are passed over;
//! - a **push**: an identification line followed (after CR LF, optionally a blank line) by a
//!   data line, through the `!` and its CR LF;
//! - **data lines** without identification or STX, through the `!`, when the stream is clean
//!   up to them (at its start, or after a message), and the first address is an EDIS or OBIS
//!   address. After bytes that belong to no message they are not trusted: a reader that
//!   attached in the middle of a push would otherwise read its tail as a whole readout;
//! - a request, an identification followed by anything else, an option select, a lone ACK or
//!   NAK: dialogue, passed over without a report (a lone ACK/NAK only outside junk).
//!
//! Everything else is reported as `skipped_bytes`, one message per span, with a guess at why
//! (line noise, a 7E1 meter read as 8N1, wrong line settings, a lost start). Data lines whose
//! `!` is followed by ETX lost their STX: they are skipped, never read unchecked. A `/` that
//! starts a request or identification, an SOH that starts a command, or (in data lines) an STX
//! cuts the message before it off (`truncated`); an STX inside a block does not (see
//! `block_end`). No end within [`MAX_MESSAGE_LEN`] bytes is `too_long`.
//!
//! Every decision waits until the bytes that decide it have arrived, so the messages do not
//! depend on how the stream is cut into pieces.

use crate::reading::Message;
use crate::resync::{Framer, Resync, Skipped, SkippedSpan, TextDiagnosis};

use super::bcc::{EOT, ETX, SOH, STX};
use super::dataset::Address;
use super::message::{
    AckOptionSelect, Identification, ACK, CR, LF, MAX_DEVICE_ADDRESS_LEN, MAX_IDENT_LEN, NAK,
};
use super::{
    decode_block, decode_data_lines, decode_push, is_block_start, ErrorKind, MAX_MESSAGE_LEN,
};

/// The streaming IEC 62056-21 decoder.
///
/// ```
/// use meterlab_decoder::{IecDecoder, StreamDecoder};
///
/// // After the Iskra ME162 dialogue (wdoekes/pe32me162ir_pub), abridged: request echo,
/// // identification, option select echo, a readout of two lines (BCC 0x0C), the break.
/// let stream = b"/?!\r\n/ISK5ME162-0033\r\n\x06050\r\n\x02C.1.0(28342193)\r\n1.8.0(0033402.264*kWh)\r\n!\r\n\x03\x0c\x01B0\x03q";
/// let messages = IecDecoder::new().decode_all(stream);
/// assert_eq!(messages.len(), 1);
/// let reading = messages[0].reading().expect("a reading");
/// assert_eq!(reading.meter_id.as_deref(), Some("28342193"));
/// assert_eq!(reading.values[1].id, "1-0:1.8.0*255");
/// ```
pub type IecDecoder = Resync<IecFramer>;

/// The IEC 62056-21 framing behind [`IecDecoder`].
#[derive(Debug)]
pub struct IecFramer {
    state: State,
    /// The span of skipped bytes being collected, reported when the next message starts.
    skipped: Skipped,
    /// The last identification passed over, for the meter id of the data message after it.
    identification: Option<Identification>,
    /// The address of the last programming-mode read command, for the reply after it.
    read: Option<String>,
    /// Whether any message came out of this stream.
    said_something: bool,
    /// How many bytes of the stream were decided.
    seen: u64,
}

/// Where the decoder is. Positions count from the start of the current message.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum State {
    /// Outside any message, looking for a start.
    #[default]
    Scan,
    /// In a SOH/STX block; the first `searched` bytes hold no ETX/EOT and no new start.
    Block { searched: usize },
    /// In a push (`push`) or bare data lines; the first `searched` bytes hold no `!` and no new
    /// start.
    Lines { push: bool, searched: usize },
}

/// The answer to a question about bytes that may not all have arrived.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tri<T> {
    Yes(T),
    No,
    Need,
}

impl IecDecoder {
    /// A decoder at the start of a stream.
    pub fn new() -> Self {
        IecDecoder::default()
    }
}

impl Default for IecFramer {
    fn default() -> Self {
        IecFramer {
            state: State::Scan,
            skipped: Skipped::new(describe_skipped),
            identification: None,
            read: None,
            said_something: false,
            seen: 0,
        }
    }
}

impl Framer for IecFramer {
    /// Decodes as much of `data` as can be decided, returning how many bytes are consumed; the
    /// rest begins a later call's data.
    fn process(&mut self, data: &[u8], base: u64, eof: bool, out: &mut Vec<Message>) -> usize {
        let before = out.len();
        let consumed = self.decide(data, base, eof, out);
        self.said_something |= out.len() > before;
        self.seen = self.seen.max(base + consumed as u64);
        consumed
    }

    fn finish(&mut self, out: &mut Vec<Message>) {
        self.skipped.flush(out);
        if !self.said_something && out.is_empty() && self.seen > 0 {
            out.push(ErrorKind::NoData.error(
                format!(
                    "the capture's {} bytes hold only dialogue (request, identification, option select, programming commands, acknowledgements) and no data message, push or reply",
                    self.seen
                ),
                Some(0),
            ));
        }
        self.state = State::Scan;
        self.identification = None;
        self.read = None;
    }
}

impl IecFramer {
    /// [`Framer::process`] without the bookkeeping for [`ErrorKind::NoData`].
    fn decide(&mut self, data: &[u8], base: u64, eof: bool, out: &mut Vec<Message>) -> usize {
        let mut pos = 0;
        loop {
            let offset = base + pos as u64;
            let unit = &data[pos..];
            match self.state {
                State::Scan => match self.scan(data, base, pos, eof, out) {
                    Scan::Start(start) => pos = start,
                    Scan::Wait(at) => return at,
                    Scan::Done => return data.len(),
                },
                State::Block { searched } => match block_end(unit, searched, eof) {
                    End::Complete(len) => {
                        // The identification before a data message is its own; commands leave it.
                        let identification = if unit[0] == STX {
                            self.identification.take()
                        } else {
                            None
                        };
                        out.extend(decode_block(
                            &unit[..len],
                            identification.as_ref(),
                            Some(offset),
                            &mut self.read,
                        ));
                        pos += len;
                        self.state = State::Scan;
                    }
                    End::Wait(searched) => {
                        self.state = State::Block { searched };
                        return pos;
                    }
                    end => {
                        let what = if unit[0] == SOH {
                            "command"
                        } else {
                            "data block"
                        };
                        match self.cut_off(end, what, "its ETX and BCC", unit.len(), offset, out) {
                            Some(skip) => pos += skip,
                            None => return data.len(),
                        }
                    }
                },
                State::Lines { push, searched } => match lines_end(unit, searched, eof) {
                    End::Complete(len) => {
                        self.identification = None;
                        out.extend(if push {
                            decode_push(&unit[..len], Some(offset))
                        } else {
                            decode_data_lines(&unit[..len], Some(offset))
                        });
                        pos += len;
                        self.state = State::Scan;
                    }
                    End::LostStart(len) => {
                        self.identification = None;
                        let count = unit[..len].iter().filter(|&&b| b != CR && b != LF).count();
                        out.push(ErrorKind::SkippedBytes.error(
                            format!(
                                "skipped {count} bytes: data lines and '!' followed by ETX without an STX before them; the start of a data message was lost, so its block check cannot be verified"
                            ),
                            Some(offset),
                        ));
                        pos += len;
                        self.state = State::Scan;
                    }
                    End::DsmrCrc(len) => {
                        self.identification = None;
                        let crc: String = unit[..len]
                            .iter()
                            .skip_while(|&&b| b != b'!')
                            .skip(1)
                            .take_while(|b| b.is_ascii_hexdigit())
                            .map(|&b| char::from(b))
                            .collect();
                        out.push(ErrorKind::Malformed.error(
                            format!(
                                "a DSMR telegram (its '!' is followed by the CRC {crc}), not an IEC 62056-21 push, whose '!' ends in CR LF: decode it as DSMR, where its CRC is checked"
                            ),
                            Some(offset),
                        ));
                        pos += len;
                        self.state = State::Scan;
                    }
                    End::Wait(searched) => {
                        self.state = State::Lines { push, searched };
                        return pos;
                    }
                    end => {
                        let what = if push { "push" } else { "data lines" };
                        match self.cut_off(end, what, "its '!'", unit.len(), offset, out) {
                            Some(skip) => pos += skip,
                            None => return data.len(),
                        }
                    }
                },
            }
        }
    }

    /// Reports a message that ended before its end: cut off by a new start, too long, or at the
    /// end of the stream. Returns how many bytes to pass over, `None` at the end of the stream.
    fn cut_off(
        &mut self,
        end: End,
        what: &str,
        missing: &str,
        available: usize,
        offset: u64,
        out: &mut Vec<Message>,
    ) -> Option<usize> {
        self.state = State::Scan;
        self.identification = None;
        match end {
            End::NewStart(at) => {
                out.push(ErrorKind::Truncated.error(
                    format!(
                        "{what} cut off after {at} bytes: a new message starts at offset {}",
                        offset + at as u64
                    ),
                    Some(offset),
                ));
                // The scan finds the start at `at` again and takes it.
                Some(at)
            }
            End::TooLong => {
                out.push(ErrorKind::TooLong.error(
                    format!(
                        "no end of the {what} within {MAX_MESSAGE_LEN} bytes of its start; resynchronising"
                    ),
                    Some(offset),
                ));
                Some(MAX_MESSAGE_LEN)
            }
            _ => {
                out.push(ErrorKind::Truncated.error(
                    format!("stream ended {available} bytes into a {what}, before {missing}"),
                    Some(offset),
                ));
                None
            }
        }
    }

    /// Scans `data[from..]` (`data[0]` at stream offset `base`) for a message start, passing
    /// over dialogue messages and adding what belongs to nothing to the skipped span.
    fn scan(
        &mut self,
        data: &[u8],
        base: u64,
        from: usize,
        eof: bool,
        out: &mut Vec<Message>,
    ) -> Scan {
        let mut i = from;
        while let Some(&b) = data.get(i) {
            let rest = &data[i..];
            let clean = self.skipped.is_empty();
            match b {
                CR | LF => {
                    i += 1;
                    continue;
                }
                b'/' => match slash(rest, eof) {
                    Tri::Need => return Scan::Wait(i),
                    Tri::Yes(Slash::Request(len)) => {
                        self.skipped.flush(out);
                        self.identification = None;
                        i += len;
                        continue;
                    }
                    Tri::Yes(Slash::Identification(line_end, identification)) => {
                        self.skipped.flush(out);
                        self.identification = Some(identification);
                        i += line_end;
                        continue;
                    }
                    Tri::Yes(Slash::Push(first_line)) => {
                        self.skipped.flush(out);
                        self.state = State::Lines {
                            push: true,
                            searched: first_line,
                        };
                        return Scan::Start(i);
                    }
                    Tri::No => {}
                },
                SOH | STX => match starts_block(rest, eof) {
                    Tri::Need => return Scan::Wait(i),
                    Tri::Yes(()) => {
                        self.skipped.flush(out);
                        self.state = State::Block { searched: 1 };
                        return Scan::Start(i);
                    }
                    Tri::No => {}
                },
                ACK => match option_select(rest, eof) {
                    Tri::Need => return Scan::Wait(i),
                    Tri::Yes(len) => {
                        self.skipped.flush(out);
                        i += len;
                        continue;
                    }
                    Tri::No if clean => {
                        i += 1;
                        continue;
                    }
                    Tri::No => {}
                },
                NAK if clean => {
                    i += 1;
                    continue;
                }
                _ if clean => match data_line_start(rest, eof, true) {
                    Tri::Need => return Scan::Wait(i),
                    Tri::Yes(()) => {
                        self.state = State::Lines {
                            push: false,
                            searched: 0,
                        };
                        return Scan::Start(i);
                    }
                    Tri::No => {}
                },
                _ => {}
            }
            self.skipped.add(base + i as u64, b);
            i += 1;
        }
        Scan::Done
    }
}

/// What a scan for a start found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scan {
    /// A message starts at this position; the state is set.
    Start(usize),
    /// A start candidate at this position needs more bytes.
    Wait(usize),
    /// All bytes are consumed.
    Done,
}

/// What starts with `/`.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Slash {
    /// A request of this length (through `!`).
    Request(usize),
    /// An identification line ending (CR or LF) at this position, not followed by data.
    Identification(usize, Identification),
    /// A push whose first data line is at this position.
    Push(usize),
}

/// Classifies bytes starting with `/`: a request `/?address!`, an identification line, or the
/// identification of a push; `No` if none of these.
fn slash(rest: &[u8], eof: bool) -> Tri<Slash> {
    let need = if eof { Tri::No } else { Tri::Need };
    match rest.get(1) {
        None => need,
        Some(b'?') => {
            for j in 2..=2 + MAX_DEVICE_ADDRESS_LEN {
                match rest.get(j) {
                    None => return need,
                    Some(b'!') => return Tri::Yes(Slash::Request(j + 1)),
                    Some(c) if c.is_ascii_alphanumeric() || *c == b' ' => {}
                    Some(_) => return Tri::No,
                }
            }
            Tri::No
        }
        Some(_) => {
            for j in 1..4 {
                match rest.get(j) {
                    None => return need,
                    Some(c) if c.is_ascii_alphabetic() => {}
                    Some(_) => return Tri::No,
                }
            }
            let mut line_end = None;
            for j in 4..=7 + MAX_IDENT_LEN {
                match rest.get(j) {
                    None => return need,
                    Some(&(CR | LF)) => {
                        line_end = Some(j);
                        break;
                    }
                    Some(&b) if (0x20..=0x7E).contains(&b) && b != b'/' && b != b'!' => {}
                    Some(_) => return Tri::No,
                }
            }
            let Some(line_end) = line_end else {
                return Tri::No;
            };
            let Ok(identification) = Identification::parse_line(&rest[..line_end]) else {
                return Tri::No;
            };
            // A push if a data line follows the line ending (and a blank line). A bare "!" does
            // not make one: a push without data sets is too weak a pattern (one byte in a
            // dialogue would turn its identification into an empty reading).
            let Some(first) = (line_end..line_end + 5)
                .find(|&k| rest.get(k).map_or(true, |&b| b != CR && b != LF))
            else {
                return Tri::Yes(Slash::Identification(line_end, identification));
            };
            let data = match rest.get(first) {
                None if eof => Tri::No,
                None => Tri::Need,
                Some(_) => data_line_start(&rest[first..], eof, false),
            };
            match data {
                Tri::Yes(()) => Tri::Yes(Slash::Push(first)),
                Tri::Need => Tri::Need,
                Tri::No => Tri::Yes(Slash::Identification(line_end, identification)),
            }
        }
    }
}

/// An option select `ACK V Z Y CR LF` at the start of `rest`: its length, or `No` for a lone
/// ACK.
fn option_select(rest: &[u8], eof: bool) -> Tri<usize> {
    const LEN: usize = 6;
    let fits = |i: usize, b: u8| match i {
        1..=3 => (0x20..=0x7E).contains(&b),
        4 => b == CR,
        _ => b == LF,
    };
    if rest[1..rest.len().min(LEN)]
        .iter()
        .enumerate()
        .any(|(i, &b)| !fits(i + 1, b))
    {
        return Tri::No;
    }
    if rest.len() < LEN {
        return if eof { Tri::No } else { Tri::Need };
    }
    match AckOptionSelect::parse(&rest[..LEN]) {
        Ok(_) => Tri::Yes(LEN),
        Err(_) => Tri::No,
    }
}

/// Whether a data line starts at `rest`: address characters (no blanks, parentheses, `/`, `!`)
/// up to a `(`. With `strict`, the address must also be an EDIS or OBIS address.
fn data_line_start(rest: &[u8], eof: bool, strict: bool) -> Tri<()> {
    const MAX_ADDRESS_SCAN: usize = 32;
    for j in 0..=MAX_ADDRESS_SCAN {
        match rest.get(j) {
            None => return if eof { Tri::No } else { Tri::Need },
            Some(b'(') if j > 0 => {
                let address: String = rest[..j].iter().map(|&b| b as char).collect();
                return if !strict || address.parse::<Address>().is_ok() {
                    Tri::Yes(())
                } else {
                    Tri::No
                };
            }
            Some(&c) if (0x21..=0x7E).contains(&c) && !b"()/!".contains(&c) => {}
            Some(_) => return Tri::No,
        }
    }
    Tri::No
}

/// Whether `/` at the start of `rest` begins a request or identification: a new message.
fn new_start(rest: &[u8], eof: bool) -> Tri<()> {
    let need = if eof { Tri::No } else { Tri::Need };
    match rest.get(1) {
        None => need,
        Some(b'?') => Tri::Yes(()),
        Some(_) => {
            for j in 1..4 {
                match rest.get(j) {
                    None => return need,
                    Some(c) if c.is_ascii_alphabetic() => {}
                    Some(_) => return Tri::No,
                }
            }
            Tri::Yes(())
        }
    }
}

/// How the current message ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum End {
    /// It is complete, this long.
    Complete(usize),
    /// Data lines and `!`, then ETX/EOT and its BCC, this long: an STX was lost.
    LostStart(usize),
    /// Data lines and `!` followed by hex digits, this long with the line ending: a DSMR
    /// telegram and its CRC (`!6D8C`), never an IEC 62056-21 push, whose `!` ends in CR LF.
    DsmrCrc(usize),
    /// A new message starts at this position: this one was cut off.
    NewStart(usize),
    /// No end within [`MAX_MESSAGE_LEN`] bytes.
    TooLong,
    /// The stream ended first.
    Eof,
    /// Not decided yet; the first bytes (this many) are searched.
    Wait(usize),
}

/// Looks for the end of the block at the start of `unit` from position `searched` on: the first
/// ETX/EOT and the BCC after it, or a new message start: a request or identification
/// ([`new_start`]) or a command ([`starts_block`]).
///
/// An STX inside a block never starts a new one: the BCC covers everything after the *first*
/// SOH/STX, and a block cut at an inner STX would let one bit error through. A line feed turned
/// into STX (bit 3) where the XOR of the bytes before it is zero (the Landis+Gyr E350 readout has
/// two such places) leaves a tail with a valid BCC: a readout with values missing.
fn block_end(unit: &[u8], searched: usize, eof: bool) -> End {
    let limit = unit.len().min(MAX_MESSAGE_LEN);
    let mut j = searched.max(1);
    while j < limit {
        let Some(k) = unit[j..limit]
            .iter()
            .position(|&b| matches!(b, ETX | EOT | SOH | STX | b'/'))
        else {
            break;
        };
        let p = j + k;
        let start = match unit[p] {
            ETX | EOT if p + 1 < unit.len() => return End::Complete(p + 2),
            ETX | EOT if eof => return End::Eof,
            ETX | EOT => return End::Wait(p),
            b'/' => new_start(&unit[p..], eof),
            STX => Tri::No,
            _ => starts_block(&unit[p..], eof),
        };
        match start {
            Tri::Yes(()) => return End::NewStart(p),
            Tri::Need => return End::Wait(p),
            Tri::No => {}
        }
        j = p + 1;
    }
    unfinished(limit, eof)
}

/// Looks for the end of a push or bare data lines at the start of `unit` from position
/// `searched` on: the first `!` (with the CR LF after it), or a new message start.
fn lines_end(unit: &[u8], searched: usize, eof: bool) -> End {
    let limit = unit.len().min(MAX_MESSAGE_LEN);
    let mut j = searched;
    while j < limit {
        let Some(k) = unit[j..limit]
            .iter()
            .position(|&b| b == b'!' || b == b'/' || is_block_start(b))
        else {
            break;
        };
        let p = j + k;
        let start = match unit[p] {
            b'!' => return after_bang(unit, p, eof),
            b'/' => new_start(&unit[p..], eof),
            _ => starts_block(&unit[p..], eof),
        };
        match start {
            Tri::Yes(()) => return End::NewStart(p),
            Tri::Need => return End::Wait(p),
            Tri::No => {}
        }
        j = p + 1;
    }
    unfinished(limit, eof)
}

/// Whether the SOH or STX at the start of `rest` plausibly starts a block: SOH followed by a
/// command letter, STX by printable text or a line ending. Stray control bytes (the Itron
/// ACE3000 capture has `STX STX SOH NUL` before its `!`) start nothing.
fn starts_block(rest: &[u8], eof: bool) -> Tri<()> {
    match (rest[0], rest.get(1)) {
        (_, None) if eof => Tri::No,
        (_, None) => Tri::Need,
        (SOH, Some(c)) if c.is_ascii_uppercase() => Tri::Yes(()),
        (STX, Some(&c)) if (0x20..=0x7E).contains(&c) || c == CR || c == LF => Tri::Yes(()),
        _ => Tri::No,
    }
}

/// The end after the `!` at `bang`: an optional CR, an optional LF; then an ETX or EOT means
/// the data lines were the inside of a data message whose STX was lost.
fn after_bang(unit: &[u8], bang: usize, eof: bool) -> End {
    let digits = unit[bang + 1..]
        .iter()
        .take(4)
        .take_while(|b| b.is_ascii_hexdigit())
        .count();
    if digits > 0 {
        let end = bang + 1 + digits;
        match unit.get(end) {
            None if !eof => return End::Wait(bang),
            None | Some(&(CR | LF)) => {
                let mut q = end;
                for expected in [CR, LF] {
                    if unit.get(q) == Some(&expected) {
                        q += 1;
                    }
                }
                return End::DsmrCrc(q);
            }
            Some(_) => {}
        }
    }
    let mut q = bang + 1;
    for expected in [CR, LF] {
        match unit.get(q) {
            None if eof => return End::Complete(q),
            None => return End::Wait(bang),
            Some(&b) if b == expected => q += 1,
            Some(_) => {}
        }
    }
    match unit.get(q) {
        None if eof => End::Complete(q),
        None => End::Wait(bang),
        Some(&(ETX | EOT)) if q + 1 < unit.len() => End::LostStart(q + 2),
        Some(&(ETX | EOT)) if eof => End::LostStart(q + 1),
        Some(&(ETX | EOT)) => End::Wait(bang),
        Some(_) => End::Complete(q),
    }
}

/// No end found in the first `limit` bytes.
fn unfinished(limit: usize, eof: bool) -> End {
    if limit == MAX_MESSAGE_LEN {
        End::TooLong
    } else if eof {
        End::Eof
    } else {
        End::Wait(limit)
    }
}

/// How a span of skipped bytes is reported.
const DIAGNOSIS: TextDiagnosis = TextDiagnosis {
    unit: "message",
    protocol: "IEC 62056-21",
    controls: true,
    text_percent: 90,
    idle_line: true,
    garbled: "wrong line settings (baud rate, parity, polarity)",
    lost_start,
};

/// The report of a skipped span (CR and LF not counted): how many bytes and, where the
/// statistics tell, why.
fn describe_skipped(span: &SkippedSpan) -> String {
    span.diagnose(&DIAGNOSIS)
}

/// Mostly printable text with a `(`: data sets whose message start was not seen.
fn lost_start(span: &SkippedSpan) -> Option<String> {
    let n = span.count;
    (span.printable * 10 >= n * 9 && span.paren > 0).then(|| {
        format!(
            "skipped {n} bytes of data-set text without a message start: the stream began mid-message or a start was lost"
        )
    })
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::stream::StreamDecoder;

    /// Iskra ME162 dialogue as both sides' bytes in order (wdoekes/pe32me162ir_pub,
    /// example.log): break, request, identification, option select, readout (BCC "L"), break.
    static ME162: &[u8] = b"\x01B0\x03q/?!\r\n/ISK5ME162-0033\r\n\x06050\r\n\
\x02C.1.0(28342193)\r\n0.0.0(28342193)\r\n1.8.0(0033402.264*kWh)\r\n1.8.1(0000000.000*kWh)\r\n\
1.8.2(0033402.264*kWh)\r\n2.8.0(0000013.465*kWh)\r\n2.8.1(0000000.000*kWh)\r\n\
2.8.2(0000013.465*kWh)\r\nF.F(0000000)\r\n!\r\n\x03L\x01B0\x03q";

    /// Landis+Gyr ZMD120 as vzlogger's test writes it: request echo, identification, data lines
    /// and "!" without STX/ETX (volkszaehler/vzlogger tests/MeterD0.cpp, abridged here).
    static ZMD120: &[u8] = b"/?!\r\n/LGZ52ZMD120APt.G03\r\nF.F(00000000)\r\n0.0.0( 20000)\r\n\
1.8.1(001846.0*kWh)\r\n!";

    fn kinds(messages: &[Message]) -> Vec<&str> {
        messages
            .iter()
            .map(|m| m.error_report().map_or("reading", |e| e.kind.as_str()))
            .collect()
    }

    fn decode(bytes: &[u8]) -> Vec<Message> {
        IecDecoder::new().decode_all(bytes)
    }

    fn bytewise(bytes: &[u8]) -> Vec<Message> {
        let mut decoder = IecDecoder::new();
        let mut out = Vec::new();
        for b in bytes {
            decoder.feed(std::slice::from_ref(b), &mut out);
        }
        decoder.finish(&mut out);
        out
    }

    #[test]
    fn test_parse() {
        let messages = decode(ME162);
        assert_eq!(kinds(&messages), vec!["reading"]);
        assert_eq!(bytewise(ME162), messages);
        let reading = messages[0].reading().expect("reading");
        assert_eq!(reading.values.len(), 9);
        let messages = decode(ZMD120);
        assert_eq!(kinds(&messages), vec!["reading"]);
        assert_eq!(bytewise(ZMD120), messages);
        assert_eq!(
            messages[0].reading().and_then(|r| r.meter_id.as_deref()),
            Some("20000")
        );
    }

    #[test]
    fn test_identification_gives_the_meter_id() {
        let mut readout = b"\x02F.F(00)\r\n!\r\n\x03".to_vec();
        readout.push(crate::iec::bcc::compute(&readout[1..]));
        let mut stream = b"/ABC5meter-7\r\n".to_vec();
        stream.extend_from_slice(&readout);
        stream.extend_from_slice(&readout);
        let messages = decode(&stream);
        assert_eq!(kinds(&messages), vec!["reading", "reading"]);
        let ids: Vec<_> = messages
            .iter()
            .map(|m| m.reading().and_then(|r| r.meter_id.clone()))
            .collect();
        assert_eq!(ids, vec![Some("meter-7".to_string()), None]);
    }

    #[test]
    fn test_junk_and_offsets() {
        let mut stream = b"\x7f\x7f\x7f".to_vec();
        stream.extend_from_slice(ME162);
        stream.extend_from_slice(b"\r\n junk!");
        let messages = decode(&stream);
        assert_eq!(
            kinds(&messages),
            vec!["skipped_bytes", "reading", "skipped_bytes"]
        );
        let noise = messages[0].error_report().expect("error");
        assert_eq!(noise.offset, Some(0));
        assert!(
            noise.message.starts_with("skipped 3 bytes of line noise"),
            "{noise:?}"
        );
        let junk = messages[2].error_report().expect("error");
        assert_eq!(junk.offset, Some(3 + ME162.len() as u64 + 2));
        assert!(junk.message.starts_with("skipped 6 bytes"), "{junk:?}");
        assert_eq!(bytewise(&stream), messages);
    }

    #[test]
    fn test_lost_stx_and_mid_push() {
        // The STX of the readout was lost: data lines, "!", ETX, BCC: skipped, not read.
        let lost = &ME162[..ME162.len() - 5];
        let at = lost.iter().position(|&b| b == STX).expect("stx");
        let mut stream = lost[..at].to_vec();
        stream.extend_from_slice(&lost[at + 1..]);
        let messages = decode(&stream);
        assert_eq!(kinds(&messages), vec!["skipped_bytes"]);
        let report = messages[0].error_report().expect("error");
        assert!(report.message.contains("STX"), "{report:?}");
        // Attached in the middle of a push: the tail is skipped, not read as a readout.
        let push = b"/ESY5Q3DA1024 V3.03\r\n\r\n1-0:1.8.0*255(00000000.7801269*kWh)\r\n\
1-0:2.8.0*255(00007041.2292533*kWh)\r\n!\r\n";
        let mut stream = push[30..].to_vec();
        stream.extend_from_slice(push);
        assert_eq!(kinds(&decode(&stream)), vec!["skipped_bytes", "reading"]);
        // Bare data lines at the start of a capture are a readout.
        assert_eq!(kinds(&decode(&push[23..])), vec!["reading"]);
    }

    #[test]
    fn test_truncated() {
        let start = ME162.iter().position(|&b| b == STX).expect("stx");
        let mut stream = ME162[..start + 40].to_vec();
        stream.extend_from_slice(ME162);
        let messages = decode(&stream);
        assert_eq!(kinds(&messages), vec!["truncated", "reading"]);
        assert_eq!(
            messages[0].error_report().and_then(|e| e.offset),
            Some(start as u64)
        );
        assert_eq!(kinds(&decode(&ME162[..start + 40])), vec!["truncated"]);
        assert_eq!(kinds(&decode(&ME162[..ME162.len() - 6])), vec!["truncated"]);
        assert_eq!(kinds(&decode(&ZMD120[..60])), vec!["truncated"]);
        let mut stream = ZMD120[..60].to_vec();
        stream.extend_from_slice(ZMD120);
        assert_eq!(kinds(&decode(&stream)), vec!["truncated", "reading"]);
    }

    #[test]
    fn test_dialogue_is_passed_over() {
        // Programming mode (same log): password prompt, R1, reply, a partial block, ACK, NAK.
        // The reply is a reading of the register read; the rest is dialogue.
        let mut partial = b"\x02(1)\x04".to_vec();
        partial.push(crate::iec::bcc::compute(&partial[1..]));
        let mut stream = b"/?!\r\n/ISK5ME162-0033\r\n\x06051\r\n\x01P0\x02()\x03`\
\x01R1\x021.8.0()\x03Z\x02(0033402.264*kWh)\x03T\x06\x15"
            .to_vec();
        stream.extend_from_slice(&partial);
        stream.extend_from_slice(b"\x01B0\x03q");
        let messages = decode(&stream);
        assert_eq!(kinds(&messages), vec!["reading"]);
        let reading = messages[0].reading().expect("a reading");
        assert_eq!(reading.values.len(), 1);
        assert_eq!(reading.values[0].id, "1-0:1.8.0*255");
        assert_eq!(bytewise(&stream), messages);
        // Inside junk a lone ACK or NAK is junk too; the span ends at the next message.
        let messages = decode(b"\xff\x06\x15\xff/?!\r\n");
        assert_eq!(kinds(&messages), vec!["skipped_bytes"]);
        let report = messages[0].error_report().expect("error");
        assert!(report.message.starts_with("skipped 4 bytes"), "{report:?}");
    }

    #[test]
    fn test_inner_control_bytes_do_not_cut_a_block() {
        // Itron ACE3000 (vzlogger tests/MeterD0.cpp): stray STX STX SOH NUL before "!"; the
        // stated BCC "F" is not the computed 0x4D.
        let ace = b"/ACE0\\3k260V01.19\r\n\x02F.F(00)\r\nC.1(1126120053322353)\r\n\
C.5.0(00)\r\n1.8.0(013925.5*)Y\x02\x02\x01\x00!\r\n\x03F";
        let messages = decode(ace);
        assert_eq!(kinds(&messages), vec!["bcc_mismatch"]);
        assert_eq!(messages[0].error_report().and_then(|e| e.offset), Some(19));
        // A line feed turned into STX (bit 3) does not start a new block either.
        let lf = ME162.iter().rposition(|&b| b == LF).expect("lf");
        let mut flipped = ME162.to_vec();
        flipped[lf] = STX;
        assert_eq!(kinds(&decode(&flipped)), vec!["bcc_mismatch"]);
        // But a command does: the readout was cut off.
        let stx = ME162.iter().position(|&b| b == STX).expect("stx");
        let mut cut = ME162[..stx + 30].to_vec();
        cut.extend_from_slice(b"\x01B0\x03q");
        assert_eq!(kinds(&decode(&cut)), vec!["truncated"]);
    }

    #[test]
    fn test_mid_message_start() {
        // A capture that starts inside a readout line: one explained skip, no reading.
        let stx = ME162.iter().position(|&b| b == STX).expect("stx");
        let messages = decode(&ME162[stx + 5..]);
        assert_eq!(kinds(&messages), vec!["skipped_bytes"]);
        let report = &messages[0].error_report().expect("error").message;
        assert!(report.contains("began mid-message"), "{report}");
        // Gateway padding after a push (EasyMeter Q3D via a COM-1 gateway).
        let mut padding = b"  25803103\r\n".to_vec();
        padding.extend_from_slice(&[0xff; 33]);
        let messages = decode(&padding);
        let report = &messages[0].error_report().expect("error").message;
        assert!(report.contains("33 of them"), "{report}");
    }

    #[test]
    fn test_impossible_len() {
        let mut stream = b"\x02".to_vec();
        stream.resize(MAX_MESSAGE_LEN + 100, b'x');
        stream.extend_from_slice(ME162);
        let messages = decode(&stream);
        assert_eq!(
            kinds(&messages),
            vec!["too_long", "skipped_bytes", "reading"]
        );
        assert_eq!(bytewise(&stream), messages);
    }

    #[test]
    fn test_7e1_as_8n1() {
        let parity: Vec<u8> = ME162
            .iter()
            .map(|&b| if b.count_ones() % 2 == 1 { b | 0x80 } else { b })
            .collect();
        let messages = decode(&parity);
        assert_eq!(kinds(&messages), vec!["skipped_bytes"]);
        let message = &messages[0].error_report().expect("error").message;
        assert!(
            message.contains("7E1") && message.contains("8N1"),
            "{message}"
        );
    }

    #[test]
    fn test_inverted() {
        let inverted: Vec<u8> = ME162.iter().map(|&b| !b).collect();
        let messages = decode(&inverted);
        assert!(
            messages.iter().all(|m| m.reading().is_none()),
            "{messages:?}"
        );
        assert!(kinds(&messages).contains(&"skipped_bytes"));
    }
}
