"""The JSON type of every field of a written object, checked as kube-apiserver's decoder checks it.

kube-apiserver decodes every request body into its Go types before admission and validation; a
value of the wrong JSON type fails that decoding, and the request is refused with 400
BadRequest whatever ``fieldValidation`` says. The classic case is YAML's ``name: Y``, which is
the boolean true; others are ``replicas: "3"``, an env ``value: 8080``, a list where an object
belongs. kubemu keeps objects as JSON, so this module plays the decoder's part for every create,
update and patch result, through gRPC and REST alike (:meth:`apiserver.api.API._check_body`): it
walks the object against its kind's type description (:mod:`apiserver.apitypes`) and raises
BadRequest in Kubernetes' words::

    Pod in version "v1" cannot be handled as a Pod: json: cannot unmarshal bool into Go struct
    field EnvVar.spec.containers.env.name of type string

The Go path names the innermost Go struct and the JSON field names from the root, without list
indices or map keys, as Go's ``encoding/json`` does; the full path
(``spec.containers[0].env[1].name``) travels as the error's one cause. Only the first problem in
document order is reported, as Go reports only the earliest.

What each type takes (Go's decoder, as ``sigs.k8s.io/json`` runs it):

- ``string`` and ``bool``: a JSON string, a JSON boolean;
- ``int32``, ``int64``: an integer within range; a number with a fraction is refused
  (``number 1.5``). A float without one (``1.0``) is taken as the integer: kubectl turns the YAML
  ``replicas: 1.0`` into ``1`` before sending it, and kubemu's CLI reads YAML the same way;
- ``double``: any number; ``bytes``: base64 text (Secret ``data``);
- ``Quantity``: a string or a number (its syntax is validation's concern);
- ``IntOrString``: a string or an int32;
- ``Time``, ``MicroTime``: an RFC 3339 string; ``Duration``: a string;
- ``FieldsV1``, ``RawExtension``: any JSON; ``StringList``: a list of strings;
- a struct, a list, a map: an object, an array, an object.

``null`` means unset, as in Kubernetes: a field that is null is removed, and a null list item or
map value becomes its type's zero value (``""``, ``0``, ``false``, ``{}``, a Quantity ``"0"``),
which is what Go decodes it to. These two normalisations (and ``1.0`` → ``1``) change the object in
place. Fields the type does not have are left alone: they are ``fieldValidation``'s business
(:mod:`apiserver.rest.schema`).

Deviations: Kubernetes names no field when a Quantity, base64 text or a time fails to parse (the
parser's message is all it says), and for a PATCH whose result has a wrong type it answers 422
Invalid on a field ``patch``; kubemu names the field, and answers every verb the same way.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re

from apiserver import apitypes
from apiserver.apitypes import FieldType, Struct
from machinery import errors

# Go's names of the types, as its decoder prints them.
_GO_TYPES = {"string": "string", "int32": "int32", "int64": "int64", "bool": "bool", "double": "float64",
             "bytes": "[]uint8", "Quantity": "resource.Quantity", "IntOrString": "intstr.IntOrString",
             "Time": "v1.Time", "MicroTime": "v1.MicroTime", "Duration": "v1.Duration", "StringList": "v1.ExtraValue",
             "FieldsV1": "v1.FieldsV1", "RawExtension": "runtime.RawExtension"}
# Types whose own JSON decoding decodes into a simpler Go type first, which is the one Go names.
_DECODED_AS = {"Time": "string", "MicroTime": "string", "Duration": "string", "IntOrString": "int32"}
# What a null list item or map value decodes to; types not listed stay null.
_ZERO = {"string": "", "int32": 0, "int64": 0, "bool": False, "double": 0, "bytes": "", "Quantity": "0",
         "IntOrString": 0}
_BITS = {"int32": 32, "int64": 64}
_RFC3339 = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})")
_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")


class _Mismatch(Exception):
    """The first problem found: the full path and the message."""

    def __init__(self, path: str, message: str):
        super().__init__(message)
        self.path = path
        self.message = message


def check_types(api_version: str, kind: str, obj: dict) -> None:
    """Refuse ``obj`` (of ``kind`` in ``api_version``) with BadRequest when a field has the wrong
    JSON type; drop null fields and turn integral floats into integers. Kinds without a type
    description, and bodies that are not objects, are left to the caller."""
    struct = apitypes.for_kind(api_version, kind)
    if struct is None or not isinstance(obj, dict):
        return
    try:
        _check_struct(struct, obj, _At("", ""))
    except _Mismatch as m:
        version = api_version.split("/")[-1]
        raise errors.BadRequest(f'{kind} in version "{version}" cannot be handled as a {kind}: {m.message}',
                                causes=[errors.Cause(m.path, m.message, "FieldValueTypeInvalid")]) from None


class _At:
    """Where a value is: its full path, and the path and struct Go's decoder would name."""

    __slots__ = ("path", "go_path", "go_struct")

    def __init__(self, path: str, go_path: str, go_struct: str = ""):
        self.path, self.go_path, self.go_struct = path, go_path, go_struct

    def field(self, struct: Struct, name: str) -> _At:
        return _At(f"{self.path}.{name}" if self.path else name,
                   f"{self.go_path}.{name}" if self.go_path else name, struct.short_name)

    def item(self, suffix: str) -> _At:
        return _At(self.path + suffix, self.go_path, self.go_struct)

    def wrong_type(self, value, go_type: str, shown: str = "") -> _Mismatch:
        return _Mismatch(self.path, f"json: cannot unmarshal {shown or _json_kind(value)} into Go struct field "
                                    f"{self.go_struct}.{self.go_path} of type {go_type}")

    def unparsable(self, reason: str) -> _Mismatch:
        return _Mismatch(self.path, f"{self.path}: {reason}")


def _json_kind(value) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _go_type(ftype: FieldType) -> str:
    element = _GO_TYPES.get(ftype.element) or _go_struct_name(ftype.element)
    if ftype.container == "list":
        return "[]" + element
    if ftype.container == "map":
        return "v1.ResourceList" if ftype.element == "Quantity" else "map[string]" + element
    return element


def _go_struct_name(definition: str) -> str:
    """``io.k8s.api.core.v1.PodSpec`` → ``v1.PodSpec``: Go's package name and the type's."""
    parts = definition.split(".")
    return f"{parts[-2]}.{parts[-1]}"


def _check_struct(struct: Struct, obj: dict, at: _At) -> None:
    properties = struct.properties
    for name in list(obj):
        field = properties.get(name) if isinstance(name, str) else None
        if field is None:
            continue
        if obj[name] is None:
            del obj[name]
            continue
        obj[name] = _check_value(field.type, obj[name], at.field(struct, name))


def _check_value(ftype: FieldType, value, at: _At):
    if ftype.container == "list":
        if not isinstance(value, list):
            raise at.wrong_type(value, _go_type(ftype))
        for i, item in enumerate(value):
            value[i] = _check_element(ftype.element, item, at.item(f"[{i}]"))
    elif ftype.container == "map":
        if not isinstance(value, dict):
            raise at.wrong_type(value, _go_type(ftype))
        for key in list(value):
            value[key] = _check_element(ftype.element, value[key], at.item(f"[{key}]"))
    else:
        value = _check_element(ftype.element, value, at)
    return value


def _check_element(element: str, value, at: _At):
    """One value of type ``element``: the value to keep (normalised), or a raised mismatch."""
    if value is None:
        return {} if element not in apitypes.SCALARS and element not in apitypes.SPECIAL else _ZERO.get(element)
    if element in _BITS:
        return _integer(value, element, at)
    if element == "string" or element in ("Time", "MicroTime", "Duration"):
        if not isinstance(value, str):
            raise at.wrong_type(value, _DECODED_AS.get(element, element))
        if element in ("Time", "MicroTime") and not _is_rfc3339(value):
            raise at.unparsable(f'parsing time "{value}": not an RFC 3339 time such as "2006-01-02T15:04:05Z"')
    elif element == "bool":
        if not isinstance(value, bool):
            raise at.wrong_type(value, "bool")
    elif element == "double":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise at.wrong_type(value, "float64")
    elif element == "bytes":
        if not isinstance(value, str):
            raise at.wrong_type(value, "[]uint8")
        _check_base64(value, at)
    elif element == "Quantity":
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise at.wrong_type(value, "resource.Quantity")
    elif element == "IntOrString":
        if not isinstance(value, str):
            return _integer(value, "int32", at)
    elif element == "StringList":
        if not isinstance(value, list):
            raise at.wrong_type(value, "v1.ExtraValue")
        for i, item in enumerate(value):
            if not isinstance(item, str):
                raise at.item(f"[{i}]").wrong_type(item, "string")
    elif element not in apitypes.SPECIAL:
        if not isinstance(value, dict):
            raise at.wrong_type(value, _go_struct_name(element))
        _check_struct(apitypes.struct(element), value, at)
    return value


def _integer(value, element: str, at: _At) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise at.wrong_type(value, element)
    if isinstance(value, float):
        if not value.is_integer():
            raise at.wrong_type(value, element, f"number {json.dumps(value)}")
        value = int(value)
    limit = 1 << (_BITS[element] - 1)
    if not -limit <= value < limit:
        raise at.wrong_type(value, element, f"number {value}")
    return value


def _is_rfc3339(text: str) -> bool:
    m = _RFC3339.fullmatch(text)
    if m is None:
        return False
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    try:
        dt.datetime(year, month, day, hour, minute, second)
    except ValueError:
        return False
    return True


def _check_base64(text: str, at: _At) -> None:
    """Go decodes ``[]byte`` from standard, padded base64 and skips line breaks."""
    text = text.replace("\r", "").replace("\n", "")
    m = _BASE64.match(text)
    bad_at = m.end() if m.end() < len(text) else -1
    if bad_at < 0:
        try:
            base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            bad_at = max(len(text) - 1, 0) if len(text) % 4 == 0 else len(text) - len(text) % 4
    if bad_at >= 0:
        raise at.unparsable(f"illegal base64 data at input byte {bad_at}")
