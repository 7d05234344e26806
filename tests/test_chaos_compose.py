"""``kubemu chaos --compose``: the docker / docker compose command lines, with a fake runner (no Docker)."""

from __future__ import annotations

import subprocess

import pytest

from kubemu import chaos
from kubemu.chaos import ChaosError, Compose


class FakeRunner:
    """Records every command; answers from ``replies`` (first matching prefix), else exit 0."""

    def __init__(self, replies: dict[tuple[str, ...], tuple[int, str]] | None = None):
        self.calls: list[list[str]] = []
        self.replies = replies or {}

    def __call__(self, cmd: list[str]) -> subprocess.CompletedProcess:
        self.calls.append(list(cmd))
        for prefix, (code, out) in self.replies.items():
            if tuple(cmd[:len(prefix)]) == prefix:
                return subprocess.CompletedProcess(cmd, code, out, "boom" if code else "")
        return subprocess.CompletedProcess(cmd, 0, "", "")


PS = ("docker", "ps")
INSPECT = ("docker", "inspect")


def kubelets(*pairs: tuple[str, str]) -> dict:
    return {PS: (0, "\n".join(c for c, _ in pairs) + "\n"), INSPECT: (0, "\n".join(h for _, h in pairs) + "\n")}


@pytest.mark.parametrize("verb,action", [("kill", "kill"), ("stop", "stop"), ("pause", "pause"),
                                         ("resume", "unpause"), ("restart", "restart"), ("start", "start")])
def test_service_verbs_map_to_compose_subcommands(verb, action):
    runner = FakeRunner()
    Compose("kubemu", "deploy/docker-compose.yml", runner=runner, say=lambda _m: None).run(verb, ["etcd"])
    assert runner.calls[0] == ["docker", "compose", "version"]
    assert runner.calls[-1] == ["docker", "compose", "-p", "kubemu", "-f", "deploy/docker-compose.yml", action, "etcd"]


def test_falls_back_to_docker_compose_v1():
    runner = FakeRunner({("docker", "compose"): (1, "")})
    Compose(runner=runner, say=lambda _m: None).run("kill", ["apiserver"])
    assert runner.calls[:2] == [["docker", "compose", "version"], ["docker-compose", "version"]]
    assert runner.calls[-1] == ["docker-compose", "kill", "apiserver"]


def test_no_compose_installed_is_a_clear_error():
    runner = FakeRunner({("docker",): (127, ""), ("docker-compose",): (127, "")})
    with pytest.raises(ChaosError, match="docker compose.*docker-compose"):
        Compose(runner=runner).run("stop", ["scheduler"])


@pytest.mark.parametrize("verb,action", [("kill", "kill"), ("stop", "stop"), ("pause", "pause"),
                                         ("resume", "unpause"), ("restart", "restart"), ("start", "start")])
def test_kubelet_node_acts_on_the_container_with_that_hostname(verb, action):
    runner = FakeRunner(kubelets(("c1", "node-a"), ("c2", "node-b")))
    Compose("stack", runner=runner, say=lambda _m: None).run(verb, ["kubelet", "node-b"])
    assert ["docker", "ps", "-a", "-q", "--filter", "label=com.docker.compose.project=stack",
            "--filter", "label=com.docker.compose.service=kubelet"] in runner.calls
    assert ["docker", "inspect", "-f", "{{.Config.Hostname}}", "c1", "c2"] in runner.calls
    assert runner.calls[-1] == ["docker", action, "c2"]
    assert not any(c[:2] == ["docker", "compose"] for c in runner.calls)  # no compose binary needed


def test_unknown_node_names_the_hostnames_found():
    runner = FakeRunner(kubelets(("c1", "node-a")))
    with pytest.raises(ChaosError, match='hostname "node-z".*node-a'):
        Compose("stack", runner=runner).run("kill", ["kubelet", "node-z"])


def test_no_kubelet_container():
    runner = FakeRunner({PS: (0, "")})
    with pytest.raises(ChaosError, match='no kubelet container in compose project "stack"'):
        Compose("stack", runner=runner).run("kill", ["kubelet", "node-a"])


def test_project_name_defaults_like_compose(monkeypatch, tmp_path):
    monkeypatch.delenv("COMPOSE_PROJECT_NAME", raising=False)
    d = tmp_path / "My.Stack"
    d.mkdir()
    assert chaos.default_project_name(str(d / "docker-compose.yml")) == "mystack"
    monkeypatch.setenv("COMPOSE_PROJECT_NAME", "other")
    assert chaos.default_project_name() == "other"


@pytest.mark.parametrize("verb,undo", [("kill", "start"), ("stop", "start"), ("pause", "unpause")])
def test_for_duration_undoes(monkeypatch, verb, undo):
    monkeypatch.setattr(chaos.time, "sleep", lambda _s: None)
    runner = FakeRunner(kubelets(("c1", "node-a")))
    Compose("p", runner=runner, say=lambda _m: None).run(verb, ["etcd"], duration="2s")
    assert runner.calls[-2:] == [["docker", "compose", "-p", "p", verb, "etcd"],
                                 ["docker", "compose", "-p", "p", undo, "etcd"]]
    runner = FakeRunner(kubelets(("c1", "node-a")))
    Compose("p", runner=runner, say=lambda _m: None).run(verb, ["kubelet", "node-a"], duration="1s")
    assert runner.calls[-2:] == [["docker", verb, "c1"], ["docker", undo, "c1"]]


def test_commands_undo_and_errors():
    runner = FakeRunner()
    assert Compose(runner=runner).commands("pause", ["etcd"], undo=True) == ["docker", "compose", "unpause", "etcd"]
    with pytest.raises(ChaosError, match="--for applies"):
        Compose(runner=runner).run("restart", ["etcd"], duration="5s")
    with pytest.raises(ChaosError, match="verbs are"):
        Compose(runner=runner).run("partition", ["kubelet", "node-1"])
    with pytest.raises(ChaosError, match="usage"):
        Compose(runner=runner).run("kill", ["etcd", "extra"])
    failing = FakeRunner({("docker", "compose", "kill"): (1, "")})
    with pytest.raises(ChaosError, match="docker compose kill etcd failed.*boom"):
        Compose(runner=failing).run("kill", ["etcd"])


def test_network_faults_need_a_netns_cluster(tmp_path):
    from kubemu.cluster import ClusterDir

    with pytest.raises(ChaosError, match="kubemu up --netns"):
        chaos.network(ClusterDir(str(tmp_path)), "partition", ["kubelet", "node-1"])


def test_netem_args_and_parsers():
    assert chaos.netem_args({"delayMs": 200.0, "jitterMs": 50.0, "lossPct": 20.0}) == \
        ["delay", "200ms", "50ms", "loss", "20%"]
    assert chaos.netem_args({}) == []
    assert chaos.parse_loss("20%") == 20.0
    with pytest.raises(ChaosError):
        chaos.parse_loss("150%")
    with pytest.raises(ChaosError, match="usage"):
        chaos._network_node(["kubelet", "node-1"], "delay", True)
    assert chaos._network_node(["node-1", "5%"], "loss", True) == ("node-1", "5%")


def test_cli_parses_compose_and_network_flags(monkeypatch):
    from kubemu import cli

    seen = {}
    monkeypatch.setattr(chaos.Compose, "run", lambda self, verb, words, duration="": seen.update(
        project=self.project, file=self.file, verb=verb, words=words, duration=duration) or 0)
    assert cli.main(["chaos", "--compose", "--project-name", "p", "--file", "f.yml", "resume", "kubelet", "n1",
                     "--for", "3s"]) == 0
    assert seen == {"project": "p", "file": "f.yml", "verb": "resume", "words": ["kubelet", "n1"], "duration": "3s"}


def test_cli_network_fault_on_plain_cluster_names_netns(tmp_path, capsys):
    from kubemu import cli

    assert cli.main(["chaos", "--cluster-dir", str(tmp_path), "delay", "kubelet", "node-1", "200ms",
                     "--jitter", "50ms"]) == 1
    assert "kubemu up --netns" in capsys.readouterr().err
