"""Workloads: Deployments, ReplicaSets, StatefulSets, DaemonSets (apps/v1) and Jobs (batch/v1).

What the apiserver does for them, as Kubernetes' registry/apps and registry/batch:

- **defaults** on create and update: ``replicas: 1``; Deployment strategy RollingUpdate with
  25 %/25 %, ``revisionHistoryLimit: 10``, ``progressDeadlineSeconds: 600``; StatefulSet
  ``podManagementPolicy: OrderedReady`` and RollingUpdate with partition 0; DaemonSet
  RollingUpdate with ``maxUnavailable: 1``; Job ``parallelism``/``completions`` 1,
  ``backoffLimit: 6`` and — unless ``manualSelector`` — a selector on the
  ``batch.kubernetes.io/job-name`` label, which its template gets too; and the pod defaults on
  every template (restartPolicy, grace period, pull policy …), so a stored template equals the
  pods made from it;
- **validation**: a selector is required, must parse and must not be empty, and must match the
  template's labels; ``replicas`` and the other counts are integers ≥ 0; the template is
  validated like a pod spec, with ``restartPolicy: Always`` (Jobs: OnFailure or Never);
  Deployment maxSurge/maxUnavailable are ints or percentages, not both 0;
- **updates**: the status is kept (it changes only through the status subresource), the
  selector is immutable (a Job's template too), ``metadata.generation`` moves when anything but
  metadata and status changes (the base strategy);
- **status updates** keep the spec and labels but take the annotations, as Kubernetes'
  deployment status strategy does (the Deployment controller writes its revision annotation
  with its status).

Deviation: Kubernetes selects a Job's pods by ``batch.kubernetes.io/controller-uid``; the uid is
not known when the strategy prepares the object here, so the job name is used (a Job recreated
under the same name must not meet the old one's pods: their owner reference still differs).
"""

from __future__ import annotations

import copy

from apiserver.admission.defaulting import default_pod
from apiserver.registry.base import Strategy
from apiserver.registry.pods import validate_pod_spec
from machinery import validation
from machinery.labels import SelectorError, selector_from_label_selector
from machinery.validation import Cause

JOB_NAME_LABEL = "batch.kubernetes.io/job-name"
LEGACY_JOB_NAME_LABEL = "job-name"
MAX_INT32 = 2**31 - 1


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _non_negative(spec: dict, field: str, path: str) -> list[Cause]:
    if field not in spec or spec[field] is None:
        return []
    value = spec[field]
    if not _is_int(value):
        return [validation.invalid(f"{path}.{field}", value, "must be an integer")]
    if value < 0:
        return [validation.invalid(f"{path}.{field}", value, "must be greater than or equal to 0")]
    return []


def _int_or_percent(value, path: str, *, max_percent: bool = False) -> list[Cause]:
    if value is None:
        return []
    if _is_int(value):
        return [] if value >= 0 else [validation.invalid(path, value, "must be greater than or equal to 0")]
    if isinstance(value, str) and value.endswith("%") and value[:-1].isdigit():
        if max_percent and int(value[:-1]) > 100:
            return [validation.invalid(path, value, "must not be greater than 100%")]
        return []
    return [validation.invalid(path, value, "a valid percent string must be a numeric string followed by an "
                                            "ending '%' (e.g. '1%',  or '93%', regex used for validation is "
                                            "'[0-9]+%')")]


def _number(value) -> int | None:
    """The number in an IntOrString (``3`` or ``"3%"``), as Kubernetes' getIntOrPercentValue."""
    if _is_int(value):
        return value
    if isinstance(value, str) and value.endswith("%") and value[:-1].isdigit():
        return int(value[:-1])
    return None


class WorkloadStrategy(Strategy):
    """Shared by every workload: template defaults, selector and template validation, status rules."""

    # restart_policies: what the pod template may say (Kubernetes: Always for apps/v1 kinds).
    restart_policies: tuple[str, ...] = ("Always",)
    # selector_required: apps/v1 kinds must state their selector.
    selector_required = True

    def default_spec(self, obj: dict, spec: dict) -> None:
        """Kind-specific defaults; ``spec`` is a dict."""

    def _default(self, obj: dict) -> None:
        spec = obj.get("spec")
        if not isinstance(spec, dict):
            return
        self.default_spec(obj, spec)
        template = spec.get("template")
        if isinstance(template, dict) and isinstance(template.get("spec"), dict):
            default_pod({"spec": template["spec"]})

    def prepare_for_create(self, obj: dict) -> None:
        super().prepare_for_create(obj)
        self._default(obj)

    def prepare_for_update(self, new: dict, old: dict) -> None:
        super().prepare_for_update(new, old)
        self._default(new)

    def prepare_for_status_update(self, new: dict, old: dict) -> None:
        annotations = (new.get("metadata") or {}).get("annotations")
        super().prepare_for_status_update(new, old)
        if isinstance(annotations, dict):
            new["metadata"]["annotations"] = copy.deepcopy(annotations)
        else:
            new["metadata"].pop("annotations", None)

    def validate(self, obj: dict) -> list[Cause]:
        causes = self.validate_metadata(obj)
        spec = obj.get("spec")
        if not isinstance(spec, dict):
            return causes + [validation.required("spec")]
        causes += _non_negative(spec, "replicas", "spec")
        causes += _non_negative(spec, "minReadySeconds", "spec")
        causes += _non_negative(spec, "revisionHistoryLimit", "spec")
        causes += self._validate_selector_and_template(spec)
        causes += self.validate_spec(obj, spec)
        return causes

    def validate_spec(self, obj: dict, spec: dict) -> list[Cause]:
        return []

    def _validate_selector_and_template(self, spec: dict) -> list[Cause]:
        causes: list[Cause] = []
        raw = spec.get("selector")
        selector = None
        if raw is None:
            if self.selector_required:
                causes.append(validation.required("spec.selector"))
        else:
            try:
                selector = selector_from_label_selector(raw)
            except SelectorError as e:
                causes.append(validation.invalid("spec.selector", raw, str(e)))
            else:
                if selector.empty:
                    causes.append(validation.invalid("spec.selector", raw, "empty selector is invalid for "
                                                                           "deployment"
                                                     if self.info.name == "deployments" else "empty selector is "
                                                     "not allowed"))
                    selector = None
        template = spec.get("template")
        if not isinstance(template, dict):
            return causes + [validation.required("spec.template")]
        tmeta = template.get("metadata") or {}
        if not isinstance(tmeta, dict):
            return causes + [validation.invalid("spec.template.metadata", tmeta, "must be an object")]
        labels = tmeta.get("labels") or {}
        if "labels" in tmeta:
            causes += validation.labels(tmeta["labels"], "spec.template.metadata.labels")
        if "annotations" in tmeta:
            causes += validation.annotations(tmeta["annotations"], "spec.template.metadata.annotations")
        if selector is not None and isinstance(labels, dict) and not selector.matches(labels):
            causes.append(validation.invalid("spec.template.metadata.labels", labels,
                                             "`selector` does not match template `labels`"))
        tspec = template.get("spec")
        if not isinstance(tspec, dict):
            return causes + [validation.required("spec.template.spec")]
        causes += [c for c in validate_pod_spec(tspec, "spec.template.spec")
                   if c.field != "spec.template.spec.restartPolicy"]
        policy = tspec.get("restartPolicy", self.restart_policies[0])
        if policy not in self.restart_policies:
            causes.append(validation.not_supported("spec.template.spec.restartPolicy", policy,
                                                   self.restart_policies))
        return causes

    def validate_update(self, new: dict, old: dict) -> list[Cause]:
        causes = self.validate(new)
        new_sel = (new.get("spec") or {}).get("selector") if isinstance(new.get("spec"), dict) else None
        old_sel = (old.get("spec") or {}).get("selector") if isinstance(old.get("spec"), dict) else None
        if new_sel != old_sel:
            causes.append(validation.invalid("spec.selector", new_sel, "field is immutable"))
        return causes


class DeploymentStrategy(WorkloadStrategy):
    def default_spec(self, obj: dict, spec: dict) -> None:
        spec.setdefault("replicas", 1)
        strategy = spec.setdefault("strategy", {})
        if isinstance(strategy, dict):
            strategy.setdefault("type", "RollingUpdate")
            if strategy["type"] == "RollingUpdate":
                rolling = strategy.setdefault("rollingUpdate", {})
                if isinstance(rolling, dict):
                    rolling.setdefault("maxUnavailable", "25%")
                    rolling.setdefault("maxSurge", "25%")
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault("progressDeadlineSeconds", 600)

    def validate_spec(self, obj: dict, spec: dict) -> list[Cause]:
        causes = _non_negative(spec, "progressDeadlineSeconds", "spec")
        strategy = spec.get("strategy") or {}
        if not isinstance(strategy, dict):
            return causes + [validation.invalid("spec.strategy", strategy, "must be an object")]
        kind = strategy.get("type", "RollingUpdate")
        if kind not in ("RollingUpdate", "Recreate"):
            causes.append(validation.not_supported("spec.strategy.type", kind, ("Recreate", "RollingUpdate")))
        rolling = strategy.get("rollingUpdate")
        if kind == "Recreate" and rolling is not None:
            causes.append(validation.forbidden("spec.strategy.rollingUpdate",
                                               "may not be specified when strategy `type` is 'Recreate'"))
        if kind == "RollingUpdate" and isinstance(rolling, dict):
            surge, unavailable = rolling.get("maxSurge"), rolling.get("maxUnavailable")
            causes += _int_or_percent(surge, "spec.strategy.rollingUpdate.maxSurge")
            causes += _int_or_percent(unavailable, "spec.strategy.rollingUpdate.maxUnavailable", max_percent=True)
            if not causes and _number(surge) == 0 and _number(unavailable) == 0:
                causes.append(validation.invalid("spec.strategy.rollingUpdate.maxUnavailable", unavailable,
                                                 "may not be 0 when `maxSurge` is 0"))
        deadline, min_ready = spec.get("progressDeadlineSeconds"), spec.get("minReadySeconds") or 0
        if _is_int(deadline) and _is_int(min_ready) and deadline != MAX_INT32 and deadline <= min_ready:
            causes.append(validation.invalid("spec.progressDeadlineSeconds", deadline,
                                             "must be greater than minReadySeconds"))
        return causes


class ReplicaSetStrategy(WorkloadStrategy):
    def default_spec(self, obj: dict, spec: dict) -> None:
        spec.setdefault("replicas", 1)


class StatefulSetStrategy(WorkloadStrategy):
    def default_spec(self, obj: dict, spec: dict) -> None:
        spec.setdefault("replicas", 1)
        spec.setdefault("podManagementPolicy", "OrderedReady")
        strategy = spec.setdefault("updateStrategy", {})
        if isinstance(strategy, dict):
            strategy.setdefault("type", "RollingUpdate")
            if strategy["type"] == "RollingUpdate":
                rolling = strategy.setdefault("rollingUpdate", {})
                if isinstance(rolling, dict):
                    rolling.setdefault("partition", 0)
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault("persistentVolumeClaimRetentionPolicy", {"whenDeleted": "Retain", "whenScaled": "Retain"})

    def validate_spec(self, obj: dict, spec: dict) -> list[Cause]:
        causes = []
        policy = spec.get("podManagementPolicy", "OrderedReady")
        if policy not in ("OrderedReady", "Parallel"):
            causes.append(validation.not_supported("spec.podManagementPolicy", policy, ("OrderedReady", "Parallel")))
        strategy = spec.get("updateStrategy") or {}
        if not isinstance(strategy, dict):
            return causes + [validation.invalid("spec.updateStrategy", strategy, "must be an object")]
        kind = strategy.get("type", "RollingUpdate")
        if kind not in ("RollingUpdate", "OnDelete"):
            causes.append(validation.not_supported("spec.updateStrategy.type", kind, ("OnDelete", "RollingUpdate")))
        if kind == "OnDelete" and strategy.get("rollingUpdate") is not None:
            causes.append(validation.invalid("spec.updateStrategy.rollingUpdate", strategy["rollingUpdate"],
                                             "only allowed for updateStrategy 'RollingUpdate'"))
        if isinstance(strategy.get("rollingUpdate"), dict):
            causes += _non_negative(strategy["rollingUpdate"], "partition", "spec.updateStrategy.rollingUpdate")
        ordinals = spec.get("ordinals")
        if isinstance(ordinals, dict):
            causes += _non_negative(ordinals, "start", "spec.ordinals")
        service = spec.get("serviceName")
        if service:
            causes += validation.dns1123_label(service, "spec.serviceName")
        return causes

    def validate_update(self, new: dict, old: dict) -> list[Cause]:
        causes = super().validate_update(new, old)
        mutable = {"replicas", "ordinals", "template", "updateStrategy", "persistentVolumeClaimRetentionPolicy",
                   "minReadySeconds", "revisionHistoryLimit"}
        new_spec, old_spec = new.get("spec") or {}, old.get("spec") or {}
        if isinstance(new_spec, dict) and isinstance(old_spec, dict) and not causes:
            fixed = {k for k in set(new_spec) | set(old_spec) if k not in mutable | {"selector"}}
            if any(new_spec.get(k) != old_spec.get(k) for k in fixed):
                causes.append(validation.forbidden(
                    "spec", "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', "
                            "'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and "
                            "'minReadySeconds' are forbidden"))
        return causes


class DaemonSetStrategy(WorkloadStrategy):
    def default_spec(self, obj: dict, spec: dict) -> None:
        strategy = spec.setdefault("updateStrategy", {})
        if isinstance(strategy, dict):
            strategy.setdefault("type", "RollingUpdate")
            if strategy["type"] == "RollingUpdate":
                rolling = strategy.setdefault("rollingUpdate", {})
                if isinstance(rolling, dict):
                    rolling.setdefault("maxUnavailable", 1)
                    rolling.setdefault("maxSurge", 0)
        spec.setdefault("revisionHistoryLimit", 10)

    def validate_spec(self, obj: dict, spec: dict) -> list[Cause]:
        causes = []
        strategy = spec.get("updateStrategy") or {}
        if not isinstance(strategy, dict):
            return [validation.invalid("spec.updateStrategy", strategy, "must be an object")]
        kind = strategy.get("type", "RollingUpdate")
        if kind not in ("RollingUpdate", "OnDelete"):
            causes.append(validation.not_supported("spec.updateStrategy.type", kind, ("OnDelete", "RollingUpdate")))
        rolling = strategy.get("rollingUpdate")
        if isinstance(rolling, dict):
            causes += _int_or_percent(rolling.get("maxUnavailable"),
                                      "spec.updateStrategy.rollingUpdate.maxUnavailable", max_percent=True)
            causes += _int_or_percent(rolling.get("maxSurge"), "spec.updateStrategy.rollingUpdate.maxSurge",
                                      max_percent=True)
        return causes


class JobStrategy(WorkloadStrategy):
    restart_policies = ("OnFailure", "Never")
    selector_required = False

    def default_spec(self, obj: dict, spec: dict) -> None:
        if spec.get("completions") is None and spec.get("parallelism") is None:
            spec["completions"] = 1
            spec["parallelism"] = 1
        spec.setdefault("parallelism", 1)
        spec.setdefault("backoffLimit", 6)
        spec.setdefault("completionMode", "NonIndexed")
        spec.setdefault("suspend", False)
        name = (obj.get("metadata") or {}).get("name")
        if spec.get("manualSelector") or not isinstance(name, str) or not name:
            return
        template = spec.get("template")
        if not isinstance(template, dict):
            return
        tmeta = template.setdefault("metadata", {})
        if not isinstance(tmeta, dict):
            return
        labels = tmeta.setdefault("labels", {})
        if isinstance(labels, dict):
            labels.setdefault(JOB_NAME_LABEL, name)
            labels.setdefault(LEGACY_JOB_NAME_LABEL, name)
        if spec.get("selector") is None:
            spec["selector"] = {"matchLabels": {JOB_NAME_LABEL: name}}

    def validate_spec(self, obj: dict, spec: dict) -> list[Cause]:
        causes = []
        for field in ("parallelism", "completions", "backoffLimit"):
            causes += _non_negative(spec, field, "spec")
        deadline = spec.get("activeDeadlineSeconds")
        if deadline is not None and (not _is_int(deadline) or deadline <= 0):
            causes.append(validation.invalid("spec.activeDeadlineSeconds", deadline, "must be greater than 0"))
        mode = spec.get("completionMode", "NonIndexed")
        if mode not in ("NonIndexed", "Indexed"):
            causes.append(validation.not_supported("spec.completionMode", mode, ("NonIndexed", "Indexed")))
        if spec.get("selector") is None:
            causes.append(validation.required("spec.selector"))
        return causes

    def validate_update(self, new: dict, old: dict) -> list[Cause]:
        causes = super().validate_update(new, old)
        new_spec, old_spec = new.get("spec") or {}, old.get("spec") or {}
        if isinstance(new_spec, dict) and isinstance(old_spec, dict) and \
                new_spec.get("template") != old_spec.get("template"):
            causes.append(validation.invalid("spec.template", new_spec.get("template"), "field is immutable"))
        return causes
