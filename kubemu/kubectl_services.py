"""Service commands of ``kubemu kubectl``: ``expose`` and ``create service``, building the objects
kubectl builds (same names, labels, selectors, ports).

``expose TYPE NAME`` (pod, service, deployment, replica set) makes a Service selecting what the
object selects: a pod's labels, a Service's selector, a Deployment's or ReplicaSet's
``matchLabels``. Ports come from ``--port`` (comma-separated) or, without it, from the object's
container ports (a Service's ports); several ports are named ``port-1``, ``port-2``…; every
port's ``targetPort`` is ``--target-port`` or the port itself; the protocol is ``--protocol`` or
the container port's. ``--name`` (default: the object's name), ``--type``, ``--labels`` (default:
the object's labels), ``--selector``, ``--cluster-ip``, ``--external-ip``,
``--session-affinity``.

``create service clusterip|nodeport|loadbalancer|externalname NAME`` takes ``--tcp
PORT[:TARGET]`` (repeatable, comma-separated; port names ``PORT-TARGET`` or ``PORT``),
``--clusterip None`` (headless), ``--node-port N``, ``--external-name HOST``; the Service selects
and is labelled ``app=NAME``.

Both print ``service/NAME exposed|created``, or the object with ``-o yaml|json|name``.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, TextIO

from machinery import errors
from machinery.resources import UnknownResource, lookup

COMMAND_DEST = "services_command"
EXPOSABLE = ("pods", "services", "deployments", "replicasets")
CREATE_TYPES = {"clusterip": "ClusterIP", "nodeport": "NodePort", "loadbalancer": "LoadBalancer",
                "externalname": "ExternalName"}


class ServiceError(Exception):
    """Reported as ``error: <message>``, exit code 1."""


def register(subparsers, *, parents: tuple[argparse.ArgumentParser, ...] = ()) -> None:
    p = subparsers.add_parser("expose", parents=list(parents), help="Take a pod, service, deployment or replica set "
                              "and expose it as a new Kubernetes service",
                              description="Expose a pod, service, deployment or replica set as a new Service.")
    p.add_argument("args", nargs="*", metavar="TYPE NAME | TYPE/NAME")
    p.add_argument("--port", default="", help="the port(s) the service serves on, comma-separated "
                                              "(default: the object's container ports)")
    p.add_argument("--target-port", default="", help="the number or name of the container port traffic goes to "
                                                     "(default: the port)")
    p.add_argument("--protocol", default="", help="TCP, UDP or SCTP (default: the container port's, else TCP)")
    p.add_argument("--name", default="", help="the service's name (default: the object's)")
    p.add_argument("--type", default="", help="ClusterIP (default), NodePort, LoadBalancer or ExternalName")
    p.add_argument("-l", "--labels", default="", help="the service's labels, k=v,... (default: the object's)")
    p.add_argument("--selector", default="", help="the pods to select, k=v,... (default: what the object selects)")
    p.add_argument("--cluster-ip", default="", help="the cluster IP to ask for, or None for a headless service")
    p.add_argument("--external-ip", default="", help="an external IP the service also accepts traffic on")
    p.add_argument("--session-affinity", default="", help="None (default) or ClientIP")
    p.add_argument("-o", "--output", default="", choices=("", "name", "yaml", "json"), help="output format")
    p.add_argument("--dry-run", default="none", nargs="?", const="client", choices=("none", "client", "server"),
                   help="client: only print the object; server: have the server check it without storing it")
    p.set_defaults(**{COMMAND_DEST: "expose"})
    if not parents:
        p.add_argument("-n", "--namespace", default=None, help="the namespace")


def add_create_flags(p: argparse.ArgumentParser) -> None:
    """The flags of ``create service …`` (kubectl's names), for the kubectl module's ``create`` parser."""
    g = p.add_argument_group("service flags")
    g.add_argument("--tcp", action="append", default=[], help="service: PORT[:TARGET_PORT] (repeatable)")
    g.add_argument("--node-port", type=int, default=0, help="service nodeport: the node port of every port")
    g.add_argument("--clusterip", default="", help="service clusterip: the cluster IP, or None for headless")
    g.add_argument("--external-name", default="", help="service externalname: the DNS name to alias")


# --------------------------------------------------------------------------- building


def _pairs(text: str, flag: str) -> dict[str, str]:
    out = {}
    for item in text.split(","):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ServiceError(f"invalid {flag} {text!r}: expected k=v,k2=v2")
        out[key.strip()] = value.strip()
    return out


def _int_or_name(text: str) -> int | str:
    return int(text) if text.isdigit() else text


def selector_of(obj: dict, resource: str) -> dict[str, str]:
    """What an exposed object selects (kubectl's MapBasedSelectorForObject)."""
    kind = obj.get("kind") or resource
    if resource == "pods":
        labels = (obj.get("metadata") or {}).get("labels") or {}
        if not labels:
            raise ServiceError("couldn't retrieve selectors via --selector flag or introspection: the pod has no "
                               "labels and cannot be exposed")
        return dict(labels)
    if resource == "services":
        selector = (obj.get("spec") or {}).get("selector") or {}
        if not selector:
            raise ServiceError("couldn't retrieve selectors via --selector flag or introspection: the service has "
                               "no pod selector set")
        return dict(selector)
    selector = (obj.get("spec") or {}).get("selector") or {}
    if selector.get("matchExpressions"):
        raise ServiceError(f"couldn't retrieve selectors via --selector flag or introspection: couldn't convert "
                           f"expressions of the {kind} selector to a map-based selector")
    labels = selector.get("matchLabels") or {}
    if not labels:
        raise ServiceError(f"couldn't retrieve selectors via --selector flag or introspection: invalid {kind}: no "
                           "selectors, therefore cannot be exposed")
    return dict(labels)


def ports_of(obj: dict, resource: str) -> list[tuple[int, str]]:
    """(port, protocol) of an exposed object (kubectl's PortsForObject and ProtocolsForObject)."""
    spec = obj.get("spec") or {}
    if resource == "services":
        return [(p["port"], p.get("protocol") or "TCP") for p in spec.get("ports") or [] if p.get("port")]
    pod_spec = spec if resource == "pods" else ((spec.get("template") or {}).get("spec") or {})
    out = []
    for container in pod_spec.get("containers") or []:
        for port in container.get("ports") or []:
            if isinstance(port, dict) and port.get("containerPort"):
                out.append((port["containerPort"], port.get("protocol") or "TCP"))
    return out


def build_exposed(obj: dict, resource: str, args: argparse.Namespace) -> dict:
    """The Service ``kubectl expose`` makes for ``obj``."""
    meta = obj.get("metadata") or {}
    selector = _pairs(args.selector, "--selector") if args.selector else selector_of(obj, resource)
    if args.port:
        found = dict(ports_of(obj, resource))
        try:
            wanted = [(int(p.strip()), found.get(int(p.strip()), "TCP")) for p in args.port.split(",")]
        except ValueError:
            raise ServiceError(f'invalid --port "{args.port}": expected port numbers') from None
    else:
        wanted = ports_of(obj, resource)
        if not wanted:
            raise ServiceError("couldn't find port via --port flag or introspection")
    target = _int_or_name(args.target_port) if args.target_port else None
    ports = []
    for i, (number, protocol) in enumerate(wanted, start=1):
        port: dict[str, Any] = {"port": number, "protocol": args.protocol or protocol,
                                "targetPort": target if target is not None else number}
        if len(wanted) > 1:
            port = {"name": f"port-{i}", **port}
        ports.append(port)
    labels = _pairs(args.labels, "--labels") if args.labels else dict(meta.get("labels") or {})
    spec: dict[str, Any] = {"ports": ports, "selector": selector}
    if args.type:
        spec["type"] = args.type
    if args.cluster_ip:
        spec["clusterIP"] = args.cluster_ip
    if args.external_ip:
        spec["externalIPs"] = [args.external_ip]
    if args.session_affinity:
        spec["sessionAffinity"] = args.session_affinity
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": args.name or meta.get("name", ""), **({"labels": labels} if labels else {})},
            "spec": spec}


def build_created(kind: str, name: str, args: argparse.Namespace) -> dict:
    """The Service ``kubectl create service KIND NAME`` makes."""
    service_type = CREATE_TYPES.get(kind)
    if service_type is None:
        raise ServiceError(f'unknown service type "{kind}": clusterip, nodeport, loadbalancer or externalname')
    ports = []
    for item in (p.strip() for flag in args.tcp for p in flag.split(",") if p.strip()):
        port_text, sep, target_text = item.partition(":")
        if not port_text.isdigit() or (sep and not target_text):
            raise ServiceError(f'invalid --tcp "{item}": expected PORT or PORT:TARGET_PORT')
        target = _int_or_name(target_text) if sep else int(port_text)
        port: dict[str, Any] = {"name": f"{port_text}-{target_text}" if sep else port_text, "port": int(port_text),
                                "protocol": "TCP", "targetPort": target}
        if service_type == "NodePort" and args.node_port:
            port["nodePort"] = args.node_port
        ports.append(port)
    spec: dict[str, Any] = {"type": service_type}
    if service_type == "ExternalName":
        if not args.external_name:
            raise ServiceError("--external-name must be specified")
        spec["externalName"] = args.external_name
    else:
        spec["selector"] = {"app": name}
        if args.clusterip:
            spec["clusterIP"] = args.clusterip
        elif not ports:
            raise ServiceError("at least one tcp port specifier must be provided")
    if ports:
        spec["ports"] = ports
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "labels": {"app": name}}, "spec": spec}


# --------------------------------------------------------------------------- running


def _print(out: TextIO, obj: dict, output: str, verb: str) -> None:
    from kubemu.printers import to_json, to_yaml

    name = (obj.get("metadata") or {}).get("name", "")
    if output == "yaml":
        out.write(to_yaml(obj))
    elif output == "json":
        out.write(to_json(obj) + "\n")
    elif output == "name":
        out.write(f"service/{name}\n")
    else:
        out.write(f"service/{name} {verb}\n")


def _expose(args: argparse.Namespace, client: Any, namespace: str, out: TextIO) -> int:
    positional = list(args.args or [])
    if positional and "/" in positional[0]:
        kind, _, name = positional[0].partition("/")
        rest = positional[1:]
    elif len(positional) >= 2:
        kind, name, rest = positional[0], positional[1], positional[2:]
    else:
        raise ServiceError("you must provide one or more resources by argument or filename")
    if rest:
        raise ServiceError(f"unexpected arguments: {' '.join(rest)}")
    try:
        info = lookup(kind)
    except UnknownResource:
        raise ServiceError(f'the server doesn\'t have a resource type "{kind}"') from None
    if info.name not in EXPOSABLE:
        raise ServiceError(f"cannot expose a {info.kind}")
    obj = client.get(info.name, name, namespace)
    service = build_exposed(obj, info.name, args)
    if args.dry_run == "client":
        _print(out, service, args.output, "exposed (dry run)")
        return 0
    created = client.create("services", service, namespace, dry_run=args.dry_run == "server")
    _print(out, created, args.output, "exposed (server dry run)" if args.dry_run == "server" else "exposed")
    return 0


def run(args: argparse.Namespace, client: Any, *, out: TextIO | None = None, err: TextIO | None = None) -> int | None:
    """Run ``expose`` or ``create service …``; None when ``args`` is another command's."""
    out, err = out or sys.stdout, err or sys.stderr
    command = getattr(args, COMMAND_DEST, None) or getattr(args, "command", None)
    positional = list(getattr(args, "args", None) or [])
    namespace = getattr(args, "namespace", None) or "default"
    try:
        if command == "expose":
            return _expose(args, client, namespace, out)
        if command == "create" and positional[:1] in (["service"], ["svc"]):
            if len(positional) != 3:
                raise ServiceError("usage: create service clusterip|nodeport|loadbalancer|externalname NAME "
                                   "[--tcp=PORT:TARGET]")
            service = build_created(positional[1], positional[2], args)
            created = client.create("services", service, namespace)
            _print(out, created, getattr(args, "output", ""), "created")
            return 0
        return None
    except errors.APIError as e:
        err.write(f"Error from server ({e.reason}): {e.message}\n")
        return 1
    except ServiceError as e:
        err.write(f"error: {e}\n")
        return 1
