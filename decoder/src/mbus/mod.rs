//! M-Bus (EN 13757-2 link layer, EN 13757-3 application layer).
//!
//! So far only the link-layer frame ([`frame`]): the single character, the short frame and the
//! control/long frame with their checksum. The DLMS push decoder uses long frames as the
//! transport of Austrian P1 meters ([`crate::dlms::transport`]); the wired M-Bus decoder will
//! build on the same view.

pub mod frame;

pub use frame::{Frame, FrameKind, FrameRepr};
