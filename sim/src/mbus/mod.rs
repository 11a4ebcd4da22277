//! Wired M-Bus (EN 13757-2 data link layer): the frames a slave puts on the bus.
//!
//! So far the long frame ([`LongFrameRepr`]), which the Austrian P1 ports (Kaifa MA309,
//! Sagemcom T210-D) use to carry DLMS/COSEM pushes and which the wired M-Bus slave will answer
//! REQ_UD2 with, and the single-character acknowledgement.

mod frame;

pub use frame::{LongFrameRepr, ACK, CONTROL_RSP_UD, CONTROL_SND_UD, START_LONG, STOP};
