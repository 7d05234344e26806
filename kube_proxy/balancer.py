"""Which backend a new connection goes to: round robin, with ClientIP session affinity.

As the userspace proxier's LoadBalancerRR (pkg/proxy/userspace/roundrobin.go, Kubernetes ≤ 1.25):
each service port has its own rotation over its ready backends; with ``sessionAffinity:
ClientIP`` a client that connected within the timeout goes to the backend it had, while that
backend is still ready. :meth:`Balancer.candidates` gives the order to try: a backend that
refuses is skipped for the next one, so a dead pod costs one refused connect, not a failure.

Only the proxy's event loop calls it, so it needs no lock. Affinity records are bounded: those
older than their timeout are dropped when the table grows past ``max_affinities``.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from kube_proxy.servicemap import Backend, ServicePort

MAX_AFFINITIES = 65536


class Balancer:
    def __init__(self, *, clock: Callable[[], float] = time.monotonic, max_affinities: int = MAX_AFFINITIES):
        self._clock = clock
        self._next: dict[str, int] = {}
        self._affinity: dict[tuple[str, str], tuple[Backend, float]] = {}
        self._max_affinities = max_affinities

    def candidates(self, sp: ServicePort, client_ip: str) -> list[Backend]:
        """The backends to try, in order: the client's sticky backend first, then the rotation."""
        backends = list(sp.backends)
        if not backends:
            return []
        start = self._next.get(sp.key, 0) % len(backends)
        self._next[sp.key] = start + 1
        order = backends[start:] + backends[:start]
        if sp.affinity_timeout_s > 0:
            sticky = self._affinity.get((sp.key, client_ip))
            if sticky is not None and self._clock() - sticky[1] <= sp.affinity_timeout_s and sticky[0] in order:
                order.remove(sticky[0])
                order.insert(0, sticky[0])
        return order

    def connected(self, sp: ServicePort, client_ip: str, backend: Backend) -> None:
        """Record where a client's connection went (for ClientIP affinity)."""
        if sp.affinity_timeout_s <= 0:
            return
        if len(self._affinity) >= self._max_affinities:
            self._expire(sp.affinity_timeout_s)
        self._affinity[(sp.key, client_ip)] = (backend, self._clock())

    def _expire(self, timeout_s: float) -> None:
        now = self._clock()
        for key, (_, used) in list(self._affinity.items()):
            if now - used > timeout_s:
                del self._affinity[key]
        while len(self._affinity) >= self._max_affinities:
            del self._affinity[next(iter(self._affinity))]

    def forget(self, keys: set[str]) -> None:
        """Drop the state of service ports that are gone."""
        for key in [k for k in self._next if k not in keys]:
            del self._next[key]
        for key in [k for k in self._affinity if k[0] not in keys]:
            del self._affinity[key]
