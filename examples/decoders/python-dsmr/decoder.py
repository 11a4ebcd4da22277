#!/usr/bin/env python3
"""A small DSMR P1 decoder, as a decoder author might write one, tested by meterlab.

Reads the bytes of a P1 port on standard input and prints one JSON line per telegram in
meterlab's reading format (docs/reading-format.md): a reading, or an error. Standard library
only. Supports DSMR 2.2 to 5.0 and e-MUCS telegrams with a CRC-16/ARC (DSMR 4/5) or none (2.2);
not the Luxembourg Smarty frames (AES-GCM), not the CRC variants some meters send (X.25, fewer
than four digits): examples/decoders/python-dsmr/expect.yaml lists what it does not pass.
"""

import json
import re
import sys

# Objects whose value is text even when it looks like a number (C.D.E; any A-B).
TEXT_OBJECTS = {"0.2.8", "96.1.0", "96.1.1", "96.1.2", "96.1.4", "42.0.0"} | {
    f"96.13.{e}" for e in range(6)
}
NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")
OBIS = re.compile(r"^(\d+)-(\d+):(\d+)\.(\d+)\.(\d+)$")
TIMESTAMP = re.compile(r"^(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)([SW]?)$")


class Raw:
    """A JSON number written exactly as the telegram's digits (no float rounding)."""

    def __init__(self, text):
        self.text = text


def crc16_arc(data):
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def number(text):
    """`003432.827` -> 3432.827 as written, leading zeros dropped."""
    sign = "-" if text.startswith("-") else ""
    digits = text.lstrip("+-")
    whole, _, frac = digits.partition(".")
    whole = whole.lstrip("0") or "0"
    return Raw(sign + whole + ("." + frac if frac else ""))


def timestamp(text):
    m = TIMESTAMP.match(text)
    if not m:
        return None
    yy, mo, dd, hh, mi, ss, dst = m.groups()
    if not (1 <= int(mo) <= 12 and 1 <= int(dd) <= 31 and int(hh) < 24 and int(mi) < 60 and int(ss) < 60):
        return None
    offset = {"S": "+02:00", "W": "+01:00"}.get(dst, "")
    return f"20{yy}-{mo}-{dd}T{hh}:{mi}:{ss}{offset}"


def value(obj_id, group):
    """One `(v)` or `(v*unit)` group as a value entry."""
    cde = obj_id.split(":", 1)[1]
    text, _, unit = group.partition("*")
    entry = {"id": obj_id + "*255"}
    if cde not in TEXT_OBJECTS and NUMBER.match(text):
        entry["value"] = number(text)
        if unit:
            entry["unit"] = unit
    else:
        entry["value"] = group
    return entry


def groups(rest):
    """`(a)(b)(c)` -> ['a', 'b', 'c'], or None if the line is not a sequence of groups."""
    found = re.findall(r"\(([^()]*)\)", rest)
    return found if "".join(f"({g})" for g in found) == rest else None


def buffer_entries(gs):
    """`(n)(id1)...(idk)` and n entries of at least two groups each: (ids, entries), or None."""
    if not gs[0].isdigit() or len(gs) < 2:
        return None
    n = int(gs[0])
    k = 0
    while 1 + k < len(gs) and OBIS.match(gs[1 + k]):
        k += 1
    rest = gs[1 + k :]
    if k == 0 or (n == 0 and rest) or (n > 0 and (len(rest) % n or len(rest) // n < 2)):
        return None
    size = len(rest) // n if n else 0
    return gs[1 : 1 + k], [rest[i * size : (i + 1) * size] for i in range(n)]


def hex_text(text):
    if len(text) % 2 or not re.fullmatch(r"[0-9A-Fa-f]*", text):
        return None
    decoded = bytes.fromhex(text)
    if decoded and all(0x20 <= b < 0x7F for b in decoded):
        return decoded.decode("ascii")
    return None


def reading(lines, ident):
    """The reading of a telegram's object lines (identification excluded)."""
    values = []
    time = None
    meter_ids = {}
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        m = re.match(r"^(\d+-\d+:\d+\.\d+\.\d+)(\(.*\))$", line)
        if not m:
            continue
        obj_id, rest = m.groups()
        gs = groups(rest)
        if gs is None:
            values.append({"id": obj_id + "*255", "value": rest})
            continue
        cde = obj_id.split(":", 1)[1]
        if cde == "1.0.0" and obj_id.startswith("0-0:"):
            time = timestamp(gs[0])
            continue
        if obj_id in ("0-0:96.1.1", "0-0:42.0.0"):
            meter_ids[cde] = gs[0]
        if len(gs) == 1:
            values.append(value(obj_id, gs[0]))
        elif len(gs) == 2 and timestamp(gs[0]) is not None:
            entry = value(obj_id, gs[1])
            entry["time"] = timestamp(gs[0])
            values.append(entry)
        elif cde == "24.3.0" and len(gs) == 6 and i < len(lines) and lines[i].startswith("("):
            # DSMR 2.2/3.0 gas: the value is on the next line.
            cont = lines[i].strip("()")
            i += 1
            entry = value(obj_id, cont + ("*" + gs[5] if gs[5] else ""))
            if timestamp(gs[0]) is not None:
                entry["time"] = timestamp(gs[0])
            values.append(entry)
        elif buffer_entries(gs) is not None:
            # A buffer: (n)(id1)...(idk) then n entries of equal size, (...)(time)(value).
            values.append({"id": obj_id + "*255", "value": Raw(str(int(gs[0])))})
            ids, entries = buffer_entries(gs)
            for entry_groups in entries:
                entry = value(ids[-1], entry_groups[-1])
                entry["time"] = timestamp(entry_groups[-2])
                values.append(entry)
        else:
            values.append({"id": obj_id + "*255", "value": rest})
    meter_id = None
    for cde in ("96.1.1", "42.0.0"):
        if meter_ids.get(cde):
            meter_id = hex_text(meter_ids[cde]) or meter_ids[cde]
            break
    if meter_id is None:
        meter_id = ident
    return {"protocol": "dsmr", "meter_id": meter_id, "time": time, "values": values}


def dumps(obj):
    """JSON with Raw numbers written as they are."""
    if isinstance(obj, Raw):
        return obj.text
    if isinstance(obj, dict):
        return "{" + ",".join(json.dumps(k) + ":" + dumps(v) for k, v in obj.items()) + "}"
    if isinstance(obj, list):
        return "[" + ",".join(dumps(v) for v in obj) + "]"
    return json.dumps(obj)


def error(kind, message, offset):
    print(dumps({"error": {"kind": kind, "message": message, "offset": offset}}))


def decode(data):
    pos = 0
    while True:
        start = data.find(b"/", pos)
        if start < 0:
            if pos < len(data) and data[pos:].strip(b"\r\n\x00"):
                error("skipped_bytes", f"{len(data) - pos} bytes outside telegrams", pos)
            return
        if data[pos:start].strip(b"\r\n\x00"):
            error("skipped_bytes", f"{start - pos} bytes outside telegrams", pos)
        end = data.find(b"!", start)
        if end < 0:
            error("truncated", "the stream ended inside a telegram", start)
            return
        next_start = data.find(b"/", start + 1, end)
        if next_start >= 0:
            error("truncated", "a new telegram started before the end", start)
            pos = next_start
            continue
        tail = data[end + 1 :]
        m = re.match(rb"([0-9A-Fa-f]{4})?\r?\n", tail)
        if not m:
            if not tail:
                error("truncated", "the stream ended after '!'", start)
                return
            error("malformed", "no line end after '!'", start)
            pos = end + 1
            continue
        body = data[start : end + 1]
        pos = end + 1 + m.end()
        text = body.decode("ascii", errors="replace")
        lines = text.split("\r\n")
        ident = lines[0][1:]
        has_version = any(line.startswith("1-3:0.2.8(") for line in lines)
        if m.group(1):
            sent = int(m.group(1), 16)
            if crc16_arc(body) != sent:
                error("crc_mismatch", f"CRC says {sent:04X}, computed {crc16_arc(body):04X}", start)
                continue
        elif has_version:
            error("crc_missing", "a DSMR 4/5 telegram without a CRC", start)
            continue
        if "\ufffd" in text:
            error("malformed", "bytes that are not ASCII", start)
            continue
        print(dumps(reading(lines[1:], ident)))


if __name__ == "__main__":
    decode(sys.stdin.buffer.read())
