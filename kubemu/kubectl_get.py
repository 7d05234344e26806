"""``kubemu kubectl get``: what kubectl's ``get`` prints, for one or several resource types.

    kubemu kubectl get pods                       one table
    kubemu kubectl get deploy,rs,pods             a table per type, names as deployment.apps/web
    kubemu kubectl get all                        kubectl's "all" category (machinery.resources)
    kubemu kubectl get pod/nginx deploy/web       TYPE/NAME, in the order given
    kubemu kubectl get pods -L app --show-labels  label columns
    kubemu kubectl get pods -o custom-columns=NAME:.metadata.name,IP:.status.podIP --sort-by=.status.podIP
    kubemu kubectl get pods -o jsonpath='{range .items[*]}{.metadata.name}{"\\n"}{end}'

The arguments become a list of requests, each a type with names or a whole list (``-l``,
``--field-selector``); what comes back is printed as kubectl's ``get`` prints it:

* tables (no ``-o``, or ``-o wide``): consecutive results of one type share a table; with results
  of more than one type every name is prefixed with its ``type.group/`` (``pod/web``,
  ``deployment.apps/web``) and tables are separated by a blank line (not with ``--no-headers``).
  ``-A`` adds NAMESPACE to namespaced types (and, as kubectl does, to the cluster-scoped types after
  one); ``-L KEY`` adds a column per label key (headed by the
  key's last segment), ``--show-labels`` a LABELS column. A type with nothing to show prints
  nothing; when nothing at all was printed: ``No resources found in NS namespace.``.
* the other formats (``yaml``, ``json``, ``name``, ``jsonpath``, ``custom-columns``) print one
  object when one name of one type was asked for, else a ``List`` of everything found.
* ``--sort-by`` orders rows within each table (kubectl refuses to sort several types' tables; we
  sort each), or the whole list for the other formats; a path no object has is an error.
* ``-w`` watches one type (``you may only specify a single resource type`` otherwise).

Cells come from kubemu/printers.py (machinery/rows.py, machinery/workload_rows.py), templates from
kubemu/jsonpath.py.
"""

from __future__ import annotations

import argparse
import functools
from dataclasses import dataclass
from typing import Any

from kubemu.jsonpath import JSONPathError, Template, relaxed, sort_key_less
from kubemu.kubectl import (
    KubectlError,
    Session,
    _fill_type,
    _namespace_for,
    _Parser,
    _parser,
    _resource,
    format_api_error,
    type_name,
)
from kubemu.printers import no_resources_message, render_table, table_cells, to_json, to_yaml
from machinery import errors
from machinery.resources import ResourceInfo, category_all

OUTPUTS = ("custom-columns", "json", "jsonpath", "name", "wide", "yaml")
RESOURCE_NAME_FORM = ("there is no need to specify a resource type as a separate argument when passing arguments in "
                      "resource/name form (e.g. 'kubectl get resource/<resource_name>' instead of 'kubectl get "
                      "resource resource/<resource_name>'")


def build_parser() -> _Parser:
    p = _parser("get", "kubemu kubectl get (TYPE[,TYPE...] [NAME ...] | TYPE/NAME ... | all) [-n NS | -A] "
                       "[-o wide|yaml|json|name|jsonpath=T|custom-columns=C] [-l SELECTOR] [options]",
                "Display one or many resources: pods (po), nodes (no), namespaces (ns), events (ev), leases, "
                "deployments (deploy), replicasets (rs), …; 'all' for kubectl's all category.")
    p.add_argument("args", nargs="*", help="TYPE[,TYPE...] [NAME ...] or TYPE/NAME ...")
    p.add_argument("-A", "--all-namespaces", action="store_true", help="list across all namespaces")
    p.add_argument("-o", "--output", default="",
                   help="wide, yaml, json, name, jsonpath=TEMPLATE, custom-columns=HEADER:PATH,...")
    p.add_argument("-l", "--selector", default="", help="label selector, e.g. app=web,tier!=db")
    p.add_argument("--field-selector", default="", help="field selector, e.g. spec.nodeName=node-1")
    p.add_argument("-L", "--label-columns", action="append", default=[],
                   help="a column per label key (comma-separated, repeatable)")
    p.add_argument("--show-labels", action="store_true", help="show all labels as the last column")
    p.add_argument("--no-headers", action="store_true", help="do not print headers")
    p.add_argument("--sort-by", default="", help="sort by a JSONPath field, e.g. .metadata.name")
    p.add_argument("--ignore-not-found", action="store_true", help="do not report objects that do not exist")
    p.add_argument("-w", "--watch", action="store_true", help="after listing, watch for changes")
    p.add_argument("--watch-only", action="store_true", help="watch for changes without listing first")
    return p


# --------------------------------------------------------------------------- what to get


@dataclass
class Request:
    info: ResourceInfo
    names: list[str] | None  # None: list the type


@dataclass
class Found:
    """One answer: a listed type (possibly empty) or one named object."""

    info: ResourceInfo
    objects: list[dict]


def parse_requests(args: list[str]) -> tuple[list[Request], bool]:
    """The requests of ``get``'s arguments, and whether they name exactly one object (then the
    non-table formats print that object rather than a List)."""
    if not args:
        raise KubectlError('Required resource not specified.\nUse "kubemu kubectl get -h" for the resource types '
                           "(pods, nodes, namespaces, events, leases, deployments, …) or 'all'.")
    if "/" in args[0]:
        requests = []
        for arg in args:
            kind, sep, name = arg.partition("/")
            if not sep or not name or "," in kind:
                raise KubectlError(RESOURCE_NAME_FORM)
            requests.append(Request(_resource(kind), [name]))
        return requests, len(requests) == 1
    names = args[1:]
    if any("/" in name for name in names):
        raise KubectlError(RESOURCE_NAME_FORM)
    infos: list[ResourceInfo] = []
    for kind in args[0].split(","):
        expanded = category_all() if kind.lower() == "all" else [_resource(kind)]
        if kind.lower() == "all" and names:
            raise KubectlError("you must specify only one resource")
        infos.extend(i for i in expanded if i not in infos)
    return [Request(info, list(names) or None) for info in infos], len(infos) == 1 and len(names) == 1


@dataclass
class Output:
    """The parsed ``-o`` and its companions."""

    format: str  # "", wide, yaml, json, name, jsonpath, custom-columns
    template: Template | None = None
    columns: list[tuple[str, Template]] | None = None
    sort_by: Template | None = None

    @property
    def table(self) -> bool:
        return self.format in ("", "wide")


def parse_output(text: str, sort_by: str) -> Output:
    text = text.removeprefix("=")  # -o=wide, as pflag reads it
    name, _, value = text.partition("=")
    if text and name not in OUTPUTS:
        raise KubectlError(f'unable to match a printer suitable for the output format "{text}", allowed formats '
                           f"are: {','.join(OUTPUTS)}")
    out = Output(name)
    if name == "jsonpath":
        if not value:
            raise KubectlError("template format specified but no template given")
        out.template = _template(value)
    elif name == "custom-columns":
        if not value:
            raise KubectlError("custom-columns format specified but no custom columns given")
        out.columns = []
        for spec in value.split(","):
            header, sep, path = spec.partition(":")
            if not sep:
                raise KubectlError(f"unexpected custom-columns spec: {spec}, expected <header>:<json-path-expr>")
            out.columns.append((header, _template(_relaxed(path))))
    elif value:
        raise KubectlError(f'unable to match a printer suitable for the output format "{text}", allowed formats '
                           f"are: {','.join(OUTPUTS)}")
    if sort_by:
        out.sort_by = _template(_relaxed(sort_by))
    return out


def _relaxed(path: str) -> str:
    try:
        return relaxed(path)
    except JSONPathError as e:
        raise KubectlError(str(e)) from None


def _template(text: str) -> Template:
    try:
        return Template(text)
    except JSONPathError as e:
        raise KubectlError(f"error parsing jsonpath {text}, {e}") from None


# --------------------------------------------------------------------------- the command


def cmd_get(session: Session, args: argparse.Namespace) -> int:
    try:
        return _get(session, args)
    except JSONPathError as e:  # a template that fails on the objects found
        raise KubectlError(str(e)) from None


def _get(session: Session, args: argparse.Namespace) -> int:
    requests, single = parse_requests(args.args)
    output = parse_output(args.output, args.sort_by)
    if any(r.names for r in requests) and (args.selector or args.field_selector):
        raise KubectlError("name cannot be provided when a selector is specified")
    watching = args.watch or args.watch_only
    if watching and len({r.info.name for r in requests}) > 1:
        raise KubectlError("you may only specify a single resource type")
    all_ns = bool(args.all_namespaces)
    found: list[Found] = []
    not_found: list[str] = []  # reported after the output, as kubectl does
    resource_version = ""
    printed = False  # whether a watch has printed (a header, an object) already
    if not args.watch_only:
        for request in requests:
            namespace = _namespace_for(session, request.info, all_ns)
            if request.names is None:
                result = session.client.list_all(request.info.name, namespace, label_selector=args.selector,
                                                 field_selector=args.field_selector)
                found.append(Found(request.info, [_fill_type(request.info, o) for o in result.items]))
                resource_version = result.resource_version
                continue
            for name in request.names:
                try:
                    found.append(Found(request.info, [_fill_type(request.info, session.client.get(
                        request.info.name, name, namespace))]))
                except errors.NotFound as e:
                    if not args.ignore_not_found:
                        not_found.append(format_api_error(e))
        if output.table:
            _print_tables(session, found, output, args, all_ns, errors_seen=bool(not_found))
        elif watching:  # what a watch will print, object by object
            for f in found:
                for obj in _sort(f.objects, output.sort_by):
                    printed = _print_event(session, f.info, obj, output, args, all_ns, printed)
        else:
            _print_generic(session, found, output, args, single and not not_found and len(found) == 1)
        for message in not_found:
            session.error(message)
    rc = 1 if not_found else 0
    if watching and not any(r.names for r in requests):
        info = requests[0].info
        if output.table:
            printed = printed or any(f.objects for f in found)
        return _watch(session, info, _namespace_for(session, info, all_ns), args, output, resource_version, all_ns,
                      printed=printed) or rc
    return rc


# --------------------------------------------------------------------------- sorting


def _sort(objects: list[dict], by: Template | None) -> list[dict]:
    """``objects`` ordered by ``--sort-by`` (stable; objects without the field first)."""
    if by is None or len(objects) < 2:
        return objects
    keys = []
    for obj in objects:
        results = by.results(obj)
        keys.append(results[0][0] if results and results[0] else None)
    if all(k is None for k in keys):
        raise JSONPathError(f'couldn\'t find any field with path "{by.text}" in the list of objects')

    def compare(a: tuple[Any, dict], b: tuple[Any, dict]) -> int:
        return -1 if sort_key_less(a[0], b[0]) else (1 if sort_key_less(b[0], a[0]) else 0)

    return [obj for _, obj in sorted(zip(keys, objects, strict=True), key=functools.cmp_to_key(compare))]


# --------------------------------------------------------------------------- tables


def _label_text(labels: dict) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items())) or "<none>"


def table_text(info: ResourceInfo, objects: list[dict], *, wide: bool = False, namespace_column: bool = False,
               with_kind: bool = False, label_columns: list[str] | None = None, show_labels: bool = False,
               no_headers: bool = False, now=None) -> str:
    """One type's table as kubectl prints it (see the module docstring); "" for no objects."""
    if not objects:
        return ""
    headers, rows = table_cells(info.name, objects, wide=wide, now=now)
    if with_kind and headers[:1] == ["NAME"]:  # the name column (not a wide-only NAME, as events' is)
        rows = [[f"{type_name(info)}/{row[0]}", *row[1:]] for row in rows]
    if namespace_column:
        headers = ["NAMESPACE", *headers]
        rows = [[str((obj.get("metadata") or {}).get("namespace") or ""), *row] for obj, row in
                zip(objects, rows, strict=True)]
    labels = [(obj.get("metadata") or {}).get("labels") or {} for obj in objects]
    for key in label_columns or []:
        headers = [*headers, key.rsplit("/", 1)[-1].upper()]
        rows = [[*row, str(lbl.get(key, ""))] for row, lbl in zip(rows, labels, strict=True)]
    if show_labels:
        headers = [*headers, "LABELS"]
        rows = [[*row, _label_text(lbl)] for row, lbl in zip(rows, labels, strict=True)]
    return render_table(headers, rows, no_headers=no_headers)


def _label_columns(args: argparse.Namespace) -> list[str]:
    return [key.strip() for value in args.label_columns for key in value.split(",") if key.strip()]


def _print_tables(session: Session, found: list[Found], output: Output, args: argparse.Namespace, all_ns: bool,
                  *, errors_seen: bool) -> None:
    with_kind = len({f.info.name for f in found}) > 1
    groups: list[Found] = []
    for f in found:  # consecutive answers of one type share a table
        if groups and groups[-1].info is f.info:
            groups[-1].objects.extend(f.objects)
        else:
            groups.append(Found(f.info, list(f.objects)))
    written = namespace_column = False
    for group in groups:
        # With -A, kubectl keeps the NAMESPACE column (empty) for cluster-scoped types that follow a
        # namespaced one, even an empty one (`get pods,nodes -A`): its printer flags are shared.
        namespace_column = namespace_column or (all_ns and group.info.namespaced)
        text = table_text(group.info, _sort(group.objects, output.sort_by), wide=output.format == "wide",
                          namespace_column=namespace_column, with_kind=with_kind,
                          label_columns=_label_columns(args), show_labels=args.show_labels,
                          no_headers=args.no_headers)
        if not text:
            continue
        if written and not args.no_headers:
            session.out.write("\n")
        session.out.write(text)
        written = True
    session.out.flush()
    if not written and not errors_seen and not args.ignore_not_found:
        namespaced = not all_ns and all(f.info.namespaced for f in found)
        session.error(no_resources_message(session.namespace if namespaced else None))


# --------------------------------------------------------------------------- yaml, json, name, templates


def _as_list(objects: list[dict]) -> dict:
    return {"apiVersion": "v1", "items": objects, "kind": "List", "metadata": {"resourceVersion": ""}}


def _print_generic(session: Session, found: list[Found], output: Output, args: argparse.Namespace,
                   single: bool) -> None:
    pairs = [(f.info, obj) for f in found for obj in f.objects]
    if output.sort_by is not None and len(pairs) > 1:
        order = {id(obj): info for info, obj in pairs}
        pairs = [(order[id(obj)], obj) for obj in _sort([obj for _, obj in pairs], output.sort_by)]
    objects = [obj for _, obj in pairs]
    if single and not objects:
        return
    if output.format == "name":
        for info, obj in pairs:
            session.print(f"{type_name(info)}/{obj['metadata']['name']}")
        return
    target: Any = objects[0] if single else objects
    if output.format == "yaml":
        session.out.write(to_yaml(target))
    elif output.format == "json":
        session.out.write(to_json(target))
    elif output.format == "jsonpath":
        assert output.template is not None
        session.out.write(_execute(output.template, target if single else _as_list(objects)))
    elif output.format == "custom-columns":
        session.out.write(_custom_columns(output, objects, no_headers=args.no_headers))
    session.out.flush()


def _execute(template: Template, obj: Any) -> str:
    try:
        return template.execute(obj)
    except JSONPathError as e:
        raise JSONPathError(f'error executing jsonpath "{template.text}": Error executing template: {e}') from None


def _custom_columns(output: Output, objects: list[dict], *, no_headers: bool) -> str:
    from kubemu.jsonpath import go_value

    assert output.columns is not None
    rows = []
    for obj in objects:
        row = []
        for _, template in output.columns:
            values = [v for result in template.results(obj) for v in result]
            row.append(",".join(go_value(v) for v in values) if values else "<none>")
        rows.append(row)
    return render_table([header for header, _ in output.columns], rows, no_headers=no_headers)


# --------------------------------------------------------------------------- watch


def _watch(session: Session, info: ResourceInfo, namespace: str, args: argparse.Namespace, output: Output,
           resource_version: str, all_ns: bool, *, printed: bool) -> int:
    """``get -w``: print a row per change until interrupted; relist when the watch is too old."""
    try:
        while True:
            stream = session.client.watch(info.name, namespace, resource_version=resource_version,
                                          label_selector=args.selector, field_selector=args.field_selector)
            try:
                for event in stream:
                    meta = event.object.get("metadata") or {}
                    resource_version = meta.get("resourceVersion", resource_version)
                    if event.type == "BOOKMARK":
                        continue
                    printed = _print_event(session, info, _fill_type(info, event.object), output, args, all_ns,
                                           printed)
            except errors.Expired:
                resource_version = session.client.list(info.name, namespace, limit=1).resource_version
            finally:
                stream.cancel()
    except KeyboardInterrupt:
        return 0


def _print_event(session: Session, info: ResourceInfo, obj: dict, output: Output, args: argparse.Namespace,
                 all_ns: bool, printed: bool) -> bool:
    """Print one watched object: a table row (the header first), or the object, YAML documents separated
    by ``---``. ``printed``: whether anything (a header) was printed before; returns True."""
    if output.format == "yaml":
        session.out.write(("---\n" if printed else "") + to_yaml(obj))
    elif output.format == "json":
        session.out.write(to_json(obj))
    elif output.format == "name":
        session.out.write(f"{type_name(info)}/{(obj.get('metadata') or {}).get('name', '')}\n")
    elif output.format == "jsonpath":
        assert output.template is not None
        session.out.write(_execute(output.template, obj))
    else:
        if output.format == "custom-columns":
            text = _custom_columns(output, [obj], no_headers=False)
        else:
            text = table_text(info, [obj], wide=output.format == "wide", namespace_column=all_ns and info.namespaced,
                              label_columns=_label_columns(args), show_labels=args.show_labels)
        lines = text.splitlines(keepends=True)
        session.out.write("".join(lines[1:] if printed or args.no_headers else lines))
    session.out.flush()
    return True
