"""Decoding Kubernetes' protobuf request bodies (``application/vnd.kubernetes.protobuf``) into
the JSON form of the object.

kubectl ≥ 1.32 sends its typed creates this way (``create namespace|deployment|configmap|secret|
role…``, ``auth can-i``, ``auth whoami``, the evictions of ``drain``). A body is the four bytes
``k8s\\0`` and a ``runtime.Unknown`` message::

    Unknown { TypeMeta typeMeta = 1 {apiVersion = 1, kind = 2}; bytes raw = 2;
              string contentEncoding = 3; string contentType = 4 }

``raw`` is the object, a message whose field numbers are those of Kubernetes' generated.proto
files; :mod:`apiserver.apitypes` holds them with the rest of each type's description, so
this module only reads the wire format (varints, fixed 32/64-bit, length-delimited) and maps
numbers to JSON names. apimachinery's special messages become their JSON forms: ``Quantity``
{string = 1} a string, ``IntOrString`` {type = 1, intVal = 2, strVal = 3} a number or a string,
``Time``/``MicroTime`` {seconds = 1, nanos = 2} RFC 3339 text, ``Duration`` {duration = 1,
nanoseconds} Go's duration text, ``FieldsV1``/``RawExtension`` {raw = 1} the JSON they carry;
maps are repeated entries {key = 1, value = 2}; ``bytes`` are base64 text.

Go writes every non-pointer field, zero or not, and only set pointers; JSON leaves zero values
out (``omitempty``). So a zero scalar or an empty message is dropped unless the field is a
pointer, where ``replicas: 0`` or ``automountServiceAccountToken: false`` is the point. Unknown
field numbers are skipped, as protobuf and Kubernetes do (a newer client's fields). Anything
malformed raises :class:`ValueError`, which the REST layer answers 400 BadRequest.
"""

from __future__ import annotations

import base64
import json
import struct as _struct
from datetime import UTC, datetime, timedelta

from apiserver import apitypes
from apiserver.apitypes import Field, FieldType, Struct

MAGIC = b"k8s\x00"
MAX_DEPTH = 64  # nested messages; Kubernetes' objects nest about 15 deep

VARINT, FIXED64, LEN, FIXED32 = 0, 1, 2, 5
_WIRE_NAMES = {VARINT: "varint", FIXED64: "fixed64", LEN: "length-delimited", FIXED32: "fixed32"}


# --- the wire format ----------------------------------------------------------------------


def read_varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    for i in range(10):
        if pos + i >= len(data):
            raise ValueError("a varint runs past the end of the message")
        byte = data[pos + i]
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos + i + 1
        shift += 7
    raise ValueError("a varint is longer than 10 bytes")


def fields(data: bytes) -> list[tuple[int, int, int | bytes]]:
    """The (number, wire type, value) triples of one message, in order."""
    out = []
    pos = 0
    while pos < len(data):
        key, pos = read_varint(data, pos)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise ValueError("field number 0 is not allowed")
        if wire == VARINT:
            value, pos = read_varint(data, pos)
        elif wire == FIXED64:
            if pos + 8 > len(data):
                raise ValueError("a fixed64 runs past the end of the message")
            value, pos = data[pos:pos + 8], pos + 8
        elif wire == FIXED32:
            if pos + 4 > len(data):
                raise ValueError("a fixed32 runs past the end of the message")
            value, pos = data[pos:pos + 4], pos + 4
        elif wire == LEN:
            length, pos = read_varint(data, pos)
            if pos + length > len(data):
                raise ValueError(f"field {number} is {length} bytes long, past the end of the message")
            value, pos = data[pos:pos + length], pos + length
        else:
            raise ValueError(f"field {number} has wire type {wire}, which Kubernetes does not use")
        out.append((number, wire, value))
    return out


def _signed(value: int, bits: int = 64) -> int:
    value &= (1 << 64) - 1
    if value >= 1 << 63:
        value -= 1 << 64
    if bits == 32:
        value = ((value + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)
    return value


def _text(value: bytes) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("a string is not valid UTF-8") from None


# --- apimachinery's special messages ------------------------------------------------------


def _message_fields(value, what: str) -> dict[int, int | bytes]:
    if not isinstance(value, bytes):
        raise ValueError(f"{what} must be a length-delimited message")
    return {number: v for number, _, v in fields(value)}


def _time(value, micro: bool) -> str | None:
    f = _message_fields(value, "a time")
    seconds = _signed(f.get(1, 0)) if isinstance(f.get(1, 0), int) else 0
    nanos = _signed(f.get(2, 0), 32) if isinstance(f.get(2, 0), int) else 0
    if seconds == 0 and nanos == 0:
        return None  # Go's zero time: absent in JSON
    try:
        moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds, microseconds=nanos // 1000)
    except OverflowError:
        raise ValueError(f"the time {seconds}s is out of range") from None
    if micro:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def go_duration(nanoseconds: int) -> str:
    """Go's ``time.Duration.String``: ``1h2m3.5s``, ``150ms``, ``0s``."""
    if nanoseconds == 0:
        return "0s"
    sign = "-" if nanoseconds < 0 else ""
    n = abs(nanoseconds)
    if n < 1_000_000_000:
        for unit, size in (("ms", 1_000_000), ("µs", 1_000), ("ns", 1)):
            if n >= size:
                return sign + _decimal(n, size) + unit
    hours, rest = divmod(n, 3600 * 1_000_000_000)
    minutes, rest = divmod(rest, 60 * 1_000_000_000)
    text = (f"{hours}h" if hours else "") + (f"{minutes}m" if hours or minutes else "")
    return sign + text + _decimal(rest, 1_000_000_000) + "s"


def _decimal(n: int, size: int) -> str:
    whole, fraction = divmod(n, size)
    if not fraction:
        return str(whole)
    digits = len(str(size)) - 1
    return f"{whole}." + f"{fraction:0{digits}d}".rstrip("0")


def _special(element: str, value):
    """The JSON value of one of apimachinery's special types, or None for its zero value."""
    if element == "Quantity":
        text = _message_fields(value, "a quantity").get(1, b"")
        return _text(text) if isinstance(text, bytes) and text else None
    if element == "IntOrString":
        f = _message_fields(value, "an int-or-string")
        if f.get(1, 0) == 1:
            text = f.get(3, b"")
            return _text(text) if isinstance(text, bytes) else ""
        number = f.get(2, 0)
        return _signed(number, 32) if isinstance(number, int) else 0
    if element in ("Time", "MicroTime"):
        return _time(value, micro=element == "MicroTime")
    if element == "Duration":
        number = _message_fields(value, "a duration").get(1, 0)
        return go_duration(_signed(number)) if isinstance(number, int) else None
    if element in ("FieldsV1", "RawExtension"):
        raw = _message_fields(value, element).get(1, b"")
        if not raw:
            return None
        try:
            return json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise ValueError(f"the {element} does not hold JSON") from None
    if element == "StringList":
        if not isinstance(value, bytes):
            raise ValueError("a string list must be a length-delimited message")
        return [_text(v) for number, _, v in fields(value) if number == 1 and isinstance(v, bytes)]
    raise ValueError(f"no decoder for {element}")  # pragma: no cover - the table is checked by tests


# --- typed messages -----------------------------------------------------------------------


def _scalar(element: str, wire: int, value, where: str):
    if element == "string":
        if wire != LEN:
            raise ValueError(f"{where}: a string must be length-delimited, not {_WIRE_NAMES[wire]}")
        return _text(value)
    if element == "bytes":
        if wire != LEN:
            raise ValueError(f"{where}: bytes must be length-delimited, not {_WIRE_NAMES[wire]}")
        return base64.b64encode(value).decode()
    if element in ("int32", "int64", "bool"):
        if wire != VARINT:
            raise ValueError(f"{where}: an {element} must be a varint, not {_WIRE_NAMES[wire]}")
        if element == "bool":
            return bool(value)
        return _signed(value, 32 if element == "int32" else 64)
    if element == "double":
        if wire == FIXED64:
            return _struct.unpack("<d", value)[0]
        if wire == FIXED32:
            return _struct.unpack("<f", value)[0]
        raise ValueError(f"{where}: a double must be fixed64, not {_WIRE_NAMES[wire]}")
    raise ValueError(f"{where}: unknown scalar {element}")  # pragma: no cover


def _is_zero(value) -> bool:
    return value is None or value == "" or value == 0 or value is False or value == {} or value == []


def _element(ftype: FieldType, wire: int, value, where: str, depth: int):
    """One value of a field's element type (a scalar, a special type or a struct)."""
    if ftype.element in apitypes.SCALARS:
        return _scalar(ftype.element, wire, value, where)
    if wire != LEN:
        raise ValueError(f"{where}: a message must be length-delimited, not {_WIRE_NAMES[wire]}")
    if ftype.element in apitypes.SPECIAL:
        return _special(ftype.element, value)
    return decode_message(value, apitypes.struct(ftype.element), depth + 1, where)


def _packed(ftype: FieldType, wire: int, value) -> list[tuple[int, int | bytes]]:
    """A packed repeated scalar (proto3's default) as separate (wire, value) pairs."""
    if wire == LEN and ftype.element in ("int32", "int64", "bool"):
        out, pos = [], 0
        while pos < len(value):
            number, pos = read_varint(value, pos)
            out.append((VARINT, number))
        return out
    if wire == LEN and ftype.element == "double":
        return [(FIXED64, value[i:i + 8]) for i in range(0, len(value) - len(value) % 8, 8)]
    return [(wire, value)]


def _map_entry(ftype: FieldType, value, where: str, depth: int) -> tuple[str, object]:
    if not isinstance(value, bytes):
        raise ValueError(f"{where}: a map entry must be length-delimited")
    key, item = "", None
    for number, wire, v in fields(value):
        if number == 1:
            if wire != LEN:
                raise ValueError(f"{where}: a map key must be a string")
            key = _text(v)
        elif number == 2:
            item = _element(FieldType("", ftype.element), wire, v, f"{where}[{key}]", depth)
    if item is None:
        item = {} if ftype.is_struct else ("" if ftype.element in ("string", "bytes") else item)
    return key, item


def decode_message(data: bytes, struct: Struct, depth: int = 0, where: str = "") -> dict:
    """One message of type ``struct`` as its JSON object."""
    if depth > MAX_DEPTH:
        raise ValueError(f"messages nest deeper than {MAX_DEPTH}")
    by_number = struct.by_number
    out: dict = {}
    present: set[str] = set()
    for number, wire, value in fields(data):
        field: Field | None = by_number.get(number)
        if field is None:
            continue
        path = f"{where}.{field.name}" if where else field.name
        ftype = field.type
        if field.name == apitypes.INLINE:
            if wire != LEN:
                raise ValueError(f"{path}: an embedded message must be length-delimited")
            out.update(decode_message(value, apitypes.struct(ftype.element), depth + 1, where))
            continue
        if ftype.container == "list":
            items = out.setdefault(field.name, [])
            for w, v in _packed(ftype, wire, value):
                item = _element(ftype, w, v, f"{path}[{len(items)}]", depth)
                items.append({} if item is None and ftype.is_struct else item)
        elif ftype.container == "map":
            key, item = _map_entry(ftype, value, path, depth)
            out.setdefault(field.name, {})[key] = item
        else:
            out[field.name] = _element(ftype, wire, value, path, depth)
            present.add(field.name)
    for field in struct.fields:
        name = field.name
        if name in out and _is_zero(out[name]) and not (field.type.pointer and name in present
                                                        and out[name] is not None):
            del out[name]
    return out


def decode(body: bytes) -> dict:
    """The JSON object of a ``k8s\\0``-prefixed ``runtime.Unknown`` body."""
    if not body.startswith(MAGIC):
        raise ValueError("the body does not start with the Kubernetes protobuf prefix k8s\\x00")
    envelope = {number: (wire, value) for number, wire, value in fields(body[len(MAGIC):])}
    type_meta = envelope.get(1, (LEN, b""))[1]
    if not isinstance(type_meta, bytes):
        raise ValueError("typeMeta must be a message")
    meta = {number: v for number, _, v in fields(type_meta)}
    api_version = _text(meta[1]) if isinstance(meta.get(1), bytes) else ""
    kind = _text(meta[2]) if isinstance(meta.get(2), bytes) else ""
    encoding = envelope.get(3, (LEN, b""))[1]
    if encoding:
        raise ValueError(f'content encoding "{_text(encoding) if isinstance(encoding, bytes) else encoding}" '
                         "is not supported")
    raw = envelope.get(2, (LEN, b""))[1]
    if not isinstance(raw, bytes):
        raise ValueError("raw must be length-delimited")
    if not api_version or not kind:
        raise ValueError("the body does not say its apiVersion and kind")
    struct = apitypes.for_kind(api_version, kind)
    if struct is None:
        raise ValueError(f'no kind "{kind}" is served in version "{api_version}"')
    obj = decode_message(raw, struct)
    return {"apiVersion": api_version, "kind": kind, **obj}
