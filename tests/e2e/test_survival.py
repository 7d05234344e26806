"""Every component survives the loss of the apiserver: the scheduler and the controller manager
lose their leases while it is away, drop their state and campaign again; the kubelet keeps its
pods; when the apiserver returns the same processes carry on and the cluster works."""

from __future__ import annotations

import pytest

from kubemu.cli import describe_component
from kubemu.cluster import ClusterDir, component_credentials
from tests.e2e.test_chaos_ha import chaos
from tests.helpers import wait_for
from tests.test_supervisor import down_and_reap, kubemu

pytestmark = pytest.mark.e2e

SHORT_LEASE = ["--leader-elect-lease-duration=4", "--leader-elect-renew-deadline=3",
               "--leader-elect-retry-period=1"]


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    cdir = ClusterDir(str(tmp_path_factory.mktemp("survival")))
    flags = [a for kind in ("scheduler", "controller-manager") for f in SHORT_LEASE
             for a in ("--component-flag", f"{kind}={f}")]
    result = kubemu("up", "--cluster-dir", cdir.path, "--ports", "auto", "--nodes", "1", *flags, timeout_s=180)
    assert result.returncode == 0, result.stdout + result.stderr
    yield cdir
    down_and_reap(cdir)


def components(cdir: ClusterDir) -> dict[str, dict]:
    return {c["name"]: c for c in (cdir.read_state() or {}).get("components", [])}


def test_components_outlive_an_apiserver_outage_longer_than_their_leases(small):
    before = {name: c["pid"] for name, c in components(small).items()}
    client = small.api_client(retry_timeout_s=10.0)
    client.create("pods", {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "before"},
                           "spec": {"containers": [{"name": "c", "image": "pause"}]}}, "default")
    wait_for(lambda: client.get("pods", "before", "default")["status"].get("phase") == "Running", timeout_s=30,
             message="pod Running before the outage")
    chaos(small, "kill", "apiserver")
    sched, cm = components(small)["scheduler"], components(small)["controller-manager"]

    def leader(comp: dict) -> bool:
        return describe_component(comp["grpcAddress"], creds=component_credentials(comp))["leader"]

    wait_for(lambda: leader(sched) is False and leader(cm) is False,
             timeout_s=20, message="scheduler and controller manager notice they lost their leases")
    assert "started apiserver again" in chaos(small, "start", "apiserver")
    assert "apiserver is running" in chaos(small, "start", "apiserver")  # nothing to do
    client.create("pods", {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "after"},
                           "spec": {"containers": [{"name": "c", "image": "pause"}]}}, "default")
    wait_for(lambda: client.get("pods", "after", "default")["status"].get("phase") == "Running", timeout_s=40,
             message="the same scheduler and kubelet run a new pod after the outage")
    assert client.get("pods", "before", "default")["status"]["phase"] == "Running"
    after = {name: c["pid"] for name, c in components(small).items()}
    for name in ("scheduler", "controller-manager", "node-1", "etcd"):
        assert after[name] == before[name], f"{name} was restarted; it should have survived"
    wait_for(lambda: leader(sched) is True, timeout_s=20, message="the scheduler leads again")
