"""The controller manager's wiring: --controllers syntax, shared informers, flags to options."""

from __future__ import annotations

import pytest

from controller_manager import __main__ as cm_main
from controller_manager.manager import ALL_CONTROLLERS, ControllerManager, parse_enabled
from tests.unit.test_controller_common import FakeAPI


def test_controllers_flag_syntax():
    assert parse_enabled("*") == ALL_CONTROLLERS
    assert parse_enabled("") == ALL_CONTROLLERS
    assert parse_enabled("job,replicaset") == ("replicaset", "job")
    assert "podgc" not in parse_enabled("*,-podgc") and "job" in parse_enabled("*,-podgc")
    with pytest.raises(SystemExit, match="unknown controllers: nope"):
        parse_enabled("*,nope")


def test_informers_are_shared_between_controllers():
    manager = ControllerManager(FakeAPI(), enabled="*")
    assert [c.name for c in manager.controllers] == list(ALL_CONTROLLERS)
    pod_informers = [i for r, i in manager.informers.items() if r == "pods"]
    assert len(pod_informers) == 1
    assert "events" not in manager.informers, "nothing watches events"
    assert manager.stats()["controllers"]["garbagecollector"]["queue"] == 0


def test_flags_become_options():
    args = cm_main.build_parser().parse_args([
        "--node-monitor-grace-period", "6s", "--node-monitor-period", "500ms", "--node-eviction-rate", "2",
        "--cluster-cidr", "127.246.0.0/16", "--node-cidr-mask-size", "26", "--terminated-pod-gc-threshold", "5",
        "--job-pod-failure-backoff", "1m"])
    opts = cm_main.options_from_args(args)
    assert (opts.node_lifecycle.grace_period_s, opts.node_lifecycle.monitor_period_s,
            opts.node_lifecycle.eviction_rate) == (6.0, 0.5, 2.0)
    assert (opts.cluster_cidr, opts.node_cidr_mask_size, opts.terminated_pod_gc_threshold,
            opts.job_pod_failure_backoff_s) == ("127.246.0.0/16", 26, 5, 60.0)
    defaults = cm_main.options_from_args(cm_main.build_parser().parse_args([]))
    assert (defaults.node_lifecycle.grace_period_s, defaults.node_lifecycle.startup_grace_period_s,
            defaults.node_lifecycle.eviction_rate) == (50.0, 60.0, 0.1)
    with pytest.raises(ValueError):
        cm_main.duration_s("5 minutes")
