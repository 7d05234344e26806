"""The default roles and bindings every cluster has from its first start (bootstrap policy).

ClusterRoles ``cluster-admin``, ``admin``, ``edit`` and ``view`` (the last three aggregated
from ``system:aggregate-to-*`` roles by label, as in Kubernetes), ``system:kube-scheduler``,
``system:kube-controller-manager``, ``system:node``, ``system:node-proxier`` (kube-proxy, user
``system:kube-proxy``), ``system:kubelet-api-admin``,
``system:basic-user`` and ``system:monitoring`` (``GET /metrics`` and the health endpoints), with
bindings for ``system:masters``, the scheduler and controller-manager identities, the apiserver's
kubelet client (``kube-apiserver-kubelet-client``: every kubelet API, so logs and exec reach the
kubelets), every authenticated user (who may ask what they are allowed to do) and the
``system:monitoring`` group. Missing ones are created at
every start; existing ones are left as the operator changed them.
"""

from __future__ import annotations

RBAC = "rbac.authorization.k8s.io/v1"
_AGG = "rbac.authorization.k8s.io/aggregate-to-"
READ = ["get", "list", "watch"]
WRITE = ["create", "delete", "deletecollection", "patch", "update"]
# The apiserver's identity towards kubelets (kubeadm's apiserver-kubelet-client certificate).
KUBELET_CLIENT_USER = "kube-apiserver-kubelet-client"
# kube-proxy's identity, bound to system:node-proxier (kubeadm binds its service account the same way).
KUBE_PROXY_USER = "system:kube-proxy"
WORKLOADS = ["deployments", "deployments/scale", "replicasets", "replicasets/scale", "statefulsets",
             "statefulsets/scale", "daemonsets"]


def _role(name: str, rules: list[dict] | None = None, *, labels: dict | None = None, aggregate: str = "") -> dict:
    role = {"apiVersion": RBAC, "kind": "ClusterRole",
            "metadata": {"name": name, "labels": {"kubernetes.io/bootstrapping": "rbac-defaults", **(labels or {})},
                         "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"}},
            "rules": rules or []}
    if aggregate:
        role["aggregationRule"] = {"clusterRoleSelectors": [{"matchLabels": {f"{_AGG}{aggregate}": "true"}}]}
    return role


def _rule(groups: list[str], resources: list[str], verbs: list[str]) -> dict:
    return {"apiGroups": groups, "resources": resources, "verbs": verbs}


def _binding(name: str, role: str, kind: str, subject: str) -> dict:
    return {"apiVersion": RBAC, "kind": "ClusterRoleBinding",
            "metadata": {"name": name, "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"},
                         "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"}},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
            "subjects": [{"kind": kind, "name": subject, **({"apiGroup": "rbac.authorization.k8s.io"})}]}


def cluster_roles() -> list[dict]:
    view_core = ["pods", "pods/log", "pods/status", "configmaps", "endpoints", "persistentvolumeclaims",
                 "replicationcontrollers", "serviceaccounts", "services", "services/status", "namespaces", "events",
                 "limitranges", "resourcequotas", "resourcequotas/status", "namespaces/status"]
    return [
        _role("cluster-admin", [_rule(["*"], ["*"], ["*"])]),
        _role("admin", aggregate="admin"),
        _role("edit", aggregate="edit", labels={f"{_AGG}admin": "true"}),
        _role("view", aggregate="view", labels={f"{_AGG}edit": "true"}),
        _role("system:aggregate-to-view", [
            _rule([""], view_core, READ), _rule(["apps"], WORKLOADS, READ), _rule(["batch"], ["jobs"], READ),
            _rule(["coordination.k8s.io"], ["leases"], READ), _rule(["discovery.k8s.io"], ["endpointslices"], READ)],
            labels={f"{_AGG}view": "true"}),
        _role("system:aggregate-to-edit", [
            _rule([""], ["pods", "pods/attach", "pods/exec", "pods/portforward", "pods/proxy", "configmaps",
                         "secrets", "serviceaccounts", "services", "events", "persistentvolumeclaims"], WRITE),
            _rule([""], ["secrets"], READ), _rule([""], ["pods/eviction"], ["create"]),
            _rule(["apps"], WORKLOADS, WRITE), _rule(["batch"], ["jobs"], WRITE)],
            labels={f"{_AGG}edit": "true"}),
        _role("system:aggregate-to-admin", [
            _rule(["rbac.authorization.k8s.io"], ["roles", "rolebindings"], READ + WRITE),
            _rule(["authorization.k8s.io"], ["localsubjectaccessreviews"], ["create"]),
            _rule([""], ["resourcequotas", "limitranges"], READ)], labels={f"{_AGG}admin": "true"}),
        _role("system:basic-user", [_rule(["authorization.k8s.io"],
                                          ["selfsubjectaccessreviews", "selfsubjectrulesreviews"], ["create"]),
                                    _rule(["authentication.k8s.io"], ["selfsubjectreviews"], ["create"])]),
        _role("system:kube-scheduler", [
            _rule(["", "events.k8s.io"], ["events"], ["create", "patch", "update"]),
            _rule(["coordination.k8s.io"], ["leases"], ["create", "get", "list", "watch", "update"]),
            _rule([""], ["nodes", "namespaces", "pods", "persistentvolumeclaims", "persistentvolumes",
                         "services", "replicationcontrollers"], READ),
            _rule([""], ["pods"], ["delete"]), _rule([""], ["pods/binding", "bindings"], ["create"]),
            _rule([""], ["pods/status"], ["patch", "update"]),
            _rule(["apps"], ["replicasets", "statefulsets"], READ),
            _rule(["scheduling.k8s.io"], ["priorityclasses"], READ),
            _rule(["authorization.k8s.io"], ["subjectaccessreviews"], ["create"])]),
        # Kubernetes runs each controller under its own service account; kubemu's controller
        # manager uses one identity, so its role is the union of theirs.
        _role("system:kube-controller-manager", [
            _rule(["", "apps", "batch", "coordination.k8s.io", "discovery.k8s.io", "events.k8s.io",
                   "scheduling.k8s.io", "rbac.authorization.k8s.io"], ["*"], ["*"])]),
        # kube-proxy: the services and their endpoints it programs, the nodes, its events.
        _role("system:node-proxier", [
            _rule([""], ["endpoints", "services"], ["list", "watch"]), _rule([""], ["nodes"], READ),
            _rule(["", "events.k8s.io"], ["events"], ["create", "patch", "update"]),
            _rule(["discovery.k8s.io"], ["endpointslices"], ["list", "watch"])]),
        _role("system:node", [
            _rule([""], ["nodes", "nodes/status"], READ + ["create", "update", "patch"]),
            _rule([""], ["pods"], READ + ["delete"]), _rule([""], ["pods/status"], ["patch", "update"]),
            _rule([""], ["events"], ["create", "patch", "update"]),
            _rule([""], ["configmaps", "secrets", "serviceaccounts"], ["get"]), _rule([""], ["services"], READ),
            _rule(["coordination.k8s.io"], ["leases"], ["create", "delete", "get", "patch", "update"]),
            # Delegated authorization: the kubelet asks whether a caller may use its API.
            _rule(["authorization.k8s.io"], ["subjectaccessreviews"], ["create"])]),
        # Every kubelet API (logs, exec, stats): bound to the apiserver's kubelet client below.
        _role("system:kubelet-api-admin", [
            _rule([""], ["nodes"], ["get", "list", "watch", "proxy"]),
            _rule([""], ["nodes/log", "nodes/metrics", "nodes/proxy", "nodes/stats"], ["*"])]),
        # Kubernetes' role for scrapers and probes: the monitoring endpoints only.
        _role("system:monitoring", [{"nonResourceURLs": ["/metrics", "/metrics/slis", "/livez", "/readyz",
                                                         "/healthz", "/livez/*", "/readyz/*", "/healthz/*"],
                                     "verbs": ["get"]}]),
    ]


def cluster_role_bindings() -> list[dict]:
    return [
        _binding("cluster-admin", "cluster-admin", "Group", "system:masters"),
        _binding("system:basic-user", "system:basic-user", "Group", "system:authenticated"),
        _binding("system:kube-scheduler", "system:kube-scheduler", "User", "system:kube-scheduler"),
        _binding("system:kube-controller-manager", "system:kube-controller-manager", "User",
                 "system:kube-controller-manager"),
        _binding("system:monitoring", "system:monitoring", "Group", "system:monitoring"),
        _binding("system:node-proxier", "system:node-proxier", "User", KUBE_PROXY_USER),
        _binding(KUBELET_CLIENT_USER, "system:kubelet-api-admin", "User", KUBELET_CLIENT_USER),
    ]
