//! The wired M-Bus slaves driven through the `Meter` trait as the session drives them: one call
//! per character of the master with that character's completion time. Frames, checksums and
//! records are checked here with the test's own small reader (never the decoder's), and every
//! record's bytes are compared with the value the slave's truth says it encodes.

use meterlab_decoder::{Decimal, Protocol, Reading, Scalar, Value};
use meterlab_sim::line::UartConfig;
use meterlab_sim::mbus::{self, MbusBus, MbusSlave};
use meterlab_sim::{Emission, Meter, MeterSpec, Seed};

const MS: u64 = 1_000_000;

fn uart(baud: u32) -> UartConfig {
    UartConfig::new(baud, "8E1").expect("uart")
}

/// The master's frames, built here independently of the simulator.
fn short(c: u8, a: u8) -> Vec<u8> {
    vec![0x10, c, a, c.wrapping_add(a), 0x16]
}

fn long(c: u8, a: u8, ci: u8, data: &[u8]) -> Vec<u8> {
    let l = 3 + data.len() as u8;
    let mut f = vec![0x68, l, l, 0x68, c, a, ci];
    f.extend_from_slice(data);
    let cs = f[4..].iter().fold(0u8, |s, &b| s.wrapping_add(b));
    f.extend([cs, 0x16]);
    f
}

fn snd_nke(a: u8) -> Vec<u8> {
    short(0x40, a)
}

fn req_ud2(a: u8, fcb: bool) -> Vec<u8> {
    short(if fcb { 0x7B } else { 0x5B }, a)
}

fn select(pattern: [u8; 8]) -> Vec<u8> {
    long(0x53, 0xFD, 0x52, &pattern)
}

/// Sends `bytes` back to back from `t0` at `baud`, one `receive` per character with its
/// completion time; returns the replies and the last character's completion time.
fn send(m: &mut dyn Meter, t0: u64, bytes: &[u8], baud: u32) -> (Vec<Emission>, u64) {
    let char_ns = uart(baud).char_time_ns();
    let mut out = Vec::new();
    let mut last = t0;
    for (i, &b) in bytes.iter().enumerate() {
        last = t0 + ((i + 1) as f64 * char_ns).round() as u64;
        out.extend(m.receive(last, &[b]));
    }
    (out, last)
}

/// One exchange at 2400 Bd starting at `t0`.
fn ask(m: &mut dyn Meter, t0: u64, bytes: &[u8]) -> (Vec<Emission>, u64) {
    send(m, t0, bytes, 2400)
}

/// A long frame checked independently: both L fields, the length, the checksum recomputed, the
/// stop byte. Returns (C, A, CI, data).
fn check_frame(bytes: &[u8]) -> (u8, u8, u8, Vec<u8>) {
    assert_eq!(bytes[0], 0x68, "start");
    assert_eq!(bytes[3], 0x68, "second start");
    assert_eq!(bytes[1], bytes[2], "L fields equal");
    let l = usize::from(bytes[1]);
    assert_eq!(bytes.len(), l + 6, "L matches the frame");
    let sum = bytes[4..4 + l].iter().fold(0u8, |s, &b| s.wrapping_add(b));
    assert_eq!(bytes[4 + l], sum, "checksum");
    assert_eq!(bytes[5 + l], 0x16, "stop byte");
    (bytes[4], bytes[5], bytes[6], bytes[7..4 + l].to_vec())
}

fn spec(profile: &str) -> MeterSpec {
    MeterSpec::new(profile)
}

fn slave(s: &MeterSpec, seed: u64) -> Box<dyn Meter> {
    s.build(Seed(seed)).expect("valid spec")
}

fn heat(address: u8, id: &str) -> MeterSpec {
    spec("mbus-heat")
        .with("primary_address", address)
        .with("secondary_id", id)
}

/// The single reply, which must be an `E5` without truth.
fn assert_ack(replies: &[Emission]) {
    assert_eq!(replies.len(), 1, "one reply: {replies:?}");
    assert_eq!(replies[0].bytes, [0xE5]);
    assert!(replies[0].truth.is_empty(), "E5 carries no truth");
}

/// The single reply, an RSP_UD: its frame parts and its reading.
fn rsp_ud(replies: &[Emission]) -> (u8, u8, Vec<u8>, Reading) {
    assert_eq!(replies.len(), 1, "one reply: {replies:?}");
    let (c, a, ci, data) = check_frame(&replies[0].bytes);
    assert_eq!(c, 0x08, "RSP_UD");
    assert_eq!(replies[0].truth.len(), 1, "one reading");
    (a, ci, data, replies[0].truth[0].clone())
}

fn number(v: &Value) -> Decimal {
    match &v.value {
        Scalar::Number(d) => *d,
        Scalar::Text(t) => panic!("{}: a number, not {t:?}", v.id),
    }
}

/// A data record as the test reads it.
#[derive(Clone, Debug)]
struct Rec {
    dif: u8,
    difes: Vec<u8>,
    vib: Vec<u8>,
    data: Vec<u8>,
}

/// Splits variable data into records and the manufacturer tail (`0F`/`1F` and its bytes).
fn walk(mut d: &[u8]) -> (Vec<Rec>, Option<(u8, Vec<u8>)>) {
    let mut recs = Vec::new();
    while let Some(&dif) = d.first() {
        d = &d[1..];
        if dif == 0x2F {
            continue;
        }
        if dif == 0x0F || dif == 0x1F {
            return (recs, Some((dif, d.to_vec())));
        }
        let mut difes = Vec::new();
        let mut ext = dif & 0x80 != 0;
        while ext {
            difes.push(d[0]);
            ext = d[0] & 0x80 != 0;
            d = &d[1..];
        }
        let mut vib = vec![d[0]];
        d = &d[1..];
        if matches!(vib[0], 0xFB | 0xFD) {
            vib.push(d[0]);
            d = &d[1..];
        }
        while vib[vib.len() - 1] & 0x80 != 0 {
            vib.push(d[0]);
            d = &d[1..];
        }
        let len = match dif & 0x0F {
            0xD => {
                let n = usize::from(d[0]);
                assert!(n <= 0xBF, "only ASCII LVAR here");
                n + 1
            }
            c => [0, 1, 2, 3, 4, 4, 6, 8, 0, 1, 2, 3, 4, 0, 6, 0][usize::from(c)],
        };
        recs.push(Rec {
            dif,
            difes,
            vib,
            data: d[..len].to_vec(),
        });
        d = &d[len..];
    }
    (recs, None)
}

impl Rec {
    fn code(&self) -> u8 {
        self.dif & 0x0F
    }
    fn storage(&self) -> u64 {
        let mut s = u64::from(self.dif >> 6 & 1);
        for (i, d) in self.difes.iter().enumerate() {
            s |= u64::from(d & 0x0F) << (1 + 4 * i);
        }
        s
    }
    fn tariff(&self) -> u32 {
        self.difes
            .iter()
            .enumerate()
            .map(|(i, d)| u32::from(d >> 4 & 3) << (2 * i))
            .sum()
    }
    fn subunit(&self) -> u32 {
        self.difes
            .iter()
            .enumerate()
            .map(|(i, d)| u32::from(d >> 6 & 1) << i)
            .sum()
    }
    fn function(&self) -> &'static str {
        ["instantaneous", "maximum", "minimum", "error"][usize::from(self.dif >> 4 & 3)]
    }
    /// The VIF code without extension bit, or `FB`/`FD` then the code.
    fn vif(&self) -> (u8, u8) {
        match self.vib[0] {
            0xFB | 0xFD => (self.vib[0], self.vib[1] & 0x7F),
            v => (0, v & 0x7F),
        }
    }
    fn vifes(&self) -> Vec<u8> {
        let skip = if matches!(self.vib[0], 0xFB | 0xFD) {
            2
        } else {
            1
        };
        self.vib[skip..].iter().map(|v| v & 0x7F).collect()
    }
}

/// What the test knows of the VIFs the profiles use: quantity, unit, power of ten or
/// multiplier (libmbus's normalized names, from the corpus).
fn meaning(table: u8, code: u8) -> (&'static str, Option<&'static str>, i32, i128) {
    match (table, code) {
        (0, 0x03) => ("Energy", Some("Wh"), 0, 1),
        (0, 0x06) => ("Energy", Some("Wh"), 3, 1),
        (0, 0x13) => ("Volume", Some("m^3"), -3, 1),
        (0, 0x14) => ("Volume", Some("m^3"), -2, 1),
        (0, 0x16) => ("Volume", Some("m^3"), 0, 1),
        (0, 0x22) => ("On time", Some("s"), 0, 3600),
        (0, 0x2B) => ("Power", Some("W"), 0, 1),
        (0, 0x3B) => ("Volume flow", Some("m^3/h"), -3, 1),
        (0, 0x3E) => ("Volume flow", Some("m^3/h"), 0, 1),
        (0, 0x5A) => ("Flow temperature", Some("°C"), -1, 1),
        (0, 0x5E) => ("Return temperature", Some("°C"), -1, 1),
        (0, 0x61) => ("Temperature difference", Some("K"), -2, 1),
        (0, 0x6C) => ("Time point (date)", None, 0, 1),
        (0, 0x6D) => ("Time point (date & time)", None, 0, 1),
        (0, 0x78) => ("Fabrication No", None, 0, 1),
        (0xFB, 0x00) => ("Energy", Some("Wh"), 5, 1),
        (0xFD, 0x0E) => ("Firmware version", None, 0, 1),
        (0xFD, 0x0F) => ("Software version", None, 0, 1),
        (0xFD, 0x11) => ("Customer", None, 0, 1),
        (0xFD, 0x17) => ("Error flags", None, 0, 1),
        (0xFD, 0x1B) => ("Digital Input", None, 0, 1),
        (0xFD, 0x48) => ("Voltage", Some("V"), -1, 1),
        (0xFD, 0x59) => ("Current", Some("A"), -3, 1),
        other => panic!("a VIF the test does not know: {other:02X?}"),
    }
}

fn bcd(bytes: &[u8]) -> i128 {
    let mut nibbles: Vec<u8> = bytes.iter().flat_map(|b| [b & 0x0F, b >> 4]).collect();
    let negative = nibbles.last() == Some(&0xF);
    if negative {
        nibbles.pop();
    }
    let v = nibbles.iter().rev().fold(0i128, |v, &n| {
        assert!(n < 10, "BCD digit");
        v * 10 + i128::from(n)
    });
    if negative {
        -v
    } else {
        v
    }
}

fn int_le(bytes: &[u8]) -> i128 {
    let mut v = bytes
        .iter()
        .rev()
        .fold(0i128, |v, &b| (v << 8) | i128::from(b));
    let bits = 8 * bytes.len();
    if bytes.last().is_some_and(|b| b & 0x80 != 0) {
        v -= 1i128 << bits;
    }
    v
}

/// What a record's bytes say, as a reading value (the test's own reading of the codings).
fn read_value(r: &Rec, msb_first: bool) -> (Scalar, Option<&'static str>, &'static str) {
    let (table, code) = r.vif();
    let (quantity, unit, mut exp, mult) = meaning(table, code);
    for v in r.vifes() {
        if (0x70..=0x77).contains(&v) {
            exp += i32::from(v & 7) - 6;
        }
    }
    let mut data = r.data.clone();
    if r.code() == 0xD {
        let mut text = data.split_off(1);
        if !msb_first {
            text.reverse();
        }
        return (
            Scalar::Text(String::from_utf8(text).expect("ASCII")),
            None,
            quantity,
        );
    }
    if msb_first {
        data.reverse();
    }
    let raw = match (r.code(), code, table) {
        (0x2, 0x6C, 0) => {
            let (day, month) = (data[0] & 0x1F, data[1] & 0x0F);
            let year = 2000 + u32::from((data[0] >> 5) | ((data[1] >> 4) << 3));
            return (
                Scalar::Text(format!("{year:04}-{month:02}-{day:02}")),
                None,
                quantity,
            );
        }
        (0x4, 0x6D, 0) => {
            let (minute, hour) = (data[0] & 0x3F, data[1] & 0x1F);
            let hy = u32::from((data[1] >> 5) & 3);
            let (day, month) = (data[2] & 0x1F, data[3] & 0x0F);
            let yy = u32::from((data[2] >> 5) | ((data[3] >> 4) << 3));
            assert_eq!(hy, 1, "hundred-year 1 for 20yy");
            let year = 1900 + 100 * hy + yy;
            return (
                Scalar::Text(format!(
                    "{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}"
                )),
                None,
                quantity,
            );
        }
        (0x5, _, _) => {
            let f = f32::from_le_bytes([data[0], data[1], data[2], data[3]]);
            let d = Decimal::from_f64(f64::from(f)).expect("finite");
            return (Scalar::Number(d.scaled(exp)), unit, quantity);
        }
        (0x9 | 0xA | 0xB | 0xC | 0xE, _, _) => bcd(&data),
        (0x1 | 0x2 | 0x3 | 0x4 | 0x6 | 0x7, _, _) => int_le(&data),
        other => panic!("a coding the test does not know: {other:02X?}"),
    };
    (
        Scalar::Number(Decimal::new(raw * mult, exp)),
        unit,
        quantity,
    )
}

/// Checks a whole RSP_UD reading against its bytes: header, one value per record with matching
/// details and value, the manufacturer tail; returns the records.
fn check_reading(ci: u8, data: &[u8], reading: &Reading) -> (Vec<Rec>, Option<(u8, Vec<u8>)>) {
    assert_eq!(reading.protocol, Protocol::Mbus);
    assert_eq!(reading.time, None);
    let msb = ci == 0x76;
    let (body, header_values) = if ci == 0x78 {
        assert_eq!(reading.meter_id, None, "no header, no meter id");
        (data, 0)
    } else {
        let mut id = data[..4].to_vec();
        let mut man = [data[4], data[5]];
        if msb {
            id.reverse();
            man.reverse();
        }
        let digits: String = id.iter().rev().map(|b| format!("{b:02X}")).collect();
        assert_eq!(reading.meter_id.as_deref(), Some(digits.as_str()));
        let m = u16::from_le_bytes(man) & 0x7FFF;
        let letters: String = [10, 5, 0]
            .iter()
            .map(|s| char::from(((m >> s) & 0x1F) as u8 + 64))
            .collect();
        let want = [
            Value::text("header.manufacturer", letters),
            Value::number("header.version", Decimal::from_int(data[6].into()), None),
            Value::number("header.medium", Decimal::from_int(data[7].into()), None),
            Value::number(
                "header.access_number",
                Decimal::from_int(data[8].into()),
                None,
            ),
            Value::number("header.status", Decimal::from_int(data[9].into()), None),
        ];
        assert_eq!(reading.values[..5], want);
        (&data[12..], 5)
    };
    let (recs, tail) = walk(body);
    let values = &reading.values[header_values..];
    let expected = recs.len() + usize::from(tail.is_some());
    assert_eq!(values.len(), expected, "one value per record");
    for (i, (r, v)) in recs.iter().zip(values).enumerate() {
        assert_eq!(v.id, format!("#{i}"));
        let (value, unit, quantity) = read_value(r, msb);
        assert_eq!(v.value, value, "#{i} {r:02X?}");
        assert_eq!(v.unit.as_deref(), unit, "#{i}");
        assert_eq!(v.quantity(), Some(quantity), "#{i}");
        assert_eq!(v.function(), Some(r.function()), "#{i}");
        assert_eq!(v.storage(), Some(r.storage()), "#{i}");
        assert_eq!(v.tariff(), Some(r.tariff()), "#{i}");
        assert_eq!(v.subunit(), Some(r.subunit()), "#{i}");
    }
    if let Some((_, bytes)) = &tail {
        let v = &values[recs.len()];
        let hex: String = bytes.iter().map(|b| format!("{b:02X}")).collect();
        // Named by the frame offset of its first byte: `68 L L 68 C A CI`, then `data`.
        let at = 7 + data.len() - bytes.len();
        assert_eq!(v.id, format!("manufacturer_data@{at}"));
        assert_eq!(v.value, Scalar::Text(hex));
        assert_eq!(v.quantity(), Some("Manufacturer specific"));
    }
    (recs, tail)
}

#[test]
fn snd_nke_then_req_ud2() {
    let mut m = slave(&heat(5, "12345678"), 1);
    assert_eq!(m.uart(), uart(2400));
    assert_eq!(m.protocol(), Protocol::Mbus);
    let (r, end) = ask(m.as_mut(), 0, &snd_nke(5));
    assert_ack(&r);
    assert_eq!(r[0].at_ns, end + 20 * MS, "20 ms after the last character");
    let (r, end) = ask(m.as_mut(), 100 * MS, &req_ud2(5, true));
    assert_eq!(r[0].at_ns, end + 20 * MS);
    let (a, ci, data, reading) = rsp_ud(&r);
    assert_eq!((a, ci), (5, 0x72));
    // ID 12345678 BCD LSB first, manufacturer MLB, version 01, heat 04, signature 0000.
    let man = ((u16::from(b'M' - 64)) << 10) | ((u16::from(b'L' - 64)) << 5) | u16::from(b'B' - 64);
    assert_eq!(data[..4], [0x78, 0x56, 0x34, 0x12]);
    assert_eq!(data[4..6], man.to_le_bytes());
    assert_eq!(data[6..8], [0x01, 0x04]);
    assert_eq!(data[9..12], [0x00, 0x00, 0x00]);
    assert_eq!(reading.meter_id.as_deref(), Some("12345678"));
    let (recs, tail) = check_reading(ci, &data, &reading);
    assert_eq!(recs[0].vib, [0x78], "fabrication number first");
    assert_eq!(tail.map(|t| t.0), Some(0x1F), "two telegrams: more follows");
}

#[test]
fn fcb_walks_the_cycle_and_repeats() {
    let mut m = slave(&heat(5, "12345678"), 2);
    ask(m.as_mut(), 0, &snd_nke(5));
    let mut t = 100 * MS;
    let mut get = |m: &mut dyn Meter, fcb: bool| {
        let (r, _) = ask(m, t, &req_ud2(5, fcb));
        t += 500 * MS;
        r
    };
    let first = get(m.as_mut(), true);
    let (_, _, d1, r1) = rsp_ud(&first);
    let (_, tail1) = check_reading(0x72, &d1, &r1);
    assert_eq!(tail1.map(|t| t.0), Some(0x1F));
    // Toggled: the next telegram, the last one of the cycle.
    let second = get(m.as_mut(), false);
    let (_, _, d2, r2) = rsp_ud(&second);
    let (recs2, tail2) = check_reading(0x72, &d2, &r2);
    assert_eq!(tail2.map(|t| t.0), Some(0x0F));
    assert!(recs2.iter().any(|r| r.storage() > 1), "history telegram");
    assert_eq!(d2[8], d1[8].wrapping_add(1), "access number counts up");
    // Not toggled: the same telegram again, byte for byte, same access number and truth.
    let again = get(m.as_mut(), false);
    assert_eq!(again[0].bytes, second[0].bytes);
    assert_eq!(again[0].truth, second[0].truth);
    // Toggled again: back to the first telegram, access number one more than the last new one.
    let third = get(m.as_mut(), true);
    let (_, _, d3, r3) = rsp_ud(&third);
    let (_, tail3) = check_reading(0x72, &d3, &r3);
    assert_eq!(tail3.map(|t| t.0), Some(0x1F));
    assert_eq!(d3[8], d2[8].wrapping_add(1));
    assert_eq!(d3[12..18], d1[12..18], "the same fabrication number record");
}

#[test]
fn a_master_that_never_toggles_gets_the_same_telegram() {
    let mut m = slave(&heat(5, "12345678"), 3);
    let (first, _) = ask(m.as_mut(), 0, &req_ud2(5, false));
    for i in 1..4 {
        let (r, _) = ask(m.as_mut(), i * 10_000 * MS, &req_ud2(5, false));
        assert_eq!(r[0].bytes, first[0].bytes, "repeat {i}");
    }
    // SND_NKE clears the FCB state: the same FCB is a new request for the first telegram.
    ask(m.as_mut(), 50_000 * MS, &snd_nke(5));
    let (r, _) = ask(m.as_mut(), 50_100 * MS, &req_ud2(5, false));
    let (_, _, d, reading) = rsp_ud(&r);
    let (_, _, d0, _) = rsp_ud(&first);
    assert_eq!(d[8], d0[8].wrapping_add(1), "a new telegram");
    assert_eq!(check_reading(0x72, &d, &reading).1.map(|t| t.0), Some(0x1F));
}

#[test]
fn access_number_counts_every_new_telegram() {
    let mut m = slave(&spec("mbus-water"), 4);
    let mut last = None;
    for i in 0..300u64 {
        let (r, _) = ask(m.as_mut(), i * 400 * MS, &req_ud2(0, i % 2 == 0));
        let (a, _, data, reading) = rsp_ud(&r);
        assert_eq!(a, 0, "unconfigured slave: address 0");
        if let Some(prev) = last {
            assert_eq!(data[8], u8::wrapping_add(prev, 1));
        }
        assert_eq!(
            number(&reading.values[3]),
            Decimal::from_int(data[8].into())
        );
        last = Some(data[8]);
    }
}

#[test]
fn primary_addressing() {
    let mut m = slave(&heat(5, "12345678"), 5);
    let mut t = 0;
    let mut replies = |m: &mut dyn Meter, bytes: Vec<u8>| {
        let (r, _) = ask(m, t, &bytes);
        t += 500 * MS;
        r
    };
    assert!(
        replies(m.as_mut(), req_ud2(6, true)).is_empty(),
        "another slave's"
    );
    assert!(replies(m.as_mut(), req_ud2(0, true)).is_empty());
    assert!(replies(m.as_mut(), snd_nke(6)).is_empty());
    assert!(
        replies(m.as_mut(), req_ud2(253, true)).is_empty(),
        "not selected"
    );
    assert!(
        replies(m.as_mut(), req_ud2(255, true)).is_empty(),
        "broadcast"
    );
    assert!(replies(m.as_mut(), snd_nke(255)).is_empty(), "broadcast");
    let (a, _, _, _) = rsp_ud(&replies(m.as_mut(), req_ud2(5, true)));
    assert_eq!(a, 5);
    let (a, _, _, _) = rsp_ud(&replies(m.as_mut(), req_ud2(254, false)));
    assert_eq!(a, 5, "254: every slave answers with its own address");
    assert_ack(&replies(m.as_mut(), snd_nke(254)));
}

#[test]
fn secondary_selection_with_wildcards() {
    let mut m = slave(&heat(5, "12345678"), 6);
    let man = m.as_ref().profile().to_string();
    assert_eq!(man, "mbus-heat");
    let mut t = 0;
    let mut replies = |m: &mut dyn Meter, bytes: Vec<u8>| {
        let (r, _) = ask(m, t, &bytes);
        t += 500 * MS;
        r
    };
    let [m0, m1] =
        (((u16::from(b'M' - 64)) << 10) | ((u16::from(b'L' - 64)) << 5) | 2).to_le_bytes();
    // No match: silence, and 253 stays silent.
    assert!(replies(
        m.as_mut(),
        select([0x78, 0x56, 0x34, 0x13, 0xFF, 0xFF, 0xFF, 0xFF])
    )
    .is_empty());
    assert!(replies(
        m.as_mut(),
        select([0x78, 0x56, 0x34, 0x12, 0xFF, 0xFF, 0xFF, 0x07])
    )
    .is_empty());
    assert!(replies(m.as_mut(), req_ud2(253, true)).is_empty());
    // Exact address.
    assert_ack(&replies(
        m.as_mut(),
        select([0x78, 0x56, 0x34, 0x12, m0, m1, 0x01, 0x04]),
    ));
    let (a, _, data, _) = rsp_ud(&replies(m.as_mut(), req_ud2(253, true)));
    assert_eq!(a, 5);
    assert_eq!(data[..4], [0x78, 0x56, 0x34, 0x12]);
    // A non-matching select deselects.
    assert!(replies(
        m.as_mut(),
        select([0x79, 0x56, 0x34, 0x12, 0xFF, 0xFF, 0xFF, 0xFF])
    )
    .is_empty());
    assert!(replies(m.as_mut(), req_ud2(253, false)).is_empty());
    // Wildcards: digits 1234.... (nibble F) and any manufacturer, version, medium.
    assert_ack(&replies(
        m.as_mut(),
        select([0xFF, 0xFF, 0x34, 0x12, 0xFF, 0xFF, 0xFF, 0xFF]),
    ));
    assert_ack(&replies(
        m.as_mut(),
        select([0x7F, 0xF6, 0xFF, 0xF2, 0xFF, 0xFF, 0x01, 0xFF]),
    ));
    rsp_ud(&replies(m.as_mut(), req_ud2(253, true)));
    // SND_NKE to 253: the selected slave acknowledges, then is deselected.
    assert_ack(&replies(m.as_mut(), snd_nke(253)));
    assert!(replies(m.as_mut(), req_ud2(253, false)).is_empty());
    assert!(replies(m.as_mut(), snd_nke(253)).is_empty());
}

/// Twin slaves: the same spec and seed as the bus's slaves, asked alone.
fn twins(specs: &[MeterSpec], seed: u64) -> Vec<MbusSlave> {
    specs
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let p = mbus::profile(&s.profile).expect("slave profile");
            let options = s
                .options
                .read::<mbus::MbusOptions>("twin")
                .expect("options");
            MbusSlave::new(p, s, &options, Seed(seed).derive("twin").index(i as u64))
                .expect("valid")
        })
        .collect()
}

/// The bitwise AND of replies starting together (mark = 1: any slave sending 0 makes 0).
fn and(replies: &[&[u8]], offsets: &[usize]) -> Vec<u8> {
    let len = replies
        .iter()
        .zip(offsets)
        .map(|(r, o)| r.len() + o)
        .max()
        .unwrap_or(0);
    (0..len)
        .map(|i| {
            replies
                .iter()
                .zip(offsets)
                .map(|(r, &o)| {
                    if i >= o {
                        r.get(i - o).copied().unwrap_or(0xFF)
                    } else {
                        0xFF
                    }
                })
                .fold(0xFF, |a, b| a & b)
        })
        .collect()
}

#[test]
fn bus_collides_on_254() {
    let specs = [
        heat(1, "11111111"),
        spec("mbus-water")
            .with("primary_address", 2)
            .with("secondary_id", "22222222")
            .with("reply_delay_ms", 40),
    ];
    let mut bus = MbusBus::new(twins(&specs, 7)).expect("bus");
    let mut alone = twins(&specs, 7);
    assert_eq!(bus.profile(), "mbus-bus");
    assert_eq!(bus.slaves().len(), 2);
    let mut t = 0;
    let mut exchange = |bytes: Vec<u8>| {
        let (on_bus, end) = ask(&mut bus, t, &bytes);
        let each: Vec<Vec<Emission>> = alone.iter_mut().map(|s| ask(s, t, &bytes).0).collect();
        t += 1000 * MS;
        (on_bus, each, end)
    };
    // Addressed to one slave: its clean reply with truth.
    let (r, each, _) = exchange(req_ud2(1, true));
    assert_eq!(r, each[0]);
    assert!(each[1].is_empty());
    // 254: the heat meter at 20 ms, the water meter at 40 ms: 20 ms = 4.36 characters, so the
    // water meter's frame is ANDed in from the fifth character on.
    let (r, each, end) = exchange(req_ud2(254, false));
    assert_eq!(r.len(), 1, "one collided reply");
    assert_eq!(r[0].at_ns, end + 20 * MS);
    assert!(r[0].truth.is_empty(), "nothing readable was sent");
    let (a, b) = (&each[0][0].bytes, &each[1][0].bytes);
    assert_eq!(r[0].bytes, and(&[a, b], &[0, 4]));
    assert_ne!(&r[0].bytes, a);
    // SND_NKE to 254: two E5, 4 characters apart; the line shows both, no overlap.
    let (r, _, end) = exchange(snd_nke(254));
    assert_eq!(r.len(), 2);
    assert_eq!((r[0].at_ns, r[1].at_ns), (end + 20 * MS, end + 40 * MS));
}

#[test]
fn bus_collision_on_a_wildcard_select_and_the_same_address() {
    let specs: Vec<MeterSpec> = ["12345678", "12349999"]
        .iter()
        .map(|id| {
            spec("mbus-water")
                .with("primary_address", 3)
                .with("secondary_id", *id)
        })
        .collect();
    let mut bus = MbusBus::new(twins(&specs, 8)).expect("bus");
    let mut alone = twins(&specs, 8);
    let mut t = 0;
    let mut exchange = |bytes: Vec<u8>| {
        let (on_bus, _) = ask(&mut bus, t, &bytes);
        let each: Vec<Vec<Emission>> = alone.iter_mut().map(|s| ask(s, t, &bytes).0).collect();
        t += 1000 * MS;
        (on_bus, each)
    };
    // 1234xxxx matches both: two E5 at the same moment are one E5.
    let (r, each) = exchange(select([0xFF, 0xFF, 0x34, 0x12, 0xFF, 0xFF, 0xFF, 0xFF]));
    assert_ack(&r);
    assert_ack(&each[0]);
    assert_ack(&each[1]);
    // Both answer 253: their frames ANDed.
    let (r, each) = exchange(req_ud2(253, true));
    assert_eq!(r.len(), 1);
    assert!(r[0].truth.is_empty());
    let (a, b) = (&each[0][0].bytes, &each[1][0].bytes);
    assert_eq!(r[0].bytes, and(&[a, b], &[0, 0]));
    assert_ne!(
        r[0].bytes, *a,
        "the IDs differ, so the AND garbles the frame"
    );
    // Narrowing down to one: clean again.
    let (r, _) = exchange(select([0x78, 0x56, 0x34, 0x12, 0xFF, 0xFF, 0xFF, 0xFF]));
    assert_ack(&r);
    let (r, each) = exchange(req_ud2(253, false));
    assert_eq!(r, each[0]);
    assert!(each[1].is_empty());
    let (_, _, data, reading) = rsp_ud(&r);
    assert_eq!(reading.meter_id.as_deref(), Some("12345678"));
    check_reading(0x72, &data, &reading);
    // The same primary address: a collision too.
    let (r, _) = exchange(req_ud2(3, true));
    assert_eq!(r.len(), 1);
    assert!(r[0].truth.is_empty());
}

#[test]
fn bus_from_a_scenario_spec() {
    let yaml = "profile: mbus-bus\nstart: 2025-06-01T12:00:00Z\nslaves:\n  - profile: mbus-heat\n    primary_address: 1\n  - profile: mbus-gas\n    primary_address: 2\n    ci: 0x78\n";
    let s: MeterSpec = serde_yaml::from_str(yaml).expect("spec");
    let slaves = s.options.get::<Vec<MeterSpec>>("slaves");
    assert_eq!(slaves.as_ref().map(Vec::len), Some(2));
    let mut bus = s.build(Seed(9)).expect("bus");
    assert_eq!(bus.uart(), uart(2400));
    let (r, _) = ask(bus.as_mut(), 0, &req_ud2(2, true));
    let (a, ci, data, reading) = rsp_ud(&r);
    assert_eq!((a, ci), (2, 0x78));
    check_reading(ci, &data, &reading);
    // The bus's start reached the slave: its date-time record is in June 2025.
    assert!(reading
        .values
        .iter()
        .any(|v| v.value == Scalar::Text("2025-06-01T14:00".into())));
    let bad = s.clone().with("primary_address", 1);
    assert!(bad.build(Seed(9)).is_err(), "options go to the slaves");
    let nested = spec("mbus-bus").with("slaves", vec![spec("mbus-bus")]);
    assert!(nested.build(Seed(9)).is_err());
    assert!(spec("mbus-bus").build(Seed(9)).is_err(), "slaves needed");
}

fn control(a: u8, ci: u8) -> Vec<u8> {
    long(0x53, a, ci, &[])
}

#[test]
fn baud_switch_acknowledged_at_the_old_rate() {
    let mut m = slave(&heat(5, "12345678"), 10);
    // CI BD = 9600 Bd.
    let (r, end) = ask(m.as_mut(), 0, &control(5, 0xBD));
    assert_ack(&r);
    assert_eq!(r[0].at_ns, end + 20 * MS);
    let e5_end = r[0].at_ns + (uart(2400).char_time_ns()).ceil() as u64;
    let (at, config) = m.take_uart_change().expect("a baud switch");
    assert_eq!(at, e5_end, "after the E5 at 2400 Bd");
    assert_eq!(config, uart(9600));
    assert_eq!(m.take_uart_change(), None, "reported once");
    assert_eq!(m.uart(), uart(9600));
    assert_eq!(
        m.next_push_ns(),
        Some(e5_end + 30_000 * MS),
        "fall-back pending"
    );
    // At 9600 Bd the slave answers; the valid frame confirms the new rate.
    let (r, end) = send(m.as_mut(), 100 * MS, &req_ud2(5, true), 9600);
    assert_eq!(r[0].at_ns, end + 20 * MS);
    rsp_ud(&r);
    assert_eq!(m.next_push_ns(), None, "confirmed");
    // Switch to 19200, then silence: back to 9600 after 30 s.
    let (r, _) = send(m.as_mut(), 1000 * MS, &control(5, 0xBE), 9600);
    assert_ack(&r);
    let (at, config) = m.take_uart_change().expect("switch");
    assert_eq!(config.baud, 19_200);
    assert_eq!(at, r[0].at_ns + uart(9600).char_time_ns().ceil() as u64);
    let due = m.next_push_ns().expect("fall-back");
    assert_eq!(due, at + 30_000 * MS);
    assert!(m.push().is_empty(), "falling back sends nothing");
    assert_eq!(m.take_uart_change(), Some((due, uart(9600))));
    assert_eq!(m.next_push_ns(), None);
    // The same rate: acknowledged, nothing changes.
    let (r, _) = send(m.as_mut(), due + 1000 * MS, &control(5, 0xBD), 9600);
    assert_ack(&r);
    assert_eq!(m.take_uart_change(), None);
    // Broadcast switch: nobody answers, the rate changes.
    let (r, end) = send(m.as_mut(), due + 2000 * MS, &control(255, 0xBB), 9600);
    assert!(r.is_empty());
    assert_eq!(m.take_uart_change(), Some((end, uart(2400))));
}

#[test]
fn a_bus_follows_its_slaves_baud_rate() {
    let specs = [heat(1, "11111111"), heat(2, "22222222")];
    let mut bus = MbusBus::new(twins(&specs, 11)).expect("bus");
    let (r, _) = ask(&mut bus, 0, &control(1, 0xBD));
    assert_ack(&r);
    let (_, config) = bus.take_uart_change().expect("the line changes");
    assert_eq!(config.baud, 9600);
    assert_eq!(bus.uart().baud, 9600);
    // Slave 2 still listens at 2400 Bd and hears nothing at 9600.
    let (r, _) = send(&mut bus, 100 * MS, &req_ud2(2, true), 9600);
    assert!(r.is_empty());
    let (r, _) = send(&mut bus, 200 * MS, &req_ud2(1, true), 9600);
    assert_eq!(rsp_ud(&r).0, 1);
    // Back to 2400: both hear again.
    let (r, _) = send(&mut bus, 300 * MS, &control(1, 0xBB), 9600);
    assert_ack(&r);
    assert_eq!(bus.take_uart_change().map(|c| c.1.baud), Some(2400));
    let (r, _) = ask(&mut bus, 400 * MS, &req_ud2(2, true));
    assert_eq!(rsp_ud(&r).0, 2);
}

#[test]
fn application_reset_restarts_the_cycle() {
    let mut m = slave(&heat(5, "12345678"), 12);
    ask(m.as_mut(), 0, &req_ud2(5, true));
    let (r, _) = ask(m.as_mut(), 500 * MS, &req_ud2(5, false));
    let (_, _, d, reading) = rsp_ud(&r);
    assert_eq!(
        check_reading(0x72, &d, &reading).1.map(|t| t.0),
        Some(0x0F),
        "second telegram"
    );
    // Application reset (with the optional subcode byte).
    let (r, _) = ask(m.as_mut(), 1000 * MS, &long(0x53, 5, 0x50, &[0x10]));
    assert_ack(&r);
    // The toggled FCB after a reset gets the first telegram, not the "next" one.
    let (r, _) = ask(m.as_mut(), 1500 * MS, &req_ud2(5, true));
    let (_, _, d, reading) = rsp_ud(&r);
    assert_eq!(check_reading(0x72, &d, &reading).1.map(|t| t.0), Some(0x1F));
    assert_eq!(
        d[12..14],
        [0x0C, 0x78],
        "telegram 1 starts with the fabrication number"
    );
}

#[test]
fn set_primary_address() {
    let mut m = slave(&heat(5, "12345678"), 13);
    let (r, _) = ask(m.as_mut(), 0, &long(0x53, 5, 0x51, &[0x01, 0x7A, 0x07]));
    assert_ack(&r);
    assert!(ask(m.as_mut(), 500 * MS, &req_ud2(5, true)).0.is_empty());
    let (a, _, _, _) = rsp_ud(&ask(m.as_mut(), 1000 * MS, &req_ud2(7, true)).0);
    assert_eq!(a, 7);
    // A reserved address is refused.
    assert!(ask(
        m.as_mut(),
        1500 * MS,
        &long(0x53, 7, 0x51, &[0x01, 0x7A, 0xFD])
    )
    .0
    .is_empty());
    assert_eq!(
        rsp_ud(&ask(m.as_mut(), 2000 * MS, &req_ud2(7, false)).0).0,
        7
    );
    // Selected by secondary address, then given a primary address through 253.
    assert_ack(
        &ask(
            m.as_mut(),
            2500 * MS,
            &select([0x78, 0x56, 0x34, 0x12, 0xFF, 0xFF, 0xFF, 0xFF]),
        )
        .0,
    );
    assert_ack(
        &ask(
            m.as_mut(),
            3000 * MS,
            &long(0x73, 253, 0x51, &[0x01, 0x7A, 0x2A]),
        )
        .0,
    );
    assert_eq!(
        rsp_ud(&ask(m.as_mut(), 3500 * MS, &req_ud2(42, true)).0).0,
        42
    );
}

#[test]
fn wake_up_bytes_before_a_request() {
    let mut m = slave(&heat(5, "12345678"), 14);
    let mut bytes = vec![0x00; 32];
    bytes.extend([0x55; 8]);
    bytes.extend(req_ud2(5, true));
    let (r, end) = ask(m.as_mut(), 0, &bytes);
    assert_eq!(r[0].at_ns, end + 20 * MS);
    rsp_ud(&r);
    // A corrupted request (wrong checksum) gets nothing; the next good one is answered.
    let mut bad = req_ud2(5, false);
    bad[3] ^= 1;
    assert!(ask(m.as_mut(), 500 * MS, &bad).0.is_empty());
    rsp_ud(&ask(m.as_mut(), 1000 * MS, &req_ud2(5, false)).0);
}

#[test]
fn reply_delay_and_the_answer_window() {
    for baud in [300, 2400, 9600, 38_400] {
        let s = heat(5, "12345678").with("baud", baud);
        let mut m = slave(&s, 15);
        let (r, end) = send(m.as_mut(), 0, &req_ud2(5, true), baud);
        let delay = r[0].at_ns - end;
        let bit = 1e9 / f64::from(baud);
        assert!(
            delay as f64 >= 11.0 * bit,
            "{baud}: not before 11 bit times"
        );
        assert!(
            delay as f64 <= 330.0 * bit + 50e6,
            "{baud}: not after 330 bit times + 50 ms"
        );
        let (lo, hi) = mbus::answer_window_ns(&uart(baud));
        assert!((lo..=hi).contains(&delay));
    }
    // Configured outside the window: a slave that answers too early, and one too late.
    for ms in [2, 400] {
        let s = heat(5, "12345678").with("reply_delay_ms", ms);
        let mut m = slave(&s, 16);
        let (r, end) = ask(m.as_mut(), 0, &snd_nke(5));
        assert_eq!(r[0].at_ns, end + ms * MS);
    }
}

#[test]
fn msb_first_and_headerless_answers() {
    for ci in [0x76, 0x78] {
        let s = heat(5, "12345678").with("ci", ci);
        let mut m = slave(&s, 17);
        let (r, _) = ask(m.as_mut(), 0, &req_ud2(5, true));
        let (_, got, data, reading) = rsp_ud(&r);
        assert_eq!(got, ci);
        check_reading(ci, &data, &reading);
        if ci == 0x76 {
            assert_eq!(data[..4], [0x12, 0x34, 0x56, 0x78], "ID MSB first");
            assert_eq!(data[12..14], [0x0C, 0x78]);
        } else {
            assert_eq!(data[..2], [0x0C, 0x78], "records right after CI");
            assert_eq!(reading.values[0].id, "#0");
        }
    }
}

/// Every profile's telegrams, read completely; what codings they use.
#[test]
fn every_coding_is_sent_and_matches_its_truth() {
    let mut features = std::collections::BTreeSet::new();
    let mut add = |f: &str| {
        features.insert(f.to_string());
    };
    let profiles = [
        ("mbus-heat", 3u8, 0x72u8),
        ("mbus-water", 2, 0x72),
        ("mbus-electricity", 1, 0x72),
        ("mbus-gas", 2, 0x72),
        ("mbus-electricity", 1, 0x76),
    ];
    for (profile, telegrams, ci) in profiles {
        let s = spec(profile).with("telegrams", telegrams).with("ci", ci);
        let mut m = slave(&s, 18);
        for i in 0..usize::from(telegrams) {
            let (r, _) = ask(m.as_mut(), i as u64 * 1000 * MS, &req_ud2(0, i % 2 == 0));
            let (_, _, data, reading) = rsp_ud(&r);
            let (recs, tail) = check_reading(ci, &data, &reading);
            let last = i + 1 == usize::from(telegrams);
            match &tail {
                Some((0x1F, _)) => assert!(!last, "{profile}: 1F only before the last"),
                Some((_, bytes)) => {
                    assert!(last);
                    if !bytes.is_empty() {
                        add("manufacturer data");
                    }
                }
                None => assert!(last && profile == "mbus-water"),
            }
            for r in &recs {
                let digits = match r.code() {
                    0x9 => "BCD 2",
                    0xA => "BCD 4",
                    0xB => "BCD 6",
                    0xC => "BCD 8",
                    0xE => "BCD 12",
                    0x1 => "int 8",
                    0x2 if r.vif() != (0, 0x6C) => "int 16",
                    0x3 => "int 24",
                    0x4 if r.vif() != (0, 0x6D) => "int 32",
                    0x6 => "int 48",
                    0x7 => "int 64",
                    0x5 => "real",
                    0xD => "ascii",
                    0x2 => "date G",
                    0x4 => "date F",
                    _ => "other",
                };
                add(digits);
                if r.code() == 0xB && r.data.last().is_some_and(|b| b >> 4 == 0xF) {
                    add("negative BCD");
                }
                match r.vif().0 {
                    0xFB => add("VIF FB"),
                    0xFD => add("VIF FD"),
                    _ => {}
                }
                for v in r.vifes() {
                    match v {
                        0x70..=0x77 => add("VIFE 7x"),
                        0x20..=0x27 => add("VIFE 2x"),
                        0x3C => add("VIFE 3C"),
                        _ => {}
                    }
                }
                if r.storage() > 1 {
                    add("storage > 1");
                }
                if r.tariff() > 0 {
                    add("tariff");
                }
                if r.subunit() > 0 {
                    add("subunit");
                }
                if r.function() == "maximum" {
                    add("maximum");
                }
            }
        }
    }
    let want = [
        "BCD 2",
        "BCD 4",
        "BCD 6",
        "BCD 8",
        "BCD 12",
        "int 8",
        "int 16",
        "int 24",
        "int 32",
        "int 48",
        "int 64",
        "real",
        "date F",
        "date G",
        "ascii",
        "VIF FB",
        "VIF FD",
        "VIFE 7x",
        "VIFE 2x",
        "VIFE 3C",
        "storage > 1",
        "tariff",
        "subunit",
        "maximum",
        "manufacturer data",
    ];
    for w in want {
        assert!(features.contains(w), "no profile sends {w}: {features:?}");
    }
}

#[test]
fn electricity_exports_as_negative_bcd() {
    // Midsummer noon with 9 kW of panels: the house feeds in.
    let s = MeterSpec {
        start: Some("2025-06-21T10:00:00Z".into()),
        ..spec("mbus-electricity")
            .with("solar_w", 9000)
            .with("three_phase", false)
    };
    let mut m = slave(&s, 19);
    let (r, _) = ask(m.as_mut(), 0, &req_ud2(0, true));
    let (_, ci, data, reading) = rsp_ud(&r);
    let (recs, _) = check_reading(ci, &data, &reading);
    let power = recs
        .iter()
        .position(|r| r.dif == 0x0B && r.vib == [0x2B])
        .expect("BCD power");
    assert_eq!(recs[power].data[2] >> 4, 0xF, "F sign nibble");
    assert!(number(&reading.values[5 + power]) < Decimal::from_int(0));
    // Single phase: one voltage, no subunits.
    assert_eq!(recs.iter().filter(|r| r.vib == [0xFD, 0x48]).count(), 1);
}

#[test]
fn profiles_and_options() {
    let names: Vec<&str> = meterlab_sim::profile::catalogue()
        .iter()
        .filter(|p| p.protocol == Protocol::Mbus)
        .map(|p| p.name)
        // The wireless dongles speak M-Bus too.
        .filter(|n| !n.starts_with("wmbus-"))
        .collect();
    assert_eq!(
        names,
        [
            "mbus-heat",
            "mbus-water",
            "mbus-electricity",
            "mbus-gas",
            "mbus-bus"
        ]
    );
    let bad = |s: MeterSpec| s.build(Seed(1)).is_err();
    assert!(bad(spec("mbus-heat").with("primary_address", 251)));
    assert!(bad(spec("mbus-heat").with("address", "5")));
    assert!(bad(spec("mbus-heat").with("secondary_id", "1234567")));
    assert!(bad(spec("mbus-heat").with("secondary_id", "1234567A")));
    assert!(bad(spec("mbus-heat").with("manufacturer", "K4M")));
    assert!(bad(spec("mbus-heat").with("telegrams", 0)));
    assert!(bad(spec("mbus-heat").with("telegrams", 11)));
    assert!(bad(spec("mbus-heat").with("ci", 0x73)));
    assert!(bad(spec("mbus-heat").with("baud", 115_200)));
    assert!(bad(spec("mbus-water").with("solar_w", 100)));
    assert!(bad(MeterSpec {
        interval: Some("10s".into()),
        ..spec("mbus-gas")
    }));
    // M-Bus options on other profiles.
    assert!(bad(spec("dsmr-5.0").with("primary_address", 1)));
    assert!(bad(spec("dsmr-5.0").with("reply_delay_ms", 1)));
    // A configured manufacturer is sent and selected by.
    let s = spec("mbus-gas")
        .with("manufacturer", "KAM")
        .with("primary_address", 9);
    let mut m = slave(&s, 20);
    let (_, _, data, reading) = rsp_ud(&ask(m.as_mut(), 0, &req_ud2(9, true)).0);
    assert_eq!(data[4..6], [0x2D, 0x2C]);
    assert_eq!(reading.values[0], Value::text("header.manufacturer", "KAM"));
    let yaml = "profile: mbus-heat\nprimary_address: 7\nsecondary_id: \"00001234\"\nci: 0x76\ntelegrams: 3\nreply_delay_ms: 50\n";
    let s: MeterSpec = serde_yaml::from_str(yaml).expect("spec");
    assert_eq!(s.options.get::<u8>("ci"), Some(0x76));
    let mut m = slave(&s, 21);
    let (a, ci, _, reading) = rsp_ud(&ask(m.as_mut(), 0, &req_ud2(7, true)).0);
    assert_eq!((a, ci), (7, 0x76));
    assert_eq!(
        reading.meter_id.as_deref(),
        Some("00001234"),
        "leading zeros kept"
    );
}

#[test]
fn same_seed_same_bytes() {
    let run = |seed| {
        let mut m = slave(&spec("mbus-electricity"), seed);
        (0..5u64)
            .flat_map(|i| ask(m.as_mut(), i * 60_000 * MS, &req_ud2(0, i % 2 == 0)).0)
            .map(|e| e.bytes)
            .collect::<Vec<_>>()
    };
    assert_eq!(run(1), run(1));
    assert_ne!(run(1), run(2));
}

#[test]
fn enhanced_selection_and_new_identification() {
    let mut m = slave(&heat(5, "12345678"), 22);
    let (_, _, data, _) = rsp_ud(&ask(m.as_mut(), 0, &req_ud2(5, true)).0);
    assert_eq!(data[12..14], [0x0C, 0x78]);
    let fab = [data[14], data[15], data[16], data[17]];
    let enhanced = |fab: [u8; 4]| {
        let mut d = vec![0x78, 0x56, 0x34, 0x12, 0xFF, 0xFF, 0xFF, 0xFF, 0x0C, 0x78];
        d.extend(fab);
        long(0x53, 0xFD, 0x52, &d)
    };
    let mut wrong = fab;
    wrong[0] ^= 0x01;
    assert!(ask(m.as_mut(), 500 * MS, &enhanced(wrong)).0.is_empty());
    assert_ack(&ask(m.as_mut(), 1000 * MS, &enhanced(fab)).0);
    // Set the identification number through 253: `0C 79` and 8 BCD digits.
    let set = long(0x53, 0xFD, 0x51, &[0x0C, 0x79, 0x21, 0x43, 0x65, 0x87]);
    assert_ack(&ask(m.as_mut(), 1500 * MS, &set).0);
    let (_, _, data, reading) = rsp_ud(&ask(m.as_mut(), 2000 * MS, &req_ud2(5, false)).0);
    assert_eq!(data[..4], [0x21, 0x43, 0x65, 0x87]);
    assert_eq!(reading.meter_id.as_deref(), Some("87654321"));
    // Selected by the new number only.
    assert!(ask(
        m.as_mut(),
        2500 * MS,
        &select([0x78, 0x56, 0x34, 0x12, 0xFF, 0xFF, 0xFF, 0xFF])
    )
    .0
    .is_empty());
    assert_ack(
        &ask(
            m.as_mut(),
            3000 * MS,
            &select([0x21, 0x43, 0x65, 0x87, 0xFF, 0xFF, 0xFF, 0xFF]),
        )
        .0,
    );
}
