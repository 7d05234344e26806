"""URL paths of the Kubernetes API → what they address.

    /api/v1/pods                                        every pod (all namespaces)
    /api/v1/namespaces/NS/pods[/NAME[/SUBRESOURCE]]     namespaced resources
    /api/v1/nodes[/NAME[/SUBRESOURCE]]                  cluster-scoped resources
    /api/v1/namespaces/NAME[/status|/finalize]          the namespaces resource itself
    /apis/GROUP/VERSION/...                             the same under a named group
    /api/v1/watch/...                                   the deprecated watch prefix (= ?watch=true)

A path is resolved against the resource catalogue (machinery/resources.py): a resource exists
at a group/version only if its ``api_version`` says so, as in Kubernetes, where ``/api/v1/deployments``
is 404 even though ``/apis/apps/v1/deployments`` exists. Anything else is None, which the
server answers 404 NotFound with Kubernetes' wording.
"""

from __future__ import annotations

from dataclasses import dataclass

from machinery.resources import RESOURCES, ResourceInfo

# Subresources served, per resource; "status" for every resource that has one.
SUBRESOURCES: dict[str, tuple[str, ...]] = {
    "pods": ("log", "exec", "binding", "eviction"),
    "deployments": ("scale",),
    "replicasets": ("scale",),
    "statefulsets": ("scale",),
    "namespaces": ("finalize",),
}


def subresources_of(info: ResourceInfo) -> tuple[str, ...]:
    return SUBRESOURCES.get(info.name, ()) + (("status",) if info.has_status and not info.virtual else ())


@dataclass(frozen=True)
class Target:
    """One addressed resource, collection or object."""

    info: ResourceInfo
    namespace: str = ""
    name: str = ""
    subresource: str = ""
    # watch_path: the request came through the deprecated /watch/ prefix.
    watch_path: bool = False

    @property
    def is_collection(self) -> bool:
        return not self.name


def group_version_of(info: ResourceInfo) -> tuple[str, str]:
    if "/" in info.api_version:
        group, version = info.api_version.split("/", 1)
        return group, version
    return "", info.api_version


def resource_at(group: str, version: str, resource: str) -> ResourceInfo | None:
    info = RESOURCES.get(resource)
    if info is None or group_version_of(info) != (group, version):
        return None
    return info


def parse(path: str) -> Target | None:
    """The target of an API path, or None when no served resource lives there."""
    parts = [p for p in path.split("/") if p]
    if len(parts) >= 2 and parts[0] == "api":
        group, version, rest = "", parts[1], parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    watch_path = bool(rest) and rest[0] == "watch"
    if watch_path:
        rest = rest[1:]
    if not rest:
        return None
    namespace = ""
    # /namespaces/NS/RESOURCE/... — but /namespaces/NAME and /namespaces/NAME/status are the namespace itself.
    if rest[0] == "namespaces" and len(rest) >= 3 and rest[2] not in ("status", "finalize"):
        namespace, rest = rest[1], rest[2:]
    if len(rest) > 3:
        return None
    info = resource_at(group, version, rest[0])
    if info is None:
        return None
    if namespace and not info.namespaced:
        return None
    name = rest[1] if len(rest) > 1 else ""
    subresource = rest[2] if len(rest) > 2 else ""
    if subresource and subresource not in subresources_of(info):
        return None
    return Target(info, namespace, name, subresource, watch_path)
