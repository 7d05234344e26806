"""What exists from the very first start: the four default namespaces, and the default RBAC
roles and bindings (:mod:`apiserver.bootstrap_rbac`), and the two system PriorityClasses.

Run at every start (idempotently: AlreadyExists is fine), retrying until etcd answers,
like kube-apiserver's bootstrap controllers.
"""

from __future__ import annotations

import logging
import threading

from apiserver.admission.priority import SYSTEM_CLASSES
from apiserver.api import API
from apiserver.authn import UNSECURED_USER
from apiserver.bootstrap_rbac import cluster_role_bindings, cluster_roles
from apiserver.registry.namespaces import DEFAULT_NAMESPACES
from machinery import errors

log = logging.getLogger(__name__)


def ensure_defaults(api: API, stop: threading.Event, *, retry_s: float = 1.0) -> None:
    pending = [("namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
               for name in DEFAULT_NAMESPACES]
    pending += [("clusterroles", r) for r in cluster_roles()]
    pending += [("clusterrolebindings", b) for b in cluster_role_bindings()]
    pending += [("priorityclasses", {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
                                     "metadata": {"name": name}, "value": value,
                                     "description": "Used for system critical pods that must not be moved from their "
                                                    "current node." if "node" in name else
                                     "Used for system critical pods that must run in the cluster, but can be moved "
                                     "to another node if necessary."})
                for name, value in SYSTEM_CLASSES.items()]
    while pending and not stop.is_set():
        resource, obj = pending[0]
        name = obj["metadata"]["name"]
        try:
            api.create(UNSECURED_USER, resource, "", obj)
            log.info("created default %s %s", resource, name)
            pending.pop(0)
        except errors.AlreadyExists:
            pending.pop(0)
        except errors.APIError as e:
            log.warning("bootstrap: cannot create %s %s yet: %s", resource, name, e)
            stop.wait(retry_s)
