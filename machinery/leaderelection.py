"""Leader election through a Lease object, as client-go's leaderelection does it.

Several replicas of a component (scheduler, controller manager) race for one Lease in
``kube-system``; the holder renews it every ``retry_period_s``. A candidate takes the lease
only when it has seen the same lease record unchanged for ``lease_duration_s`` *by its own
clock* (it never trusts another machine's timestamps). A leader that cannot renew within
``renew_deadline_s`` stops leading: ``on_stopped_leading`` is called. kube-scheduler exits then;
kubemu's components instead stop their worker and campaign again with a fresh one
(``machinery.component.run_while_leading``), since kubemu's supervisor leaves killed
components down. Writes are
compare-and-swap on the lease's resourceVersion, so two candidates can never both win.
Defaults are Kubernetes': 15 s lease, 10 s renew deadline, 2 s retry.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from machinery import errors, meta
from machinery.client import APIClient

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LeaderElectionConfig:
    lease_name: str
    identity: str
    namespace: str = "kube-system"
    lease_duration_s: float = 15.0
    renew_deadline_s: float = 10.0
    retry_period_s: float = 2.0


class LeaderElector:
    def __init__(self, client: APIClient, config: LeaderElectionConfig, *,
                 on_started_leading: Callable[[], None], on_stopped_leading: Callable[[], None],
                 clock: Callable[[], float] = time.monotonic):
        if not config.lease_duration_s > config.renew_deadline_s > config.retry_period_s:
            raise ValueError("need lease_duration_s > renew_deadline_s > retry_period_s")
        self.client = client
        self.config = config
        self._on_started = on_started_leading
        self._on_stopped = on_stopped_leading
        self._clock = clock
        self._stop = threading.Event()
        self._leading = False
        self._observed: tuple | None = None  # (holder, renewTime, transitions)
        self._observed_at = 0.0
        self.holder = ""

    @property
    def is_leader(self) -> bool:
        return self._leading

    def run(self) -> None:
        """Block: campaign until leading, then renew until the lease is lost or stop() is called."""
        cfg = self.config
        log.info("attempting to acquire leader lease %s/%s as %s", cfg.namespace, cfg.lease_name, cfg.identity)
        last_renew = 0.0
        while not self._stop.is_set():
            ok = self._try_acquire_or_renew()
            now = self._clock()
            if ok:
                last_renew = now
                if not self._leading:
                    self._leading = True
                    log.info("successfully acquired lease %s/%s", cfg.namespace, cfg.lease_name)
                    threading.Thread(target=self._on_started, daemon=True, name="leading").start()
            elif self._leading and now - last_renew > cfg.renew_deadline_s:
                log.error("failed to renew lease %s/%s within %.0fs: leader election lost", cfg.namespace,
                          cfg.lease_name, cfg.renew_deadline_s)
                self._leading = False
                self._on_stopped()
                return
            self._stop.wait(cfg.retry_period_s)
        if self._leading:
            self._release()
            self._leading = False
            self._on_stopped()

    def stop(self) -> None:
        self._stop.set()

    def _lease_body(self, transitions: int, acquire_time: str | None = None) -> dict:
        now = meta.format_micro_time()
        return {"holderIdentity": self.config.identity, "leaseDurationSeconds": int(self.config.lease_duration_s),
                "acquireTime": acquire_time or now, "renewTime": now, "leaseTransitions": transitions}

    def _try_acquire_or_renew(self) -> bool:
        cfg = self.config
        try:
            lease = self.client.get("leases", cfg.lease_name, cfg.namespace)
        except errors.NotFound:
            try:
                self.client.create("leases", {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                                              "metadata": {"name": cfg.lease_name, "namespace": cfg.namespace},
                                              "spec": self._lease_body(0)})
                self.holder = cfg.identity
                return True
            except errors.APIError as e:
                log.debug("creating lease failed: %s", e)
                return False
        except errors.APIError as e:
            log.warning("error retrieving lease %s/%s: %s", cfg.namespace, cfg.lease_name, e)
            return False
        spec = lease.get("spec") or {}
        record = (spec.get("holderIdentity"), spec.get("renewTime"), spec.get("leaseTransitions"))
        now = self._clock()
        if record != self._observed:
            self._observed, self._observed_at = record, now
        holder = spec.get("holderIdentity") or ""
        self.holder = holder
        duration = spec.get("leaseDurationSeconds") or cfg.lease_duration_s
        if holder and holder != cfg.identity and now - self._observed_at < duration:
            return False
        transitions = int(spec.get("leaseTransitions") or 0)
        if holder == cfg.identity:
            lease["spec"] = self._lease_body(transitions, spec.get("acquireTime"))
        else:
            lease["spec"] = self._lease_body(transitions + 1)
        try:
            updated = self.client.update("leases", lease)
        except errors.APIError as e:
            log.debug("updating lease failed: %s", e)
            return False
        s = updated.get("spec") or {}
        self._observed = (s.get("holderIdentity"), s.get("renewTime"), s.get("leaseTransitions"))
        self._observed_at = now
        self.holder = cfg.identity
        return True

    def _release(self) -> None:
        """Give the lease up on clean shutdown so a standby takes over at once."""
        cfg = self.config

        def clear(lease: dict) -> bool:
            spec = lease.get("spec") or {}
            if spec.get("holderIdentity") != cfg.identity:
                return False
            spec["holderIdentity"] = ""
            spec["leaseDurationSeconds"] = 1
            lease["spec"] = spec
            return True

        try:
            self.client.mutate("leases", cfg.lease_name, cfg.namespace, clear, attempts=2)
            log.info("released lease %s/%s", cfg.namespace, cfg.lease_name)
        except errors.APIError as e:
            log.warning("could not release lease: %s", e)
