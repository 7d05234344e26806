"""Running a scenario: steps in order, recorders in the background, invariants at the end.

The runner talks to the cluster only as a user would: through the API (the cluster's
kubeconfig) and, for faults, through :mod:`kubemu.chaos` on the local supervisor. Every step
is logged on the timeline with its start and end, so the report can measure from a fault to
the moment the cluster healed.
"""

from __future__ import annotations

import concurrent.futures
import copy
import time
from collections.abc import Callable

from kubemu import chaos
from kubemu.cluster import ClusterDir
from kubemu.experiment.recorders import Clock, ClusterSampler, Ledger, Timeline, WatchRecorder, WriteProber
from kubemu.experiment.scenario import Scenario, Step
from machinery import errors, meta
from machinery.labels import selector_from_label_selector
from machinery.resources import UnknownResource, for_kind


class StepFailed(Exception):
    pass


class ExperimentRunner:
    def __init__(self, scenario: Scenario, cdir: ClusterDir, *, say: Callable[[str], None] = print):
        self.scenario = scenario
        self.cdir = cdir
        self.say = say
        self.clock = Clock()
        self.timeline = Timeline(self.clock)
        self.ledger = Ledger()
        self.client = cdir.api_client(retry_timeout_s=5.0, request_timeout_s=5.0)
        self.probe_client = cdir.api_client(retry_timeout_s=0.0, request_timeout_s=2.0)
        self.sample_client = cdir.api_client(retry_timeout_s=0.0, request_timeout_s=2.0)
        self.watch_client = cdir.api_client(retry_timeout_s=0.0, request_timeout_s=5.0)
        self.namespace = scenario.namespace
        self.faults: list[tuple[str, list[chaos.Target]]] = []
        self.results: list[dict] = []
        self.failed_step: str = ""
        self.prober = self.watcher = self.sampler = None
        self._background: list[concurrent.futures.Future] = []
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="background-step")

    # --- lifecycle ------------------------------------------------------------------------

    def run(self) -> dict:
        from kubemu.experiment.report import build_report

        self._ensure_namespace()
        self.prober = WriteProber(self.probe_client, self.namespace, self.timeline, self.ledger)
        self.watcher = WatchRecorder(self.watch_client, self.namespace, self.timeline)
        self.sampler = ClusterSampler(self.sample_client, self.namespace, self.timeline,
                                      nodes_dir=self.cdir.nodes_dir)
        self.watcher.start()
        self.prober.start()
        self.sampler.start()
        self.timeline.add("experiment", f"started scenario {self.scenario.name}")
        try:
            for i, step in enumerate(self.scenario.steps):
                label = f"{i + 1}/{len(self.scenario.steps)} {step.kind} {_brief(step)}"
                self.say(f"▶ {label}")
                t0 = self.timeline.add("step", label, step=i, kind=step.kind, phase="start")
                try:
                    detail = getattr(self, f"_step_{step.kind}")(step) or ""
                except (StepFailed, errors.APIError, chaos.ChaosError) as e:
                    self.timeline.add("step", f"{label}: FAILED: {e}", step=i, kind=step.kind, phase="failed")
                    self.failed_step = f"{label}: {e}"
                    self.say(f"✗ {label}: {e}")
                    break
                t1 = self.timeline.add("step", label, step=i, kind=step.kind, phase="end", detail=detail)
                self.say(f"✓ {label} ({t1 - t0:.1f}s){': ' + detail if detail else ''}")
        finally:
            self._heal_all(quiet=True)
            self._pool.shutdown(wait=True, cancel_futures=True)
            self.prober.stop()
            self._settle_watchers()
            self.sampler.stop()
            self.watcher.stop()
        return build_report(self)

    def _ensure_namespace(self) -> None:
        try:
            self.client.create("namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                              "metadata": {"name": self.namespace}})
        except errors.AlreadyExists:
            pass

    def _settle_watchers(self, timeout_s: float = 30.0) -> None:
        """Give the watcher time to catch up with the final state (it is compared to it)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                if all(self.watcher.view(r) == self._final_view(r) for r in self.watcher.informers):
                    return
            except errors.APIError:
                pass
            time.sleep(0.5)

    def _final_view(self, resource: str) -> dict[str, str]:
        return {o["metadata"]["name"]: o["metadata"].get("resourceVersion", "")
                for o in self.client.list(resource, self.namespace).items}

    # --- steps ----------------------------------------------------------------------------

    def _objects(self, step: Step) -> list[dict]:
        if step.args.get("file"):
            from kubemu.manifests import load_manifests

            return load_manifests(self.scenario.resolve(step.args["file"]))
        return copy.deepcopy(step.args["objects"])

    def _step_apply(self, step: Step) -> str:
        names = []
        for obj in self._objects(step):
            try:
                info = for_kind(obj.get("apiVersion", ""), obj.get("kind", ""))
            except UnknownResource as e:
                raise StepFailed(f"unknown kind {e}") from None
            ns = self.namespace if info.namespaced else ""
            if info.namespaced:
                obj.setdefault("metadata", {})["namespace"] = ns
            try:
                created = self.client.create(info.name, obj, ns)
            except errors.AlreadyExists:
                live = self.client.get(info.name, obj["metadata"]["name"], ns)
                obj["metadata"]["resourceVersion"] = live["metadata"]["resourceVersion"]
                created = self.client.update(info.name, obj)
            self.ledger.record(info.name, created)
            names.append(f"{info.singular}/{created['metadata']['name']}")
        return ", ".join(names)

    def _step_createPods(self, step: Step) -> str:
        """Create many bare pods at once (acknowledged creates go to the ledger); with
        ``background: true`` the next steps run while the pods are being created."""
        if step.args.get("background"):
            self._background.append(self._pool.submit(self._create_pods, step))
            return "started in the background"
        return self._create_pods(step)

    def _create_pods(self, step: Step) -> str:
        count, prefix = step.args["count"], step.args.get("prefix", "load")
        image = step.args.get("image", "pause")
        workers = int(step.args.get("parallelism", 8))
        failures = []

        def create(i: int):
            body = {"apiVersion": "v1", "kind": "Pod",
                    "metadata": {"name": f"{prefix}-{i}", "namespace": self.namespace, "labels": {"load": prefix}},
                    "spec": {"containers": [{"name": "c", "image": image}],
                             "terminationGracePeriodSeconds": 1}}
            for _attempt in range(20):
                try:
                    self.ledger.record("pods", self.probe_client.create("pods", body, self.namespace))
                    return
                except errors.AlreadyExists:
                    self.ledger.record("pods", self.probe_client.get("pods", body["metadata"]["name"],
                                                                     self.namespace))
                    return
                except errors.APIError as e:
                    failures.append(str(e))
                    time.sleep(0.5)

        with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(create, range(count)))
        return f"{count} pods created ({len(failures)} refused attempts retried)"

    def _step_scale(self, step: Step) -> str:
        def change(d: dict) -> None:
            d["spec"]["replicas"] = step.args["replicas"]

        obj = self.client.mutate("deployments", step.args["deployment"], self.namespace, change)
        if obj:
            self.ledger.record("deployments", obj)
        return f"replicas={step.args['replicas']}"

    def _step_setImage(self, step: Step) -> str:
        def change(d: dict) -> None:
            for c in d["spec"]["template"]["spec"]["containers"]:
                c["image"] = step.args["image"]

        obj = self.client.mutate("deployments", step.args["deployment"], self.namespace, change)
        if obj:
            self.ledger.record("deployments", obj)
        return f"image={step.args['image']}"

    def _step_fault(self, step: Step) -> str:
        words = step.args["target"].split()
        targets = chaos.resolve(self.cdir, words)
        action = step.args["action"]
        t = self.clock.now()
        chaos.act(self.cdir, action, targets, say=lambda _m: None)
        self.faults.append((action, targets))
        names = ", ".join(x.name for x in targets)
        self.timeline.add("fault", f"{action} {names}", action=action, targets=[x.name for x in targets],
                          kinds=[x.kind for x in targets], at=t, words=words)
        return f"{action} {names}"

    def _step_heal(self, step: Step) -> str:
        return self._heal_all()

    def _heal_all(self, quiet: bool = False) -> str:
        healed = []
        for action, targets in self.faults:
            try:
                chaos.undo(self.cdir, action, targets, say=lambda _m: None)
                healed += [t.name for t in targets]
            except chaos.ChaosError as e:
                if not quiet:
                    raise
                self.timeline.add("heal", f"could not heal: {e}")
        if healed:
            self.timeline.add("heal", f"healed {', '.join(healed)}", targets=healed)
        self.faults = []
        return ", ".join(healed) or "nothing to heal"

    def _step_sleep(self, step: Step) -> str:
        seconds = chaos.parse_duration(str(step.args["duration"]))
        time.sleep(seconds)
        return f"{seconds:g}s"

    def _step_wait(self, step: Step) -> str:
        timeout = chaos.parse_duration(str(step.args.get("timeout", "120s")))
        condition = self._condition(step)
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            try:
                ok, last = condition()
                if ok:
                    return last
            except errors.APIError as e:
                last = f"API: {e.reason}"
            time.sleep(0.25)
        raise StepFailed(f"timed out after {timeout:g}s waiting for {step.args['for']} ({last})")

    def _condition(self, step: Step):
        what = step.args["for"]
        if what in ("replicasRunning", "statefulSetReady"):
            kind = "statefulsets" if step.args.get("statefulset") else "deployments"
            name = step.args.get("statefulset") or step.args.get("deployment")
            return lambda: self.replicas_running(kind, name)
        if what == "podsRunning":
            selector, count = step.args.get("selector", ""), int(step.args.get("count", 1))

            def pods_running():
                pods = self.client.list("pods", self.namespace, label_selector=selector).items
                running = sum(1 for p in pods if _running_ready(p))
                return running >= count, f"{running}/{count} running"
            return pods_running
        if what in ("nodeNotReady", "nodeReady"):
            node, want_ready = step.args["node"], what == "nodeReady"

            def node_state():
                cond = meta.condition(self.client.get("nodes", node), "Ready") or {}
                ready = cond.get("status") == "True"
                return ready == want_ready, f"{node} Ready={cond.get('status', 'Unknown')}"
            return node_state
        if what == "backgroundDone":
            def background():
                done = sum(1 for f in self._background if f.done())
                for f in self._background:
                    if f.done() and f.exception() is not None:
                        raise StepFailed(f"a background step failed: {f.exception()}")
                return done == len(self._background), f"{done}/{len(self._background)} background steps done"
            return background
        if what == "apiAvailable":
            def api():
                self.client.list("namespaces", limit=1)
                return True, "API answers"
            return api
        if what == "leaderChanged":
            component = step.args.get("component", "scheduler")
            before = self.sampler.leaders.get(component, "")

            def leader():
                holder = (self.client.get("leases", ClusterSampler.LEASES[component], "kube-system")
                          .get("spec") or {}).get("holderIdentity", "")
                return bool(holder) and holder != before, f"{component} leader {holder or '(none)'}"
            return leader
        raise StepFailed(f"unknown condition {what}")

    def replicas_running(self, kind: str, name: str) -> tuple[bool, str]:
        obj = self.client.get(kind, name, self.namespace)
        want = int((obj.get("spec") or {}).get("replicas", 1))
        selector = selector_from_label_selector((obj.get("spec") or {}).get("selector"))
        pods = [p for p in self.client.list("pods", self.namespace).items
                if selector.matches(p["metadata"].get("labels") or {})]
        # A pod on a node that is not Ready is not known to run (its kubelet may be dead, and the
        # node controller marks its pods not ready only a moment later): it does not count.
        unready_nodes = {n["metadata"]["name"] for n in self.client.list("nodes").items
                         if (meta.condition(n, "Ready") or {}).get("status") != "True"}
        running = sum(1 for p in pods if _running_ready(p) and (p.get("spec") or {}).get("nodeName")
                      not in unready_nodes)
        extra = sum(1 for p in pods if not p["metadata"].get("deletionTimestamp")) - running
        return running == want and extra <= 0, f"{running}/{want} running"

    def _step_assert(self, step: Step) -> str:
        from kubemu.experiment.report import check_invariants

        with self.prober.paused():  # compare against a state that is not moving
            results = check_invariants(self, step.args["invariants"])
        self.results += results
        failed = [r for r in results if not r["ok"]]
        if failed:
            raise StepFailed("; ".join(f"{r['invariant']}: {r['detail']}" for r in failed))
        return ", ".join(r["invariant"] for r in results)


def _running_ready(pod: dict) -> bool:
    if pod["metadata"].get("deletionTimestamp"):
        return False
    status = pod.get("status") or {}
    ready = meta.condition(pod, "Ready") or {}
    return status.get("phase") == "Running" and ready.get("status") == "True"


def _brief(step: Step) -> str:
    a = step.args
    if step.kind == "fault":
        return f"{a['action']} {a['target']}"
    if step.kind == "wait":
        extra = a.get("deployment") or a.get("statefulset") or a.get("node") or a.get("selector") or ""
        return f"{a['for']} {extra}".strip()
    if step.kind == "apply":
        return a.get("file") or f"{len(a.get('objects') or [])} objects"
    if step.kind == "createPods":
        return f"{a['count']} pods"
    if step.kind == "assert":
        return ", ".join(a["invariants"])
    if step.kind == "sleep":
        return str(a["duration"])
    return ""
