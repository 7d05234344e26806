"""The simulated runtime (kubelet/runtime/simulated.py): behaviour from data, driven by a fake clock."""

from __future__ import annotations

import pytest

from kubelet.runtime.base import ContainerRuntimeError, ContainerSpec, ImagePullError
from kubelet.runtime.simulated import BehaviourError, SimulatedRuntime, load_behaviours


class Clock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def clock():
    return Clock()


def runtime(clock, path=None) -> SimulatedRuntime:
    return SimulatedRuntime(load_behaviours(path), clock=clock, sleep=clock.sleep,
                            wall=lambda: 1_700_000_000 + clock.now)


def test_containers_run_until_stopped_by_default(clock):
    rt = runtime(clock)
    sb = rt.run_sandbox("u1", "ns", "p", "127.0.0.2")
    state = rt.run_container(sb, ContainerSpec("c", "nginx"))
    assert (state.state, state.restart_count) == ("running", 0)
    clock.now += 10_000
    assert rt.container_status(sb, "c").state == "running"
    stopped = rt.stop_container(sb, "c", 30)
    assert (stopped.state, stopped.exit_code, stopped.reason) == ("terminated", 143, "Error")
    assert rt.stats([sb]) == {}
    again = rt.run_container(sb, ContainerSpec("c", "nginx"))
    assert again.restart_count == 1 and again.last.exit_code == 143


def test_create_then_start_then_remove(clock):
    rt = runtime(clock)
    sb = rt.run_sandbox("u1", "ns", "p", "127.0.0.2")
    spec = ContainerSpec("c", "nginx", pod_annotations={"simulated.kubemu.io/behaviour": '{"startDelaySeconds": 2}'})
    created = rt.create_container(sb, spec)
    assert (created.state, created.reason, created.restart_count) == ("waiting", "ContainerCreating", 0)
    assert clock.slept == [] and rt.stats([sb]) == {}  # created: nothing runs, no start delay yet
    assert rt.start_container(sb, "c").state == "running" and clock.slept == [2.0]
    with pytest.raises(ContainerRuntimeError, match="not in the created state"):
        rt.start_container(sb, "c")
    with pytest.raises(ContainerRuntimeError, match="stop it before removing it"):
        rt.remove_container(sb, "c")
    rt.stop_container(sb, "c", 30)
    assert rt.create_container(sb, spec).restart_count == 1 and rt.list_attempts(sb, "c") == [1]
    rt.remove_container(sb, "c", 0)  # earlier instances keep nothing here
    assert rt.container_status(sb, "c").reason == "ContainerCreating"
    rt.remove_container(sb, "c")
    assert rt.list_containers(sb) == [] and rt.list_attempts(sb, "c") == []
    with pytest.raises(ContainerRuntimeError, match="was not created"):
        rt.start_container(sb, "c")
    with pytest.raises(ContainerRuntimeError, match="unknown field 'nope'"):
        rt.create_container(sb, ContainerSpec("bad", "nginx", pod_annotations={
            "simulated.kubemu.io/behaviour": '{"nope": 1}'}))


def test_annotations_and_rules_shape_the_lifecycle(clock, tmp_path):
    user = tmp_path / "behaviour.yaml"
    user.write_text("defaults: {startDelaySeconds: 0.5}\nrules:\n"
                    "  - match: {image: busybox, labels: {kind: job}}\n    runSeconds: 2\n    exitCode: 0\n"
                    "  - match: {container: slow}\n    stopDelaySeconds: 5\n    memoryBytes: 1000\n"
                    "    cpuMillis: 500\n")
    rt = runtime(clock, str(user))
    sb = rt.run_sandbox("u1", "ns", "p", "127.0.0.2")
    rt.run_container(sb, ContainerSpec("job", "busybox:1.36", pod_labels={"kind": "job"}))
    assert clock.slept == [0.5]
    clock.now += 1.9
    assert rt.container_status(sb, "job").state == "running"
    clock.now += 0.2
    done = rt.container_status(sb, "job")
    assert (done.state, done.exit_code, done.reason) == ("terminated", 0, "Completed")
    rt.run_container(sb, ContainerSpec("x", "busybox", pod_annotations={
        "simulated.kubemu.io/behaviour.x": '{"runSeconds": 1, "exitCode": 7}'}))
    clock.now += 1
    assert rt.container_status(sb, "x").exit_code == 7
    rt.run_container(sb, ContainerSpec("slow", "nginx"))
    clock.now += 2
    assert rt.stats([sb])[("u1", "slow")].memory_bytes == 1000
    assert rt.stats([sb])[("u1", "slow")].cpu_seconds == pytest.approx(1.0)
    assert rt.stop_container(sb, "slow", 1).exit_code == 137  # stops slower than its grace period


def test_pulls_probes_exec_and_errors(clock):
    rt = runtime(clock)
    with pytest.raises(ImagePullError, match="not found"):
        rt.pull_image("does-not-exist:v1")
    rt.pull_image("nginx")
    assert rt.image_present("docker.io/library/nginx:latest")
    sb = rt.run_sandbox("u1", "ns", "p", "127.0.0.2")
    rt.run_container(sb, ContainerSpec("c", "nginx", pod_annotations={
        "simulated.kubemu.io/behaviour": "ready: false\nexecExitCode: 2"}))
    assert rt.probe(sb, "c", "readiness") is False and rt.probe(sb, "c", "liveness") is True
    assert rt.exec_sync(sb, "c", ["true"]).exit_code == 2
    assert rt.container_log_path(sb, "c") is None
    rt.remove_sandbox(sb)
    assert rt.list_sandboxes() == [] and rt.list_containers(sb) == []


def test_bad_behaviour_files_are_refused(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("defaults: {runForever: true}\n")
    with pytest.raises(BehaviourError, match="unknown field 'runForever'"):
        load_behaviours(str(bad))
    bad.write_text("rules:\n  - match: {namespace: x}\n")
    with pytest.raises(BehaviourError, match="unknown keys"):
        load_behaviours(str(bad))


def test_pulled_images_are_listed_for_the_node_status():
    from kubelet.node_status import NODE_STATUS_MAX_IMAGES, images_status

    rt = SimulatedRuntime(sleep=lambda s: None)
    assert rt.list_images() == {}
    rt.pull_image("nginx")
    assert rt.list_images() == {"docker.io/library/nginx:latest": 10_000_000}
    many = {f"img-{i}:latest": i for i in range(NODE_STATUS_MAX_IMAGES + 10)}
    reported = images_status(many)
    assert len(reported) == NODE_STATUS_MAX_IMAGES
    largest = NODE_STATUS_MAX_IMAGES + 9
    assert reported[0] == {"names": [f"img-{largest}:latest"], "sizeBytes": largest}
