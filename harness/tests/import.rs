//! `meterlab import` as a user runs it: a capture becomes a scenario, its capture file and its
//! golden file, and `meterlab run` reproduces it; `--redact` leaves no original id or key.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use meterlab_decoder::{auto, Key, Keys, Message, Protocol, Scalar};
use meterlab_sim::{MeterSpec, Seed};

mod common;

fn meterlab(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_meterlab"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("METERLAB_KEY")
        .env_remove("METERLAB_AUTH_KEY")
        .output()
        .expect("meterlab runs")
}

fn temp_dir(name: &str) -> PathBuf {
    common::temp_dir("import", name)
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// `n` pushes of a virtual meter built from `spec`.
fn captured(spec: &MeterSpec, n: usize) -> Vec<u8> {
    let mut meter = spec.build(Seed(3)).expect("meter");
    (0..n)
        .flat_map(|_| meter.push())
        .flat_map(|e| e.bytes)
        .collect()
}

/// Every form an id can take in bytes or text: ASCII, hex of the ASCII (both cases), and for
/// digit strings packed BCD in both byte orders.
fn forms(id: &[u8]) -> Vec<Vec<u8>> {
    let mut out = vec![
        id.to_vec(),
        hex::encode(id).into_bytes(),
        hex::encode_upper(id).into_bytes(),
    ];
    if id.len() >= 4 && id.len() % 2 == 0 && id.iter().all(u8::is_ascii_digit) {
        let bcd: Vec<u8> = id
            .chunks(2)
            .map(|p| (p[0] - b'0') << 4 | (p[1] - b'0'))
            .collect();
        let mut reversed = bcd.clone();
        reversed.reverse();
        out.push(bcd);
        out.push(reversed);
    }
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    needle.len() <= hay.len() && hay.windows(needle.len()).any(|w| w == needle)
}

/// Every file `import` wrote, as bytes (the hex capture decoded too).
fn outputs(dir: &Path, name: &str) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for path in [
        dir.join(format!("out/{name}.yaml")),
        dir.join(format!("out/{name}.hex")),
        dir.join(format!("golden/{name}.snap")),
    ] {
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        if path.extension().is_some_and(|e| e == "hex") {
            let decoded = meterlab_harness::capture::read(
                &bytes,
                meterlab_harness::capture::InputFormat::Auto,
            )
            .expect("a capture")
            .bytes;
            out.push((format!("{} (bytes)", path.display()), decoded));
        }
        out.push((path.display().to_string(), bytes));
    }
    out
}

/// The ids a capture carries, as the reference decoder reads them: the meter id and every text
/// value with four digits or more.
fn ids(protocol: Protocol, keys: Keys, bytes: &[u8]) -> Vec<Vec<u8>> {
    let messages = auto::decoder_for(protocol, keys).decode_all(bytes);
    let mut ids = Vec::new();
    for r in messages.iter().filter_map(Message::reading) {
        ids.extend(r.meter_id.iter().map(|m| m.as_bytes().to_vec()));
        for v in &r.values {
            if let Scalar::Text(t) = &v.value {
                if t.chars().filter(char::is_ascii_digit).count() >= 4 {
                    ids.push(t.as_bytes().to_vec());
                    if let Ok(decoded) = hex::decode(t) {
                        ids.push(decoded);
                    }
                }
            }
        }
    }
    assert!(!ids.is_empty(), "the capture carries ids");
    ids.sort();
    ids.dedup();
    ids
}

fn assert_gone(dir: &Path, name: &str, secrets: &[Vec<u8>]) {
    for (file, bytes) in outputs(dir, name) {
        for s in secrets {
            for form in forms(s) {
                assert!(
                    !contains(&bytes, &form),
                    "{file} still holds {:?} (as {:?})",
                    String::from_utf8_lossy(s),
                    String::from_utf8_lossy(&form)
                );
            }
        }
    }
}

#[test]
fn import_writes_a_scenario_that_meterlab_run_reproduces() {
    let dir = temp_dir("plain");
    let bytes = captured(&MeterSpec::new("dsmr-4.2"), 3);
    std::fs::write(dir.join("report.txt"), &bytes).expect("write");
    let o = meterlab(
        &dir,
        &[
            "import",
            "report.txt",
            "--name",
            "user-report",
            "-o",
            "out/user-report.yaml",
            "--golden",
            "golden",
            "--reader",
            "115200 7E1",
            "--source",
            "https://example.org/issues/1",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let scenario = std::fs::read_to_string(dir.join("out/user-report.yaml")).expect("scenario");
    assert!(scenario.contains("profile: dsmr-4.2"), "{scenario}");
    // The capture is what the reader received: replayed at the reader's settings it reaches
    // the scenario's reader byte for byte.
    assert!(scenario.contains("sender: \"115200 7E1\""), "{scenario}");
    assert!(!scenario.contains("receiver:"), "{scenario}");
    assert!(
        scenario.contains("source: \"https://example.org/issues/1\""),
        "{scenario}"
    );
    assert!(scenario.contains("run: { telegrams: 3 }"), "{scenario}");
    // The capture beside it is the user's file, untouched.
    assert_eq!(
        std::fs::read(dir.join("out/user-report.capture.txt")).expect("capture"),
        bytes
    );
    let golden = std::fs::read_to_string(dir.join("golden/user-report.snap")).expect("golden");
    assert!(
        golden.contains(&format!("sent: 3 messages, {} bytes", bytes.len())),
        "{golden}"
    );
    // Sent and read at the user's reader settings: the reader gets the capture unchanged.
    assert!(golden.contains("115200 7E1 -> 115200 7E1"), "{golden}");
    assert!(
        golden.contains(&format!("received {} bytes", bytes.len())),
        "{golden}"
    );
    let run = meterlab(&dir, &["run", "out/user-report.yaml", "--golden", "golden"]);
    assert!(run.status.success(), "{}", text(&run));
}

#[test]
fn redacted_dsmr_keeps_no_id_and_checksums_hold() {
    let dir = temp_dir("dsmr");
    let spec = MeterSpec::new("dsmr-5.0")
        .with("equipment_id", "E0039003000012345")
        .with("gas", true);
    let bytes = captured(&spec, 2);
    let secrets = ids(Protocol::Dsmr, Keys::default(), &bytes);
    assert!(secrets.iter().any(|s| s == b"E0039003000012345"));
    std::fs::write(dir.join("p1.txt"), &bytes).expect("write");
    let o = meterlab(
        &dir,
        &[
            "import",
            "p1.txt",
            "--redact",
            "-o",
            "out/p1.yaml",
            "--golden",
            "golden",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert_gone(&dir, "p1", &secrets);
    let golden = std::fs::read_to_string(dir.join("golden/p1.snap")).expect("golden");
    assert!(
        golden.contains("2 readings from the replayed capture"),
        "{golden}"
    );
    assert!(golden.contains(", 0 errors"), "CRCs recomputed: {golden}");
    // The same input gives the same fakes.
    let again = meterlab(
        &dir,
        &[
            "import",
            "p1.txt",
            "--redact",
            "--name",
            "p1b",
            "-o",
            "out/p1b.yaml",
            "--golden",
            "golden",
        ],
    );
    assert!(again.status.success(), "{}", text(&again));
    assert_eq!(
        std::fs::read(dir.join("out/p1.hex")).expect("first"),
        std::fs::read(dir.join("out/p1b.hex")).expect("second")
    );
}

#[test]
fn redacted_encrypted_push_is_reencrypted_with_the_test_key() {
    let dir = temp_dir("dlms");
    let user_key = "39436F513777354C4D466F4C5333674A";
    let spec = MeterSpec::new("kaifa-ma309-evn")
        .with("key", user_key)
        .with("system_title", "4B464D1020029802");
    let bytes = captured(&spec, 2);
    let key: Key = user_key.parse().expect("key");
    let user = Keys {
        encryption: Some(key.clone()),
        authentication: None,
    };
    let mut secrets = ids(Protocol::Dlms, user, &bytes);
    assert!(
        secrets
            .iter()
            .any(|s| s.len() >= 12 && s.iter().all(u8::is_ascii_alphanumeric)),
        "the push carries a meter number: {secrets:?}"
    );
    secrets.push(vec![0x4B, 0x46, 0x4D, 0x10, 0x20, 0x02, 0x98, 0x02]);
    secrets.push(vec![0x10, 0x20, 0x02, 0x98, 0x02]);
    secrets.push(key.expose().to_vec());
    std::fs::write(dir.join("evn.hex"), hex::encode(&bytes)).expect("write");
    let o = meterlab(
        &dir,
        &[
            "import",
            "evn.hex",
            "--redact",
            "--key",
            user_key,
            "-o",
            "out/evn.yaml",
            "--golden",
            "golden",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(!text(&o).contains(user_key), "the key is never printed");
    assert_gone(&dir, "evn", &secrets);
    let scenario = std::fs::read_to_string(dir.join("out/evn.yaml")).expect("scenario");
    assert!(scenario.contains("re-encrypted"), "{scenario}");
    // The replay decodes with the profile's test key: every push is a reading, no errors.
    let golden = std::fs::read_to_string(dir.join("golden/evn.snap")).expect("golden");
    assert!(
        golden.contains("2 readings from the replayed capture"),
        "{golden}"
    );
    assert!(golden.contains(", 0 errors"), "{golden}");
}

#[test]
fn redacted_mbus_ids_go_in_every_form() {
    let dir = temp_dir("mbus");
    // A master's secondary select and the slave's reply, as a two-direction log shows them.
    let id = [0x78, 0x56, 0x34, 0x12];
    let mut select = vec![0x68, 0x0B, 0x0B, 0x68, 0x53, 0xFD, 0x52];
    select.extend(id);
    select.extend([0x2D, 0x2C, 0x01, 0x07, 0x00, 0x16]);
    let cs = select[4..select.len() - 2]
        .iter()
        .fold(0u8, |a, b| a.wrapping_add(*b));
    let n = select.len();
    select[n - 2] = cs;
    let mut reply = vec![0x68, 0x00, 0x00, 0x68, 0x08, 0x05, 0x72];
    reply.extend(id);
    reply.extend([
        0x2D, 0x2C, 0x01, 0x07, 0x01, 0x00, 0x00, 0x00, 0x04, 0x13, 0x10, 0x27, 0, 0, 0x00, 0x16,
    ]);
    let l = (reply.len() - 6) as u8;
    reply[1] = l;
    reply[2] = l;
    let n = reply.len();
    reply[n - 2] = reply[4..n - 2].iter().fold(0u8, |a, b| a.wrapping_add(*b));
    let mut bytes = select;
    bytes.push(0xE5);
    bytes.extend(&reply);
    std::fs::write(dir.join("bus.hex"), hex::encode(&bytes)).expect("write");
    let o = meterlab(
        &dir,
        &[
            "import",
            "bus.hex",
            "--redact",
            "-o",
            "out/bus.yaml",
            "--golden",
            "golden",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert_gone(&dir, "bus", &[b"12345678".to_vec()]);
    let golden = std::fs::read_to_string(dir.join("golden/bus.snap")).expect("golden");
    assert!(
        golden.contains("reading ("),
        "the redacted reply still decodes: {golden}"
    );
}

#[test]
fn bad_input_gets_a_clear_answer() {
    let dir = temp_dir("bad");
    std::fs::write(dir.join("empty.txt"), "").expect("write");
    let o = meterlab(&dir, &["import", "empty.txt"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("empty"), "{}", text(&o));
    let noise: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 7) as u8 | 1)
        .collect();
    std::fs::write(dir.join("noise.bin"), noise).expect("write");
    let o = meterlab(&dir, &["import", "noise.bin"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("no DSMR, DLMS"), "{}", text(&o));
    // A 100 MB capture: refused at once, with the limit.
    let big = std::fs::File::create(dir.join("big.bin")).expect("create");
    big.set_len(100 << 20).expect("sparse file");
    let o = meterlab(&dir, &["import", "big.bin"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("at most"), "{}", text(&o));
    // Over the replay limit once decoded from hex.
    std::fs::write(dir.join("long.hex"), "00".repeat(1_100_000)).expect("write");
    let o = meterlab(&dir, &["import", "long.hex", "--profile", "dsmr-5.0"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("keep the part"), "{}", text(&o));
    let o = meterlab(&dir, &["import", "missing.txt"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("missing.txt"), "{}", text(&o));
    std::fs::write(dir.join("t.txt"), "/ISK5\\2M550T\r\n\r\n!\r\n").expect("write");
    let o = meterlab(
        &dir,
        &[
            "import",
            "t.txt",
            "--key",
            "00112233445566778899AABBCCDDEEFF",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("--redact"), "{}", text(&o));
    assert!(!text(&o).contains("00112233445566778899AABBCCDDEEFF"));
    let o = meterlab(&dir, &["import", "t.txt", "--reader", "fast"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}

/// A push of `profile` encrypted with a user's keys and title, redacted: nothing of them is
/// left, and the replay decodes with the profile's test keys.
fn reencrypts(profile: &str, title: Option<&str>, with_auth: bool) {
    let dir = temp_dir(profile);
    let user_key = "000102030405060708090A0B0C0D0E0F";
    let user_auth = "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF";
    let spec = MeterSpec::new(profile)
        .with("key", user_key)
        .with("auth_key", with_auth.then_some(user_auth))
        .with("system_title", title);
    let bytes = captured(&spec, 2);
    let at = bytes
        .windows(2)
        .position(|w| w == [0xDB, 0x08])
        .expect("ciphered");
    let title = hex::encode_upper(&bytes[at + 2..at + 10]);
    let keys = Keys {
        encryption: Some(user_key.parse().expect("key")),
        authentication: with_auth.then(|| user_auth.parse().expect("key")),
    };
    let protocol = auto::detect(&bytes, &keys).expect("a protocol");
    let mut secrets = ids(protocol, keys, &bytes);
    secrets.push(hex::decode(&title).expect("title"));
    secrets.push(hex::decode(&title[6..]).expect("serial part"));
    secrets.push(hex::decode(user_key).expect("key"));
    secrets.push(hex::decode(user_auth).expect("key"));
    std::fs::write(dir.join("push.hex"), hex::encode(&bytes)).expect("write");
    let mut args = vec![
        "import",
        "push.hex",
        "--redact",
        "--key",
        user_key,
        "-o",
        "out/push.yaml",
        "--golden",
        "golden",
        "--profile",
        profile,
    ];
    if with_auth {
        args.extend(["--auth-key", user_auth]);
    }
    let o = meterlab(&dir, &args);
    assert!(o.status.success(), "{profile}: {}", text(&o));
    assert_gone(&dir, "push", &secrets);
    let golden = std::fs::read_to_string(dir.join("golden/push.snap")).expect("golden");
    assert!(
        golden.contains("2 readings from the replayed capture") && golden.contains(", 0 errors"),
        "{profile}: {golden}"
    );
}

#[test]
fn authenticated_hdlc_push_is_reencrypted() {
    reencrypts("kamstrup-han", Some("4B414D4501349083"), true);
}

#[test]
fn smarty_frame_is_reencrypted() {
    reencrypts("dsmr-smarty", None, true);
}

#[test]
fn gbt_push_is_reencrypted() {
    reencrypts("lg-e450-gbt", Some("4C475A6773709912"), true);
}

#[test]
fn self_describing_push_is_imported_as_the_cyprus_profile() {
    let hex = include_str!(
        "../../scenarios/bug-reports/lg-e450-cyprus-self-describing-dlms-parser.capture.hex"
    );
    let bytes: Vec<u8> = hex
        .split_whitespace()
        .map(|b| u8::from_str_radix(b, 16).expect("hex"))
        .collect();
    assert_eq!(
        meterlab_harness::import::likely_profile(Protocol::Dlms, &bytes),
        "lg-e450-cyprus"
    );
    let aidon = captured(&MeterSpec::new("aidon-han"), 1);
    assert_eq!(
        meterlab_harness::import::likely_profile(Protocol::Dlms, &aidon),
        "aidon-han"
    );
}
