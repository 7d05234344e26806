"""Per-resource strategy: what the apiserver does to an object before storing it.

As in Kubernetes' registry (pkg/registry/core/pod/strategy.go), storage is generic and each
resource only says how it differs: fields the server resets on create, which parts an update
may change, what status updates keep, and its validation rules. A strategy never touches
etcd and never sees the request's user; that is the job of the API and admission layers.
"""

from __future__ import annotations

import copy

from machinery import validation
from machinery.resources import ResourceInfo
from machinery.validation import Cause


class Strategy:
    """Defaults for any resource; subclasses override what their kind needs."""

    # name_rule: the validation function for metadata.name (DNS-1123 subdomain by default).
    name_rule = staticmethod(validation.dns1123_subdomain)

    def __init__(self, info: ResourceInfo):
        self.info = info

    # --- create ---------------------------------------------------------------------------

    def prepare_for_create(self, obj: dict) -> None:
        """Reset what a client may not set on create (status, for resources that have one)."""
        if self.info.has_status:
            obj["status"] = self.initial_status(obj)

    def initial_status(self, obj: dict) -> dict:
        return {}

    def validate(self, obj: dict) -> list[Cause]:
        return self.validate_metadata(obj)

    def validate_metadata(self, obj: dict) -> list[Cause]:
        meta = obj.get("metadata")
        if not isinstance(meta, dict):
            return [validation.required("metadata")]
        causes: list[Cause] = []
        name = meta.get("name")
        if not name:
            causes.append(validation.required("metadata.name"))
        elif not isinstance(name, str):
            causes.append(validation.invalid("metadata.name", name, "must be a string"))
        else:
            causes += self.name_rule(name, "metadata.name")
        if "labels" in meta:
            causes += validation.labels(meta["labels"], "metadata.labels")
        if "annotations" in meta:
            causes += validation.annotations(meta["annotations"], "metadata.annotations")
        finalizers = meta.get("finalizers", [])
        if not isinstance(finalizers, list) or not all(isinstance(f, str) for f in finalizers):
            causes.append(validation.invalid("metadata.finalizers", finalizers, "must be a list of strings"))
        return causes

    # --- update ---------------------------------------------------------------------------

    def prepare_for_update(self, new: dict, old: dict) -> None:
        """An update of the main resource keeps the stored status."""
        if self.info.has_status and "status" in old:
            new["status"] = copy.deepcopy(old["status"])
        elif self.info.has_status:
            new.pop("status", None)

    def validate_update(self, new: dict, old: dict) -> list[Cause]:
        return self.validate(new)

    def prepare_for_status_update(self, new: dict, old: dict) -> None:
        """A status update changes only the status: everything else is kept as stored."""
        status = new.get("status", {})
        new.clear()
        new.update(copy.deepcopy(old))
        new["status"] = status

    def validate_status_update(self, new: dict, old: dict) -> list[Cause]:
        if not isinstance(new.get("status", {}), dict):
            return [validation.invalid("status", new.get("status"), "must be an object")]
        return []

    # --- delete ---------------------------------------------------------------------------

    def grace_period_s(self, obj: dict, requested: int | None) -> int:
        """How long deletion waits for a confirmation; 0 removes the object at once."""
        return 0

    def blocks_deletion(self, obj: dict) -> bool:
        """Whether something besides metadata.finalizers keeps a deleted object (namespaces' spec.finalizers)."""
        return False

    # --- generation -----------------------------------------------------------------------

    def spec_changed(self, new: dict, old: dict) -> bool:
        """Whether metadata.generation must move: any change outside metadata and status."""
        strip = {"metadata", "status"}
        return {k: v for k, v in new.items() if k not in strip} != {k: v for k, v in old.items() if k not in strip}
