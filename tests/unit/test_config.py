"""machinery.config: where a component's settings come from.

Precedence, as documented for every kubemu component: command-line flag > ``KUBEMU_*``
environment variable > ``--config`` YAML file > built-in default. A typo in the file is an
error, and booleans can be switched off from the environment.
"""

from __future__ import annotations

import argparse
import os

import pytest

from machinery import config
from scheduler.__main__ import build_parser as scheduler_parser


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    """No KUBEMU_* variable from the outside world may leak into these tests."""
    for name in list(os.environ):
        if name.startswith(config.ENV_PREFIX):
            monkeypatch.delenv(name)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="component")
    p.add_argument("--apiserver", default="127.0.0.1:6443")
    p.add_argument("--port", type=int, default=10259)
    p.add_argument("--lease-duration", type=float, default=15.0)
    p.add_argument("--verbose-logs", action="store_true")
    p.add_argument("--scoring-strategy", default="LeastAllocated", choices=["LeastAllocated", "MostAllocated"])
    return p


def write(tmp_path, text: str) -> str:
    path = tmp_path / "component.yaml"
    path.write_text(text)
    return str(path)


def test_defaults_when_nothing_is_given():
    args = config.parse(parser(), [])
    assert (args.apiserver, args.port, args.lease_duration, args.verbose_logs) == ("127.0.0.1:6443", 10259, 15.0,
                                                                                   False)


def test_each_source_overrides_the_ones_below_it(tmp_path, monkeypatch):
    path = write(tmp_path, "apiserver: file:6443\nport: 1111\nlease-duration: 30\n")
    args = config.parse(parser(), ["--config", path])
    assert (args.apiserver, args.port, args.lease_duration) == ("file:6443", 1111, 30.0)

    monkeypatch.setenv("KUBEMU_APISERVER", "env:6443")
    monkeypatch.setenv("KUBEMU_PORT", "2222")
    args = config.parse(parser(), ["--config", path])
    assert (args.apiserver, args.port, args.lease_duration) == ("env:6443", 2222, 30.0)

    args = config.parse(parser(), ["--config", path, "--apiserver", "flag:6443"])
    assert (args.apiserver, args.port, args.lease_duration) == ("flag:6443", 2222, 30.0)


def test_values_are_converted_to_the_flags_types(tmp_path, monkeypatch):
    monkeypatch.setenv("KUBEMU_LEASE_DURATION", "2.5")
    args = config.parse(parser(), ["--config", write(tmp_path, "port: '8080'\n")])
    assert args.port == 8080 and isinstance(args.port, int)
    assert args.lease_duration == 2.5


def test_file_keys_may_use_underscores(tmp_path):
    args = config.parse(parser(), ["--config", write(tmp_path, "lease_duration: 7\nscoring_strategy: MostAllocated\n")])
    assert args.lease_duration == 7.0
    assert args.scoring_strategy == "MostAllocated"


def test_the_config_file_can_come_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("KUBEMU_CONFIG", write(tmp_path, "port: 4444\n"))
    assert config.parse(parser(), []).port == 4444


def test_a_config_flag_beats_the_config_environment_variable(tmp_path, monkeypatch):
    env_file = tmp_path / "env.yaml"
    env_file.write_text("port: 1\n")
    monkeypatch.setenv("KUBEMU_CONFIG", str(env_file))
    assert config.parse(parser(), ["--config", write(tmp_path, "port: 2\n")]).port == 2


def test_an_unknown_file_key_is_an_error_naming_it(tmp_path):
    path = write(tmp_path, "apiserver: x:1\nleese-duration: 3\n")
    with pytest.raises(SystemExit, match="unknown keys: leese-duration"):
        config.parse(parser(), ["--config", path])


def test_a_file_that_is_missing_or_not_a_mapping_is_an_error(tmp_path):
    with pytest.raises(SystemExit, match="cannot read config file"):
        config.parse(parser(), ["--config", str(tmp_path / "absent.yaml")])
    with pytest.raises(SystemExit, match="must be a mapping"):
        config.parse(parser(), ["--config", write(tmp_path, "- port\n- 1\n")])


def test_a_bad_value_from_the_environment_names_the_variable(monkeypatch):
    monkeypatch.setenv("KUBEMU_PORT", "eighty")
    with pytest.raises(SystemExit, match="KUBEMU_PORT"):
        config.parse(parser(), [])


@pytest.mark.parametrize(("text", "value"), [("true", True), ("1", True), ("yes", True), ("on", True),
                                             ("TRUE", True), ("false", False), ("0", False), ("no", False),
                                             ("off", False)])
def test_store_true_flags_from_the_environment(monkeypatch, text, value):
    monkeypatch.setenv("KUBEMU_VERBOSE_LOGS", text)
    assert config.parse(parser(), []).verbose_logs is value


def test_a_boolean_flag_beats_the_environment(monkeypatch):
    monkeypatch.setenv("KUBEMU_VERBOSE_LOGS", "false")
    assert config.parse(parser(), ["--verbose-logs"]).verbose_logs is True


def test_a_boolean_that_is_neither_true_nor_false_is_an_error(monkeypatch):
    monkeypatch.setenv("KUBEMU_VERBOSE_LOGS", "maybe")
    with pytest.raises(SystemExit, match="expected true or false"):
        config.parse(parser(), [])


def test_booleans_from_the_file(tmp_path):
    assert config.parse(parser(), ["--config", write(tmp_path, "verbose-logs: true\n")]).verbose_logs is True


def test_the_scheduler_reads_its_settings_through_the_same_precedence(tmp_path, monkeypatch):
    path = write(tmp_path, "apiserver: 10.0.0.1:6443\nleader-elect-lease-duration: 30\npod-max-backoff-seconds: 20\n")
    monkeypatch.setenv("KUBEMU_POD_MAX_BACKOFF_SECONDS", "5")
    args = config.parse(scheduler_parser(), ["--config", path, "--scoring-strategy", "MostAllocated"])
    assert args.apiserver == "10.0.0.1:6443"
    assert args.leader_elect_lease_duration == 30.0
    assert args.pod_max_backoff_seconds == 5.0
    assert args.scoring_strategy == "MostAllocated"
    assert args.leader_elect is True
    assert config.parse(scheduler_parser(), ["--no-leader-elect"]).leader_elect is False


def test_leader_election_can_be_switched_off_in_the_config_file(tmp_path):
    args = config.parse(scheduler_parser(), ["--config", write(tmp_path, "leader-elect: false\n")])
    assert args.leader_elect is False


def test_leader_election_can_be_switched_off_from_the_environment(monkeypatch):
    monkeypatch.setenv("KUBEMU_LEADER_ELECT", "false")
    assert config.parse(scheduler_parser(), []).leader_elect is False
