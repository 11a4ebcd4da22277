//! The CI field (control information): what every one of its 256 values means, after
//! EN 13757-7:2018 table 2 (which includes the wireless and OMS layers: extended link layer,
//! authentication and fragmentation, compact frames) and, where the older wired standard
//! EN 1434-3 (1997) gave a value another meaning that wired meters still send, that meaning:
//! `0x73`/`0x77` the fixed data structure (LSB/MSB first), `0x76` variable data MSB first,
//! `0x56` selection MSB first.
//!
//! [`describe`] names a CI for messages (`unsupported_ci` errors, link message details);
//! [`direction`] says who sends it.

/// Who sends a CI.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CiDirection {
    /// Master (or other device) to meter: a command, selection or management request.
    ToMeter,
    /// Meter to master: a response, alarm or error.
    FromMeter,
    /// Either, or not assigned (reserved, DLMS transport, manufacturer specific).
    Either,
}

/// What `ci` is, for a person: `"extended link layer (wireless)"`.
pub fn describe(ci: u8) -> &'static str {
    match ci {
        0x00..=0x1F => "DLMS/COSEM transport (decode with the dlms protocol)",
        0x20..=0x4F => "reserved",
        0x50 => "application reset",
        0x51 => "data send to the meter (full M-Bus frame)",
        0x52 => "selection of a slave by secondary address",
        0x53 => "application reset or select, long header",
        0x54 => "request of selected application",
        0x55 => "request of selected application, long header",
        0x56 => "selection of a slave by secondary address, most significant byte first",
        0x57..=0x59 => "reserved",
        0x5A => "command to the meter, short header",
        0x5B => "command to the meter, long header",
        0x5C => "synchronize action",
        0x5D | 0x5E => "reserved",
        0x5F => "specific usage, long header",
        0x60 => "DLMS/COSEM command to the meter, long header",
        0x61 => "DLMS/COSEM command to the meter, short header",
        0x62 | 0x63 => "reserved",
        0x64 => "OBIS-type command to the meter, long header (reserved)",
        0x65 => "OBIS-type command to the meter, short header (reserved)",
        0x66 => "response of selected application",
        0x67 => "response of selected application, short header",
        0x68 => "response of selected application, long header",
        0x69 => "format frame response, no header",
        0x6A => "format frame response, short header",
        0x6B => "format frame response, long header",
        0x6C => "time synchronisation (absolute), long header",
        0x6D => "time synchronisation (relative), long header",
        0x6E => "application error, short header",
        0x6F => "application error, long header",
        0x70 => "application error",
        0x71 => "alarm",
        0x72 => "variable data response, long header",
        0x73 => "fixed data structure (EN 1434-3; OMS: compact frame, long header)",
        0x74 => "alarm, short header",
        0x75 => "alarm, long header",
        0x76 => "variable data response, long header, most significant byte first",
        0x77 => "fixed data structure, most significant byte first",
        0x78 => "variable data response, no header",
        0x79 => "compact frame response, no header (wireless, OMS)",
        0x7A => "variable data response, short header",
        0x7B => "compact frame response, short header (wireless, OMS)",
        0x7C => "DLMS/COSEM response, long header",
        0x7D => "DLMS/COSEM response, short header",
        0x7E => "OBIS-type response, long header (reserved)",
        0x7F => "OBIS-type response, short header (reserved)",
        0x80 => "transport layer to the meter without application data (wireless)",
        0x81 => "network layer data (EN 13757-5, wireless relaying)",
        0x82 => "network management data to the meter, long header",
        0x83 => "network management data to the meter, no header",
        0x84 => "transport layer to the meter, compact frame expected (wireless)",
        0x85 => "transport layer to the meter, format frame expected (wireless)",
        0x86 => "extended link layer (reserved, wireless)",
        0x87 => "network management data from the meter, long header",
        0x88 => "network management data from the meter, short header",
        0x89 => "network management data from the meter, no header",
        0x8A => "transport layer from the meter without application data, short header (wireless)",
        0x8B => "transport layer from the meter without application data, long header (wireless)",
        0x8C..=0x8F => "extended link layer (wireless)",
        0x90 => "authentication and fragmentation layer (wireless, OMS)",
        0x91..=0x9D => "reserved",
        0x9E => "specific usage, short header",
        0x9F => "specific usage, long header",
        0xA0..=0xB7 => "manufacturer specific",
        0xB8..=0xBF => "baud rate switch",
        0xC0 => "image transfer command to the meter",
        0xC1 => "image transfer response, short header",
        0xC2 => "image transfer response, long header",
        0xC3 => "security information transfer to the meter",
        0xC4 => "security information transfer response, short header",
        0xC5 => "security information transfer response, long header",
        0xC6..=0xFF => "reserved",
    }
}

/// Who sends `ci`.
pub fn direction(ci: u8) -> CiDirection {
    match ci {
        0x50..=0x56 | 0x5A..=0x5C | 0x5F..=0x65 | 0x6C | 0x6D | 0x80 | 0x82..=0x85 => {
            CiDirection::ToMeter
        }
        0xB8..=0xBF | 0xC0 | 0xC3 => CiDirection::ToMeter,
        0x66..=0x6B | 0x6E..=0x7F | 0x87..=0x8B | 0xC1 | 0xC2 | 0xC4 | 0xC5 => {
            CiDirection::FromMeter
        }
        _ => CiDirection::Either,
    }
}

/// The baud rate a CI `B8`–`BF` switches to.
pub fn baud_rate(ci: u8) -> Option<u32> {
    match ci {
        0xB8..=0xBF => Some(300 << (ci - 0xB8)),
        _ => None,
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn every_ci_is_named() {
        for ci in 0..=255u8 {
            assert!(!describe(ci).is_empty());
            assert!(!describe(ci).contains("unknown"), "CI 0x{ci:02X}");
        }
        assert_eq!(describe(0x8C), "extended link layer (wireless)");
        assert_eq!(direction(0x52), CiDirection::ToMeter);
        assert_eq!(direction(0x72), CiDirection::FromMeter);
        assert_eq!(direction(0xA5), CiDirection::Either);
    }

    #[test]
    fn baud_rates() {
        assert_eq!(baud_rate(0xB8), Some(300));
        assert_eq!(baud_rate(0xBB), Some(2400));
        assert_eq!(baud_rate(0xBD), Some(9600));
        assert_eq!(baud_rate(0xBF), Some(38400));
        assert_eq!(baud_rate(0xB7), None);
    }
}
