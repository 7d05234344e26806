"""Malformed objects and requests thrown at a running apiserver: it must answer every one with
a clear client error (never INTERNAL/UNKNOWN), keep serving, and store nothing it refused."""

from __future__ import annotations

import json

import grpc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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


def test_apiserver_still_serves_after_the_fuzzing(stub):
    resp = stub.Get(api_pb2.GetRequest(resource="namespaces", name="default"), timeout=10)
    assert json.loads(resp.object)["metadata"]["name"] == "default"
