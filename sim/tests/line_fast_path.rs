//! The line model's fast path (characters without bit-level faults, in closed form) against the
//! bit-by-bit reference ([`Channel::bit_by_bit`]): over random settings on each side (baud,
//! data bits, parity, stop bits, polarity, clock error), random faults, seeds and sequences of
//! sends, reads and baud switches, both give exactly the same characters (bytes, times, error
//! flags), send times and fault logs.

use meterlab_sim::line::{Channel, Fault, Parity, Polarity, RxChar, StopBits, UartConfig, Where};
use meterlab_sim::seed::Seed;
use proptest::prelude::*;

fn parity() -> impl Strategy<Value = Parity> {
    prop_oneof![
        Just(Parity::None),
        Just(Parity::Even),
        Just(Parity::Odd),
        Just(Parity::Mark),
        Just(Parity::Space),
    ]
}

fn stop_bits() -> impl Strategy<Value = StopBits> {
    prop_oneof![
        Just(StopBits::One),
        Just(StopBits::OneAndHalf),
        Just(StopBits::Two),
    ]
}

fn baud() -> impl Strategy<Value = u32> {
    prop_oneof![
        3 => prop::sample::select(vec![300u32, 1200, 2400, 9600, 19_200, 115_200, 921_600]),
        1 => 1u32..=meterlab_sim::line::uart::MAX_BAUD,
        1 => Just(meterlab_sim::line::uart::MAX_BAUD),
    ]
}

fn clock_ppm() -> impl Strategy<Value = f64> {
    prop_oneof![
        3 => Just(0.0),
        3 => -500.0..500.0f64,
        1 => -100_000.0..=100_000.0f64,
    ]
}

fn uart() -> impl Strategy<Value = UartConfig> {
    (
        baud(),
        5u8..=8,
        parity(),
        stop_bits(),
        any::<bool>(),
        clock_ppm(),
    )
        .prop_map(
            |(baud, data_bits, parity, stop_bits, inverted, clock_ppm)| UartConfig {
                baud,
                data_bits,
                parity,
                stop_bits,
                polarity: if inverted {
                    Polarity::Inverted
                } else {
                    Polarity::Normal
                },
                clock_ppm,
            },
        )
}

/// The receiver's settings: mostly the sender's (the fast path), else one field or all
/// different.
fn receiver_of(tx: UartConfig, other: UartConfig, how: u8) -> UartConfig {
    match how % 8 {
        0..=2 => tx,
        3 => UartConfig {
            clock_ppm: other.clock_ppm,
            ..tx
        },
        4 => UartConfig {
            polarity: other.polarity,
            ..tx
        },
        5 => UartConfig {
            baud: other.baud,
            ..tx
        },
        6 => UartConfig {
            stop_bits: other.stop_bits,
            parity: other.parity,
            ..tx
        },
        _ => other,
    }
}

fn place() -> impl Strategy<Value = Where> {
    prop_oneof![
        (0usize..4, 0usize..30).prop_map(|(message, offset)| Where::At { message, offset }),
        (0.0..0.3f64).prop_map(|rate| Where::Rate { rate }),
        (1usize..20).prop_map(|every| Where::Every { every }),
    ]
}

fn fault() -> impl Strategy<Value = Fault> {
    prop_oneof![
        3 => prop_oneof![Just(0.0), 1e-4..0.05f64, Just(1.0)].prop_map(|ber| Fault::Noise { ber }),
        2 => (0.0..0.02f64, 1u32..30).prop_map(|(rate, bits)| Fault::Burst { rate, bits }),
        1 => place().prop_map(Fault::Drop),
        1 => place().prop_map(Fault::Duplicate),
        1 => (place(), 1usize..4).prop_map(|(at, len)| Fault::Garbage { at, len }),
        1 => (place(), 0.0..3.0f64).prop_map(|(at, ms)| Fault::Gap { at, ms }),
        1 => (place(), 1u8..=255).prop_map(|(at, xor)| Fault::Corrupt { at, xor }),
        1 => (0usize..4, 0usize..30).prop_map(|(message, at)| Fault::Truncate { message, at }),
        1 => (0usize..4).prop_map(|message| Fault::DropMessage { message }),
        1 => (1usize..6).prop_map(|len| Fault::Junk { len }),
    ]
}

/// One step of a session on the line.
#[derive(Clone, Debug)]
enum Step {
    /// Send a message this many ns after the previous step's time.
    Send(u64, Vec<u8>),
    /// Read everything completed up to this many ns after the previous step's time.
    Receive(u64),
    /// The receiver switches settings this many ns after the previous step's time.
    SwitchRx(u64, UartConfig),
    /// The sender switches settings for its next message.
    SwitchTx(UartConfig),
}

fn step() -> impl Strategy<Value = Step> {
    let delay = prop_oneof![Just(0u64), 0u64..2_000_000, 0u64..200_000_000];
    prop_oneof![
        5 => (delay.clone(), prop::collection::vec(any::<u8>(), 0..40))
            .prop_map(|(d, bytes)| Step::Send(d, bytes)),
        4 => delay.clone().prop_map(Step::Receive),
        1 => (delay, uart()).prop_map(|(d, c)| Step::SwitchRx(d, c)),
        1 => uart().prop_map(Step::SwitchTx),
    ]
}

/// Everything a session can observe of a line: what each call returned, in order.
#[derive(Debug, PartialEq)]
enum Seen {
    Sent(u64),
    Chars(Vec<RxChar>),
    Switched(bool),
}

fn run(mut line: Channel, steps: &[Step]) -> (Vec<Seen>, String, u64, u64) {
    let mut seen = Vec::new();
    let mut now = 0u64;
    for step in steps {
        match step {
            Step::Send(delay, bytes) => {
                now += delay;
                let end = line.send(now, bytes);
                seen.push(Seen::Sent(end));
            }
            Step::Receive(delay) => {
                now += delay;
                seen.push(Seen::Chars(line.receive_until(now)));
            }
            Step::SwitchRx(delay, config) => {
                now += delay;
                seen.push(Seen::Switched(line.set_rx_config(now, *config).is_ok()));
            }
            Step::SwitchTx(config) => {
                seen.push(Seen::Switched(line.set_tx_config(*config).is_ok()));
            }
        }
    }
    let settled = line.settled_at();
    seen.push(Seen::Chars(line.receive_all()));
    (seen, line.fault_log().to_string(), settled, line.free_at())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn fast_path_equals_bit_by_bit(
        tx in uart(),
        other in uart(),
        how in any::<u8>(),
        faults in prop::collection::vec(fault(), 0..3),
        seed in any::<u64>(),
        steps in prop::collection::vec(step(), 1..10),
    ) {
        let rx = receiver_of(tx, other, how);
        let fast = Channel::new(tx, rx, faults.clone(), Seed(seed));
        let reference = Channel::new(tx, rx, faults, Seed(seed)).bit_by_bit();
        prop_assert_eq!(run(fast, &steps), run(reference, &steps));
    }
}

fn config(text: &str) -> UartConfig {
    text.parse().expect("test settings are valid")
}

/// A long run of back-to-back characters at the highest rate, with the receiver's clock as far
/// off as the fast path allows and beyond: same results, and the fast path is taken where the
/// clocks are close.
#[test]
fn long_runs_at_every_rate_and_clock_error() {
    let text: Vec<u8> = (0..=255u8).cycle().take(3000).collect();
    for tx in [
        "12000000 8N1",
        "115200 7E1 inverted",
        "300 5O1.5",
        "2400 8E2 +150ppm",
    ] {
        for ppm in [0.0, 150.0, -2000.0, 5000.0, -20_000.0, 40_000.0] {
            let tx = config(tx);
            let rx = tx.with_ppm(ppm);
            let run = |line: Channel| {
                let mut line = line;
                line.send(1_000, &text);
                let chars = line.receive_all();
                (chars, line.fast_path_chars())
            };
            let (fast, taken) = run(Channel::new(tx, rx, vec![], Seed(1)));
            let (reference, none) = run(Channel::new(tx, rx, vec![], Seed(1)).bit_by_bit());
            assert_eq!(fast, reference, "{tx} read at {rx}");
            assert_eq!(none, 0);
            if (ppm - tx.clock_ppm).abs() <= 150.0 {
                assert_eq!(taken, text.len() as u64, "{tx} read at {rx}");
            }
        }
    }
}

/// Noise takes single characters off the fast path; the others stay on it when the line is
/// read as a session does, message by message.
#[test]
fn noise_only_slows_the_characters_it_hits() {
    let c = config("115200 8N1");
    let faults = vec![Fault::Noise { ber: 1e-4 }];
    let run = |mut line: Channel| {
        let mut chars = Vec::new();
        let mut at = 1_000;
        for _ in 0..100 {
            let end = line.send(at, &[b'x'; 100]);
            chars.extend(line.receive_until(end + 1_000_000));
            at = end + 2_000_000;
        }
        chars.extend(line.receive_all());
        (chars, line.fast_path_chars())
    };
    let (fast, taken) = run(Channel::new(c, c, faults.clone(), Seed(5)));
    let (reference, _) = run(Channel::new(c, c, faults, Seed(5)).bit_by_bit());
    assert_eq!(fast, reference);
    assert!(fast.iter().any(|ch| ch.byte != b'x'), "noise had an effect");
    assert!(taken > 9_000 && taken < 10_000, "{taken}");
}
