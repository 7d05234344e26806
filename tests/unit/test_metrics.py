"""The metrics pieces on their own: the /metrics server, client-go's workqueue series, the
apiserver's request labels and /metrics authorization, scheduler and kubelet series, and what
``kubemu status`` makes of a scrape.

Series live in the process-wide registry, so tests compare values before and after.
"""

from __future__ import annotations

import types
import urllib.error
import urllib.request

import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from apiserver import metrics as api_metrics
from apiserver.admission import UserInfo
from apiserver.authz import AuthorizerChain, Request
from apiserver.authz.node import NodeAuthorizer
from apiserver.authz.rbac import RBACAuthorizer, rule_matches
from apiserver.bootstrap_rbac import cluster_role_bindings, cluster_roles
from apiserver.rest.handlers import Call, Handlers
from kubelet import metrics as kubelet_metrics
from kubemu import metrics_status
from kubemu.cluster import ClusterDir
from kubemu.supervisor import build_plan
from machinery.metrics import MetricsServer
from machinery.pb import api_pb2
from machinery.workqueue import WorkQueue
from scheduler import metrics as scheduler_metrics
from tests.unit.test_workqueue import FakeClock, poll


def value(metric: str, **labels) -> float:
    return REGISTRY.get_sample_value(metric, labels) or 0.0


# --------------------------------------------------------------------------- the /metrics server


def test_the_metrics_server_answers_metrics_in_the_text_format_and_nothing_else():
    server = MetricsServer("127.0.0.1", 0).start()
    try:
        with urllib.request.urlopen(server.url, timeout=5) as resp:
            assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/plain")
            families = {f.name for f in text_string_to_metric_families(resp.read().decode())}
        assert {"process_cpu_seconds", "process_resident_memory_bytes", "workqueue_depth"} <= families
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(server.url.replace("/metrics", "/debug"), timeout=5)
        assert err.value.code == 404
    finally:
        server.stop()


def test_a_taken_metrics_port_is_a_clear_error():
    server = MetricsServer("127.0.0.1", 0).start()
    try:
        with pytest.raises(OSError, match=f"cannot serve metrics on 127.0.0.1:{server.port}"):
            MetricsServer("127.0.0.1", server.port)
    finally:
        server.stop()


# --------------------------------------------------------------------------- work queues


def test_a_named_queue_counts_adds_retries_and_times_waiting_and_work():
    clock = FakeClock()
    q = WorkQueue("metrics-test", clock=clock)
    adds, retries = value("workqueue_adds_total", name="metrics-test"), value("workqueue_retries_total",
                                                                              name="metrics-test")
    q.add("a")
    q.add("a")  # already queued: not an add
    q.add("b")
    assert value("workqueue_adds_total", name="metrics-test") == adds + 2
    assert _depth("metrics-test") == 2
    clock.advance(3.0)
    key = poll(q)
    clock.advance(0.5)
    assert _gauge("workqueue_longest_running_processor_seconds", "metrics-test") == pytest.approx(0.5)
    q.add_rate_limited(key)
    q.done(key)
    assert value("workqueue_retries_total", name="metrics-test") == retries + 1
    assert value("workqueue_queue_duration_seconds_sum", name="metrics-test") >= 3.0
    assert value("workqueue_work_duration_seconds_sum", name="metrics-test") >= 0.5
    q.shutdown()
    assert _depth("metrics-test") is None  # a shut-down queue no longer counts


def test_an_unnamed_queue_reports_nothing():
    q = WorkQueue()
    q.add("x")
    assert _depth("") is None


def _gauge(name: str, queue: str) -> float | None:
    return REGISTRY.get_sample_value(name, {"name": queue})


def _depth(queue: str) -> float | None:
    return _gauge("workqueue_depth", queue)


# --------------------------------------------------------------------------- apiserver labels

LABELS = ("verb", "dry_run", "group", "version", "resource", "subresource", "scope", "component")


def rest(method: str, path: str, query: dict | None = None, content_type: str = "") -> dict:
    return dict(zip(LABELS, api_metrics.rest_labels(method, path, query or {}, content_type), strict=True))


def test_rest_requests_get_kubernetes_verbs_and_scopes():
    assert rest("GET", "/api/v1/namespaces/default/pods") == {
        "verb": "LIST", "dry_run": "", "group": "", "version": "v1", "resource": "pods", "subresource": "",
        "scope": "namespace", "component": "apiserver"}
    assert rest("GET", "/api/v1/pods", {"watch": "true"})["verb"] == "WATCH"
    assert rest("GET", "/api/v1/pods")["scope"] == "cluster"
    assert rest("GET", "/api/v1/watch/namespaces/x/pods")["verb"] == "WATCH"
    one = rest("GET", "/apis/apps/v1/namespaces/x/deployments/web/scale")
    assert (one["verb"], one["group"], one["subresource"], one["scope"]) == ("GET", "apps", "scale", "resource")
    assert rest("POST", "/api/v1/namespaces/x/pods", {"dryRun": "All"})["dry_run"] == "All"
    assert rest("PATCH", "/api/v1/namespaces/x/pods/p", {}, "application/apply-patch+yaml")["verb"] == "APPLY"
    assert rest("GET", "/api/v1/namespaces/x/pods/p/exec")["verb"] == "CONNECT"
    assert rest("GET", "/readyz")["subresource"] == "/readyz"
    # Made-up paths cannot make new series: everything unknown has the same empty labels.
    assert rest("GET", "/nonsense/a") == rest("GET", "/nonsense/b") == rest("GET", "/api/v1/frobs")


def test_grpc_methods_map_onto_kubernetes_verbs():
    def grpc(method: str, request) -> dict:
        return dict(zip(LABELS, api_metrics.grpc_labels(method, request), strict=True))

    create = grpc("Create", api_pb2.CreateRequest(resource="pods", namespace="default"))
    assert (create["verb"], create["resource"], create["scope"]) == ("POST", "pods", "namespace")
    status = grpc("UpdateStatus", api_pb2.UpdateRequest(resource="nodes", name="node-1"))
    assert (status["verb"], status["subresource"], status["scope"]) == ("PUT", "status", "resource")
    bind = grpc("Bind", api_pb2.BindRequest(namespace="default", name="p", node_name="n"))
    assert (bind["verb"], bind["resource"], bind["subresource"]) == ("POST", "pods", "binding")
    lease = grpc("Get", api_pb2.GetRequest(resource="leases", namespace="kube-node-lease", name="n"))
    assert (lease["verb"], lease["group"], lease["version"]) == ("GET", "coordination.k8s.io", "v1")
    assert grpc("List", api_pb2.ListRequest(resource="nodes"))["verb"] == "LIST"
    assert grpc("Watch", api_pb2.WatchRequest(resource="frobs"))["resource"] == ""


def test_record_counts_by_code_and_times_the_request():
    labels = api_metrics.rest_labels("DELETE", "/api/v1/namespaces/x/pods/p", {})
    before = value("apiserver_request_total", **dict(zip(LABELS, labels, strict=True)), code="404")
    api_metrics.record(labels, 404, started=0.0)
    assert value("apiserver_request_total", **dict(zip(LABELS, labels, strict=True)), code="404") == before + 1
    assert value("apiserver_request_duration_seconds_count", **dict(zip(LABELS, labels, strict=True))) >= 1


def test_storage_keys_name_their_group_resource():
    assert api_metrics.storage_type("/registry/pods/default/web") == "pods"
    assert api_metrics.storage_type("/registry/deployments/default/") == "deployments.apps"
    assert api_metrics.storage_type("/registry/leases/") == "leases.coordination.k8s.io"
    assert api_metrics.storage_type("/elsewhere/x") == ""


# --------------------------------------------------------------------------- /metrics authorization


def bootstrap_rbac() -> AuthorizerChain:
    objects = {"clusterroles": cluster_roles(), "clusterrolebindings": cluster_role_bindings()}
    return AuthorizerChain([NodeAuthorizer(lambda ns, name: None), RBACAuthorizer(lambda r: objects.get(r, []))])


def test_rbac_grants_the_monitoring_group_the_monitoring_urls_only():
    chain = bootstrap_rbac()
    monitor = UserInfo("prometheus", "", ("system:monitoring", "system:authenticated"))
    assert chain.allowed(Request(monitor, "get", "", path="/metrics"))[0]
    assert chain.allowed(Request(monitor, "get", "", path="/readyz/etcd"))[0]  # "/readyz/*"
    assert not chain.allowed(Request(monitor, "get", "", path="/api"))[0]
    assert not chain.allowed(Request(monitor, "list", "pods"))[0]
    node = UserInfo("system:node:n1", "", ("system:nodes", "system:authenticated"))
    assert not chain.allowed(Request(node, "get", "", path="/metrics"))[0]
    admin = UserInfo("admin", "", ("system:masters",))
    assert chain.allowed(Request(admin, "get", "", path="/metrics"))[0]
    # A rule on resources never grants a URL, and a URL rule never grants resources.
    assert not rule_matches({"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
                            Request(monitor, "get", "", path="/metrics"))
    assert not rule_matches({"nonResourceURLs": ["*"], "verbs": ["*"]}, Request(monitor, "get", "pods"))


def test_the_rest_metrics_endpoint_is_authorized_like_kubernetes():
    handlers = Handlers(types.SimpleNamespace(authorizer=bootstrap_rbac()))

    def get(user: UserInfo):
        return handlers.handle(Call("GET", "/metrics", {}, {"Accept": "text/plain"}, b"", user))

    denied = get(UserInfo("jane", "", ("system:authenticated",)))
    assert denied.code == 403 and denied.body["message"] == 'forbidden: User "jane" cannot get path "/metrics"'
    allowed = get(UserInfo("prometheus", "", ("system:monitoring",)))
    assert allowed.code == 200 and allowed.content_type.startswith("text/plain")
    names = {f.name for f in text_string_to_metric_families(allowed.body.decode())}
    assert {"apiserver_request", "process_resident_memory_bytes"} <= names


# --------------------------------------------------------------------------- scheduler and kubelet


def test_scheduling_attempts_are_counted_by_result_and_profile():
    before = value("scheduler_schedule_attempts_total", result="scheduled", profile="p")
    scheduler_metrics.attempt("p", scheduler_metrics.SCHEDULED, started=0.0)
    assert value("scheduler_schedule_attempts_total", result="scheduled", profile="p") == before + 1
    assert value("scheduler_scheduling_attempt_duration_seconds_count", result="scheduled", profile="p") >= 1
    scheduler_metrics.watch_pending(lambda: {"active": 2, "unschedulable": 1})
    try:
        assert value("scheduler_pending_pods", queue="active") == 2
        assert value("scheduler_pending_pods", queue="gated") == 0
    finally:
        scheduler_metrics.watch_pending(None)


def test_kubelet_series_count_pods_containers_and_lease_renewals():
    kubelet_metrics.watch_kubelet("node-x", lambda: (2, {"running": 3, "terminated": 1, "waiting": 1}))
    try:
        assert value("kubelet_running_pods") == 2
        assert value("kubelet_running_containers", container_state="running") == 3
        assert value("kubelet_running_containers", container_state="exited") == 1
        assert value("kubelet_running_containers", container_state="created") == 1
        assert value("kubelet_node_name", node="node-x") == 1
    finally:
        kubelet_metrics.watch_kubelet("node-x", None)
    ok, failed = value("kubelet_node_lease_renewals_total", result="success"), \
        value("kubelet_node_lease_renewals_total", result="error")
    kubelet_metrics.timed_lease_renewal(lambda: None)()

    def broken() -> None:
        raise RuntimeError("apiserver away")

    with pytest.raises(RuntimeError):
        kubelet_metrics.timed_lease_renewal(broken)()
    assert value("kubelet_node_lease_renewals_total", result="success") == ok + 1
    assert value("kubelet_node_lease_renewals_total", result="error") == failed + 1
    assert value("kubelet_node_lease_last_renew_timestamp_seconds") > 0


# --------------------------------------------------------------------------- kubemu up and status


def test_the_plan_gives_every_component_a_metrics_endpoint(tmp_path):
    plan = build_plan(ClusterDir(str(tmp_path)), nodes=1, ports="default", schedulers=2, etcd_binary="/bin/true")
    comps = {c["name"]: c for c in plan["components"]}
    assert comps["apiserver"]["metricsAddress"] == "https://127.0.0.1:6444/metrics"
    assert comps["apiserver"]["metricsTokenFile"].endswith("kubemu-monitoring.token")
    assert comps["scheduler-1"]["metricsAddress"] == "http://127.0.0.1:10251/metrics"
    assert comps["scheduler-2"]["metricsAddress"] == "http://127.0.0.1:10351/metrics"
    assert comps["controller-manager"]["metricsAddress"] == "http://127.0.0.1:10252/metrics"
    assert comps["node-1"]["metricsAddress"] == "http://127.1.0.1:10255/metrics"
    command = comps["node-1"]["command"]
    assert command[command.index("--metrics-port") + 1] == "10255"
    auto = build_plan(ClusterDir(str(tmp_path / "auto")), nodes=1, ports="auto", secure=False,
                      etcd_binary="/bin/true")
    ports = [p for c in auto["components"] for _, p in c["ports"]]
    assert len(ports) == len(set(ports)) and not {10251, 10252, 10255} & set(ports)
    assert all(c["metricsAddress"] for c in auto["components"])


SCRAPE = """# TYPE apiserver_request_total counter
apiserver_request_total{verb="POST",code="201"} %(posts)d
apiserver_request_total{verb="GET",code="200"} 40
# TYPE leader_election_master_status gauge
leader_election_master_status{name="kube-scheduler"} 1
# TYPE workqueue_depth gauge
workqueue_depth{name="replicaset"} 2
workqueue_depth{name="deployment"} 0
# TYPE process_cpu_seconds_total counter
process_cpu_seconds_total %(cpu)s
# TYPE process_resident_memory_bytes gauge
process_resident_memory_bytes 52428800
# TYPE process_start_time_seconds gauge
process_start_time_seconds 1000
"""


def test_status_rates_are_deltas_between_two_scrapes_or_averages_over_uptime():
    first = metrics_status.Scrape(metrics_status.parse(SCRAPE % {"posts": 10, "cpu": "1.0"}), at=100.0, wall=1100.0)
    last = metrics_status.Scrape(metrics_status.parse(SCRAPE % {"posts": 30, "cpu": "1.5"}), at=102.0, wall=1102.0)
    row = metrics_status.row({"name": "apiserver", "kind": "apiserver"}, first, last)
    assert row[:3] == ["apiserver", "up", "yes"]
    assert "requests=10" in row[4] and "POST=10" in row[4] and "GET" not in row[4]
    assert row[5:] == ["0.25", "50.0MiB"]
    cm = metrics_status.row({"name": "cm", "kind": "controller-manager"}, None, last)
    assert cm[3] == "deployment=0 replicaset=2" and "adds=0" in cm[4]
    averaged = metrics_status.row({"name": "apiserver", "kind": "apiserver"}, None, last)
    assert "requests=0.69" in averaged[4]  # 70 requests over 102 s of uptime
    down = metrics_status.row({"name": "x"}, None, metrics_status.Scrape(error="HTTP 403"))
    assert down[1] == "DOWN (HTTP 403)"


def test_status_scrapes_a_live_endpoint():
    server = MetricsServer("127.0.0.1", 0).start()
    try:
        got = metrics_status.scrape(server.url)
        assert got.ok and got.total("process_resident_memory_bytes") > 0
        assert "refused" in metrics_status.scrape("http://127.0.0.1:1/metrics").error.lower()
    finally:
        server.stop()


# --------------------------------------------------------------------------- compose files


def test_the_compose_prometheus_scrapes_every_components_metrics_port():
    """docker-compose.yml's optional Prometheus (profile monitoring) and deploy/prometheus.yml agree with
    the ports the components serve metrics on, and it authenticates with the monitoring identity."""
    import os

    import yaml

    from kubemu import pki
    from kubemu.supervisor import DEFAULT_PORTS, METRICS, REST

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    with open(os.path.join(root, "docker-compose.yml")) as f:
        compose = yaml.safe_load(f)["services"]
    with open(os.path.join(root, "deploy", "prometheus.yml")) as f:
        jobs = {j["job_name"]: j for j in yaml.safe_load(f)["scrape_configs"]}
    prom = compose["prometheus"]
    assert prom["profiles"] == ["monitoring"] and prom["image"].startswith("${PROMETHEUS_IMAGE:-prom/prometheus:")
    assert "./deploy/prometheus.yml:/etc/prometheus/prometheus.yml:ro" in prom["volumes"]
    for service, kind in (("scheduler", "scheduler"), ("controller-manager", "controller-manager"),
                          ("kubelet", "kubelet")):
        port = DEFAULT_PORTS[METRICS[kind]]
        assert compose[service]["expose"] == [str(port)]
        targets = [t for c in jobs[service].get("static_configs", []) for t in c["targets"]] or \
            [f"{n}:{c['port']}" for c in jobs[service]["dns_sd_configs"] for n in c["names"]]
        assert targets == [f"{service}:{port}"]
    api = jobs["apiserver"]
    assert api["scheme"] == "https" and api["static_configs"][0]["targets"] == [f"apiserver:{DEFAULT_PORTS[REST]}"]
    stem = pki.Identity(pki.MONITORING).file_stem
    assert api["tls_config"]["cert_file"] == f"/var/lib/kubemu/pki/{stem}.crt"
    assert any(i.user == pki.MONITORING and "system:monitoring" in i.groups for i in pki.cluster_identities([]))


def test_metrics_flags_default_to_the_kubernetes_ports_and_take_the_environment(monkeypatch):
    import controller_manager.__main__ as cm
    import kubelet.__main__ as kubelet
    import scheduler.__main__ as scheduler
    from machinery import config

    monkeypatch.delenv("KUBEMU_METRICS_PORT", raising=False)
    for module, port in ((scheduler, 10251), (cm, 10252), (kubelet, 10255)):
        args = config.parse(module.build_parser(), [])
        assert (args.metrics_port, args.metrics_bind_address) == (port, "")
    monkeypatch.setenv("KUBEMU_METRICS_PORT", "0")
    monkeypatch.setenv("KUBEMU_METRICS_BIND_ADDRESS", "127.0.0.9")
    args = config.parse(scheduler.build_parser(), [])
    assert (args.metrics_port, args.metrics_bind_address) == (0, "127.0.0.9")
    assert config.parse(scheduler.build_parser(), ["--metrics-port", "9999"]).metrics_port == 9999
