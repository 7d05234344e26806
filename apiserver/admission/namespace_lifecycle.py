"""NamespaceLifecycle: no object may be created in a namespace that is missing or terminating,
and the four default namespaces can never be deleted."""

from __future__ import annotations

from collections.abc import Callable

from apiserver.admission.chain import Attributes
from apiserver.registry.namespaces import DEFAULT_NAMESPACES
from machinery import errors
from machinery.resources import RESOURCES

# Objects that must still be writable in a terminating namespace: the namespace controller
# and kubelets record events while it empties, and leases keep nodes alive.
_ALLOWED_WHILE_TERMINATING = {"events", "leases"}


class NamespaceLifecycle:
    """Validating plugin; ``get_namespace(name)`` returns the stored namespace or None."""

    name = "NamespaceLifecycle"

    def __init__(self, get_namespace: Callable[[str], dict | None]):
        self._get_namespace = get_namespace

    def validate(self, attrs: Attributes) -> None:
        if attrs.resource == "namespaces":
            if attrs.operation == "DELETE" and attrs.name in DEFAULT_NAMESPACES:
                raise errors.Forbidden(f'namespaces "{attrs.name}" is forbidden: this namespace may not be '
                                       f"deleted", kind="namespaces", name=attrs.name)
            return
        if attrs.operation != "CREATE" or not attrs.namespace:
            return
        ns = self._get_namespace(attrs.namespace)
        if ns is None:
            raise errors.NotFound(f'namespaces "{attrs.namespace}" not found', kind="namespaces",
                                  name=attrs.namespace)
        terminating = (ns.get("status") or {}).get("phase") == "Terminating" or \
            (ns.get("metadata") or {}).get("deletionTimestamp")
        if terminating and attrs.resource not in _ALLOWED_WHILE_TERMINATING:
            info = RESOURCES.get(attrs.resource)
            what = info.qualified_name if info else attrs.resource
            raise errors.Forbidden(
                f'{what} "{attrs.name}" is forbidden: unable to create new content in namespace '
                f"{attrs.namespace} because it is being terminated", kind=attrs.resource, name=attrs.name,
                group=info.group if info else "")
