"""machinery.events against a real apiserver: what ``kubectl describe`` would show.

A recorder that reports the same thing about the same object again bumps ``count`` and
``lastTimestamp`` on the one Event (``x3 over 2m``) instead of flooding the namespace with
copies. Event timestamps come from :func:`machinery.meta.utcnow`, replaced here by a fake
wall clock so the test controls them.
"""

from __future__ import annotations

import datetime as dt
import re
import threading

import pytest

from kubemu.etcd_server import free_port
from machinery import meta
from machinery.client import APIClient
from machinery.events import EventRecorder


class FakeWallClock:
    def __init__(self):
        self.now = dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


@pytest.fixture
def wall(monkeypatch) -> FakeWallClock:
    clock = FakeWallClock()
    monkeypatch.setattr(meta, "utcnow", clock)
    return clock


def make_pod(client: APIClient, namespace: str, name: str = "web") -> dict:
    return client.create("pods", {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": namespace},
                                  "spec": {"containers": [{"name": "main", "image": "nginx"}]}})


def events_about(client: APIClient, namespace: str, name: str) -> list[dict]:
    return client.list("events", namespace, field_selector=f"involvedObject.name={name}").items


def test_a_repeated_event_bumps_count_and_last_timestamp_on_one_event(client, namespace, wall):
    pod = make_pod(client, namespace)
    recorder = EventRecorder(client, "default-scheduler")
    message = "0/3 nodes are available: 3 Insufficient cpu."
    recorder.event(pod, "Warning", "FailedScheduling", message)
    first = events_about(client, namespace, "web")
    assert len(first) == 1
    wall.advance(30)
    recorder.event(pod, "Warning", "FailedScheduling", message)
    wall.advance(90)
    recorder.event(pod, "Warning", "FailedScheduling", message)

    events = events_about(client, namespace, "web")
    assert len(events) == 1, "the repeats must update the first Event, not create more"
    ev = events[0]
    assert ev["metadata"]["name"] == first[0]["metadata"]["name"]
    assert ev["count"] == 3
    assert ev["firstTimestamp"] == "2030-01-02T03:04:05Z"
    assert ev["lastTimestamp"] == "2030-01-02T03:06:05Z"
    assert (ev["type"], ev["reason"], ev["message"]) == ("Warning", "FailedScheduling", message)
    assert ev["source"] == {"component": "default-scheduler"}
    involved = ev["involvedObject"]
    assert (involved["kind"], involved["namespace"], involved["name"], involved["uid"]) == \
        ("Pod", namespace, "web", pod["metadata"]["uid"])


def test_different_reasons_messages_or_objects_are_separate_events(client, namespace, wall):
    web, db = make_pod(client, namespace, "web"), make_pod(client, namespace, "db")
    recorder = EventRecorder(client, "kubelet", host="node-1")
    recorder.event(web, "Normal", "Pulling", 'Pulling image "nginx"')
    recorder.event(web, "Normal", "Pulled", 'Successfully pulled image "nginx"')
    recorder.event(web, "Normal", "Pulling", 'Pulling image "nginx:1.27"')
    recorder.event(db, "Normal", "Pulling", 'Pulling image "nginx"')
    recorder.event(web, "Normal", "Pulling", 'Pulling image "nginx"')
    web_events = events_about(client, namespace, "web")
    assert sorted((e["reason"], e["message"], e["count"]) for e in web_events) == [
        ("Pulled", 'Successfully pulled image "nginx"', 1),
        ("Pulling", 'Pulling image "nginx"', 2),
        ("Pulling", 'Pulling image "nginx:1.27"', 1),
    ]
    assert [e["count"] for e in events_about(client, namespace, "db")] == [1]
    assert web_events[0]["source"] == {"component": "kubelet", "host": "node-1"}


def test_after_the_aggregation_window_a_repeat_starts_a_new_event(client, namespace, wall):
    pod = make_pod(client, namespace)
    recorder = EventRecorder(client, "default-scheduler", aggregate_window_s=0)
    recorder.event(pod, "Normal", "Scheduled", "Successfully assigned it")
    recorder.event(pod, "Normal", "Scheduled", "Successfully assigned it")
    assert [e["count"] for e in events_about(client, namespace, "web")] == [1, 1]


def test_a_repeat_of_an_event_that_was_deleted_creates_it_again(client, namespace, wall):
    pod = make_pod(client, namespace)
    recorder = EventRecorder(client, "default-scheduler")
    recorder.event(pod, "Warning", "FailedScheduling", "no room")
    (ev,) = events_about(client, namespace, "web")
    client.delete("events", ev["metadata"]["name"], namespace)  # expired, or cleaned up by a user
    recorder.event(pod, "Warning", "FailedScheduling", "no room")
    events = events_about(client, namespace, "web")
    assert [e["count"] for e in events] == [1]


def test_events_about_cluster_scoped_objects_go_to_the_default_namespace(client, wall):
    name = f"node-{free_port()}"
    node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "uid": "uid-1"}}
    recorder = EventRecorder(client, "node-controller")
    recorder.event(node, "Normal", "NodeNotReady", f"Node {name} status is now: NodeNotReady")
    recorder.event(node, "Normal", "NodeNotReady", f"Node {name} status is now: NodeNotReady")
    (ev,) = events_about(client, "default", name)
    assert ev["count"] == 2
    assert ev["involvedObject"]["kind"] == "Node"


def test_recording_never_raises_when_the_apiserver_is_unreachable(wall):
    dead = APIClient(f"127.0.0.1:{free_port()}", retry_timeout_s=0.2, request_timeout_s=1)
    try:
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "default", "uid": "u"}}
        EventRecorder(dead, "default-scheduler").event(pod, "Normal", "Scheduled", "assigned")
    finally:
        dead.close()


def test_a_background_recorder_sends_every_event_and_aggregates_repeats(client, namespace, wall):
    pod = make_pod(client, namespace, "bg")
    recorder = EventRecorder(client, "kubelet", host="node-1", background=True)
    for reason in ("Pulled", "Created", "Started"):
        recorder.event(pod, "Normal", reason, f"{reason} container main")
    recorder.event(pod, "Normal", "Started", "Started container main")  # aggregated into the one before
    assert recorder.flush(timeout_s=30)
    events = events_about(client, namespace, "bg")
    assert sorted((e["reason"], e["count"]) for e in events) == [("Created", 1), ("Pulled", 1), ("Started", 2)]
    assert all(e["source"] == {"component": "kubelet", "host": "node-1"} for e in events)


def test_a_background_recorder_drops_events_past_its_queue_instead_of_blocking(wall):
    dead = APIClient(f"127.0.0.1:{free_port()}", retry_timeout_s=0.5, request_timeout_s=1)
    try:
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "default", "uid": "u"}}
        recorder = EventRecorder(dead, "kubelet", background=True, max_queued=2)
        for i in range(10):
            recorder.event(pod, "Normal", "Started", f"try {i}")
        assert recorder.dropped >= 7  # one may be in flight, two queued
    finally:
        dead.close()


def test_a_recorder_with_several_senders_sends_events_concurrently_and_keeps_repeats_aggregated(
        client, namespace, wall):
    """The scheduler records one event per pod bound: several senders, so a slow apiserver round
    trip does not cap how many events per second get through; a repeat still bumps its Event."""
    pods = [make_pod(client, namespace, f"many-{i}") for i in range(8)]
    arrived, lock, together, met = [], threading.Lock(), threading.Event(), []
    real_create = client.create

    def create(*args, **kwargs):
        with lock:
            arrived.append(1)
            first_two = len(arrived) <= 2
            if len(arrived) == 2:
                together.set()
        if first_two:  # the first two creates wait for each other: one sender alone would time out
            met.append(together.wait(timeout=10))
        return real_create(*args, **kwargs)

    client.create = create
    try:
        recorder = EventRecorder(client, "default-scheduler", background=True, workers=4)
        for _ in range(3):
            for p in pods:
                recorder.event(p, "Normal", "Scheduled", f"Successfully assigned {namespace}/{p['metadata']['name']}")
        assert recorder.flush(timeout_s=30)
    finally:
        client.create = real_create
    counts = sorted((e["involvedObject"]["name"], e["count"]) for e in events_about_all(client, namespace))
    assert counts == [(f"many-{i}", 3) for i in range(8)]
    assert met == [True, True]


def events_about_all(client: APIClient, namespace: str) -> list[dict]:
    return [e for e in client.list("events", namespace).items if e["involvedObject"]["name"].startswith("many-")]


def test_events_are_named_by_time_so_a_list_gives_them_in_the_order_they_happened(client, namespace, wall):
    """client-go names an Event ``<object>.<hex ns>``: the list (etcd key order) is chronological, which
    is the order ``kubectl get events`` prints and ``kubectl describe`` keeps among equal seconds."""
    pod = make_pod(client, namespace, "ordered")
    recorder = EventRecorder(client, "kubelet", "node-1", background=True, workers=3)
    reasons = ["Scheduled", "Pulling", "Pulled", "Created", "Started", "Killing", "BackOff", "Unhealthy"]
    for reason in reasons:
        recorder.event(pod, "Normal", reason, f"{reason} ordered")
    assert recorder.flush(timeout_s=30)
    listed = client.list("events", namespace, field_selector="involvedObject.name=ordered").items
    assert [e["reason"] for e in listed] == reasons
    assert all(re.fullmatch(r"ordered\.[0-9a-f]{16}", e["metadata"]["name"]) for e in listed)
