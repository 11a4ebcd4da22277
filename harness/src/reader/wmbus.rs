//! The reference host of a wireless M-Bus receiver dongle (`wmbus.md` §3, §4): the start-up
//! exchange as wmbusmeters runs it with each stick type, then listening; every byte after the
//! start-up goes to the reference decoder (which tells the stick's framing from the bytes).
//!
//! | stick | start-up (host → stick, how the host waits) |
//! |---|---|
//! | iM871A | `A5 01 0F 00` and `A5 01 05 00` (detection: one read 100 ms later each), `A5 01 05 00`, `A5 01 0F 00`, `A5 01 03 06 00 02 <mode> 30 01 00` (each: until the answer, at most 5 s) |
//! | AMB8465 | `FF 0A 02 00 80 77` twice (detection: up to 3 reads 100 ms apart, 126 bytes, XOR), `FF 04 01 <mode> CS` (until `FF 84 …`, 5 s) |
//! | CUL | `V\r\n` (up to 3 tries, one read 200 ms later; a line with `CUL`), `brt\r\n`/`brc\r\n`/`brs\r\n` (until `TMODE`/`CMODE`/`SMODE`, 5 s), `X21\r\n` (no answer) |
//! | rtl_wmbus | nothing: it only prints lines |
//!
//! A stick that does not answer in time is reported (`no_answer`, the host gives up, as
//! wmbusmeters does); `reopen_at` closes and reopens the port at these times and runs the
//! start-up again (a stick that was unplugged forgets its link mode). The commands are written
//! here from the notes, not taken from the simulator's sticks.

use meterlab_decoder::{Message, StreamDecoder};
use meterlab_sim::clock::{parse_duration, NS_PER_MS, NS_PER_S};
use meterlab_sim::wmbus::DongleKind;
use serde::Deserialize;

use super::{Action, Reader};

/// `reader.wmbus` of a scenario: how the host sets up its stick.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DongleHostSpec {
    /// The link mode the host sets: `t1`, `c1`, `s1`, `s1m` or `c1,t1` (default: `t1` for the
    /// iM871A and the CUL, `c1,t1` for the AMB8465; rtl_wmbus takes none).
    #[serde(default)]
    pub link_mode: Option<String>,
    /// The host's detection reads, ms after each detection command (default: wmbusmeters'
    /// 100 ms, 200 ms for a CUL).
    #[serde(default)]
    pub detect_read_ms: Option<u64>,
    /// Times (`60s`) the host closes and reopens the port and runs the start-up again.
    #[serde(default)]
    pub reopen_at: Vec<String>,
}

/// Longest a host waits for an answer outside detection (wmbusmeters' semaphore), ns.
pub const ANSWER_TIMEOUT_NS: u64 = 5 * NS_PER_S;

/// How the host waits for an answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Wait {
    /// Reads this long after sending, `tries` times in all; `resend`: sends the command again
    /// before each further read (else the reads add up what came).
    ReadAfter { ns: u64, tries: u32, resend: bool },
    /// Takes the answer as soon as it is complete, at most [`ANSWER_TIMEOUT_NS`].
    Until,
    /// Expects no answer.
    Nothing,
}

/// What answer a command wants.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Expect {
    /// An iM871A HCI frame on endpoint 1 with this message id.
    Hci { msg_id: u8 },
    /// An Amber command-mode frame with this command byte (and, if given, this total length).
    Amber { cmd: u8, len: Option<usize> },
    /// A CUL line containing this text.
    Line(&'static str),
    /// Nothing.
    Nothing,
}

/// One command of the start-up.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Step {
    what: &'static str,
    send: Vec<u8>,
    expect: Expect,
    wait: Wait,
}

/// A link mode the host sets, as each stick's byte or command.
fn link_mode_setting(kind: DongleKind, mode: &str) -> Result<Vec<u8>, String> {
    let bad = |known: &str| {
        Err(format!(
            "link mode {mode:?} cannot be set on a {}: {known}",
            kind.name()
        ))
    };
    match kind {
        DongleKind::Im871a => {
            let byte = match mode {
                "s1" => 0x00,
                "s1m" => 0x01,
                "t1" => 0x03,
                "c1" => 0x07,
                "c1,t1" | "t1,c1" => 0x0A,
                _ => return bad("s1, s1m, t1, c1, c1,t1"),
            };
            Ok(vec![
                0xA5, 0x01, 0x03, 0x06, 0x00, 0x02, byte, 0x30, 0x01, 0x00,
            ])
        }
        DongleKind::Amb8465 => {
            let byte = match mode {
                "s1" | "s1m" => 0x03,
                "t1" => 0x08,
                "c1" => 0x0E,
                "c1,t1" | "t1,c1" => 0x09,
                _ => return bad("s1, t1, c1, c1,t1"),
            };
            let mut cmd = vec![0xFF, 0x04, 0x01, byte];
            cmd.push(xor(&cmd));
            Ok(cmd)
        }
        DongleKind::Cul => match mode {
            "s1" => Ok(b"brs\r\n".to_vec()),
            "t1" => Ok(b"brt\r\n".to_vec()),
            "c1" => Ok(b"brc\r\n".to_vec()),
            _ => bad("exactly one of s1, t1, c1"),
        },
        DongleKind::Rtlwmbus => Ok(Vec::new()),
    }
}

fn xor(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0, |a, b| a ^ b)
}

/// The start-up of a stick type with this link mode.
fn startup(kind: DongleKind, spec: &DongleHostSpec) -> Result<Vec<Step>, String> {
    let mode = spec.link_mode.clone().unwrap_or_else(|| {
        match kind {
            DongleKind::Amb8465 => "c1,t1",
            _ => "t1",
        }
        .to_string()
    });
    let set = link_mode_setting(kind, &mode)?;
    let detect = |default_ms: u64, tries: u32, resend: bool| Wait::ReadAfter {
        ns: spec.detect_read_ms.unwrap_or(default_ms) * NS_PER_MS,
        tries,
        resend,
    };
    let hci = |what, id: u8, wait| Step {
        what,
        send: vec![0xA5, 0x01, id, 0x00],
        expect: Expect::Hci { msg_id: id + 1 },
        wait,
    };
    Ok(match kind {
        DongleKind::Im871a => vec![
            hci("GET_DEVICEINFO (detection)", 0x0F, detect(100, 1, false)),
            hci("GET_CONFIG (detection)", 0x05, detect(100, 1, false)),
            hci("GET_CONFIG (device id)", 0x05, Wait::Until),
            hci("GET_DEVICEINFO (firmware)", 0x0F, Wait::Until),
            Step {
                what: "SET_CONFIG (link mode)",
                send: set,
                expect: Expect::Hci { msg_id: 0x04 },
                wait: Wait::Until,
            },
        ],
        DongleKind::Amb8465 => {
            let dump = |what, wait| Step {
                what,
                send: vec![0xFF, 0x0A, 0x02, 0x00, 0x80, 0x77],
                expect: Expect::Amber {
                    cmd: 0x8A,
                    len: Some(126),
                },
                wait,
            };
            vec![
                dump(
                    "GET_REQ parameter memory (detection)",
                    detect(100, 3, false),
                ),
                dump("GET_REQ parameter memory (device id)", Wait::Until),
                Step {
                    what: "SET_MODE_REQ (link mode)",
                    send: set,
                    expect: Expect::Amber {
                        cmd: 0x84,
                        len: None,
                    },
                    wait: Wait::Until,
                },
            ]
        }
        DongleKind::Cul => {
            let reply = match mode.as_str() {
                "s1" => "SMODE",
                "c1" => "CMODE",
                _ => "TMODE",
            };
            vec![
                Step {
                    what: "V (version, detection)",
                    send: b"V\r\n".to_vec(),
                    expect: Expect::Line("CUL"),
                    wait: detect(200, 3, true),
                },
                Step {
                    what: "br? (link mode)",
                    send: set,
                    expect: Expect::Line(reply),
                    wait: Wait::Until,
                },
                Step {
                    what: "X21 (report RSSI)",
                    send: b"X21\r\n".to_vec(),
                    expect: Expect::Nothing,
                    wait: Wait::Nothing,
                },
            ]
        }
        DongleKind::Rtlwmbus => Vec::new(),
    })
}

/// The length of the complete answer `expect` wants at the start of `buf`, if it is there.
fn answer_len(buf: &[u8], expect: &Expect) -> Option<usize> {
    match expect {
        Expect::Hci { msg_id } => {
            let [0xA5, ctrl_ep, id, len, ..] = *buf else {
                return None;
            };
            let ctrl = ctrl_ep >> 4;
            let total = 4
                + usize::from(len)
                + if ctrl & 0x2 != 0 { 4 } else { 0 }
                + if ctrl & 0x4 != 0 { 1 } else { 0 }
                + if ctrl & 0x8 != 0 { 2 } else { 0 };
            (ctrl_ep & 0x0F == 0x01 && id == *msg_id && buf.len() >= total).then_some(total)
        }
        Expect::Amber { cmd, len } => {
            let [0xFF, c, n, ..] = *buf else {
                return None;
            };
            let total = 4 + usize::from(n);
            (c == *cmd
                && len.map_or(true, |l| l == total)
                && buf.len() >= total
                && xor(&buf[..total - 1]) == buf[total - 1])
                .then_some(total)
        }
        Expect::Line(text) => {
            let end = buf.windows(2).position(|w| w == b"\r\n")? + 2;
            let line = &buf[..end];
            line.windows(text.len())
                .any(|w| w == text.as_bytes())
                .then_some(end)
        }
        Expect::Nothing => Some(0),
    }
}

/// Where the host is.
#[derive(Clone, Debug, PartialEq, Eq)]
enum State {
    /// Before the port is opened.
    Closed,
    /// Step `step` sent (`tries` so far); its answer is due by `deadline_ns`.
    Waiting {
        step: usize,
        tries: u32,
        deadline_ns: u64,
    },
    /// The start-up is done: everything goes to the decoder.
    Listening,
    /// The host gave up.
    Failed,
}

/// The reference host of one stick type.
pub struct DongleHost {
    kind: DongleKind,
    steps: Vec<Step>,
    reopen_ns: Vec<u64>,
    state: State,
    decoder: Box<dyn StreamDecoder + Send>,
    buf: Vec<u8>,
    received: Vec<u8>,
    fed: Vec<u8>,
    out: Vec<Message>,
    /// A start-up error found in the spec (reported when the port opens).
    spec_error: Option<String>,
    /// The firmware byte of the iM871A's device info (C+T needs ≥ 0x14).
    firmware: Option<u8>,
    link_mode: String,
}

/// Checks a `reader.wmbus` for a stick type; the error names what is wrong.
pub fn check(kind: DongleKind, spec: &DongleHostSpec) -> Result<(), String> {
    startup(kind, spec)?;
    for t in &spec.reopen_at {
        parse_duration(t).map_err(|e| format!("reopen_at {t:?}: {e}"))?;
    }
    Ok(())
}

impl DongleHost {
    /// A host of a `kind` stick, decoding with `decoder`.
    pub fn new(
        kind: DongleKind,
        spec: &DongleHostSpec,
        decoder: Box<dyn StreamDecoder + Send>,
    ) -> Self {
        let (steps, spec_error) = match startup(kind, spec) {
            Ok(s) => (s, None),
            Err(e) => (Vec::new(), Some(e)),
        };
        let mut reopen_ns: Vec<u64> = spec
            .reopen_at
            .iter()
            .filter_map(|t| parse_duration(t).ok())
            .collect();
        reopen_ns.sort_unstable();
        reopen_ns.reverse();
        DongleHost {
            kind,
            steps,
            reopen_ns,
            state: State::Closed,
            decoder,
            buf: Vec::new(),
            received: Vec::new(),
            fed: Vec::new(),
            out: Vec::new(),
            spec_error,
            firmware: None,
            link_mode: spec.link_mode.clone().unwrap_or_default(),
        }
    }

    /// Sends step `step` (try `tries`) at `now_ns`.
    fn send_step(&mut self, now_ns: u64, step: usize, tries: u32) -> Vec<Action> {
        let Some(s) = self.steps.get(step) else {
            self.state = State::Listening;
            return self.next_reopen();
        };
        let deadline_ns = match s.wait {
            Wait::ReadAfter { ns, .. } => now_ns + ns,
            Wait::Until => now_ns + ANSWER_TIMEOUT_NS,
            Wait::Nothing => now_ns,
        };
        let mut actions = vec![Action::Send {
            at_ns: now_ns,
            bytes: s.send.clone(),
        }];
        if s.wait == Wait::Nothing {
            actions.extend(self.send_step(now_ns, step + 1, 1));
            return actions;
        }
        self.state = State::Waiting {
            step,
            tries,
            deadline_ns,
        };
        actions.push(Action::Wake { at_ns: deadline_ns });
        actions
    }

    /// A wake-up at the next reopen time, if any.
    fn next_reopen(&self) -> Vec<Action> {
        self.reopen_ns
            .last()
            .map(|&at_ns| vec![Action::Wake { at_ns }])
            .unwrap_or_default()
    }

    /// The answer of step `step` is complete at the start of the buffer: take it, go on.
    fn answered(&mut self, now_ns: u64, step: usize, len: usize) -> Vec<Action> {
        let answer: Vec<u8> = self.buf.drain(..len).collect();
        if self.kind == DongleKind::Im871a
            && matches!(self.steps[step].expect, Expect::Hci { msg_id: 0x10 })
        {
            self.firmware = answer.get(6).copied();
            // wmbusmeters sets C1 and T1 together only on firmware 0x14 and later.
            if matches!(self.link_mode.as_str(), "c1,t1" | "t1,c1")
                && self.firmware.is_some_and(|f| f < 0x14)
                && step + 1 == self.steps.len() - 1
            {
                return self.fail("protocol", format!(
                    "the iM871A's firmware 0x{:02X} cannot listen to C1 and T1 at once (needs 0x14)",
                    self.firmware.unwrap_or(0)
                ));
            }
        }
        // Whatever else came with the answer: once the start-up is over (the stick's last
        // answer), the start of the first telegram, which the host's next read hands to its
        // frame parser; before, bytes its read drops.
        let rest = std::mem::take(&mut self.buf);
        let actions = self.send_step(now_ns, step + 1, 1);
        if matches!(self.state, State::Listening) {
            self.feed(&rest);
        }
        actions
    }

    fn fail(&mut self, kind: &str, message: String) -> Vec<Action> {
        self.out.push(Message::error(kind, message, None));
        self.state = State::Failed;
        self.next_reopen()
    }

    fn feed(&mut self, bytes: &[u8]) {
        self.fed.extend_from_slice(bytes);
        self.decoder.feed(bytes, &mut self.out);
    }

    /// The port closed and opened again at `now_ns`: the start-up from the beginning.
    fn reopen(&mut self, now_ns: u64) -> Vec<Action> {
        self.reopen_ns.pop();
        self.buf.clear();
        self.open(now_ns)
    }

    fn open(&mut self, now_ns: u64) -> Vec<Action> {
        if let Some(e) = self.spec_error.clone() {
            self.out.push(Message::error("protocol", e, None));
            self.state = State::Failed;
            return vec![Action::Done];
        }
        self.send_step(now_ns, 0, 1)
    }
}

impl Reader for DongleHost {
    fn start(&mut self, now_ns: u64) -> Vec<Action> {
        self.open(now_ns)
    }

    fn receive(&mut self, now_ns: u64, bytes: &[u8]) -> Vec<Action> {
        self.received.extend_from_slice(bytes);
        match self.state.clone() {
            State::Listening => {
                self.feed(bytes);
                Vec::new()
            }
            State::Waiting { step, .. } => {
                self.buf.extend_from_slice(bytes);
                if self.steps[step].wait == Wait::Until {
                    if let Some(len) = answer_len(&self.buf, &self.steps[step].expect) {
                        return self.answered(now_ns, step, len);
                    }
                }
                Vec::new()
            }
            State::Closed | State::Failed => Vec::new(),
        }
    }

    fn wake(&mut self, now_ns: u64) -> Vec<Action> {
        if self.reopen_ns.last().is_some_and(|&t| t <= now_ns) {
            return self.reopen(now_ns);
        }
        let State::Waiting {
            step,
            tries,
            deadline_ns,
        } = self.state.clone()
        else {
            return Vec::new();
        };
        if now_ns < deadline_ns {
            return Vec::new();
        }
        if let Some(len) = answer_len(&self.buf, &self.steps[step].expect) {
            return self.answered(now_ns, step, len);
        }
        match self.steps[step].wait {
            Wait::ReadAfter {
                tries: most,
                resend: true,
                ..
            } if tries < most => {
                self.buf.clear();
                self.send_step(now_ns, step, tries + 1)
            }
            Wait::ReadAfter {
                ns,
                tries: most,
                resend: false,
            } if tries < most => {
                let deadline_ns = now_ns + ns;
                self.state = State::Waiting {
                    step,
                    tries: tries + 1,
                    deadline_ns,
                };
                vec![Action::Wake { at_ns: deadline_ns }]
            }
            _ => {
                let what = self.steps[step].what;
                let waited = match self.steps[step].wait {
                    Wait::ReadAfter { ns, .. } => format!("{} ms", ns / NS_PER_MS),
                    _ => format!("{} s", ANSWER_TIMEOUT_NS / NS_PER_S),
                };
                let got = if self.buf.is_empty() {
                    "nothing".to_string()
                } else {
                    format!("{} bytes that are not the answer", self.buf.len())
                };
                self.fail(
                    "no_answer",
                    format!(
                        "{} {what}: {got} within {waited} ({} reads); the host gives up",
                        self.kind.name(),
                        tries
                    ),
                )
            }
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

    #[test]
    fn answers_are_recognised_whole() {
        let info = [
            0xA5, 0x81, 0x10, 0x08, 0x33, 0x00, 0x13, 0x01, 0xF1, 0x3A, 0x00, 0x00, 0x53, 0xD9,
        ];
        assert_eq!(answer_len(&info, &Expect::Hci { msg_id: 0x10 }), Some(14));
        assert_eq!(answer_len(&info[..13], &Expect::Hci { msg_id: 0x10 }), None);
        assert_eq!(answer_len(&info, &Expect::Hci { msg_id: 0x06 }), None);
        let ok = [0xFF, 0x84, 0x01, 0x00, 0x7A];
        let amber = |len| Expect::Amber { cmd: 0x84, len };
        assert_eq!(answer_len(&ok, &amber(None)), Some(5));
        assert_eq!(answer_len(&ok, &amber(Some(126))), None);
        assert_eq!(
            answer_len(&[0xFF, 0x84, 0x01, 0x00, 0x7B], &amber(None)),
            None
        );
        assert_eq!(
            answer_len(b"V 1.67 nanoCUL868\r\n", &Expect::Line("CUL")),
            Some(19)
        );
        assert_eq!(answer_len(b"V 1.67 nanoCUL868", &Expect::Line("CUL")), None);
    }

    #[test]
    fn link_modes_per_stick() {
        assert_eq!(
            link_mode_setting(DongleKind::Amb8465, "t1"),
            Ok(vec![0xFF, 0x04, 0x01, 0x08, 0xF2])
        );
        assert_eq!(
            link_mode_setting(DongleKind::Amb8465, "c1,t1"),
            Ok(vec![0xFF, 0x04, 0x01, 0x09, 0xF3])
        );
        assert!(link_mode_setting(DongleKind::Cul, "c1,t1").is_err());
        assert!(link_mode_setting(DongleKind::Im871a, "x9").is_err());
        let spec = DongleHostSpec {
            reopen_at: vec!["soon".into()],
            ..DongleHostSpec::default()
        };
        assert!(check(DongleKind::Cul, &spec).is_err());
    }
}
