//! DLMS/COSEM push telegrams (IEC 62056-5-3 / DLMS UA 1000-2 "Green Book": the xDLMS
//! data-notification, general-glo-ciphering and General Block Transfer; IEC 62056-46 HDLC;
//! EN 13757-2 M-Bus frames as the Austrian P1 transport), the reference decoder.
//!
//! The layers, bottom up:
//!
//! - framing: [`hdlc`] frames and M-Bus long frames ([`crate::mbus::frame`]), or bare APDUs;
//! - reassembly ([`transport`]): M-Bus segments by their CI, HDLC segments by the
//!   segmentation bit, General Block Transfer blocks ([`gbt`]) by block number;
//! - security ([`ciphering`]): general-glo-ciphering, AES-128-GCM;
//! - the APDU ([`apdu`]): data-notification, date-time, with its body in A-XDR ([`axdr`]);
//! - the reading ([`convert`], with the [`layout`] catalogue for lists without OBIS ids).
//!
//! [`DlmsDecoder`] ([`stream`]) runs them over a byte stream, resynchronising after junk. Every
//! failure is a message whose kind is one of [`ErrorKind`] (`docs/reading-format.md`, "Error
//! kinds" and "Errors specific to DLMS").

pub mod apdu;
pub mod axdr;
pub mod ciphering;
pub mod convert;
pub mod gbt;
pub mod hdlc;
pub mod layout;
pub mod push_setup;
pub mod stream;
pub mod transport;

pub use apdu::{DataNotification, DateTimeRepr};
pub use axdr::{Data, Elements};
pub use ciphering::{CipherError, GeneralGloCiphering, SecurityControl};
pub use stream::DlmsDecoder;

use crate::reading::Message;

/// The largest push accepted, reassembled from its segments or blocks: 16 KiB. Real pushes
/// are below 1 KiB (Kamstrup's 491-byte frame is the longest in the corpus).
pub const MAX_PUSH_LEN: usize = 16 * 1024;

/// The classes of DLMS decoding errors (`docs/reading-format.md`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// Encryption-only push (SC 0x20/0x21): the decrypted bytes are not a data-notification.
    WrongKey,
    /// SC 0x30: the GCM tag does not verify.
    GcmTagMismatch,
    /// An encrypted push and no encryption key.
    MissingKey,
    /// An authenticated push and no authentication key.
    MissingAuthKey,
    /// M-Bus long frame checksum wrong.
    Checksum,
    /// HDLC header check sequence wrong.
    HcsMismatch,
    /// HDLC frame check sequence wrong.
    FcsMismatch,
    /// A segment or block of a push is missing.
    Incomplete,
    /// A length field disagrees with the bytes.
    Length,
    /// The APDU or A-XDR data does not parse.
    Malformed,
    /// Well-formed but not supported.
    Unsupported,
    /// The invocation counter did not increase for a system title.
    InvocationCounter,
    /// Bytes that belong to no push.
    SkippedBytes,
    /// A push found inside a frame whose header or checks are broken: its frame's checks could
    /// not be made, so its contents are not trusted.
    DamagedFrame,
    /// A frame started and was cut off.
    Truncated,
}

impl ErrorKind {
    /// The name in the JSON output.
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::WrongKey => "wrong_key",
            ErrorKind::GcmTagMismatch => "gcm_tag_mismatch",
            ErrorKind::MissingKey => "missing_key",
            ErrorKind::MissingAuthKey => "missing_auth_key",
            ErrorKind::Checksum => "checksum",
            ErrorKind::HcsMismatch => "hcs_mismatch",
            ErrorKind::FcsMismatch => "fcs_mismatch",
            ErrorKind::Incomplete => "incomplete",
            ErrorKind::Length => "length",
            ErrorKind::Malformed => "malformed",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::InvocationCounter => "invocation_counter",
            ErrorKind::SkippedBytes => "skipped_bytes",
            ErrorKind::DamagedFrame => "damaged_frame",
            ErrorKind::Truncated => "truncated",
        }
    }

    /// An error message of this kind.
    pub fn error(self, message: impl Into<String>, offset: Option<u64>) -> Message {
        Message::error(self.name(), message, offset)
    }
}

/// Bytes as upper-case hex (system titles in messages and meter ids), without the formatting
/// machinery: a push without a meter number is named by its system title.
pub(crate) fn hex_upper(bytes: &[u8]) -> String {
    crate::mbus::record::hex(bytes)
}
