"""The REST API of a real apiserver process (TLS, tokens, RBAC) over HTTPS: status codes, Status
bodies, lists and pages, watches, the three patch formats, subresources, dry runs."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request

import pytest

from kubemu.etcd_server import free_port
from kubemu.pki import write_cluster_credentials
from tests.conftest import start_apiserver
from tests.helpers import wait_for


@pytest.fixture(scope="module")
def rest(etcd, tmp_path_factory):
    d = tmp_path_factory.mktemp("rest")
    pki = str(d / "pki")
    creds = write_cluster_credentials(pki, [])
    port = free_port()
    proc, address = start_apiserver(etcd.client_url, d, "--token-auth-file", creds["token_file"], "--tls-cert-file",
                              f"{pki}/apiserver.crt", "--tls-private-key-file", f"{pki}/apiserver.key",
                              token=creds["tokens"]["admin"], ca_file=f"{pki}/ca.crt", rest_port=port)
    context = ssl.create_default_context(cafile=f"{pki}/ca.crt")
    yield Rest(f"https://127.0.0.1:{port}", creds["tokens"]["admin"], context, address, creds, pki)
    proc.stop()


@pytest.fixture
def apiserver_details(rest):
    """The apiserver's Describe details (its open REST watches), over gRPC."""
    from machinery.client import Credentials, make_channel
    from machinery.pb import component_pb2, component_pb2_grpc

    channel = make_channel(rest.grpc_address, Credentials(token=rest.creds["tokens"]["admin"],
                                                          ca_file=f"{rest.pki}/ca.crt"))
    stub = component_pb2_grpc.ComponentStub(channel)
    yield lambda: json.loads(stub.Describe(component_pb2.DescribeRequest(), timeout=5).details)
    channel.close()


class Rest:
    def __init__(self, base: str, token: str, context: ssl.SSLContext, grpc_address: str = "", creds=None,
                 pki: str = ""):
        self.base, self.token, self.context = base, token, context
        self.grpc_address, self.creds, self.pki = grpc_address, creds, pki

    def open(self, method: str, path: str, body=None, *, content_type: str = "application/json",
             accept: str = "application/json", token: str | None = None, headers: dict | None = None):
        data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method,
                                         headers={"Content-Type": content_type, "Accept": accept, **(headers or {})})
        if (token if token is not None else self.token):
            request.add_header("Authorization", f"Bearer {token if token is not None else self.token}")
        try:
            return urllib.request.urlopen(request, context=self.context, timeout=10)
        except urllib.error.HTTPError as e:
            return e

    def call(self, method: str, path: str, body=None, **kw) -> tuple[int, dict]:
        response = self.open(method, path, body, **kw)
        raw = response.read()
        return response.status if hasattr(response, "status") else response.code, json.loads(raw) if raw else {}


def test_public_paths_need_no_credentials_and_the_rest_answers_401(rest):
    code, version = rest.call("GET", "/version", token="")
    assert (code, version["gitVersion"]) == (200, "v1.32.0")
    assert rest.open("GET", "/readyz", token="").read() == b"ok"
    code, status = rest.call("GET", "/api/v1/pods", token="")
    assert (code, status["kind"], status["reason"], status["message"]) == (401, "Status", "Unauthorized",
                                                                           "Unauthorized")
    assert rest.call("GET", "/api/v1/pods", token="wrong")[0] == 401


def test_create_get_list_pages_and_errors(rest):
    code, ns = rest.call("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                        "metadata": {"name": "rest-a"}})
    assert (code, ns["kind"], ns["apiVersion"], ns["status"]["phase"]) == (201, "Namespace", "v1", "Active")
    for i in range(3):
        code, cm = rest.call("POST", "/api/v1/namespaces/rest-a/configmaps?fieldManager=test",
                             {"metadata": {"name": f"cm-{i}"}, "data": {"k": str(i)}})
        assert (code, cm["kind"], cm["metadata"]["managedFields"][0]["manager"]) == (201, "ConfigMap", "test")
    code, again = rest.call("POST", "/api/v1/namespaces/rest-a/configmaps", {"metadata": {"name": "cm-0"}})
    assert (code, again["reason"], again["message"]) == (409, "AlreadyExists", 'configmaps "cm-0" already exists')
    code, page = rest.call("GET", "/api/v1/namespaces/rest-a/configmaps?limit=2")
    assert (code, page["kind"], len(page["items"])) == (200, "ConfigMapList", 2)
    assert page["metadata"]["resourceVersion"] and page["metadata"]["continue"]
    code, rest_page = rest.call("GET", "/api/v1/namespaces/rest-a/configmaps?limit=2&continue="
                                + page["metadata"]["continue"])
    assert [i["metadata"]["name"] for i in rest_page["items"]] == ["cm-2"]
    code, missing = rest.call("GET", "/api/v1/namespaces/rest-a/configmaps/nope")
    assert (code, missing["reason"], missing["message"]) == (404, "NotFound", 'configmaps "nope" not found')
    code, invalid = rest.call("POST", "/api/v1/namespaces/rest-a/configmaps", {"metadata": {"name": "Bad_Name"}})
    assert (code, invalid["reason"], invalid["details"]["kind"]) == (422, "Invalid", "ConfigMap")
    assert invalid["details"]["causes"][0]["field"] == "metadata.name"
    assert rest.call("GET", "/api/v1/frobnicators")[0] == 404
    code, table = rest.call("GET", "/api/v1/namespaces/rest-a/configmaps",
                            accept="application/json;as=Table;v=v1;g=meta.k8s.io")
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Data", "Age"]
    assert [r["cells"][:2] for r in table["rows"]] == [["cm-0", 1], ["cm-1", 1], ["cm-2", 1]]


def test_patches_dry_run_and_delete(rest):
    rest.call("POST", "/api/v1/namespaces", {"metadata": {"name": "rest-b"}})
    path = "/api/v1/namespaces/rest-b/pods"
    pod = {"metadata": {"name": "p", "labels": {"a": "1"}},
           "spec": {"containers": [{"name": "c", "image": "nginx"}, {"name": "d", "image": "busybox"}]}}
    assert rest.call("POST", path + "?dryRun=All", pod)[0] == 201
    assert rest.call("GET", path + "/p")[0] == 404  # the dry run stored nothing
    assert rest.call("POST", path, pod)[0] == 201
    code, merged = rest.call("PATCH", path + "/p", {"metadata": {"labels": {"b": "2"}}},
                             content_type="application/merge-patch+json")
    assert (code, merged["metadata"]["labels"]) == (200, {"a": "1", "b": "2"})
    code, strategic = rest.call("PATCH", path + "/p", {"spec": {"containers": [{"name": "d", "image": "busybox:2"}]}},
                                content_type="application/strategic-merge-patch+json")
    assert [(c["name"], c["image"]) for c in strategic["spec"]["containers"]] == [("c", "nginx"), ("d", "busybox:2")]
    add = [{"op": "add", "path": "/metadata/annotations", "value": {"x": "y"}}]
    code, patched = rest.call("PATCH", path + "/p", add, content_type="application/json-patch+json")
    assert (code, patched["metadata"]["annotations"]) == (200, {"x": "y"})
    stale = [{"op": "replace", "path": "/metadata/resourceVersion", "value": "1"}]
    code, conflict = rest.call("PATCH", path + "/p", stale, content_type="application/json-patch+json")
    assert (code, conflict["reason"]) == (409, "Conflict")
    code, status_patch = rest.call("PATCH", path + "/p/status", {"status": {"phase": "Failed"},
                                                                 "spec": {"nodeName": "ignored"}},
                                   content_type="application/merge-patch+json")
    assert (code, status_patch["status"]["phase"], status_patch["spec"].get("nodeName")) == (200, "Failed", None)
    assert rest.call("PATCH", path + "/p", {}, content_type="text/plain")[0] == 415
    code, deleted = rest.call("DELETE", path + "/p", {"kind": "DeleteOptions", "apiVersion": "v1",
                                                      "gracePeriodSeconds": 0})
    assert (code, deleted["kind"]) == (200, "Pod")
    assert rest.call("GET", path + "/p")[0] == 404


def test_watch_streams_initial_and_later_events_as_json_lines(rest):
    rest.call("POST", "/api/v1/namespaces", {"metadata": {"name": "rest-c"}})
    rest.call("POST", "/api/v1/namespaces/rest-c/configmaps", {"metadata": {"name": "before"}})
    stream = rest.open("GET", "/api/v1/namespaces/rest-c/configmaps?watch=true&timeoutSeconds=10")
    first = json.loads(stream.readline())
    assert (first["type"], first["object"]["metadata"]["name"]) == ("ADDED", "before")
    rest.call("POST", "/api/v1/namespaces/rest-c/configmaps", {"metadata": {"name": "after"}})
    rest.call("DELETE", "/api/v1/namespaces/rest-c/configmaps/before")
    events = [json.loads(stream.readline()) for _ in range(2)]
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [("ADDED", "after"),
                                                                             ("DELETED", "before")]
    stream.close()
    tables = rest.open("GET", "/api/v1/namespaces/rest-c/configmaps?watch=1&timeoutSeconds=5",
                       accept="application/json;as=Table;v=v1;g=meta.k8s.io")
    event = json.loads(tables.readline())
    assert event["object"]["kind"] == "Table" and event["object"]["rows"][0]["cells"][0] == "after"
    tables.close()


def test_scale_subresource_answers_a_scale(rest):
    rest.call("POST", "/api/v1/namespaces", {"metadata": {"name": "rest-d"}})
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
                  "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                           "template": {"metadata": {"labels": {"app": "web"}},
                                        "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}}
    assert rest.call("POST", "/apis/apps/v1/namespaces/rest-d/deployments", deployment)[0] == 201
    code, scale = rest.call("GET", "/apis/apps/v1/namespaces/rest-d/deployments/web/scale")
    assert (code, scale["kind"], scale["apiVersion"], scale["spec"]["replicas"], scale["status"]["selector"]) == \
        (200, "Scale", "autoscaling/v1", 1, "app=web")
    code, scaled = rest.call("PATCH", "/apis/apps/v1/namespaces/rest-d/deployments/web/scale",
                             {"spec": {"replicas": 4}}, content_type="application/merge-patch+json")
    assert (code, scaled["kind"], scaled["spec"]["replicas"]) == (200, "Scale", 4)
    code, bad = rest.call("PATCH", "/apis/apps/v1/namespaces/rest-d/deployments/web/scale",
                          {"spec": {"replicas": -1}}, content_type="application/merge-patch+json")
    assert (code, bad["reason"]) == (422, "Invalid")
    assert rest.call("GET", "/apis/apps/v1/namespaces/rest-d/deployments/web")[1]["spec"]["replicas"] == 4


def test_impersonation_needs_the_impersonate_verb(rest):
    code, review = rest.call("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
                             {"spec": {"resourceAttributes": {"verb": "list", "resource": "pods"}}},
                             headers={"Impersonate-User": "jane"})
    assert (code, review["status"]["allowed"]) == (201, False)


def test_protobuf_bodies_are_decoded_and_bad_ones_are_400(rest):
    from tests.unit.test_rest_protobuf import body, msg

    created = body("v1", "Namespace", msg(1, msg(1, "rest-pb"), msg(2, ""), msg(8)) + msg(2) + msg(3))
    code, namespace = rest.call("POST", "/api/v1/namespaces", created,
                                content_type="application/vnd.kubernetes.protobuf")
    assert (code, namespace["kind"], namespace["metadata"]["name"]) == (201, "Namespace", "rest-pb")
    assert "generateName" not in namespace["metadata"]  # Go's empty strings are not values
    for garbage in (b"k8s\x00\x0a\x7f", b"not protobuf", body("v1", "Frobnicator", b"")):
        code, status = rest.call("POST", "/api/v1/namespaces", garbage,
                                 content_type="application/vnd.kubernetes.protobuf")
        assert (code, status["reason"]) == (400, "BadRequest")
        assert status["message"].startswith("cannot decode the protobuf body: ")


def test_openapi_documents_are_served(rest):
    response = rest.open("GET", "/openapi/v2", accept="application/com.github.proto-openapi.spec.v2@v1.0+protobuf")
    assert response.status == 200
    assert response.headers["Content-Type"] == "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
    assert response.read().startswith(b"\n\x032.0")  # Document.swagger = "2.0"
    code, index = rest.call("GET", "/openapi/v3")
    url = index["paths"]["apis/apps/v1"]["serverRelativeURL"]
    code, document = rest.call("GET", url)
    assert code == 200 and "io.k8s.api.apps.v1.Deployment" in document["components"]["schemas"]
    assert rest.call("GET", "/openapi/v3/apis/frobs/v1")[0] == 404


def test_strict_field_validation(rest):
    code, status = rest.call("POST", "/api/v1/namespaces/default/configmaps?fieldValidation=Strict",
                             {"metadata": {"name": "strict"}, "dta": {}})
    assert (code, status["reason"]) == (400, "BadRequest")
    assert 'strict decoding error: unknown field "dta"' in status["message"]
    response = rest.open("POST", "/api/v1/namespaces/default/configmaps?fieldValidation=Warn",
                         json.dumps({"metadata": {"name": "warned"}, "dta": {}}).encode())
    assert response.status == 201 and 'unknown field \\"dta\\"' in response.headers["Warning"]


def test_a_client_that_goes_away_ends_its_watch(rest, apiserver_details):
    streams = [rest.open("GET", "/api/v1/namespaces/default/configmaps?watch=true") for _ in range(3)]
    wait_for(lambda: apiserver_details()["restOpenWatches"] == 3, timeout_s=10, message="three open watches")
    for stream in streams:
        stream.close()
    wait_for(lambda: apiserver_details()["restOpenWatches"] == 0, timeout_s=10, message="watches ended")


def test_self_subject_review_says_who_the_caller_is(rest):
    code, review = rest.call("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews",
                             {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"})
    assert (code, review["status"]["userInfo"]["username"]) == (201, "admin")
    assert "system:masters" in review["status"]["userInfo"]["groups"]


def test_values_of_the_wrong_json_type_are_400_for_every_write(rest, etcd):
    from tests.test_apiserver import etcdctl_get

    path = "/api/v1/namespaces/default/pods"
    refused = ('Pod in version "v1" cannot be handled as a Pod: json: cannot unmarshal bool into Go struct field '
               "EnvVar.spec.containers.env.name of type string")
    bad = {"metadata": {"name": "typed"}, "spec": {"containers": [{"name": "c", "image": "nginx",
                                                                   "imagePullPolice": "x",
                                                                   "env": [{"name": True}]}]}}
    code, status = rest.call("POST", path + "?fieldValidation=Strict", bad)  # the type, not the unknown field
    assert (code, status["reason"], status["message"]) == (400, "BadRequest", refused)
    assert status["details"]["causes"][0]["field"] == "spec.containers[0].env[0].name"
    manifest = b"metadata: {name: typed}\nspec:\n  containers:\n  - {name: c, image: nginx, env: [{name: yes}]}\n"
    code, status = rest.call("POST", path, manifest, content_type="application/yaml")
    assert (code, status["message"]) == (400, refused)
    assert rest.call("GET", path + "/typed")[0] == 404
    assert etcdctl_get(etcd, "/registry/pods/default/typed") == ""

    good = {"metadata": {"name": "typed"}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}}
    code, created = rest.call("POST", path, good)
    assert code == 201
    labelled = ("cannot unmarshal number into Go struct field ObjectMeta.metadata.labels of type string")
    replaced = json.loads(json.dumps(created))
    replaced["metadata"]["labels"] = {"v": 2}
    writes = [("PUT", replaced, "application/json"),
              ("PATCH", {"metadata": {"labels": {"v": 2}}}, "application/merge-patch+json"),
              ("PATCH", {"metadata": {"labels": {"v": 2}}}, "application/strategic-merge-patch+json"),
              ("PATCH", [{"op": "add", "path": "/metadata/labels", "value": {"v": 2}}], "application/json-patch+json"),
              ("PATCH", b"apiVersion: v1\nkind: Pod\nmetadata: {name: typed, labels: {v: 2}}\n",
               "application/apply-patch+yaml")]
    for method, body, content_type in writes:
        query = "?fieldManager=test" if content_type.startswith("application/apply") else ""
        code, status = rest.call(method, path + "/typed" + query, body, content_type=content_type)
        assert (code, status.get("reason")) == (400, "BadRequest"), (content_type, status)
        assert status["message"].endswith(labelled), content_type
    code, live = rest.call("GET", path + "/typed")
    assert live["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]
    assert rest.call("DELETE", path + "/typed", {"gracePeriodSeconds": 0})[0] == 200
