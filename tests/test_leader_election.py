"""machinery.leaderelection against a real apiserver: active/standby replicas through a Lease.

What an operator relies on when running two schedulers: exactly one is active; the Lease shows
who (``holderIdentity``) and how often leadership moved (``leaseTransitions``); a replica shut
down cleanly hands over at once; a replica that loses its apiserver stops acting within the
renew deadline and the standby takes over about one lease duration later, never earlier.

Short durations (lease 3 s, renew deadline 2 s, retry 0.5 s) keep this fast. The "lost apiserver"
case gives the leader its own apiserver process and kills it: an honest network partition.
"""

from __future__ import annotations

import threading
import time
import uuid

import pytest

from machinery.client import APIClient
from machinery.leaderelection import LeaderElectionConfig, LeaderElector
from tests.conftest import start_apiserver
from tests.helpers import wait_for

LEASE_S, RENEW_DEADLINE_S, RETRY_S = 3.0, 2.0, 0.5


class Candidate:
    """One replica: a LeaderElector on its own thread, recording when it started and stopped leading."""

    def __init__(self, address: str, lease_name: str, namespace: str, identity: str):
        # Calls fail fast when the apiserver is gone, as the renew deadline is short.
        self.client = APIClient(address, retry_timeout_s=0.3, request_timeout_s=2)
        self.identity = identity
        self.started_at: float | None = None
        self.stopped_at: float | None = None
        self.elector = LeaderElector(
            self.client,
            LeaderElectionConfig(lease_name, identity, namespace, lease_duration_s=LEASE_S,
                                 renew_deadline_s=RENEW_DEADLINE_S, retry_period_s=RETRY_S),
            on_started_leading=self._started, on_stopped_leading=self._stopped)
        self.thread = threading.Thread(target=self.elector.run, daemon=True, name=f"elector-{identity}")

    def _started(self) -> None:
        self.started_at = time.monotonic()

    def _stopped(self) -> None:
        self.stopped_at = time.monotonic()

    def start(self) -> Candidate:
        self.thread.start()
        return self

    @property
    def leading(self) -> bool:
        return self.elector.is_leader

    def close(self) -> None:
        self.elector.stop()
        self.thread.join(timeout=5)
        self.client.close()


@pytest.fixture
def lease_name() -> str:
    return f"sched-{uuid.uuid4().hex[:6]}"


@pytest.fixture
def candidates():
    made: list[Candidate] = []
    yield made
    for c in made:
        c.close()


def lease_spec(client: APIClient, namespace: str, name: str) -> dict:
    return client.get("leases", name, namespace)["spec"]


def test_exactly_one_of_two_candidates_leads_and_the_lease_says_which(apiserver, client, namespace, lease_name,
                                                                      candidates):
    a = Candidate(apiserver.address, lease_name, namespace, "replica-a")
    b = Candidate(apiserver.address, lease_name, namespace, "replica-b")
    candidates += [a, b]
    a.start()
    b.start()
    leader = wait_for(lambda: next((c for c in (a, b) if c.leading), None), timeout_s=10, message="a leader")
    standby = b if leader is a else a

    spec = lease_spec(client, namespace, lease_name)
    assert spec["holderIdentity"] == leader.identity
    assert spec["leaseDurationSeconds"] == int(LEASE_S)
    assert spec["leaseTransitions"] == 0
    assert spec["acquireTime"] and spec["renewTime"]

    # Several renewals later, leadership has not moved and the standby knows who leads.
    first_renew = spec["renewTime"]
    for _ in range(3):
        previous = lease_spec(client, namespace, lease_name)["renewTime"]
        wait_for(lambda p=previous: lease_spec(client, namespace, lease_name)["renewTime"] != p, timeout_s=5,
                 message="the leader renewing its lease")
        assert leader.leading and not standby.leading
    spec = lease_spec(client, namespace, lease_name)
    assert spec["holderIdentity"] == leader.identity
    assert spec["renewTime"] > first_renew
    assert spec["leaseTransitions"] == 0
    assert standby.elector.holder == leader.identity
    assert standby.started_at is None


def test_a_leader_that_stops_releases_the_lease_and_the_standby_takes_over_at_once(apiserver, client, namespace,
                                                                                   lease_name, candidates):
    old = Candidate(apiserver.address, lease_name, namespace, "replica-old").start()
    candidates.append(old)
    wait_for(lambda: old.leading, timeout_s=10, message="the first replica leading")
    new = Candidate(apiserver.address, lease_name, namespace, "replica-new").start()
    candidates.append(new)
    wait_for(lambda: new.elector.holder == "replica-old", timeout_s=5, message="the standby seeing the leader")

    stopped = time.monotonic()
    old.elector.stop()  # a clean shutdown (SIGTERM) of the leading replica
    old.thread.join(timeout=5)
    assert not old.thread.is_alive()
    assert old.stopped_at is not None and not old.leading

    wait_for(lambda: new.leading, timeout_s=10, message="the standby taking over")
    took_over_s = new.started_at - stopped
    assert took_over_s < LEASE_S - 0.5, f"standby took {took_over_s:.1f}s: the lease was not released"
    spec = lease_spec(client, namespace, lease_name)
    assert spec["holderIdentity"] == "replica-new"
    assert spec["leaseTransitions"] == 1


def test_a_leader_cut_off_from_the_api_steps_down_and_the_standby_takes_over_after_the_lease(
        apiserver, etcd, client, namespace, lease_name, candidates, tmp_path):
    own_apiserver, own_address = start_apiserver(etcd.client_url, tmp_path)
    try:
        leader = Candidate(own_address, lease_name, namespace, "replica-partitioned").start()
        candidates.append(leader)
        wait_for(lambda: leader.leading, timeout_s=10, message="the first replica leading")
        standby = Candidate(apiserver.address, lease_name, namespace, "replica-standby").start()
        candidates.append(standby)
        wait_for(lambda: standby.elector.holder == "replica-partitioned", timeout_s=5,
                 message="the standby seeing the leader")

        own_apiserver.kill()  # the leader can no longer reach any apiserver
        killed = time.monotonic()

        wait_for(lambda: leader.stopped_at is not None, timeout_s=10, message="the cut-off leader stepping down")
        leader.thread.join(timeout=5)
        assert not leader.thread.is_alive() and not leader.leading
        stepped_down_s = leader.stopped_at - killed
        assert stepped_down_s <= RENEW_DEADLINE_S + RETRY_S + 1.5, f"stepped down after {stepped_down_s:.1f}s"

        wait_for(lambda: standby.leading, timeout_s=15, message="the standby taking over")
        took_over_s = standby.started_at - killed
        # Not before the old lease could have expired (its last renewal was at most one retry
        # period before the kill), and within about one lease duration.
        assert LEASE_S - RETRY_S - 0.5 <= took_over_s <= LEASE_S + RETRY_S + 1.5, f"took over after {took_over_s:.1f}s"
        assert standby.started_at > leader.stopped_at, "two leaders at once"

        spec = lease_spec(client, namespace, lease_name)
        assert spec["holderIdentity"] == "replica-standby"
        assert spec["leaseTransitions"] == 1
    finally:
        own_apiserver.stop()


def test_durations_must_leave_room_for_renewal(client):
    bad = LeaderElectionConfig("x", "me", lease_duration_s=2, renew_deadline_s=3, retry_period_s=1)
    with pytest.raises(ValueError, match="lease_duration_s > renew_deadline_s > retry_period_s"):
        LeaderElector(client, bad, on_started_leading=lambda: None, on_stopped_leading=lambda: None)
