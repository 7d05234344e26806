"""The cluster a benchmark runs on, and the sampler that watches its processes.

Every scenario starts its own fresh cluster with ``kubemu up --ports auto --fresh --no-kube-proxy``
(no scenario uses Services; an idle kube-proxy per node would only add processes) in a temporary
cluster directory (as a user would, through :func:`kubemu.cli.main`), and stops it with
``kubemu down`` at the end, whatever happened. The output of ``up`` goes to ``bench-up.log`` in
that directory; the progress line says what is going on instead.

:class:`ProcessSampler` reads CPU time and RSS of every component (psutil) once per interval,
and the machine's total CPU time, so a result can say how much CPU *other* processes took while
it ran: on a shared machine that is what makes a figure believable or not.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import threading
import time

import psutil

from kubemu import cli
from kubemu.bench import stats
from kubemu.cluster import ClusterDir

NO_PULL_DELAY_CATALOG = "defaults:\n  pullDelaySeconds: 0.0\nimages:\n  pause:\n    pullDelaySeconds: 0.0\n"


class ClusterStartError(Exception):
    pass


class BenchCluster:
    """A dedicated local cluster: ``with BenchCluster(...) as c: c.client ...``."""

    def __init__(self, nodes: int, *, runtime: str = "simulated", kubelet_flags: list[str] | None = None,
                 scheduler: bool = True, controller_manager: bool = True, keep: bool = False,
                 timeout_s: float = 600.0, extra_flags: dict[str, list[str]] | None = None):
        self.nodes = nodes
        self.runtime = runtime
        self.kubelet_flags = list(kubelet_flags or [])
        self.scheduler = scheduler
        self.controller_manager = controller_manager
        self.keep = keep
        self.timeout_s = timeout_s
        self.extra_flags = extra_flags or {}
        self.cdir = ClusterDir(tempfile.mkdtemp(prefix="kubemu-bench-"))
        self.client = None
        self.started = False

    # --- lifecycle ------------------------------------------------------------------------

    def up(self) -> BenchCluster:
        flags = [f"kubelet=--runtime={self.runtime}", *[f"kubelet={f}" for f in self.kubelet_flags]]
        for kind, values in self.extra_flags.items():
            flags.extend(f"{kind}={v}" for v in values)
        if self.runtime == "process":
            catalog = os.path.join(self.cdir.path, "no-pull-delay.yaml")
            with open(catalog, "w") as f:
                f.write(NO_PULL_DELAY_CATALOG)
            flags.append(f"kubelet=--image-catalog={catalog}")
        argv = ["up", "--cluster-dir", self.cdir.path, "--ports", "auto", "--fresh", "--nodes", str(self.nodes),
                "--no-merge-kubeconfig", "--no-kube-proxy", "--timeout", str(self.timeout_s),
                *[a for f in flags for a in ("--component-flag", f)]]
        if not self.scheduler:
            argv.append("--no-scheduler")
        if not self.controller_manager:
            argv.append("--no-controller-manager")
        log_path = os.path.join(self.cdir.path, "bench-up.log")
        with open(log_path, "w") as log, contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
            code = cli.main(argv)
        self.started = True
        if code != 0:
            tail = "\n".join(cli.tail(log_path, 15))
            raise ClusterStartError(f"kubemu up failed (exit {code}); end of {log_path}:\n{tail}")
        self.client = self.cdir.api_client(retry_timeout_s=30.0, request_timeout_s=30.0, user_agent="kubemu-bench")
        return self

    def down(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None
        if self.started:
            with open(os.devnull, "w") as null, contextlib.redirect_stdout(null), contextlib.redirect_stderr(null):
                cli.down(self.cdir, quiet=True)
            self.started = False
        if not self.keep:
            shutil.rmtree(self.cdir.path, ignore_errors=True)

    def __enter__(self) -> BenchCluster:
        try:
            return self.up()
        except BaseException:
            self.down()
            raise

    def __exit__(self, *exc) -> None:
        self.down()

    # --- what runs ------------------------------------------------------------------------

    def components(self) -> list[dict]:
        """``[{"name", "kind", "pid"}]`` from state.json."""
        return [{"name": c["name"], "kind": c["kind"], "pid": c.get("pid")}
                for c in (self.cdir.read_state() or {}).get("components", []) if c.get("pid")]

    def etcd_endpoint(self) -> str:
        plan = self.cdir.read_plan() or {}
        return (plan.get("etcdEndpoints") or [""])[0]

    def new_client(self, **kwargs):
        kwargs.setdefault("retry_timeout_s", 30.0)
        kwargs.setdefault("request_timeout_s", 30.0)
        kwargs.setdefault("user_agent", "kubemu-bench")
        return self.cdir.api_client(**kwargs)

    def ensure_namespace(self, name: str) -> None:
        from machinery import errors

        try:
            self.client.create("namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
        except errors.AlreadyExists:
            pass


def _cpu_busy_seconds() -> float:
    t = psutil.cpu_times()
    return sum(t) - t.idle - getattr(t, "iowait", 0.0) - getattr(t, "guest", 0.0) - getattr(t, "guest_nice", 0.0)


class ProcessSampler:
    """Samples CPU% and RSS of the cluster's components every ``interval_s`` in a thread.

    ``components`` is a list of ``{"name", "kind", "pid"}``; processes started by them (container
    processes of the process runtime) count towards "ours" when computing the foreign CPU.
    """

    def __init__(self, components: list[dict], interval_s: float = 2.0):
        self.interval_s = interval_s
        self.components = components
        self._procs: dict[str, psutil.Process] = {}
        for c in components:
            try:
                self._procs[c["name"]] = psutil.Process(c["pid"])
            except psutil.Error:
                pass
        self.kinds = {c["name"]: c["kind"] for c in components}
        self.cpu: dict[str, list[float]] = {n: [] for n in self._procs}  # percent of one CPU per interval
        self.rss: dict[str, list[int]] = {n: [] for n in self._procs}
        self.foreign: list[float] = []  # percent of one CPU used by processes not ours
        self.machine_busy: list[float] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _ours_cpu(self) -> dict[str, float]:
        out = {}
        for name, p in self._procs.items():
            try:
                t = p.cpu_times()
                out[name] = t.user + t.system
            except psutil.Error:
                pass
        return out

    def _tree_cpu(self) -> float:
        """CPU seconds of this process, the components and every descendant of any of them (each once)."""
        parents: dict[int, list[int]] = {}
        for p in psutil.process_iter(["pid", "ppid"]):
            parents.setdefault(p.info["ppid"], []).append(p.info["pid"])
        todo = [os.getpid(), *[p.pid for p in self._procs.values()]]
        ours: set[int] = set()
        while todo:
            pid = todo.pop()
            if pid not in ours:
                ours.add(pid)
                todo.extend(parents.get(pid, []))
        total = 0.0
        for pid in ours:
            try:
                t = psutil.Process(pid).cpu_times()
                total += t.user + t.system
            except psutil.Error:
                pass
        return total

    def start(self) -> ProcessSampler:
        self._thread = threading.Thread(target=self._loop, daemon=True, name="bench-sampler")
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _loop(self) -> None:
        prev = self._ours_cpu()
        prev_tree = self._tree_cpu()
        prev_busy, prev_t = _cpu_busy_seconds(), time.monotonic()
        while not self._stop.wait(self.interval_s):
            now_cpu, now_tree = self._ours_cpu(), self._tree_cpu()
            busy, t = _cpu_busy_seconds(), time.monotonic()
            dt = max(1e-6, t - prev_t)
            for name, value in now_cpu.items():
                if name in prev:
                    self.cpu[name].append(100.0 * max(0.0, value - prev[name]) / dt)
                try:
                    self.rss[name].append(self._procs[name].memory_info().rss)
                except psutil.Error:
                    pass
            ours = max(0.0, now_tree - prev_tree)
            machine = max(0.0, busy - prev_busy)
            self.machine_busy.append(100.0 * machine / dt)
            self.foreign.append(max(0.0, 100.0 * (machine - ours) / dt))
            prev, prev_tree, prev_busy, prev_t = now_cpu, now_tree, busy, t

    # --- summaries ------------------------------------------------------------------------

    def per_component(self) -> dict[str, dict]:
        """Per component: CPU% (of one CPU) and RSS (MiB) as distributions over the samples."""
        return {name: {"kind": self.kinds[name], "cpuPercent": stats.summarize(self.cpu[name], digits=1),
                       "rssMiB": stats.summarize(self.rss[name], scale=1 / 2 ** 20, digits=1)}
                for name in self._procs}

    def per_kind(self) -> dict[str, dict]:
        """Per kind (kubelet, apiserver, …): the distribution over processes of each one's mean CPU% and
        last RSS, and the kind's total (sum over its processes)."""
        out: dict[str, dict] = {}
        for kind in sorted(set(self.kinds.values())):
            names = [n for n in self._procs if self.kinds[n] == kind]
            cpu_means = [sum(self.cpu[n]) / len(self.cpu[n]) for n in names if self.cpu[n]]
            rss_last = [self.rss[n][-1] for n in names if self.rss[n]]
            out[kind] = {"processes": len(names), "cpuPercent": stats.summarize(cpu_means, digits=1),
                         "rssMiB": stats.summarize(rss_last, scale=1 / 2 ** 20, digits=1),
                         "totalCpuPercent": round(sum(cpu_means), 1),
                         "totalRssMiB": round(sum(rss_last) / 2 ** 20, 1)}
        return out

    def foreign_summary(self) -> dict:
        return stats.summarize(self.foreign, digits=1)
