#!/usr/bin/env python3
"""Read DSMR P1 telegrams with dsmr_parser (PyPI `dsmr-parser`) and print meterlab's common JSON.

    dsmr_parser_reader.py PORT|- [--spec V5] [--key HEX] [--auth-key HEX]
                          [--baud 115200] [--format 8N1] [--count N] [--timeout S]

PORT is a serial device or a pseudo-terminal (opened with pyserial); `-` reads the raw byte
stream from standard input (as `meterlab run --decoder` hands it over). Telegrams are framed by
dsmr_parser's own `TelegramBuffer` (or `EncryptedTelegramBuffer` for a general-global-cipher
specification) and parsed by its `TelegramParser` with the chosen `telegram_specifications`
entry. Every object dsmr_parser decoded becomes one value of the reading format
(docs/reading-format.md); see readers/README.md for what it cannot carry.

Keys may also come from METERLAB_KEY / METERLAB_AUTH_KEY (as `meterlab run --decoder` sets them).
"""

import argparse
import copy
import json
import os
import re
import sys
import time
from datetime import datetime, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

from dsmr_parser import telegram_specifications
from dsmr_parser.clients.telegram_buffer import EncryptedTelegramBuffer, TelegramBuffer
from dsmr_parser.exceptions import DecryptionError, InvalidChecksumError, ParseError
from dsmr_parser.objects import MBusObject, MBusObjectPeak, ProfileGenericObject
from dsmr_parser.parsers import TelegramParser

# dsmr_parser converts every DSMR timestamp to UTC through Europe/Amsterdam (S/W picks the
# fold); shown back in that zone it is the meter's wall clock with its offset.
METER_ZONE = ZoneInfo("Europe/Amsterdam")

# Objects that are always text in the reading format, whatever their characters (any A-B).
TEXT_OBJECTS = {"0.2.8", "96.1.0", "96.1.1", "96.1.2", "96.1.4", "42.0.0"} | {
    f"96.13.{e}" for e in range(6)
}
NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")
OBIS_PREFIX = re.compile(r"^\s*(\d+-\d+:\d+\.\d+\.\d+)")
# dsmr_parser keeps neither the ids of a Belgian 98.1.0 peak history entry nor its month
# start; by the e-MUCS specification the entries are 1-0:1.6.0 (maximum demand) values.
PEAK_HISTORY_ENTRY_ID = "1-0:1.6.0*255"


class Positioned(str):
    """A matched telegram line that remembers where it was found."""

    pos = 0


class RecordingPattern:
    """Stands in for a compiled object regex: the same matches, each with its position."""

    def __init__(self, compiled):
        self.compiled = compiled

    def findall(self, text):
        out = []
        for m in self.compiled.finditer(text):
            s = Positioned(m.group(0))
            s.pos = m.start()
            out.append(s)
        return out


class RecordingValueParser:
    """Wraps a specification's value parser; records every (line, decoded object)."""

    def __init__(self, inner, sink):
        self.inner = inner
        self.sink = sink

    def parse(self, line):
        try:
            obj = self.inner.parse(line)
        except ParseError:
            self.sink.append((getattr(line, "pos", 0), str(line), None))
            raise
        self.sink.append((getattr(line, "pos", 0), str(line), obj))
        return obj


def make_parser(spec_name):
    try:
        spec = getattr(telegram_specifications, spec_name)
    except AttributeError:
        sys.exit(f"unknown dsmr_parser telegram specification {spec_name!r}")
    if not isinstance(spec, dict):
        sys.exit(f"{spec_name!r} is not a telegram specification")
    sink = []
    spec = copy.deepcopy(spec)
    for obj in spec["objects"]:
        obj["value_parser"] = RecordingValueParser(obj["value_parser"], sink)
    parser = TelegramParser(spec)
    parser.telegram_specification_regexes = {
        ref: RecordingPattern(rx) for ref, rx in parser.telegram_specification_regexes.items()
    }
    return parser, sink


def rfc3339(ts):
    if not isinstance(ts, datetime):
        return None
    if ts.tzinfo is None:
        return ts.isoformat()
    return ts.astimezone(METER_ZONE).isoformat()


def num_or_text(cde, value):
    """A dsmr_parser value as the reading format wants it: number, text or time text."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return rfc3339(value)
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        # a text object dsmr_parser coerced to a number (V3's 96.13.1 as int): text again
        return str(value) if cde in TEXT_OBJECTS else value
    text = str(value)
    if cde not in TEXT_OBJECTS and NUMBER.match(text):
        return Decimal(text)
    return text


def entry(obis, cde, value, unit=None, at=None):
    v = {"id": obis, "value": num_or_text(cde, value)}
    if unit:
        v["unit"] = unit
    if at is not None:
        t = rfc3339(at)
        if t:
            v["time"] = t
    return v


def values_of(line, obj):
    """Reading-format values for one decoded line."""
    m = OBIS_PREFIX.match(line)
    if not m:
        return []
    reduced = m.group(1)
    obis = reduced + "*255"
    cde = reduced.split(":")[1]
    if isinstance(obj, list):  # MaxDemandParser: Belgian 13-month peak history
        out = [{"id": obis, "value": len(obj)}]
        for peak in obj:
            assert isinstance(peak, MBusObjectPeak)
            out.append(entry(PEAK_HISTORY_ENTRY_ID, "1.6.0", peak.value, peak.unit, peak.occurred))
        return out
    if isinstance(obj, ProfileGenericObject):
        vals = obj.values
        if len(vals) >= 2 and vals[1]["value"] is None and vals[0]["value"] in (0, None):
            return [{"id": obis, "value": 0}]
        out = [{"id": obis, "value": obj.buffer_length}]
        eid = f"{obj.buffer_type}*255"
        ecde = str(obj.buffer_type).split(":")[-1]
        for item in obj.buffer:
            out.append(entry(eid, ecde, item.value, item.unit, item.datetime))
        return out
    if isinstance(obj, MBusObject):
        return [entry(obis, cde, obj.value, obj.unit, obj.datetime)]
    # CosemObject
    return [entry(obis, cde, obj.value, obj.unit)]


def hex_text(value):
    if not isinstance(value, str) or len(value) % 2 or not value:
        return value
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        return value
    if all(0x20 <= b < 0x7F for b in raw):
        return raw.decode("ascii")
    return value


def reading(telegram_text, parser, sink):
    """One telegram (text, or hex for an encrypted frame) → one reading-format object."""
    del sink[:]
    key = parser.key
    try:
        if parser.encrypted:
            parser.parse(telegram_text, key or "", parser.auth_key)
        else:
            parser.parse(telegram_text)
    except InvalidChecksumError as err:
        return {"error": {"kind": "crc_mismatch", "message": str(err)}}
    except DecryptionError as err:
        return {"error": {"kind": "gcm_tag_mismatch", "message": str(err)}}
    except ParseError as err:
        return {"error": {"kind": "malformed", "message": str(err)}}
    except Exception as err:  # dsmr_parser re-raises anything unexpected from a line parser
        return {"error": {"kind": "malformed", "message": f"{type(err).__name__}: {err}"}}

    meter_id = None
    meter_time = None
    by_id = {}
    values = []
    for _, line, obj in sorted(sink, key=lambda r: r[0]):
        if obj is None:
            continue  # a line dsmr_parser could not parse: it drops it (and logs)
        m = OBIS_PREFIX.match(line)
        if m and m.group(1).endswith(":1.0.0") and m.group(1).startswith("0-0"):
            meter_time = rfc3339(obj.value)
            continue
        for v in values_of(line, obj):
            values.append(v)
            by_id.setdefault(v["id"], v["value"])
    for ident in ("0-0:96.1.1*255", "0-0:42.0.0*255"):
        if by_id.get(ident) not in (None, ""):
            meter_id = hex_text(by_id[ident])
            break
    if meter_id is None and not parser.encrypted:
        first = telegram_text.lstrip().split("\n", 1)[0].strip()
        if first.startswith("/"):
            meter_id = first[1:]
    return {"protocol": "dsmr", "meter_id": meter_id, "time": meter_time, "values": values}


def dump(obj):
    def default(o):
        if isinstance(o, Decimal):
            return float(o) if o != o.to_integral_value() else int(o)
        raise TypeError(type(o).__name__)

    sys.stdout.write(json.dumps(obj, default=default, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def open_source(args):
    """A function returning the next chunk of bytes, b"" at end of stream, None on silence."""
    if args.port == "-":
        stdin = sys.stdin.buffer
        return lambda: stdin.read1(4096)
    import serial  # pyserial

    bits, parity, stop = args.format[0], args.format[1], args.format[2:]
    port = serial.serial_for_url(  # a device, a pty, or socket://HOST:PORT (a TCP gateway)
        args.port,
        baudrate=args.baud,
        bytesize={"5": serial.FIVEBITS, "6": serial.SIXBITS, "7": serial.SEVENBITS,
                  "8": serial.EIGHTBITS}[bits],
        parity={"N": serial.PARITY_NONE, "E": serial.PARITY_EVEN, "O": serial.PARITY_ODD}[parity],
        stopbits={"1": serial.STOPBITS_ONE, "2": serial.STOPBITS_TWO}[stop],
        timeout=0.1,
    )

    def read():
        n = max(1, port.in_waiting)
        data = port.read(n)
        return data if data else None

    return read


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("port", help="serial port or pty path, or - for standard input")
    ap.add_argument("--spec", default="V5",
                    help="dsmr_parser telegram_specifications name: V2_2, V3, V4, V5, "
                         "BELGIUM_FLUVIUS, LUXEMBOURG_SMARTY, MSN (encrypted Smarty), SWEDEN, "
                         "Q3D, SAGEMCOM_T210_D_R, ISKRA_IE, EON_HUNGARY (default V5)")
    ap.add_argument("--key", default=os.environ.get("METERLAB_KEY"),
                    help="encryption key, 32 hex digits (general-global-cipher specs)")
    ap.add_argument("--auth-key", default=os.environ.get("METERLAB_AUTH_KEY"),
                    help="authentication key; without it the spec's own (MSN) is used")
    ap.add_argument("--baud", type=int, default=115200)
    ap.add_argument("--format", default="8N1", help="data bits, parity, stop bits (8N1, 7E1)")
    ap.add_argument("--count", type=int, default=0, help="stop after N telegrams")
    ap.add_argument("--timeout", type=float, default=0,
                    help="stop after S seconds without a byte (serial port)")
    args = ap.parse_args()
    if not re.fullmatch(r"[5-8][NEO][12]", args.format):
        ap.error("--format is like 8N1 or 7E1")

    parser, sink = make_parser(args.spec)
    parser.encrypted = bool(parser.telegram_specification.get("general_global_cipher"))
    if parser.encrypted and not args.key:
        # no key: the same objects, read from a plain telegram (as the meter's optical/plain
        # P1 port, or a capture already decrypted, delivers them)
        parser.telegram_specification["general_global_cipher"] = False
        parser.encrypted = False
    parser.key = args.key
    parser.auth_key = args.auth_key or ""
    buf = EncryptedTelegramBuffer() if parser.encrypted else TelegramBuffer()

    read = open_source(args)
    done = 0
    last = time.monotonic()
    while True:
        data = read()
        if data == b"":
            break
        if data is None:
            if args.timeout and time.monotonic() - last >= args.timeout:
                break
            continue
        last = time.monotonic()
        buf.append(data if parser.encrypted else data.decode("latin-1"))
        for telegram in buf.get_all():
            dump(reading(telegram, parser, sink))
            done += 1
            if args.count and done >= args.count:
                return 0
    return 0


if __name__ == "__main__":
    import logging

    logging.basicConfig(level=logging.CRITICAL)  # dsmr_parser logs dropped lines as errors
    sys.exit(main())
