"""Fault-injection experiments: ``kubemu experiment run SCENARIO`` and ``kubemu experiment list``.

A scenario (YAML, see :mod:`kubemu.experiment.scenario`) applies a workload, injects faults
through :mod:`kubemu.chaos`, waits for the cluster to heal, and asserts invariants, while
recorders measure the API's availability, node and leader transitions and every watch event.
The report (JSON, a text summary and a self-contained HTML timeline) goes to ``--output``.

``--up`` runs the scenario on a dedicated cluster started for it with the topology and the
shortened timings the scenario asks for (and stops it afterwards unless ``--keep``);
otherwise it runs on the cluster of ``--cluster-dir`` (e.g. the one ``make up`` started).
"""

from __future__ import annotations

import os
import tempfile
import time

from kubemu.cluster import ClusterDir


def topology_problem(scenario, cdir: ClusterDir) -> str:
    """Why an existing cluster cannot run ``scenario`` ('' when it can)."""
    state = cdir.read_state() or {}
    comps = state.get("components", [])
    if not comps:
        return f"no cluster is running in {cdir.path}"
    count = {kind: sum(1 for c in comps if c.get("kind") == kind)
             for kind in ("etcd", "apiserver", "scheduler", "controller-manager", "kubelet")}
    needs = {"etcd": scenario.cluster.etcd_members, "apiserver": scenario.cluster.apiservers,
             "scheduler": scenario.cluster.schedulers, "controller-manager": scenario.cluster.controller_managers,
             "kubelet": scenario.cluster.nodes}
    short = [f"{kind} {count[kind]}/{want}" for kind, want in needs.items() if count[kind] < want]
    if short:
        return (f"the cluster in {cdir.path} is too small for {scenario.name} ({', '.join(short)}); "
                f"run with --up to start a dedicated cluster")
    return ""


def timings_used(scenario, cdir: ClusterDir) -> dict:
    """The timings the report states: the scenario's when every component of the cluster runs the
    flags that shorten them (always so with ``--up``), else what is known of the cluster's own."""
    commands: dict[str, list[list[str]]] = {}
    for comp in (cdir.read_plan() or {}).get("components", []):
        commands.setdefault(comp.get("kind", ""), []).append(comp.get("command") or [])
    missing = [flag for kind, flags in scenario.cluster.flags.items() for flag in flags
               if not commands.get(kind) or not all(flag in command for command in commands[kind])]
    if not missing:
        return dict(scenario.timings)
    return {"not applied": f"this cluster does not run {', '.join(missing)} (run with --up for the scenario's "
                           "timings); its components use their own flags, by default Kubernetes' timings"}


def run(args, say=print) -> int:
    from kubemu import cli
    from kubemu.experiment.report import summary, write_report
    from kubemu.experiment.runner import ExperimentRunner
    from kubemu.experiment.scenario import ScenarioError, load

    try:
        scenario = load(args.scenario)
    except ScenarioError as e:
        say(f"error: {e}")
        return 1
    output = args.output or os.path.join("experiments", f"{scenario.name}-{time.strftime('%Y%m%d-%H%M%S')}")
    started_here = False
    if args.up:
        cdir = ClusterDir(args.cluster_dir or tempfile.mkdtemp(prefix=f"kubemu-{scenario.name}-"))
        spec = scenario.cluster
        flags = [f"{kind}={flag}" for kind, values in spec.flags.items() for flag in values]
        up_args = ["up", "--cluster-dir", cdir.path, "--ports", "auto", "--fresh", "--nodes", str(spec.nodes),
                   "--etcd-members", str(spec.etcd_members), "--apiservers", str(spec.apiservers),
                   "--schedulers", str(spec.schedulers), "--controller-managers", str(spec.controller_managers),
                   *[a for f in flags for a in ("--component-flag", f)]]
        say(f"Starting a dedicated cluster for {scenario.name} in {cdir.path}")
        if cli.main(up_args) != 0:
            say("error: the cluster did not start")
            return 1
        started_here = True
    else:
        cdir = ClusterDir(args.cluster_dir)
        problem = topology_problem(scenario, cdir)
        if problem:
            say(f"error: {problem}")
            return 1
    scenario.timings = timings_used(scenario, cdir)
    if "not applied" in scenario.timings:
        say(f"warning: the scenario's shortened timings are not applied: {scenario.timings['not applied']}")
    say(f"Running experiment {scenario.name} on {cdir.path}")
    _log_to(os.path.join(output, "experiment.log"))
    try:
        report = ExperimentRunner(scenario, cdir, say=say).run()
    finally:
        if started_here and not args.keep:
            cli.main(["down", "--cluster-dir", cdir.path])
    paths = write_report(report, output)
    say("")
    say(summary(report).rstrip())
    say(f"Report: {paths['json']}, {paths['summary']}, {paths['html']}")
    return 0 if report["passed"] else 1


def _log_to(path: str) -> None:
    """Component-client warnings (retries while a fault lasts) go to a file, not the console."""
    import logging

    from machinery.logs import KlogFormatter

    os.makedirs(os.path.dirname(path), exist_ok=True)
    handler = logging.FileHandler(path)
    handler.setFormatter(KlogFormatter("experiment"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)


def list_scenarios(say=print) -> int:
    from kubemu.experiment.scenario import builtin_names, load

    for name in builtin_names():
        say(f"{name:<28} {load(name).description}")
    return 0
