//! The reference IEC 62056-21 reader (HHU side, IEC 62056-21 §6.3–6.4, modes A–E).
//!
//! It runs the dialogue the way the common reader plugins do: request `/?addr!` at 300 baud
//! 7E1, read the identification, then per its baud character
//! - mode A (no baud character): read the data message at 300 baud;
//! - mode B (`A`–`I`): switch to the announced rate right away and read;
//! - mode C/E (`0`–`9`): wait the reaction time, send `ACK 0 Z Y CR LF` at 300 baud, let it drain,
//!   switch to the chosen rate and read the data message (`Y = 0`), or enter programming mode
//!   (`Y = 1`): password `P1`, one `R1` read per register asked for, then `B0`.
//!
//! The data message (`STX … ETX BCC`) goes to the reference IEC decoder, which checks the BCC.
//! What goes wrong in the dialogue is reported as a message: `no_answer`, `no_data`, `protocol`.

use meterlab_decoder::iec::bcc;
use meterlab_decoder::iec::message::{
    char_of_baud, AckOptionSelect, Command, Identification, ProtocolMode,
};
use meterlab_decoder::{Message, StreamDecoder};
use meterlab_sim::clock::NS_PER_MS;
use meterlab_sim::line::UartConfig;

use super::{Action, Reader};

use meterlab_decoder::iec::bcc::{ETX, SOH, STX};
use meterlab_decoder::iec::message::{ACK, NAK};

/// What the reader asks the meter for.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IecReaderSpec {
    /// Device address in the request (`/?address!`); empty for any meter.
    #[serde(default)]
    pub address: String,
    /// The request's query character: `?` (standard) or `2` (some meters).
    #[serde(default = "default_query")]
    pub query: char,
    /// Highest baud rate the reader accepts in mode C (it asks for the meter's rate or this,
    /// whichever is lower); `None` = the meter's.
    #[serde(default)]
    pub max_baud: Option<u32>,
    /// Mode C option select: `readout` (Y=0) or `programming` (Y=1).
    #[serde(default)]
    pub option: IecOption,
    /// Password for programming mode (`P1`).
    #[serde(default)]
    pub password: Option<String>,
    /// Registers read with `R1` in programming mode, e.g. `1.8.0`.
    #[serde(default)]
    pub read: Vec<String>,
    /// Wait after the identification before sending the ACK (reaction time, ≥ 200 ms).
    #[serde(
        rename = "ack_delay",
        default = "default_ack_delay",
        with = "duration_ms"
    )]
    pub ack_delay_ms: f64,
    /// When the reader switches its UART after the ACK: `drained` (after the last ACK character
    /// has left, as vzlogger does) or `immediately` (a reader that does not drain: the end of its
    /// ACK goes out at the new rate).
    #[serde(default)]
    pub switch: SwitchTiming,
    /// The reader closes and re-opens the port after the ACK and loses whatever arrives within
    /// this many ms of the ACK's end (several reader plugins do this).
    #[serde(rename = "reopen", default, with = "duration_ms")]
    pub reopen_ms: f64,
    /// How long to wait for the identification or for a reply.
    #[serde(
        rename = "answer_timeout",
        default = "default_answer_timeout",
        with = "duration_ms"
    )]
    pub answer_timeout_ms: f64,
    /// How long to wait for the whole data message.
    #[serde(
        rename = "data_timeout",
        default = "default_data_timeout",
        with = "duration_ms"
    )]
    pub data_timeout_ms: f64,
}

mod duration_ms {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{v}ms"))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        let s = String::deserialize(d)?;
        let ns = meterlab_sim::clock::parse_duration(&s).map_err(serde::de::Error::custom)?;
        Ok(ns as f64 / 1e6)
    }
}

fn default_query() -> char {
    '?'
}
fn default_ack_delay() -> f64 {
    300.0
}
fn default_answer_timeout() -> f64 {
    2200.0
}
fn default_data_timeout() -> f64 {
    60_000.0
}

/// Mode C option select.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IecOption {
    /// Y = 0: data readout.
    #[default]
    Readout,
    /// Y = 1: programming mode.
    Programming,
}

/// When the reader switches baud after its ACK.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SwitchTiming {
    /// After the ACK has left the UART (tcdrain).
    #[default]
    Drained,
    /// At once: the rest of the ACK goes out at the new rate.
    Immediately,
}

impl Default for IecReaderSpec {
    fn default() -> Self {
        IecReaderSpec {
            address: String::new(),
            query: default_query(),
            max_baud: None,
            option: IecOption::Readout,
            password: None,
            read: Vec::new(),
            ack_delay_ms: default_ack_delay(),
            switch: SwitchTiming::Drained,
            reopen_ms: 0.0,
            answer_timeout_ms: default_answer_timeout(),
            data_timeout_ms: default_data_timeout(),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
enum State {
    WaitIdentification { deadline: u64 },
    AckDue { at: u64, z: u8, baud: u32 },
    WaitData { deadline: u64 },
    WaitProgrammingOpen { deadline: u64 },
    WaitPasswordAck { deadline: u64 },
    WaitReadReply { deadline: u64, index: usize },
    Done,
}

/// The reference IEC 62056-21 reader.
pub struct IecReader {
    spec: IecReaderSpec,
    initial: UartConfig,
    decoder: Box<dyn StreamDecoder + Send>,
    state: State,
    buf: Vec<u8>,
    received: Vec<u8>,
    ignore_until: u64,
    out: Vec<Message>,
    fed: Vec<u8>,
}

fn ms(v: f64) -> u64 {
    (v * NS_PER_MS as f64).round() as u64
}

/// A programming-mode command as bytes.
fn command(c: Command) -> Vec<u8> {
    let mut out = Vec::new();
    c.emit(&mut out);
    out
}

/// An R1 reply `(value)` as the data block a readout would carry it in: `STX addr(value) CR LF !
/// CR LF ETX BCC`, so the decoder turns it into a reading with that one value.
fn reply_block(addr: &str, value: &[u8]) -> Vec<u8> {
    let mut block = vec![STX];
    block.extend_from_slice(addr.as_bytes());
    block.extend_from_slice(value);
    block.extend_from_slice(b"\r\n!\r\n");
    block.push(ETX);
    block.push(bcc::compute(&block[1..]));
    block
}

impl IecReader {
    /// A reader that starts at `initial` (300 7E1 per the standard) and decodes the data
    /// message with `decoder`.
    pub fn new(
        spec: IecReaderSpec,
        initial: UartConfig,
        decoder: Box<dyn StreamDecoder + Send>,
    ) -> Self {
        IecReader {
            spec,
            initial,
            decoder,
            state: State::Done,
            buf: Vec::new(),
            received: Vec::new(),
            ignore_until: 0,
            out: Vec::new(),
            fed: Vec::new(),
        }
    }

    /// Hands bytes to the decoder, keeping a copy for an external decoder under test.
    fn feed_decoder(&mut self, bytes: &[u8]) {
        self.fed.extend_from_slice(bytes);
        self.decoder.feed(bytes, &mut self.out);
    }

    fn fail(&mut self, kind: &str, message: String) -> Vec<Action> {
        self.out.push(Message::error(kind, message, None));
        self.state = State::Done;
        vec![Action::Done]
    }

    /// The first complete `STX … ETX BCC` (or `SOH … ETX BCC`) block in the buffer, if any.
    fn take_block(&mut self) -> Option<Vec<u8>> {
        let start = self.buf.iter().position(|&b| b == STX || b == SOH)?;
        let etx = self.buf[start..].iter().position(|&b| b == ETX)? + start;
        if self.buf.len() <= etx + 1 {
            return None;
        }
        let block: Vec<u8> = self.buf.drain(..=etx + 1).collect();
        Some(block[start..].to_vec())
    }

    fn on_identification(&mut self, now: u64, line: &[u8]) -> Vec<Action> {
        let ident = match Identification::parse(line) {
            Ok(i) => i,
            Err(e) => {
                return self.fail(
                    "protocol",
                    format!(
                        "bad identification {:?}: {e}",
                        String::from_utf8_lossy(line)
                    ),
                )
            }
        };
        // For a readout the decoder sees the identification before the data, as in a capture
        // (its meter id fallback); programming replies are single registers of no named meter.
        if self.spec.option == IecOption::Readout {
            self.feed_decoder(line);
        }
        let data_deadline = now + ms(self.spec.data_timeout_ms);
        match (ident.mode(), ident.baud_rate()) {
            (ProtocolMode::B, Some(baud)) => {
                let config = UartConfig {
                    baud,
                    ..self.initial
                };
                self.state = State::WaitData {
                    deadline: data_deadline,
                };
                vec![
                    Action::SetUart { at_ns: now, config },
                    Action::Wake {
                        at_ns: data_deadline,
                    },
                ]
            }
            (ProtocolMode::C | ProtocolMode::E, Some(offered)) => {
                let baud = self.spec.max_baud.map_or(offered, |m| m.min(offered));
                let z = char_of_baud(ProtocolMode::C, baud).unwrap_or(b'0');
                let at = now + ms(self.spec.ack_delay_ms);
                self.state = State::AckDue { at, z, baud };
                vec![Action::Wake { at_ns: at }]
            }
            // Mode A, or a baud character the standard reserves: the data follows at 300 baud.
            _ => {
                self.state = State::WaitData {
                    deadline: data_deadline,
                };
                vec![Action::Wake {
                    at_ns: data_deadline,
                }]
            }
        }
    }

    fn send_ack(&mut self, now: u64, z: u8, baud: u32) -> Vec<Action> {
        let select = match self.spec.option {
            IecOption::Readout => AckOptionSelect::readout(z),
            IecOption::Programming => AckOptionSelect::programming(z),
        };
        let mut ack = Vec::new();
        select.emit(&mut ack);
        let ack_end = now + (ack.len() as f64 * self.initial.char_time_ns()).ceil() as u64;
        let config = UartConfig {
            baud,
            ..self.initial
        };
        let switch_at = match self.spec.switch {
            SwitchTiming::Drained => ack_end,
            SwitchTiming::Immediately => now,
        };
        let mut actions = Vec::new();
        match self.spec.switch {
            SwitchTiming::Drained => {
                actions.push(Action::Send {
                    at_ns: now,
                    bytes: ack,
                });
                actions.push(Action::SetUart {
                    at_ns: switch_at,
                    config,
                });
            }
            SwitchTiming::Immediately => {
                // The first character is on its way when the UART is switched; the rest follows
                // at the new rate.
                actions.push(Action::Send {
                    at_ns: now,
                    bytes: ack[..1].to_vec(),
                });
                actions.push(Action::SetUart { at_ns: now, config });
                actions.push(Action::Send {
                    at_ns: now,
                    bytes: ack[1..].to_vec(),
                });
            }
        }
        self.ignore_until = ack_end + ms(self.spec.reopen_ms);
        let deadline = now + ms(self.spec.data_timeout_ms);
        self.state = match self.spec.option {
            IecOption::Readout => State::WaitData { deadline },
            IecOption::Programming => State::WaitProgrammingOpen {
                deadline: now + ms(self.spec.answer_timeout_ms) + ms(1600.0),
            },
        };
        let wake = match self.state {
            State::WaitData { deadline } | State::WaitProgrammingOpen { deadline } => deadline,
            _ => deadline,
        };
        actions.push(Action::Wake { at_ns: wake });
        actions
    }

    fn next_read(&mut self, now: u64, index: usize) -> Vec<Action> {
        match self.spec.read.get(index) {
            Some(addr) => {
                let deadline = now + ms(self.spec.answer_timeout_ms);
                self.state = State::WaitReadReply { deadline, index };
                vec![
                    Action::Send {
                        at_ns: now + ms(self.spec.ack_delay_ms),
                        bytes: command(Command::read(addr)),
                    },
                    Action::Wake {
                        at_ns: deadline + ms(self.spec.ack_delay_ms),
                    },
                ]
            }
            None => {
                self.state = State::Done;
                vec![
                    Action::Send {
                        at_ns: now + ms(self.spec.ack_delay_ms),
                        bytes: command(Command::exit()),
                    },
                    Action::Done,
                ]
            }
        }
    }
}

impl Reader for IecReader {
    fn start(&mut self, now_ns: u64) -> Vec<Action> {
        let request = format!("/{}{}!\r\n", self.spec.query, self.spec.address);
        let deadline = now_ns
            + ms(self.spec.answer_timeout_ms)
            + (request.len() as f64 * self.initial.char_time_ns()) as u64;
        self.state = State::WaitIdentification { deadline };
        vec![
            Action::Send {
                at_ns: now_ns,
                bytes: request.into_bytes(),
            },
            Action::Wake { at_ns: deadline },
        ]
    }

    fn receive(&mut self, now_ns: u64, bytes: &[u8]) -> Vec<Action> {
        self.received.extend_from_slice(bytes);
        if now_ns < self.ignore_until {
            // The port is closed while the reader re-opens it: these bytes are lost.
            return Vec::new();
        }
        self.buf.extend_from_slice(bytes);
        match self.state.clone() {
            State::WaitIdentification { .. } => {
                // Skip an echo of our own request and junk; the identification is the line
                // starting with `/` that is not the request.
                while let Some(end) = self.buf.iter().position(|&b| b == b'\n') {
                    let line: Vec<u8> = self.buf.drain(..=end).collect();
                    let Some(slash) = line.iter().position(|&b| b == b'/') else {
                        continue;
                    };
                    let line = &line[slash..];
                    if line.get(1) == Some(&b'?')
                        || (line.get(1) == Some(&b'2') && line.contains(&b'!'))
                    {
                        continue; // the echo of our request
                    }
                    return self.on_identification(now_ns, line);
                }
                Vec::new()
            }
            State::WaitData { .. } => {
                if let Some(block) = self.take_block() {
                    self.feed_decoder(&block);
                    self.state = State::Done;
                    return vec![Action::Done];
                }
                Vec::new()
            }
            State::WaitProgrammingOpen { .. } => {
                if let Some(block) = self.take_block() {
                    if block.first() != Some(&SOH) || !block.starts_with(&[SOH, b'P', b'0']) {
                        return self.fail(
                            "protocol",
                            format!("expected the password request SOH P0, got {block:02X?}"),
                        );
                    }
                    let pw = self.spec.password.clone().unwrap_or_default();
                    let deadline = now_ns + ms(self.spec.answer_timeout_ms);
                    self.state = State::WaitPasswordAck { deadline };
                    return vec![
                        Action::Send {
                            at_ns: now_ns + ms(self.spec.ack_delay_ms),
                            bytes: command(Command::password(&pw)),
                        },
                        Action::Wake {
                            at_ns: deadline + ms(self.spec.ack_delay_ms),
                        },
                    ];
                }
                Vec::new()
            }
            State::WaitPasswordAck { .. } => {
                if self.buf.contains(&ACK) {
                    self.buf.clear();
                    return self.next_read(now_ns, 0);
                }
                if self.buf.contains(&NAK) || self.take_block().is_some() {
                    return self.fail("protocol", "the meter refused the password".into());
                }
                Vec::new()
            }
            State::WaitReadReply { index, .. } => {
                if let Some(block) = self.take_block() {
                    // `STX (value) ETX BCC`
                    let inner = &block[1..block.len().saturating_sub(2)];
                    if inner.starts_with(b"(ERROR") {
                        self.out.push(Message::error(
                            "protocol",
                            format!(
                                "R1 {}: the meter answered {}",
                                self.spec.read[index],
                                String::from_utf8_lossy(inner)
                            ),
                            None,
                        ));
                    } else if bcc::compute(&block[1..block.len() - 1]) != block[block.len() - 1] {
                        self.out.push(Message::error(
                            "bcc_mismatch",
                            format!("R1 {}: reply BCC does not match", self.spec.read[index]),
                            None,
                        ));
                    } else {
                        // One reading per reply, as the meter answers one register at a time.
                        let block = reply_block(&self.spec.read[index], inner);
                        self.feed_decoder(&block);
                    }
                    return self.next_read(now_ns, index + 1);
                }
                Vec::new()
            }
            State::AckDue { .. } | State::Done => Vec::new(),
        }
    }

    fn wake(&mut self, now_ns: u64) -> Vec<Action> {
        match self.state.clone() {
            State::AckDue { at, z, baud } if now_ns >= at => self.send_ack(now_ns, z, baud),
            State::WaitIdentification { deadline } if now_ns >= deadline => {
                self.fail("no_answer", "no identification within the reaction time (is the meter at 300 baud 7E1, the address right?)".into())
            }
            State::WaitData { deadline } if now_ns >= deadline => {
                let got = self.buf.len();
                self.fail("no_data", format!("identification received, but no complete data message followed ({got} bytes arrived)"))
            }
            State::WaitProgrammingOpen { deadline }
            | State::WaitPasswordAck { deadline }
            | State::WaitReadReply { deadline, .. }
                if now_ns >= deadline =>
            {
                self.fail("no_answer", "the meter did not answer in programming mode".into())
            }
            _ => Vec::new(),
        }
    }

    fn finish(&mut self) -> Vec<Message> {
        self.decoder.finish(&mut self.out);
        std::mem::take(&mut self.out)
    }

    fn received(&self) -> &[u8] {
        &self.received
    }

    fn decoder_input(&self) -> &[u8] {
        &self.fed
    }
}

#[cfg(test)]
mod test {
    use super::*;

    /// The ME162 dialogue of the corpus: break `SOH B0 ETX` has BCC `q`, an R1 read has `Z`.
    #[test]
    fn commands_and_bcc() {
        assert_eq!(command(Command::exit()), b"\x01B0\x03q");
        assert_eq!(command(Command::read("1.8.0")), b"\x01R1\x021.8.0()\x03Z");
        assert_eq!(
            reply_block("1.8.0", b"(1*kWh)").last().copied(),
            Some(bcc::compute(b"1.8.0(1*kWh)\r\n!\r\n\x03"))
        );
    }
}
