"""``kubemu kubectl`` for editing objects in place: label, annotate, patch.

    kubemu kubectl label TYPE NAME k=v k2- [--overwrite] [-l SELECTOR | --all] [-A] [--resource-version RV]
    kubemu kubectl annotate TYPE NAME k=v k2- [--overwrite] [-l SELECTOR | --all] [-A] [--resource-version RV]
    kubemu kubectl patch TYPE NAME -p PATCH [--type strategic|merge|json] [--patch-file FILE]

Any kind kubemu serves works (``TYPE NAME`` or ``TYPE/NAME``). Arguments, checks, messages and
output are kubectl's: ``pod/web labeled`` (``not labeled`` when nothing changed, ``unlabeled``
when only labels went away), ``pod/web annotated``, ``pod/web patched`` /
``pod/web patched (no change)``; an existing label or annotation with another value is only
replaced with ``--overwrite``. Every bad argument is refused before anything is written.

How it writes: the apiserver's gRPC API has no PATCH verb, so each change is a read-modify-write
(:meth:`machinery.client.APIClient.mutate`: Update carrying the object's resourceVersion, read
and redone on Conflict), and ``patch`` applies the patch to the object it read with the
apiserver's own patch code (:mod:`apiserver.rest.patch`: strategic merge with its list keys,
JSON merge, JSON patch) — the same result the REST facade's PATCH gives. A patch that names a
resourceVersion makes it a precondition, as in Kubernetes.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from collections.abc import Callable
from typing import Any, TextIO

from machinery import errors
from machinery.resources import ResourceInfo
from machinery.validation import is_valid_label_value

COMMANDS = ("label", "annotate", "patch")
COMMAND_DEST = "kubectl_metadata_command"
PATCH_TYPES = ("json", "merge", "strategic")
CHANGE_CAUSE = "kubernetes.io/change-cause"


# --------------------------------------------------------------------------- wiring


def register(subparsers, *, parents: tuple[argparse.ArgumentParser, ...] = ()) -> None:
    """Add ``label``, ``annotate`` and ``patch`` to kubectl's argparse sub-parsers."""
    for verb, field, text in (("label", "labels", "Update the labels on a resource"),
                              ("annotate", "annotations", "Update the annotations on a resource")):
        p = subparsers.add_parser(verb, parents=list(parents), help=text, description=f"{text}.",
                                  usage=f"kubemu kubectl {verb} [--overwrite] (TYPE NAME | TYPE/NAME) "
                                        f"KEY_1=VAL_1 ... KEY_N=VAL_N [--resource-version=version]")
        p.add_argument("args", nargs="*", metavar="TYPE NAME KEY=VAL KEY-")
        p.add_argument("--overwrite", action="store_true", help=f"replace {field} that already have a value")
        p.add_argument("-l", "--selector", default="", help="act on the objects matching this label selector")
        p.add_argument("--all", action="store_true", help="act on every object of TYPE in the namespace")
        p.add_argument("-A", "--all-namespaces", action="store_true", help="with -l or --all: in every namespace")
        p.add_argument("--resource-version", default="",
                       help="only change the object if it is still at this resourceVersion")
        p.add_argument("-o", "--output", default="", choices=("", "name", "yaml", "json"))
        p.set_defaults(**{COMMAND_DEST: verb})
    patch = subparsers.add_parser(
        "patch", parents=list(parents), help="Update fields of a resource",
        usage="kubemu kubectl patch (TYPE NAME | TYPE/NAME) --patch PATCH [--type strategic|merge|json]",
        description="Update fields of a resource with a strategic merge patch (default), a JSON merge "
                    "patch or a JSON patch.")
    patch.add_argument("args", nargs="*", metavar="TYPE NAME")
    patch.add_argument("-p", "--patch", default="", help="the patch, JSON or YAML")
    patch.add_argument("--patch-file", default="", help="a file holding the patch")
    patch.add_argument("--type", default="strategic", help="json, merge or strategic (default)")
    patch.add_argument("-o", "--output", default="", choices=("", "name", "yaml", "json"))
    patch.set_defaults(**{COMMAND_DEST: "patch"})


def run(args: argparse.Namespace, client: Any, *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out = out or sys.stdout
    command = getattr(args, COMMAND_DEST)
    try:
        if command == "patch":
            return _patch(client, args, out)
        return _label_or_annotate(client, args, out, command)
    except errors.Invalid as e:
        from kubemu.kubectl import invalid_message

        raise _raw_error(invalid_message(e)) from None


def _error(message: str):
    from kubemu.kubectl import KubectlError

    return KubectlError(message)


def _raw_error(message: str):
    from kubemu.kubectl import KubectlError

    return KubectlError(message, raw=True)


def _print(out: TextIO, info: ResourceInfo, obj: dict, output: str, verb: str) -> None:
    from kubemu.kubectl import type_name
    from kubemu.printers import to_json, to_yaml

    if output == "yaml":
        text = to_yaml(obj)
    elif output == "json":
        text = to_json(obj)
    elif output == "name":
        text = f"{type_name(info)}/{obj['metadata']['name']}"
    else:
        text = f"{type_name(info)}/{obj['metadata']['name']} {verb}"
    out.write(text if text.endswith("\n") else text + "\n")
    out.flush()


# --------------------------------------------------------------------------- label, annotate


def _is_pair(arg: str) -> bool:
    """A label or annotation change: ``k=v`` or ``k-``."""
    return ("=" in arg and not arg.startswith("=")) or (arg.endswith("-") and arg != "-")


def split_resources_and_pairs(args: list[str], pair_type: str,
                              is_change: Callable[[str], bool] = _is_pair) -> tuple[list[str], list[str]]:
    """kubectl's rule: resources come first, then the ``pair_type`` changes ``is_change`` recognises."""
    resources: list[str] = []
    pairs: list[str] = []
    for arg in args:
        if is_change(arg):
            pairs.append(arg)
        elif pairs:
            raise _error(f"all resources must be specified before {pair_type} changes: {arg}")
        else:
            resources.append(arg)
    return resources, pairs


def parse_labels(specs: list[str]) -> tuple[dict[str, str], list[str]]:
    """``k=v`` and ``k-`` → (labels to set, labels to remove), with kubectl's messages."""
    labels: dict[str, str] = {}
    remove: list[str] = []
    for spec in specs:
        if "=" in spec:
            parts = spec.split("=")
            if len(parts) != 2:
                raise _error(f"invalid label spec: {spec}")
            problems = is_valid_label_value(parts[1])
            if problems:
                raise _error(f'invalid label value: "{spec}": {";".join(problems)}')
            labels[parts[0]] = parts[1]
        elif spec.endswith("-"):
            remove.append(spec[:-1])
        else:
            raise _error(f"unknown label spec: {spec}")
    if any(key in labels for key in remove):
        raise _error("can not both modify and remove a label in the same command")
    return labels, remove


def parse_annotations(specs: list[str]) -> tuple[dict[str, str], list[str]]:
    """``k=v`` (the value may hold ``=``) and ``k-`` → (annotations to set, to remove)."""
    values: dict[str, str] = {}
    remove: list[str] = []
    invalid: list[str] = []
    for spec in specs:
        if "=" in spec and not spec.startswith("="):
            key, _, value = spec.partition("=")
            values[key] = value
        elif spec.endswith("-") and spec != "-":
            remove.append(spec[:-1])
        else:
            invalid.append(spec)
    if invalid:
        raise _error(f"invalid annotation format: {', '.join(invalid)}")
    both = [key for key in remove if key in values]
    if both:
        raise _error(f"can not both modify and remove the following annotation(s) in the same command: "
                     f"{', '.join(both)}")
    return values, remove


def _objects(client: Any, resources: list[str], args: argparse.Namespace) -> list[tuple[ResourceInfo, str, str]]:
    """``(resource, namespace, name)`` of every object the arguments name, each checked to exist."""
    from kubemu.kubectl import _targets

    namespace = args.namespace or "default"
    if args.all and args.selector:
        raise _error("cannot set --all and --selector at the same time")
    found: list[tuple[ResourceInfo, str, str]] = []
    for info, name in _targets(resources):
        ns = namespace if info.namespaced else ""
        if name is not None:
            if args.selector:
                raise _error("name cannot be provided when a selector is specified")
            client.get(info.name, name, ns)  # NotFound before anything is written
            found.append((info, ns, name))
            continue
        if not (args.all or args.selector):
            raise _error("resource(s) were provided, but no name was specified")
        scope = "" if args.all_namespaces or not info.namespaced else ns
        for obj in client.list_all(info.name, scope, label_selector=args.selector).items:
            meta = obj.get("metadata") or {}
            found.append((info, meta.get("namespace", "") if info.namespaced else "", meta.get("name", "")))
    return found


def _label_or_annotate(client: Any, args: argparse.Namespace, out: TextIO, command: str) -> int:
    labels = command == "label"
    noun = "label" if labels else "annotation"
    resources, pairs = split_resources_and_pairs(args.args, noun)
    changes, remove = parse_labels(pairs) if labels else parse_annotations(pairs)
    if not resources:
        raise _error("one or more resources must be specified as <resource> <name> or <resource>/<name>")
    if not changes and not remove:
        raise _error(f"at least one {noun} update is required")
    targets = _objects(client, resources, args)  # none matching -l / --all: nothing to do, as kubectl
    field = "labels" if labels else "annotations"
    for info, namespace, name in targets:
        before: list[dict] = []

        def change(obj: dict, before: list[dict] = before) -> bool:
            meta = obj.setdefault("metadata", {})
            current = dict(meta.get(field) or {})
            before[:] = [copy.deepcopy(obj)]
            if not args.overwrite:
                _check_no_overwrite(current, changes, labels)
            if labels:
                for key in remove:
                    if key not in current:
                        out.write(f'label "{key}" not found.\n')
            for key in remove:
                current.pop(key, None)
            current.update(changes)
            if current:
                meta[field] = current
            else:
                meta.pop(field, None)
            if args.resource_version:
                meta["resourceVersion"] = args.resource_version
            return obj != before[0]

        written = _write(client, info, namespace, name, change, precondition=bool(args.resource_version))
        result = written if written is not None else before[0]
        verb = "annotated"
        if labels:
            verb = "not labeled"
            if written is not None:
                shrunk = len(json.dumps(result.get("metadata", {}).get("labels") or {})) < \
                    len(json.dumps(before[0].get("metadata", {}).get("labels") or {}))
                verb = "unlabeled" if shrunk and not args.overwrite else "labeled"
        _print(out, info, result, args.output, verb)
    return 0


def _check_no_overwrite(current: dict[str, str], changes: dict[str, str], labels: bool) -> None:
    clashes = [(key, current[key]) for key, value in changes.items()
               if key in current and current[key] != value and (labels or key != CHANGE_CAUSE)]
    if not clashes:
        return
    if labels:  # one error per label, as Go's error aggregate prints them
        lines = [f"'{key}' already has a value ({value}), and --overwrite is false" for key, value in clashes]
        raise _error(lines[0]) if len(lines) == 1 else _raw_error("\n".join(lines))
    found = "; ".join(f"'{key}' already has a value ({value})" for key, value in clashes)
    raise _error(f"--overwrite is false but found the following declared annotation(s): {found}")


def _write(client: Any, info: ResourceInfo, namespace: str, name: str, change, *, precondition: bool
           ) -> dict | None:
    """Apply ``change`` to the live object and update it; with a precondition, once (Conflict is
    the answer), otherwise again on the fresh object after every Conflict. None: nothing to write."""
    if not precondition:
        return client.mutate(info.name, name, namespace, change)
    obj = client.get(info.name, name, namespace)
    if change(obj) is False:
        return None
    return client.update(info.name, obj)


# --------------------------------------------------------------------------- patch


def _read_patch(args: argparse.Namespace) -> Any:
    import yaml

    if args.patch and args.patch_file:
        raise _error("cannot specify --patch and --patch-file together")
    text = args.patch
    if args.patch_file:
        try:
            with open(args.patch_file) as f:
                text = f.read()
        except OSError as e:
            raise _error(f"unable to read patch file: {e.strerror}: {args.patch_file}") from None
    if not text:
        raise _error("must specify --patch or --patch-file containing the contents of the patch")
    try:
        return json.loads(text)
    except ValueError as e:
        json_problem = str(e)
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:  # what the apiserver answers a body that is not JSON
        raise errors.BadRequest(f"the request body is not valid JSON: {json_problem}") from None


def _patch(client: Any, args: argparse.Namespace, out: TextIO) -> int:
    from apiserver.rest import patch as patches
    from kubemu.kubectl import _targets

    patch_type = args.type.lower()
    if patch_type not in PATCH_TYPES:
        raise _error(f'--type must be one of [{" ".join(PATCH_TYPES)}], not "{args.type}"')
    body = _read_patch(args)
    if not args.args:
        raise _error("You must provide one or more resources by argument or filename.\n"
                     "Example resource specifications include:\n   '-f rsrc.yaml'\n"
                     "   '--filename=rsrc.json'\n   '<resource> <name>'\n   '<resource>'")
    targets = _targets(args.args)
    if any(name is None for _, name in targets):
        raise _error("resource(s) were provided, but no name was specified")
    apply = {"json": patches.json_patch, "merge": patches.merge_patch,
             "strategic": patches.strategic_merge_patch}[patch_type]
    namespace = args.namespace or "default"
    for info, name in targets:
        ns = namespace if info.namespaced else ""
        live = client.get(info.name, name, ns)
        before: list[dict] = [live]

        def change(obj: dict, before: list[dict] = before) -> bool:
            before[:] = [copy.deepcopy(obj)]
            try:
                result = apply(obj, body)
            except patches.PatchError as e:
                raise errors.BadRequest(str(e)) from None
            if not isinstance(result, dict) or not isinstance(result.get("metadata"), dict):
                raise errors.BadRequest("the patched object must be a JSON object with an object metadata")
            result["metadata"].setdefault("resourceVersion", obj["metadata"].get("resourceVersion"))
            if result == obj:
                return False
            obj.clear()
            obj.update(result)
            return True

        precondition = isinstance(body, dict) and "resourceVersion" in (body.get("metadata") or {})
        written = _write(client, info, ns, name, change, precondition=precondition)
        unchanged = written is None or (written.get("metadata") or {}).get("resourceVersion") == \
            (live.get("metadata") or {}).get("resourceVersion")
        _print(out, info, written or before[0], args.output, "patched (no change)" if unchanged else "patched")
    return 0
