"""ImageLocality: prefer nodes that already hold the pod's images, so it starts without a pull.

As in kube-scheduler: each of the pod's images present on the node (``status.images``) adds its
size scaled by the fraction of nodes that hold it (an image everywhere gives no advantage), and
the sum is mapped linearly from [23 MB, 1000 MB × containers] to 0..100. Image names compare
after normalisation (``nginx`` = ``docker.io/library/nginx:latest``).
"""

from __future__ import annotations

from scheduler.framework import MAX_NODE_SCORE, NODE_ADD, NODE_UPDATE, SUCCESS, CycleState, NodeInfo, Plugin, Status

MB = 1024 * 1024
MIN_THRESHOLD = 23 * MB
MAX_CONTAINER_THRESHOLD = 1000 * MB
_KEY = "ImageLocality"


def normalize_image(name: str) -> str:
    name = name.strip()
    for prefix in ("docker.io/library/", "docker.io/", "index.docker.io/library/"):
        if name.startswith(prefix):
            name = name[len(prefix):]
            break
    last = name.rsplit("/", 1)[-1]
    if "@" not in last and ":" not in last:
        name += ":latest"
    return name


def node_images(info: NodeInfo) -> dict[str, int]:
    out = {}
    for image in (info.node.get("status") or {}).get("images") or []:
        if not isinstance(image, dict):
            continue
        for name in image.get("names") or []:
            if isinstance(name, str):
                out[normalize_image(name)] = int(image.get("sizeBytes") or 0)
    return out


def pod_images(pod: dict) -> list[str]:
    spec = pod.get("spec") or {}
    return [normalize_image(c["image"]) for c in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]
            if isinstance(c, dict) and isinstance(c.get("image"), str)]


class ImageLocality(Plugin):
    name = "ImageLocality"
    events = frozenset({NODE_ADD, NODE_UPDATE})

    def pre_score(self, pod: dict, feasible: list[NodeInfo], nodes: list[NodeInfo], state: CycleState) -> Status:
        images = set(pod_images(pod))
        per_node = {n.name: node_images(n) for n in nodes}
        spread = {image: sum(1 for imgs in per_node.values() if image in imgs) / max(1, len(nodes))
                  for image in images}
        if not any(spread.values()):
            return Status.skip()
        state[_KEY] = (per_node, spread)
        return SUCCESS

    def score(self, pod: dict, node: NodeInfo, state: CycleState | None = None) -> int:
        data = state.get(_KEY) if state is not None else None
        per_node, spread = data if data else ({node.name: node_images(node)}, None)
        images = per_node.get(node.name) or {}
        wanted = pod_images(pod)
        total = sum(images[i] * (spread[i] if spread else 1.0) for i in wanted if i in images)
        ceiling = MAX_CONTAINER_THRESHOLD * max(1, len(wanted))
        total = min(max(total, MIN_THRESHOLD), ceiling)
        return int(MAX_NODE_SCORE * (total - MIN_THRESHOLD) // (ceiling - MIN_THRESHOLD))
