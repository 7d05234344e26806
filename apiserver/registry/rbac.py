"""RBAC objects (Role, ClusterRole, RoleBinding, ClusterRoleBinding): names are path segments
(``system:kube-scheduler`` is valid), rules need verbs, bindings need a role reference."""

from __future__ import annotations

from apiserver.registry.base import Strategy
from machinery import validation
from machinery.validation import Cause


def path_segment_name(value: object, field: str) -> list[Cause]:
    """Kubernetes' ValidatePathSegmentName: anything but ``.``, ``..``, ``/`` and ``%``."""
    if not isinstance(value, str) or not value:
        return [validation.required(field)]
    if value in (".", ".."):
        return [validation.invalid(field, value, f"may not be '{value}'")]
    for bad in ("/", "%"):
        if bad in value:
            return [validation.invalid(field, value, f"may not contain '{bad}'")]
    return []


class RoleStrategy(Strategy):
    name_rule = staticmethod(path_segment_name)

    def validate(self, obj: dict) -> list[Cause]:
        causes = self.validate_metadata(obj)
        rules = obj.get("rules") or []
        if not isinstance(rules, list):
            return causes + [validation.invalid("rules", rules, "must be a list")]
        for i, rule in enumerate(rules):
            if not isinstance(rule, dict) or not rule.get("verbs"):
                causes.append(validation.required(f"rules[{i}].verbs"))
            elif not rule.get("resources") and not rule.get("nonResourceURLs"):
                causes.append(validation.required(f"rules[{i}].resources"))
        return causes


class BindingStrategy(Strategy):
    name_rule = staticmethod(path_segment_name)

    def validate(self, obj: dict) -> list[Cause]:
        causes = self.validate_metadata(obj)
        ref = obj.get("roleRef")
        if not isinstance(ref, dict) or not ref.get("name"):
            causes.append(validation.required("roleRef.name"))
        elif ref.get("kind") not in ("Role", "ClusterRole"):
            causes.append(validation.not_supported("roleRef.kind", ref.get("kind"), ("Role", "ClusterRole")))
        elif obj.get("kind") == "ClusterRoleBinding" and ref.get("kind") != "ClusterRole":
            causes.append(validation.not_supported("roleRef.kind", ref.get("kind"), ("ClusterRole",)))
        for i, subject in enumerate(obj.get("subjects") or []):
            if not isinstance(subject, dict) or subject.get("kind") not in ("User", "Group", "ServiceAccount"):
                causes.append(validation.not_supported(f"subjects[{i}].kind", (subject or {}).get("kind")
                                                       if isinstance(subject, dict) else subject,
                                                       ("User", "Group", "ServiceAccount")))
            elif not subject.get("name"):
                causes.append(validation.required(f"subjects[{i}].name"))
        return causes

    def validate_update(self, new: dict, old: dict) -> list[Cause]:
        causes = self.validate(new)
        if new.get("roleRef") != old.get("roleRef"):
            causes.append(validation.invalid("roleRef", new.get("roleRef"), "cannot change roleRef"))
        return causes
