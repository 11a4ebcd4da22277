//! Decoding a (corrected) capture with the reference decoder and counting the integrity checks
//! that verify: DSMR CRC-16 (`!XXXX`), M-Bus checksums and HDLC FCS around DLMS pushes, GCM
//! tags, IEC 62056-21 BCCs and M-Bus checksums. The reference decoders drop a message whose check
//! fails and report it as a classified error, so a decoded message of a protocol whose framing
//! carries a check is a verified one.

use meterlab_decoder::{Keys, Message, Protocol, Reading};

/// Error kinds that say a message was there but did not check out (lost or changed bytes).
const FAILED_CHECKS: &[&str] = &[
    "crc_mismatch",
    "crc_missing",
    "fcs_mismatch",
    "hcs_mismatch",
    "checksum",
    "bcc_mismatch",
    "gcm_tag_mismatch",
    "truncated",
    "frame_length",
    "premature_end",
    "stop_byte",
    "malformed",
    "too_long",
    "length",
];

/// What the reference decoder made of some bytes.
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    /// The protocol decoded.
    pub protocol: Option<Protocol>,
    /// Readings decoded.
    pub readings: Vec<Reading>,
    /// Readings whose framing carries an integrity check (which verified).
    pub verified: usize,
    /// Messages that were there but failed a check or were cut.
    pub failed: usize,
    /// Offsets (in the decoded bytes) of the failed messages, where known.
    pub failed_at: Vec<u64>,
    /// Error kinds reported about keys (`missing_key`, `wrong_key`, `missing_auth_key`,
    /// `gcm_tag_mismatch` of an encrypted frame).
    pub key_errors: Vec<String>,
    /// The names of the checks that verified (`DSMR CRC-16`, …).
    pub check: &'static str,
    /// Skipped bytes reported before the first message.
    pub skipped_at_start: bool,
    /// The capture ends inside a message.
    pub cut_at_end: bool,
    /// The protocol is the one [`meterlab_decoder::auto::detect`] tells from the bytes.
    pub detected: bool,
}

impl Outcome {
    /// How outcomes of different protocols on the same bytes compare: readings first, then
    /// the score, then messages recognised but failing (evidence of the protocol's framing), then
    /// whether the protocol is the one the first message start says.
    pub fn rank(&self) -> (bool, f64, usize, bool) {
        let decoded = !self.readings.is_empty();
        (
            decoded,
            if decoded { self.score() } else { 0.0 },
            self.failed + self.key_errors.len(),
            self.detected,
        )
    }

    /// The weight of this outcome as evidence: verified checks count most, unverified readings
    /// some, failed messages against.
    pub fn score(&self) -> f64 {
        let unverified = self.readings.len().saturating_sub(self.verified);
        10.0 * self.verified as f64 + 3.0 * unverified as f64 - 1.0 * self.failed as f64
    }
}

/// The name of the check that guards a message of `protocol` in `bytes`, if its framing has one.
fn check_name(protocol: Protocol, bytes: &[u8]) -> Option<&'static str> {
    match protocol {
        Protocol::Dsmr => {
            let crc = bytes
                .windows(5)
                .any(|w| w[0] == b'!' && w[1..].iter().all(|b| b.is_ascii_hexdigit()));
            if bytes.windows(2).any(|w| w == [0xDB, 0x08]) {
                Some("GCM tag")
            } else {
                crc.then_some("DSMR CRC-16")
            }
        }
        Protocol::Dlms => {
            if bytes
                .windows(4)
                .any(|w| w[0] == 0x68 && w[1] == w[2] && w[3] == 0x68)
            {
                Some("M-Bus checksum")
            } else if bytes
                .windows(2)
                .any(|w| w[0] == 0x7E && w[1] & 0xF0 == 0xA0)
            {
                Some("HDLC FCS")
            } else {
                None
            }
        }
        Protocol::Iec62056_21 => bytes.contains(&0x03).then_some("IEC BCC"),
        Protocol::Mbus => Some("M-Bus checksum"),
    }
}

/// Lines `!XXXX CR LF` (a DSMR telegram's end with its CRC).
fn crc_lines(bytes: &[u8]) -> usize {
    bytes
        .windows(6)
        .filter(|w| {
            w[0] == b'!'
                && w[1..5].iter().all(u8::is_ascii_hexdigit)
                && matches!(w[5], b'\r' | b'\n')
        })
        .count()
}

/// Decodes `bytes` as `protocol`.
pub fn decode(bytes: &[u8], protocol: Protocol, keys: &Keys) -> Outcome {
    let mut decoder = meterlab_decoder::auto::decoder_for(protocol, keys.clone());
    let messages = decoder.decode_all(bytes);
    let check = check_name(protocol, bytes);
    let mut out = Outcome {
        protocol: Some(protocol),
        check: check.unwrap_or("none"),
        ..Outcome::default()
    };
    for (i, m) in messages.into_iter().enumerate() {
        match m {
            Message::Reading(r) => {
                // A reading without values is no evidence (noise can frame an empty telegram).
                if r.protocol == protocol && !r.values.is_empty() {
                    out.readings.push(r);
                }
            }
            Message::Error { error } => {
                let kind = error.kind.as_str();
                if matches!(kind, "missing_key" | "wrong_key" | "missing_auth_key") {
                    out.key_errors.push(error.kind.clone());
                } else if kind == "gcm_tag_mismatch" && keys.encryption.is_some() {
                    out.key_errors.push(error.kind.clone());
                    out.failed += 1;
                } else if error.message.starts_with("stream ended") {
                    // The capture ends inside a message: normal for a capture, no evidence.
                    out.cut_at_end = true;
                } else if FAILED_CHECKS.contains(&kind) {
                    out.failed += 1;
                    if let Some(at) = error.offset {
                        out.failed_at.push(at);
                    }
                } else if kind == "skipped_bytes" && i == 0 {
                    out.skipped_at_start = true;
                }
            }
            // A master's request or an acknowledgement: dialogue, judged by `dialogue.rs`, no
            // evidence for or against a line setting.
            Message::Link { .. } => {}
        }
    }
    out.verified = match (check, protocol) {
        (None, _) => 0,
        // DSMR 2.2/3.0 telegrams have no CRC: count the telegrams that end with one.
        (Some("DSMR CRC-16"), Protocol::Dsmr) => out.readings.len().min(crc_lines(bytes)),
        (Some(_), _) => out.readings.len(),
    };
    out
}

/// Decodes `bytes` with `protocol`, or with every protocol and keeps the best outcome.
pub fn decode_best(bytes: &[u8], protocol: Option<Protocol>, keys: &Keys) -> Outcome {
    let candidates: &[Protocol] = match protocol {
        Some(Protocol::Dsmr) => &[Protocol::Dsmr],
        Some(Protocol::Dlms) => &[Protocol::Dlms],
        Some(Protocol::Mbus) => &[Protocol::Mbus],
        Some(Protocol::Iec62056_21) => &[Protocol::Iec62056_21],
        None => &[
            Protocol::Dsmr,
            Protocol::Dlms,
            Protocol::Iec62056_21,
            Protocol::Mbus,
        ],
    };
    let mut best: Option<Outcome> = None;
    let detected = meterlab_decoder::auto::detect(bytes, keys);
    for &p in candidates {
        let mut o = decode(bytes, p, keys);
        o.detected = detected == Some(p);
        let better = match &best {
            None => true,
            Some(b) => o.rank().partial_cmp(&b.rank()) == Some(std::cmp::Ordering::Greater),
        };
        if better {
            best = Some(o);
        }
    }
    let mut best = best.unwrap_or_default();
    if best.readings.is_empty() && best.key_errors.is_empty() && best.failed == 0 {
        // Nothing of this protocol decoded: the protocol is what the bytes look like, if any.
        best.protocol = protocol.or(detected);
    }
    best
}
