"""Malformed objects and requests thrown at a running apiserver: it must answer every one with
a clear client error (never INTERNAL/UNKNOWN), keep serving, and store nothing it refused; what
it stores is well typed (apiserver/typecheck.py), and pods built from the type description with
some values of the wrong JSON type are refused exactly when the type check says so."""

from __future__ import annotations

import copy
import json

import grpc
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from apiserver import apitypes
from apiserver.typecheck import check_types
from machinery import errors
from machinery.pb import api_pb2, api_pb2_grpc

SERVER_FAULTS = {grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN, grpc.StatusCode.UNAVAILABLE,
                 grpc.StatusCode.DEADLINE_EXCEEDED}

scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**40, 2**40), st.floats(allow_nan=False),
                    st.text(max_size=30), st.sampled_from(["", "Always", "100m", "-1", "1e999", "abc", "nginx",
                                                           "a" * 300, "UPPER", "x/y", "..", "kube-system"]))
json_values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                            st.dictionaries(st.text(max_size=12), inner, max_size=4)),
                           max_leaves=12)
names = st.one_of(st.sampled_from(["", "ok-name", "Bad_Name", "a" * 254, "-x", "x-", "a.b", "üñí", "a b"]),
                  st.text(max_size=20))


@st.composite
def pods(draw):
    container = draw(st.one_of(
        json_values,
        st.fixed_dictionaries({"name": names, "image": st.one_of(names, json_values)},
                              optional={"ports": json_values, "resources": st.one_of(
                                  json_values, st.fixed_dictionaries({"requests": st.dictionaries(
                                      st.sampled_from(["cpu", "memory", "x"]), scalars, max_size=2)})),
                                        "command": json_values, "env": json_values,
                                        "imagePullPolicy": scalars})))
    spec = draw(st.one_of(json_values, st.fixed_dictionaries(
        {"containers": st.one_of(st.lists(st.just(container), max_size=3), json_values)},
        optional={"restartPolicy": scalars, "nodeName": scalars, "terminationGracePeriodSeconds": scalars,
                  "nodeSelector": json_values, "initContainers": json_values})))
    metadata = draw(st.one_of(json_values, st.fixed_dictionaries(
        {"name": names}, optional={"labels": json_values, "annotations": json_values, "namespace": scalars,
                                   "generateName": scalars, "finalizers": json_values})))
    body = {"apiVersion": draw(st.sampled_from(["v1", "apps/v1", "", "v2"])),
            "kind": draw(st.sampled_from(["Pod", "Node", "", "Widget"])), "metadata": metadata, "spec": spec}
    return draw(st.one_of(st.just(body), json_values))


@pytest.fixture(scope="module")
def stub(apiserver):
    with grpc.insecure_channel(apiserver.address) as channel:
        yield api_pb2_grpc.APIStub(channel)


def _assert_client_error(call):
    try:
        return call()
    except grpc.RpcError as e:
        assert e.code() not in SERVER_FAULTS, f"server fault {e.code()}: {e.details()}"
        return None


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=pods(), resource=st.sampled_from(["pods", "pods", "pods", "nodes", "namespaces", "widgets", ""]),
       namespace=st.sampled_from(["default", "", "missing-ns", "BAD"]))
def test_malformed_creates_are_refused_cleanly_and_store_nothing(stub, body, resource, namespace):
    raw = json.dumps(body).encode()
    created = _assert_client_error(lambda: stub.Create(
        api_pb2.CreateRequest(resource=resource, namespace=namespace, object=raw), timeout=10))
    if created is not None:
        obj = json.loads(created.object)
        check_types(obj["apiVersion"], obj["kind"], copy.deepcopy(obj))  # what is stored is well typed
        stub.Delete(api_pb2.DeleteRequest(resource=resource, namespace=obj["metadata"].get("namespace", ""),
                                          name=obj["metadata"]["name"], grace_period_seconds=0), timeout=10)
        return
    name = body.get("metadata", {}).get("name") if isinstance(body, dict) and isinstance(
        body.get("metadata"), dict) else None
    if isinstance(name, str) and name and "/" not in name and resource == "pods" and namespace == "default":
        with pytest.raises(grpc.RpcError) as info:
            stub.Get(api_pb2.GetRequest(resource="pods", namespace="default", name=name), timeout=10)
        assert info.value.code() == grpc.StatusCode.NOT_FOUND


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.one_of(st.binary(max_size=200), st.text(max_size=100).map(str.encode)),
       verb=st.sampled_from(["Create", "Update", "UpdateStatus"]),
       label_selector=st.text(max_size=30), field_selector=st.text(max_size=30),
       rv=st.one_of(st.just(""), st.text(max_size=8)), limit=st.integers(-5, 5), token=st.text(max_size=20))
def test_garbage_bodies_and_options_are_client_errors(stub, raw, verb, label_selector, field_selector, rv, limit,
                                                      token):
    if verb == "Create":
        _assert_client_error(lambda: stub.Create(api_pb2.CreateRequest(resource="pods", namespace="default",
                                                                       object=raw), timeout=10))
    else:
        _assert_client_error(lambda: getattr(stub, verb)(api_pb2.UpdateRequest(
            resource="pods", namespace="default", name="nothing-here", object=raw), timeout=10))
    options = api_pb2.ListOptions(label_selector=label_selector, field_selector=field_selector,
                                  resource_version=rv, limit=limit, continue_token=token)
    _assert_client_error(lambda: stub.List(api_pb2.ListRequest(resource="pods", namespace="default",
                                                               options=options), timeout=10))


# Right values for each element type of apiserver/apitypes; a struct gets a few of its fields.
RIGHT_VALUES = {"string": st.sampled_from(["", "a", "Always", "TCP", "nginx"]), "int32": st.integers(-1, 70000),
                "int64": st.integers(-1, 2**40), "bool": st.booleans(), "double": st.floats(-1, 1),
                "bytes": st.just("aGk="), "Quantity": st.sampled_from(["100m", "1Gi", 1, 0.5, "lots"]),
                "IntOrString": st.sampled_from([80, "http", "25%"]), "Time": st.just("2026-01-01T00:00:00Z"),
                "MicroTime": st.just("2026-01-01T00:00:00.000000Z"), "Duration": st.just("1s"),
                "FieldsV1": json_values, "RawExtension": json_values, "StringList": st.lists(st.text(max_size=3))}


@st.composite
def typed_values(draw, ftype: apitypes.FieldType, depth: int):
    if draw(st.integers(0, 15)) == 0:
        return draw(json_values)  # most likely the wrong JSON type
    def one():
        if ftype.is_struct:
            return typed_structs(apitypes.struct(ftype.element), depth + 1)
        return RIGHT_VALUES[ftype.element]
    if ftype.container == "list":
        return draw(st.lists(one(), max_size=2))
    if ftype.container == "map":
        return draw(st.dictionaries(st.sampled_from(["cpu", "memory", "app"]), one(), max_size=2))
    return draw(one())


@st.composite
def typed_structs(draw, struct: apitypes.Struct, depth: int):
    if depth > 3:
        return {}
    fields = sorted(struct.properties.items())
    chosen = draw(st.lists(st.sampled_from(fields), max_size=3, unique_by=lambda f: f[0]))
    return {name: draw(typed_values(field.type, depth)) for name, field in chosen}


@st.composite
def typed_pods(draw):
    spec = draw(typed_structs(apitypes.struct("io.k8s.api.core.v1.PodSpec"), 1))
    spec.setdefault("containers", [{"name": "c", "image": "nginx"}])
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"typed-{draw(st.integers(0, 10**9))}"},
            "spec": spec}


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(body=typed_pods())
def test_pods_with_wrong_types_are_refused_exactly_when_the_type_check_says(stub, body):
    expected = None
    try:
        check_types("v1", "Pod", copy.deepcopy(body))
    except errors.BadRequest as e:
        expected = e.message
    try:
        created = stub.Create(api_pb2.CreateRequest(resource="pods", namespace="default",
                                                    object=json.dumps(body).encode()), timeout=10)
    except grpc.RpcError as e:
        assert e.code() not in SERVER_FAULTS, f"server fault {e.code()}: {e.details()}"
        error = errors.from_rpc_error(e)
        event(f"refused: {error.reason}" + (" (wrong type)" if expected else ""))
        if expected is not None:
            assert (error.reason, error.message) == ("BadRequest", expected)
        else:
            assert "cannot be handled as a Pod" not in error.message
        with pytest.raises(grpc.RpcError) as info:
            stub.Get(api_pb2.GetRequest(resource="pods", namespace="default", name=body["metadata"]["name"]),
                     timeout=10)
        assert info.value.code() == grpc.StatusCode.NOT_FOUND
        return
    assert expected is None, f"stored a pod the type check refuses: {expected}"
    event("stored")
    obj = json.loads(created.object)
    check_types("v1", "Pod", copy.deepcopy(obj))
    stub.Delete(api_pb2.DeleteRequest(resource="pods", namespace="default", name=obj["metadata"]["name"],
                                      grace_period_seconds=0), timeout=10)


def test_apiserver_still_serves_after_the_fuzzing(stub):
    resp = stub.Get(api_pb2.GetRequest(resource="namespaces", name="default"), timeout=10)
    assert json.loads(resp.object)["metadata"]["name"] == "default"
