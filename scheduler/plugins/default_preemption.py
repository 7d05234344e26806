"""DefaultPreemption: the PostFilter plugin. When a pod fits nowhere, evict lower-priority pods
from one node so that it fits there (kube-scheduler's defaultpreemption, without PDBs).

1. The pod must be allowed to preempt: ``preemptionPolicy: Never`` forbids it, and while
   victims it already chose on its nominated node are still terminating it waits for them.
2. Only nodes that failed with Unschedulable (not UnschedulableAndUnresolvable: a taint, a
   selector — removing pods cannot help there) are candidates. On each, a dry run removes every
   pod of lower priority, checks that the pod then passes all filters, and gives back
   ("reprieves") as many of them as possible, most important first: the rest are the victims.
3. Among the candidates: fewest PodDisruptionBudget violations (kubemu has no PDBs), then the
   lowest highest-priority victim, the lowest sum of priorities, the fewest victims, the latest
   start among the most important victims, then the first by name.
4. The victims get a ``DisruptionTarget`` condition, a ``Preempted`` event and are deleted
   (gracefully); the pod gets ``status.nominatedNodeName`` and waits for the room.

When nothing helps, the reason follows the scheduling failure as kube-scheduler words it:
``… preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.``
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from machinery import errors, meta
from scheduler.framework import (
    UNRESOLVABLE,
    UNSCHEDULABLE,
    CycleResult,
    CycleState,
    Handle,
    NodeInfo,
    NodeVerdict,
    Plugin,
    Status,
)

log = logging.getLogger(__name__)

NO_VICTIMS = "No preemption victims found for incoming pod"
NOT_HELPFUL = "Preemption is not helpful for scheduling"
NEVER = "not eligible due to preemptionPolicy=Never."
TERMINATING_ON_NOMINATED = "not eligible due to a terminating pod on the nominated node."
PREEMPTED_REASON = "PreemptionByScheduler"


def priority(pod: dict) -> int:
    value = (pod.get("spec") or {}).get("priority", 0)
    return value if isinstance(value, int) else 0


def _start(pod: dict) -> str:
    status = pod.get("status") or {}
    return status.get("startTime") or (pod.get("metadata") or {}).get("creationTimestamp") or ""


def _more_important(a: dict, b: dict) -> bool:
    """Higher priority, then the one that started earlier."""
    if priority(a) != priority(b):
        return priority(a) > priority(b)
    return _start(a) < _start(b)


def _preempted(pod: dict) -> bool:
    cond = meta.condition(pod, "DisruptionTarget") or {}
    return bool((pod.get("metadata") or {}).get("deletionTimestamp")) and cond.get("reason") == PREEMPTED_REASON


@dataclass
class Candidate:
    node: str
    victims: list[tuple[str, dict]]  # (key, pod), most important first


class DefaultPreemption(Plugin):
    name = "DefaultPreemption"

    def __init__(self, handle: Handle | None = None):
        self.handle = handle or Handle()

    @classmethod
    def new(cls, args: dict | None, handle: Handle) -> DefaultPreemption:
        args = dict(args or {})
        # Candidate sampling: kubemu dry-runs every node, so these only get validated.
        for key in ("minCandidateNodesPercentage", "minCandidateNodesAbsolute"):
            value = args.pop(key, 0)
            if not isinstance(value, int) or value < 0:
                raise ValueError(f"DefaultPreemption: {key} must be a non-negative integer")
        if args:
            raise ValueError(f"DefaultPreemption args: unknown keys {', '.join(sorted(args))}")
        return cls(handle)

    def post_filter(self, pod: dict, result: CycleResult, nodes: list[NodeInfo],
                    state: CycleState) -> tuple[str, Status]:
        ok, why = self.eligible(pod, result, nodes)
        if not ok:
            return "", Status.unschedulable(f"preemption: {why}")
        candidates, statuses = self.find_candidates(pod, result, nodes)
        if not candidates:
            fit = CycleResult(result.pod, {n.name: NodeVerdict(n.name, statuses.get(
                n.name, Status.unschedulable(NOT_HELPFUL, unresolvable=True))) for n in nodes})
            return "", Status.unschedulable(f"preemption: {fit.failure_message()}")
        best = select_candidate(candidates)
        self.prepare(pod, best)
        return best.node, Status()

    def eligible(self, pod: dict, result: CycleResult, nodes: list[NodeInfo]) -> tuple[bool, str]:
        if (pod.get("spec") or {}).get("preemptionPolicy") == "Never":
            return False, NEVER
        nominated = (pod.get("status") or {}).get("nominatedNodeName")
        if nominated:
            verdict = result.verdicts.get(nominated)
            if verdict is not None and verdict.status.code == UNRESOLVABLE:
                return True, ""
            info = next((n for n in nodes if n.name == nominated), None)
            if info and any(priority(p) < priority(pod) and _preempted(p) for p in info.pods.values()):
                return False, TERMINATING_ON_NOMINATED
        return True, ""

    def find_candidates(self, pod: dict, result: CycleResult,
                        nodes: list[NodeInfo]) -> tuple[list[Candidate], dict[str, Status]]:
        candidates, statuses = [], {}
        for info in nodes:
            verdict = result.verdicts.get(info.name)
            if verdict is None or verdict.status.code != UNSCHEDULABLE:
                continue
            victims, status = self.select_victims(pod, info, nodes)
            if status.ok and victims:
                candidates.append(Candidate(info.name, victims))
            else:
                statuses[info.name] = status
        return candidates, statuses

    def _fits(self, pod: dict, node: NodeInfo, nodes: list[NodeInfo]) -> Status:
        """Every filter passes for ``pod`` on ``node`` in a snapshot where ``node`` replaces its original."""
        framework = self.handle.framework
        snapshot = [node if n.name == node.name else n for n in nodes]
        state = CycleState(snapshot)
        status = framework.run_pre_filters(pod, snapshot, state)
        return framework.run_filters(pod, node, state) if status.ok else status

    def select_victims(self, pod: dict, info: NodeInfo, nodes: list[NodeInfo]) -> tuple[list, Status]:
        node = info.clone()
        potential = [(k, p) for k, p in node.pods.items() if priority(p) < priority(pod)]
        if not potential:
            return [], Status.unschedulable(NO_VICTIMS, unresolvable=True)
        for key, _ in potential:
            node.remove_pod(key)
        status = self._fits(pod, node, nodes)
        if not status.ok:
            return [], status
        potential.sort(key=lambda kp: (-priority(kp[1]), _start(kp[1])))
        victims = []
        for key, victim in potential:  # most important first: give back what still leaves room
            node.add_pod(key, victim)
            if not self._fits(pod, node, nodes).ok:
                node.remove_pod(key)
                victims.append((key, victim))
        return victims, Status()

    def prepare(self, pod: dict, candidate: Candidate) -> None:
        client, recorder = self.handle.client, self.handle.recorder
        if client is None:
            return
        uid = (pod.get("metadata") or {}).get("uid", "")
        message = f"{self.handle.scheduler_name}: preempting to accommodate a higher priority pod"
        for key, victim in candidate.victims:
            ns, name = meta.split_key(key)

            def mark(obj: dict) -> bool:
                return meta.set_condition(obj.setdefault("status", {}), "DisruptionTarget", "True",
                                          PREEMPTED_REASON, message)

            try:
                client.mutate("pods", name, ns, mark, status=True, attempts=3)
                client.delete("pods", name, ns, precondition_uid=(victim.get("metadata") or {}).get("uid", ""))
            except errors.NotFound:
                continue
            except errors.APIError as e:
                log.warning("preempting %s for %s failed: %s", key, meta.key_of(pod), e)
                continue
            log.info("preempted %s on %s for %s", key, candidate.node, meta.key_of(pod))
            if recorder is not None:
                recorder.event(victim, "Normal", "Preempted", f"Preempted by pod {uid} on node {candidate.node}")


def select_candidate(candidates: list[Candidate]) -> Candidate:
    """kube-scheduler's pickOneNodeForPreemption, PDB-free."""
    def key(c: Candidate):
        prios = [priority(p) for _, p in c.victims]
        top = max(prios)
        # Latest start among the highest-priority victims: prefer evicting pods that started recently.
        earliest_top = min((_start(p) for _, p in c.victims if priority(p) == top), default="")
        return (top, sum(prios), len(c.victims), _invert(earliest_top), c.node)

    return min(candidates, key=key)


def _invert(text: str) -> tuple:
    return tuple(-ord(ch) for ch in text)
