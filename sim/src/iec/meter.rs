//! A virtual IEC 62056-21 meter: the dialogue of protocol modes A–E (clause 6) as a state machine
//! over virtual time and the standard's timing, over a household; the data sets of each modelled
//! meter are in [`layout`](super::layout).
//!
//! Timing. Replies start the reaction time after the last character of a request (default
//! 300 ms; 20 ms when the manufacturer flag's third letter is lower case; any value may be set
//! for fault scenarios, the standard's window is 200–1500 ms). Characters of one request more
//! than 1500 ms apart end it: the partial request is discarded. In programming mode the meter
//! returns to its start state (300 Bd) after the inactivity time-out (default 120 s). After an
//! option select the first message at the new rate comes [`DEFAULT_SWITCH_DELAY_MS`] after the
//! ACK's last character: common readers re-open their port after the ACK and lose anything
//! sooner than ~0.5 s, the Iskra ME162 of the corpus needs ~0.6 s too.
//!
//! Baud switches are reported through [`Meter::take_uart_change`]. A message at a new rate (the
//! data of modes B and C, the programming-mode password request) is delivered through
//! [`Meter::next_push_ns`]/[`Meter::push`] at its time, because the session frames what
//! [`Meter::receive`] returns before it applies the switch; so are the mode C fall-back readout
//! at 300 Bd when no option select comes, and the programming-mode time-out. After a data
//! readout the meter goes back to 300 Bd at the end of the message (pending in
//! `take_uart_change`).

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use meterlab_decoder::{Protocol, Reading};

use super::dataset::{meter_id, Address, DataSet};
use super::layout::{self, BillingSnapshot, Snapshot};
use super::message::{
    baud_of_char, char_of_baud, BlockRepr, CommandRepr, DataMessageRepr, IdentificationRepr,
    OptionSelectRepr, ProtocolMode, PushRepr, RequestRepr, ACK, EOT, ETX, NAK, SOH, STX,
};
use super::profile::{IecOptions, IecProfile, Layout};
use crate::clock::{WallClock, NS_PER_MS, NS_PER_S};
use crate::household::{Household, HouseholdConfig};
use crate::line::UartConfig;
use crate::meter::{Emission, Meter};
use crate::seed::{Seed, SimRng};
use crate::spec::{MeterSpec, SpecError};

/// Reaction time of a meter whose manufacturer flag has an upper-case third letter, ms.
pub const DEFAULT_REACTION_MS: u64 = 300;
/// Reaction time of a meter whose flag announces the 20 ms minimum (`ISk`, `HAg`), ms.
pub const FAST_REACTION_MS: u64 = 20;
/// Time from the option select's last character to the first character at the new rate, ms.
pub const DEFAULT_SWITCH_DELAY_MS: u64 = 600;
/// Inactivity time-out back to the start state, s (the standard allows 60–120 s).
pub const DEFAULT_INACTIVITY_S: u64 = 120;
/// Longest gap between two characters of one message (ta < 1500 ms).
pub const INTER_CHAR_NS: u64 = 1_500 * NS_PER_MS;
/// How long a mode C/E meter waits for the option select after its identification before it
/// sends the data at 300 Bd.
pub const OPTION_WAIT_NS: u64 = 1_500 * NS_PER_MS;
/// The text of an error message.
pub const ERROR_TEXT: &str = "ERROR";

const MAX_LINE: usize = 40;
const MAX_BLOCK: usize = 300;

/// A message from the reader, complete.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Incoming {
    /// `/ … LF` or `ACK … LF`.
    Line(Vec<u8>),
    /// `SOH|STX … ETX|EOT BCC`.
    Block(Vec<u8>),
}

/// The meter's receive buffer: frames the reader's characters into messages.
#[derive(Clone, Debug, Default)]
struct Rx {
    buf: Vec<u8>,
    last_ns: u64,
    end_seen: bool,
}

impl Rx {
    fn clear(&mut self) {
        self.buf.clear();
        self.end_seen = false;
    }

    fn push(&mut self, now_ns: u64, byte: u8) -> Option<Incoming> {
        if !self.buf.is_empty() && now_ns.saturating_sub(self.last_ns) > INTER_CHAR_NS {
            self.clear();
        }
        self.last_ns = now_ns;
        match self.buf.first().copied() {
            None => {
                if matches!(byte, b'/' | ACK | SOH | STX) {
                    self.buf.push(byte);
                }
                None
            }
            Some(b'/' | ACK) => {
                if byte == b'/' {
                    // A new request starts: whatever came before was not one.
                    self.clear();
                    self.buf.push(byte);
                    return None;
                }
                self.buf.push(byte);
                if byte == b'\n' {
                    let line = std::mem::take(&mut self.buf);
                    return Some(Incoming::Line(line));
                }
                if self.buf.len() > MAX_LINE {
                    self.clear();
                }
                None
            }
            Some(_) => {
                self.buf.push(byte);
                if self.end_seen {
                    self.end_seen = false;
                    return Some(Incoming::Block(std::mem::take(&mut self.buf)));
                }
                if matches!(byte, ETX | EOT) {
                    self.end_seen = true;
                } else if self.buf.len() > MAX_BLOCK {
                    self.clear();
                }
                None
            }
        }
    }
}

/// Where the dialogue stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Start state: waiting for a request (mode D: pushing).
    Idle,
    /// Mode C/E: identification sent, waiting for the option select until `deadline_ns`.
    AwaitOption { deadline_ns: u64 },
    /// A data message is due at `at_ns`.
    ReadoutDue { at_ns: u64 },
    /// Programming mode chosen; the password request `P0` is due at `at_ns`.
    ProgrammingOpen { at_ns: u64 },
    /// In programming mode; back to the start state at `deadline_ns` without activity.
    Programming { authorized: bool, deadline_ns: u64 },
}

/// What [`IecMeter::push`] does next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Event {
    /// A mode D push.
    Push,
    /// The data message (after an option select, in modes A and B, or without option select).
    Readout,
    /// The password request opening programming mode.
    OpenProgramming,
    /// Programming mode timed out.
    Inactivity,
}

/// A virtual IEC 62056-21 meter.
pub struct IecMeter {
    profile: &'static IecProfile,
    mode: ProtocolMode,
    identification: IdentificationRepr,
    offered_baud: u32,
    initial: UartConfig,
    current: UartConfig,
    uart_change: Option<(u64, UartConfig)>,
    clock: WallClock,
    clock_offset_s: i64,
    house: Household,
    rng: SimRng,
    meter_number: String,
    address: String,
    password: Option<String>,
    reaction_ns: u64,
    switch_delay_ns: u64,
    inactivity_ns: u64,
    echo: bool,
    junk_7f: u8,
    junk_after_etx: u8,
    interval_ns: u64,
    next_push_ns: u64,
    state: State,
    rx: Rx,
    tx_free_ns: u64,
    gas_start_l: u64,
    billing: BillingSnapshot,
    demand_peak: (u64, NaiveDateTime),
}

fn bad(option: &'static str, reason: impl Into<String>) -> SpecError {
    SpecError::bad(option, reason)
}

fn valid_value_text(s: &str) -> bool {
    s.bytes()
        .all(|b| (0x20..0x7F).contains(&b) && !matches!(b, b'(' | b')' | b'*' | b'/' | b'!'))
}

impl IecMeter {
    /// A meter of this profile, configured by `spec` (the common options) and `options` (the
    /// IEC 62056-21 ones, read from `spec.options`).
    pub fn new(
        profile: &'static IecProfile,
        spec: &MeterSpec,
        options: &IecOptions,
        seed: Seed,
    ) -> Result<Self, SpecError> {
        let clock = spec.clock()?;
        let mut identification = IdentificationRepr::from_line(
            options
                .identification
                .as_deref()
                .unwrap_or(profile.identification),
        )
        .map_err(|e| {
            bad(
                "identification",
                format!("{e}: write `XXXZ[\\W]ident` (no `/`, `!` or control characters)"),
            )
        })?;
        let push = profile.push.is_some();
        if let Some(announce) = options.announce_mode_e {
            if push || !identification.baud_char.is_ascii_digit() {
                return Err(bad(
                    "announce_mode_e",
                    "only a mode C/E meter (baud character 0–6) can announce HDLC",
                ));
            }
            identification.enhanced = announce.then_some(b'2');
        }
        let mode = ProtocolMode::announced(&identification, push);
        if let Some(baud) = options.max_baud {
            let z = match mode {
                ProtocolMode::B | ProtocolMode::C | ProtocolMode::E => char_of_baud(mode, baud),
                ProtocolMode::A | ProtocolMode::D => {
                    return Err(bad("max_baud", "mode A and D meters do not switch baud"))
                }
            };
            identification.baud_char = z.ok_or_else(|| {
                bad(
                    "max_baud",
                    format!("{baud} Bd has no baud character in mode {mode:?}"),
                )
            })?;
        }
        let offered_baud = baud_of_char(mode, identification.baud_char).unwrap_or(300);

        let request_response = !push;
        let programming = matches!(mode, ProtocolMode::C | ProtocolMode::E);
        let checks = [
            (
                "interval",
                spec.interval.is_some(),
                push,
                "only mode D meters push",
            ),
            (
                "address",
                options.address.is_some(),
                request_response,
                "a mode D meter takes no request",
            ),
            (
                "password",
                options.password.is_some(),
                programming,
                "only mode C and E meters have programming mode",
            ),
            (
                "reaction_ms",
                options.reaction_ms.is_some(),
                request_response,
                "a mode D meter does not answer",
            ),
            (
                "switch_delay_ms",
                options.switch_delay_ms.is_some(),
                matches!(mode, ProtocolMode::B | ProtocolMode::C | ProtocolMode::E),
                "only modes B, C and E switch baud",
            ),
            (
                "inactivity_s",
                options.inactivity_s.is_some(),
                programming,
                "only mode C and E meters have programming mode",
            ),
            (
                "echo",
                options.echo.is_some(),
                request_response,
                "nothing is sent to a mode D meter",
            ),
            (
                "junk_after_etx",
                options.junk_after_etx.is_some(),
                request_response,
                "a mode D push has no ETX",
            ),
            (
                "solar_w",
                options.solar_w.is_some(),
                profile.layout != Layout::Kamstrup66,
                "a heat meter has no solar export",
            ),
            (
                "three_phase",
                options.three_phase.is_some(),
                profile.layout != Layout::Kamstrup66,
                "a heat meter has no phases",
            ),
        ];
        if let Some((option, _, _, why)) = checks.iter().find(|(_, set, ok, _)| *set && !*ok) {
            return Err(bad(option, format!("{}: {why}", profile.name)));
        }

        let meter_number = options
            .equipment_id
            .clone()
            .unwrap_or_else(|| profile.meter_number.to_string());
        if meter_number.is_empty() || meter_number.len() > 32 || !valid_value_text(&meter_number) {
            return Err(bad(
                "equipment_id",
                "1 to 32 printable characters, none of ( ) * / !",
            ));
        }
        let address = match &options.address {
            Some(a) => a.clone(),
            None => meter_number
                .chars()
                .filter(|c| c.is_ascii_alphanumeric())
                .collect(),
        };
        if address.len() > 32
            || !address
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b' ')
        {
            return Err(bad("address", "up to 32 characters A–Z, a–z, 0–9 or blank"));
        }
        let password = match &options.password {
            Some(p) if p.is_empty() => None,
            Some(p) if valid_value_text(p) && p.len() <= 32 => Some(p.clone()),
            Some(_) => {
                return Err(bad(
                    "password",
                    "up to 32 printable characters, none of ( ) * / !",
                ))
            }
            None => profile.password.map(str::to_string),
        };
        let inactivity_s = options.inactivity_s.unwrap_or(DEFAULT_INACTIVITY_S);
        if inactivity_s == 0 {
            return Err(bad("inactivity_s", "must be longer than zero"));
        }
        let interval_ns = match profile.push {
            Some(p) => spec.interval_ns()?.unwrap_or(p.interval_s * NS_PER_S),
            None => 0,
        };
        let default_reaction = if identification.fast_reaction() {
            FAST_REACTION_MS
        } else {
            DEFAULT_REACTION_MS
        };
        let (baud, format) = profile.line();
        let initial = UartConfig::new(baud, format).map_err(|e| bad("profile", e.to_string()))?;

        let config = HouseholdConfig {
            start_import_wh: profile.start_import_wh,
            start_export_wh: profile.start_export_wh,
            solar_peak_w: options.solar_w.unwrap_or(profile.solar_w),
            three_phase: options.three_phase.unwrap_or(true),
            ..HouseholdConfig::default()
        };
        let house = Household::new(config, clock, seed);
        let mut rng = seed.derive("iec-meter").rng();
        let start = clock.local(0).local;
        let month_start =
            NaiveDate::from_ymd_opt(start.year(), start.month(), 1).unwrap_or(start.date());
        let days = u64::from(start.day());
        let reg = house.registers();
        let mut before = |wh: u64, per_day: u64| {
            wh.saturating_sub(days * rng.range_inclusive(per_day / 2, per_day))
        };
        let billing = BillingSnapshot {
            count: 19,
            date: month_start,
            import_wh: [
                before(reg.import_wh(1), 6_000),
                before(reg.import_wh(2), 4_000),
            ],
            export_wh: [
                before(reg.export_wh(1), 1_000),
                before(reg.export_wh(2), 200),
            ],
            reactive_varh: before(reg.reactive_varh(0), 500),
        };
        let peak_back = Duration::minutes(15 * rng.range_inclusive(4, 4 * 48) as i64);
        let peak_at = start - peak_back;
        let peak_at = peak_at
            .with_minute(peak_at.minute() / 15 * 15)
            .and_then(|t| t.with_second(0))
            .unwrap_or(peak_at);
        let demand_peak = (rng.range_inclusive(1_500, 6_500), peak_at);
        let gas_start_l = house.gas_l();

        Ok(IecMeter {
            profile,
            mode,
            identification,
            offered_baud,
            initial,
            current: initial,
            uart_change: None,
            clock,
            clock_offset_s: 0,
            house,
            rng,
            meter_number,
            address,
            password,
            reaction_ns: options.reaction_ms.unwrap_or(default_reaction) * NS_PER_MS,
            switch_delay_ns: options.switch_delay_ms.unwrap_or(DEFAULT_SWITCH_DELAY_MS) * NS_PER_MS,
            inactivity_ns: inactivity_s * NS_PER_S,
            echo: options.echo.unwrap_or(false),
            junk_7f: options.junk_7f.unwrap_or(0),
            junk_after_etx: options.junk_after_etx.unwrap_or(0),
            interval_ns,
            next_push_ns: 0,
            state: State::Idle,
            rx: Rx::default(),
            tx_free_ns: 0,
            gas_start_l,
            billing,
            demand_peak,
        })
    }

    /// The protocol mode the meter's identification announces.
    pub fn mode(&self) -> ProtocolMode {
        self.mode
    }

    /// The identification the meter sends.
    pub fn identification(&self) -> &IdentificationRepr {
        &self.identification
    }

    /// Puts a message on the line no earlier than `at_ns` and after what the meter sent before;
    /// returns when it starts and ends.
    fn send(
        &mut self,
        out: &mut Vec<Emission>,
        at_ns: u64,
        bytes: Vec<u8>,
        truth: Vec<Reading>,
    ) -> (u64, u64) {
        let start = at_ns.max(self.tx_free_ns);
        let end = start + (bytes.len() as f64 * self.current.char_time_ns()).ceil() as u64;
        self.tx_free_ns = end;
        out.push(Emission {
            at_ns: start,
            bytes,
            truth,
        });
        (start, end)
    }

    /// Switches both directions of the meter's UART to `baud` at `at_ns`.
    fn switch(&mut self, at_ns: u64, baud: u32) {
        if baud != self.current.baud {
            self.current = UartConfig {
                baud,
                ..self.current
            };
            self.uart_change = Some((at_ns, self.current));
        }
    }

    /// Back to the start state (300 Bd) at `at_ns`.
    fn reset(&mut self, at_ns: u64) {
        self.state = State::Idle;
        self.rx.clear();
        self.switch(at_ns, self.initial.baud);
    }

    fn junk(&mut self, n: u8) -> Vec<u8> {
        (0..n)
            .map(|_| {
                let b = self.rng.byte() & 0x7F;
                if matches!(
                    b,
                    SOH | STX | ETX | EOT | ACK | NAK | b'/' | b'!' | b'\r' | b'\n'
                ) {
                    0x7F
                } else {
                    b
                }
            })
            .collect()
    }

    /// The meter's own local time (its clock may have been set with `W1`).
    fn local(&self, at_ns: u64) -> NaiveDateTime {
        self.clock.local(at_ns).local + Duration::seconds(self.clock_offset_s)
    }

    fn advance(&mut self, at_ns: u64) {
        let clock = self.clock;
        let layout = self.profile.layout;
        self.house.advance(at_ns, move |ms| {
            let t = clock.local(ms * NS_PER_MS);
            let day = !t.weekend() && (7..20).contains(&t.hour());
            layout::tariff(layout, day)
        });
    }

    /// The data sets of a readout at `at_ns`, in the modelled meter's order.
    fn data_sets(&mut self, at_ns: u64) -> Vec<DataSet> {
        self.advance(at_ns);
        let snapshot = Snapshot {
            registers: self.house.registers(),
            phases: self.house.phases(),
            meter_number: &self.meter_number,
            local: self.local(at_ns),
            billing: self.billing,
            demand_peak: self.demand_peak,
            gas_l: self.house.gas_l().saturating_sub(self.gas_start_l),
            at_ns,
        };
        layout::data_sets(self.profile.layout, &snapshot)
    }

    /// Every register a read command can reach: the readout's data sets plus the clock
    /// (`0.9.1` time `hh:mm:ss`, `0.9.2` date `YY-MM-DD`) where the readout lacks them.
    fn registers(&mut self, at_ns: u64) -> Vec<DataSet> {
        let mut sets = self.data_sets(at_ns);
        let local = self.local(at_ns);
        for (address, text) in [
            (
                Address::numeric(0, 9, 1),
                local.format("%H:%M:%S").to_string(),
            ),
            (
                Address::numeric(0, 9, 2),
                local.format("%y-%m-%d").to_string(),
            ),
        ] {
            if !sets
                .iter()
                .any(|s| s.address().map(|a| a.obis()) == Some(address.obis()))
            {
                sets.push(DataSet::text(address, &text));
            }
        }
        sets
    }

    /// The reading a data message of these data sets encodes.
    fn reading(&self, sets: &[DataSet], at_ns: u64) -> Reading {
        let mut r = Reading::new(Protocol::Iec62056_21);
        r.meter_id = meter_id(sets)
            .or_else(|| Some(self.identification.ident.clone()).filter(|i| !i.is_empty()));
        let has = |id: [u8; 6]| {
            sets.iter()
                .any(|s| s.address().is_some_and(|a| a.obis().0 == id))
        };
        if has([1, 0, 0, 9, 1, 255]) && has([1, 0, 0, 9, 2, 255]) {
            r.time = Some(self.local(at_ns).format("%Y-%m-%dT%H:%M:%S").to_string());
        }
        r.values = sets.iter().map(|s| s.value.clone()).collect();
        r
    }

    /// The data message at `at_ns` and its reading.
    fn readout(&mut self, at_ns: u64) -> (Vec<u8>, Reading) {
        let sets = self.data_sets(at_ns);
        let reading = self.reading(&sets, at_ns);
        let message = DataMessageRepr {
            lines: sets.iter().map(|s| vec![s.repr.clone()]).collect(),
            bang_on_last_line: self.profile.layout == Layout::Kamstrup66,
        };
        let mut bytes = Vec::new();
        message.emit(&mut bytes);
        let junk = self.junk(self.junk_after_etx);
        bytes.extend(junk);
        (bytes, reading)
    }

    /// A mode D push at `at_ns` and its reading.
    fn mode_d_push(&mut self, at_ns: u64) -> (Vec<u8>, Reading) {
        let sets = self.data_sets(at_ns);
        let reading = self.reading(&sets, at_ns);
        let push = PushRepr {
            identification: self.identification.clone(),
            lines: sets.iter().map(|s| vec![s.repr.clone()]).collect(),
        };
        let mut bytes = vec![0x7F; usize::from(self.junk_7f)];
        push.emit(&mut bytes);
        (bytes, reading)
    }

    fn next_event(&self) -> Option<(u64, Event)> {
        match self.state {
            State::Idle if self.mode == ProtocolMode::D => Some((self.next_push_ns, Event::Push)),
            State::Idle => None,
            State::AwaitOption { deadline_ns } => Some((deadline_ns, Event::Readout)),
            State::ReadoutDue { at_ns } => Some((at_ns, Event::Readout)),
            State::ProgrammingOpen { at_ns } => Some((at_ns, Event::OpenProgramming)),
            // At 300 Bd nothing changes on the line: the time-out is applied when the next
            // character comes.
            State::Programming { deadline_ns, .. } if self.current.baud != self.initial.baud => {
                Some((deadline_ns, Event::Inactivity))
            }
            State::Programming { .. } => None,
        }
    }

    /// Time-outs a driver did not deliver through `push` before this character.
    fn expire(&mut self, now_ns: u64) {
        match self.state {
            State::Programming { deadline_ns, .. } if now_ns > deadline_ns => {
                self.reset(deadline_ns)
            }
            State::AwaitOption { deadline_ns } if now_ns > deadline_ns => self.state = State::Idle,
            _ => {}
        }
    }

    fn on_request(&mut self, now_ns: u64, line: &[u8], out: &mut Vec<Emission>) {
        let Ok(request) = RequestRepr::parse(line) else {
            return;
        };
        if !request.addresses(&self.address) {
            return;
        }
        let mut bytes = vec![0x7F; usize::from(self.junk_7f)];
        self.identification.emit(&mut bytes);
        let (_, end) = self.send(out, now_ns + self.reaction_ns, bytes, Vec::new());
        self.state = match self.mode {
            ProtocolMode::A => State::ReadoutDue {
                at_ns: end + self.reaction_ns,
            },
            ProtocolMode::B => {
                self.switch(end, self.offered_baud);
                State::ReadoutDue {
                    at_ns: end + self.switch_delay_ns,
                }
            }
            ProtocolMode::C | ProtocolMode::E => State::AwaitOption {
                deadline_ns: end + OPTION_WAIT_NS,
            },
            ProtocolMode::D => State::Idle,
        };
    }

    fn on_option_select(&mut self, now_ns: u64, line: &[u8], out: &mut Vec<Emission>) {
        let Ok(option) = OptionSelectRepr::parse(line) else {
            // Invalid: the meter stays at 300 Bd and sends its data there.
            self.state = State::ReadoutDue {
                at_ns: now_ns + self.reaction_ns,
            };
            return;
        };
        // A rate above the one offered (or a reserved Z) is not supported: stay at 300 Bd.
        let baud = baud_of_char(ProtocolMode::C, option.baud_char)
            .filter(|&b| b <= self.offered_baud)
            .unwrap_or(self.initial.baud);
        match option.option {
            b'0' | b'1' => {
                self.switch(now_ns, baud);
                let at_ns = now_ns + self.switch_delay_ns;
                self.state = if option.option == b'0' {
                    State::ReadoutDue { at_ns }
                } else {
                    State::ProgrammingOpen { at_ns }
                };
            }
            b'2' if self.mode == ProtocolMode::E => {
                // Binary mode (HDLC) is announced but not simulated: a clear refusal at 300 Bd.
                let mut bytes = Vec::new();
                BlockRepr::error(ERROR_TEXT).emit(&mut bytes);
                self.send(out, now_ns + self.reaction_ns, bytes, Vec::new());
                self.state = State::Idle;
            }
            _ => {
                self.state = State::ReadoutDue {
                    at_ns: now_ns + self.reaction_ns,
                };
            }
        }
    }

    fn on_command(&mut self, now_ns: u64, block: &[u8], out: &mut Vec<Emission>) {
        let State::Programming { authorized, .. } = self.state else {
            return;
        };
        let reply_at = now_ns + self.reaction_ns;
        let Ok(command) = CommandRepr::parse(block) else {
            self.send(out, reply_at, vec![NAK], Vec::new());
            return;
        };
        let data = command.data.clone().unwrap_or_default();
        let data = String::from_utf8_lossy(&data).into_owned();
        let mut error = Vec::new();
        BlockRepr::error(ERROR_TEXT).emit(&mut error);
        match (command.command, command.kind) {
            (b'B', b'0' | b'1') => self.reset(now_ns),
            (b'P', b'1') => {
                let ok = match &self.password {
                    Some(pw) => data == format!("({pw})"),
                    None => true,
                };
                if ok {
                    if let State::Programming { authorized, .. } = &mut self.state {
                        *authorized = true;
                    }
                }
                self.send(out, reply_at, vec![if ok { ACK } else { NAK }], Vec::new());
            }
            (b'R', b'1') => {
                let wanted = Address::parse(data.split('(').next().unwrap_or(""));
                let set = wanted.and_then(|w| {
                    self.registers(reply_at)
                        .into_iter()
                        .find(|s| s.address().map(|a| a.obis()) == Some(w.obis()))
                });
                match set {
                    Some(set) => {
                        let mut reply = Vec::new();
                        set.repr.emit_groups(&mut reply);
                        let mut truth = Reading::new(Protocol::Iec62056_21);
                        truth.values.push(set.value);
                        let mut bytes = Vec::new();
                        BlockRepr { data: reply }.emit(&mut bytes);
                        self.send(out, reply_at, bytes, vec![truth]);
                    }
                    None => {
                        self.send(out, reply_at, error, Vec::new());
                    }
                }
            }
            (b'W', b'1') => {
                let ok = authorized && self.write(reply_at, &data);
                let reply = if ok { vec![ACK] } else { error };
                self.send(out, reply_at, reply, Vec::new());
            }
            _ => {
                self.send(out, reply_at, error, Vec::new());
            }
        }
    }

    /// `W1 address(value)`: sets the clock (`0.9.1` time, `0.9.2` date); everything else is
    /// read-only.
    fn write(&mut self, at_ns: u64, data: &str) -> bool {
        let Some((address, rest)) = data.split_once('(') else {
            return false;
        };
        let Some(value) = rest.strip_suffix(')') else {
            return false;
        };
        let Some(address) = Address::parse(address) else {
            return false;
        };
        let now = self.local(at_ns);
        let new = match address.obis().0 {
            [1, 0, 0, 9, 1, 255] => parse_time(value).map(|t| now.date().and_time(t)),
            [1, 0, 0, 9, 2, 255] => parse_date(value).map(|d| d.and_time(now.time())),
            _ => None,
        };
        match new {
            Some(new) => {
                self.clock_offset_s += (new - now).num_seconds();
                true
            }
            None => false,
        }
    }

    fn handle(&mut self, now_ns: u64, message: Incoming, out: &mut Vec<Emission>) {
        match (self.state, message) {
            (State::Programming { .. }, Incoming::Block(block)) => {
                self.on_command(now_ns, &block, out);
            }
            // A break outside programming mode ends whatever was going on.
            (_, Incoming::Block(block))
                if CommandRepr::parse(&block).is_ok_and(|c| c.command == b'B') =>
            {
                self.reset(now_ns);
            }
            (State::Idle, Incoming::Line(line)) if line.first() == Some(&b'/') => {
                self.on_request(now_ns, &line, out);
            }
            (State::AwaitOption { .. }, Incoming::Line(line)) => {
                if line.first() == Some(&ACK) {
                    self.on_option_select(now_ns, &line, out);
                } else {
                    // A new request instead of an option select: start over.
                    self.state = State::Idle;
                    self.on_request(now_ns, &line, out);
                }
            }
            _ => {}
        }
    }
}

fn parse_time(s: &str) -> Option<NaiveTime> {
    NaiveTime::parse_from_str(s, "%H:%M:%S")
        .or_else(|_| NaiveTime::parse_from_str(s, "%H%M%S"))
        .ok()
}

fn parse_date(s: &str) -> Option<NaiveDate> {
    let digits: String = s.chars().filter(|c| *c != '-').collect();
    if digits.len() != 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if s.len() != 6 && s.len() != 8 {
        return None;
    }
    let n = |i: usize| digits[i..i + 2].parse::<u32>().ok();
    NaiveDate::from_ymd_opt(2000 + i32::try_from(n(0)?).ok()?, n(2)?, n(4)?)
}

impl Meter for IecMeter {
    fn profile(&self) -> &str {
        self.profile.name
    }

    fn protocol(&self) -> Protocol {
        Protocol::Iec62056_21
    }

    fn uart(&self) -> UartConfig {
        self.current
    }

    fn next_push_ns(&self) -> Option<u64> {
        self.next_event().map(|(at, _)| at)
    }

    fn push(&mut self) -> Vec<Emission> {
        let Some((at_ns, event)) = self.next_event() else {
            return Vec::new();
        };
        let mut out = Vec::new();
        match event {
            Event::Push => {
                let (bytes, truth) = self.mode_d_push(at_ns);
                self.send(&mut out, at_ns, bytes, vec![truth]);
                self.next_push_ns = at_ns + self.interval_ns;
            }
            Event::Readout => {
                let (bytes, truth) = self.readout(at_ns);
                let (_, end) = self.send(&mut out, at_ns, bytes, vec![truth]);
                self.state = State::Idle;
                self.switch(end, self.initial.baud);
            }
            Event::OpenProgramming => {
                let mut bytes = Vec::new();
                CommandRepr::new(b'P', b'0', b"()").emit(&mut bytes);
                let (_, end) = self.send(&mut out, at_ns, bytes, Vec::new());
                self.state = State::Programming {
                    authorized: self.password.is_none(),
                    deadline_ns: end + self.inactivity_ns,
                };
            }
            Event::Inactivity => self.reset(at_ns),
        }
        out
    }

    fn receive(&mut self, now_ns: u64, bytes: &[u8]) -> Vec<Emission> {
        let mut out = Vec::new();
        for &byte in bytes {
            if self.echo {
                // The optical head reflects the character as it arrives, whatever the meter
                // itself is doing.
                let end = now_ns + self.current.char_time_ns().ceil() as u64;
                self.tx_free_ns = self.tx_free_ns.max(end);
                out.push(Emission {
                    at_ns: now_ns,
                    bytes: vec![byte],
                    truth: Vec::new(),
                });
            }
            if self.mode == ProtocolMode::D {
                continue;
            }
            self.expire(now_ns);
            match &mut self.state {
                State::AwaitOption { deadline_ns } => *deadline_ns = now_ns + OPTION_WAIT_NS,
                State::Programming { deadline_ns, .. } => {
                    *deadline_ns = now_ns + self.inactivity_ns;
                }
                _ => {}
            }
            if let Some(message) = self.rx.push(now_ns, byte) {
                self.handle(now_ns, message, &mut out);
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

    #[test]
    fn test_rx_framing() {
        let mut rx = Rx::default();
        let mut got = Vec::new();
        for (i, &b) in b"\r\nxx/?!\r\n\x06050\r\n\x01R1\x021.8.0()\x03Z"
            .iter()
            .enumerate()
        {
            if let Some(m) = rx.push(i as u64 * NS_PER_MS, b) {
                got.push(m);
            }
        }
        assert_eq!(
            got,
            [
                Incoming::Line(b"/?!\r\n".to_vec()),
                Incoming::Line(b"\x06050\r\n".to_vec()),
                Incoming::Block(b"\x01R1\x021.8.0()\x03Z".to_vec()),
            ]
        );
        // Characters too far apart end a message.
        assert_eq!(rx.push(0, b'/'), None);
        assert_eq!(rx.push(INTER_CHAR_NS + 1, b'?'), None);
        assert_eq!(rx.push(INTER_CHAR_NS + 2, b'!'), None);
        assert!(rx.buf.is_empty());
    }

    #[test]
    fn test_clock_values() {
        assert_eq!(parse_time("12:34:56"), NaiveTime::from_hms_opt(12, 34, 56));
        assert_eq!(parse_time("123456"), NaiveTime::from_hms_opt(12, 34, 56));
        assert_eq!(parse_time("25:00:00"), None);
        assert_eq!(parse_date("25-02-28"), NaiveDate::from_ymd_opt(2025, 2, 28));
        assert_eq!(parse_date("250228"), NaiveDate::from_ymd_opt(2025, 2, 28));
        assert_eq!(parse_date("25-02-30"), None);
        assert_eq!(parse_date("2025-02-28"), None);
    }
}
