"""DefaultBinder: binds the pod through the ``pods/binding`` subresource (with the pod's uid as
precondition, so a pod deleted and recreated under the same name is never bound by mistake)."""

from __future__ import annotations

from scheduler.framework import SUCCESS, Handle, Plugin, Status


class DefaultBinder(Plugin):
    name = "DefaultBinder"

    def __init__(self, client=None):
        self.client = client

    @classmethod
    def new(cls, args: dict | None, handle: Handle) -> DefaultBinder:
        if args:
            raise ValueError("plugin DefaultBinder takes no args")
        return cls(handle.client)

    def bind(self, pod: dict, node_name: str, state=None) -> Status:
        if self.client is None:
            return Status.error("DefaultBinder has no API client")
        m = pod["metadata"]
        self.client.bind(m["namespace"], m["name"], node_name, uid=m.get("uid", ""))
        return SUCCESS
