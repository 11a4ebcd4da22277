//! One direction of a serial line in virtual time: a transmitter, the fault layers, the wire and
//! a receiver.
//!
//! Time is nanoseconds since the start of the scenario. The sender hands over whole messages (a
//! telegram, a reply); the byte-level fault layers rewrite each message, the transmitter frames
//! the bytes at its settings, the bit-level layers disturb the bit cells, and the receiver, at
//! its own settings, turns the wire's levels back into characters when asked.
//!
//! A character no bit-level fault touches goes on the wire in closed form and is read without
//! sampling when the receiver's settings allow (the fast path, see [`super::uart`]); the
//! characters, times and flags are exactly those of the bit-by-bit path, which
//! [`Channel::bit_by_bit`] forces (the reference the fast path is tested against).

use super::fault::{Fault, FaultLayers, FaultLog};
use super::uart::{Frame, LineError, Receiver, RxChar, Transmitter, UartConfig, Wire};
use crate::seed::Seed;

/// One direction of a serial line in virtual time (nanoseconds since the start of the scenario).
///
/// Sending and receiving may be interleaved freely as long as time moves forward: a message
/// never starts before a time the receiver has already been read to (see [`Channel::send`]), so
/// the received characters do not depend on how often [`Channel::receive_until`] is called.
#[derive(Clone, Debug)]
pub struct Channel {
    tx: Transmitter,
    rx: Receiver,
    wire: Wire,
    faults: FaultLayers,
    /// Messages sent so far (the next message's number).
    messages: usize,
    /// Original bytes offered so far (the traffic index of the next message's first byte).
    bytes_offered: u64,
    /// Bit cells transmitted so far (the traffic index for bit-level faults).
    cells_sent: u64,
    /// The receiver has been read up to here; the line before it is history.
    read_until_ns: u64,
    /// Characters received before a receiver reconfiguration, not yet handed out.
    pending: Vec<RxChar>,
    /// Every character edge by edge (no closed form): the reference path.
    bit_by_bit: bool,
}

impl Channel {
    /// A line from a sender with settings `tx` to a receiver with settings `rx`, with these
    /// faults, every random choice drawn from `seed`. Junk faults are sent from t = 0 at once.
    ///
    /// # Panics
    ///
    /// If a setting or a fault is invalid ([`UartConfig::validate`], [`Fault::validate`]).
    /// Settings and faults read with `FromStr` or serde always are valid; use
    /// [`Channel::try_new`] for values built by hand.
    pub fn new(tx: UartConfig, rx: UartConfig, faults: Vec<Fault>, seed: Seed) -> Self {
        match Channel::try_new(tx, rx, faults, seed) {
            Ok(channel) => channel,
            Err(e) => panic!("Channel::new: {e}"),
        }
    }

    /// Like [`Channel::new`], with an error instead of a panic for invalid settings or faults.
    pub fn try_new(
        tx: UartConfig,
        rx: UartConfig,
        faults: Vec<Fault>,
        seed: Seed,
    ) -> Result<Self, LineError> {
        tx.validate()?;
        rx.validate()?;
        for fault in &faults {
            fault.validate()?;
        }
        let tx = Transmitter::new(tx);
        let mut channel = Channel {
            wire: Wire::new(tx.idle_high()),
            tx,
            rx: Receiver::new(rx),
            faults: FaultLayers::new(faults, seed),
            messages: 0,
            bytes_offered: 0,
            cells_sent: 0,
            read_until_ns: 0,
            pending: Vec::new(),
            bit_by_bit: false,
        };
        let junk = channel.faults.junk();
        if !junk.is_empty() {
            channel.tx.start_at(0);
            for byte in junk {
                channel.transmit(byte);
            }
        }
        Ok(channel)
    }

    /// The same line with every character sent and received bit by bit, edge by edge: the
    /// reference for the fast path, which gives exactly the same characters, times and flags.
    /// Call before sending anything (characters already sent stay as they are).
    pub fn bit_by_bit(mut self) -> Self {
        self.bit_by_bit = true;
        self
    }

    /// How many characters the receiver read on the fast path so far (sent without bit-level
    /// faults and read without sampling).
    pub fn fast_path_chars(&self) -> u64 {
        self.wire.fast_reads()
    }

    /// The sender's settings.
    pub fn tx_config(&self) -> &UartConfig {
        self.tx.config()
    }

    /// The receiver's settings.
    pub fn rx_config(&self) -> &UartConfig {
        self.rx.config()
    }

    /// Sends one message (a telegram, a reply) starting no earlier than `at_ns` and no earlier
    /// than the end of the previous one; characters back to back (plus any gap faults). Messages
    /// are numbered 0.. in send order (that is what `Where::At{message}` and
    /// `Truncate{message}` refer to; offsets index the original message bytes).
    /// Returns the time the last stop bit ends.
    ///
    /// The message also never starts before the latest `until_ns` given to
    /// [`Channel::receive_until`]: that part of the line has been observed, idle. A message the
    /// faults remove entirely occupies no time: the start time is returned.
    pub fn send(&mut self, at_ns: u64, bytes: &[u8]) -> u64 {
        let start = at_ns.max(self.tx.free_at()).max(self.read_until_ns);
        let message = self.messages;
        self.messages += 1;
        let items = self.faults.apply_bytes(message, self.bytes_offered, bytes);
        self.bytes_offered += bytes.len() as u64;
        self.tx.start_at(start);
        for item in items {
            if item.gap_ns > 0 {
                let resume = self.tx.free_at().saturating_add(item.gap_ns);
                self.tx.start_at(resume);
            }
            self.transmit(item.byte);
        }
        tracing::trace!(
            message,
            bytes = bytes.len(),
            start,
            end = self.tx.free_at(),
            "line send"
        );
        self.tx.free_at()
    }

    /// Frames one byte, lets the bit-level faults at it, and puts it on the wire.
    fn transmit(&mut self, byte: u8) {
        let cells = self.tx.config().cells_per_char();
        if !self.bit_by_bit
            && !self.faults.touch_bits(self.cells_sent, cells)
            && self.tx.send_clean(&mut self.wire, byte)
        {
            self.cells_sent += cells as u64;
            return;
        }
        let mut frame = Frame::new(self.tx.config(), byte);
        self.faults.apply_bits(self.cells_sent, frame.cells_mut());
        self.cells_sent += frame.cells().len() as u64;
        self.tx.send_frame(&mut self.wire, &frame);
    }

    /// Every character the receiver has completed by `until_ns`, in order; each character is
    /// returned once.
    pub fn receive_until(&mut self, until_ns: u64) -> Vec<RxChar> {
        let mut out = std::mem::take(&mut self.pending);
        self.receive_chars(until_ns, &mut out);
        out
    }

    /// Appends the characters completed by `until_ns` to `out`.
    fn receive_chars(&mut self, until_ns: u64, out: &mut Vec<RxChar>) {
        self.read_until_ns = self.read_until_ns.max(until_ns);
        self.rx.receive_until(&mut self.wire, until_ns, out);
    }

    /// Everything still on the line (call after the last send): reads until the line has been
    /// idle long enough for the receiver to finish any character.
    pub fn receive_all(&mut self) -> Vec<RxChar> {
        let quiet_from = self
            .wire
            .last_edge_ns()
            .unwrap_or(0)
            .max(self.tx.free_at())
            .max(self.read_until_ns);
        let until = quiet_from.saturating_add(self.rx.max_char_span_ns());
        self.receive_until(until)
    }

    /// The sender switches to new settings (a baud switch) for everything it sends after its
    /// current message.
    pub fn set_tx_config(&mut self, config: UartConfig) -> Result<(), LineError> {
        config.validate()?;
        self.tx.reconfigure(config);
        Ok(())
    }

    /// The receiver switches to new settings at `at_ns`. Characters it completed before then are
    /// kept for the next [`receive_until`](Self::receive_until); a character in flight at the
    /// switch is lost, as on a real UART.
    pub fn set_rx_config(&mut self, at_ns: u64, config: UartConfig) -> Result<(), LineError> {
        config.validate()?;
        let mut pending = std::mem::take(&mut self.pending);
        self.receive_chars(at_ns, &mut pending);
        self.pending = pending;
        self.rx.reconfigure(at_ns, config);
        Ok(())
    }

    /// From when on the line is quiet: everything sent has been or can be received by then.
    pub fn settled_at(&self) -> u64 {
        self.wire
            .last_edge_ns()
            .unwrap_or(0)
            .max(self.tx.free_at())
            .saturating_add(self.rx.max_char_span_ns())
    }

    /// When the transmitter is free again.
    pub fn free_at(&self) -> u64 {
        self.tx.free_at()
    }

    /// How many messages have been sent (the number the next one gets).
    pub fn messages_sent(&self) -> usize {
        self.messages
    }

    /// What the fault layers did so far, for reports: counts per fault (bits flipped, bytes
    /// dropped, ...).
    pub fn fault_log(&self) -> &FaultLog {
        self.faults.log()
    }
}

#[cfg(test)]
mod test {
    use super::*;

    fn config(text: &str) -> UartConfig {
        text.parse().expect("test settings are valid")
    }

    fn bytes(chars: &[RxChar]) -> Vec<u8> {
        chars.iter().map(|c| c.byte).collect()
    }

    #[test]
    fn a_message_takes_its_character_times() {
        let c = config("2400 8N1");
        let mut ch = Channel::new(c, c, vec![], Seed(1));
        let end = ch.send(0, &[b'x'; 282]);
        let expected = 282.0 * 10.0 / 2400.0 * 1e9;
        assert!((end as f64 - expected).abs() <= c.bit_time_ns(), "{end}");
        assert_eq!(ch.free_at(), end);
        // The next message waits for the line.
        let end2 = ch.send(0, b"y");
        assert_eq!(end2, end + c.char_time_ns().round() as u64);
        let got = ch.receive_all();
        assert_eq!(got.len(), 283);
        // The last stop bit is sampled half a bit before it ends (± one receiver tick).
        let last = got[282].time_ns as f64;
        assert!((end2 as f64 - c.bit_time_ns() / 2.0 - last).abs() <= c.bit_time_ns() / 16.0 + 1.0);
    }

    #[test]
    fn sends_wait_for_what_was_already_received() {
        let c = config("9600 8N1");
        let mut ch = Channel::new(c, c, vec![], Seed(1));
        assert!(ch.receive_until(5_000_000).is_empty());
        // Asked for t = 1 ms, but the line up to 5 ms has been observed idle.
        let end = ch.send(1_000_000, b"A");
        assert_eq!(end, 5_000_000 + c.char_time_ns().round() as u64);
        assert_eq!(bytes(&ch.receive_all()), b"A");
    }

    #[test]
    fn receiving_in_small_steps_changes_nothing() {
        let tx = config("115200 8N1");
        let rx = config("9600 8N1");
        let faults = vec![Fault::Noise { ber: 1e-3 }];
        let text = b"/XMX5LGBBFG1012463609\r\n\r\n1-3:0.2.8(42)\r\n!ABCD\r\n";

        let mut whole = Channel::new(tx, rx, faults.clone(), Seed(9));
        whole.send(0, text);
        whole.send(20_000_000, text);
        let whole = whole.receive_all();

        let mut steps = Channel::new(tx, rx, faults, Seed(9));
        let mut got = Vec::new();
        steps.send(0, text);
        for t in (0..20_000_000).step_by(77_777) {
            got.extend(steps.receive_until(t));
        }
        steps.send(20_000_000, text);
        got.extend(steps.receive_all());
        assert_eq!(got, whole);
        assert!(!whole.is_empty());
    }

    /// IEC 62056-21 mode C: both ends switch from 300 to 9600 baud between two messages.
    #[test]
    fn both_ends_switch_baud_between_messages() {
        let slow = config("300 7E1");
        let fast = config("9600 7E1");
        let mut ch = Channel::new(slow, slow, vec![], Seed(1));
        let end = ch.send(0, b"/ISK5ME162-0033\r\n");
        assert_eq!(
            bytes(&ch.receive_until(end + 10_000_000)),
            b"/ISK5ME162-0033\r\n"
        );
        let switch = end + 300_000_000;
        ch.set_rx_config(switch, fast).expect("valid");
        ch.set_tx_config(fast).expect("valid");
        let t0 = switch + 200_000_000;
        let data = b"\x02C.1.0(28342193)\r\n!\r\n\x03L";
        let end2 = ch.send(t0, data);
        let took = (end2 - t0) as f64;
        let expected = data.len() as f64 * fast.char_time_ns();
        assert!(
            (took - expected).abs() < fast.bit_time_ns(),
            "sent at 9600: {took} vs {expected}"
        );
        assert_eq!(
            bytes(&ch.receive_all()),
            b"\x02C.1.0(28342193)\r\n!\r\n\x03L"
        );
    }

    /// A reader that switches while the meter still sends at the old rate reads garbage.
    #[test]
    fn receiver_switching_too_early_reads_garbage() {
        let slow = config("300 7E1");
        let fast = config("9600 7E1");
        let mut ch = Channel::new(slow, slow, vec![], Seed(1));
        ch.set_rx_config(0, fast).expect("valid");
        ch.send(0, b"\x02F.F(00)\r\n!\r\n\x03");
        let got = ch.receive_all();
        assert_ne!(bytes(&got), b"\x02F.F(00)\r\n!\r\n\x03");
        assert!(got.iter().any(|c| c.framing_error || c.brk), "{got:?}");
    }

    /// `corrupt` changes exactly the selected byte by its mask; YAML and Display round-trip.
    #[test]
    fn corrupt_flips_the_selected_bits() {
        let c = config("2400 8E1");
        let fault: Fault =
            serde_yaml::from_str("corrupt: { message: 1, offset: 2, xor: 0x81 }").expect("parses");
        assert_eq!(fault.to_string(), "corrupt xor=0x81 message 1 offset 2");
        let mut ch = Channel::new(c, c, vec![fault], Seed(3));
        ch.send(0, b"abcd");
        ch.send(0, b"abcd");
        assert_eq!(bytes(&ch.receive_all()), b"abcdab\xe2d");
        assert!(
            ch.fault_log().to_string().contains("1 byte corrupted"),
            "{}",
            ch.fault_log()
        );
        assert!(
            serde_yaml::from_str::<Fault>("corrupt: { message: 1, offset: 2, xor: 0 }").is_err()
        );
    }

    #[test]
    fn invalid_settings_are_errors() {
        let c = config("9600 8N1");
        assert!(Channel::try_new(c.with_ppm(1e6), c, vec![], Seed(0)).is_err());
        assert!(Channel::try_new(c, c, vec![Fault::Noise { ber: -1.0 }], Seed(0)).is_err());
        assert!(Channel::try_new(c, c, vec![], Seed(0)).is_ok());
    }
}
