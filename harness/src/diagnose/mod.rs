//! `meterlab diagnose`: what is wrong with a capture that does not decode, and the settings
//! that fix it.
//!
//! A capture is what a reader got from a meter. The diagnosis ranks hypotheses about how the
//! reader got it wrong, each with the protocol, the likely catalogue profile, the meter's line
//! settings, the reader's, a [`Cause`], the evidence, the bytes the meter sent where they can be
//! recovered, and the readings decoded from them.
//!
//! Two kinds of hypotheses:
//!
//! - **Reconstructions** (recoverable): the capture is turned back into what the meter sent and
//!   decoded with the reference decoder ([`evidence`]). As it is (nothing wrong, a capture that
//!   starts mid-frame, bytes lost: messages that verify beside messages that fail), with bit 7
//!   cleared (a 7E1 meter read as 8N1: the parity bit arrives as bit 7; the share of bytes whose
//!   bit 7 is their even parity is reported), with an inverted signal undone ([`inversion`]:
//!   10-bit text characters, a DSMR P1 port without inverter), without the reader's own requests (an echoing
//!   optical head, or both directions in one log: [`dialogue`]), with the keys swapped (the
//!   authentication key given as the encryption key). Integrity checks that verify after the
//!   correction (DSMR CRC-16, M-Bus checksums, HDLC FCS, GCM tags, IEC BCCs) count most: 10
//!   points each, an unverified reading 3, a failed message −1.
//! - **Pattern matches** (the reader lost information: a wrong baud rate, a reader at 8E1 for
//!   an 8N1 meter, 7E1 for an 8-bit binary protocol, an inverted signal that cannot be undone).
//!   The line model is run
//!   forward ([`misread`], [`reference`]): every catalogue profile's output goes through a
//!   simulated line into a reader with each standard misconfiguration, and the capture's
//!   fingerprint is compared with each result ([`seen::Fingerprint`]). The fingerprint is the
//!   distribution of bytes plus the distribution of pairs of consecutive bytes (reduced to 6
//!   bits each); the similarity is the mean Bhattacharyya coefficient of the two. Why this
//!   measure: a misread stream is a deterministic function of the meter's bit pattern and the
//!   ratio of the two bit clocks, so it is dominated by a small set of byte values and
//!   transitions that depends on the misconfiguration much more than on the readings
//!   (a 115200 Bd meter read at 9600 yields mostly `00`, `80`, `F8`, `FE`, `FF`…, an inverted
//!   DSMR stream shifted text codes); the pair distribution separates configurations whose byte
//!   sets overlap; the Bhattacharyya coefficient is bounded, symmetric and robust to the
//!   capture's length, and needs no alignment (captures start anywhere). A match scores at
//!   most 5 points, below one verified check.
//!
//! When neither fits (no decode, no reference closer than [`MIN_SIMILARITY`]), the diagnosis
//! says so and reports what was seen ([`seen::Seen`]: frame starts, spacing, byte statistics).
//! Keys are never part of a diagnosis; system title and invocation counter are.

pub mod benchset;
pub mod dialogue;
pub mod evidence;
pub mod inversion;
pub mod misread;
pub mod reference;
pub mod seen;

use meterlab_decoder::{Keys, Protocol, Reading};
use meterlab_sim::line::{Polarity, UartConfig};
use serde::Serialize;

use evidence::{decode_best, Outcome};
use seen::{Fingerprint, Seen};

/// A pattern match below this similarity is not reported as fitting.
pub const MIN_SIMILARITY: f64 = 0.35;

/// What the user told about the capture.
#[derive(Clone, Debug, Default)]
pub struct DiagnoseOptions {
    /// The keys the user has (never printed).
    pub keys: Keys,
    /// The reader's settings as the user reports them (`2400 8N1`).
    pub reader: Option<UartConfig>,
    /// The protocol, if the user knows it.
    pub protocol: Option<Protocol>,
}

/// Why the capture does not decode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cause {
    /// Nothing wrong: the capture decodes.
    None,
    /// The reader's baud rate is not the meter's.
    WrongBaud,
    /// The reader's character format is not the meter's (7E1/8E1 vs 8N1, either way).
    WrongFormat,
    /// The signal is inverted (a P1 port read without an inverter).
    Inverted,
    /// The capture starts in the middle of a message.
    MidFrame,
    /// Bytes were lost or changed (short reads, overruns, noise): some messages fail their check.
    BytesLost,
    /// The capture holds both directions (the reader's requests and the meter's answers).
    DirectionsMixed,
    /// The reader's requests come back in what it received (a half-duplex optical head).
    Echo,
    /// The messages are encrypted and no key was given.
    MissingKey,
    /// The key given does not decrypt the messages (GCM tag or plaintext check fails).
    WrongKey,
    /// The authentication key was given as the encryption key (and the other way round).
    AuthKeyAsEncryptionKey,
}

impl Cause {
    /// A short sentence.
    pub fn describe(self) -> &'static str {
        match self {
            Cause::None => "nothing wrong: the capture decodes as it is",
            Cause::WrongBaud => "the reader's baud rate is not the meter's",
            Cause::WrongFormat => "the reader's character format (data bits, parity) is not the meter's",
            Cause::Inverted => "the signal is inverted (no inverter between the P1 port and the UART)",
            Cause::MidFrame => "the capture starts in the middle of a message",
            Cause::BytesLost => "bytes were lost or changed on the way (short reads, overruns, noise)",
            Cause::DirectionsMixed => "the capture mixes both directions (the reader's requests and the meter's answers)",
            Cause::Echo => "the reader's requests come back in what it received (echo of a half-duplex optical head)",
            Cause::MissingKey => "the messages are encrypted and no key was given",
            Cause::WrongKey => "the key given does not decrypt the messages",
            Cause::AuthKeyAsEncryptionKey => "the authentication key was given as the encryption key",
        }
    }
}

/// Why a hypothesis is believed.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Evidence {
    /// The integrity check that guards the messages (`DSMR CRC-16`, `M-Bus checksum`, …).
    pub check: String,
    /// Messages whose check verifies after the correction.
    pub verified: usize,
    /// Messages that fail their check or are cut.
    pub failed: usize,
    /// Readings decoded.
    pub readings: usize,
    /// Pattern match: similarity to the line model's output, 0–1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub similarity: Option<f64>,
    /// Anything else observed.
    pub notes: Vec<String>,
}

/// One explanation of the capture.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Hypothesis {
    /// What is wrong.
    pub cause: Cause,
    /// Whether what the meter sent could be reconstructed.
    pub recoverable: bool,
    /// The protocol.
    pub protocol: Option<Protocol>,
    /// The catalogue profile the capture is most like.
    pub profile: Option<String>,
    /// The meter's line settings (`115200 8N1`).
    pub meter_line: Option<String>,
    /// The settings the reader used, as far as known.
    pub reader_line: Option<String>,
    /// The settings the reader should use (plus an inverter for an inverted signal).
    pub recommended: Option<String>,
    /// Points: verified checks count most (see the module documentation).
    pub score: f64,
    /// Why.
    pub evidence: Evidence,
    /// What the meter sent, where recoverable and different from the capture.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "hex_opt")]
    pub corrected: Option<Vec<u8>>,
    /// Readings decoded under this hypothesis.
    pub readings: Vec<Reading>,
}

fn hex_opt<S: serde::Serializer>(v: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(b) => s.serialize_str(&hex::encode(b)),
        None => s.serialize_none(),
    }
}

/// The system title and invocation counter of an encrypted message (general-glo-ciphering).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Ciphered {
    /// The system title, hex (with its manufacturer letters if printable).
    pub system_title: String,
    /// The security control byte.
    pub security_control: u8,
    /// The first invocation counter seen.
    pub invocation_counter: u32,
    /// How many encrypted messages.
    pub messages: usize,
}

/// The answer.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Diagnosis {
    /// Whether some hypothesis fits.
    pub fits: bool,
    /// One sentence.
    pub verdict: String,
    /// Hypotheses, best first.
    pub hypotheses: Vec<Hypothesis>,
    /// Encrypted messages seen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ciphered: Option<Ciphered>,
    /// What the capture looks like.
    pub seen: Seen,
}

impl Diagnosis {
    /// The best hypothesis, if any fits.
    pub fn best(&self) -> Option<&Hypothesis> {
        self.hypotheses.first().filter(|_| self.fits)
    }
}

fn line_text(c: &UartConfig) -> String {
    format!("{} {}", c.baud, c.format())
}

/// The catalogue profile of `protocol` whose clean output is most like `bytes`, with its line
/// settings.
fn likely_profile(bytes: &[u8], protocol: Option<Protocol>) -> Option<(String, UartConfig)> {
    clean_match(bytes, protocol).map(|(_, p, c)| (p, c))
}

/// The best clean reference of `protocol` for `bytes`: similarity, profile, line settings.
fn clean_match(bytes: &[u8], protocol: Option<Protocol>) -> Option<(f64, String, UartConfig)> {
    let fp = Fingerprint::of(bytes);
    reference::references()
        .iter()
        .filter(|r| r.misread.cause == Cause::None && Some(r.protocol) == protocol)
        .map(|r| (r.fingerprint.similarity(&fp), r))
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(s, r)| (s, r.profile.clone(), r.misread.wire))
}

/// A hypothesis from a decode outcome.
fn from_outcome(
    cause: Cause,
    outcome: Outcome,
    corrected: Option<Vec<u8>>,
    bytes_for_profile: &[u8],
    options: &DiagnoseOptions,
    meter_override: Option<UartConfig>,
) -> Hypothesis {
    let likely = likely_profile(bytes_for_profile, outcome.protocol);
    let reader = options.reader;
    let meter = meter_override.or(match cause {
        // The reader's settings work (or would, apart from the problem).
        Cause::None
        | Cause::MidFrame
        | Cause::BytesLost
        | Cause::Echo
        | Cause::DirectionsMixed
        | Cause::MissingKey
        | Cause::WrongKey
        | Cause::AuthKeyAsEncryptionKey => reader.or(likely.as_ref().map(|l| l.1)),
        _ => likely.as_ref().map(|l| l.1),
    });
    let mut notes = Vec::new();
    if outcome.skipped_at_start {
        notes.push("bytes before the first message were skipped".to_string());
    }
    let score = outcome.score();
    Hypothesis {
        cause,
        recoverable: !matches!(
            cause,
            Cause::BytesLost | Cause::MissingKey | Cause::WrongKey
        ),
        protocol: outcome.protocol,
        profile: likely.map(|l| l.0),
        meter_line: meter.map(|m| line_text(&m)),
        reader_line: reader.map(|r| r.to_string()),
        recommended: meter.map(|m| line_text(&m)),
        score,
        evidence: Evidence {
            check: outcome.check.to_string(),
            verified: outcome.verified,
            failed: outcome.failed,
            readings: outcome.readings.len(),
            similarity: None,
            notes,
        },
        corrected,
        readings: outcome.readings,
    }
}

/// The binary protocol whose frame starts are in `bytes` with bit 7 cleared: M-Bus long frames
/// `68 L L 68` (DLMS when the C field is SND_UD to broadcast, `53|73 FF` → `53|73 7F`), HDLC
/// `7E A_` read as `7E 2_`.
fn seven_bit_binary(bytes: &[u8], keys: &Keys) -> Option<Protocol> {
    let hdlc = bytes
        .windows(3)
        .filter(|w| w[0] == 0x7E && w[1] & 0xF0 == 0x20)
        .count();
    let mbus_dlms = bytes
        .windows(6)
        .filter(|w| {
            w[0] == 0x68
                && w[1] == w[2]
                && w[3] == 0x68
                && matches!(w[4], 0x53 | 0x73)
                && w[5] == 0x7F
        })
        .count();
    if hdlc >= 2 || mbus_dlms >= 1 {
        return Some(Protocol::Dlms);
    }
    meterlab_decoder::auto::detect(bytes, keys)
        .filter(|p| matches!(p, Protocol::Dlms | Protocol::Mbus))
}

/// `len` bytes of seeded noise (xorshift).
fn noise(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// The share of bytes whose bit 7 is the even parity of bits 0–6.
fn even_parity_share(bytes: &[u8]) -> f64 {
    if bytes.is_empty() {
        return 0.0;
    }
    let ok = bytes
        .iter()
        .filter(|&&b| ((b & 0x7F).count_ones() % 2 == 1) == (b & 0x80 != 0))
        .count();
    ok as f64 / bytes.len() as f64
}

/// Encrypted messages (general-glo-ciphering) in `bytes`.
fn ciphered(bytes: &[u8]) -> Option<Ciphered> {
    use meterlab_decoder::dlms::ciphering::Header;
    let mut first: Option<Ciphered> = None;
    let mut count = 0;
    for i in 0..bytes.len().saturating_sub(1) {
        if bytes[i] != 0xDB || bytes[i + 1] != 0x08 {
            continue;
        }
        let d = &bytes[i..];
        let Ok(Some(h)) = Header::parse(d) else {
            continue;
        };
        let (Some(&sc), Some(ic)) = (
            d.get(h.header_len),
            d.get(h.header_len + 1..h.header_len + 5),
        ) else {
            continue;
        };
        count += 1;
        if first.is_none() {
            let Some(title) = d.get(2..10) else { continue };
            let letters = &title[..3];
            let name = if letters.iter().all(u8::is_ascii_alphanumeric) {
                format!(
                    "{} ({})",
                    hex::encode_upper(title),
                    String::from_utf8_lossy(letters)
                )
            } else {
                hex::encode_upper(title)
            };
            first = Some(Ciphered {
                system_title: name,
                security_control: sc,
                invocation_counter: u32::from_be_bytes([ic[0], ic[1], ic[2], ic[3]]),
                messages: 0,
            });
        }
    }
    first.map(|c| Ciphered {
        messages: count,
        ..c
    })
}

/// Whether the bytes before the first verified message are the tail of a message (text or
/// frame bytes rather than line noise).
fn starts_mid_frame(bytes: &[u8], seen: &Seen) -> bool {
    let first = seen
        .frame_starts
        .iter()
        .filter(|f| !f.kind.contains("request") && !f.kind.contains("short"))
        .filter_map(|f| f.offsets.first().copied())
        .min();
    match first {
        Some(at) if at >= 4 => {
            // The tail of a message, not the junk of a line waking up (00, FF, 7F).
            let lead = &bytes[..at];
            let junk = lead
                .iter()
                .filter(|&&b| matches!(b, 0x00 | 0xFF | 0x7F))
                .count();
            junk * 2 < lead.len()
        }
        _ => false,
    }
}

/// Diagnoses a capture (the bytes a reader got, one direction or both).
pub fn diagnose(bytes: &[u8], options: &DiagnoseOptions) -> Diagnosis {
    let seen = Seen::of(bytes);
    let ciphered = ciphered(bytes);
    if bytes.is_empty() {
        return Diagnosis {
            fits: false,
            verdict: "the capture is empty: nothing to diagnose".into(),
            hypotheses: Vec::new(),
            ciphered,
            seen,
        };
    }
    let keys = &options.keys;
    let mut hypotheses = Vec::new();
    // The null model of the pattern comparisons: seeded noise of the same length (line noise,
    // or ciphertext without its framing, is like any misread of encrypted data; a match that is
    // not better than noise means nothing).
    let fp = Fingerprint::of(bytes);
    let null = Fingerprint::of(&noise(bytes.len().min(seen::FINGERPRINT_BYTES)));
    let floor = fp.similarity(&null).max(MIN_SIMILARITY);

    // As it is.
    let as_is = decode_best(bytes, options.protocol, keys);
    let requests = dialogue::requests(bytes);
    if !as_is.key_errors.is_empty() && as_is.verified == 0 {
        let missing = as_is.key_errors.iter().any(|k| k.starts_with("missing"));
        if !missing {
            if let (Some(k), Some(a)) = (&keys.encryption, &keys.authentication) {
                let swapped = Keys {
                    encryption: Some(a.clone()),
                    authentication: Some(k.clone()),
                };
                let o = decode_best(bytes, options.protocol, &swapped);
                if !o.readings.is_empty() {
                    let mut h =
                        from_outcome(Cause::AuthKeyAsEncryptionKey, o, None, bytes, options, None);
                    h.evidence
                        .notes
                        .push("decrypts with the two keys swapped".into());
                    hypotheses.push(h);
                }
            }
        }
        let cause = if missing {
            Cause::MissingKey
        } else {
            Cause::WrongKey
        };
        let mut h = from_outcome(cause, as_is.clone(), None, bytes, options, None);
        h.score = h.score.max(6.0);
        h.evidence
            .notes
            .push(format!("decoder reports {}", as_is.key_errors.join(", ")));
        hypotheses.push(h);
    } else if !as_is.readings.is_empty() || as_is.failed > 0 {
        let cause = if !requests.is_empty() {
            None
        } else if as_is.failed > 0 {
            Some(Cause::BytesLost)
        } else if starts_mid_frame(bytes, &seen) {
            Some(Cause::MidFrame)
        } else {
            Some(Cause::None)
        };
        let clean = clean_match(bytes, as_is.protocol).map_or(0.0, |c| c.0);
        let cause = cause.filter(|_| !as_is.readings.is_empty() || clean > floor);
        if let Some(cause) = cause {
            let mut h = from_outcome(cause, as_is.clone(), None, bytes, options, None);
            if cause == Cause::BytesLost {
                h.evidence.notes.push(format!(
                    "{} message(s) verify, {} fail their check or are cut",
                    as_is.verified, as_is.failed
                ));
                if h.evidence.readings == 0 {
                    // Frames of the protocol are there but all fail: as strong as the capture
                    // looks like a clean read of such a meter (a misread looks like the
                    // misread, and its pattern match wins).
                    h.score = 5.0 * clean + 1.0;
                    h.evidence.similarity = Some((clean * 1000.0).round() / 1000.0);
                }
            }
            if cause == Cause::MidFrame {
                h.score += 1.0;
            }
            hypotheses.push(h);
        }
    }

    // The reader's own requests in the capture.
    if !requests.is_empty() {
        let meter = dialogue::meter_side(bytes, &requests);
        let o = decode_best(&meter, options.protocol, keys);
        let echo = requests.iter().any(|r| r.echo_like);
        let cause = if echo {
            Cause::Echo
        } else {
            Cause::DirectionsMixed
        };
        let decoded = !o.readings.is_empty();
        let sign_on = requests.iter().any(|r| r.sign_on);
        let mut h = from_outcome(cause, o, Some(meter.clone()), &meter, options, None);
        h.score = if decoded {
            h.score.max(as_is.score()) + 1.0
        } else if sign_on {
            // The reader's sign-on in what it received: evidence enough on its own.
            6.0
        } else {
            0.0
        };
        h.evidence.notes.push(format!(
            "{} request(s) of the reader found (first at byte {})",
            requests.len(),
            requests[0].start
        ));
        if h.evidence.failed > 0 {
            h.evidence.notes.push(format!(
                "{} message(s) still fail their check (junk or lost bytes)",
                h.evidence.failed
            ));
        }
        if h.score > 0.0 {
            hypotheses.push(h);
        }
    }

    // A 7-bit meter read with 8 data bits: bit 7 is the parity bit.
    if seen.high_bit > 0.05 {
        let masked: Vec<u8> = bytes.iter().map(|b| b & 0x7F).collect();
        let o = decode_best(&masked, options.protocol, keys);
        if !o.readings.is_empty() && o.score() > as_is.score() {
            let parity = even_parity_share(bytes);
            let meter = options
                .reader
                .map(|r| UartConfig::new(r.baud, "7E1").unwrap_or(r))
                .or_else(|| likely_profile(&masked, o.protocol).map(|l| l.1));
            let mut h = from_outcome(
                Cause::WrongFormat,
                o,
                Some(masked.clone()),
                &masked,
                options,
                meter,
            );
            h.reader_line = Some(match options.reader {
                Some(r) => r.to_string(),
                None => format!("{} 8N1", meter.map(|m| m.baud).unwrap_or(9600)),
            });
            h.evidence.notes.push(format!(
                "{:.0}% of the bytes have bit 7 = even parity of bits 0–6: the parity bit was read as data",
                parity * 100.0
            ));
            h.score += 2.0 * parity;
            hypotheses.push(h);
        }
    }

    // An inverted signal of 10-bit text characters: reconstructed (see `inversion`).
    if inversion::looks_inverted(bytes) {
        for parity in [false, true] {
            let accept = |m: &[u8]| decode_best(m, options.protocol, keys).verified > 0;
            let recovered = inversion::recover(bytes, parity, accept);
            let o = decode_best(&recovered, options.protocol, keys);
            // Only checks that verify show that the reconstruction is what the meter sent.
            if o.verified == 0 || o.score() <= as_is.score() {
                continue;
            }
            let reader = options.reader.unwrap_or_else(|| {
                likely_profile(&recovered, o.protocol)
                    .map(|l| l.1)
                    .unwrap_or(UartConfig {
                        baud: 115_200,
                        data_bits: 8,
                        parity: meterlab_sim::line::Parity::None,
                        stop_bits: meterlab_sim::line::StopBits::One,
                        polarity: Polarity::Normal,
                        clock_ppm: 0.0,
                    })
            });
            let meter = UartConfig::new(reader.baud, if parity { "7E1" } else { "8N1" }).ok();
            let mut h = from_outcome(
                Cause::Inverted,
                o,
                Some(recovered.clone()),
                &recovered,
                options,
                meter,
            );
            h.recommended = meter.map(|m| {
                format!(
                    "{} with an inverter (or the UART's RX inverted)",
                    line_text(&m)
                )
            });
            h.meter_line = meter.map(|m| format!("{} (inverted on the wire)", line_text(&m)));
            h.reader_line = Some(match options.reader {
                Some(r) => r.to_string(),
                None => format!("{} 8N1", reader.baud),
            });
            h.evidence.notes.push(
                "most bytes are odd: the receiver takes the meter's stop bit for a start bit and its start bit for data bit 0; bytes undone, message starts searched through an ideal receiver".into(),
            );
            hypotheses.push(h);
            break;
        }
    }

    // A binary protocol read with 7 data bits: bit 7 never arrives.
    let binary = match options.protocol {
        Some(p) => matches!(p, Protocol::Dlms | Protocol::Mbus),
        None => seen.printable < 0.7,
    };
    if binary
        && seen.high_bit == 0.0
        && bytes.len() >= 64
        && as_is.verified == 0
        && (options.protocol.is_some() || seven_bit_binary(bytes, keys).is_some())
    {
        let protocol = options.protocol.or_else(|| seven_bit_binary(bytes, keys));
        let likely = likely_profile(bytes, protocol);
        let meter = likely.as_ref().map(|l| l.1);
        let mut h = from_outcome(
            Cause::WrongFormat,
            as_is.clone(),
            None,
            bytes,
            options,
            meter,
        );
        h.recoverable = false;
        h.readings.clear();
        h.evidence.readings = 0;
        h.reader_line = Some(match options.reader {
            Some(r) => r.to_string(),
            None => format!("{} 7E1", meter.map(|m| m.baud).unwrap_or(2400)),
        });
        h.evidence.notes.push(format!(
            "no byte of {} has bit 7 set, which a binary protocol always has: the reader uses 7 data bits and bit 7 is lost",
            bytes.len()
        ));
        h.protocol = protocol;
        h.score = as_is.score().max(5.0) + 1.0;
        hypotheses.push(h);
    }

    // Pattern matches against the line model's output, above the null model.
    let mut best: Vec<(f64, &reference::Reference)> = Vec::new();
    for r in reference::references() {
        // Clean reads are for the likely profile; a 7-bit meter read with 8 data bits is
        // reconstructed above, better than any pattern.
        let reconstructed = r.misread.wire.data_bits == 7 && r.misread.reader.data_bits == 8;
        if r.misread.cause == Cause::None || reconstructed {
            continue;
        }
        if let Some(reader) = options.reader {
            if r.misread.reader.baud != reader.baud || r.misread.reader.format() != reader.format()
            {
                continue;
            }
        }
        if options.protocol.is_some_and(|p| p != r.protocol) {
            continue;
        }
        let s = fp.similarity(&r.fingerprint);
        let key = |x: &reference::Reference| {
            (
                x.misread.cause,
                x.misread.wire.baud,
                x.misread.wire.format(),
                x.misread.reader.baud,
                x.misread.reader.format(),
                x.protocol,
            )
        };
        match best.iter_mut().find(|(_, b)| key(b) == key(r)) {
            Some(slot) if slot.0 < s => *slot = (s, r),
            Some(_) => {}
            None => best.push((s, r)),
        }
    }
    best.sort_by(|a, b| b.0.total_cmp(&a.0));
    for (s, r) in best.into_iter().take(5) {
        if s <= floor {
            break;
        }
        let meter = UartConfig {
            polarity: Polarity::Normal,
            ..r.misread.wire
        };
        let mut notes = vec![format!(
            "the capture is {:.0}% like {} read at {}{}",
            s * 100.0,
            r.profile,
            line_text(&r.misread.reader),
            if r.misread.cause == Cause::Inverted {
                " through an inverted signal"
            } else {
                ""
            }
        )];
        notes.push(
            "what the meter sent cannot be reconstructed: the reader lost information".into(),
        );
        hypotheses.push(Hypothesis {
            cause: r.misread.cause,
            recoverable: false,
            protocol: Some(r.protocol),
            profile: Some(r.profile.clone()),
            meter_line: Some(format!(
                "{}{}",
                line_text(&meter),
                if r.misread.cause == Cause::Inverted {
                    " (inverted on the wire)"
                } else {
                    ""
                }
            )),
            reader_line: Some(
                options
                    .reader
                    .map(|c| c.to_string())
                    .unwrap_or_else(|| line_text(&r.misread.reader)),
            ),
            recommended: Some(format!(
                "{}{}",
                line_text(&meter),
                if r.misread.cause == Cause::Inverted {
                    " with an inverter (or the UART's RX inverted)"
                } else {
                    ""
                }
            )),
            score: 5.0 * s,
            evidence: Evidence {
                check: "pattern".into(),
                verified: 0,
                failed: 0,
                readings: 0,
                similarity: Some((s * 1000.0).round() / 1000.0),
                notes,
            },
            corrected: None,
            readings: Vec::new(),
        });
    }

    hypotheses.sort_by(|a, b| b.score.total_cmp(&a.score));
    let fits = hypotheses.first().is_some_and(|h| h.score > 0.0);
    let verdict = match hypotheses.first().filter(|_| fits) {
        Some(h) => {
            let what = match (&h.protocol, &h.profile) {
                (Some(p), Some(profile)) => format!("{} (like {profile})", p.name()),
                (Some(p), None) => p.name().to_string(),
                _ => "unknown protocol".into(),
            };
            format!("{what}: {}", h.cause.describe())
        }
        None => format!("nothing fits: no known protocol decodes and no misconfiguration of a known meter looks like this capture. Seen: {}", seen.describe()),
    };
    Diagnosis {
        fits,
        verdict,
        hypotheses,
        ciphered,
        seen,
    }
}

/// Diagnoses a capture whose directions are known: `received` is what the reader got, `sent`
/// what it sent (its requests, possibly empty). Requests of the reader found in `received` are
/// then an echo for certain, never a log of both directions.
pub fn diagnose_two_way(received: &[u8], sent: &[u8], options: &DiagnoseOptions) -> Diagnosis {
    let mut d = diagnose(received, options);
    let sent_requests = dialogue::requests(sent);
    let echoed = dialogue::requests(received).iter().any(|r| {
        sent_requests
            .iter()
            .any(|s| sent[s.start..s.end] == received[r.start..r.end])
    });
    for h in &mut d.hypotheses {
        if h.cause == Cause::DirectionsMixed && echoed {
            h.cause = Cause::Echo;
            h.evidence
                .notes
                .push("the reader's own requests are in what it received".into());
        }
    }
    if let Some(h) = d.hypotheses.first().filter(|_| d.fits) {
        d.verdict = match (&h.protocol, &h.profile) {
            (Some(p), Some(profile)) => {
                format!("{} (like {profile}): {}", p.name(), h.cause.describe())
            }
            _ => h.cause.describe().to_string(),
        };
    }
    d
}

/// The diagnosis for a person: the verdict, the hypotheses best first (at most `max`), the
/// evidence and recommended settings of each, the readings under the best.
pub fn render_text(d: &Diagnosis, max: usize) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(out, "{}", d.verdict);
    if let Some(c) = &d.ciphered {
        let _ = writeln!(
            out,
            "encrypted: {} message(s), system title {}, security control {:02X}, first invocation counter {}",
            c.messages, c.system_title, c.security_control, c.invocation_counter
        );
    }
    if d.fits {
        for (i, h) in d.hypotheses.iter().take(max).enumerate() {
            let _ = writeln!(
                out,
                "{}. [{:.1}] {}{}",
                i + 1,
                h.score,
                h.cause.describe(),
                if h.recoverable {
                    ""
                } else {
                    " (not recoverable)"
                }
            );
            let _ = writeln!(
                out,
                "   protocol {}, likely profile {}, meter {}, reader {}",
                h.protocol.map(|p| p.name()).unwrap_or("?"),
                h.profile.as_deref().unwrap_or("?"),
                h.meter_line.as_deref().unwrap_or("?"),
                h.reader_line.as_deref().unwrap_or("unknown")
            );
            let e = &h.evidence;
            let mut ev = Vec::new();
            if e.verified > 0 {
                ev.push(format!("{} × {} verify", e.verified, e.check));
            }
            if e.readings > e.verified {
                ev.push(format!(
                    "{} reading(s) without a check",
                    e.readings - e.verified
                ));
            }
            if e.failed > 0 {
                ev.push(format!("{} message(s) fail", e.failed));
            }
            ev.extend(e.notes.iter().cloned());
            let _ = writeln!(out, "   evidence: {}", ev.join("; "));
            if let Some(r) = &h.recommended {
                let _ = writeln!(out, "   reader should use: {r}");
            }
        }
        if let Some(h) = d.hypotheses.first() {
            for r in h.readings.iter().take(3) {
                let values = r
                    .values
                    .iter()
                    .take(12)
                    .map(|v| serde_json::to_string(v).unwrap_or_default())
                    .collect::<Vec<_>>()
                    .join(", ");
                let _ = writeln!(
                    out,
                    "   reading: meter {} at {}: {values}",
                    r.meter_id.as_deref().unwrap_or("?"),
                    r.time.as_deref().unwrap_or("?")
                );
            }
            if h.readings.len() > 3 {
                let _ = writeln!(out, "   … {} more reading(s)", h.readings.len() - 3);
            }
        }
    }
    let _ = writeln!(out, "seen: {}", d.seen.describe());
    out
}
