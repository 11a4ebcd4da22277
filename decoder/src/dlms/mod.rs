//! DLMS/COSEM (IEC 62056-5-3, DLMS UA 1000-2 "Green Book").
//!
//! So far only the general-glo-ciphering APDU and its AES-128-GCM protection
//! ([`ciphering`]), which the Luxembourg Smarty P1 port wraps around plain DSMR telegrams.
//! DLMS push decoding (data-notification, HDLC, M-Bus transport) will build on it.

pub mod ciphering;

pub use ciphering::{CipherError, GeneralGloCiphering, SecurityControl};
