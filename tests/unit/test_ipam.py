"""Host-local style IPAM: unique, idempotent, round-robin, persistent, race-free across processes."""

from __future__ import annotations

import ipaddress
import json
import os
import socket
import subprocess
import sys
import threading

import pytest

from kubelet.ipam import LAST_RESERVED_FILE, HostLocalIPAM, IPAMExhausted

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_allocates_unique_ips_skipping_network_gateway_and_broadcast(tmp_path):
    ipam = HostLocalIPAM(str(tmp_path), "127.0.9.0/29")
    ips = [ipam.allocate(f"pod-{i}") for i in range(5)]
    assert ips == [f"127.0.9.{i}" for i in range(2, 7)]
    assert ipam.gateway == "127.0.9.1"
    assert ipam.allocated() == {f"pod-{i}": ip for i, ip in enumerate(ips)}
    assert (tmp_path / "127.0.9.2").read_text() == "pod-0"  # host-local's file-per-IP layout


def test_allocate_is_idempotent_per_owner(tmp_path):
    ipam = HostLocalIPAM(str(tmp_path), "127.0.9.0/24")
    first = ipam.allocate("pod-a")
    assert ipam.allocate("pod-a") == first
    assert ipam.get("pod-a") == first
    assert ipam.allocate("pod-b") != first
    assert len(ipam.allocated()) == 2


def test_release_then_round_robin_reuse(tmp_path):
    ipam = HostLocalIPAM(str(tmp_path), "127.0.9.0/29")  # usable: .2 .. .6
    assert ipam.allocate("a") == "127.0.9.2"
    assert ipam.allocate("b") == "127.0.9.3"
    assert ipam.release("a") == "127.0.9.2"
    assert ipam.release("a") is None  # idempotent
    assert ipam.get("a") is None
    # The just-released .2 is not reused at once: the search goes on from the last reserved IP.
    assert ipam.allocate("c") == "127.0.9.4"
    assert (tmp_path / LAST_RESERVED_FILE).read_text() == "127.0.9.4"
    assert ipam.allocate("d") == "127.0.9.5"
    assert ipam.allocate("e") == "127.0.9.6"
    assert ipam.allocate("f") == "127.0.9.2"  # wrapped around to the freed address


def test_exhaustion_raises_a_clear_error(tmp_path):
    ipam = HostLocalIPAM(str(tmp_path), "127.0.9.0/30")  # only .2 is usable
    assert ipam.size == 1
    assert ipam.allocate("a") == "127.0.9.2"
    with pytest.raises(IPAMExhausted, match=r"127\.0\.9\.0/30.*all 1 addresses"):
        ipam.allocate("b")
    assert ipam.allocate("a") == "127.0.9.2"  # the holder still gets its IP
    ipam.release("a")
    assert ipam.allocate("b") == "127.0.9.2"


def test_state_persists_across_instances(tmp_path):
    first = HostLocalIPAM(str(tmp_path), "127.0.9.0/24")
    a, b = first.allocate("a"), first.allocate("b")
    first.release("a")
    second = HostLocalIPAM(str(tmp_path), "127.0.9.0/24")
    assert second.allocated() == {"b": b}
    assert second.allocate("b") == b
    assert second.allocate("c") == "127.0.9.4"  # continues after the last reserved IP, not at freed `a`
    assert a == "127.0.9.2"


def test_concurrent_threads_on_two_instances_never_duplicate(tmp_path):
    ipams = [HostLocalIPAM(str(tmp_path), "127.0.9.0/24") for _ in range(2)]
    results: list[tuple[str, str]] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        for i in range(25):
            owner = f"t{n}-{i}"
            ip = ipams[n % 2].allocate(owner)
            with lock:
                results.append((owner, ip))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len(results) == 100
    assert len({ip for _, ip in results}) == 100
    assert ipams[0].allocated() == dict(results)


def test_concurrent_processes_never_duplicate(tmp_path):
    script = ("import json, sys\nfrom kubelet.ipam import HostLocalIPAM\n"
              "ipam = HostLocalIPAM(sys.argv[1], '127.0.9.0/24')\n"
              "owners = [f'{sys.argv[2]}-{i}' for i in range(60)]\n"
              "print(json.dumps({owner: ipam.allocate(owner) for owner in owners}))\n")
    procs = [subprocess.Popen([sys.executable, "-c", script, str(tmp_path), name], stdout=subprocess.PIPE,
                              cwd=ROOT, text=True) for name in ("kubelet-a", "kubelet-b")]
    outputs = [json.loads(p.communicate(timeout=30)[0]) for p in procs]
    assert all(p.returncode == 0 for p in procs)
    merged = {**outputs[0], **outputs[1]}
    assert len(merged) == 120
    assert len(set(merged.values())) == 120
    assert HostLocalIPAM(str(tmp_path), "127.0.9.0/24").allocated() == merged


def test_allocated_loopback_address_is_bindable(tmp_path):
    ipam = HostLocalIPAM(str(tmp_path), "127.93.7.0/24")
    ip = ipam.allocate("pod")
    assert ipaddress.ip_address(ip) in ipaddress.ip_network("127.93.7.0/24")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind((ip, 0))
        server.listen(1)
        port = server.getsockname()[1]
        with socket.create_connection((ip, port), timeout=5) as client:
            conn, peer = server.accept()
            conn.close()
            assert client.getpeername() == (ip, port)


@pytest.mark.parametrize("cidr", ["127.0.9.0/31", "127.0.0.0/7", "fd00::/64"])
def test_unsupported_ranges_are_rejected(tmp_path, cidr):
    with pytest.raises(ValueError):
        HostLocalIPAM(str(tmp_path), cidr)


@pytest.mark.parametrize("owner", ["", "a\nb", "x" * 300])
def test_invalid_owner_is_rejected(tmp_path, owner):
    with pytest.raises(ValueError):
        HostLocalIPAM(str(tmp_path), "127.0.9.0/24").allocate(owner)
