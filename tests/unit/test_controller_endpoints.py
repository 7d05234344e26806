"""The EndpointSlice and Endpoints controllers against an in-memory API: selected pods, readiness,
terminating pods, named target ports resolved per pod, owner references and labels, Services
without selectors, informer lag, and cleanup."""

from __future__ import annotations

from controller_manager.endpoints import EndpointsController
from controller_manager.endpointslice import CONTROLLER_NAME, EndpointSliceController
from machinery import meta
from tests.unit.test_controller_common import FakeAPI, drain


def service(api: FakeAPI, name: str = "web", *, selector=None, ports=None, **spec) -> dict:
    body = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "ns",
                                                                 "labels": {"team": "a"}},
            "spec": {"selector": {"app": "web"} if selector is None else selector,
                     "ports": ports if ports is not None else [{"name": "http", "port": 80, "targetPort": 8080,
                                                                "protocol": "TCP"}], **spec}}
    return api.create("services", body, "ns")


def pod(api: FakeAPI, name: str, ip: str, *, labels=None, ready: bool = True, ports=None, node: str = "node-1") -> dict:
    body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "ns",
                                                            "labels": labels or {"app": "web"}},
            "spec": {"nodeName": node, "containers": [{"name": "c", "image": "nginx", "ports": ports or []}]}}
    created = api.create("pods", body, "ns")

    def run(p: dict) -> None:
        p["status"] = {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}]}
        meta.set_condition(p["status"], "Ready", "True" if ready else "False")

    api.mutate("pods", name, "ns", run, status=True)
    return created


def slices(api: FakeAPI) -> list[dict]:
    return api.of("endpointslices", "ns")


def addresses(slice_: dict) -> dict[str, dict]:
    return {e["addresses"][0]: e["conditions"] for e in slice_["endpoints"]}


def make_slices(api: FakeAPI) -> EndpointSliceController:
    return EndpointSliceController(api, api.lister("services"), api.lister("pods"), api.lister("endpointslices"))


def make_endpoints(api: FakeAPI) -> EndpointsController:
    return EndpointsController(api, api.lister("services"), api.lister("pods"), api.lister("endpoints"))


def test_a_slice_lists_the_selected_pods_with_their_conditions_owned_by_the_service():
    api = FakeAPI()
    ctrl = make_slices(api)
    svc = service(api)
    pod(api, "a", "127.244.1.2")
    pod(api, "b", "127.244.1.3", ready=False)
    pod(api, "other", "127.244.1.4", labels={"app": "other"})
    drain(ctrl)
    [slice_] = slices(api)
    assert addresses(slice_) == {"127.244.1.2": {"ready": True, "serving": True, "terminating": False},
                                 "127.244.1.3": {"ready": False, "serving": False, "terminating": False}}
    assert slice_["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]
    assert slice_["addressType"] == "IPv4"
    assert slice_["metadata"]["generateName"] == "web-"
    assert slice_["metadata"]["labels"] == {"team": "a", "kubernetes.io/service-name": "web",
                                            "endpointslice.kubernetes.io/managed-by": CONTROLLER_NAME}
    ref = slice_["metadata"]["ownerReferences"][0]
    assert (ref["kind"], ref["name"], ref["uid"], ref["controller"]) == ("Service", "web", svc["metadata"]["uid"],
                                                                          True)
    endpoint = slice_["endpoints"][0]
    assert endpoint["nodeName"] == "node-1" and endpoint["targetRef"]["kind"] == "Pod"


def test_readiness_changes_terminating_pods_and_deletions_follow_the_pods():
    api = FakeAPI()
    ctrl = make_slices(api)
    service(api)
    pod(api, "a", "127.244.1.2", ready=False)
    drain(ctrl)
    api.set_pod("a", "ns", ready=True)
    drain(ctrl)
    assert addresses(slices(api)[0])["127.244.1.2"]["ready"] is True
    api.delete("pods", "a", "ns")  # bound to a node: graceful, the kubelet has not confirmed yet
    drain(ctrl)
    assert addresses(slices(api)[0])["127.244.1.2"] == {"ready": False, "serving": True, "terminating": True}
    api.remove("pods", "a", "ns")
    drain(ctrl)
    [slice_] = slices(api)
    assert slice_["endpoints"] == [] and slice_["ports"] == [], "an empty slice remains, as in Kubernetes"


def test_a_named_target_port_is_resolved_on_each_pod_and_pods_without_it_are_left_out():
    api = FakeAPI()
    ctrl = make_slices(api)
    service(api, ports=[{"name": "http", "port": 80, "targetPort": "web", "protocol": "TCP"}])
    pod(api, "a", "127.244.1.2", ports=[{"name": "web", "containerPort": 8080, "protocol": "TCP"}])
    pod(api, "b", "127.244.1.3", ports=[{"name": "web", "containerPort": 9090, "protocol": "TCP"}])
    pod(api, "c", "127.244.1.4", ports=[{"name": "metrics", "containerPort": 9100, "protocol": "TCP"}])
    drain(ctrl)
    by_port = {s["ports"][0]["port"]: list(addresses(s)) for s in slices(api)}
    assert by_port == {8080: ["127.244.1.2"], 9090: ["127.244.1.3"]}


def test_informer_lag_never_creates_a_slice_twice_and_converged_slices_are_not_rewritten():
    api = FakeAPI(lag=True)
    ctrl = make_slices(api)
    service(api)
    pod(api, "a", "127.244.1.2")
    api.flush()
    drain(ctrl)
    assert len(slices(api)) == 1
    for _ in range(3):  # reconciled again before the informer shows the new slice
        ctrl.enqueue("ns/web")
        drain(ctrl)
    assert len(slices(api)) == 1
    api.flush()
    writes = ctrl.writes
    ctrl.enqueue("ns/web")
    drain(ctrl)
    assert len(slices(api)) == 1 and ctrl.writes == writes


def test_services_without_a_selector_and_status_heartbeats_cause_no_writes():
    api = FakeAPI()
    ctrl = make_slices(api)
    service(api, "manual", selector={})
    pod(api, "a", "127.244.1.2")
    drain(ctrl)
    assert slices(api) == []
    service(api)
    drain(ctrl)
    writes = ctrl.writes
    api.mutate("pods", "a", "ns", lambda p: p["status"].update(startTime="2024-01-01T00:00:00Z"), status=True)
    assert drain(ctrl) == []
    assert ctrl.writes == writes


def test_a_slice_deleted_by_hand_comes_back():
    api = FakeAPI()
    ctrl = make_slices(api)
    service(api)
    pod(api, "a", "127.244.1.2")
    drain(ctrl)
    api.delete("endpointslices", slices(api)[0]["metadata"]["name"], "ns")
    drain(ctrl)
    assert [list(addresses(s)) for s in slices(api)] == [["127.244.1.2"]]


def test_endpoints_split_ready_and_not_ready_addresses_and_leave_terminating_pods_out():
    api = FakeAPI()
    ctrl = make_endpoints(api)
    service(api)
    pod(api, "a", "127.244.1.2")
    pod(api, "b", "127.244.2.2", ready=False, node="node-2")
    pod(api, "c", "127.244.1.9")
    api.delete("pods", "c", "ns")
    drain(ctrl)
    ep = api.get("endpoints", "web", "ns")
    [subset] = ep["subsets"]
    assert [a["ip"] for a in subset["addresses"]] == ["127.244.1.2"]
    assert subset["addresses"][0]["nodeName"] == "node-1"
    assert subset["addresses"][0]["targetRef"]["name"] == "a"
    assert [a["ip"] for a in subset["notReadyAddresses"]] == ["127.244.2.2"]
    assert subset["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]
    assert ep["metadata"]["labels"] == {"team": "a"}


def test_endpoints_go_with_their_service_and_headless_services_without_ports_list_addresses():
    api = FakeAPI()
    ctrl = make_endpoints(api)
    service(api, "hl", ports=[], clusterIP="None")
    pod(api, "a", "127.244.1.2")
    drain(ctrl)
    ep = api.get("endpoints", "hl", "ns")
    assert ep["subsets"] == [{"addresses": [{"ip": "127.244.1.2", "nodeName": "node-1",
                                             "targetRef": ep["subsets"][0]["addresses"][0]["targetRef"]}]}]
    assert ep["metadata"]["labels"]["service.kubernetes.io/headless"] == ""
    api.delete("services", "hl", "ns")
    drain(ctrl)
    assert api.of("endpoints", "ns") == []


def test_endpoints_of_a_service_with_nothing_selected_have_no_subsets():
    api = FakeAPI()
    ctrl = make_endpoints(api)
    service(api)
    drain(ctrl)
    assert api.get("endpoints", "web", "ns")["subsets"] == []
