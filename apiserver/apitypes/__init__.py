"""The types of kubemu's kinds, field by field: one description that three readers share.

* :mod:`apiserver.rest.schema` walks an object against it for ``fieldValidation`` (unknown
  fields, reported as Kubernetes reports them);
* :mod:`apiserver.rest.openapi` turns it into the OpenAPI v2 and v3 documents that ``kubectl
  explain``, client-side apply and kubectl's validation read;
* :mod:`apiserver.rest.protobuf` decodes Kubernetes' protobuf bodies with its field numbers.

The data lives in the sibling modules (``meta``, ``core``, ``apps``, …) as text, one block per
type, in the order and with the field numbers of Kubernetes 1.32's Go types (``k8s.io/api``,
``k8s.io/apimachinery``), which also fix the field names, the wire numbers of their
``generated.proto`` files and whether a field is a pointer. The descriptions are kubemu's own.
The format::

    @ io.k8s.api.core.v1                  every type below is named io.k8s.api.core.v1.<Name>
    Container                             a type: its short name (references resolve in the same section
                                          first, then across sections, where the name must be unique)
    | One container of a pod.             its description (several | lines are joined)
      name     string!   #1  Its name.    field, type, protobuf number (- for none), description
      ports    []ContainerPort  #6  Ports   a field's description goes on on indented | lines
        | it listens on.

A field type is a scalar (``string``, ``int32``, ``int64``, ``bool``, ``double``, ``bytes``), one
of the special types of apimachinery (``Quantity``, ``IntOrString``, ``Time``, ``MicroTime``,
``Duration``, ``FieldsV1``, ``RawExtension``, and ``StringList`` for authentication's
``ExtraValue``), or a type's short name; ``[]T`` is a list, ``{}T`` a map with string keys; a
leading ``*`` marks a Go pointer (set-but-zero values survive a protobuf round trip), a trailing
``!`` a required field, and ``string=A|B`` lists the values a string may take (or an indented
``= A|B`` line after the field, where the list is long). A field named
``...`` is an embedded struct whose fields appear inline in JSON (``Volume``'s
``VolumeSource``) while protobuf nests it under its own number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache, cached_property

from machinery.resources import RESOURCES

SCALARS = frozenset({"string", "int32", "int64", "bool", "double", "bytes"})
# apimachinery's types with their own JSON form (a string, a number or free-form JSON).
SPECIAL = frozenset({"Quantity", "IntOrString", "Time", "MicroTime", "Duration", "FieldsV1", "RawExtension",
                     "StringList"})
INLINE = "..."


@dataclass(frozen=True)
class FieldType:
    """``container`` is "" (one value), "list" or "map"; ``element`` a scalar, a special type or
    the full name of a struct type."""

    container: str
    element: str
    pointer: bool = False
    enum: tuple[str, ...] = ()  # the values a string may take, where Kubernetes lists them

    @property
    def is_struct(self) -> bool:
        return self.element not in SCALARS and self.element not in SPECIAL


@dataclass(frozen=True)
class Field:
    name: str  # the JSON name; INLINE for an embedded struct
    type: FieldType
    number: int | None  # the protobuf field number; None for apiVersion/kind
    required: bool = False
    description: str = ""


@dataclass
class Struct:
    name: str  # the full OpenAPI definition name, io.k8s.api.core.v1.Pod
    description: str = ""
    fields: list[Field] = field(default_factory=list)

    @property
    def short_name(self) -> str:
        return self.name.rsplit(".", 1)[-1]

    def json_fields(self) -> list[Field]:
        """The fields as JSON has them: embedded structs' fields in their place."""
        out: list[Field] = []
        for f in self.fields:
            if f.name == INLINE:
                out.extend(struct(f.type.element).json_fields())
            else:
                out.append(f)
        return out

    @property
    def properties(self) -> dict[str, Field]:
        return _properties(self.name)

    @cached_property
    def by_number(self) -> dict[int, Field]:
        """Fields by protobuf number (read after :func:`structs` has resolved every reference)."""
        return {f.number: f for f in self.fields if f.number is not None}


class SchemaError(ValueError):
    """The type description itself is wrong (a bug in kubemu's data, caught at import by tests)."""


_FIELD = re.compile(r"^\s+(\S+)\s+(\S+)\s+(#\d+|-)\s*(.*)$")


def parse(text: str) -> dict[str, Struct]:
    """Parse type blocks; references are resolved later, when every section is known."""
    structs: dict[str, Struct] = {}
    prefix = ""
    current: Struct | None = None
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        if line.startswith("@"):
            prefix = line[1:].strip()
            current = None
        elif line.lstrip().startswith("=") and line[0].isspace():
            if current is None or not current.fields:
                raise SchemaError(f"line {number}: enum values without a field")
            last = current.fields[-1]
            ftype = FieldType(last.type.container, last.type.element, last.type.pointer,
                              tuple(line.strip()[1:].strip().split("|")))
            current.fields[-1] = Field(last.name, ftype, last.number, last.required, last.description)
        elif line.lstrip().startswith("|") and line[0].isspace():
            if current is None or not current.fields:
                raise SchemaError(f"line {number}: a continued description without a field")
            last = current.fields[-1]
            current.fields[-1] = Field(last.name, last.type, last.number, last.required,
                                       (last.description + " " + line.strip()[1:].strip()).strip())
        elif line.startswith("|"):
            if current is None:
                raise SchemaError(f"line {number}: a description outside a type")
            current.description = (current.description + " " + line[1:].strip()).strip()
        elif not line[0].isspace():
            if not prefix:
                raise SchemaError(f"line {number}: a type before any @ section")
            current = Struct(f"{prefix}.{line.strip()}")
            if current.name in structs:
                raise SchemaError(f"line {number}: {current.name} is defined twice")
            structs[current.name] = current
        else:
            m = _FIELD.match(line)
            if m is None or current is None:
                raise SchemaError(f"line {number}: cannot read {line.strip()!r}")
            name, type_text, num, description = m.groups()
            required = type_text.endswith("!")
            type_text = type_text.rstrip("!")
            pointer = type_text.startswith("*")
            type_text, _, enum = type_text.lstrip("*").partition("=")
            container = ""
            if type_text.startswith("[]"):
                container, type_text = "list", type_text[2:]
            elif type_text.startswith("{}"):
                container, type_text = "map", type_text[2:]
            current.fields.append(Field(name, FieldType(container, type_text, pointer,
                                                  tuple(enum.split("|")) if enum else ()),
                                        None if num == "-" else int(num[1:]), required, description.strip()))
    return structs


def _resolve(structs: dict[str, Struct]) -> dict[str, Struct]:
    """Turn short type names into full ones: a type of the referring type's own section first
    (core's and discovery's ``EndpointPort``), else the one type of that short name anywhere."""
    by_short: dict[str, list[str]] = {}
    for full in structs:
        by_short.setdefault(full.rsplit(".", 1)[-1], []).append(full)
    for s in structs.values():
        resolved = []
        section = s.name.rsplit(".", 1)[0]
        for f in s.fields:
            element = f.type.element
            if element not in SCALARS and element not in SPECIAL:
                candidates = by_short.get(element, [])
                if f"{section}.{element}" in structs:
                    element = f"{section}.{element}"
                elif len(candidates) == 1:
                    element = candidates[0]
                elif candidates:
                    raise SchemaError(f"{s.name}.{f.name}: the short name {element} is ambiguous: "
                                      f"{' and '.join(candidates)}")
                else:
                    raise SchemaError(f"{s.name}.{f.name}: unknown type {element}")
            resolved.append(Field(f.name, FieldType(f.type.container, element, f.type.pointer, f.type.enum), f.number,
                                  f.required, f.description))
        s.fields = resolved
    return structs


@cache
def structs() -> dict[str, Struct]:
    from apiserver.apitypes import access, apps, core, meta, network, other

    text = "\n".join(m.SCHEMA for m in (meta, core, apps, access, network, other))
    return _resolve(parse(text))


def struct(name: str) -> Struct:
    return structs()[name]


@cache
def _properties(name: str) -> dict[str, Field]:
    return {f.name: f for f in struct(name).json_fields()}


def definition_prefix(api_version: str) -> str:
    """``apps/v1`` → ``io.k8s.api.apps.v1``; ``rbac.authorization.k8s.io/v1`` → ``io.k8s.api.rbac.v1``."""
    if "/" not in api_version:
        return f"io.k8s.api.core.{api_version}"
    group, version = api_version.split("/", 1)
    return f"io.k8s.api.{group.split('.')[0]}.{version}"


# Kinds a client may send that are not resources of their own: the bodies of subresources and
# options. (api_version, kind) → definition.
_EXTRA_KINDS = {
    ("policy/v1", "Eviction"): "io.k8s.api.policy.v1.Eviction",
    ("autoscaling/v1", "Scale"): "io.k8s.api.autoscaling.v1.Scale",
    ("v1", "DeleteOptions"): "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions",
    ("meta.k8s.io/v1", "DeleteOptions"): "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions",
}


@cache
def kinds() -> dict[tuple[str, str], str]:
    """(apiVersion, kind) → definition name, for every served kind and the extra body kinds."""
    out = {(info.api_version, info.kind): f"{definition_prefix(info.api_version)}.{info.kind}"
           for info in RESOURCES.values()}
    out.update(_EXTRA_KINDS)
    missing = [name for name in out.values() if name not in structs()]
    if missing:
        raise SchemaError(f"kinds without a type description: {', '.join(missing)}")
    return out


def for_kind(api_version: str, kind: str) -> Struct | None:
    name = kinds().get((api_version, kind))
    return struct(name) if name else None
