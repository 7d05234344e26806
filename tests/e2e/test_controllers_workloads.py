"""Workload controllers across real processes: Deployments, ReplicaSets, StatefulSets, cascading
deletion and namespace deletion on a three-node cluster (etcd, apiserver, scheduler,
controller manager, three kubelets running real container processes).

The cluster helper here is also used by the node lifecycle tests (test_controllers_nodes.py).
"""

from __future__ import annotations

import io
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field

import pytest

from kubemu.etcd_server import EtcdMember, find_etcd_binary, free_port, wait_ready
from machinery import errors
from machinery.client import APIClient
from tests.conftest import Proc, start_apiserver
from tests.helpers import wait_for

pytestmark = pytest.mark.e2e

NODE_CPU = "4"
NODE_MEMORY = "8Gi"


# --------------------------------------------------------------------------- the cluster


@dataclass
class ControllerCluster:
    root: object
    etcd_proc: Proc
    apiserver: Proc
    address: str
    procs: dict[str, Proc] = field(default_factory=dict)
    cm_args: list[str] = field(default_factory=list)

    def client(self, **kw) -> APIClient:
        return APIClient(self.address, **kw)

    def kubelet_args(self, index: int, *, pod_cidr: bool = True) -> list[str]:
        name = f"node-{index}"
        ip = f"127.1.{index}.1"
        args = [sys.executable, "-m", "kubelet", "--apiserver", self.address, "--node-name", name,
                "--node-ip", ip, "--bind-address", ip, "--port", str(free_port(ip)),
                "--root-dir", str(self.root / name), "--cpu", NODE_CPU, "--memory", NODE_MEMORY,
                "--node-status-update-frequency", "1", "--node-lease-renew-interval", "1",
                "--crash-loop-backoff", "1", "--crash-loop-backoff-max", "4"]
        if pod_cidr:
            args += ["--pod-cidr", f"127.245.{index}.0/24"]
        return args

    def start_kubelet(self, index: int, *, pod_cidr: bool = True) -> Proc:
        name = f"node-{index}"
        proc = Proc(self.kubelet_args(index, pod_cidr=pod_cidr), str(self.root / f"{name}.log"))
        self.procs[name] = proc
        return proc

    def dump_logs(self, tail: int = 6000) -> str:
        out = []
        for name, proc in {"apiserver": self.apiserver, **self.procs}.items():
            out.append(f"===== {name} =====\n{proc.output()[-tail:]}")
        return "\n".join(out)

    def stop(self) -> None:
        for proc in reversed(list(self.procs.values())):
            proc.stop()
        self.apiserver.stop()
        self.etcd_proc.stop()
        from kubelet.images import load_catalog
        from kubelet.runtime.process import ProcessRuntime

        for name in [p for p in self.procs if p.startswith("node-")]:
            ProcessRuntime(str(self.root / name / "runtime"), load_catalog()).cleanup_all()


def node_ready(node: dict) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (node.get("status") or {}).get("conditions") or [])


def start_cluster(root, *, nodes: int = 3, apiserver_args: tuple[str, ...] = (), cm_args: tuple[str, ...] = (),
                  kubelets_without_cidr: tuple[int, ...] = ()) -> ControllerCluster:
    member = EtcdMember("cm-e2e", str(root / "etcd"), free_port(), free_port())
    etcd_proc = Proc(member.command(find_etcd_binary()), str(root / "etcd.log"))
    wait_ready(member.client_url)
    apiserver, address = start_apiserver(member.client_url, root, *apiserver_args)
    c = ControllerCluster(root, etcd_proc, apiserver, address, cm_args=list(cm_args))
    c.procs["scheduler"] = Proc([sys.executable, "-m", "scheduler", "--apiserver", address, "--bind-address",
                                 "127.0.0.1", "--port", str(free_port()), "--pod-max-backoff-seconds", "2"],
                                str(root / "scheduler.log"))
    c.procs["controller-manager"] = Proc([sys.executable, "-m", "controller_manager", "--apiserver", address,
                                          "--bind-address", "127.0.0.1", "--port", str(free_port()), "-v", "1",
                                          *cm_args], str(root / "controller-manager.log"))
    for i in range(1, nodes + 1):
        c.start_kubelet(i, pod_cidr=i not in kubelets_without_cidr)
    client = c.client()
    try:
        wait_for(lambda: len([n for n in client.list("nodes").items if node_ready(n)]) == nodes, timeout_s=60,
                 message=f"{nodes} Ready nodes")
    except AssertionError:
        print(c.dump_logs())
        c.stop()
        raise
    finally:
        client.close()
    return c


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    c = start_cluster(tmp_path_factory.mktemp("workloads"), nodes=3, cm_args=("--job-pod-failure-backoff", "0.2s"))
    yield c
    c.stop()


@pytest.fixture
def api(cluster):
    c = cluster.client(retry_timeout_s=10)
    yield c
    c.close()


@pytest.fixture
def ns(api):
    name = f"wl-{uuid.uuid4().hex[:6]}"
    api.create("namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    return name


@pytest.fixture(autouse=True)
def _logs_on_failure(request, cluster):
    failed = request.session.testsfailed
    yield
    if request.session.testsfailed > failed:
        print(cluster.dump_logs())


# --------------------------------------------------------------------------- helpers


def deployment(name: str, replicas: int, image: str = "nginx:1.25", **spec) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"terminationGracePeriodSeconds": 1,
                                           "containers": [{"name": "web", "image": image}]}},
                     **spec}}


def running_ready(pod: dict) -> bool:
    status = pod.get("status") or {}
    return status.get("phase") == "Running" and not pod["metadata"].get("deletionTimestamp") and any(
        c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])


def pods(api, ns: str, selector: str = "") -> list[dict]:
    return api.list("pods", ns, label_selector=selector).items


def rolled_out(api, ns: str, name: str) -> dict | None:
    d = api.get("deployments", name, ns)
    st, want = d.get("status") or {}, d["spec"]["replicas"]
    ok = (st.get("observedGeneration", 0) >= d["metadata"]["generation"] and st.get("updatedReplicas", 0) == want
          and st.get("replicas", 0) == want and st.get("availableReplicas", 0) == want)
    return d if ok else None


def kubectl(cluster, *argv: str) -> tuple[int, str, str]:
    """Run a workloads kubectl command through kubemu.kubectl_workloads with argparse sub-parsers."""
    import argparse

    from kubemu import kubectl_workloads

    parser = argparse.ArgumentParser(prog="kubectl")
    sub = parser.add_subparsers(dest="command")
    kubectl_workloads.register(sub)
    create = sub.add_parser("create")
    create.add_argument("args", nargs="*")
    create.add_argument("-n", "--namespace", default=None)
    kubectl_workloads.add_create_flags(create)
    args = parser.parse_args(list(argv))
    out, err = io.StringIO(), io.StringIO()
    client = cluster.client(retry_timeout_s=5)
    try:
        code = kubectl_workloads.run(args, client, out=out, err=err)
    finally:
        client.close()
    return code, out.getvalue(), err.getvalue()


# --------------------------------------------------------------------------- tests


def test_deployment_of_six_spreads_over_three_nodes(cluster, api, ns):
    api.create("deployments", deployment("spread", 6), ns)
    d = wait_for(lambda: rolled_out(api, ns, "spread"), timeout_s=60, message="deployment rolled out")
    assert d["status"]["readyReplicas"] == 6
    assert {c["type"]: c["reason"] for c in d["status"]["conditions"]} == {
        "Available": "MinimumReplicasAvailable", "Progressing": "NewReplicaSetAvailable"}
    assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"
    rss = api.list("replicasets", ns).items
    assert len(rss) == 1
    rs = rss[0]
    pod_hash = rs["metadata"]["labels"]["pod-template-hash"]
    assert rs["metadata"]["name"] == f"spread-{pod_hash}"
    assert rs["metadata"]["ownerReferences"][0]["kind"] == "Deployment"
    running = [p for p in pods(api, ns) if running_ready(p)]
    assert len(running) == 6
    by_node: dict[str, int] = {}
    for pod in running:
        assert pod["metadata"]["name"].startswith(f"spread-{pod_hash}-")
        assert len(pod["metadata"]["name"]) == len(f"spread-{pod_hash}-") + 5
        assert pod["metadata"]["labels"]["pod-template-hash"] == pod_hash
        ref = pod["metadata"]["ownerReferences"][0]
        assert (ref["kind"], ref["name"], ref["controller"]) == ("ReplicaSet", rs["metadata"]["name"], True)
        by_node[pod["spec"]["nodeName"]] = by_node.get(pod["spec"]["nodeName"], 0) + 1
    assert sorted(by_node.values()) == [2, 2, 2], by_node


def test_rolling_update_keeps_max_unavailable_then_rollback(cluster, api, ns):
    replicas, max_unavailable = 4, 1
    api.create("deployments", deployment("roll", replicas, strategy={
        "type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": max_unavailable}}), ns)
    wait_for(lambda: rolled_out(api, ns, "roll"), timeout_s=60, message="first rollout")
    old_pods = {p["metadata"]["uid"] for p in pods(api, ns, "app=roll")}

    # Watch every pod event and check the invariant after each one.
    state: dict[str, dict] = {}
    worst = {"ready": replicas, "total": 0}
    stop = threading.Event()
    start_rv = api.list("pods", ns).resource_version
    watcher = cluster.client(retry_timeout_s=10)
    watch = watcher.watch("pods", ns, resource_version=start_rv, label_selector="app=roll")

    def follow() -> None:
        for ev in watch:
            if ev.type == "BOOKMARK":
                continue
            if ev.type == "DELETED":
                state.pop(ev.object["metadata"]["uid"], None)
            else:
                state[ev.object["metadata"]["uid"]] = ev.object
            ready = sum(1 for p in state.values() if running_ready(p))
            alive = sum(1 for p in state.values() if not p["metadata"].get("deletionTimestamp"))
            worst["ready"] = min(worst["ready"], ready)
            worst["total"] = max(worst["total"], alive)
            if stop.is_set():
                return

    for pod in pods(api, ns, "app=roll"):
        state[pod["metadata"]["uid"]] = pod
    thread = threading.Thread(target=follow, daemon=True)
    thread.start()
    code, out, err = kubectl(cluster, "set", "image", "deployment/roll", "web=nginx:1.27", "-n", ns)
    assert (code, out, err) == (0, "deployment.apps/roll image updated\n", "")
    wait_for(lambda: rolled_out(api, ns, "roll") and rolled_out(api, ns, "roll")["status"].get(
        "updatedReplicas") == replicas and len(api.list("replicasets", ns).items) == 2 and all(
        p["spec"]["containers"][0]["image"] == "nginx:1.27" for p in pods(api, ns, "app=roll")),
        timeout_s=90, message="second rollout")
    wait_for(lambda: set(state) == {p["metadata"]["uid"] for p in pods(api, ns, "app=roll")}, timeout_s=10,
             message="the watcher caught up with the final pods")
    stop.set()
    watch.cancel()
    watcher.close()
    new_pods = {p["metadata"]["uid"] for p in pods(api, ns, "app=roll") if running_ready(p)}
    assert len(new_pods) == replicas and not new_pods & old_pods, "every pod was replaced"
    assert worst["ready"] >= replicas - max_unavailable, worst
    assert worst["total"] <= replicas + 1, worst
    d = api.get("deployments", "roll", ns)
    assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"

    code, out, _ = kubectl(cluster, "rollout", "history", "deployment/roll", "-n", ns)
    assert code == 0 and out.splitlines()[1:4] == ["REVISION  CHANGE-CAUSE", "1         <none>", "2         <none>"]
    code, out, err = kubectl(cluster, "rollout", "undo", "deployment/roll", "-n", ns)
    assert (code, out) == (0, "deployment.apps/roll rolled back\n"), err
    wait_for(lambda: rolled_out(api, ns, "roll") and all(
        p["spec"]["containers"][0]["image"] == "nginx:1.25" for p in pods(api, ns, "app=roll")) and len(
        pods(api, ns, "app=roll")) == replicas, timeout_s=90, message="rollback")
    d = api.get("deployments", "roll", ns)
    assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3"
    rss = {rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"]: rs
           for rs in api.list("replicasets", ns).items}
    assert set(rss) == {"2", "3"}  # revision 1's ReplicaSet is revision 3 now
    assert rss["3"]["spec"]["replicas"] == replicas and rss["2"]["spec"]["replicas"] == 0
    assert rss["3"]["metadata"]["annotations"]["deployment.kubernetes.io/revision-history"] == "1"
    code, out, _ = kubectl(cluster, "rollout", "status", "deployment/roll", "-n", ns, "--timeout", "30s")
    assert (code, out) == (0, 'deployment "roll" successfully rolled out\n')


def test_deleted_replicaset_pod_is_replaced_with_new_name_and_ip(cluster, api, ns):
    rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "frontend"},
          "spec": {"replicas": 3, "selector": {"matchLabels": {"tier": "frontend"}},
                   "template": {"metadata": {"labels": {"tier": "frontend"}},
                                "spec": {"terminationGracePeriodSeconds": 1,
                                         "containers": [{"name": "web", "image": "nginx:1.25"}]}}}}
    api.create("replicasets", rs, ns)

    def three_ready():
        got = [p for p in pods(api, ns) if running_ready(p) and p["status"].get("podIP")]
        return got if len(got) == 3 else None

    before = wait_for(three_ready, timeout_s=60, message="3 ready pods")
    victim = before[0]
    api.delete("pods", victim["metadata"]["name"], ns)
    after = wait_for(lambda: (lambda got: got if got and victim["metadata"]["uid"] not in {
        p["metadata"]["uid"] for p in got} else None)(three_ready()), timeout_s=60, message="a replacement")
    new = [p for p in after if p["metadata"]["uid"] not in {q["metadata"]["uid"] for q in before}]
    assert len(new) == 1
    assert new[0]["metadata"]["name"] != victim["metadata"]["name"]
    assert new[0]["status"]["podIP"] != victim["status"]["podIP"]
    status = api.get("replicasets", "frontend", ns)["status"]
    assert (status["replicas"], status["readyReplicas"], status["availableReplicas"]) == (3, 3, 3)

    # An orphan with matching labels is adopted (and the surplus removed); scale down to 1.
    orphan = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "stray", "labels": {"tier": "frontend"}},
              "spec": {"containers": [{"name": "web", "image": "nginx:1.25"}]}}
    api.create("pods", orphan, ns)
    wait_for(lambda: len([p for p in pods(api, ns) if not p["metadata"].get("deletionTimestamp")]) == 3,
             timeout_s=30, message="surplus removed")
    code, out, _ = kubectl(cluster, "scale", "rs", "frontend", "--replicas=1", "-n", ns)
    assert (code, out) == (0, "replicaset.apps/frontend scaled\n")
    wait_for(lambda: len(pods(api, ns)) == 1, timeout_s=30, message="scaled to 1")
    assert pods(api, ns)[0]["metadata"]["ownerReferences"][0]["name"] == "frontend"


def test_statefulset_ordinals_order_and_rolling_update(cluster, api, ns):
    sts = {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "web"},
           "spec": {"replicas": 3, "serviceName": "web", "selector": {"matchLabels": {"app": "web"}},
                    "template": {"metadata": {"labels": {"app": "web"}},
                                 "spec": {"terminationGracePeriodSeconds": 1,
                                          "containers": [{"name": "web", "image": "nginx:1.25"}]}}}}
    start_rv = api.list("pods", ns).resource_version
    watcher = cluster.client(retry_timeout_s=10)
    events: list[tuple[str, str, bool]] = []  # (type, name, running and ready)
    watch = watcher.watch("pods", ns, resource_version=start_rv)

    def follow() -> None:
        for ev in watch:
            if ev.type != "BOOKMARK":
                events.append((ev.type, ev.object["metadata"]["name"], running_ready(ev.object)))

    threading.Thread(target=follow, daemon=True).start()
    api.create("statefulsets", sts, ns)
    wait_for(lambda: api.get("statefulsets", "web", ns).get("status", {}).get("readyReplicas") == 3, timeout_s=60,
             message="3 ready")
    created = [name for kind, name, _ in events if kind == "ADDED"]
    assert created == ["web-0", "web-1", "web-2"]
    for i in (1, 2):  # web-i appears only after web-(i-1) was Running and Ready
        added_at = next(n for n, e in enumerate(events) if e[:2] == ("ADDED", f"web-{i}"))
        assert any(name == f"web-{i - 1}" and ready for _, name, ready in events[:added_at])
    pod = api.get("pods", "web-1", ns)
    assert (pod["spec"]["hostname"], pod["spec"]["subdomain"]) == ("web-1", "web")
    assert pod["metadata"]["labels"]["statefulset.kubernetes.io/pod-name"] == "web-1"
    assert pod["metadata"]["labels"]["apps.kubernetes.io/pod-index"] == "1"
    rev1 = pod["metadata"]["labels"]["controller-revision-hash"]
    assert api.get("controllerrevisions", rev1, ns)["revision"] == 1

    # Rolling update: highest ordinal first, one at a time; the identity never doubles.
    events.clear()
    code, _, err = kubectl(cluster, "set", "image", "statefulset/web", "web=nginx:1.27", "-n", ns)
    assert code == 0, err
    def updated() -> bool:
        sts = api.get("statefulsets", "web", ns)
        s = sts.get("status", {})
        return s.get("observedGeneration") == sts["metadata"]["generation"] and s.get("updatedReplicas") == 3 and \
            s.get("currentRevision") == s.get("updateRevision") != rev1 and s.get("readyReplicas") == 3

    wait_for(updated, timeout_s=90, message="rolling update done")
    deleted = [name for kind, name, _ in events if kind == "DELETED"]
    assert deleted == ["web-2", "web-1", "web-0"]
    alive: set[str] = set()
    for kind, name, _ in events:
        if kind == "ADDED":
            assert name not in alive, f"{name} existed twice"
            alive.add(name)
        elif kind == "DELETED":
            alive.discard(name)
    status = api.get("statefulsets", "web", ns)["status"]
    assert status["updateRevision"] != rev1

    # Scale down: highest ordinal first.
    events.clear()
    code, _, _ = kubectl(cluster, "scale", "sts", "web", "--replicas=1", "-n", ns)
    assert code == 0
    wait_for(lambda: [p["metadata"]["name"] for p in pods(api, ns)] == ["web-0"], timeout_s=60,
             message="scaled down")
    # The watcher may trail the list by a moment: wait for both deletions to arrive, then check their order.
    wait_for(lambda: len([1 for kind, _, _ in events if kind == "DELETED"]) >= 2, timeout_s=10,
             message="both deletions seen by the watch")
    watch.cancel()
    watcher.close()
    assert [name for kind, name, _ in events if kind == "DELETED"] == ["web-2", "web-1"]


@pytest.mark.parametrize("cascade", ["background", "foreground", "orphan"])
def test_cascading_deletion(cluster, api, ns, cascade):
    from kubemu.kubectl_workloads import delete_with_cascade

    api.create("deployments", deployment("casc", 2), ns)
    wait_for(lambda: rolled_out(api, ns, "casc"), timeout_s=60, message="rolled out")
    rs_name = api.list("replicasets", ns).items[0]["metadata"]["name"]
    pod_uids = {p["metadata"]["uid"] for p in pods(api, ns)}
    seen_foreground = {"deployment": False}
    gone = delete_with_cascade(api, "deployments", "casc", ns, cascade=cascade)
    if cascade == "foreground":
        assert "foregroundDeletion" in gone["metadata"]["finalizers"] and gone["metadata"]["deletionTimestamp"]

        def deployment_state():
            try:
                d = api.get("deployments", "casc", ns)
            except errors.NotFound:
                return "gone"
            if api.list("replicasets", ns).items or pods(api, ns):
                assert "foregroundDeletion" in d["metadata"]["finalizers"]
                seen_foreground["deployment"] = True  # still there while its dependents are
            return None

        wait_for(deployment_state, timeout_s=60, message="foreground deletion finished")
        assert seen_foreground["deployment"]
        assert not api.list("replicasets", ns).items
        assert not [p for p in pods(api, ns) if not p["metadata"].get("deletionTimestamp")]
    elif cascade == "background":
        wait_for(lambda: not api.list("replicasets", ns).items and not pods(api, ns), timeout_s=60,
                 message="dependents collected")
    else:
        wait_for(lambda: not api.list("deployments", ns).items, timeout_s=30, message="deployment gone")
        rs = api.get("replicasets", rs_name, ns)
        assert not rs["metadata"].get("ownerReferences")
        time.sleep(1.0)
        assert {p["metadata"]["uid"] for p in pods(api, ns)} == pod_uids, "pods kept"
        assert all(p["metadata"]["ownerReferences"][0]["name"] == rs_name for p in pods(api, ns))


def test_deleting_a_namespace_removes_its_contents(cluster, api, ns):
    api.create("deployments", deployment("doomed", 2), ns)
    api.create("configmaps", {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"},
                              "data": {"a": "b"}}, ns)
    wait_for(lambda: rolled_out(api, ns, "doomed"), timeout_s=60, message="rolled out")
    api.delete("namespaces", ns)
    assert api.get("namespaces", ns)["status"]["phase"] == "Terminating"
    wait_for(lambda: not any(n["metadata"]["name"] == ns for n in api.list("namespaces").items), timeout_s=60,
             message="namespace gone")
    for resource in ("deployments", "replicasets", "pods", "configmaps"):
        assert not api.list(resource, ns).items


def test_kubectl_create_scale_restart_pause(cluster, api, ns):
    code, out, err = kubectl(cluster, "create", "deployment", "cli", "--image=nginx:1.25", "--replicas=2",
                             "-n", ns)
    assert (code, out, err) == (0, "deployment.apps/cli created\n", "")
    wait_for(lambda: rolled_out(api, ns, "cli"), timeout_s=60, message="rolled out")
    assert kubectl(cluster, "scale", "deployment/cli", "--replicas=3", "-n", ns)[:2] == (
        0, "deployment.apps/cli scaled\n")
    wait_for(lambda: rolled_out(api, ns, "cli") and rolled_out(api, ns, "cli")["status"]["readyReplicas"] == 3,
             timeout_s=60, message="scaled up")
    assert kubectl(cluster, "rollout", "pause", "deployment/cli", "-n", ns)[:2] == (0, "deployment.apps/cli paused\n")
    code, _, err = kubectl(cluster, "rollout", "restart", "deployment/cli", "-n", ns)
    assert code == 1 and "paused" in err
    assert kubectl(cluster, "rollout", "resume", "deployment/cli", "-n", ns)[:2] == (
        0, "deployment.apps/cli resumed\n")
    before = {p["metadata"]["uid"] for p in pods(api, ns)}
    assert kubectl(cluster, "rollout", "restart", "deployment/cli", "-n", ns)[:2] == (
        0, "deployment.apps/cli restarted\n")
    wait_for(lambda: rolled_out(api, ns, "cli") and len(pods(api, ns)) == 3 and not (
        {p["metadata"]["uid"] for p in pods(api, ns)} & before), timeout_s=90, message="restarted")
    from kubemu.kubectl_workloads import format_workloads

    table = format_workloads("deployments", api.list("deployments", ns).items)
    assert table.splitlines()[0].split() == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert table.splitlines()[1].split()[:4] == ["cli", "3/3", "3", "3"]


def test_daemonset_runs_one_pod_per_node_placed_by_the_scheduler(cluster, api, ns):
    ds = {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent"},
          "spec": {"selector": {"matchLabels": {"app": "agent"}},
                   "template": {"metadata": {"labels": {"app": "agent"}},
                                "spec": {"terminationGracePeriodSeconds": 1,
                                         "containers": [{"name": "agent", "image": "pause"}]}}}}
    api.create("daemonsets", ds, ns)

    def settled():
        got = api.get("daemonsets", "agent", ns).get("status") or {}
        return got if got.get("numberReady") == 3 and got.get("updatedNumberScheduled") == 3 else None

    status = wait_for(settled, timeout_s=60, message="daemon pods ready")
    assert (status["desiredNumberScheduled"], status["currentNumberScheduled"], status["numberMisscheduled"]) == (
        3, 3, 0)
    running = pods(api, ns)
    assert sorted(p["spec"]["nodeName"] for p in running) == ["node-1", "node-2", "node-3"]
    for pod in running:
        terms = pod["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][
            "nodeSelectorTerms"]
        assert terms == [{"matchFields": [{"key": "metadata.name", "operator": "In",
                                           "values": [pod["spec"]["nodeName"]]}]}]
        assert {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"} in \
            pod["spec"]["tolerations"]
    code, out, _ = kubectl(cluster, "rollout", "status", "daemonset/agent", "-n", ns, "--timeout", "5s")
    assert (code, out.splitlines()[-1]) == (0, 'daemon set "agent" successfully rolled out')


def test_job_completions_and_backoff_limit(cluster, api, ns):
    def job(name: str, command: str, **spec) -> dict:
        return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
                "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [
                    {"name": "work", "image": "busybox", "command": ["sh", "-c", command]}]}}, **spec}}

    api.create("jobs", job("ok", "sleep 0.2", completions=3, parallelism=2), ns)
    api.create("jobs", job("bad", "exit 3", backoffLimit=1), ns)

    def condition(name: str):
        j = api.get("jobs", name, ns)
        conds = [c for c in (j.get("status") or {}).get("conditions") or [] if c.get("status") == "True"]
        return (j, conds[-1]) if conds else None

    ok, cond = wait_for(lambda: condition("ok"), timeout_s=60, message="job ok finished")
    assert cond["type"] == "Complete" and ok["status"]["succeeded"] == 3 and "active" not in ok["status"]
    assert ok["status"]["completionTime"] and ok["spec"]["selector"] == {
        "matchLabels": {"batch.kubernetes.io/job-name": "ok"}}
    bad, cond = wait_for(lambda: condition("bad"), timeout_s=60, message="job bad finished")
    assert (cond["type"], cond["reason"]) == ("Failed", "BackoffLimitExceeded")
    assert bad["status"]["failed"] == 2
    from kubemu.kubectl_workloads import format_workloads

    table = format_workloads("jobs", sorted(api.list("jobs", ns).items, key=lambda j: j["metadata"]["name"]))
    rows = [line.split()[:3] for line in table.splitlines()]
    assert rows == [["NAME", "STATUS", "COMPLETIONS"], ["bad", "Failed", "0/1"], ["ok", "Complete", "3/3"]]
