"""The OpenAPI documents (apiserver/rest/openapi.py): the v2 protobuf decodes back to what kubectl
needs, v3 documents are self-contained, and both carry the patch merge keys of
apiserver/patch_meta.py."""

from __future__ import annotations

import json

from apiserver.rest import openapi, protobuf
from machinery.resources import RESOURCES


def _message(data: bytes) -> dict[int, list]:
    out: dict[int, list] = {}
    for number, _, value in protobuf.fields(data):
        out.setdefault(number, []).append(value)
    return out


def _named(data: bytes, number: int) -> dict[str, bytes]:
    """A repeated Named* (name = 1, value = 2) field of gnostic's messages, by name."""
    out = {}
    for item in _message(data).get(number, []):
        f = _message(item)
        out[f[1][0].decode()] = f[2][0]
    return out


def _extensions(schema: bytes, number: int) -> dict:
    return {name: json.loads(_message(value)[2][0]) for name, value in _named(schema, number).items()}


def test_the_v2_protobuf_decodes_back_to_kinds_fields_and_merge_keys():
    document = _message(openapi.v2_protobuf())
    assert document[1] == [b"2.0"]
    definitions = _named(document[9][0], 1)
    assert len(definitions) > 200
    pod = _message(definitions["io.k8s.api.core.v1.Pod"])
    assert pod[22] == [b"\n\x06object"]  # TypeItem{value: "object"}
    assert _extensions(definitions["io.k8s.api.core.v1.Pod"], 31)["x-kubernetes-group-version-kind"] == \
        [{"group": "", "kind": "Pod", "version": "v1"}]
    properties = _named(_message(definitions["io.k8s.api.core.v1.PodSpec"])[25][0], 1)
    containers = _message(properties["containers"])
    assert _extensions(properties["containers"], 31) == {"x-kubernetes-patch-strategy": "merge",
                                                         "x-kubernetes-patch-merge-key": "name"}
    item = _message(_message(containers[23][0])[1][0])
    assert item[1] == [b"#/definitions/io.k8s.api.core.v1.Container"]
    assert _message(properties["tolerations"]).get(31) is None  # atomic: no patch strategy
    port_keys = _extensions(_named(_message(definitions["io.k8s.api.core.v1.Container"])[25][0], 1)["ports"], 31)
    assert port_keys["x-kubernetes-patch-merge-key"] == "containerPort"


def test_the_v2_paths_say_that_the_server_validates_fields():
    paths = _named(_message(openapi.v2_protobuf())[8][0], 2)
    patch = _message(_message(paths["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"])[8][0])
    assert _extensions(openapi._gnostic.operation(openapi.v2_document()["paths"][
        "/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"]), 13)[
        "x-kubernetes-group-version-kind"] == {"group": "apps", "kind": "Deployment", "version": "v1"}
    query_names = set()
    for parameter in patch[8]:
        non_body = _message(_message(parameter)[1][0]).get(2)
        if non_body:
            query = _message(_message(non_body[0])[3][0])
            query_names.add(query[4][0].decode())
    assert {"fieldValidation", "fieldManager", "dryRun", "force"} <= query_names


def test_every_v3_document_is_self_contained_and_lists_its_kinds():
    index = openapi.v3_index()["paths"]
    assert index["api/v1"]["serverRelativeURL"].startswith("/openapi/v3/api/v1?hash=")
    for info in RESOURCES.values():
        path = f"apis/{info.api_version}" if "/" in info.api_version else f"api/{info.api_version}"
        document = openapi.v3_document(path)
        schemas = document["components"]["schemas"]
        refs = set()
        openapi._references(document, refs, "#/components/schemas/")
        assert refs <= set(schemas), refs - set(schemas)
        kinds = [gvk["kind"] for s in schemas.values() for gvk in s.get("x-kubernetes-group-version-kind", [])]
        assert info.kind in kinds
    assert openapi.v3_document("apis/frobs/v1") is None


def test_v3_patch_operations_carry_the_kind_and_field_validation():
    document = openapi.v3_document("apis/apps/v1")
    patch = document["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"]
    assert patch["x-kubernetes-group-version-kind"] == {"group": "apps", "kind": "Deployment", "version": "v1"}
    assert {"name": "fieldValidation", "in": "query"}.items() <= \
        next(p for p in patch["parameters"] if p["name"] == "fieldValidation").items()
    spec = document["components"]["schemas"]["io.k8s.api.apps.v1.DeploymentSpec"]
    assert spec["properties"]["template"]["allOf"] == [
        {"$ref": "#/components/schemas/io.k8s.api.core.v1.PodTemplateSpec"}]
    assert "selector" in spec["required"]
