"""``kubemu kubectl get`` without a cluster: several types, TYPE/NAME, label columns, --no-headers,
-o name|jsonpath|custom-columns, --sort-by, and kubectl's messages. The expected texts are what the
real kubectl 1.32 printed for the same objects (tests/e2e/test_kubectl_cli.py compares the two live)."""

from __future__ import annotations

import datetime as dt

import pytest

from kubemu.jsonpath import JSONPathError, Template, go_value, relaxed, sort_key_less
from tests.test_cli_unit import FakeClient, kc

TEN_DAYS_AGO = (dt.datetime.now(dt.UTC) - dt.timedelta(days=10, hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _meta(name: str, labels: dict | None = None, namespace: str = "default") -> dict:
    meta = {"name": name, "creationTimestamp": TEN_DAYS_AGO, "uid": f"uid-{name}", "resourceVersion": "1"}
    if namespace:
        meta["namespace"] = namespace
    if labels:
        meta["labels"] = labels
    return meta


def pod(name: str, labels: dict | None = None, ip: str = "10.0.0.1", phase: str = "Running") -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": _meta(name, labels),
            "spec": {"containers": [{"name": "c", "image": "nginx"}], "nodeName": "node-1"},
            "status": {"phase": phase, "podIP": ip,
                       "containerStatuses": [{"name": "c", "ready": True, "restartCount": 0,
                                              "state": {"running": {}}}]}}


def deployment(name: str) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": _meta(name, {"app": name}),
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": name}},
                     "template": {"spec": {"containers": [{"name": "c", "image": "nginx"}]}}},
            "status": {"readyReplicas": 2, "updatedReplicas": 2, "availableReplicas": 2}}


def replicaset(name: str) -> dict:
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": _meta(name),
            "spec": {"replicas": 2}, "status": {"replicas": 2, "readyReplicas": 2}}


def node(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "Node", "metadata": _meta(name, {"kubernetes.io/hostname": name}, ""),
            "status": {"conditions": [{"type": "Ready", "status": "True"}],
                       "nodeInfo": {"kubeletVersion": "v1.32.0"}}}


@pytest.fixture
def client() -> FakeClient:
    c = FakeClient()
    for resource, obj in (("pods", pod("nginx", {"app": "nginx", "tier": "front"}, "10.0.0.3")),
                          ("pods", pod("web-1", {"app": "web"}, "10.0.0.2")),
                          ("pods", pod("job-x", None, "10.0.0.10", phase="Succeeded")),
                          ("deployments", deployment("web")), ("replicasets", replicaset("web-5d9")),
                          ("nodes", node("node-1"))):
        c.objects[c._key(resource, obj["metadata"].get("namespace", ""), obj["metadata"]["name"])] = obj
    return c


# --------------------------------------------------------------------------- several types


def test_several_types_print_a_table_each_with_kind_prefixed_names(client):
    rc, out, err = kc(client, "get", "deploy,rs,pods")
    assert (rc, err) == (0, "")
    assert out == (
        "NAME                  READY   UP-TO-DATE   AVAILABLE   AGE\n"
        "deployment.apps/web   2/2     2            2           10d\n"
        "\n"
        "NAME                      DESIRED   CURRENT   READY   AGE\n"
        "replicaset.apps/web-5d9   2         2         2       10d\n"
        "\n"
        "NAME        READY   STATUS      RESTARTS   AGE\n"
        "pod/job-x   1/1     Succeeded   0          10d\n"
        "pod/nginx   1/1     Running     0          10d\n"
        "pod/web-1   1/1     Running     0          10d\n")


def test_get_all_is_kubectls_all_category_in_discovery_order(client):
    rc, out, _ = kc(client, "get", "all", "-o", "name")
    assert out.splitlines() == ["pod/job-x", "pod/nginx", "pod/web-1", "deployment.apps/web",
                                "replicaset.apps/web-5d9"]
    assert "node/" not in kc(client, "get", "all")[1]


def test_type_slash_name_in_order_and_one_type_without_prefix(client):
    rc, out, _ = kc(client, "get", "pod/nginx", "deploy/web", "pod/web-1")
    assert [line.split()[0] for line in out.splitlines() if line] == ["NAME", "pod/nginx", "NAME",
                                                                      "deployment.apps/web", "NAME", "pod/web-1"]
    rc, out, _ = kc(client, "get", "pod/nginx", "pod/web-1")
    assert [line.split()[0] for line in out.splitlines()] == ["NAME", "nginx", "web-1"]


def test_not_found_errors_come_after_the_output(client):
    rc, out, err = kc(client, "get", "pod/nginx", "pod/missing", "deploy/web")
    assert rc == 1 and "pod/nginx" in out and "deployment.apps/web" in out
    assert err == 'Error from server (NotFound): pods "missing" not found\n'
    rc, out, err = kc(client, "get", "pods,deploy", "web")  # only the deployment exists: one type, no prefix
    assert out.splitlines()[1].split()[0] == "web" and err == 'Error from server (NotFound): pods "web" not found\n'
    assert kc(client, "get", "pods", "missing", "--ignore-not-found") == (0, "", "")


def test_no_headers_several_types_has_no_blank_line(client):
    rc, out, _ = kc(client, "get", "pods,nodes", "--no-headers")
    assert out == ("pod/job-x   1/1   Succeeded   0     10d\n"
                   "pod/nginx   1/1   Running     0     10d\n"
                   "pod/web-1   1/1   Running     0     10d\n"
                   "node/node-1   Ready   <none>   10d   v1.32.0\n")


def test_no_resources_messages(client):
    assert kc(client, "get", "pods,deploy", "-n", "empty") == (0, "", "No resources found in empty namespace.\n")
    assert kc(client, "get", "all", "-n", "empty") == (0, "", "No resources found in empty namespace.\n")
    assert kc(client, "get", "pods,deploy", "-n", "empty", "-o", "name") == (0, "", "")


@pytest.mark.parametrize("argv, message", [
    (["get", "pods,deploy", "-w"], "error: you may only specify a single resource type\n"),
    (["get", "all", "web"], "error: you must specify only one resource\n"),
    (["get", "pods", "pod/nginx"], "error: there is no need to specify a resource type as a separate argument"),
    (["get", "pods", "nginx", "-l", "app=x"], "error: name cannot be provided when a selector is specified\n"),
    (["get", "pods,bogus"], 'error: the server doesn\'t have a resource type "bogus"\n'),
    (["get", "pods", "-o", "foo"], 'error: unable to match a printer suitable for the output format "foo"'),
    (["get", "pods", "-o", "jsonpath"], "error: template format specified but no template given\n"),
    (["get", "pods", "-o", "jsonpath={.items[0"], "error: error parsing jsonpath {.items[0, unterminated array\n"),
    (["get", "pods", "-o", "custom-columns=NAME"],
     "error: unexpected custom-columns spec: NAME, expected <header>:<json-path-expr>\n"),
    (["get", "pods", "-o", "name", "--sort-by=.spec.nope"],
     'error: couldn\'t find any field with path "{.spec.nope}" in the list of objects\n'),
    (["get", "pods", "-o", "jsonpath={.items[9].metadata.name}"],
     'error: error executing jsonpath "{.items[9].metadata.name}": Error executing template: array index out of '
     "bounds: index 9, length 3\n"),
])
def test_kubectls_errors(client, argv, message):
    rc, out, err = kc(client, *argv)
    assert rc == 1 and out == "" and err.startswith(message)


def test_all_namespaces_keeps_the_namespace_column_for_cluster_scoped_types_after_a_namespaced_one(client):
    rc, out, _ = kc(client, "get", "nodes,deploy,nodes", "-A")
    assert out == ("NAME          STATUS   ROLES    AGE   VERSION\n"
                   "node/node-1   Ready    <none>   10d   v1.32.0\n"
                   "\n"
                   "NAMESPACE   NAME                  READY   UP-TO-DATE   AVAILABLE   AGE\n"
                   "default     deployment.apps/web   2/2     2            2           10d\n")
    rc, out, _ = kc(client, "get", "pods,nodes", "-A", "-l", "x")  # FakeClient ignores -l: all shown
    assert out.splitlines()[-2:] == ["NAMESPACE   NAME          STATUS   ROLES    AGE   VERSION",
                                     "            node/node-1   Ready    <none>   10d   v1.32.0"]


# --------------------------------------------------------------------------- label columns


def test_show_labels_and_label_columns(client):
    rc, out, _ = kc(client, "get", "pods", "-L", "app,tier", "-L", "example.com/team", "--show-labels")
    assert out == (
        "NAME    READY   STATUS      RESTARTS   AGE   APP     TIER    TEAM   LABELS\n"
        "job-x   1/1     Succeeded   0          10d                          <none>\n"
        "nginx   1/1     Running     0          10d   nginx   front          app=nginx,tier=front\n"
        "web-1   1/1     Running     0          10d   web                    app=web\n")
    rc, out, _ = kc(client, "get", "pods,deploy", "--show-labels", "-A")
    assert out.splitlines()[0].split() == ["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE", "LABELS"]
    assert out.splitlines()[-1].split() == ["default", "deployment.apps/web", "2/2", "2", "2", "10d", "app=web"]


# --------------------------------------------------------------------------- other formats


def test_jsonpath_over_a_list_and_over_one_object(client):
    template = '{range .items[*]}{.metadata.name}{"\\t"}{.status.podIP}{"\\n"}{end}'
    assert kc(client, "get", "pods", "-o", f"jsonpath={template}")[1] == \
        "job-x\t10.0.0.10\nnginx\t10.0.0.3\nweb-1\t10.0.0.2\n"
    assert kc(client, "get", "pod", "nginx", "-o", "jsonpath={.kind} {.metadata.labels}")[1] == \
        'Pod {"app":"nginx","tier":"front"}'
    assert kc(client, "get", "pods", "nginx", "web-1", "-o", "jsonpath={.kind}")[1] == "List"
    assert kc(client, "get", "pods,deploy", "-o", "jsonpath={.items[*].kind}")[1] == "Pod Pod Pod Deployment"


def test_custom_columns_and_sort_by(client):
    rc, out, _ = kc(client, "get", "pods", "--sort-by=.status.podIP",
                    "-o", "custom-columns=NAME:.metadata.name,IP:status.podIP,LABELS:{.metadata.labels},X:.spec.x")
    assert out == ("NAME    IP          LABELS                      X\n"
                   "job-x   10.0.0.10   <none>                      <none>\n"
                   "web-1   10.0.0.2    map[app:web]                <none>\n"
                   "nginx   10.0.0.3    map[app:nginx tier:front]   <none>\n")
    rc, out, _ = kc(client, "get", "pods", "--sort-by=.metadata.labels.app")  # without the label first
    assert [line.split()[0] for line in out.splitlines()[1:]] == ["job-x", "nginx", "web-1"]
    rc, out, _ = kc(client, "get", "pods", "--no-headers", "-o", "custom-columns=N:.metadata.name")
    assert out == "job-x\nnginx\nweb-1\n"


# --------------------------------------------------------------------------- the template language


OBJ = {"kind": "List", "items": [
    {"metadata": {"name": "a", "labels": {"app.kubernetes.io/name": "x", "tier": "db"}},
     "status": {"conditions": [{"type": "Ready", "status": "True"}, {"type": "Synced", "status": "False"}],
                "count": 3, "ratio": 0.5, "ok": True}},
    {"metadata": {"name": "b"}, "status": {"count": 1, "ratio": 1234567.0, "ok": False}},
]}


@pytest.mark.parametrize("template, expected", [
    ("{.items[*].metadata.name}", "a b"),
    ("{$.items[0].metadata.name}{@.kind}", "aList"),
    ("{.items[-1].metadata.name} {.items[0:1].metadata.name} {.items[0,1].status.count}", "b a 3 1"),
    ("{.items[0].metadata.labels.app\\.kubernetes\\.io/name}{.items[0].metadata.labels['tier']}", "xdb"),
    ("{.items[0].metadata.labels.*}", "x db"),
    ("{.items[?(@.status.count>2)].metadata.name}", "a"),
    ("{.items[*].status.conditions[?(@.type=='Ready')].status}", "True"),
    ('{.items[?(@.metadata.name!="a")].metadata.name}', "b"),
    ("{.items[?(@.metadata.labels)].metadata.name}", "a"),
    ("{..type}", "Ready Synced"),
    ("{.items[*].status.ok} {.items[*].status.ratio}", "true false 0.5 1.234567e+06"),
    ("{.items[1].metadata}", '{"name":"b"}'),
    ("{.items[0].nothing}|{.nothing.deeper}|", "||"),
    ('{range .items[*]}{.metadata.name}:{range .status.conditions[*]}{.type},{end};{end}', "a:Ready,Synced,;b:;"),
    ("{'\\n'}{\"\\u0041\"}", "\nA"),
    ("plain text", "plain text"),
])
def test_template(template, expected):
    assert Template(template).execute(OBJ) == expected


@pytest.mark.parametrize("template", ["{.items[0", "{.items[x]}", "{bogus}", "{.a[?(@.x==)]}", "{end}"])
def test_template_errors(template):
    with pytest.raises(JSONPathError):
        Template(template).execute(OBJ)


def test_go_value_relaxed_and_sort_order():
    assert go_value({"b": [1, "x"], "a": {"c": None}}) == "map[a:map[c:<nil>] b:[1 x]]"
    assert [relaxed(p) for p in (".a.b", "a.b", "{a.b}", "{.a.b}")] == ["{.a.b}"] * 4
    ordered = sorted(["1", "250m", "2Ki", "a10", "a2", "9", None], key=__import__("functools").cmp_to_key(
        lambda x, y: -1 if sort_key_less(x, y) else (1 if sort_key_less(y, x) else 0)))
    assert ordered == [None, "250m", "1", "9", "2Ki", "a10", "a2"]
