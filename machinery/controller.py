"""The controller pattern: informers feed keys into a work queue; workers reconcile keys.

A controller (kube-controller-manager's sample-controller shape) never acts inside an event
handler: handlers enqueue ``namespace/name`` keys, and ``workers`` threads pop keys and call
:meth:`Controller.reconcile`, which re-reads the object from the informer cache, treats
"not found" as "deleted, nothing to do", and converges the world towards the object.
``reconcile`` must be idempotent; it raises to be retried with rate-limited backoff, or
returns a number of seconds to be looked at again later.
"""

from __future__ import annotations

import logging
import threading

from machinery import errors
from machinery.client import APIClient
from machinery.workqueue import ShutDown, WorkQueue

log = logging.getLogger(__name__)


class Controller:
    name = "controller"

    def __init__(self, client: APIClient, *, workers: int = 5):
        self.client = client
        self.workers = workers
        self.queue = WorkQueue(self.name)
        self.informers: list = []
        self._threads: list[threading.Thread] = []
        self.syncs = 0
        self.errors = 0

    def enqueue(self, key: str) -> None:
        self.queue.add(key)

    def reconcile(self, key: str) -> float | None:
        raise NotImplementedError

    def start(self) -> None:
        for informer in self.informers:
            informer.wait_synced()
        for i in range(self.workers):
            thread = threading.Thread(target=self._work, daemon=True, name=f"{self.name}-{i}")
            thread.start()
            self._threads.append(thread)
        log.info("started %s controller", self.name)

    def stop(self) -> None:
        self.queue.shutdown()

    def _work(self) -> None:
        while True:
            try:
                key = self.queue.get()
            except ShutDown:
                return
            try:
                again = self.reconcile(key)
                self.syncs += 1
                self.queue.forget(key)
                if again is not None:
                    self.queue.add_after(key, again)
            except errors.APIError as e:
                self.errors += 1
                delay = self.queue.add_rate_limited(key)
                log.warning("%s: reconciling %s failed: %s; retrying in %.2fs", self.name, key, e, delay)
            except Exception:
                self.errors += 1
                self.queue.add_rate_limited(key)
                log.exception("%s: reconciling %s failed unexpectedly", self.name, key)
            finally:
                self.queue.done(key)

    def stats(self) -> dict:
        return {"queue": len(self.queue), "syncs": self.syncs, "errors": self.errors}
