"""Unknown fields of an object, for ``fieldValidation=Strict|Warn`` (kubectl sends Strict).

An object is walked against its kind's type description (:mod:`apiserver.apitypes`, the
same one the OpenAPI documents are made from), and every key its type does not have is reported
by its path in Kubernetes' notation: ``spec.containers[0].imagePullPolice``,
``metadata.labelz``. Keys of maps (labels, ``data``) are free. A value of the wrong JSON type is
not an unknown field; validation reports it (or the stored object would be rejected) — the walk
does not descend into it. Objects of kinds without a type description (none today) have no
unknown fields.
"""

from __future__ import annotations

from apiserver import apitypes
from apiserver.apitypes import FieldType, Struct


def unknown_fields(api_version: str, kind: str, obj: dict) -> list[str]:
    """Paths of the fields of ``obj`` that kind ``kind`` of ``api_version`` does not have."""
    struct = apitypes.for_kind(api_version, kind)
    if struct is None or not isinstance(obj, dict):
        return []
    found: list[str] = []
    _walk_struct(struct, obj, "", found)
    return found


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _walk_struct(struct: Struct, obj: dict, prefix: str, found: list[str]) -> None:
    properties = struct.properties
    for name, value in obj.items():
        field = properties.get(name)
        if field is None:
            found.append(_join(prefix, str(name)))
        else:
            _walk_value(field.type, value, _join(prefix, name), found)


def _walk_value(ftype: FieldType, value, path: str, found: list[str]) -> None:
    if ftype.container == "list":
        if isinstance(value, list):
            for i, item in enumerate(value):
                _walk_element(ftype.element, item, f"{path}[{i}]", found)
    elif ftype.container == "map":
        if isinstance(value, dict):
            for key, item in value.items():
                _walk_element(ftype.element, item, f"{path}.{key}", found)
    else:
        _walk_element(ftype.element, value, path, found)


def _walk_element(element: str, value, path: str, found: list[str]) -> None:
    if element in apitypes.SCALARS or element in apitypes.SPECIAL:
        return
    if isinstance(value, dict):
        _walk_struct(apitypes.struct(element), value, path, found)
