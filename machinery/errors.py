"""One error hierarchy for the whole API, and the one map between it and gRPC.

Every failure a client can see is an :class:`APIError` carrying a Kubernetes ``Status``:
a ``reason`` (NotFound, AlreadyExists, Conflict, Invalid, Forbidden, Unauthorized, Expired,
ServiceUnavailable, BadRequest, Timeout, InternalError), a human ``message`` and, for
Invalid, one cause per offending field. On the wire the reason picks the gRPC status code
(:data:`GRPC_CODE_BY_REASON`) and the Status travels as JSON in the ``k8s-status`` trailing
metadata, so a client rebuilds the very same error with :func:`from_rpc_error`::

    APIError
     ├── NotFound            NOT_FOUND
     ├── AlreadyExists       ALREADY_EXISTS
     ├── Conflict            ABORTED
     ├── Invalid             INVALID_ARGUMENT  (causes: field paths)
     ├── BadRequest          INVALID_ARGUMENT
     ├── Forbidden           PERMISSION_DENIED
     ├── Unauthorized        UNAUTHENTICATED
     ├── Expired             OUT_OF_RANGE      (watch/list from a compacted revision: relist)
     ├── Unavailable         UNAVAILABLE       (etcd or the apiserver is down: retry)
     ├── Timeout             DEADLINE_EXCEEDED
     └── InternalError       INTERNAL
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

import grpc

STATUS_METADATA_KEY = "k8s-status"


@dataclass(frozen=True)
class Cause:
    """One offending field of an Invalid request, as in Kubernetes' StatusCause."""

    field: str
    message: str
    reason: str = "FieldValueInvalid"

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message

    def to_dict(self) -> dict:
        return {"reason": self.reason, "message": self.message, "field": self.field}


class APIError(Exception):
    """An error with a Kubernetes reason, a message and an HTTP-equivalent code."""

    reason = "InternalError"
    http_code = 500

    def __init__(self, message: str, *, causes: Iterable[Cause] = (), kind: str = "", name: str = "",
                 group: str = ""):
        super().__init__(message)
        self.message = message
        self.causes = tuple(causes)
        self.kind = kind
        self.name = name
        self.group = group

    def to_status(self) -> dict:
        details: dict = {}
        if self.name:
            details["name"] = self.name
        if self.group:
            details["group"] = self.group
        if self.kind:
            details["kind"] = self.kind
        if self.causes:
            details["causes"] = [c.to_dict() for c in self.causes]
        status = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                  "message": self.message, "reason": self.reason, "code": self.http_code}
        if details:
            status["details"] = details
        return status

    def __str__(self) -> str:
        return self.message


class NotFound(APIError):
    reason, http_code = "NotFound", 404


class AlreadyExists(APIError):
    reason, http_code = "AlreadyExists", 409


class Conflict(APIError):
    reason, http_code = "Conflict", 409


class Invalid(APIError):
    reason, http_code = "Invalid", 422


class BadRequest(APIError):
    reason, http_code = "BadRequest", 400


class Forbidden(APIError):
    reason, http_code = "Forbidden", 403


class Unauthorized(APIError):
    reason, http_code = "Unauthorized", 401


class Expired(APIError):
    reason, http_code = "Expired", 410


class TooManyRequests(APIError):
    """An eviction a PodDisruptionBudget does not allow now (kubectl drain retries it)."""

    reason, http_code = "TooManyRequests", 429


class Unavailable(APIError):
    reason, http_code = "ServiceUnavailable", 503


class Timeout(APIError):
    reason, http_code = "Timeout", 504


class InternalError(APIError):
    reason, http_code = "InternalError", 500


ERROR_BY_REASON: dict[str, type[APIError]] = {
    cls.reason: cls
    for cls in (NotFound, AlreadyExists, Conflict, Invalid, BadRequest, Forbidden, Unauthorized,
                Expired, TooManyRequests, Unavailable, Timeout, InternalError)
}
ERROR_BY_REASON["Gone"] = Expired

GRPC_CODE_BY_REASON: dict[str, grpc.StatusCode] = {
    "NotFound": grpc.StatusCode.NOT_FOUND,
    "AlreadyExists": grpc.StatusCode.ALREADY_EXISTS,
    "Conflict": grpc.StatusCode.ABORTED,
    "Invalid": grpc.StatusCode.INVALID_ARGUMENT,
    "BadRequest": grpc.StatusCode.INVALID_ARGUMENT,
    "Forbidden": grpc.StatusCode.PERMISSION_DENIED,
    "Unauthorized": grpc.StatusCode.UNAUTHENTICATED,
    "Expired": grpc.StatusCode.OUT_OF_RANGE,
    "TooManyRequests": grpc.StatusCode.RESOURCE_EXHAUSTED,
    "ServiceUnavailable": grpc.StatusCode.UNAVAILABLE,
    "Timeout": grpc.StatusCode.DEADLINE_EXCEEDED,
    "InternalError": grpc.StatusCode.INTERNAL,
}

# When a failure carries no Status (the peer is down, a proxy cut the stream), the code alone
# decides what the client sees.
_ERROR_BY_GRPC_CODE: dict[grpc.StatusCode, type[APIError]] = {
    grpc.StatusCode.NOT_FOUND: NotFound,
    grpc.StatusCode.ALREADY_EXISTS: AlreadyExists,
    grpc.StatusCode.ABORTED: Conflict,
    grpc.StatusCode.INVALID_ARGUMENT: BadRequest,
    grpc.StatusCode.PERMISSION_DENIED: Forbidden,
    grpc.StatusCode.UNAUTHENTICATED: Unauthorized,
    grpc.StatusCode.OUT_OF_RANGE: Expired,
    grpc.StatusCode.FAILED_PRECONDITION: Expired,
    grpc.StatusCode.UNAVAILABLE: Unavailable,
    grpc.StatusCode.DEADLINE_EXCEEDED: Timeout,
    grpc.StatusCode.CANCELLED: Unavailable,
    grpc.StatusCode.RESOURCE_EXHAUSTED: Unavailable,
}


def abort(context: grpc.ServicerContext, error: APIError) -> None:
    """End the current RPC with ``error``: its gRPC code, message and Status metadata."""
    status = json.dumps(error.to_status(), separators=(",", ":"))
    context.set_trailing_metadata(((STATUS_METADATA_KEY, status),))
    context.abort(GRPC_CODE_BY_REASON.get(error.reason, grpc.StatusCode.INTERNAL), error.message)


def from_status(status: dict) -> APIError:
    """Rebuild the APIError a Kubernetes Status dict describes."""
    details = status.get("details") or {}
    causes = [Cause(c.get("field", ""), c.get("message", ""), c.get("reason", "FieldValueInvalid"))
              for c in details.get("causes") or []]
    cls = ERROR_BY_REASON.get(status.get("reason", ""), InternalError)
    return cls(status.get("message", ""), causes=causes, kind=details.get("kind", ""),
               name=details.get("name", ""), group=details.get("group", ""))


def from_rpc_error(error: grpc.RpcError) -> APIError:
    """Map a failed RPC onto the APIError hierarchy, preferring the Status it carries."""
    metadata = {}
    trailing = getattr(error, "trailing_metadata", None)
    if callable(trailing):
        metadata = dict(trailing() or ())
    raw = metadata.get(STATUS_METADATA_KEY)
    if raw:
        try:
            return from_status(json.loads(raw))
        except (ValueError, TypeError, AttributeError):
            pass
    code = error.code() if callable(getattr(error, "code", None)) else grpc.StatusCode.UNKNOWN
    details = error.details() if callable(getattr(error, "details", None)) else str(error)
    cls = _ERROR_BY_GRPC_CODE.get(code, InternalError)
    return cls(details or code.name)


def is_retryable(error: APIError) -> bool:
    """True when trying the same request again later may succeed (the server was away)."""
    return isinstance(error, Unavailable | Timeout)
