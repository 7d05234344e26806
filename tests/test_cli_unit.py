"""The CLI without a cluster: argument parsing, apply's merge, kubectl's messages, the cluster directory."""

from __future__ import annotations

import copy
import io
import json
import os
import subprocess
import sys
import uuid

import psutil
import pytest

from kubemu import cli, kubectl
from kubemu.cluster import ClusterDir, atomic_write, parse_kubeconfig, process_alive
from kubemu.etcd_server import free_port
from kubemu.supervisor import build_plan, cleanup_node_containers
from machinery import errors
from machinery.client import ListResult
from machinery.resources import lookup
from tests.helpers import wait_for

# --------------------------------------------------------------------------- a fake API


class FakeClient:
    """An in-memory stand-in for APIClient with the same verbs and errors."""

    def __init__(self):
        self.objects: dict[tuple[str, str, str], dict] = {}
        self.revision = 0
        self.deletes: list[dict] = []
        self.fail_create: errors.APIError | None = None
        self.gets_before_gone = 0  # delete leaves the object for this many further gets

    def _key(self, resource: str, namespace: str, name: str) -> tuple[str, str, str]:
        return resource, namespace if lookup(resource).namespaced else "", name

    def create(self, resource, obj, namespace="", *, dry_run=False):
        if self.fail_create:
            raise self.fail_create
        obj = copy.deepcopy(obj)
        meta = obj.setdefault("metadata", {})
        namespace = namespace or meta.get("namespace", "")
        key = self._key(resource, namespace, meta["name"])
        if key in self.objects:
            raise errors.AlreadyExists(f'{resource} "{meta["name"]}" already exists')
        self.revision += 1
        if key[1]:
            meta["namespace"] = key[1]
        meta.update(uid=str(uuid.uuid4()), resourceVersion=str(self.revision), creationTimestamp="2026-01-01T00:00:00Z")
        if resource == "pods":
            obj["spec"].setdefault("restartPolicy", "Always")
            for c in obj["spec"]["containers"]:
                c.setdefault("imagePullPolicy", "Always")
            obj["status"] = {"phase": "Pending"}
        if not dry_run:
            self.objects[key] = obj
        return copy.deepcopy(obj)

    def get(self, resource, name, namespace=""):
        key = self._key(resource, namespace, name)
        if key not in self.objects:
            raise errors.NotFound(f'{resource} "{name}" not found')
        obj = self.objects[key]
        if obj.get("_gone_after") is not None:
            obj["_gone_after"] -= 1
            if obj["_gone_after"] < 0:
                del self.objects[key]
                raise errors.NotFound(f'{resource} "{name}" not found')
        return copy.deepcopy({k: v for k, v in obj.items() if k != "_gone_after"})

    def update(self, resource, obj):
        meta = obj["metadata"]
        key = self._key(resource, meta.get("namespace", ""), meta["name"])
        if key not in self.objects:
            raise errors.NotFound(f'{resource} "{meta["name"]}" not found')
        if self.objects[key]["metadata"]["resourceVersion"] != meta.get("resourceVersion"):
            raise errors.Conflict("the object has been modified")
        self.revision += 1
        stored = copy.deepcopy(obj)
        stored["metadata"]["resourceVersion"] = str(self.revision)
        self.objects[key] = stored
        return copy.deepcopy(stored)

    def delete(self, resource, name, namespace="", *, grace_period_s=None, **_):
        obj = self.get(resource, name, namespace)
        self.deletes.append({"resource": resource, "name": name, "namespace": namespace, "grace": grace_period_s})
        key = self._key(resource, namespace, name)
        if self.gets_before_gone:
            self.objects[key]["_gone_after"] = self.gets_before_gone
        else:
            del self.objects[key]
        return obj

    def list(self, resource, namespace="", *, label_selector="", field_selector="", **_):
        items = [copy.deepcopy(o) for (r, ns, _), o in sorted(self.objects.items())
                 if r == resource and (not namespace or ns == namespace)]
        return ListResult(items, str(self.revision))

    list_all = list


def kc(client, *argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    rc = kubectl.run(list(argv), client=client, stdout=out, stderr=err)
    return rc, out.getvalue(), err.getvalue()


POD_YAML = """apiVersion: v1
kind: Pod
metadata:
  name: web
  labels:
    app: web
spec:
  containers:
  - name: main
    image: nginx
"""


# --------------------------------------------------------------------------- parsing


def test_split_command_accepts_global_flags_before_the_command():
    assert kubectl.split_command(["-n", "demo", "--server=a:1", "get", "pods", "-o", "wide"]) == \
        ("get", ["-n", "demo", "--server=a:1", "pods", "-o", "wide"], [])


def test_split_command_keeps_everything_after_double_dash_for_run():
    command, rest, extra = kubectl.split_command(["run", "x", "--image=busybox", "--", "sh", "-c", "echo -n hi"])
    assert (command, rest, extra) == ("run", ["x", "--image=busybox"], ["sh", "-c", "echo -n hi"])


def test_unknown_flag_is_reported_like_kubectl():
    rc, _, err = kc(FakeClient(), "get", "pods", "--bogus")
    assert rc == 1 and err.startswith("error: unknown flag: --bogus")


def test_unknown_resource_type():
    rc, _, err = kc(FakeClient(), "get", "widgets")
    assert rc == 1 and err == 'error: the server doesn\'t have a resource type "widgets"\n'


@pytest.mark.parametrize("text,seconds", [("30", 30), ("30s", 30), ("1m", 60), ("2m30s", 150), ("500ms", 0.5),
                                          ("1h", 3600)])
def test_parse_duration(text, seconds):
    assert kubectl.parse_duration(text) == seconds


def test_parse_duration_rejects_garbage():
    with pytest.raises(kubectl.KubectlError):
        kubectl.parse_duration("soon")


def test_top_level_cluster_dir_before_or_after_the_command():
    parser = cli.build_parser()
    assert parser.parse_args(["--cluster-dir", "/a", "status"]).cluster_dir == "/a"
    assert parser.parse_args(["status", "--cluster-dir", "/b"]).cluster_dir == "/b"
    assert parser.parse_args(["down"]).cluster_dir is None
    args = parser.parse_args(["up", "--nodes", "0", "--ports", "auto", "--no-scheduler"])
    assert (args.nodes, args.ports, args.restart_policy, args.no_scheduler) == (0, "auto", "never", True)


def test_kubectl_is_split_off_with_its_cluster_dir():
    assert cli._split_kubectl(["--cluster-dir", "/c", "kubectl", "get", "pods"]) == ("/c", ["get", "pods"])
    assert cli._split_kubectl(["kubectl", "-n", "x", "get", "po"]) == (None, ["-n", "x", "get", "po"])
    assert cli._split_kubectl(["status"]) is None


# --------------------------------------------------------------------------- apply's merge


def _live_pod() -> dict:
    applied = {"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web", "tier": "front"}},
               "spec": {"containers": [{"name": "main", "image": "nginx:1"}]}}
    live = kubectl.with_last_applied(applied)
    live["metadata"].update(uid="u1", resourceVersion="7", creationTimestamp="2026-01-01T00:00:00Z")
    live["metadata"]["labels"]["added-by-hand"] = "yes"
    live["spec"].update(nodeName="node-1", restartPolicy="Always")
    live["spec"]["containers"][0]["imagePullPolicy"] = "IfNotPresent"
    live["status"] = {"phase": "Running"}
    return live


def test_merge_keeps_server_fields_and_applies_the_manifest():
    live = _live_pod()
    applied = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "default",
                                                               "labels": {"app": "web2"}},
               "spec": {"containers": [{"name": "main", "image": "nginx:2"}]}}
    merged = kubectl.merge_applied(live, applied)
    meta = merged["metadata"]
    assert (meta["uid"], meta["resourceVersion"], meta["creationTimestamp"]) == ("u1", "7", "2026-01-01T00:00:00Z")
    assert meta["labels"] == {"app": "web2", "added-by-hand": "yes"}  # tier was dropped from the manifest
    assert merged["status"] == {"phase": "Running"}
    assert merged["spec"]["nodeName"] == "node-1" and merged["spec"]["restartPolicy"] == "Always"
    assert merged["spec"]["containers"] == [{"name": "main", "image": "nginx:2", "imagePullPolicy": "IfNotPresent"}]
    assert json.loads(meta["annotations"][kubectl.LAST_APPLIED]) == applied


def test_merge_of_the_same_manifest_changes_nothing():
    live = _live_pod()
    applied = json.loads(live["metadata"]["annotations"][kubectl.LAST_APPLIED])
    assert kubectl.merge_applied(live, applied) == live


def test_merge_adds_and_removes_named_list_items():
    live = {"a": [{"name": "x", "v": 1, "server": "s"}, {"name": "y", "v": 2}, {"name": "z", "v": 3}]}
    last = {"a": [{"name": "x", "v": 1}, {"name": "y", "v": 2}]}
    desired = {"a": [{"name": "x", "v": 10}, {"name": "w", "v": 4}]}
    # y was applied before and is gone now: removed; z was added by someone else: kept.
    assert kubectl.three_way_merge(live, last, desired) == {
        "a": [{"name": "x", "v": 10, "server": "s"}, {"name": "w", "v": 4}, {"name": "z", "v": 3}]}


def test_merge_replaces_plain_lists():
    assert kubectl.three_way_merge({"args": ["a", "b"]}, {"args": ["a", "b"]}, {"args": ["c"]}) == {"args": ["c"]}


# --------------------------------------------------------------------------- apply / create


def test_apply_creates_then_is_unchanged_then_configures(tmp_path):
    client = FakeClient()
    path = tmp_path / "pod.yaml"
    path.write_text(POD_YAML)
    assert kc(client, "apply", "-f", str(path)) == (0, "pod/web created\n", "")
    stored = client.get("pods", "web", "default")
    assert json.loads(stored["metadata"]["annotations"][kubectl.LAST_APPLIED])["metadata"]["namespace"] == "default"
    assert kc(client, "apply", "-f", str(path)) == (0, "pod/web unchanged\n", "")
    path.write_text(POD_YAML.replace("app: web", "app: web2"))
    assert kc(client, "apply", "-f", str(path)) == (0, "pod/web configured\n", "")
    stored = client.get("pods", "web", "default")
    assert stored["metadata"]["labels"] == {"app": "web2"}
    assert stored["spec"]["containers"][0]["imagePullPolicy"] == "Always"  # the server default survived


def test_apply_multi_document_file_and_namespace_flag(tmp_path):
    client = FakeClient()
    path = tmp_path / "all.yaml"
    path.write_text("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: demo\n---\n" + POD_YAML)
    rc, out, err = kc(client, "apply", "-f", str(path), "-n", "demo")
    assert (rc, out, err) == (0, "namespace/demo created\npod/web created\n", "")
    assert client.get("pods", "web", "demo")["metadata"]["namespace"] == "demo"


def test_apply_refuses_a_namespace_that_contradicts_the_flag(tmp_path):
    path = tmp_path / "pod.yaml"
    path.write_text(POD_YAML.replace("  name: web\n", "  name: web\n  namespace: a\n"))
    rc, _, err = kc(FakeClient(), "apply", "-f", str(path), "-n", "b")
    assert rc == 1
    assert err == ('error: the namespace from the provided object "a" does not match the namespace "b". '
                   "You must pass '--namespace=a' to perform this operation.\n")


def test_apply_unknown_kind(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text("apiVersion: v1\nkind: Widget\nmetadata:\n  name: w\n")
    rc, _, err = kc(FakeClient(), "apply", "-f", str(path))
    assert rc == 1
    assert err.startswith(f'error: resource mapping not found for name: "w" namespace: "default" from "{path}": '
                          'no matches for kind "Widget" in version "v1"')


def test_invalid_object_error_names_the_file(tmp_path):
    client = FakeClient()
    client.fail_create = errors.Invalid('Pod "web" is invalid: spec.containers[0].image: Required value',
                                        causes=[errors.Cause("spec.containers[0].image", "Required value")],
                                        kind="Pod", name="web")
    path = tmp_path / "pod.yaml"
    path.write_text(POD_YAML)
    rc, out, err = kc(client, "apply", "-f", str(path))
    assert (rc, out) == (1, "")
    # kubectl prints an Invalid answer from its details (and drops the file name).
    assert err == 'The Pod "web" is invalid: spec.containers[0].image: Required value\n'
    client.fail_create = errors.Invalid("no details")
    rc, out, err = kc(client, "apply", "-f", str(path))
    assert err == f'Error from server (Invalid): error when creating "{path}": no details\n'


def test_manifest_errors_are_printed(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("apiVersion: v1\nkind: Pod\nmetadata: [\n")
    rc, _, err = kc(FakeClient(), "apply", "-f", str(path))
    assert rc == 1 and err.startswith("error: ") and "bad.yaml" in err


def test_create_namespace_and_already_exists():
    client = FakeClient()
    assert kc(client, "create", "namespace", "demo") == (0, "namespace/demo created\n", "")
    rc, _, err = kc(client, "create", "ns", "demo")
    assert (rc, err) == (1, 'Error from server (AlreadyExists): namespaces "demo" already exists\n')


# --------------------------------------------------------------------------- run


def test_run_creates_a_pod_labelled_with_its_name():
    client = FakeClient()
    rc, out, _ = kc(client, "run", "nginx", "--image=nginx", "--port=80", "--env=A=1", "--env", "B=2", "-n", "demo")
    assert (rc, out) == (0, "pod/nginx created\n")
    pod = client.get("pods", "nginx", "demo")
    assert pod["metadata"]["labels"] == {"run": "nginx"}
    container = pod["spec"]["containers"][0]
    assert (container["name"], container["image"]) == ("nginx", "nginx")
    assert container["ports"] == [{"containerPort": 80}]
    assert container["env"] == [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]
    assert pod["spec"]["restartPolicy"] == "Always"


def test_run_arguments_after_double_dash_and_labels():
    client = FakeClient()
    assert kc(client, "run", "job", "--image=busybox", "--restart=Never", "--labels=app=x,tier=y", "--",
              "sleep", "5")[0] == 0
    pod = client.get("pods", "job", "default")
    assert pod["metadata"]["labels"] == {"app": "x", "tier": "y"}
    assert pod["spec"]["containers"][0]["args"] == ["sleep", "5"]
    assert pod["spec"]["restartPolicy"] == "Never"
    assert kc(client, "run", "cmd", "--image=busybox", "--command", "--", "sh", "-c", "echo hi")[0] == 0
    assert client.get("pods", "cmd", "default")["spec"]["containers"][0]["command"] == ["sh", "-c", "echo hi"]


def test_run_requires_an_image():
    rc, _, err = kc(FakeClient(), "run", "x")
    assert (rc, err) == (1, "error: --image is required\n")


# --------------------------------------------------------------------------- get / describe


def test_get_not_found():
    rc, _, err = kc(FakeClient(), "get", "pod", "nope")
    assert (rc, err) == (1, 'Error from server (NotFound): pods "nope" not found\n')


def test_get_empty_list_says_no_resources_found():
    assert kc(FakeClient(), "get", "pods") == (0, "", "No resources found in default namespace.\n")
    assert kc(FakeClient(), "get", "nodes") == (0, "", "No resources found\n")


def test_get_table_name_and_yaml():
    client = FakeClient()
    kc(client, "run", "a", "--image=nginx")
    kc(client, "run", "b", "--image=nginx")
    rc, out, _ = kc(client, "get", "po")
    assert rc == 0 and out.splitlines()[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert [line.split()[0] for line in out.splitlines()[1:]] == ["a", "b"]
    assert kc(client, "get", "pods", "-o", "name") == (0, "pod/a\npod/b\n", "")
    rc, out, _ = kc(client, "get", "pod/a", "-o", "json")
    assert json.loads(out)["metadata"]["name"] == "a"
    rc, out, _ = kc(client, "get", "pods", "-A")
    assert out.splitlines()[0].split()[0] == "NAMESPACE"


def test_describe_pod_not_found():
    rc, _, err = kc(FakeClient(), "describe", "pod", "ghost")
    assert (rc, err) == (1, 'Error from server (NotFound): pods "ghost" not found\n')


# --------------------------------------------------------------------------- delete


def test_delete_waits_until_the_object_is_gone():
    client = FakeClient()
    kc(client, "run", "nginx", "--image=nginx")
    client.gets_before_gone = 2
    assert kc(client, "delete", "pod", "nginx") == (0, 'pod "nginx" deleted\n', "")
    assert ("pods", "default", "nginx") not in client.objects
    assert client.deletes[-1]["grace"] is None


def test_delete_times_out_when_the_object_stays():
    client = FakeClient()
    kc(client, "run", "nginx", "--image=nginx")
    client.gets_before_gone = 10_000
    rc, out, err = kc(client, "delete", "pod", "nginx", "--timeout=0.3s")
    assert (rc, out) == (1, 'pod "nginx" deleted\n')
    assert err == "error: timed out waiting for the condition on pods/nginx\n"


def test_delete_force_with_grace_zero_warns():
    client = FakeClient()
    kc(client, "run", "nginx", "--image=nginx")
    rc, out, err = kc(client, "delete", "pod", "nginx", "--grace-period=0", "--force")
    assert (rc, out) == (0, 'pod "nginx" force deleted\n')
    assert err == kubectl.FORCE_WARNING + "\n"
    assert client.deletes[-1]["grace"] == 0


def test_delete_grace_zero_without_force_means_one_and_now_means_one():
    client = FakeClient()
    kc(client, "run", "a", "--image=nginx")
    kc(client, "run", "b", "--image=nginx")
    assert kc(client, "delete", "pod", "a", "--grace-period=0", "--wait=false")[0] == 0
    assert kc(client, "delete", "pod", "b", "--now")[0] == 0
    assert [d["grace"] for d in client.deletes] == [1, 1]
    rc, _, err = kc(client, "delete", "pod", "c", "--now", "--grace-period=5")
    assert (rc, err) == (1, "error: --now and --grace-period cannot be specified together\n")


def test_delete_not_found_and_ignore_not_found():
    rc, _, err = kc(FakeClient(), "delete", "pod", "ghost")
    assert (rc, err) == (1, 'Error from server (NotFound): pods "ghost" not found\n')
    assert kc(FakeClient(), "delete", "pod", "ghost", "--ignore-not-found") == (0, "", "")


def test_delete_from_file(tmp_path):
    client = FakeClient()
    path = tmp_path / "pod.yaml"
    path.write_text(POD_YAML)
    kc(client, "apply", "-f", str(path))
    assert kc(client, "delete", "-f", str(path)) == (0, 'pod "web" deleted\n', "")


# --------------------------------------------------------------------------- connection and config


def test_connection_refused_message():
    port = free_port()
    out, err = io.StringIO(), io.StringIO()
    rc = kubectl.run(["get", "pods", "--server", f"127.0.0.1:{port}"], stdout=out, stderr=err)
    assert rc == 1
    assert err.getvalue() == (f"The connection to the server 127.0.0.1:{port} was refused - "
                              "did you specify the right host or port?\n")


def test_server_from_the_cluster_kubeconfig(tmp_path, monkeypatch):
    monkeypatch.delenv(kubectl.ENV_SERVER, raising=False)
    monkeypatch.delenv(kubectl.ENV_TOKEN, raising=False)
    cdir = ClusterDir(str(tmp_path))
    cdir.write_kubeconfig(["127.0.0.1:7443", "127.0.0.1:7444"], token="")
    args = kubectl._apply_parser().parse_intermixed_args(["-f", "x", "--cluster-dir", str(tmp_path)])
    assert kubectl._resolve_server(args, None) == (["127.0.0.1:7443", "127.0.0.1:7444"], "")
    monkeypatch.setenv(kubectl.ENV_SERVER, "10.0.0.1:6443")
    monkeypatch.setenv(kubectl.ENV_TOKEN, "secret")
    assert kubectl._resolve_server(args, None) == (["10.0.0.1:6443"], "secret")


def test_missing_kubeconfig_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.delenv(kubectl.ENV_SERVER, raising=False)
    out, err = io.StringIO(), io.StringIO()
    rc = kubectl.run(["get", "pods"], cluster_dir=str(tmp_path / "none"), stdout=out, stderr=err)
    assert rc == 1 and "kubemu up" in err.getvalue()


# --------------------------------------------------------------------------- cluster dir, plan, status


def test_atomic_write_and_kubeconfig_roundtrip(tmp_path):
    path = tmp_path / "sub" / "f.txt"
    atomic_write(str(path), "one")
    atomic_write(str(path), "two")
    assert path.read_text() == "two" and os.listdir(path.parent) == ["f.txt"]
    cdir = ClusterDir(str(tmp_path / "c"))
    cdir.write_kubeconfig(["127.0.0.1:6443"])
    assert cdir.read_kubeconfig() == (["127.0.0.1:6443"], "")
    doc = {"clusters": [{"name": "x", "cluster": {"server": "https://h:1"}}]}
    assert parse_kubeconfig(doc) == (["https://h:1"], "")


def test_process_alive_checks_the_creation_time():
    me = psutil.Process()
    assert process_alive(me.pid, me.create_time())
    assert not process_alive(me.pid, me.create_time() - 3600)  # the pid was "reused"
    assert not process_alive(None)


def test_build_plan_auto_ports(tmp_path):
    cdir = ClusterDir(str(tmp_path))
    plan = build_plan(cdir, nodes=2, ports="auto", etcd_binary="/bin/true")
    names = [c["name"] for c in plan["components"]]
    assert names == ["etcd", "apiserver", "scheduler", "controller-manager", "node-1", "node-2",
                     "kube-proxy-node-1", "kube-proxy-node-2"]
    node2 = plan["components"][5]
    assert node2["address"].startswith("127.1.0.2:")
    assert node2["command"][1:3] == ["-m", "kubelet"]
    octet = plan["podNetworkOctet"]
    assert octet != 244, "auto ports must claim a pod network of the cluster's own"
    assert "--pod-cidr" in node2["command"] and f"127.{octet}.2.0/24" in node2["command"]
    assert node2["command"][node2["command"].index("--root-dir") + 1] == cdir.node_dir("node-2")
    assert plan["apiservers"] == [plan["components"][1]["address"]]
    # Each node's kube-proxy on the node's IP; the apiserver allocates from the cluster's own loopback
    # service range, derived from its pod network octet.
    proxy2 = plan["components"][-1]
    assert proxy2["command"][1:3] == ["-m", "kube_proxy"] and proxy2["address"].startswith("127.1.0.2:")
    assert proxy2["command"][proxy2["command"].index("--hostname-override") + 1] == "node-2"
    api = plan["components"][1]["command"]
    assert api[api.index("--service-cluster-ip-range") + 1] == f"127.{octet - 100}.0.0/16"
    assert plan["serviceClusterIPRange"] == f"127.{octet - 100}.0.0/16"
    lean = build_plan(cdir, nodes=0, ports="default", scheduler=False, controller_manager=False,
                      etcd_binary="/bin/true")
    assert [c["name"] for c in lean["components"]] == ["etcd", "apiserver"]
    assert lean["components"][1]["address"] == "127.0.0.1:6443"
    assert lean["restServers"] == ["https://127.0.0.1:6444"]
    command = lean["components"][1]["command"]
    assert command[command.index("--rest-port") + 1] == "6444"
    ha = build_plan(cdir, nodes=0, ports="default", apiservers=2, secure=False, etcd_binary="/bin/true")
    assert ha["apiservers"] == ["127.0.0.1:6443", "127.0.0.1:6445"]
    assert ha["restServers"] == ["http://127.0.0.1:6444", "http://127.0.0.1:6446"]
    with pytest.raises(ValueError):
        build_plan(cdir, nodes=300, etcd_binary="/bin/true")


def test_build_plan_netns_gives_routed_pod_cidrs_from_the_clusters_octet(tmp_path):
    """--netns nodes have network stacks of their own: routable pod CIDRs 10.<octet>.N.0/24, kubelets
    that route them, the controller manager's node IPAM on the same /16, host routes in the topology."""
    cdir = ClusterDir(str(tmp_path))
    plan = build_plan(cdir, nodes=2, ports="auto", etcd_binary="/bin/true", netns=True, secure=False)
    octet = plan["podNetworkOctet"]
    comps = {c["name"]: c for c in plan["components"]}
    for i, name in enumerate(("node-1", "node-2"), start=1):
        command = comps[name]["command"]
        assert command[:4] == ["ip", "netns", "exec", plan["netns"]["nodes"][name]["namespace"]]
        assert command[command.index("--pod-cidr") + 1] == f"10.{octet}.{i}.0/24"
        assert command[command.index("--pod-network") + 1] == "routed"
        assert plan["netns"]["nodes"][name]["podCIDR"] == f"10.{octet}.{i}.0/24"
    cm = comps["controller-manager"]["command"]
    assert cm[cm.index("--cluster-cidr") + 1] == f"10.{octet}.0.0/16" == plan["netns"]["clusterCIDR"]
    local = build_plan(cdir, nodes=1, ports="auto", etcd_binary="/bin/true", secure=False)
    node1 = next(c for c in local["components"] if c["name"] == "node-1")["command"]
    assert "--pod-network" not in node1  # one machine's loopback: nothing to route, no privileges
    assert "--cluster-cidr" not in next(c for c in local["components"] if c["name"] == "controller-manager")["command"]


def test_secure_plan_gives_every_component_port_tls_and_kubelets_mutual_tls(tmp_path):
    def flag(comp: dict, name: str) -> str | None:
        command = comp["command"]
        return command[command.index(name) + 1] if name in command else None

    cdir = ClusterDir(str(tmp_path))
    comps = {c["name"]: c for c in build_plan(cdir, nodes=2, ports="auto", etcd_binary="/bin/true")["components"]}
    pki_dir = os.path.join(cdir.path, "pki")
    api = comps["apiserver"]
    assert flag(api, "--kubelet-client-certificate") == os.path.join(pki_dir, "apiserver-kubelet-client.crt")
    assert flag(api, "--kubelet-certificate-authority") == os.path.join(pki_dir, "ca.crt")
    node2 = comps["node-2"]
    assert flag(node2, "--tls-cert-file") == os.path.join(pki_dir, "kubelet-node-2.crt")
    assert flag(node2, "--client-ca-file") == os.path.join(pki_dir, "ca.crt")
    from kubemu.join import cert_sans

    assert cert_sans(flag(node2, "--tls-cert-file")) == {"node-2", "127.1.0.2"}
    # kubemu's tools reach a kubelet as the admin, expecting the node's name in its certificate.
    assert (node2["certFile"], node2["serverName"]) == (os.path.join(pki_dir, "admin.crt"), "node-2")
    for name in ("scheduler", "controller-manager"):
        assert flag(comps[name], "--tls-cert-file") == os.path.join(pki_dir, f"{name}-serving.crt")
        assert flag(comps[name], "--client-ca-file") is None and comps[name]["caFile"]
    insecure = build_plan(cdir, nodes=1, ports="auto", secure=False, etcd_binary="/bin/true")["components"]
    assert not any("--tls-cert-file" in c["command"] or "--kubelet-client-certificate" in c["command"]
                   for c in insecure)


def test_summarize_details():
    assert cli.summarize_details({"leader": True, "holder": "h", "scheduled": 4, "queue": {"active": 1}}) == \
        "leader=yes scheduled=4"
    text = cli.summarize_details({"node": "node-1", "nodeIP": "127.1.0.1", "pods": 2, "mode": "process",
                                  "etcdServers": "http://127.0.0.1:2379"}, "node-1")
    assert text == "pods=2 mode=process"


def test_node_ready():
    assert cli.node_ready({"status": {"conditions": [{"type": "Ready", "status": "True"}]}}) == "Ready"
    assert cli.node_ready({"status": {"conditions": [{"type": "Ready", "status": "False"}]}}) == "NotReady"
    assert cli.node_ready({}) == "Unknown"


def test_cleanup_kills_recorded_containers(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)
    try:
        cdir = tmp_path / "pods" / "uid-1" / "containers" / "main"
        cdir.mkdir(parents=True)
        (cdir / "container.json").write_text(json.dumps({
            "name": "main", "image": "busybox", "restart_count": 0, "log_path": str(cdir / "0.log"),
            "pid": proc.pid, "create_time": psutil.Process(proc.pid).create_time(), "exit_code": None}))
        cleanup_node_containers(str(tmp_path), timeout_s=2)
        wait_for(lambda: proc.poll() is not None, timeout_s=10, message="container process to be killed")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
