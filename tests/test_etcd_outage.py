"""Losing etcd: the apiserver fails fast with UNAVAILABLE, ends open watches, and recovers by
itself when etcd returns — with every acknowledged write still there."""

from __future__ import annotations

import threading
import time

import pytest

from kubemu.etcd_server import EtcdMember, find_etcd_binary, free_port, wait_ready
from machinery import errors
from machinery.client import APIClient
from tests.conftest import Proc, start_apiserver
from tests.helpers import wait_for


def test_apiserver_survives_etcd_restart(tmp_path):
    member = EtcdMember("outage", str(tmp_path / "data"), free_port(), free_port())
    etcd = Proc(member.command(find_etcd_binary()), str(tmp_path / "etcd.log"))
    wait_ready(member.client_url)
    apiserver, address = start_apiserver(member.client_url, tmp_path)
    client = APIClient(address, retry_timeout_s=0)
    try:
        acknowledged = []
        for i in range(20):
            created = client.create("configmaps", {"apiVersion": "v1", "kind": "ConfigMap",
                                                   "metadata": {"name": f"cm-{i}"}, "data": {"i": str(i)}}, "default")
            acknowledged.append(created["metadata"]["name"])
        rv = client.list("configmaps", "default").resource_version
        watch = client.watch("configmaps", "default", resource_version=rv)
        outcome = {}

        def consume():
            try:
                for _ in watch:
                    pass
                outcome["ended"] = "cleanly"
            except errors.APIError as e:
                outcome["ended"] = e

        thread = threading.Thread(target=consume, daemon=True)
        thread.start()

        etcd.kill()
        started = time.monotonic()
        with pytest.raises(errors.Unavailable, match="storage is unavailable"):
            client.create("configmaps", {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "lost"}},
                          "default")
        assert time.monotonic() - started < 6, "requests must fail fast while etcd is down"
        thread.join(15)
        assert isinstance(outcome.get("ended"), errors.Unavailable), outcome

        etcd = Proc(member.command(find_etcd_binary()), str(tmp_path / "etcd2.log"))
        wait_ready(member.client_url)
        wait_for(lambda: client.create("configmaps", {"apiVersion": "v1", "kind": "ConfigMap",
                                                      "metadata": {"name": "after"}}, "default"),
                 timeout_s=30, message="apiserver recovered without a restart")
        names = {c["metadata"]["name"] for c in client.list("configmaps", "default").items}
        assert set(acknowledged) <= names and "after" in names and "lost" not in names
        # A watch resumed from the old revision sees what happened while it was away.
        resumed = client.watch("configmaps", "default", resource_version=rv)
        first = next(iter(resumed))
        resumed.cancel()
        assert (first.type, first.object["metadata"]["name"]) == ("ADDED", "after")
    finally:
        client.close()
        apiserver.stop()
        etcd.stop()
