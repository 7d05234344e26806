"""The resource catalogue: which kinds the API serves and how they are addressed.

One table shared by the apiserver (storage keys, scoping), the CLI (``get po``, kind →
resource for ``apply``) and the clients. A resource is the plural lower-case name used in
URLs and etcd keys (``pods``); the kind is the object's ``kind`` (``Pod``).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ResourceInfo:
    """How one resource is named, scoped and versioned."""

    name: str
    kind: str
    api_version: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    # has_status: the object has a status subresource that Update must not touch.
    has_status: bool = True
    # field_selectors: the fields List/Watch may select on, besides metadata.name/namespace.
    field_selectors: frozenset[str] = field(default_factory=frozenset)
    # virtual: create-only, answered by the apiserver and never stored (access reviews).
    virtual: bool = False

    @property
    def group(self) -> str:
        return self.api_version.split("/")[0] if "/" in self.api_version else ""

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def qualified_name(self) -> str:
        """The resource as Kubernetes names it in messages: ``pods``, ``deployments.apps``."""
        return qualified(self.name, self.group)

    @property
    def qualified_kind(self) -> str:
        """The kind as Kubernetes names it in messages: ``Pod``, ``Deployment.apps``."""
        return qualified(self.kind, self.group)


def qualified(name: str, group: str) -> str:
    """``name.group`` (a GroupResource or GroupKind's String()), ``name`` alone for the core group."""
    return f"{name}.{group}" if group else name


_META_FIELDS = frozenset({"metadata.name", "metadata.namespace"})

RESOURCES: dict[str, ResourceInfo] = {
    r.name: r
    for r in (
        ResourceInfo("pods", "Pod", "v1", True, ("po",),
                     field_selectors=_META_FIELDS | {"spec.nodeName", "spec.schedulerName", "status.phase",
                                                     "spec.restartPolicy", "status.podIP"}),
        ResourceInfo("nodes", "Node", "v1", False, ("no",),
                     field_selectors=_META_FIELDS | {"spec.unschedulable"}),
        ResourceInfo("namespaces", "Namespace", "v1", False, ("ns",),
                     field_selectors=_META_FIELDS | {"status.phase"}),
        ResourceInfo("events", "Event", "v1", True, ("ev",), has_status=False,
                     field_selectors=_META_FIELDS | {"involvedObject.kind", "involvedObject.namespace",
                                                     "involvedObject.name", "involvedObject.uid", "reason",
                                                     "type", "source.component"}),
        ResourceInfo("leases", "Lease", "coordination.k8s.io/v1", True, (), has_status=False,
                     field_selectors=_META_FIELDS),
        ResourceInfo("serviceaccounts", "ServiceAccount", "v1", True, ("sa",), has_status=False,
                     field_selectors=_META_FIELDS),
        ResourceInfo("configmaps", "ConfigMap", "v1", True, ("cm",), has_status=False, field_selectors=_META_FIELDS),
        ResourceInfo("secrets", "Secret", "v1", True, (), has_status=False, field_selectors=_META_FIELDS | {"type"}),
        ResourceInfo("services", "Service", "v1", True, ("svc",), field_selectors=_META_FIELDS),
        ResourceInfo("endpoints", "Endpoints", "v1", True, ("ep",), has_status=False, field_selectors=_META_FIELDS),
        ResourceInfo("endpointslices", "EndpointSlice", "discovery.k8s.io/v1", True, (), has_status=False,
                     field_selectors=_META_FIELDS),
        ResourceInfo("limitranges", "LimitRange", "v1", True, ("limits",), has_status=False,
                     field_selectors=_META_FIELDS),
        ResourceInfo("resourcequotas", "ResourceQuota", "v1", True, ("quota",), field_selectors=_META_FIELDS),
        ResourceInfo("priorityclasses", "PriorityClass", "scheduling.k8s.io/v1", False, ("pc",), has_status=False,
                     field_selectors=_META_FIELDS),
        ResourceInfo("roles", "Role", "rbac.authorization.k8s.io/v1", True, (), has_status=False,
                     field_selectors=_META_FIELDS),
        ResourceInfo("rolebindings", "RoleBinding", "rbac.authorization.k8s.io/v1", True, (), has_status=False,
                     field_selectors=_META_FIELDS),
        ResourceInfo("clusterroles", "ClusterRole", "rbac.authorization.k8s.io/v1", False, (), has_status=False,
                     field_selectors=_META_FIELDS),
        ResourceInfo("clusterrolebindings", "ClusterRoleBinding", "rbac.authorization.k8s.io/v1", False, (),
                     has_status=False, field_selectors=_META_FIELDS),
        ResourceInfo("replicasets", "ReplicaSet", "apps/v1", True, ("rs",), field_selectors=_META_FIELDS),
        ResourceInfo("deployments", "Deployment", "apps/v1", True, ("deploy",), field_selectors=_META_FIELDS),
        ResourceInfo("statefulsets", "StatefulSet", "apps/v1", True, ("sts",), field_selectors=_META_FIELDS),
        ResourceInfo("daemonsets", "DaemonSet", "apps/v1", True, ("ds",), field_selectors=_META_FIELDS),
        ResourceInfo("controllerrevisions", "ControllerRevision", "apps/v1", True, (), has_status=False,
                     field_selectors=_META_FIELDS),
        ResourceInfo("jobs", "Job", "batch/v1", True, (), field_selectors=_META_FIELDS | {"status.successful"}),
        ResourceInfo("selfsubjectaccessreviews", "SelfSubjectAccessReview", "authorization.k8s.io/v1", False, (),
                     virtual=True),
        ResourceInfo("subjectaccessreviews", "SubjectAccessReview", "authorization.k8s.io/v1", False, (),
                     virtual=True),
        ResourceInfo("selfsubjectreviews", "SelfSubjectReview", "authentication.k8s.io/v1", False, (),
                     virtual=True),
    )
}


# The resources in kubectl's "all" category (`kubectl get all`), which discovery announces.
CATEGORY_ALL = frozenset({"pods", "services", "deployments", "replicasets", "statefulsets", "daemonsets", "jobs"})


def category_all() -> list[ResourceInfo]:
    """The "all" category in discovery's order (the core group first, then groups and resources by
    name), which is the order kubectl expands ``get all`` in."""
    return sorted((RESOURCES[name] for name in CATEGORY_ALL), key=lambda info: (info.group, info.name))


class UnknownResource(KeyError):
    """Raised for a resource or kind name the API does not serve."""


def lookup(name: str) -> ResourceInfo:
    """Resolve a resource by plural, singular, short name or kind (case-insensitive)."""
    wanted = name.lower()
    for info in RESOURCES.values():
        if wanted in (info.name, info.singular, info.kind.lower(), *info.short_names):
            return info
    raise UnknownResource(name)


def for_kind(api_version: str, kind: str) -> ResourceInfo:
    """The resource serving objects of ``apiVersion``/``kind``, as ``apply`` needs it."""
    for info in RESOURCES.values():
        if info.kind == kind and info.api_version == api_version:
            return info
    raise UnknownResource(f"{api_version}/{kind}")
