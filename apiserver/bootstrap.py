"""What exists from the very first start: the four default namespaces.

Run at every start (idempotently: AlreadyExists is fine), retrying until etcd answers,
like kube-apiserver's bootstrap controllers.
"""

from __future__ import annotations

import logging
import threading

from apiserver.api import API
from apiserver.authn import UNSECURED_USER
from apiserver.registry.namespaces import DEFAULT_NAMESPACES
from machinery import errors

log = logging.getLogger(__name__)


def ensure_defaults(api: API, stop: threading.Event, *, retry_s: float = 1.0) -> None:
    pending = list(DEFAULT_NAMESPACES)
    while pending and not stop.is_set():
        name = pending[0]
        try:
            api.create(UNSECURED_USER, "namespaces", "", {"apiVersion": "v1", "kind": "Namespace",
                                                          "metadata": {"name": name}})
            log.info("created default namespace %s", name)
            pending.pop(0)
        except errors.AlreadyExists:
            pending.pop(0)
        except errors.APIError as e:
            log.warning("bootstrap: cannot create namespace %s yet: %s", name, e)
            stop.wait(retry_s)
