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
pub fn decode_stream<R: Read>(
    reader: &mut StreamReader<R>,
    options: &DecodeOptions,
    out: &mut dyn Write,
) -> Result<DecodeSummary, DecodeError> {
    let form = reader.form().to_string();
    let mut summary = DecodeSummary::default();
    let mut first = Vec::new();
    let mut decoder: Option<Box<dyn StreamDecoder + Send>> = None;
    let mut messages = Vec::new();
    let mut block = Vec::with_capacity(OUT_BLOCK);
    let start = |bytes: &[u8],
                 out: &mut dyn Write,
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
            writeln!(out, "{line}").map_err(DecodeError::Write)?;
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
                        let mut d = start(&first, out, &mut summary)?;
                        d.feed(&first, &mut messages);
                        d
                    }
                };
                d.finish(&mut messages);
                write_messages(&mut messages, &mut block, out, &mut summary)?;
                return Err(e.into());
            }
        };
        summary.bytes += chunk.len() as u64;
        match decoder.as_mut() {
            Some(d) => d.feed(&chunk, &mut messages),
            None => {
                first.extend_from_slice(&chunk);
                if first.len() >= WINDOW {
                    let mut d = start(&first, out, &mut summary)?;
                    d.feed(&std::mem::take(&mut first), &mut messages);
                    decoder = Some(d);
                }
            }
        }
        reader.recycle(chunk);
        write_messages(&mut messages, &mut block, out, &mut summary)?;
    }
    summary.ignored_lines = reader.ignored_lines();
    if summary.bytes == 0 {
        return Err(DecodeError::NoBytes { form });
    }
    let mut d = match decoder {
        Some(d) => d,
        None => {
            let mut d = start(&first, out, &mut summary)?;
            d.feed(&first, &mut messages);
            d
        }
    };
    d.finish(&mut messages);
    write_messages(&mut messages, &mut block, out, &mut summary)?;
    Ok(summary)
}

/// The size of the blocks of JSON lines handed to the output: few, large writes (1 MiB: an
/// M-Bus piece of input gives about 1 MB of lines, and 16 times fewer writes than with 64 KiB
/// take about a fifth of the system time off a 100 MB decode).
const OUT_BLOCK: usize = 1024 * 1024;

/// Writes the messages as JSON lines ([`Message::write_json`] and a newline) into `block`, a
/// reused buffer handed to `out` whenever it holds [`OUT_BLOCK`] bytes and at the end (so what
/// one input piece gave is out before the next is read): no allocation per line, no formatting
/// layer and no copy through a small buffer (issue #15: `decode` at the decoder's own rate).
/// Memory stays bounded by one block and the largest line.
fn write_messages(
    messages: &mut Vec<Message>,
    block: &mut Vec<u8>,
    out: &mut dyn Write,
    summary: &mut DecodeSummary,
) -> Result<(), DecodeError> {
    for m in messages.drain(..) {
        summary.messages += 1;
        if matches!(m, Message::Error { .. }) {
            summary.errors += 1;
        }
        m.write_json(block);
        block.push(b'\n');
        if block.len() >= OUT_BLOCK {
            out.write_all(block).map_err(DecodeError::Write)?;
            block.clear();
        }
    }
    if !block.is_empty() {
        out.write_all(block).map_err(DecodeError::Write)?;
        block.clear();
    }
    Ok(())
}
