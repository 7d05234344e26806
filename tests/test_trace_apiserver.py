"""The apiserver's part of a trace, through a real apiserver process and a real etcd: the pod
annotation, the caller's traceparent, what a create/update/refusal records, and Component/Spans."""

from __future__ import annotations

import grpc
import pytest

from machinery import errors, tracing
from machinery.pb import component_pb2, component_pb2_grpc

TRACE = "0af7651916cd43dd8448eb211c80319c"


def pod(name: str, container: str = "c") -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": container, "image": "busybox"}]}}


def spans(apiserver, namespace: str, name: str = "", trace_id: str = "") -> component_pb2.SpansResponse:
    with grpc.insecure_channel(apiserver.address) as channel:
        return component_pb2_grpc.ComponentStub(channel).Spans(
            component_pb2.SpansRequest(namespace=namespace, name=name, trace_id=trace_id, gather=True), timeout=10)


def by_name(response) -> dict[str, dict]:
    return {s.name: tracing.from_proto(s) for s in response.spans}


def test_a_created_pod_carries_its_trace_and_the_create_explains_itself(apiserver, client, namespace):
    created = client.create("pods", pod("p"), namespace)
    ctx = tracing.object_context(created)
    assert ctx is not None, "the apiserver stores the trace context on the pod"
    answer = spans(apiserver, namespace, "p")
    assert answer.trace_id == ctx.trace_id
    create = by_name(answer)["create pods"]
    assert create["spanId"] == ctx.span_id and create["parentSpanId"] == ""
    assert create["writeRevision"] == int(created["metadata"]["resourceVersion"])
    a = create["attributes"]
    assert a["authentication"].startswith("none: the apiserver runs unsecured")
    assert a["authorization"].startswith("user is in system:masters")
    assert a["validation"] == "passed" and a["etcdKey"] == f"/registry/pods/{namespace}/p"
    defaulting = next(p for p in a["admission"] if p["plugin"] == "Defaulting")
    assert {"op": "add", "path": "/spec/restartPolicy", "value": "Always"} in defaulting["patch"]
    # Sources that are not running here are named, not fatal.
    assert {s.component for s in answer.sources} >= {"apiserver", "scheduler", "controller-manager"}
    assert next(s for s in answer.sources if s.component == "scheduler").error


def test_the_callers_traceparent_makes_the_create_its_child(apiserver, client, namespace):
    caller = tracing.Tracer("kubectl", "test")
    with caller.span("kubectl apply", trace_id=TRACE) as step:
        created = client.create("pods", pod("child"), namespace)
    assert tracing.object_context(created).trace_id == TRACE
    create = by_name(spans(apiserver, namespace, trace_id=TRACE))["create pods"]
    assert create["parentSpanId"] == step.span_id


def test_later_writes_join_the_pods_trace_with_what_changed(apiserver, client, namespace):
    created = client.create("pods", pod("w"), namespace)

    def ready(p: dict) -> None:
        p.setdefault("status", {})["phase"] = "Running"

    client.mutate("pods", "w", namespace, ready, status=True)
    steps = by_name(spans(apiserver, namespace, "w"))
    update = steps["update pods/status"]
    assert update["traceId"] == tracing.object_context(created).trace_id
    assert update["parentSpanId"] == steps["create pods"]["spanId"]
    assert {"op": "replace", "path": "/status/phase", "value": "Running"} in update["attributes"]["changes"]


def test_a_refused_create_is_a_failed_step_found_by_name(apiserver, client, namespace):
    with pytest.raises(errors.Invalid):
        client.create("pods", pod("bad", container="Bad_Name"), namespace)
    create = by_name(spans(apiserver, namespace, "bad"))["create pods"]
    assert "is invalid" in create["error"]
    assert any("spec.containers[0].name" in cause for cause in create["attributes"]["validation"])


def test_spans_of_an_unknown_pod_are_not_found(apiserver, namespace):
    with pytest.raises(grpc.RpcError) as e:
        spans(apiserver, namespace, "nosuch")
    assert e.value.code() == grpc.StatusCode.NOT_FOUND
    assert "does not exist" in e.value.details()
