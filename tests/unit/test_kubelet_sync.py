"""The pod loop's sync (kubelet/kubelet.py) on the simulated runtime with an in-memory API: init
sequencing, restart policies, CrashLoopBackOff, admission, env errors and deletion — no processes."""

from __future__ import annotations

import copy
import json

import pytest

from kubelet.kubelet import Kubelet, KubeletTimings
from kubelet.runtime.simulated import SimulatedRuntime
from machinery import errors
from machinery.events import EventRecorder


class FakeAPI:
    """Just enough of APIClient for the kubelet: objects by (resource, ns, name), events recorded."""

    def __init__(self):
        self.objects: dict[tuple[str, str, str], dict] = {}
        self.events: list[dict] = []
        self.deleted: list[tuple[str, str]] = []
        self.revision = 0
        self.status_writes: list[str] = []  # "ok" or "conflict", one per update_status call

    def get(self, resource, name, namespace=""):
        try:
            return copy.deepcopy(self.objects[(resource, namespace, name)])
        except KeyError:
            raise errors.NotFound(f'{resource} "{name}" not found') from None

    def create(self, resource, obj, namespace=""):
        if resource == "events":
            self.events.append(obj)
            return obj
        self.revision += 1
        obj["metadata"]["resourceVersion"] = str(self.revision)
        self.objects[(resource, namespace or obj["metadata"].get("namespace", ""), obj["metadata"]["name"])] = obj
        return obj

    def update_status(self, resource, obj):
        """Compare-and-swap on the resourceVersion, as the apiserver does."""
        m = obj["metadata"]
        stored = self.objects[(resource, m["namespace"], m["name"])]
        if m["resourceVersion"] != stored["metadata"]["resourceVersion"]:
            self.status_writes.append("conflict")
            raise errors.Conflict(f'Operation cannot be fulfilled on {resource} "{m["name"]}"')
        self.status_writes.append("ok")
        self.revision += 1
        stored = {**copy.deepcopy(stored), "status": copy.deepcopy(obj["status"])}
        stored["metadata"]["resourceVersion"] = str(self.revision)
        self.objects[(resource, m["namespace"], m["name"])] = stored
        return copy.deepcopy(stored)

    def mutate(self, resource, name, namespace, change, *, status=False, attempts=10):
        try:
            obj = self.get(resource, name, namespace)
        except errors.NotFound:
            return None
        if change(obj) is False:
            return None
        self.revision += 1
        obj["metadata"]["resourceVersion"] = str(self.revision)
        self.objects[(resource, namespace, name)] = obj
        return copy.deepcopy(obj)

    def delete(self, resource, name, namespace="", **kw):
        self.objects.pop((resource, namespace, name), None)
        self.deleted.append((namespace, name))
        return {}

    def reasons(self, name: str) -> list[str]:
        return [e["reason"] for e in self.events if e["involvedObject"]["name"] == name]


class Pods:
    """Stands in for the kubelet's informer: reads straight from the fake API."""

    def __init__(self, api):
        self.api = api

    def get(self, key):
        ns, name = key.split("/")
        return copy.deepcopy(self.api.objects.get(("pods", ns, name)))

    def list(self):
        return [copy.deepcopy(o) for (r, _, _), o in self.api.objects.items() if r == "pods"]


class Services:
    """Stands in for the kubelet's Service informer (synced, reading the fake API)."""

    has_synced = True

    def __init__(self, api):
        self.api = api

    def list(self):
        return [copy.deepcopy(o) for (r, _, _), o in self.api.objects.items() if r == "services"]


@pytest.fixture
def kubelet(tmp_path):
    api = FakeAPI()
    k = Kubelet(api, SimulatedRuntime(), "node-1", "127.1.0.1", ipam_dir=str(tmp_path / "ipam"),
                pod_cidr_source=lambda: "127.250.0.0/24", root_dir=str(tmp_path),
                allocatable_source=lambda: {"cpu": "2", "memory": "4Gi", "pods": "110"},
                timings=KubeletTimings(crash_backoff_s=10, crash_backoff_max_s=40))
    k.pods = Pods(api)
    k.services = Services(api)
    # Events synchronously, so a test reads them right after sync() (the background sending the
    # kubelet uses is tested in tests/test_events.py).
    k.recorder = EventRecorder(api, "kubelet", "node-1")
    yield k
    k.probes.stop_all()


def add_pod(kubelet, name: str, containers: list[dict], *, behaviour: dict | None = None, **spec) -> str:
    annotations = {f"simulated.kubemu.io/behaviour.{c}": json.dumps(b) for c, b in (behaviour or {}).items()}
    kubelet.client.create("pods", {"apiVersion": "v1", "kind": "Pod",
                                   "metadata": {"name": name, "namespace": "ns", "uid": f"uid-{name}",
                                                "annotations": annotations},
                                   "spec": {"nodeName": "node-1", "containers": containers, **spec}, "status": {}})
    return f"ns/{name}"


def status(kubelet, name: str) -> dict:
    return kubelet.client.objects[("pods", "ns", name)]["status"]


def test_init_containers_run_in_order_before_the_app(kubelet):
    key = add_pod(kubelet, "p", [{"name": "app", "image": "nginx"}],
                  initContainers=[{"name": "one", "image": "busybox"}, {"name": "two", "image": "busybox"}],
                  behaviour={"one": {"runSeconds": 0}, "two": {"runSeconds": 3600}})
    kubelet.sync(key)
    s = status(kubelet, "p")
    assert s["phase"] == "Pending"
    assert [list(c["state"]) for c in s["initContainerStatuses"]] == [["terminated"], ["running"]]
    assert s["containerStatuses"][0]["state"]["waiting"]["reason"] == "PodInitializing"
    assert kubelet.runtime.container_status(kubelet._records["uid-p"].sandbox, "app").state == "waiting"
    # "two" finishes: the app starts on the next sync.
    sandbox = kubelet._records["uid-p"].sandbox
    kubelet.runtime.stop_container(sandbox, "two", 0)
    kubelet.runtime._containers[("uid-p", "two")].exit_code = 0
    kubelet.sync(key)
    s = status(kubelet, "p")
    assert s["phase"] == "Running" and s["podIP"].startswith("127.250.0.")
    assert {c["type"]: c["status"] for c in s["conditions"]}["Initialized"] == "True"
    assert kubelet.client.reasons("p").count("Started") == 3


def test_containers_are_created_then_started(kubelet):
    key = add_pod(kubelet, "p", [{"name": "app", "image": "nginx"}, {"name": "bad", "image": "nginx"}],
                  behaviour={"bad": {"nope": 1}})
    kubelet.sync(key)
    assert [(e["reason"], e["message"]) for e in kubelet.client.events
            if e["reason"] in ("Created", "Started") or e["type"] == "Warning"] == [
        ("Created", "Created container: app"), ("Started", "Started container app"),
        ("Failed", "Error: failed to create container bad of pod ns/p: annotation simulated.kubemu.io/behaviour.bad: "
                   "unknown field 'nope' (known: cpuMillis, execExitCode, exitCode, live, memoryBytes, "
                   "pullDelaySeconds, pullError, ready, runSeconds, startDelaySeconds, stopDelaySeconds)")]
    bad = next(c for c in status(kubelet, "p")["containerStatuses"] if c["name"] == "bad")
    assert bad["state"]["waiting"]["reason"] == "CreateContainerError"
    assert "unknown field 'nope'" in bad["state"]["waiting"]["message"]


def test_init_failure_under_never_fails_the_pod(kubelet):
    key = add_pod(kubelet, "p", [{"name": "app", "image": "nginx"}], restartPolicy="Never",
                  initContainers=[{"name": "bad", "image": "busybox"}],
                  behaviour={"bad": {"runSeconds": 0, "exitCode": 2}})
    kubelet.sync(key)
    kubelet.sync(key)
    s = status(kubelet, "p")
    assert s["phase"] == "Failed" and s["initContainerStatuses"][0]["restartCount"] == 0


def test_crash_loop_back_off_and_never_policy(kubelet):
    key = add_pod(kubelet, "crash", [{"name": "c", "image": "busybox"}],
                  behaviour={"c": {"runSeconds": 0, "exitCode": 1}})
    assert kubelet.sync(key) is None          # started
    assert kubelet.sync(key) is None          # exited: first restart at once
    retry = kubelet.sync(key)                 # exited again: back off 10 s
    assert 9 < retry <= 10
    cs = status(kubelet, "crash")["containerStatuses"][0]
    assert cs["state"]["waiting"]["reason"] == "CrashLoopBackOff" and cs["restartCount"] == 1
    assert cs["lastState"]["terminated"]["exitCode"] == 1
    assert status(kubelet, "crash")["phase"] == "Running"
    assert "BackOff" in kubelet.client.reasons("crash")
    once = add_pod(kubelet, "once", [{"name": "c", "image": "busybox"}], restartPolicy="Never",
                   behaviour={"c": {"runSeconds": 0, "exitCode": 0}})
    kubelet.sync(once)
    kubelet.sync(once)
    assert status(kubelet, "once")["phase"] == "Succeeded"


def test_admission_rejects_pods_beyond_allocatable(kubelet):
    fits = add_pod(kubelet, "fits", [{"name": "c", "image": "pause", "resources": {"requests": {"cpu": "1500m"}}}])
    big = add_pod(kubelet, "big", [{"name": "c", "image": "pause", "resources": {"requests": {"cpu": "1"}}}])
    kubelet.sync(fits)
    kubelet.sync(big)
    s = status(kubelet, "big")
    assert (s["phase"], s["reason"]) == ("Failed", "OutOfcpu")
    assert s["message"] == ("Pod was rejected: Node didn't have enough resource: cpu, requested: 1000, used: 1500, "
                            "capacity: 2000")
    assert kubelet._records["uid-big"].sandbox is None
    assert status(kubelet, "fits")["phase"] == "Running"


def test_missing_config_map_waits_then_recovers(kubelet):
    key = add_pod(kubelet, "cfg", [{"name": "c", "image": "busybox", "env": [
        {"name": "X", "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "x"}}}]}])
    kubelet.sync(key)
    waiting = status(kubelet, "cfg")["containerStatuses"][0]["state"]["waiting"]
    assert waiting == {"reason": "CreateContainerConfigError", "message": 'configmap "settings" not found'}
    kubelet.client.create("configmaps", {"metadata": {"name": "settings", "namespace": "ns"}, "data": {"x": "1"}})
    kubelet.sync(key)
    assert status(kubelet, "cfg")["phase"] == "Running"


def test_deletion_stops_confirms_and_frees_everything(kubelet, tmp_path):
    key = add_pod(kubelet, "gone", [{"name": "c", "image": "nginx"}], volumes=[{"name": "v", "emptyDir": {}}])
    kubelet.sync(key)
    volume = tmp_path / "pods" / "uid-gone" / "volumes" / "v"
    assert volume.is_dir()
    pod = kubelet.client.objects[("pods", "ns", "gone")]
    pod["metadata"]["deletionTimestamp"] = "2024-01-01T00:00:00Z"
    pod["metadata"]["deletionGracePeriodSeconds"] = 0
    kubelet.sync(key)
    assert kubelet.client.deleted == [("ns", "gone")]
    assert not volume.exists() and kubelet.runtime.list_sandboxes() == [] and "uid-gone" not in kubelet._records
    assert kubelet._ipam_for().allocated() == {}


@pytest.mark.parametrize("seconds, printed", [(0.0004, "0s"), (0.75, "750ms"), (1.0, "1s"), (1.5, "1.5s"),
                                              (123.0049, "2m3.004s"), (3600, "1h0m0s")])
def test_pull_durations_are_printed_as_the_kubelet_prints_them(seconds, printed):
    """``Successfully pulled image "nginx" in 1.5s``: Go's Duration, truncated to milliseconds."""
    from kubelet.kubelet import go_duration_ms

    assert go_duration_ms(seconds) == printed


def test_a_stale_informer_copy_does_not_start_a_status_write(kubelet):
    """The informer may still hold the pod from before the kubelet's own last status write: the
    kubelet works from the newest copy it knows, so it neither writes again nor loses a CAS race."""
    key = add_pod(kubelet, "p", [{"name": "app", "image": "nginx"}])
    before_running = copy.deepcopy(kubelet.client.objects[("pods", "ns", "p")])
    kubelet.sync(key)
    assert status(kubelet, "p")["phase"] == "Running"
    writes = list(kubelet.client.status_writes)
    kubelet.pods = type("StaleInformer", (), {"get": lambda self, k: copy.deepcopy(before_running)})()
    kubelet.sync(key)
    assert kubelet.client.status_writes == writes, "no status write, and so no Conflict, for what is stored"
