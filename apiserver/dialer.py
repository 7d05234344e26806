"""How the apiserver dials the other components (kubelets for logs and exec, every component for
trace spans): one LRU cache of gRPC channels, TLS with the kubelet client identity when given.

A channel per (address, expected server name) is kept open and reused, because a TLS handshake
costs more than the call; the least recently used one is closed past ``max_channels``, so a
cluster whose nodes come and go never accumulates channels.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import grpc

from machinery import errors
from machinery.client import CHANNEL_OPTIONS, Credentials, make_channel


class ChannelCache:
    """``get(address, server_name)``: a channel to a component, reused while it stays recent."""

    def __init__(self, credentials: Credentials | None = None, *, max_channels: int = 256):
        """``credentials``: the apiserver's kubelet client certificate and the CA that signed the
        components' serving certificates; None dials plain gRPC (unsecured clusters)."""
        self.credentials = credentials
        self.max_channels = max_channels
        self._channels: OrderedDict[tuple[str, str], grpc.Channel] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, address: str, server_name: str = "") -> grpc.Channel:
        """``server_name``: the name the server's certificate must carry when it is not the
        address's host (a kubelet's certificate names its node)."""
        key = (address, server_name)
        with self._lock:
            channel = self._channels.get(key)
            if channel is None:
                channel = self._channels[key] = self._dial(address, server_name)
                while len(self._channels) > self.max_channels:
                    self._channels.popitem(last=False)[1].close()
            else:
                self._channels.move_to_end(key)
        return channel

    def _dial(self, address: str, server_name: str) -> grpc.Channel:
        if self.credentials is None:
            return grpc.insecure_channel(address, options=CHANNEL_OPTIONS)
        try:
            return make_channel(address, Credentials(ca_file=self.credentials.ca_file,
                                                     cert_file=self.credentials.cert_file,
                                                     key_file=self.credentials.key_file,
                                                     tls_server_name=server_name))
        except OSError as e:  # the files went away since start-up
            raise errors.InternalError(f"cannot read the kubelet client credentials: {e}") from None

    def close(self) -> None:
        with self._lock:
            for channel in self._channels.values():
                channel.close()
            self._channels.clear()
