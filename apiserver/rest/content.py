"""Request bodies and response formats: what a client sent, and what it wants back.

Bodies: JSON (``application/json``, the default), YAML (``application/yaml``, and server-side
apply's ``application/apply-patch+yaml``), and Kubernetes protobuf
(``application/vnd.kubernetes.protobuf``, which kubectl ≥ 1.32 sends for typed creates such as
``create namespace`` and ``auth can-i``), decoded by :mod:`apiserver.rest.protobuf`; a body
that cannot be decoded is 400 BadRequest.

Answers: JSON, a ``Table`` when the Accept header asks ``as=Table;g=meta.k8s.io;v=v1`` (or
v1beta1), and ``PartialObjectMetadata``/``PartialObjectMetadataList`` when it asks for those.
Protobuf is never answered: clients that accept it also accept JSON.

Strict field validation (``fieldValidation=Strict|Warn|Ignore``, default Warn as in Kubernetes
≥ 1.27) asks :func:`apiserver.rest.schema.unknown_fields` for fields the kind does not have; a
value of the wrong JSON type (:mod:`apiserver.typecheck`) is reported before them.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass

import yaml

from apiserver.rest import protobuf, schema
from apiserver.rest.status import UnsupportedMediaType
from apiserver.typecheck import check_types
from machinery import errors

JSON = "application/json"
YAML = "application/yaml"
PROTOBUF = "application/vnd.kubernetes.protobuf"
APPLY_YAML = "application/apply-patch+yaml"


def media_type(header: str) -> str:
    return (header or "").split(";", 1)[0].strip().lower()


def decode(body: bytes, content_type: str) -> object:
    """The object in a request body, by its content type."""
    kind = media_type(content_type) or JSON
    if kind == PROTOBUF:
        try:
            return protobuf.decode(body)
        except ValueError as e:
            raise errors.BadRequest(f"cannot decode the protobuf body: {e}") from None
    if kind in (YAML, APPLY_YAML, "application/x-yaml", "text/yaml"):
        try:
            return yaml.safe_load(body.decode("utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as e:
            raise errors.BadRequest(f"the request body is not valid YAML: {e}") from None
    if kind == JSON or kind.endswith("+json"):
        try:
            return json.loads(body)
        except (ValueError, UnicodeDecodeError) as e:
            raise errors.BadRequest(f"the request body is not valid JSON: {e}") from None
    raise UnsupportedMediaType(f'the body content type "{kind}" is not supported; send {JSON}')


def decode_object(body: bytes, content_type: str) -> dict:
    obj = decode(body, content_type)
    if not isinstance(obj, dict):
        raise errors.BadRequest("the request body must be a JSON object")
    return obj


@dataclass(frozen=True)
class Wanted:
    """What the Accept header asks for: ``as`` is "" (the object), Table, PartialObjectMetadata(List)."""

    as_kind: str = ""
    yaml: bool = False


def wanted(accept: str) -> Wanted:
    """Pick the first acceptable form in the Accept header (kubectl lists Table first, then JSON)."""
    for part in (accept or "").split(","):
        fields = [f.strip() for f in part.split(";")]
        kind = fields[0].lower()
        params = dict(f.split("=", 1) for f in fields[1:] if "=" in f)
        if kind not in (JSON, YAML, PROTOBUF, "*/*", "application/*"):
            continue
        as_kind = params.get("as", "")
        if as_kind:
            if params.get("g") == "meta.k8s.io" and params.get("v") in ("v1", "v1beta1") and as_kind in (
                    "Table", "PartialObjectMetadata", "PartialObjectMetadataList"):
                return Wanted(as_kind)
            continue
        if kind == PROTOBUF:
            continue
        return Wanted("", yaml=kind == YAML)
    return Wanted()


def strict_decoding(api_version: str, kind: str, obj: dict, mode: str) -> list[str]:
    """Unknown fields of ``obj`` under ``fieldValidation=mode``: Strict raises BadRequest in
    Kubernetes' words, Warn returns warnings for the ``Warning`` header, Ignore does nothing."""
    mode = mode or "Warn"
    if mode not in ("Strict", "Warn", "Ignore"):
        raise errors.BadRequest(f'fieldValidation must be one of "Ignore", "Warn", "Strict", not "{mode}"')
    if mode == "Ignore":
        return []
    unknown = schema.unknown_fields(api_version, kind, obj)
    if not unknown:
        return []
    messages = [f'unknown field "{path}"' for path in unknown]
    if mode == "Strict":
        # A value of the wrong type fails decoding outright, and Kubernetes reports it instead of
        # unknown fields; the apiserver core checks the object again, this copy is for precedence.
        check_types(api_version, kind, copy.deepcopy(obj))
        version = api_version.split("/")[-1]
        raise errors.BadRequest(f'{kind} in version "{version}" cannot be handled as a {kind}: '
                                f"strict decoding error: {', '.join(messages)}")
    return messages

