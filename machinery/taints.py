"""Taints and tolerations: which pods a node repels, shared by the scheduler and the node
lifecycle controller (which evicts pods that do not tolerate NoExecute taints)."""

from __future__ import annotations


def tolerates(toleration: dict, taint: dict) -> bool:
    """Kubernetes' ToleratesTaint: empty key with Exists matches every taint; an empty effect
    matches every effect; Equal (the default operator) compares values."""
    if not isinstance(toleration, dict) or not isinstance(taint, dict):
        return False
    effect = toleration.get("effect") or ""
    if effect and effect != taint.get("effect"):
        return False
    key = toleration.get("key") or ""
    if key and key != taint.get("key"):
        return False
    operator = toleration.get("operator") or "Equal"
    if operator == "Exists":
        return True
    if operator == "Equal":
        return (toleration.get("value") or "") == (taint.get("value") or "")
    return False


def untolerated(taints: list[dict], tolerations: list[dict], effects: tuple[str, ...]) -> list[dict]:
    """The taints with one of ``effects`` that no toleration matches."""
    return [t for t in taints or [] if isinstance(t, dict) and t.get("effect") in effects
            and not any(tolerates(tol, t) for tol in tolerations or [])]


def format_taint(taint: dict) -> str:
    """``{key: value}`` as kube-scheduler prints an untolerated taint."""
    value = taint.get("value")
    return f"{{{taint.get('key')}: {value}}}" if value else f"{{{taint.get('key')}: }}"
