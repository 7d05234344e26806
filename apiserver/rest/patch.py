"""The three PATCH formats of the Kubernetes API, applied to an object (dicts in, a new dict out).

- JSON merge patch (RFC 7386, ``application/merge-patch+json``): maps merge recursively, ``null``
  deletes a key, anything else (lists included) replaces.
- JSON patch (RFC 6902, ``application/json-patch+json``): ``add``, ``remove``, ``replace``,
  ``move``, ``copy``, ``test`` at JSON pointers.
- Strategic merge patch (``application/strategic-merge-patch+json``, what ``kubectl apply``,
  ``set image`` and ``edit`` send): like merge patch, but lists with a merge key
  (apiserver/patch_meta.py: containers by ``name``, ports by ``containerPort``…) merge item by
  item, and the directives are honoured: ``$patch: replace|delete|merge`` on maps and list items,
  ``$setElementOrder/<list>`` (the order of the merged list), ``$deleteFromPrimitiveList/<list>``,
  and ``$retainKeys`` (keep only the named keys). Lists without a merge key are atomic (replaced).

Every function leaves its inputs untouched. Malformed patches raise :class:`PatchError`, which
the handler answers as BadRequest (or Invalid for a failed JSON patch ``test``).
"""

from __future__ import annotations

import copy
import json
from typing import Any

from apiserver.patch_meta import list_strategy

MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"
PATCH_TYPES = (MERGE_PATCH, JSON_PATCH, STRATEGIC_MERGE_PATCH, APPLY_PATCH)

# A JSON patch may hold many operations, each bounded by the request size; this bounds the work.
MAX_JSON_PATCH_OPERATIONS = 10000


class PatchError(ValueError):
    """A patch that cannot be applied; the message says why."""


# --------------------------------------------------------------------------- JSON merge patch


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: the result of applying ``patch`` to ``target``."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


# --------------------------------------------------------------------------- JSON patch


def _pointer(path: Any) -> list[str]:
    if not isinstance(path, str) or (path and not path.startswith("/")):
        raise PatchError(f"invalid JSON pointer {path!r}: it must be empty or start with '/'")
    return [p.replace("~1", "/").replace("~0", "~") for p in path.split("/")[1:]] if path else []


def _index(container: list, token: str, *, for_add: bool = False) -> int:
    if for_add and token == "-":
        return len(container)
    if not token.isdigit() or (len(token) > 1 and token.startswith("0")):
        raise PatchError(f"invalid array index {token!r}")
    index = int(token)
    if index > len(container) or (index == len(container) and not for_add):
        raise PatchError(f"array index {index} out of bounds (length {len(container)})")
    return index


def _parent(doc: Any, tokens: list[str]) -> Any:
    node = doc
    for token in tokens[:-1]:
        if isinstance(node, dict):
            if token not in node:
                raise PatchError(f"path /{'/'.join(tokens)}: key {token!r} does not exist")
            node = node[token]
        elif isinstance(node, list):
            node = node[_index(node, token)]
        else:
            raise PatchError(f"path /{'/'.join(tokens)}: {token!r} is not inside an object or array")
    return node


def _get(doc: Any, tokens: list[str]) -> Any:
    if not tokens:
        return doc
    parent = _parent(doc, tokens)
    last = tokens[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise PatchError(f"path /{'/'.join(tokens)} does not exist")
        return parent[last]
    if isinstance(parent, list):
        return parent[_index(parent, last)]
    raise PatchError(f"path /{'/'.join(tokens)} does not exist")


def _remove(doc: Any, tokens: list[str]) -> Any:
    if not tokens:
        raise PatchError("cannot remove the whole document")
    parent = _parent(doc, tokens)
    last = tokens[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise PatchError(f"cannot remove /{'/'.join(tokens)}: it does not exist")
        return parent.pop(last)
    if isinstance(parent, list):
        return parent.pop(_index(parent, last))
    raise PatchError(f"cannot remove /{'/'.join(tokens)}: its parent is not an object or array")


def _add(doc: Any, tokens: list[str], value: Any, *, replace: bool = False) -> Any:
    if not tokens:
        return value
    parent = _parent(doc, tokens)
    last = tokens[-1]
    if isinstance(parent, dict):
        if replace and last not in parent:
            raise PatchError(f"cannot replace /{'/'.join(tokens)}: it does not exist")
        parent[last] = value
    elif isinstance(parent, list):
        if replace:
            parent[_index(parent, last)] = value
        else:
            parent.insert(_index(parent, last, for_add=True), value)
    else:
        raise PatchError(f"cannot add at /{'/'.join(tokens)}: its parent is not an object or array")
    return doc


def json_patch(target: Any, operations: Any) -> Any:
    """RFC 6902: apply ``operations`` in order; any failure leaves nothing applied."""
    if not isinstance(operations, list):
        raise PatchError("a JSON patch must be a list of operations")
    if len(operations) > MAX_JSON_PATCH_OPERATIONS:
        raise PatchError(f"a JSON patch may hold at most {MAX_JSON_PATCH_OPERATIONS} operations")
    doc = copy.deepcopy(target)
    for number, op in enumerate(operations):
        if not isinstance(op, dict) or not isinstance(op.get("op"), str):
            raise PatchError(f"operation {number} must be an object with an \"op\"")
        kind, path = op["op"], _pointer(op.get("path"))
        if kind in ("add", "replace", "test") and "value" not in op:
            raise PatchError(f"operation {number} ({kind}) needs a \"value\"")
        if kind == "add":
            doc = _add(doc, path, copy.deepcopy(op["value"]))
        elif kind == "replace":
            doc = _add(doc, path, copy.deepcopy(op["value"]), replace=True)
        elif kind == "remove":
            _remove(doc, path)
        elif kind in ("move", "copy"):
            source = _pointer(op.get("from"))
            value = _remove(doc, source) if kind == "move" else copy.deepcopy(_get(doc, source))
            doc = _add(doc, path, value)
        elif kind == "test":
            if _get(doc, path) != op["value"]:
                raise PatchError(f"testing value /{'/'.join(path)} failed")
        else:
            raise PatchError(f"operation {number}: unknown op {kind!r}")
    return doc


# --------------------------------------------------------------------------- strategic merge patch

_PATCH = "$patch"
_RETAIN_KEYS = "$retainKeys"
_ORDER_PREFIX = "$setElementOrder/"
_DELETE_PRIMITIVE_PREFIX = "$deleteFromPrimitiveList/"


def strategic_merge_patch(original: Any, patch: Any, holder: str = "") -> Any:
    """Apply a strategic merge patch to ``original`` (a map); ``holder`` is the name of the field
    holding ``original`` (it picks the merge keys of the lists inside)."""
    if not isinstance(patch, dict):
        raise PatchError("a strategic merge patch must be a JSON object")
    return _merge_map(original if isinstance(original, dict) else {}, patch, holder)


def _merge_map(original: dict, patch: dict, holder: str) -> dict | None:
    directive = patch.get(_PATCH)
    if directive == "delete":
        return None
    if directive == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != _PATCH}
    if directive not in (None, "merge"):
        raise PatchError(f"unknown patch directive {_PATCH}: {directive!r}")
    out = copy.deepcopy(original)
    orders = {k[len(_ORDER_PREFIX):]: v for k, v in patch.items() if k.startswith(_ORDER_PREFIX)}
    for key, value in patch.items():
        if key in (_PATCH, _RETAIN_KEYS) or key.startswith(_ORDER_PREFIX):
            continue
        if key.startswith(_DELETE_PRIMITIVE_PREFIX):
            field = key[len(_DELETE_PRIMITIVE_PREFIX):]
            if isinstance(out.get(field), list) and isinstance(value, list):
                out[field] = [v for v in out[field] if v not in value]
            continue
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict):
            merged = _merge_map(out.get(key) if isinstance(out.get(key), dict) else {}, value, key)
            if merged is None:
                out.pop(key, None)
            else:
                out[key] = merged
        elif isinstance(value, list):
            out[key] = _merge_list(out.get(key) if isinstance(out.get(key), list) else [], value, holder, key)
        else:
            out[key] = copy.deepcopy(value)
    for field, order in orders.items():
        if isinstance(out.get(field), list) and isinstance(order, list):
            out[field] = _set_order(out[field], order, list_strategy(holder, field).merge_key)
    retain = patch.get(_RETAIN_KEYS)
    if isinstance(retain, list):
        out = {k: v for k, v in out.items() if k in retain}
    return out


def _merge_list(original: list, patch: list, holder: str, field: str) -> list:
    strategy = list_strategy(holder, field)
    if strategy.strategy != "merge":
        return [_strip_directives(v) for v in patch]
    if any(isinstance(p, dict) and p.get(_PATCH) == "replace" and len(p) == 1 for p in patch):
        return [_strip_directives(p) for p in patch if not (isinstance(p, dict) and p.get(_PATCH) == "replace")]
    key = strategy.merge_key
    if not key:  # a set of scalars (finalizers): union, in order
        out = list(original)
        out.extend(v for v in patch if v not in out)
        return copy.deepcopy(out)
    out = copy.deepcopy(original)
    for item in patch:
        if not isinstance(item, dict):
            raise PatchError(f"the items of {field} must be objects with a {key!r}")
        if key not in item:
            raise PatchError(f"an item of {field} has no merge key {key!r}")
        index = next((i for i, o in enumerate(out) if isinstance(o, dict) and o.get(key) == item[key]), None)
        if item.get(_PATCH) == "delete":
            if index is not None:
                out.pop(index)
            continue
        if index is None:
            out.append(_strip_directives(item))
        else:
            merged = _merge_map(out[index], item, field)
            if merged is None:
                out.pop(index)
            else:
                out[index] = merged
    return out


def _set_order(items: list, order: list, key: str) -> list:
    """``$setElementOrder``: the listed items first, in that order, then the others as they were."""
    def identity(value):
        return value.get(key) if key and isinstance(value, dict) else json.dumps(value, sort_keys=True)

    wanted = [identity(o) for o in order]
    listed = {w: i for i, w in enumerate(wanted)}
    known = sorted((i for i in items if identity(i) in listed), key=lambda i: listed[identity(i)])
    return known + [i for i in items if identity(i) not in listed]


def _strip_directives(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_directives(v) for k, v in value.items()
                if k not in (_PATCH, _RETAIN_KEYS) and not k.startswith((_ORDER_PREFIX, _DELETE_PRIMITIVE_PREFIX))}
    if isinstance(value, list):
        return [_strip_directives(v) for v in value]
    return copy.deepcopy(value)
