//! A-XDR encoding of COSEM data (IEC 61334-6 A-XDR; DLMS UA Green Book §9.5, the `Data` CHOICE
//! of IEC 62056-5-3): what a push list is made of.
//!
//! Every value is a tag byte followed by its content; arrays and structures carry an element
//! count and strings a byte length, both as an A-XDR length: one byte below 0x80, else `81 xx`,
//! `82 xx xx`, `83 …`, `84 …` (the high nibble's low bits give the number of length bytes).
//! [`Data`] is the emit half of the decoder's data type.

use meterlab_decoder::Obis;

/// Tags of the `Data` CHOICE (Blue Book §4.1.5).
pub mod tag {
    /// null-data.
    pub const NULL: u8 = 0x00;
    /// array (count, then elements of one type).
    pub const ARRAY: u8 = 0x01;
    /// structure (count, then elements).
    pub const STRUCTURE: u8 = 0x02;
    /// boolean.
    pub const BOOLEAN: u8 = 0x03;
    /// double-long (i32).
    pub const DOUBLE_LONG: u8 = 0x05;
    /// double-long-unsigned (u32).
    pub const DOUBLE_LONG_UNSIGNED: u8 = 0x06;
    /// octet-string.
    pub const OCTET_STRING: u8 = 0x09;
    /// visible-string.
    pub const VISIBLE_STRING: u8 = 0x0A;
    /// integer (i8).
    pub const INTEGER: u8 = 0x0F;
    /// long (i16).
    pub const LONG: u8 = 0x10;
    /// unsigned (u8).
    pub const UNSIGNED: u8 = 0x11;
    /// long-unsigned (u16).
    pub const LONG_UNSIGNED: u8 = 0x12;
    /// long64 (i64).
    pub const LONG64: u8 = 0x14;
    /// long64-unsigned (u64).
    pub const LONG64_UNSIGNED: u8 = 0x15;
    /// enum (u8).
    pub const ENUM: u8 = 0x16;
}

/// One A-XDR encoded COSEM value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Data {
    /// `00`.
    Null,
    /// `01 n` then the elements.
    Array(Vec<Data>),
    /// `02 n` then the elements.
    Structure(Vec<Data>),
    /// `03 b`.
    Boolean(bool),
    /// `05` i32 big-endian.
    DoubleLong(i32),
    /// `06` u32 big-endian.
    DoubleLongUnsigned(u32),
    /// `09 len` bytes.
    OctetString(Vec<u8>),
    /// `0A len` bytes (ASCII).
    VisibleString(Vec<u8>),
    /// `0F` i8.
    Integer(i8),
    /// `10` i16 big-endian.
    Long(i16),
    /// `11` u8.
    Unsigned(u8),
    /// `12` u16 big-endian.
    LongUnsigned(u16),
    /// `14` i64 big-endian.
    Long64(i64),
    /// `15` u64 big-endian.
    Long64Unsigned(u64),
    /// `16` u8.
    Enum(u8),
}

impl Data {
    /// An OBIS code as the 6-byte octet-string COSEM uses (`09 06 A B C D E F`).
    pub fn obis(obis: Obis) -> Data {
        Data::OctetString(obis.0.to_vec())
    }

    /// A register's scaler_unit: `02 02 0F <scaler> 16 <unit>`.
    pub fn scaler_unit(scaler: i8, unit: u8) -> Data {
        Data::Structure(vec![Data::Integer(scaler), Data::Enum(unit)])
    }

    /// The tag byte.
    pub fn tag(&self) -> u8 {
        match self {
            Data::Null => tag::NULL,
            Data::Array(_) => tag::ARRAY,
            Data::Structure(_) => tag::STRUCTURE,
            Data::Boolean(_) => tag::BOOLEAN,
            Data::DoubleLong(_) => tag::DOUBLE_LONG,
            Data::DoubleLongUnsigned(_) => tag::DOUBLE_LONG_UNSIGNED,
            Data::OctetString(_) => tag::OCTET_STRING,
            Data::VisibleString(_) => tag::VISIBLE_STRING,
            Data::Integer(_) => tag::INTEGER,
            Data::Long(_) => tag::LONG,
            Data::Unsigned(_) => tag::UNSIGNED,
            Data::LongUnsigned(_) => tag::LONG_UNSIGNED,
            Data::Long64(_) => tag::LONG64,
            Data::Long64Unsigned(_) => tag::LONG64_UNSIGNED,
            Data::Enum(_) => tag::ENUM,
        }
    }

    /// Bytes the encoding takes, tag included.
    pub fn buffer_len(&self) -> usize {
        1 + match self {
            Data::Null => 0,
            Data::Array(items) | Data::Structure(items) => {
                length_len(items.len()) + items.iter().map(Data::buffer_len).sum::<usize>()
            }
            Data::Boolean(_) | Data::Integer(_) | Data::Unsigned(_) | Data::Enum(_) => 1,
            Data::Long(_) | Data::LongUnsigned(_) => 2,
            Data::DoubleLong(_) | Data::DoubleLongUnsigned(_) => 4,
            Data::Long64(_) | Data::Long64Unsigned(_) => 8,
            Data::OctetString(b) | Data::VisibleString(b) => length_len(b.len()) + b.len(),
        }
    }

    /// Appends the encoding to `out`.
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.push(self.tag());
        match self {
            Data::Null => {}
            Data::Array(items) | Data::Structure(items) => {
                push_length(out, items.len());
                for item in items {
                    item.emit(out);
                }
            }
            Data::Boolean(b) => out.push(u8::from(*b)),
            Data::DoubleLong(v) => out.extend_from_slice(&v.to_be_bytes()),
            Data::DoubleLongUnsigned(v) => out.extend_from_slice(&v.to_be_bytes()),
            Data::OctetString(b) | Data::VisibleString(b) => {
                push_length(out, b.len());
                out.extend_from_slice(b);
            }
            Data::Integer(v) => out.extend_from_slice(&v.to_be_bytes()),
            Data::Long(v) => out.extend_from_slice(&v.to_be_bytes()),
            Data::Unsigned(v) | Data::Enum(v) => out.push(*v),
            Data::LongUnsigned(v) => out.extend_from_slice(&v.to_be_bytes()),
            Data::Long64(v) => out.extend_from_slice(&v.to_be_bytes()),
            Data::Long64Unsigned(v) => out.extend_from_slice(&v.to_be_bytes()),
        }
    }

    /// The encoding as a new buffer.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.buffer_len());
        self.emit(&mut out);
        out
    }
}

/// Bytes an A-XDR length takes.
pub fn length_len(len: usize) -> usize {
    match len {
        0..=0x7F => 1,
        0x80..=0xFF => 2,
        0x100..=0xFFFF => 3,
        0x1_0000..=0xFF_FFFF => 4,
        _ => 5,
    }
}

/// Appends an A-XDR length in its shortest form: `len` below 0x80, else `81 xx`, `82 xx xx`,
/// `83 xx xx xx` or `84 xx xx xx xx`.
pub fn push_length(out: &mut Vec<u8>, len: usize) {
    let n = length_len(len);
    if n == 1 {
        out.push(len as u8);
        return;
    }
    let bytes = (len as u64).to_be_bytes();
    out.push(0x80 | (n - 1) as u8);
    out.extend_from_slice(&bytes[8 - (n - 1)..]);
}

#[cfg(test)]
mod test {
    use super::*;

    /// `{1-0:32.7.0.255, 233.6 V}` as the TINETZ Kaifa MA309 sends it (reitermarkus/dlms-cosem-rs
    /// DECRYPTED_MESSAGE): `02 03 09 06 0100200700FF 12 0920 02 02 0F FF 16 23`.
    static REGISTER_BYTES: [u8; 18] = [
        0x02, 0x03, 0x09, 0x06, 0x01, 0x00, 0x20, 0x07, 0x00, 0xFF, 0x12, 0x09, 0x20, 0x02, 0x02,
        0x0F, 0xFF, 0x16,
    ];

    #[test]
    fn test_emit_register() {
        let reg = Data::Structure(vec![
            Data::obis(Obis::new(1, 0, 32, 7, 0, 255)),
            Data::LongUnsigned(2336),
            Data::scaler_unit(-1, 0x23),
        ]);
        let bytes = reg.to_bytes();
        assert_eq!(bytes.len(), reg.buffer_len());
        assert_eq!(&bytes[..18], &REGISTER_BYTES);
        assert_eq!(bytes[18], 0x23);
    }

    #[test]
    fn test_scalars() {
        let all = Data::Structure(vec![
            Data::Null,
            Data::Boolean(true),
            Data::DoubleLong(-2),
            Data::DoubleLongUnsigned(0x0102_0304),
            Data::VisibleString(b"AB".to_vec()),
            Data::Integer(-3),
            Data::Long(-1),
            Data::Unsigned(7),
            Data::Long64(1),
            Data::Long64Unsigned(2),
            Data::Array(vec![]),
        ]);
        let bytes = all.to_bytes();
        assert_eq!(bytes.len(), all.buffer_len());
        assert_eq!(
            bytes,
            [
                0x02, 0x0B, 0x00, 0x03, 0x01, 0x05, 0xFF, 0xFF, 0xFF, 0xFE, 0x06, 1, 2, 3, 4, 0x0A,
                2, b'A', b'B', 0x0F, 0xFD, 0x10, 0xFF, 0xFF, 0x11, 7, 0x14, 0, 0, 0, 0, 0, 0, 0, 1,
                0x15, 0, 0, 0, 0, 0, 0, 0, 2, 0x01, 0x00
            ]
        );
    }

    #[test]
    fn test_long_lengths() {
        let mut v = Vec::new();
        for len in [0x7F, 0x80, 0xF8, 0x155, 0x1_0000, 0x100_0000] {
            push_length(&mut v, len);
        }
        assert_eq!(
            v,
            [
                0x7F, 0x81, 0x80, 0x81, 0xF8, 0x82, 0x01, 0x55, 0x83, 0x01, 0x00, 0x00, 0x84, 0x01,
                0x00, 0x00, 0x00
            ]
        );
        let big = Data::OctetString(vec![0xAA; 300]);
        let bytes = big.to_bytes();
        assert_eq!(&bytes[..4], &[0x09, 0x82, 0x01, 0x2C]);
        assert_eq!(bytes.len(), big.buffer_len());
        let many = Data::Array(vec![Data::Null; 200]);
        assert_eq!(&many.to_bytes()[..3], &[0x01, 0x81, 200]);
        assert_eq!(many.buffer_len(), 3 + 200);
    }
}
