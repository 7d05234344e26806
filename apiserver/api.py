"""The API's verbs, independent of the transport: the request path of kube-apiserver.

Every verb runs the same steps in the same order (the seed's pod creation flow, steps 3–5):
resolve the resource → (authentication and authorization happened in the transport) →
decode and check the object → mutating admission → the resource's strategy (server-set
fields) → validation → validating admission → storage. A request refused anywhere before
storage writes nothing.

Concurrency: methods are called from many gRPC worker threads at once. They keep no mutable
state of their own; consistency comes from etcd compare-and-swap in :mod:`apiserver.storage`.
"""

from __future__ import annotations

import copy
import logging
import threading
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

from apiserver import trace_recorder
from apiserver.admission import AdmissionChain, Attributes, UserInfo
from apiserver.authz import AllowAll, AuthorizerChain, Request
from apiserver.registry import STRATEGIES
from apiserver.registry.base import Strategy
from apiserver.storage import (
    KeyExists,
    KeyNotFound,
    RevisionMismatch,
    Storage,
    StorageEvent,
    collection_prefix,
    object_key,
)
from apiserver.typecheck import check_types
from machinery import errors, meta
from machinery.fields import FieldSelector, check_supported, parse_field_selector
from machinery.labels import SelectorError, parse_selector
from machinery.resources import RESOURCES, ResourceInfo

log = logging.getLogger(__name__)

# Kubernetes refuses request bodies over 3 MiB and etcd values over 1.5 MiB.
MAX_OBJECT_BYTES = int(1.5 * 1024 * 1024)
# Optimistic-concurrency retries for server-side read-modify-write (bind, graceful delete).
CAS_ATTEMPTS = 16
# Admission traces kept for inspection (kubemu status / Describe), newest last.
MAX_TRACES = 200


class WriteHooks(Protocol):
    """What a resource does around its writes besides storing the object: kube-apiserver's
    BeginCreate/BeginUpdate/AfterDelete (Services take cluster IPs and node ports,
    :mod:`apiserver.service_allocation`). ``begin_*`` may fill fields of the object and raise an
    APIError to refuse it; the function it returns is called with whether the write succeeded."""

    def begin_create(self, obj: dict, *, dry_run: bool = False) -> Callable[[bool], None]: ...

    def begin_update(self, new: dict, old: dict, *, dry_run: bool = False) -> Callable[[bool], None]: ...

    def after_delete(self, obj: dict) -> None: ...


@dataclass
class WatchOptions:
    resource_version: str = ""
    label_selector: str = ""
    field_selector: str = ""
    allow_bookmarks: bool = False
    timeout_s: float = 0


class API:
    """The verbs. ``admission`` decides what plugins run; ``storage`` is the only etcd door."""

    def __init__(self, storage: Storage, admission: AdmissionChain, authorizer: AuthorizerChain | None = None,
                 watch_cache=None):
        self.storage = storage
        self.watch_cache = watch_cache  # apiserver.watch_cache.WatchCache, or None: every watch goes to etcd
        self.admission = admission
        self.authorizer = authorizer or AuthorizerChain([AllowAll()])
        self.traces: deque[dict] = deque(maxlen=MAX_TRACES)
        # Per resource: what happens around its writes (allocations), see WriteHooks.
        self.hooks: dict[str, WriteHooks] = {}

    def _record_trace(self, attrs: Attributes, outcome: str) -> None:
        """Remember which admission plugins a write went through and what they changed."""
        self.traces.append({"time": meta.format_micro_time(), "user": attrs.user.name, "verb": attrs.operation,
                            "resource": attrs.resource + (f"/{attrs.subresource}" if attrs.subresource else ""),
                            "namespace": attrs.namespace, "name": attrs.name, "plugins": list(attrs.trace),
                            "outcome": outcome})

    def authorize(self, user: UserInfo, verb: str, info: ResourceInfo, namespace: str = "", name: str = "",
                  subresource: str = "") -> None:
        """RBAC (and the node authorizer) decide before anything else is read or written."""
        request = Request(user, verb, info.name, info.group, namespace, name, subresource)
        allowed, reason = self.authorizer.allowed(request)
        if not allowed:
            self.authorizer.check(request)  # raises Forbidden with Kubernetes' message
        trace_recorder.authorized(reason)

    # --- helpers --------------------------------------------------------------------------

    @staticmethod
    def resource(name: str) -> tuple[ResourceInfo, Strategy]:
        info = RESOURCES.get(name)
        if info is None:
            raise errors.NotFound(f'the server could not find the requested resource "{name}"')
        return info, STRATEGIES[name]

    @staticmethod
    def _scope(info: ResourceInfo, namespace: str, *, for_collection: bool = False) -> str:
        if not info.namespaced:
            return ""
        if not namespace and not for_collection:
            raise errors.BadRequest(f"{info.name} is namespaced: a namespace is required")
        return namespace

    def _key(self, info: ResourceInfo, namespace: str, name: str) -> str:
        if not name:
            raise errors.BadRequest("a name is required")
        return object_key(info.name, self._scope(info, namespace), name)

    def _get_stored(self, info: ResourceInfo, namespace: str, name: str) -> dict:
        try:
            return self.storage.get(self._key(info, namespace, name))
        except KeyNotFound:
            raise errors.NotFound(f'{info.qualified_name} "{name}" not found', kind=info.name, name=name,
                                  group=info.group) from None

    def get_namespace(self, name: str) -> dict | None:
        try:
            return self.storage.get(object_key("namespaces", "", name))
        except KeyNotFound:
            return None

    @staticmethod
    def _conflict(info: ResourceInfo, name: str) -> errors.Conflict:
        return errors.Conflict(f'Operation cannot be fulfilled on {info.qualified_name} "{name}": the object has '
                               f"been modified; please apply your changes to the latest version and try again",
                               kind=info.name, name=name, group=info.group)

    @staticmethod
    def _invalid(info: ResourceInfo, name: str, causes: list) -> errors.Invalid:
        summary = ", ".join(str(c) for c in causes[:10])
        if len(causes) > 10:
            summary += f", and {len(causes) - 10} more"
        return errors.Invalid(f'{info.qualified_kind} "{name}" is invalid: {summary}', causes=causes,
                              kind=info.kind, name=name, group=info.group)

    def _check_body(self, info: ResourceInfo, obj: dict, namespace: str) -> None:
        """The envelope rules: kind and apiVersion match the resource, the namespace the request."""
        if not isinstance(obj, dict):
            raise errors.BadRequest("the request body must be a JSON object")
        kind, api_version = obj.get("kind"), obj.get("apiVersion")
        if kind and kind != info.kind:
            raise errors.BadRequest(f'the kind "{kind}" does not match the resource {info.name} '
                                    f'(expected "{info.kind}")')
        if api_version and api_version != info.api_version:
            raise errors.BadRequest(f'no kind "{kind or info.kind}" is registered for version "{api_version}"; '
                                    f'{info.name} are served as "{info.api_version}"')
        obj["kind"], obj["apiVersion"] = info.kind, info.api_version
        check_types(info.api_version, info.kind, obj)
        if not isinstance(obj.setdefault("metadata", {}), dict):
            raise errors.BadRequest("metadata must be an object")
        body_ns = obj["metadata"].get("namespace")
        if info.namespaced:
            if body_ns and body_ns != namespace:
                raise errors.BadRequest("the namespace of the provided object does not match the namespace "
                                        "sent on the request")
            obj["metadata"]["namespace"] = namespace
        else:
            obj["metadata"].pop("namespace", None)

    @staticmethod
    def _check_size(obj: dict) -> None:
        import json

        size = len(json.dumps(obj, separators=(",", ":")))
        if size > MAX_OBJECT_BYTES:
            raise errors.Invalid(f"the object is too large: {size} bytes, the limit is {MAX_OBJECT_BYTES} bytes",
                                 causes=[errors.Cause("", f"Too long: must have at most {MAX_OBJECT_BYTES} bytes",
                                                      "FieldValueTooLong")])

    # --- access reviews -------------------------------------------------------------------

    def review(self, user: UserInfo, info: ResourceInfo, obj: dict) -> dict:
        """SelfSubjectAccessReview / SubjectAccessReview: answer "may they?" without storing anything;
        SelfSubjectReview (``kubectl auth whoami``): answer who the caller is."""
        if info.name == "selfsubjectreviews":
            out = copy.deepcopy(obj)
            out["status"] = {"userInfo": {"username": user.name, **({"uid": user.uid} if user.uid else {}),
                                          "groups": list(user.groups)}}
            return out
        spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
        attrs = spec.get("resourceAttributes")
        if not isinstance(attrs, dict) or not attrs.get("verb") or not attrs.get("resource"):
            raise errors.Invalid(f'{info.qualified_kind} "" is invalid: spec.resourceAttributes: Required value',
                                 causes=[errors.Cause("spec.resourceAttributes", "Required value",
                                                      "FieldValueRequired")], kind=info.kind, group=info.group)
        subject = user
        if info.name == "subjectaccessreviews":
            if not spec.get("user") and not spec.get("groups"):
                raise errors.Invalid(f'{info.qualified_kind} "" is invalid: spec.user: Required value',
                                     causes=[errors.Cause("spec.user", "Required value", "FieldValueRequired")],
                                     kind=info.kind, group=info.group)
            subject = UserInfo(str(spec.get("user", "")), str(spec.get("uid", "")),
                               tuple(str(g) for g in spec.get("groups") or ()) + ("system:authenticated",))
        request = Request(subject, str(attrs["verb"]), str(attrs["resource"]), str(attrs.get("group", "")),
                          str(attrs.get("namespace", "")), str(attrs.get("name", "")),
                          str(attrs.get("subresource", "")))
        allowed, reason = self.authorizer.allowed(request)
        out = copy.deepcopy(obj)
        out["status"] = {"allowed": allowed, **({"reason": reason} if reason else {})}
        return out

    # --- create ---------------------------------------------------------------------------

    @trace_recorder.traced("create")
    def create(self, user: UserInfo, resource: str, namespace: str, obj: dict, *, dry_run: bool = False) -> dict:
        info, strategy = self.resource(resource)
        body_meta = obj.get("metadata") if isinstance(obj, dict) else None
        body_ns = body_meta.get("namespace") if isinstance(body_meta, dict) else ""
        namespace = self._scope(info, namespace or body_ns or "default")
        # As in kube-apiserver, a create is authorized without a name (the URL has none): a rule's
        # resourceNames never grant create, and the Forbidden message names no object.
        self.authorize(user, "create", info, namespace)
        self._check_body(info, obj, namespace)
        if info.virtual:
            return self.review(user, info, obj)
        metadata = obj["metadata"]
        if not metadata.get("name") and isinstance(metadata.get("generateName"), str) and metadata["generateName"]:
            metadata["name"] = metadata["generateName"] + _random_suffix()
        attrs = Attributes("CREATE", info.name, namespace, str(metadata.get("name", "")), obj, user=user,
                           dry_run=dry_run)
        trace_recorder.admitting(attrs)
        self.admission.admit(attrs)
        strategy.prepare_for_create(obj)
        for server_field in ("resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds"):
            metadata.pop(server_field, None)
        metadata["uid"] = meta.new_uid()
        metadata["creationTimestamp"] = meta.format_time()
        metadata["generation"] = 1
        causes = strategy.validate(obj)
        if causes:
            self._record_trace(attrs, "Invalid")
            raise self._invalid(info, str(metadata.get("name", "")), causes)
        self._check_size(obj)
        try:
            self.admission.validate(attrs)
        except errors.APIError as e:
            self._record_trace(attrs, e.reason)
            raise
        self._record_trace(attrs, "Admitted")
        hooks = self.hooks.get(info.name)
        finish = hooks.begin_create(obj, dry_run=dry_run) if hooks else None
        if dry_run:
            return obj
        try:
            stored = self.storage.create(object_key(info.name, namespace, metadata["name"]), obj)
        except KeyExists:
            if finish:
                finish(False)
            raise errors.AlreadyExists(f'{info.qualified_name} "{metadata["name"]}" already exists',
                                       group=info.group, kind=info.name,
                                       name=metadata["name"]) from None
        except BaseException:
            if finish:
                finish(False)
            raise
        if finish:
            finish(True)
        log.debug("created %s %s", info.name, meta.key_of(stored))
        return stored

    # --- read -----------------------------------------------------------------------------

    def get(self, user: UserInfo, resource: str, namespace: str, name: str) -> dict:
        info, _ = self.resource(resource)
        self.authorize(user, "get", info, self._scope(info, namespace), name)
        return self._get_stored(info, namespace, name)

    def _predicate(self, info: ResourceInfo, label_selector: str, field_selector: str):
        try:
            labels = parse_selector(label_selector or "")
            fields = parse_field_selector(field_selector or "")
            check_supported(fields, set(info.field_selectors))
        except SelectorError as e:
            raise errors.BadRequest(str(e)) from None
        if labels.empty and not fields.terms:
            return None, fields

        def matches(obj: dict) -> bool:
            return labels.matches((obj.get("metadata") or {}).get("labels") or {}) and fields.matches(obj)

        return matches, fields

    def list(self, user: UserInfo, resource: str, namespace: str, *, label_selector: str = "",
             field_selector: str = "", limit: int = 0, continue_token: str = "", resource_version: str = ""):
        info, _ = self.resource(resource)
        namespace = self._scope(info, namespace, for_collection=True)
        self.authorize(user, "list", info, namespace)
        predicate, fields = self._predicate(info, label_selector, field_selector)
        prefix = self._narrow_prefix(info, namespace, fields)
        if limit < 0:
            raise errors.BadRequest("limit must not be negative")
        revision = _parse_rv(resource_version) if resource_version not in ("", "0") else 0
        return self.storage.list(prefix, limit=limit, continue_token=continue_token, revision=revision,
                                 predicate=predicate)

    @staticmethod
    def _narrow_prefix(info: ResourceInfo, namespace: str, fields: FieldSelector) -> str:
        """A field selector on metadata.namespace narrows an all-namespaces read to one key range."""
        if info.namespaced and not namespace:
            wanted = fields.exact_value("metadata.namespace")
            if wanted:
                return collection_prefix(info.name, wanted)
        return collection_prefix(info.name, namespace)

    # --- watch ----------------------------------------------------------------------------

    def watch(self, user: UserInfo, resource: str, namespace: str, opts: WatchOptions) -> ResourceWatch:
        info, _ = self.resource(resource)
        namespace = self._scope(info, namespace, for_collection=True)
        self.authorize(user, "watch", info, namespace)
        predicate, fields = self._predicate(info, opts.label_selector, opts.field_selector)
        start = _parse_rv(opts.resource_version) if opts.resource_version not in ("", "0") else 0
        prefix = self._narrow_prefix(info, namespace, fields)
        if self.watch_cache is not None:
            storage_watch = self.watch_cache.watch(collection_prefix(info.name), prefix, start, fields)
        else:
            storage_watch = self.storage.watch(prefix, start)
        return ResourceWatch(storage_watch, predicate, opts)

    # --- update ---------------------------------------------------------------------------

    @trace_recorder.traced("update")
    def update(self, user: UserInfo, resource: str, namespace: str, name: str, obj: dict, *,
               status: bool = False, dry_run: bool = False) -> dict:
        info, strategy = self.resource(resource)
        if status and not info.has_status:
            raise errors.NotFound(f"{info.name} have no status subresource")
        namespace = self._scope(info, namespace)
        self.authorize(user, "update", info, namespace, name, "status" if status else "")
        self._check_body(info, obj, namespace)
        self._check_name(obj, name)
        wanted_rv = obj["metadata"].get("resourceVersion") or ""
        for _ in range(CAS_ATTEMPTS):
            old = self._get_stored(info, namespace, name)
            if wanted_rv and str(wanted_rv) != old["metadata"]["resourceVersion"]:
                _parse_rv(wanted_rv)
                raise self._conflict(info, name)
            written = self._write_update(user, info, strategy, namespace, name, copy.deepcopy(obj), old,
                                         status=status, dry_run=dry_run)
            if written is not None:
                return written
            if wanted_rv:
                raise self._conflict(info, name)
        raise self._conflict(info, name)

    @trace_recorder.traced("modify")
    def modify(self, user: UserInfo, verb: str, resource: str, namespace: str, name: str,
               mutate: Callable[[dict], dict], *, subresource: str = "", dry_run: bool = False,
               on_missing: Callable[[], dict] | None = None) -> dict:
        """Read-modify-write under compare-and-swap, for PATCH and subresources whose body is not
        the stored object (``scale``): ``mutate(current) -> desired`` runs again on the latest
        object after every lost race, as kube-apiserver's patch handler retries. A resourceVersion
        the result carries that differs from the current one is a precondition: Conflict.
        Authorized as ``verb`` on ``resource/subresource``; ``subresource="status"`` writes only
        the status. ``on_missing`` answers when the object does not exist (server-side apply
        creates it); without it that is NotFound."""
        info, strategy = self.resource(resource)
        status = subresource == "status"
        if status and not info.has_status:
            raise errors.NotFound(f"{info.name} have no status subresource")
        namespace = self._scope(info, namespace)
        self.authorize(user, verb, info, namespace, name, subresource)
        for _ in range(CAS_ATTEMPTS):
            try:
                old = self._get_stored(info, namespace, name)
            except errors.NotFound:
                if on_missing is None:
                    raise
                return on_missing()
            desired = mutate(copy.deepcopy(old))
            self._check_body(info, desired, namespace)
            self._check_name(desired, name)
            wanted_rv = str(desired["metadata"].get("resourceVersion") or old["metadata"]["resourceVersion"])
            if wanted_rv != old["metadata"]["resourceVersion"]:
                _parse_rv(wanted_rv)
                raise self._conflict(info, name)
            desired["metadata"]["resourceVersion"] = wanted_rv
            written = self._write_update(user, info, strategy, namespace, name, desired, old, status=status,
                                         dry_run=dry_run, operation_subresource=subresource)
            if written is not None:
                return written
        raise self._conflict(info, name)

    @staticmethod
    def _check_name(obj: dict, name: str) -> None:
        body_name = obj["metadata"].get("name")
        if body_name and body_name != name:
            raise errors.BadRequest(f'the name of the object ({body_name}) does not match the name on the URL ({name})')
        obj["metadata"]["name"] = name

    def _write_update(self, user: UserInfo, info: ResourceInfo, strategy: Strategy, namespace: str, name: str,
                      new: dict, old: dict, *, status: bool, dry_run: bool,
                      operation_subresource: str = "") -> dict | None:
        """Prepare, validate, admit and store ``new`` over ``old``; None when another write won the race."""
        self._prepare_update(info, strategy, new, old, status)
        causes = strategy.validate_status_update(new, old) if status else strategy.validate_update(new, old)
        if causes:
            raise self._invalid(info, name, causes)
        self._check_size(new)
        attrs = Attributes("UPDATE", info.name, namespace, name, new, old,
                           operation_subresource or ("status" if status else ""), user, dry_run)
        trace_recorder.admitting(attrs)
        self.admission.validate(attrs)
        if new == old:
            return new if dry_run else old
        hooks = self.hooks.get(info.name) if not status else None
        finish = hooks.begin_update(new, old, dry_run=dry_run) if hooks else _no_finish
        if dry_run:
            return new
        key = self._key(info, namespace, name)
        if self._finalized(new) and not strategy.blocks_deletion(new):
            finish(True)
            return self._remove(info, key, name, int(old["metadata"]["resourceVersion"]))
        try:
            written = self.storage.update(key, new, int(old["metadata"]["resourceVersion"]))
        except RevisionMismatch:
            finish(False)
            return None
        except KeyNotFound:
            finish(False)
            raise errors.NotFound(f'{info.qualified_name} "{name}" not found', kind=info.name, name=name,
                                  group=info.group) from None
        except BaseException:
            finish(False)
            raise
        finish(True)
        return written

    def _prepare_update(self, info: ResourceInfo, strategy: Strategy, new: dict, old: dict, status: bool) -> None:
        if status:
            strategy.prepare_for_status_update(new, old)
            new["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"]
            return
        strategy.prepare_for_update(new, old)
        old_meta, new_meta = old["metadata"], new["metadata"]
        for server_field in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds"):
            if server_field in old_meta:
                new_meta[server_field] = old_meta[server_field]
            else:
                new_meta.pop(server_field, None)
        new_meta["resourceVersion"] = old_meta["resourceVersion"]
        generation = old_meta.get("generation", 1)
        new_meta["generation"] = generation + 1 if strategy.spec_changed(new, old) else generation
        if old_meta.get("deletionTimestamp"):
            # Once deletion started, finalizers may only be removed.
            added = set(new_meta.get("finalizers") or []) - set(old_meta.get("finalizers") or [])
            if added:
                raise errors.Forbidden(f"no new finalizers can be added if the object is being deleted, found new "
                                       f"finalizers {sorted(added)}", kind=info.name, name=new_meta.get("name", ""))

    @staticmethod
    def _finalized(obj: dict) -> bool:
        """An object being deleted whose last finalizer went and whose grace period ran out is removed."""
        m = obj["metadata"]
        return bool(m.get("deletionTimestamp")) and not m.get("finalizers") and \
            not m.get("deletionGracePeriodSeconds")

    # --- delete ---------------------------------------------------------------------------

    @trace_recorder.traced("delete")
    def delete(self, user: UserInfo, resource: str, namespace: str, name: str, *, grace_period_s: int | None = None,
               precondition_uid: str = "", precondition_rv: str = "", propagation_policy: str = "",
               dry_run: bool = False) -> dict:
        """Delete, or start deleting. ``propagation_policy`` (what happens to dependents, done by the
        garbage collector): Foreground keeps the object, with the ``foregroundDeletion`` finalizer,
        until its blocking dependents are gone; Orphan adds the ``orphan`` finalizer, removed once
        dependents no longer point at it; Background (or empty) deletes it now. ``dry_run``
        checks everything and answers the object as stored, deleting nothing."""
        info, _ = self.resource(resource)
        self.authorize(user, "delete", info, self._scope(info, namespace), name)
        return self._delete(user, info, namespace, name, grace_period_s=grace_period_s,
                            precondition_uid=precondition_uid, precondition_rv=precondition_rv,
                            propagation_policy=propagation_policy, dry_run=dry_run)

    @trace_recorder.traced("evict", resource="pods", subresource="eviction")
    def evict(self, user: UserInfo, namespace: str, name: str, *, grace_period_s: int | None = None,
              dry_run: bool = False) -> dict:
        """pods/eviction: a delete authorized as ``create pods/eviction``. kubemu has no
        PodDisruptionBudgets, so an eviction is never refused for disruption reasons."""
        info, _ = self.resource("pods")
        self.authorize(user, "create", info, self._scope(info, namespace), name, "eviction")
        return self._delete(user, info, namespace, name, grace_period_s=grace_period_s, dry_run=dry_run)

    def _delete(self, user: UserInfo, info: ResourceInfo, namespace: str, name: str, *,
                grace_period_s: int | None = None, precondition_uid: str = "", precondition_rv: str = "",
                propagation_policy: str = "", dry_run: bool = False) -> dict:
        strategy = STRATEGIES[info.name]
        namespace = self._scope(info, namespace)
        propagation_finalizer = _propagation_finalizer(propagation_policy)
        key = self._key(info, namespace, name)
        attrs = Attributes("DELETE", info.name, namespace, name, None, user=user, dry_run=dry_run)
        trace_recorder.admitting(attrs)
        self.admission.validate(attrs)
        for _ in range(CAS_ATTEMPTS):
            obj = self._get_stored(info, namespace, name)
            m = obj["metadata"]
            if precondition_uid and m.get("uid") != precondition_uid:
                raise errors.Conflict(f'Precondition failed: UID in precondition: {precondition_uid}, UID in object '
                                      f'meta: {m.get("uid")}', kind=info.name, name=name)
            if precondition_rv and m.get("resourceVersion") != precondition_rv:
                raise errors.Conflict(f"Precondition failed: ResourceVersion in precondition: {precondition_rv}, "
                                      f"ResourceVersion in object meta: {m.get('resourceVersion')}",
                                      kind=info.name, name=name)
            if dry_run:
                return obj
            grace = strategy.grace_period_s(obj, grace_period_s)
            extra = [propagation_finalizer] if propagation_finalizer and not m.get("deletionTimestamp") and \
                propagation_finalizer not in (m.get("finalizers") or []) else []
            if grace == 0 and not m.get("finalizers") and not extra and not strategy.blocks_deletion(obj):
                try:
                    return self._remove(info, key, name, int(m["resourceVersion"]))
                except errors.Conflict:
                    continue
            updated = self._mark_deleting(obj, grace, extra)
            if updated is None:
                return obj
            try:
                return self.storage.update(key, updated, int(m["resourceVersion"]))
            except RevisionMismatch:
                continue
            except KeyNotFound:
                break
        raise self._conflict(info, name)

    @staticmethod
    def _mark_deleting(obj: dict, grace_s: int, finalizers: list[str] | None = None) -> dict | None:
        """Set deletionTimestamp/GracePeriod (and add ``finalizers`` on the first delete); None
        when nothing changes (already shorter)."""
        m = obj["metadata"]
        current = m.get("deletionGracePeriodSeconds")
        if m.get("deletionTimestamp") and current is not None and current <= grace_s:
            return None
        if m.get("deletionTimestamp") and current is None and not grace_s:
            return None
        new = copy.deepcopy(obj)
        now = meta.utcnow()
        import datetime as dt

        new["metadata"]["deletionTimestamp"] = meta.format_time(now + dt.timedelta(seconds=grace_s))
        new["metadata"]["deletionGracePeriodSeconds"] = grace_s
        if finalizers:
            new["metadata"]["finalizers"] = list(new["metadata"].get("finalizers") or []) + finalizers
        if new.get("kind") == "Namespace":
            new.setdefault("status", {})["phase"] = "Terminating"
        return new

    def _remove(self, info: ResourceInfo, key: str, name: str, revision: int) -> dict:
        try:
            removed = self.storage.delete(key, revision)
        except RevisionMismatch:
            raise self._conflict(info, name) from None
        except KeyNotFound:
            raise errors.NotFound(f'{info.qualified_name} "{name}" not found', kind=info.name, name=name,
                                  group=info.group) from None
        hooks = self.hooks.get(info.name)
        if hooks:
            hooks.after_delete(removed)
        return removed

    # --- bind -----------------------------------------------------------------------------

    @trace_recorder.traced("bind", resource="pods", subresource="binding")
    def bind(self, user: UserInfo, namespace: str, name: str, node_name: str, uid: str = "") -> dict:
        """pods/binding: set spec.nodeName once; a second bind of the same pod is a Conflict."""
        info, _ = self.resource("pods")
        self.authorize(user, "create", info, namespace, name, "binding")
        if not node_name:
            raise errors.Invalid(f'Binding "{name}" is invalid: target.name: Required value',
                                 causes=[errors.Cause("target.name", "Required value", "FieldValueRequired")])
        attrs = Attributes("CREATE", "pods", namespace, name, {"target": {"name": node_name}},
                           subresource="binding", user=user)
        trace_recorder.admitting(attrs)
        self.admission.validate(attrs)
        key = self._key(info, namespace, name)
        for _ in range(CAS_ATTEMPTS):
            pod = self._get_stored(info, namespace, name)
            if uid and pod["metadata"].get("uid") != uid:
                raise errors.Conflict(f'Operation cannot be fulfilled on pods/binding "{name}": the pod was '
                                      f"replaced (uid {pod['metadata'].get('uid')}, expected {uid})",
                                      kind="pods", name=name)
            if pod["metadata"].get("deletionTimestamp"):
                raise errors.Conflict(f"pod {name} is being deleted, cannot be assigned to a host", kind="pods",
                                      name=name)
            bound = (pod.get("spec") or {}).get("nodeName")
            if bound:
                raise errors.Conflict(f'Operation cannot be fulfilled on pods/binding "{name}": pod {name} is '
                                      f'already assigned to node "{bound}"', kind="pods", name=name)
            new = pod  # decoded from etcd for this call alone: changed in place, no copy
            new.setdefault("spec", {})["nodeName"] = node_name
            meta.set_condition(new.setdefault("status", {}), "PodScheduled", "True")
            try:
                return self.storage.update(key, new, int(pod["metadata"]["resourceVersion"]))
            except RevisionMismatch:
                continue
            except KeyNotFound:
                raise errors.NotFound(f'pods "{name}" not found', kind="pods", name=name) from None
        raise self._conflict(info, name)


class ResourceWatch:
    """One client's watch: storage events filtered by selectors, turned into API events.

    With selectors, an object entering the selection arrives as ADDED and one leaving it as
    DELETED, as in Kubernetes. ``cancel()`` ends iteration from any thread; a timeout set in
    the options cancels it too. Bookmarks come from etcd progress notifications that
    :meth:`request_bookmark` asks for.
    """

    def __init__(self, storage_watch, predicate, opts: WatchOptions):
        self._watch = storage_watch
        self._predicate = predicate
        self._opts = opts
        self._timer = None
        if opts.timeout_s:
            self._timer = threading.Timer(opts.timeout_s, self.cancel)
            self._timer.daemon = True
            self._timer.start()

    def cancel(self) -> None:
        if self._timer:
            self._timer.cancel()
        self._watch.cancel()

    def request_bookmark(self) -> None:
        if self._opts.allow_bookmarks:
            self._watch.request_progress()

    def _matches(self, obj: dict | None) -> bool:
        return obj is not None and (self._predicate is None or self._predicate(obj))

    def __iter__(self) -> Iterator[tuple[str, dict]]:
        try:
            for event in self._watch:
                out = self._translate(event)
                if out is not None:
                    yield out
        finally:
            if self._timer:
                self._timer.cancel()

    def _translate(self, event: StorageEvent) -> tuple[str, dict] | None:
        if event.type == "BOOKMARK":
            if not self._opts.allow_bookmarks:
                return None
            return "BOOKMARK", {"metadata": {"resourceVersion": str(event.revision)}}
        if event.type == "DELETED":
            return ("DELETED", event.object) if self._matches(event.previous) else None
        now, before = self._matches(event.object), self._matches(event.previous)
        if event.type == "ADDED":
            return ("ADDED", event.object) if now else None
        if now and before:
            return "MODIFIED", event.object
        if now:
            return "ADDED", event.object
        if before:
            return "DELETED", event.object
        return None


_PROPAGATION_FINALIZERS = {"": "", "Background": "", "Foreground": "foregroundDeletion", "Orphan": "orphan"}


def _propagation_finalizer(policy: str) -> str:
    """The finalizer a propagation policy puts on the object being deleted ("" for none)."""
    if policy not in _PROPAGATION_FINALIZERS:
        message = (f'propagationPolicy: Unsupported value: "{policy}": supported values: "Foreground", '
                   f'"Background", "Orphan"')
        raise errors.Invalid(message, causes=[errors.Cause("propagationPolicy", message, "FieldValueNotSupported")])
    return _PROPAGATION_FINALIZERS[policy]


def _parse_rv(value: str) -> int:
    try:
        rv = int(value)
        if rv < 0:
            raise ValueError
        return rv
    except (TypeError, ValueError):
        raise errors.BadRequest(f'invalid resource version "{value}": must be a non-negative integer') from None


def _no_finish(ok: bool) -> None:
    return None


def _random_suffix() -> str:
    import secrets

    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    return "".join(secrets.choice(alphabet) for _ in range(5))
