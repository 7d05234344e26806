"""Tracing machinery: W3C traceparent, the ring buffer, JSON Patch diffs, the admission record, the
causal ordering of spans from skewed clocks, the renderers and the OTLP/HTTP exporter."""

from __future__ import annotations

import copy
import http.server
import json
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apiserver.admission.chain import AdmissionChain, Attributes
from apiserver.rest.patch import json_patch
from kubemu import trace_html, trace_view
from machinery import errors, tracing
from machinery.jsondiff import diff
from machinery.otlp import OTLPExporter, export_request

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


# --- traceparent ------------------------------------------------------------------------------------


def test_traceparent_round_trip():
    ctx = tracing.parse_traceparent(f"00-{TRACE}-00f067aa0ba902b7-01")
    assert ctx == tracing.SpanContext(TRACE, "00f067aa0ba902b7", True)
    assert ctx.traceparent == f"00-{TRACE}-00f067aa0ba902b7-01"
    assert tracing.parse_traceparent(f"00-{TRACE}-00f067aa0ba902b7-00").sampled is False


@pytest.mark.parametrize("value", [
    "", None, "garbage", f"ff-{TRACE}-00f067aa0ba902b7-01",       # version ff is forbidden
    f"00-{'0' * 32}-00f067aa0ba902b7-01", f"00-{TRACE}-{'0' * 16}-01",  # all-zero ids are invalid
    f"00-{TRACE[:-1]}-00f067aa0ba902b7-01", f"00-{TRACE}-00f067aa0ba902b7-01-extra",  # v00 has four fields
])
def test_malformed_traceparents_are_ignored(value):
    assert tracing.parse_traceparent(value) is None


def test_a_future_version_may_carry_more_fields():
    assert tracing.parse_traceparent(f"01-{TRACE}-00f067aa0ba902b7-01-future").trace_id == TRACE


def test_object_context_reads_the_annotation():
    pod = {"metadata": {"annotations": {tracing.ANNOTATION: f"00-{TRACE}-00f067aa0ba902b7-01"}}}
    assert tracing.object_context(pod).trace_id == TRACE
    assert tracing.object_context({"metadata": {}}) is None


# --- the tracer -------------------------------------------------------------------------------------


def test_ring_buffer_keeps_the_newest_spans():
    t = tracing.Tracer("scheduler", "s1", capacity=3)
    for i in range(5):
        t.start(f"step-{i}", trace_id=TRACE).end()
    assert [s.name for s in t.spans(trace_id=TRACE)] == ["step-2", "step-3", "step-4"]
    assert t.stats()["recorded"] == 5


def test_span_context_propagates_to_children_and_grpc_metadata():
    t = tracing.Tracer("kubelet", "node-1")
    assert tracing.outgoing_metadata() == []
    with t.span("outer", trace_id=TRACE) as outer:
        assert tracing.outgoing_metadata() == [("traceparent", f"00-{TRACE}-{outer.span_id}-01")]
        child = t.start("inner")
        assert (child.trace_id, child.parent_id) == (TRACE, outer.span_id)
        child.end()
    assert tracing.current_span() is None
    ctx = tracing.incoming_context([("authorization", "x"), ("traceparent", f"00-{TRACE}-{outer.span_id}-01")])
    assert ctx.span_id == outer.span_id


def test_a_failing_block_records_its_error():
    t = tracing.Tracer("kubelet", "node-1")
    with pytest.raises(ValueError), t.span("pull image", trace_id=TRACE):
        raise ValueError("no such image")
    (span,) = t.spans(trace_id=TRACE)
    assert span.error == "no such image"


def test_switched_off_tracer_records_nothing():
    t = tracing.Tracer("apiserver", "a", enabled=False)
    span = t.start("create pods")
    assert span is tracing.NO_SPAN and not span.recording
    with t.span("x") as s:
        s.set(a=1).read(3).wrote(4).fail("y")
        assert tracing.outgoing_metadata() == []
    assert t.spans() == []


def test_in_current_context_carries_the_span_into_a_thread_pool():
    from concurrent.futures import ThreadPoolExecutor

    t = tracing.Tracer("scheduler", "s")
    with ThreadPoolExecutor(1) as pool, t.span("schedule", trace_id=TRACE) as span:
        seen = pool.submit(tracing.in_current_context(tracing.current_span)).result()
        bare = pool.submit(tracing.current_span).result()
    assert seen is span and bare is None


def test_a_span_survives_the_proto_round_trip_and_long_values_are_cut():
    t = tracing.Tracer("apiserver", "a")
    span = t.start("create pods", trace_id=TRACE, obj={"metadata": {"namespace": "d", "name": "p", "uid": "u"}})
    span.set(note="x" * 10_000, nested={"list": [1, "two"]}).wrote(42).end()
    d = tracing.from_proto(tracing.to_proto(span))
    assert d["object"] == "d/p" and d["objectUid"] == "u" and d["writeRevision"] == 42
    assert d["attributes"]["nested"] == {"list": [1, "two"]}
    assert len(d["attributes"]["note"]) == tracing.MAX_ATTRIBUTE_CHARS + 1


# --- JSON patch of what changed ---------------------------------------------------------------------


def test_diff_names_each_change():
    before = {"spec": {"containers": [{"name": "c"}], "tolerations": [{"key": "a"}]}, "gone": 1}
    after = {"spec": {"containers": [{"name": "c", "imagePullPolicy": "Always"}],
                      "tolerations": [{"key": "a"}, {"key": "b/c"}]}, "new~": True}
    assert diff(before, after) == [
        {"op": "remove", "path": "/gone"},
        {"op": "add", "path": "/spec/containers/0/imagePullPolicy", "value": "Always"},
        {"op": "add", "path": "/spec/tolerations/1", "value": {"key": "b/c"}},
        {"op": "add", "path": "/new~0", "value": True}]


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=3),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner,
                                                                                        max_size=3), max_leaves=10)


@given(json_values, json_values)
def test_applying_the_diff_gives_the_new_document(before, after):
    assert json_patch(copy.deepcopy(before), diff(before, after)) == after


# --- admission records every plugin -------------------------------------------------------------------


class _Add:
    name = "AddLabel"

    def admit(self, attrs):
        attrs.object["metadata"].setdefault("labels", {})["added"] = "yes"


class _Nothing:
    name = "Nothing"

    def admit(self, attrs):
        pass

    def validate(self, attrs):
        pass


class _Refuse:
    name = "Refuse"

    def validate(self, attrs):
        raise errors.Forbidden("pods is forbidden: no")


def test_admission_records_patches_and_refusals_in_order():
    chain = AdmissionChain([_Add(), _Nothing()], [_Nothing(), _Refuse()])
    attrs = Attributes("CREATE", "pods", "default", "p", {"metadata": {"name": "p"}})
    chain.admit(attrs)
    with pytest.raises(errors.Forbidden):
        chain.validate(attrs)
    steps = [(s["plugin"], s["phase"], s.get("patch"), s.get("refused")) for s in attrs.trace]
    assert steps == [("AddLabel", "mutating", [{"op": "add", "path": "/metadata/labels", "value": {"added": "yes"}}],
                      None), ("Nothing", "mutating", None, None), ("Nothing", "validating", None, None),
                     ("Refuse", "validating", None, "pods is forbidden: no")]
    assert all(isinstance(s["micros"], int) for s in attrs.trace)


# --- ordering and rendering ---------------------------------------------------------------------------


def span(name, component, span_id, parent="", *, start_ms, took_ms=1.0, host="h1", identity="", read=0, wrote=0,
         error="", **attributes):
    return {"traceId": TRACE, "spanId": span_id, "parentSpanId": parent, "name": name, "component": component,
            "identity": identity, "host": host, "pid": 1, "startUnixNanos": int(start_ms * 1e6),
            "durationNanos": int(took_ms * 1e6), "readRevision": read, "writeRevision": wrote,
            "object": "default/p", "objectUid": "u", "error": error, "attributes": attributes}


def pod_story(*, kubelet_clock_ms: float = 0.0) -> list[dict]:
    """A pod's steps; the kubelet's host clock is off by ``kubelet_clock_ms``."""
    k = kubelet_clock_ms
    return [
        span("create pods", "apiserver", "a1", start_ms=1000, wrote=10, user="admin"),
        span("scheduling queue", "scheduler", "s1", "a1", start_ms=1002, read=10),
        span("schedule", "scheduler", "s2", "a1", start_ms=1003, read=10, selected="node-2", feasible=1, evaluated=2,
             nodes=[{"node": "node-1", "feasible": False, "rejectedBy": "NodeUnschedulable",
                     "reasons": ["node(s) were unschedulable"]},
                    {"node": "node-2", "feasible": True, "scores": {"NodeResourcesFit": 97}, "total": 97}]),
        span("bind", "scheduler", "s3", "s2", start_ms=1004, took_ms=3, node="node-2"),
        span("bind pods/binding", "apiserver", "a2", "s3", start_ms=1005, wrote=11, node="node-2"),
        span("watch delivered pod", "kubelet", "k1", "a1", start_ms=1010 + k, took_ms=0, host="h2",
             identity="node-2", read=11),
        span("start container", "kubelet", "k2", "a1", start_ms=1400 + k, host="h2", identity="node-2",
             container="c", kind="app", pid=4242),
        span("write status", "kubelet", "k3", "a1", start_ms=1402 + k, host="h2", identity="node-2", wrote=12,
             phase="Running"),
        span("update pods/status", "apiserver", "a3", "k3", start_ms=1403, wrote=12),
    ]


def test_steps_are_ordered_by_causality_when_a_hosts_clock_is_behind():
    timeline = trace_view.build(pod_story(kubelet_clock_ms=-500), pod="default/p")
    names = [s.span["name"] for s in timeline.steps]
    assert names == ["create pods", "scheduling queue", "schedule", "bind", "bind pods/binding",
                     "watch delivered pod", "start container", "write status", "update pods/status"]
    assert any("clock of host h2 is behind" in n for n in timeline.notes)
    offsets = [s.offset_ns for s in timeline.steps]
    delivered = names.index("watch delivered pod")
    assert offsets[delivered] >= offsets[names.index("bind pods/binding")], "shifted to follow the bind"


def test_one_clock_needs_no_correction_and_gaps_are_shown():
    timeline = trace_view.build(pod_story(), pod="default/p")
    assert timeline.notes == ["steps come from 2 hosts; their clocks agree with causality (no correction)"]
    text = trace_view.render_text(timeline)
    assert "node-1: rejected by NodeUnschedulable: node(s) were unschedulable" in text
    assert "node-2: score 97 (NodeResourcesFit 97)  <- chosen" in text
    assert "kubelet node-2: watch delivered pod" in text and "after bind pods/binding wrote it" in text
    assert "ms with no step recorded" in text  # the 390 ms between delivery and the container start
    lines = text.splitlines()
    column = {c: next(line.index(f" {c}: ") for line in lines if f" {c}: " in line) for c in ("apiserver", "scheduler")}
    assert column["scheduler"] > column["apiserver"], "indented by component"


def test_a_pending_pod_is_stuck_at_the_scheduler():
    spans = pod_story()[:2] + [
        span("schedule", "scheduler", "s2", "a1", start_ms=1003, read=10, error="0/2 nodes are available: "
             "2 Insufficient cpu."),
        span("update pods/status", "apiserver", "a9", "s2", start_ms=1004, wrote=11)]
    timeline = trace_view.build(spans, pod="default/p")
    assert trace_view.where_stuck(timeline) == ("stuck at scheduler: schedule failed: 0/2 nodes are available: "
                                                "2 Insufficient cpu.")
    assert trace_view.where_stuck(trace_view.build(pod_story())) == ""


def test_a_lost_compare_and_swap_race_is_not_where_a_pod_is_stuck():
    conflict = 'Operation cannot be fulfilled on pods "p": the object has been modified'
    spans = pod_story() + [span("update pods/status", "apiserver", "a4", "k3", start_ms=1410, error=conflict,
                                errorReason="Conflict")]
    timeline = trace_view.build(spans, pod="default/p")
    assert trace_view.where_stuck(timeline) == ""
    assert "conflict: the writer's copy was older than etcd's" in trace_view.render_text(timeline)
    refused = pod_story() + [span("update pods/status", "apiserver", "a4", "k3", start_ms=1410,
                                  error="pods is forbidden", errorReason="Forbidden")]
    assert trace_view.where_stuck(trace_view.build(refused)).startswith("stuck at apiserver")
    seen_running = refused[:-1] + [span("watch saw pod Running", "kubectl", "c1", "a3", start_ms=1405),
                                   refused[-1]]
    assert trace_view.where_stuck(trace_view.build(seen_running)) == "", "the client saw it Running"


def test_json_and_html_have_a_swimlane_per_process():
    timeline = trace_view.build(pod_story(), pod="default/p")
    data = json.loads(trace_view.to_json(timeline))
    assert data["lanes"] == ["apiserver", "scheduler", "kubelet node-2"]
    assert [s["name"] for s in data["steps"]][0] == "create pods"
    page = trace_html.render_html(timeline)
    assert page.count('class="swimlane"') == 3
    assert 'data-component="kubelet"' in page and "<script" not in page and "http://" not in page.replace(
        'xmlns="http://www.w3.org/2000/svg"', "")


# --- OTLP/HTTP export ---------------------------------------------------------------------------------


def test_export_request_is_otlp_json():
    body = export_request(pod_story()[:2])
    (resource,) = body["resourceSpans"][:1]
    attrs = {a["key"]: a["value"] for a in resource["resource"]["attributes"]}
    assert attrs["service.name"] == {"stringValue": "kubemu-apiserver"}
    (first,) = resource["scopeSpans"][0]["spans"]
    assert first["traceId"] == TRACE and first["spanId"] == "a1" and first["startTimeUnixNano"] == "1000000000"
    assert {"key": "kubemu.etcd.write_revision", "value": {"intValue": "10"}} in first["attributes"]


def test_exporter_posts_batches_to_a_collector():
    received = []

    class Collector(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's naming
            received.append((self.path, json.loads(self.rfile.read(int(self.headers["Content-Length"])))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Collector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        exporter = OTLPExporter(f"http://127.0.0.1:{server.server_port}")
        t = tracing.Tracer("scheduler", "s")
        t.exporter = exporter
        t.start("schedule", trace_id=TRACE).end()
        exporter.flush()
        assert exporter.sent == 1
        path, body = received[0]
        assert path == "/v1/traces"
        assert body["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["name"] == "schedule"
    finally:
        server.shutdown()


def test_exporter_drops_spans_when_the_collector_is_down():
    exporter = OTLPExporter("http://127.0.0.1:9")  # discard port: nothing listens
    t = tracing.Tracer("scheduler", "s")
    t.exporter = exporter
    t.start("schedule", trace_id=TRACE).end()
    exporter.flush()
    assert (exporter.sent, exporter.dropped, exporter.failed_batches) == (0, 1, 1)
    assert len(t.spans()) == 1, "the ring buffer still has it"
