"""NamespaceLifecycle: no object may be created in a namespace that is missing or terminating,
and the four default namespaces can never be deleted.

Every create and every bind asks for its namespace, so the plugin reads it from an in-memory
cache of namespaces (kept by list-then-watch, :class:`apiserver.cache.ObjectCache`) instead of
etcd, as kube-apiserver's plugin reads its namespace lister. The cache is trusted only for the
common answer, "exists and Active"; everything else is read live from etcd:

- absent from the cache: a namespace created moments ago that the cache has not seen yet (or a
  missing one, which the live read confirms);
- terminating in the cache: it may be gone and created again since, so the live read decides;
- deleted through this apiserver and the cache not showing it terminating yet: a DELETE of a
  namespace passing this plugin puts the name on a "read live" list (kube-apiserver's
  ``forceLiveLookupCache``), so a create right after the delete call returned is refused even
  while the cache still says Active. The name leaves the list once the cache shows it
  terminating, or after ``FORCE_LIVE_LOOKUP_S`` if a live read then finds it Active (the delete
  did not happen); while the live read finds it terminating or gone the list keeps it, however
  late the cache is.

What is left is kube-apiserver's own window: a namespace deleted through *another* apiserver
replica is seen Active here until this apiserver's namespace watch delivers the change
(milliseconds normally; longer when etcd is unreachable), and a create in that window passes.
The namespace controller deletes whatever slipped through, as it does in Kubernetes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from apiserver.admission.chain import Attributes
from apiserver.registry.namespaces import DEFAULT_NAMESPACES
from machinery import errors
from machinery.resources import RESOURCES

# Objects that must still be writable in a terminating namespace: the namespace controller
# and kubelets record events while it empties, and leases keep nodes alive.
_ALLOWED_WHILE_TERMINATING = {"events", "leases"}
# How long at least a namespace deleted through this apiserver is read live (kube-apiserver: 30 s).
FORCE_LIVE_LOOKUP_S = 30.0

NamespaceGetter = Callable[[str], dict | None]


def _terminating(ns: dict) -> bool:
    return (ns.get("status") or {}).get("phase") == "Terminating" or \
        bool((ns.get("metadata") or {}).get("deletionTimestamp"))


class NamespaceLifecycle:
    """Validating plugin. ``get_namespace(name)`` reads the stored namespace (None: absent);
    ``cached_namespace(name)``, when given, answers from the cache (None: not in it)."""

    name = "NamespaceLifecycle"

    def __init__(self, get_namespace: NamespaceGetter, cached_namespace: NamespaceGetter | None = None, *,
                 clock: Callable[[], float] = time.monotonic):
        self._get_namespace = get_namespace
        self._cached_namespace = cached_namespace
        self._clock = clock
        self._lock = threading.Lock()
        self._read_live_until: dict[str, float] = {}  # namespaces deleted through this apiserver

    def validate(self, attrs: Attributes) -> None:
        if attrs.resource == "namespaces":
            if attrs.operation == "DELETE" and attrs.name in DEFAULT_NAMESPACES:
                raise errors.Forbidden(f'namespaces "{attrs.name}" is forbidden: this namespace may not be '
                                       f"deleted", kind="namespaces", name=attrs.name)
            if attrs.operation == "DELETE" and not attrs.dry_run and self._cached_namespace is not None:
                self._read_live(attrs.name)
            return
        if attrs.operation != "CREATE" or not attrs.namespace:
            return
        ns = self._namespace(attrs.namespace)
        if ns is None:
            raise errors.NotFound(f'namespaces "{attrs.namespace}" not found', kind="namespaces",
                                  name=attrs.namespace)
        if _terminating(ns) and attrs.resource not in _ALLOWED_WHILE_TERMINATING:
            info = RESOURCES.get(attrs.resource)
            what = info.qualified_name if info else attrs.resource
            raise errors.Forbidden(
                f'{what} "{attrs.name}" is forbidden: unable to create new content in namespace '
                f"{attrs.namespace} because it is being terminated", kind=attrs.resource, name=attrs.name,
                group=info.group if info else "")

    def _namespace(self, name: str) -> dict | None:
        """The namespace as admission must judge it: from the cache when it says Active and no
        delete through this apiserver is pending there, else read live (see the module docstring)."""
        if self._cached_namespace is None:
            return self._get_namespace(name)
        cached = self._cached_namespace(name)
        if cached is None:
            return self._get_namespace(name)
        if _terminating(cached):
            with self._lock:
                self._read_live_until.pop(name, None)  # the cache has seen the deletion
            return self._get_namespace(name)
        with self._lock:
            until = self._read_live_until.get(name)
        if until is None:
            return cached
        live = self._get_namespace(name)
        if live is not None and not _terminating(live) and self._clock() >= until:
            with self._lock:  # the delete did not happen: the cache is right again
                if self._read_live_until.get(name) == until:
                    del self._read_live_until[name]
        return live

    def _read_live(self, name: str) -> None:
        """Read ``name`` live from now on (a DELETE of it is being admitted); forget names whose
        deletion the cache has long shown, so the list stays as short as the deletes in flight."""
        now = self._clock()
        with self._lock:
            for other, until in list(self._read_live_until.items()):
                if until <= now and other != name:
                    cached = self._cached_namespace(other)
                    if cached is None or _terminating(cached):
                        del self._read_live_until[other]
            self._read_live_until[name] = now + FORCE_LIVE_LOOKUP_S
