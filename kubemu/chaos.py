"""Fault injection: ``kubemu chaos kill|stop|pause|resume|restart TARGET [--for DURATION]``.

Targets name components of a local cluster (the supervisor's ``state.json``): ``etcd``,
``etcd-N``, ``apiserver``, ``apiserver-N``, ``scheduler``, ``controller-manager``, their
``-N`` replicas, ``kubelet NODE`` (or just the node name), or ``leader scheduler`` /
``leader controller-manager`` (whichever replica holds the leader-election Lease). A plain kind
(``etcd``, ``scheduler``) with several replicas means all of them.

Verbs: ``kill`` = SIGKILL, ``stop`` = SIGTERM (waits for the exit), ``pause``/``resume`` =
SIGSTOP/SIGCONT, ``restart`` = stop then start again. With ``--for DURATION``, kill/stop/pause
are undone after that long (the command waits, showing the countdown). Starting again goes
through the supervisor (``control/`` request + SIGUSR1), so it also works with
``--restart-policy never``, which otherwise keeps killed components down so experiments see
real outages. Only the component process itself is signalled: a killed kubelet leaves its
containers running, as a crashed kubelet does.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass

import psutil

from kubemu import cluster
from kubemu.cluster import ClusterDir, process_alive

VERBS = ("kill", "stop", "pause", "resume", "restart")
LEASES = {"scheduler": "kube-scheduler", "controller-manager": "kube-controller-manager"}


class ChaosError(Exception):
    """The target cannot be resolved or the action cannot be done; the message says why."""


@dataclass(frozen=True)
class Target:
    name: str
    kind: str
    pid: int
    create_time: float | None


def parse_duration(text: str) -> float:
    """``30s``, ``2m``, ``1m30s``, ``500ms`` or plain seconds."""
    text = text.strip()
    try:
        return float(text)
    except ValueError:
        pass
    total, number = 0.0, ""
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    i = 0
    while i < len(text):
        ch = text[i]
        if ch.isdigit() or ch == ".":
            number += ch
            i += 1
            continue
        unit = "ms" if text[i:i + 2] == "ms" else ch
        if unit not in units or not number:
            raise ChaosError(f'invalid duration "{text}" (examples: 30s, 2m, 1m30s, 500ms)')
        total += float(number) * units[unit]
        number = ""
        i += len(unit)
    if number:
        raise ChaosError(f'invalid duration "{text}": missing unit')
    return total


def leader_of(cdir: ClusterDir, kind: str) -> str:
    """The component name holding ``kind``'s leader-election Lease (replicas run with --identity NAME)."""
    from machinery import errors

    client = cdir.api_client(retry_timeout_s=2.0, request_timeout_s=3.0)
    try:
        lease = client.get("leases", LEASES[kind], "kube-system")
    except errors.APIError as e:
        raise ChaosError(f"cannot read the {kind} leader lease: {e}") from None
    finally:
        client.close()
    holder = (lease.get("spec") or {}).get("holderIdentity") or ""
    if not holder:
        raise ChaosError(f"no {kind} holds the lease right now")
    return holder


def resolve(cdir: ClusterDir, words: list[str]) -> list[Target]:
    state = cdir.read_state()
    if not state:
        raise ChaosError(f"no cluster in {cdir.path} (start one with kubemu up)")
    comps = state.get("components", [])
    if not words:
        raise ChaosError("a target is required: etcd, apiserver, scheduler, controller-manager, "
                         "kubelet NODE, or leader scheduler|controller-manager")
    if words[0] == "leader":
        if len(words) != 2 or words[1] not in LEASES:
            raise ChaosError("usage: leader scheduler|controller-manager")
        names = {leader_of(cdir, words[1])}
    elif words[0] == "kubelet":
        if len(words) != 2:
            raise ChaosError("usage: kubelet NODE")
        names = {c["name"] for c in comps if c.get("kind") == "kubelet" and c.get("node", c["name"]) == words[1]}
        if not names:
            raise ChaosError(f'no kubelet for node "{words[1]}"')
    else:
        if len(words) != 1:
            raise ChaosError(f"unexpected words after the target: {' '.join(words[1:])}")
        word = words[0]
        names = {c["name"] for c in comps if c["name"] == word or (c.get("kind") == word and word != "kubelet")}
        if not names:
            known = ", ".join(c["name"] for c in comps)
            raise ChaosError(f'no component "{word}" (components: {known})')
    return [Target(c["name"], c.get("kind", ""), c.get("pid") or 0, c.get("createTime"))
            for c in comps if c["name"] in names]


def _alive(t: Target) -> bool:
    return bool(t.pid) and process_alive(t.pid, t.create_time)


def _signal(t: Target, sig: int) -> None:
    if not _alive(t):
        raise ChaosError(f"{t.name} is not running")
    os.kill(t.pid, sig)


def _wait_gone(t: Target, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if psutil.Process(t.pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        if not _alive(t):
            return True
        time.sleep(0.05)
    return False


def wait_running(cdir: ClusterDir, name: str, timeout_s: float = 30.0) -> bool:
    """Until the supervisor reports ``name`` with a new live process."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        comp = next((c for c in (cdir.read_state() or {}).get("components", []) if c["name"] == name), None)
        if comp and comp.get("status") in (cluster.STARTING, cluster.RUNNING) and \
                process_alive(comp.get("pid"), comp.get("createTime")):
            return True
        time.sleep(0.1)
    return False


def act(cdir: ClusterDir, verb: str, targets: list[Target], *, say=print) -> None:
    """Apply ``verb`` to every target."""
    for t in targets:
        if verb == "kill":
            _signal(t, signal.SIGKILL)
            _wait_gone(t, 5)
            say(f"killed {t.name} (pid {t.pid}, SIGKILL)")
        elif verb == "stop":
            _signal(t, signal.SIGTERM)
            if not _wait_gone(t, 15):
                os.kill(t.pid, signal.SIGKILL)
                _wait_gone(t, 5)
            say(f"stopped {t.name} (pid {t.pid}, SIGTERM)")
        elif verb == "pause":
            _signal(t, signal.SIGSTOP)
            say(f"paused {t.name} (pid {t.pid}, SIGSTOP)")
        elif verb == "resume":
            _signal(t, signal.SIGCONT)
            say(f"resumed {t.name} (pid {t.pid}, SIGCONT)")
        elif verb == "restart":
            if _alive(t):
                act(cdir, "stop", [t], say=lambda _msg: None)
            start(cdir, t, say=say)
        else:
            raise ChaosError(f"unknown verb {verb}: one of {', '.join(VERBS)}")


def start(cdir: ClusterDir, t: Target, *, say=print) -> None:
    if not cdir.supervisor_pid():
        raise ChaosError("the supervisor is not running: cannot start components again")
    cdir.request_start(t.name)
    if not wait_running(cdir, t.name):
        raise ChaosError(f"{t.name} did not start again within 30s (see its log)")
    say(f"started {t.name} again")


def undo(cdir: ClusterDir, verb: str, targets: list[Target], *, say=print) -> None:
    """Restore what ``verb`` did: resume paused targets, start killed or stopped ones."""
    for t in targets:
        if verb == "pause":
            if _alive(t):
                os.kill(t.pid, signal.SIGCONT)
                say(f"resumed {t.name}")
        elif verb in ("kill", "stop"):
            start(cdir, t, say=say)


def run(cdir: ClusterDir, verb: str, words: list[str], *, duration: str = "", say=print) -> int:
    if verb not in VERBS:
        raise ChaosError(f"unknown verb {verb}: one of {', '.join(VERBS)}")
    targets = resolve(cdir, words)
    act(cdir, verb, targets, say=say)
    if duration:
        if verb not in ("kill", "stop", "pause"):
            raise ChaosError("--for applies to kill, stop and pause")
        seconds = parse_duration(duration)
        say(f"restoring in {seconds:g}s ...")
        try:
            time.sleep(seconds)
        finally:
            undo(cdir, verb, targets, say=say)
    return 0
