"""``--runtime simulated``: 100 pods on one kubelet, no container processes, behaviour from data."""

from __future__ import annotations

import json
import os
import sys
import time

import psutil
import pytest

from tests.e2e.test_kubelet_pods import container, node_ready, phase, pod, start_kubelet, status_of, stop_kubelet
from tests.helpers import wait_for

pytestmark = pytest.mark.e2e

PODS = 100


@pytest.fixture(scope="module")
def node(cluster):
    n = start_kubelet(cluster, "kl-sim", 62, "--runtime", "simulated", "--max-pods", "250", "--pod-workers", "16",
                      cpu="64", memory="256Gi")
    api = cluster.client(retry_timeout_s=10)
    wait_for(lambda: node_ready(api, n.name), timeout_s=30, message="simulated kubelet Ready")
    yield n
    api.close()
    stop_kubelet(cluster, n, runtime="simulated")


def running_count(api, ns: str) -> int:
    return sum(1 for p in api.list("pods", ns).items if (p.get("status") or {}).get("phase") == "Running")


def test_hundred_pods_run_without_processes(api, ns, node):
    started = time.monotonic()
    for i in range(PODS):
        api.create("pods", pod(f"sim-{i:03d}", ns, node, [{"name": "web", "image": "nginx"},
                                                           {"name": "side", "image": "busybox"}]))
    wait_for(lambda: running_count(api, ns) == PODS, timeout_s=120, interval_s=0.5, message=f"{PODS} pods Running")
    elapsed = time.monotonic() - started
    print(f"{PODS} simulated pods Running in {elapsed:.1f}s")
    pods = api.list("pods", ns).items
    assert len({p["status"]["podIP"] for p in pods}) == PODS
    assert all(c["ready"] for p in pods for c in p["status"]["containerStatuses"])
    assert node.proc.alive()
    kubelet = psutil.Process(node.proc.pid)
    assert kubelet.children() == [], "the simulated runtime starts no processes"
    nodes = api.get("nodes", node.name)
    assert nodes["status"]["nodeInfo"]["containerRuntimeVersion"].startswith("kubemu-simulated://")


def test_behaviour_from_annotations(api, ns, node):
    behaviour = {"runSeconds": 0.5, "exitCode": 3}
    api.create("pods", {**pod("job", ns, node, [{"name": "c", "image": "busybox"}], restartPolicy="Never"),
                        "metadata": {"name": "job", "namespace": ns,
                                     "annotations": {"simulated.kubemu.io/behaviour": json.dumps(behaviour)}}})
    status = wait_for(lambda: phase(api, "job", ns, "Failed"), timeout_s=30, message="simulated job fails")
    assert container(status, "c")["state"]["terminated"]["exitCode"] == 3
    api.create("pods", {**pod("unready", ns, node, [{"name": "c", "image": "nginx", "readinessProbe": {
        "httpGet": {"port": 80}, "periodSeconds": 1}}]), "metadata": {
        "name": "unready", "namespace": ns, "annotations": {"simulated.kubemu.io/behaviour": "ready: false"}}})
    status = wait_for(lambda: phase(api, "unready", ns, "Running"), timeout_s=30, message="Running")
    assert container(status, "c")["ready"] is False
    api.create("pods", pod("nopull", ns, node, [{"name": "c", "image": "does-not-exist"}]))
    wait_for(lambda: ((container(status_of(api, "nopull", ns), "c").get("state") or {}).get("waiting") or {})
             .get("reason") in ("ErrImagePull", "ImagePullBackOff"), timeout_s=30, message="simulated pull failure")


# A fake CNI IPAM plugin: hands out 127.248.0.<n>, logs every call.
FAKE_PLUGIN = """#!{python}
import json, os, sys
conf = json.load(sys.stdin)
state = conf["stateDir"]
os.makedirs(state, exist_ok=True)
cid = os.environ["CNI_CONTAINERID"]
with open(os.path.join(state, "calls"), "a") as f:
    f.write(os.environ["CNI_COMMAND"] + " " + cid + " " + os.environ.get("CNI_ARGS", "") + "\\n")
if os.environ["CNI_COMMAND"] == "ADD":
    n = len(os.listdir(state)) + 1
    open(os.path.join(state, cid), "w").close()
    print(json.dumps({{"cniVersion": conf["cniVersion"], "ips": [{{"address": "127.248.0.%d/24" % n}}]}}))
"""


def test_pod_ips_from_a_cni_plugin(cluster, api, ns, tmp_path):
    bin_dir = tmp_path / "cni-bin"
    bin_dir.mkdir()
    plugin = bin_dir / "fake-ipam"
    plugin.write_text(FAKE_PLUGIN.format(python=sys.executable))
    os.chmod(plugin, 0o755)
    conf = tmp_path / "net.conf"
    conf.write_text(json.dumps({"cniVersion": "1.0.0", "name": "kubemu", "type": "fake-ipam",
                                "stateDir": str(tmp_path / "cni-state")}))
    node = start_kubelet(cluster, "kl-cni", 63, "--runtime", "simulated", "--cni-conf-file", str(conf),
                         "--cni-bin-dir", str(bin_dir))
    try:
        wait_for(lambda: node_ready(api, node.name), timeout_s=30, message="CNI kubelet Ready")
        api.create("pods", pod("cni", ns, node, [{"name": "c", "image": "nginx"}]))
        status = wait_for(lambda: phase(api, "cni", ns, "Running"), timeout_s=30, message="Running")
        assert status["podIP"].startswith("127.248.0.")
        api.delete("pods", "cni", ns, grace_period_s=0)
        calls = tmp_path / "cni-state" / "calls"
        wait_for(lambda: "DEL" in calls.read_text(), timeout_s=30, message="CNI DEL on deletion")
        add = calls.read_text().splitlines()[0]
        assert add.startswith("ADD ") and f"K8S_POD_NAMESPACE={ns};K8S_POD_NAME=cni" in add
    finally:
        stop_kubelet(cluster, node, runtime="simulated")
