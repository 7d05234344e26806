"""PrioritySort: the queue-sort plugin. Pods with a higher ``spec.priority`` (set from their
PriorityClass by the apiserver's Priority admission) go first; equal ones first come, first
served."""

from __future__ import annotations

from scheduler.framework import Plugin


class PrioritySort(Plugin):
    name = "PrioritySort"

    def less(self, a, b) -> bool:
        """``a`` before ``b``? Both are :class:`scheduler.queue.QueuedPodInfo`."""
        if a.priority != b.priority:
            return a.priority > b.priority
        return a.timestamp < b.timestamp
