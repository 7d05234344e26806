"""Authentication: who is calling, from a bearer token or a TLS client certificate.

Tokens come from a static token file in kube-apiserver's ``--token-auth-file`` format: one
``token,user,uid,"group1,group2"`` line per identity. A client certificate (when the server
serves mutual TLS) names the user in its CN and the groups in its O fields. With neither
configured, the server runs unsecured, as the old insecure port did: every caller is
``system:unsecured`` in ``system:masters``. A request with a token the file does not know,
or with no credentials when tokens are required, is Unauthorized.
"""

from __future__ import annotations

import csv
import hmac
import logging
import os
import threading
import time
from collections.abc import Callable

import grpc

from apiserver.admission import UserInfo
from machinery import errors
from machinery.serving_auth import certificate_caller

log = logging.getLogger(__name__)

UNSECURED_USER = UserInfo("system:unsecured", "", ("system:masters", "system:authenticated"))


def load_token_file(path: str) -> dict[str, UserInfo]:
    """Parse a kube-apiserver static token file; malformed lines are an error naming the line."""
    tokens: dict[str, UserInfo] = {}
    with open(path, newline="") as f:
        for lineno, row in enumerate(csv.reader(f), start=1):
            if not row or row[0].strip().startswith("#"):
                continue
            if len(row) < 3:
                raise ValueError(f"{path}:{lineno}: expected token,user,uid[,\"groups\"]")
            token, user, uid = (c.strip() for c in row[:3])
            groups = tuple(g.strip() for g in row[3].split(",") if g.strip()) if len(row) > 3 else ()
            tokens[token] = UserInfo(user, uid, groups + ("system:authenticated",))
    return tokens


class Authenticator:
    """``token_file``: re-read when it changes (checked at most once a second), so a node token
    added by ``kubemu certs --node`` works without restarting the apiserver."""

    def __init__(self, tokens: dict[str, UserInfo] | None = None, *, client_certs: bool = False,
                 token_file: str = ""):
        self.tokens = tokens or {}
        self.client_certs = client_certs
        self.token_file = token_file
        self._mtime = os.stat(token_file).st_mtime_ns if token_file and os.path.exists(token_file) else 0
        self._checked = time.monotonic()
        self._lock = threading.Lock()

    def _maybe_reload(self) -> None:
        if not self.token_file or time.monotonic() - self._checked < 1.0:
            return
        with self._lock:
            self._checked = time.monotonic()
            try:
                mtime = os.stat(self.token_file).st_mtime_ns
                if mtime == self._mtime:
                    return
                self.tokens = load_token_file(self.token_file)
                self._mtime = mtime
                log.info("reloaded %d tokens from %s", len(self.tokens), self.token_file)
            except (OSError, ValueError) as e:
                log.warning("keeping the old tokens: cannot reload %s: %s", self.token_file, e)

    @property
    def secured(self) -> bool:
        return bool(self.tokens) or self.client_certs

    def authenticate(self, context: grpc.ServicerContext) -> UserInfo:
        """The caller of a gRPC request (its ``authorization`` metadata, or its TLS client certificate)."""
        if not self.secured:
            return UNSECURED_USER
        metadata = dict(context.invocation_metadata() or ())
        return self.authenticate_credentials(metadata.get("authorization", ""),
                                             lambda: _user_from_certificate(context))

    def authenticate_credentials(self, header: str, certificate_user: Callable[[], UserInfo | None]) -> UserInfo:
        """The one rule for both transports (gRPC and REST): a bearer token wins; else the verified
        client certificate's CN/O (``certificate_user`` reads it from the transport); else Unauthorized."""
        if not self.secured:
            return UNSECURED_USER
        self._maybe_reload()
        if header:
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token:
                raise errors.Unauthorized("Unauthorized: the authorization header must be 'Bearer <token>'")
            for known, user in self.tokens.items():
                if hmac.compare_digest(known.encode(), token.strip().encode()):
                    return user
            raise errors.Unauthorized("Unauthorized: invalid bearer token")
        if self.client_certs:
            user = certificate_user()
            if user:
                return user
        raise errors.Unauthorized("Unauthorized: no credentials: send a bearer token or a client certificate")


def _user_from_certificate(context: grpc.ServicerContext) -> UserInfo | None:
    caller = certificate_caller(context)
    return UserInfo(caller.user, "", caller.groups + ("system:authenticated",)) if caller else None
