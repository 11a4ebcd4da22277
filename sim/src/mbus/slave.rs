//! A virtual wired M-Bus slave: the data link layer of EN 13757-2 (§5: frames, C field with
//! FCB/FCV, primary addresses), the selection by secondary address (CI `0x52`, the network layer
//! behind address 253) and the application layer of EN 13757-3 (RSP_UD with variable data,
//! application reset, set address, baud switch).
//!
//! # Link layer
//!
//! - `SND_NKE` (`10 40 A CS 16`) resets the FCB state and restarts the readout cycle at its first
//!   telegram; sent to 253 it also ends the selection (the selected slave acknowledges first).
//! - `REQ_UD2` (`10 5B|7B A CS 16`) gets `RSP_UD` (C = `08`, A = the slave's primary address).
//!   With FCV set, an FCB other than the last one (or the first request after a reset) gets the
//!   next telegram of the cycle (cycling back to the first after the last); the same FCB again
//!   gets the last telegram again, byte for byte (same access number: the master missed it).
//!   Without FCV the current telegram is built afresh. The FCB is kept for `REQ_UD2` only: SND_UD
//!   frames are always carried out and acknowledged (libmbus sends them all with FCB clear).
//! - `REQ_UD1` is answered `E5` (no alarm data).
//! - `SND_UD` (`68 L L 68 53|73 A CI … CS 16`): CI `52` to 253 selects by secondary address
//!   (wildcards `F` per ID digit, `FF` per manufacturer/version/medium byte; with `0C 78` and a
//!   fabrication number appended it is the enhanced selection): a match answers `E5` and selects,
//!   no match deselects silently. CI `50` application reset (restart at the first telegram), CI
//!   `51` with `01 7A nn` sets the primary address (0–250), with `0C 79 <8 BCD digits>` the
//!   identification number; other CI `51` data is acknowledged and ignored. CI `B8`–`BF` switch
//!   the baud rate (below). Other CIs get no answer.
//! - Addresses: the slave's own primary address (0 = unconfigured, the factory default), 253 when
//!   selected, 254 (every slave answers), 255 (broadcast: every slave acts, none answers).
//! - Characters that do not start a frame (`00` wake-up bytes, `55` preambles, echoes of `E5`) are
//!   skipped; a frame with a wrong checksum, L or stop byte is dropped and the bytes after its
//!   start are searched again. A pause of an answer window (330 bit times + 50 ms) inside a frame
//!   drops the partial frame.
//!
//! # Timing
//!
//! The answer starts [`default_reply_delay_ns`] after the request's last character: 20 ms, or
//! 22 bit times where that is longer (300 and 600 Bd), inside the window of 11 bit times …
//! 330 bit times + 50 ms (EN 13757-2, quoted in libmbus `mbus-serial.c`; 4.6 … 187.5 ms at
//! 2400 Bd). `reply_delay_ms` sets any delay, also outside the window (a non-conforming slave).
//!
//! # Baud switch
//!
//! A control frame with CI `B8`–`BF` (300 … 38 400 Bd) to the slave's address is acknowledged
//! with `E5` at the old rate; from the end of the `E5` the slave listens and answers at the new
//! rate ([`Meter::take_uart_change`]). If no valid frame reaches it at the new rate within
//! [`BAUD_FALLBACK_S`] seconds (ABB: about 30 s, Gossen-Metrawatt: 2 min) it falls back to the
//! rate it had before, delivered through [`Meter::next_push_ns`]/[`Meter::push`] (no bytes).

use meterlab_decoder::{Protocol, Reading};

use super::frame::{
    LongFrameRepr, ACK, ADDRESS_ALL, ADDRESS_BROADCAST, ADDRESS_SELECTED, CONTROL_RSP_UD, FCB, FCV,
    LONG_DATA_OFFSET, START_LONG, START_SHORT, STOP,
};
use super::header::{
    baud_of_ci, bcd_id, manufacturer_id, nibbles_match, HeaderRepr, SecondaryAddress, BAUD_RATES,
    CI_APPLICATION_RESET, CI_DATA_SEND, CI_RESPONSE_LONG, CI_RESPONSE_MSB, CI_RESPONSE_NONE,
    CI_SELECT,
};
use super::model::{Model, ModelOptions, MAX_TELEGRAMS};
use super::profile::{Kind, MbusOptions, MbusProfile, DEFAULT_BAUD, DEFAULT_MANUFACTURER, FORMAT};
use super::record::ByteOrder;
use crate::clock::{NS_PER_MS, NS_PER_S};
use crate::line::UartConfig;
use crate::meter::{Emission, Meter};
use crate::seed::Seed;
use crate::spec::{MeterSpec, SpecError};

/// Default reply delay, ms (at 300 and 600 Bd it is 22 bit times instead).
pub const DEFAULT_REPLY_DELAY_MS: u64 = 20;
/// Seconds after a baud switch without a valid frame at the new rate before the slave falls
/// back to the old rate.
pub const BAUD_FALLBACK_S: u64 = 30;
/// The highest primary address a slave may have.
pub const MAX_PRIMARY_ADDRESS: u8 = 250;

/// The answer window of EN 13757-2 at these settings: from 11 bit times to 330 bit times +
/// 50 ms after the request's last character, ns.
pub fn answer_window_ns(uart: &UartConfig) -> (u64, u64) {
    let bit = uart.bit_time_ns();
    (
        (11.0 * bit).ceil() as u64,
        (330.0 * bit).floor() as u64 + 50 * NS_PER_MS,
    )
}

/// The reply delay a slave uses unless configured: 20 ms, at least 22 bit times.
pub fn default_reply_delay_ns(uart: &UartConfig) -> u64 {
    (DEFAULT_REPLY_DELAY_MS * NS_PER_MS).max((22.0 * uart.bit_time_ns()).ceil() as u64)
}

/// A frame from the master, complete and well-formed.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Incoming {
    Short {
        control: u8,
        address: u8,
    },
    Long {
        control: u8,
        address: u8,
        ci: u8,
        data: Vec<u8>,
    },
}

/// What a buffer starting with a start byte holds.
enum Scan {
    NeedMore,
    Frame(Incoming, usize),
    Bad,
}

/// The slave's receive buffer: finds frames in the master's characters.
#[derive(Clone, Debug, Default)]
struct FrameRx {
    buf: Vec<u8>,
    last_ns: u64,
}

impl FrameRx {
    fn clear(&mut self) {
        self.buf.clear();
    }

    fn push(&mut self, now_ns: u64, byte: u8, timeout_ns: u64) -> Option<Incoming> {
        if !self.buf.is_empty() && now_ns.saturating_sub(self.last_ns) > timeout_ns {
            self.buf.clear();
        }
        self.last_ns = now_ns;
        self.buf.push(byte);
        loop {
            let skip = self
                .buf
                .iter()
                .position(|&b| b == START_SHORT || b == START_LONG)
                .unwrap_or(self.buf.len());
            self.buf.drain(..skip);
            if self.buf.is_empty() {
                return None;
            }
            match scan(&self.buf) {
                Scan::NeedMore => return None,
                Scan::Frame(frame, len) => {
                    self.buf.drain(..len);
                    return Some(frame);
                }
                Scan::Bad => {
                    self.buf.remove(0);
                }
            }
        }
    }
}

fn scan(buf: &[u8]) -> Scan {
    let sum = |bytes: &[u8]| bytes.iter().fold(0u8, |s, &b| s.wrapping_add(b));
    if buf[0] == START_SHORT {
        if buf.len() < 5 {
            return Scan::NeedMore;
        }
        if buf[3] != sum(&buf[1..3]) || buf[4] != STOP {
            return Scan::Bad;
        }
        return Scan::Frame(
            Incoming::Short {
                control: buf[1],
                address: buf[2],
            },
            5,
        );
    }
    if buf.len() < 4 {
        return Scan::NeedMore;
    }
    let l = usize::from(buf[1]);
    if buf[1] != buf[2] || buf[3] != START_LONG || l < 3 {
        return Scan::Bad;
    }
    if buf.len() < l + 6 {
        return Scan::NeedMore;
    }
    if buf[4 + l] != sum(&buf[4..4 + l]) || buf[5 + l] != STOP {
        return Scan::Bad;
    }
    Scan::Frame(
        Incoming::Long {
            control: buf[4],
            address: buf[5],
            ci: buf[6],
            data: buf[7..4 + l].to_vec(),
        },
        l + 6,
    )
}

/// How a frame's address reaches this slave.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reach {
    /// Addressed: act and answer.
    Reply,
    /// Broadcast: act, do not answer.
    Silent,
}

/// The last RSP_UD, for repeats.
#[derive(Clone, Debug)]
struct Last {
    fcb: Option<bool>,
    index: usize,
    bytes: Vec<u8>,
    truth: Reading,
}

/// A virtual wired M-Bus slave.
pub struct MbusSlave {
    profile: &'static MbusProfile,
    address: u8,
    secondary: SecondaryAddress,
    ci: u8,
    telegrams: usize,
    reply_delay_ns: Option<u64>,
    current: UartConfig,
    uart_change: Option<(u64, UartConfig)>,
    fallback: Option<(u64, UartConfig)>,
    rx: FrameRx,
    selected: bool,
    access_number: u8,
    status: u8,
    last: Option<Last>,
    tx_free_ns: u64,
    model: Model,
}

fn bad(option: &str, reason: impl Into<String>) -> SpecError {
    SpecError::bad(option, reason)
}

impl MbusSlave {
    /// A slave of this profile, configured by `spec` (the common options) and `options` (the
    /// M-Bus ones, read from `spec.options`); every random choice comes from `seed`.
    pub fn new(
        profile: &'static MbusProfile,
        spec: &MeterSpec,
        options: &MbusOptions,
        seed: Seed,
    ) -> Result<Self, SpecError> {
        let name = profile.name;
        if spec.interval.is_some() {
            return Err(bad(
                "interval",
                format!("{name} is an M-Bus slave: it answers requests, it does not push"),
            ));
        }
        let electricity = profile.kind == Kind::Electricity;
        for (option, set) in [
            ("three_phase", options.three_phase.is_some()),
            ("solar_w", options.solar_w.is_some()),
        ] {
            if set && !electricity {
                return Err(bad(option, format!("{name} is not an electricity meter")));
            }
        }
        let address = options.primary_address.unwrap_or(0);
        if address > MAX_PRIMARY_ADDRESS {
            return Err(bad(
                "primary_address",
                format!("{address} is not a slave address (0-250; 251-255 are reserved)"),
            ));
        }
        let manufacturer_text = options
            .manufacturer
            .as_deref()
            .unwrap_or(DEFAULT_MANUFACTURER);
        let manufacturer = manufacturer_id(manufacturer_text).ok_or_else(|| {
            bad(
                "manufacturer",
                format!("{manufacturer_text:?} is not three capital letters A-Z (or @)"),
            )
        })?;
        let mut rng = seed.derive("mbus/slave").rng();
        let seeded_id = rng.range_inclusive(10_000_000, 99_999_999) as u32;
        let id = match options.secondary_id.as_deref() {
            None => seeded_id,
            Some(s) if s.len() == 8 && s.bytes().all(|b| b.is_ascii_digit()) => {
                s.parse().map_err(|_| bad("secondary_id", "not a number"))?
            }
            Some(s) => {
                return Err(bad(
                    "secondary_id",
                    format!("{s:?} is not 8 decimal digits (e.g. \"12345678\")"),
                ))
            }
        };
        let telegrams = options.telegrams.unwrap_or(profile.telegrams);
        if !(1..=MAX_TELEGRAMS).contains(&telegrams) {
            return Err(bad(
                "telegrams",
                format!("{telegrams}: a readout cycle has 1 to {MAX_TELEGRAMS} telegrams"),
            ));
        }
        let ci = options.ci.unwrap_or(CI_RESPONSE_LONG);
        if ![CI_RESPONSE_LONG, CI_RESPONSE_MSB, CI_RESPONSE_NONE].contains(&ci) {
            return Err(bad(
                "ci",
                format!("{ci:#04X}: the slave answers with CI 0x72 (long header), 0x76 (MSB first) or 0x78 (no header)"),
            ));
        }
        let baud = options.baud.unwrap_or(DEFAULT_BAUD);
        if !BAUD_RATES.contains(&baud) {
            return Err(bad(
                "baud",
                format!(
                    "{baud}: M-Bus rates are 300, 600, 1200, 2400, 4800, 9600, 19200 and 38400"
                ),
            ));
        }
        let uart = UartConfig::new(baud, FORMAT).map_err(|e| bad("baud", e.to_string()))?;
        let model_options = ModelOptions {
            three_phase: options.three_phase.unwrap_or(true),
            solar_w: options.solar_w.unwrap_or(0),
        };
        let model = Model::new(profile.kind, spec.clock()?, model_options, seed);
        Ok(MbusSlave {
            profile,
            address,
            secondary: SecondaryAddress {
                id,
                manufacturer,
                version: profile.version,
                medium: profile.medium,
            },
            ci,
            telegrams: usize::from(telegrams),
            reply_delay_ns: options.reply_delay_ms.map(|ms| ms * NS_PER_MS),
            current: uart,
            uart_change: None,
            fallback: None,
            rx: FrameRx::default(),
            selected: false,
            access_number: rng.byte(),
            status: 0,
            last: None,
            tx_free_ns: 0,
            model,
        })
    }

    /// The primary address it answers to now.
    pub fn primary_address(&self) -> u8 {
        self.address
    }

    /// Its secondary address (identification number, manufacturer, version, medium).
    pub fn secondary_address(&self) -> SecondaryAddress {
        self.secondary
    }

    /// Whether it is selected (answers address 253).
    pub fn is_selected(&self) -> bool {
        self.selected
    }

    /// The access number the next new telegram will carry.
    pub fn access_number(&self) -> u8 {
        self.access_number
    }

    /// The delay from a request's last character to the answer, ns.
    pub fn reply_delay_ns(&self) -> u64 {
        self.reply_delay_ns
            .unwrap_or_else(|| default_reply_delay_ns(&self.current))
    }

    /// Applies a baud fall-back that is due at `now_ns` (drivers that do not call
    /// [`Meter::push`] at [`Meter::next_push_ns`] get it here, with its own time).
    pub fn expire(&mut self, now_ns: u64) {
        if self.fallback.is_some_and(|(at, _)| at <= now_ns) {
            self.fall_back();
        }
    }

    fn fall_back(&mut self) {
        if let Some((at, config)) = self.fallback.take() {
            self.current = config;
            self.uart_change = Some((at, config));
            self.rx.clear();
        }
    }

    fn reach(&self, address: u8) -> Option<Reach> {
        match address {
            ADDRESS_BROADCAST => Some(Reach::Silent),
            ADDRESS_ALL => Some(Reach::Reply),
            ADDRESS_SELECTED => self.selected.then_some(Reach::Reply),
            a if a == self.address => Some(Reach::Reply),
            _ => None,
        }
    }

    /// Queues a reply at the reply delay after `now_ns` (after anything still being sent);
    /// returns the time its last character ends.
    fn send(
        &mut self,
        out: &mut Vec<Emission>,
        now_ns: u64,
        bytes: Vec<u8>,
        truth: Vec<Reading>,
    ) -> u64 {
        let start = (now_ns + self.reply_delay_ns()).max(self.tx_free_ns);
        let end = start + (bytes.len() as f64 * self.current.char_time_ns()).ceil() as u64;
        self.tx_free_ns = end;
        out.push(Emission {
            at_ns: start,
            bytes,
            truth,
        });
        end
    }

    fn ack(&mut self, out: &mut Vec<Emission>, now_ns: u64, reach: Reach) -> u64 {
        match reach {
            Reach::Reply => self.send(out, now_ns, vec![ACK], Vec::new()),
            Reach::Silent => now_ns,
        }
    }

    /// Back to the first telegram of the cycle, FCB state cleared.
    fn reset_cycle(&mut self) {
        self.last = None;
    }

    /// Telegram `index` built now: the RSP_UD bytes and the reading they encode.
    fn build(&mut self, now_ns: u64, index: usize) -> (Vec<u8>, Reading) {
        let mut body = self.model.telegram(index, self.telegrams, now_ns);
        let order = if self.ci == CI_RESPONSE_MSB {
            ByteOrder::MsbFirst
        } else {
            ByteOrder::LsbFirst
        };
        let mut data = Vec::new();
        let mut reading = Reading::new(Protocol::Mbus);
        if self.ci != CI_RESPONSE_NONE {
            let header = HeaderRepr {
                address: self.secondary,
                access_number: self.access_number,
                status: self.status,
                signature: 0,
                order,
            };
            header.emit(&mut data);
            reading.meter_id = Some(header.meter_id());
            reading.values.extend(header.values());
        }
        for (i, r) in body.records.iter_mut().enumerate() {
            r.order = order;
            r.emit(&mut data);
            reading.values.push(r.value(i));
        }
        if let Some(m) = &body.manufacturer {
            // The manufacturer bytes start after the DIF.
            reading
                .values
                .push(m.value(LONG_DATA_OFFSET + data.len() + 1));
            m.emit(&mut data);
        }
        self.access_number = self.access_number.wrapping_add(1);
        let frame = LongFrameRepr {
            control: CONTROL_RSP_UD,
            address: self.address,
            ci: self.ci,
            data: &data,
        };
        let mut bytes = Vec::with_capacity(frame.buffer_len());
        frame.emit(&mut bytes);
        (bytes, reading)
    }

    fn request_ud2(&mut self, out: &mut Vec<Emission>, now_ns: u64, control: u8) {
        let fcb = (control & FCV != 0).then_some(control & FCB != 0);
        if let (Some(fcb), Some(last)) = (fcb, &self.last) {
            if last.fcb == Some(fcb) {
                let (bytes, truth) = (last.bytes.clone(), last.truth.clone());
                self.send(out, now_ns, bytes, vec![truth]);
                return;
            }
        }
        let index = match (&self.last, fcb) {
            (None, _) => 0,
            (Some(last), Some(_)) => (last.index + 1) % self.telegrams,
            (Some(last), None) => last.index,
        };
        let (bytes, truth) = self.build(now_ns, index);
        self.last = Some(Last {
            fcb,
            index,
            bytes: bytes.clone(),
            truth: truth.clone(),
        });
        self.send(out, now_ns, bytes, vec![truth]);
    }

    /// Whether the data of a CI `52` frame selects this slave.
    fn selects(&self, data: &[u8]) -> bool {
        match data.len() {
            8 => self.secondary.matches(data),
            // Enhanced selection: `0C 78` and the fabrication number after the address.
            14 if data[8..10] == [0x0C, 0x78] => {
                let fab = bcd_id(self.model.fabrication());
                self.secondary.matches(data)
                    && fab
                        .iter()
                        .zip(&data[10..14])
                        .all(|(&o, &p)| nibbles_match(o, p))
            }
            _ => false,
        }
    }

    fn on_frame(&mut self, out: &mut Vec<Emission>, now_ns: u64, frame: Incoming) {
        // A valid frame at the current rate confirms a baud switch.
        self.fallback = None;
        match frame {
            Incoming::Short { control, address } => {
                let Some(reach) = self.reach(address) else {
                    return;
                };
                match control & !(FCB | FCV) {
                    // SND_NKE
                    0x40 => {
                        self.ack(out, now_ns, reach);
                        self.reset_cycle();
                        if address == ADDRESS_SELECTED {
                            self.selected = false;
                        }
                    }
                    // REQ_UD2
                    0x4B if reach == Reach::Reply => self.request_ud2(out, now_ns, control),
                    // REQ_UD1: no class 1 data.
                    0x4A if reach == Reach::Reply => {
                        self.ack(out, now_ns, reach);
                    }
                    _ => {}
                }
            }
            Incoming::Long {
                control,
                address,
                ci,
                data,
            } => {
                if control & !FCB != 0x53 {
                    return;
                }
                if ci == CI_SELECT {
                    if address == ADDRESS_SELECTED {
                        self.selected = self.selects(&data);
                        if self.selected {
                            self.ack(out, now_ns, Reach::Reply);
                        }
                    }
                    return;
                }
                let Some(reach) = self.reach(address) else {
                    return;
                };
                match ci {
                    CI_APPLICATION_RESET => {
                        self.reset_cycle();
                        self.ack(out, now_ns, reach);
                    }
                    CI_DATA_SEND => match data.as_slice() {
                        [0x01, 0x7A, a] if *a <= MAX_PRIMARY_ADDRESS => {
                            // Acknowledged, then the slave answers to the new address only.
                            self.ack(out, now_ns, reach);
                            self.address = *a;
                        }
                        // A reserved address is refused: no acknowledgement.
                        [0x01, 0x7A, _] => {}
                        [0x0C, 0x79, id @ ..] if id.len() == 4 => {
                            if let Some(id) = bcd_value(id) {
                                self.secondary.id = id;
                                self.ack(out, now_ns, reach);
                            }
                        }
                        _ => {
                            self.ack(out, now_ns, reach);
                        }
                    },
                    ci => {
                        if let Some(baud) = baud_of_ci(ci) {
                            let end = self.ack(out, now_ns, reach);
                            if baud != self.current.baud {
                                let before = self.current;
                                self.current = UartConfig { baud, ..before };
                                self.uart_change = Some((end, self.current));
                                self.fallback = Some((end + BAUD_FALLBACK_S * NS_PER_S, before));
                                self.rx.clear();
                            }
                        }
                    }
                }
            }
        }
    }

    /// The inter-character pause that ends a partial frame: one answer window.
    fn rx_timeout_ns(&self) -> u64 {
        answer_window_ns(&self.current).1
    }
}

/// The number of 4 BCD bytes, LSB first; `None` if a nibble is not a decimal digit.
fn bcd_value(bytes: &[u8]) -> Option<u32> {
    bytes.iter().rev().try_fold(0u32, |v, &b| {
        let (hi, lo) = (u32::from(b >> 4), u32::from(b & 0x0F));
        (hi < 10 && lo < 10).then_some(v * 100 + hi * 10 + lo)
    })
}

impl Meter for MbusSlave {
    fn profile(&self) -> &str {
        self.profile.name
    }

    fn protocol(&self) -> Protocol {
        Protocol::Mbus
    }

    fn uart(&self) -> UartConfig {
        self.current
    }

    fn next_push_ns(&self) -> Option<u64> {
        self.fallback.map(|(at, _)| at)
    }

    fn push(&mut self) -> Vec<Emission> {
        self.fall_back();
        Vec::new()
    }

    fn receive(&mut self, now_ns: u64, bytes: &[u8]) -> Vec<Emission> {
        let mut out = Vec::new();
        for &byte in bytes {
            self.expire(now_ns);
            let timeout = self.rx_timeout_ns();
            if let Some(frame) = self.rx.push(now_ns, byte, timeout) {
                self.on_frame(&mut out, now_ns, frame);
            }
        }
        out
    }

    fn take_uart_change(&mut self) -> Option<(u64, UartConfig)> {
        self.uart_change.take()
    }
}

#[cfg(test)]
mod test {
    use super::*;

    fn feed(rx: &mut FrameRx, bytes: &[u8]) -> Vec<Incoming> {
        bytes
            .iter()
            .enumerate()
            .filter_map(|(i, &b)| rx.push(i as u64 * NS_PER_MS, b, 100 * NS_PER_MS))
            .collect()
    }

    #[test]
    fn test_frame_rx() {
        let mut rx = FrameRx::default();
        // Wake-up zeros, a REQ_UD2 to 1, garbage 68 before an SND_NKE, a bad checksum, then a
        // control frame (baud switch to 9600 at address 1).
        let got = feed(
            &mut rx,
            &[
                0x00, 0x00, 0x00, 0x10, 0x5B, 0x01, 0x5C, 0x16, 0x68, 0x10, 0x40, 0x01, 0x41, 0x16,
                0x10, 0x40, 0x01, 0x42, 0x16, 0x68, 0x03, 0x03, 0x68, 0x53, 0x01, 0xBD, 0x11, 0x16,
            ],
        );
        assert_eq!(
            got,
            [
                Incoming::Short {
                    control: 0x5B,
                    address: 0x01
                },
                Incoming::Short {
                    control: 0x40,
                    address: 0x01
                },
                Incoming::Long {
                    control: 0x53,
                    address: 0x01,
                    ci: 0xBD,
                    data: vec![]
                },
            ]
        );
    }

    #[test]
    fn test_frame_rx_timeout() {
        let mut rx = FrameRx::default();
        assert_eq!(rx.push(0, 0x10, 10), None);
        assert_eq!(rx.push(1, 0x5B, 10), None);
        // A long pause: the partial frame is dropped, the rest is not a frame.
        assert_eq!(rx.push(100, 0x01, 10), None);
        assert_eq!(rx.push(101, 0x5C, 10), None);
        assert_eq!(rx.push(102, 0x16, 10), None);
        assert!(rx.buf.is_empty());
    }

    #[test]
    fn test_windows() {
        let u = UartConfig::new(2400, "8E1").expect("uart");
        let (lo, hi) = answer_window_ns(&u);
        assert_eq!(lo, 4_583_334);
        assert_eq!(hi, 187_500_000);
        assert_eq!(default_reply_delay_ns(&u), 20 * NS_PER_MS);
        let slow = UartConfig::new(300, "8E1").expect("uart");
        assert_eq!(default_reply_delay_ns(&slow), 73_333_334);
        for baud in BAUD_RATES {
            let u = UartConfig::new(baud, "8E1").expect("uart");
            let (lo, hi) = answer_window_ns(&u);
            let d = default_reply_delay_ns(&u);
            assert!(lo <= d && d <= hi, "{baud}");
        }
        assert_eq!(bcd_value(&[0x78, 0x56, 0x34, 0x12]), Some(12_345_678));
        assert_eq!(bcd_value(&[0x7A, 0x56, 0x34, 0x12]), None);
    }
}
