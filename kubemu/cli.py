"""``kubemu``: start, inspect and stop a local cluster, and talk to it like kubectl.

    kubemu up [--nodes 3] [--ports default|auto] [--restart-policy never|always] [--timeout 120]
    kubemu status
    kubemu kubectl get pods -A
    kubemu trace pod NAME [--html trace.html]
    kubemu down
    kubemu bench pod-startup|scheduler-throughput|density|watch-fanout|etcd-baseline|all

Every command takes ``--cluster-dir DIR`` (default ``$KUBEMU_CLUSTER_DIR`` or
``~/.kubemu/clusters/default``; see :mod:`kubemu.cluster`), before or after the command name.

``up`` writes the plan, starts the supervisor (:mod:`kubemu.supervisor`) detached and follows the
start-up through state.json, gRPC health checks and the API's Node objects, printing one line per
component and node that comes up. It returns 0 once every node is Ready; if a component dies or
the timeout passes first, it prints the end of the culprit's log, stops everything and returns 1.
``--nodes 0`` starts the control plane alone. ``--fresh`` wipes the etcd data, node directories
and logs of an earlier run first (by default a cluster directory is reused, like k3s: objects
survive a ``down``/``up``).

Test aids: ``--no-scheduler`` and ``--no-controller-manager`` leave those components out of the
plan (hidden from ``--help``).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import TextIO

from kubemu import cluster, kubeconfig, metrics_status, pod_networks, supervisor
from kubemu.cluster import ClusterDir, process_alive

UP_POLL_INTERVAL_S = 0.2
DOWN_TIMEOUT_S = 60.0
LOG_TAIL_LINES = 20
STATUS_PROBE_TIMEOUT_S = 1.0


def _marks(stream: TextIO) -> tuple[str, str]:
    try:
        "✓✗".encode(stream.encoding or "ascii")
        return "✓", "✗"
    except (UnicodeEncodeError, LookupError):
        return "ok", "x"


def _say(text: str = "", stream: TextIO | None = None) -> None:
    stream = stream or sys.stdout
    stream.write(text + "\n")
    stream.flush()


def _err(text: str) -> None:
    _say(text, sys.stderr)


def _dir_flag(cdir: ClusterDir) -> str:
    """`` --cluster-dir D`` when D is not the default, for the commands we suggest."""
    return "" if cdir.path == ClusterDir().path else f" --cluster-dir {cdir.path}"


def tail(path: str, lines: int = LOG_TAIL_LINES) -> list[str]:
    try:
        with open(path, errors="replace") as f:
            return [line.rstrip("\n") for line in deque(f, maxlen=lines)]
    except OSError:
        return []


# --------------------------------------------------------------------------- up


def _component_flags(items: list[str]) -> dict[str, list[str]]:
    """``["scheduler=--x=1", "kubelet=--y"]`` → ``{"scheduler": ["--x=1"], "kubelet": ["--y"]}``."""
    out: dict[str, list[str]] = {}
    for item in items:
        kind, sep, flag = item.partition("=")
        if not sep or kind not in supervisor.START_ORDER or not flag.startswith("-"):
            kinds = ", ".join(supervisor.START_ORDER)
            raise ValueError(f'--component-flag must be KIND=--flag with KIND one of {kinds}, got "{item}"')
        out.setdefault(kind, []).append(flag)
    return out


def cmd_up(args: argparse.Namespace) -> int:
    from kubemu.etcd_server import EtcdNotFound, is_affected_by_data_loss_bug

    cdir = ClusterDir(args.cluster_dir)
    running = cdir.supervisor_pid()
    if running:
        _err(f"error: a cluster is already running in {cdir.path} (supervisor pid {running}); "
             f'stop it first with "kubemu down{_dir_flag(cdir)}"')
        return 1
    leftovers = cdir.live_components()
    if leftovers:
        pids = ", ".join(f"{c['name']} {c['pid']}" for c in leftovers)
        _err(f"error: processes of an earlier cluster in {cdir.path} are still running ({pids}); "
             f'clean up with "kubemu down{_dir_flag(cdir)}" first')
        return 1
    if args.netns:
        from kubemu import netns

        problem = netns.problem()
        if problem:
            _err(f"error: {problem}")
            return 1
        try:
            netns.teardown(cdir)  # what a crashed earlier run left behind
        except netns.NetnsError as e:
            _err(f"error: {e}")
            return 1
    if args.fresh:
        for d in (cdir.etcd_dir, cdir.nodes_dir, cdir.logs_dir):
            shutil.rmtree(d, ignore_errors=True)
    try:
        plan = supervisor.build_plan(cdir, nodes=args.nodes, ports=args.ports, restart_policy=args.restart_policy,
                                     scheduler=not args.no_scheduler,
                                     controller_manager=not args.no_controller_manager,
                                     etcd_members=args.etcd_members, apiservers=args.apiservers,
                                     schedulers=args.schedulers, controller_managers=args.controller_managers,
                                     secure=not args.insecure, extra_flags=_component_flags(args.component_flag),
                                     netns=args.netns, kube_proxy=not args.no_kube_proxy,
                                     merge_kubeconfig="" if args.no_merge_kubeconfig else kubeconfig.default_path())
    except EtcdNotFound as e:
        _err(f"error: {e}")
        return 1
    except ValueError as e:
        _err(f"error: {e}")
        return 1
    busy = supervisor.ports_in_use(plan) if args.ports == "default" else []
    if busy:
        for name, host, port in busy:
            _err(f"error: port {port} on {host} (for {name}) is already in use")
        _err("another cluster may be running: stop it, or start this one with --ports auto")
        return 1
    plan["readyTimeoutSeconds"] = args.timeout
    version = plan.get("etcdVersion", "unknown")
    nodes_text = f"{args.nodes} node{'s' if args.nodes != 1 else ''}" if args.nodes else "no nodes (control plane only)"
    _say(f'Starting cluster "{cdir.name}" in {cdir.path}: {nodes_text}, restart policy {args.restart_policy}')
    _say(f"Using etcd {version} ({plan['etcdBinary']})" if version != "unknown"
         else f"Using etcd {plan['etcdBinary']} (version unknown)")
    if plan.get("netns"):
        topo = plan["netns"]
        _say(f"Network namespaces: bridge {topo['bridge']} at {topo['bridgeIP']}/24, "
             + ", ".join(f"{n} in {link['namespace']} at {link['ip']}" for n, link in topo["nodes"].items()))
        if topo.get("clusterCIDR"):
            _say(f"Routed pod network {topo['clusterCIDR']}: "
                 + ", ".join(f"{n} pods {link['podCIDR']}" for n, link in topo["nodes"].items()))
    if is_affected_by_data_loss_bug(version):
        _say(f"WARNING: etcd {version} may lose committed writes when killed (etcd 3.5.0-3.5.2, fixed in 3.5.3); "
             "prefer Debian's etcd-server package or an official etcd release (set KUBEMU_ETCD_BINARY)")
    cdir.ensure()
    cdir.write_plan(plan)
    try:
        os.unlink(cdir.state_path)
    except FileNotFoundError:
        pass
    proc = _spawn_supervisor(cdir)
    try:
        ok = _follow_start(cdir, plan, proc, args.timeout)
    except KeyboardInterrupt:
        _say("Interrupted; stopping the cluster...")
        down(cdir, quiet=True)
        return 130
    if not ok:
        _say("Stopping the cluster...")
        down(cdir, quiet=True)
        return 1
    flag = _dir_flag(cdir)
    _say()
    _say(f'Cluster "{cdir.name}" is ready.' + (f" To use it from this shell: export "
                                               f"{cluster.ENV_CLUSTER_DIR}={cdir.path}" if flag else ""))
    _say()
    rest = (plan.get("restServers") or [""])[0]
    if plan.get("mergeKubeconfig"):
        _say(f'The real kubectl works too: context "{kubeconfig.context_name(cdir.name)}" '
             f"({rest}) was added to {plan['mergeKubeconfig']} and made current.")
    else:
        _say(f"The real kubectl works too: kubectl --kubeconfig {cdir.kubeconfig_path} get nodes ({rest})")
    _say()
    _say(f"  kubemu kubectl{flag} get nodes")
    _say(f"  kubemu kubectl{flag} run nginx --image=nginx")
    _say(f"  kubemu status{flag}")
    _say(f"  kubemu down{flag}")
    return 0


def _spawn_supervisor(cdir: ClusterDir) -> subprocess.Popen:
    env = dict(os.environ)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    env["PYTHONUNBUFFERED"] = "1"
    cluster.rotate_log(cdir.log_path("supervisor"))
    with open(cdir.log_path("supervisor"), "ab") as log:
        return subprocess.Popen([sys.executable, "-m", "kubemu.supervisor", "--cluster-dir", cdir.path],
                                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env,
                                cwd=cdir.path, start_new_session=True)


def _ready_line(comp: dict, ok: str) -> str:
    pid = f" (pid {comp.get('pid')})" if comp.get("pid") else ""
    if comp["kind"] == supervisor.ETCD:
        version = comp.get("version") or ""
        return f"{ok} etcd{' ' + version if version else ''} ready at {comp.get('address')}{pid}"
    return f"{ok} {comp['name']} ready at {comp.get('address')}{pid}"


def node_ready(node: dict) -> str:
    """``Ready``, ``NotReady`` or ``Unknown`` from the node's Ready condition."""
    for cond in (node.get("status") or {}).get("conditions") or []:
        if isinstance(cond, dict) and cond.get("type") == "Ready":
            return {"True": "Ready", "False": "NotReady"}.get(cond.get("status"), "Unknown")
    return "Unknown"


def _follow_start(cdir: ClusterDir, plan: dict, proc: subprocess.Popen, timeout_s: float) -> bool:
    from machinery import errors
    from machinery.client import APIClient

    ok, bad = _marks(sys.stdout)
    deadline = time.monotonic() + timeout_s
    specs = plan["components"]
    control_plane = [s["name"] for s in specs if s["kind"] != supervisor.KUBELET]
    nodes = {s["node"]: s for s in specs if s["kind"] == supervisor.KUBELET}
    reported: set[str] = set()
    ready_nodes: set[str] = set()
    client: APIClient | None = None
    try:
        while True:
            state = cdir.read_state() or {}
            comps = {c["name"]: c for c in state.get("components", [])}
            for spec in specs:
                comp = comps.get(spec["name"])
                if comp is None:
                    continue
                if comp.get("status") == cluster.DEAD:
                    _report_failure(cdir, comp, comp.get("message") or "exited", bad)
                    return False
                if spec["kind"] != supervisor.KUBELET and spec["name"] not in reported \
                        and comp.get("status") == cluster.RUNNING:
                    _say(_ready_line(comp, ok))
                    reported.add(spec["name"])
            if len(reported) == len(control_plane) and len(ready_nodes) < len(nodes):
                if client is None:
                    client = cdir.api_client(retry_timeout_s=0.0, request_timeout_s=2.0)
                try:
                    for node in client.list("nodes").items:
                        name = (node.get("metadata") or {}).get("name", "")
                        if name in nodes and name not in ready_nodes and node_ready(node) == "Ready":
                            comp = comps.get(name) or {}
                            _say(f"{ok} {name} Ready (kubelet at {nodes[name]['address']}, pid {comp.get('pid')})")
                            ready_nodes.add(name)
                except errors.APIError:
                    pass
            if len(reported) == len(control_plane) and len(ready_nodes) == len(nodes):
                return True
            if proc.poll() is not None:
                error = state.get("error") or f"the supervisor exited with code {proc.returncode}"
                culprit = _first_not_ready(specs, comps, reported, ready_nodes)
                _report_failure(cdir, culprit or {"name": "supervisor"}, error, bad)
                return False
            if time.monotonic() > deadline:
                culprit = _first_not_ready(specs, comps, reported, ready_nodes)
                what = culprit["name"] if culprit else "the cluster"
                _report_failure(cdir, culprit or {"name": "supervisor"},
                                f"{what} did not become ready within {timeout_s:.0f}s", bad)
                return False
            time.sleep(UP_POLL_INTERVAL_S)
    finally:
        if client is not None:
            client.close()


def _first_not_ready(specs: list[dict], comps: dict, reported: set[str], ready_nodes: set[str]) -> dict | None:
    for spec in specs:
        done = spec["name"] in (ready_nodes if spec["kind"] == supervisor.KUBELET else reported)
        if not done:
            return comps.get(spec["name"]) or {"name": spec["name"]}
    return None


def _report_failure(cdir: ClusterDir, comp: dict, reason: str, bad: str) -> None:
    name = comp.get("name", "supervisor")
    log_path = comp.get("log") or cdir.log_path(name)
    _err(f"{bad} {name}: {reason}")
    lines = tail(log_path)
    if lines:
        _err(f"---- last {len(lines)} lines of {log_path} ----")
        for line in lines:
            _err(line)
        _err("----")
    if name != "supervisor":
        sup_lines = [line for line in tail(cdir.log_path("supervisor"), 5) if line]
        if sup_lines:
            _err(f"---- end of {cdir.log_path('supervisor')} ----")
            for line in sup_lines:
                _err(line)
            _err("----")


# --------------------------------------------------------------------------- down


def down(cdir: ClusterDir, *, quiet: bool = False, timeout_s: float = DOWN_TIMEOUT_S) -> bool:
    """Stop the cluster of ``cdir``; True when something was running. Safe to call any time.
    The ``kubemu-<cluster>`` context ``kubemu up`` merged into the default kubeconfig goes too."""
    _unmerge_kubeconfig(cdir, quiet)
    try:
        return _stop(cdir, quiet, timeout_s)
    finally:
        pod_networks.release(cdir.path)


def _stop(cdir: ClusterDir, quiet: bool, timeout_s: float) -> bool:
    found = cdir.read_supervisor_pid()
    sup_alive = bool(found and process_alive(*found))
    leftovers = cdir.live_components()
    if not sup_alive and not leftovers:
        for node_dir in cdir.node_dirs():
            supervisor.cleanup_node_containers(node_dir)
        _teardown_network(cdir, quiet)
        _mark_stopped(cdir)
        return False
    if sup_alive:
        pid, create_time = found
        if not quiet:
            _say(f"Stopping the cluster in {cdir.path} (supervisor pid {pid})...")
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + timeout_s
        while process_alive(pid, create_time) and time.monotonic() < deadline:
            time.sleep(0.1)
        if process_alive(pid, create_time):
            _err(f"the supervisor (pid {pid}) did not stop within {timeout_s:.0f}s; killing everything")
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    leftovers = cdir.live_components()
    if leftovers:
        supervisor.kill_processes([(c["pid"], c.get("createTime")) for c in leftovers])
    for node_dir in cdir.node_dirs():
        supervisor.cleanup_node_containers(node_dir)
    _teardown_network(cdir, quiet)
    _mark_stopped(cdir)
    if cdir.supervisor_pid() is None:
        cdir.remove_supervisor_pid()
    return True


def _unmerge_kubeconfig(cdir: ClusterDir, quiet: bool) -> None:
    path = (cdir.read_plan() or {}).get("mergeKubeconfig")
    if not path:
        return
    try:
        if kubeconfig.unmerge(path, cdir.name) and not quiet:
            _say(f'Removed context "{kubeconfig.context_name(cdir.name)}" from {path}')
    except (OSError, ValueError) as e:
        _err(f"cannot remove the kubemu context from {path}: {e}")


def _teardown_network(cdir: ClusterDir, quiet: bool) -> None:
    """Remove the ``--netns`` namespaces, veths and bridge the supervisor left (after a crash)."""
    from kubemu import netns

    if netns.read_record(cdir) is None:
        return
    try:
        removed = netns.teardown(cdir)
    except netns.NetnsError as e:
        _err(f"warning: {e}")
        return
    if removed and not quiet:
        _say(f"removed network: {', '.join(removed)}")


def _mark_stopped(cdir: ClusterDir) -> None:
    state = cdir.read_state()
    if not state or state.get("phase") in (cluster.PHASE_STOPPED, cluster.PHASE_FAILED):
        return
    state["phase"] = cluster.PHASE_STOPPED
    for comp in state.get("components", []):
        if comp.get("status") in (cluster.STARTING, cluster.RUNNING, cluster.RESTARTING, cluster.PENDING):
            comp["status"] = cluster.STOPPED
    cdir.write_state(state)


def cmd_down(args: argparse.Namespace) -> int:
    cdir = ClusterDir(args.cluster_dir)
    if down(cdir):
        _say("cluster stopped")
    else:
        _say(f"no cluster is running in {cdir.path}")
    return 0


# --------------------------------------------------------------------------- status


_IP_RE = re.compile(r"^\d+\.\d+\.\d+\.\d+$")


def summarize_details(details: dict, name: str = "", max_len: int = 60, now: datetime | None = None) -> str:
    """A short ``key=value`` summary of a component's Describe details: ``leader=yes scheduled=4``.

    The leader flag first, then numbers and booleans, then short words and timestamps (as ages);
    addresses, nested structures and the component's own name are left out.
    """
    from kubemu.printers import age
    from machinery.meta import parse_time

    def yes_no(value: bool) -> str:
        return "yes" if value else "no"

    first, numbers, words = [], [], []
    if "leader" in details:
        first.append(f"leader={yes_no(bool(details['leader']))}")
    if details.get("error"):
        first.append(f"error={details['error']}")
    for key, value in details.items():
        if key in ("leader", "holder", "error"):
            continue
        if isinstance(value, bool):
            numbers.append(f"{key}={yes_no(value)}")
        elif isinstance(value, int | float):
            numbers.append(f"{key}={value}")
        elif isinstance(value, str) and value and value != name:
            if parse_time(value) is not None and "T" in value:
                words.append(f"{key}={age(value, now)}")
            elif len(value) <= 24 and not any(c in value for c in ":/ ") and not _IP_RE.match(value):
                words.append(f"{key}={value}")
    text = " ".join(first + numbers + words)
    return text if len(text) <= max_len else text[:max_len - 1] + "…"


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f}{unit}" if unit == "B" else f"{n:.1f}{unit}"
        n /= 1024
    return str(n)


def describe_component(address: str, timeout_s: float = STATUS_PROBE_TIMEOUT_S, creds=None) -> dict | None:
    """A component's Component/Describe details (``creds``: :func:`cluster.component_credentials`)."""
    import json

    import grpc

    from machinery.client import Credentials, make_channel
    from machinery.pb import component_pb2, component_pb2_grpc

    with make_channel(address, creds or Credentials()) as channel:
        try:
            info = component_pb2_grpc.ComponentStub(channel).Describe(component_pb2.DescribeRequest(),
                                                                      timeout=timeout_s)
        except grpc.RpcError:
            return None
    try:
        details = json.loads(info.details or b"{}")
    except ValueError:
        details = {}
    return details if isinstance(details, dict) else {}


def component_row(comp: dict) -> list[str]:
    """``[name, pid, address, health, details]`` for one component of state.json."""
    pid, address = comp.get("pid"), comp.get("address", "")
    grpc_address = comp.get("grpcAddress") or address
    if not process_alive(pid, comp.get("createTime")):
        status = comp.get("status")
        note = comp.get("message") or ""
        if status == cluster.RESTARTING:
            note = f"restarting ({note})" if note else "restarting"
        elif status in (cluster.STOPPED, cluster.PENDING):
            note = status
        if comp.get("restarts"):
            note += f" restarts={comp['restarts']}"
        return [comp["name"], str(pid or "-"), address, "DEAD", note.strip()]
    creds = cluster.component_credentials(comp)
    health = supervisor.probe_health(grpc_address, STATUS_PROBE_TIMEOUT_S, creds)
    if comp.get("kind") == supervisor.ETCD:
        info = supervisor.probe_etcd(grpc_address, STATUS_PROBE_TIMEOUT_S)
        details = "" if info is None else (f"version={info['version']} leader={'yes' if info['leader'] else 'no'} "
                                           f"revision={info['revision']} db={_size(info['dbSize'])}")
    else:
        described = describe_component(grpc_address, creds=creds) \
            if health != "UNREACHABLE" else None
        details = summarize_details(described, comp["name"]) if described is not None else ""
    if comp.get("restarts"):
        details = f"{details} restarts={comp['restarts']}".strip()
    return [comp["name"], str(pid), address, health, details]


def _table(headers: list[str], rows: list[list[str]]) -> str:
    from kubemu.printers import tabwrite

    text = "".join("\t".join(cell.replace("\t", " ") for cell in row) + "\n" for row in [headers, *rows])
    return tabwrite(text, minwidth=6, padding=3)


def cmd_status(args: argparse.Namespace) -> int:
    from machinery import errors

    cdir = ClusterDir(args.cluster_dir)
    state = cdir.read_state()
    sup = cdir.supervisor_pid()
    live = cdir.live_components()
    if not sup and not live:
        _err(f"no cluster is running in {cdir.path} (start one with \"kubemu up{_dir_flag(cdir)}\")")
        return 1
    state = state or {}
    sup_text = f"supervisor pid {sup}" if sup else "supervisor NOT running (run `kubemu down` to clean up)"
    _say(f'Cluster "{cdir.name}" ({cdir.path}): {state.get("phase", "unknown")}, {sup_text}, '
         f'restart policy {state.get("restartPolicy", "never")}')
    _say()
    comps = state.get("components", [])
    scraped = [c for c in comps if c.get("metricsAddress") and process_alive(c.get("pid"), c.get("createTime"))]
    with ThreadPoolExecutor(max_workers=min(32, max(1, len(comps)))) as pool:
        first = metrics_status.scrape_all(scraped, pool)
        rows = list(pool.map(component_row, comps))
        metric_rows = metrics_status.finish(scraped, first, args.rate_interval, pool)
    _say(_table(["COMPONENT", "PID", "ADDRESS", "HEALTH", "DETAILS"], rows).rstrip("\n"))
    if metric_rows:
        over = f"over {args.rate_interval:g}s" if args.rate_interval > 0 else "averaged since each process started"
        _say()
        _say(f"Metrics (Prometheus /metrics; rates {over}):")
        _say(_table(metrics_status.HEADERS, metric_rows).rstrip("\n"))
    servers = state.get("apiservers") or []
    if not servers:
        return 0
    _say()
    client = cdir.api_client(retry_timeout_s=0.0, request_timeout_s=3.0)
    try:
        nodes = client.list("nodes").items
    except errors.APIError as e:
        _say(f"NODES: cannot list nodes from the apiserver at {', '.join(servers)}: {e.reason}")
        return 0
    finally:
        client.close()
    if not nodes:
        _say("No nodes registered.")
        return 0
    rows = []
    for node in sorted(nodes, key=lambda n: (n.get("metadata") or {}).get("name", "")):
        status = node_ready(node)
        if (node.get("spec") or {}).get("unschedulable"):
            status += ",SchedulingDisabled"
        rows.append([(node.get("metadata") or {}).get("name", ""), status])
    _say(_table(["NODE", "STATUS"], rows).rstrip("\n"))
    return 0


# --------------------------------------------------------------------------- main


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kubemu", description="A multi-process Kubernetes cluster emulator.",
                                epilog="kubemu kubectl ARGS...: a kubectl-like client (kubemu kubectl -h)")
    p.add_argument("--cluster-dir", default=None,
                   help=f"the cluster directory (default ${cluster.ENV_CLUSTER_DIR} or ~/.kubemu/clusters/default)")
    sub = p.add_subparsers(dest="command", metavar="{up,down,status,chaos,experiment,bench,certs,kubectl,trace}")

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help_text, description=help_text)
        # SUPPRESS: a value given before the command must survive the subcommand's defaults.
        sp.add_argument("--cluster-dir", default=argparse.SUPPRESS, help="the cluster directory")
        return sp

    up = add("up", "start a local cluster: etcd, apiserver, scheduler, controller manager, N kubelets and their "
                   "kube-proxies")
    up.add_argument("--nodes", type=int, default=3, help="number of nodes (kubelets); 0 = control plane only")
    up.add_argument("--ports", choices=("default", "auto"), default="default",
                    help="default: Kubernetes' well-known ports (6443, 2379, 10250 ...); auto: free ports")
    up.add_argument("--restart-policy", choices=supervisor.RESTART_POLICIES, default=supervisor.RESTART_NEVER,
                    help="never: a component that dies stays dead (fault injection sees real outages); "
                         "always: restart it with backoff 1s..30s")
    up.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for the cluster to be ready")
    up.add_argument("--fresh", action="store_true", help="wipe etcd data, node directories and logs of earlier runs")
    up.add_argument("--etcd-members", type=int, default=1, help="etcd cluster members (3 for fault tolerance)")
    up.add_argument("--apiservers", type=int, default=1, help="apiserver replicas (clients fail over between them)")
    up.add_argument("--schedulers", type=int, default=1, help="scheduler replicas (active/standby by Lease)")
    up.add_argument("--controller-managers", type=int, default=1,
                    help="controller manager replicas (active/standby by Lease)")
    up.add_argument("--component-flag", action="append", default=[], metavar="KIND=FLAG",
                    help="extra flag for every component of a kind, e.g. "
                         "scheduler=--leader-elect-lease-duration=4 (repeatable)")
    up.add_argument("--insecure", action="store_true",
                    help="no TLS, no tokens, no RBAC: every caller is an administrator")
    up.add_argument("--netns", action="store_true",
                    help="run every kubelet in its own network namespace behind a bridge (root; enables "
                         "kubemu chaos partition|delay|loss); pods get routed IPs 10.<octet>.N.0/24")
    up.add_argument("--no-merge-kubeconfig", action="store_true",
                    help="do not add the kubemu-<cluster> context to the default kubeconfig ($KUBECONFIG or "
                         "~/.kube/config); the cluster's own kubeconfig.yaml is written anyway")
    up.add_argument("--no-kube-proxy", action="store_true",
                    help="start no kube-proxy on the nodes (Services get no forwarding; for benchmarks of many "
                         "nodes)")
    up.add_argument("--no-scheduler", action="store_true", help=argparse.SUPPRESS)
    up.add_argument("--no-controller-manager", action="store_true", help=argparse.SUPPRESS)
    add("down", "stop the cluster and every process it started")
    status = add("status", "show the cluster's components, their metrics and the nodes")
    status.add_argument("--rate-interval", type=float, default=1.0, metavar="SECONDS",
                        help="rates are the change between two metric scrapes this far apart; 0: one scrape, "
                             "rates averaged since each component started")
    chaos = add("chaos", "inject a fault: kill|stop|pause|resume|restart|start a component, or "
                         "partition|delay|loss a node's network")
    chaos.add_argument("verb", choices=("kill", "stop", "pause", "resume", "restart", "start", "partition", "delay",
                                        "loss", "heal-network", "heal"),
                       help="kill=SIGKILL, stop=SIGTERM, pause=SIGSTOP, resume=SIGCONT, restart=stop+start, "
                            "start=start again what was killed or stopped; "
                            "network (kubemu up --netns): partition, delay, loss, heal-network (alias heal)")
    chaos.add_argument("target", nargs="+", help="etcd[-N] | apiserver[-N] | scheduler[-N] | controller-manager[-N] | "
                                                 "kubelet NODE | leader scheduler|controller-manager; "
                                                 "delay: kubelet NODE 200ms; loss: kubelet NODE 20%%; "
                                                 "--compose: SERVICE | kubelet NODE")
    chaos.add_argument("--for", dest="duration", default="", metavar="DURATION",
                       help="undo after this long (e.g. 30s): restart what was killed, resume what was paused, "
                            "reconnect a partition, remove a delay or loss")
    chaos.add_argument("--jitter", default="", metavar="DURATION", help="with delay: random variation (e.g. 50ms)")
    chaos.add_argument("--compose", action="store_true",
                       help="act on a docker compose stack (docker compose / docker-compose) instead")
    chaos.add_argument("--project-name", "-p", default="", metavar="P", help="with --compose: the compose project")
    chaos.add_argument("--file", "-f", default="", metavar="F", help="with --compose: the compose file")
    experiment = add("experiment", "run a fault-injection experiment and report what happened")
    experiment.add_argument("action", choices=("run", "list"), help="run SCENARIO, or list the built-in ones")
    experiment.add_argument("scenario", nargs="?", help="a scenario YAML file or a built-in name")
    experiment.add_argument("--up", action="store_true",
                            help="start a dedicated cluster with the scenario's topology and timings")
    experiment.add_argument("--keep", action="store_true", help="with --up: leave the cluster running")
    experiment.add_argument("-o", "--output", default="", help="report directory (default experiments/NAME-TIME)")
    from kubemu import bench, join

    join.register(sub)
    bench.register(sub)
    sub.add_parser("kubectl", help="a kubectl-like client: kubemu kubectl get pods", add_help=False)
    sub.add_parser("trace", help="every step of a pod's life: kubemu trace pod NAME [-n NS] [--html FILE] [--json]",
                   add_help=False)
    return p


def _split_kubectl(argv: list[str]) -> tuple[str | None, list[str]] | None:
    """``(cluster_dir, kubectl args)`` when the command is ``kubectl``, else None."""
    cluster_dir = None
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--cluster-dir" and i + 1 < len(argv):
            cluster_dir = argv[i + 1]
            i += 2
            continue
        if arg.startswith("--cluster-dir="):
            cluster_dir = arg.split("=", 1)[1]
            i += 1
            continue
        if arg == "kubectl":
            return cluster_dir, argv[i + 1:]
        if arg == "trace":  # kubemu trace pod NAME: the kubectl command of that name
            return cluster_dir, argv[i:]
        return None
    return None


def cmd_experiment(args: argparse.Namespace) -> int:
    from kubemu import experiment

    if args.action == "list":
        return experiment.list_scenarios(say=_say)
    if not args.scenario:
        _err("error: experiment run needs a scenario file or built-in name (see kubemu experiment list)")
        return 1
    return experiment.run(args, say=_say)


def cmd_bench(args: argparse.Namespace) -> int:
    from kubemu import bench

    return bench.run(args, say=_say)


def cmd_chaos(args: argparse.Namespace) -> int:
    from kubemu import chaos

    try:
        if args.compose:
            return chaos.Compose(args.project_name, args.file, say=_say).run(args.verb, args.target,
                                                                             duration=args.duration)
        if args.project_name or args.file:
            raise chaos.ChaosError("--project-name and --file go with --compose")
        if args.verb in chaos.NETWORK_VERBS:
            return chaos.network(ClusterDir(args.cluster_dir), args.verb, args.target, duration=args.duration,
                                 jitter=args.jitter, say=_say)
        if args.jitter:
            raise chaos.ChaosError("--jitter applies to delay")
        return chaos.run(ClusterDir(args.cluster_dir), args.verb, args.target, duration=args.duration, say=_say)
    except chaos.ChaosError as e:
        _err(f"error: {e}")
        return 1


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    kubectl_call = _split_kubectl(argv)
    if kubectl_call is not None:
        from kubemu import kubectl

        cluster_dir, rest = kubectl_call
        return kubectl.run(rest, cluster_dir=cluster_dir)
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 0
    from kubemu import join

    handlers = {"up": cmd_up, "down": cmd_down, "status": cmd_status, "chaos": cmd_chaos,
                "experiment": cmd_experiment, "bench": cmd_bench, "certs": lambda a: join.run(a) or 0}
    try:
        return handlers[args.command](args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `kubemu status | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
