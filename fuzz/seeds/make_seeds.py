#!/usr/bin/env python3
"""Writes the fuzz seeds of fuzz/seeds/<target>/ from the repository's own data.

    python3 fuzz/seeds/make_seeds.py

Sources (all inside the repository): the corpus vectors of decoder/tests/data (copies of
shared/corpus, each file naming its public source) and the scenario files of scenarios/.
Keyed targets get the published test key of a vector in front of its bytes, as
meterlab_fuzz::split_keys reads them: 16 bytes of key, a flag byte (1: an authentication key
of 16 bytes follows), then the stream.
"""

import hashlib
import shutil
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent.parent
DATA = ROOT / "decoder/tests/data"
OUT = ROOT / "fuzz/seeds"


def wire_bytes(doc):
    if doc.get("text") is not None:
        ending = {"CRLF": "\r\n", "LF": "\n"}[doc["line_ending"]]
        return doc["text"].replace("\n", ending).encode("latin-1")
    try:
        return bytes.fromhex("".join(str(doc.get("hex") or "").split()))
    except ValueError:
        return b""


def keyed(doc, data):
    key = doc.get("key_hex")
    if not key:
        return None
    auth = doc.get("auth_key_hex")
    head = bytes.fromhex(str(key))
    if auth:
        head += b"\x01" + bytes.fromhex(str(auth))
    else:
        head += b"\x00"
    return head + data


def load(path):
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def main():
    seeds = {t: [] for t in
             ["dsmr", "dsmr_keyed", "dlms", "dlms_keyed", "iec", "mbus", "wmbus", "wmbus_keyed",
              "auto", "capture", "scenario"]}
    for p in sorted((DATA / "dsmr").glob("*.yaml")):
        doc = load(p)
        data = wire_bytes(doc)
        if data:
            seeds["dsmr"].append(data)
            seeds["capture"].append(data)
            seeds["auto"].append(keyed(doc, data) or data)
            seeds["dsmr_keyed"].append(keyed(doc, data) or bytes(17) + data)
    for p in sorted((DATA / "dlms").glob("*.yaml")):
        doc = load(p)
        data = wire_bytes(doc)
        if data:
            seeds["dlms"].append(data)
            seeds["auto"].append(keyed(doc, data) or data)
            seeds["dlms_keyed"].append(keyed(doc, data) or bytes(17) + data)
            seeds["capture"].append(data.hex(" ").encode() + b"\n")
    for p in sorted((DATA / "iec62056-21").glob("*.yaml")):
        doc = load(p)
        data = b""
        if doc.get("dialogue"):
            for m in doc["dialogue"]:
                try:
                    data += bytes.fromhex("".join(str(m.get("hex") or "").split()))
                except ValueError:
                    pass
        else:
            data = wire_bytes(doc)
        if data:
            seeds["iec"].append(data)
            seeds["auto"].append(data)
    for p in sorted((DATA / "mbus").rglob("*.yaml")):
        doc = load(p)
        try:
            data = bytes.fromhex("".join(str(doc.get("hex") or "").split()))
        except ValueError:
            continue
        if not data:
            continue
        if "wireless" in p.parts:
            # Bare frames, and the same telegram as a CUL line and an rtl_wmbus line.
            for form in (data, b"b" + data.hex().upper().encode() + b"2FC8\r\n",
                         b"T1;1;1;2019-04-03 19:00:42.000;97;148;0;0x"
                         + data.hex().upper().encode() + b"\n"):
                seeds["wmbus"].append(form)
                seeds["wmbus_keyed"].append(keyed(doc, form) or bytes(17) + form)
            seeds["auto"].append(keyed(doc, data) or data)
        else:
            seeds["mbus"].append(data)
            seeds["auto"].append(data)
    for p in sorted((ROOT / "scenarios").rglob("*.yaml")):
        seeds["scenario"].append(p.read_bytes())
    # Reproducers the fuzzer found, kept by hand in fuzz/regressions/<target>/.
    for p in sorted((ROOT / "fuzz" / "regressions").rglob("*")):
        if p.is_file() and p.parent.name in seeds:
            seeds[p.parent.name].append(p.read_bytes())
    for target, items in seeds.items():
        d = OUT / target
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)
        for data in items:
            (d / hashlib.sha1(data).hexdigest()).write_bytes(data)
        print(f"{target}: {len(items)} seeds")


if __name__ == "__main__":
    main()
