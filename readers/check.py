#!/usr/bin/env python3
"""Check the PyPI readers' wrappers against meterlab's reference decoder.

    check.py --meterlab 'target/debug/meterlab' [--verbose] [--only WORD]

Corpus check (always): every real telegram of decoder/tests/data/dsmr/*.yaml and every frame of
decoder/tests/data/mbus/**/*.yaml is turned into its wire bytes (as decoder/tests/common/mod.rs
does: `text` with each newline as the stated line ending, or `hex`), fed on standard input to the
wrapper (`dsmr_parser_reader.py -`, `pymeterbus_reader.py -`) and to `meterlab decode --protocol
dsmr|mbus -`, and the two outputs are compared value by value: every value a wrapper prints must
equal the reference's value of the same id (number, unit, time, and for M-Bus quantity, function,
storage, tariff, subunit), unless the difference is one of KNOWN below (each explained in
readers/README.md). Values the reference has and the wrapper does not print are counted, not
failed: that is what the library drops.

The live check — virtual meters on a pty read by the wrappers through pyserial — is a set of
scenario files, readers/scenarios/*.yaml, run by `cargo xtask readers --live` with `meterlab run`.

Exit status 0 when nothing differs beyond KNOWN, 1 otherwise. The last line is
`readers: N passed, N failed`.
"""

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
import time
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
DSMR_DIR = ROOT / "decoder/tests/data/dsmr"
MBUS_DIR = ROOT / "decoder/tests/data/mbus"

# Differences that are the library's own behaviour, by rule; readers/README.md explains each.
# A difference no rule explains fails the check.
# Vectors that a library misreads as a whole (every difference in them is that one fault).
KNOWN_VECTORS = {
    # DIF 0D (LVAR) with a plain-text VIF 7C: pyMeterBus loses the record boundary and reads
    # the rest of the frame shifted (readers/README.md, "lvar-plain-vif").
    "libmbus-test-example_binary16_lvar": "lvar-plain-vif",
}


def known_rule(label, diff, data):
    """The name of the documented rule that explains a difference, or None."""
    vid, field, ours, ref = diff[:4]
    refrec = diff[4] if len(diff) > 4 else {}
    if label == "dsmr":
        if field == "count" and ours < ref and data != crlf_repaired(data):
            return "crlf-only"  # confirmed in corpus_dsmr: the repaired bytes must agree
        if (field == "time" or vid == "time") and ours is None and ref is not None and re.search(
                rb"\(\d{12}[sw]\)", data):
            return "lowercase-dst-flag"
        if field == "time" or vid == "time":
            if isinstance(ours, str) and isinstance(ref, str) and ours[:19] == ref[:19]:
                return "no-offset" if len(ref) == 19 else "dst-flag"
            if (isinstance(ours, str) and isinstance(ref, str) and ours[4:19] == ref[4:19]
                    and abs(int(ours[:4]) - int(ref[:4])) == 100):
                return "two-digit-year"
    if label == "mbus":
        if field == "count" and ours > ref:
            return "lenient"
        if field == "count" and ours < ref and len(data) > 6 and data[6] in (0x73, 0x77):
            return "fixed-data"
        if field == "position" and ours == "" and isinstance(ref, str) and ref:
            return "data-after-1f"
        if field in ("unit", "quantity") and refrec.get("quantity") in (
                "Reactive energy", "Apparent energy", "Reactive power", "Apparent power"):
            return "fb-electricity"
        if (field == "value" and ours == "" and refrec.get("quantity") == "Manufacturer specific"
                and isinstance(ref, str)):
            return "data-after-1f"
        if (field == "value" and isinstance(ours, str) and isinstance(ref, str)
                and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d", ours)
                and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", ref)):
            return "type-i-date"
        if refrec.get("quantity") == "RSSI" and field in ("value", "unit"):
            return "rssi-dbm"
        if field == "value" and isinstance(ours, (int, Decimal)) and isinstance(ref, (int, Decimal)):
            x, y = Decimal(str(ours)), Decimal(str(ref))
            if x and y and (x / y).log10() == (x / y).log10().to_integral_value():
                return "vife-scaling"
    return None


def crlf_repaired(data):
    """Every line ending CR LF, as a real meter sends and dsmr_parser requires."""
    return re.sub(rb"(?<!\r)\n", b"\r\n", data.rstrip(b"\r\n") + b"\r\n")


def dsmr_spec(doc):
    """The dsmr_parser telegram specification a user of that meter would pick."""
    version = str(doc.get("version", ""))
    country = str(doc.get("country", ""))
    if doc.get("key_hex"):
        return "MSN"
    if "2.2" in version:
        return "V2_2"
    if "3.0" in version:
        return "V3"
    if "T210-D-r" in version:
        return "SAGEMCOM_T210_D_R"
    if country == "BE":
        return "BELGIUM_FLUVIUS"
    if country == "LU":
        return "LUXEMBOURG_SMARTY"
    if country == "SE":
        return "SWEDEN"
    if country == "HU":
        return "EON_HUNGARY"
    if country == "IE":
        return "ISKRA_IE"
    if "DSMR 4" in version:
        return "V4"
    return "V5"


def wire_bytes(doc):
    if doc.get("text") is not None:
        ending = {"CRLF": "\r\n", "LF": "\n"}[doc["line_ending"]]
        return doc["text"].replace("\n", ending).encode("latin-1")
    try:  # as decoder/tests/common/mod.rs: a vector whose hex does not parse is no frame
        return bytes.fromhex("".join(str(doc.get("hex") or "").split()))
    except ValueError:
        return b""


def run(cmd, data, env=None, timeout=60):
    p = subprocess.run(cmd, input=data, capture_output=True, timeout=timeout, env=env)
    lines = []
    for raw in p.stdout.decode("utf-8").splitlines():
        if raw.strip():
            lines.append(json.loads(raw, parse_float=Decimal))
    return p.returncode, lines, p.stderr.decode("utf-8", "replace")


def same_number(a, b):
    """Equal as decimals, or to 15 significant digits (what a JSON double carries)."""
    try:
        x, y = Decimal(str(a)), Decimal(str(b))
    except InvalidOperation:
        return False
    if x == y:
        return True
    return f"{x:.14e}" == f"{y:.14e}"


def same_time(a, b):
    """Equal as instants when both carry an offset, else as written."""
    if a == b:
        return True
    try:
        ta, tb = datetime.fromisoformat(a), datetime.fromisoformat(b)
    except (TypeError, ValueError):
        return False
    if (ta.tzinfo is None) != (tb.tzinfo is None):
        return False
    return ta == tb


def same_value(a, b):
    if isinstance(a, (int, Decimal)) and not isinstance(a, bool):
        return isinstance(b, (int, Decimal)) and not isinstance(b, bool) and same_number(a, b)
    return a == b


FIELDS = ("unit", "time", "quantity", "function", "storage", "tariff", "subunit")


def compare(name, ours, ref):
    """Differences (id, field, ours, reference) and the ids the wrapper does not produce."""
    diffs = []
    if ours.get("meter_id") != ref.get("meter_id"):
        diffs.append(("meter_id", "", ours.get("meter_id"), ref.get("meter_id")))
    if not same_time(ours.get("time"), ref.get("time")) and ours.get("time") != ref.get("time"):
        diffs.append(("time", "", ours.get("time"), ref.get("time")))
    pool = {}
    for v in ref.get("values", []):
        pool.setdefault(v["id"], []).append(v)
    for v in ours.get("values", []):
        cands = pool.get(v["id"])
        if not cands and v["id"].startswith("manufacturer_data@"):
            # The position follows from the bytes kept: compare with the reference's manufacturer
            # data wherever it starts, and report the position.
            other = [k for k, rs in pool.items() if k.startswith("manufacturer_data@") and rs]
            if other:
                cands = pool[other[0]]
                diffs.append((v["id"], "position", v.get("value"), cands[0].get("value"),
                              cands[0]))
        if not cands:
            diffs.append((v["id"], "id", v.get("value"), None))
            continue
        r = cands.pop(0)
        if not same_value(v.get("value"), r.get("value")):
            diffs.append((v["id"], "value", v.get("value"), r.get("value"), r))
        for f in FIELDS:
            a, b = v.get(f), r.get(f)
            if f == "time" and a is not None and b is not None and same_time(a, b):
                continue
            if a != b:
                diffs.append((v["id"], f, a, b, r))
    missing = [r["id"] for rs in pool.values() for r in rs]
    return diffs, missing


def readings(lines):
    return [m for m in lines if "values" in m]


class Tally:
    def __init__(self, verbose, quiet=False):
        self.verbose = verbose
        self.quiet = quiet
        self.passed = 0
        self.failed = 0
        self.known = 0
        self.dropped = {}
        self.values_agree = 0
        self.rules = {}

    def vector(self, label, name, ours, ref, data, wrapper_err="", shown=None):
        problems = []
        known = []
        missing_all = []
        ours_r, ref_r = readings(ours), readings(ref)
        if len(ours_r) != len(ref_r):
            text = f"{len(ours_r)} readings, reference {len(ref_r)}"
            if len(ours_r) > len(ref_r):
                errs = [m["error"]["kind"] for m in ref if "error" in m]
                text += f" (reference errors: {', '.join(errs) or 'none'})"
            rule = known_rule(label, ("messages", "count", len(ours_r), len(ref_r)), data)
            if rule:
                known.append(f"[{rule}] {text}")
                self.rules[rule] = self.rules.get(rule, 0) + 1
            else:
                problems.append(text)
        for o, r in zip(ours_r, ref_r):
            diffs, missing = compare(name, o, r)
            missing_all += missing
            self.values_agree += len(o.get("values", [])) - len(
                {(d[0]) for d in diffs if d[1] in ("value", "id")})
            for d in diffs:
                text = f"{d[0]} {d[1]}: wrapper {d[2]!r}, reference {d[3]!r}".replace(
                    "Decimal('", "").replace("')", "")
                rule = KNOWN_VECTORS.get(name) or known_rule(label, d, data)
                if rule:
                    known.append(f"[{rule}] {text}")
                    self.rules[rule] = self.rules.get(rule, 0) + 1
                else:
                    problems.append(text)
        for m in missing_all:
            self.dropped[m] = self.dropped.get(m, 0) + 1
        status = "FAIL" if problems else "PASS"
        if problems:
            self.failed += 1
        else:
            self.passed += 1
        self.known += bool(known)
        if self.quiet:
            return
        extra = []
        if known:
            extra.append(f"{len(known)} known differences")
        if missing_all:
            extra.append(f"{len(missing_all)} values not produced")
        print(f" {status}  {shown or label:6} {name:58} {len(ours_r)}/{len(ref_r)} readings"
              + (f"  ({', '.join(extra)})" if extra else ""))
        for p in problems:
            print(f"        - {p}")
        if self.verbose:
            for k in known:
                print(f"        ~ {k}")
            if missing_all:
                print(f"        · not produced: {', '.join(missing_all)}")
        if problems and wrapper_err.strip():
            print("        wrapper stderr: " + wrapper_err.strip().splitlines()[-1])


def corpus_dsmr(args, tally, meterlab):
    for path in sorted(DSMR_DIR.glob("*.yaml")):
        doc = yaml.safe_load(path.read_text())
        name = doc["name"]
        if args.only and args.only not in name:
            continue
        data = wire_bytes(doc)
        spec = dsmr_spec(doc)
        env = dict(os.environ)
        env.pop("METERLAB_KEY", None)
        env.pop("METERLAB_AUTH_KEY", None)
        ref_cmd = meterlab + ["decode", "--protocol", "dsmr"]
        if doc.get("key_hex"):
            env["METERLAB_KEY"] = doc["key_hex"]
            ref_cmd += ["--key", doc["key_hex"]]
            if doc.get("auth_key_hex"):
                env["METERLAB_AUTH_KEY"] = doc["auth_key_hex"]
                ref_cmd += ["--auth-key", doc["auth_key_hex"]]
        ours_cmd = [sys.executable, str(HERE / "dsmr_parser_reader.py"), "-", "--spec", spec]
        _, ours, err = run(ours_cmd, data, env=env)
        _, ref, _ = run(ref_cmd + ["-"], data)
        if len(readings(ours)) < len(readings(ref)) and crlf_repaired(data) != data:
            # dsmr_parser frames only "!CRC" CR LF and matches lines ending in CR LF: check
            # that with the line endings a real meter sends, it reads this telegram right
            _, fixed, _ = run(ours_cmd, crlf_repaired(data), env=env)
            sub = Tally(False, quiet=True)
            sub.vector("dsmr", name, fixed, ref, data)
            if sub.failed or len(readings(fixed)) != len(readings(ref)):
                tally.vector("dsmr", f"{name} [{spec}, CR LF restored]", fixed, ref, data, err)
                continue
        tally.vector("dsmr", f"{name} [{spec}]", ours, ref, data, err)


def corpus_mbus(args, tally, meterlab):
    for path in sorted(MBUS_DIR.glob("*/*.yaml")):
        doc = yaml.safe_load(path.read_text())
        name = doc.get("name") or path.stem
        if args.only and args.only not in name:
            continue
        data = wire_bytes(doc)
        if not data:
            continue
        ours_cmd = [sys.executable, str(HERE / "pymeterbus_reader.py"), "-"]
        _, ours, err = run(ours_cmd, data)
        _, ref, _ = run(meterlab + ["decode", "--protocol", "mbus", "-"], data)
        tally.vector("mbus", name, ours, ref, data, err)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--meterlab", default="cargo run -q -p meterlab-harness --",
                    help="how to run meterlab (a path, or a command line)")
    ap.add_argument("--verbose", "-v", action="store_true")
    ap.add_argument("--only", help="only vectors whose name contains this")
    args = ap.parse_args()
    meterlab = shlex.split(args.meterlab)
    started = time.monotonic()
    tally = Tally(args.verbose)
    print("Corpus: the PyPI readers vs meterlab decode on the same bytes")
    corpus_dsmr(args, tally, meterlab)
    corpus_mbus(args, tally, meterlab)
    if tally.dropped:
        top = sorted(tally.dropped.items(), key=lambda kv: -kv[1])
        print("values the reference has and the wrappers do not print: "
              + ", ".join(f"{k}×{n}" for k, n in top[:20])
              + (" …" if len(top) > 20 else ""))
    if tally.rules:
        print("known differences by rule (readers/README.md): "
              + ", ".join(f"{k}×{n}" for k, n in sorted(tally.rules.items())))
    print(f"{tally.values_agree} values agree; {tally.known} vectors with known differences; "
          f"{time.monotonic() - started:.1f} s")
    print(f"readers: {tally.passed} passed, {tally.failed} failed")
    return 1 if tally.failed else 0


if __name__ == "__main__":
    sys.exit(main())
