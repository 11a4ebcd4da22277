//! How a push APDU reaches the line: M-Bus long frames with the DLMS transport sub-layer
//! (Austrian P1), or HDLC frames (Nordic HAN, L+G E450), segmented or in General Block
//! Transfer blocks.
//!
//! M-Bus (IEC 62056-7-6 "3-layer, connection-less, M-Bus"; TINETZ interface spec pp.3–6): each
//! long frame carries `CI STSAP DTSAP` and a share of the APDU; CI bits 3–0 number the segment
//! and bit 4 marks the last one (`00`, `11` for two segments, `10` for a single frame).
//! HDLC (IEC 62056-46): the first frame's information starts with the LLC header `E6 E7 00`.

use super::gbt;
use super::hdlc::{self, HdlcAddress, HdlcFrameRepr, LLC};
use crate::mbus::LongFrameRepr;

/// CI bit: last segment.
pub const CI_FINAL: u8 = 0x10;

/// DLMS over wired M-Bus.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MbusTransport {
    /// Control field (`53` SND_UD).
    pub control: u8,
    /// Address (`FF` broadcast).
    pub address: u8,
    /// Source TSAP (`01` management logical device).
    pub stsap: u8,
    /// Destination TSAP (`67`, client 103 "consumer push").
    pub dtsap: u8,
    /// APDU bytes per frame: 245 (L = `FA`) for Kaifa, 252 for the Sagemcom T210-D (whose
    /// 257-byte frame then says `L = 01`).
    pub max_apdu_per_frame: usize,
}

/// DLMS over HDLC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HdlcTransport {
    /// Destination (the client).
    pub destination: HdlcAddress,
    /// Source (the meter).
    pub source: HdlcAddress,
    /// Control field of the (last) frame.
    pub control: u8,
    /// Largest information field per frame.
    pub max_info: usize,
    /// Whether the APDU travels in General Block Transfer blocks, one per frame (else the
    /// information field is HDLC-segmented when it does not fit).
    pub block_transfer: bool,
}

/// A push's lower layers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// M-Bus long frames.
    Mbus(MbusTransport),
    /// HDLC frames.
    Hdlc(HdlcTransport),
}

impl Transport {
    /// The frames that carry `apdu`, in order, each as it goes on the line.
    pub fn frames(&self, apdu: &[u8]) -> Vec<Vec<u8>> {
        match self {
            Transport::Mbus(m) => {
                let chunk = m.max_apdu_per_frame.max(1);
                let n = apdu.len().div_ceil(chunk).max(1);
                (0..n)
                    .map(|k| {
                        let end = ((k + 1) * chunk).min(apdu.len());
                        let mut data = Vec::with_capacity(2 + end - k * chunk);
                        data.extend_from_slice(&[m.stsap, m.dtsap]);
                        data.extend_from_slice(&apdu[k * chunk..end]);
                        let last = k + 1 == n;
                        let mut frame = Vec::new();
                        LongFrameRepr {
                            control: m.control,
                            address: m.address,
                            ci: (k as u8 & 0x0F) | if last { CI_FINAL } else { 0 },
                            data: &data,
                        }
                        .emit(&mut frame);
                        frame
                    })
                    .collect()
            }
            Transport::Hdlc(h) if h.block_transfer => {
                let blocks = gbt::split(apdu, |k| {
                    h.max_info
                        .saturating_sub(if k == 0 { LLC.len() } else { 0 })
                });
                blocks
                    .iter()
                    .enumerate()
                    .map(|(k, block)| {
                        let mut info = Vec::with_capacity(3 + block.buffer_len());
                        if k == 0 {
                            info.extend_from_slice(&LLC);
                        }
                        block.emit(&mut info);
                        let mut frame = Vec::new();
                        HdlcFrameRepr {
                            segmented: false,
                            destination: h.destination,
                            source: h.source,
                            control: h.control,
                            info: &info,
                        }
                        .emit(&mut frame);
                        frame
                    })
                    .collect()
            }
            Transport::Hdlc(h) => {
                let mut info = Vec::with_capacity(3 + apdu.len());
                info.extend_from_slice(&LLC);
                info.extend_from_slice(apdu);
                hdlc::segment(h.destination, h.source, h.control, &info, h.max_info)
                    .iter()
                    .map(|frame| {
                        let mut bytes = Vec::with_capacity(frame.buffer_len());
                        frame.emit(&mut bytes);
                        bytes
                    })
                    .collect()
            }
        }
    }

    /// Whether a push may take more than one frame (so a gap between frames means something).
    pub fn multi_frame(&self, apdu_len: usize) -> bool {
        match self {
            Transport::Mbus(m) => apdu_len > m.max_apdu_per_frame,
            Transport::Hdlc(h) => apdu_len + LLC.len() > h.max_info,
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn test_mbus_segments() {
        let t = Transport::Mbus(MbusTransport {
            control: 0x53,
            address: 0xFF,
            stsap: 0x01,
            dtsap: 0x67,
            max_apdu_per_frame: 245,
        });
        let apdu = [0x11u8; 354];
        let frames = t.frames(&apdu);
        assert_eq!(frames.len(), 2);
        assert_eq!(
            &frames[0][..9],
            &[0x68, 0xFA, 0xFA, 0x68, 0x53, 0xFF, 0x00, 0x01, 0x67]
        );
        assert_eq!(
            &frames[1][..9],
            &[0x68, 0x72, 0x72, 0x68, 0x53, 0xFF, 0x11, 0x01, 0x67]
        );
        assert_eq!(frames[0].len() + frames[1].len(), 376);
        let single = t.frames(&apdu[..77]);
        assert_eq!(single.len(), 1);
        assert_eq!(single[0][6], 0x10);
        assert!(t.multi_frame(354));
        assert!(!t.multi_frame(77));
    }
}
