"""The cluster's kubeconfig, for the real kubectl and for ``kubemu kubectl`` at once, and its
merge into the user's default kubeconfig (what kind does).

One file, ``<cluster dir>/kubeconfig.yaml``, serves both clients:

- ``server`` is the REST URL (``https://127.0.0.1:6444``) with the cluster CA and the admin
  token: the real kubectl, client-go and the Python ``kubernetes`` package use it unchanged;
- the ``kubemu.io/grpc`` extension of the cluster entry lists the gRPC addresses (6443, one
  per apiserver) that ``kubemu kubectl`` and the components speak. kubectl ignores extensions.

Names are ``kubemu-<cluster>`` (cluster and context) and ``kubemu-<cluster>-admin`` (user), so a
merged entry never clashes with the user's own. :func:`merge` puts these three entries into the
default kubeconfig (``$KUBECONFIG``'s first file, else ``~/.kube/config``) and makes the context
current, replacing entries of the same names; :func:`unmerge` (``kubemu down``) removes them and
clears ``current-context`` when it was ours. Both rewrite the file atomically, mode 0600.
"""

from __future__ import annotations

import os

import yaml

GRPC_EXTENSION = "kubemu.io/grpc"


def context_name(cluster_name: str) -> str:
    return f"kubemu-{cluster_name}"


def build(cluster_name: str, *, rest_servers: list[str], grpc_servers: list[str], token: str = "",
          ca_file: str = "") -> dict:
    name = context_name(cluster_name)
    cluster: dict = {"server": rest_servers[0] if rest_servers else "",
                     "extensions": [{"name": GRPC_EXTENSION, "extension": {"servers": list(grpc_servers)}}]}
    if ca_file:
        cluster["certificate-authority"] = ca_file
    user = {"token": token} if token else {}
    return {"apiVersion": "v1", "kind": "Config", "preferences": {},
            "clusters": [{"name": name, "cluster": cluster}],
            "users": [{"name": f"{name}-admin", "user": user}],
            "contexts": [{"name": name, "context": {"cluster": name, "user": f"{name}-admin"}}],
            "current-context": name}


def grpc_servers(cluster: dict) -> list[str]:
    """The gRPC addresses a cluster entry names in the kubemu extension (empty without one)."""
    for ext in cluster.get("extensions") or []:
        if isinstance(ext, dict) and ext.get("name") == GRPC_EXTENSION:
            servers = (ext.get("extension") or {}).get("servers") or []
            return [str(s) for s in servers if s]
    return []


def default_path() -> str:
    """Where kubectl reads by default: the first file of ``$KUBECONFIG``, else ``~/.kube/config``."""
    env = [p for p in os.environ.get("KUBECONFIG", "").split(os.pathsep) if p]
    return env[0] if env else os.path.join(os.path.expanduser("~"), ".kube", "config")


def _load(path: str) -> dict:
    try:
        with open(path) as f:
            doc = yaml.safe_load(f)
    except FileNotFoundError:
        doc = None
    except yaml.YAMLError as e:
        raise ValueError(f"{path} is not a valid kubeconfig: {e}") from None
    if doc is None:
        doc = {}
    if not isinstance(doc, dict):
        raise ValueError(f"{path} is not a kubeconfig (not a YAML mapping)")
    doc.setdefault("apiVersion", "v1")
    doc.setdefault("kind", "Config")
    for key in ("clusters", "users", "contexts"):
        if not isinstance(doc.get(key), list):
            doc[key] = []
    return doc


def _write(path: str, doc: dict) -> None:
    from kubemu.cluster import atomic_write

    atomic_write(path, yaml.safe_dump(doc, sort_keys=False))
    os.chmod(path, 0o600)


def merge(path: str, ours: dict) -> None:
    """Put the entries of ``ours`` into the kubeconfig at ``path`` and make its context current."""
    doc = _load(path)
    for key in ("clusters", "users", "contexts"):
        names = {e["name"] for e in ours[key]}
        doc[key] = [e for e in doc[key] if not (isinstance(e, dict) and e.get("name") in names)] + ours[key]
    doc["current-context"] = ours["current-context"]
    _write(path, doc)


def unmerge(path: str, cluster_name: str) -> bool:
    """Remove ``kubemu-<cluster>`` entries from ``path``; True when something was removed."""
    if not os.path.exists(path):
        return False
    doc = _load(path)
    name = context_name(cluster_name)
    names = {name, f"{name}-admin"}
    removed = False
    for key in ("clusters", "users", "contexts"):
        kept = [e for e in doc[key] if not (isinstance(e, dict) and e.get("name") in names)]
        removed |= len(kept) != len(doc[key])
        doc[key] = kept
    if doc.get("current-context") == name:
        doc["current-context"] = ""
        removed = True
    if removed:
        _write(path, doc)
    return removed
