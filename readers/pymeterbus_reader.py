#!/usr/bin/env python3
"""Read a wired M-Bus meter with pyMeterBus (PyPI `pyMeterBus`) and print meterlab's common JSON.

    pymeterbus_reader.py PORT [--address N] [--baud 2400] [--format 8E1] [--count N]
                              [--timeout S] [--interval S]
    pymeterbus_reader.py -            (decode RSP_UD frames from standard input; no master role)
    pymeterbus_reader.py --wmbus PORT|- [--key HEX] [--count N] [--timeout S]
                                      (wireless M-Bus: what a receiver stick delivers)

As a master on PORT (a serial device or a pseudo-terminal, opened with pyserial) it sends SND_NKE
to the primary address, waits for the E5 acknowledgement, then sends REQ_UD2 and decodes the
RSP_UD with pyMeterBus, `--count` times (default 1). With `-` it reads a byte stream (raw bytes, or
hex text) from standard input and decodes every long frame in it; E5, short and control frames
(the master's side of a capture) are skipped. Each RSP_UD becomes one line of the reading format
(docs/reading-format.md, "Wired M-Bus"); what pyMeterBus cannot give is listed in readers/README.md.

With --wmbus it reads what a wireless M-Bus receiver stick delivers (rtl_wmbus lines, CUL `b…`
lines, iM871A HCI frames, AMB8465 FF 03 frames: the wrapper takes the telegram out of the stick's
framing, as a host program does; CUL frames carry their CRCs, which the wrapper cuts out by the
format A/B block layout without checking them) from a port (an rtl_wmbus pty: it needs no start-up)
or standard input, and decodes each telegram with pyMeterBus's wireless class (`meterbus.load`,
`WTelegramSndNr`), the one --key (or METERLAB_KEY) given to every meter.
"""

import argparse
import json
import os
import re
import string
import sys
import time
from datetime import date, datetime
from decimal import Decimal

import meterbus
from meterbus.core_objects import DataEncoding, FunctionType, MeasureUnit, VIFUnit, VIFUnitExt
from meterbus.exceptions import MBusFrameCRCError, MBusFrameDecodeError, MbusFrameLengthError

# pyMeterBus names a record's quantity by the VIF table's enum member; libmbus's normalized
# output (what the reading format follows) has these names.
QUANTITY = {
    "ENERGY_WH": "Energy",
    "ENERGY_J": "Energy",
    "VOLUME": "Volume",
    "MASS": "Mass",
    "ON_TIME": "On time",
    "OPERATING_TIME": "Operating time",
    "POWER_W": "Power",
    "POWER_J_H": "Power",
    "VOLUME_FLOW": "Volume flow",
    "VOLUME_FLOW_EXT": "Volume flow",
    "VOLUME_FLOW_EXT_S": "Volume flow",
    "MASS_FLOW": "Mass flow",
    "FLOW_TEMPERATURE": "Flow temperature",
    "RETURN_TEMPERATURE": "Return temperature",
    "TEMPERATURE_DIFFERENCE": "Temperature difference",
    "EXTERNAL_TEMPERATURE": "External temperature",
    "PRESSURE": "Pressure",
    "DATE": "Time point (date)",
    "DATE_TIME": "Time point (date & time)",
    "DATE_TIME_GENERAL": "Time point (date & time)",
    "MANUFACTURER_SPEC": "Manufacturer specific",
    "UNITS_FOR_HCA": "H.C.A.",
    "AVG_DURATION": "Averaging Duration",
    "ACTUALITY_DURATION": "Actuality Duration",
    "FABRICATION_NO": "Fabrication No",
    "IDENTIFICATION": "(Enhanced) Identification",
    "ADDRESS": "Bus Address",
    "ACCESS_NUMBER": "Access Number (transmission count)",
    "MEDIUM": "Medium",
    "MANUFACTURER": "Manufacturer",
    "PARAMETER_SET_ID": "Parameter set identification",
    "MODEL_VERSION": "Model / Version",
    "HARDWARE_VERSION": "Hardware version",
    "FIRMWARE_VERSION": "Firmware version",
    "SOFTWARE_VERSION": "Software version",
    "CUSTOMER_LOCATION": "Customer location",
    "CUSTOMER": "Customer",
    "ERROR_FLAGS": "Error flags",
    "ERROR_MASKS": "Error mask",
    "DIGITAL_OUTPUT": "Digital Output",
    "DIGITAL_INPUT": "Digital Input",
    "VOLTS": "Voltage",
    "AMPERE": "Current",
    "RESET_COUNTER": "Reset counter",
    "CUMULATION_COUNTER": "Cumulation counter",
    "SPECIAL_SUPPLIER_INFORMATION": "Special supplier information",
    "DIMENSIONLESS": "Dimensionless",
    "RESERVED": "Reserved",
    "RSSI": "RSSI",
    "RELATIVE_HUMIDITY": "Relative humidity",
    "ANY_VIF": "Any VIF",
}

# pyMeterBus unit names → libmbus normalized units; time units are converted to seconds.
UNIT = {
    "C": "°C",
    "H.C.A": None,
    "Currency unit": None,
    "none": None,
    "seconds": "s",
    "minutes": "s",
    "hours": "s",
    "days": "s",
}
TO_SECONDS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}
FUNCTION = {
    FunctionType.INSTANTANEOUS_VALUE: "instantaneous",
    FunctionType.MAXIMUM_VALUE: "maximum",
    FunctionType.MINIMUM_VALUE: "minimum",
    FunctionType.ERROR_STATE_VALUE: "error",
}
VARIABLE_CI = {0x72, 0x76, 0x78, 0x7A}


def as_number(v):
    """pyMeterBus's Decimal/int/float as a JSON-ready exact number (float noise removed)."""
    if isinstance(v, float):
        v = Decimal(repr(v))
    if isinstance(v, Decimal):
        # multipliers are floats (1e-3 …): 12345 * 0.001 → 12.345000000000001; round the
        # binary noise away at 15 significant digits (what a JSON double carries).
        v = Decimal(format(v, ".15g")) if v == v else v
        return int(v) if v == v.to_integral_value() else v
    return v


def record_value(rec):
    """(value, unit, quantity, warnings) for one pyMeterBus data record."""
    mult, unit, typ, _enh = rec._parse_vifx()
    unit_name = unit.value if isinstance(unit, MeasureUnit) else unit
    if isinstance(typ, str):  # pyMeterBus's FB/FD tables name some quantities in libmbus's words
        quantity = typ
    else:
        quantity = QUANTITY.get(getattr(typ, "name", ""), "")
    if unit_name == "Reserved":
        unit_name = None
    if rec.dib.function_type in (FunctionType.SPECIAL_FUNCTION, FunctionType.MORE_RECORDS_FOLLOW):
        return "".join(f"{b:02X}" for b in rec.dataField.parts), None, "Manufacturer specific"
    if typ == VIFUnit.VARIABLE_VIF and isinstance(unit_name, str):
        quantity, unit_name = unit_name, None  # plain-text VIF: libmbus shows it as the quantity
    length, enc = rec.dib.length_encoding
    if enc == DataEncoding.ENCODING_BCD and len(rec.dataField.parts) == length:
        digits = "".join(f"{b:02X}" for b in reversed(rec.dataField.parts))
        if re.search("[A-F]", digits[1:] if digits.startswith("F") else digits):
            # invalid BCD: pyMeterBus reads A-F nibbles as digits; the reading format wants
            # the hex digits as text (only a leading F is a sign)
            return digits, None, quantity
    value = rec.value
    if enc == DataEncoding.ENCODING_REAL and isinstance(value, Decimal):
        return float(value), UNIT.get(unit_name, unit_name), quantity
    if isinstance(value, datetime):
        if unit == MeasureUnit.DATE_TIME_S:
            value = value.strftime("%Y-%m-%dT%H:%M:%S")
        else:
            value = value.strftime("%Y-%m-%dT%H:%M")
        return value, None, quantity
    if isinstance(value, date):
        return value.strftime("%Y-%m-%d"), None, quantity
    if isinstance(value, str):
        if re.fullmatch(r"([0-9A-F]{2} )*[0-9A-F]{2}", value):  # decodeRAW
            value = value.replace(" ", "")
        return value, None, quantity
    if value is None:
        return None, None, quantity
    out_unit = UNIT.get(unit_name, unit_name)
    if unit_name in TO_SECONDS:
        value = Decimal(value) * TO_SECONDS[unit_name]
    if typ in (VIFUnit.FABRICATION_NO, VIFUnit.IDENTIFICATION, VIFUnit.ADDRESS) or (
        isinstance(typ, VIFUnitExt) and unit_name in ("none", None)
    ):
        out_unit = None
    return as_number(value), out_unit, quantity


def reading(frame_bytes):
    """One long frame → a reading-format object, or None for a frame that is not a message."""
    try:
        if frame_bytes[:1] == b"\x68":
            # meterbus.load() tries the wireless SND_NR class first, and that takes any wired
            # long frame whose L field is 0x44 for a wireless one: parse 68-frames as long frames
            frame = meterbus.TelegramLong.parse(list(frame_bytes))
        else:
            frame = meterbus.load(list(frame_bytes))
    except MBusFrameCRCError as err:
        return {"error": {"kind": "checksum", "message": f"checksum: {err}"}}
    except MbusFrameLengthError as err:
        return {"error": {"kind": "length", "message": f"frame length {err}"}}
    except (MBusFrameDecodeError, IndexError, ValueError, KeyError, TypeError) as err:
        return {"error": {"kind": "malformed", "message": f"{type(err).__name__}: {err}"}}
    if not isinstance(frame, meterbus.TelegramLong):
        return None  # E5, short or control frame
    bh = frame.body.bodyHeader
    ci = bh.ci_field.parts[0]
    if ci not in VARIABLE_CI:
        return {"error": {"kind": "unsupported_ci", "message": f"CI 0x{ci:02X}: not variable data"}}
    values = []
    meter_id = None
    if ci in (0x72, 0x76):
        meter_id = "".join(f"{b:02X}" for b in bh.id_nr)
        values += [
            {"id": "header.manufacturer", "value": frame.manufacturer},
            {"id": "header.version", "value": bh.version_field.parts[0]},
            {"id": "header.medium", "value": bh.measure_medium_field.parts[0]},
        ]
    values += [
        {"id": "header.access_number", "value": bh.acc_nr_field.parts[0]},
        {"id": "header.status", "value": bh.status_field.parts[0]},
    ]
    warnings = []
    for n, rec in enumerate(frame.records):
        try:
            value, unit, quantity = record_value(rec)
        except Exception as err:  # pyMeterBus raises on records it cannot interpret
            warnings.append(f"record #{n}: {type(err).__name__}: {err}")
            continue
        storage, tariff, subunit = rec.dib.parse_dife()
        v = {"id": f"#{n}", "value": value}
        if rec.dib.function_type in (FunctionType.SPECIAL_FUNCTION,
                                     FunctionType.MORE_RECORDS_FOLLOW):
            # Manufacturer data after DIF 0F/1F: the reading format names them by the frame
            # offset of their first byte; they run to the checksum and stop byte.
            v["id"] = f"manufacturer_data@{len(frame_bytes) - 2 - len(rec.dataField.parts)}"
        if unit:
            v["unit"] = unit
        v["quantity"] = quantity
        if rec.dib.function_type != FunctionType.SPECIAL_FUNCTION:
            v["function"] = FUNCTION.get(rec.dib.function_type, "instantaneous")
        else:
            v["function"] = "instantaneous"
        v["storage"] = storage or 0
        v["tariff"] = tariff or 0
        v["subunit"] = subunit or 0
        values.append(v)
    out = {"protocol": "mbus", "meter_id": meter_id, "time": None, "values": values}
    if warnings:
        out["warnings"] = warnings
    return out


def dump(obj):
    def default(o):
        if isinstance(o, Decimal):
            return float(o)
        raise TypeError(type(o).__name__)

    sys.stdout.write(json.dumps(obj, default=default, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def frames_in(data):
    """Split a captured byte stream into frames: E5, short (10…16), control/long (68 L L 68…16)."""
    i = 0
    while i < len(data):
        b = data[i]
        if b == 0xE5:
            i += 1
        elif b == 0x10 and i + 5 <= len(data) and data[i + 4] == 0x16:
            i += 5
        elif b == 0x68 and i + 4 <= len(data) and data[i + 3] == 0x68:
            end = i + data[i + 1] + 6
            yield bytes(data[i:end])
            i = end
        else:
            i += 1


def stdin_bytes():
    raw = sys.stdin.buffer.read()
    text = raw.decode("latin-1")
    if raw and all(c in string.hexdigits or c.isspace() for c in text):
        return bytes.fromhex("".join(text.split()))
    return raw


def master(args):
    import serial  # pyserial

    bits, parity, stop = args.format[0], args.format[1], args.format[2:]
    ser = serial.serial_for_url(  # a device, a pty, or socket://HOST:PORT (a TCP gateway)
        args.port,
        baudrate=args.baud,
        bytesize={"7": serial.SEVENBITS, "8": serial.EIGHTBITS}[bits],
        parity={"N": serial.PARITY_NONE, "E": serial.PARITY_EVEN, "O": serial.PARITY_ODD}[parity],
        stopbits={"1": serial.STOPBITS_ONE, "2": serial.STOPBITS_TWO}[stop],
        timeout=args.timeout,
        inter_byte_timeout=meterbus.inter_byte_timeout(args.baud),
    )
    bus = meterbus.MBusSerial(ser)
    bus.send_ping_frame(args.address)  # SND_NKE
    ack = bus.recv_frame(1)
    if not ack:
        dump({"error": {"kind": "no_answer", "message": "no E5 after SND_NKE"}})
        return 1
    for i in range(args.count):
        if i:
            time.sleep(args.interval)
        bus.send_request_frame(args.address)  # REQ_UD2
        frame = bus.recv_frame(1)
        if frame is None:
            dump({"error": {"kind": "no_answer", "message": "no RSP_UD after REQ_UD2"}})
            return 1
        if frame is False:
            dump({"error": {"kind": "checksum", "message": "RSP_UD did not decode"}})
            continue
        out = reading(frame)
        if out is not None:
            dump(out)
    return 0


def cut_crcs(frame, format_b):
    """A frame as sent on the air without its block CRCs (EN 13757-4 format A or B), unchecked."""
    if not frame:
        return frame
    if format_b:
        first, rest = frame[:10], frame[12:]
        out = first + rest[:115]
        rest = rest[117:]
        out += rest[:-2] if rest else b""
    else:
        out, rest = frame[:10], frame[12:]
        while rest:
            out += rest[:16]
            rest = rest[18:]
    return bytes([len(out) - 1]) + out[1:]


def wmbus_telegrams(data):
    """(telegram without CRCs, or None for a frame of the stick's own) for each message."""
    i = 0
    while i < len(data):
        b = data[i]
        end = data.find(b"\n", i)
        line = data[i:end if end >= 0 else len(data)].strip()
        if b == 0xA5 and i + 4 <= len(data):  # iM871A: A5 ctrl|ep id len payload [ts][rssi][fcs]
            ctrl, n = data[i + 1] >> 4, data[i + 3]
            total = 4 + n + (4 if ctrl & 2 else 0) + (1 if ctrl & 4 else 0) + (2 if ctrl & 8 else 0)
            if data[i + 1] & 0x0F == 2 and data[i + 2] == 0x03:
                yield bytes([n]) + bytes(data[i + 4:i + 4 + n])
            i += total
        elif b == 0xFF and i + 3 <= len(data):  # AMB8465 command mode: FF cmd len payload CS
            cmd, n = data[i + 1], data[i + 2]
            if cmd == 0x03 and n > 1:  # DATA_IND, the last payload byte is the RSSI
                payload = bytes(data[i + 3:i + 3 + n - 1])
                yield bytes([len(payload)]) + payload
            i += 4 + n
        elif line[:2] in (b"T1", b"C1", b"S1") and b";0x" in line:  # rtl_wmbus
            hexpart = line.split(b";0x", 1)[1].split(b";")[0]
            try:
                t = bytes.fromhex(hexpart.decode("ascii"))
            except ValueError:
                t = b""
            if line.split(b";")[1:2] == [b"1"] and t:
                yield bytes([len(t) - 1]) + t[1:]
            i = end + 1 if end >= 0 else len(data)
        elif line[:1] == b"b" and len(line) > 5:  # CUL: b<hex with CRCs><LQI><RSSI>, bY: format B
            fmt_b = line[1:2] == b"Y"
            try:
                raw = bytes.fromhex(line[2 if fmt_b else 1:-4].decode("ascii"))
            except ValueError:
                raw = b""
            if raw:
                yield cut_crcs(raw, fmt_b)
            i = end + 1 if end >= 0 else len(data)
        else:
            i = end + 1 if end >= 0 and data[i:i + 1].isascii() else i + 1


def wmbus_reading(t, key):
    """One wireless telegram (L C M A CI …, no CRCs) → a reading-format object."""
    if key is not None:
        meterbus.WTelegramBaseDataHeader._keys = AnyMeter(key)
    try:
        frame = meterbus.load(list(t))
    except MBusFrameCRCError as err:
        return {"error": {"kind": "crc_mismatch", "message": f"{err}"}}
    except (MBusFrameDecodeError, IndexError, ValueError, KeyError, TypeError) as err:
        return {"error": {"kind": "malformed", "message": f"{type(err).__name__}: {err}"}}
    if not isinstance(frame, meterbus.WTelegramSndNr) or frame.dataHeader is None:
        return {"error": {"kind": "malformed", "message": "not a wireless SND_NR telegram"}}
    h = frame.dataHeader
    meter_id = "".join(f"{b:02X}" for b in h.id_nr)
    values = [
        {"id": "link.manufacturer", "value": h.manufacturer_field.decodeManufacturer},
        {"id": "link.id", "value": meter_id},
        {"id": "link.version", "value": h.version_field.parts[0]},
        {"id": "link.device_type", "value": h.device_field.parts[0]},
    ]
    if h.acc_nr_field.parts:
        values.append({"id": "header.access_number", "value": h.acc_nr_field.parts[0]})
        values.append({"id": "header.status", "value": h.status_field.parts[0]})
    warnings = []
    for n, rec in enumerate(frame.records):
        try:
            value, unit, quantity = record_value(rec)
        except Exception as err:  # pyMeterBus raises on records it cannot interpret
            warnings.append(f"record #{n}: {type(err).__name__}: {err}")
            continue
        if value is None:
            warnings.append(f"record #{n}: no value")
            continue
        if isinstance(value, (float, Decimal)) and not (value == value and abs(value) < 1e18):
            # what pyMeterBus reads from ciphertext: NaN, ±inf, 1e37 — a text, not a number
            value = str(value)
        elif isinstance(value, Decimal) and value != 0 and abs(value) < Decimal("1e-12"):
            value = str(value)
        storage, tariff, subunit = rec.dib.parse_dife()
        v = {"id": f"#{n}", "value": value}
        if unit:
            v["unit"] = unit
        v["quantity"] = quantity
        v["function"] = FUNCTION.get(rec.dib.function_type, "instantaneous")
        v["storage"] = storage or 0
        v["tariff"] = tariff or 0
        v["subunit"] = subunit or 0
        values.append(v)
    out = {"protocol": "mbus", "meter_id": meter_id, "time": None, "values": values}
    if warnings:
        out["warnings"] = warnings
    return out


class AnyMeter(dict):
    """pyMeterBus looks keys up by meter id; the wrapper's one key serves every meter."""

    def __init__(self, key):
        super().__init__()
        self.key = key

    def get(self, _id, default=None):
        return self.key


def wmbus(args):
    key_hex = args.key or os.environ.get("METERLAB_KEY")
    key = bytes.fromhex(key_hex) if key_hex else None
    if args.port == "-":
        for t in wmbus_telegrams(sys.stdin.buffer.read()):
            dump(wmbus_reading(t, key))
        return 0
    import serial  # pyserial

    ser = serial.serial_for_url(args.port, baudrate=args.baud, timeout=0.2)
    buf, done, quiet_since = b"", 0, time.monotonic()
    while args.count == 0 or done < args.count:
        chunk = ser.read(4096)
        if chunk:
            buf += chunk
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since > args.timeout:
            break
        cut = buf.rfind(b"\n") + 1  # rtl_wmbus and CUL lines: whole lines only
        if cut:
            for t in wmbus_telegrams(buf[:cut]):
                dump(wmbus_reading(t, key))
                done += 1
            buf = buf[cut:]
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("port", help="serial port or pty path, or - to decode frames from stdin")
    ap.add_argument("--address", type=int, default=1, help="primary address (default 1)")
    ap.add_argument("--baud", type=int, default=2400)
    ap.add_argument("--format", default="8E1")
    ap.add_argument("--count", type=int, default=1, help="readouts (REQ_UD2) to do")
    ap.add_argument("--timeout", type=float, default=2.0, help="seconds to wait for an answer")
    ap.add_argument("--interval", type=float, default=0.0, help="seconds between readouts")
    ap.add_argument("--wmbus", action="store_true",
                    help="wireless M-Bus: read what a receiver stick delivers")
    ap.add_argument("--key", help="wireless: AES key (32 hex digits) for every meter")
    args = ap.parse_args()
    if args.wmbus:
        if args.timeout == 2.0:
            args.timeout = 30.0
        return wmbus(args)
    if not re.fullmatch(r"[78][NEO][12]", args.format):
        ap.error("--format is like 8E1")
    if args.port == "-":
        for frame in frames_in(stdin_bytes()):
            out = reading(frame)
            if out is not None:
                dump(out)
        return 0
    return master(args)


if __name__ == "__main__":
    sys.exit(main())
