"""Field ownership (``metadata.managedFields``) and server-side apply.

Every write through the REST API records which *field manager* set which fields, as Kubernetes
does: ``kubectl create`` owns what it created (manager ``kubectl-create``), ``kubectl scale``
the replicas it changed, a server-side apply (``kubectl apply --server-side``, manager
``kubectl``) exactly the fields of its configuration. Entries are ``FieldsV1`` sets
(``{"f:spec": {"f:replicas": {}}}``; list items by merge key: ``k:{"name":"nginx"}``; items of
sets of scalars: ``v:"x"``; ``"."`` for the item itself).

Server-side apply (:func:`apply`) merges the configuration into the live object (maps by key,
lists by their merge keys, atomic lists replaced), then:

- a field the configuration sets to a value differing from the live one, owned by another
  manager, is a **conflict**: the request fails with 409 and Kubernetes' message
  (``Apply failed with 1 conflict: conflict with "kubectl-create" using apps/v1: .spec.replicas``)
  unless ``force=true``, which takes the field over;
- a field the manager applied before but left out now is removed, unless someone else owns it.

Simplifications: ownership is tracked for REST writes only (gRPC clients keep the entries they
read); a field owned by several managers with equal values is shared, as in Kubernetes; status
is not tracked on the main resource.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from apiserver.patch_meta import list_strategy
from apiserver.rest.patch import strategic_merge_patch
from machinery import errors, meta

Path = tuple[str, ...]
SELF = "."
# Metadata the server owns: never part of anyone's field set.
_SERVER_METADATA = {"managedFields", "resourceVersion", "uid", "creationTimestamp", "generation", "selfLink",
                    "deletionTimestamp", "deletionGracePeriodSeconds", "name", "namespace", "generateName"}
MAX_MANAGERS = 32


# --------------------------------------------------------------------------- field sets


def field_set(obj: dict, *, include_status: bool = False) -> set[Path]:
    """Every leaf field of ``obj`` (plus keyed list items themselves), as paths."""
    out: set[Path] = set()
    for key, value in obj.items():
        if key in ("apiVersion", "kind") or (key == "status" and not include_status):
            continue
        if key == "metadata" and isinstance(value, dict):
            value = {k: v for k, v in value.items() if k not in _SERVER_METADATA}
            if not value:
                continue
        _walk(value, (f"f:{key}",), key, "", out)
    return out


def _walk(value: Any, path: Path, field: str, holder: str, out: set[Path]) -> None:
    if isinstance(value, dict) and value:
        for key, sub in value.items():
            _walk(sub, path + (f"f:{key}",), key, field, out)
        return
    if isinstance(value, list) and value:
        strategy = list_strategy(holder, field)
        if strategy.strategy == "merge" and strategy.merge_key:
            for item in value:
                if isinstance(item, dict) and strategy.merge_key in item:
                    item_path = path + (_key_element(strategy.merge_key, item[strategy.merge_key]),)
                    out.add(item_path + (SELF,))
                    for key, sub in item.items():
                        _walk(sub, item_path + (f"f:{key}",), key, field, out)
            return
        if strategy.strategy == "merge":
            for item in value:
                out.add(path + (f"v:{json.dumps(item, separators=(',', ':'))}",))
            return
    out.add(path)


def _key_element(key: str, value: Any) -> str:
    return "k:" + json.dumps({key: value}, separators=(",", ":"))


def to_fields_v1(paths: set[Path]) -> dict:
    root: dict = {}
    for path in sorted(paths):
        node = root
        for element in path:
            node = node.setdefault(element, {})
    return root


def from_fields_v1(fields: Any, prefix: Path = ()) -> set[Path]:
    out: set[Path] = set()
    if not isinstance(fields, dict):
        return out
    for element, sub in fields.items():
        path = prefix + (element,)
        if element == SELF or not sub:
            out.add(path)
        else:
            out |= from_fields_v1(sub, path)
    return out


# --------------------------------------------------------------------------- values at paths

_MISSING = object()


def value_at(obj: Any, path: Path) -> Any:
    node = obj
    for element in path:
        if element == SELF:
            return node
        kind, _, name = element.partition(":")
        if kind == "f" and isinstance(node, dict):
            node = node.get(name, _MISSING)
        elif kind == "k" and isinstance(node, list):
            ((key, wanted),) = json.loads(name).items()
            node = next((i for i in node if isinstance(i, dict) and i.get(key) == wanted), _MISSING)
        elif kind == "v" and isinstance(node, list):
            return json.loads(name) if json.loads(name) in node else _MISSING
        else:
            return _MISSING
        if node is _MISSING:
            return _MISSING
    return node


def remove_at(obj: Any, path: Path) -> None:
    """Remove the field (or keyed list item, for a path ending in ``.``) at ``path``, if present."""
    if path and path[-1] == SELF:
        path = path[:-1]
    if not path:
        return
    parent = value_at(obj, path[:-1])
    kind, _, name = path[-1].partition(":")
    if kind == "f" and isinstance(parent, dict):
        parent.pop(name, None)
    elif kind == "k" and isinstance(parent, list):
        ((key, wanted),) = json.loads(name).items()
        parent[:] = [i for i in parent if not (isinstance(i, dict) and i.get(key) == wanted)]
    elif kind == "v" and isinstance(parent, list):
        value = json.loads(name)
        parent[:] = [i for i in parent if i != value]


def describe(path: Path) -> str:
    """A path the way Kubernetes prints it in conflicts: ``.spec.containers[name="nginx"].image``."""
    out = ""
    for element in path:
        kind, _, name = element.partition(":")
        if kind == "f":
            out += f".{name}"
        elif kind == "k":
            out += "[" + ",".join(f"{k}={json.dumps(v)}" for k, v in json.loads(name).items()) + "]"
        elif kind == "v":
            out += f"[={name}]"
    return out


# --------------------------------------------------------------------------- managedFields


def _entries(obj: dict) -> list[dict]:
    entries = (obj.get("metadata") or {}).get("managedFields")
    return [e for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []


def _owned(entry: dict) -> set[Path]:
    return from_fields_v1(entry.get("fieldsV1"))


def _entry(manager: str, operation: str, api_version: str, paths: set[Path], subresource: str = "") -> dict:
    entry = {"manager": manager, "operation": operation, "apiVersion": api_version, "time": meta.format_time(),
             "fieldsType": "FieldsV1", "fieldsV1": to_fields_v1(paths)}
    if subresource:
        entry["subresource"] = subresource
    return entry


def _store(obj: dict, entries: list[dict]) -> None:
    kept = [e for e in entries if e.get("fieldsV1")][-MAX_MANAGERS:]
    metadata = obj.setdefault("metadata", {})
    if kept:
        metadata["managedFields"] = kept
    else:
        metadata.pop("managedFields", None)


def record_create(obj: dict, manager: str) -> None:
    """The creator owns every field it sent."""
    _store(obj, [_entry(manager, "Update", str(obj.get("apiVersion", "")), field_set(obj))])


def record_update(old: dict, new: dict, manager: str, *, subresource: str = "") -> None:
    """An update (PUT, or a patch other than apply) owns what it changed; removed fields leave
    every set. ``new`` gets the resulting managedFields."""
    status = subresource == "status"
    before, after = field_set(old, include_status=status), field_set(new, include_status=status)
    if status:
        before = {p for p in before if p[0] == "f:status"}
        after = {p for p in after if p[0] == "f:status"}
    changed = {p for p in after if value_at(new, p) != value_at(old, p)}
    removed = before - after
    if not changed and not removed:
        # Nothing changes hands, so no entry's time moves either: kube-apiserver does not count
        # an update that would change only managedFields times (``patch`` says "(no change)",
        # the resourceVersion stays).
        _store(new, copy.deepcopy(_entries(old)))
        return
    entries = []
    mine = None
    for entry in copy.deepcopy(_entries(old)):
        owned = (_owned(entry) - removed) - changed
        if entry.get("manager") == manager and entry.get("operation") == "Update" and \
                entry.get("subresource", "") == subresource:
            mine = owned
            continue
        entry["fieldsV1"] = to_fields_v1(owned)
        entries.append(entry)
    if changed or mine:
        entries.append(_entry(manager, "Update", str(new.get("apiVersion", "")), (mine or set()) | changed,
                              subresource))
    _store(new, entries)


def apply(live: dict | None, config: dict, manager: str, *, force: bool = False) -> dict:
    """The object after applying ``config`` as ``manager`` (a new dict; ``live`` None: create)."""
    if not manager:
        raise errors.BadRequest("PATCH with apply requires a fieldManager (kubectl sends one)")
    config = copy.deepcopy(config)
    applied = field_set(config)
    base = copy.deepcopy(live) if live else {}
    entries = copy.deepcopy(_entries(base))
    previous: set[Path] = set()
    others: list[dict] = []
    for entry in entries:
        if entry.get("manager") == manager and entry.get("operation") == "Apply":
            previous = _owned(entry)
        else:
            others.append(entry)
    conflicts: dict[str, list[Path]] = {}
    for entry in others:
        clashing = sorted(p for p in applied & _owned(entry)
                          if p[-1] != SELF and value_at(base, p) != value_at(config, p))
        if clashing:
            conflicts.setdefault(_manager_label(entry), []).extend(clashing)
    if conflicts and not force:
        raise _conflict_error(conflicts)
    merged = strategic_merge_patch(base, {k: v for k, v in config.items() if k != "status"})
    still_owned = set().union(*(_owned(e) for e in others)) if others else set()
    for path in sorted(previous - applied - still_owned, key=len, reverse=True):
        if path[-1] == SELF and any(p[:len(path) - 1] == path[:-1] for p in still_owned | applied):
            continue
        remove_at(merged, path)
    new_entries = []
    for entry in others:
        owned = _owned(entry) - applied if force else _owned(entry)
        entry["fieldsV1"] = to_fields_v1(owned)
        new_entries.append(entry)
    new_entries.append(_entry(manager, "Apply", str(config.get("apiVersion", "")), applied))
    _store(merged, new_entries)
    return merged


def _manager_label(entry: dict) -> str:
    return f'"{entry.get("manager", "")}" using {entry.get("apiVersion", "")}'


def _conflict_error(conflicts: dict[str, list[Path]]) -> errors.Conflict:
    total = sum(len(v) for v in conflicts.values())
    causes = [errors.Cause(describe(p), f"conflict with {who}", "FieldManagerConflict")
              for who, paths in conflicts.items() for p in paths]
    if total == 1:
        ((who, (path,)),) = conflicts.items()
        message = f"Apply failed with 1 conflict: conflict with {who}: {describe(path)}"
    else:
        parts = []
        for who, paths in conflicts.items():
            noun = "conflict" if len(paths) == 1 else "conflicts"
            parts.append(f"{noun} with {who}:\n" + "\n".join(f"- {describe(p)}" for p in paths))
        message = f"Apply failed with {total} conflicts: " + "\n".join(parts)
    return errors.Conflict(message, causes=causes)
