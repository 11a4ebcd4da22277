//! The streaming decoder interface shared by every protocol.
//!
//! A real reader gets bytes in arbitrary pieces: a `read()` returns whatever the UART driver has.
//! Every decoder therefore takes the stream in chunks and must give the same messages whatever the
//! chunking (a property the tests check).

use crate::reading::Message;

/// A decoder over a byte stream.
pub trait StreamDecoder {
    /// Feeds the next piece of the stream; complete messages are appended to `out`.
    fn feed(&mut self, bytes: &[u8], out: &mut Vec<Message>);

    /// Ends the stream: whatever is left over (a telegram cut off, bytes that belong to nothing)
    /// is reported as an error, never dropped silently.
    fn finish(&mut self, out: &mut Vec<Message>);

    /// Decodes a whole capture at once.
    fn decode_all(&mut self, bytes: &[u8]) -> Vec<Message> {
        let mut out = Vec::new();
        self.feed(bytes, &mut out);
        self.finish(&mut out);
        out
    }
}
