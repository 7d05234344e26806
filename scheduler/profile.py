"""Scheduler profiles: which plugins run at which extension point, with what weights and args,
read from a KubeSchedulerConfiguration file (``--scheduler-config FILE``)::

    apiVersion: kubescheduler.config.k8s.io/v1
    kind: KubeSchedulerConfiguration
    profiles:
    - schedulerName: default-scheduler            # pods pick a profile by spec.schedulerName
    - schedulerName: bin-packing
      plugins:
        score:
          disabled: [{name: NodeResourcesBalancedAllocation}]
          enabled: [{name: NodeResourcesFit, weight: 5}]
      pluginConfig:
      - name: NodeResourcesFit
        args:
          scoringStrategy:
            type: MostAllocated                   # or LeastAllocated, RequestedToCapacityRatio
            resources: [{name: cpu, weight: 1}, {name: memory, weight: 1}]

Each profile starts from the default plugin set (kube-scheduler's ``multiPoint`` defaults, in
this order; score weights in brackets)::

    PrioritySort, NodeReady (kubemu), NodeUnschedulable, NodeName, TaintToleration [3],
    NodeAffinity [2], NodePorts, NodeResourcesFit [1], PodTopologySpread [2],
    InterPodAffinity [2], DefaultPreemption, NodeResourcesBalancedAllocation [1],
    ImageLocality [1], DefaultBinder

A plugin listed under ``multiPoint`` runs at every point it implements; under a specific point
(``queueSort``, ``preFilter``, ``filter``, ``postFilter``, ``preScore``, ``score``, ``reserve``,
``preBind``, ``bind``, ``postBind``) only there. At each level ``disabled`` removes plugins
(``*``: all of that level's defaults) and ``enabled`` appends plugins, or changes the weight of
one already there. Mistakes — an unknown plugin, a plugin at a point it does not implement, an
unknown key, bad args — are errors naming the profile and the field. Every profile must use the
same queue-sort plugin, since all share one queue.

``percentageOfNodesToScore`` (0..100, top level or per profile, the profile's winning) bounds how
many feasible nodes a cycle looks for before scoring, as in kube-scheduler; 0 or absent is the
adaptive default (:func:`scheduler.framework.num_feasible_nodes_to_find`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import yaml

from scheduler.framework import Framework, Handle
from scheduler.plugins import lookup

log = logging.getLogger(__name__)

DEFAULT_SCHEDULER_NAME = "default-scheduler"
API_VERSIONS = ("kubescheduler.config.k8s.io/v1", "kubescheduler.config.k8s.io/v1beta3")
DEFAULT_PLUGINS: tuple[tuple[str, int], ...] = (
    ("PrioritySort", 0), ("NodeReady", 0), ("NodeUnschedulable", 0), ("NodeName", 0), ("TaintToleration", 3),
    ("NodeAffinity", 2), ("NodePorts", 0), ("NodeResourcesFit", 1), ("PodTopologySpread", 2),
    ("InterPodAffinity", 2), ("DefaultPreemption", 0), ("NodeResourcesBalancedAllocation", 1),
    ("ImageLocality", 1), ("DefaultBinder", 0))
# Extension point (configuration name) -> the method a plugin implements for it.
POINTS = {"queueSort": "less", "preFilter": "pre_filter", "filter": "filter", "postFilter": "post_filter",
          "preScore": "pre_score", "score": "score", "reserve": "reserve", "preBind": "pre_bind",
          "bind": "bind", "postBind": "post_bind"}
UNSUPPORTED_POINTS = ("preEnqueue", "permit")
# Top-level fields kube-scheduler knows that kubemu takes from flags instead.
IGNORED_TOP_LEVEL = ("leaderElection", "clientConnection", "parallelism", "podInitialBackoffSeconds",
                     "podMaxBackoffSeconds", "extenders", "healthzBindAddress", "metricsBindAddress",
                     "enableProfiling", "enableContentionProfiling", "delayCacheUntilActive")
MAX_WEIGHT = 100


class ConfigError(ValueError):
    """A KubeSchedulerConfiguration that cannot be used, with the field that is wrong."""


def load_config(path: str) -> list[dict]:
    """The profiles of a KubeSchedulerConfiguration YAML file (one default profile if it names none)."""
    try:
        with open(path) as f:
            data = yaml.safe_load(f) or {}
    except (OSError, yaml.YAMLError) as e:
        raise ConfigError(f"cannot read scheduler config {path}: {e}") from None
    return parse_config(data, source=path)


def parse_config(data: dict, *, source: str = "scheduler config") -> list[dict]:
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: must be a KubeSchedulerConfiguration mapping")
    if data.get("kind", "KubeSchedulerConfiguration") != "KubeSchedulerConfiguration":
        raise ConfigError(f"{source}: kind must be KubeSchedulerConfiguration, not {data.get('kind')!r}")
    if data.get("apiVersion", API_VERSIONS[0]) not in API_VERSIONS:
        raise ConfigError(f"{source}: apiVersion must be one of {', '.join(API_VERSIONS)}")
    unknown = set(data) - {"apiVersion", "kind", "profiles", "percentageOfNodesToScore", *IGNORED_TOP_LEVEL}
    if unknown:
        raise ConfigError(f"{source}: unknown fields: {', '.join(sorted(unknown))}")
    for key in IGNORED_TOP_LEVEL:
        if key in data:
            log.warning("%s: %s is ignored (kubemu-scheduler takes it from its flags)", source, key)
    profiles = data.get("profiles") or [{}]
    if not isinstance(profiles, list) or not all(isinstance(p, dict) for p in profiles):
        raise ConfigError(f"{source}: profiles must be a list of mappings")
    names = [p.get("schedulerName") or DEFAULT_SCHEDULER_NAME for p in profiles]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigError(f"{source}: duplicate schedulerName: {', '.join(duplicates)}")
    if "percentageOfNodesToScore" in data:  # the global value; a profile's own one wins
        percentage = _percentage(data["percentageOfNodesToScore"], f"{source}: percentageOfNodesToScore")
        profiles = [{"percentageOfNodesToScore": percentage, **p} for p in profiles]
    return profiles


def _percentage(value, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
        raise ConfigError(f"{where}: must be an integer in 0..100 (0: the adaptive default), got {value!r}")
    return value


def _entries(cfg, where: str) -> tuple[list[tuple[str, int | None]], list[str]]:
    """(enabled [(name, weight or None)], disabled [names]) of one ``plugins`` level."""
    if cfg is None:
        return [], []
    if not isinstance(cfg, dict) or set(cfg) - {"enabled", "disabled"}:
        raise ConfigError(f"{where}: must be a mapping with enabled and/or disabled lists")
    enabled, disabled = [], []
    for item in cfg.get("enabled") or []:
        if not isinstance(item, dict) or not item.get("name") or set(item) - {"name", "weight"}:
            raise ConfigError(f"{where}.enabled: each entry needs a name and may have a weight")
        weight = item.get("weight")
        if weight is not None and (not isinstance(weight, int) or not 0 <= weight <= MAX_WEIGHT):
            raise ConfigError(f"{where}.enabled[{item['name']}]: weight must be an integer in 0..{MAX_WEIGHT}")
        enabled.append((item["name"], weight or None))
    for item in cfg.get("disabled") or []:
        if not isinstance(item, dict) or not item.get("name"):
            raise ConfigError(f"{where}.disabled: each entry needs a name")
        disabled.append(item["name"])
    return enabled, disabled


def _apply(current: list[tuple[str, int]], cfg, where: str, point: str | None) -> list[tuple[str, int]]:
    enabled, disabled = _entries(cfg, where)
    if "*" in disabled:
        current = []
    else:
        current = [(n, w) for n, w in current if n not in disabled]
    for name, weight in enabled:
        try:
            cls = lookup(name)
        except ValueError as e:
            raise ConfigError(f"{where}: {e}") from None
        name = cls.name
        if point and not hasattr(cls, POINTS[point]):
            raise ConfigError(f"{where}: plugin {name} does not implement the {point} extension point")
        existing = next((i for i, (n, _) in enumerate(current) if n == name), None)
        if existing is None:
            current.append((name, weight or 1))
        elif weight:
            current[existing] = (name, weight)
    return current


def build_framework(spec: dict, handle: Handle | None = None) -> Framework:
    """One profile (a ``profiles[]`` item) as a ready Framework; plugins get ``handle``."""
    name = spec.get("schedulerName") or DEFAULT_SCHEDULER_NAME
    where = f"profiles[{name}]"
    unknown = set(spec) - {"schedulerName", "plugins", "pluginConfig", "percentageOfNodesToScore"}
    if unknown:
        raise ConfigError(f"{where}: unknown fields: {', '.join(sorted(unknown))}")
    plugins_cfg = spec.get("plugins") or {}
    if not isinstance(plugins_cfg, dict):
        raise ConfigError(f"{where}.plugins: must be a mapping of extension points")
    for point in plugins_cfg:
        if point in UNSUPPORTED_POINTS:
            raise ConfigError(f"{where}.plugins.{point}: kubemu does not support this extension point")
        if point != "multiPoint" and point not in POINTS:
            raise ConfigError(f"{where}.plugins: unknown extension point {point!r}")
    args = _plugin_args(spec.get("pluginConfig"), where)
    percentage = spec.get("percentageOfNodesToScore")
    if percentage is not None:
        percentage = _percentage(percentage, f"{where}.percentageOfNodesToScore")

    multi = _apply(list(DEFAULT_PLUGINS), plugins_cfg.get("multiPoint"), f"{where}.plugins.multiPoint", None)
    points: dict[str, list[tuple[str, int]]] = {}
    for point, method in POINTS.items():
        here = [(n, w) for n, w in multi if hasattr(lookup(n), method)]
        points[point] = _apply(here, plugins_cfg.get(point), f"{where}.plugins.{point}", point)

    handle = handle or Handle()
    handle.scheduler_name = name
    instances: dict[str, object] = {}

    def get(plugin: str):
        if plugin not in instances:
            try:
                instances[plugin] = lookup(plugin).new(args.get(plugin), handle)
            except (ValueError, TypeError) as e:
                raise ConfigError(f"{where}.pluginConfig[{plugin}]: {e}") from None
        return instances[plugin]

    if len(points["queueSort"]) != 1:
        raise ConfigError(f"{where}.plugins.queueSort: exactly one queue-sort plugin must be enabled")
    if not points["bind"]:
        raise ConfigError(f"{where}.plugins.bind: at least one bind plugin must be enabled")
    plain = lambda point: [get(n) for n, _ in points[point]]  # noqa: E731
    framework = Framework(plain("filter"), [(get(n), w or 1) for n, w in points["score"]], name=name,
                          queue_sort=get(points["queueSort"][0][0]), pre_filters=plain("preFilter"),
                          post_filters=plain("postFilter"), pre_scores=plain("preScore"), reserves=plain("reserve"),
                          pre_binds=plain("preBind"), binders=plain("bind"), post_binds=plain("postBind"),
                          percentage_of_nodes_to_score=percentage)
    handle.framework = framework
    return framework


def _plugin_args(config, where: str) -> dict[str, dict]:
    if config is None:
        return {}
    if not isinstance(config, list):
        raise ConfigError(f"{where}.pluginConfig: must be a list of {{name, args}}")
    out = {}
    for item in config:
        if not isinstance(item, dict) or not item.get("name") or set(item) - {"name", "args"}:
            raise ConfigError(f"{where}.pluginConfig: each entry needs a name and may have args")
        try:
            name = lookup(item["name"]).name
        except ValueError as e:
            raise ConfigError(f"{where}.pluginConfig: {e}") from None
        if not isinstance(item.get("args") or {}, dict):
            raise ConfigError(f"{where}.pluginConfig[{name}].args: must be a mapping")
        out[name] = dict(item.get("args") or {})
        out[name].pop("apiVersion", None)
        out[name].pop("kind", None)
    return out


def build_frameworks(profiles: list[dict], handle_for: Callable[[str], Handle] | None = None) -> dict[str, Framework]:
    """Every profile by schedulerName; ``handle_for(name)`` gives each profile its Handle."""
    frameworks = {}
    for spec in profiles:
        name = spec.get("schedulerName") or DEFAULT_SCHEDULER_NAME
        frameworks[name] = build_framework(spec, handle_for(name) if handle_for else None)
    sorts = {fw.queue_sort.name for fw in frameworks.values()}
    if len(sorts) > 1:
        raise ConfigError(f"all profiles must use the same queueSort plugin, got {', '.join(sorted(sorts))}")
    return frameworks


def default_framework(scoring_strategy: str = "LeastAllocated", handle: Handle | None = None) -> Framework:
    """The default profile, with NodeResourcesFit scoring by ``scoring_strategy``."""
    spec = {"pluginConfig": [{"name": "NodeResourcesFit", "args": {"scoringStrategy": {"type": scoring_strategy}}}]}
    try:
        return build_framework(spec, handle)
    except ConfigError as e:
        raise ValueError(str(e)) from None
