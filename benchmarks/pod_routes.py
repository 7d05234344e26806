"""Benchmark: what the routed pod network's reconciler costs (kubelet/pod_routes.py), against a real kernel.

    sudo .venv/bin/python benchmarks/pod_routes.py [--nodes 10,100,250] [--rounds 20]

In a throwaway network namespace (a veth gives it a 198.18.0.0/16 link, so every other node's
InternalIP is a valid next hop) and with a fake Node cache of N nodes, it times:

- the first sync: AnyIP for the node's own pod CIDR plus N-1 routes, one ``ip`` command each;
- a converged sync (the periodic resync): one ``ip -j route show``, nothing written;
- a sync after one node changed its InternalIP: one ``ip route replace``;

Nothing is asserted: this measures; tests/unit/test_pod_routes.py checks behaviour. Needs root.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from kubelet.pod_routes import PodRoutes, RouteTable  # noqa: E402


class StaticNodes:
    """An informer stand-in: a fixed list of Nodes, already synced."""

    def __init__(self, nodes: list[dict]):
        self.nodes = nodes
        self.has_synced = True

    def add_handlers(self, _handlers) -> None:
        pass

    def list(self) -> list[dict]:
        return self.nodes


def node(i: int, ip: str | None = None) -> dict:
    return {"metadata": {"name": f"node-{i}"},
            "spec": {"podCIDR": f"10.{200 + i // 250}.{i % 250}.0/24"},
            "status": {"addresses": [{"type": "InternalIP", "address": ip or f"198.18.{i // 250}.{i % 250 + 2}"}]}}


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def run(count: int, rounds: int) -> None:
    ns = f"kmubench{uuid.uuid4().hex[:6]}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        for cmd in (["link", "set", "lo", "up"], ["link", "add", "eth0", "type", "veth", "peer", "name", "eth1"],
                    ["addr", "add", "198.18.255.1/16", "dev", "eth0"], ["link", "set", "eth0", "up"],
                    ["link", "set", "eth1", "up"]):
            subprocess.run(["ip", "-n", ns, *cmd], check=True)

        def ip(args):
            return subprocess.run(["ip", "-n", ns, *args], capture_output=True, text=True, timeout=10)

        nodes = [node(i) for i in range(count)]
        informer = StaticNodes(nodes)
        agent = PodRoutes(None, "node-0", table=RouteTable(ip), informer=informer)
        first = timed(agent.sync)
        assert len(RouteTable(ip).read()[0]) == count - 1
        steady = [timed(agent.sync) for _ in range(rounds)]
        changed = []
        for r in range(rounds):
            informer.nodes = [*nodes[:-1], node(count - 1, ip=f"198.18.254.{r % 200 + 2}")]
            changed.append(timed(agent.sync))
        print(f"{count:>5} nodes: first sync {first:8.1f} ms ({first / count:.2f} ms per route)   "
              f"converged {statistics.median(steady):6.1f} ms   one node changed {statistics.median(changed):6.1f} ms")
    finally:
        subprocess.run(["ip", "netns", "del", ns])


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--nodes", default="10,100,250")
    p.add_argument("--rounds", type=int, default=20)
    args = p.parse_args()
    if os.geteuid() != 0:
        print("needs root (a network namespace)", file=sys.stderr)
        return 1
    for count in (int(n) for n in args.nodes.split(",")):
        run(count, args.rounds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
