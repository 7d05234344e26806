"""``kubemu kubectl`` cordon, uncordon, drain, taint, label, annotate and patch against an in-memory
API (the CLI's whole path: argument parsing, checks, messages, exit codes, what is written)."""

from __future__ import annotations

import io

import pytest

from kubemu import kubectl
from kubemu import kubectl_nodes as kn
from machinery import errors
from machinery.client import ListResult
from tests.unit.test_controller_common import FakeAPI


class DrainAPI(FakeAPI):
    """FakeAPI with the field selector drain lists by and the pods/eviction subresource."""

    def __init__(self):
        super().__init__()
        self.evictions: list[tuple[str, str, int | None]] = []
        self.too_many: set[str] = set()

    def list_all(self, resource, namespace="", **selectors):
        result = super().list_all(resource, namespace, label_selector=selectors.get("label_selector", ""))
        field = selectors.get("field_selector", "")
        if field.startswith("spec.nodeName="):
            node = field.split("=", 1)[1]
            return ListResult([o for o in result.items if (o.get("spec") or {}).get("nodeName") == node],
                              result.resource_version)
        return result

    list = list_all

    def evict(self, namespace, name, *, grace_period_s=None, dry_run=False):
        if name in self.too_many:
            self.too_many.discard(name)
            raise errors.TooManyRequests("Cannot evict pod as it would violate the pod's disruption budget.")
        self.evictions.append((namespace, name, grace_period_s))
        return self.delete("pods", name, namespace, grace_period_s=0)


def run(api, *argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = kubectl.run(list(argv), client=api, stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def node(api, name: str, **spec) -> dict:
    return api.create("nodes", {"metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
                                "spec": spec})


def pod(api, name: str, node_name: str = "n1", *, owner: str = "", namespace: str = "default",
        empty_dir: bool = False, labels: dict | None = None, annotations: dict | None = None) -> dict:
    meta: dict = {"name": name, "namespace": namespace, "labels": labels or {"app": name}}
    if annotations:
        meta["annotations"] = annotations
    if owner:
        kind, _, owner_name = owner.partition("/")
        meta["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": kind, "name": owner_name, "uid": "u",
                                    "controller": True}]
    spec: dict = {"nodeName": node_name, "containers": [{"name": "c", "image": "nginx"}]}
    if empty_dir:
        spec["volumes"] = [{"name": "scratch", "emptyDir": {}}]
    return api.create("pods", {"metadata": meta, "spec": spec}, namespace)


@pytest.fixture
def api() -> DrainAPI:
    a = DrainAPI()
    node(a, "n1")
    node(a, "n2")
    return a


# --------------------------------------------------------------------------- cordon, uncordon


def test_cordon_and_uncordon_say_what_changed(api):
    assert run(api, "cordon", "n1") == (0, "node/n1 cordoned\n", "")
    assert api.get("nodes", "n1")["spec"]["unschedulable"] is True
    assert run(api, "cordon", "n1") == (0, "node/n1 already cordoned\n", "")
    assert run(api, "uncordon", "n1") == (0, "node/n1 uncordoned\n", "")
    assert "unschedulable" not in api.get("nodes", "n1")["spec"]
    assert run(api, "uncordon", "n1") == (0, "node/n1 already uncordoned\n", "")
    assert run(api, "cordon", "-l", "kubernetes.io/hostname=n2") == (0, "node/n2 cordoned\n", "")


def test_cordon_errors_write_nothing(api):
    assert run(api, "cordon", "nope") == (1, "", 'Error from server (NotFound): nodes "nope" not found\n')
    assert run(api, "cordon", "n1", "nope")[0] == 1
    assert "unschedulable" not in api.get("nodes", "n1")["spec"]
    assert run(api, "cordon") == (1, "", "error: USAGE: cordon NODE [flags]\n"
                                         "See 'kubemu kubectl cordon -h' for help and examples\n")


# --------------------------------------------------------------------------- drain


def test_drain_refuses_like_kubectl_and_evicts_nothing(api):
    api.create("daemonsets", {"metadata": {"name": "ds", "namespace": "default"}, "spec": {}}, "default")
    pod(api, "bare")
    pod(api, "agent", owner="DaemonSet/ds")
    pod(api, "cache", owner="ReplicaSet/rs", empty_dir=True)
    code, out, err = run(api, "drain", "n1")
    assert code == 1 and out == "node/n1 cordoned\n"
    first, pending, nodes, *rest = err.splitlines()
    assert first.startswith('error: unable to drain node "n1" due to error: [') and \
        first.endswith("], continuing command...")
    assert (pending, nodes) == ("There are pending nodes to be drained:", " n1")
    assert sorted(rest) == sorted([  # kubectl 1.32 says "cannot delete" twice for pods without a controller
        "cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore): default/agent",
        "cannot delete Pods with local storage (use --delete-emptydir-data to override): default/cache",
        "cannot delete cannot delete Pods that declare no controller (use --force to override): default/bare"])
    assert api.evictions == [] and len(api.of("pods")) == 3


def test_drain_evicts_and_waits(api):
    api.create("daemonsets", {"metadata": {"name": "ds", "namespace": "default"}, "spec": {}}, "default")
    pod(api, "agent", owner="DaemonSet/ds")
    pod(api, "web", owner="ReplicaSet/rs")
    pod(api, "bare")
    pod(api, "cache", owner="ReplicaSet/rs", empty_dir=True)
    pod(api, "scratch", empty_dir=True)
    pod(api, "elsewhere", "n2")
    pod(api, "static", annotations={kn.MIRROR_ANNOTATION: "x"})
    code, out, err = run(api, "drain", "n1", "--ignore-daemonsets", "--force", "--delete-emptydir-data",
                         "--grace-period", "5")
    assert code == 0, err
    assert out == ("node/n1 cordoned\nevicting pod default/web\nevicting pod default/bare\n"
                   "evicting pod default/cache\nevicting pod default/scratch\npod/web evicted\npod/bare evicted\n"
                   "pod/cache evicted\npod/scratch evicted\nnode/n1 drained\n")
    # As in kubectl the last filter's word counts: a controlled pod's emptyDir earns no warning, and
    # a pod with an emptyDir and no controller is reported as the latter.
    assert err == ("Warning: ignoring DaemonSet-managed Pods: default/agent; deleting Pods that declare no "
                   "controller: default/bare, default/scratch\n")
    assert sorted(api.evictions) == [("default", "bare", 5), ("default", "cache", 5), ("default", "scratch", 5),
                                     ("default", "web", 5)]
    assert {p["metadata"]["name"] for p in api.of("pods")} == {"agent", "elsewhere", "static"}


def test_drain_retries_an_eviction_a_budget_refuses(api, monkeypatch):
    monkeypatch.setattr(kn, "EVICTION_RETRY_S", 0.0)
    pod(api, "web", owner="ReplicaSet/rs")
    api.too_many.add("web")
    code, out, err = run(api, "drain", "n1", "--pod-selector", "app=web")
    assert code == 0
    assert out == "node/n1 cordoned\nevicting pod default/web\npod/web evicted\nnode/n1 drained\n"
    assert err == ('error when evicting pods/"web" -n "default" (will retry after 5s): Cannot evict pod as it '
                   "would violate the pod's disruption budget.\n")


def test_drain_timeout(api, monkeypatch):
    pod(api, "web", owner="ReplicaSet/rs")
    monkeypatch.setattr(api, "evict", lambda ns, name, **kw: api.get("pods", name, ns))  # never goes away
    code, out, err = run(api, "drain", "n1", "--timeout", "0.3s")
    assert code == 1
    assert err.splitlines()[0] == 'error: unable to drain node "n1" due to error: drain did not complete within ' \
                                  '300ms, continuing command...'
    assert kn._go_duration(90) == "1m30s" and kn._go_duration(120) == "2m0s" and kn._go_duration(5) == "5s"


# --------------------------------------------------------------------------- taint


def taints(api, name="n1"):
    return api.get("nodes", name)["spec"].get("taints")


def test_taint_add_overwrite_remove(api):
    assert run(api, "taint", "nodes", "n1", "dedicated=gpu:NoSchedule") == (0, "node/n1 tainted\n", "")
    assert taints(api) == [{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}]
    assert run(api, "taint", "nodes", "n1", "dedicated=cpu:NoSchedule") == (
        1, "", "error: node n1 already has dedicated taint(s) with same effect(s) and --overwrite is false\n")
    assert run(api, "taint", "node", "n1", "dedicated=cpu:NoSchedule", "--overwrite") == (0, "node/n1 modified\n", "")
    assert taints(api) == [{"key": "dedicated", "value": "cpu", "effect": "NoSchedule"}]
    assert run(api, "taint", "nodes", "n1", "spot:NoExecute")[1] == "node/n1 tainted\n"
    assert run(api, "taint", "nodes", "n1", "dedicated:NoSchedule-") == (0, "node/n1 untainted\n", "")
    assert run(api, "taint", "nodes", "n1", "spot-") == (0, "node/n1 untainted\n", "")
    assert taints(api) is None
    assert run(api, "taint", "nodes", "n1", "spot-") == (1, "", 'error: taint "spot" not found\n')


@pytest.mark.parametrize("argv, message", [
    (["nodes", "n1", "k=v:Sometimes"], "error: invalid taint effect: Sometimes, unsupported taint effect\n"
                                       "See 'kubemu kubectl taint -h' for help and examples"),
    (["nodes", "n1", "k=v=w:NoSchedule"], "error: invalid taint spec: k=v=w:NoSchedule\n"
                                          "See 'kubemu kubectl taint -h' for help and examples"),
    (["nodes", "n1", "k"], "error: at least one taint update is required"),
    (["nodes", "n1", "k:NoSchedule", "k-"],
     "error: can not both modify and remove the following taint(s) in the same command: k="),
    (["nodes", "n1", "k:NoSchedule", "other"], "error: all resources must be specified before taint changes: other"),
    (["pods", "n1", "k:NoSchedule"], "error: invalid resource type pods, only node types are supported"),
    (["nodes", "k:NoSchedule"], "error: at least one resource name must be specified since 'all' parameter is not set"),
    (["widgets", "x", "k:NoSchedule"], 'the server doesn\'t have a resource type "widgets"'),
])
def test_taint_bad_input(api, argv, message):
    assert run(api, "taint", *argv) == (1, "", f"{message}\n")
    assert taints(api) is None


# --------------------------------------------------------------------------- label, annotate


def test_label(api):
    pod(api, "web")
    assert run(api, "label", "pod", "web", "tier=front") == (0, "pod/web labeled\n", "")
    assert api.get("pods", "web", "default")["metadata"]["labels"] == {"app": "web", "tier": "front"}
    assert run(api, "label", "pod", "web", "tier=back") == (
        1, "", "error: 'tier' already has a value (front), and --overwrite is false\n")
    assert run(api, "label", "pod", "web", "tier=back", "app=x") == (  # several: one line each, no prefix
        1, "", "'tier' already has a value (front), and --overwrite is false\n"
               "'app' already has a value (web), and --overwrite is false\n")
    assert run(api, "label", "pods/web", "tier=back", "--overwrite") == (0, "pod/web labeled\n", "")
    assert run(api, "label", "pod", "web", "tier=back") == (0, "pod/web not labeled\n", "")
    assert run(api, "label", "pod", "web", "tier-") == (0, "pod/web unlabeled\n", "")
    assert run(api, "label", "pod", "web", "tier-") == (0, 'label "tier" not found.\npod/web not labeled\n', "")
    assert run(api, "label", "nodes", "--all", "zone=a") == (0, "node/n1 labeled\nnode/n2 labeled\n", "")


@pytest.mark.parametrize("argv, message", [
    (["pod", "web"], "at least one label update is required"),
    (["a=b"], "one or more resources must be specified as <resource> <name> or <resource>/<name>"),
    (["pod", "web", "a=b=c"], "invalid label spec: a=b=c"),
    (["pod", "web", "a=b", "a-"], "can not both modify and remove a label in the same command"),
    (["pod", "web", "a=b", "other"], "all resources must be specified before label changes: other"),
    (["pod", "web", "a=-bad"], 'invalid label value: "a=-bad": a valid label must be an empty string or consist '
                               "of alphanumeric characters, '-', '_' or '.', and must start and end with an "
                               "alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used "
                               "for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"),
    (["pod", "a=b"], "resource(s) were provided, but no name was specified"),
    (["widgets", "web", "a=b"], 'the server doesn\'t have a resource type "widgets"'),
])
def test_label_bad_input(api, argv, message):
    pod(api, "web")
    assert run(api, "label", *argv) == (1, "", f"error: {message}\n")
    assert api.get("pods", "web", "default")["metadata"]["labels"] == {"app": "web"}


def test_annotate(api):
    pod(api, "web")
    assert run(api, "annotate", "pod", "web", "note=a=b", "owner=me") == (0, "pod/web annotated\n", "")
    assert api.get("pods", "web", "default")["metadata"]["annotations"] == {"note": "a=b", "owner": "me"}
    assert run(api, "annotate", "pod", "web", "note=c", "owner=you") == (
        1, "", "error: --overwrite is false but found the following declared annotation(s): 'note' already has a "
               "value (a=b); 'owner' already has a value (me)\n")
    assert run(api, "annotate", "pod", "web", "note=c", "--overwrite", "owner-") == (0, "pod/web annotated\n", "")
    assert api.get("pods", "web", "default")["metadata"]["annotations"] == {"note": "c"}
    assert run(api, "annotate", "pod", "web", "x") == (1, "", "error: at least one annotation update is required\n")
    assert run(api, "annotate", "pod", "web", "x=1", "x-") == (
        1, "", "error: can not both modify and remove the following annotation(s) in the same command: x\n")


# --------------------------------------------------------------------------- patch


def test_patch_types(api):
    pod(api, "web")
    assert run(api, "patch", "pod", "web", "-p", '{"metadata":{"labels":{"tier":"front"}}}') == (
        0, "pod/web patched\n", "")
    assert run(api, "patch", "pod", "web", "-p", '{"metadata":{"labels":{"tier":"front"}}}') == (
        0, "pod/web patched (no change)\n", "")
    # strategic: containers merge by name; merge: the list is replaced; json: pointer operations
    assert run(api, "patch", "pod/web", "-p", '{"spec":{"containers":[{"name":"c","image":"httpd"}]}}')[0] == 0
    assert api.get("pods", "web", "default")["spec"]["containers"] == [{"name": "c", "image": "httpd"}]
    assert run(api, "patch", "pod", "web", "--type", "json",
               "-p", '[{"op":"replace","path":"/spec/containers/0/image","value":"nginx"}]')[0] == 0
    assert api.get("pods", "web", "default")["spec"]["containers"][0]["image"] == "nginx"
    assert run(api, "patch", "pod", "web", "--type=merge", "-p", "metadata: {labels: {tier: null}}")[1] == \
        "pod/web patched\n"
    assert "tier" not in api.get("pods", "web", "default")["metadata"]["labels"]


@pytest.mark.parametrize("argv, message", [
    (["pod", "web"], "error: must specify --patch or --patch-file containing the contents of the patch"),
    (["pod", "web", "-p", "{}", "--type", "apply"], 'error: --type must be one of [json merge strategic], not "apply"'),
    (["pod", "nope", "-p", "{}"], 'Error from server (NotFound): pods "nope" not found'),
    (["pod", "web", "--type", "json", "-p", '[{"op":"remove","path":"/spec/nope"}]'],
     "Error from server (BadRequest): cannot remove /spec/nope: it does not exist\n"),
    (["pod", "web", "-p", "{bad"], "Error from server (BadRequest): the request body is not valid JSON: "),
    (["pod", "web", "-p", "[1]"], "Error from server (BadRequest): a strategic merge patch must be a JSON object\n"),
])
def test_patch_bad_input(api, argv, message):
    before = pod(api, "web")
    code, out, err = run(api, "patch", *argv)
    assert code == 1 and out == "" and err.startswith(message)
    assert api.get("pods", "web", "default") == before


def test_help_lists_the_new_commands():
    out = io.StringIO()
    assert kubectl.run(["--help"], stdout=out) == 0
    for command in ("cordon", "uncordon", "drain", "taint", "label", "annotate", "patch"):
        assert f"\n  {command} " in out.getvalue()
    assert kn.Taint("k", "v", "NoSchedule").as_dict() == {"key": "k", "value": "v", "effect": "NoSchedule"}
