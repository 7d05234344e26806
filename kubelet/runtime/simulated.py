"""``SimulatedRuntime``: containers without processes, for nodes with thousands of pods.

Every container is a small record whose state is a function of the clock and its *behaviour*
(``simulated.yaml``: defaults, rules matched on image/container/labels, and per-pod annotation
overrides — behaviour as data, like kwok's stages). A container started at ``t`` runs until
``t + runSeconds`` (forever when null) and then reports ``exitCode``; stopping it takes
``stopDelaySeconds`` (longer than the grace period → 137); pulls and starts take their delays
(the call blocks for them, as CRI's PullImage and StartContainer do). Create makes the record
(``waiting``, ``ContainerCreating``; a new instance keeps the previous one's end as ``last``), start
starts its clock, remove forgets it; earlier instances leave nothing behind to remove. It reports
``memoryBytes``/``cpuMillis`` as usage, so the kubelet's memory-limit enforcement and admission
work unchanged; probes answer ``ready``/``live`` without touching the network; exec returns
``execExitCode`` with no output; there are no log files.

State is kept in memory: a restarted kubelet finds no sandboxes and starts its pods again (with
restart counts from zero). That is what a node reboot looks like, and is enough for scale runs.
"""

from __future__ import annotations

import copy
import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import yaml

from kubelet.images import parse_image
from kubelet.runtime.base import (
    EXIT_SIGKILL,
    EXIT_SIGTERM,
    REASON_CREATING,
    ContainerRuntime,
    ContainerRuntimeError,
    ContainerSpec,
    ContainerState,
    ContainerStats,
    ExecResult,
    ImagePullError,
    ImagePullResult,
    PodSandbox,
    exit_reason,
    rfc3339,
)

BEHAVIOUR_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "simulated.yaml")
ANNOTATION = "simulated.kubemu.io/behaviour"
MAX_FILE_BYTES = 1_000_000
MAX_DELAY_S = 3600.0
FIELDS = {"pullDelaySeconds": float, "pullError": str, "startDelaySeconds": float, "runSeconds": float,
          "exitCode": int, "stopDelaySeconds": float, "memoryBytes": int, "cpuMillis": int, "ready": bool,
          "live": bool, "execExitCode": int}
MATCH_KEYS = {"image", "container", "labels"}


class BehaviourError(ValueError):
    """A behaviour file or annotation is malformed; the message says where."""


@dataclass
class Rule:
    match: dict[str, Any]
    fields: dict[str, Any]

    def matches(self, image: str, container: str, labels: dict[str, str]) -> bool:
        if "image" in self.match and self.match["image"] != image:
            return False
        if "container" in self.match and self.match["container"] != container:
            return False
        want = self.match.get("labels") or {}
        return all(labels.get(k) == v for k, v in want.items())


@dataclass
class Behaviours:
    defaults: dict[str, Any]
    rules: list[Rule] = field(default_factory=list)

    def for_container(self, spec: ContainerSpec) -> dict[str, Any]:
        """The effective behaviour of ``spec``: defaults, first matching rule, then pod annotations."""
        out = dict(self.defaults)
        name = parse_image(spec.image).name
        for rule in self.rules:
            if rule.matches(name, spec.name, spec.pod_labels):
                out.update(rule.fields)
                break
        for key in (ANNOTATION, f"{ANNOTATION}.{spec.name}"):
            if key in spec.pod_annotations:
                out.update(_fields(_parse_annotation(spec.pod_annotations[key], key), f"annotation {key}"))
        return out


def load_behaviours(extra_path: str | None = None) -> Behaviours:
    """The shipped behaviours, with the user's file (if any) merged over them."""
    base = _read(BEHAVIOUR_PATH)
    defaults = _fields(base.get("defaults") or {}, f"{BEHAVIOUR_PATH}: defaults")
    rules = _rules(base.get("rules") or [], BEHAVIOUR_PATH)
    if extra_path:
        extra = _read(extra_path)
        defaults.update(_fields(extra.get("defaults") or {}, f"{extra_path}: defaults"))
        rules = _rules(extra.get("rules") or [], extra_path) + rules
    return Behaviours(defaults, rules)


def _read(path: str) -> dict[str, Any]:
    if os.path.getsize(path) > MAX_FILE_BYTES:
        raise BehaviourError(f"{path}: larger than {MAX_FILE_BYTES} bytes")
    with open(path, encoding="utf-8") as f:
        data = yaml.safe_load(f) or {}
    if not isinstance(data, dict):
        raise BehaviourError(f"{path}: expected a mapping with 'defaults' and 'rules'")
    return data


def _rules(raw: Any, source: str) -> list[Rule]:
    if not isinstance(raw, list):
        raise BehaviourError(f"{source}: 'rules' must be a list")
    rules = []
    for i, item in enumerate(raw):
        where = f"{source}: rules[{i}]"
        if not isinstance(item, dict) or not isinstance(item.get("match") or {}, dict):
            raise BehaviourError(f"{where} must be a mapping with a 'match' mapping")
        match = dict(item.get("match") or {})
        if set(match) - MATCH_KEYS:
            raise BehaviourError(f"{where}.match has unknown keys {sorted(set(match) - MATCH_KEYS)}")
        rules.append(Rule(match, _fields({k: v for k, v in item.items() if k != "match"}, where)))
    return rules


def _fields(raw: Any, where: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise BehaviourError(f"{where} must be a mapping")
    out = {}
    for key, value in raw.items():
        kind = FIELDS.get(key)
        if kind is None:
            raise BehaviourError(f"{where}: unknown field {key!r} (known: {', '.join(sorted(FIELDS))})")
        if value is None and key in ("runSeconds", "pullError"):
            out[key] = None
            continue
        if kind is bool and not isinstance(value, bool):
            raise BehaviourError(f"{where}.{key} must be true or false")
        if kind is str and not isinstance(value, str):
            raise BehaviourError(f"{where}.{key} must be a string")
        if kind in (int, float):
            if isinstance(value, bool) or not isinstance(value, int | float) or (value < 0 and key != "exitCode"):
                raise BehaviourError(f"{where}.{key} must be a non-negative number")
            if kind is float and value > MAX_DELAY_S and key != "runSeconds":
                raise BehaviourError(f"{where}.{key} must be at most {MAX_DELAY_S}")
            value = kind(value)
        out[key] = value
    return out


def _parse_annotation(text: str, key: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as e:
            raise BehaviourError(f"annotation {key}: neither JSON nor YAML: {e}") from None


@dataclass
class _Container:
    name: str
    behaviour: dict[str, Any]
    restart_count: int
    started_mono: float | None = None  # None: created, not started
    started_at: str | None = None
    exit_code: int | None = None
    reason: str = ""
    finished_at: str | None = None
    finished_mono: float | None = None
    last: ContainerState | None = None


class SimulatedRuntime(ContainerRuntime):
    """Sandboxes and containers as in-memory records driven by behaviours (see the module docstring)."""

    name = "simulated"
    simulated = True

    def __init__(self, behaviours: Behaviours | None = None, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep, wall: Callable[[], float] = time.time):
        self.behaviours = behaviours or load_behaviours()
        self._clock, self._sleep, self._wall = clock, sleep, wall
        self._lock = threading.Lock()
        self._sandboxes: dict[str, PodSandbox] = {}
        self._containers: dict[tuple[str, str], _Container] = {}
        self._images: dict[str, int] = {}

    # -- sandboxes -------------------------------------------------------------------------------

    def run_sandbox(self, uid: str, namespace: str, name: str, ip: str, hostname: str = "") -> PodSandbox:
        with self._lock:
            sandbox = self._sandboxes.get(uid)
            if sandbox is None:
                sandbox = self._sandboxes[uid] = PodSandbox(uid, namespace, name, ip, dir=f"simulated://{uid}",
                                                            hostname=hostname)
            return copy.copy(sandbox)

    def stop_sandbox(self, sandbox: PodSandbox, grace_period_s: float = 2.0) -> None:
        for state in self.list_containers(sandbox):
            if state.state == "running":
                self.stop_container(sandbox, state.name, grace_period_s)
        with self._lock:
            if sandbox.uid in self._sandboxes:
                self._sandboxes[sandbox.uid].ready = False

    def remove_sandbox(self, sandbox: PodSandbox) -> None:
        with self._lock:
            self._sandboxes.pop(sandbox.uid, None)
            for key in [k for k in self._containers if k[0] == sandbox.uid]:
                del self._containers[key]

    def list_sandboxes(self) -> list[PodSandbox]:
        with self._lock:
            return [copy.copy(s) for s in self._sandboxes.values()]

    # -- images ----------------------------------------------------------------------------------

    def pull_image(self, image: str) -> ImagePullResult:
        canonical = parse_image(image).canonical
        behaviour = self.behaviours.for_container(ContainerSpec(name="", image=image))
        delay = float(behaviour.get("pullDelaySeconds") or 0.0)
        if behaviour.get("pullError"):
            self._sleep(delay)
            raise ImagePullError(f'failed to pull and unpack image "{canonical}": {behaviour["pullError"]} '
                                 "(simulated)")
        if canonical in self._images:
            return ImagePullResult(image, self._images[canonical], 0.0)
        self._sleep(delay)
        with self._lock:
            self._images[canonical] = 10_000_000
        return ImagePullResult(image, 10_000_000, delay)

    def image_present(self, image: str) -> bool:
        with self._lock:
            return parse_image(image).canonical in self._images

    def list_images(self) -> dict[str, int]:
        with self._lock:
            return dict(self._images)

    # -- containers ------------------------------------------------------------------------------

    def create_container(self, sandbox: PodSandbox, spec: ContainerSpec) -> ContainerState:
        pod = f"{sandbox.namespace}/{sandbox.name}"
        try:
            behaviour = self.behaviours.for_container(spec)
        except BehaviourError as e:
            raise ContainerRuntimeError(f"failed to create container {spec.name} of pod {pod}: {e}") from e
        key = (sandbox.uid, spec.name)
        with self._lock:
            current = self._containers.get(key)
            if current is not None and self._state(current).state == "running":
                raise ContainerRuntimeError(f"container {spec.name} of pod {pod} is already running")
            if current is not None and current.started_mono is None:  # never started: replaced
                attempt, last = current.restart_count, current.last
            else:
                attempt = current.restart_count + 1 if current is not None else 0
                last = self._state(current) if current is not None else None
                if last is not None:
                    last.last = None
            c = self._containers[key] = _Container(spec.name, behaviour, attempt, last=last)
            return self._state(c)

    def start_container(self, sandbox: PodSandbox, name: str) -> ContainerState:
        key = (sandbox.uid, name)
        pod = f"{sandbox.namespace}/{sandbox.name}"
        with self._lock:
            c = self._containers.get(key)
            if c is None:
                raise ContainerRuntimeError(f"container {name} of pod {pod} was not created")
            if c.started_mono is not None:
                raise ContainerRuntimeError(f"container {name} of pod {pod} is not in the created state: its "
                                            f"attempt {c.restart_count} was started already")
        self._sleep(float(c.behaviour.get("startDelaySeconds") or 0.0))
        with self._lock:
            if self._containers.get(key) is not c:
                raise ContainerRuntimeError(f"container {name} of pod {pod} was removed while starting")
            c.started_mono, c.started_at = self._clock(), rfc3339(self._wall())
            return self._state(c)

    def stop_container(self, sandbox: PodSandbox, name: str, grace_period_s: float,
                       reason: str = "") -> ContainerState:
        key = (sandbox.uid, name)
        with self._lock:
            c = self._containers.get(key)
            if c is None:
                return ContainerState(name=name, state="waiting", reason=REASON_CREATING)
            if self._state(c).state != "running":
                return self._state(c)
            stop_s = float(c.behaviour.get("stopDelaySeconds") or 0.0)
        self._sleep(min(stop_s, max(0.0, grace_period_s)))
        with self._lock:
            if self._state(c).state == "running":
                c.exit_code = EXIT_SIGTERM if stop_s <= grace_period_s else EXIT_SIGKILL
                c.reason = reason or exit_reason(c.exit_code)
                c.finished_mono, c.finished_at = self._clock(), rfc3339(self._wall())
            return self._state(c)

    def remove_container(self, sandbox: PodSandbox, name: str, attempt: int | None = None) -> None:
        key = (sandbox.uid, name)
        with self._lock:
            c = self._containers.get(key)
            if c is None or (attempt is not None and attempt != c.restart_count):
                return
            if self._state(c).state == "running":
                raise ContainerRuntimeError(f"container {name} of pod {sandbox.namespace}/{sandbox.name} is "
                                            "running: stop it before removing it")
            del self._containers[key]

    def list_attempts(self, sandbox: PodSandbox, name: str) -> list[int]:
        with self._lock:
            c = self._containers.get((sandbox.uid, name))
            return [c.restart_count] if c is not None else []

    def container_status(self, sandbox: PodSandbox, name: str) -> ContainerState:
        with self._lock:
            c = self._containers.get((sandbox.uid, name))
            if c is None:
                return ContainerState(name=name, state="waiting", reason=REASON_CREATING)
            return self._state(c)

    def list_containers(self, sandbox: PodSandbox) -> list[ContainerState]:
        with self._lock:
            return [self._state(c) for (uid, _), c in sorted(self._containers.items()) if uid == sandbox.uid]

    def container_log_path(self, sandbox: PodSandbox, name: str, previous: bool = False) -> str | None:
        return None

    def exec_sync(self, sandbox: PodSandbox, name: str, argv: list[str], *, stdin: bytes = b"",
                  timeout_s: float = 60.0) -> ExecResult:
        with self._lock:
            c = self._containers.get((sandbox.uid, name))
            if c is None or self._state(c).state != "running":
                raise ContainerRuntimeError(f"container {name} of pod {sandbox.namespace}/{sandbox.name} "
                                            "is not running")
            return ExecResult(exit_code=int(c.behaviour.get("execExitCode") or 0))

    def probe(self, sandbox: PodSandbox, name: str, kind: str) -> bool | None:
        with self._lock:
            c = self._containers.get((sandbox.uid, name))
            behaviour = c.behaviour if c is not None else {}
        return bool(behaviour.get("ready" if kind == "readiness" else "live", True))

    def stats(self, sandboxes: list[PodSandbox]) -> dict[tuple[str, str], ContainerStats]:
        uids = {s.uid for s in sandboxes}
        now = self._clock()
        out = {}
        with self._lock:
            for key, c in self._containers.items():
                if key[0] in uids and self._state(c).state == "running":
                    cpu_s = (now - c.started_mono) * int(c.behaviour.get("cpuMillis") or 0) / 1000
                    out[key] = ContainerStats(int(c.behaviour.get("memoryBytes") or 0), cpu_s, 1)
        return out

    # -- node ------------------------------------------------------------------------------------

    def cleanup_all(self, grace_period_s: float = 1.0, remove: bool = False) -> int:
        with self._lock:
            running = sum(1 for c in self._containers.values() if self._state(c).state == "running")
            if remove:
                self._sandboxes.clear()
                self._containers.clear()
            else:
                for c in self._containers.values():
                    if self._state(c).state == "running":
                        c.exit_code, c.reason = EXIT_SIGTERM, exit_reason(EXIT_SIGTERM)
                        c.finished_mono, c.finished_at = self._clock(), rfc3339(self._wall())
        return running

    # -- internals -------------------------------------------------------------------------------

    def _state(self, c: _Container) -> ContainerState:
        """The container's state now: it exits by itself once runSeconds have passed."""
        if c.started_mono is None:
            return ContainerState(c.name, "waiting", reason=REASON_CREATING, restart_count=c.restart_count,
                                  last=c.last)
        run_s = c.behaviour.get("runSeconds")
        if c.exit_code is None and run_s is not None and self._clock() >= c.started_mono + float(run_s):
            c.exit_code = int(c.behaviour.get("exitCode") or 0)
            c.reason = exit_reason(c.exit_code)
            c.finished_mono = c.started_mono + float(run_s)
            c.finished_at = rfc3339(self._wall() - (self._clock() - c.finished_mono))
        if c.exit_code is None:
            return ContainerState(c.name, "running", started_at=c.started_at, restart_count=c.restart_count,
                                  last=c.last)
        return ContainerState(c.name, "terminated", reason=c.reason, exit_code=c.exit_code,
                              started_at=c.started_at, finished_at=c.finished_at, restart_count=c.restart_count,
                              last=c.last)
