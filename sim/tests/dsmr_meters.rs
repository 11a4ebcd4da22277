//! The virtual DSMR meters checked on their own terms (no decoder involved): framing and CRC of
//! every telegram, the Smarty encryption, registers that never go backwards, and an object layout
//! identical to the real meter each profile models (telegrams from `decoder/tests/data/dsmr/`,
//! captured from real meters; see the README there).

use std::path::Path;

use aes_gcm::aead::consts::U12;
use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::aes::Aes128;
use aes_gcm::AesGcm;
use crc::{Crc, CRC_16_ARC};
use meterlab_decoder::{Reading, Scalar};
use meterlab_sim::{Meter, MeterSpec, Seed};

const ARC: Crc<u16> = Crc::<u16>::new(&CRC_16_ARC);

fn meter(spec: MeterSpec) -> Box<dyn Meter> {
    spec.build(Seed(42)).expect("profile builds")
}

fn pushes(m: &mut dyn Meter, n: usize) -> Vec<(u64, Vec<u8>, Reading)> {
    (0..n)
        .map(|_| {
            let mut e = m.push();
            assert_eq!(e.len(), 1, "a DSMR push is one message");
            let e = e.remove(0);
            assert_eq!(e.truth.len(), 1, "a telegram carries one reading");
            let truth = e.truth.into_iter().next().expect("one reading");
            (e.at_ns, e.bytes, truth)
        })
        .collect()
}

/// Checks framing and CRC by hand: `/ident CR LF CR LF … !XXXX CR LF`.
fn check_plain_telegram(bytes: &[u8], with_crc: bool) {
    assert_eq!(bytes[0], b'/');
    assert!(bytes.iter().all(|&b| b.is_ascii()), "P1 text is 7-bit");
    let bang = bytes.iter().rposition(|&b| b == b'!').expect("ends with !");
    let tail = &bytes[bang + 1..];
    if with_crc {
        let stated = std::str::from_utf8(&tail[..4]).expect("hex digits");
        assert_eq!(
            u16::from_str_radix(stated, 16).expect("hex"),
            ARC.checksum(&bytes[..=bang])
        );
        assert_eq!(&tail[4..], b"\r\n");
    } else {
        assert_eq!(tail, b"\r\n");
    }
    for line in bytes[..bang].split(|&b| b == b'\n').skip(1) {
        assert!(
            line.is_empty() || line.ends_with(b"\r"),
            "every line ends in CR LF"
        );
        assert!(line.len() <= 1024 * 2 + 32, "line too long");
    }
}

fn ids(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| l.starts_with(|c: char| c.is_ascii_digit()))
        .filter_map(|l| l.split('(').next())
        .map(str::to_string)
        .collect()
}

fn number(r: &Reading, id: &str) -> meterlab_decoder::Decimal {
    match r.value(id).map(|v| &v.value) {
        Some(Scalar::Number(d)) => *d,
        other => panic!("{id}: {other:?}"),
    }
}

#[test]
fn plain_profiles_frame_and_crc() {
    for (profile, crc) in [
        ("dsmr-2.2", false),
        ("dsmr-4.2", true),
        ("dsmr-5.0", true),
        ("dsmr-emucs", true),
    ] {
        let mut m = meter(MeterSpec::new(profile));
        let interval = if matches!(profile, "dsmr-5.0" | "dsmr-emucs") {
            1
        } else {
            10
        };
        let mut last_import: Option<(meterlab_decoder::Decimal, meterlab_decoder::Decimal)> = None;
        for (i, (at, bytes, truth)) in pushes(m.as_mut(), 20).into_iter().enumerate() {
            assert_eq!(
                at,
                i as u64 * interval * 1_000_000_000,
                "{profile} pushes every {interval} s"
            );
            check_plain_telegram(&bytes, crc);
            let text = String::from_utf8(bytes).expect("ascii");
            // Every value of the truth is in the telegram under its reduced id.
            for v in &truth.values {
                let reduced = v.id.trim_end_matches("*255");
                assert!(
                    text.contains(reduced),
                    "{profile}: {reduced} not in telegram"
                );
            }
            let import = (
                number(&truth, "1-0:1.8.1*255"),
                number(&truth, "1-0:1.8.2*255"),
            );
            if let Some(last) = last_import {
                assert!(
                    import.0 >= last.0 && import.1 >= last.1,
                    "{profile}: energy went backwards"
                );
            }
            last_import = Some(import);
        }
    }
}

#[test]
fn dsmr_2_2_sends_7e1_and_the_old_gas_form() {
    let m = meter(MeterSpec::new("dsmr-2.2"));
    assert_eq!(m.uart().to_string(), "9600 7E1");
    let mut m = m;
    let (_, bytes, truth) = pushes(m.as_mut(), 1).remove(0);
    let text = String::from_utf8(bytes).expect("ascii");
    assert!(text.contains("0-1:24.3.0("), "{text}");
    assert!(text.contains(")(00)(60)(1)(0-1:24.2.1)(m3)\r\n("), "{text}");
    let gas = truth
        .value("0-1:24.3.0*255")
        .expect("gas value in the truth");
    assert_eq!(gas.unit.as_deref(), Some("m3"));
    assert!(
        gas.time.as_deref().is_some_and(|t| t.len() == 19),
        "no offset on a DSMR 2.2 time: {:?}",
        gas.time
    );
    assert_eq!(truth.time, None, "DSMR 2.2 sends no clock");
}

#[test]
fn smarty_frames_decrypt_with_the_key_and_auth_key() {
    let key = "0123456789ABCDEF0123456789ABCDEF";
    let mut spec = MeterSpec::new("dsmr-smarty");
    spec.options.set("key", key);
    let mut m = meter(spec);
    let keys = m.keys();
    assert!(keys.encryption.is_some() && keys.authentication.is_some());
    let mut counters = Vec::new();
    for (_, bytes, truth) in pushes(m.as_mut(), 3) {
        assert_eq!(&bytes[..2], &[0xDB, 0x08]);
        assert_eq!(&bytes[2..5], b"SAG", "Sagemcom system title");
        assert_eq!(bytes[10], 0x82, "two-byte A-XDR length as real meters send");
        let len = u16::from_be_bytes([bytes[11], bytes[12]]) as usize;
        assert_eq!(bytes.len(), 13 + len);
        assert_eq!(bytes[13], 0x30, "SC: authenticated and encrypted");
        let fc = u32::from_be_bytes([bytes[14], bytes[15], bytes[16], bytes[17]]);
        counters.push(fc);
        let pt = decrypt(&bytes, key);
        check_plain_telegram(&pt, true);
        let text = String::from_utf8(pt).expect("ascii");
        assert!(
            text.starts_with("/Lux5\\253663629_D\r\n\r\n1-3:0.2.8(42)\r\n"),
            "{text}"
        );
        assert_eq!(truth.meter_id.as_deref(), Some("SAG1030700114004"));
    }
    assert_eq!(counters[1], counters[0] + 1);
    assert_eq!(counters[2], counters[1] + 1);
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

fn corpus_ids(file: &str) -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../decoder/tests/data/dsmr")
        .join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let doc: serde_yaml::Value = serde_yaml::from_str(&text).expect("corpus yaml");
    let telegram = doc["text"]
        .as_str()
        .or_else(|| doc["text_escaped"].as_str())
        .expect("text");
    ids(telegram)
}

/// Each profile sends the objects of the real meter it models, in the same order.
#[test]
fn layouts_match_the_real_meters() {
    let cases = [
        ("dsmr-2.2", "dsmr_parser-v2_2-iskra-mt382-1004.yaml", true),
        ("dsmr-4.2", "dsmr_parser-v4_2-kaifa-ma105.yaml", true),
        ("dsmr-5.0", "dsmr_tools-truncated-then-full.yaml", false),
        ("dsmr-emucs", "dsmr_parser-fluvius-emucs-1_7_1-b.yaml", true),
        (
            "dsmr-smarty",
            "dsmr_reader-luxembourg-smarty-plain.yaml",
            true,
        ),
    ];
    for (profile, file, with_mbus) in cases {
        let mut real = corpus_ids(file);
        if profile == "dsmr-5.0" {
            // The vector holds a cut-off telegram first; keep the complete second one.
            let second = real
                .iter()
                .rposition(|i| i == "1-3:0.2.8")
                .expect("version line");
            real.drain(..second);
        }
        let ours = if profile == "dsmr-smarty" {
            smarty_plain_ids()
        } else {
            let mut m = meter(MeterSpec::new(profile));
            let (_, bytes, _) = pushes(m.as_mut(), 1).remove(0);
            ids(&String::from_utf8(bytes).expect("ascii"))
        };
        let keep = |v: &Vec<String>| -> Vec<String> {
            v.iter()
                .filter(|i| with_mbus || i.starts_with("0-0:") || i.starts_with("1-"))
                .cloned()
                .collect()
        };
        assert_eq!(keep(&ours), keep(&real), "{profile} vs {file}");
    }
}

fn smarty_plain_ids() -> Vec<String> {
    let key = "0123456789ABCDEF0123456789ABCDEF";
    let mut spec = MeterSpec::new("dsmr-smarty");
    spec.options.set("key", key);
    let mut m = meter(spec);
    let (_, bytes, _) = pushes(m.as_mut(), 1).remove(0);
    let pt = decrypt(&bytes, key);
    ids(&String::from_utf8(pt).expect("ascii"))
}

/// Decrypts a Smarty frame independently of the simulator's code: IV = system title ‖ frame
/// counter, AAD = 0x30 ‖ the standard Smarty AK, 12-byte tag at the end.
fn decrypt(frame: &[u8], key: &str) -> Vec<u8> {
    let mut iv = [0u8; 12];
    iv[..8].copy_from_slice(&frame[2..10]);
    iv[8..].copy_from_slice(&frame[14..18]);
    let mut aad = vec![0x30];
    aad.extend_from_slice(&hex("00112233445566778899AABBCCDDEEFF"));
    let (ct, tag) = frame[18..].split_at(frame.len() - 18 - 12);
    let mut pt = ct.to_vec();
    AesGcm::<Aes128, U12, U12>::new(hex(key).as_slice().into())
        .decrypt_in_place_detached(iv.as_slice().into(), &aad, &mut pt, tag.into())
        .expect("tag verifies");
    pt
}
