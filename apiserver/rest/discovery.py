"""``/version`` and API discovery: what kubectl asks before every command.

kubectl learns from discovery which resources exist, where (group/version), whether they are
namespaced, their verbs, short names (``po``, ``deploy``) and categories (``kubectl get all``);
short names exist only here. Every served resource of machinery/resources.py is announced in its
group/version, with its subresources; ``*/scale`` is announced as kind ``Scale`` of
``autoscaling/v1``, which ``kubectl scale`` needs to build its request.

The legacy documents are served (``APIVersions``, ``APIGroupList``, ``APIResourceList``); kubectl
asks for the aggregated form first but takes these when the answer is plain JSON.

``/version`` reports :data:`machinery.server.KUBERNETES_VERSION` (v1.32): kubemu's objects and
printed columns follow Kubernetes 1.32, the version its kubelets report as ``kubeletVersion``,
and the kubectl dispatcher on PATH then runs kubectl 1.32 (kubectl supports one minor version of
skew either way, so 1.31–1.33 are all supported clients).
"""

from __future__ import annotations

import platform

from apiserver.rest.routing import SUBRESOURCES, group_version_of
from machinery.resources import RESOURCES, ResourceInfo
from machinery.server import KUBERNETES_VERSION

ALL_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
# `kubectl get all` lists the resources in category "all".
CATEGORY_ALL = {"pods", "services", "deployments", "replicasets", "statefulsets", "daemonsets", "jobs"}
# Subresources: (kind, group, version, verbs); an empty group/version means the parent's.
_SUBRESOURCE_KINDS: dict[str, tuple[str, str, str, list[str]]] = {
    "log": ("Pod", "", "", ["get"]),
    "exec": ("PodExecOptions", "", "", ["create", "get"]),
    "binding": ("Binding", "", "", ["create"]),
    "eviction": ("Eviction", "policy", "v1", ["create"]),
    "scale": ("Scale", "autoscaling", "v1", ["get", "patch", "update"]),
    "finalize": ("Namespace", "", "", ["update"]),
    "status": ("", "", "", ["get", "patch", "update"]),
}


def version_info() -> dict:
    major, minor = KUBERNETES_VERSION.lstrip("v").split(".")[:2]
    machine = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
    return {"major": major, "minor": minor, "gitVersion": KUBERNETES_VERSION, "gitCommit": "kubemu",
            "gitTreeState": "clean", "buildDate": "2024-12-11T00:00:00Z",
            "goVersion": f"python{platform.python_version()}", "compiler": "kubemu",
            "platform": f"{platform.system().lower()}/{machine}"}


def group_versions() -> dict[str, list[str]]:
    """Every served group (``""`` for core) with its versions."""
    out: dict[str, list[str]] = {}
    for info in RESOURCES.values():
        group, version = group_version_of(info)
        if version not in out.setdefault(group, []):
            out[group].append(version)
    return out


def api_versions(server_address: str) -> dict:
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]}


def _group_entry(group: str, versions: list[str]) -> dict:
    entries = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
    return {"name": group, "versions": entries, "preferredVersion": entries[0]}


def api_group_list() -> dict:
    groups = [_group_entry(g, vs) for g, vs in sorted(group_versions().items()) if g]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def api_group(group: str) -> dict | None:
    versions = group_versions().get(group)
    if not group or not versions:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group_entry(group, versions)}


def _resource_entry(info: ResourceInfo) -> dict:
    entry = {"name": info.name, "singularName": info.singular, "namespaced": info.namespaced, "kind": info.kind,
             "verbs": ["create"] if info.virtual else list(ALL_VERBS)}
    if info.short_names:
        entry["shortNames"] = list(info.short_names)
    if info.name in CATEGORY_ALL:
        entry["categories"] = ["all"]
    return entry


def _subresource_entries(info: ResourceInfo) -> list[dict]:
    names = list(SUBRESOURCES.get(info.name, ())) + (["status"] if info.has_status and not info.virtual else [])
    out = []
    for sub in sorted(names):
        kind, group, version, verbs = _SUBRESOURCE_KINDS[sub]
        entry = {"name": f"{info.name}/{sub}", "singularName": "", "namespaced": info.namespaced,
                 "kind": kind or info.kind, "verbs": list(verbs)}
        if group or version:
            entry["group"], entry["version"] = group, version
        out.append(entry)
    return out


def resource_list(group: str, version: str) -> dict | None:
    """The APIResourceList of one group/version, or None when it is not served."""
    infos = [i for i in RESOURCES.values() if group_version_of(i) == (group, version)]
    if not infos:
        return None
    resources = []
    for info in sorted(infos, key=lambda i: i.name):
        resources.append(_resource_entry(info))
        resources.extend(_subresource_entries(info))
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": f"{group}/{version}" if group else version,
            "resources": resources}
