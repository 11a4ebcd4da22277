//! The passive reader of a push meter (DSMR P1, DLMS push): opens the port, reads, decodes.

use meterlab_decoder::{Message, StreamDecoder};

use super::{Action, Reader};

/// Listens from `start_ns` on and hands the bytes to a decoder `read_size` bytes at a time.
pub struct PassiveReader {
    decoder: Box<dyn StreamDecoder + Send>,
    read_size: usize,
    received: Vec<u8>,
    fed: usize,
    out: Vec<Message>,
}

impl PassiveReader {
    /// A reader decoding with `decoder`, `read_size` bytes per `read()`.
    pub fn new(decoder: Box<dyn StreamDecoder + Send>, read_size: usize) -> Self {
        PassiveReader {
            decoder,
            read_size: read_size.max(1),
            received: Vec::new(),
            fed: 0,
            out: Vec::new(),
        }
    }

    fn feed_full_reads(&mut self) {
        while self.received.len() - self.fed >= self.read_size {
            let end = self.fed + self.read_size;
            self.decoder
                .feed(&self.received[self.fed..end], &mut self.out);
            self.fed = end;
        }
    }
}

impl Reader for PassiveReader {
    fn start(&mut self, _now_ns: u64) -> Vec<Action> {
        Vec::new()
    }

    fn receive(&mut self, _now_ns: u64, bytes: &[u8]) -> Vec<Action> {
        self.received.extend_from_slice(bytes);
        self.feed_full_reads();
        Vec::new()
    }

    fn wake(&mut self, _now_ns: u64) -> Vec<Action> {
        Vec::new()
    }

    fn finish(&mut self) -> Vec<Message> {
        self.feed_full_reads();
        if self.fed < self.received.len() {
            self.decoder.feed(&self.received[self.fed..], &mut self.out);
            self.fed = self.received.len();
        }
        self.decoder.finish(&mut self.out);
        std::mem::take(&mut self.out)
    }

    fn received(&self) -> &[u8] {
        &self.received
    }

    fn decoder_input(&self) -> &[u8] {
        &self.received
    }
}
