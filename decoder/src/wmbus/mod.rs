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

/// The class of a wireless M-Bus decode failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// `crc_mismatch`: a link-layer block CRC, or rtl_wmbus reported a failed CRC.
    CrcMismatch,
    /// `fcs_mismatch`: an iM871A HCI frame's FCS.
    FcsMismatch,
    /// `checksum`: an AMB8465 frame's XOR checksum.
    Checksum,
    /// `length`: L disagrees with the bytes.
    Length,
    /// `truncated`: the bytes end inside a frame.
    Truncated,
    /// `premature_end`: a layer is cut off.
    PrematureEnd,
    /// `missing_key`: encrypted and no key.
    MissingKey,
    /// `wrong_key`: the decrypted data fails its check (`2F2F`, the ELL payload CRC, mode 7's
    /// MAC together with `2F2F`).
    WrongKey,
    /// `mac_mismatch`: mode 7's AFL MAC fails although the data decrypts.
    MacMismatch,
    /// `unsupported_ci`: a CI that carries no data this decoder reads.
    UnsupportedCi,
    /// `unsupported`: a security mode, ELL encryption or fragmentation not decoded.
    Unsupported,
    /// `malformed`: a layer that contradicts itself (mode 7 without a message counter, an
    /// rtl_wmbus telegram that is not hex).
    Malformed,
    /// The records' error (EN 13757-3, by the wired decoder).
    Record(crate::mbus::record::ErrorKind),
}

impl ErrorKind {
    /// The kind's name in the reading format.
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::CrcMismatch => "crc_mismatch",
            ErrorKind::FcsMismatch => "fcs_mismatch",
            ErrorKind::Checksum => "checksum",
            ErrorKind::Length => "length",
            ErrorKind::Truncated => "truncated",
            ErrorKind::PrematureEnd => "premature_end",
            ErrorKind::MissingKey => "missing_key",
            ErrorKind::WrongKey => "wrong_key",
            ErrorKind::MacMismatch => "mac_mismatch",
            ErrorKind::UnsupportedCi => "unsupported_ci",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::Malformed => "malformed",
            ErrorKind::Record(k) => k.name(),
        }
    }
}

/// A wireless M-Bus decode failure: its class and what exactly was wrong.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    /// Its class.
    pub kind: ErrorKind,
    /// What exactly was wrong.
    pub message: String,
}

impl Error {
    /// An error of `kind`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
        }
    }
}
