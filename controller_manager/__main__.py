"""kubemu-controller-manager: runs the controllers, active/standby through a Lease.

    kubemu-controller-manager --apiserver 127.0.0.1:6443 --port 10257

Only the replica holding ``kube-system/kube-controller-manager`` runs controllers.
"""

from __future__ import annotations

import argparse
import logging

from controller_manager.manager import ControllerManager
from machinery import component, config, logs
from machinery.server import ComponentServer

log = logging.getLogger("controller-manager")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kubemu-controller-manager", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    component.add_client_flags(p, default_port=10257)
    component.add_leader_election_flags(p, lease_name="kube-controller-manager")
    p.add_argument("--controllers", default="*", help="controllers to run: * or a comma-separated list")
    p.add_argument("--concurrent-syncs", type=int, default=5, help="workers per controller")
    return p


def main(argv: list[str] | None = None) -> int:
    args = config.parse(build_parser(), argv)
    logs.setup("controller-manager", args.v)
    identity = component.default_identity(args)
    client = component.client_from_args(args, "kubemu-controller-manager")
    manager = ControllerManager(client, enabled=args.controllers, workers=args.concurrent_syncs)
    elector_box: dict = {}

    def details() -> dict:
        elector = elector_box.get("elector")
        return {"leader": elector.is_leader if elector else True, "holder": elector.holder if elector else identity,
                **manager.stats()}

    server = ComponentServer("controller-manager", identity, f"{args.bind_address}:{args.port}", details=details)
    server.start()
    server.set_serving(True)
    stop = component.stop_event_on_signals()
    code = component.run_leader_elected(client, args, identity, start=manager.run, stop=stop,
                                        publish=lambda e: elector_box.update(elector=e))
    log.info("stopping")
    manager.stop()
    server.stop()
    return code


if __name__ == "__main__":
    raise SystemExit(main())
