"""A controller's step in a pod's trace: the reconcile that created the pod, and why.

A pod created by a controller starts its trace here: :func:`creating_pods` wraps the
controller's ``create_one`` so each call is the root span (**create pod**) of a new trace. It
names the controller, the owner (kind, namespace/name, uid, generation, and the owner's own
controller — a ReplicaSet's Deployment), the reason (``have 1 pod, want 3``) and the owner's
revision the reconcile read. The create request carries the span's ``traceparent``, so the
apiserver's **create pods** span is its child and the apiserver stores that context on the
new pod, where the scheduler and the kubelet pick it up.

Each pod gets its own trace (not the owner's): scaling a ReplicaSet months after it was created
must not add pods to an old trace; the owner fields link the two.
"""

from __future__ import annotations

from collections.abc import Callable

from machinery import tracing


def creating_pods(create_one: Callable[[], dict | None], controller: str, owner: dict, reason: str) -> Callable:
    """``create_one`` (returning the created pod) recorded as the root step of each new pod's trace."""
    t = tracing.TRACER
    if not t.enabled:
        return create_one
    m = owner.get("metadata") or {}
    attributes = {"controller": controller, "owner": f"{owner.get('kind', '')} {m.get('namespace', '')}/"
                  f"{m.get('name', '')}", "ownerUid": m.get("uid", ""), "ownerGeneration": m.get("generation", 0),
                  "reason": reason}
    boss = next((r for r in m.get("ownerReferences") or [] if isinstance(r, dict) and r.get("controller")), None)
    if boss:
        attributes["ownerControlledBy"] = f"{boss.get('kind', '')} {boss.get('name', '')}"

    def run():
        span = t.start("create pod", trace_id=tracing.new_trace_id(), attributes=attributes)
        span.read(m.get("resourceVersion"))
        with tracing.activate(span):
            try:
                created = create_one()
            except Exception as e:
                span.fail(str(e) or type(e).__name__)
                span.end()
                raise
        if isinstance(created, dict):
            span.about(created)
        span.end()
        return created

    return run
