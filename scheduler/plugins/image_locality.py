"""ImageLocality: prefer nodes that already hold the pod's images, so it starts without a pull.

As in kube-scheduler: each of the pod's images present on the node (``status.images``) adds its
size scaled by the fraction of nodes that hold it (an image everywhere gives no advantage), and
the sum is mapped linearly from [23 MB, 1000 MB × containers] to 0..100. Image names compare
after normalisation (``nginx`` = ``docker.io/library/nginx:latest``); each node's images are
parsed once per node version (:attr:`scheduler.nodeinfo.NodeInfo.images`).
"""

from __future__ import annotations

from scheduler.framework import MAX_NODE_SCORE, NODE_ADD, NODE_UPDATE, SUCCESS, CycleState, NodeInfo, Plugin, Status
from scheduler.nodeinfo import normalize_image

__all__ = ["ImageLocality", "normalize_image", "pod_images"]

MB = 1024 * 1024
MIN_THRESHOLD = 23 * MB
MAX_CONTAINER_THRESHOLD = 1000 * MB
_KEY = "ImageLocality"


def pod_images(pod: dict) -> list[str]:
    spec = pod.get("spec") or {}
    return [normalize_image(c["image"]) for c in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]
            if isinstance(c, dict) and isinstance(c.get("image"), str)]


class ImageLocality(Plugin):
    name = "ImageLocality"
    events = frozenset({NODE_ADD, NODE_UPDATE})

    def pre_score(self, pod: dict, feasible: list[NodeInfo], nodes: list[NodeInfo], state: CycleState) -> Status:
        wanted = pod_images(pod)
        total = max(1, len(nodes))
        spread = {image: sum(1 for n in nodes if image in n.images) / total for image in set(wanted)}
        if not any(spread.values()):
            return Status.skip()
        state[_KEY] = (wanted, spread)
        return SUCCESS

    def score(self, pod: dict, node: NodeInfo, state: CycleState | None = None) -> int:
        return self.score_nodes(pod, [node], state)[0]

    def score_nodes(self, pod: dict, nodes: list[NodeInfo], state: CycleState | None = None) -> list[int]:
        data = state.get(_KEY) if state is not None else None
        wanted, spread = data if data else (pod_images(pod), None)
        ceiling = MAX_CONTAINER_THRESHOLD * max(1, len(wanted))
        out = []
        for node in nodes:
            images = node.images
            total = sum(images[i] * (spread[i] if spread else 1.0) for i in wanted if i in images)
            total = min(max(total, MIN_THRESHOLD), ceiling)
            out.append(int(MAX_NODE_SCORE * (total - MIN_THRESHOLD) // (ceiling - MIN_THRESHOLD)))
        return out
