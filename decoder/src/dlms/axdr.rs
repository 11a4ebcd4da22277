//! COSEM `Data` in A-XDR encoding (IEC 61334-6 A-XDR rules as DLMS UA 1000-2 "Green Book"
//! applies them to the `Data` CHOICE; the common data types of DLMS UA 1000-1 "Blue Book").
//!
//! ```text
//! tag | [length or count (A-XDR length: < 0x80 one byte, 81 xx, 82 xx xx, 83 …, 84 …)] | contents
//! ```
//!
//! | tag | type | contents |
//! |---|---|---|
//! | 00 | null-data | — |
//! | 01 / 02 | array / structure | count, then that many `Data` |
//! | 03 | boolean | 1 byte |
//! | 04 | bit-string | length in bits, then ⌈bits / 8⌉ bytes |
//! | 05 / 06 | double-long / double-long-unsigned | 4 bytes, big-endian |
//! | 09 / 0A / 0C | octet-string / visible-string / utf8-string | length, bytes |
//! | 0D | bcd | 1 byte |
//! | 0F / 10 / 11 / 12 | integer / long / unsigned / long-unsigned | 1, 2, 1, 2 bytes |
//! | 13 | compact-array | not supported |
//! | 14 / 15 | long64 / long64-unsigned | 8 bytes |
//! | 16 | enum | 1 byte |
//! | 17 / 18 | float32 / float64 | IEEE 754, 4 / 8 bytes |
//! | 19 / 1A / 1B | date-time / date / time | 12 / 5 / 4 bytes |
//!
//! [`Data::parse`] is zero-copy and allocation-free: strings borrow the input, and an array or
//! structure is an [`Elements`] view of its checked encoding whose elements are read when they
//! are looked at (a push's body is checked once, to its last byte, and then read once by the
//! conversion). It is safe on hostile input: nesting is limited to [`MAX_DEPTH`] levels, and an
//! array or structure must have at least one byte per declared element.
//! Running out of bytes is told apart from bytes that are wrong ([`Error::Incomplete`]), which
//! lets a stream decoder wait for more.

use std::borrow::Cow;
use std::fmt;

use crate::obis::Obis;

use super::ciphering;

/// The deepest nesting of arrays and structures accepted. Real pushes use 3 levels.
pub const MAX_DEPTH: usize = 16;

/// Tag of null-data.
pub const NULL: u8 = 0x00;
/// Tag of array.
pub const ARRAY: u8 = 0x01;
/// Tag of structure.
pub const STRUCTURE: u8 = 0x02;
/// Tag of octet-string.
pub const OCTET_STRING: u8 = 0x09;
/// Tag of visible-string.
pub const VISIBLE_STRING: u8 = 0x0A;
/// Tag of integer (i8), used for scalers.
pub const INTEGER: u8 = 0x0F;
/// Tag of enum, used for units.
pub const ENUM: u8 = 0x16;

/// One COSEM `Data` value.
#[derive(Clone, Debug, PartialEq)]
pub enum Data<'a> {
    /// `00` null-data.
    Null,
    /// `01` array: elements of one type.
    Array(Elements<'a>),
    /// `02` structure: a sequence of elements.
    Structure(Elements<'a>),
    /// `03` boolean (any non-zero byte is true).
    Boolean(bool),
    /// `04` bit-string.
    BitString {
        /// Number of bits (an A-XDR length: at most four bytes).
        bits: u32,
        /// The bits, first bit in the most significant bit of the first byte.
        bytes: &'a [u8],
    },
    /// `05` double-long.
    Integer32(i32),
    /// `06` double-long-unsigned.
    Unsigned32(u32),
    /// `09` octet-string.
    OctetString(&'a [u8]),
    /// `0A` visible-string.
    VisibleString(&'a [u8]),
    /// `0C` utf8-string.
    Utf8String(&'a [u8]),
    /// `0D` bcd.
    Bcd(u8),
    /// `0F` integer.
    Integer8(i8),
    /// `10` long.
    Integer16(i16),
    /// `11` unsigned.
    Unsigned8(u8),
    /// `12` long-unsigned.
    Unsigned16(u16),
    /// `14` long64.
    Integer64(i64),
    /// `15` long64-unsigned.
    Unsigned64(u64),
    /// `16` enum.
    Enum(u8),
    /// `17` float32.
    Float32(f32),
    /// `18` float64.
    Float64(f64),
    /// `19` date-time (12 bytes, see [`super::apdu::DateTimeRepr`]).
    DateTime(&'a [u8]),
    /// `1A` date (5 bytes: year, month, day, weekday).
    Date(&'a [u8]),
    /// `1B` time (4 bytes: hour, minute, second, hundredths).
    Time(&'a [u8]),
}

/// The elements of an array or structure: a view of their checked A-XDR encoding, read on
/// demand, or elements built by the decoder (a body it rewrites, see
/// [`super::push_setup::parse_descriptor_body`]). Two are equal when their elements are.
#[derive(Clone)]
pub struct Elements<'a>(ElementsRepr<'a>);

#[derive(Clone)]
enum ElementsRepr<'a> {
    /// `count` elements encoded back to back in `bytes`, every one checked by [`Data::parse`].
    Encoded { bytes: &'a [u8], count: u32 },
    /// Elements built in memory.
    Built(Box<[Data<'a>]>),
}

impl<'a> Elements<'a> {
    /// The number of elements.
    #[inline]
    pub fn len(&self) -> usize {
        match &self.0 {
            ElementsRepr::Encoded { count, .. } => *count as usize,
            ElementsRepr::Built(items) => items.len(),
        }
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The elements in order (read from the encoding, or copies of the built ones).
    #[inline]
    pub fn iter(&self) -> ElementsIter<'_, 'a> {
        ElementsIter(match &self.0 {
            ElementsRepr::Encoded { bytes, count } => IterRepr::Encoded {
                bytes,
                pos: 0,
                left: *count as usize,
            },
            ElementsRepr::Built(items) => IterRepr::Built(items.iter()),
        })
    }

    /// The element at `index`.
    pub fn get(&self, index: usize) -> Option<Data<'a>> {
        self.iter().nth(index)
    }

    /// The first element.
    #[inline]
    pub fn first(&self) -> Option<Data<'a>> {
        self.iter().next()
    }

    /// The elements as a slice: borrowed when built, read into a new vector when encoded.
    pub fn to_slice(&self) -> Cow<'_, [Data<'a>]> {
        match &self.0 {
            ElementsRepr::Encoded { .. } => Cow::Owned(self.iter().collect()),
            ElementsRepr::Built(items) => Cow::Borrowed(items),
        }
    }
}

impl<'a> From<Vec<Data<'a>>> for Elements<'a> {
    fn from(items: Vec<Data<'a>>) -> Self {
        Elements(ElementsRepr::Built(items.into_boxed_slice()))
    }
}

impl<'a, const N: usize> From<[Data<'a>; N]> for Elements<'a> {
    fn from(items: [Data<'a>; N]) -> Self {
        Elements(ElementsRepr::Built(Box::new(items)))
    }
}

impl PartialEq for Elements<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl fmt::Debug for Elements<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// The elements of an [`Elements`], in order.
#[derive(Clone, Debug)]
pub struct ElementsIter<'e, 'a>(IterRepr<'e, 'a>);

#[derive(Clone, Debug)]
enum IterRepr<'e, 'a> {
    /// `left` more elements, the next at `bytes[pos..]`.
    Encoded {
        bytes: &'a [u8],
        pos: usize,
        left: usize,
    },
    Built(std::slice::Iter<'e, Data<'a>>),
}

impl<'a> Iterator for ElementsIter<'_, 'a> {
    type Item = Data<'a>;

    #[inline]
    fn next(&mut self) -> Option<Data<'a>> {
        match &mut self.0 {
            IterRepr::Encoded { bytes, pos, left } => {
                if *left == 0 {
                    return None;
                }
                *left -= 1;
                // Checked when the encoding was parsed: this cannot fail.
                let e = checked_extent(bytes, *pos)?;
                *pos = e.end;
                Some(value_of(bytes, e))
            }
            IterRepr::Built(items) => items.next().cloned(),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = match &self.0 {
            IterRepr::Encoded { left, .. } => *left,
            IterRepr::Built(items) => items.len(),
        };
        (left, Some(left))
    }
}

impl ExactSizeIterator for ElementsIter<'_, '_> {}

/// Why bytes are not one A-XDR `Data`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The bytes end before the data does.
    #[error("data cut off: {got} bytes, at least {needed} needed")]
    Incomplete {
        /// The least number of bytes (from the start of the input) the data needs.
        needed: usize,
        /// Bytes present.
        got: usize,
    },
    /// A tag that is no COSEM data type.
    #[error("unknown data type 0x{tag:02X} at byte {at}")]
    UnknownTag {
        /// The tag.
        tag: u8,
        /// Its offset in the input.
        at: usize,
    },
    /// A data type this decoder does not decode (compact-array).
    #[error("data type 0x{tag:02X} at byte {at} is not supported")]
    Unsupported {
        /// The tag.
        tag: u8,
        /// Its offset in the input.
        at: usize,
    },
    /// A length or count byte that is not a definite A-XDR length.
    #[error("length byte 0x{byte:02X} at byte {at} is not a definite A-XDR length")]
    LengthForm {
        /// The byte.
        byte: u8,
        /// Its offset in the input.
        at: usize,
    },
    /// Arrays and structures nested deeper than [`MAX_DEPTH`].
    #[error("data nested deeper than {MAX_DEPTH} levels at byte {at}")]
    TooDeep {
        /// Offset of the element that is too deep.
        at: usize,
    },
}

impl<'a> Data<'a> {
    /// Parses one `Data` at the start of `bytes`; returns it and the number of bytes it used.
    /// Bytes after it are not looked at.
    pub fn parse(bytes: &'a [u8]) -> Result<(Data<'a>, usize), Error> {
        parse_at(bytes, 0, 0)
    }

    /// Parses one `Data` starting at offset `at` of `bytes`; returns it and the offset after it.
    /// Error offsets count from the start of `bytes`.
    pub fn parse_at(bytes: &'a [u8], at: usize) -> Result<(Data<'a>, usize), Error> {
        parse_at(bytes, at, 0)
    }

    /// The elements of an array or structure.
    #[inline]
    pub fn elements(&self) -> Option<&Elements<'a>> {
        match self {
            Data::Array(items) | Data::Structure(items) => Some(items),
            _ => None,
        }
    }

    /// An OBIS code: an octet-string of exactly 6 bytes.
    #[inline]
    pub fn as_obis(&self) -> Option<Obis> {
        match self {
            Data::OctetString(b) if b.len() == 6 => {
                Some(Obis::new(b[0], b[1], b[2], b[3], b[4], b[5]))
            }
            _ => None,
        }
    }

    /// A scaler-unit structure `{integer scaler, enum unit}` (Blue Book class 3 attribute 3).
    #[inline]
    pub fn as_scaler_unit(&self) -> Option<(i8, u8)> {
        match self {
            // Checked encoding: `0F scaler 16 unit` is the only one of `{integer, enum}`.
            Data::Structure(Elements(ElementsRepr::Encoded {
                bytes: [INTEGER, scaler, ENUM, unit],
                count: 2,
            })) => Some((i8::from_be_bytes([*scaler]), *unit)),
            Data::Structure(items) if items.len() == 2 => {
                let mut items = items.iter();
                match (items.next(), items.next()) {
                    (Some(Data::Integer8(scaler)), Some(Data::Enum(unit))) => Some((scaler, unit)),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// The value of an integer type (including bcd and enum).
    #[inline]
    pub fn as_integer(&self) -> Option<i128> {
        Some(match *self {
            Data::Integer8(v) => i128::from(v),
            Data::Integer16(v) => i128::from(v),
            Data::Integer32(v) => i128::from(v),
            Data::Integer64(v) => i128::from(v),
            Data::Unsigned8(v) | Data::Bcd(v) | Data::Enum(v) => i128::from(v),
            Data::Unsigned16(v) => i128::from(v),
            Data::Unsigned32(v) => i128::from(v),
            Data::Unsigned64(v) => i128::from(v),
            _ => return None,
        })
    }

    /// The bytes of an octet-, visible- or utf8-string.
    #[inline]
    pub fn as_string_bytes(&self) -> Option<&'a [u8]> {
        match *self {
            Data::OctetString(b) | Data::VisibleString(b) | Data::Utf8String(b) => Some(b),
            _ => None,
        }
    }

    /// The type's name in the Blue Book, for messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Data::Null => "null-data",
            Data::Array(_) => "array",
            Data::Structure(_) => "structure",
            Data::Boolean(_) => "boolean",
            Data::BitString { .. } => "bit-string",
            Data::Integer32(_) => "double-long",
            Data::Unsigned32(_) => "double-long-unsigned",
            Data::OctetString(_) => "octet-string",
            Data::VisibleString(_) => "visible-string",
            Data::Utf8String(_) => "utf8-string",
            Data::Bcd(_) => "bcd",
            Data::Integer8(_) => "integer",
            Data::Integer16(_) => "long",
            Data::Unsigned8(_) => "unsigned",
            Data::Unsigned16(_) => "long-unsigned",
            Data::Integer64(_) => "long64",
            Data::Unsigned64(_) => "long64-unsigned",
            Data::Enum(_) => "enum",
            Data::Float32(_) => "float32",
            Data::Float64(_) => "float64",
            Data::DateTime(_) => "date-time",
            Data::Date(_) => "date",
            Data::Time(_) => "time",
        }
    }

    /// The A-XDR encoding of this value (used to show nested values as sent).
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Data::Null => out.push(NULL),
            Data::Array(items) | Data::Structure(items) => {
                out.push(if matches!(self, Data::Array(_)) {
                    ARRAY
                } else {
                    STRUCTURE
                });
                encode_length(items.len(), out);
                for item in items.iter() {
                    item.encode(out);
                }
            }
            Data::Boolean(b) => out.extend([0x03, u8::from(*b)]),
            Data::BitString { bits, bytes } => {
                out.push(0x04);
                encode_length(*bits as usize, out);
                out.extend_from_slice(bytes);
            }
            Data::Integer32(v) => tagged(out, 0x05, &v.to_be_bytes()),
            Data::Unsigned32(v) => tagged(out, 0x06, &v.to_be_bytes()),
            Data::OctetString(b) | Data::VisibleString(b) | Data::Utf8String(b) => {
                out.push(match self {
                    Data::OctetString(_) => OCTET_STRING,
                    Data::VisibleString(_) => VISIBLE_STRING,
                    _ => 0x0C,
                });
                encode_length(b.len(), out);
                out.extend_from_slice(b);
            }
            Data::Bcd(v) => out.extend([0x0D, *v]),
            Data::Integer8(v) => tagged(out, INTEGER, &v.to_be_bytes()),
            Data::Integer16(v) => tagged(out, 0x10, &v.to_be_bytes()),
            Data::Unsigned8(v) => out.extend([0x11, *v]),
            Data::Unsigned16(v) => tagged(out, 0x12, &v.to_be_bytes()),
            Data::Integer64(v) => tagged(out, 0x14, &v.to_be_bytes()),
            Data::Unsigned64(v) => tagged(out, 0x15, &v.to_be_bytes()),
            Data::Enum(v) => out.extend([ENUM, *v]),
            Data::Float32(v) => tagged(out, 0x17, &v.to_be_bytes()),
            Data::Float64(v) => tagged(out, 0x18, &v.to_be_bytes()),
            Data::DateTime(b) => tagged(out, 0x19, b),
            Data::Date(b) => tagged(out, 0x1A, b),
            Data::Time(b) => tagged(out, 0x1B, b),
        }
    }
}

fn tagged(out: &mut Vec<u8>, tag: u8, contents: &[u8]) {
    out.push(tag);
    out.extend_from_slice(contents);
}

/// Appends an A-XDR length: one byte below 0x80, else `8n` and n big-endian bytes.
pub fn encode_length(len: usize, out: &mut Vec<u8>) {
    if len < 0x80 {
        out.push(len as u8);
        return;
    }
    let bytes = (len as u64).to_be_bytes();
    let skip = bytes.iter().take_while(|&&b| b == 0).count();
    out.push(0x80 | (8 - skip) as u8);
    out.extend_from_slice(&bytes[skip..]);
}

/// The bytes `bytes[at..at + n]`, or how many are missing.
fn take(bytes: &[u8], at: usize, n: usize) -> Result<&[u8], Error> {
    let end = at.saturating_add(n);
    bytes.get(at..end).ok_or(Error::Incomplete {
        needed: end,
        got: bytes.len(),
    })
}

/// An A-XDR length at `at`: its value and the offset after it.
pub(crate) fn read_length(bytes: &[u8], at: usize) -> Result<(usize, usize), Error> {
    let rest = bytes.get(at..).unwrap_or_default();
    match ciphering::parse_length(rest) {
        Ok(Some((len, used))) => Ok((len, at + used)),
        Ok(None) => Err(Error::Incomplete {
            needed: at + 1 + rest.first().map_or(0, |b| usize::from(b & 0x7F)),
            got: bytes.len(),
        }),
        Err(_) => Err(Error::LengthForm {
            byte: rest.first().copied().unwrap_or_default(),
            at,
        }),
    }
}

/// Where one `Data` lies, known once it is checked.
#[derive(Clone, Copy, Debug)]
struct Extent {
    tag: u8,
    /// Where the contents start: after the tag and any length or count.
    start: usize,
    /// The length or count of a string, bit-string (in bits), array or structure.
    len: usize,
    /// The offset after the value.
    end: usize,
}

/// Marks a tag in [`FIXED_SIZE`] whose contents are not of a fixed size.
const NOT_FIXED: u8 = 0xFF;

/// The size of the contents of each fixed-size type, by tag ([`NOT_FIXED`] for the others).
static FIXED_SIZE: [u8; 256] = {
    let mut sizes = [NOT_FIXED; 256];
    sizes[NULL as usize] = 0;
    sizes[0x03] = 1;
    sizes[0x0D] = 1;
    sizes[INTEGER as usize] = 1;
    sizes[0x11] = 1;
    sizes[ENUM as usize] = 1;
    sizes[0x10] = 2;
    sizes[0x12] = 2;
    sizes[0x05] = 4;
    sizes[0x06] = 4;
    sizes[0x17] = 4;
    sizes[0x1B] = 4;
    sizes[0x1A] = 5;
    sizes[0x14] = 8;
    sizes[0x15] = 8;
    sizes[0x18] = 8;
    sizes[0x19] = 12;
    sizes
};

/// Checks the `Data` at `at` (nested elements included, `depth` levels down) and tells where
/// it lies; allocates nothing.
fn extent(bytes: &[u8], at: usize, depth: usize) -> Result<Extent, Error> {
    let tag = take(bytes, at, 1)?[0];
    let at1 = at + 1;
    let n = FIXED_SIZE[usize::from(tag)];
    if n != NOT_FIXED {
        let n = usize::from(n);
        let end = at1.saturating_add(n);
        if end > bytes.len() {
            return Err(Error::Incomplete {
                needed: end,
                got: bytes.len(),
            });
        }
        return Ok(Extent {
            tag,
            start: at1,
            len: n,
            end,
        });
    }
    match tag {
        ARRAY | STRUCTURE => {
            if depth >= MAX_DEPTH {
                return Err(Error::TooDeep { at });
            }
            let (count, start) = read_length(bytes, at1)?;
            // Every element takes at least one byte.
            if bytes.len().saturating_sub(start) < count {
                return Err(Error::Incomplete {
                    needed: start.saturating_add(count),
                    got: bytes.len(),
                });
            }
            if u32::try_from(count).is_err() {
                return Err(Error::LengthForm {
                    byte: bytes.get(at1).copied().unwrap_or_default(),
                    at: at1,
                });
            }
            let mut pos = start;
            for i in 0..count {
                // Most elements are numbers, or strings with a one-byte length, that fit:
                // skipped here, without a call.
                if let Some(end) = short_end(bytes, pos) {
                    pos = end;
                    continue;
                }
                pos = extent(bytes, pos, depth + 1)
                    .map_err(|e| match e {
                        // The elements after this one need at least a byte each.
                        Error::Incomplete { needed, got } => Error::Incomplete {
                            needed: needed.saturating_add(count - i - 1),
                            got,
                        },
                        e => e,
                    })?
                    .end;
            }
            Ok(Extent {
                tag,
                start,
                len: count,
                end: pos,
            })
        }
        0x04 | OCTET_STRING | VISIBLE_STRING | 0x0C => {
            let (len, start) = read_length(bytes, at1)?;
            let n = if tag == 0x04 { len.div_ceil(8) } else { len };
            take(bytes, start, n)?;
            if u32::try_from(len).is_err() {
                return Err(Error::LengthForm {
                    byte: bytes.get(at1).copied().unwrap_or_default(),
                    at: at1,
                });
            }
            Ok(Extent {
                tag,
                start,
                len,
                end: start + n,
            })
        }
        0x13 => Err(Error::Unsupported { tag, at }),
        _ => Err(Error::UnknownTag { tag, at }),
    }
}

/// The end of the number, or of the string with a one-byte length, at `at`, if that is what
/// lies there and it fits in `bytes`.
#[inline]
fn short_end(bytes: &[u8], at: usize) -> Option<usize> {
    let tag = *bytes.get(at)?;
    let n = FIXED_SIZE[usize::from(tag)];
    let end = if n != NOT_FIXED {
        at + 1 + usize::from(n)
    } else if matches!(tag, OCTET_STRING | VISIBLE_STRING | 0x0C) {
        let len = *bytes.get(at + 1)?;
        if len >= 0x80 {
            return None;
        }
        at + 2 + usize::from(len)
    } else {
        return None;
    };
    (end <= bytes.len()).then_some(end)
}

/// An A-XDR length at `at` of checked bytes: its value and the offset after it.
#[inline]
fn checked_length(bytes: &[u8], at: usize) -> Option<(usize, usize)> {
    ciphering::parse_length(bytes.get(at..)?)
        .ok()
        .flatten()
        .map(|(len, used)| (len, at + used))
}

/// The end of the `Data` at `at` of an encoding checked by [`extent`] (walked without checking
/// again).
#[inline]
fn checked_end(bytes: &[u8], at: usize) -> Option<usize> {
    if let Some(end) = short_end(bytes, at) {
        return Some(end);
    }
    let tag = *bytes.get(at)?;
    let (len, start) = checked_length(bytes, at + 1)?;
    match tag {
        ARRAY | STRUCTURE => (0..len).try_fold(start, |pos, _| checked_end(bytes, pos)),
        0x04 => Some(start + len.div_ceil(8)),
        _ => Some(start + len),
    }
}

/// Where the `Data` at `at` of an encoding checked by [`extent`] lies: read from its tag and
/// length, nested arrays and structures walked without checking again.
#[inline]
fn checked_extent(bytes: &[u8], at: usize) -> Option<Extent> {
    let tag = *bytes.get(at)?;
    let start = at + 1;
    let n = FIXED_SIZE[usize::from(tag)];
    if n != NOT_FIXED {
        let len = usize::from(n);
        return Some(Extent {
            tag,
            start,
            len,
            end: start + len,
        });
    }
    let (len, start) = checked_length(bytes, start)?;
    let end = match tag {
        ARRAY | STRUCTURE => (0..len).try_fold(start, |pos, _| checked_end(bytes, pos))?,
        0x04 => start + len.div_ceil(8),
        _ => start + len,
    };
    Some(Extent {
        tag,
        start,
        len,
        end,
    })
}

/// The value of a checked `Data` (`extent` succeeded on these bytes).
#[inline]
fn value_of<'a>(bytes: &'a [u8], e: Extent) -> Data<'a> {
    let contents = bytes.get(e.start..e.end).unwrap_or_default();
    let byte = contents.first().copied().unwrap_or_default();
    fn be<const N: usize>(contents: &[u8]) -> [u8; N] {
        contents.try_into().unwrap_or([0; N])
    }
    // `extent` refused counts and bit lengths beyond 32 bits.
    let len32 = u32::try_from(e.len).unwrap_or(u32::MAX);
    match e.tag {
        ARRAY | STRUCTURE => {
            let items = Elements(ElementsRepr::Encoded {
                bytes: contents,
                count: len32,
            });
            if e.tag == ARRAY {
                Data::Array(items)
            } else {
                Data::Structure(items)
            }
        }
        0x03 => Data::Boolean(byte != 0),
        0x04 => Data::BitString {
            bits: len32,
            bytes: contents,
        },
        0x05 => Data::Integer32(i32::from_be_bytes(be(contents))),
        0x06 => Data::Unsigned32(u32::from_be_bytes(be(contents))),
        OCTET_STRING => Data::OctetString(contents),
        VISIBLE_STRING => Data::VisibleString(contents),
        0x0C => Data::Utf8String(contents),
        0x0D => Data::Bcd(byte),
        INTEGER => Data::Integer8(i8::from_be_bytes([byte])),
        0x10 => Data::Integer16(i16::from_be_bytes(be(contents))),
        0x11 => Data::Unsigned8(byte),
        0x12 => Data::Unsigned16(u16::from_be_bytes(be(contents))),
        0x14 => Data::Integer64(i64::from_be_bytes(be(contents))),
        0x15 => Data::Unsigned64(u64::from_be_bytes(be(contents))),
        ENUM => Data::Enum(byte),
        0x17 => Data::Float32(f32::from_be_bytes(be(contents))),
        0x18 => Data::Float64(f64::from_be_bytes(be(contents))),
        0x19 => Data::DateTime(contents),
        0x1A => Data::Date(contents),
        0x1B => Data::Time(contents),
        // `NULL`; `extent` accepts no other tag.
        _ => Data::Null,
    }
}

fn parse_at(bytes: &[u8], at: usize, depth: usize) -> Result<(Data<'_>, usize), Error> {
    let e = extent(bytes, at, depth)?;
    Ok((value_of(bytes, e), e.end))
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::test_hex::unhex;

    /// One register of the Aidon Norway HAN list (esphome-libs/dlms_parser
    /// tests/dumps/hdlc_norway_han_1phase.log, corpus `aidon_norway_1phase_hdlc_plain`):
    /// {1-0:1.7.0.255, 1362 (u32), {scaler 0, unit W}}.
    static REGISTER: &str = "020309060100010700FF060000055202020F00161B";

    #[test]
    fn test_parse() {
        let bytes = unhex(REGISTER);
        let (data, used) = Data::parse(&bytes).expect("valid data");
        assert_eq!(used, bytes.len());
        let items = data.elements().expect("a structure").to_slice();
        assert_eq!(items[0].as_obis(), Some(Obis::new(1, 0, 1, 7, 0, 255)));
        assert_eq!(items[1], Data::Unsigned32(1362));
        assert_eq!(items[2].as_scaler_unit(), Some((0, 0x1B)));
        let mut again = Vec::new();
        data.encode(&mut again);
        assert_eq!(again, bytes);
    }

    /// An array or structure owns no memory: parsing a push's body allocates nothing, and a
    /// value is four words.
    #[test]
    fn test_parse_allocates_nothing() {
        assert!(
            std::mem::size_of::<Data<'_>>() <= 4 * std::mem::size_of::<usize>(),
            "{} bytes",
            std::mem::size_of::<Data<'_>>()
        );
        let bytes = unhex(REGISTER);
        let (data, _) = Data::parse(&bytes).expect("valid data");
        let Data::Structure(Elements(ElementsRepr::Encoded {
            bytes: encoded,
            count,
        })) = &data
        else {
            panic!("a structure read from its encoding: {data:?}");
        };
        assert_eq!((encoded.len(), *count), (bytes.len() - 2, 3));
        let items: Vec<Data<'_>> = data.elements().expect("structure").iter().collect();
        assert!(matches!(
            &items[2],
            Data::Structure(Elements(ElementsRepr::Encoded { .. }))
        ));
        assert_eq!(data, Data::Structure(items.into()));
    }

    #[test]
    fn test_all_types_round_trip() {
        let text = b"KFM_001";
        let values = vec![
            Data::Null,
            Data::Boolean(true),
            Data::BitString {
                bits: 10,
                bytes: &[0xFF, 0xC0],
            },
            Data::Integer32(-5),
            Data::Unsigned32(7),
            Data::OctetString(&[1, 2, 3]),
            Data::VisibleString(text),
            Data::Utf8String("Zähler".as_bytes()),
            Data::Bcd(0x42),
            Data::Integer8(-3),
            Data::Integer16(-300),
            Data::Unsigned8(200),
            Data::Unsigned16(60000),
            Data::Integer64(-1),
            Data::Unsigned64(u64::MAX),
            Data::Enum(0x1E),
            Data::Float32(1.5),
            Data::Float64(-2.25),
            Data::DateTime(&[0x07, 0xE5, 9, 27, 1, 9, 47, 15, 0, 0xFF, 0x88, 0x80]),
            Data::Date(&[0x07, 0xE8, 5, 7, 2]),
            Data::Time(&[0x15, 0x0B, 0x11, 0x00]),
            Data::OctetString(&[0x55; 300]),
        ];
        let list = Data::Array(values.clone().into());
        let mut bytes = Vec::new();
        list.encode(&mut bytes);
        let (back, used) = Data::parse(&bytes).expect("round trip");
        assert_eq!(used, bytes.len());
        assert_eq!(back, list);
    }

    #[test]
    fn test_impossible_len() {
        let bytes = unhex(REGISTER);
        for cut in 0..bytes.len() {
            match Data::parse(&bytes[..cut]) {
                Err(Error::Incomplete { needed, got }) => {
                    assert_eq!(got, cut);
                    assert!(needed > cut && needed <= bytes.len(), "cut {cut}: {needed}");
                }
                other => panic!("cut at {cut}: {other:?}"),
            }
        }
        // An array declaring 65535 elements in 4 bytes: no allocation, just "incomplete".
        assert_eq!(
            Data::parse(&[0x01, 0x82, 0xFF, 0xFF]),
            Err(Error::Incomplete {
                needed: 4 + 65535,
                got: 4
            })
        );
        assert_eq!(
            Data::parse(&[0x09, 0x80]),
            Err(Error::LengthForm { byte: 0x80, at: 1 })
        );
        assert_eq!(
            Data::parse(&[0x02, 0x01, 0x07]),
            Err(Error::UnknownTag { tag: 0x07, at: 2 })
        );
        assert_eq!(
            Data::parse(&[0x13, 0x00]),
            Err(Error::Unsupported { tag: 0x13, at: 0 })
        );
    }

    #[test]
    fn test_depth_limit() {
        let mut bytes = Vec::new();
        for _ in 0..=MAX_DEPTH {
            bytes.extend([STRUCTURE, 0x01]);
        }
        bytes.push(NULL);
        assert_eq!(
            Data::parse(&bytes),
            Err(Error::TooDeep { at: 2 * MAX_DEPTH })
        );
        let ok = &bytes[2..];
        assert!(Data::parse(ok).is_ok());
    }
}
