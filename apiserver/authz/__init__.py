"""Authorization: may this user do this verb on this resource, here?

Authorizers run in order (kube-apiserver's ``--authorization-mode=Node,RBAC``); the first that
allows wins; if none does, the request is Forbidden with Kubernetes' message, e.g.
``pods is forbidden: User "jane" cannot create resource "pods" in API group "" in the
namespace "default"``. Members of ``system:masters`` are always allowed (the superuser group,
checked before any authorizer, as in Kubernetes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from apiserver.admission import UserInfo
from machinery import errors
from machinery.resources import qualified

SUPERUSER_GROUP = "system:masters"


@dataclass(frozen=True)
class Request:
    """What is being asked: the RBAC attributes of one API request."""

    user: UserInfo
    verb: str  # get, list, watch, create, update, patch, delete, deletecollection
    resource: str
    api_group: str = ""
    namespace: str = ""
    name: str = ""
    subresource: str = ""
    # path: set for a non-resource request (``/metrics``, ``/healthz``): the URL path asked for.
    path: str = ""


class Authorizer(Protocol):
    name: str

    def authorize(self, request: Request) -> tuple[bool, str]:
        """(allowed, reason). Returning False means "no opinion": the next authorizer decides."""
        ...


class AuthorizerChain:
    def __init__(self, authorizers: list[Authorizer]):
        self.authorizers = authorizers

    def allowed(self, request: Request) -> tuple[bool, str]:
        if SUPERUSER_GROUP in request.user.groups:
            return True, f"user is in {SUPERUSER_GROUP}"
        for authorizer in self.authorizers:
            ok, reason = authorizer.authorize(request)
            if ok:
                return True, f"{authorizer.name}: {reason}"
        return False, ""

    def check(self, request: Request) -> None:
        ok, _ = self.allowed(request)
        if not ok:
            raise errors.Forbidden(forbidden_message(request), kind=request.resource, name=request.name,
                                   group=request.api_group)


def forbidden_message(r: Request) -> str:
    if r.path:
        return f'forbidden: User "{r.user.name}" cannot {r.verb} path "{r.path}"'
    resource = f"{r.resource}/{r.subresource}" if r.subresource else r.resource
    group_resource = qualified(r.resource, r.api_group)  # as NewForbidden names it: no subresource
    what = f'{group_resource} "{r.name}"' if r.name else group_resource
    scope = f' in the namespace "{r.namespace}"' if r.namespace else " at the cluster scope"
    return (f'{what} is forbidden: User "{r.user.name}" cannot {r.verb} resource "{resource}" in API group '
            f'"{r.api_group}"{scope}')


class AllowAll:
    """Used when the apiserver runs unsecured: everyone may do everything."""

    name = "AlwaysAllow"

    def authorize(self, request: Request) -> tuple[bool, str]:
        return True, "authorization is off"
