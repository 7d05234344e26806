"""Defaulting: fill the fields Kubernetes fills when a client leaves them out.

Pods get ``restartPolicy: Always``, ``terminationGracePeriodSeconds: 30``,
``dnsPolicy: ClusterFirst``, ``schedulerName: default-scheduler``,
``enableServiceLinks: true``, and per container ``imagePullPolicy``
(Always for ``:latest`` or untagged images, else IfNotPresent),
``terminationMessagePath`` and ``terminationMessagePolicy``, and ``protocol: TCP`` on ports.
Only absent fields are filled; malformed ones are left for validation to report.
"""

from __future__ import annotations

from apiserver.admission.chain import Attributes, is_pod_create


def default_pull_policy(image: str) -> str:
    """Always for ``:latest`` or untagged images, IfNotPresent otherwise (digests included)."""
    if "@" in image:
        return "IfNotPresent"
    last = image.rsplit("/", 1)[-1]
    if ":" not in last or last.endswith(":latest"):
        return "Always"
    return "IfNotPresent"


def default_pod(pod: dict) -> None:
    spec = pod.get("spec")
    if not isinstance(spec, dict):
        return
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("enableServiceLinks", True)
    spec.setdefault("securityContext", {})
    for field in ("initContainers", "containers"):
        containers = spec.get(field)
        if not isinstance(containers, list):
            continue
        for container in containers:
            if not isinstance(container, dict):
                continue
            if isinstance(container.get("image"), str) and container["image"]:
                container.setdefault("imagePullPolicy", default_pull_policy(container["image"]))
            container.setdefault("terminationMessagePath", "/dev/termination-log")
            container.setdefault("terminationMessagePolicy", "File")
            container.setdefault("resources", {})
            for port in container.get("ports") or []:
                if isinstance(port, dict):
                    port.setdefault("protocol", "TCP")


class Defaulting:
    """Mutating plugin: Kubernetes' API defaults for objects being created."""

    name = "Defaulting"

    def admit(self, attrs: Attributes) -> None:
        if is_pod_create(attrs):
            default_pod(attrs.object)
