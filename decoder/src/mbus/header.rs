//! The variable data structure's header (EN 13757-3, clause 5: long header after CI `72`/`76`,
//! short header after CI `7A`, none after CI `78`) and the manufacturer id (EN 13757-3, 5.6;
//! the three-letter code of the FLAG association).
//!
//! ```text
//! long header   ID(4, BCD LSB first) MAN(2, LE) VER MED ACC STATUS SIG(2)
//! short header  ACC STATUS SIG(2)
//! ```
//!
//! CI `76` sends the long header's multi-byte fields most significant byte first.

use super::record::{Error, ErrorKind};

/// Length of the long header.
pub const LONG_HEADER_LEN: usize = 12;
/// Length of the short header.
pub const SHORT_HEADER_LEN: usize = 4;

/// Which header a CI announces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeaderKind {
    /// CI `72` (least significant byte first) and `76` (most significant byte first).
    Long,
    /// CI `7A`.
    Short,
    /// CI `78`.
    None,
}

/// The parsed header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeaderRepr {
    /// The identification number's 8 digits as sent (hex digits where a nibble is not BCD).
    pub id: Option<String>,
    /// The manufacturer field (bit 15 included).
    pub manufacturer: Option<u16>,
    /// Version (generation).
    pub version: Option<u8>,
    /// Medium / device type byte.
    pub medium: Option<u8>,
    /// Access number.
    pub access_number: u8,
    /// Status byte.
    pub status: u8,
    /// Signature / configuration word.
    pub signature: u16,
}

/// The header announced by a CI of a variable data response, `None` for other CIs.
pub fn header_kind(ci: u8) -> Option<HeaderKind> {
    match ci {
        0x72 | 0x76 => Some(HeaderKind::Long),
        0x7A => Some(HeaderKind::Short),
        0x78 => Some(HeaderKind::None),
        _ => None,
    }
}

impl HeaderRepr {
    /// Parses the header of `kind` from the start of `data`; returns it (`None` for CI `78`) and
    /// the number of bytes it took. `msb_first` is CI `76`.
    pub fn parse(
        data: &[u8],
        kind: HeaderKind,
        msb_first: bool,
    ) -> Result<(Option<HeaderRepr>, usize), Error> {
        let u16_of = |b: &[u8]| {
            if msb_first {
                u16::from_be_bytes([b[0], b[1]])
            } else {
                u16::from_le_bytes([b[0], b[1]])
            }
        };
        match kind {
            HeaderKind::None => Ok((None, 0)),
            HeaderKind::Short => {
                let h = data
                    .get(..SHORT_HEADER_LEN)
                    .ok_or_else(|| too_short(data, 4))?;
                Ok((
                    Some(HeaderRepr {
                        id: None,
                        manufacturer: None,
                        version: None,
                        medium: None,
                        access_number: h[0],
                        status: h[1],
                        signature: u16_of(&h[2..4]),
                    }),
                    SHORT_HEADER_LEN,
                ))
            }
            HeaderKind::Long => {
                let h = data
                    .get(..LONG_HEADER_LEN)
                    .ok_or_else(|| too_short(data, 12))?;
                let mut id_bytes = [h[0], h[1], h[2], h[3]];
                if !msb_first {
                    id_bytes.reverse();
                }
                let id = super::record::hex(&id_bytes);
                Ok((
                    Some(HeaderRepr {
                        id: Some(id),
                        manufacturer: Some(u16_of(&h[4..6])),
                        version: Some(h[6]),
                        medium: Some(h[7]),
                        access_number: h[8],
                        status: h[9],
                        signature: u16_of(&h[10..12]),
                    }),
                    LONG_HEADER_LEN,
                ))
            }
        }
    }
}

fn too_short(data: &[u8], needed: usize) -> Error {
    Error::new(
        ErrorKind::PrematureEnd,
        format!(
            "variable data header too short: {} of {needed} bytes",
            data.len()
        ),
    )
}

/// The three letters of a manufacturer field, from `M & 0x7FFF` (`0x0000` is `@@@`).
pub fn manufacturer_code(m: u16) -> String {
    let m = m & 0x7FFF;
    [10u16, 5, 0]
        .iter()
        .map(|&shift| char::from(((m >> shift) & 0x1F) as u8 + 64))
        .collect()
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn manufacturer_letters() {
        assert_eq!(manufacturer_code(0x0442), "ABB");
        assert_eq!(manufacturer_code(0x0000), "@@@");
        assert_eq!(manufacturer_code(0xA697), manufacturer_code(0x2697));
    }

    #[test]
    fn long_header_both_orders() {
        let le = [0x78, 0x56, 0x34, 0x12, 0x42, 0x04, 2, 2, 0x45, 0, 0, 0];
        let (h, len) = HeaderRepr::parse(&le, HeaderKind::Long, false).expect("header");
        let h = h.expect("long header");
        assert_eq!(
            (h.id.as_deref(), h.manufacturer, len),
            (Some("12345678"), Some(0x0442), 12)
        );
        let be = [0x12, 0x34, 0x56, 0x78, 0x04, 0x42, 2, 2, 0x45, 0, 0, 0];
        let (h2, _) = HeaderRepr::parse(&be, HeaderKind::Long, true).expect("header");
        assert_eq!(h2.expect("long header"), h);
        assert!(HeaderRepr::parse(&le[..5], HeaderKind::Long, false).is_err());
    }
}
