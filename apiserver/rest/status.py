"""Errors as Kubernetes ``Status`` objects, with the HTTP code their reason implies.

kubectl prints a failed request as ``Error from server (<reason>): <message>`` from the body's
``reason`` and ``message``, and reads ``details.causes`` for Invalid (422) answers; a 401 prints
``error: You must be logged in to the server (Unauthorized)``. The codes are Kubernetes':
BadRequest 400, Unauthorized 401, Forbidden 403, NotFound 404, MethodNotAllowed 405,
NotAcceptable 406, AlreadyExists/Conflict 409, Gone/Expired 410, UnsupportedMediaType 415,
Invalid 422, TooManyRequests 429, InternalError 500, ServiceUnavailable 503, Timeout 504.
"""

from __future__ import annotations

from machinery import errors


class MethodNotAllowed(errors.APIError):
    reason, http_code = "MethodNotAllowed", 405


class NotAcceptable(errors.APIError):
    reason, http_code = "NotAcceptable", 406


class UnsupportedMediaType(errors.APIError):
    reason, http_code = "UnsupportedMediaType", 415


class TooManyRequests(errors.APIError):
    reason, http_code = "TooManyRequests", 429


def status_of(error: errors.APIError) -> dict:
    """The Status body of ``error``; ``details.group`` is added when the kind names a resource."""
    return error.to_status()


def success(name: str = "", kind: str = "", group: str = "", uid: str = "", code: int = 200) -> dict:
    """A ``Status`` of success, as DELETE answers when the object is gone at once."""
    details = {k: v for k, v in (("name", name), ("group", group), ("kind", kind), ("uid", uid)) if v or k == "group"}
    out = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": code}
    if name or kind:
        out["details"] = details
    return out
