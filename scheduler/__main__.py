"""kubemu-scheduler: assigns pending pods to nodes, active/standby through a Lease.

    kubemu-scheduler --apiserver 127.0.0.1:6443 --port 10259 [--scheduler-config sched.yaml]

Profiles come from ``--scheduler-config`` (a KubeSchedulerConfiguration, see
:mod:`scheduler.profile`); without it one default profile named ``--scheduler-name`` with
``--scoring-strategy`` for NodeResourcesFit. The gRPC port serves Health, Component/Describe and
Scheduler/Explain; the leader writes its address (``--advertise-address``, else the bind
address) into the Lease ``kube-system/kube-scheduler`` so ``kubemu kubectl explain-schedule``
finds it. ``--tls-cert-file``/``--tls-private-key-file`` serve that port over TLS (``--client-ca-file``:
mutual TLS), as kube-scheduler serves 10259 over HTTPS.
Prometheus metrics: ``http://<bind address>:10251/metrics`` (``--metrics-port``,
kube-scheduler's old insecure port; see docs/metrics.md).
"""

from __future__ import annotations

import argparse
import logging
import threading

from machinery import component, config, logs, metrics, tracing
from machinery.pb import scheduler_pb2_grpc
from machinery.server import ComponentServer
from scheduler import metrics as scheduler_metrics
from scheduler.profile import DEFAULT_SCHEDULER_NAME, ConfigError, build_frameworks, load_config
from scheduler.queue import SchedulingQueue
from scheduler.scheduler import Scheduler
from scheduler.service import SchedulerServicer, advertise, advertised_address

log = logging.getLogger("scheduler")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kubemu-scheduler", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    component.add_client_flags(p, default_port=10259)
    component.add_serving_flags(p)
    component.add_leader_election_flags(p, lease_name="kube-scheduler")
    metrics.add_flags(p, default_port=10251)
    tracing.add_flags(p)
    p.add_argument("--scheduler-config", default="",
                   help="KubeSchedulerConfiguration YAML file with the scheduling profiles")
    p.add_argument("--scheduler-name", default=DEFAULT_SCHEDULER_NAME,
                   help="pods' spec.schedulerName to serve (without --scheduler-config)")
    p.add_argument("--scoring-strategy", default="LeastAllocated", choices=["LeastAllocated", "MostAllocated"],
                   help="NodeResourcesFit scoring (without --scheduler-config)")
    p.add_argument("--advertise-address", default="",
                   help="host[:port] clients use to reach this scheduler's gRPC service (default: bind address)")
    p.add_argument("--pod-initial-backoff-seconds", type=float, default=1.0)
    p.add_argument("--pod-max-backoff-seconds", type=float, default=10.0)
    p.add_argument("--pod-max-in-unschedulable-pods-duration", type=float, default=300.0,
                   help="seconds before an unschedulable pod is retried without any cluster event")
    return p


def profiles_from_args(args: argparse.Namespace) -> list[dict]:
    if args.scheduler_config:
        return load_config(args.scheduler_config)
    return [{"schedulerName": args.scheduler_name,
             "pluginConfig": [{"name": "NodeResourcesFit",
                               "args": {"scoringStrategy": {"type": args.scoring_strategy}}}]}]


def main(argv: list[str] | None = None) -> int:
    args = config.parse(build_parser(), argv)
    logs.setup("scheduler", args.v)
    try:
        profiles = profiles_from_args(args)
        build_frameworks(profiles)  # validate before touching the network
    except ConfigError as e:
        log.error("%s", e)
        return 2
    identity = component.default_identity(args)
    tracing.configure_from_args(args, "scheduler", identity)
    tls = component.serving_tls(args)
    client = component.client_from_args(args, "kubemu-scheduler")
    def new_scheduler() -> Scheduler:
        return Scheduler(client, profiles, queue=SchedulingQueue(
            initial_backoff_s=args.pod_initial_backoff_seconds, max_backoff_s=args.pod_max_backoff_seconds,
            max_unschedulable_s=args.pod_max_in_unschedulable_pods_duration), identity=identity)

    # A new Scheduler (fresh informers, cache and queue) for every leadership term.
    sched = component.Current(new_scheduler)
    elector_box: dict = {}

    def leader() -> tuple[bool, str]:
        elector = elector_box.get("elector")
        if elector is None:  # --no-leader-elect
            return sched.running, identity
        return elector.is_leader and sched.running, elector.holder

    def details() -> dict:
        elector = elector_box.get("elector")
        return {"leader": elector.is_leader if elector else True, "holder": elector.holder if elector else identity,
                "schedulerNames": sched.scheduler_names, **sched.stats()}

    server = ComponentServer("scheduler", identity, f"{args.bind_address}:{args.port}", details=details,
                             register=lambda s: scheduler_pb2_grpc.add_SchedulerServicer_to_server(
                                 SchedulerServicer(sched, identity, leader), s), tls=tls)
    server.start()
    server.set_serving(True)
    scheduler_metrics.watch_pending(lambda: sched.pending_counts())
    metrics_server = metrics.serve_from_args(args, "scheduler")
    address = advertised_address(args.bind_address, server.port, args.advertise_address)
    stop = component.stop_event_on_signals()

    class Term:
        """One leadership term: advertise this replica, then schedule until stopped."""

        def __init__(self):
            self.scheduler = sched.next()

        def run(self) -> None:
            if args.leader_elect:
                threading.Thread(target=advertise, name="advertise", daemon=True,
                                 args=(client, args.leader_elect_resource_namespace, args.leader_elect_resource_name,
                                       identity, address)).start()
            self.scheduler.start_informers()
            self.scheduler.run()

        def stop(self) -> None:
            self.scheduler.stop()

    code = component.run_while_leading(client, args, identity, build=Term, stop=stop,
                                       publish=lambda e: elector_box.update(elector=e))
    log.info("stopping")
    sched.stop()
    if metrics_server is not None:
        metrics_server.stop()
    server.stop()
    return code


if __name__ == "__main__":
    raise SystemExit(main())
