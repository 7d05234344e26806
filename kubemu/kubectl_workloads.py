"""``kubemu kubectl`` for workloads: create deployment, scale, set image, rollout, cascading delete.

    kubemu kubectl create deployment web --image=nginx --replicas=3 [--port=80]
    kubemu kubectl scale deployment web --replicas=5         (also replicaset, statefulset; TYPE/NAME works)
    kubemu kubectl set image deployment/web nginx=nginx:1.27  (``*=IMAGE`` for every container)
    kubemu kubectl rollout status deployment/web [--timeout=2m] [--watch=false]
    kubemu kubectl rollout history deployment/web [--revision=2]
    kubemu kubectl rollout undo deployment/web [--to-revision=1]
    kubemu kubectl rollout restart|pause|resume deployment/web
    kubemu kubectl delete deployment web --cascade=background|foreground|orphan

Output and errors follow kubectl's (``deployment.apps/web scaled``, ``Waiting for deployment
"web" rollout to finish: 1 out of 3 new replicas have been updated...``). ``rollout undo``
works like kubectl's: the Deployment's template is replaced by the chosen ReplicaSet's (its
``pod-template-hash`` label dropped) and the controller re-uses that ReplicaSet under the next
revision. ``rollout restart`` sets the ``kubectl.kubernetes.io/restartedAt`` template
annotation. StatefulSets get status, history (from ControllerRevisions), undo and restart;
DaemonSets status and restart.

Wiring (the kubectl module does it): ``register(subparsers, parents=…)`` adds ``scale``,
``set`` and ``rollout``; ``add_create_flags(parser)`` gives the ``create`` parser ``--image``,
``--replicas`` and ``--port``, and ``run`` handles ``create deployment NAME`` when the create
command's positional ``args`` start with ``deployment``; ``run(args, client)`` returns the exit
code, or None for a command that is not ours. For ``delete``, ``add_cascade_flag(parser)`` and
``propagation_policy(args.cascade)`` give the ``propagation_policy`` to pass to
``client.delete``. ``format_workloads(...)`` renders ``get`` tables for deployments,
replicasets, statefulsets, daemonsets, jobs and controllerrevisions like kubectl.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import sys
import time
from typing import Any, TextIO

from machinery import durations, errors, meta
from machinery.resources import ResourceInfo, UnknownResource, lookup
from machinery.workload_rows import workload_row

COMMAND_DEST = "kubectl_workloads_command"
HASH_LABEL = "pod-template-hash"
REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
CHANGE_CAUSE = "kubernetes.io/change-cause"
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
# Annotations `rollout undo` does not copy from a ReplicaSet back onto its Deployment (kubectl's list).
UNDO_SKIP_ANNOTATIONS = frozenset({"kubectl.kubernetes.io/last-applied-configuration", REVISION, REVISION_HISTORY,
                                   "deployment.kubernetes.io/desired-replicas",
                                   "deployment.kubernetes.io/max-replicas", "deprecated.deployment.rollback.to"})
SCALABLE = ("deployments", "replicasets", "statefulsets")
ROLLOUT_KINDS = ("deployments", "statefulsets", "daemonsets")
POLL_INTERVAL_S = 0.5
CASCADE_POLICIES = {"background": "Background", "true": "Background", "foreground": "Foreground",
                    "orphan": "Orphan", "false": "Orphan"}


class WorkloadError(Exception):
    """A failure reported as ``error: <message>``, exit code 1."""


# --------------------------------------------------------------------------- wiring


def register(subparsers, *, parents: tuple[argparse.ArgumentParser, ...] = ()) -> None:
    """Add ``scale``, ``set`` (``set image``) and ``rollout`` to kubectl's argparse sub-parsers."""
    scale = subparsers.add_parser("scale", parents=list(parents), help="Set a new size for a deployment, "
                                  "replica set or stateful set",
                                  description="Set a new size for a deployment, replica set or stateful set.")
    scale.add_argument("args", nargs="*", metavar="TYPE NAME | TYPE/NAME")
    scale.add_argument("--replicas", type=int, default=None, help="the new number of replicas (required)")
    scale.add_argument("--current-replicas", type=int, default=-1,
                       help="precondition: only scale if the current size is this")
    scale.set_defaults(**{COMMAND_DEST: "scale"})
    set_ = subparsers.add_parser("set", parents=list(parents), help="Set specific features on objects",
                                 description="Set specific features on objects: set image.")
    set_.add_argument("args", nargs="*", metavar="image TYPE/NAME CONTAINER=IMAGE ...")
    set_.set_defaults(**{COMMAND_DEST: "set"})
    rollout = subparsers.add_parser("rollout", parents=list(parents), help="Manage the rollout of a resource",
                                    description="Manage the rollout of a deployment, stateful set or daemon set: "
                                                "status, history, undo, restart, pause, resume.")
    rollout.add_argument("args", nargs="*", metavar="SUBCOMMAND TYPE/NAME")
    rollout.add_argument("--to-revision", type=int, default=0, help="undo: the revision to go back to (0: previous)")
    rollout.add_argument("--revision", type=int, default=0, help="history: show this revision's template; "
                                                                 "status: wait for this revision")
    rollout.add_argument("--timeout", default="0s", help="status: give up after this long (0: never)")
    rollout.add_argument("-w", "--watch", default="true", nargs="?", const="true",
                         help="status: keep watching until done (default true)")
    rollout.set_defaults(**{COMMAND_DEST: "rollout"})
    if not parents:
        for p in (scale, set_, rollout):
            p.add_argument("-n", "--namespace", default=None, help="the namespace")


def add_create_flags(parser: argparse.ArgumentParser) -> None:
    """The flags ``create deployment`` needs, for the kubectl module's ``create`` parser."""
    parser.add_argument("--image", action="append", default=[], help="deployment: container image (repeatable)")
    parser.add_argument("--replicas", type=int, default=1, help="deployment: number of replicas")
    parser.add_argument("--port", type=int, default=-1, help="deployment: the port the container exposes")


def add_cascade_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cascade", default="background", nargs="?", const="background",
                        help='"background" (default), "foreground" or "orphan": what happens to dependents')


def propagation_policy(cascade: str | None) -> str:
    """``--cascade`` → the Delete request's propagation policy (kubectl's values, true/false too)."""
    value = (cascade or "background").strip().lower()
    if value not in CASCADE_POLICIES:
        raise WorkloadError(f'invalid cascade value ({cascade}). Must be "background", "foreground", or "orphan".')
    return CASCADE_POLICIES[value]


def delete_with_cascade(client: Any, resource: str, name: str, namespace: str, *, cascade: str = "background",
                        grace_period_s: int | None = None) -> dict:
    """Delete one object with ``--cascade`` semantics (for the kubectl module's delete command)."""
    return client.delete(resource, name, namespace, grace_period_s=grace_period_s,
                         propagation_policy=propagation_policy(cascade))


def run(args: argparse.Namespace, client: Any, *, out: TextIO | None = None, err: TextIO | None = None
        ) -> int | None:
    """Run scale/set/rollout (or ``create deployment``); None when ``args`` is another command's."""
    command = getattr(args, COMMAND_DEST, None) or getattr(args, "command", None)
    positional = list(getattr(args, "args", None) or [])
    if command == "create" and positional[:1] in (["deployment"], ["deploy"], ["deployments"]):
        command = "create-deployment"
    if command not in ("scale", "set", "rollout", "create-deployment"):
        return None
    out, err = out or sys.stdout, err or sys.stderr
    namespace = getattr(args, "namespace", None) or "default"
    try:
        if command == "create-deployment":
            return _create_deployment(args, client, namespace, positional[1:], out)
        if command == "scale":
            return _scale(args, client, namespace, positional, out)
        if command == "set":
            return _set(client, namespace, positional, out)
        return _rollout(args, client, namespace, positional, out)
    except errors.APIError as e:
        err.write(f"Error from server ({e.reason}): {e.message}\n")
        return 1
    except (WorkloadError, ValueError) as e:
        err.write(f"error: {e}\n")
        return 1


# --------------------------------------------------------------------------- helpers


def type_name(info: ResourceInfo) -> str:
    return f"{info.singular}.{info.group}" if info.group else info.singular


def _plural_type(info: ResourceInfo) -> str:
    return f"{info.name}.{info.group}" if info.group else info.name


def _resource(name: str) -> ResourceInfo:
    try:
        return lookup(name)
    except UnknownResource:
        raise WorkloadError(f'the server doesn\'t have a resource type "{name}"') from None


def parse_target(args: list[str], allowed: tuple[str, ...], verb: str) -> tuple[ResourceInfo, str, list[str]]:
    """``TYPE NAME rest…`` or ``TYPE/NAME rest…`` → (resource, name, rest)."""
    if not args:
        raise WorkloadError(f"required resource not specified for {verb}")
    if "/" in args[0]:
        kind, _, name = args[0].partition("/")
        info, rest = _resource(kind), args[1:]
    else:
        if len(args) < 2:
            raise WorkloadError(f"resource(s) were provided, but no name was specified for {verb}")
        info, name, rest = _resource(args[0]), args[1], args[2:]
    if not name:
        raise WorkloadError(f"a resource name is required for {verb}")
    if info.name not in allowed:
        raise WorkloadError(f'{verb} is not supported for {_plural_type(info)} (supported: '
                            f'{", ".join(allowed)})')
    return info, name, rest


def parse_duration(text: str) -> float:
    try:
        return durations.parse_seconds(text)
    except ValueError:
        raise WorkloadError(f'invalid duration "{str(text).strip()}"') from None


def container_name_for(image: str) -> str:
    """kubectl's container name for an image: the last path part without tag or digest, sanitised."""
    base = image.split("@", 1)[0].rsplit("/", 1)[-1].split(":", 1)[0].lower()
    name = re.sub(r"[^a-z0-9-]+", "-", base).strip("-")
    return name[:63].strip("-") or "container"


def _mutate(client: Any, info: ResourceInfo, name: str, namespace: str, change) -> dict:
    """Read-modify-write with conflict retries; NotFound is kubectl's message."""
    try:
        client.get(info.name, name, namespace)
    except errors.NotFound:
        raise errors.NotFound(f'{_plural_type(info)} "{name}" not found') from None
    updated = client.mutate(info.name, name, namespace, change)
    if updated is None:
        return client.get(info.name, name, namespace)
    return updated


# --------------------------------------------------------------------------- create deployment


def build_deployment(name: str, images: list[str], namespace: str, *, replicas: int = 1, port: int = -1) -> dict:
    """The Deployment ``kubectl create deployment`` makes."""
    labels = {"app": name}
    containers, seen = [], set()
    for image in images:
        cname = container_name_for(image)
        if cname in seen:  # kubectl numbers duplicates
            i = 1
            while f"{cname}-{i}" in seen:
                i += 1
            cname = f"{cname}-{i}"
        seen.add(cname)
        container: dict = {"image": image, "name": cname, "resources": {}}
        if port >= 0:
            container["ports"] = [{"containerPort": port}]
        containers.append(container)
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"labels": dict(labels), "name": name, "namespace": namespace},
            "spec": {"replicas": replicas, "selector": {"matchLabels": dict(labels)}, "strategy": {},
                     "template": {"metadata": {"labels": dict(labels)}, "spec": {"containers": containers}}}}


def _create_deployment(args: argparse.Namespace, client: Any, namespace: str, rest: list[str], out: TextIO) -> int:
    if len(rest) != 1:
        raise WorkloadError("exactly one NAME is required, got " + str(len(rest)))
    images = list(getattr(args, "image", None) or [])
    if not images:
        raise WorkloadError("required flag(s) \"image\" not set")
    replicas = getattr(args, "replicas", 1)
    replicas = 1 if replicas is None else replicas
    if replicas < 0:
        raise WorkloadError("--replicas must be greater than or equal to 0")
    port = getattr(args, "port", -1)
    deployment = build_deployment(rest[0], images, namespace, replicas=replicas,
                                  port=-1 if port is None else port)
    created = client.create("deployments", deployment, namespace)
    out.write(f"deployment.apps/{meta.name_of(created)} created\n")
    return 0


# --------------------------------------------------------------------------- scale


def _scale(args: argparse.Namespace, client: Any, namespace: str, positional: list[str], out: TextIO) -> int:
    if args.replicas is None:
        raise WorkloadError("required flag(s) \"replicas\" not set")
    if args.replicas < 0:
        raise WorkloadError("The --replicas=COUNT flag is required, and COUNT must be greater than or equal to 0")
    info, name, rest = parse_target(positional, SCALABLE, "scale")
    if rest:
        raise WorkloadError(f"unexpected arguments: {' '.join(rest)}")

    def change(obj: dict) -> bool:
        current = (obj.get("spec") or {}).get("replicas", 1)
        if args.current_replicas >= 0 and current != args.current_replicas:
            raise WorkloadError(f"Expected replicas to be {args.current_replicas}, was {current}")
        if current == args.replicas:
            return False
        obj.setdefault("spec", {})["replicas"] = args.replicas
        return True

    _mutate(client, info, name, namespace, change)
    out.write(f"{type_name(info)}/{name} scaled\n")
    return 0


# --------------------------------------------------------------------------- set image


def _set(client: Any, namespace: str, positional: list[str], out: TextIO) -> int:
    if not positional or positional[0] != "image":
        raise WorkloadError('unknown "set" subcommand; supported: image')
    targets: list[str] = []
    pairs: dict[str, str] = {}
    for arg in positional[1:]:
        if "=" in arg:
            container, _, image = arg.partition("=")
            if not container or not image:
                raise WorkloadError(f"invalid image update {arg!r}: expected CONTAINER=IMAGE")
            pairs[container] = image
        else:
            targets.append(arg)
    if not pairs:
        raise WorkloadError("at least one image update is required")
    info, name, rest = parse_target(targets, ("deployments", "replicasets", "statefulsets", "daemonsets"),
                                    "set image")
    if rest:
        raise WorkloadError(f"unexpected arguments: {' '.join(rest)}")

    def change(obj: dict) -> bool:
        pod_spec = ((obj.get("spec") or {}).get("template") or {}).get("spec") or {}
        containers = [c for field in ("initContainers", "containers") for c in pod_spec.get(field) or []]
        names = {c.get("name") for c in containers}
        for wanted in pairs:
            if wanted != "*" and wanted not in names:
                raise WorkloadError(f'unable to find container named "{wanted}"')
        changed = False
        for container in containers:
            image = pairs.get(container.get("name"), pairs.get("*"))
            if image is not None and container.get("image") != image:
                container["image"] = image
                changed = True
        return changed

    _mutate(client, info, name, namespace, change)
    out.write(f"{type_name(info)}/{name} image updated\n")
    return 0


# --------------------------------------------------------------------------- rollout


def _rollout(args: argparse.Namespace, client: Any, namespace: str, positional: list[str], out: TextIO) -> int:
    sub = positional[0] if positional else ""
    handlers = {"status": _rollout_status, "history": _rollout_history, "undo": _rollout_undo,
                "restart": _rollout_restart, "pause": _rollout_pause, "resume": _rollout_resume}
    if sub not in handlers:
        raise WorkloadError('unknown "rollout" subcommand; supported: ' + ", ".join(handlers))
    allowed = ("deployments",) if sub in ("pause", "resume") else (
        ("deployments", "statefulsets") if sub in ("history", "undo") else ROLLOUT_KINDS)
    info, name, rest = parse_target(positional[1:], allowed, f"rollout {sub}")
    if rest:
        raise WorkloadError(f"unexpected arguments: {' '.join(rest)}")
    return handlers[sub](args, client, info, name, namespace, out)


def rollout_status_message(info: ResourceInfo, obj: dict, revision: int = 0) -> tuple[str, bool]:
    """kubectl's status viewers: (message, done). Raises WorkloadError when the rollout failed."""
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    name = meta.name_of(obj)
    generation = obj["metadata"].get("generation", 1)
    observed = int(status.get("observedGeneration") or 0)

    def n(field: str) -> int:
        return int(status.get(field) or 0)

    if info.name == "deployments":
        if revision:
            current = int(((obj.get("metadata") or {}).get("annotations") or {}).get(REVISION, "0") or 0)
            if current != revision:
                raise WorkloadError(f"desired revision ({revision}) is different from the running revision "
                                    f"({current})")
        if generation > observed:
            return "Waiting for deployment spec update to be observed...", False
        for cond in status.get("conditions") or []:
            if cond.get("type") == "Progressing" and cond.get("reason") == "ProgressDeadlineExceeded":
                raise WorkloadError(f'deployment "{name}" exceeded its progress deadline')
        replicas = spec.get("replicas", 1)
        if n("updatedReplicas") < replicas:
            return (f'Waiting for deployment "{name}" rollout to finish: {n("updatedReplicas")} out of {replicas} '
                    "new replicas have been updated..."), False
        if n("replicas") > n("updatedReplicas"):
            return (f'Waiting for deployment "{name}" rollout to finish: {n("replicas") - n("updatedReplicas")} '
                    "old replicas are pending termination..."), False
        if n("availableReplicas") < n("updatedReplicas"):
            return (f'Waiting for deployment "{name}" rollout to finish: {n("availableReplicas")} of '
                    f'{n("updatedReplicas")} updated replicas are available...'), False
        return f'deployment "{name}" successfully rolled out', True
    strategy = (spec.get("updateStrategy") or {})
    if (strategy.get("type") or "RollingUpdate") != "RollingUpdate":
        raise WorkloadError("rollout status is only available for RollingUpdate strategy type")
    if info.name == "statefulsets":
        if observed == 0 or generation > observed:
            return "Waiting for statefulset spec update to be observed...", False
        replicas = spec.get("replicas", 1)
        if n("readyReplicas") < replicas:
            return f"Waiting for {replicas - n('readyReplicas')} pods to be ready...", False
        partition = (strategy.get("rollingUpdate") or {}).get("partition") or 0
        if partition > 0:
            if n("updatedReplicas") < replicas - partition:
                return (f"Waiting for partitioned roll out to finish: {n('updatedReplicas')} out of "
                        f"{replicas - partition} new pods have been updated..."), False
            return f"partitioned roll out complete: {n('updatedReplicas')} new pods have been updated...", True
        if status.get("updateRevision") != status.get("currentRevision"):
            return (f"waiting for statefulset rolling update to complete {n('updatedReplicas')} pods at revision "
                    f"{status.get('updateRevision')}..."), False
        return (f"statefulset rolling update complete {n('currentReplicas')} pods at revision "
                f"{status.get('currentRevision')}..."), True
    if generation > observed:
        return "Waiting for daemon set spec update to be observed...", False
    desired = n("desiredNumberScheduled")
    if n("updatedNumberScheduled") < desired:
        return (f'Waiting for daemon set "{name}" rollout to finish: {n("updatedNumberScheduled")} out of {desired} '
                "new pods have been updated..."), False
    if n("numberAvailable") < desired:
        return (f'Waiting for daemon set "{name}" rollout to finish: {n("numberAvailable")} of {desired} updated '
                "pods are available..."), False
    return f'daemon set "{name}" successfully rolled out', True


def _rollout_status(args, client, info, name, namespace, out) -> int:
    watch = args.watch if isinstance(args.watch, bool) else str(args.watch).strip().lower() in (
        "true", "1", "yes", "t")
    timeout_s = parse_duration(args.timeout)
    deadline = time.monotonic() + timeout_s if timeout_s > 0 else None
    last = ""
    while True:
        obj = client.get(info.name, name, namespace)
        message, done = rollout_status_message(info, obj, args.revision)
        if message != last:
            out.write(message + "\n")
            out.flush()
            last = message
        if done or not watch:
            return 0
        if deadline is not None and time.monotonic() >= deadline:
            raise WorkloadError("timed out waiting for the condition")
        time.sleep(POLL_INTERVAL_S)


def _owned_replicasets(client: Any, deployment: dict) -> list[dict]:
    uid = deployment["metadata"]["uid"]
    return [rs for rs in client.list_all("replicasets", meta.namespace_of(deployment)).items
            if any(r.get("uid") == uid and r.get("controller") for r in rs["metadata"].get("ownerReferences") or [])]


def _revision(obj: dict) -> int:
    try:
        return int(((obj.get("metadata") or {}).get("annotations") or {}).get(REVISION, "0") or 0)
    except ValueError:
        return 0


def _deployment_history(client: Any, deployment: dict) -> dict[int, dict]:
    """revision → ReplicaSet, including the revisions a ReplicaSet had before (revision-history)."""
    history: dict[int, dict] = {}
    for rs in _owned_replicasets(client, deployment):
        history[_revision(rs)] = rs
        older = ((rs.get("metadata") or {}).get("annotations") or {}).get(REVISION_HISTORY, "")
        for item in filter(None, older.split(",")):
            try:
                history.setdefault(int(item), rs)
            except ValueError:
                continue
    history.pop(0, None)
    return history


def _statefulset_history(client: Any, sts: dict) -> dict[int, dict]:
    uid = sts["metadata"]["uid"]
    return {int(r.get("revision") or 0): r for r in client.list_all("controllerrevisions", meta.namespace_of(sts)).items
            if any(ref.get("uid") == uid for ref in r["metadata"].get("ownerReferences") or [])}


def _revision_template(info: ResourceInfo, revision_obj: dict) -> dict:
    if info.name == "deployments":
        template = meta.deep_copy((revision_obj.get("spec") or {}).get("template") or {})
        labels = (template.get("metadata") or {}).get("labels")
        if isinstance(labels, dict):
            labels.pop(HASH_LABEL, None)
        return template
    template = meta.deep_copy(((revision_obj.get("data") or {}).get("spec") or {}).get("template") or {})
    template.pop("$patch", None)
    return template


def _describe_template(template: dict) -> str:
    """A short ``kubectl describe``-like rendering of a pod template for ``rollout history --revision``."""
    tmeta = template.get("metadata") or {}
    lines = ["Pod Template:"]
    labels = tmeta.get("labels") or {}
    label_lines = [f"{k}={v}" for k, v in sorted(labels.items())] or ["<none>"]
    lines.append(f"  Labels:\t{label_lines[0]}")
    lines += [f"\t{item}" for item in label_lines[1:]]
    annotations = tmeta.get("annotations") or {}
    if annotations:
        items = [f"{k}: {v}" for k, v in sorted(annotations.items())]
        lines.append(f"  Annotations:\t{items[0]}")
        lines += [f"\t{item}" for item in items[1:]]
    lines.append("  Containers:")
    for c in (template.get("spec") or {}).get("containers") or []:
        lines.append(f"   {c.get('name')}:")
        lines.append(f"    Image:\t{c.get('image')}")
        ports = [f"{p.get('containerPort')}/{p.get('protocol', 'TCP')}" for p in c.get("ports") or []]
        lines.append(f"    Port:\t{', '.join(ports) if ports else '<none>'}")
        env = [f"{e.get('name')}:\t{e.get('value', '')}" for e in c.get("env") or []]
        lines.append("    Environment:\t" + ("<none>" if not env else ""))
        lines += [f"      {item}" for item in env]
    from kubemu.printers import tabwrite

    return tabwrite("\n".join(lines), padding=2)


def _rollout_history(args, client, info, name, namespace, out) -> int:
    obj = client.get(info.name, name, namespace)
    history = _deployment_history(client, obj) if info.name == "deployments" else _statefulset_history(client, obj)
    if args.revision:
        if args.revision not in history:
            raise WorkloadError("unable to find the specified revision")
        out.write(f"{type_name(info)}/{name} with revision #{args.revision}\n")
        out.write(_describe_template(_revision_template(info, history[args.revision])) + "\n")
        return 0
    from kubemu.printers import tabwrite

    rows = ["REVISION\tCHANGE-CAUSE"]
    for number in sorted(history):
        cause = ((history[number].get("metadata") or {}).get("annotations") or {}).get(CHANGE_CAUSE) or "<none>"
        rows.append(f"{number}\t{cause}")
    out.write(f"{type_name(info)}/{name} \n" + tabwrite("\n".join(rows) + "\n", padding=2) + "\n")
    return 0


def _rollout_undo(args, client, info, name, namespace, out) -> int:
    obj = client.get(info.name, name, namespace)
    if info.name == "deployments" and (obj.get("spec") or {}).get("paused"):
        raise WorkloadError("you cannot rollback a paused deployment; resume it first with 'kubectl rollout "
                            "resume' and try again")
    history = _deployment_history(client, obj) if info.name == "deployments" else _statefulset_history(client, obj)
    target_revision = args.to_revision
    if target_revision == 0:
        previous = sorted(history)[:-1]
        if not previous:
            raise WorkloadError("no rollout history found for " + f"{type_name(info)} \"{name}\"")
        target_revision = previous[-1]
    if target_revision not in history:
        raise WorkloadError(f"unable to find specified revision {target_revision} in history")
    source = history[target_revision]
    template = _revision_template(info, source)
    if template == (obj.get("spec") or {}).get("template"):
        out.write(f"{type_name(info)}/{name} skipped rollback (current template already matches revision "
                  f"{target_revision})\n")
        return 0

    def change(fresh: dict) -> bool:
        fresh.setdefault("spec", {})["template"] = meta.deep_copy(template)
        if info.name == "deployments":
            annotations = fresh["metadata"].setdefault("annotations", {})
            for k, v in ((source.get("metadata") or {}).get("annotations") or {}).items():
                if k not in UNDO_SKIP_ANNOTATIONS:
                    annotations[k] = v
        return True

    _mutate(client, info, name, namespace, change)
    out.write(f"{type_name(info)}/{name} rolled back\n")
    return 0


def _rollout_restart(args, client, info, name, namespace, out) -> int:
    obj = client.get(info.name, name, namespace)
    if info.name == "deployments" and (obj.get("spec") or {}).get("paused"):
        raise WorkloadError(f"deployments.apps \"{name}\" can't restart paused deployment (run rollout resume "
                            "first)")
    stamp = dt.datetime.now().astimezone().replace(microsecond=0).isoformat()

    def change(fresh: dict) -> bool:
        template = fresh.setdefault("spec", {}).setdefault("template", {})
        template.setdefault("metadata", {}).setdefault("annotations", {})[RESTARTED_AT] = stamp
        return True

    _mutate(client, info, name, namespace, change)
    out.write(f"{type_name(info)}/{name} restarted\n")
    return 0


def _set_paused(info: ResourceInfo, client: Any, name: str, namespace: str, paused: bool, out: TextIO) -> int:
    obj = client.get(info.name, name, namespace)
    if bool((obj.get("spec") or {}).get("paused")) == paused:
        raise WorkloadError(f'{_plural_type(info)} "{name}" is {"already" if paused else "not"} paused')

    def change(fresh: dict) -> bool:
        if paused:
            fresh.setdefault("spec", {})["paused"] = True
        else:
            fresh.setdefault("spec", {}).pop("paused", None)
        return True

    _mutate(client, info, name, namespace, change)
    out.write(f"{type_name(info)}/{name} {'paused' if paused else 'resumed'}\n")
    return 0


def _rollout_pause(args, client, info, name, namespace, out) -> int:
    return _set_paused(info, client, name, namespace, True, out)


def _rollout_resume(args, client, info, name, namespace, out) -> int:
    return _set_paused(info, client, name, namespace, False, out)


# --------------------------------------------------------------------------- get tables


def format_workloads(resource: str, objects: list[dict], wide: bool = False, all_namespaces: bool = False,
                     now: dt.datetime | None = None) -> str:
    """``kubectl get`` tables for workloads; "" for no objects or a resource this module does not print."""
    from kubemu.printers import tabwrite

    if not objects:
        return ""
    now = now or dt.datetime.now(dt.UTC)
    headers: list[str] = []
    wide_headers: list[str] = []
    rows: list[list[str]] = []
    for obj in objects:
        printed = workload_row(resource, obj, now)
        if printed is None:
            return ""
        headers, row, wide_headers, extra = printed
        if wide:
            row = row + extra
        if all_namespaces:
            row = [meta.namespace_of(obj), *row]
        rows.append(row)
    headers = headers + (wide_headers if wide else [])
    if all_namespaces:
        headers = ["NAMESPACE", *headers]
    text = "".join("\t".join(str(c).replace("\t", " ") for c in r) + "\n" for r in [headers, *rows])
    return tabwrite(text, minwidth=6, padding=3)
