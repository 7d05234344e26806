"""Fault injection: ``kubemu chaos kill|stop|pause|resume|restart|start TARGET [--for DURATION]``.

Targets name components of a local cluster (the supervisor's ``state.json``): ``etcd``,
``etcd-N``, ``apiserver``, ``apiserver-N``, ``scheduler``, ``controller-manager``, their
``-N`` replicas, ``kubelet NODE`` (or just the node name), ``kube-proxy NODE`` (``kube-proxy``
alone: every node's), or ``leader scheduler`` /
``leader controller-manager`` (whichever replica holds the leader-election Lease). A plain kind
(``etcd``, ``scheduler``) with several replicas means all of them.

Verbs: ``kill`` = SIGKILL, ``stop`` = SIGTERM (waits for the exit), ``pause``/``resume`` =
SIGSTOP/SIGCONT, ``restart`` = stop then start again, ``start`` = start again what a kill or stop left
down (nothing for a target that runs). With ``--for DURATION``, kill/stop/pause
are undone after that long (the command waits, showing the countdown). Starting again goes
through the supervisor (``control/`` request + SIGUSR1), so it also works with
``--restart-policy never``, which otherwise keeps killed components down so experiments see
real outages. Only the component process itself is signalled: a killed kubelet leaves its
containers running, as a crashed kubelet does.

Network faults (clusters started with ``kubemu up --netns``, see :mod:`kubemu.netns`):
``partition kubelet NODE`` pulls the node's cable (its host-side veth goes down),
``delay kubelet NODE 200ms [--jitter 50ms]`` and ``loss kubelet NODE 20%`` attach a tc netem
qdisc to both ends of the node's veth pair (so each direction gets the delay or loss: a round
trip gains twice the delay), and ``heal-network kubelet NODE`` (or ``heal``) removes every
qdisc and brings the links up. Delay and loss combine; the current faults of each node are kept
in ``network-faults.json``. ``--for`` undoes a partition, delay or loss after that long.

Compose stacks (``--compose``): the same six verbs through ``docker compose`` (or
``docker-compose``) on a service, or on the kubelet container whose hostname is NODE.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass

import psutil

from kubemu import cluster
from kubemu.cluster import ClusterDir, process_alive

VERBS = ("kill", "stop", "pause", "resume", "restart", "start")
NETWORK_VERBS = ("partition", "delay", "loss", "heal-network", "heal")
ALL_VERBS = VERBS + NETWORK_VERBS
NETWORK_FAULTS = "network-faults.json"  # = kubemu.netns.FAULTS
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
    elif words[0] in ("kubelet", "kube-proxy") and len(words) == 2 or words[0] == "kubelet":
        if len(words) != 2:
            raise ChaosError("usage: kubelet NODE")
        names = {c["name"] for c in comps if c.get("kind") == words[0] and c.get("node", c["name"]) == words[1]}
        if not names:
            raise ChaosError(f'no {words[0]} for node "{words[1]}"')
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
        elif verb == "start":
            if _alive(t):
                say(f"{t.name} is running (pid {t.pid})")
            else:
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


# --------------------------------------------------------------------------- network faults (--netns clusters)


def _network_node(words: list[str], verb: str, value: bool) -> tuple[str, str]:
    """``(node, value)`` from ``kubelet NODE [VALUE]`` or ``NODE [VALUE]``."""
    rest = words[1:] if words and words[0] == "kubelet" else list(words)
    wanted = 2 if value else 1
    if len(rest) != wanted:
        example = {"delay": " 200ms", "loss": " 20%"}.get(verb, "")
        raise ChaosError(f"usage: kubemu chaos {verb} kubelet NODE{example}")
    return rest[0], rest[1] if value else ""


def parse_loss(text: str) -> float:
    try:
        pct = float(text.strip().rstrip("%"))
    except ValueError:
        raise ChaosError(f'invalid loss "{text}" (examples: 20%, 5.5%)') from None
    if not 0 < pct <= 100:
        raise ChaosError(f'loss must be between 0% and 100%, got "{text}"')
    return pct


def netem_args(fault: dict) -> list[str]:
    """tc netem parameters for a node's current faults, e.g. ``["delay", "200ms", "50ms", "loss", "20%"]``."""
    out: list[str] = []
    if fault.get("delayMs"):
        out += ["delay", f"{fault['delayMs']:g}ms"]
        if fault.get("jitterMs"):
            out += [f"{fault['jitterMs']:g}ms"]
    if fault.get("lossPct"):
        out += ["loss", f"{fault['lossPct']:g}%"]
    return out


def _read_faults(cdir: ClusterDir) -> dict:
    try:
        with open(os.path.join(cdir.path, NETWORK_FAULTS)) as f:
            data = json.load(f)
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_faults(cdir: ClusterDir, faults: dict) -> None:
    cluster.atomic_write(os.path.join(cdir.path, NETWORK_FAULTS),
                         json.dumps({k: v for k, v in faults.items() if v}, indent=2) + "\n")


LOSS_CHAIN = "KUBEMU-LOSS"
NO_NETEM = ("this kernel has no netem qdisc (CONFIG_NET_SCH_NETEM / sch_netem module), which delay needs; "
            "loss still works (through iptables in the node's namespace)")


def _apply_netem(link: dict, fault: dict) -> str:
    """Set the node's delay/loss on both ends of its veth pair; how (``tc netem``, ``iptables`` or ``none``).

    tc netem on the host-side veth (traffic to the node) and on the namespace's eth0 (traffic
    from it). Kernels without netem get loss from an iptables ``statistic`` rule in the node's
    own namespace (INPUT and OUTPUT of eth0, so both directions), and no delay.
    """
    from kubemu import netns

    params = netem_args(fault)
    _clear_iptables_loss(link)
    ends = ((link["veth"], ""), (netns.NS_IFACE, link["namespace"]))
    if not params:
        for dev, namespace in ends:
            netns.tc("qdisc", "del", "dev", dev, "root", namespace=namespace, check=False)
        return "none"
    try:
        for dev, namespace in ends:
            netns.tc("qdisc", "replace", "dev", dev, "root", "netem", *params, namespace=namespace)
        return "tc netem"
    except netns.NetnsError as e:
        if "unknown" not in str(e).lower():
            raise
    if fault.get("delayMs"):
        raise ChaosError(NO_NETEM)
    _iptables_loss(link, fault["lossPct"])
    return "iptables statistic"


def _iptables(link: dict, *args: str, check: bool = True):
    from kubemu import netns

    return netns._run(["ip", "netns", "exec", link["namespace"], "iptables", "-w", *args], check=check)


def _iptables_loss(link: dict, pct: float) -> None:
    from kubemu import netns

    _iptables(link, "-N", LOSS_CHAIN, check=False)
    _iptables(link, "-F", LOSS_CHAIN)
    _iptables(link, "-A", LOSS_CHAIN, "-m", "statistic", "--mode", "random", "--probability", f"{pct / 100:.4f}",
              "-j", "DROP")
    for chain, flag in (("INPUT", "-i"), ("OUTPUT", "-o")):
        rule = [chain, flag, netns.NS_IFACE, "-j", LOSS_CHAIN]
        if _iptables(link, "-C", *rule, check=False).returncode != 0:
            _iptables(link, "-I", *rule)


def _clear_iptables_loss(link: dict) -> None:
    _iptables(link, "-F", LOSS_CHAIN, check=False)


def _set_partition(link: dict, partitioned: bool) -> None:
    from kubemu import netns

    netns.ip("link", "set", link["veth"], "down" if partitioned else "up")
    if not partitioned:
        netns.ip("-n", link["namespace"], "link", "set", netns.NS_IFACE, "up", check=False)


def _describe(fault: dict) -> str:
    parts = []
    if fault.get("partitioned"):
        parts.append("partitioned")
    if fault.get("delayMs"):
        jitter = f" ± {fault['jitterMs']:g}ms" if fault.get("jitterMs") else ""
        parts.append(f"delay {fault['delayMs']:g}ms{jitter} each way")
    if fault.get("lossPct"):
        parts.append(f"loss {fault['lossPct']:g}% each way")
    return ", ".join(parts) or "no fault"


def network(cdir: ClusterDir, verb: str, words: list[str], *, duration: str = "", jitter: str = "",
            say=print) -> int:
    """``partition``/``delay``/``loss``/``heal-network`` on a node of a ``kubemu up --netns`` cluster."""
    from kubemu import netns

    if verb == "heal":
        verb = "heal-network"
    if jitter and verb != "delay":
        raise ChaosError("--jitter applies to delay")
    if duration and verb == "heal-network":
        raise ChaosError("--for applies to partition, delay and loss")
    node, value = _network_node(words, verb, verb in ("delay", "loss"))
    try:
        link = netns.node_link(cdir, node)
    except netns.NetnsError as e:
        raise ChaosError(str(e)) from None
    faults = _read_faults(cdir)
    fault = dict(faults.get(node) or {})
    try:
        if verb == "partition":
            _set_partition(link, True)
            fault["partitioned"] = True
            say(f"partitioned {node}: {link['veth']} is down ({link['namespace']}, {link['ip']} unreachable)")
        elif verb == "delay":
            fault["delayMs"] = parse_duration(value) * 1000
            fault["jitterMs"] = parse_duration(jitter) * 1000 if jitter else 0
            if fault["delayMs"] <= 0:
                raise ChaosError("the delay must be positive")
            how = _apply_netem(link, fault)
            say(f"{node}: {_describe(fault)} ({how} on {link['veth']} and {link['namespace']}/{netns.NS_IFACE})")
        elif verb == "loss":
            fault["lossPct"] = parse_loss(value)
            how = _apply_netem(link, fault)
            say(f"{node}: {_describe(fault)} ({how} on {link['veth']} and {link['namespace']}/{netns.NS_IFACE})")
        else:
            _apply_netem(link, {})
            _set_partition(link, False)
            fault = {}
            say(f"healed the network of {node}: qdiscs removed, links up")
    except netns.NetnsError as e:
        raise ChaosError(str(e)) from None
    faults[node] = fault
    _write_faults(cdir, faults)
    if duration:
        seconds = parse_duration(duration)
        say(f"restoring in {seconds:g}s ...")
        try:
            time.sleep(seconds)
        finally:
            _undo_network(cdir, verb, node, link, say=say)
    return 0


def _undo_network(cdir: ClusterDir, verb: str, node: str, link: dict, *, say=print) -> None:
    from kubemu import netns

    faults = _read_faults(cdir)
    fault = dict(faults.get(node) or {})
    try:
        if verb == "partition":
            fault.pop("partitioned", None)
            _set_partition(link, False)
        else:
            for key in (("delayMs", "jitterMs") if verb == "delay" else ("lossPct",)):
                fault.pop(key, None)
            _apply_netem(link, fault)
    except netns.NetnsError as e:
        raise ChaosError(str(e)) from None
    faults[node] = fault
    _write_faults(cdir, faults)
    say(f"{node}: {verb} undone ({_describe(fault)})")


# --------------------------------------------------------------------------- compose stacks


COMPOSE_VERBS = {"kill": "kill", "stop": "stop", "pause": "pause", "resume": "unpause", "restart": "restart",
                 "start": "start"}
COMPOSE_UNDO = {"kill": "start", "stop": "start", "pause": "unpause"}
Runner = Callable[[list[str]], subprocess.CompletedProcess]


def run_command(cmd: list[str]) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    except FileNotFoundError as e:
        return subprocess.CompletedProcess(cmd, 127, "", str(e))
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(cmd, 124, "", f"{' '.join(cmd)} timed out")


def compose_binary(runner: Runner = run_command) -> list[str]:
    """``["docker", "compose"]`` (Compose v2) or ``["docker-compose"]``, whichever works here."""
    if runner(["docker", "compose", "version"]).returncode == 0:
        return ["docker", "compose"]
    if runner(["docker-compose", "version"]).returncode == 0:
        return ["docker-compose"]
    raise ChaosError("neither `docker compose` nor `docker-compose` works here (install Docker Compose)")


def default_project_name(file: str = "") -> str:
    """The project name Compose would use: $COMPOSE_PROJECT_NAME, else the compose file's directory name."""
    name = os.environ.get("COMPOSE_PROJECT_NAME") or \
        os.path.basename(os.path.dirname(os.path.abspath(file)) if file else os.getcwd())
    return re.sub(r"[^a-z0-9_-]", "", name.lower())


class Compose:
    """The chaos verbs on a docker compose stack, through ``runner`` (a fake one in tests)."""

    def __init__(self, project: str = "", file: str = "", runner: Runner = run_command, say=print):
        self.project, self.file, self.runner, self.say = project, file, runner, say
        self._base: list[str] | None = None

    def _run(self, cmd: list[str]) -> str:
        done = self.runner(cmd)
        if done.returncode != 0:
            detail = (done.stderr or done.stdout or "").strip()
            raise ChaosError(f"{' '.join(cmd)} failed (exit {done.returncode}){': ' + detail if detail else ''}")
        return done.stdout or ""

    def compose(self, *args: str) -> list[str]:
        if self._base is None:
            self._base = compose_binary(self.runner)
        opts = (["-p", self.project] if self.project else []) + (["-f", self.file] if self.file else [])
        return [*self._base, *opts, *args]

    def kubelet_container(self, node: str) -> str:
        """The id of the kubelet container whose hostname is ``node``."""
        project = self.project or default_project_name(self.file)
        ids = self._run(["docker", "ps", "-a", "-q", "--filter", f"label=com.docker.compose.project={project}",
                         "--filter", "label=com.docker.compose.service=kubelet"]).split()
        if not ids:
            raise ChaosError(f'no kubelet container in compose project "{project}" (give --project-name?)')
        hostnames = self._run(["docker", "inspect", "-f", "{{.Config.Hostname}}", *ids]).split()
        for cid, hostname in zip(ids, hostnames, strict=False):
            if hostname == node:
                return cid
        raise ChaosError(f'no kubelet container with hostname "{node}" in project "{project}" '
                         f'(hostnames: {", ".join(hostnames)})')

    def commands(self, verb: str, words: list[str], *, undo: bool = False) -> list[str]:
        """The command line acting out ``verb`` (or undoing it) on ``SERVICE`` or ``kubelet NODE``."""
        if verb not in COMPOSE_VERBS:
            raise ChaosError(f"on a compose stack the verbs are {', '.join(COMPOSE_VERBS)}")
        action = COMPOSE_UNDO[verb] if undo else COMPOSE_VERBS[verb]
        if len(words) == 2 and words[0] == "kubelet":
            return ["docker", action, self.kubelet_container(words[1])]
        if len(words) != 1:
            raise ChaosError("usage: kubemu chaos --compose VERB SERVICE|kubelet NODE")
        return self.compose(action, words[0])

    def run(self, verb: str, words: list[str], *, duration: str = "") -> int:
        if duration and verb not in COMPOSE_UNDO:
            raise ChaosError("--for applies to kill, stop and pause")
        seconds = parse_duration(duration) if duration else 0.0
        cmd = self.commands(verb, words)
        self._run(cmd)
        self.say(f"{' '.join(cmd)}: done")
        if duration:
            self.say(f"restoring in {seconds:g}s ...")
            try:
                time.sleep(seconds)
            finally:
                undo = cmd[:-2] + [COMPOSE_UNDO[verb], cmd[-1]]
                self._run(undo)
                self.say(f"{' '.join(undo)}: done")
        return 0
