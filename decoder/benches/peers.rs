//! The reference decoder against the Rust peers on exactly the same telegrams
//! (`cargo bench -p meterlab-decoder --bench peers`; issue #15, goal 1).
//!
//! - **DSMR**: every plain, CRC-verified telegram of `tests/data/dsmr/` that [`dsmr5`] 0.4 reads
//!   completely (its `Readout`, CRC check and every object parsed into its typed value; it knows
//!   DSMR 4/5 objects only). Against it, on the same telegrams, each on its own: ours at the
//!   same depth (parse only: the [`Telegram`] view, its CRC, every object line's view from
//!   `Telegram::objects` with each group read as a timestamp or a number and unit), and
//!   [`DsmrDecoder`] to readings.
//! - **M-Bus, parse only**: every wired corpus frame of `tests/data/mbus/` that both read, against
//!   [`m_bus_parser`] 0.5's allocation-free path (`MbusData::try_from` and every record with its
//!   labels and units, as its own corpus bench consumes them). Ours: the frame view with its
//!   checksum, the header, and every record delimited by the zero-copy
//!   [`meterlab_decoder::mbus::record::RecordIter`] with its quantity (name, unit, exponent:
//!   the peer's labels and units) read from the VIF chain; the data fields stay borrowed bytes,
//!   as the peer's do (the fixed data structure for CI `73`/`77` is decoded). Until 2026-12-04
//!   ours decoded every data field here too (`parse_variable`), more work than the peer's.
//! - **M-Bus, full decode**: the same frames, `m_bus_parser::output::decode_bytes` (its typed
//!   canonical output: exact values, units, manufacturer) against [`MbusDecoder`] to readings.
//! - **DLMS**: the real Kaifa MA309 push of Netz NÖ / EVN (two M-Bus long frames, AES-128-GCM):
//!   [`dlms_cosem`] 0.2 (`mbusparse` frames, decryption, OBIS map) against [`DlmsDecoder`] to
//!   readings, and against ours to the same depth (`meterlab_to_apdu`: frame views, decryption
//!   in place, the data-notification's A-XDR body checked, its arrays and structures zero-copy
//!   views; `meterlab_to_apdu_every_element`: the same, then every element read once, as the
//!   peer's `Data` tree holds them all; no reading).
//!
//! The peers are used as libraries only. After divan's table, `main` times every pair once more
//! in alternating rounds and prints messages per second and the ratio (ours / fastest peer).

use std::hint::black_box;
use std::time::{Duration, Instant};

use divan::Bencher;
use meterlab_decoder::dsmr::convert::is_text_object;
use meterlab_decoder::dsmr::crc::CrcCheck;
use meterlab_decoder::dsmr::telegram::{LineView, Telegram};
use meterlab_decoder::mbus::convert::{split_variable, DATA_OFFSET};
use meterlab_decoder::mbus::fixed::{self, CI_FIXED, CI_FIXED_MSB};
use meterlab_decoder::mbus::frame::Frame;
use meterlab_decoder::mbus::record::{RecordItem, RecordIter};
use meterlab_decoder::{DlmsDecoder, DsmrDecoder, MbusDecoder, Message, StreamDecoder};

#[path = "../tests/common/mod.rs"]
mod common;

// ---------------------------------------------------------------- DSMR

/// dsmr5's whole job on one telegram: the readout buffer, the CRC, every object.
fn dsmr5_decode(telegram: &[u8]) -> Option<usize> {
    let mut buffer = [0u8; 2048];
    buffer.get_mut(..telegram.len())?.copy_from_slice(telegram);
    let readout = dsmr5::Readout { buffer };
    let t = readout.to_telegram().ok()?;
    let mut n = 0;
    for o in t.objects() {
        black_box(o.ok()?);
        n += 1;
    }
    Some(n)
}

/// Ours at dsmr5's depth: the checked telegram view, its CRC, and every object line's view with
/// its OBIS id parsed and each value group read (a timestamp into its fields; otherwise the
/// number to a `Decimal`, the unit borrowed; the text of text objects borrowed). No reading is
/// built.
fn ours_dsmr_parse(telegram: &[u8]) -> Option<usize> {
    let t = Telegram::new_checked(telegram).ok()?;
    if t.check_crc()? != CrcCheck::Arc {
        return None;
    }
    let mut n = 0;
    for line in t.objects() {
        if let LineView::Object(object) = line.ok()? {
            let obis = black_box(object.obis());
            if is_text_object(&obis) {
                // Ids, versions, messages: text, as dsmr5's `OctetString` borrows them.
                black_box(object.groups().first().as_str());
                n += 1;
                continue;
            }
            for group in object.groups() {
                match group.timestamp() {
                    Some(ts) => {
                        black_box(ts);
                    }
                    None => {
                        black_box(group.number_and_unit());
                    }
                }
            }
            n += 1;
        }
    }
    Some(n)
}

/// Ours to readings: the stream decoder, as `meterlab decode` runs it.
fn ours_dsmr(telegram: &[u8]) -> usize {
    let messages = DsmrDecoder::default().decode_all(telegram);
    messages
        .iter()
        .filter_map(Message::reading)
        .map(|r| r.values.len())
        .sum()
}

/// The corpus telegrams both decoders read completely.
fn dsmr_telegrams() -> Vec<Vec<u8>> {
    let all: Vec<Vec<u8>> = common::corpus()
        .iter()
        .filter(|v| !v.encrypted() && v.crc_match() == Some(true))
        .map(|v| v.bytes.clone())
        .collect();
    let both: Vec<Vec<u8>> = all
        .into_iter()
        .filter(|t| dsmr5_decode(t).is_some() && ours_dsmr(t) > 0)
        .inspect(|t| assert!(ours_dsmr_parse(t).is_some_and(|n| n > 0)))
        .collect();
    assert!(
        both.len() >= 5,
        "only {} DSMR telegrams in common",
        both.len()
    );
    both
}

// ---------------------------------------------------------------- M-Bus

/// m-bus-parser's parse-only path, as its own corpus bench consumes a frame.
fn mbp_parse(frame: &[u8]) -> Option<usize> {
    use m_bus_parser::mbus_data::MbusData;
    use m_bus_parser::WiredFrame;
    let parsed = MbusData::<WiredFrame>::try_from(frame).ok()?;
    if parsed.application_error.is_some() {
        return None;
    }
    black_box(&parsed.frame);
    black_box(&parsed.user_data);
    let mut n = 0;
    if let Some(records) = parsed.data_records {
        for record in records {
            let record = record.ok()?;
            if let Some(info) = record.value_information() {
                for label in info.labels() {
                    black_box(label);
                }
                for unit in info.units() {
                    black_box(unit);
                }
                black_box((info.decimal_scale_exponent, info.decimal_offset_exponent));
            }
            black_box(record);
            n += 1;
        }
    }
    Some(n)
}

/// m-bus-parser's full decode: its typed canonical output.
fn mbp_full(frame: &[u8]) -> Option<usize> {
    let options = m_bus_parser::output::DecodeOptions::default();
    let out = m_bus_parser::output::decode_bytes(frame, &options).ok()?;
    Some(out.records.len())
}

/// Ours, parse only: the checked frame, its header and records, no reading built.
fn ours_mbus_parse(frame: &[u8]) -> Option<usize> {
    let f = Frame::new_checked(frame).ok()?;
    if f.len() != frame.len() || !f.checksum_ok() {
        return None;
    }
    let ci = f.ci()?;
    if ci == CI_FIXED || ci == CI_FIXED_MSB {
        return fixed::decode(ci, f.data()).ok().map(|r| r.values.len());
    }
    let (header, records) = split_variable(ci, f.data()).ok()?;
    black_box(&header);
    black_box(DATA_OFFSET);
    let mut n = 0;
    for item in RecordIter::new(records) {
        if let RecordItem::Record(view) = item.ok()? {
            black_box(view.quantity());
            black_box(view);
            n += 1;
        }
    }
    Some(n)
}

/// Ours, full decode: the stream decoder to readings.
fn ours_mbus_full(frame: &[u8]) -> usize {
    MbusDecoder::new()
        .decode_all(frame)
        .iter()
        .filter_map(Message::reading)
        .map(|r| r.values.len())
        .sum()
}

/// The wired corpus frames (RSP_UD with data) that every decoder of the comparison reads.
fn mbus_frames() -> Vec<Vec<u8>> {
    let both: Vec<Vec<u8>> = common::mbus_frames()
        .iter()
        .filter(|f| {
            mbp_parse(f).is_some_and(|n| n > 0)
                && mbp_full(f).is_some()
                && ours_mbus_parse(f).is_some()
                && ours_mbus_full(f) > 0
        })
        .cloned()
        .collect();
    assert!(
        both.len() >= 10,
        "only {} M-Bus frames in common",
        both.len()
    );
    both
}

// ---------------------------------------------------------------- DLMS

const KAIFA_EVN: &str = "evn_netznoe_kaifa_ma309_real_2022";

struct Kaifa {
    bytes: Vec<u8>,
    keys: meterlab_decoder::Keys,
    key: [u8; 16],
}

fn kaifa() -> Kaifa {
    let v = common::dlms_vector(KAIFA_EVN);
    let hex_key = v.str(&["key_hex"]).expect("key");
    let key: [u8; 16] = hex::decode(hex_key)
        .expect("hex key")
        .try_into()
        .expect("16-byte key");
    Kaifa {
        bytes: glo_length_in_two_bytes(&v.bytes),
        keys: v.keys(),
        key,
    }
}

/// The same push with the general-glo-ciphering length `81 F8` sent as `82 00 F8` (BER allows
/// both; dlms_cosem 0.2 reads only the two-byte form and panics on the other): one byte more in
/// the first M-Bus frame, whose length and checksum follow. The content is unchanged.
fn glo_length_in_two_bytes(push: &[u8]) -> Vec<u8> {
    // 68 L L 68 C A CI STSAP DTSAP DB 08 <system title 8> 81 F8 ...
    const AT: usize = 19;
    assert_eq!(
        (push[0], push[9], push[10], push[AT]),
        (0x68, 0xDB, 0x08, 0x81)
    );
    let len = usize::from(push[1]);
    let first = 4 + len + 2;
    let mut frame = push[..first].to_vec();
    frame.splice(AT..=AT, [0x82, 0x00]);
    let new_len = u8::try_from(len + 1).expect("frame stays a long frame");
    frame[1] = new_len;
    frame[2] = new_len;
    let sum = frame[4..4 + len + 1]
        .iter()
        .fold(0u8, |s, &b| s.wrapping_add(b));
    let n = frame.len();
    frame[n - 2] = sum;
    frame.extend_from_slice(&push[first..]);
    frame
}

/// dlms_cosem's job on the push: the M-Bus frames (`mbusparse`), the segments' user data
/// joined as its `Dlms::decrypt` joins them (after CI, STSAP and DTSAP), decryption and the APDU
/// (`Apdu::parse_encrypted`), then its OBIS map. The map fails on this layout (the body is a flat
/// structure led by the clock, where dlms_cosem expects one structure per register), so the peer
/// is timed on less work than ours (its parsed `Data` tree, no readings); `Some` when the APDU parsed.
fn dlms_cosem_decode(bytes: &[u8], key: &[u8; 16]) -> Option<usize> {
    let mut payload = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let (r, t) = mbusparse::Telegram::parse(rest).ok()?;
        let mbusparse::Telegram::LongFrame { user_data, .. } = t else {
            return None;
        };
        payload.extend_from_slice(user_data.get(2..)?);
        rest = r;
    }
    let key = (*key).into();
    let (_, apdu) = dlms_cosem::Apdu::parse_encrypted(&payload, &key).ok()?;
    let map = dlms_cosem::ObisMap::parse(&apdu).ok().map(|(_, m)| m.len());
    black_box(map);
    black_box(apdu);
    Some(1)
}

/// Ours, to the parsed APDU as the peer goes: the M-Bus frame views (checksums checked), the
/// general-glo-ciphering view, decryption in place (the joined segments become the plaintext:
/// no second copy) and the data-notification with its A-XDR body checked to its last byte
/// (since 2026-12-05 arrays and structures are zero-copy views whose elements are read on
/// demand, `axdr::Elements`; before, a `Vec` per structure), no reading built. With `read_all`
/// every element of the body is then read once, as the peer's `Data` tree holds them all.
fn ours_dlms_parse_with(
    bytes: &[u8],
    keys: &meterlab_decoder::Keys,
    read_all: bool,
) -> Option<usize> {
    use meterlab_decoder::dlms::apdu::DataNotification;
    use meterlab_decoder::dlms::ciphering::GeneralGloCiphering;
    let mut payload = Vec::with_capacity(bytes.len());
    let mut rest = bytes;
    while !rest.is_empty() {
        let f = Frame::new_checked(rest).ok()?;
        if !f.checksum_ok() {
            return None;
        }
        payload.extend_from_slice(f.data().get(2..)?);
        rest = rest.get(f.len()..)?;
    }
    let mut glo = GeneralGloCiphering::new_checked(&mut payload[..]).ok()?;
    let plain = glo.decrypt_in_place(keys).ok()?;
    let notification = DataNotification::parse_exact(plain).ok()?;
    if read_all {
        black_box(read_every_element(&notification.body));
    }
    black_box(&notification);
    Some(1)
}

fn ours_dlms_parse(bytes: &[u8], keys: &meterlab_decoder::Keys) -> Option<usize> {
    ours_dlms_parse_with(bytes, keys, false)
}

/// Reads every element of a `Data` (nested ones included); returns how many.
fn read_every_element(data: &meterlab_decoder::dlms::Data<'_>) -> usize {
    match data.elements() {
        Some(items) => {
            items
                .iter()
                .map(|item| read_every_element(&item))
                .sum::<usize>()
                + 1
        }
        None => {
            black_box(data);
            1
        }
    }
}

fn ours_dlms(bytes: &[u8], keys: &meterlab_decoder::Keys) -> usize {
    DlmsDecoder::new(keys.clone())
        .decode_all(bytes)
        .iter()
        .filter_map(Message::reading)
        .map(|r| r.values.len())
        .sum()
}

// ---------------------------------------------------------------- divan

mod dsmr {
    use super::*;

    #[divan::bench]
    fn dsmr5_0_4(bencher: Bencher) {
        let ts = dsmr_telegrams();
        bencher.bench(|| {
            ts.iter()
                .filter_map(|t| dsmr5_decode(black_box(t)))
                .sum::<usize>()
        });
    }

    /// Ours at the peer's depth: views, CRC, every value parsed.
    #[divan::bench]
    fn meterlab_parse_only(bencher: Bencher) {
        let ts = dsmr_telegrams();
        bencher.bench(|| {
            ts.iter()
                .filter_map(|t| ours_dsmr_parse(black_box(t)))
                .sum::<usize>()
        });
    }

    /// Ours to readings, as `meterlab decode` runs it.
    #[divan::bench]
    fn meterlab_to_readings(bencher: Bencher) {
        let ts = dsmr_telegrams();
        bencher.bench(|| ts.iter().map(|t| ours_dsmr(black_box(t))).sum::<usize>());
    }
}

mod mbus_parse_only {
    use super::*;

    #[divan::bench]
    fn m_bus_parser_0_5(bencher: Bencher) {
        let fs = mbus_frames();
        bencher.bench(|| {
            fs.iter()
                .filter_map(|f| mbp_parse(black_box(f)))
                .sum::<usize>()
        });
    }

    #[divan::bench]
    fn meterlab(bencher: Bencher) {
        let fs = mbus_frames();
        bencher.bench(|| {
            fs.iter()
                .filter_map(|f| ours_mbus_parse(black_box(f)))
                .sum::<usize>()
        });
    }
}

mod mbus_full_decode {
    use super::*;

    #[divan::bench]
    fn m_bus_parser_0_5(bencher: Bencher) {
        let fs = mbus_frames();
        bencher.bench(|| {
            fs.iter()
                .filter_map(|f| mbp_full(black_box(f)))
                .sum::<usize>()
        });
    }

    #[divan::bench]
    fn meterlab(bencher: Bencher) {
        let fs = mbus_frames();
        bencher.bench(|| {
            fs.iter()
                .map(|f| ours_mbus_full(black_box(f)))
                .sum::<usize>()
        });
    }
}

mod dlms_kaifa_evn {
    use super::*;

    #[divan::bench]
    fn dlms_cosem_0_2(bencher: Bencher) {
        let k = kaifa();
        bencher.bench(|| dlms_cosem_decode(black_box(&k.bytes), &k.key));
    }

    #[divan::bench]
    fn meterlab(bencher: Bencher) {
        let k = kaifa();
        bencher.bench(|| ours_dlms(black_box(&k.bytes), &k.keys));
    }

    /// Ours to the parsed APDU only, the same depth as the peer's.
    #[divan::bench]
    fn meterlab_to_apdu(bencher: Bencher) {
        let k = kaifa();
        bencher.bench(|| ours_dlms_parse(black_box(&k.bytes), &k.keys));
    }

    /// Ours to the parsed APDU, every element of its body then read once.
    #[divan::bench]
    fn meterlab_to_apdu_every_element(bencher: Bencher) {
        let k = kaifa();
        bencher.bench(|| ours_dlms_parse_with(black_box(&k.bytes), &k.keys, true));
    }
}

// ---------------------------------------------------------------- ratios

/// Messages per second of `f` (which handles `per_call` messages), best of `rounds` rounds of
/// about `slice` each.
fn rate(per_call: usize, slice: Duration, f: &mut dyn FnMut()) -> f64 {
    let start = Instant::now();
    let mut calls = 0u64;
    while start.elapsed() < slice {
        for _ in 0..16 {
            f();
        }
        calls += 16;
    }
    (calls as f64 * per_call as f64) / start.elapsed().as_secs_f64()
}

/// Times `ours` and `peer` in alternating rounds and prints the best rate of each and the ratio.
fn compare(name: &str, per_call: usize, ours: &mut dyn FnMut(), peer: &mut dyn FnMut()) {
    let (mut best_ours, mut best_peer) = (0f64, 0f64);
    let slice = Duration::from_millis(150);
    for _ in 0..6 {
        best_ours = best_ours.max(rate(per_call, slice, ours));
        best_peer = best_peer.max(rate(per_call, slice, peer));
    }
    println!(
        "{name:<22} meterlab {:>10.0}/s   peer {:>10.0}/s   ratio {:>5.2}x",
        best_ours,
        best_peer,
        best_ours / best_peer
    );
}

/// [`compare`] of `ours` and `peer` applied to each of `items` in turn.
fn compare_each<A, B>(name: &str, items: &[Vec<u8>], ours: fn(&[u8]) -> A, peer: fn(&[u8]) -> B) {
    compare(
        name,
        items.len(),
        &mut || {
            for i in items {
                black_box(ours(black_box(i)));
            }
        },
        &mut || {
            for i in items {
                black_box(peer(black_box(i)));
            }
        },
    );
}

fn ratios() {
    println!("\nSame telegrams, best of 6 alternating rounds (messages per second):");
    let ts = dsmr_telegrams();
    let n = ts.len();
    compare_each(
        &format!("DSMR parse ({n} tel.)"),
        &ts,
        ours_dsmr_parse,
        dsmr5_decode,
    );
    compare_each(
        &format!("DSMR readings ({n} t.)"),
        &ts,
        ours_dsmr,
        dsmr5_decode,
    );
    let fs = mbus_frames();
    let n = fs.len();
    compare_each(
        &format!("M-Bus parse ({n} fr.)"),
        &fs,
        ours_mbus_parse,
        mbp_parse,
    );
    compare_each(
        &format!("M-Bus full ({n} fr.)"),
        &fs,
        ours_mbus_full,
        mbp_full,
    );
    let k = kaifa();
    compare(
        "DLMS Kaifa EVN push",
        1,
        &mut || {
            black_box(ours_dlms(black_box(&k.bytes), &k.keys));
        },
        &mut || {
            black_box(dlms_cosem_decode(black_box(&k.bytes), &k.key));
        },
    );
    compare(
        "DLMS EVN to the APDU",
        1,
        &mut || {
            black_box(ours_dlms_parse(black_box(&k.bytes), &k.keys));
        },
        &mut || {
            black_box(dlms_cosem_decode(black_box(&k.bytes), &k.key));
        },
    );
    compare(
        "DLMS APDU, all read",
        1,
        &mut || {
            black_box(ours_dlms_parse_with(black_box(&k.bytes), &k.keys, true));
        },
        &mut || {
            black_box(dlms_cosem_decode(black_box(&k.bytes), &k.key));
        },
    );
    println!(
        "\nAt the peer's depth (issue #15, goal 1: 2x): DSMR parse, M-Bus parse, M-Bus full, \
         DLMS APDU all read.\nDSMR readings and DLMS Kaifa EVN push go further than the peer \
         (a reading: a Value per register); DLMS EVN to the APDU stops short of it (the body is \
         checked, not read)."
    );
}

/// `METERLAB_PEERS_PROFILE=ROW`: runs only ours on one row for about four seconds, no timing,
/// for a profiler (`perf record`, `valgrind --tool=callgrind`): `dsmr` (to readings),
/// `dsmr-parse`, `mbus` (full), `mbus-parse`, `dlms` (to the reading), `dlms-apdu`, `dlms-all`.
fn profile(row: &str) {
    fn consume<T>(t: T) {
        black_box(t);
    }
    let (ts, fs, k) = (dsmr_telegrams(), mbus_frames(), kaifa());
    let mut run: Box<dyn FnMut()> = match row {
        "dsmr" => Box::new(|| ts.iter().for_each(|t| consume(black_box(ours_dsmr(t))))),
        "dsmr-parse" => Box::new(|| {
            ts.iter()
                .for_each(|t| consume(black_box(ours_dsmr_parse(t))))
        }),
        "mbus" => Box::new(|| {
            fs.iter()
                .for_each(|f| consume(black_box(ours_mbus_full(f))))
        }),
        "mbus-parse" => Box::new(|| {
            fs.iter()
                .for_each(|f| consume(black_box(ours_mbus_parse(f))))
        }),
        "dlms" => Box::new(|| consume(black_box(ours_dlms(black_box(&k.bytes), &k.keys)))),
        "dlms-apdu" => {
            Box::new(|| consume(black_box(ours_dlms_parse(black_box(&k.bytes), &k.keys))))
        }
        "dlms-all" => Box::new(|| {
            consume(black_box(ours_dlms_parse_with(
                black_box(&k.bytes),
                &k.keys,
                true,
            )))
        }),
        other => panic!("METERLAB_PEERS_PROFILE: no row {other:?}"),
    };
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(4) {
        run();
    }
}

fn main() {
    if let Ok(which) = std::env::var("METERLAB_PEERS_PROFILE") {
        profile(&which);
        return;
    }
    // Both sides must read the same data before anything is timed.
    let k = kaifa();
    let (theirs, ours) = (
        dlms_cosem_decode(&k.bytes, &k.key),
        ours_dlms(&k.bytes, &k.keys),
    );
    assert!(
        theirs.is_some_and(|n| n > 0) && ours > 0,
        "{theirs:?} {ours}"
    );
    assert_eq!(ours_dlms_parse(&k.bytes, &k.keys), Some(1));
    assert_eq!(ours_dlms_parse_with(&k.bytes, &k.keys, true), Some(1));
    divan::main();
    // `cargo test --benches` runs this binary with `--test`: skip the timing then.
    if !std::env::args().any(|a| a == "--test") {
        ratios();
    }
}
