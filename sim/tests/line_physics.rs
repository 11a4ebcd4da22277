//! The serial line model against the physics it claims: what a receiver sees for every pairing
//! of sender and receiver settings, and what each fault does.

use meterlab_sim::line::{
    host_bytes, Channel, ErrorPolicy, Fault, Parity, Polarity, RxChar, StopBits, UartConfig, Where,
};
use meterlab_sim::seed::Seed;
use proptest::prelude::*;

fn config(text: &str) -> UartConfig {
    text.parse().expect("test settings are valid")
}

fn bytes(chars: &[RxChar]) -> Vec<u8> {
    chars.iter().map(|c| c.byte).collect()
}

/// Sends each message back to back and reads everything.
fn transfer(tx: &str, rx: &str, faults: Vec<Fault>, seed: u64, messages: &[&[u8]]) -> Vec<RxChar> {
    let mut line = Channel::new(config(tx), config(rx), faults, Seed(seed));
    for message in messages {
        line.send(0, message);
    }
    line.receive_all()
}

fn popcount_odd(b: u8) -> bool {
    b.count_ones() % 2 == 1
}

/// A DSMR 5 telegram (1 KB of ASCII, CRLF line ends) as a meter sends it.
const TELEGRAM: &str = "/Ene5\\T211 ESMR 5.0\r\n\r\n1-3:0.2.8(50)\r\n0-0:1.0.0(250321143005W)\r\n\
0-0:96.1.1(4530303632303030303134353736343139)\r\n1-0:1.8.1(012345.678*kWh)\r\n\
1-0:1.8.2(009876.543*kWh)\r\n1-0:2.8.1(000123.456*kWh)\r\n1-0:2.8.2(000654.321*kWh)\r\n\
0-0:96.14.0(0002)\r\n1-0:1.7.0(01.234*kW)\r\n1-0:2.7.0(00.000*kW)\r\n0-0:96.7.21(00012)\r\n\
0-0:96.7.9(00004)\r\n1-0:99.97.0(2)(0-0:96.7.19)(190911154023S)(0000000310*s)\
(200722101316S)(0000004398*s)\r\n1-0:32.32.0(00003)\r\n1-0:52.32.0(00002)\r\n\
1-0:72.32.0(00002)\r\n1-0:32.36.0(00000)\r\n1-0:52.36.0(00000)\r\n1-0:72.36.0(00000)\r\n\
0-0:96.13.0()\r\n1-0:32.7.0(231.0*V)\r\n1-0:52.7.0(232.5*V)\r\n1-0:72.7.0(229.8*V)\r\n\
1-0:31.7.0(002*A)\r\n1-0:51.7.0(001*A)\r\n1-0:71.7.0(003*A)\r\n1-0:21.7.0(00.456*kW)\r\n\
1-0:41.7.0(00.123*kW)\r\n1-0:61.7.0(00.655*kW)\r\n1-0:22.7.0(00.000*kW)\r\n\
1-0:42.7.0(00.000*kW)\r\n1-0:62.7.0(00.000*kW)\r\n0-1:24.1.0(003)\r\n\
0-1:96.1.0(4730303339303031373030343630313137)\r\n0-1:24.2.1(250321143000W)(04567.890*m3)\r\n\
0-2:24.1.0(007)\r\n0-2:96.1.0(3232323241424344313233343536373839)\r\n\
0-2:24.2.1(250321142500W)(00123.456*m3)\r\n0-0:96.3.10(1)\r\n0-0:17.0.0(999.9*kW)\r\n\
1-0:31.4.0(999*A)\r\n0-0:96.13.1()\r\n!6F2A\r\n";

// ---------------------------------------------------------------------------------------------
// 1. Identical settings are lossless.

fn format_strategy() -> impl Strategy<Value = (u8, Parity, StopBits)> {
    (
        5u8..=8,
        prop_oneof![
            Just(Parity::None),
            Just(Parity::Even),
            Just(Parity::Odd),
            Just(Parity::Mark),
            Just(Parity::Space)
        ],
        prop_oneof![
            Just(StopBits::One),
            Just(StopBits::OneAndHalf),
            Just(StopBits::Two)
        ],
    )
}

fn baud_strategy() -> impl Strategy<Value = u32> {
    prop::sample::select(vec![
        300u32, 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 1_000_000,
    ])
}

proptest! {
    #[test]
    fn identical_settings_are_lossless(
        baud in baud_strategy(),
        (data_bits, parity, stop_bits) in format_strategy(),
        inverted in any::<bool>(),
        tx_ppm in -5000.0f64..5000.0,
        mismatch_ppm in prop_oneof![Just(0.0f64), -10_000.0f64..10_000.0],
        messages in prop::collection::vec(
            (0u64..3_000, prop::collection::vec(any::<u8>(), 0..200)),
            1..10,
        ),
    ) {
        let polarity = if inverted { Polarity::Inverted } else { Polarity::Normal };
        let tx = UartConfig { baud, data_bits, parity, stop_bits, polarity, clock_ppm: tx_ppm };
        let rx = tx.with_ppm(tx_ppm + mismatch_ppm);
        let mut line = Channel::new(tx, rx, vec![], Seed(0));
        let mut sent = Vec::new();
        let mut got = Vec::new();
        for (gap_per_mille_bit, message) in &messages {
            // Idle gaps from 0 to 3 bit times, often not a whole number of ticks.
            let gap = (*gap_per_mille_bit as f64 * tx.bit_time_ns() / 1000.0) as u64;
            line.send(line.free_at() + gap, message);
            sent.extend(message.iter().map(|b| b & tx.data_mask()));
            got.extend(line.receive_until(line.free_at()));
        }
        got.extend(line.receive_all());
        prop_assert_eq!(bytes(&got), sent);
        for c in &got {
            prop_assert!(!c.parity_error && !c.framing_error && !c.brk, "{:?}", c);
        }
    }

    // 2. 8E1 read as 8N1: the parity bit is sampled as the stop bit.
    #[test]
    fn even_parity_read_without_parity(message in prop::collection::vec(any::<u8>(), 0..500)) {
        let got = transfer("115200 8E1", "115200 8N1", vec![], 0, &[&message]);
        prop_assert_eq!(bytes(&got), message.clone());
        for (c, &b) in got.iter().zip(&message) {
            // Even parity bit = 1 exactly when the byte has an odd number of 1 bits.
            prop_assert_eq!(c.framing_error, !popcount_odd(b));
            // 0x00: data, "stop" (the parity bit 0): all space, a break.
            prop_assert_eq!(c.brk, b == 0);
            prop_assert!(!c.parity_error);
        }
    }

    /// Reading in any steps gives what reading at once gives, faults included.
    #[test]
    fn receiving_in_steps_is_receiving_at_once(
        steps in prop::collection::vec(1u64..2_000_000, 1..50),
        seed in any::<u64>(),
    ) {
        let faults = vec![Fault::Noise { ber: 1e-2 }, Fault::Burst { rate: 1e-3, bits: 8 }];
        let text = &TELEGRAM.as_bytes()[..300];
        let mut once = Channel::new(config("38400 8N1"), config("9600 7E1"), faults.clone(), Seed(seed));
        once.send(0, text);
        once.send(40_000_000, text);
        let once = once.receive_all();

        let mut stepped = Channel::new(config("38400 8N1"), config("9600 7E1"), faults, Seed(seed));
        stepped.send(0, text);
        let mut got = Vec::new();
        let mut t = 0;
        for step in steps {
            t += step;
            got.extend(stepped.receive_until(t));
        }
        stepped.send(40_000_000, text);
        got.extend(stepped.receive_all());
        prop_assert_eq!(got, once);
    }
}

// ---------------------------------------------------------------------------------------------
// 3. 7E1 read as 8N1: the parity bit becomes bit 7.

#[test]
fn seven_e_one_read_as_eight_n_one() {
    let all: Vec<u8> = (0..=255).collect();
    let got = transfer("9600 7E1", "9600 8N1", vec![], 0, &[&all]);
    assert_eq!(got.len(), 256);
    for (c, &b) in got.iter().zip(&all) {
        let low = b & 0x7F;
        let expected = if popcount_odd(low) { low | 0x80 } else { low };
        assert_eq!(c.byte, expected, "{b:#04x}");
        assert!(!c.framing_error && !c.parity_error && !c.brk, "{c:?}");
    }
    // The published examples.
    let got = bytes(&transfer("9600 7E1", "9600 8N1", vec![], 0, &[b"1*\r0(."]));
    assert_eq!(got, [0xB1, 0xAA, 0x8D, b'0', b'(', b'.']);
}

// ---------------------------------------------------------------------------------------------
// 6. 8N1 read as 7E1 (dsmr_parser's "V4" settings on a DSMR 4/5 meter).

#[test]
fn eight_n_one_read_as_seven_e_one() {
    let all: Vec<u8> = (0..=255).collect();
    let got = transfer("115200 8N1", "115200 7E1", vec![], 0, &[&all]);
    assert_eq!(got.len(), 256);
    for (c, &b) in got.iter().zip(&all) {
        // Seven data bits; the 8th data bit is sampled as the parity bit, the stop bit as stop.
        assert_eq!(c.byte, b & 0x7F);
        // Bit 7 must equal the even parity of bits 0-6: true exactly when the whole byte has an
        // even number of 1 bits.
        assert_eq!(c.parity_error, popcount_odd(b), "{b:#04x}");
        assert!(!c.framing_error && !c.brk);
    }
    // ASCII arrives unchanged; about half of it with parity errors.
    let got = transfer(
        "115200 8N1",
        "115200 7E1",
        vec![],
        0,
        &[TELEGRAM.as_bytes()],
    );
    assert_eq!(bytes(&got), TELEGRAM.as_bytes());
    let flagged: Vec<u8> = got
        .iter()
        .filter(|c| c.parity_error)
        .map(|c| c.byte)
        .collect();
    assert!(flagged.contains(&b'1') && flagged.contains(&b'\r') && !flagged.contains(&b'0'));
    // What a reader's read() returns depends on the driver: INPCK off delivers everything,
    // IGNPAR loses every character with an odd number of 1 bits, the CRC digits among them.
    assert_eq!(host_bytes(&got, ErrorPolicy::Pass), TELEGRAM.as_bytes());
    let ignored = host_bytes(&got, ErrorPolicy::Ignore);
    let expected: Vec<u8> = TELEGRAM.bytes().filter(|&b| !popcount_odd(b)).collect();
    assert_eq!(ignored, expected);
}

// ---------------------------------------------------------------------------------------------
// 4. Polarity.

#[test]
fn inverted_on_both_ends_is_lossless() {
    let got = transfer(
        "115200 8N1 inverted",
        "115200 8N1 inverted",
        vec![],
        0,
        &[TELEGRAM.as_bytes()],
    );
    assert_eq!(bytes(&got), TELEGRAM.as_bytes());
    assert!(got.iter().all(|c| !c.framing_error && !c.parity_error));
}

#[test]
fn inverted_on_one_end_is_garbage() {
    for (tx, rx) in [
        ("115200 8N1 inverted", "115200 8N1"),
        ("115200 8N1", "115200 8N1 inverted"),
    ] {
        let mut line = Channel::new(config(tx), config(rx), vec![], Seed(0));
        // Starting a little later than t = 0 lets the idle level show.
        line.send(1_000_000, TELEGRAM.as_bytes());
        let first = line.receive_all();
        assert_ne!(bytes(&first), TELEGRAM.as_bytes(), "{tx} -> {rx}");
        assert!(first.iter().any(|c| c.framing_error), "{tx} -> {rx}");
        // The idle line reads as space: a break comes first.
        assert!(first[0].brk, "{tx} -> {rx}: {:?}", first[0]);
        let mut again = Channel::new(config(tx), config(rx), vec![], Seed(99));
        again.send(1_000_000, TELEGRAM.as_bytes());
        assert_eq!(again.receive_all(), first, "deterministic");
    }
}

// ---------------------------------------------------------------------------------------------
// 5. Baud mismatch.

#[test]
fn baud_mismatch_is_garbage() {
    for (tx, rx) in [("115200 8N1", "9600 8N1"), ("9600 8N1", "115200 8N1")] {
        let got = transfer(tx, rx, vec![], 0, &[TELEGRAM.as_bytes()]);
        assert_ne!(bytes(&got), TELEGRAM.as_bytes(), "{tx} -> {rx}");
        assert_eq!(transfer(tx, rx, vec![], 1, &[TELEGRAM.as_bytes()]), got);
    }
    // 12 times too fast a receiver sees every low bit of the sender as a break.
    let got = transfer("9600 8N1", "115200 8N1", vec![], 0, &[b"U"]);
    // 'U' = 0x55: start + d0..d7 = 0 1 0 1 0 1 0 1 0 1: five low bits, five falling edges.
    assert_eq!(got.len(), 5);
    assert!(got.iter().all(|c| c.brk && c.byte == 0));
}

// ---------------------------------------------------------------------------------------------
// 7. Timing.

#[test]
fn message_duration() {
    let message = [b'x'; 282];
    for (settings, bits) in [
        ("2400 8N1", 10.0),
        ("2400 8E1", 11.0),
        ("2400 8N1.5", 10.5),
        ("2400 7E2", 11.0),
        ("2400 8N1 +1000ppm", 10.0 / 1.001),
        ("2400 8N1 -1000ppm", 10.0 / 0.999),
    ] {
        let c = config(settings);
        let mut line = Channel::new(c, c, vec![], Seed(0));
        let end = line.send(0, &message);
        let expected = 282.0 * bits / 2400.0 * 1e9;
        assert!(
            (end as f64 - expected).abs() <= c.bit_time_ns(),
            "{settings}: {end} vs {expected}"
        );
        // Precisely: no rounding accumulates.
        assert!(
            (end as f64 - expected).abs() <= 1.0,
            "{settings}: {end} vs {expected}"
        );
        assert_eq!(bytes(&line.receive_all()), message);
    }
}

// ---------------------------------------------------------------------------------------------
// 8. Faults.

fn ten_kb() -> Vec<u8> {
    TELEGRAM
        .as_bytes()
        .iter()
        .copied()
        .cycle()
        .take(10_000)
        .collect()
}

#[test]
fn noise_is_seeded() {
    let data = ten_kb();
    let noise = || vec![Fault::Noise { ber: 1e-3 }];
    let a = transfer("115200 8N1", "115200 8N1", noise(), 7, &[&data]);
    let b = transfer("115200 8N1", "115200 8N1", noise(), 7, &[&data]);
    let c = transfer("115200 8N1", "115200 8N1", noise(), 8, &[&data]);
    assert_eq!(a, b);
    assert_ne!(bytes(&a), bytes(&c));
    assert_ne!(bytes(&a), data);
    let clean = transfer(
        "115200 8N1",
        "115200 8N1",
        vec![Fault::Noise { ber: 0.0 }],
        7,
        &[&data],
    );
    assert_eq!(bytes(&clean), data);
    assert!(clean.iter().all(|c| !c.framing_error));
}

#[test]
fn noise_flips_a_plausible_number_of_bits() {
    let data: Vec<u8> = ten_kb().into_iter().cycle().take(100_000).collect();
    let c = config("115200 8N1");
    let mut line = Channel::new(c, c, vec![Fault::Noise { ber: 1e-3 }], Seed(5));
    line.send(0, &data);
    let got = line.receive_all();
    let flipped = line.fault_log().total().bits_flipped;
    // 1e6 cells at 1e-3: 1000 ± 32 (one sigma).
    assert!((880..=1120).contains(&flipped), "{flipped}");
    // Most flips damage exactly one character; a flipped start or stop bit can do more.
    let damaged = got.iter().zip(&data).filter(|(c, &b)| c.byte != b).count();
    assert!(damaged >= 700, "{damaged}");
}

#[test]
fn drop_removes_exactly_one_byte() {
    let fault = Fault::Drop(Where::At {
        message: 0,
        offset: 5,
    });
    let got = transfer(
        "9600 8N1",
        "9600 8N1",
        vec![fault],
        0,
        &[b"0123456789", b"0123456789"],
    );
    assert_eq!(
        bytes(&got),
        b"012346789"
            .iter()
            .chain(b"0123456789")
            .copied()
            .collect::<Vec<_>>()
    );
}

#[test]
fn duplicate_sends_a_byte_twice() {
    let faults = vec![
        Fault::Duplicate(Where::At {
            message: 1,
            offset: 0,
        }),
        Fault::Duplicate(Where::Every { every: 4 }),
    ];
    let got = transfer("9600 8N1", "9600 8N1", faults, 0, &[b"abcdef", b"ghij"]);
    // The 4th and 8th bytes of the traffic ('d', 'h') by `every`, and 'g' by position.
    assert_eq!(bytes(&got), b"abcddefgghhij");
}

#[test]
fn garbage_is_inserted_before_the_byte() {
    let fault = || {
        vec![Fault::Garbage {
            at: Where::At {
                message: 0,
                offset: 10,
            },
            len: 4,
        }]
    };
    let text = &TELEGRAM.as_bytes()[..40];
    let got = bytes(&transfer("9600 8N1", "9600 8N1", fault(), 3, &[text]));
    assert_eq!(got.len(), 44);
    assert_eq!(&got[..10], &text[..10]);
    assert_eq!(&got[14..], &text[10..]);
    assert_eq!(
        bytes(&transfer("9600 8N1", "9600 8N1", fault(), 3, &[text])),
        got
    );
    assert_ne!(
        bytes(&transfer("9600 8N1", "9600 8N1", fault(), 4, &[text])),
        got
    );
}

#[test]
fn truncate_and_drop_message() {
    let text = TELEGRAM.as_bytes();
    let faults = vec![
        Fault::Truncate {
            message: 1,
            at: 300,
        },
        Fault::DropMessage { message: 3 },
    ];
    let mut line = Channel::new(config("115200 8N1"), config("115200 8N1"), faults, Seed(0));
    for _ in 0..5 {
        line.send(0, text);
    }
    let got = bytes(&line.receive_all());
    let expected: Vec<u8> = [text, &text[..300], text, text].concat();
    assert_eq!(got, expected);
    let log = line.fault_log();
    assert_eq!(log.entries()[0].counts.messages_truncated, 1);
    assert_eq!(
        log.entries()[0].counts.bytes_dropped,
        (text.len() - 300) as u64
    );
    assert_eq!(log.entries()[1].counts.messages_dropped, 1);
    assert_eq!(line.messages_sent(), 5);
}

#[test]
fn gap_delays_the_rest() {
    let text = &TELEGRAM.as_bytes()[..120];
    let c = config("9600 8N1");
    let plain = transfer("9600 8N1", "9600 8N1", vec![], 0, &[text, text]);
    let gap = Fault::Gap {
        at: Where::At {
            message: 1,
            offset: 50,
        },
        ms: 200.0,
    };
    let mut line = Channel::new(c, c, vec![gap], Seed(0));
    let end0 = line.send(0, text);
    let end1 = line.send(0, text);
    let gapped = line.receive_all();
    assert_eq!(bytes(&gapped), bytes(&plain));
    let gap_ns = 200_000_000i64;
    // Within one receiver tick (plus rounding) of the gap.
    let tolerance = (c.bit_time_ns() / 16.0) as i64 + 2;
    for (i, (g, p)) in gapped.iter().zip(&plain).enumerate() {
        let shift = g.time_ns as i64 - p.time_ns as i64;
        if i < 120 + 50 {
            assert_eq!(shift, 0, "char {i}");
        } else {
            assert!(
                (shift - gap_ns).abs() <= tolerance,
                "char {i}: shifted {shift}"
            );
        }
    }
    let free_without_gap = end0 as i64 + (120.0 * c.char_time_ns()).round() as i64;
    assert!((end1 as i64 - free_without_gap - gap_ns).abs() <= 2);
    assert_eq!(line.fault_log().total().gap_ns, 200_000_000);
}

#[test]
fn junk_comes_first() {
    let text = &TELEGRAM.as_bytes()[..200];
    let junk = || vec![Fault::Junk { len: 32 }];
    let got = transfer("115200 8N1", "115200 8N1", junk(), 11, &[text]);
    assert_eq!(got.len(), 232);
    assert_eq!(bytes(&got[32..]), text);
    assert!(got.iter().all(|c| !c.framing_error));
    // The junk starts at t = 0, whenever the first message is sent.
    let c = config("115200 8N1");
    let mut line = Channel::new(c, c, junk(), Seed(11));
    assert!(line.free_at() > 0);
    line.send(500_000_000, text);
    let late = line.receive_all();
    assert_eq!(bytes(&late), bytes(&got));
    assert!(late[31].time_ns < 4_000_000 && late[32].time_ns > 500_000_000);
}

#[test]
fn bursts_damage_runs_of_bits() {
    let data = ten_kb();
    let c = config("115200 8N1");
    let mut line = Channel::new(
        c,
        c,
        vec![Fault::Burst {
            rate: 1e-4,
            bits: 12,
        }],
        Seed(2),
    );
    line.send(0, &data);
    let got = line.receive_all();
    let counts = line.fault_log().total();
    assert!((3..=25).contains(&counts.bursts), "{counts:?}");
    assert!(counts.bits_flipped > counts.bursts, "{counts:?}");
    assert_ne!(bytes(&got), data);
}

#[test]
fn a_hundred_kilobytes_is_quick() {
    let data: Vec<u8> = ten_kb().into_iter().cycle().take(100_000).collect();
    let start = std::time::Instant::now();
    let got = transfer(
        "115200 8N1",
        "9600 7E1",
        vec![Fault::Noise { ber: 1e-4 }],
        0,
        &[&data],
    );
    assert!(!got.is_empty());
    let got = transfer("9600 8N1", "115200 8N1", vec![], 0, &[&data]);
    assert!(!got.is_empty());
    // Generous for a debug build on a slow machine; a release build takes milliseconds.
    assert!(start.elapsed().as_secs() < 20, "{:?}", start.elapsed());
}

// ---------------------------------------------------------------------------------------------
// Scenario forms (serde), through a minimal self-describing deserializer standing in for YAML.

mod value {
    use serde::de::value::{Error, MapAccessDeserializer, MapDeserializer};
    use serde::de::{IntoDeserializer, Visitor};
    use serde::forward_to_deserialize_any;

    /// A YAML-like value.
    #[derive(Clone, Debug)]
    pub enum V {
        U(u64),
        F(f64),
        S(&'static str),
        M(Vec<(&'static str, V)>),
    }

    impl<'de> IntoDeserializer<'de, Error> for V {
        type Deserializer = V;
        fn into_deserializer(self) -> V {
            self
        }
    }

    impl<'de> serde::Deserializer<'de> for V {
        type Error = Error;

        fn deserialize_any<W: Visitor<'de>>(self, visitor: W) -> Result<W::Value, Error> {
            match self {
                V::U(n) => visitor.visit_u64(n),
                V::F(x) => visitor.visit_f64(x),
                V::S(s) => visitor.visit_str(s),
                V::M(entries) => visitor.visit_map(MapDeserializer::new(entries.into_iter())),
            }
        }

        fn deserialize_option<W: Visitor<'de>>(self, visitor: W) -> Result<W::Value, Error> {
            visitor.visit_some(self)
        }

        fn deserialize_enum<W: Visitor<'de>>(
            self,
            name: &'static str,
            variants: &'static [&'static str],
            visitor: W,
        ) -> Result<W::Value, Error> {
            match self {
                V::M(entries) => {
                    MapAccessDeserializer::new(MapDeserializer::new(entries.into_iter()))
                        .deserialize_enum(name, variants, visitor)
                }
                V::S(s) => visitor.visit_enum(s.into_deserializer()),
                other => other.deserialize_any(visitor),
            }
        }

        forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
            unit unit_struct newtype_struct seq tuple tuple_struct map struct identifier
            ignored_any
        }
    }
}

use value::V;

fn fault(v: V) -> Result<Fault, String> {
    serde::Deserialize::deserialize(v).map_err(|e: serde::de::value::Error| e.to_string())
}

fn item(name: &'static str, fields: Vec<(&'static str, V)>) -> V {
    V::M(vec![(name, V::M(fields))])
}

#[test]
fn scenario_fault_forms_parse() {
    use V::{F, U};
    let cases = [
        (
            item("noise", vec![("ber", F(1.0e-4))]),
            Fault::Noise { ber: 1e-4 },
        ),
        (
            item("drop", vec![("message", U(2)), ("offset", U(100))]),
            Fault::Drop(Where::At {
                message: 2,
                offset: 100,
            }),
        ),
        (
            item("drop", vec![("rate", F(0.001))]),
            Fault::Drop(Where::Rate { rate: 0.001 }),
        ),
        (
            item("duplicate", vec![("every", U(500))]),
            Fault::Duplicate(Where::Every { every: 500 }),
        ),
        (
            item(
                "garbage",
                vec![("message", U(0)), ("offset", U(10)), ("len", U(4))],
            ),
            Fault::Garbage {
                at: Where::At {
                    message: 0,
                    offset: 10,
                },
                len: 4,
            },
        ),
        (
            item("truncate", vec![("message", U(1)), ("at", U(300))]),
            Fault::Truncate {
                message: 1,
                at: 300,
            },
        ),
        (
            item("drop_message", vec![("message", U(3))]),
            Fault::DropMessage { message: 3 },
        ),
        (
            item(
                "gap",
                vec![("message", U(1)), ("offset", U(50)), ("ms", U(200))],
            ),
            Fault::Gap {
                at: Where::At {
                    message: 1,
                    offset: 50,
                },
                ms: 200.0,
            },
        ),
        (item("junk", vec![("len", U(32))]), Fault::Junk { len: 32 }),
        (
            item("burst", vec![("rate", F(1.0e-5)), ("bits", U(12))]),
            Fault::Burst {
                rate: 1e-5,
                bits: 12,
            },
        ),
    ];
    for (v, expected) in cases {
        assert_eq!(fault(v.clone()), Ok(expected.clone()), "{v:?}");
    }
    assert_eq!(
        Fault::Drop(Where::At {
            message: 2,
            offset: 100
        })
        .to_string(),
        "drop message 2 offset 100"
    );
    assert_eq!(Fault::Noise { ber: 1e-4 }.to_string(), "noise ber=1e-4");
}

#[test]
fn scenario_fault_mistakes_are_errors() {
    use V::{F, U};
    for (v, needle) in [
        (
            item("noise", vec![("ber", F(2.0))]),
            "ber must be in [0, 1]",
        ),
        (
            item("noise", vec![("ber", F(1e-4)), ("bits", U(3))]),
            "unknown field `bits`",
        ),
        (
            item("drop", vec![("message", U(2))]),
            "expected either message and offset",
        ),
        (
            item("drop", vec![("rate", F(0.1)), ("every", U(3))]),
            "expected either",
        ),
        (
            item("drop", vec![("rate", F(0.1)), ("offset", U(3))]),
            "expected either",
        ),
        (
            item("garbage", vec![("rate", F(0.1)), ("len", U(0))]),
            "len must be in",
        ),
        (
            item(
                "garbage",
                vec![("rate", F(0.1)), ("len", U(2)), ("ms", U(1))],
            ),
            "unknown field `ms`",
        ),
        (
            item("gap", vec![("every", U(0)), ("ms", U(1))]),
            "every must be at least 1",
        ),
        (
            item("static", vec![("level", U(1))]),
            "unknown variant `static`",
        ),
    ] {
        let err = fault(v.clone()).expect_err("must be rejected");
        assert!(err.contains(needle), "{v:?}: {err}");
    }
}

#[test]
fn uart_config_forms_parse() {
    let from = |v: V| -> Result<UartConfig, String> {
        serde::Deserialize::deserialize(v).map_err(|e: serde::de::value::Error| e.to_string())
    };
    assert_eq!(
        from(V::S("9600 7E1 inverted")),
        Ok(config("9600 7E1 inverted"))
    );
    assert_eq!(
        from(V::M(vec![
            ("baud", V::U(2400)),
            ("format", V::S("8E1")),
            ("clock_ppm", V::F(150.0))
        ])),
        Ok(config("2400 8E1 +150ppm"))
    );
    assert_eq!(
        from(V::M(vec![
            ("baud", V::U(115200)),
            ("format", V::S("8N1")),
            ("polarity", V::S("inverted"))
        ])),
        Ok(config("115200 8N1 inverted"))
    );
    assert!(from(V::S("9600 9N1")).is_err());
    assert!(from(V::M(vec![
        ("baud", V::U(9600)),
        ("format", V::S("8N1")),
        ("parity", V::S("even"))
    ]))
    .is_err());
    assert!(from(V::M(vec![
        ("baud", V::U(9600)),
        ("format", V::S("8N1")),
        ("clock_ppm", V::F(1e7))
    ]))
    .is_err());
}

// ---------------------------------------------------------------------------------------------
// 10. The fault sweep: one table of what each pairing does to a telegram.

#[test]
fn fault_sweep() {
    let rows: &[(&str, &str, Vec<Fault>)] = &[
        ("115200 8N1", "115200 8N1", vec![]),
        ("115200 8N1 inverted", "115200 8N1 inverted", vec![]),
        ("115200 8N1 inverted", "115200 8N1", vec![]),
        ("115200 8N1", "115200 8N1 inverted", vec![]),
        ("9600 7E1", "9600 7E1", vec![]),
        ("9600 7E1", "9600 8N1", vec![]),
        ("115200 8N1", "115200 7E1", vec![]),
        ("2400 8E1", "2400 8N1", vec![]),
        ("9600 8N1", "115200 8N1", vec![]),
        ("115200 8N1", "9600 8N1", vec![]),
        ("115200 8N1 +30000ppm", "115200 8N1", vec![]),
        ("115200 8N1 -30000ppm", "115200 8N1", vec![]),
        ("115200 8N1 +50000ppm", "115200 8N1", vec![]),
        ("115200 8N1 -50000ppm", "115200 8N1", vec![]),
        ("115200 8N1 +60000ppm", "115200 8N1", vec![]),
        ("115200 8N1 -60000ppm", "115200 8N1", vec![]),
        ("115200 8N1", "115200 8N1", vec![Fault::Noise { ber: 1e-4 }]),
        ("115200 8N1", "115200 8N1", vec![Fault::Noise { ber: 1e-3 }]),
        ("9600 7E1", "9600 7E1", vec![Fault::Noise { ber: 1e-3 }]),
        (
            "115200 8N1",
            "115200 8N1",
            vec![Fault::Burst {
                rate: 1e-3,
                bits: 12,
            }],
        ),
    ];
    let text = TELEGRAM.as_bytes();
    let mut table = format!(
        "{:<22} {:<22} {:<26} {:>5} {:>5} {:>6} {:>6} {:>6} {:>7} {:>5}\n",
        "sender",
        "receiver",
        "faults",
        "sent",
        "recv",
        "parity",
        "frame",
        "breaks",
        "flipped",
        "equal"
    );
    for (tx, rx, faults) in rows {
        let mut line = Channel::new(config(tx), config(rx), faults.clone(), Seed(2025));
        line.send(0, text);
        let got = line.receive_all();
        let faults: Vec<String> = faults.iter().map(|f| f.to_string()).collect();
        table += &format!(
            "{:<22} {:<22} {:<26} {:>5} {:>5} {:>6} {:>6} {:>6} {:>7} {:>5}\n",
            tx,
            rx,
            if faults.is_empty() {
                "-".to_owned()
            } else {
                faults.join(", ")
            },
            text.len(),
            got.len(),
            got.iter().filter(|c| c.parity_error).count(),
            got.iter().filter(|c| c.framing_error).count(),
            got.iter().filter(|c| c.brk).count(),
            line.fault_log().total().bits_flipped,
            if bytes(&got) == text { "yes" } else { "no" },
        );
    }
    insta::with_settings!({snapshot_path => "../../golden/line", prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!("line_fault_sweep", table);
    });
}

#[test]
fn fault_log_for_reports() {
    let faults = vec![
        Fault::Garbage {
            at: Where::At {
                message: 0,
                offset: 1,
            },
            len: 2,
        },
        Fault::Drop(Where::Every { every: 2 }),
        Fault::Noise { ber: 0.0 },
    ];
    let c = config("9600 8N1");
    let mut line = Channel::new(c, c, faults, Seed(1));
    line.send(0, b"abcd");
    assert_eq!(line.receive_all().len(), 4);
    assert_eq!(
        line.fault_log().to_string(),
        "garbage len=2 message 0 offset 1: 2 bytes inserted; \
         drop every 2: 2 bytes dropped; noise ber=0: no effect"
    );
    // Faults serialize in their scenario form.
    let faults: Vec<&Fault> = line
        .fault_log()
        .entries()
        .iter()
        .map(|e| &e.fault)
        .collect();
    insta::assert_yaml_snapshot!(faults, @r"
    - garbage:
        message: 0
        offset: 1
        len: 2
    - drop:
        every: 2
    - noise:
        ber: 0
    ");
}
