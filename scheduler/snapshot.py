"""The nodes one scheduling cycle reads: a copy of the cache, brought up to date incrementally.

The cache changes under the scheduling loop (informer threads confirm binds, nodes report
status), so a cycle must not read it directly; but copying every node and its pods for every
pod scheduled costs more than the rest of the cycle. As in kube-scheduler
(``Cache.UpdateSnapshot``), the scheduling loop keeps one :class:`Snapshot` for its whole life
and, before each cycle, :meth:`scheduler.cache.SchedulerCache.update_snapshot` copies into it only
the nodes whose ``generation`` is newer than the snapshot's, and drops the nodes that went away.
Scheduling one pod changes one node, so a cycle copies one node instead of all of them.

The snapshot's NodeInfos are updated in place (kube copies the struct over the old one), so
``node_list`` keeps its objects and is rebuilt only when nodes come or go. A cycle treats the
snapshot as read-only: anything that wants to try a change (nominated pods, preemption's dry
runs) works on a :meth:`~scheduler.nodeinfo.NodeInfo.clone`.
"""

from __future__ import annotations

from scheduler.nodeinfo import NodeInfo


class Snapshot:
    def __init__(self):
        self.node_info_map: dict[str, NodeInfo] = {}
        self.node_list: list[NodeInfo] = []  # by name, placeholders excluded
        # The newest cache change this snapshot contains (0: none yet, so the first update copies all).
        self.generation = 0

    def get(self, name: str) -> NodeInfo | None:
        return self.node_info_map.get(name)

    def __len__(self) -> int:
        return len(self.node_list)

    def __iter__(self):
        return iter(self.node_list)

    def rebuild_list(self) -> None:
        self.node_list = sorted(self.node_info_map.values(), key=lambda n: n.name)
