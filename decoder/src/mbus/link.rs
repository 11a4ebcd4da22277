//! The frames of an M-Bus dialogue that carry no readings (EN 13757-2 link layer, and the
//! management commands of EN 13757-3 carried by SND_UD): the master's requests and commands,
//! and the slave's single-character acknowledgement `E5`. Each becomes a link message of the
//! reading format (`docs/reading-format.md`, "Wired M-Bus"), so that a capture of both
//! directions is reported whole: neither skipped bytes nor silence.
//!
//! | kind | frame |
//! |---|---|
//! | `ack` | `E5` from the slave |
//! | `snd_nke` | short frame, C `40`: link reset |
//! | `req_ud1`, `req_ud2` | short frame, C `5A`/`7A`, `5B`/`7B`: request for class 1 / class 2 data |
//! | `select` | SND_UD, CI `52` (`56`: most significant byte first): secondary address selection |
//! | `application_reset` | SND_UD, CI `50` (optional subcode) |
//! | `baud_switch` | control frame, CI `B8`–`BF` |
//! | `set_address` | SND_UD, CI `51`, data `01 7A nn`: new primary address |
//! | `data_send` | SND_UD, CI `51`, other data: a command to the meter |
//! | `snd_ud` | SND_UD with another command CI of EN 13757-7 (named in the detail) |
//! | `request` | a master's short frame with another C field |
//! | `response` | a slave's short frame or control frame: no data (RSP_UD is a long frame) |

use super::ci;
use super::frame::{Frame, FrameKind};
use super::header::manufacturer_code;
use super::record::hex;
use crate::reading::Direction;

/// C field: SND_NKE (link reset).
pub const SND_NKE: u8 = 0x40;
/// C field bit 6: PRM, set in every frame of the master.
pub const PRM: u8 = 0x40;
/// C field bit 5: the frame count bit (master).
pub const FCB: u8 = 0x20;
/// C field bit 4: the frame count bit is valid (master).
pub const FCV: u8 = 0x10;
/// CI: application reset.
pub const CI_APPLICATION_RESET: u8 = 0x50;
/// CI: data send (set address, set secondary id…).
pub const CI_DATA_SEND: u8 = 0x51;
/// CI: secondary address selection.
pub const CI_SELECT: u8 = 0x52;
/// CI: application error (a slave's control frame with it is an error, not a link message).
const APPLICATION_ERROR: u8 = 0x70;
/// CI: secondary address selection, most significant byte first.
pub const CI_SELECT_MSB: u8 = 0x56;

/// A link message as the decoder sees it (the stream adds the offset).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkRepr {
    /// The kind's name (`req_ud2`).
    pub kind: &'static str,
    /// Master to meter, or meter to master.
    pub direction: Direction,
    /// The A field.
    pub address: Option<u8>,
    /// What else it says.
    pub detail: Option<String>,
}

impl LinkRepr {
    fn to_meter(kind: &'static str, address: Option<u8>, detail: Option<String>) -> Self {
        LinkRepr {
            kind,
            direction: Direction::ToMeter,
            address,
            detail,
        }
    }
}

/// Whether a frame's C field says it comes from the master (PRM set). The single character
/// has no C field: it is the slave's.
pub fn from_master<T: AsRef<[u8]>>(frame: &Frame<T>) -> bool {
    frame.control().is_some_and(|c| c & PRM != 0)
}

/// The link message of a frame that carries no readings: `E5`, a short frame, or a master's
/// control/long frame whose CI is a command. `None` for frames that carry (or may carry) data:
/// the slave's control and long frames, and a master's frame with a data CI (DLMS transport,
/// manufacturer specific, reserved, a response CI).
pub fn classify<T: AsRef<[u8]>>(frame: &Frame<T>) -> Option<LinkRepr> {
    let address = frame.address();
    let control = frame.control();
    match frame.kind() {
        FrameKind::SingleCharacter => Some(LinkRepr {
            kind: "ack",
            direction: Direction::FromMeter,
            address: None,
            detail: None,
        }),
        FrameKind::Short => {
            let c = control.unwrap_or(0);
            if c & PRM == 0 {
                return Some(LinkRepr {
                    kind: "response",
                    direction: Direction::FromMeter,
                    address,
                    detail: Some(format!("short frame, C field 0x{c:02X}")),
                });
            }
            let fcb = fcb_detail(c);
            Some(match c & !(FCB | FCV) {
                SND_NKE if c & (FCB | FCV) == 0 => LinkRepr::to_meter("snd_nke", address, None),
                0x4A => LinkRepr::to_meter("req_ud1", address, Some(fcb)),
                0x4B => LinkRepr::to_meter("req_ud2", address, Some(fcb)),
                _ => LinkRepr::to_meter("request", address, Some(format!("C field 0x{c:02X}"))),
            })
        }
        FrameKind::Control | FrameKind::Long => {
            let c = control.unwrap_or(0);
            let ci = frame.ci().unwrap_or(0);
            if c & PRM == 0 {
                // A slave's control frame has no data, except that CI 70 alone is an error.
                return (frame.kind() == FrameKind::Control && ci != APPLICATION_ERROR).then(
                    || LinkRepr {
                        kind: "response",
                        direction: Direction::FromMeter,
                        address,
                        detail: Some(format!(
                            "control frame without data, C field 0x{c:02X}, CI 0x{ci:02X}: {}",
                            ci::describe(ci)
                        )),
                    },
                );
            }
            let data = frame.data();
            let with_fcb = |s: String| {
                if c & FCV != 0 {
                    format!("{s}, {}", fcb_detail(c))
                } else {
                    s
                }
            };
            let link = match ci {
                CI_APPLICATION_RESET => {
                    let detail = match data {
                        [] => "no subcode".to_string(),
                        [sub] => format!("subcode 0x{sub:02X}"),
                        more => format!("subcode bytes {}", hex(more)),
                    };
                    LinkRepr::to_meter("application_reset", address, Some(with_fcb(detail)))
                }
                CI_DATA_SEND => match data {
                    [0x01, 0x7A, new] => LinkRepr::to_meter(
                        "set_address",
                        address,
                        Some(with_fcb(format!("new primary address {new}"))),
                    ),
                    _ => LinkRepr::to_meter(
                        "data_send",
                        address,
                        Some(with_fcb(format!("records {}", hex(data)))),
                    ),
                },
                CI_SELECT | CI_SELECT_MSB => LinkRepr::to_meter(
                    "select",
                    address,
                    Some(with_fcb(select_detail(data, ci == CI_SELECT_MSB))),
                ),
                _ => {
                    if let Some(baud) = ci::baud_rate(ci) {
                        LinkRepr::to_meter(
                            "baud_switch",
                            address,
                            Some(with_fcb(format!("{baud} Bd"))),
                        )
                    } else if ci::direction(ci) == ci::CiDirection::ToMeter {
                        let mut detail = format!("CI 0x{ci:02X}: {}", ci::describe(ci));
                        if !data.is_empty() {
                            detail.push_str(&format!(", data {}", hex(data)));
                        }
                        LinkRepr::to_meter("snd_ud", address, Some(with_fcb(detail)))
                    } else {
                        return None;
                    }
                }
            };
            Some(link)
        }
    }
}

fn fcb_detail(c: u8) -> String {
    if c & FCV == 0 {
        "FCV=0".to_string()
    } else {
        format!("FCB={}", u8::from(c & FCB != 0))
    }
}

/// `secondary address IIIIIIII MMMM VV DD` as tools print it (`F`/`FF` are wildcards), with the
/// manufacturer's letters when the field is not a wildcard, and any enhanced-selection bytes.
fn select_detail(data: &[u8], msb_first: bool) -> String {
    let Some(a) = data.get(..8) else {
        return format!("secondary address cut short: {}", hex(data));
    };
    let mut id = [a[0], a[1], a[2], a[3]];
    let mut man = [a[4], a[5]];
    if !msb_first {
        id.reverse();
        man.reverse();
    }
    let man_value = u16::from_be_bytes(man);
    let mut s = format!(
        "secondary address {}{}{:02X}{:02X}",
        hex(&id),
        hex(&man),
        a[6],
        a[7]
    );
    if man_value != 0xFFFF {
        s.push_str(&format!(" (manufacturer {})", manufacturer_code(man_value)));
    }
    if data.len() > 8 {
        s.push_str(&format!(", enhanced selection {}", hex(&data[8..])));
    }
    s
}

#[cfg(test)]
mod test {
    use super::*;

    fn link(bytes: &[u8]) -> Option<LinkRepr> {
        classify(&Frame::new_checked(bytes).expect("frame"))
    }

    fn kind(bytes: &[u8]) -> Option<&'static str> {
        link(bytes).map(|l| l.kind)
    }

    #[test]
    fn short_frames_and_ack() {
        assert_eq!(kind(&[0xE5]), Some("ack"));
        let nke = link(&[0x10, 0x40, 0xFD, 0x3D, 0x16]).expect("snd_nke");
        assert_eq!((nke.kind, nke.address), ("snd_nke", Some(0xFD)));
        assert_eq!(nke.direction, Direction::ToMeter);
        let req = link(&[0x10, 0x7B, 0x05, 0x80, 0x16]).expect("req_ud2");
        assert_eq!(
            (req.kind, req.detail.as_deref()),
            ("req_ud2", Some("FCB=1"))
        );
        let req = link(&[0x10, 0x5B, 0xFD, 0x58, 0x16]).expect("req_ud2");
        assert_eq!(req.detail.as_deref(), Some("FCB=0"));
        assert_eq!(kind(&[0x10, 0x5A, 0x01, 0x5B, 0x16]), Some("req_ud1"));
        assert_eq!(kind(&[0x10, 0x49, 0x01, 0x4A, 0x16]), Some("request"));
        assert_eq!(kind(&[0x10, 0x08, 0x01, 0x09, 0x16]), Some("response"));
    }

    fn long(c: u8, a: u8, ci: u8, data: &[u8]) -> Vec<u8> {
        let mut body = vec![c, a, ci];
        body.extend_from_slice(data);
        let cs = body.iter().fold(0u8, |s, &b| s.wrapping_add(b));
        let mut f = vec![0x68, body.len() as u8, body.len() as u8, 0x68];
        f.extend(body);
        f.extend([cs, 0x16]);
        f
    }

    #[test]
    fn commands() {
        let select = link(&long(
            0x73,
            0xFD,
            0x52,
            &[0xFF, 0xFF, 0xFF, 0x1F, 0xFF, 0xFF, 0xFF, 0xFF],
        ))
        .expect("select");
        assert_eq!(select.kind, "select");
        assert_eq!(
            select.detail.as_deref(),
            Some("secondary address 1FFFFFFFFFFFFFFF, FCB=1")
        );
        let select = link(&long(
            0x53,
            0xFD,
            0x52,
            &[0x78, 0x56, 0x34, 0x12, 0x42, 0x04, 0x01, 0x02],
        ))
        .expect("select");
        assert_eq!(
            select.detail.as_deref(),
            Some("secondary address 1234567804420102 (manufacturer ABB), FCB=0")
        );
        let set = link(&long(0x53, 0xFE, 0x51, &[0x01, 0x7A, 0x40])).expect("set address");
        assert_eq!(
            (set.kind, set.detail.as_deref()),
            ("set_address", Some("new primary address 64, FCB=0"))
        );
        assert_eq!(
            kind(&long(0x53, 0x05, 0x51, &[0x0C, 0x79, 1, 2, 3, 4])),
            Some("data_send")
        );
        assert_eq!(
            kind(&long(0x53, 0x05, 0x50, &[])),
            Some("application_reset")
        );
        let baud = link(&long(0x53, 0x05, 0xBD, &[])).expect("baud");
        assert_eq!(
            (baud.kind, baud.detail.as_deref()),
            ("baud_switch", Some("9600 Bd, FCB=0"))
        );
        assert_eq!(kind(&long(0x53, 0x05, 0x5C, &[])), Some("snd_ud"));
        // Data CIs from the master (DLMS transport of Austrian pushes): not a link message.
        assert_eq!(kind(&long(0x53, 0xFF, 0x00, &[1, 2])), None);
        // The slave's long frames carry data; its control frames do not, except CI 70.
        assert_eq!(kind(&long(0x08, 0x01, 0x72, &[0; 12])), None);
        assert_eq!(kind(&long(0x08, 0x0B, 0x72, &[])), Some("response"));
        assert_eq!(kind(&long(0x08, 0x0B, 0x70, &[])), None);
    }
}
