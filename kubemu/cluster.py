"""The cluster directory: everything ``kubemu up`` knows about one local cluster, on disk.

One directory per cluster (``$KUBEMU_CLUSTER_DIR``, else ``~/.kubemu/clusters/default``)::

    plan.json          what to run: every component's command, address and the restart policy
                       (written by ``kubemu up``, read by the supervisor)
    state.json         what is running: per component its pid, address, log, status, restarts
                       (written by the supervisor, read by ``kubemu status`` and ``kubemu down``)
    supervisor.pid     the supervisor's pid while it runs
    kubeconfig.yaml    how clients reach the apiserver: the REST URL for kubectl, the gRPC addresses in
                       the kubemu.io/grpc extension, the CA and the admin token (kubemu/kubeconfig.py)
    logs/<name>.log    each component's stdout and stderr; logs/supervisor.log
    etcd/              etcd's data directory
    nodes/<node>/      each kubelet's root directory (pods, containers, logs)

Every file is written atomically (a temporary file in the same directory, then ``os.replace``),
so a reader never sees half a file, and every reader tolerates a missing or garbled file.

A pid on disk can outlive its process and be reused by an unrelated one, so next to each pid
we keep the process' creation time and :func:`process_alive` checks both.
"""

from __future__ import annotations

import json
import os
import signal
import tempfile
import time
from typing import Any

import psutil
import yaml

ENV_CLUSTER_DIR = "KUBEMU_CLUSTER_DIR"

# Component statuses in state.json.
STARTING = "starting"  # started, not yet ready
RUNNING = "running"  # ready (etcd answers, the gRPC health check said SERVING once)
RESTARTING = "restarting"  # exited; the supervisor restarts it after a backoff (policy always)
DEAD = "dead"  # exited and stays down (policy never), or failed to start
STOPPED = "stopped"  # stopped by the supervisor on shutdown
PENDING = "pending"  # in the plan, not started yet

# Cluster phases in state.json.
PHASE_STARTING = "starting"
PHASE_RUNNING = "running"
PHASE_FAILED = "failed"
PHASE_STOPPING = "stopping"
PHASE_STOPPED = "stopped"

# A process' creation time is known to psutil to ~10 ms; allow some slack.
_CREATE_TIME_SLACK_S = 1.0


def default_cluster_dir() -> str:
    return os.environ.get(ENV_CLUSTER_DIR) or os.path.join(os.path.expanduser("~"), ".kubemu", "clusters",
                                                           "default")


def atomic_write(path: str, text: str) -> None:
    """Write ``text`` to ``path`` so readers see the old or the new content, never a mix."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


MAX_LOG_BYTES = 64 * 1024 * 1024


def rotate_log(path: str, max_bytes: int = MAX_LOG_BYTES) -> None:
    """Keep a log bounded across restarts: past ``max_bytes`` it becomes ``<path>.1`` (one generation)."""
    try:
        if os.path.getsize(path) > max_bytes:
            os.replace(path, path + ".1")
    except OSError:
        pass


def process_create_time(pid: int) -> float | None:
    try:
        return psutil.Process(pid).create_time()
    except (psutil.Error, ValueError):
        return None


def process_alive(pid: int | None, create_time: float | None = None) -> bool:
    """True when ``pid`` runs (not a zombie) and, if given, was created at ``create_time``."""
    if not pid or pid <= 0:
        return False
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        if create_time is not None and abs(proc.create_time() - create_time) > _CREATE_TIME_SLACK_S:
            return False  # the pid was reused by another process
        return True
    except (psutil.Error, ValueError):
        return False


class ClusterDir:
    """Paths and atomic reads/writes of one cluster directory."""

    def __init__(self, path: str | None = None):
        self.path = os.path.abspath(os.path.expanduser(path or default_cluster_dir()))

    def __repr__(self) -> str:
        return f"ClusterDir({self.path!r})"

    # --- layout ---------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return os.path.basename(self.path.rstrip("/")) or "default"

    @property
    def plan_path(self) -> str:
        return os.path.join(self.path, "plan.json")

    @property
    def state_path(self) -> str:
        return os.path.join(self.path, "state.json")

    @property
    def supervisor_pid_path(self) -> str:
        return os.path.join(self.path, "supervisor.pid")

    @property
    def kubeconfig_path(self) -> str:
        return os.path.join(self.path, "kubeconfig.yaml")

    @property
    def logs_dir(self) -> str:
        return os.path.join(self.path, "logs")

    @property
    def etcd_dir(self) -> str:
        return os.path.join(self.path, "etcd")

    @property
    def nodes_dir(self) -> str:
        return os.path.join(self.path, "nodes")

    def log_path(self, component: str) -> str:
        return os.path.join(self.logs_dir, f"{component}.log")

    def node_dir(self, node: str) -> str:
        return os.path.join(self.nodes_dir, node)

    def node_dirs(self) -> list[str]:
        """Every node directory that exists (including ones of earlier runs)."""
        try:
            names = sorted(os.listdir(self.nodes_dir))
        except OSError:
            return []
        return [os.path.join(self.nodes_dir, n) for n in names if os.path.isdir(os.path.join(self.nodes_dir, n))]

    def ensure(self) -> None:
        for d in (self.path, self.logs_dir, self.etcd_dir, self.nodes_dir):
            os.makedirs(d, exist_ok=True)

    # --- JSON files -----------------------------------------------------------------------

    def _read_json(self, path: str) -> dict | None:
        try:
            with open(path) as f:
                data = json.load(f)
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def _write_json(self, path: str, data: dict) -> None:
        atomic_write(path, json.dumps(data, indent=2, sort_keys=False) + "\n")

    def read_plan(self) -> dict | None:
        return self._read_json(self.plan_path)

    def write_plan(self, plan: dict) -> None:
        self._write_json(self.plan_path, plan)

    def read_state(self) -> dict | None:
        return self._read_json(self.state_path)

    def write_state(self, state: dict) -> None:
        self._write_json(self.state_path, state)

    # --- supervisor pid -------------------------------------------------------------------

    def read_supervisor_pid(self) -> tuple[int, float | None] | None:
        """``(pid, create_time)`` from supervisor.pid, or None."""
        try:
            with open(self.supervisor_pid_path) as f:
                parts = f.read().split()
            pid = int(parts[0])
            create_time = float(parts[1]) if len(parts) > 1 else None
        except (OSError, ValueError, IndexError):
            return None
        return pid, create_time

    def write_supervisor_pid(self, pid: int | None = None) -> None:
        pid = pid or os.getpid()
        create_time = process_create_time(pid)
        atomic_write(self.supervisor_pid_path, f"{pid} {create_time or ''}\n")

    def remove_supervisor_pid(self) -> None:
        try:
            os.unlink(self.supervisor_pid_path)
        except FileNotFoundError:
            pass

    def supervisor_pid(self) -> int | None:
        """The pid of the live supervisor of this cluster, or None when it does not run."""
        found = self.read_supervisor_pid()
        if found and process_alive(*found):
            return found[0]
        return None

    def live_components(self) -> list[dict]:
        """Components in state.json whose recorded process still runs."""
        state = self.read_state() or {}
        return [c for c in state.get("components", [])
                if process_alive(c.get("pid"), c.get("createTime"))]

    # --- control requests (kubemu chaos → supervisor) -------------------------------------

    @property
    def control_dir(self) -> str:
        return os.path.join(self.path, "control")

    def request_start(self, component: str) -> None:
        """Ask the supervisor to start ``component`` again, and wake it."""
        os.makedirs(self.control_dir, exist_ok=True)
        name = f"{time.time_ns()}-{os.getpid()}.json"
        atomic_write(os.path.join(self.control_dir, name), json.dumps({"start": component}))
        pid = self.supervisor_pid()
        if pid:
            os.kill(pid, signal.SIGUSR1)

    def take_control_requests(self) -> list[dict]:
        """Pending requests, oldest first; each is removed as it is read."""
        try:
            names = sorted(n for n in os.listdir(self.control_dir) if n.endswith(".json"))
        except FileNotFoundError:
            return []
        out = []
        for name in names:
            path = os.path.join(self.control_dir, name)
            try:
                with open(path) as f:
                    out.append(json.load(f))
            except (OSError, ValueError):
                pass
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
        return out

    # --- kubeconfig -----------------------------------------------------------------------

    def write_kubeconfig(self, servers: list[str], token: str = "", ca_file: str = "",
                         rest_servers: list[str] | None = None) -> dict:
        """The cluster's kubeconfig (see kubemu/kubeconfig.py): ``server`` is the first REST URL for
        the real kubectl, the ``kubemu.io/grpc`` extension lists the gRPC ``servers`` for kubemu's
        own clients, ``certificate-authority`` is the CA that signed the apiserver's certificate."""
        from kubemu import kubeconfig

        doc = kubeconfig.build(self.name, rest_servers=list(rest_servers or []), grpc_servers=list(servers),
                               token=token, ca_file=ca_file)
        atomic_write(self.kubeconfig_path, yaml.safe_dump(doc, sort_keys=False))
        os.chmod(self.kubeconfig_path, 0o600)
        return doc

    def api_client(self, **kwargs):
        """An APIClient with the servers, token and CA of this cluster's kubeconfig."""
        from machinery.client import APIClient

        try:
            with open(self.kubeconfig_path) as f:
                doc = yaml.safe_load(f)
        except (OSError, yaml.YAMLError):
            doc = None
        servers, token = parse_kubeconfig(doc) or ([], "")
        if not servers:
            servers = (self.read_state() or {}).get("apiservers") or []
        return APIClient(servers, client_credentials(doc, self.path), **kwargs)

    def read_kubeconfig(self) -> tuple[list[str], str] | None:
        """``(servers, token)`` of the current context, or None when there is no kubeconfig."""
        try:
            with open(self.kubeconfig_path) as f:
                doc = yaml.safe_load(f)
        except (OSError, yaml.YAMLError):
            return None
        return parse_kubeconfig(doc)


def component_credentials(comp: dict):
    """How kubemu's own tools (the supervisor's probes, ``kubemu status``) reach the gRPC port of a
    component of state.json: its CA, the client certificate to present (the admin's, for kubelets)
    and the name its serving certificate holds. Empty for plain gRPC."""
    from machinery.client import Credentials

    return Credentials(ca_file=comp.get("caFile") or "", cert_file=comp.get("certFile") or "",
                       key_file=comp.get("keyFile") or "", tls_server_name=comp.get("serverName") or "")


def client_credentials(doc: Any, base_dir: str = ""):
    """The token, CA and client certificate a kubeconfig document gives its current context.

    Relative file paths are resolved against ``base_dir`` (the kubeconfig's directory), as
    kubectl does.
    """
    from machinery.client import Credentials

    parsed = parse_kubeconfig(doc)
    if parsed is None:
        return Credentials()
    cluster, user = _current_cluster_and_user(doc)

    def path(value) -> str:
        value = str(value or "")
        return os.path.join(base_dir, value) if value and base_dir and not os.path.isabs(value) else value

    return Credentials(token=parsed[1], ca_file=path(cluster.get("certificate-authority")),
                       cert_file=path(user.get("client-certificate")), key_file=path(user.get("client-key")),
                       tls_server_name=str(cluster.get("tls-server-name") or ""))


def _current_cluster_and_user(doc: dict) -> tuple[dict, dict]:
    """The cluster and user entries of the current context (else the first ones), as kubectl picks them."""
    contexts = {c.get("name"): c.get("context") or {} for c in doc.get("contexts") or [] if isinstance(c, dict)}
    context = contexts.get(doc.get("current-context")) or next(iter(contexts.values()), {})
    clusters = {c.get("name"): c.get("cluster") or {} for c in doc.get("clusters") or [] if isinstance(c, dict)}
    users = {u.get("name"): u.get("user") or {} for u in doc.get("users") or [] if isinstance(u, dict)}
    return (clusters.get(context.get("cluster")) or next(iter(clusters.values()), {}),
            users.get(context.get("user")) or next(iter(users.values()), {}))


def parse_kubeconfig(doc: Any) -> tuple[list[str], str] | None:
    if not isinstance(doc, dict):
        return None
    from kubemu.kubeconfig import grpc_servers

    cluster, user = _current_cluster_and_user(doc)
    servers = grpc_servers(cluster) or cluster.get("servers") or ([cluster["server"]] if cluster.get("server")
                                                                  else [])
    return [str(s) for s in servers if s], str(user.get("token") or "")
