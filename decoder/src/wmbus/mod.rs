//! Wireless M-Bus (EN 13757-4 link layer, EN 13757-7 / OMS vol. 2 security and transport,
//! EN 13757-3 records) as receiver sticks deliver it.
//!
//! - [`link`]: the link layer, frame formats A and B with their CRCs.
//! - [`ell`], [`afl`], [`tpl`]: the extended link layer, the authentication and fragmentation
//!   layer, the transport layer headers and configuration word.
//! - [`security`]: security modes 5 and 7 and the encrypted ELL (AES-CBC, AES-CMAC, AES-CTR).
//! - [`telegram`]: one CRC-free frame → one reading, the records decoded by the wired decoder
//!   ([`crate::mbus`]).
//! - [`dongle`]: the framings of the iM871A, the AMB8465, CUL and rtl_wmbus, and bare frames.
//! - [`stream`]: [`WmbusDecoder`], the stream decoder over a capture in any of them.
//! - [`either`]: [`MbusEitherDecoder`], the decoder of an M-Bus capture that may be wired or
//!   wireless, told from its first bytes (what [`crate::auto::decoder_for`] gives for M-Bus).

pub mod afl;
pub mod dongle;
pub mod either;
pub mod ell;
pub mod link;
pub mod security;
pub mod stream;
pub mod telegram;
pub mod tpl;

pub use dongle::raw::Crcs;
pub use dongle::Framing;
pub use either::MbusEitherDecoder;
pub use stream::WmbusDecoder;

/// A wireless M-Bus decode failure: its kind in the reading format (`crc_mismatch`,
/// `wrong_key`, `missing_key`, `mac_mismatch`, `fcs_mismatch`, `checksum`, `length`,
/// `truncated`, `premature_end`, `unsupported_ci`, `unsupported`, `malformed`, and the record
/// errors of [`crate::mbus::record::ErrorKind`]) and what exactly was wrong.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    /// The kind's name.
    pub kind: &'static str,
    /// What exactly was wrong.
    pub message: String,
}

impl Error {
    /// An error of `kind`.
    pub fn new(kind: &'static str, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
        }
    }
}
