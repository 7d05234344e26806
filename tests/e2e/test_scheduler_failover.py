"""Two scheduler processes, one Lease: only the leader schedules; kill -9 it and the standby
takes over within one lease duration (plus one retry period) and schedules what piled up.

Short leader-election timings (lease 4 s, renew deadline 3 s, retry 1 s) keep the test fast.
"""

from __future__ import annotations

import io
import time
import uuid

import pytest

from kubemu import kubectl_scheduling
from tests.e2e.test_scheduler_placement import add_node, bound_nodes, describe, pod, start_control_plane
from tests.helpers import wait_for

pytestmark = pytest.mark.e2e

LEASE_S, RENEW_S, RETRY_S = 4.0, 3.0, 1.0
ELECTION_FLAGS = ("--leader-elect-lease-duration", str(LEASE_S), "--leader-elect-renew-deadline", str(RENEW_S),
                  "--leader-elect-retry-period", str(RETRY_S))


def holder(api) -> str:
    return (api.get("leases", "kube-scheduler", "kube-system").get("spec") or {}).get("holderIdentity") or ""


def test_two_schedulers_one_leader_and_failover_on_kill(tmp_path):
    plane = start_control_plane(tmp_path)
    api = plane.client()
    try:
        for i in (1, 2, 3):
            add_node(api, f"node-{i}")
        plane.start_scheduler("sched-a", *ELECTION_FLAGS)
        wait_for(lambda: holder(api) == "sched-a", timeout_s=30, message="sched-a leading")
        plane.start_scheduler("sched-b", *ELECTION_FLAGS)
        address = {name: f"127.0.0.1:{plane.ports[name]}" for name in ("sched-a", "sched-b")}
        # The standby knows the holder once its first attempt has read the lease.
        standby = wait_for(lambda: (d := describe(address["sched-b"]))["holder"] and d, timeout_s=30,
                           message="sched-b serving as standby")
        assert standby["leader"] is False and standby["holder"] == "sched-a"
        assert describe(address["sched-a"])["leader"] is True

        ns = f"f-{uuid.uuid4().hex[:6]}"
        api.create("namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        first = [f"before-{i}" for i in range(6)]
        for name in first:
            api.create("pods", pod(name, ns))
        bound_nodes(api, ns, first)
        # The counter moves once the Bind call has returned, a moment after the pod shows its node.
        wait_for(lambda: describe(address["sched-a"])["scheduled"] == 6, timeout_s=10, message="6 bound by sched-a")
        assert describe(address["sched-b"])["scheduled"] == 0, "the standby never schedules"

        # The standby refuses to explain and names the leader; the CLI finds the leader by the Lease.
        with pytest.raises(Exception, match="standby; the leader is sched-a"):
            kubectl_scheduling.explain(address["sched-b"], ns, "before-0")
        assert kubectl_scheduling.find_scheduler(api) == address["sched-a"]

        plane.procs["sched-a"].kill()  # SIGKILL: no lease release, the standby must wait it out
        killed = time.monotonic()
        pending = [f"during-{i}" for i in range(20)]
        for name in pending:
            api.create("pods", pod(name, ns))
        wait_for(lambda: holder(api) == "sched-b", timeout_s=LEASE_S + 10, interval_s=0.05,
                 message="sched-b took over")
        takeover_s = time.monotonic() - killed
        print(f"\nstandby took over {takeover_s:.2f}s after kill -9 (lease {LEASE_S:.0f}s, retry {RETRY_S:.0f}s)")
        # It notices a renewal, and later the expiry, only when it polls (every retry period), and
        # each poll takes a request: one lease duration plus up to about one retry period.
        assert takeover_s <= LEASE_S + 2 * RETRY_S
        placed = bound_nodes(api, ns, pending, timeout_s=20)
        assert set(placed.values()) == {"node-1", "node-2", "node-3"}
        info = wait_for(lambda: (d := describe(address["sched-b"]))["scheduled"] == 20 and d, timeout_s=10,
                        message="20 bound by sched-b")
        assert info["leader"] is True
        wait_for(lambda: kubectl_scheduling.find_scheduler(api) == address["sched-b"], timeout_s=10,
                 message="sched-b advertised in the lease")
        out, err = io.StringIO(), io.StringIO()
        args = type("Args", (), {"pod": "during-0", "namespace": ns, "output": "", "last": False,
                                 "lease": kubectl_scheduling.DEFAULT_LEASE})()
        assert kubectl_scheduling.run(args, api, out=out, err=err) == 0, err.getvalue()
        assert f"Selected node: {placed['during-0']}" in out.getvalue()
    except Exception:
        print(plane.logs())
        raise
    finally:
        api.close()
        plane.stop()
