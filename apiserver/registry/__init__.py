"""The strategy of every served resource, by resource name."""

from __future__ import annotations

from apiserver.registry.apps import (
    DaemonSetStrategy,
    DeploymentStrategy,
    JobStrategy,
    ReplicaSetStrategy,
    StatefulSetStrategy,
)
from apiserver.registry.base import Strategy
from apiserver.registry.namespaces import NamespaceStrategy
from apiserver.registry.nodes import NodeStrategy
from apiserver.registry.pods import PodStrategy
from apiserver.registry.rbac import BindingStrategy, RoleStrategy
from apiserver.registry.services import EndpointSliceStrategy, EndpointsStrategy, ServiceStrategy
from machinery.resources import RESOURCES

_SPECIAL: dict[str, type[Strategy]] = {
    "pods": PodStrategy,
    "namespaces": NamespaceStrategy,
    "nodes": NodeStrategy,
    "roles": RoleStrategy,
    "clusterroles": RoleStrategy,
    "rolebindings": BindingStrategy,
    "clusterrolebindings": BindingStrategy,
    "deployments": DeploymentStrategy,
    "replicasets": ReplicaSetStrategy,
    "statefulsets": StatefulSetStrategy,
    "daemonsets": DaemonSetStrategy,
    "jobs": JobStrategy,
    "services": ServiceStrategy,
    "endpoints": EndpointsStrategy,
    "endpointslices": EndpointSliceStrategy,
}

STRATEGIES: dict[str, Strategy] = {
    name: _SPECIAL.get(name, Strategy)(info) for name, info in RESOURCES.items()
}
