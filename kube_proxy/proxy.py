"""kube-proxy's control loop: watch Services and EndpointSlices, sync the proxier when they change.

Two informers (list, then watch, through the apiserver as ``system:kube-proxy``) feed one sync
loop, like kube-proxy's BoundedFrequencyRunner: a change wakes it, but two syncs are at least
``min_sync_period_s`` apart (1 s, kube-proxy's default) so a burst of pod changes costs one sync;
without changes it still syncs every ``sync_period_s`` (30 s), which also retries listeners that
could not be bound (those are retried within 5 s). A sync computes the service ports from the
caches (:func:`kube_proxy.servicemap.service_ports`) and hands them to the
:class:`~kube_proxy.proxier.Proxier`.

Services are watched without those handed to another proxy (label
``service.kubernetes.io/service-proxy-name``), EndpointSlices without those of headless Services,
as kube-proxy does. When the apiserver is away, the informers retry and the proxier keeps
forwarding with what it last knew.
"""

from __future__ import annotations

import logging
import threading
import time

from kube_proxy import metrics
from kube_proxy.healthz import HealthState
from kube_proxy.proxier import Proxier, SyncResult
from kube_proxy.servicemap import service_ports
from machinery.client import APIClient
from machinery.informer import Handlers, Informer

log = logging.getLogger(__name__)

BIND_RETRY_S = 5.0


class KubeProxy:
    def __init__(self, client: APIClient, proxier: Proxier, health: HealthState, *, node_name: str,
                 sync_period_s: float = 30.0, min_sync_period_s: float = 1.0):
        self.client = client
        self.proxier = proxier
        self.health = health
        self.node_name = node_name
        self.sync_period_s = sync_period_s
        self.min_sync_period_s = min_sync_period_s
        self.services = Informer(client, "services", label_selector="!service.kubernetes.io/service-proxy-name",
                                 name="proxy-services")
        self.slices = Informer(client, "endpointslices",
                               label_selector="!service.kubernetes.io/service-proxy-name,"
                                              "!service.kubernetes.io/headless", name="proxy-endpointslices")
        self.services.add_handlers(self._handlers(metrics.SERVICE_CHANGES))
        self.slices.add_handlers(self._handlers(metrics.ENDPOINT_CHANGES))
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="proxy-sync", daemon=True)
        self.syncs = 0
        self.last: SyncResult = SyncResult()
        self.service_port_count = 0
        self.backend_count = 0

    def _handlers(self, counter) -> Handlers:
        def changed(*_objs) -> None:
            counter.inc()
            self.request_sync()

        return Handlers(changed, changed, changed)

    def request_sync(self) -> None:
        metrics.LAST_QUEUED.set(time.time())
        self.health.queued()
        self._wake.set()

    def start(self) -> None:
        self.proxier.start()
        self.services.start()
        self.slices.start()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=5)
        self.services.stop()
        self.slices.stop()
        self.proxier.stop()

    def _run(self) -> None:
        while not self._stop.is_set():
            if self.services.wait_synced(0.5) and self.slices.wait_synced(0.5):
                break
        log.info("caches synced; proxying")
        last = 0.0
        timeout = 0.0
        while not self._stop.is_set():
            self._wake.wait(timeout)
            if self._stop.is_set():
                return
            wait = self.min_sync_period_s - (time.monotonic() - last)
            if wait > 0 and self._stop.wait(wait):
                return
            self._wake.clear()
            last = time.monotonic()
            try:
                result = self.sync_once()
            except Exception:  # noqa: BLE001 - never let the loop die; try again soon
                log.exception("sync failed; retrying")
                timeout = BIND_RETRY_S
                continue
            timeout = BIND_RETRY_S if result.failed else self.sync_period_s

    def sync_once(self) -> SyncResult:
        begun = self.health.begin_sync()
        started = time.monotonic()
        ports = service_ports(self.services.list(), self.slices.list(), node_name=self.node_name)
        result = self.proxier.sync(ports)
        metrics.SYNC_DURATION.observe(time.monotonic() - started)
        metrics.LAST_SYNC.set(time.time())
        self.health.updated(begun)
        self.syncs += 1
        self.last = result
        self.service_port_count = len(ports)
        self.backend_count = sum(len(sp.backends) for sp in ports.values())
        if result.opened or result.closed:
            log.info("synced %d service ports: %d listeners (%d opened, %d closed)", len(ports), result.listeners,
                     result.opened, result.closed)
        return result

    def details(self) -> dict:
        ok, _ = self.health.healthy()
        return {"node": self.node_name, "mode": "userspace", "healthy": ok, "servicePorts": self.service_port_count,
                "backends": self.backend_count, "listeners": self.last.listeners,
                "listenerErrors": len(self.last.failed), "unsupportedPorts": self.last.unsupported,
                "activeConnections": self.proxier.active, "connections": self.proxier.connections,
                "syncs": self.syncs}
