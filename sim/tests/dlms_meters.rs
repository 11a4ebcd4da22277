//! The virtual DLMS/COSEM push meters checked on their own terms (no decoder involved).
//!
//! - Byte for byte: each push is rebuilt from the values of a real capture (copies in
//!   `tests/data/dlms/`, sources in each file) and must equal the capture's bytes.
//! - Every profile: framing re-checked here by hand (M-Bus lengths, checksums and CI sequence,
//!   the Sagemcom `68 01 01 68` quirk; HDLC lengths, HCS/FCS with the crc crate, GBT blocks),
//!   decryption with aes-gcm, invocation counters, replay and counter reset, frame timing, and a
//!   small A-XDR walker of this file's own that checks the truth lists exactly what the push
//!   carries.

use std::path::Path;

use aes_gcm::aead::consts::U12;
use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::aes::Aes128;
use aes_gcm::AesGcm;
use chrono::{DateTime, Utc};
use crc::{Crc, CRC_16_IBM_SDLC};
use meterlab_decoder::{Decimal, Key, Reading, Scalar};
use meterlab_sim::clock::LocalTime;
use meterlab_sim::dlms::ciphering::GeneralGloCipheringRepr;
use meterlab_sim::dlms::layout::{self, Identity, Layout, Snapshot};
use meterlab_sim::dlms::{compose, logical_device_name, Ciphering, Push, PushInput};
use meterlab_sim::{Emission, Meter, MeterSpec, Seed};

type Gcm = AesGcm<Aes128, U12, U12>;
const X25: Crc<u16> = Crc::<u16>::new(&CRC_16_IBM_SDLC);

// ---------------------------------------------------------------------------------------------
// Helpers

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex digits"))
        .collect()
}

fn to_hex(b: &[u8]) -> String {
    b.iter().map(|b| format!("{b:02X}")).collect()
}

#[derive(serde::Deserialize)]
struct Vector {
    hex: String,
    key_hex: Option<String>,
    auth_key_hex: Option<String>,
}

fn vector(name: &str) -> Vector {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/dlms")
        .join(format!("{name}.yaml"));
    let text = std::fs::read_to_string(&path).expect("corpus copy readable");
    serde_yaml::from_str(&text).expect("corpus vector")
}

fn key(hex: &str) -> Key {
    hex.parse().expect("key")
}

fn st(s: &str) -> [u8; 8] {
    hex(s).try_into().expect("8-byte system title")
}

fn profile(name: &str) -> &'static meterlab_sim::dlms::DlmsProfile {
    meterlab_sim::dlms::profile(name).expect("built-in profile")
}

/// A snapshot at local time `utc` with every register zero.
fn snapshot(utc: &str) -> Snapshot {
    let t: DateTime<Utc> = utc.parse().expect("UTC time");
    Snapshot {
        time: LocalTime::from_utc(t),
        import_wh: [0; 2],
        export_wh: [0; 2],
        reactive_import_varh: [0; 2],
        reactive_export_varh: [0; 2],
        import_w: 0,
        export_w: 0,
        reactive_import_var: 0,
        reactive_export_var: 0,
        phase_import_w: [0; 3],
        phase_export_w: [0; 3],
        phase_reactive_import_var: [0; 3],
        phase_reactive_export_var: [0; 3],
        phase_import_wh: [0; 3],
        phase_export_wh: [0; 3],
        voltage_dv: [0; 3],
        current_ma: [0; 3],
        power_factor_milli: 0,
        phase_power_factor_milli: [0; 3],
    }
}

struct Setup<'a> {
    profile: &'a str,
    layout: &'a Layout,
    snapshot: Snapshot,
    meter_id: &'a str,
    invoke: u32,
    cipher: Option<(&'a str, u32)>,
    vector: &'a str,
}

fn build(s: &Setup<'_>) -> Push {
    let v = vector(s.vector);
    let k = v.key_hex.as_deref().map(key);
    let ak = v.auth_key_hex.as_deref().map(key);
    let p = profile(s.profile);
    let identity = Identity {
        meter_id: s.meter_id.to_string(),
        logical_device_name: logical_device_name(s.meter_id),
    };
    let ciphering = s.cipher.map(|(title, ic)| Ciphering {
        header: GeneralGloCipheringRepr {
            system_title: st(title),
            security_control: p.security.expect("encrypted profile").security_control,
            invocation_counter: ic,
        },
        key: k.as_ref().expect("vector has a key"),
        auth_key: ak.as_ref(),
    });
    compose(
        p,
        &PushInput {
            layout: s.layout,
            snapshot: &s.snapshot,
            identity: &identity,
            long_invoke_id_and_priority: s.invoke,
            ciphering,
        },
    )
    .expect("composes")
}

/// Composes the push and asserts its frames are the capture, byte for byte.
fn assert_reproduces(s: &Setup<'_>) -> Push {
    let push = build(s);
    let wire: Vec<u8> = push.frames.concat();
    let expect = hex(&vector(s.vector).hex);
    assert_eq!(
        to_hex(&wire),
        to_hex(&expect),
        "{}: emitted bytes differ from the capture",
        s.vector
    );
    push
}

fn number(r: &Reading, id: &str) -> Decimal {
    match r.value(id).map(|v| &v.value) {
        Some(Scalar::Number(d)) => *d,
        other => panic!("{id}: {other:?}"),
    }
}

fn unit(r: &Reading, id: &str) -> Option<String> {
    r.value(id)
        .and_then(|v| v.unit.as_deref().map(str::to_string))
}

// ---------------------------------------------------------------------------------------------
// Byte-exact against real captures

#[test]
fn evn_kaifa_doc_example_byte_for_byte() {
    let mut s = snapshot("2021-09-27T07:47:15Z");
    s.import_wh = [12_937, 0];
    s.voltage_dv = [2337, 0, 0];
    s.power_factor_milli = 1000;
    let push = assert_reproduces(&Setup {
        profile: "kaifa-ma309-evn",
        layout: &layout::EVN_KAIFA,
        snapshot: s,
        meter_id: "181220000009",
        invoke: 0x8006_870E,
        cipher: Some(("4B464D6750000009", 0x23)),
        vector: "evn_netznoe_kaifa_ma309_doc_example",
    });
    assert_eq!(push.frames.len(), 2);
    assert_eq!(push.plaintext.len(), 243);
    // The published plaintext starts 0F 8006870E 0C 07E5091B…
    assert_eq!(
        &push.plaintext[..8],
        &[0x0F, 0x80, 0x06, 0x87, 0x0E, 0x0C, 0x07, 0xE5]
    );
    let t = &push.truth;
    assert_eq!(t.meter_id.as_deref(), Some("181220000009"));
    assert_eq!(t.time.as_deref(), Some("2021-09-27T09:47:15+02:00"));
    assert_eq!(
        t.values.len(),
        12,
        "11 registers and the meter number (0-0:96.1.0, as the corpus names it); the clock is no value"
    );
    assert_eq!(number(t, "1-0:1.8.0*255"), Decimal::from_int(12_937));
    assert_eq!(unit(t, "1-0:1.8.0*255").as_deref(), Some("Wh"));
    assert_eq!(
        number(t, "1-0:32.7.0*255"),
        "233.7".parse().expect("decimal")
    );
    assert_eq!(number(t, "1-0:13.7.0*255"), Decimal::new(1000, -3));
    assert_eq!(
        unit(t, "1-0:13.7.0*255"),
        None,
        "power factor unit FF: no unit"
    );
}

#[test]
fn evn_kaifa_real_2022_byte_for_byte() {
    let mut s = snapshot("2022-02-04T15:43:20Z");
    s.import_wh = [1_340_436, 0];
    s.import_w = 1055;
    s.voltage_dv = [2345, 2334, 2337];
    s.current_ma = [3830, 1690, 920];
    s.power_factor_milli = 968;
    let push = assert_reproduces(&Setup {
        profile: "kaifa-ma309-evn",
        layout: &layout::EVN_KAIFA,
        snapshot: s,
        meter_id: "181220002177",
        invoke: 0x800B_8E04,
        cipher: Some(("4B464D6750000881", 24_581)),
        vector: "evn_netznoe_kaifa_ma309_real_2022",
    });
    assert_eq!(
        push.truth.time.as_deref(),
        Some("2022-02-04T16:43:20+01:00"),
        "winter: deviation −60"
    );
    assert_eq!(number(&push.truth, "1-0:31.7.0*255"), Decimal::new(383, -2));
}

#[test]
fn sagemcom_t210d_real_byte_for_byte() {
    let mut s = snapshot("2023-04-14T15:56:05Z");
    s.import_wh = [627_660, 0];
    s.import_w = 515;
    s.voltage_dv = [2329, 2365, 2372];
    s.current_ma = [850, 940, 1180];
    s.power_factor_milli = 819;
    let push = assert_reproduces(&Setup {
        profile: "sagemcom-t210d-evn",
        layout: &layout::EVN_SAGEMCOM,
        snapshot: s,
        meter_id: "178210431186",
        invoke: 0x8000_8079,
        cipher: Some(("5341475905ED3312", 0x1576)),
        vector: "evn_netznoe_sagemcom_t210d_real",
    });
    assert_eq!(push.frames[0].len(), 263);
    assert_eq!(&push.frames[0][..4], &[0x68, 0x01, 0x01, 0x68]);
    assert_eq!(number(&push.truth, "1-0:13.7.0*255"), Decimal::new(819, -3));
}

#[test]
fn tinetz_3phase_apdu_byte_for_byte() {
    let mut s = snapshot("2021-09-11T07:13:20Z");
    s.voltage_dv = [2336, 2308, 2317];
    s.current_ma = [3650, 7820, 6100];
    s.import_w = 3934;
    s.import_wh = [5_308_437, 0];
    s.reactive_import_varh = [13_413, 0];
    s.reactive_export_varh = [566_204, 0];
    let setup = Setup {
        profile: "kaifa-ma309-tinetz",
        layout: &layout::KSM_3PH,
        snapshot: s,
        meter_id: "1KFM0200070313",
        invoke: 0x0002_B5E4,
        cipher: Some(("4B464D10200112A9", 179_302)),
        vector: "tinetz_kaifa_ma309_3phase_raw_apdu",
    };
    // The vector is the bare APDU (published without its M-Bus frames).
    let push = build(&setup);
    assert_eq!(
        to_hex(&push.apdu),
        to_hex(&hex(&vector(setup.vector).hex)),
        "APDU differs from the capture"
    );
    assert_eq!(push.plaintext.len(), 336);
    let lens: Vec<usize> = push.frames.iter().map(Vec::len).collect();
    assert_eq!(lens, [256, 120], "68 FA FA 68 + 68 72 72 68");
    let t = &push.truth;
    assert_eq!(t.meter_id.as_deref(), Some("1KFM0200070313"));
    assert_eq!(
        t.value("0-0:42.0.0*255").map(|v| &v.value),
        Some(&Scalar::Text("KFM1200200070313".into()))
    );
    assert_eq!(t.values.len(), 14);
    assert_eq!(unit(t, "1-0:4.8.0*255").as_deref(), Some("varh"));
}

#[test]
fn tinetz_1phase_doc_example_byte_for_byte() {
    let mut s = snapshot("2021-07-19T13:46:35Z");
    s.voltage_dv = [2308, 0, 0];
    s.import_wh = [9108, 0];
    s.reactive_import_varh = [96, 0];
    s.reactive_export_varh = [9, 0];
    let push = assert_reproduces(&Setup {
        profile: "kaifa-ma309-tinetz-1ph",
        layout: &layout::KSM_1PH,
        snapshot: s,
        meter_id: "1KFM0100000035",
        invoke: 0x0029_B2DC,
        cipher: Some(("4B464D1010000023", 0x0029_5B9A)),
        vector: "tinetz_kaifa_ma309_1phase_doc_example",
    });
    assert_eq!(push.plaintext.len(), 260);
    assert_eq!(push.truth.values.len(), 10);
}

#[test]
fn kaifa_ma309_poland_byte_for_byte() {
    let mut s = snapshot("2021-09-27T18:56:00Z");
    s.voltage_dv = [2271, 2330, 2336];
    s.current_ma = [12_410, 20, 310];
    s.import_w = 2867;
    s.import_wh = [278_041, 0];
    s.reactive_import_varh = [3932, 0];
    s.reactive_export_varh = [38_584, 0];
    assert_reproduces(&Setup {
        profile: "kaifa-ma309-tinetz",
        layout: &layout::KSM_3PH,
        snapshot: s,
        meter_id: "1KFM0200169986",
        invoke: 0x0000_18CF,
        cipher: Some(("4B464D1020029802", 0x0A28)),
        vector: "kaifa_ma309_poland_tinetz_layout_gh905",
    });
}

#[test]
fn aidon_3phase_byte_for_byte() {
    let mut s = snapshot("2019-12-16T06:59:40Z");
    s.import_w = 1122;
    s.reactive_import_var = 1507;
    s.current_ma = [0, 7500, 0];
    s.voltage_dv = [2307, 2499, 2308];
    s.phase_import_w = [0, 1122, 0];
    s.phase_reactive_import_var = [0, 1506, 0];
    s.import_wh = [10_049_926, 0];
    s.export_wh = [8, 0];
    s.reactive_import_varh = [6_614_347, 0];
    s.reactive_export_varh = [5, 0];
    let push = assert_reproduces(&Setup {
        profile: "aidon-han",
        layout: &layout::AIDON_3PH,
        snapshot: s,
        meter_id: "",
        invoke: 0x4000_0000,
        cipher: None,
        vector: "aidon_norway_3phase_hdlc_plain",
    });
    let t = &push.truth;
    assert_eq!(
        t.time.as_deref(),
        Some("2019-12-16T07:59:40"),
        "deviation 8000: no offset"
    );
    assert_eq!(t.meter_id, None, "this list names no meter");
    assert_eq!(t.values.len(), 26);
    assert_eq!(number(t, "1-0:51.7.0*255"), Decimal::new(75, -1));
    assert_eq!(unit(t, "1-0:3.7.0*255").as_deref(), Some("var"));
}

#[test]
fn aidon_1phase_byte_for_byte() {
    let mut s = snapshot("2019-12-16T06:59:40Z");
    s.import_w = 1362;
    s.reactive_import_var = 996;
    s.current_ma = [9300, 0, 0];
    s.voltage_dv = [2500, 0, 0];
    let push = assert_reproduces(&Setup {
        profile: "aidon-han",
        layout: &layout::AIDON_1PH,
        snapshot: s,
        meter_id: "7359992890941742",
        invoke: 0x4000_0000,
        cipher: None,
        vector: "aidon_norway_1phase_hdlc_plain",
    });
    let t = &push.truth;
    assert_eq!(
        t.time, None,
        "no date-time in the header, no clock in the list"
    );
    assert_eq!(t.meter_id.as_deref(), Some("7359992890941742"));
    assert_eq!(
        t.value("1-1:0.2.129*255").map(|v| &v.value),
        Some(&Scalar::Text("AIDON_V0001".into()))
    );
}

#[test]
fn kamstrup_byte_for_byte() {
    let mut s = snapshot("2026-03-12T14:24:30Z");
    s.import_wh = [6_307_498, 0];
    s.reactive_import_varh = [326_360, 0];
    s.reactive_export_varh = [2_124_057, 0];
    s.import_w = 1083;
    s.reactive_export_var = 718;
    s.voltage_dv = [2220, 2210, 2270];
    s.current_ma = [570, 2280, 3330];
    s.phase_import_w = [36, 424, 623];
    s.phase_power_factor_milli = [310, 870, 850];
    s.power_factor_milli = 830;
    s.phase_import_wh = [1_211_644, 2_408_208, 2_687_644];
    let push = assert_reproduces(&Setup {
        profile: "kamstrup-han",
        layout: &layout::KAMSTRUP,
        snapshot: s,
        meter_id: "",
        invoke: 0,
        cipher: Some(("4B414D4501349083", 17_784_996)),
        vector: "kamstrup_omnipower_hdlc_encrypted_auth",
    });
    let t = &push.truth;
    assert_eq!(
        t.meter_id.as_deref(),
        Some("4B414D4501349083"),
        "named by its system title"
    );
    assert_eq!(t.time.as_deref(), Some("2026-03-12T15:24:30"));
    assert_eq!(
        t.value("0-0:0.0.0*255").map(|v| &v.value),
        Some(&Scalar::Text("Kamstrup_V0001".into()))
    );
    assert_eq!(
        number(t, "1-1:31.7.0*255"),
        Decimal::new(57, -2),
        "no scaler sent: 0.01 A by the Kamstrup_V0001 description"
    );
    assert_eq!(unit(t, "1-1:31.7.0*255").as_deref(), Some("A"));
    assert_eq!(unit(t, "1-1:1.8.0*255").as_deref(), Some("Wh"));
    assert_eq!(
        t.values.len(),
        32,
        "list id + 31 registers; the clock is not a value"
    );
}

#[test]
fn kaifa_han_list2_byte_for_byte() {
    let mut s = snapshot("2017-09-15T03:33:40Z");
    s.import_w = 948;
    s.reactive_export_var = 64;
    s.current_ma = [1416, 3241, 3119];
    s.voltage_dv = [2385, 0, 2389];
    let push = assert_reproduces(&Setup {
        profile: "kaifa-han",
        layout: &layout::KAIFA_LIST2,
        snapshot: s,
        meter_id: "6970631401753985",
        invoke: 0x4000_0000,
        cipher: None,
        vector: "kaifa_ma304h3e_norway_list2_hdlc_plain",
    });
    assert_eq!(
        &push.plaintext[5..7],
        &[0x09, 0x0C],
        "the Kaifa date-time quirk"
    );
    let t = &push.truth;
    assert_eq!(t.time.as_deref(), Some("2017-09-15T05:33:40"));
    assert_eq!(t.meter_id.as_deref(), Some("6970631401753985"));
    assert_eq!(
        number(t, "1-0:31.7.0*255"),
        Decimal::new(1416, -3),
        "mA by the KFM_001 description"
    );
    assert_eq!(t.values.len(), 13);
}

#[test]
fn lg_e450_gbt_byte_for_byte() {
    let mut s = snapshot("2022-02-21T16:37:30Z");
    s.import_wh = [3_593_919, 814_817];
    s.import_w = 2893;
    s.reactive_import_varh = [1_358_750, 233_034];
    s.reactive_import_var = 1735;
    s.reactive_export_varh = [872_483, 528_522];
    let push = assert_reproduces(&Setup {
        profile: "lg-e450-gbt",
        layout: &layout::E450,
        snapshot: s,
        meter_id: "",
        invoke: 0x0017_7BCA,
        cipher: Some(("4C475A677370B177", 0x0017_7BCA)),
        vector: "lg_e450_hdlc_gbt_encrypted_1",
    });
    let lens: Vec<usize> = push.frames.iter().map(Vec::len).collect();
    assert_eq!(lens, [141, 141, 50]);
    let t = &push.truth;
    assert_eq!(number(t, "1-0:1.8.0*255"), Decimal::from_int(4_408_736));
    assert_eq!(t.time.as_deref(), Some("2022-02-21T17:37:30"));
    assert_eq!(t.meter_id.as_deref(), Some("4C475A677370B177"));

    let mut s = snapshot("2023-11-10T09:58:50Z");
    s.import_wh = [8_768_040, 3_280_910];
    s.import_w = 545;
    s.export_wh = [18_054, 0];
    s.reactive_import_varh = [29_488, 610];
    s.reactive_import_var = 9;
    s.reactive_export_varh = [6_492_443, 3_308_920];
    s.reactive_export_var = 379;
    assert_reproduces(&Setup {
        profile: "lg-e450-gbt",
        layout: &layout::E450,
        snapshot: s,
        meter_id: "",
        invoke: 0x000A_CC83,
        cipher: Some(("4C475A67735DD3A9", 0x000A_CC83)),
        vector: "lg_e450_hdlc_gbt_encrypted_2",
    });
}

#[test]
fn a_changed_value_changes_the_bytes() {
    // The byte-exact tests can fail: one Wh more is another push.
    let mut s = snapshot("2021-09-27T07:47:15Z");
    s.import_wh = [12_938, 0];
    s.voltage_dv = [2337, 0, 0];
    s.power_factor_milli = 1000;
    let push = build(&Setup {
        profile: "kaifa-ma309-evn",
        layout: &layout::EVN_KAIFA,
        snapshot: s,
        meter_id: "181220000009",
        invoke: 0x8006_870E,
        cipher: Some(("4B464D6750000009", 0x23)),
        vector: "evn_netznoe_kaifa_ma309_doc_example",
    });
    assert_ne!(
        push.frames.concat(),
        hex(&vector("evn_netznoe_kaifa_ma309_doc_example").hex)
    );
}

// ---------------------------------------------------------------------------------------------
// Independent framing checks

/// A push reassembled from its frames by this test's own reading of the formats.
struct Received {
    /// The APDU as sent (ciphered or not).
    apdu: Vec<u8>,
}

/// Checks one M-Bus long frame and returns (CI, data after CI STSAP DTSAP).
fn check_mbus_frame(frame: &[u8], sagemcom_first: bool) -> (u8, Vec<u8>) {
    assert_eq!(frame[0], 0x68);
    assert_eq!(frame[3], 0x68);
    assert_eq!(frame[1], frame[2], "L repeated");
    let l = frame.len() - 6;
    if sagemcom_first {
        assert_eq!(l, 257, "the Sagemcom first frame carries 257 bytes");
        assert_eq!(frame[1], 0x01, "… and says 01");
    } else {
        assert_eq!(
            usize::from(frame[1]),
            l,
            "L = bytes from C to the last data byte"
        );
    }
    assert_eq!(frame[4], 0x53, "C = SND_UD");
    assert_eq!(frame[5], 0xFF, "A = broadcast");
    assert_eq!(&frame[7..9], &[0x01, 0x67], "STSAP, DTSAP");
    let cs = frame[4..frame.len() - 2]
        .iter()
        .fold(0u8, |s, &b| s.wrapping_add(b));
    assert_eq!(frame[frame.len() - 2], cs, "checksum");
    assert_eq!(frame[frame.len() - 1], 0x16);
    (frame[6], frame[9..frame.len() - 2].to_vec())
}

/// Checks one HDLC frame and returns (segmented, dest, src, control, info).
fn check_hdlc_frame(frame: &[u8]) -> (bool, Vec<u8>, Vec<u8>, u8, Vec<u8>) {
    assert_eq!(frame[0], 0x7E);
    assert_eq!(frame[frame.len() - 1], 0x7E);
    let format = u16::from_be_bytes([frame[1], frame[2]]);
    assert_eq!(format >> 12, 0xA, "frame format type 3");
    assert_eq!(usize::from(format & 0x7FF), frame.len() - 2, "length field");
    let mut i = 3;
    let addr = |i: &mut usize| {
        let start = *i;
        while frame[*i] & 1 == 0 {
            *i += 1;
        }
        *i += 1;
        frame[start..*i].to_vec()
    };
    let dest = addr(&mut i);
    let src = addr(&mut i);
    let control = frame[i];
    i += 1;
    let hcs = u16::from_le_bytes([frame[i], frame[i + 1]]);
    assert_eq!(hcs, X25.checksum(&frame[1..i]), "HCS");
    let end = frame.len() - 3;
    let fcs = u16::from_le_bytes([frame[end], frame[end + 1]]);
    assert_eq!(fcs, X25.checksum(&frame[1..end]), "FCS");
    (
        format & 0x0800 != 0,
        dest,
        src,
        control,
        frame[i + 2..end].to_vec(),
    )
}

/// Reassembles and checks one push of a profile.
fn receive(profile: &str, frames: &[Vec<u8>]) -> Received {
    match profile {
        "kaifa-ma309-evn"
        | "kaifa-ma309-tinetz"
        | "kaifa-ma309-tinetz-1ph"
        | "sagemcom-t210d-evn" => {
            assert_eq!(frames.len(), 2, "{profile}: two M-Bus frames");
            let mut apdu = Vec::new();
            let mut cis = Vec::new();
            for (k, f) in frames.iter().enumerate() {
                let (ci, data) = check_mbus_frame(f, k == 0 && profile == "sagemcom-t210d-evn");
                cis.push(ci);
                apdu.extend(data);
            }
            assert_eq!(cis, [0x00, 0x11], "segment CI sequence");
            let (head, first_len, second_head, total) = match profile {
                "kaifa-ma309-evn" => (&[0x81, 0xF8][..], 256, [0x68, 0x14, 0x14, 0x68], 282),
                "sagemcom-t210d-evn" => (&[0x81, 0xF8][..], 263, [0x68, 0x0D, 0x0D, 0x68], 282),
                "kaifa-ma309-tinetz" => {
                    (&[0x82, 0x01, 0x55][..], 256, [0x68, 0x72, 0x72, 0x68], 376)
                }
                _ => (&[0x82, 0x01, 0x09][..], 256, [0x68, 0x26, 0x26, 0x68], 300),
            };
            assert_eq!(frames[0].len(), first_len);
            assert_eq!(&frames[1][..4], &second_head);
            assert_eq!(
                frames[0].len() + frames[1].len(),
                total,
                "{profile}: bytes per push"
            );
            assert_eq!(&apdu[..2], &[0xDB, 0x08]);
            assert_eq!(
                &apdu[10..10 + head.len()],
                head,
                "{profile}: APDU length field"
            );
            Received { apdu }
        }
        "lg-e450-described-hdlc" => {
            // HDLC segmentation: every frame but the last has the S bit; LLC in the first.
            let mut info_all = Vec::new();
            for (k, f) in frames.iter().enumerate() {
                let (seg, dest, src, control, info) = check_hdlc_frame(f);
                let last = k + 1 == frames.len();
                assert_eq!(seg, !last, "segmentation bit");
                // UI; the poll/final bit only on the last segment.
                assert_eq!(
                    (dest.as_slice(), src.as_slice(), control),
                    (
                        &[0xCE, 0xFF][..],
                        &[0x03][..],
                        if last { 0x13 } else { 0x03 }
                    )
                );
                assert!(info.len() <= 128);
                info_all.extend(info);
            }
            assert!(frames.len() > 1, "{profile}: segmented");
            assert_eq!(&info_all[..3], &[0xE6, 0xE7, 0x00], "LLC");
            Received {
                apdu: info_all[3..].to_vec(),
            }
        }
        "lg-e450-gbt" | "lg-e450-cyprus" => {
            let mut apdu = Vec::new();
            for (k, f) in frames.iter().enumerate() {
                let (seg, dest, src, control, info) = check_hdlc_frame(f);
                assert!(!seg);
                assert_eq!(
                    (dest.as_slice(), src.as_slice(), control),
                    (&[0xCE, 0xFF][..], &[0x03][..], 0x13)
                );
                let block = if k == 0 {
                    assert_eq!(&info[..3], &[0xE6, 0xE7, 0x00], "LLC in the first frame");
                    &info[3..]
                } else {
                    &info[..]
                };
                assert!(info.len() <= 129);
                let last = k + 1 == frames.len();
                assert_eq!(block[0], 0xE0, "GBT");
                assert_eq!(block[1], if last { 0xC0 } else { 0x40 }, "block control");
                assert_eq!(
                    u16::from_be_bytes([block[2], block[3]]),
                    k as u16 + 1,
                    "block number"
                );
                assert_eq!(&block[4..6], &[0, 0], "no acknowledgement");
                assert_eq!(usize::from(block[6]), block.len() - 7, "block data length");
                apdu.extend_from_slice(&block[7..]);
            }
            Received { apdu }
        }
        _ => {
            assert_eq!(frames.len(), 1, "{profile}: one HDLC frame");
            let (seg, dest, src, control, info) = check_hdlc_frame(&frames[0]);
            assert!(!seg);
            let expect: (&[u8], &[u8], u8) = match profile {
                "aidon-han" => (&[0x41], &[0x08, 0x83], 0x13),
                "kamstrup-han" => (&[0x41], &[0x03], 0x13),
                "kaifa-han" => (&[0x01], &[0x02, 0x01], 0x10),
                other => panic!("unknown profile {other}"),
            };
            assert_eq!(
                (dest.as_slice(), src.as_slice(), control),
                expect,
                "{profile}: header"
            );
            assert_eq!(&info[..3], &[0xE6, 0xE7, 0x00], "LLC");
            Received {
                apdu: info[3..].to_vec(),
            }
        }
    }
}

/// (system title, security control, invocation counter, plaintext) of a general-glo-ciphering
/// APDU, decrypted here with aes-gcm (the tag verified when there is one).
fn decrypt(apdu: &[u8], key: &Key, auth_key: Option<&Key>) -> ([u8; 8], u8, u32, Vec<u8>) {
    assert_eq!(&apdu[..2], &[0xDB, 0x08]);
    let title: [u8; 8] = apdu[2..10].try_into().expect("title");
    let (len, at) = match apdu[10] {
        0x81 => (usize::from(apdu[11]), 12),
        0x82 => (usize::from(u16::from_be_bytes([apdu[11], apdu[12]])), 13),
        n => (usize::from(n), 11),
    };
    assert_eq!(apdu.len(), at + len, "APDU length field");
    let sc = apdu[at];
    let ic = u32::from_be_bytes(apdu[at + 1..at + 5].try_into().expect("ic"));
    let mut iv = [0u8; 12];
    iv[..8].copy_from_slice(&title);
    iv[8..].copy_from_slice(&ic.to_be_bytes());
    let cipher = Gcm::new(key.expose().into());
    let body = &apdu[at + 5..];
    let plain = if sc & 0x10 != 0 {
        let (ct, tag) = body.split_at(body.len() - 12);
        let mut aad = vec![sc];
        aad.extend_from_slice(auth_key.expect("auth key for SC 0x30").expose());
        let mut buf = ct.to_vec();
        cipher
            .decrypt_in_place_detached(
                (&iv).into(),
                &aad,
                &mut buf,
                aes_gcm::aead::generic_array::GenericArray::from_slice(tag),
            )
            .expect("GCM tag verifies");
        buf
    } else {
        // Encryption only: the GCM keystream without the tag; XOR is its own inverse.
        let mut buf = body.to_vec();
        cipher
            .encrypt_in_place_detached((&iv).into(), &[], &mut buf)
            .expect("keystream");
        buf
    };
    (title, sc, ic, plain)
}

// A tiny A-XDR reader of this test's own.

#[derive(Clone, Debug, PartialEq)]
enum D {
    List(Vec<D>),
    Int(i128, u8),
    Octets(Vec<u8>, u8),
    Null,
}

fn axdr_len(b: &[u8], i: &mut usize) -> usize {
    let first = b[*i];
    *i += 1;
    if first < 0x80 {
        return usize::from(first);
    }
    let n = usize::from(first & 0x7F);
    let mut v = 0usize;
    for _ in 0..n {
        v = (v << 8) | usize::from(b[*i]);
        *i += 1;
    }
    v
}

fn axdr(b: &[u8], i: &mut usize) -> D {
    let tag = b[*i];
    *i += 1;
    let mut int = |n: usize, signed: bool| {
        let bytes = &b[*i..*i + n];
        *i += n;
        let mut v: i128 = 0;
        for &x in bytes {
            v = (v << 8) | i128::from(x);
        }
        if signed && bytes[0] & 0x80 != 0 {
            v -= 1i128 << (8 * n);
        }
        D::Int(v, tag)
    };
    match tag {
        0x00 => D::Null,
        0x01 | 0x02 => {
            let n = axdr_len(b, i);
            D::List((0..n).map(|_| axdr(b, i)).collect())
        }
        0x05 => int(4, true),
        0x06 => int(4, false),
        0x0F => int(1, true),
        0x10 => int(2, true),
        0x11 | 0x16 => int(1, false),
        0x12 => int(2, false),
        0x09 | 0x0A => {
            let n = axdr_len(b, i);
            let s = b[*i..*i + n].to_vec();
            *i += n;
            D::Octets(s, tag)
        }
        t => panic!("unexpected A-XDR tag {t:#04x}"),
    }
}

/// (header date-time bytes, body) of a data-notification.
fn notification(plain: &[u8]) -> (Option<Vec<u8>>, D) {
    assert_eq!(plain[0], 0x0F, "a data-notification");
    let mut i = 5;
    let dt = match plain[i] {
        0x00 => {
            i += 1;
            None
        }
        0x0C => {
            i += 13;
            Some(plain[i - 12..i].to_vec())
        }
        0x09 => {
            assert_eq!(plain[i + 1], 0x0C);
            i += 14;
            Some(plain[i - 12..i].to_vec())
        }
        t => panic!("date-time tag {t:#04x}"),
    };
    let body = axdr(plain, &mut i);
    assert_eq!(i, plain.len(), "the body fills the APDU");
    (dt, body)
}

fn obis_text(o: &[u8]) -> String {
    format!("{}-{}:{}.{}.{}*{}", o[0], o[1], o[2], o[3], o[4], o[5])
}

fn unit_name(code: i128) -> Option<&'static str> {
    match code {
        27 => Some("W"),
        29 => Some("var"),
        30 => Some("Wh"),
        32 => Some("varh"),
        33 => Some("A"),
        35 => Some("V"),
        _ => None,
    }
}

/// One list entry as this test reads it: (OBIS if sent, value, scaler_unit if sent).
type Entry = (Option<String>, D, Option<(i128, i128)>);

fn entries(body: &D) -> Vec<Entry> {
    let D::List(items) = body else {
        panic!("the body is a list")
    };
    let is_obis = |d: &D| matches!(d, D::Octets(o, 0x09) if o.len() == 6);
    let su = |d: Option<&D>| match d {
        Some(D::List(p)) if p.len() == 2 => match (&p[0], &p[1]) {
            (D::Int(s, 0x0F), D::Int(u, 0x16)) => Some((*s, *u)),
            _ => None,
        },
        _ => None,
    };
    let mut out = Vec::new();
    let mut k = 0;
    while k < items.len() {
        match &items[k] {
            D::List(parts) if parts.first().is_some_and(is_obis) => {
                let D::Octets(o, _) = &parts[0] else {
                    unreachable!()
                };
                out.push((Some(obis_text(o)), parts[1].clone(), su(parts.get(2))));
                k += 1;
            }
            D::Octets(o, _) if is_obis(&items[k]) => {
                let s = su(items.get(k + 2));
                out.push((Some(obis_text(o)), items[k + 1].clone(), s));
                k += if s.is_some() { 3 } else { 2 };
            }
            other => {
                out.push((None, other.clone(), None));
                k += 1;
            }
        }
    }
    out
}

/// Whether an OBIS id names a clock object (`x-x:1.0.0`).
fn is_clock(id: &str) -> bool {
    id.split(':')
        .nth(1)
        .is_some_and(|r| r.starts_with("1.0.0*"))
}

/// The integer a value was sent as, where the truth scales a value sent without scaler_unit by
/// its list's description: `Decimal::new(raw, scaler)` keeps the raw integer as its mantissa.
fn sent(value: &Scalar) -> Scalar {
    match value {
        Scalar::Number(n) => Scalar::Number(Decimal::from_int(n.mantissa())),
        other => other.clone(),
    }
}

/// A capture object `{class, logical name, attribute, data index 0}` as (class, id, attribute).
fn capture_object(d: &D) -> (i128, String, i128) {
    match d {
        D::List(p) if p.len() == 4 => match (&p[0], &p[1], &p[2], &p[3]) {
            (D::Int(class, 0x12), D::Octets(o, 0x09), D::Int(attr, 0x0F), D::Int(0, 0x12))
                if o.len() == 6 =>
            {
                (*class, obis_text(o), *attr)
            }
            other => panic!("capture object {other:?}"),
        },
        other => panic!("capture object {other:?}"),
    }
}

/// A self-describing push: the first element is the push_object_list, the push setup (class
/// 40) first, one entry per element; the truth has every value the list names with its id,
/// scaled by the register's scaler_unit where the list captures it (attribute 3, right after
/// the value in these profiles), and the attribute where it is not 2.
fn check_described(profile: &str, body: &D, truth: &Reading) {
    let D::List(items) = body else {
        panic!("{profile}: the body is a list")
    };
    let D::List(list) = &items[0] else {
        panic!("{profile}: push_object_list first")
    };
    assert_eq!(list.len(), items.len(), "{profile}: one entry per element");
    assert_eq!(
        capture_object(&list[0]).0,
        40,
        "{profile}: the push setup itself"
    );
    let mut expected = Vec::new();
    for k in 1..items.len() {
        let (class, id, attr) = capture_object(&list[k]);
        if class == 8 || (class == 3 && attr == 3) {
            continue; // the clock; a scaler_unit, applied to its value
        }
        let su = list
            .get(k + 1)
            .map(capture_object)
            .filter(|(c, i, a)| *c == 3 && *i == id && *a == 3)
            .map(|_| match &items[k + 1] {
                D::List(p) => match (&p[0], &p[1]) {
                    (D::Int(s, 0x0F), D::Int(u, 0x16)) => (*s, *u),
                    other => panic!("{profile}: scaler_unit {other:?}"),
                },
                other => panic!("{profile}: scaler_unit {other:?}"),
            });
        let value = match &items[k] {
            D::Int(v, _) => Scalar::Number(match su {
                Some((s, _)) => Decimal::new(*v, s as i32),
                None => Decimal::from_int(*v),
            }),
            D::Octets(b, _) => Scalar::Text(String::from_utf8(b.clone()).expect("ascii")),
            other => panic!("{profile}: value {other:?}"),
        };
        let unit = su.and_then(|(_, u)| unit_name(u)).map(str::to_string);
        let attribute = (attr != 2).then(|| i8::try_from(attr).expect("attribute"));
        expected.push((id, value, unit, attribute));
    }
    let got: Vec<(String, Scalar, Option<String>, Option<i8>)> = truth
        .values
        .iter()
        .map(|v| {
            (
                v.id.to_string(),
                v.value.clone(),
                v.unit.as_deref().map(str::to_string),
                v.attribute,
            )
        })
        .collect();
    assert_eq!(got, expected, "{profile}: truth = the described list");
}

/// The truth lists exactly the registers the push carries, with the values it carries.
fn check_truth_matches_list(profile: &str, body: &D, truth: &Reading) {
    if matches!(profile, "lg-e450-cyprus" | "lg-e450-described-hdlc") {
        return check_described(profile, body, truth);
    }
    let mut expected: Vec<(String, Scalar, Option<String>)> = Vec::new();
    let mut unnamed = Vec::new();
    for (obis, value, su) in entries(body) {
        if let (None, D::Octets(b, 0x09)) = (&obis, &value) {
            if b.len() == 12 && !b.iter().all(|c| (0x20..0x7F).contains(c)) {
                continue; // a clock without a code
            }
        }
        if obis.as_deref().is_some_and(is_clock) {
            continue;
        }
        let shown = match &value {
            D::Int(v, _) => Scalar::Number(match su {
                Some((s, _)) => Decimal::new(*v, s as i32),
                None => Decimal::from_int(*v),
            }),
            D::Octets(b, _) => Scalar::Text(String::from_utf8(b.clone()).expect("ascii")),
            other => panic!("{profile}: value {other:?}"),
        };
        let unit = su.and_then(|(_, u)| unit_name(u)).map(str::to_string);
        match obis {
            Some(id) => expected.push((id, shown, unit)),
            None => unnamed.push(shown),
        }
    }
    let named_in_truth: Vec<(String, Scalar, Option<String>)> = truth
        .values
        .iter()
        .map(|v| {
            (
                v.id.to_string(),
                v.value.clone(),
                v.unit.as_deref().map(str::to_string),
            )
        })
        .collect();
    match profile {
        // Every element without a code is catalogued: list id, id, type, then registers.
        "kaifa-han" => {
            // No scaler_unit is sent: the truth is the sent integer at the scale of the
            // KFM_001 description (mantissa = the integer), with its unit.
            let truth_values: Vec<Scalar> = truth.values.iter().map(|v| sent(&v.value)).collect();
            assert_eq!(truth_values, unnamed, "kaifa-han: every element, in order");
            let units = truth.values.iter().filter(|v| v.unit.is_some()).count();
            assert_eq!(units, truth.values.len() - 3, "every register has its unit");
        }
        "kamstrup-han" => {
            assert_eq!(unnamed, [Scalar::Text("Kamstrup_V0001".into())]);
            let sent_in_truth: Vec<(String, Scalar, Option<String>)> = named_in_truth[1..]
                .iter()
                .map(|(id, value, _)| (id.clone(), sent(value), None))
                .collect();
            assert_eq!(sent_in_truth, expected.as_slice());
        }
        _ => {
            // EVN's meter number is sent without a code: the catalogue names it 0-0:96.1.0, the
            // last value, and it names the meter.
            let mut expected = expected;
            for u in &unnamed {
                if let Scalar::Text(t) = u {
                    assert_eq!(truth.meter_id.as_deref(), Some(t.as_str()));
                    expected.push(("0-0:96.1.0*255".into(), u.clone(), None));
                }
            }
            assert_eq!(named_in_truth, expected, "{profile}: truth = the list");
        }
    }
}

const ENCRYPTED: [&str; 7] = [
    "kaifa-ma309-evn",
    "kaifa-ma309-tinetz",
    "kaifa-ma309-tinetz-1ph",
    "sagemcom-t210d-evn",
    "kamstrup-han",
    "lg-e450-gbt",
    "lg-e450-described-hdlc",
];
const ALL: [&str; 10] = [
    "kaifa-ma309-evn",
    "kaifa-ma309-tinetz",
    "kaifa-ma309-tinetz-1ph",
    "sagemcom-t210d-evn",
    "aidon-han",
    "kamstrup-han",
    "kaifa-han",
    "lg-e450-gbt",
    "lg-e450-cyprus",
    "lg-e450-described-hdlc",
];

fn meter(spec: MeterSpec) -> Box<dyn Meter> {
    spec.build(Seed(42)).expect("profile builds")
}

/// One push: its emissions, checked to carry the truth on the last frame only.
fn push(m: &mut dyn Meter) -> (Vec<Emission>, Reading) {
    let e = m.push();
    assert!(!e.is_empty());
    for earlier in &e[..e.len() - 1] {
        assert!(earlier.truth.is_empty(), "truth only on the last frame");
    }
    let last = e.last().expect("frames");
    assert_eq!(last.truth.len(), 1);
    let truth = last.truth[0].clone();
    (e, truth)
}

/// Plaintext and invocation counter of a push of a meter.
fn open(profile: &str, m: &dyn Meter, frames: &[Vec<u8>]) -> (Vec<u8>, Option<u32>) {
    let r = receive(profile, frames);
    if r.apdu[0] == 0xDB {
        let keys = m.keys();
        let (_, _, ic, plain) = decrypt(
            &r.apdu,
            keys.encryption.as_ref().expect("key"),
            keys.authentication.as_ref(),
        );
        (plain, Some(ic))
    } else {
        (r.apdu, None)
    }
}

fn energy_ids(r: &Reading) -> Vec<(String, Decimal)> {
    r.values
        .iter()
        .filter(|v| {
            v.id.split(':')
                .nth(1)
                .is_some_and(|cde| cde.split('.').nth(1) == Some("8"))
        })
        .filter_map(|v| match v.value {
            Scalar::Number(d) => Some((v.id.to_string(), d)),
            Scalar::Text(_) => None,
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Every profile

#[test]
fn every_profile_frames_decrypts_and_tells_the_truth() {
    for profile in ALL {
        let mut m = meter(MeterSpec::new(profile));
        assert_eq!(m.protocol(), meterlab_decoder::Protocol::Dlms);
        let interval = m.next_push_ns();
        assert_eq!(interval, Some(0));
        let mut last_ic = None;
        let mut last_energy: Vec<(String, Decimal)> = Vec::new();
        for n in 0..12u64 {
            let at = m.next_push_ns().expect("pushes");
            let (e, truth) = push(m.as_mut());
            assert_eq!(e[0].at_ns, at);
            let frames: Vec<Vec<u8>> = e.iter().map(|e| e.bytes.clone()).collect();
            let (plain, ic) = open(profile, m.as_ref(), &frames);
            assert_eq!(
                plain[0], 0x0F,
                "{profile}: plaintext is a data-notification"
            );
            if ENCRYPTED.contains(&profile) {
                let ic = ic.expect("ciphered");
                if let Some(prev) = last_ic {
                    assert_eq!(ic, prev + 1, "{profile}: IC increments per push");
                }
                last_ic = Some(ic);
            } else {
                assert_eq!(ic, None, "{profile} is plain");
            }
            let (dt, body) = notification(&plain);
            check_truth_matches_list(profile, &body, &truth);
            match profile {
                "aidon-han" => assert!(dt.is_none()),
                _ => assert!(dt.is_some(), "{profile}: header date-time"),
            }
            assert!(truth.time.is_some(), "{profile}: every push is timed");
            let energy = energy_ids(&truth);
            for (id, v) in &energy {
                if let Some((_, before)) = last_energy.iter().find(|(i, _)| i == id) {
                    assert!(v >= before, "{profile} push {n}: {id} went backwards");
                }
            }
            if !energy.is_empty() {
                last_energy = energy;
            }
        }
    }
}

#[test]
fn pushes_follow_the_interval() {
    for (profile, s) in [
        ("kaifa-ma309-evn", 5),
        ("kaifa-ma309-tinetz", 5),
        ("sagemcom-t210d-evn", 5),
        ("aidon-han", 10),
        ("kamstrup-han", 10),
        ("kaifa-han", 10),
        ("lg-e450-gbt", 5),
        ("lg-e450-cyprus", 15),
        ("lg-e450-described-hdlc", 10),
    ] {
        let mut m = meter(MeterSpec::new(profile));
        for k in 0..4u64 {
            let (e, _) = push(m.as_mut());
            assert_eq!(e[0].at_ns, k * s * 1_000_000_000, "{profile}");
        }
    }
}

#[test]
fn registers_never_go_backwards_over_hours() {
    for profile in ALL {
        let mut spec = MeterSpec::new(profile);
        spec.interval = Some("10min".into());
        spec.options.set("solar_w", 3000);
        spec.start = Some("2025-06-14T06:00:00Z".into());
        let mut m = meter(spec);
        let mut last: Vec<(String, Decimal)> = Vec::new();
        let mut seen = 0;
        let mut moved = false;
        for _ in 0..40 {
            let (_, truth) = push(m.as_mut());
            let now = energy_ids(&truth);
            for (id, v) in &now {
                if let Some((_, before)) = last.iter().find(|(i, _)| i == id) {
                    assert!(v >= before, "{profile}: {id} went backwards");
                    moved |= v > before;
                }
            }
            if !now.is_empty() {
                seen += 1;
                last = now;
            }
        }
        assert!(seen > 0, "{profile}: energy registers sent");
        assert!(moved, "{profile}: a house uses energy");
    }
}

#[test]
fn evn_frames_are_160_ms_apart_by_default() {
    let char_ns: f64 = 11.0 * 1e9 / 2400.0;
    let mut m = meter(MeterSpec::new("kaifa-ma309-evn"));
    let (e, _) = push(m.as_mut());
    assert_eq!(e.len(), 2);
    let end_of_first = (256.0 * char_ns).ceil() as u64;
    assert_eq!(e[1].at_ns, end_of_first + 160_000_000);

    let mut spec = MeterSpec::new("kaifa-ma309-evn");
    spec.options.set("segment_gap", "0s");
    let mut m = meter(spec);
    let (e, _) = push(m.as_mut());
    assert_eq!(e[1].at_ns, end_of_first, "back to back");

    // The E450 at 8N1: three frames back to back.
    let mut m = meter(MeterSpec::new("lg-e450-gbt"));
    let (e, _) = push(m.as_mut());
    let char_ns: f64 = 10.0 * 1e9 / 2400.0;
    assert_eq!(e.len(), 3);
    assert_eq!(e[1].at_ns, (141.0 * char_ns).ceil() as u64);
    assert_eq!(m.uart().format(), "8N1");
}

#[test]
fn replay_resends_the_previous_push() {
    for profile in ["kaifa-ma309-evn", "aidon-han", "lg-e450-gbt"] {
        let mut spec = MeterSpec::new(profile);
        spec.options.set("replay_at", 3);
        let mut m = meter(spec);
        let pushes: Vec<(Vec<Emission>, Reading)> = (0..5).map(|_| push(m.as_mut())).collect();
        let bytes =
            |k: usize| -> Vec<Vec<u8>> { pushes[k].0.iter().map(|e| e.bytes.clone()).collect() };
        assert_eq!(bytes(3), bytes(2), "{profile}: push 3 is push 2's bytes");
        assert_eq!(pushes[3].1, pushes[2].1, "{profile}: and its reading");
        assert_ne!(bytes(4), bytes(2));
        assert_eq!(
            pushes[3].0[0].at_ns,
            3 * pushes[1].0[0].at_ns,
            "at its own slot"
        );
        if profile != "aidon-han" {
            let ic = |k: usize| open(profile, m.as_ref(), &bytes(k)).1.expect("ic");
            assert_eq!(ic(3), ic(2));
            assert_eq!(
                ic(4),
                ic(2) + 1,
                "{profile}: the meter's counter did not move"
            );
        }
    }
}

#[test]
fn counter_reset_goes_back_to_the_first_counter() {
    for profile in ENCRYPTED {
        let mut spec = MeterSpec::new(profile);
        spec.options.set("counter_reset_at", 2);
        spec.options.set("frame_counter", 1000);
        let mut m = meter(spec);
        let ics: Vec<u32> = (0..4)
            .map(|_| {
                let (e, _) = push(m.as_mut());
                let frames: Vec<Vec<u8>> = e.iter().map(|e| e.bytes.clone()).collect();
                open(profile, m.as_ref(), &frames).1.expect("ic")
            })
            .collect();
        assert_eq!(ics, [1000, 1001, 1000, 1001], "{profile}");
    }
}

#[test]
fn options_override_keys_title_and_id() {
    let mut spec = MeterSpec::new("kaifa-ma309-evn");
    spec.options.set("key", "000102030405060708090A0B0C0D0E0F");
    spec.options.set("system_title", "4B464D6750001234");
    spec.options.set("equipment_id", "181220001234");
    let mut m = meter(spec);
    let (e, truth) = push(m.as_mut());
    assert_eq!(
        m.keys().encryption.map(|k| *k.expose()),
        Some(*key("000102030405060708090A0B0C0D0E0F").expose())
    );
    assert_eq!(m.keys().authentication, None);
    assert_eq!(&e[0].bytes[11..19], &st("4B464D6750001234"));
    assert_eq!(truth.meter_id.as_deref(), Some("181220001234"));

    let mut spec = MeterSpec::new("kaifa-ma309-tinetz");
    spec.options.set("equipment_id", "1KFM0200999999");
    let mut m = meter(spec);
    let (_, truth) = push(m.as_mut());
    assert_eq!(
        truth.value("0-0:42.0.0*255").map(|v| &v.value),
        Some(&Scalar::Text("KFM1200200999999".into()))
    );

    // Default keys are the corpus keys of the modelled capture.
    let m = meter(MeterSpec::new("lg-e450-gbt"));
    let keys = m.keys();
    assert_eq!(
        keys.encryption.map(|k| *k.expose()),
        Some(*key("5C316162209EBB790B52EB0E7FC5B11C").expose())
    );
    assert_eq!(
        keys.authentication.map(|k| *k.expose()),
        Some(*key("92705C5C97286064EABAE38D190F87A4").expose())
    );
    assert_eq!(
        meter(MeterSpec::new("aidon-han")).keys(),
        meterlab_decoder::Keys::default()
    );
}

#[test]
fn aidon_single_phase_sends_the_single_phase_list() {
    let mut spec = MeterSpec::new("aidon-han");
    spec.options.set("three_phase", false);
    spec.options.set("equipment_id", "7359992890941742");
    let mut m = meter(spec);
    let (_, truth) = push(m.as_mut());
    assert_eq!(truth.meter_id.as_deref(), Some("7359992890941742"));
    assert_eq!(truth.values.len(), 9);
    assert_eq!(truth.time, None);
}

#[test]
fn kaifa_han_sends_list_3_on_the_hour() {
    let mut spec = MeterSpec::new("kaifa-han");
    spec.start = Some("2025-01-15T08:59:40Z".into());
    let mut m = meter(spec);
    let sizes: Vec<usize> = (0..4)
        .map(|_| {
            let (e, truth) = push(m.as_mut());
            assert_eq!(&e[0].bytes[17..19], &[0x09, 0x0C], "typed date-time quirk");
            let (plain, _) = open("kaifa-han", m.as_ref(), &[e[0].bytes.clone()]);
            let (_, body) = notification(&plain);
            let D::List(items) = body else { panic!("list") };
            assert_eq!(
                truth.value("1-0:1.8.0*255").is_some(),
                items.len() == 18,
                "energy only in list 3"
            );
            items.len()
        })
        .collect();
    // 09:59:40, 09:59:50, 10:00:00 (list 3), 10:00:10 local.
    assert_eq!(sizes, [13, 13, 18, 13]);
}

#[test]
fn sagemcom_sends_the_power_factor_as_long() {
    let mut m = meter(MeterSpec::new("sagemcom-t210d-evn"));
    let (e, _) = push(m.as_mut());
    let frames: Vec<Vec<u8>> = e.iter().map(|e| e.bytes.clone()).collect();
    let (plain, _) = open("sagemcom-t210d-evn", m.as_ref(), &frames);
    let pf = [0x09, 0x06, 0x01, 0x00, 0x0D, 0x07, 0x00, 0xFF];
    let at = plain
        .windows(pf.len())
        .position(|w| w == pf)
        .expect("13.7.0 in the list");
    assert_eq!(plain[at + pf.len()], 0x10, "long (i16)");
    let mut m = meter(MeterSpec::new("kaifa-ma309-evn"));
    let (e, _) = push(m.as_mut());
    let frames: Vec<Vec<u8>> = e.iter().map(|e| e.bytes.clone()).collect();
    let (plain, _) = open("kaifa-ma309-evn", m.as_ref(), &frames);
    let at = plain
        .windows(pf.len())
        .position(|w| w == pf)
        .expect("13.7.0");
    assert_eq!(plain[at + pf.len()], 0x12, "Kaifa: long-unsigned");
}

#[test]
fn options_a_profile_does_not_use_are_errors() {
    let bad = |profile: &str, f: &dyn Fn(&mut MeterSpec)| {
        let mut spec = MeterSpec::new(profile);
        f(&mut spec);
        spec.build(Seed(1)).err()
    };
    assert!(bad("aidon-han", &|s| s
        .options
        .set("key", "000102030405060708090A0B0C0D0E0F"))
    .is_some());
    assert!(bad("kaifa-han", &|s| s.options.set("counter_reset_at", 3)).is_some());
    assert!(bad("kaifa-han", &|s| s
        .options
        .set("system_title", "4B464D6750000009"))
    .is_some());
    assert!(bad("kaifa-ma309-evn", &|s| s
        .options
        .set("auth_key", "000102030405060708090A0B0C0D0E0F"))
    .is_some());
    assert!(bad("kamstrup-han", &|s| s.options.set("equipment_id", "x")).is_some());
    assert!(
        bad("aidon-han", &|s| s.options.set("equipment_id", "x")).is_some(),
        "3-phase Aidon list has no id"
    );
    assert!(bad("aidon-han", &|s| s.options.set("segment_gap", "10ms")).is_some());
    assert!(bad("kaifa-ma309-evn", &|s| s.options.set("segment_gap", "ten")).is_some());
    assert!(bad("kaifa-ma309-evn", &|s| s.options.set("replay_at", 0)).is_some());
    assert!(bad("kaifa-ma309-evn", &|s| s
        .options
        .set("system_title", "4B46"))
    .is_some());
    assert!(bad("kaifa-ma309-evn", &|s| s.options.set("gas", true)).is_some());
    assert!(bad("kaifa-ma309-evn", &|s| {
        s.options.set("replay_at", 2);
        s.options.set("counter_reset_at", 2);
    })
    .is_some());
    assert!(bad("kaifa-ma309-tinetz-1ph", &|s| s
        .options
        .set("three_phase", true))
    .is_some());
    assert!(bad("dsmr-5.0", &|s| s.options.set("replay_at", 2)).is_some());
    assert!(bad("dsmr-5.0", &|s| s.options.set("segment_gap", "1s")).is_some());
    // And the options that apply are accepted.
    assert!(bad("kamstrup-han", &|s| {
        s.options
            .set("auth_key", "000102030405060708090A0B0C0D0E0F");
        s.options.set("frame_counter", 7);
        s.options.set("replay_at", 1);
    })
    .is_none());
    assert!(bad("dsmr-5.0", &|_| {}).is_none());
}

#[test]
fn catalogue_lists_the_dlms_profiles() {
    let cat = meterlab_sim::profile::catalogue();
    for profile in ALL {
        let p = cat.iter().find(|p| p.name == profile).expect("listed");
        assert_eq!(p.protocol, meterlab_decoder::Protocol::Dlms);
        assert!(p.line.starts_with("2400 8"));
    }
}

#[test]
fn same_seed_same_bytes() {
    for profile in ALL {
        let run = |seed| {
            let mut m = MeterSpec::new(profile).build(Seed(seed)).expect("builds");
            (0..3)
                .flat_map(|_| m.push())
                .map(|e| e.bytes)
                .collect::<Vec<_>>()
        };
        assert_eq!(run(5), run(5), "{profile}");
    }
}
