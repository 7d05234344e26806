"""``kubemu kubectl explain-schedule POD [-n NS]``: the scheduler's reasoning about one pod.

For a pending pod the leading scheduler dry-runs a scheduling cycle on its current cache; for a
bound pod it returns the decision it recorded. The output is one row per node::

    Pod e2e-x/huge (profile default-scheduler), dry run at 2025-11-25T09:30:00Z
    0/3 nodes are available: 3 Insufficient cpu.

    NODE     FEASIBLE   REJECTED BY        REASON             TaintToleration   NodeAffinity   …   TOTAL
    node-1   No         NodeResourcesFit   Insufficient cpu   -                 -                  -

Scores are each plugin's 0..100 after normalisation; TOTAL is their sum weighted as the header
line says; ``*`` marks the chosen node. ``-o json`` prints the scheduler's answer as it came.

How the CLI finds the scheduler: ``--scheduler-address HOST:PORT`` (or ``$KUBEMU_SCHEDULER_ADDRESS``)
if given; otherwise it reads the Lease ``kube-system/kube-scheduler`` (``--lease`` for another
name) and dials the address its holder advertised in the ``scheduler.kubemu.io/address``
annotation (written by the scheduler when it starts leading, checked against
``scheduler.kubemu.io/identity`` = ``spec.holderIdentity``). When the CLI's kubeconfig names a CA
(every secured cluster), the call goes over TLS and checks the scheduler's serving certificate
against that CA (``kubemu up``, ``kubemu certs`` and compose give the scheduler one signed by the
cluster CA), presenting the kubeconfig's client certificate if it has one — never its token;
without a CA it is plain gRPC.

The lead wires this module into ``kubemu kubectl`` with :func:`register` and :func:`run`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any, TextIO

import grpc

from machinery import errors
from machinery.pb import scheduler_pb2, scheduler_pb2_grpc

COMMAND = "explain-schedule"
ENV_ADDRESS = "KUBEMU_SCHEDULER_ADDRESS"
DEFAULT_LEASE = "kube-system/kube-scheduler"
# Must match scheduler/service.py (the scheduler writes them; tests check both agree).
ADDRESS_ANNOTATION = "scheduler.kubemu.io/address"
IDENTITY_ANNOTATION = "scheduler.kubemu.io/identity"
EXPLAIN_TIMEOUT_S = 15.0


class ExplainError(Exception):
    """A failure printed as ``error: <message>`` (exit code 1)."""


def register(subparsers) -> argparse.ArgumentParser:
    """Add ``explain-schedule`` to an argparse subparsers object; returns the new parser."""
    p = subparsers.add_parser(
        COMMAND, help="show why the scheduler put a pod where it did, or why it cannot place it",
        description="Show, per node, which filter plugin rejected the pod and every score plugin's score.")
    add_arguments(p)
    return p


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("pod", metavar="POD", help="the pod's name (or pod/NAME)")
    # SUPPRESS: do not overwrite a namespace a parent parser already parsed.
    p.add_argument("-n", "--namespace", default=argparse.SUPPRESS, help="the pod's namespace (default: default)")
    p.add_argument("--scheduler-address", default=argparse.SUPPRESS,
                   help=f"the scheduler's gRPC address HOST:PORT (env {ENV_ADDRESS}; default: from the Lease)")
    p.add_argument("--lease", default=DEFAULT_LEASE, help="NAMESPACE/NAME of the scheduler's leader Lease")
    p.add_argument("--last", action="store_true", help="the recorded decision only, no dry run")
    p.add_argument("-o", "--output", default="", choices=("", "json"), help="output format")


def run(args: argparse.Namespace, client: Any, *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Ask the scheduler and print its explanation; 0 on success, 1 on any error (printed)."""
    out, err = out or sys.stdout, err or sys.stderr
    namespace = getattr(args, "namespace", None) or "default"
    name = args.pod.split("/", 1)[1] if args.pod.startswith(("pod/", "pods/", "po/")) else args.pod
    try:
        address = getattr(args, "scheduler_address", None) or os.environ.get(ENV_ADDRESS) or \
            find_scheduler(client, getattr(args, "lease", DEFAULT_LEASE))
        explanation = explain(address, namespace, name, last_only=bool(getattr(args, "last", False)),
                              credentials=scheduler_credentials(client))
    except ExplainError as e:
        err.write(f"error: {e}\n")
        return 1
    except errors.APIError as e:
        err.write(f"Error from server ({e.reason}): {e.message}\n")
        return 1
    if getattr(args, "output", "") == "json":
        out.write(json.dumps(explanation, indent=2, sort_keys=True) + "\n")
    else:
        out.write(render(explanation))
    return 0


def find_scheduler(client: Any, lease: str = DEFAULT_LEASE) -> str:
    """The gRPC address the current holder of the scheduler Lease advertised."""
    namespace, _, name = lease.rpartition("/")
    namespace = namespace or "kube-system"
    try:
        obj = client.get("leases", name, namespace)
    except errors.NotFound:
        raise ExplainError(f"no scheduler leads: lease {namespace}/{name} does not exist "
                           "(is a scheduler running? pass --scheduler-address HOST:PORT)") from None
    holder = (obj.get("spec") or {}).get("holderIdentity") or ""
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    if not holder:
        raise ExplainError(f"no scheduler holds lease {namespace}/{name} right now; try again shortly")
    address = annotations.get(ADDRESS_ANNOTATION)
    if not address or annotations.get(IDENTITY_ANNOTATION) != holder:
        raise ExplainError(f"the leading scheduler {holder} has not advertised its address in lease "
                           f"{namespace}/{name} yet; pass --scheduler-address HOST:PORT")
    return address


def scheduler_credentials(client: Any):
    """TLS settings for the scheduler from the API client's: its CA and client certificate, no token."""
    from machinery.client import Credentials

    creds = getattr(client, "credentials", None)
    if creds is None or not creds.ca_file:
        return None
    return Credentials(ca_file=creds.ca_file, cert_file=creds.cert_file, key_file=creds.key_file)


def explain(address: str, namespace: str, name: str, *, last_only: bool = False, credentials=None) -> dict:
    """Ask the scheduler at ``address``: plain gRPC, or TLS when ``credentials`` has a CA."""
    from machinery.client import Credentials, make_channel

    with make_channel(address, credentials or Credentials()) as channel:
        stub = scheduler_pb2_grpc.SchedulerStub(channel)
        try:
            resp = stub.Explain(scheduler_pb2.ExplainRequest(namespace=namespace, name=name, last_only=last_only),
                                timeout=EXPLAIN_TIMEOUT_S)
        except grpc.RpcError as e:
            if e.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED) and not \
                    e.trailing_metadata():
                raise ExplainError(f"cannot reach the scheduler at {address}: {e.details()}") from None
            raise errors.from_rpc_error(e) from None
    explanation = json.loads(resp.explanation or b"{}")
    explanation.setdefault("answeredBy", resp.identity)
    return explanation


def _yes_no(value: bool) -> str:
    return "Yes" if value else "No"


def render(explanation: dict) -> str:
    """The explanation as kubectl-style text: a header, the failure message, one row per node."""
    lines = []
    when = "dry run" if explanation.get("dryRun") else "decided"
    profile = explanation.get("profile") or "?"
    stamp = f" at {explanation['time']}" if explanation.get("time") else ""
    lines.append(f"Pod {explanation.get('pod', '?')} (profile {profile}), {when}{stamp}")
    if explanation.get("selected"):
        lines.append(f"Selected node: {explanation['selected']}")
    if explanation.get("message"):
        lines.append(explanation["message"])
    if explanation.get("nominatedNode"):
        lines.append(f"Nominated node (after preemption): {explanation['nominatedNode']}")
    last = explanation.get("lastDecision")
    if last:
        outcome = last.get("selected") and f"bound to {last['selected']}" or last.get("message", "")
        attempts = f" after {last['attempts']} attempt(s)" if last.get("attempts") else ""
        lines.append(f"Last real attempt at {last.get('time', '?')}{attempts}: {outcome}")
    nodes = explanation.get("nodes") or []
    weights: dict = explanation.get("weights") or {}
    if not nodes:
        return "\n".join(lines) + "\n"
    plugins = list(weights)
    header = ["NODE", "FEASIBLE", "REJECTED BY", "REASON", *plugins, "TOTAL"]
    rows = []
    for n in nodes:
        scores = n.get("scores") or {}
        feasible = bool(n.get("feasible"))
        total = str(n.get("total", 0)) if feasible and scores else "-"
        if n.get("node") == explanation.get("selected"):
            total += " *"
        rows.append([n.get("node", "?"), _yes_no(feasible), n.get("rejectedBy") or "<none>",
                     ", ".join(n.get("reasons") or []) or "<none>",
                     *(str(scores[p]) if p in scores else "-" for p in plugins), total])
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines.append("")
    for row in [header, *rows]:
        lines.append("   ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
    if plugins:
        lines.append("")
        lines.append("Scores are 0-100 per plugin; TOTAL = " +
                     " + ".join(f"{p}×{w}" for p, w in weights.items()) + "  (* = chosen node)")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Standalone use (``python -m kubemu.kubectl_scheduling POD --server HOST:PORT``), for tests."""
    from machinery.client import APIClient

    p = argparse.ArgumentParser(prog=f"kubemu kubectl {COMMAND}")
    add_arguments(p)
    p.add_argument("-s", "--server", default=os.environ.get("KUBEMU_SERVER", "127.0.0.1:6443"))
    p.add_argument("--token", default=os.environ.get("KUBEMU_TOKEN", ""))
    args = p.parse_args(argv)
    from machinery.client import Credentials

    client = APIClient(args.server, Credentials(token=args.token), retry_timeout_s=2.0, user_agent="kubemu-kubectl")
    try:
        return run(args, client)
    finally:
        client.close()


if __name__ == "__main__":
    raise SystemExit(main())
