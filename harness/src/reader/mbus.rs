//! The reference wired M-Bus master (EN 13757-2 link layer, EN 13757-3 application layer).
//!
//! It runs a scripted sequence of requests the way master tools do (libmbus' `mbus-serial-*`
//! programs, pyMeterBus): SND_NKE, REQ_UD2 with the FCB rules (toggled after every good reply,
//! repeated after a failure, reset by SND_NKE), reading a multi-telegram answer to its end,
//! secondary selection with wildcards, a secondary scan that descends digit by digit on
//! collisions, a primary scan, the baud switch (CI B8–BF), setting a primary address, application
//! reset, and wake-up zeros before a request. Every RSP_UD goes to the reference M-Bus decoder;
//! what goes wrong on the link is reported: `no_answer`, `collision`.

use std::collections::BTreeMap;

use meterlab_decoder::mbus::frame::{FrameKind, FrameRepr};
use meterlab_decoder::{Message, StreamDecoder};
use meterlab_sim::clock::{parse_duration, NS_PER_MS};
use meterlab_sim::line::UartConfig;
use serde::{Deserialize, Deserializer};

use super::{Action, Reader};

const ACK: u8 = 0xE5;
const SND_NKE: u8 = 0x40;
const SND_UD: u8 = 0x53;
const REQ_UD2: u8 = 0x5B;
const FCB: u8 = 0x20;
const FCV: u8 = 0x10;
/// The address of the selected slave (secondary addressing).
pub const SELECTED: u8 = 253;

/// One request (or procedure) of the master's script.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// SND_NKE (link reset): expects `E5`.
    SndNke {
        /// Primary address (253 = the selected slave).
        address: u8,
    },
    /// REQ_UD2: expects an RSP_UD. `toggle: false` sends the same FCB as the last request
    /// (a master that does not toggle).
    ReqUd2 {
        /// Primary address.
        address: u8,
        /// Toggle the FCB (default), or repeat the last one.
        toggle: bool,
    },
    /// REQ_UD2 with toggling FCB until a telegram no longer says "more records follow" (DIF
    /// 0x1F), at most `max` telegrams.
    ReadAll {
        /// Primary address.
        address: u8,
        /// Most telegrams to ask for.
        max: u32,
    },
    /// Secondary select: 16 hex digits `IIIIIIIIMMMMVVDD` (id, manufacturer, version, medium),
    /// `F` wildcards; 8 digits select by id alone.
    Select {
        /// The secondary address pattern.
        id: String,
    },
    /// A secondary scan: descend digit by digit with wildcards, read every slave found.
    ScanSecondary,
    /// SND_NKE to each primary address in the range; read every slave that answers.
    ScanPrimary {
        /// First address.
        from: u8,
        /// Last address.
        to: u8,
    },
    /// Switch the slave (and then the master) to another baud rate (CI B8–BF).
    SetBaud {
        /// Primary address.
        address: u8,
        /// The new rate (300…38400).
        baud: u32,
    },
    /// Give the slave a new primary address (SND_UD, `01 7A nn`).
    SetAddress {
        /// Current primary address.
        address: u8,
        /// The new one.
        new: u8,
    },
    /// Application reset (CI 0x50).
    ApplicationReset {
        /// Primary address.
        address: u8,
    },
    /// Send this many 0x00 wake-up bytes in front of the next request.
    Wakeup {
        /// How many.
        zeros: usize,
    },
}

impl<'de> Deserialize<'de> for Step {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        // serde_yaml 0.9 reads externally tagged enums only from `!tags`; scenario files write
        // a one-key map (`- req_ud2: { address: 5 }`), so read that by hand.
        let map = BTreeMap::<String, serde_yaml::Value>::deserialize(d)?;
        let mut it = map.into_iter();
        let (Some((name, body)), None) = (it.next(), it.next()) else {
            return Err(D::Error::custom(
                "a master step is a map with one key, e.g. `- req_ud2: { address: 5 }`",
            ));
        };
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Addr {
            address: u8,
        }
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Req {
            address: u8,
            #[serde(default = "yes")]
            toggle: bool,
        }
        fn yes() -> bool {
            true
        }
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct ReadAll {
            address: u8,
            #[serde(default = "ten")]
            max: u32,
        }
        fn ten() -> u32 {
            10
        }
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Select {
            id: String,
        }
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Range {
            from: u8,
            to: u8,
        }
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Baud {
            address: u8,
            baud: u32,
        }
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct SetAddress {
            address: u8,
            new: u8,
        }
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Wakeup {
            zeros: usize,
        }
        let v = |e: serde_yaml::Error| D::Error::custom(format!("{name}: {e}"));
        let body = if body.is_null() {
            serde_yaml::Value::Mapping(Default::default())
        } else {
            body
        };
        Ok(match name.as_str() {
            "snd_nke" => Step::SndNke { address: serde_yaml::from_value::<Addr>(body).map_err(v)?.address },
            "req_ud2" => {
                let r: Req = serde_yaml::from_value(body).map_err(v)?;
                Step::ReqUd2 { address: r.address, toggle: r.toggle }
            }
            "read_all" => {
                let r: ReadAll = serde_yaml::from_value(body).map_err(v)?;
                Step::ReadAll { address: r.address, max: r.max }
            }
            "select" => {
                let s: Select = serde_yaml::from_value(body).map_err(v)?;
                if secondary_pattern(&s.id).is_none() {
                    return Err(D::Error::custom(format!("select: {:?} is not 8 or 16 hex digits", s.id)));
                }
                Step::Select { id: s.id }
            }
            "scan_secondary" => Step::ScanSecondary,
            "scan_primary" => {
                let r: Range = serde_yaml::from_value(body).map_err(v)?;
                Step::ScanPrimary { from: r.from, to: r.to }
            }
            "set_baud" => {
                let b: Baud = serde_yaml::from_value(body).map_err(v)?;
                if baud_ci(b.baud).is_none() {
                    return Err(D::Error::custom(format!("set_baud: {} is not one of 300…38400", b.baud)));
                }
                Step::SetBaud { address: b.address, baud: b.baud }
            }
            "set_address" => {
                let s: SetAddress = serde_yaml::from_value(body).map_err(v)?;
                Step::SetAddress { address: s.address, new: s.new }
            }
            "application_reset" => Step::ApplicationReset { address: serde_yaml::from_value::<Addr>(body).map_err(v)?.address },
            "wakeup" => Step::Wakeup { zeros: serde_yaml::from_value::<Wakeup>(body).map_err(v)?.zeros },
            other => {
                return Err(D::Error::custom(format!(
                    "unknown master step `{other}`; known: snd_nke, req_ud2, read_all, select, scan_secondary, scan_primary, set_baud, set_address, application_reset, wakeup"
                )))
            }
        })
    }
}

/// The master's script and timing.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MbusMasterSpec {
    /// The requests, in order.
    pub steps: Vec<Step>,
    /// How long to wait for a reply after the request's last character. Default: the standard's
    /// window, 330 bit times + 50 ms (a strict master); libmbus waits about 300 ms at 2400 baud.
    #[serde(default, deserialize_with = "de_duration_opt")]
    pub timeout: Option<u64>,
    /// Pause between a reply (or time-out) and the next request.
    #[serde(default, deserialize_with = "de_duration_opt")]
    pub pause: Option<u64>,
}

fn de_duration_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let s: Option<String> = Option::deserialize(d)?;
    s.map(|s| parse_duration(&s).map_err(serde::de::Error::custom))
        .transpose()
}

/// CI of the baud switch to `baud`.
fn baud_ci(baud: u32) -> Option<u8> {
    [300, 600, 1200, 2400, 4800, 9600, 19200, 38400]
        .iter()
        .position(|&b| b == baud)
        .map(|i| 0xB8 + i as u8)
}

/// The 8 select bytes of a secondary address pattern: id (4 bytes BCD, LSB first, `F` nibbles
/// wild), manufacturer (2 bytes LE), version, medium (`FF` wild).
pub fn secondary_pattern(id: &str) -> Option<[u8; 8]> {
    let id = if id.len() == 8 {
        format!("{id}FFFFFFFF")
    } else {
        id.to_string()
    };
    if id.len() != 16 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let nib = |i: usize| u8::from_str_radix(&id[i..i + 1], 16).ok();
    let byte = |i: usize| u8::from_str_radix(&id[i..i + 2], 16).ok();
    let mut out = [0u8; 8];
    // Id digits d0..d7 (most significant first) → bytes LSB first.
    for (k, slot) in out.iter_mut().take(4).enumerate() {
        *slot = nib(6 - 2 * k)? << 4 | nib(7 - 2 * k)?;
    }
    // Manufacturer as written (`2D2C`) is the 16-bit value, sent little-endian.
    out[4] = byte(10)?;
    out[5] = byte(8)?;
    out[6] = byte(12)?;
    out[7] = byte(14)?;
    Some(out)
}

/// A request as bytes, emitted by the decoder's frame value (EN 13757-2 §5).
fn frame(kind: FrameKind, c: u8, a: u8, ci: Option<u8>, data: &[u8]) -> Vec<u8> {
    let repr = FrameRepr {
        kind,
        control: Some(c),
        address: Some(a),
        ci,
        data: data.to_vec(),
    };
    let mut out = Vec::with_capacity(repr.buffer_len());
    // The master's requests carry at most 8 data bytes (a secondary address): they always fit.
    if let Err(e) = repr.emit(&mut out) {
        tracing::error!("M-Bus request not sent: {e}");
    }
    out
}

fn short(c: u8, a: u8) -> Vec<u8> {
    frame(FrameKind::Short, c, a, None, &[])
}

fn long(c: u8, a: u8, ci: u8, data: &[u8]) -> Vec<u8> {
    frame(FrameKind::Long, c, a, Some(ci), data)
}

/// What the master waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    /// `E5`.
    Ack,
    /// An RSP_UD long frame.
    Data,
}

/// Work in progress: the steps still to do, expanded (scans add steps as they go).
#[derive(Clone, Debug, PartialEq, Eq)]
enum Job {
    Step(Step),
    /// Probe a secondary pattern during a scan (digits fixed so far).
    Probe(String),
    /// After a probe was acknowledged: read the selected slave(s) through address 253. A good
    /// frame means one slave; a garbled one several, so the scan descends.
    ReadProbe(String),
}

/// The reference M-Bus master.
pub struct MbusMaster {
    spec: MbusMasterSpec,
    uart: UartConfig,
    decoder: Box<dyn StreamDecoder + Send>,
    jobs: Vec<Job>,
    fcb: BTreeMap<u8, bool>,
    zeros: usize,
    waiting: Option<(Expect, u64, Job)>,
    buf: Vec<u8>,
    received: Vec<u8>,
    out: Vec<Message>,
    read_all_left: u32,
    pending_baud: Option<u32>,
    next_at: Option<u64>,
    fed: Vec<u8>,
    done: bool,
}

fn ms(v: u64) -> u64 {
    v * NS_PER_MS
}

impl MbusMaster {
    /// A master starting at `uart` (2400 8E1 per the standard) that decodes RSP_UDs with
    /// `decoder`.
    pub fn new(
        spec: MbusMasterSpec,
        uart: UartConfig,
        decoder: Box<dyn StreamDecoder + Send>,
    ) -> Self {
        let mut jobs: Vec<Job> = spec.steps.iter().cloned().map(Job::Step).collect();
        jobs.reverse();
        MbusMaster {
            spec,
            uart,
            decoder,
            jobs,
            fcb: BTreeMap::new(),
            zeros: 0,
            waiting: None,
            buf: Vec::new(),
            received: Vec::new(),
            out: Vec::new(),
            read_all_left: 0,
            pending_baud: None,
            next_at: None,
            fed: Vec::new(),
            done: false,
        }
    }

    /// Hands bytes to the decoder, keeping a copy for an external decoder under test.
    fn feed_decoder(&mut self, bytes: &[u8]) {
        self.fed.extend_from_slice(bytes);
        self.decoder.feed(bytes, &mut self.out);
    }

    fn timeout_ns(&self) -> u64 {
        self.spec
            .timeout
            .unwrap_or_else(|| (330.0 * self.uart.bit_time_ns()) as u64 + ms(50))
    }

    /// Silence inside a reply after which the master takes it as ended: 33 bit times (the
    /// FT1.2 limit on gaps inside a frame) plus 20 ms for USB adapters.
    fn inter_char_ns(&self) -> u64 {
        (33.0 * self.uart.bit_time_ns()) as u64 + ms(20)
    }

    fn pause_ns(&self) -> u64 {
        self.spec.pause.unwrap_or(ms(20))
    }

    /// Sends `frame` at `at`, with any wake-up zeros first, and waits for `expect`.
    fn request(
        &mut self,
        at: u64,
        frame: Vec<u8>,
        expect: Option<Expect>,
        job: Job,
    ) -> Vec<Action> {
        let mut bytes = vec![0u8; std::mem::take(&mut self.zeros)];
        bytes.extend_from_slice(&frame);
        let end = at + (bytes.len() as f64 * self.uart.char_time_ns()).ceil() as u64;
        self.buf.clear();
        let mut actions = vec![Action::Send { at_ns: at, bytes }];
        match expect {
            Some(e) => {
                let deadline = end + self.timeout_ns();
                self.waiting = Some((e, deadline, job));
                actions.push(Action::Wake { at_ns: deadline });
            }
            None => {
                // Broadcast: no reply; go on after the pause.
                actions.push(Action::Wake {
                    at_ns: end + self.pause_ns(),
                });
            }
        }
        actions
    }

    fn next_fcb(&mut self, address: u8, toggle: bool) -> u8 {
        let bit = self.fcb.entry(address).or_insert(false);
        if toggle {
            *bit = !*bit;
        }
        if *bit {
            FCB
        } else {
            0
        }
    }

    /// Starts the next job at `now`.
    fn advance(&mut self, now: u64) -> Vec<Action> {
        let Some(job) = self.jobs.pop() else {
            self.done = true;
            return vec![Action::Done];
        };
        let frame = match &job {
            Job::Step(Step::SndNke { address }) => {
                self.fcb.remove(address);
                (short(SND_NKE, *address), Expect::Ack)
            }
            Job::Step(Step::ReqUd2 { address, toggle }) => {
                let fcb = self.next_fcb(*address, *toggle);
                (short(REQ_UD2 | fcb | FCV, *address), Expect::Data)
            }
            Job::Step(Step::ReadAll { address, max }) => {
                if self.read_all_left == 0 {
                    self.read_all_left = *max;
                }
                let fcb = self.next_fcb(*address, true);
                (short(REQ_UD2 | fcb | FCV, *address), Expect::Data)
            }
            Job::ReadProbe(_) => {
                let fcb = self.next_fcb(SELECTED, true);
                (short(REQ_UD2 | fcb | FCV, SELECTED), Expect::Data)
            }
            Job::Step(Step::Select { id }) | Job::Probe(id) => {
                let pattern = secondary_pattern(id).unwrap_or([0xFF; 8]);
                (long(SND_UD, SELECTED, 0x52, &pattern), Expect::Ack)
            }
            Job::Step(Step::ScanSecondary) => {
                // Start with everything wild; descend on collisions.
                self.jobs.push(Job::Probe("FFFFFFFFFFFFFFFF".into()));
                return self.advance(now);
            }
            Job::Step(Step::ScanPrimary { from, to }) => {
                for a in (*from..=*to).rev() {
                    self.jobs.push(Job::Step(Step::SndNke { address: a }));
                }
                // Found slaves are read as they answer (see `answered`).
                return self.advance(now);
            }
            Job::Step(Step::SetBaud { address, baud }) => {
                self.pending_baud = Some(*baud);
                (
                    long(SND_UD, *address, baud_ci(*baud).unwrap_or(0xBB), &[]),
                    Expect::Ack,
                )
            }
            Job::Step(Step::SetAddress { address, new }) => (
                long(SND_UD, *address, 0x51, &[0x01, 0x7A, *new]),
                Expect::Ack,
            ),
            Job::Step(Step::ApplicationReset { address }) => {
                (long(SND_UD, *address, 0x50, &[]), Expect::Ack)
            }
            Job::Step(Step::Wakeup { zeros }) => {
                self.zeros = *zeros;
                return self.advance(now);
            }
        };
        let (frame, expect) = frame;
        let broadcast = matches!(
            &job,
            Job::Step(Step::SndNke { address: 255 } | Step::ReqUd2 { address: 255, .. })
        );
        self.request(now, frame, (!broadcast).then_some(expect), job)
    }

    /// A complete reply to `job` arrived (or the deadline passed with `reply` garbled/empty).
    fn answered(&mut self, now: u64, job: Job, reply: Reply) -> Vec<Action> {
        let at = now + self.pause_ns();
        match (&job, &reply) {
            (Job::Step(Step::ReqUd2 { .. } | Step::ReadAll { .. }), Reply::Frame(f)) => {
                self.feed_decoder(f);
                if let Job::Step(Step::ReadAll { address, max }) = &job {
                    self.read_all_left = self.read_all_left.saturating_sub(1);
                    if more_follows(f) && self.read_all_left > 0 {
                        self.jobs.push(Job::Step(Step::ReadAll { address: *address, max: *max }));
                    } else {
                        self.read_all_left = 0;
                    }
                }
            }
            (Job::Step(Step::ReqUd2 { address, .. } | Step::ReadAll { address, .. }), _) => {
                // No good reply: the FCB is not toggled for the next try (the slave repeats).
                if let Some(b) = self.fcb.get_mut(address) {
                    *b = !*b;
                }
                self.read_all_left = 0;
                match &reply {
                    // Whatever arrived goes to the decoder, which names the damage (a cut-off
                    // frame, a checksum, colliding replies).
                    Reply::Garbled(bytes) => self.feed_decoder(bytes),
                    _ => self.report_failure(&job, &reply),
                }
            }
            (Job::Probe(pattern), Reply::Ack) => self.jobs.push(Job::ReadProbe(pattern.clone())),
            (Job::Probe(pattern), Reply::Garbled(_)) => self.descend(pattern),
            (Job::Probe(_), _) => {}
            // Colliding replies can still look like a frame (0x68 AND 0x68 is 0x68): only a
            // frame whose checksum and stop byte hold is one slave's answer.
            (Job::ReadProbe(_), Reply::Frame(f)) if frame_ok(f) => self.feed_decoder(f),
            (Job::ReadProbe(pattern), Reply::Frame(_)) => self.descend(pattern),
            (Job::ReadProbe(pattern), Reply::Garbled(_)) => self.descend(pattern),
            (Job::Step(Step::SndNke { address }), Reply::Ack) => {
                // In a primary scan every slave that acknowledges is read.
                if self.spec.steps.iter().any(|s| matches!(s, Step::ScanPrimary { from, to } if (from..=to).contains(&address))) {
                    self.jobs.push(Job::Step(Step::ReqUd2 { address: *address, toggle: true }));
                }
            }
            (Job::Step(Step::SndNke { address }), Reply::Nothing)
                if self.spec.steps.iter().any(|s| matches!(s, Step::ScanPrimary { from, to } if (from..=to).contains(&address))) => {}
            (Job::Step(Step::SetBaud { .. }), Reply::Ack) => {
                if let Some(baud) = self.pending_baud.take() {
                    self.uart = UartConfig { baud, ..self.uart };
                    let mut actions = vec![Action::SetUart { at_ns: now, config: self.uart }];
                    actions.push(Action::Wake { at_ns: at });
                    self.waiting = None;
                    self.next_at = Some(at);
                    return actions;
                }
            }
            (_, Reply::Ack) => {}
            _ => self.report_failure(&job, &reply),
        }
        self.waiting = None;
        self.next_at = Some(at);
        vec![Action::Wake { at_ns: at }]
    }

    /// Several slaves answered `pattern`: probe with the next id digit fixed, 0 to 9.
    fn descend(&mut self, pattern: &str) {
        let Some(pos) = pattern[..8].find('F') else {
            // Every id digit fixed and still a collision: identical ids; nothing more to find.
            self.out.push(Message::error(
                "collision",
                format!("several slaves share the secondary id {}", &pattern[..8]),
                None,
            ));
            return;
        };
        for d in (0..10).rev() {
            let mut p = pattern.to_string();
            p.replace_range(pos..pos + 1, &d.to_string());
            self.jobs.push(Job::Probe(p));
        }
    }

    fn report_failure(&mut self, job: &Job, reply: &Reply) {
        let what = match job {
            Job::Step(s) => format!("{s:?}"),
            Job::Probe(p) | Job::ReadProbe(p) => format!("select {p}"),
        };
        match reply {
            Reply::Nothing => self.out.push(Message::error("no_answer", format!("{what}: no reply within the time-out"), None)),
            Reply::Garbled(bytes) => self.out.push(Message::error(
                "collision",
                format!("{what}: {} bytes that are not a valid frame (several slaves answering, or line errors): {}", bytes.len(), hex::encode_upper(bytes)),
                None,
            )),
            Reply::Ack | Reply::Frame(_) => self.out.push(Message::error("protocol", format!("{what}: unexpected reply"), None)),
        }
    }
}

/// A reply as the master sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Reply {
    Nothing,
    Ack,
    Frame(Vec<u8>),
    Garbled(Vec<u8>),
}

/// Whether an RSP_UD says more records follow (a DIF 0x1F record): walks the records.
fn more_follows(frame: &[u8]) -> bool {
    meterlab_decoder::mbus::more_records_follow(frame)
}

/// Whether `f` is an intact long frame (structure, checksum, stop byte).
fn frame_ok(f: &[u8]) -> bool {
    meterlab_decoder::mbus::frame::Frame::new_checked(f).is_ok_and(|fr| fr.checksum_ok())
}

/// The reply in `buf`, if complete.
fn complete(buf: &[u8], expect: Expect) -> Option<Reply> {
    match (buf.first(), expect) {
        (None, _) => None,
        (Some(&ACK), Expect::Ack) if buf.len() == 1 => Some(Reply::Ack),
        (Some(&0x68), _) if buf.len() >= 4 => {
            let total = usize::from(buf[1]) + 6;
            (buf.len() >= total).then(|| Reply::Frame(buf[..total].to_vec()))
        }
        _ => None,
    }
}

impl Reader for MbusMaster {
    fn start(&mut self, now_ns: u64) -> Vec<Action> {
        self.advance(now_ns)
    }

    fn receive(&mut self, now_ns: u64, bytes: &[u8]) -> Vec<Action> {
        self.received.extend_from_slice(bytes);
        self.buf.extend_from_slice(bytes);
        let Some((expect, _, job)) = self.waiting.clone() else {
            return Vec::new();
        };
        match complete(&self.buf, expect) {
            Some(reply) => {
                self.buf.clear();
                self.answered(now_ns, job, reply)
            }
            None => {
                // The reply has started: from now on the master waits per character (the
                // time-out window applies to the start of the reply, not to its end).
                let deadline = now_ns + self.inter_char_ns();
                self.waiting = Some((expect, deadline, job));
                vec![Action::Wake { at_ns: deadline }]
            }
        }
    }

    fn wake(&mut self, now_ns: u64) -> Vec<Action> {
        if self.done {
            return Vec::new();
        }
        if let Some((expect, deadline, job)) = self.waiting.clone() {
            if now_ns >= deadline {
                let reply = if self.buf.is_empty() {
                    Reply::Nothing
                } else {
                    match complete(&self.buf, expect) {
                        Some(r) => r,
                        None => Reply::Garbled(std::mem::take(&mut self.buf)),
                    }
                };
                return self.answered(now_ns, job, reply);
            }
            return Vec::new();
        }
        match self.next_at {
            Some(at) if now_ns >= at => {
                self.next_at = None;
                self.advance(now_ns)
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

    #[test]
    fn frames() {
        // libmbus: REQ_UD2 to address 5 with FCB set.
        assert_eq!(
            short(REQ_UD2 | FCB | FCV, 5),
            [0x10, 0x7B, 0x05, 0x80, 0x16]
        );
        assert_eq!(short(SND_NKE, 0xFD), [0x10, 0x40, 0xFD, 0x3D, 0x16]);
        // Select 12345678, any manufacturer/version/medium (mbus.md: 68 0B 0B 68 53 FD 52 …).
        let sel = long(
            SND_UD,
            SELECTED,
            0x52,
            &secondary_pattern("12345678").expect("valid"),
        );
        assert_eq!(sel[..7], [0x68, 0x0B, 0x0B, 0x68, 0x53, 0xFD, 0x52]);
        assert_eq!(sel[7..15], [0x78, 0x56, 0x34, 0x12, 0xFF, 0xFF, 0xFF, 0xFF]);
        assert_eq!(sel.len(), 17);
        assert_eq!(baud_ci(9600), Some(0xBD));
        assert_eq!(
            secondary_pattern("000257762D480307").map(|p| (p[4], p[5], p[6], p[7])),
            Some((0x48, 0x2D, 0x03, 0x07))
        );
        assert!(secondary_pattern("1234").is_none());
    }

    #[test]
    fn steps_parse_from_yaml() {
        let steps: Vec<Step> = serde_yaml::from_str("- snd_nke: { address: 5 }\n- req_ud2: { address: 5, toggle: false }\n- scan_secondary:\n- wakeup: { zeros: 20 }\n").expect("parses");
        assert_eq!(steps[0], Step::SndNke { address: 5 });
        assert_eq!(
            steps[1],
            Step::ReqUd2 {
                address: 5,
                toggle: false
            }
        );
        assert_eq!(steps[2], Step::ScanSecondary);
        assert_eq!(steps[3], Step::Wakeup { zeros: 20 });
        assert!(serde_yaml::from_str::<Vec<Step>>("- req_ud3: { address: 5 }").is_err());
        assert!(
            serde_yaml::from_str::<Vec<Step>>("- set_baud: { address: 5, baud: 1234 }").is_err()
        );
    }
}
