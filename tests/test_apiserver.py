"""The apiserver against a real etcd, through real gRPC: storage, conflicts, watches, errors."""

from __future__ import annotations

import json
import subprocess
import threading

import pytest

from machinery import errors
from machinery.client import APIClient
from tests.helpers import wait_for


def pod(name: str, namespace: str = "", image: str = "nginx", **spec) -> dict:
    body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": "main", "image": image}], **spec}}
    if namespace:
        body["metadata"]["namespace"] = namespace
    return body


def etcdctl_get(etcd, key: str) -> str:
    from kubemu.etcd_server import find_etcd_binary

    etcdctl = find_etcd_binary().replace("etcd", "etcdctl") if not find_etcd_binary().endswith("/etcd") else \
        find_etcd_binary()[:-4] + "etcdctl"
    out = subprocess.run([etcdctl, "--endpoints", etcd.client_url, "get", key, "--print-value-only"],
                         capture_output=True, text=True, env={"ETCDCTL_API": "3"}, timeout=10)
    return out.stdout.strip()


def test_default_namespaces_exist(client):
    names = {n["metadata"]["name"] for n in client.list("namespaces").items}
    assert {"default", "kube-system", "kube-public", "kube-node-lease"} <= names
    assert client.get("namespaces", "default")["status"]["phase"] == "Active"


def test_create_sets_server_fields_and_stores_at_registry_path(client, namespace, etcd):
    created = client.create("pods", pod("web", namespace))
    m = created["metadata"]
    assert m["uid"] and m["creationTimestamp"] and int(m["resourceVersion"]) > 0
    assert created["status"]["phase"] == "Pending"
    assert created["spec"]["restartPolicy"] == "Always"  # defaulted by admission
    stored = json.loads(etcdctl_get(etcd, f"/registry/pods/{namespace}/web"))
    assert stored["metadata"]["uid"] == m["uid"]
    assert "resourceVersion" not in stored["metadata"]  # derived from etcd's mod_revision


def test_create_existing_fails_with_already_exists(client, namespace):
    client.create("pods", pod("dup", namespace))
    with pytest.raises(errors.AlreadyExists, match='pods "dup" already exists'):
        client.create("pods", pod("dup", namespace))


def test_same_name_in_two_namespaces(client, namespace):
    other = f"{namespace}-b"
    client.create("namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": other}})
    a = client.create("pods", pod("same", namespace))
    b = client.create("pods", pod("same", other))
    assert a["metadata"]["uid"] != b["metadata"]["uid"]
    assert client.get("pods", "same", other)["metadata"]["namespace"] == other


def test_stale_resource_version_update_conflicts(client, namespace):
    created = client.create("pods", pod("cas", namespace))
    fresh = dict(created, metadata=dict(created["metadata"], labels={"v": "1"}))
    updated = client.update("pods", fresh)
    assert int(updated["metadata"]["resourceVersion"]) > int(created["metadata"]["resourceVersion"])
    stale = dict(created, metadata=dict(created["metadata"], labels={"v": "2"}))
    with pytest.raises(errors.Conflict, match="the object has been modified"):
        client.update("pods", stale)
    assert client.get("pods", "cas", namespace)["metadata"]["labels"] == {"v": "1"}


def test_invalid_pod_is_refused_and_nothing_stored(client, namespace, etcd):
    bad = pod("Bad_Name", namespace)
    bad["spec"]["containers"][0]["image"] = ""
    with pytest.raises(errors.Invalid) as info:
        client.create("pods", bad)
    fields = {c.field for c in info.value.causes}
    assert {"metadata.name", "spec.containers[0].image"} <= fields
    assert etcdctl_get(etcd, f"/registry/pods/{namespace}/Bad_Name") == ""


@pytest.mark.parametrize("change, cause", [
    (lambda p: p["spec"].update(containers=[]), "spec.containers: Required value"),
    (lambda p: p["spec"]["containers"].append({"name": "main", "image": "busybox"}),
     'spec.containers[1].name: Duplicate value: "main"'),
    (lambda p: p["spec"]["containers"][0].update(ports=[{"containerPort": 80}, {"containerPort": 80}]),
     'spec.containers[0].ports[1]: Duplicate value: "80/TCP"'),
    (lambda p: p["spec"]["containers"][0].pop("name"), "spec.containers[0].name: Required value"),
    (lambda p: p["spec"]["containers"][0].update(resources={"requests": {"cpu": "lots"}}),
     'spec.containers[0].resources.requests[cpu]: Invalid value: "lots": quantities must match the regular '
     "expression"),
    (lambda p: p["metadata"].update(labels={"app": "x" * 64}),
     "metadata.labels: Invalid value: \"" + "x" * 64 + "\": must be no more than 63 characters"),
])
def test_each_pod_rule_is_refused_with_its_field_and_nothing_stored(client, namespace, etcd, change, cause):
    body = pod("broken", namespace)
    change(body)
    with pytest.raises(errors.Invalid) as info:
        client.create("pods", body)
    assert any(str(c).startswith(cause) for c in info.value.causes), [str(c) for c in info.value.causes]
    assert str(info.value).startswith('Pod "broken" is invalid: ')
    assert etcdctl_get(etcd, f"/registry/pods/{namespace}/broken") == ""


def test_pod_in_missing_namespace_is_refused(client):
    with pytest.raises(errors.NotFound, match='namespaces "no-such-ns" not found'):
        client.create("pods", pod("x", "no-such-ns"))


def test_a_pod_created_right_after_its_namespace_was_deleted_is_refused(client):
    """The apiserver answers NamespaceLifecycle from a cache of namespaces; a create that follows
    the delete call must not pass because the cache has not seen the deletion yet."""
    for i in range(5):
        name = f"short-lived-{i}"
        client.create("namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
        client.create("pods", pod("before", name))  # let the cache know the namespace as Active
        client.create("pods", pod("again", name))
        client.delete("namespaces", name)
        with pytest.raises(errors.Forbidden, match=f"unable to create new content in namespace {name} because "
                                                   "it is being terminated"):
            client.create("pods", pod("after", name))


def test_list_with_field_and_label_selectors(client, namespace):
    client.create("pods", pod("a", namespace, nodeName="node-x"))
    p = pod("b", namespace)
    p["metadata"]["labels"] = {"app": "web"}
    client.create("pods", p)
    unbound = client.list("pods", namespace, field_selector="spec.nodeName=").items
    assert [x["metadata"]["name"] for x in unbound] == ["b"]
    labelled = client.list("pods", namespace, label_selector="app=web").items
    assert [x["metadata"]["name"] for x in labelled] == ["b"]
    with pytest.raises(errors.BadRequest, match="not supported"):
        client.list("pods", namespace, field_selector="spec.bogus=1")


def test_pagination_reads_one_revision(client, namespace):
    for i in range(7):
        client.create("pods", pod(f"p{i}", namespace))
    first = client.list("pods", namespace, limit=3)
    assert len(first.items) == 3 and first.continue_token and first.remaining_item_count == 4
    client.create("pods", pod("late", namespace))
    rest = client.list_all("pods", namespace, page_size=3)
    assert len(rest.items) == 8
    names, token = [i["metadata"]["name"] for i in first.items], first.continue_token
    while token:
        page = client.list("pods", namespace, limit=3, continue_token=token)
        names += [i["metadata"]["name"] for i in page.items]
        token = page.continue_token
    assert names == [f"p{i}" for i in range(7)]  # "late" came after the first page's revision


def test_watch_resumes_from_old_resource_version_exactly_once(client, namespace):
    start = client.list("pods", namespace).resource_version
    client.create("pods", pod("w1", namespace))
    client.create("pods", pod("w2", namespace))
    obj = client.get("pods", "w1", namespace)
    obj["metadata"]["labels"] = {"x": "y"}
    client.update("pods", obj)
    client.delete("pods", "w2", namespace)
    seen = []
    watch = client.watch("pods", namespace, resource_version=start)

    def consume():
        for event in watch:
            seen.append((event.type, event.object["metadata"]["name"], event.object["metadata"]["resourceVersion"]))
    thread = threading.Thread(target=consume, daemon=True)
    thread.start()
    client.create("pods", pod("w3", namespace))
    wait_for(lambda: len(seen) >= 5, timeout_s=10, message="five watch events")
    watch.cancel()
    thread.join(5)
    assert [(t, n) for t, n, _ in seen] == [("ADDED", "w1"), ("ADDED", "w2"), ("MODIFIED", "w1"),
                                           ("DELETED", "w2"), ("ADDED", "w3")]
    revisions = [int(rv) for _, _, rv in seen]
    assert revisions == sorted(revisions) and len(set(revisions)) == 5


def test_watch_with_field_selector_sees_objects_enter_and_leave(client, namespace):
    rv = client.list("pods", namespace).resource_version
    client.create("pods", pod("mover", namespace))
    client.bind(namespace, "mover", "node-a")
    events = []
    watch = client.watch("pods", namespace, resource_version=rv, field_selector="spec.nodeName=node-a")
    for event in watch:
        events.append((event.type, event.object["spec"].get("nodeName")))
        break
    watch.cancel()
    assert events == [("ADDED", "node-a")]  # it entered the selection when bound


def test_watch_from_compacted_revision_is_expired(client, namespace, etcd):
    from apiserver.etcd import EtcdClient

    old = client.list("pods", namespace).resource_version
    client.create("pods", pod("c1", namespace))
    client.create("pods", pod("c2", namespace))  # compacting at the head keeps only the head revision
    head = int(client.list("pods", namespace).resource_version)
    etcd_client = EtcdClient([etcd.client_url])
    etcd_client.compact(head)
    etcd_client.close()
    with pytest.raises(errors.Expired):  # (no bookmarks: one could arrive before the compaction notice)
        for _ in client.watch("pods", namespace, resource_version=old, bookmarks=False):
            break


def test_bind_twice_conflicts(client, namespace):
    client.create("pods", pod("b1", namespace))
    bound = client.bind(namespace, "b1", "node-1")
    assert bound["spec"]["nodeName"] == "node-1"
    with pytest.raises(errors.Conflict, match='already assigned to node "node-1"'):
        client.bind(namespace, "b1", "node-2")


def test_graceful_delete_of_bound_pod(client, namespace):
    client.create("pods", pod("g1", namespace))
    client.bind(namespace, "g1", "node-1")
    marked = client.delete("pods", "g1", namespace)
    assert marked["metadata"]["deletionTimestamp"] and marked["metadata"]["deletionGracePeriodSeconds"] == 30
    assert client.get("pods", "g1", namespace)  # still there until the kubelet confirms
    client.delete("pods", "g1", namespace, grace_period_s=0, precondition_uid=marked["metadata"]["uid"])
    with pytest.raises(errors.NotFound):
        client.get("pods", "g1", namespace)


def test_unbound_pod_is_deleted_at_once(client, namespace):
    client.create("pods", pod("u1", namespace))
    client.delete("pods", "u1", namespace)
    with pytest.raises(errors.NotFound):
        client.get("pods", "u1", namespace)


def test_bad_json_body_is_bad_request(apiserver):
    import grpc

    from machinery.pb import api_pb2, api_pb2_grpc

    with grpc.insecure_channel(apiserver.address) as channel:
        stub = api_pb2_grpc.APIStub(channel)
        with pytest.raises(grpc.RpcError) as info:
            stub.Create(api_pb2.CreateRequest(resource="pods", namespace="default", object=b"{not json"))
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_unknown_resource_is_not_found(client):
    with pytest.raises(errors.NotFound, match="could not find the requested resource"):
        client.list("widgets")


def test_client_reports_unreachable_server():
    c = APIClient("127.0.0.1:1", retry_timeout_s=0.5)
    with pytest.raises(errors.Unavailable):
        c.get("namespaces", "default")


def test_a_client_that_does_not_retry_still_moves_to_the_next_apiserver(apiserver):
    from kubemu.etcd_server import free_port

    c = APIClient([f"127.0.0.1:{free_port()}", apiserver.address], retry_timeout_s=0, request_timeout_s=2)
    c._current = 0  # start on the apiserver that is away
    with pytest.raises(errors.Unavailable):
        c.get("namespaces", "default")
    assert c.get("namespaces", "default")["metadata"]["name"] == "default"  # the next call goes elsewhere
    c.close()


def test_watch_bookmarks_carry_a_recent_resource_version(client, namespace):
    rv = int(client.list("pods", namespace).resource_version)
    client.create("configmaps", {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "elsewhere"}},
                  namespace)
    watch = client.watch("pods", namespace, resource_version=str(rv), bookmarks=True)
    for event in watch:
        assert event.type == "BOOKMARK"  # nothing happened to pods: only bookmarks arrive
        assert int(event.object["metadata"]["resourceVersion"]) > rv
        break
    watch.cancel()


def test_generation_moves_only_with_the_spec(client, namespace):
    created = client.create("nodes", {"apiVersion": "v1", "kind": "Node", "metadata": {"name": f"gen-{namespace}"}})
    assert created["metadata"]["generation"] == 1
    created["metadata"]["labels"] = {"a": "b"}
    relabelled = client.update("nodes", created)
    assert relabelled["metadata"]["generation"] == 1
    relabelled["spec"] = {"unschedulable": True}
    assert client.update("nodes", relabelled)["metadata"]["generation"] == 2


def test_generate_name(client, namespace):
    body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"generateName": "web-"},
            "spec": {"containers": [{"name": "c", "image": "nginx"}]}}
    a, b = client.create("pods", body, namespace), client.create("pods", body, namespace)
    assert a["metadata"]["name"].startswith("web-") and len(a["metadata"]["name"]) == len("web-") + 5
    assert a["metadata"]["name"] != b["metadata"]["name"]


def test_finalizers_hold_deletion_until_removed(client, namespace):
    cm = client.create("configmaps", {"apiVersion": "v1", "kind": "ConfigMap",
                                      "metadata": {"name": "held", "finalizers": ["example.com/hold"]}}, namespace)
    marked = client.delete("configmaps", "held", namespace)
    assert marked["metadata"]["deletionTimestamp"]
    with pytest.raises(errors.Forbidden, match="no new finalizers"):
        client.update("configmaps", dict(marked, metadata=dict(marked["metadata"],
                                                                finalizers=["example.com/hold", "x.io/more"])))
    still = client.get("configmaps", "held", namespace)
    still["metadata"]["finalizers"] = []
    client.update("configmaps", still)
    with pytest.raises(errors.NotFound):
        client.get("configmaps", "held", namespace)
    assert cm["metadata"]["uid"]


def test_force_delete_removes_a_bound_pod_at_once(client, namespace):
    client.create("pods", pod("forced", namespace))
    client.bind(namespace, "forced", "node-gone")
    client.delete("pods", "forced", namespace, grace_period_s=0)
    with pytest.raises(errors.NotFound):
        client.get("pods", "forced", namespace)


def test_pod_spec_is_immutable_but_image_may_change(client, namespace):
    created = client.create("pods", pod("imm", namespace))
    created["spec"]["containers"][0]["image"] = "nginx:1.27"
    updated = client.update("pods", created)
    assert updated["spec"]["containers"][0]["image"] == "nginx:1.27"
    updated["spec"]["restartPolicy"] = "Never"
    with pytest.raises(errors.Invalid, match="pod updates may not change fields"):
        client.update("pods", updated)
    updated = client.get("pods", "imm", namespace)
    updated["spec"]["nodeName"] = "sneaky"
    with pytest.raises(errors.Invalid):
        client.update("pods", updated)


def test_oversized_object_is_refused(client, namespace):
    big = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "big"}, "data": {"x": "a" * (2 * 1024 * 1024)}}
    with pytest.raises(errors.Invalid, match="too large"):
        client.create("configmaps", big, namespace)


ENV_NAME_NOT_A_STRING = ('Pod in version "v1" cannot be handled as a Pod: json: cannot unmarshal bool into Go struct '
                         "field EnvVar.spec.containers.env.name of type string")


def test_a_value_of_the_wrong_json_type_is_refused_and_nothing_stored(client, namespace, etcd):
    bad = pod("typed", namespace)
    bad["spec"]["containers"][0]["env"] = [{"name": True}]  # YAML's `name: yes`
    with pytest.raises(errors.BadRequest) as info:
        client.create("pods", bad)
    assert info.value.message == ENV_NAME_NOT_A_STRING
    assert [c.field for c in info.value.causes] == ["spec.containers[0].env[0].name"]
    assert etcdctl_get(etcd, f"/registry/pods/{namespace}/typed") == ""

    created = client.create("pods", pod("typed", namespace))
    stored = etcdctl_get(etcd, f"/registry/pods/{namespace}/typed")
    changed = json.loads(json.dumps(created))
    changed["metadata"]["labels"] = {"version": 2}
    with pytest.raises(errors.BadRequest, match="ObjectMeta.metadata.labels of type string"):
        client.update("pods", changed)
    status = json.loads(json.dumps(created))
    status["status"]["containerStatuses"] = [{"name": "main", "ready": "yes", "restartCount": 0, "image": "nginx",
                                              "imageID": ""}]
    with pytest.raises(errors.BadRequest, match="ContainerStatus.status.containerStatuses.ready of type bool"):
        client.update_status("pods", status)
    assert etcdctl_get(etcd, f"/registry/pods/{namespace}/typed") == stored


def test_null_means_unset_and_integral_floats_are_integers(client, namespace):
    body = pod("nulls", namespace, nodeSelector=None, activeDeadlineSeconds=60.0)
    body["metadata"]["labels"] = None
    created = client.create("pods", body)
    assert "labels" not in created["metadata"] and "nodeSelector" not in created["spec"]
    assert type(created["spec"]["activeDeadlineSeconds"]) is int


def test_cli_apply_prints_the_decoding_error_and_fails(apiserver, namespace, tmp_path, etcd):
    import io

    from kubemu import kubectl

    manifest = tmp_path / "typed.yaml"
    manifest.write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: typed-cli}\nspec:\n  containers:\n"
                        "  - name: main\n    image: nginx\n    env:\n    - name: yes\n")
    out, err = io.StringIO(), io.StringIO()
    code = kubectl.run(["--server", apiserver.address, "apply", "-n", namespace, "-f", str(manifest)], stdout=out,
                       stderr=err)
    assert (code, out.getvalue()) == (1, "")
    assert err.getvalue() == (f'Error from server (BadRequest): error when creating "{manifest}": '
                              f"{ENV_NAME_NOT_A_STRING}\n")
    assert etcdctl_get(etcd, f"/registry/pods/{namespace}/typed-cli") == ""
