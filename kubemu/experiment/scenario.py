"""Experiment scenarios: a YAML file of steps run against a cluster while recorders watch.

    name: kubelet-kill
    description: A Deployment on 3 nodes; kill one kubelet; the pods move.
    cluster:                      # used with `kubemu experiment run --up` (a dedicated cluster)
      nodes: 3
      flags:                      # extra component flags (shortened timings), by kind
        controller-manager: ["--node-monitor-grace-period=8"]
    steps:
      - apply: {file: deployment.yaml}            # or inline: {objects: [...]}
      - wait: {for: replicasRunning, deployment: web, timeout: 60s}
      - fault: {action: kill, target: kubelet node-2}
      - wait: {for: nodeNotReady, node: node-2, timeout: 60s}
      - wait: {for: replicasRunning, deployment: web, timeout: 120s}
      - heal: {}                                  # start again what the faults stopped
      - assert: [acknowledgedWritesPresent, replicasRunning, noPodOnTwoNodes, watchesComplete]

Every step kind and field is checked when the file is loaded; a mistake is reported with the
step number and field (``steps[2].fault.action: must be one of kill, stop, …``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import yaml

STEP_KINDS = ("apply", "createPods", "wait", "fault", "heal", "sleep", "assert", "scale", "setImage")
FAULT_ACTIONS = ("kill", "stop", "pause", "resume", "restart")
WAIT_CONDITIONS = ("replicasRunning", "podsRunning", "nodeNotReady", "nodeReady", "apiAvailable", "leaderChanged",
                   "statefulSetReady", "backgroundDone")
INVARIANTS = ("acknowledgedWritesPresent", "replicasRunning", "noPodOnTwoNodes", "noDuplicateIdentity",
              "watchesComplete")
BUILTIN_DIR = os.path.join(os.path.dirname(__file__), "builtin")


class ScenarioError(ValueError):
    """The scenario file is malformed; the message names the file, the step and the field."""


@dataclass
class ClusterSpec:
    nodes: int = 3
    etcd_members: int = 1
    apiservers: int = 1
    schedulers: int = 1
    controller_managers: int = 1
    flags: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class Step:
    kind: str
    args: dict


@dataclass
class Scenario:
    name: str
    description: str
    cluster: ClusterSpec
    steps: list[Step]
    namespace: str = "experiment"
    source: str = ""
    # timings: the Kubernetes timings this scenario shortens, for the report ("50s node grace" …).
    timings: dict = field(default_factory=dict)

    def resolve(self, path: str) -> str:
        """A file named by a step, relative to the scenario file."""
        if os.path.isabs(path) or not self.source:
            return path
        return os.path.join(os.path.dirname(self.source), path)


def builtin_names() -> list[str]:
    return sorted(n[:-5] for n in os.listdir(BUILTIN_DIR) if n.endswith(".yaml"))  # manifests/ holds the rest


def locate(name_or_path: str) -> str:
    if os.path.exists(name_or_path):
        return name_or_path
    candidate = os.path.join(BUILTIN_DIR, f"{name_or_path}.yaml")
    if os.path.exists(candidate):
        return candidate
    raise ScenarioError(f'no scenario file "{name_or_path}" and no built-in scenario of that name '
                        f"(built-in: {', '.join(builtin_names())})")


def load(name_or_path: str) -> Scenario:
    path = locate(name_or_path)
    try:
        with open(path) as f:
            doc = yaml.safe_load(f)
    except yaml.YAMLError as e:
        raise ScenarioError(f"{path}: {e}") from None
    return parse(doc, path)


def _require(cond: bool, where: str, message: str) -> None:
    if not cond:
        raise ScenarioError(f"{where}: {message}")


def parse(doc, source: str = "") -> Scenario:
    where = source or "scenario"
    _require(isinstance(doc, dict), where, "a scenario must be a mapping")
    _require(isinstance(doc.get("name"), str) and doc["name"], f"{where}: name", "Required value")
    raw_cluster = doc.get("cluster") or {}
    _require(isinstance(raw_cluster, dict), f"{where}: cluster", "must be a mapping")
    cluster = ClusterSpec()
    for key, attr in (("nodes", "nodes"), ("etcdMembers", "etcd_members"), ("apiservers", "apiservers"),
                      ("schedulers", "schedulers"), ("controllerManagers", "controller_managers")):
        if key in raw_cluster:
            value = raw_cluster[key]
            _require(isinstance(value, int) and value >= (0 if key == "nodes" else 1), f"{where}: cluster.{key}",
                     "must be a positive integer")
            setattr(cluster, attr, value)
    flags = raw_cluster.get("flags") or {}
    _require(isinstance(flags, dict), f"{where}: cluster.flags", "must map a component kind to a list of flags")
    for kind, values in flags.items():
        _require(isinstance(values, list) and all(isinstance(v, str) and v.startswith("-") for v in values),
                 f"{where}: cluster.flags.{kind}", "must be a list of flags like --x=1")
    cluster.flags = {k: list(v) for k, v in flags.items()}
    raw_steps = doc.get("steps")
    _require(isinstance(raw_steps, list) and raw_steps, f"{where}: steps", "Required value (a list of steps)")
    steps = []
    for i, raw in enumerate(raw_steps):
        at = f"{where}: steps[{i}]"
        _require(isinstance(raw, dict) and len(raw) == 1, at,
                 f"each step is a mapping with exactly one of: {', '.join(STEP_KINDS)}")
        kind, args = next(iter(raw.items()))
        _require(kind in STEP_KINDS, at, f'unknown step "{kind}" (one of {", ".join(STEP_KINDS)})')
        if kind == "assert":
            args = {"invariants": args if isinstance(args, list) else [args]}
            bad = [a for a in args["invariants"] if a not in INVARIANTS]
            _require(not bad, f"{at}.assert", f"unknown invariants {bad} (one of {', '.join(INVARIANTS)})")
        elif kind == "sleep":
            _require(isinstance(args, int | float | str), f"{at}.sleep", "a duration like 5s")
            args = {"duration": args}
        else:
            args = args or {}
            _require(isinstance(args, dict), f"{at}.{kind}", "must be a mapping")
        _check_step(kind, args, f"{at}.{kind}")
        steps.append(Step(kind, args))
    timings = doc.get("timings") or {}
    return Scenario(doc["name"], str(doc.get("description", "")), cluster, steps,
                    str(doc.get("namespace", "experiment")), source, timings if isinstance(timings, dict) else {})


def _check_step(kind: str, args: dict, at: str) -> None:
    if kind == "fault":
        _require(args.get("action") in FAULT_ACTIONS, f"{at}.action", f"must be one of {', '.join(FAULT_ACTIONS)}")
        _require(isinstance(args.get("target"), str) and args["target"], f"{at}.target",
                 "Required value (e.g. etcd, kubelet node-2, leader scheduler)")
    elif kind == "wait":
        _require(args.get("for") in WAIT_CONDITIONS, f"{at}.for", f"must be one of {', '.join(WAIT_CONDITIONS)}")
        if args["for"] in ("replicasRunning",):
            _require(bool(args.get("deployment") or args.get("statefulset")), at,
                     "replicasRunning needs deployment: NAME or statefulset: NAME")
        if args["for"] in ("nodeNotReady", "nodeReady"):
            _require(bool(args.get("node")), f"{at}.node", "Required value")
    elif kind == "apply":
        _require(bool(args.get("file")) != bool(args.get("objects")), at, "exactly one of file: or objects:")
    elif kind == "createPods":
        _require(isinstance(args.get("count"), int) and args["count"] > 0, f"{at}.count", "a positive integer")
    elif kind == "scale":
        _require(isinstance(args.get("replicas"), int) and args.get("deployment"), at,
                 "needs deployment: NAME and replicas: N")
    elif kind == "setImage":
        _require(bool(args.get("deployment")) and bool(args.get("image")), at, "needs deployment: and image:")
