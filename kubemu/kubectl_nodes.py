"""``kubemu kubectl`` for node maintenance: cordon, uncordon, drain, taint.

    kubemu kubectl cordon NODE                      (node/NODE cordoned)
    kubemu kubectl uncordon NODE                    (node/NODE uncordoned)
    kubemu kubectl drain NODE [--ignore-daemonsets] [--delete-emptydir-data] [--force]
                              [--grace-period N] [--timeout D] [--pod-selector SELECTOR]
    kubemu kubectl taint nodes NODE key=value:Effect key:Effect key- key:Effect- [--overwrite]

They behave and print like kubectl's. ``cordon`` sets ``spec.unschedulable`` (read, change,
update, again on Conflict); the node lifecycle controller then adds the
``node.kubernetes.io/unschedulable`` taint. ``drain`` cordons, sorts the node's pods the way
kubectl's drain filters do — mirror pods are skipped; DaemonSet pods are refused unless
``--ignore-daemonsets`` (then left alone); pods with an emptyDir are refused unless
``--delete-emptydir-data``; pods no controller owns are refused unless ``--force`` — and, when
nothing was refused, evicts the rest through the ``pods/eviction`` subresource (the apiserver's
``Evict`` RPC) and waits until each is gone (or replaced by a new pod of that name). An eviction
answered with TooManyRequests (a disruption budget) is retried every 5 seconds, as kubectl does,
until ``--timeout``. ``taint`` edits ``spec.taints`` with kubectl's rules: an existing taint of
the same key and effect is only replaced with ``--overwrite``; ``key-`` removes every taint of
that key, ``key:Effect-`` the one with that effect; the verb printed is ``tainted``,
``untainted`` or ``modified``.

Wiring: the kubectl module lists these commands in ``_EXTENSIONS``; ``register`` adds their
sub-parsers and ``run`` executes one, raising :class:`kubemu.kubectl.KubectlError` for bad
input (checked before anything is written) and letting API errors through to kubectl's printer.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field
from typing import Any, TextIO

from kubemu.kubectl_metadata import split_resources_and_pairs
from machinery import errors
from machinery.validation import is_qualified_name, is_valid_label_value

COMMANDS = ("cordon", "uncordon", "drain", "taint")
COMMAND_DEST = "kubectl_nodes_command"
MIRROR_ANNOTATION = "kubernetes.io/config.mirror"
EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
EVICTION_RETRY_S = 5.0  # kubectl's wait after a TooManyRequests eviction
DELETE_POLL_S = 1.0  # kubectl drain checks every second whether an evicted pod is gone
TAINTED, UNTAINTED, MODIFIED = "tainted", "untainted", "modified"

# kubectl's drain filter messages (k8s.io/kubectl/pkg/drain).
DAEMONSET_FATAL = "DaemonSet-managed Pods (use --ignore-daemonsets to ignore)"
DAEMONSET_WARNING = "ignoring DaemonSet-managed Pods"
LOCAL_STORAGE_FATAL = "Pods with local storage (use --delete-emptydir-data to override)"
LOCAL_STORAGE_WARNING = "deleting Pods with local storage"
# kubectl 1.32's wording: its "cannot delete %s: %s" format adds a second "cannot delete".
UNMANAGED_FATAL = "cannot delete Pods that declare no controller (use --force to override)"
UNMANAGED_WARNING = "deleting Pods that declare no controller"


# --------------------------------------------------------------------------- wiring


def register(subparsers, *, parents: tuple[argparse.ArgumentParser, ...] = ()) -> None:
    """Add ``cordon``, ``uncordon``, ``drain`` and ``taint`` to kubectl's argparse sub-parsers."""
    for verb, text in (("cordon", "Mark node as unschedulable"), ("uncordon", "Mark node as schedulable")):
        p = subparsers.add_parser(verb, parents=list(parents), help=text, description=f"{text}.",
                                  usage=f"kubemu kubectl {verb} NODE [options]")
        p.add_argument("args", nargs="*", metavar="NODE")
        p.add_argument("-l", "--selector", default="", help="the nodes to act on, by label selector")
        p.set_defaults(**{COMMAND_DEST: verb})
    drain = subparsers.add_parser(
        "drain", parents=list(parents), help="Drain node in preparation for maintenance",
        usage="kubemu kubectl drain NODE [options]",
        description="Cordon the node, then evict its pods (DaemonSet pods need --ignore-daemonsets, pods "
                    "with emptyDir volumes --delete-emptydir-data, pods without a controller --force) and "
                    "wait until they are gone.")
    drain.add_argument("args", nargs="*", metavar="NODE")
    drain.add_argument("-l", "--selector", default="", help="the nodes to drain, by label selector")
    drain.add_argument("--ignore-daemonsets", action="store_true", help="leave DaemonSet-managed pods in place")
    drain.add_argument("--delete-emptydir-data", action="store_true",
                       help="evict pods using emptyDir even though their data is lost")
    drain.add_argument("--force", action="store_true", help="also evict pods no controller manages")
    drain.add_argument("--grace-period", type=int, default=-1,
                       help="seconds each pod gets to terminate (-1: the pod's own)")
    drain.add_argument("--timeout", default="0s", help="give up after this long (0: wait forever)")
    drain.add_argument("--pod-selector", default="", help="only evict the pods matching this label selector")
    drain.set_defaults(**{COMMAND_DEST: "drain"})
    taint = subparsers.add_parser(
        "taint", parents=list(parents), help="Update the taints on one or more nodes",
        usage="kubemu kubectl taint NODE NAME KEY_1=VAL_1:TAINT_EFFECT_1 ... KEY_N=VAL_N:TAINT_EFFECT_N",
        description="Add (key=value:Effect, key:Effect) or remove (key-, key:Effect-) node taints.")
    taint.add_argument("args", nargs="*", metavar="nodes NAME TAINT")
    taint.add_argument("-l", "--selector", default="", help="the nodes to taint, by label selector")
    taint.add_argument("--all", action="store_true", help="taint every node")
    taint.add_argument("--overwrite", action="store_true", help="replace a taint of the same key and effect")
    taint.set_defaults(**{COMMAND_DEST: "taint"})


def run(args: argparse.Namespace, client: Any, *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    command = getattr(args, COMMAND_DEST)
    if command in ("cordon", "uncordon"):
        return _cordon(client, _node_names(client, args.args, args.selector, command), command == "cordon", out)
    if command == "drain":
        return _drain(client, args, out, err)
    return _taint(client, args, out)


def _error(message: str, *, raw: bool = False):
    from kubemu.kubectl import KubectlError

    return KubectlError(message, raw=raw)


def _usage_error(message: str, command: str):
    """kubectl's usage errors carry a pointer to the command's help."""
    return _error(f"{message}\nSee 'kubemu kubectl {command} -h' for help and examples")


def _node_names(client: Any, names: list[str], selector: str, verb: str) -> list[str]:
    """The nodes a cordon/uncordon/drain names, by argument or by ``-l``; checked to exist first."""
    if names and selector:
        raise _error("cannot specify both a node name and a --selector option")
    if not names and not selector:
        raise _usage_error(f"USAGE: {verb} NODE [flags]", verb)
    if selector:
        found = [n["metadata"]["name"] for n in client.list_all("nodes", label_selector=selector).items]
        if not found:
            raise _error("No resources found")
        return found
    for name in names:
        client.get("nodes", name)  # NotFound: kubectl's 'nodes "x" not found', before any change
    return list(names)


# --------------------------------------------------------------------------- cordon


def set_unschedulable(client: Any, name: str, unschedulable: bool) -> bool:
    """Set ``spec.unschedulable``; False when it already was (nothing written)."""
    changed: list[bool] = []

    def change(node: dict) -> bool:
        spec = node.setdefault("spec", {})
        if bool(spec.get("unschedulable")) == unschedulable:
            changed.clear()
            return False
        if unschedulable:
            spec["unschedulable"] = True
        else:
            spec.pop("unschedulable", None)
        changed[:] = [True]
        return True

    if client.mutate("nodes", name, "", change) is None and not changed:
        try:
            client.get("nodes", name)
        except errors.NotFound:
            raise errors.NotFound(f'nodes "{name}" not found') from None
    return bool(changed)


def _cordon(client: Any, names: list[str], unschedulable: bool, out: TextIO) -> int:
    verb = "cordoned" if unschedulable else "uncordoned"
    for name in names:
        changed = set_unschedulable(client, name, unschedulable)
        out.write(f"node/{name} {verb}\n" if changed else f"node/{name} already {verb}\n")
        out.flush()
    return 0


# --------------------------------------------------------------------------- drain


@dataclass
class DrainPlan:
    """What drain would do with a node's pods: evict ``evict``; ``warnings`` and ``fatal`` map
    kubectl's message to the ``namespace/name`` of the pods it concerns."""

    evict: list[dict] = field(default_factory=list)
    warnings: dict[str, list[str]] = field(default_factory=dict)
    fatal: dict[str, list[str]] = field(default_factory=dict)

    def errors(self) -> list[str]:
        return [f"cannot delete {message}: {', '.join(pods)}" for message, pods in self.fatal.items()]

    def warning(self) -> str:
        return "; ".join(f"{message}: {', '.join(pods)}" for message, pods in self.warnings.items())


def _controller(pod: dict) -> dict | None:
    return next((ref for ref in (pod.get("metadata") or {}).get("ownerReferences") or []
                 if isinstance(ref, dict) and ref.get("controller")), None)


def _finished(pod: dict) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


def plan_drain(client: Any, pods: list[dict], *, ignore_daemonsets: bool, delete_emptydir_data: bool,
               force: bool) -> DrainPlan:
    """Run kubectl's drain filters over ``pods``, in its order: DaemonSet, mirror, local storage,
    unreplicated. A filter that keeps the pod (or refuses it) ends the run; otherwise the last
    filter's word counts — so, as in kubectl, a pod with an emptyDir that a controller owns is
    evicted without the local-storage warning."""
    plan = DrainPlan()
    filters = (lambda p: _daemonset_filter(client, p, ignore_daemonsets, force), _mirror_filter,
               lambda p: _local_storage_filter(p, delete_emptydir_data), lambda p: _unreplicated_filter(p, force))
    for pod in pods:
        meta = pod.get("metadata") or {}
        ref = f"{meta.get('namespace', '')}/{meta.get('name', '')}"
        delete, warning, fatal = OKAY
        for check in filters:
            delete, warning, fatal = check(pod)
            if not delete:
                break
        if fatal:
            plan.fatal.setdefault(fatal, []).append(ref)
            continue
        if warning:
            plan.warnings.setdefault(warning, []).append(ref)
        if delete:
            plan.evict.append(pod)
    return plan


OKAY = (True, "", "")  # (evict it, the warning, the refusal)


def _mirror_filter(pod: dict) -> tuple[bool, str, str]:
    # Mirror pods (of a kubelet's static pods) cannot be deleted through the API: skipped silently.
    return (False, "", "") if MIRROR_ANNOTATION in ((pod.get("metadata") or {}).get("annotations") or {}) else OKAY


def _local_storage_filter(pod: dict, delete_emptydir_data: bool) -> tuple[bool, str, str]:
    volumes = (pod.get("spec") or {}).get("volumes") or []
    if _finished(pod) or not any(isinstance(v, dict) and "emptyDir" in v for v in volumes):
        return OKAY
    return (True, LOCAL_STORAGE_WARNING, "") if delete_emptydir_data else (False, "", LOCAL_STORAGE_FATAL)


def _unreplicated_filter(pod: dict, force: bool) -> tuple[bool, str, str]:
    if _finished(pod) or _controller(pod) is not None:
        return OKAY
    return (True, UNMANAGED_WARNING, "") if force else (False, "", UNMANAGED_FATAL)


def _daemonset_filter(client: Any, pod: dict, ignore: bool, force: bool) -> tuple[bool, str, str]:
    ref = _controller(pod)
    if ref is None or ref.get("kind") != "DaemonSet" or _finished(pod):
        return OKAY
    namespace = (pod.get("metadata") or {}).get("namespace", "")
    try:
        client.get("daemonsets", ref.get("name", ""), namespace)
    except errors.NotFound as e:  # an orphan: only --force removes it
        return (True, e.message, "") if force else (False, "", e.message)
    if not ignore:
        return False, "", DAEMONSET_FATAL
    return False, DAEMONSET_WARNING, ""


def _go_duration(seconds: float) -> str:
    """Go's ``time.Duration`` text, as kubectl prints its timeouts: ``30s``, ``1m30s``, ``2m0s``."""
    if seconds < 1:
        return f"{round(seconds * 1000)}ms" if seconds else "0s"
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    frac = seconds - whole
    sec_text = f"{secs + frac:g}s"
    if hours:
        return f"{hours}h{minutes}m{sec_text}"
    if minutes:
        return f"{minutes}m{sec_text}"
    return sec_text


def _drain(client: Any, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from kubemu.kubectl import parse_duration

    timeout_s = parse_duration(args.timeout)
    if args.pod_selector:
        from machinery.labels import parse_selector

        try:
            parse_selector(args.pod_selector)
        except ValueError as e:
            raise _error(f"invalid --pod-selector: {e}") from None
    names = _node_names(client, args.args, args.selector, "drain")
    grace = args.grace_period if args.grace_period >= 0 else None
    for i, name in enumerate(names):
        changed = set_unschedulable(client, name, True)
        _say(out, f"node/{name} cordoned" if changed else f"node/{name} already cordoned")
        failure = _drain_node(client, name, args, grace, timeout_s, out, err)
        if failure is not None:
            _say(err, f"error: unable to drain node \"{name}\" due to error: {failure[0]}, continuing command...")
            _say(err, "There are pending nodes to be drained:")
            for pending in names[i:]:
                _say(err, f" {pending}")
            _say(err, "\n".join(failure[1]))  # the errors again, as Go's aggregate prints them
            return 1
        _say(out, f"node/{name} drained")
    return 0


def _say(stream: TextIO, text: str) -> None:
    stream.write(text + "\n")
    stream.flush()


def _aggregate(messages: list[str]) -> str:
    """How Go's error aggregate reads: the one message, or ``[a, b]``."""
    return messages[0] if len(messages) == 1 else f"[{', '.join(messages)}]"


def _drain_node(client: Any, node: str, args: argparse.Namespace, grace: int | None, timeout_s: float,
                out: TextIO, err: TextIO) -> tuple[str, list[str]] | None:
    """Evict the node's pods; None when done, else (the error for the first line, the error lines)."""
    pods = client.list_all("pods", "", field_selector=f"spec.nodeName={node}",
                           label_selector=args.pod_selector).items
    plan = plan_drain(client, pods, ignore_daemonsets=args.ignore_daemonsets,
                      delete_emptydir_data=args.delete_emptydir_data, force=args.force)
    problems = plan.errors()
    if problems:
        return _aggregate(problems), problems
    if plan.warnings:
        _say(err, f"Warning: {plan.warning()}")
    deadline = time.monotonic() + timeout_s if timeout_s else None
    timed_out = f"drain did not complete within {_go_duration(timeout_s)}"
    pending: list[tuple[str, str, str]] = []  # namespace, name, uid
    failures: list[str] = []
    for pod in plan.evict:
        meta = pod["metadata"]
        namespace, name = meta.get("namespace", ""), meta["name"]
        _say(out, f"evicting pod {namespace}/{name}")
        while True:
            try:
                client.evict(namespace, name, grace_period_s=grace)
            except errors.NotFound:
                break
            except errors.APIError as e:
                if isinstance(e, errors.TooManyRequests):  # a disruption budget said not now
                    _say(err, f'error when evicting pods/"{name}" -n "{namespace}" (will retry after 5s): '
                              f"{e.message}")
                    if deadline is not None and time.monotonic() + EVICTION_RETRY_S > deadline:
                        return timed_out, [timed_out]
                    time.sleep(EVICTION_RETRY_S)
                    continue
                if isinstance(e, errors.Unavailable):
                    raise
                failures.append(f'error when evicting pods/"{name}" -n "{namespace}": {e.message}')
                break
            pending.append((namespace, name, meta.get("uid", "")))
            break
    while pending:
        still = []
        for namespace, name, uid in pending:
            try:
                current = client.get("pods", name, namespace)
            except errors.NotFound:
                current = None
            if current is None or (uid and (current.get("metadata") or {}).get("uid") != uid):
                _say(out, f"pod/{name} evicted")
            else:
                still.append((namespace, name, uid))
        pending = still
        if not pending:
            break
        if deadline is not None and time.monotonic() >= deadline:
            return timed_out, [timed_out]
        time.sleep(DELETE_POLL_S if deadline is None else max(0.0, min(DELETE_POLL_S, deadline - time.monotonic())))
    if failures:
        return _aggregate(failures), failures
    return None


# --------------------------------------------------------------------------- taint


@dataclass(frozen=True)
class Taint:
    key: str
    value: str = ""
    effect: str = ""

    def text(self) -> str:
        """kubectl's ``Taint.ToString``: ``key=value:effect``, ``key:effect``, ``key``."""
        if not self.effect:
            return f"{self.key}={self.value}:" if self.value else self.key
        return f"{self.key}={self.value}:{self.effect}" if self.value else f"{self.key}:{self.effect}"

    def go_text(self) -> str:
        """How Go's ``%v`` prints the struct (kubectl's duplicate-taint message)."""
        return f"{{{self.key} {self.value} {self.effect} <nil>}}"

    def as_dict(self) -> dict:
        out = {"key": self.key, "effect": self.effect}
        if self.value:
            out["value"] = self.value
        return out


def _check_effect(effect: str) -> None:
    if effect not in EFFECTS:
        raise _usage_error(f"invalid taint effect: {effect}, unsupported taint effect", "taint")


def parse_taint(spec: str) -> Taint:
    """``key=value:Effect`` / ``key:Effect`` / ``key`` → Taint, with kubectl's checks and messages."""
    parts = spec.split(":")
    value, effect = "", ""
    if len(parts) == 1:
        key = parts[0]
    elif len(parts) == 2:
        effect = parts[1]
        _check_effect(effect)
        key_value = parts[0].split("=")
        if len(key_value) > 2:
            raise _usage_error(f"invalid taint spec: {spec}", "taint")
        key = key_value[0]
        if len(key_value) == 2:
            value = key_value[1]
            problems = is_valid_label_value(value)
            if problems:
                raise _usage_error(f"invalid taint spec: {spec}, {'; '.join(problems)}", "taint")
    else:
        raise _usage_error(f"invalid taint spec: {spec}", "taint")
    problems = is_qualified_name(key)
    if problems:
        raise _usage_error(f"invalid taint spec: {spec}, {'; '.join(problems)}", "taint")
    return Taint(key, value, effect)


def parse_taints(specs: list[str]) -> tuple[list[Taint], list[Taint]]:
    """The taints to add and to remove (``key-``, ``key:Effect-``)."""
    add: list[Taint] = []
    remove: list[Taint] = []
    seen: set[tuple[str, str]] = set()
    for spec in specs:
        if spec.endswith("-"):
            key, _, effect = spec[:-1].partition(":")
            if effect:
                _check_effect(effect)
            remove.append(Taint(key, "", effect))
            continue
        taint = parse_taint(spec)
        if not taint.effect:
            raise _usage_error(f"unknown taint spec: {spec}", "taint")
        if (taint.key, taint.effect) in seen:
            raise _usage_error(f"duplicated taints with the same key and effect: {taint.go_text()}", "taint")
        seen.add((taint.key, taint.effect))
        add.append(taint)
    return add, remove


def _is_taint_change(arg: str) -> bool:
    """A taint change: anything with ``=``, ``:`` or a final ``-``."""
    return "=" in arg or ":" in arg or arg.endswith("-")


def reorganize_taints(old: list[dict], overwrite: bool, add: list[Taint], remove: list[Taint]
                      ) -> tuple[str, list[dict]]:
    """The node's new taints and kubectl's verb for the change; a removal that matches nothing fails."""
    new = [t.as_dict() for t in add]
    for taint in old:
        if not any(t.get("key") == taint.get("key") and t.get("effect") == taint.get("effect") for t in new):
            new.append(taint)
    added = len(old) != len(new)
    missing: list[str] = []
    deleted = False
    for taint in remove:
        kept = [t for t in new if not (t.get("key") == taint.key and (not taint.effect or
                                                                       t.get("effect") == taint.effect))]
        deleted = len(kept) != len(new)
        if not deleted:
            missing.append(f'taint "{taint.text()}" not found')
        new = kept
    if missing:
        raise _error(_aggregate(missing))
    if (added and deleted) or overwrite:
        return MODIFIED, new
    return (TAINTED if added else UNTAINTED), new


def _taint(client: Any, args: argparse.Namespace, out: TextIO) -> int:
    resources, specs = split_resources_and_pairs(args.args, "taint", _is_taint_change)
    add, remove = parse_taints(specs)
    if not resources:
        raise _error("one or more resources must be specified as <resource> <name>")
    if not specs:
        raise _error("at least one taint update is required")
    conflicts = [f"{r.key}={r.effect}" for a in add for r in remove
                 if a.key == r.key and (not r.effect or a.effect == r.effect)]
    if conflicts:
        raise _error(f"can not both modify and remove the following taint(s) in the same command: "
                     f"{', '.join(conflicts)}")
    names = _taint_targets(client, resources, args)
    for name in names:
        verb_box: list[str] = []

        def change(node: dict, name: str = name, verb_box: list[str] = verb_box) -> bool:
            spec = node.setdefault("spec", {})
            old = [t for t in spec.get("taints") or [] if isinstance(t, dict)]
            if not args.overwrite:
                existing = [t.key for t in add for o in old if o.get("key") == t.key and o.get("effect") == t.effect]
                if existing:
                    raise _error(f"node {name} already has {','.join(existing)} taint(s) with same effect(s) "
                                 f"and --overwrite is false")
            verb, new = reorganize_taints(old, args.overwrite, add, remove)
            verb_box[:] = [verb]
            if new == old:
                return False
            if new:
                spec["taints"] = new
            else:
                spec.pop("taints", None)
            return True

        if client.mutate("nodes", name, "", change) is None and not verb_box:
            raise errors.NotFound(f'nodes "{name}" not found')
        _say(out, f"node/{name} {verb_box[0]}")
    return 0


def _taint_targets(client: Any, resources: list[str], args: argparse.Namespace) -> list[str]:
    """Node names from ``nodes NAME...``, or ``nodes`` with ``--all`` / ``-l``. As in kubectl, the
    first argument is always the type (``node/NAME`` is not taken)."""
    _check_node_type(resources[0])
    names = resources[1:]
    if not names:
        if not (args.all or args.selector):
            raise _error("at least one resource name must be specified since 'all' parameter is not set")
        names = [n["metadata"]["name"] for n in client.list_all("nodes", label_selector=args.selector).items]
        if not names:
            raise _error("No resources found")
    for name in names:
        client.get("nodes", name)  # NotFound before anything is written
    return names


def _check_node_type(kind: str) -> None:
    from machinery.resources import UnknownResource, lookup

    try:
        info = lookup(kind)
    except UnknownResource:
        raise _error(f'the server doesn\'t have a resource type "{kind}"', raw=True) from None
    if info.name != "nodes":
        raise _error(f"invalid resource type {info.name}, only node types are supported")
