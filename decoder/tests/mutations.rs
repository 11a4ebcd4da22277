//! Every truncation and every single-bit flip of every corpus message, through its protocol's
//! decoder: no panic, and no wrong reading past an integrity check.
//!
//! A *wrong reading* is a reading whose meter id, time or values differ from every reading the
//! unmutated message gives (warnings are not data and are not compared). Messages whose framing
//! carries a check — a DSMR CRC, a Smarty or DLMS GCM tag, an M-Bus checksum, an HDLC HCS/FCS,
//! an IEC 62056-21 BCC, a wireless M-Bus block CRC (CUL lines, bare frames with CRCs), iM871A
//! FCS or AMB8465 checksum — must give none: a flipped bit is caught by every one of those checks,
//! and a cut-off message is incomplete. Unprotected forms (DSMR 2.2/3.0 without CRC, bare
//! APDUs without authentication, IEC pushes without BCC) cannot notice a changed digit; their
//! wrong readings are counted and printed, not failed.

use std::sync::Mutex;

use meterlab_decoder::auto::decoder_for;
use meterlab_decoder::wmbus::Crcs;
use meterlab_decoder::{Keys, Message, Protocol, Reading, StreamDecoder, WmbusDecoder};

mod common;

/// One corpus message and what its framing protects.
struct Case {
    name: String,
    protocol: Protocol,
    keys: Keys,
    bytes: Vec<u8>,
    protected: bool,
    /// Wireless M-Bus bare frames: decoded by [`WmbusDecoder`] told whether they carry CRCs
    /// (the caller's statement), not by the auto-detecting M-Bus decoder.
    crcs: Option<Crcs>,
}

/// A reading without its warnings: what a wrong reading is judged by.
fn data(reading: &Reading) -> (Option<&str>, Option<&str>, String) {
    (
        reading.meter_id.as_deref(),
        reading.time.as_deref(),
        format!("{:?}", reading.values),
    )
}

fn decode(case: &Case, bytes: &[u8]) -> Vec<Message> {
    match case.crcs {
        Some(crcs) => WmbusDecoder::with_crcs(case.keys.clone(), crcs).decode_all(bytes),
        None => decoder_for(case.protocol, case.keys.clone()).decode_all(bytes),
    }
}

/// Whether a DSMR capture carries a CRC after its `!`, or is a Smarty frame.
fn dsmr_protected(bytes: &[u8]) -> bool {
    bytes.first() == Some(&0xDB)
        || bytes
            .iter()
            .position(|&b| b == b'!')
            .and_then(|bang| bytes.get(bang + 1))
            .is_some_and(u8::is_ascii_hexdigit)
}

/// Whether a DLMS capture is framed (M-Bus, HDLC) or an authenticated bare APDU.
fn dlms_protected(bytes: &[u8]) -> bool {
    match bytes {
        [0x68 | 0x7E, ..] => true,
        [0xDB | 0xDC, 0x08, rest @ ..] => {
            // System title (8 bytes), a BER length (1 to 3 bytes), then the security control.
            let Some(after_title) = rest.get(8..) else {
                return false;
            };
            let length_len = match after_title.first() {
                Some(0x81) => 2,
                Some(0x82) => 3,
                _ => 1,
            };
            after_title.get(length_len).is_some_and(|sc| sc & 0x10 != 0)
        }
        _ => false,
    }
}

/// Whether an IEC 62056-21 dialogue carries data blocks (STX … ETX BCC).
fn iec_protected(bytes: &[u8]) -> bool {
    bytes.contains(&0x02) && bytes.contains(&0x03)
}

fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for v in common::corpus() {
        cases.push(Case {
            name: format!("dsmr/{}", v.name),
            protocol: Protocol::Dsmr,
            keys: v.keys(),
            protected: dsmr_protected(&v.bytes),
            bytes: v.bytes.clone(),
            crcs: None,
        });
    }
    for v in common::dlms_corpus() {
        cases.push(Case {
            name: format!("dlms/{}", v.name),
            protocol: Protocol::Dlms,
            keys: v.keys(),
            protected: dlms_protected(&v.bytes),
            bytes: v.bytes.clone(),
            crcs: None,
        });
    }
    for (name, bytes) in common::iec_dialogues() {
        cases.push(Case {
            name: format!("iec/{name}"),
            protocol: Protocol::Iec62056_21,
            keys: Keys::default(),
            protected: iec_protected(bytes),
            bytes: bytes.clone(),
            crcs: None,
        });
    }
    for (i, bytes) in common::mbus_frames().iter().enumerate() {
        cases.push(Case {
            name: format!("mbus/frame-{i}"),
            protocol: Protocol::Mbus,
            keys: Keys::default(),
            protected: matches!(bytes.first(), Some(0x68 | 0x10)),
            bytes: bytes.clone(),
            crcs: None,
        });
    }
    // Wireless M-Bus: each corpus telegram in the framings with a check (CUL lines with the
    // block CRCs, iM871A frames with FCS, AMB8465 frames, bare frames with CRCs) and in two
    // without (rtl_wmbus lines, bare frames without CRCs).
    for t in common::wmbus::telegrams() {
        let forms: [(&str, Vec<u8>, bool, Option<Crcs>); 6] = [
            ("cul", common::wmbus::cul(&t.frame, false), true, None),
            ("im871a", common::wmbus::im871a(&t.frame, true), true, None),
            ("amb8465", common::wmbus::amb8465(&t.frame), true, None),
            (
                "format-a",
                common::wmbus::format_a(&t.frame),
                true,
                Some(Crcs::Present),
            ),
            ("rtlwmbus", common::wmbus::rtlwmbus(&t.frame), false, None),
            ("bare", t.frame.clone(), false, None),
        ];
        for (form, bytes, protected, crcs) in forms {
            cases.push(Case {
                name: format!("wmbus/{}/{form}", t.name),
                protocol: Protocol::Mbus,
                keys: t.keys.clone(),
                bytes,
                protected,
                crcs,
            });
        }
    }
    cases
}

/// What the mutations of one case did.
#[derive(Default)]
struct Tally {
    mutations: usize,
    wrong: Vec<String>,
}

fn check(case: &Case) -> Tally {
    let original = decode(case, &case.bytes);
    let truth: Vec<_> = original.iter().filter_map(Message::reading).collect();
    let truth: Vec<_> = truth.iter().map(|r| data(r)).collect();
    let mut tally = Tally::default();
    // An IEC programming-mode reply whose request was lost (or failed its BCC) names no
    // register: its value, under the id `unknown` and with a warning, must be a value sent.
    let sent_values: Vec<String> = original
        .iter()
        .filter_map(Message::reading)
        .flat_map(|r| &r.values)
        .map(|v| format!("{:?} {:?}", v.value, v.unit))
        .collect();
    let unattributed_but_right = |reading: &Reading| {
        !reading.warnings.is_empty()
            && reading.values.iter().all(|v| {
                v.id == "unknown" && sent_values.contains(&format!("{:?} {:?}", v.value, v.unit))
            })
    };
    let mut judge = |what: String, bytes: &[u8]| {
        tally.mutations += 1;
        for message in decode(case, bytes) {
            if let Some(reading) = message.reading() {
                if !truth.contains(&data(reading)) && !unattributed_but_right(reading) {
                    tally.wrong.push(format!(
                        "{}: {what}: meter id {:?}, time {:?}, {} values",
                        case.name,
                        reading.meter_id,
                        reading.time,
                        reading.values.len()
                    ));
                }
            }
        }
    };
    for len in 0..case.bytes.len() {
        judge(format!("cut to {len} bytes"), &case.bytes[..len]);
    }
    let mut flipped = case.bytes.clone();
    for i in 0..flipped.len() {
        for bit in 0..8 {
            flipped[i] ^= 1 << bit;
            judge(format!("bit {bit} of byte {i} flipped"), &flipped);
            flipped[i] ^= 1 << bit;
        }
    }
    tally
}

#[test]
fn no_wrong_reading_past_an_integrity_check() {
    let cases = cases();
    assert!(
        cases.len() > 150,
        "the corpus is there: {} cases",
        cases.len()
    );
    let next = Mutex::new(0usize);
    let results = Mutex::new(Vec::new());
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| loop {
                let i = {
                    let mut next = next.lock().expect("no poisoned lock");
                    *next += 1;
                    *next - 1
                };
                let Some(case) = cases.get(i) else { break };
                let tally = check(case);
                results.lock().expect("no poisoned lock").push((i, tally));
            });
        }
    });
    let results = results.into_inner().expect("no poisoned lock");
    let (mut protected, mut unprotected) = ((0, 0, Vec::new()), (0, 0, Vec::new()));
    for (i, tally) in results {
        let side = if cases[i].protected {
            &mut protected
        } else {
            &mut unprotected
        };
        side.0 += 1;
        side.1 += tally.mutations;
        side.2.extend(tally.wrong);
    }
    println!(
        "protected: {} messages, {} mutations, {} wrong readings",
        protected.0,
        protected.1,
        protected.2.len()
    );
    println!(
        "unprotected (DSMR 2.2/3.0, bare APDUs, IEC without BCC, wireless M-Bus without CRCs): {} messages, {} mutations, {} wrong readings",
        unprotected.0,
        unprotected.1,
        unprotected.2.len()
    );
    assert!(
        protected.2.is_empty(),
        "{} wrong readings past an integrity check, e.g.:\n{}",
        protected.2.len(),
        protected
            .2
            .iter()
            .take(20)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// A byte generator for noise (xorshift64*: deterministic, no dependency).
fn noise(len: usize, mut state: u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            (state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as u8
        })
        .collect()
}

#[test]
fn noise_gives_no_reading() {
    let bytes = noise(1 << 20, 0x9E37_79B9_7F4A_7C15);
    for protocol in [
        Protocol::Dsmr,
        Protocol::Dlms,
        Protocol::Iec62056_21,
        Protocol::Mbus,
    ] {
        let messages = decoder_for(protocol, Keys::default()).decode_all(&bytes);
        assert_no_reading(protocol, &messages);
    }
    // Wireless M-Bus told that bare frames carry CRCs (noise has no telegram in a framing
    // with a check, and a bare frame without CRCs has none to pass).
    let messages = WmbusDecoder::with_crcs(Keys::default(), Crcs::Present).decode_all(&bytes);
    assert_no_reading(Protocol::Mbus, &messages);
}

fn assert_no_reading(protocol: Protocol, messages: &[Message]) {
    let readings: Vec<_> = messages.iter().filter_map(Message::reading).collect();
    assert!(
        readings.is_empty(),
        "{protocol:?}: {} readings from 1 MiB of noise, e.g. {:?}",
        readings.len(),
        readings.first()
    );
}

/// A DSMR telegram with its CRC is no IEC 62056-21 push, though it looks like one (`/XXX5
/// ident`, data lines, `!`): the IEC decoder must not read it past its CRC (a reading taken that
/// way is unprotected: a changed digit would get through).
#[test]
fn the_iec_decoder_leaves_dsmr_telegrams_with_a_crc_alone() {
    let mut checked = 0;
    for v in common::corpus() {
        if v.bytes.first() != Some(&b'/') || !dsmr_protected(&v.bytes) {
            continue;
        }
        let messages = decoder_for(Protocol::Iec62056_21, Keys::default()).decode_all(&v.bytes);
        assert!(
            messages.iter().all(|m| m.reading().is_none()),
            "{}: {messages:?}",
            v.name
        );
        // Taken for a push, it is named for what it is (one with an STX in its header is a
        // block cut off instead).
        if !v.bytes.contains(&0x02) {
            assert!(
                messages
                    .iter()
                    .filter_map(Message::error_report)
                    .any(|e| e.message.contains("a DSMR telegram")),
                "{}: {messages:?}",
                v.name
            );
        }
        checked += 1;
    }
    assert!(checked >= 20, "{checked} DSMR telegrams checked");
}
