//! `meterlab decode` as a library: a capture streamed through the capture reader
//! ([`crate::capture::StreamReader`]) into the reference decoder, one JSON line per message, in
//! memory independent of the input's size (issue #11, bounded resources): the reader holds one
//! window of input, the decoder one message plus its resynchronisation window, and messages are
//! written as they come.

use std::io::{Read, Write};

use meterlab_decoder::{Keys, Message, Protocol, StreamDecoder};

use crate::capture::{CaptureError, StreamReader, WINDOW};

/// What to decode with.
#[derive(Clone, Debug, Default)]
pub struct DecodeOptions {
    /// The protocol, or `None` to detect it from the first [`WINDOW`] bytes.
    pub protocol: Option<Protocol>,
    /// The keys for encrypted messages.
    pub keys: Keys,
    /// Start the output with a JSON line describing the input (`--json`).
    pub header: bool,
    /// DSMR telegrams whose CRC is wrong or missing are decoded anyway, every value flagged
    /// `unverified` (`--ignore-crc`; for telegrams anonymised by hand in bug reports).
    pub ignore_crc: bool,
}

/// What a decode went through.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DecodeSummary {
    /// Bytes the capture stood for.
    pub bytes: u64,
    /// Messages written (readings, errors and link messages).
    pub messages: u64,
    /// Of those, errors.
    pub errors: u64,
    /// The protocol decoded.
    pub protocol: Option<Protocol>,
    /// Input lines without bytes that were left out.
    pub ignored_lines: usize,
}

/// Why a decode stopped.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The capture could not be read.
    #[error("cannot read the capture")]
    Capture(#[from] CaptureError),
    /// The capture held no bytes (a dump with only its end offset, a log without data lines).
    #[error("the capture holds no bytes (read as {form})")]
    NoBytes {
        /// The form it was read in.
        form: String,
    },
    /// The output could not be written.
    #[error("cannot write the output")]
    Write(#[source] std::io::Error),
}

/// The protocol for `bytes`: the one given, or the one detected (DSMR when nothing is).
pub fn choose_protocol(given: Option<Protocol>, bytes: &[u8], keys: &Keys) -> Protocol {
    given.unwrap_or_else(|| {
        meterlab_decoder::auto::detect(bytes, keys).unwrap_or_else(|| {
            tracing::warn!(
                "could not tell the protocol from the first bytes; trying DSMR (use --protocol)"
            );
            Protocol::Dsmr
        })
    })
}

/// Decodes everything `reader` gives, writing one JSON line per message to `out`.
///
/// Two threads share the work (issue #15, goal 2: `decode` at ≥ 80 % of the decoder's own rate,
/// output included): this one reads and decodes; a writer thread turns each batch of messages
/// (holding about 16k values, or what one read gave when the input is read as it arrives) into
/// JSON lines and writes them. At most two batches wait between the two, so memory stays
/// bounded by a few batches, not by the input; the lines come out in input order. A write error
/// stops the decoding.
pub fn decode_stream<R: Read, W: Write + Send>(
    reader: &mut StreamReader<R>,
    options: &DecodeOptions,
    out: &mut W,
) -> Result<DecodeSummary, DecodeError> {
    let (to_writer, batches) = std::sync::mpsc::sync_channel::<Batch>(BATCHES_AHEAD);
    let (give_back, returned) = std::sync::mpsc::channel::<Vec<Message>>();
    std::thread::scope(|scope| {
        let writer = std::thread::Builder::new()
            .name("decode-output".into())
            .spawn_scoped(scope, move || write_batches(batches, give_back, out))
            .map_err(DecodeError::Write)?;
        let mut output = Output {
            to_writer,
            returned,
        };
        let decoded = decode_batches(reader, options, &mut output);
        // Closing the channel ends the writer once it has written everything sent.
        drop(output);
        let written = writer.join().unwrap_or_else(|_| {
            Err(DecodeError::Write(std::io::Error::other(
                "the output thread stopped",
            )))
        });
        match (decoded, written) {
            // A write error is why the decoding stopped early: it comes first.
            (_, Err(e)) => Err(e),
            (decoded, Ok(())) => decoded,
        }
    })
}

/// The most batches of messages that wait for the writer thread.
const BATCHES_AHEAD: usize = 2;

/// A batch goes to the writer once its messages hold this many values (each message counts
/// one more): a few MB of messages. Every hand-over can wake the writer thread from its wait,
/// and that costs far more than the channel. With a batch per 64 KiB piece of input (about 90
/// DSMR telegrams) a 100 MB DSMR capture took 1,530 context switches and 0.84 s of CPU; with
/// batches of this weight, 230 and 0.77 s, and 0.53 s instead of 0.59 s from start to end
/// (2026-12-05). Memory stays bounded by a few batches: [`BATCHES_AHEAD`] waiting, one being
/// written and one being filled (peak RSS of the binary 25 to 56 MB with its allocator,
/// mimalloc, M-Bus the most; 15 to 40 MB with glibc's).
const BATCH_WEIGHT: usize = 16 * 1024;

/// What a message counts towards [`BATCH_WEIGHT`].
fn weight(message: &Message) -> usize {
    1 + message.reading().map_or(0, |r| r.values.len())
}

/// What the decoding hands the writer thread: text that goes out first (the `--json` header),
/// then messages.
struct Batch {
    text: Vec<u8>,
    messages: Vec<Message>,
}

/// The decoding side of [`decode_stream`]'s channel: sends batches, and takes back the emptied
/// message vectors so that their room is reused.
struct Output {
    to_writer: std::sync::mpsc::SyncSender<Batch>,
    returned: std::sync::mpsc::Receiver<Vec<Message>>,
}

impl Output {
    /// Sends `text` and the messages (leaving `messages` empty, with room), counting them into
    /// `summary`. Fails only when the writer has stopped: on a write error, which the writer
    /// reports ([`decode_stream`] puts its error first), so the decoding just stops.
    fn send(
        &mut self,
        text: Vec<u8>,
        messages: &mut Vec<Message>,
        summary: &mut DecodeSummary,
    ) -> Result<(), DecodeError> {
        if text.is_empty() && messages.is_empty() {
            return Ok(());
        }
        summary.messages += messages.len() as u64;
        summary.errors += messages
            .iter()
            .filter(|m| matches!(m, Message::Error { .. }))
            .count() as u64;
        // The written batches come back whole: their messages are dropped here, on the thread
        // that allocated them (with glibc's allocator, freeing on the writer thread made both
        // threads fight over the allocator's arena: half the speed; with mimalloc, the binary's,
        // it is no faster than freeing here). Dropping them a few at a time, between decoding
        // steps, was not faster either.
        let mut room = Vec::new();
        while let Ok(mut written) = self.returned.try_recv() {
            written.clear();
            if written.capacity() > room.capacity() {
                room = written;
            }
        }
        let batch = Batch {
            text,
            messages: std::mem::replace(messages, room),
        };
        self.to_writer
            .send(batch)
            .map_err(|_| DecodeError::Write(std::io::Error::other("the output stopped")))
    }
}

/// The decoding: everything `reader` gives, through the decoder chosen for its first bytes,
/// sent to the writer batch by batch.
fn decode_batches<R: Read>(
    reader: &mut StreamReader<R>,
    options: &DecodeOptions,
    output: &mut Output,
) -> Result<DecodeSummary, DecodeError> {
    let form = reader.form().to_string();
    let mut summary = DecodeSummary::default();
    let mut first = Vec::new();
    let mut decoder: Option<Box<dyn StreamDecoder + Send>> = None;
    let mut messages = Vec::new();
    // The weight of `messages` (see `weight`).
    let mut pending = 0;
    let start = |bytes: &[u8],
                 output: &mut Output,
                 summary: &mut DecodeSummary|
     -> Result<Box<dyn StreamDecoder + Send>, DecodeError> {
        let protocol = choose_protocol(options.protocol, bytes, &options.keys);
        summary.protocol = Some(protocol);
        tracing::info!(protocol = protocol.name(), "decoding");
        if options.header {
            let line = serde_json::json!({"capture": {
                "form": form,
                "protocol": protocol.name(),
            }});
            output.send(format!("{line}\n").into_bytes(), &mut Vec::new(), summary)?;
        }
        Ok(meterlab_decoder::auto::decoder_with(
            protocol,
            options.keys.clone(),
            meterlab_decoder::auto::DecodeOptions {
                ignore_crc: options.ignore_crc,
            },
        ))
    };
    loop {
        let chunk = match reader.next_chunk() {
            Ok(Some(chunk)) => chunk,
            Ok(None) => break,
            Err(e) => {
                // What was decoded up to the bad input is still reported, then the error.
                let mut d = match decoder {
                    Some(d) => d,
                    None if first.is_empty() => return Err(e.into()),
                    None => {
                        let mut d = start(&first, output, &mut summary)?;
                        d.feed(&first, &mut messages);
                        d
                    }
                };
                d.finish(&mut messages);
                output.send(Vec::new(), &mut messages, &mut summary)?;
                return Err(e.into());
            }
        };
        summary.bytes += chunk.len() as u64;
        let before = messages.len();
        match decoder.as_mut() {
            Some(d) => d.feed(&chunk, &mut messages),
            None => {
                first.extend_from_slice(&chunk);
                if first.len() >= WINDOW {
                    let mut d = start(&first, output, &mut summary)?;
                    d.feed(&std::mem::take(&mut first), &mut messages);
                    decoder = Some(d);
                }
            }
        }
        reader.recycle(chunk);
        pending += messages
            .get(before..)
            .unwrap_or_default()
            .iter()
            .map(weight)
            .sum::<usize>();
        // A live source (a read that did not fill the buffer) gets its lines at once.
        if pending >= BATCH_WEIGHT || !reader.input_waiting() {
            pending = 0;
            output.send(Vec::new(), &mut messages, &mut summary)?;
        }
    }
    summary.ignored_lines = reader.ignored_lines();
    if summary.bytes == 0 {
        return Err(DecodeError::NoBytes { form });
    }
    let mut d = match decoder {
        Some(d) => d,
        None => {
            let mut d = start(&first, output, &mut summary)?;
            d.feed(&first, &mut messages);
            d
        }
    };
    d.finish(&mut messages);
    output.send(Vec::new(), &mut messages, &mut summary)?;
    Ok(summary)
}

/// The size of the blocks of JSON lines handed to the output: few, large writes (1 MiB: an
/// M-Bus piece of input gives about 1 MB of lines, and 16 times fewer writes than with 64 KiB
/// take about a fifth of the system time off a 100 MB decode).
const OUT_BLOCK: usize = 1024 * 1024;

/// The writer thread of [`decode_stream`]: each batch's text, then its messages as JSON lines
/// ([`Message::write_json`] and a newline) into a reused block handed to `out` whenever it holds
/// [`OUT_BLOCK`] bytes and after each batch (so what a batch holds is out before the writer
/// waits again): no allocation per line, no formatting layer and no copy through a small
/// buffer. The emptied message vectors go back to be filled again. Memory stays bounded by one
/// block and the largest line.
fn write_batches<W: Write>(
    batches: std::sync::mpsc::Receiver<Batch>,
    give_back: std::sync::mpsc::Sender<Vec<Message>>,
    out: &mut W,
) -> Result<(), DecodeError> {
    let mut block = Vec::with_capacity(OUT_BLOCK);
    for batch in batches {
        block.extend_from_slice(&batch.text);
        for m in &batch.messages {
            m.write_json(&mut block);
            block.push(b'\n');
            if block.len() >= OUT_BLOCK {
                out.write_all(&block).map_err(DecodeError::Write)?;
                block.clear();
            }
        }
        if !block.is_empty() {
            out.write_all(&block).map_err(DecodeError::Write)?;
            block.clear();
        }
        // Back to the decoding thread, which drops the messages. It may have ended already:
        // then they are dropped here.
        let _ = give_back.send(batch.messages);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::InputFormat;

    /// A real DSMR 5 telegram from the decoder's corpus (Iskra AM550, from dsmr5's tests).
    fn telegram() -> String {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../decoder/tests/data/dsmr/dsmr5_rs-iskra-am550e.yaml"
        );
        let doc: serde_yaml::Value =
            serde_yaml::from_str(&std::fs::read_to_string(path).expect("corpus file"))
                .expect("YAML");
        doc["text"].as_str().expect("text").replace('\n', "\r\n")
    }

    /// What one thread writing every message after decoding the whole input gives.
    fn expected(input: &[u8], header: Option<&str>) -> (Vec<u8>, u64) {
        let mut decoder = meterlab_decoder::DsmrDecoder::default();
        let mut out = header.map(|h| h.as_bytes().to_vec()).unwrap_or_default();
        let mut errors = 0;
        for m in decoder.decode_all(input) {
            errors += u64::from(matches!(m, Message::Error { .. }));
            m.write_json(&mut out);
            out.push(b'\n');
        }
        (out, errors)
    }

    fn decode(input: &[u8], options: &DecodeOptions, out: &mut Vec<u8>) -> DecodeSummary {
        let mut reader = StreamReader::new(input, InputFormat::Raw).expect("raw input");
        decode_stream(&mut reader, options, out).expect("decoded")
    }

    #[test]
    fn many_pieces_come_out_whole_and_in_order() {
        // Far more than one input piece, every third telegram with a value changed (a CRC
        // error).
        let telegram = telegram();
        let mut input = Vec::new();
        for i in 0..2_000 {
            let t = match i % 3 {
                0 => telegram.replace("000576.239", &format!("{:06}.{:03}", i, i % 1000)),
                _ => telegram.clone(),
            };
            input.extend_from_slice(t.as_bytes());
        }
        assert!(input.len() > 20 * WINDOW);
        let options = DecodeOptions {
            protocol: Some(Protocol::Dsmr),
            ..DecodeOptions::default()
        };
        let mut out = Vec::new();
        let summary = decode(&input, &options, &mut out);
        let (lines, errors) = expected(&input, None);
        assert!(out == lines, "not the lines one thread writes");
        assert_eq!(summary.messages, 2_000);
        assert_eq!(summary.errors, errors);
        assert!(errors >= 600, "{errors} errors");
        assert_eq!(summary.bytes, input.len() as u64);
    }

    #[test]
    fn the_header_comes_first() {
        let options = DecodeOptions {
            header: true,
            ..DecodeOptions::default()
        };
        let mut out = Vec::new();
        let telegram = telegram();
        let summary = decode(telegram.as_bytes(), &options, &mut out);
        let header = "{\"capture\":{\"form\":\"raw bytes\",\"protocol\":\"dsmr\"}}\n";
        assert_eq!(
            String::from_utf8_lossy(&out),
            String::from_utf8_lossy(&expected(telegram.as_bytes(), Some(header)).0)
        );
        assert_eq!((summary.messages, summary.errors), (1, 0));
    }

    /// A live source: at most one telegram per read, and after the first window, each
    /// telegram is given only once the lines of the telegrams given before it, but the last
    /// two, are out.
    struct Live {
        telegram: Vec<u8>,
        /// Telegrams begun, and how much of the current one was given.
        given: usize,
        pos: usize,
        last: usize,
        out: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
    }

    impl Live {
        fn wait_for_lines(&self) {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
            loop {
                let lines = {
                    let out = self.out.lock().expect("output");
                    out.iter().filter(|&&b| b == b'\n').count()
                };
                if lines + 2 >= self.given {
                    return;
                }
                assert!(
                    std::time::Instant::now() < deadline,
                    "{lines} lines out after {} telegrams read",
                    self.given
                );
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
        }
    }

    impl Read for Live {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.pos == self.telegram.len() {
                if self.given == self.last {
                    return Ok(0);
                }
                if self.given * self.telegram.len() > WINDOW {
                    self.wait_for_lines();
                }
                self.given += 1;
                self.pos = 0;
            }
            let rest = &self.telegram[self.pos..];
            let n = rest.len().min(buf.len());
            buf[..n].copy_from_slice(&rest[..n]);
            self.pos += n;
            Ok(n)
        }
    }

    struct Shared(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("output").extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_live_source_gets_each_line_when_its_message_is_read() {
        // Batches of many messages are for input that is waiting to be read; a source read
        // as it arrives (a pipe from a meter) must not wait for a batch to fill.
        let out = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let telegram = telegram().into_bytes();
        let last = 3 * WINDOW / telegram.len();
        let live = Live {
            telegram: telegram.clone(),
            given: 0,
            pos: telegram.len(),
            last,
            out: out.clone(),
        };
        let mut reader = StreamReader::new(live, InputFormat::Raw).expect("raw");
        let options = DecodeOptions {
            protocol: Some(Protocol::Dsmr),
            ..DecodeOptions::default()
        };
        let summary =
            decode_stream(&mut reader, &options, &mut Shared(out.clone())).expect("decoded");
        assert_eq!(summary.messages, last as u64);
        assert_eq!(summary.errors, 0);
        let written = out.lock().expect("output").clone();
        assert!(written == expected(&telegram.repeat(last), None).0);
    }

    /// Takes `room` bytes, then fails every write.
    struct Full {
        room: usize,
        written: usize,
    }

    impl Write for Full {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if self.written + buf.len() > self.room {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::StorageFull,
                    "no room",
                ));
            }
            self.written += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_write_error_stops_the_decoding_and_is_reported() {
        let input = telegram().repeat(20_000);
        let mut reader = StreamReader::new(input.as_bytes(), InputFormat::Raw).expect("raw");
        let mut out = Full {
            room: 1 << 20,
            written: 0,
        };
        let e = decode_stream(&mut reader, &DecodeOptions::default(), &mut out)
            .expect_err("the output is full");
        match e {
            DecodeError::Write(io) => assert_eq!(io.kind(), std::io::ErrorKind::StorageFull),
            other => panic!("{other:?}"),
        }
        // Stopped early: the reader was not read to its end.
        assert!(reader.next_chunk().expect("readable").is_some());
    }
}
