"""kubemu-scheduler: assigns pending pods to nodes, active/standby through a Lease.

    kubemu-scheduler --apiserver 127.0.0.1:6443 --port 10259
"""

from __future__ import annotations

import argparse
import logging

from machinery import component, config, logs
from machinery.server import ComponentServer
from scheduler.profile import default_framework
from scheduler.queue import SchedulingQueue
from scheduler.scheduler import DEFAULT_SCHEDULER_NAME, Scheduler

log = logging.getLogger("scheduler")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kubemu-scheduler", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    component.add_client_flags(p, default_port=10259)
    component.add_leader_election_flags(p, lease_name="kube-scheduler")
    p.add_argument("--scheduler-name", default=DEFAULT_SCHEDULER_NAME, help="pods' spec.schedulerName to serve")
    p.add_argument("--scoring-strategy", default="LeastAllocated", choices=["LeastAllocated", "MostAllocated"],
                   help="NodeResourcesFit scoring")
    p.add_argument("--pod-initial-backoff-seconds", type=float, default=1.0)
    p.add_argument("--pod-max-backoff-seconds", type=float, default=10.0)
    p.add_argument("--pod-max-in-unschedulable-pods-duration", type=float, default=300.0,
                   help="seconds before an unschedulable pod is retried without any cluster event")
    return p


def main(argv: list[str] | None = None) -> int:
    args = config.parse(build_parser(), argv)
    logs.setup("scheduler", args.v)
    identity = component.default_identity(args)
    client = component.client_from_args(args, "kubemu-scheduler")
    queue = SchedulingQueue(initial_backoff_s=args.pod_initial_backoff_seconds,
                            max_backoff_s=args.pod_max_backoff_seconds,
                            max_unschedulable_s=args.pod_max_in_unschedulable_pods_duration)
    sched = Scheduler(client, default_framework(args.scoring_strategy), scheduler_name=args.scheduler_name,
                      queue=queue)
    elector_box = {}

    def details() -> dict:
        elector = elector_box.get("elector")
        return {"leader": elector.is_leader if elector else True, "holder": elector.holder if elector else identity,
                **sched.stats()}

    server = ComponentServer("scheduler", identity, f"{args.bind_address}:{args.port}", details=details)
    server.start()
    server.set_serving(True)
    stop = component.stop_event_on_signals()

    def lead() -> None:
        sched.start_informers()
        sched.run()

    code = component.run_leader_elected(client, args, identity, start=lead, stop=stop,
                                        publish=lambda e: elector_box.update(elector=e))
    log.info("stopping")
    sched.stop()
    server.stop()
    return code


if __name__ == "__main__":
    raise SystemExit(main())
