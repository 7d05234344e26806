"""``kubemu bench SCENARIO``: performance benchmarks that print figures and write them as JSON.

Scenarios (one module each; each starts its own fresh cluster and stops it):

- ``pod-startup`` (:mod:`kubemu.bench.pod_startup`): pod startup latency and mutating API call
  latency at a steady pod churn, on 3 nodes with the process runtime;
- ``scheduler-throughput`` (:mod:`kubemu.bench.scheduler_throughput`): pods bound per second
  for a burst of pending pods on N simulated nodes;
- ``density`` (:mod:`kubemu.bench.density`): RSS and CPU of every component at 10, 50 and 100
  kubelets with 30 pods each, and whether the nodes stay healthy;
- ``watch-fanout`` (:mod:`kubemu.bench.watch_fanout`): events per second and write-to-delivery
  delay for K watchers of pods;
- ``etcd-baseline`` (:mod:`kubemu.bench.etcd_baseline`): the raw write rate of etcd from the
  apiserver's Python etcd client. Every other scenario also measures it, on its own etcd, in the
  same run, and reports its etcd writes as a ratio to it.

``all`` runs them one after the other. Each writes ``<output-dir>/<scenario>.json`` (the envelope
is described in :mod:`kubemu.bench.report`) and ``<scenario>.html`` (a self-contained summary
plot), prints a table, and shows progress on stderr while it runs. ``--smoke`` shrinks every
size so the whole scenario takes seconds: the tests run that, to check the harness, not speed.
Nothing here asserts a figure: targets are reported as met or missed, and the exit code is 0
when the benchmark ran, whatever it measured.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import traceback

SCENARIOS = ("pod-startup", "scheduler-throughput", "density", "watch-fanout", "etcd-baseline")
DEFAULT_OUTPUT = "bench-results"


def module(name: str):
    """The module of scenario ``name`` (``pod-startup`` → :mod:`kubemu.bench.pod_startup`)."""
    import importlib

    return importlib.import_module(f"kubemu.bench.{name.replace('-', '_')}")


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("-o", "--output-dir", default=DEFAULT_OUTPUT, help="where <scenario>.json and .html go")
    p.add_argument("--smoke", action="store_true", help="tiny sizes: checks the harness in seconds, measures nothing")
    p.add_argument("--keep", action="store_true", help="keep the benchmark's cluster directory (logs) afterwards")
    p.add_argument("--baseline-seconds", type=float, default=3.0,
                   help="how long each of the four in-run etcd baseline measurements runs")
    p.add_argument("--baseline-threads", type=int, default=16, help="writers in the concurrent etcd baseline")
    p.add_argument("--quiet", action="store_true", help="no progress display")


def register(sub) -> None:
    """Add ``bench`` with one sub-command per scenario (and ``all``) to the CLI's sub-parsers."""
    bench = sub.add_parser("bench", help="run a performance benchmark and write bench-results/<scenario>.json",
                           description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    bench.add_argument("--cluster-dir", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    scen = bench.add_subparsers(dest="scenario", metavar="{" + ",".join((*SCENARIOS, "all")) + "}")
    for name in SCENARIOS:
        mod = module(name)
        sp = scen.add_parser(name, help=mod.__doc__.strip().splitlines()[0], description=mod.__doc__,
                             formatter_class=argparse.RawDescriptionHelpFormatter)
        _common(sp)
        mod.add_arguments(sp)
    everything = scen.add_parser("all", help="every scenario, one after the other, with its defaults")
    _common(everything)


def _parameters(args: argparse.Namespace) -> dict:
    skip = {"command", "scenario", "cluster_dir", "output_dir", "quiet", "keep"}
    return {k: v for k, v in vars(args).items() if k not in skip}


def apply_smoke(args: argparse.Namespace, mod) -> None:
    for key, value in getattr(mod, "SMOKE", {}).items():
        setattr(args, key, value)
    args.baseline_seconds = min(args.baseline_seconds, 0.3)
    args.baseline_threads = min(args.baseline_threads, 4)


def run_one(name: str, args: argparse.Namespace, say=print) -> int:
    from kubemu.bench import plot, report
    from kubemu.bench.progress import Progress

    mod = module(name)
    if args.smoke:
        apply_smoke(args, mod)
    result = report.envelope(name, _parameters(args))
    progress = Progress(quiet=args.quiet)
    start = time.monotonic()
    try:
        body = mod.scenario(args, result, progress)
    except KeyboardInterrupt:
        progress.fail("interrupted")
        return 130
    except Exception as e:  # noqa: BLE001 - report what broke, with the stack, and go on to the next
        progress.fail(str(e).splitlines()[0] if str(e) else type(e).__name__)
        traceback.print_exc(file=sys.stderr)
        return 1
    result["durationSeconds"] = round(time.monotonic() - start, 1)
    report.finish_machine(result["machine"])
    text = report.human(result, body)
    path = report.write_json(result, args.output_dir)
    html_path = os.path.join(args.output_dir, f"{name}.html")
    with open(html_path, "w") as f:
        f.write(plot.page(f"kubemu bench {name}", text, mod.charts(result)))
    say(text.rstrip())
    say(f"results: {path}, {html_path}")
    return 0


def run(args: argparse.Namespace, say=print) -> int:
    if not args.scenario:
        say("error: name a scenario: " + ", ".join((*SCENARIOS, "all")))
        return 2
    if args.scenario != "all":
        return run_one(args.scenario, args, say)
    worst = 0
    for name in SCENARIOS:
        mod = module(name)
        parser = argparse.ArgumentParser()
        _common(parser)
        mod.add_arguments(parser)
        scenario_args = parser.parse_args([])
        for key in ("output_dir", "smoke", "keep", "baseline_seconds", "baseline_threads", "quiet"):
            setattr(scenario_args, key, getattr(args, key))
        scenario_args.scenario = name
        worst = max(worst, run_one(name, scenario_args, say))
    return worst
