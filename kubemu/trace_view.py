"""Putting a pod's trace in order, and printing it as a terminal timeline (``kubemu trace``).

Spans come from several processes, possibly on several machines whose clocks disagree. The
order shown is therefore not simply "by start time":

1. **causality first** — a parent starts before its children; a step that read the pod at etcd
   revision *r* comes after the step that wrote *r*; writes come in revision order (etcd orders
   them totally);
2. **then the clock** — steps with no causal relation are ordered by their start time.

When a causal edge between two hosts contradicts their clocks (a child "starts" before its
parent, a reader "ends" before the writer began), the later host's clock is shifted by the
smallest amount that removes the contradiction and the trace says so (:attr:`Timeline.notes`).
On one machine (``kubemu up``) every process shares a clock and nothing is shifted.

:func:`build` makes a :class:`Timeline`; :func:`render_text` prints it, indented by component,
with durations and the idle gaps between steps; :func:`to_json` is the same for tools.
"""

from __future__ import annotations

import heapq
import json
from dataclasses import dataclass, field

# Swimlane order and indentation, following the pod's path through the system.
COMPONENT_ORDER = ("kubectl", "controller-manager", "apiserver", "scheduler", "kubelet")
# A gap between steps at least this long is shown as its own line.
GAP_NS = 50_000_000
# Clock disagreement below this is noise (a span's start is taken a little before its work).
SKEW_TOLERANCE_NS = 2_000_000


@dataclass
class Step:
    span: dict
    offset_ns: int = 0  # start, relative to the trace's first step, on the corrected clock
    shift_ns: int = 0  # correction applied to this span's host clock
    depth: int = 0

    @property
    def end_offset_ns(self) -> int:
        return self.offset_ns + self.span["durationNanos"]

    @property
    def lane(self) -> str:
        return lane_of(self.span)


@dataclass
class Timeline:
    trace_id: str
    pod: str
    steps: list[Step] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    sources: list[dict] = field(default_factory=list)
    start_unix_nanos: int = 0

    @property
    def duration_ns(self) -> int:
        return max((s.end_offset_ns for s in self.steps), default=0)

    @property
    def lanes(self) -> list[str]:
        seen: dict[str, tuple] = {}
        for step in self.steps:
            seen.setdefault(step.lane, (_component_rank(step.span["component"]), step.offset_ns))
        return sorted(seen, key=lambda lane: seen[lane])

    @property
    def components(self) -> list[str]:
        return sorted({s.span["component"] for s in self.steps}, key=_component_rank)


def lane_of(span: dict) -> str:
    """One swimlane per process: component, plus the replica or node name that tells processes apart."""
    component, identity = span.get("component", ""), span.get("identity", "")
    if component == "kubelet":
        return f"kubelet {identity}"
    if component == "kubectl" or not identity or identity == component:
        return component
    return f"{component} {identity}"


def _component_rank(component: str) -> int:
    return COMPONENT_ORDER.index(component) if component in COMPONENT_ORDER else len(COMPONENT_ORDER)


# --- ordering -----------------------------------------------------------------------------------


def _edges(spans: list[dict]) -> list[tuple[int, int, str]]:
    """(before, after, kind) index pairs that causality imposes."""
    by_id = {s["spanId"]: i for i, s in enumerate(spans)}
    edges = []
    for i, s in enumerate(spans):
        parent = by_id.get(s.get("parentSpanId") or "")
        if parent is not None and parent != i:
            edges.append((parent, i, "parent"))
    writers = sorted((s["writeRevision"], i) for i, s in enumerate(spans) if s.get("writeRevision"))
    for (_, a), (_, b) in zip(writers, writers[1:], strict=False):
        if spans[a]["writeRevision"] < spans[b]["writeRevision"]:
            edges.append((a, b, "revision"))
    for i, s in enumerate(spans):
        read = s.get("readRevision") or 0
        if not read:
            continue
        # The writes of the newest revision at or before what this step read happened before it.
        newest = max((rev for rev, w in writers if rev <= read and w != i), default=0)
        for rev, w in writers:
            if rev == newest and w != i and not _is_ancestor(spans, by_id, i, w):
                edges.append((w, i, "read"))
    return edges


def _is_ancestor(spans: list[dict], by_id: dict, maybe_ancestor: int, of: int) -> bool:
    seen = set()
    current = of
    while current is not None and current not in seen:
        seen.add(current)
        parent = by_id.get(spans[current].get("parentSpanId") or "")
        if parent == maybe_ancestor:
            return True
        current = parent
    return False


def _host(span: dict) -> str:
    return span.get("host", "")


def _correct_clocks(spans: list[dict], edges: list[tuple[int, int, str]]) -> tuple[dict[str, int], list[str]]:
    """Per-host shifts (ns) that make every cross-host causal edge agree with the clocks."""
    shift: dict[str, int] = {}
    reasons: dict[str, tuple[int, str]] = {}
    for _ in range(len({_host(s) for s in spans}) + 1):
        changed = False
        for a, b, kind in edges:
            sa, sb = spans[a], spans[b]
            ha, hb = _host(sa), _host(sb)
            if ha == hb:
                continue
            start_a = sa["startUnixNanos"] + shift.get(ha, 0)
            start_b = sb["startUnixNanos"] + shift.get(hb, 0)
            if kind == "parent":
                needed = start_a - start_b  # the child cannot start before its parent
            else:
                needed = start_a - (start_b + sb["durationNanos"])  # nor end before the write began
            if needed > SKEW_TOLERANCE_NS:
                shift[hb] = shift.get(hb, 0) + needed
                reasons[hb] = (shift[hb], f"{sa['component']} on {ha}")
                changed = True
        if not changed:
            break
    notes = [f"the clock of host {host} is behind {against} by at least {shift[host] / 1e6:.1f} ms: its steps "
             f"are shifted so that causes come before effects (ordered by etcd revision and causality)"
             for host, (_, against) in reasons.items() if shift.get(host)]
    return shift, notes


def build(spans: list[dict], *, trace_id: str = "", pod: str = "", sources: list[dict] | None = None) -> Timeline:
    unique = list({s["spanId"]: s for s in spans}.values())
    edges = _edges(unique)
    shift, notes = _correct_clocks(unique, edges)
    start = {i: s["startUnixNanos"] + shift.get(_host(s), 0) for i, s in enumerate(unique)}
    # Kahn's algorithm, ties broken by the corrected start time.
    incoming = {i: 0 for i in range(len(unique))}
    after: dict[int, list[int]] = {i: [] for i in range(len(unique))}
    for a, b, _ in edges:
        incoming[b] += 1
        after[a].append(b)
    ready = [(start[i], i) for i, n in incoming.items() if n == 0]
    heapq.heapify(ready)
    order: list[int] = []
    while ready:
        _, i = heapq.heappop(ready)
        order.append(i)
        for j in after[i]:
            incoming[j] -= 1
            if incoming[j] == 0:
                heapq.heappush(ready, (start[j], j))
    if len(order) < len(unique):  # a cycle (contradictory data): fall back to the clocks
        rest = sorted((i for i in range(len(unique)) if i not in set(order)), key=lambda i: start[i])
        order += rest
        notes.append("some steps contradict each other's revisions; they are ordered by their clocks")
    origin = min(start.values(), default=0)
    by_id = {s["spanId"]: s for s in unique}
    timeline = Timeline(trace_id or (unique[0]["traceId"] if unique else ""), pod, notes=notes,
                        sources=list(sources or []), start_unix_nanos=origin)
    for i in order:
        span = unique[i]
        timeline.steps.append(Step(span, start[i] - origin, shift.get(_host(span), 0), _depth(span, by_id)))
    hosts = {_host(s) for s in unique}
    if len(hosts) > 1 and not notes:
        notes.append(f"steps come from {len(hosts)} hosts; their clocks agree with causality (no correction)")
    return timeline


def _depth(span: dict, by_id: dict) -> int:
    depth, seen = 0, set()
    current = span
    while current.get("parentSpanId") in by_id and current["spanId"] not in seen:
        seen.add(current["spanId"])
        current = by_id[current["parentSpanId"]]
        depth += 1
    return depth


# --- what a step says -----------------------------------------------------------------------------


def headline(span: dict) -> str:
    """The step's one-line summary after its name."""
    a = span.get("attributes") or {}
    name, component = span["name"], span["component"]
    parts = []
    if component == "controller-manager" and a.get("owner"):
        parts.append(f"by {a.get('controller', '')} reconciling {a['owner']}: {a.get('reason', '')}")
    elif component == "apiserver":
        user = a.get("user", "")
        parts.append(f"as {user}" if user else "")
        if a.get("node"):
            parts.append(f"to {a['node']}")
    elif name == "schedule":
        if a.get("selected"):
            parts.append(f"chose {a['selected']} ({a.get('feasible', 0)}/{a.get('evaluated', 0)} nodes fit)")
        else:
            parts.append(f"no node fits ({a.get('feasible', 0)}/{a.get('evaluated', 0)})")
    elif name == "bind":
        parts.append(f"to {a.get('node', '')}")
    elif name == "create sandbox" and a.get("podIP"):
        parts.append(f"pod IP {a['podIP']}")
    elif name in ("pull image", "image present"):
        parts.append(str(a.get("image", "")))
    elif name == "create container":
        attempt = f" (attempt {a['attempt']})" if a.get("attempt") is not None else ""
        parts.append(f"{a.get('kind', '')} container {a.get('container', '')}{attempt}")
    elif name == "start container":
        pid = f" (pid {a['pid']})" if a.get("pid") is not None else ""
        parts.append(f"{a.get('kind', '')} container {a.get('container', '')}{pid}")
    elif name == "container ready":
        parts.append(f"{a.get('container', '')}: readiness {a.get('readinessProbe', '')}")
    elif name == "write status":
        ready = (a.get("conditions") or {}).get("Ready")
        parts.append(f"phase {a.get('phase', '')}" + (f", Ready={ready}" if ready else ""))
    elif name.startswith("watch saw"):
        parts.append(f"{a.get('waitedMs', '?')} ms after the apply returned")
    if span.get("writeRevision"):
        parts.append(f"wrote rev {span['writeRevision']}")
    elif span.get("readRevision") and component != "apiserver":
        parts.append(f"read rev {span['readRevision']}")
    if span.get("error"):
        parts.append(f"FAILED: {span['error']}")
    return ", ".join(p for p in parts if p)


def details(span: dict) -> list[str]:
    """Lines that explain the step (authentication, admission, filter verdicts and scores …)."""
    a = span.get("attributes") or {}
    out: list[str] = []
    if span["component"] == "apiserver":
        if a.get("authentication"):
            groups = ", ".join(g for g in a.get("groups") or [] if g != "system:authenticated")
            out.append(f"authenticated: {a['authentication']} as {a.get('user', '?')}"
                       + (f" (groups {groups})" if groups else "") + f" over {a.get('transport', '?')}")
        if a.get("authorization"):
            out.append(f"authorized: {a['authorization']}")
        out += _admission_lines(a.get("admission") or [])
        validation = a.get("validation")
        if validation:
            out.append(f"validation: {validation if isinstance(validation, str) else '; '.join(validation)}")
        if a.get("changes"):
            out.append(f"changed: {_patch(a['changes'])}")
        if span.get("writeRevision"):
            out.append(f"stored: {a.get('etcdKey', '')} at etcd revision {span['writeRevision']}")
        if a.get("errorReason") == "Conflict":
            out.append("conflict: the writer's copy was older than etcd's (optimistic concurrency): "
                       "it reads the newer object and writes again")
    elif span["name"] == "schedule":
        scores = []
        for n in a.get("nodes") or []:
            if n.get("feasible"):
                per = ", ".join(f"{k} {v}" for k, v in sorted((n.get("scores") or {}).items()))
                mark = "  <- chosen" if n.get("node") == a.get("selected") else ""
                scores.append((-(n.get("total") or 0), f"{n['node']}: score {n.get('total', 0)} ({per}){mark}"))
            else:
                out.append(f"{n.get('node', '')}: rejected by {n.get('rejectedBy') or '?'}: "
                           f"{', '.join(n.get('reasons') or [])}")
        out += [line for _, line in sorted(scores)]
        if a.get("nodesOmitted"):
            out.append(f"… and {a['nodesOmitted']} more nodes")
        if a.get("weights"):
            out.append("weights: " + ", ".join(f"{k}×{v}" for k, v in a["weights"].items()))
    elif span["component"] == "controller-manager":
        if a.get("ownerControlledBy"):
            out.append(f"owner is controlled by {a['ownerControlledBy']}")
        out.append(f"owner generation {a.get('ownerGeneration', '?')}, read at revision {span.get('readRevision')}")
    elif span["name"] == "create sandbox" and a.get("ipam"):
        out.append(f"address from {a['ipam']}")
    elif span["name"] == "pull image":
        out.append(f"pull policy {a.get('pullPolicy', '')}" + (f", {a['sizeBytes']} bytes" if a.get("sizeBytes")
                                                              else ""))
    elif span["name"] == "write status" and a.get("containers"):
        out.append("containers: " + ", ".join(f"{k} {v}" for k, v in a["containers"].items()))
    return out


def _admission_lines(steps: list[dict]) -> list[str]:
    """Every plugin in order; a run of plugins that changed nothing shares one line."""
    lines: list[str] = []
    quiet: list[str] = []
    phase = ""

    def flush() -> None:
        if quiet:
            verdict = "no change" if phase == "mutating" else "passed"
            lines.append(f"admission {phase}: {', '.join(quiet)}: {verdict}")
            quiet.clear()

    for step in steps:
        if step.get("phase") != phase:
            flush()
            phase = step.get("phase", "")
        if step.get("refused"):
            flush()
            lines.append(f"admission {phase}: {step.get('plugin')}: REFUSED: {step['refused']}")
        elif step.get("patch"):
            flush()
            lines.append(f"admission {phase}: {step.get('plugin')}: changed {_patch(step['patch'])}")
        else:
            quiet.append(str(step.get("plugin", "")))
    flush()
    return lines


def _patch(patch: list[dict], limit: int = 4) -> str:
    shown = []
    for op in patch[:limit]:
        if op.get("op") == "…":
            continue
        value = f" {json.dumps(op['value'], separators=(',', ':'))}" if "value" in op else ""
        if len(value) > 60:
            value = value[:57] + "…"
        shown.append(f"{op.get('op')} {op.get('path')}{value}")
    more = len(patch) - limit
    return "; ".join(shown) + (f" (+{more} more)" if more > 0 else "")


def watch_delay(timeline: Timeline, step: Step) -> str:
    """For a kubelet's "watch delivered pod": how long after the write it read it arrived."""
    if step.span["name"] != "watch delivered pod" or not step.span.get("readRevision"):
        return ""
    for other in timeline.steps:
        if other.span.get("writeRevision") == step.span["readRevision"] and other.span["component"] == "apiserver":
            delay = step.offset_ns - other.end_offset_ns
            return f"{_ms(max(delay, 0))} after {other.span['name']} wrote it"
    return ""


# --- text ---------------------------------------------------------------------------------------


def _ms(ns: int) -> str:
    ms = ns / 1e6
    if ms >= 10_000:
        return f"{ms / 1000:.1f} s"
    if ms >= 1000:
        return f"{ms / 1000:.2f} s"
    return f"{ms:.0f} ms" if ms >= 10 else f"{ms:.1f} ms"


def render_text(timeline: Timeline, *, width: int = 120, brief: bool = False) -> str:
    """The timeline, one line per step (``brief``) or with the lines that explain each step."""
    lanes = timeline.lanes
    hosts = sorted({s.span.get("host", "") for s in timeline.steps})
    lines = [f"Trace {timeline.trace_id} of pod {timeline.pod}",
             f"{_count(len(timeline.steps), 'step')} by {_count(len(lanes), 'process', 'processes')} "
             f"({', '.join(timeline.components)}) on {_count(len(hosts), 'host')}, "
             f"{_ms(timeline.duration_ns)} from first to last step", ""]
    for note in timeline.notes:
        lines.append(f"note: {note}")
    if timeline.notes:
        lines.append("")
    lines.append(f"{'START':>9} {'TOOK':>8}  STEP")
    reached = 0
    for step in timeline.steps:
        if step.offset_ns - reached >= GAP_NS:
            lines.append(f"{'':>9} {'':>8}  {'· ' * 2}{_ms(step.offset_ns - reached)} with no step recorded")
        reached = max(reached, step.end_offset_ns)
        indent = "  " * _component_rank(step.span["component"])
        who = lane_of(step.span)
        head = headline(step.span)
        delay = watch_delay(timeline, step)
        if delay:
            head = f"{head}, {delay}" if head else delay
        lines.append(_fit(f"{'+' + _ms(step.offset_ns):>9} {_ms(step.span['durationNanos']):>8}  {indent}"
                          f"{who}: {step.span['name']}" + (f" — {head}" if head else ""), width))
        pad = " " * 20 + indent + "  "
        for detail in [] if brief else details(step.span):
            lines.append(_fit(pad + detail, width))
    stuck = where_stuck(timeline)
    if stuck:
        lines += ["", stuck]
    failed = [s for s in timeline.sources if s.get("error")]
    if failed:
        lines.append("")
        for s in failed:
            lines.append(f"not included: {s.get('component')} {s.get('identity', '')} {s.get('address', '')}: "
                         f"{s['error']}".replace("  ", " "))
    return "\n".join(lines) + "\n"


def _count(n: int, one: str, many: str = "") -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def _fit(line: str, width: int) -> str:
    return line if width <= 0 or len(line) <= width else line[:width - 1] + "…"


def where_stuck(timeline: Timeline) -> str:
    """When the story ends in a failed step (only that step's own consequences, like the scheduler's
    status write, come after it): which process and why. A pending pod ends at the scheduler.
    A write that lost a compare-and-swap race (Conflict) is not where a pod is stuck: its writer
    reads the newer object and tries again; nor is anything after the client saw the pod Running."""
    by_id = {s.span["spanId"]: s.span for s in timeline.steps}
    if any(s.span.get("name") == "watch saw pod Running" for s in timeline.steps):
        return ""
    for i in range(len(timeline.steps) - 1, -1, -1):
        span = timeline.steps[i].span
        if not span.get("error") or (span.get("attributes") or {}).get("errorReason") == "Conflict":
            continue
        later = [s.span for s in timeline.steps[i + 1:]]
        if all(_descends(s, span["spanId"], by_id) for s in later):
            return f"stuck at {lane_of(span)}: {span['name']} failed: {span['error']}"
        return ""
    return ""


def _descends(span: dict, ancestor_id: str, by_id: dict) -> bool:
    seen = set()
    while span.get("parentSpanId") and span["spanId"] not in seen:
        seen.add(span["spanId"])
        if span["parentSpanId"] == ancestor_id:
            return True
        span = by_id.get(span["parentSpanId"], {})
        if not span:
            return False
    return False


def to_json(timeline: Timeline) -> str:
    return json.dumps({
        "traceId": timeline.trace_id, "pod": timeline.pod, "startUnixNanos": timeline.start_unix_nanos,
        "durationNanos": timeline.duration_ns, "notes": timeline.notes, "sources": timeline.sources,
        "lanes": timeline.lanes,
        "steps": [{**s.span, "lane": s.lane, "offsetNanos": s.offset_ns, "clockShiftNanos": s.shift_ns,
                   "summary": headline(s.span), "details": details(s.span)} for s in timeline.steps]},
        indent=2) + "\n"
