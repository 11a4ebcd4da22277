//! Captures as people paste them into bug reports (`tests/data/pastes/`, each with a `.source`
//! file naming where it comes from), read by `meterlab decode` in every form: the form detected,
//! what was said about it, and the messages decoded.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// The published key of the Netz NÖ example push (corpus `evn_netznoe_kaifa_ma309_doc_example`).
const EVN_KEY: &str = "36C66639E48A8CA4D6BC8B282A793BBB";

fn paste(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/pastes")
        .join(name)
}

fn meterlab(args: &[&str], stdin: Option<&[u8]>) -> Output {
    use std::io::Write;
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_meterlab"));
    cmd.args(args)
        .env("NO_COLOR", "1")
        .env_remove("METERLAB_KEY")
        .env_remove("METERLAB_AUTH_KEY")
        .env_remove("METERLAB_PROTOCOL")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().expect("meterlab runs");
    let mut input = child.stdin.take().expect("stdin");
    if let Some(bytes) = stdin {
        input.write_all(bytes).expect("write stdin");
    }
    drop(input);
    child.wait_with_output().expect("meterlab ends")
}

/// `meterlab decode --json [extra] FILE`: the exit code, the form said on stderr, the form in
/// the JSON header line, and the messages.
struct Decoded {
    code: Option<i32>,
    stderr: String,
    form: String,
    messages: Vec<Value>,
}

fn decode(file: &str, extra: &[&str]) -> Decoded {
    let path = paste(file);
    let mut args = vec!["decode", "--json"];
    args.extend_from_slice(extra);
    args.push(path.to_str().expect("utf-8 path"));
    let out = meterlab(&args, None);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut lines = stdout
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap_or_else(|e| panic!("{file}: `{l}`: {e}")));
    let header = lines
        .next()
        .unwrap_or_else(|| panic!("{file}: no output; {stderr}"));
    let form = header["capture"]["form"]
        .as_str()
        .unwrap_or_else(|| panic!("{file}: no form in {header}"))
        .to_string();
    assert!(
        stderr.contains(&format!("note: input read as {form}")),
        "{file}: stderr must say the form: {stderr}"
    );
    Decoded {
        code: out.status.code(),
        stderr,
        form,
        messages: lines.collect(),
    }
}

fn value(message: &Value, id: &str) -> Value {
    message["values"]
        .as_array()
        .and_then(|vs| vs.iter().find(|v| v["id"] == id))
        .map(|v| v["value"].clone())
        .unwrap_or(Value::Null)
}

fn error_kinds(d: &Decoded) -> Vec<String> {
    d.messages
        .iter()
        .filter_map(|m| m["error"]["kind"].as_str().map(str::to_string))
        .collect()
}

/// Every file is documented: a `.source` beside it naming where it comes from.
#[test]
fn every_paste_names_its_source() {
    let dir = paste("");
    let mut pastes = 0;
    for entry in std::fs::read_dir(&dir).expect("pastes dir") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "source") {
            let text = std::fs::read_to_string(&path).expect("read");
            assert!(text.starts_with("source: "), "{}", path.display());
            continue;
        }
        pastes += 1;
        let stem = path.file_stem().and_then(|s| s.to_str()).expect("name");
        let family = stem.split('.').next().expect("stem");
        assert!(
            dir.join(format!("{stem}.source")).exists()
                || dir.join(format!("{family}.source")).exists(),
            "{} has no .source file",
            path.display()
        );
    }
    assert!(pastes >= 15, "{pastes} pastes");
}

/// The same real push in every dump and literal form decodes to the same reading.
#[test]
fn one_push_in_every_dump_form() {
    let mut first: Option<Vec<Value>> = None;
    for (file, form) in [
        ("evn-kaifa-ma309.hexdump-c", "hexdump -C"),
        ("evn-kaifa-ma309.hexdump", "hexdump (16-bit words)"),
        ("evn-kaifa-ma309.xxd", "xxd"),
        ("evn-kaifa-ma309.xxd-i", "array of hex numbers"),
        ("evn-kaifa-ma309.xxd-p", "hex"),
        ("evn-kaifa-ma309.od", "od -A x -t x1z"),
        ("evn-kaifa-ma309.pybytes", "Python bytes literal"),
        ("evn-kaifa-ma309.base64", "base64"),
        ("evn-kaifa-ma309.c", "array of hex numbers"),
    ] {
        let d = decode(file, &["--key", EVN_KEY]);
        assert_eq!(d.form, form, "{file}");
        assert_eq!(d.code, Some(0), "{file}: {}", d.stderr);
        assert_eq!(d.messages.len(), 1, "{file}: {:?}", d.messages);
        let m = &d.messages[0];
        assert_eq!(m["protocol"], "dlms", "{file}");
        assert_eq!(m["meter_id"], "181220000009", "{file}");
        assert_eq!(value(m, "1-0:1.8.0*255"), 12937, "{file}");
        match &first {
            None => first = Some(d.messages),
            Some(f) => assert_eq!(*f, d.messages, "{file} decodes differently"),
        }
    }
}

/// libmbus's debug log: the master's requests (SEND) and the meter's reply (RECV) in order.
#[test]
fn libmbus_log_with_both_directions() {
    let d = decode("libmbus-81-kamstrup-multical302.log", &[]);
    assert_eq!(
        d.form,
        "log lines with prefix `SEND (005):`, both directions"
    );
    assert!(
        d.stderr.contains("2 line(s) without bytes left out"),
        "{}",
        d.stderr
    );
    let readings: Vec<&Value> = d
        .messages
        .iter()
        .filter(|m| m["protocol"] == "mbus")
        .collect();
    assert_eq!(readings.len(), 1, "{:?}", d.messages);
    assert_eq!(readings[0]["meter_id"], "67211183");
    assert_eq!(value(readings[0], "header.manufacturer"), "KAM");
    assert_eq!(d.code, Some(0), "{:?}", d.messages);
}

/// hass-AMS logs each frame as a Python list of decimal values.
#[test]
fn home_assistant_log_with_a_decimal_list() {
    let d = decode("hass-ams-112-aidon.log", &[]);
    assert!(
        d.form
            .starts_with("log lines with prefix `DEBUG (Thread-5 (connect))"),
        "{}",
        d.form
    );
    assert_eq!(d.code, Some(0), "{:?}", d.messages);
    assert_eq!(d.messages.len(), 1);
    assert_eq!(value(&d.messages[0], "1-0:1.7.0*255"), 11050);
}

/// A DSMR telegram pasted with LF line ends whose characters were damaged on the way: the CRC
/// (computed over CR LF, restored) catches it.
#[test]
fn pasted_dsmr_text_with_a_damaged_line() {
    let d = decode("dsmr-reader-483-t210d.txt", &[]);
    assert_eq!(
        d.form,
        "DSMR/IEC text as pasted (CR LF restored, trailing spaces dropped)"
    );
    assert_eq!(error_kinds(&d), ["crc_mismatch"]);
    assert_eq!(d.code, Some(1));
}

/// dsmr-reader logs a rejected telegram as base64 in a Python literal wrapped over lines; the
/// CRC it reported as wrong is wrong here too.
#[test]
fn base64_inside_a_python_literal() {
    let d = decode("dsmr-reader-1008-base64.log", &[]);
    assert_eq!(d.form, "Python bytes literal holding base64");
    assert_eq!(d.messages.len(), 1);
    assert_eq!(d.messages[0]["error"]["kind"], "crc_mismatch");
    assert!(
        d.messages[0]["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("0x694B") && m.contains("0xBA11")),
        "{:?}",
        d.messages
    );
}

/// smeterd logs one telegram line per log line; the excerpt ends before `!`.
#[test]
fn dsmr_text_in_log_lines() {
    let d = decode("smeterd-7-e350.log", &[]);
    assert_eq!(
        d.form,
        "DSMR/IEC text in log lines with prefix `DEBUG >>` (prefix dropped, CR LF restored)"
    );
    assert_eq!(error_kinds(&d), ["truncated"]);
    assert!(
        d.stderr.contains("3 line(s) without bytes left out"),
        "{}",
        d.stderr
    );
}

/// ESPHome's uart_debug lines, with other log lines between them.
#[test]
fn esphome_uart_debug_log() {
    let d = decode("esphome-2600-uart-debug.log", &[]);
    assert_eq!(d.form, "log lines with prefix `[D][uart_debug:109]: <<<`");
    // 3 bytes before the frame, then a frame cut off by the end of the log.
    assert_eq!(error_kinds(&d), ["skipped_bytes", "truncated"]);
    assert!(d.messages[1]["error"]["message"]
        .as_str()
        .is_some_and(|m| m.contains("120 bytes into an HDLC frame of 122 bytes")));
}

/// A log collector's ISO timestamps, host tag and color-code remains around unbroken hex.
#[test]
fn forwarded_esphome_log_with_color_remains() {
    let path = paste("esphome-16942-gplugm.log");
    let input = std::fs::read(&path).expect("read");
    let c = meterlab_harness::capture::read(&input, meterlab_harness::capture::InputFormat::Auto)
        .expect("read");
    assert_eq!(
        c.form.to_string(),
        "log lines with prefix `gplugm01/debug [VV][dlms_meter:030]:`"
    );
    assert_eq!(c.bytes, [0x10, 0x40, 0x01, 0x41, 0x16]);
    assert_eq!(c.ignored_lines, 4);
}

/// An IEC 62056-21 exchange pasted as hex: the option select and the data message, whose BCC
/// does not match what was posted.
#[test]
fn iec_exchange_as_hex() {
    let d = decode("riot-22033-iec-hterm.hex", &[]);
    assert_eq!(d.form, "hex");
    assert_eq!(error_kinds(&d), ["bcc_mismatch"]);
}

/// What `decode` says about input that holds nothing, and `--input-format` forcing a form.
#[test]
fn empty_input_and_forced_forms() {
    // Nothing on a pipe: nothing to decode, said on stderr (a decoder under test fed an empty
    // line must not fail). An empty file named on the command line is a mistake.
    let out = meterlab(&["decode", "-"], Some(b""));
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("standard input was empty"));
    let empty = std::env::temp_dir().join(format!("meterlab-empty-{}", std::process::id()));
    std::fs::write(&empty, b"").expect("write");
    let out = meterlab(&["decode", empty.to_str().expect("utf-8 path")], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("the input is empty"));
    let _ = std::fs::remove_file(&empty);

    let out = meterlab(&["decode", "-"], Some(b" \n\t\n"));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("only white space"));

    // A hexdump with only its end offset holds no bytes.
    let out = meterlab(
        &["decode", "--input-format", "hexdump", "-"],
        Some(b"00000000  \n"),
    );
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Hex text forced to be raw is decoded as the characters it is made of.
    let out = meterlab(
        &["decode", "--input-format", "raw", "--json", "-"],
        Some(b"68 FA FA 68\n"),
    );
    let header: Value = serde_json::from_str(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .next()
            .expect("header"),
    )
    .expect("json");
    assert_eq!(header["capture"]["form"], "raw bytes");

    // Forcing a form the input is not in says what was seen.
    let out = meterlab(
        &["decode", "--input-format", "xxd", "-"],
        Some(b"68 FA FA 68\n"),
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("is not an xxd dump") && err.contains("starting `68 FA FA 68"),
        "{err}"
    );

    // A line that breaks the detected form is named.
    let out = meterlab(
        &["decode", "-"],
        Some(b"68 FA FA 68\n".repeat(7000).as_slice()),
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "hex of no known protocol: skipped bytes"
    );
    let mut bad = b"68 FA FA 68\n".repeat(7000);
    bad.extend_from_slice(b"68 FG\n");
    let out = meterlab(&["decode", "-"], Some(&bad));
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("line 7001: `FG` is not hex (read as hex)"),
        "{err}"
    );
}

/// Numbers and keys on the command line are checked, never a panic.
#[test]
fn decode_flags_are_checked() {
    for seconds in ["1e19", "2e19", "inf", "NaN", "-1"] {
        let flag = format!("--max-seconds={seconds}");
        let out = meterlab(&["decode", &flag, "/dev/null"], None);
        assert_eq!(out.status.code(), Some(2), "--max-seconds {seconds}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("--max-seconds must be"), "{seconds}: {err}");
    }
    let out = meterlab(&["decode", "--key", "", "/dev/null"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("empty key"));
    let out = meterlab(&["decode", "--max-seconds", "0.2", "/dev/null"], None);
    assert_eq!(out.status.code(), Some(2), "an empty capture is an error");
    assert!(String::from_utf8_lossy(&out.stderr).contains("the input is empty"));
}

/// amsreader's frame collection: a line of field labels above hex lines, some frames edited.
#[test]
fn hex_lines_below_a_label_line() {
    let d = decode("amsreader-aidon-tn-3p.txt", &[]);
    assert_eq!(d.form, "hex lines among other text");
    assert!(
        d.stderr.contains("1 line(s) without bytes left out"),
        "{}",
        d.stderr
    );
    assert_eq!(error_kinds(&d), ["truncated", "truncated", "truncated"]);
    let readings: Vec<&Value> = d
        .messages
        .iter()
        .filter(|m| m["protocol"] == "dlms")
        .collect();
    assert_eq!(readings.len(), 2);
    assert_eq!(readings[0]["meter_id"], "7359992890497997");
    assert_eq!(value(readings[1], "1-0:1.7.0*255"), 2390);
}

/// dsmr-reader #483: a telegram whose CRC no longer matches its text. Strict by default;
/// `--ignore-crc` decodes it with a `crc_mismatch` warning and every value unverified.
#[test]
fn ignore_crc_decodes_a_pasted_telegram_whose_crc_fails() {
    let paste = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/pastes/dsmr-reader-483-t210d.txt"),
    )
    .expect("paste");
    let strict = meterlab(&["decode", "-"], Some(&paste));
    assert_eq!(strict.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&strict.stdout);
    assert!(stdout.contains("crc_mismatch"), "{stdout}");
    assert!(!stdout.contains("\"values\""), "{stdout}");
    let loose = meterlab(&["decode", "--ignore-crc", "-"], Some(&paste));
    assert_eq!(loose.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&loose.stdout);
    let reading: Value =
        serde_json::from_str(stdout.lines().next().expect("a line")).expect("JSON");
    assert!(reading["warnings"][0]
        .as_str()
        .is_some_and(|w| w.starts_with("crc_mismatch")));
    let values = reading["values"].as_array().expect("values");
    assert!(!values.is_empty());
    assert!(values.iter().all(|v| v["unverified"] == true), "{stdout}");
}
