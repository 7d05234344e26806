"""Loading ``kubectl apply -f`` style manifests: files, directories and stdin.

``load_manifests(path)`` accepts one file (``-`` means stdin) holding one or more
YAML documents separated by ``---``, or a directory, whose ``*.yaml``, ``*.yml`` and
``*.json`` files are read in sorted name order (not recursively, like ``kubectl -f
dir`` without ``-R``). Empty documents are skipped, a top-level ``kind: List`` is
expanded into its items, and every object keeps the key order of its source.

YAML is read the way Kubernetes reads it, not the way PyYAML does by default:
timestamps stay strings (``creationTimestamp: 2026-11-25T08:40:02Z`` is not turned
into a ``datetime``), non-string scalar keys become strings as in JSON, and a key
repeated in one mapping is an error. ``.json`` files are parsed with the JSON
parser (a stream of several JSON values is allowed).

Problems are reported as ``ManifestError`` (a ``ValueError``) whose message names
the file and says where and what is wrong, so the CLI can print it verbatim:

* ``error parsing pod.yaml: line 7, column 3: mapping values are not allowed here``
* ``pod.yaml: document 2: missing "kind"``
* ``pod.yaml: document 1: items[3]: "metadata.name" must be a string``
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterator
from typing import Any, TextIO

import yaml

__all__ = ["ManifestError", "load_manifests"]

MANIFEST_EXTENSIONS = (".yaml", ".yml", ".json")
STDIN_NAME = "STDIN"


class ManifestError(ValueError):
    """A manifest could not be read, parsed or is not a Kubernetes object."""


# --------------------------------------------------------------------------- yaml loader


class _KubeLoader(yaml.SafeLoader):
    """SafeLoader without the timestamp resolver, with JSON-style keys and duplicate-key errors.

    Booleans are YAML 1.1's as kubectl reads them (sigs.k8s.io/yaml over go-yaml v2), which also
    counts ``y``/``Y``/``n``/``N``: ``name: Y`` is the boolean true for kubectl, so it is here too,
    and the apiserver refuses it for a string field the same way for both clients.
    """

    yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    bool_values = {**yaml.SafeLoader.bool_values, "y": True, "n": False}


_KubeLoader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:y|Y|n|N)$"), list("yYnN"))


def _json_key(key: Any) -> Any:
    if isinstance(key, bool):
        return "true" if key else "false"
    if key is None:
        return "null"
    if isinstance(key, (int, float)):
        return str(key)
    return key


def _construct_mapping(loader: _KubeLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    result: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = _json_key(loader.construct_object(key_node, deep=deep))
        if not isinstance(key, str):
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping", node.start_mark, "found a non-scalar key",
                key_node.start_mark)
        if key in result:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping", node.start_mark, f'found duplicate key "{key}"',
                key_node.start_mark)
        result[key] = loader.construct_object(value_node, deep=deep)
    return result


def _construct_map(loader: _KubeLoader, node: yaml.MappingNode) -> Iterator[dict[Any, Any]]:
    data: dict[Any, Any] = {}
    yield data
    data.update(_construct_mapping(loader, node))


_KubeLoader.add_constructor("tag:yaml.org,2002:map", _construct_map)


def _yaml_error(name: str, exc: yaml.YAMLError) -> ManifestError:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or getattr(exc, "context", None) or str(exc)
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    return ManifestError(f"error parsing {name}: {where}{problem}")


def _yaml_documents(name: str, text: str) -> list[Any]:
    try:
        return list(yaml.load_all(text, Loader=_KubeLoader))  # _KubeLoader derives from SafeLoader
    except yaml.YAMLError as exc:
        raise _yaml_error(name, exc) from None


def _json_documents(name: str, text: str) -> list[Any]:
    decoder = json.JSONDecoder()
    documents, index = [], 0
    while True:
        while index < len(text) and text[index].isspace():
            index += 1
        if index >= len(text):
            return documents
        try:
            document, index = decoder.raw_decode(text, index)
        except json.JSONDecodeError as exc:
            where = f"line {exc.lineno}, column {exc.colno}"
            raise ManifestError(f"error parsing {name}: {where}: {exc.msg}") from None
        documents.append(document)


# --------------------------------------------------------------------------- validation

_TYPE_NAMES = {list: "a list", str: "a string", int: "a number", float: "a number", bool: "a boolean"}


def _type_name(value: Any) -> str:
    return _TYPE_NAMES.get(type(value), type(value).__name__)


def _check_object(where: str, obj: Any) -> None:
    if not isinstance(obj, dict):
        raise ManifestError(f"{where}: a document must be a mapping, got {_type_name(obj)}")
    for field in ("kind", "apiVersion"):
        if field not in obj or obj[field] is None or obj[field] == "":
            raise ManifestError(f'{where}: missing "{field}"')
        if not isinstance(obj[field], str):
            raise ManifestError(f'{where}: "{field}" must be a string')
    metadata = obj.get("metadata")
    if metadata is None:
        return
    if not isinstance(metadata, dict):
        raise ManifestError(f'{where}: "metadata" must be a mapping')
    for field in ("name", "namespace", "generateName"):
        if field in metadata and not isinstance(metadata[field], str):
            raise ManifestError(f'{where}: "metadata.{field}" must be a string')


def _expand(where: str, obj: Any) -> list[dict[str, Any]]:
    _check_object(where, obj)
    if not (obj["kind"] == "List" or (obj["kind"].endswith("List") and "items" in obj)):
        return [obj]
    items = obj.get("items") or []
    if not isinstance(items, list):
        raise ManifestError(f'{where}: "items" must be a list')
    expanded: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        expanded.extend(_expand(f"{where}: items[{index}]", item))
    return expanded


def _objects(name: str, documents: list[Any]) -> list[dict[str, Any]]:
    objects: list[dict[str, Any]] = []
    for number, document in enumerate(documents, start=1):
        if document is None:
            continue
        objects.extend(_expand(f"{name}: document {number}", document))
    return objects


# --------------------------------------------------------------------------- files


def _read_text(name: str, path: str, stdin: TextIO | None) -> str:
    try:
        if path == "-":
            return (stdin or sys.stdin).read()
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except UnicodeDecodeError as exc:
        problem = f"not UTF-8 text ({exc.reason} at byte {exc.start})"
        raise ManifestError(f"error reading {name}: {problem}") from None
    except OSError as exc:
        raise ManifestError(f"error reading {name}: {exc.strerror or exc}") from None


def _load_text(name: str, text: str) -> list[dict[str, Any]]:
    documents = _json_documents(name, text) if name.endswith(".json") else _yaml_documents(name, text)
    return _objects(name, documents)


def _directory_files(path: str, recursive: bool) -> list[str]:
    if not recursive:
        names = sorted(n for n in os.listdir(path) if n.endswith(MANIFEST_EXTENSIONS))
        return [os.path.join(path, n) for n in names if os.path.isfile(os.path.join(path, n))]
    files = []
    for root, dirs, names in os.walk(path):
        dirs.sort()
        files.extend(os.path.join(root, n) for n in sorted(names) if n.endswith(MANIFEST_EXTENSIONS))
    return files


def load_manifests(path: str, *, recursive: bool = False,
                   stdin: TextIO | None = None) -> list[dict[str, Any]]:
    """Read every Kubernetes object from ``path`` (a file, a directory, or ``-`` for stdin).

    ``recursive`` descends into sub-directories (``kubectl -R``); ``stdin`` replaces
    ``sys.stdin`` for ``-``. Raises ManifestError naming the file and the problem.
    """
    if path == "-":
        return _load_text(STDIN_NAME, _read_text(STDIN_NAME, path, stdin))
    if not os.path.exists(path):
        raise ManifestError(f'the path "{path}" does not exist')
    if os.path.isdir(path):
        objects: list[dict[str, Any]] = []
        for file_path in _directory_files(path, recursive):
            objects.extend(_load_text(file_path, _read_text(file_path, file_path, None)))
        return objects
    return _load_text(path, _read_text(path, path, None))
