"""High availability under fault injection, through `kubemu up` and `kubemu chaos`: a 3-member
etcd, two apiservers, two schedulers and two controller managers; killing one of each loses
no acknowledged write and the standby scheduler takes over within one lease duration."""

from __future__ import annotations

import threading
import time

import pytest

from kubemu.cluster import ClusterDir
from machinery import errors
from tests.helpers import wait_for
from tests.test_supervisor import down_and_reap, kubemu

pytestmark = pytest.mark.e2e

LEASE_S = 4


@pytest.fixture(scope="module")
def ha(tmp_path_factory):
    cdir = ClusterDir(str(tmp_path_factory.mktemp("ha")))
    result = kubemu("up", "--cluster-dir", cdir.path, "--ports", "auto", "--nodes", "2", "--etcd-members", "3",
                    "--apiservers", "2", "--schedulers", "2", "--controller-managers", "2",
                    "--component-flag", f"scheduler=--leader-elect-lease-duration={LEASE_S}",
                    "--component-flag", "scheduler=--leader-elect-renew-deadline=3",
                    "--component-flag", "scheduler=--leader-elect-retry-period=1",
                    "--component-flag", f"controller-manager=--leader-elect-lease-duration={LEASE_S}",
                    "--component-flag", "controller-manager=--leader-elect-renew-deadline=3",
                    "--component-flag", "controller-manager=--leader-elect-retry-period=1", timeout_s=180)
    assert result.returncode == 0, result.stdout + result.stderr
    yield cdir
    down_and_reap(cdir)


def chaos(cdir: ClusterDir, *args: str) -> str:
    result = kubemu("chaos", "--cluster-dir", cdir.path, *args)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


class Writer:
    """Creates ConfigMaps in a loop, remembering every one the API acknowledged."""

    def __init__(self, cdir: ClusterDir, namespace: str):
        self.client = cdir.api_client(retry_timeout_s=3.0, request_timeout_s=3.0)
        self.namespace, self.acked, self.failed = namespace, [], 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        n = 0
        while not self._stop.is_set():
            n += 1
            try:
                self.client.create("configmaps", {"apiVersion": "v1", "kind": "ConfigMap",
                                                  "metadata": {"name": f"w-{n}"}}, self.namespace)
                self.acked.append(f"w-{n}")
            except errors.AlreadyExists:
                self.acked.append(f"w-{n}")
            except errors.APIError:
                self.failed += 1
            time.sleep(0.05)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(10)


def test_losing_an_etcd_member_and_an_apiserver_loses_no_acknowledged_write(ha):
    client = ha.api_client(retry_timeout_s=10.0)
    client.create("namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "writes"}})
    with Writer(ha, "writes") as writer:
        wait_for(lambda: len(writer.acked) >= 10, timeout_s=20, message="writes flowing")
        chaos(ha, "kill", "etcd-1")
        mark = len(writer.acked)
        wait_for(lambda: len(writer.acked) >= mark + 10, timeout_s=30, message="writes go on without etcd-1")
        chaos(ha, "kill", "apiserver-1")
        mark = len(writer.acked)
        wait_for(lambda: len(writer.acked) >= mark + 10, timeout_s=30, message="writes go on without apiserver-1")
    stored = {c["metadata"]["name"] for c in client.list_all("configmaps", "writes").items}
    assert set(writer.acked) <= stored, f"lost acknowledged writes: {sorted(set(writer.acked) - stored)[:10]}"
    chaos(ha, "restart", "etcd-1")
    chaos(ha, "restart", "apiserver-1")


def test_standby_scheduler_takes_over_within_one_lease(ha):
    client = ha.api_client(retry_timeout_s=10.0)
    holder = client.get("leases", "kube-scheduler", "kube-system")["spec"]["holderIdentity"]
    assert holder in ("scheduler-1", "scheduler-2")
    out = chaos(ha, "kill", "leader", "scheduler")
    assert f"killed {holder}" in out
    killed_at = time.monotonic()
    client.create("pods", {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "after-failover"},
                           "spec": {"containers": [{"name": "c", "image": "pause"}]}}, "default")
    new = wait_for(lambda: (client.get("leases", "kube-scheduler", "kube-system")["spec"]["holderIdentity"]
                            not in ("", holder)) and client.get("leases", "kube-scheduler", "kube-system"),
                   timeout_s=LEASE_S * 3, message="a new scheduler leader")
    took = time.monotonic() - killed_at
    assert took <= LEASE_S + 3, f"failover took {took:.1f}s, more than one lease duration (+retry)"
    wait_for(lambda: client.get("pods", "after-failover", "default")["spec"].get("nodeName"), timeout_s=20,
             message="the new leader schedules")
    assert new["spec"]["holderIdentity"] != holder
    chaos(ha, "restart", holder)


def test_pause_for_a_duration_resumes(ha):
    started = time.monotonic()
    out = chaos(ha, "pause", "kubelet", "node-1", "--for", "1s")
    assert "paused node-1" in out and "resumed node-1" in out and time.monotonic() - started >= 1
    status = kubemu("status", "--cluster-dir", ha.path)
    assert "node-1" in status.stdout


def test_unknown_target_is_a_clear_error(ha):
    result = kubemu("chaos", "--cluster-dir", ha.path, "kill", "nonsense")
    assert result.returncode == 1 and 'no component "nonsense"' in result.stderr


def test_standby_controller_manager_takes_over(ha):
    client = ha.api_client(retry_timeout_s=10.0)
    holder = client.get("leases", "kube-controller-manager", "kube-system")["spec"]["holderIdentity"]
    assert holder in ("controller-manager-1", "controller-manager-2")
    assert f"killed {holder}" in chaos(ha, "kill", "leader", "controller-manager")
    killed_at = time.monotonic()
    client.create("deployments", {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "after-cm-failover"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "acf"}},
                 "template": {"metadata": {"labels": {"app": "acf"}},
                              "spec": {"containers": [{"name": "c", "image": "pause"}]}}}}, "default")
    wait_for(lambda: client.get("leases", "kube-controller-manager", "kube-system")["spec"]["holderIdentity"]
             not in ("", holder), timeout_s=LEASE_S * 3, message="a new controller-manager leader")
    assert time.monotonic() - killed_at <= LEASE_S + 3
    wait_for(lambda: len(client.list("pods", "default", label_selector="app=acf").items) == 2, timeout_s=30,
             message="the new leader's controllers create the Deployment's pods")
    chaos(ha, "restart", holder)
