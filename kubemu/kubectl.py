"""``kubemu kubectl``: a kubectl-like client over :class:`machinery.client.APIClient`.

    kubemu kubectl apply -f pod.yaml
    kubemu kubectl run nginx --image=nginx
    kubemu kubectl get pods -o wide
    kubemu kubectl describe pod nginx
    kubemu kubectl delete pod nginx

Commands: ``apply``, ``create``, ``run``, ``get``, ``describe``, ``delete``. Their output and
error messages are kubectl's, so scripts and muscle memory carry over; tables, YAML/JSON and
descriptions come from :mod:`kubemu.printers` and :mod:`kubemu.describe`; ``get`` is in
:mod:`kubemu.kubectl_get`. The other commands live in their own modules (``_EXTENSIONS``):
logs/exec, expose, scale/set/rollout, explain-schedule, trace, cordon/uncordon/drain/taint
(:mod:`kubemu.kubectl_nodes`) and label/annotate/patch (:mod:`kubemu.kubectl_metadata`).

Which apiserver: ``--server HOST:PORT``, else ``$KUBEMU_SERVER``, else ``--kubeconfig FILE``,
else the cluster directory's ``kubeconfig.yaml`` (``--cluster-dir``, ``$KUBEMU_CLUSTER_DIR``,
``~/.kubemu/clusters/default``). The bearer token: ``--token``, ``$KUBEMU_TOKEN``, the kubeconfig.

``apply`` is kubectl's client-side apply: the applied manifest is stored in the
``kubectl.kubernetes.io/last-applied-configuration`` annotation, and an update is a three-way
merge of the live object, that last-applied configuration and the new manifest — fields the
manifest sets win, fields it dropped since the last apply are removed, fields someone else set
(server defaults, a scheduler's nodeName, labels added by hand) are kept; lists of named items
(containers, env, volumes, ports) merge item by item. Nothing to change prints ``unchanged``.

Flags may come before or after the command (``kubectl -n demo get pods`` works); arguments
after ``--`` belong to ``run``'s container command.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import os
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

from machinery import durations, errors
from machinery.client import APIClient, Credentials, parse_endpoints
from machinery.resources import ResourceInfo, UnknownResource, for_kind, lookup

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
ENV_SERVER = "KUBEMU_SERVER"
ENV_TOKEN = "KUBEMU_TOKEN"
ENV_CA = "KUBEMU_CERTIFICATE_AUTHORITY"
FORCE_WARNING = ("Warning: Immediate deletion does not wait for confirmation that the running resource has been "
                 "terminated. The resource may continue to run on the cluster indefinitely.")
DEFAULT_POD_GRACE_S = 30
DELETE_WAIT_SLACK_S = 60.0
POLL_INTERVAL_S = 0.25
APPLY_CONFLICT_ATTEMPTS = 5

# Metadata the server owns: apply never copies it from a manifest onto a live object.
_SERVER_METADATA = frozenset({"name", "namespace", "uid", "resourceVersion", "creationTimestamp", "generation",
                              "deletionTimestamp", "deletionGracePeriodSeconds", "managedFields", "selfLink"})


class KubectlError(Exception):
    """A failure reported as ``error: <message>`` (or verbatim when ``raw``), exit code 1."""

    def __init__(self, message: str, *, raw: bool = False):
        super().__init__(message)
        self.message = message
        self.raw = raw

    def render(self) -> str:
        return self.message if self.raw else f"error: {self.message}"


class _UsageError(KubectlError):
    pass


# --------------------------------------------------------------------------- formatting helpers


def format_api_error(error: errors.APIError, *, action: str = "", source: str = "") -> str:
    """kubectl's shape: ``Error from server (NotFound): pods "x" not found``, with the file when known."""
    if isinstance(error, errors.Unauthorized):
        detail = error.message.removeprefix("Unauthorized: ")
        return f"error: You must be logged in to the server (Unauthorized: {detail})"
    if isinstance(error, errors.Invalid) and (error.kind or error.name):
        return invalid_message(error)  # kubectl drops the file here: the causes say what is wrong
    prefix = f"Error from server ({error.reason})"
    if action and source:
        return f'{prefix}: error when {action} "{source}": {error.message}'
    return f"{prefix}: {error.message}"


def invalid_message(error: errors.Invalid) -> str:
    """kubectl's rendering of an Invalid answer with details: ``The Pod "web" is invalid: <cause>``,
    or one ``* cause`` line each when there are several."""
    head = f'The {error.kind or "object"} "{error.name}" is invalid'
    if not error.causes:
        return head
    if len(error.causes) == 1:
        return f"{head}: {error.causes[0]}"
    return f"{head}: \n" + "\n".join(f"* {cause}" for cause in error.causes)


def connection_refused_message(server: str) -> str:
    return f"The connection to the server {server} was refused - did you specify the right host or port?"


def type_name(info: ResourceInfo) -> str:
    """``pod``, or ``lease.coordination.k8s.io`` for grouped resources: kubectl's ``TYPE`` in messages."""
    return f"{info.singular}.{info.group}" if info.group else info.singular


def parse_duration(text: str) -> float:
    """``30``, ``30s``, ``1m``, ``2m30s``, ``1h``, ``500ms`` → seconds."""
    try:
        return durations.parse_seconds(text)
    except ValueError:
        raise _UsageError(f'invalid duration "{text.strip()}"') from None


def parse_bool(text: str) -> bool:
    value = text.strip().lower()
    if value in ("true", "1", "yes", "t"):
        return True
    if value in ("false", "0", "no", "f"):
        return False
    raise _UsageError(f'invalid boolean value "{text}"')


# --------------------------------------------------------------------------- apply merge


def last_applied_annotation(obj: dict) -> str:
    """The value kubectl stores in the last-applied annotation: the manifest as compact, key-sorted JSON."""
    body = copy.deepcopy(obj)
    annotations = (body.get("metadata") or {}).get("annotations")
    if isinstance(annotations, dict):
        annotations.pop(LAST_APPLIED, None)
        if not annotations:
            body["metadata"].pop("annotations")
    return json.dumps(body, sort_keys=True, separators=(",", ":")) + "\n"


def with_last_applied(obj: dict) -> dict:
    """A copy of ``obj`` carrying its own last-applied annotation, as ``kubectl apply`` sends it."""
    out = copy.deepcopy(obj)
    meta = out.setdefault("metadata", {})
    annotations = meta.get("annotations")
    if not isinstance(annotations, dict):
        annotations = meta["annotations"] = {}
    annotations[LAST_APPLIED] = last_applied_annotation(obj)
    return out


def _merge_key(*lists: list) -> str | None:
    """The field identifying items of these lists, when every item is a dict carrying one."""
    items = [item for lst in lists for item in lst]
    if not items or not all(isinstance(i, dict) for i in items):
        return None
    for key in ("name", "containerPort", "mountPath", "devicePath", "ip", "type"):
        if all(key in i for i in items):
            return key
    return None


def three_way_merge(live: Any, last: Any, desired: Any) -> Any:
    """Merge ``desired`` into ``live`` given the ``last`` applied configuration (see the module docstring)."""
    if isinstance(desired, dict) and isinstance(live, dict):
        last = last if isinstance(last, dict) else {}
        out: dict = {}
        for key, value in live.items():
            if key in desired:
                out[key] = three_way_merge(value, last.get(key), desired[key])
            elif key not in last:
                out[key] = copy.deepcopy(value)  # set by someone else: keep it
        for key, value in desired.items():
            if key not in out:
                out[key] = three_way_merge(None, last.get(key), value)
        return out
    if isinstance(desired, list) and isinstance(live, list):
        last_list = last if isinstance(last, list) else []
        key = _merge_key(desired, live)
        if key is not None and (not last_list or _merge_key(last_list) == key):
            live_by = {item[key]: item for item in live}
            last_by = {item[key]: item for item in last_list}
            wanted = {item[key] for item in desired}
            out_list = [three_way_merge(live_by.get(item[key]), last_by.get(item[key]), item) for item in desired]
            out_list += [copy.deepcopy(item) for item in live if item[key] not in wanted and item[key] not in last_by]
            return out_list
    return copy.deepcopy(desired)


def merge_applied(live: dict, applied: dict) -> dict:
    """The object ``apply`` writes over ``live``: live's server-set metadata and status, the manifest's
    labels, annotations and spec (three-way merged against the last-applied configuration)."""
    desired = with_last_applied(applied)
    try:
        last = json.loads(((live.get("metadata") or {}).get("annotations") or {}).get(LAST_APPLIED) or "{}")
    except ValueError:
        last = {}
    if not isinstance(last, dict):
        last = {}
    merged = copy.deepcopy(live)
    live_meta, last_meta = merged.setdefault("metadata", {}), last.get("metadata") or {}
    desired_meta = desired.get("metadata") or {}
    for key in set(desired_meta) | set(last_meta):
        if key in _SERVER_METADATA:
            continue
        if key in desired_meta:
            live_meta[key] = three_way_merge(live_meta.get(key), last_meta.get(key), desired_meta[key])
        else:
            live_meta.pop(key, None)
    for key in set(desired) | set(last):
        if key in ("apiVersion", "kind", "metadata", "status"):
            continue
        if key in desired:
            merged[key] = three_way_merge(merged.get(key), last.get(key), desired[key])
        else:
            merged.pop(key, None)
    return merged


# --------------------------------------------------------------------------- argument parsing


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse hook: kubectl's wording, exit 1 instead of 2
        if message.startswith("unrecognized arguments: "):
            unknown = message.split(": ", 1)[1].split()
            flag = next((a for a in unknown if a.startswith("-")), None)
            message = f"unknown flag: {flag.split('=')[0]}" if flag else f"unexpected arguments: {' '.join(unknown)}"
        raise _UsageError(f"{message}\nSee '{self.prog} -h' for help and examples")


_GLOBAL_VALUE_FLAGS = {"-n", "--namespace", "-s", "--server", "--token", "--cluster-dir", "--kubeconfig",
                       "--request-timeout", "--certificate-authority", "--client-certificate", "--client-key"}
_GLOBAL_SWITCHES: set[str] = set()


def _add_global_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("global flags")
    g.add_argument("-n", "--namespace", default=None, help="the namespace scope for this request")
    g.add_argument("-s", "--server", default=None, help=f"apiserver address HOST:PORT (env {ENV_SERVER})")
    g.add_argument("--token", default=None, help=f"bearer token for the apiserver (env {ENV_TOKEN})")
    g.add_argument("--certificate-authority", default=None,
                   help=f"CA file to verify the apiserver with (TLS; env {ENV_CA}, else the kubeconfig)")
    g.add_argument("--client-certificate", default=None, help="client certificate for mutual TLS (else the kubeconfig)")
    g.add_argument("--client-key", default=None, help="client key for mutual TLS (else the kubeconfig)")
    g.add_argument("--kubeconfig", default=None, help="kubeconfig file to read the server and token from")
    g.add_argument("--cluster-dir", default=None, help="cluster directory whose kubeconfig.yaml to use")
    g.add_argument("--request-timeout", default="30s", help="how long one request may take (e.g. 30s, 1m)")


def _add_output_flag(p: argparse.ArgumentParser, choices: tuple[str, ...]) -> None:
    p.add_argument("-o", "--output", default="", choices=choices, help="output format")


def _parser(name: str, usage: str, description: str) -> _Parser:
    p = _Parser(prog=f"kubemu kubectl {name}", usage=usage, description=description, add_help=True)
    _add_global_flags(p)
    return p


def _apply_parser() -> _Parser:
    p = _parser("apply", "kubemu kubectl apply -f FILENAME [options]",
                "Create or update resources from files, a directory or stdin (-f -).")
    p.add_argument("-f", "--filename", action="append", default=[], help="file, directory or - for stdin")
    _add_output_flag(p, ("", "name", "yaml", "json"))
    p.add_argument("--trace", action="store_true",
                   help="then wait until the pod is Running and print every step of its life (kubemu trace)")
    p.add_argument("--trace-timeout", default="60s", help="with --trace: how long to wait for Running")
    p.add_argument("--trace-html", default="", metavar="FILE", help="with --trace: also write the HTML picture")
    p.add_argument("args", nargs="*", help=argparse.SUPPRESS)
    return p


def _create_parser() -> _Parser:
    from kubemu import kubectl_rbac

    p = _parser("create", "kubemu kubectl create (-f FILENAME | namespace NAME | role NAME --verb=V --resource=R | "
                "clusterrole NAME … | rolebinding NAME --role=R|--clusterrole=CR [--user=U] [--group=G] "
                "[--serviceaccount=NS:NAME] | clusterrolebinding NAME --clusterrole=CR … | "
                "service clusterip|nodeport|loadbalancer|externalname NAME --tcp=PORT:TARGET) [options]",
                "Create resources from files, or a namespace, deployment, service, role or binding.")
    p.add_argument("-f", "--filename", action="append", default=[], help="file, directory or - for stdin")
    _add_output_flag(p, ("", "name", "yaml", "json"))
    p.add_argument("args", nargs="*", help="namespace NAME | deployment NAME --image=I | role NAME | …")
    kubectl_rbac.add_create_flags(p)
    from kubemu import kubectl_services, kubectl_workloads

    kubectl_workloads.add_create_flags(p)
    kubectl_services.add_create_flags(p)
    return p


def _auth_parser() -> _Parser:
    from kubemu import kubectl_rbac

    p = _parser("auth", "kubemu kubectl auth can-i VERB RESOURCE[/NAME] [--as USER] [-n NS | -A]",
                "Check whether an action is allowed (answers yes or no).")
    return kubectl_rbac.auth_parser(p)


def cmd_auth(session: Session, args: argparse.Namespace) -> int:
    from kubemu import kubectl_rbac

    namespace = "" if args.all_namespaces else session.namespace
    allowed, _ = kubectl_rbac.can_i(session.client, args.verb, args.target, namespace,
                                    subresource=args.subresource, as_user=args.as_user, as_groups=args.as_group)
    if not args.quiet:
        session.print("yes" if allowed else "no")
    return 0 if allowed else 1


def _run_parser() -> _Parser:
    p = _parser("run", "kubemu kubectl run NAME --image=IMAGE [--env=K=V] [--port=PORT] [--restart=POLICY] "
                       "[--labels=K=V,...] [--command] -- [COMMAND] [ARGS...]",
                "Create a pod running one container.")
    p.add_argument("args", nargs="*", help="NAME")
    p.add_argument("--image", default="", help="the container image")
    p.add_argument("--port", type=int, default=None, help="the port the container exposes")
    p.add_argument("--restart", default="Always", choices=("Always", "OnFailure", "Never"),
                   help="the pod's restartPolicy")
    p.add_argument("-l", "--labels", default="", help="comma-separated labels (default run=NAME)")
    p.add_argument("--env", action="append", default=[], help="environment variable K=V (repeatable)")
    p.add_argument("--command", action="store_true",
                   help="use the arguments after -- as the container's command instead of its args")
    p.add_argument("--image-pull-policy", default="", choices=("", "Always", "IfNotPresent", "Never"))
    p.add_argument("--dry-run", default="none", nargs="?", const="client", choices=("none", "client", "server"))
    _add_output_flag(p, ("", "name", "yaml", "json"))
    return p


def _get_parser() -> _Parser:
    from kubemu import kubectl_get

    return kubectl_get.build_parser()


def _describe_parser() -> _Parser:
    p = _parser("describe", "kubemu kubectl describe TYPE [NAME ...] [-n NS | -A] [-l SELECTOR]",
                "Show details of resources, with their events.")
    p.add_argument("args", nargs="*", help="TYPE [NAME ...] or TYPE/NAME ...")
    p.add_argument("-A", "--all-namespaces", action="store_true")
    p.add_argument("-l", "--selector", default="")
    p.add_argument("--show-events", default="true", help="true or false")
    return p


def _delete_parser() -> _Parser:
    p = _parser("delete", "kubemu kubectl delete (TYPE NAME ... | TYPE/NAME ... | -f FILENAME | TYPE --all | "
                          "TYPE -l SELECTOR) [options]",
                "Delete resources, by default waiting until they are gone.")
    p.add_argument("args", nargs="*", help="TYPE NAME ... or TYPE/NAME ...")
    p.add_argument("-f", "--filename", action="append", default=[])
    p.add_argument("--all", action="store_true", help="delete every object of TYPE in the namespace")
    p.add_argument("-A", "--all-namespaces", action="store_true")
    p.add_argument("-l", "--selector", default="")
    p.add_argument("--grace-period", type=int, default=-1,
                   help="seconds the resource gets to terminate gracefully (-1: its own default)")
    p.add_argument("--force", action="store_true", help="with --grace-period=0, delete immediately")
    p.add_argument("--now", action="store_true", help="signal the resource to stop at once (grace period 1)")
    p.add_argument("--wait", default="true", nargs="?", const="true",
                   help="wait until the resources are gone (default true)")
    p.add_argument("--timeout", default="0s", help="how long to wait (0: the grace period plus a minute)")
    p.add_argument("--ignore-not-found", action="store_true")
    p.add_argument("-o", "--output", default="", choices=("", "name"))
    from kubemu import kubectl_workloads

    kubectl_workloads.add_cascade_flag(p)
    return p


# --------------------------------------------------------------------------- the session


@dataclass
class Session:
    """One kubectl invocation: where to send requests, where to print, and the parsed namespace."""

    out: TextIO
    err: TextIO
    namespace: str = "default"
    namespace_explicit: bool = False
    servers: list[str] = field(default_factory=list)
    token: str = ""
    ca_file: str = ""
    cert_file: str = ""
    key_file: str = ""
    request_timeout_s: float = 30.0
    client_factory: Callable[[], Any] | None = None
    _client: Any = None

    @property
    def server(self) -> str:
        return self.servers[0] if self.servers else ""

    @property
    def client(self):
        if self._client is None:
            if self.client_factory is not None:
                self._client = self.client_factory()
            else:
                creds = Credentials(token=self.token, ca_file=self.ca_file, cert_file=self.cert_file,
                                    key_file=self.key_file)
                self._client = APIClient(self.servers, creds, user_agent="kubemu-kubectl",
                                         request_timeout_s=self.request_timeout_s, retry_timeout_s=1.0)
        return self._client

    def close(self) -> None:
        if self._client is not None and hasattr(self._client, "close"):
            self._client.close()

    def print(self, text: str = "") -> None:
        self.out.write(text if text.endswith("\n") else text + "\n")
        self.out.flush()

    def error(self, text: str) -> None:
        self.err.write(text if text.endswith("\n") else text + "\n")
        self.err.flush()


def _resolve_server(args: argparse.Namespace, cluster_dir: str | None) -> tuple[list[str], str]:
    from kubemu.cluster import ClusterDir, parse_kubeconfig

    servers: list[str] = []
    token = args.token if args.token is not None else os.environ.get(ENV_TOKEN, "")
    config: tuple[list[str], str] | None = None
    if args.server or os.environ.get(ENV_SERVER):
        servers = parse_endpoints(args.server or os.environ[ENV_SERVER])
    else:
        if args.kubeconfig:
            import yaml

            try:
                with open(args.kubeconfig) as f:
                    config = parse_kubeconfig(yaml.safe_load(f))
            except (OSError, yaml.YAMLError) as e:
                raise KubectlError(f"cannot read kubeconfig {args.kubeconfig}: {e}") from None
            where = args.kubeconfig
        else:
            cdir = ClusterDir(args.cluster_dir or cluster_dir)
            config = cdir.read_kubeconfig()
            where = cdir.kubeconfig_path
        if not config or not config[0]:
            raise KubectlError(f"no apiserver to talk to: {where} does not exist or names no server "
                               f'(start a cluster with "kubemu up", or pass --server HOST:PORT)')
        servers = parse_endpoints(config[0])
    if args.token is None and not os.environ.get(ENV_TOKEN) and config:
        token = config[1]
    return servers, token


def _resolve_tls(args: argparse.Namespace, cluster_dir: str | None) -> tuple[str, str, str]:
    """(CA, client certificate, client key): flags, then env (CA), then the kubeconfig — but the
    kubeconfig only when it also named the server, as for the token (see _resolve_server): an
    explicit --server / KUBEMU_SERVER never inherits another cluster's TLS settings."""
    import yaml

    from kubemu.cluster import ClusterDir, client_credentials

    creds = Credentials()
    if not (args.server or os.environ.get(ENV_SERVER)):
        path = args.kubeconfig or ClusterDir(args.cluster_dir or cluster_dir).kubeconfig_path
        try:
            with open(path) as f:
                creds = client_credentials(yaml.safe_load(f), os.path.dirname(os.path.abspath(path)))
        except (OSError, yaml.YAMLError):
            pass
    ca = args.certificate_authority if args.certificate_authority is not None else \
        os.environ.get(ENV_CA) or creds.ca_file
    cert = args.client_certificate if args.client_certificate is not None else creds.cert_file
    key = args.client_key if args.client_key is not None else creds.key_file
    return ca, cert, key


# --------------------------------------------------------------------------- shared steps


def _resource(name: str) -> ResourceInfo:
    try:
        return lookup(name)
    except UnknownResource:
        raise KubectlError(f'the server doesn\'t have a resource type "{name}"') from None


def _namespace_for(session: Session, info: ResourceInfo, all_namespaces: bool = False) -> str:
    if not info.namespaced or all_namespaces:
        return ""
    return session.namespace


def _targets(args: list[str]) -> list[tuple[ResourceInfo, str | None]]:
    """``TYPE NAME...`` or ``TYPE/NAME ...`` → ``[(info, name)]``; ``TYPE`` alone gives ``[(info, None)]``."""
    if not args:
        return []
    if "/" in args[0]:
        out = []
        for arg in args:
            kind, sep, name = arg.partition("/")
            if not sep or not name:
                raise KubectlError("there is no need to specify a resource type as a separate argument when "
                                   "passing arguments in resource/name form (e.g. 'kubectl get "
                                   "resource/<resource_name>' instead of 'kubectl get resource "
                                   "resource/<resource_name>'")
            out.append((_resource(kind), name))
        return out
    info = _resource(args[0])
    if len(args) == 1:
        return [(info, None)]
    return [(info, name) for name in args[1:]]


def _load_files(paths: list[str]) -> list[tuple[str, dict]]:
    """``[(source, object)]`` from every ``-f``; a directory's files are named one by one."""
    from kubemu.manifests import MANIFEST_EXTENSIONS, STDIN_NAME, ManifestError, load_manifests

    out = []
    for path in paths:
        files = [path]
        if path != "-" and os.path.isdir(path):
            files = sorted(os.path.join(path, f) for f in os.listdir(path)
                           if f.endswith(MANIFEST_EXTENSIONS) and os.path.isfile(os.path.join(path, f)))
        elif path != "-" and not os.path.exists(path):
            raise KubectlError(f'the path "{path}" does not exist')
        for name in files:
            try:
                objects = load_manifests(name)
            except ManifestError as e:
                raise KubectlError(str(e)) from None
            source = STDIN_NAME if name == "-" else name
            out.extend((source, obj) for obj in objects)
    if not out:
        raise KubectlError("no objects passed to apply" if paths else "must specify one of -f and -k")
    return out


def _object_info(source: str, obj: dict, namespace: str) -> ResourceInfo:
    try:
        return for_kind(str(obj.get("apiVersion", "")), str(obj.get("kind", "")))
    except UnknownResource:
        name = (obj.get("metadata") or {}).get("name", "")
        raise KubectlError(f'resource mapping not found for name: "{name}" namespace: "{namespace}" from '
                           f'"{source}": no matches for kind "{obj.get("kind", "")}" in version '
                           f'"{obj.get("apiVersion", "")}"\nensure CRDs are installed first') from None


def _object_namespace(session: Session, info: ResourceInfo, obj: dict) -> str:
    """The namespace an object from a file goes to: its own, else -n, else default."""
    if not info.namespaced:
        return ""
    own = (obj.get("metadata") or {}).get("namespace") or ""
    if own and session.namespace_explicit and own != session.namespace:
        raise KubectlError(f'the namespace from the provided object "{own}" does not match the namespace '
                           f'"{session.namespace}". You must pass \'--namespace={own}\' to perform this operation.')
    return own or session.namespace


def _with_namespace(obj: dict, namespace: str) -> dict:
    out = copy.deepcopy(obj)
    meta = out.get("metadata")
    if not isinstance(meta, dict):
        meta = out["metadata"] = {}
    if namespace:
        meta["namespace"] = namespace
    return out


def _print_objects(session: Session, info: ResourceInfo, objects: list[dict], output: str, verb: str) -> None:
    from kubemu.printers import to_json, to_yaml

    for obj in objects:
        if output == "yaml":
            session.print(to_yaml(obj))
        elif output == "json":
            session.print(to_json(obj))
        elif output == "name":
            session.print(f"{type_name(info)}/{obj['metadata']['name']}")
        else:
            session.print(f"{type_name(info)}/{obj['metadata']['name']} {verb}")


# --------------------------------------------------------------------------- commands


def cmd_apply(session: Session, args: argparse.Namespace) -> int:
    if args.args:
        raise _UsageError(f"unexpected arguments {args.args}; use -f FILENAME")
    if not args.filename:
        raise KubectlError("must specify one of -f and -k")
    rc = 0
    tracer = None
    if args.trace or args.trace_html:
        from kubemu.kubectl_trace import ApplyTrace

        tracer = ApplyTrace(session.client, parse_duration(args.trace_timeout))
    for source, obj in _load_files(args.filename):
        info = _object_info(source, obj, (obj.get("metadata") or {}).get("namespace") or session.namespace)
        namespace = _object_namespace(session, info, obj)
        applied = _with_namespace(obj, namespace)
        try:
            with tracer.applying(info, applied, namespace, source) if tracer else contextlib.nullcontext():
                result, verb = apply_object(session.client, info, applied, namespace)
        except errors.APIError as e:
            if isinstance(e, errors.Unavailable):
                raise
            action = "creating" if getattr(e, "during_create", False) else "applying patch to"
            session.error(format_api_error(e, action=action, source=source))
            rc = 1
            continue
        _print_objects(session, info, [result], args.output, verb)
        if tracer is not None:
            rc = tracer.follow(info, applied, result, namespace, out=session.out, err=session.err,
                               args=argparse.Namespace(html=args.trace_html, json=False)) or rc
    return rc


def apply_object(client, info: ResourceInfo, applied: dict, namespace: str) -> tuple[dict, str]:
    """Create ``applied`` or merge it into the live object: ``(object, "created"|"configured"|"unchanged")``."""
    name = (applied.get("metadata") or {}).get("name", "")
    for attempt in range(APPLY_CONFLICT_ATTEMPTS):
        try:
            live = client.get(info.name, name, namespace) if name else None
        except errors.NotFound:
            live = None
        if live is None:
            try:
                return client.create(info.name, with_last_applied(applied), namespace), "created"
            except errors.AlreadyExists:
                continue  # created meanwhile: merge into it
            except errors.APIError as e:
                e.during_create = True  # type: ignore[attr-defined]
                raise
        merged = merge_applied(live, applied)
        if merged == live:
            return live, "unchanged"
        try:
            return client.update(info.name, merged), "configured"
        except errors.Conflict:
            if attempt == APPLY_CONFLICT_ATTEMPTS - 1:
                raise
    raise errors.Conflict(f'{info.name} "{name}": too many concurrent changes, try again')


def cmd_create(session: Session, args: argparse.Namespace) -> int:
    if args.filename:
        if args.args:
            raise _UsageError(f"unexpected arguments {args.args} with -f")
        rc = 0
        for source, obj in _load_files(args.filename):
            info = _object_info(source, obj, (obj.get("metadata") or {}).get("namespace") or session.namespace)
            namespace = _object_namespace(session, info, obj)
            try:
                created = session.client.create(info.name, _with_namespace(obj, namespace), namespace)
            except errors.APIError as e:
                if isinstance(e, errors.Unavailable):
                    raise
                session.error(format_api_error(e, action="creating", source=source))
                rc = 1
                continue
            _print_objects(session, info, [created], args.output, "created")
        return rc
    from kubemu import kubectl_rbac, kubectl_services, kubectl_workloads

    if args.args and args.args[0] in ("service", "svc"):
        args.command = "create"
        args.namespace = session.namespace
        return kubectl_services.run(args, session.client, out=session.out, err=session.err) or 0
    if args.args and args.args[0] in ("deployment", "deploy", "deployments"):
        args.command = "create"
        args.namespace = session.namespace
        return kubectl_workloads.run(args, session.client, out=session.out, err=session.err) or 0
    if len(args.args) == 2 and args.args[0] in kubectl_rbac.CREATE_KINDS:
        try:
            resource, obj = kubectl_rbac.build_object(args.args[0], args.args[1], session.namespace, args)
        except ValueError as e:
            raise _UsageError(str(e)) from None
        info = lookup(resource)
        created = session.client.create(resource, obj, obj["metadata"].get("namespace", ""))
        _print_objects(session, info, [created], args.output, "created")
        return 0
    if len(args.args) != 2 or args.args[0] not in ("namespace", "ns"):
        raise _UsageError("kubemu kubectl create supports -f FILENAME, 'namespace NAME', 'deployment NAME', "
                          "'service TYPE NAME', and 'role', 'clusterrole', 'rolebinding', 'clusterrolebinding NAME'")
    info = lookup("namespaces")
    created = session.client.create(info.name, {"apiVersion": "v1", "kind": "Namespace",
                                                "metadata": {"name": args.args[1]}})
    _print_objects(session, info, [created], args.output, "created")
    return 0


def build_run_pod(name: str, image: str, namespace: str, *, port: int | None = None, restart: str = "Always",
                  labels: str = "", env: list[str] | None = None, extra: list[str] | None = None,
                  use_command: bool = False, image_pull_policy: str = "") -> dict:
    """The Pod ``kubectl run`` creates."""
    label_map = _parse_labels(labels) if labels else {"run": name}
    container: dict[str, Any] = {"name": name, "image": image}
    if extra:
        container["command" if use_command else "args"] = list(extra)
    if env:
        container["env"] = []
        for item in env:
            key, sep, value = item.partition("=")
            if not sep or not key:
                raise KubectlError(f'invalid env: "{item}" (expected KEY=VALUE)')
            container["env"].append({"name": key, "value": value})
    if image_pull_policy:
        container["imagePullPolicy"] = image_pull_policy
    if port is not None:
        container["ports"] = [{"containerPort": port}]
    container["resources"] = {}
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"labels": label_map, "name": name, "namespace": namespace},
            "spec": {"containers": [container], "dnsPolicy": "ClusterFirst", "restartPolicy": restart}}


def _parse_labels(text: str) -> dict[str, str]:
    out = {}
    for item in text.split(","):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise KubectlError(f"invalid label spec: {item}")
        out[key.strip()] = value.strip()
    return out


def cmd_run(session: Session, args: argparse.Namespace) -> int:
    if not args.args:
        raise _UsageError("NAME is required for run")
    name, extra = args.args[0], args.args[1:] + list(args.extra)
    if not args.image:
        raise KubectlError("--image is required")
    pod = build_run_pod(name, args.image, session.namespace, port=args.port, restart=args.restart, labels=args.labels,
                        env=args.env, extra=extra, use_command=args.command,
                        image_pull_policy=args.image_pull_policy)
    info = lookup("pods")
    if args.dry_run == "client":
        _print_objects(session, info, [{**pod, "status": {}}], args.output, "created (dry run)")
        return 0
    created = session.client.create("pods", pod, session.namespace, dry_run=args.dry_run == "server")
    _print_objects(session, info, [created], args.output,
                   "created (server dry run)" if args.dry_run == "server" else "created")
    return 0


def _fill_type(info: ResourceInfo, obj: dict) -> dict:
    if "kind" in obj and "apiVersion" in obj:
        return obj
    return {"apiVersion": info.api_version, "kind": info.kind, **obj}


def cmd_get(session: Session, args: argparse.Namespace) -> int:
    from kubemu import kubectl_get

    return kubectl_get.cmd_get(session, args)


def cmd_describe(session: Session, args: argparse.Namespace) -> int:
    from kubemu.describe import describe_generic, describe_node, describe_pod
    from kubemu.printers import no_resources_message

    if not args.args:
        raise KubectlError("Required resource not specified.")
    show_events = parse_bool(args.show_events)
    targets = _targets(args.args)
    rc = 0
    objects: list[tuple[ResourceInfo, dict]] = []
    for info, name in targets:
        namespace = _namespace_for(session, info, args.all_namespaces)
        if name is None:
            items = session.client.list_all(info.name, namespace, label_selector=args.selector).items
            if not items:
                session.error(no_resources_message(namespace if info.namespaced else None))
            objects.extend((info, _fill_type(info, o)) for o in items)
            continue
        try:
            objects.append((info, _fill_type(info, session.client.get(info.name, name, namespace))))
        except errors.NotFound as e:
            session.error(format_api_error(e))
            rc = 1
    texts = []
    client = session.client
    for info, obj in objects:
        meta = obj.get("metadata") or {}
        if info.name == "nodes":
            name = meta.get("name", "")
            pods = client.list_all("pods", "", field_selector=f"spec.nodeName={name}").items
            events = client.list_all("events", "", field_selector=f"involvedObject.kind=Node,"
                                                                  f"involvedObject.name={name}").items \
                if show_events else None
            try:
                lease = client.get("leases", name, "kube-node-lease")
            except errors.NotFound:
                lease = None
            texts.append(describe_node(obj, pods, events, lease=lease))
            continue
        events = _events_for(client, obj) if show_events else None
        if info.name == "services":
            from kubemu.describe_service import describe_service

            slices = client.list_all("endpointslices", meta.get("namespace", ""),
                                     label_selector=f"kubernetes.io/service-name={meta.get('name', '')}").items
            texts.append(describe_service(obj, slices, events))
            continue
        texts.append(describe_pod(obj, events) if info.name == "pods" else describe_generic(obj, events))
    if texts:
        session.out.write("\n\n".join(texts))
        session.out.flush()
    return rc


def _events_for(client, obj: dict) -> list[dict]:
    meta = obj.get("metadata") or {}
    namespace = meta.get("namespace", "")
    if meta.get("uid"):
        selector = f"involvedObject.uid={meta['uid']}"
    else:
        selector = f"involvedObject.name={meta.get('name', '')},involvedObject.namespace={namespace}"
    return client.list_all("events", namespace, field_selector=selector).items


def cmd_delete(session: Session, args: argparse.Namespace) -> int:
    if args.now and args.grace_period >= 0:
        raise KubectlError("--now and --grace-period cannot be specified together")
    wait = parse_bool(args.wait)
    grace: int | None = args.grace_period if args.grace_period >= 0 else None
    if args.now:
        grace = 1
    if grace == 0 and not args.force:
        grace = 1  # kubectl: --grace-period=0 without --force means 1, to avoid accidental data loss
    if args.force and grace is None:
        grace = 0
    if args.force and grace == 0:
        session.error(FORCE_WARNING)
    verb = "force deleted" if grace == 0 else "deleted"
    timeout_s = parse_duration(args.timeout) or float(grace if grace is not None else DEFAULT_POD_GRACE_S) + \
        DELETE_WAIT_SLACK_S

    items: list[tuple[ResourceInfo, str, str, str]] = []  # info, namespace, name, source
    if args.filename:
        if args.args:
            raise _UsageError("unexpected arguments with -f")
        for source, obj in _load_files(args.filename):
            info = _object_info(source, obj, (obj.get("metadata") or {}).get("namespace") or session.namespace)
            items.append((info, _object_namespace(session, info, obj), (obj.get("metadata") or {}).get("name", ""),
                          source))
    else:
        if not args.args:
            raise KubectlError("You must provide one or more resources by argument or filename.\n"
                               "Example resource specifications include:\n   '-f rsrc.yaml'\n"
                               "   '--filename=rsrc.json'\n   '<resource> <name>'\n   '<resource>'")
        for info, name in _targets(args.args):
            namespace = _namespace_for(session, info, args.all_namespaces)
            if name is not None:
                items.append((info, namespace, name, ""))
                continue
            if not (args.all or args.selector):
                raise KubectlError("resource(s) were provided, but no name was specified")
            listed = session.client.list_all(info.name, namespace, label_selector=args.selector).items
            if not listed:
                from kubemu.printers import no_resources_message

                session.error(no_resources_message(namespace if info.namespaced else None))
            items.extend((info, (o.get("metadata") or {}).get("namespace", ""), o["metadata"]["name"], "")
                         for o in listed)

    from kubemu import kubectl_workloads

    try:
        policy = kubectl_workloads.propagation_policy(args.cascade)
    except kubectl_workloads.WorkloadError as e:
        raise KubectlError(str(e)) from None
    rc = 0
    pending: list[tuple[ResourceInfo, str, str, str]] = []  # info, namespace, name, uid
    for info, namespace, name, _source in items:
        try:
            gone = session.client.delete(info.name, name, namespace, grace_period_s=grace,
                                         propagation_policy=policy if info.group or info.name != "pods" else "")
        except errors.NotFound as e:
            if not args.ignore_not_found:
                session.error(format_api_error(e))
                rc = 1
            continue
        if args.output == "name":
            session.print(f"{type_name(info)}/{name}")
        else:
            session.print(f'{type_name(info)} "{name}" {verb}')
        pending.append((info, namespace, name, ((gone or {}).get("metadata") or {}).get("uid", "")))
    if wait and pending:
        rc = _wait_deleted(session, pending, timeout_s) or rc
    return rc


def _wait_deleted(session: Session, pending: list[tuple[ResourceInfo, str, str, str]], timeout_s: float) -> int:
    """Poll until every object is gone (NotFound, or replaced by a new one with another uid)."""
    deadline = time.monotonic() + timeout_s
    remaining = list(pending)
    while remaining:
        still = []
        for info, namespace, name, uid in remaining:
            try:
                obj = session.client.get(info.name, name, namespace)
            except errors.NotFound:
                continue
            if uid and (obj.get("metadata") or {}).get("uid") != uid:
                continue
            still.append((info, namespace, name, uid))
        remaining = still
        if not remaining:
            return 0
        if time.monotonic() >= deadline:
            for info, _, name, _ in remaining:
                session.error(f"error: timed out waiting for the condition on {info.name}/{name}")
            return 1
        time.sleep(POLL_INTERVAL_S)
    return 0


COMMANDS: dict[str, tuple[Callable[[], _Parser], Callable[[Session, argparse.Namespace], int], str]] = {
    "apply": (_apply_parser, cmd_apply, "Apply a configuration to a resource by file name or stdin"),
    "create": (_create_parser, cmd_create, "Create a resource from a file or a namespace"),
    "run": (_run_parser, cmd_run, "Run a particular image on the cluster"),
    "get": (_get_parser, cmd_get, "Display one or many resources"),
    "describe": (_describe_parser, cmd_describe, "Show details of a specific resource or group of resources"),
    "delete": (_delete_parser, cmd_delete, "Delete resources by file names, stdin, resources and names"),
    "auth": (_auth_parser, cmd_auth, "Inspect authorization (auth can-i)"),
}


# --------------------------------------------------------------------------- extension modules
#
# Commands implemented in their own modules (kubectl_pods, kubectl_workloads, kubectl_scheduling)
# register argparse sub-parsers; the global flags come in as a parent parser.

_EXTENSIONS = {"logs": "kubectl_pods", "exec": "kubectl_pods", "expose": "kubectl_services",
               "scale": "kubectl_workloads",
               "set": "kubectl_workloads", "rollout": "kubectl_workloads",
               "explain-schedule": "kubectl_scheduling", "trace": "kubectl_trace",
               "cordon": "kubectl_nodes", "uncordon": "kubectl_nodes", "drain": "kubectl_nodes",
               "taint": "kubectl_nodes", "label": "kubectl_metadata", "annotate": "kubectl_metadata",
               "patch": "kubectl_metadata"}
_EXTENSION_HELP = {"logs": "Print the logs for a container in a pod", "exec": "Execute a command in a container",
                   "expose": "Expose a pod, service, deployment or replica set as a new Service",
                   "scale": "Set a new size for a deployment, replica set or stateful set",
                   "set": "Set specific features on objects (set image)",
                   "rollout": "Manage the rollout of a resource (status, history, undo, restart, pause, resume)",
                   "explain-schedule": "Show why the scheduler placed a pod where it did, or why it cannot",
                   "trace": "Show every step of a pod's life as a timeline (kubemu trace pod NAME)",
                   "cordon": "Mark node as unschedulable", "uncordon": "Mark node as schedulable",
                   "drain": "Drain node in preparation for maintenance",
                   "taint": "Update the taints on one or more nodes",
                   "label": "Update the labels on a resource", "annotate": "Update the annotations on a resource",
                   "patch": "Update fields of a resource"}


def _extension(command: str):
    import importlib

    return importlib.import_module(f"kubemu.{_EXTENSIONS[command]}")


def _extension_parser(command: str) -> argparse.ArgumentParser:
    module = _extension(command)
    root = _Parser(prog="kubemu kubectl", add_help=False)
    sub = root.add_subparsers(parser_class=_Parser)
    parent = argparse.ArgumentParser(add_help=False)
    _add_global_flags(parent)
    if command == "explain-schedule":
        parser = _Parser(prog=f"kubemu kubectl {command}", usage=f"kubemu kubectl {command} POD [-n NS]",
                         description=_EXTENSION_HELP[command], conflict_handler="resolve")
        module.add_arguments(parser)
        _add_global_flags(parser)  # added last, so the global -n wins
        return parser
    module.register(sub, parents=(parent,))
    parser = sub.choices[command]
    parser.prog = f"kubemu kubectl {command}"
    return parser


def _extension_handler(command: str):
    def handle(session: Session, args: argparse.Namespace) -> int:
        code = _extension(command).run(args, session.client, out=session.out, err=session.err)
        return 1 if code is None else code

    return handle


for _name, _module in _EXTENSIONS.items():
    COMMANDS[_name] = (lambda n=_name: _extension_parser(n), _extension_handler(_name), _EXTENSION_HELP[_name])


def usage() -> str:
    lines = ["kubemu kubectl controls the kubemu cluster manager, like kubectl.", "", "Commands:"]
    lines += [f"  {name:<10} {desc}" for name, (_, _, desc) in COMMANDS.items()]
    lines += ["", "Global flags (before or after the command):",
              "  -n, --namespace NS     the namespace scope (default: default)",
              f"  -s, --server HOST:PORT the apiserver (default: ${ENV_SERVER}, else the cluster's kubeconfig.yaml)",
              f"  --token TOKEN          bearer token (default: ${ENV_TOKEN}, else the kubeconfig)",
              "  --kubeconfig FILE      read the server and token from this file",
              "  --cluster-dir DIR      the cluster directory (default: $KUBEMU_CLUSTER_DIR or "
              "~/.kubemu/clusters/default)",
              "", "Use \"kubemu kubectl <command> -h\" for more information about a given command."]
    return "\n".join(lines) + "\n"


def split_command(argv: list[str]) -> tuple[str | None, list[str], list[str]]:
    """``(command, flags and arguments, arguments after --)``; global flags may precede the command."""
    extra: list[str] = []
    if "--" in argv:
        i = argv.index("--")
        argv, extra = argv[:i], argv[i + 1:]
    before: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if not arg.startswith("-") or arg == "-":
            return arg, before + argv[i + 1:], extra
        before.append(arg)
        if arg in _GLOBAL_VALUE_FLAGS and i + 1 < len(argv):
            before.append(argv[i + 1])
            i += 1
        elif arg not in _GLOBAL_SWITCHES and "=" not in arg and arg not in ("-h", "--help") and \
                not any(arg.startswith(f + "=") for f in _GLOBAL_VALUE_FLAGS):
            raise _UsageError(f"unknown flag: {arg}\nSee 'kubemu kubectl -h' for help")
        i += 1
    return None, before, extra


def run(argv: list[str], *, cluster_dir: str | None = None, client: Any = None, stdout: TextIO | None = None,
        stderr: TextIO | None = None) -> int:
    """Run one kubectl command; returns the exit code (0 ok, 1 error)."""
    out, err = stdout or sys.stdout, stderr or sys.stderr
    session = Session(out, err)
    try:
        command, rest, extra = split_command(list(argv))
        if command is None:
            if any(a in ("-h", "--help") for a in rest) or not rest:
                out.write(usage())
                return 0
            raise _UsageError("no command given\nSee 'kubemu kubectl -h' for help")
        if command not in COMMANDS:
            raise _UsageError(f'unknown command "{command}" for "kubemu kubectl"\n'
                              f"Run 'kubemu kubectl --help' for usage.")
        build, handler, _ = COMMANDS[command]
        parser = build()
        try:
            args = parser.parse_intermixed_args(rest)
        except SystemExit as e:  # -h printed help
            return int(e.code or 0)
        args.extra = extra
        if extra and command not in ("run", "exec"):
            raise _UsageError(f"unexpected arguments after --: {extra}")
        session.namespace = args.namespace or "default"
        session.namespace_explicit = bool(args.namespace)
        session.request_timeout_s = parse_duration(args.request_timeout) or 30.0
        if client is not None:
            session.client_factory = lambda: client
        elif not (command == "run" and args.dry_run == "client"):
            session.servers, session.token = _resolve_server(args, cluster_dir)
            session.ca_file, session.cert_file, session.key_file = _resolve_tls(args, cluster_dir)
        return handler(session, args)
    except KubectlError as e:
        session.error(e.render())
        return 1
    except errors.Unavailable as e:
        if session.server and not _reachable(session.server):
            session.error(connection_refused_message(session.server))
        else:
            session.error(format_api_error(e))
        return 1
    except errors.APIError as e:
        session.error(format_api_error(e))
        return 1
    except BrokenPipeError:  # `kubemu kubectl get pods | head`
        if out is sys.stdout:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    finally:
        if client is None:
            session.close()


def _reachable(endpoint: str, timeout_s: float = 1.0) -> bool:
    host, _, port = endpoint.rpartition(":")
    try:
        with socket.create_connection((host.strip("[]") or "127.0.0.1", int(port)), timeout=timeout_s):
            return True
    except (OSError, ValueError):
        return False


def main() -> int:
    return run(sys.argv[1:])


if __name__ == "__main__":
    raise SystemExit(main())
