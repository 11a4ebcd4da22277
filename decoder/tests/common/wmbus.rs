//! The wireless M-Bus corpus (`tests/data/mbus/wireless/`) and the framings receiver sticks put
//! telegrams in (wmbus.md §3), built here from the bare CRC-free frames: format A and B CRCs,
//! iM871A HCI, AMB8465 command mode, CUL lines, rtl_wmbus lines.

use meterlab_decoder::crc::{crc16_en13757, crc16_x25};
use meterlab_decoder::Keys;
use serde_yaml::Value as Yaml;

/// One wireless corpus telegram with a link header.
pub struct Telegram {
    /// `dir/stem`.
    pub name: String,
    /// The CRC-free frame (L = bytes after L); trailing bytes beyond L cut off.
    pub frame: Vec<u8>,
    /// Its published key, if any.
    pub keys: Keys,
}

/// Every wireless corpus telegram that has a link header, CRC-free (the format B SensoStar
/// frame's CRCs removed), sorted by name.
pub fn telegrams() -> Vec<Telegram> {
    let mut out = Vec::new();
    for dir in ["jmbus", "m-bus-parser", "wmbusmeters"] {
        for path in super::yaml_files(&format!("mbus/wireless/{dir}")) {
            let text = std::fs::read_to_string(&path).expect("read");
            let doc: Yaml = serde_yaml::from_str(&text).expect("yaml");
            if doc.get("hex_scope").is_some() {
                continue;
            }
            let mut frame = hex::decode(doc["hex"].as_str().expect("hex")).expect("hex");
            if doc["notes"]
                .as_str()
                .is_some_and(|n| n.contains("FRAME FORMAT B"))
            {
                frame = strip_format_b(&frame);
            }
            frame.truncate(usize::from(frame[0]) + 1);
            out.push(Telegram {
                name: format!(
                    "{dir}/{}",
                    path.file_stem().expect("stem").to_string_lossy()
                ),
                frame,
                keys: Keys {
                    encryption: doc["key_hex"].as_str().map(|k| k.parse().expect("key")),
                    authentication: None,
                },
            });
        }
    }
    out
}

fn strip_format_b(b: &[u8]) -> Vec<u8> {
    let total = usize::from(b[0]) + 1;
    let mut out = if total > 128 {
        let mut v = b[..126].to_vec();
        v.extend_from_slice(&b[128..total - 2]);
        v
    } else {
        b[..total - 2].to_vec()
    };
    out[0] = (out.len() - 1) as u8;
    out
}

fn push_crc(out: &mut Vec<u8>, from: usize) {
    let crc = crc16_en13757(&out[from..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// The frame with its format A block CRCs.
pub fn format_a(frame: &[u8]) -> Vec<u8> {
    let mut out = frame[..10].to_vec();
    push_crc(&mut out, 0);
    for block in frame[10..].chunks(16) {
        let start = out.len();
        out.extend_from_slice(block);
        push_crc(&mut out, start);
    }
    out
}

/// The frame with its format B CRCs (L counts them).
pub fn format_b(frame: &[u8]) -> Vec<u8> {
    let data = &frame[1..];
    if data.len() + 3 <= 128 {
        let mut out = vec![(data.len() + 2) as u8];
        out.extend_from_slice(data);
        push_crc(&mut out, 0);
        out
    } else {
        let mut out = vec![(data.len() + 4) as u8];
        out.extend_from_slice(&data[..125]);
        push_crc(&mut out, 0);
        let start = out.len();
        out.extend_from_slice(&data[125..]);
        push_crc(&mut out, start);
        out
    }
}

/// An iM871A WMBUSMSG_IND with RSSI, and with FCS when `fcs`.
pub fn im871a(frame: &[u8], fcs: bool) -> Vec<u8> {
    let ctrl = if fcs { 0xC0 } else { 0x40 };
    let mut out = vec![0xA5, ctrl | 0x02, 0x03, frame[0]];
    out.extend_from_slice(&frame[1..]);
    out.push(0xC8);
    if fcs {
        let f = crc16_x25(&out[1..]);
        out.extend_from_slice(&f.to_le_bytes());
    }
    out
}

/// An AMB8465 DATA_IND with RSSI.
pub fn amb8465(frame: &[u8]) -> Vec<u8> {
    let mut out = vec![0xFF, 0x03, frame[0] + 1];
    out.extend_from_slice(&frame[1..]);
    out.push(0xB0);
    let cs = out.iter().fold(0u8, |x, &c| x ^ c);
    out.push(cs);
    out
}

/// A CUL line: format A (`b`) or B (`bY`) with CRCs, LQI and RSSI.
pub fn cul(frame: &[u8], format_b_frame: bool) -> Vec<u8> {
    let (prefix, body) = if format_b_frame {
        ("bY", format_b(frame))
    } else {
        ("b", format_a(frame))
    };
    format!("{prefix}{}2FC8\r\n", hex::encode_upper(body)).into_bytes()
}

/// An rtl_wmbus line.
pub fn rtlwmbus(frame: &[u8]) -> Vec<u8> {
    let id: String = frame[4..8]
        .iter()
        .rev()
        .map(|b| format!("{b:02X}"))
        .collect();
    format!(
        "T1;1;1;2019-04-03 19:00:42.000;97;148;{id};0x{}\n",
        hex::encode_upper(frame)
    )
    .into_bytes()
}
