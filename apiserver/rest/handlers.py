"""The REST verbs, synchronous and transport-free: a :class:`Call` in, a :class:`Reply` or
:class:`Stream` out. :mod:`apiserver.rest.server` runs them on its thread pool.

Every verb maps onto :class:`apiserver.api.API` exactly as the gRPC service does, so
authorization, admission, validation and storage are the same code:

    GET    collection        list (``watch=true``: watch)        API.list / API.watch
    GET    object            get                                 API.get
    POST   collection        create (access reviews: answered)   API.create
    PUT    object            update (read-modify-write)          API.modify("update")
    PATCH  object            merge / JSON / strategic / apply    API.modify("patch")
    DELETE object            delete (DeleteOptions body)         API.delete
    DELETE collection        delete every listed object          API.list + API.delete

Subresources: ``status`` (GET/PUT/PATCH), ``scale`` (GET/PUT/PATCH, a Scale), ``binding`` and
``eviction`` (POST), ``log`` (GET, streamed); ``exec`` is a WebSocket upgrade in the server.

Every write answers the whole object with kind and apiVersion (201 for a create); lists carry
``metadata.resourceVersion`` and ``continue``; ``dryRun=All`` writes nothing; field managers are
recorded in ``managedFields`` (:mod:`apiserver.rest.apply`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

import yaml

from apiserver.admission import UserInfo
from apiserver.api import API
from apiserver.proxy import KubeletProxy
from apiserver.rest import apply as ssa
from apiserver.rest import content, discovery, logs, openapi, patch, routing, scale, status, tables, watch
from apiserver.rest.routing import Target
from machinery import errors

# How long the server waits for a stream's first piece before it commits to a 200: an error in
# that window (container not started, pod not found at the kubelet) still gets its own code.
LOG_FIRST_CHUNK_WAIT_S = 2.0


@dataclass
class Call:
    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: bytes
    user: UserInfo
    # server_address: host:port the client reached, for /api's serverAddressByClientCIDRs.
    server_address: str = ""


@dataclass
class Reply:
    code: int
    body: dict | bytes
    content_type: str = content.JSON
    headers: dict[str, str] = field(default_factory=dict)
    as_yaml: bool = False

    def encoded(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        if self.as_yaml:
            return yaml.safe_dump(self.body, sort_keys=False).encode()
        return json.dumps(self.body, separators=(",", ":")).encode()


@dataclass
class Stream:
    """A long response: ``chunks`` is iterated on its own thread; ``cancel`` ends it from any thread."""

    chunks: Iterator[bytes]
    cancel: Callable[[], None]
    content_type: str = content.JSON
    first_chunk_wait_s: float = 0.0
    watch: object = None


def error_reply(error: errors.APIError) -> Reply:
    return Reply(error.http_code, status.status_of(error))


def not_found(path: str) -> errors.NotFound:
    return errors.NotFound("the server could not find the requested resource")


def _bool(query: Mapping[str, str], name: str) -> bool:
    return str(query.get(name, "")).lower() in ("true", "1")


def _dry_run(query: Mapping[str, str], options: dict | None = None) -> bool:
    values = [v for v in (query.get("dryRun", ""),) if v] + list((options or {}).get("dryRun") or [])
    for value in values:
        if value != "All":
            raise errors.BadRequest(f'unsupported dry run value "{value}": only "All" is supported')
    return bool(values)


def _int_param(value, name: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise errors.BadRequest(f'{name}: invalid value "{value}": must be an integer') from None


def field_manager(call: Call, default_suffix: str = "") -> str:
    """``fieldManager``, else the user agent's program name (``kubectl``, as Kubernetes does)."""
    manager = call.query.get("fieldManager", "")
    if not manager:
        agent = call.headers.get("User-Agent", "") or "unknown"
        manager = agent.split("/", 1)[0].strip() or "unknown"
        manager += default_suffix
    if len(manager) > 128:
        raise errors.BadRequest("fieldManager: Too long: may not be longer than 128 characters")
    return manager


def _warnings(messages: list[str]) -> dict[str, str]:
    if not messages:
        return {}
    return {"Warning": ", ".join('299 - ' + json.dumps(m) for m in messages)}


def _strip_directives(value):
    if isinstance(value, dict):
        return {k: _strip_directives(v) for k, v in value.items() if not str(k).startswith("$")}
    if isinstance(value, list):
        return [_strip_directives(v) for v in value]
    return value


class Handlers:
    def __init__(self, api: API, proxy: KubeletProxy | None = None, *, ready: Callable[[], bool] = lambda: True):
        self.api = api
        self.proxy = proxy or KubeletProxy(api)
        self.ready = ready

    # --- entry point ----------------------------------------------------------------------

    def handle(self, call: Call) -> Reply | Stream:
        try:
            return self._route(call)
        except errors.APIError as e:
            return error_reply(e)
        except patch.PatchError as e:
            return error_reply(errors.BadRequest(str(e)))

    def _route(self, call: Call) -> Reply | Stream:
        special = self._non_resource(call)
        if special is not None:
            return special
        target = routing.parse(call.path)
        if target is None:
            raise not_found(call.path)
        method = call.method.upper()
        sub = target.subresource
        if sub == "log":
            if method != "GET":
                raise status.MethodNotAllowed("the server does not allow this method on the requested resource")
            return self._logs(call, target)
        if sub == "exec":
            raise errors.BadRequest("Upgrade request required: pods/exec is served over WebSocket "
                                    "(v5.channel.k8s.io or v4.channel.k8s.io)")
        if method == "GET":
            if target.is_collection or target.watch_path or _bool(call.query, "watch"):
                if target.watch_path or _bool(call.query, "watch"):
                    return self._watch(call, target)
                return self._list(call, target)
            return self._get(call, target)
        if method == "POST":
            if sub in ("binding", "eviction"):
                return self._bind(call, target) if sub == "binding" else self._evict(call, target)
            if not target.is_collection:
                raise status.MethodNotAllowed("the server does not allow this method on the requested resource")
            return self._create(call, target)
        if target.is_collection:
            if method == "DELETE":
                return self._delete_collection(call, target)
            raise status.MethodNotAllowed("the server does not allow this method on the requested resource")
        if method == "PUT":
            return self._update(call, target)
        if method == "PATCH":
            return self._patch(call, target)
        if method == "DELETE" and not sub:
            return self._delete(call, target)
        raise status.MethodNotAllowed("the server does not allow this method on the requested resource")

    # --- non-resource paths ---------------------------------------------------------------

    def _non_resource(self, call: Call) -> Reply | None:
        path = "/" + call.path.strip("/")
        if call.method.upper() != "GET":
            return None
        if path == "/version":
            return Reply(200, discovery.version_info())
        if path == "/metrics":
            return self._metrics(call)
        if path in ("/healthz", "/livez", "/readyz") or path.startswith(("/healthz/", "/livez/", "/readyz/")):
            healthy = path.startswith("/livez") or self.ready()
            text = b"ok" if healthy else b"[-]etcd failed: etcd is not reachable\nreadyz check failed"
            return Reply(200 if healthy else 500, text, "text/plain; charset=utf-8")
        if path == "/api":
            return Reply(200, discovery.api_versions(call.server_address))
        if path == "/apis":
            return Reply(200, discovery.api_group_list())
        parts = [p for p in path.split("/") if p]
        if len(parts) == 2 and parts[0] == "api":
            found = discovery.resource_list("", parts[1])
            return Reply(200, found) if found else error_reply(not_found(path))
        if len(parts) == 2 and parts[0] == "apis":
            found = discovery.api_group(parts[1])
            return Reply(200, found) if found else error_reply(not_found(path))
        if len(parts) == 3 and parts[0] == "apis":
            found = discovery.resource_list(parts[1], parts[2])
            return Reply(200, found) if found else error_reply(not_found(path))
        if parts and parts[0] == "openapi":
            return self._openapi(parts)
        return None

    def _metrics(self, call: Call) -> Reply:
        """Prometheus metrics, for whom RBAC lets ``get`` the non-resource URL ``/metrics``."""
        from apiserver import metrics
        from apiserver.authz import Request

        self.api.authorizer.check(Request(call.user, "get", "", path="/metrics"))
        body, content_type = metrics.render(call.headers.get("Accept", ""))
        return Reply(200, body, content_type)

    @staticmethod
    def _openapi(parts: list[str]) -> Reply:
        if parts == ["openapi", "v2"]:
            return Reply(200, openapi.v2_protobuf(), openapi.V2_CONTENT_TYPE)
        if parts == ["openapi", "v3"]:
            return Reply(200, openapi.v3_index())
        if len(parts) > 2 and parts[1] == "v3":
            document = openapi.v3_document("/".join(parts[2:]))
            if document is not None:
                return Reply(200, document)
        return error_reply(not_found("/".join(parts)))

    # --- read -----------------------------------------------------------------------------

    def _shape(self, call: Call, target: Target, obj: dict, code: int = 200,
               headers: dict[str, str] | None = None) -> Reply:
        wanted = content.wanted(call.headers.get("Accept", ""))
        info = target.info
        if wanted.as_kind == "Table" and target.subresource in ("", "status"):
            rv = str((obj.get("metadata") or {}).get("resourceVersion", ""))
            body = tables.table(info, [obj], resource_version=rv,
                                include_object=call.query.get("includeObject", "Metadata"))
        elif wanted.as_kind == "PartialObjectMetadata":
            body = tables.partial_metadata(obj)
        else:
            body = obj
        return Reply(code, body, headers=headers or {}, as_yaml=wanted.yaml)

    def _get(self, call: Call, target: Target) -> Reply:
        info = target.info
        if target.subresource == "scale":
            self.api.authorize(call.user, "get", info, target.namespace, target.name, "scale")
            return Reply(200, scale.to_scale(self.api.get(call.user, info.name, target.namespace, target.name)))
        if target.subresource == "status":
            self.api.authorize(call.user, "get", info, target.namespace, target.name, "status")
        if target.subresource not in ("", "status"):
            raise status.MethodNotAllowed("the server does not allow this method on the requested resource")
        return self._shape(call, target, self.api.get(call.user, info.name, target.namespace, target.name))

    def _list(self, call: Call, target: Target) -> Reply:
        info = target.info
        q = call.query
        limit = _int_param(q.get("limit"), "limit") or 0
        page = self.api.list(call.user, info.name, target.namespace, label_selector=q.get("labelSelector", ""),
                             field_selector=q.get("fieldSelector", ""), limit=limit,
                             continue_token=q.get("continue", ""), resource_version=q.get("resourceVersion", ""))
        wanted = content.wanted(call.headers.get("Accept", ""))
        if wanted.as_kind == "Table":
            body = tables.table(info, page.items, resource_version=str(page.revision),
                                continue_token=page.continue_token, remaining=page.remaining,
                                include_object=q.get("includeObject", "Metadata"))
            return Reply(200, body)
        metadata: dict = {"resourceVersion": str(page.revision)}
        if page.continue_token:
            metadata["continue"] = page.continue_token
        if page.remaining:
            metadata["remainingItemCount"] = page.remaining
        if wanted.as_kind in ("PartialObjectMetadata", "PartialObjectMetadataList"):
            return Reply(200, {"kind": "PartialObjectMetadataList", "apiVersion": tables.TABLE_API_VERSION,
                               "metadata": metadata, "items": [tables.partial_metadata(i) for i in page.items]})
        return Reply(200, {"kind": f"{info.kind}List", "apiVersion": info.api_version, "metadata": metadata,
                           "items": page.items}, as_yaml=wanted.yaml)

    def _watch(self, call: Call, target: Target) -> Stream:
        wanted = content.wanted(call.headers.get("Accept", ""))
        lines, resource_watch = watch.open_watch(self.api, call.user, target, call.query,
                                                 as_table=wanted.as_kind == "Table",
                                                 include_object=call.query.get("includeObject", "Metadata"))
        return Stream(lines, resource_watch.cancel, watch=resource_watch)

    def _logs(self, call: Call, target: Target) -> Stream:
        chunks, cancel = logs.open_logs(self.proxy, call.user, target.namespace, target.name, call.query)
        return Stream(chunks, cancel, "text/plain", first_chunk_wait_s=LOG_FIRST_CHUNK_WAIT_S)

    # --- create ---------------------------------------------------------------------------

    def _decode(self, call: Call) -> dict:
        return content.decode_object(call.body, call.headers.get("Content-Type", ""))

    def _validate_fields(self, call: Call, target: Target, obj: dict) -> list[str]:
        """Unknown fields under ``fieldValidation``; a ``Scale`` body is not the workload's kind, and
        only its ``spec.replicas`` is read, so scale requests are not checked against the schema."""
        if target.subresource == "scale":
            return []
        return content.strict_decoding(target.info.api_version, target.info.kind, _strip_directives(obj),
                                       call.query.get("fieldValidation", ""))

    def _create(self, call: Call, target: Target) -> Reply:
        info = target.info
        obj = self._decode(call)
        dry_run = _dry_run(call.query)
        warnings = [] if info.virtual else self._validate_fields(call, target, obj)
        if not info.virtual:
            obj.setdefault("apiVersion", info.api_version)
            ssa.record_create(obj, field_manager(call))
        created = self.api.create(call.user, info.name, target.namespace, obj, dry_run=dry_run)
        return self._shape(call, target, created, 201, _warnings(warnings))

    def _bind(self, call: Call, target: Target) -> Reply:
        body = self._decode(call)
        target_ref = body.get("target") if isinstance(body.get("target"), dict) else {}
        uid = str((body.get("metadata") or {}).get("uid") or "") if isinstance(body.get("metadata"), dict) else ""
        self.api.bind(call.user, target.namespace, target.name, str(target_ref.get("name") or ""), uid)
        return Reply(201, status.success(code=201))

    def _evict(self, call: Call, target: Target) -> Reply:
        body = self._decode(call) if call.body else {}
        options = body.get("deleteOptions") if isinstance(body.get("deleteOptions"), dict) else {}
        self.api.evict(call.user, target.namespace, target.name,
                       grace_period_s=_int_param(options.get("gracePeriodSeconds"), "gracePeriodSeconds"),
                       dry_run=_dry_run(call.query, options))
        return Reply(201, status.success(code=201))

    # --- update and patch -----------------------------------------------------------------

    def _update(self, call: Call, target: Target) -> Reply:
        info = target.info
        body = self._decode(call)
        warnings = self._validate_fields(call, target, body)
        dry_run = _dry_run(call.query)
        manager = field_manager(call)
        if target.subresource == "scale":
            written = self.api.modify(call.user, "update", info.name, target.namespace, target.name,
                                      lambda live: self._scaled(live, body, manager), subresource="scale",
                                      dry_run=dry_run)
            return Reply(200, scale.to_scale(written), headers=_warnings(warnings))
        if target.subresource not in ("", "status", "finalize"):
            raise status.MethodNotAllowed("the server does not allow this method on the requested resource")

        def replace(live: dict) -> dict:
            new = json.loads(json.dumps(body))
            new.setdefault("apiVersion", info.api_version)
            new.setdefault("metadata", {})
            if not isinstance(new["metadata"], dict):
                raise errors.BadRequest("metadata must be an object")
            if target.subresource == "status":
                new["metadata"] = {**live.get("metadata", {}),
                                   **{k: v for k, v in new["metadata"].items() if k == "resourceVersion"}}
            ssa.record_update(live, new, manager, subresource=target.subresource)
            return new

        written = self.api.modify(call.user, "update", info.name, target.namespace, target.name, replace,
                                  subresource=target.subresource, dry_run=dry_run)
        return self._shape(call, target, written, headers=_warnings(warnings))

    @staticmethod
    def _scaled(live: dict, scale_body: dict, manager: str) -> dict:
        before = json.loads(json.dumps(live))
        new = scale.apply_scale(live, scale_body)
        ssa.record_update(before, new, manager, subresource="scale")
        return new

    def _patch(self, call: Call, target: Target) -> Reply:
        info = target.info
        patch_type = content.media_type(call.headers.get("Content-Type", ""))
        if patch_type not in patch.PATCH_TYPES:
            raise status.UnsupportedMediaType(
                f'the body of a PATCH must be one of {", ".join(patch.PATCH_TYPES)}, not "{patch_type}"')
        body = content.decode(call.body, patch_type)
        dry_run = _dry_run(call.query)
        force = _bool(call.query, "force")
        if patch_type == patch.APPLY_PATCH:
            return self._apply(call, target, body, dry_run, force)
        if force:
            raise errors.BadRequest("force: Forbidden: may not be specified for non-apply patch")
        warnings = [] if patch_type == patch.JSON_PATCH else \
            self._validate_fields(call, target, body if isinstance(body, dict) else {})
        manager = field_manager(call)

        def patched(live: dict) -> dict:
            document = scale.to_scale(live) if target.subresource == "scale" else live
            rv = (document.get("metadata") or {}).get("resourceVersion")
            if patch_type == patch.MERGE_PATCH:
                result = patch.merge_patch(document, body)
            elif patch_type == patch.JSON_PATCH:
                result = patch.json_patch(document, body)
            else:
                result = patch.strategic_merge_patch(document, body)
            if not isinstance(result, dict) or not isinstance(result.get("metadata", {}), dict):
                raise errors.BadRequest("the patched object must be a JSON object with an object metadata")
            result.setdefault("metadata", {})
            # The patch may name a resourceVersion as a precondition; otherwise the live one holds.
            result["metadata"].setdefault("resourceVersion", rv)
            if target.subresource == "scale":
                return self._scaled(live, result, manager)
            ssa.record_update(live, result, manager, subresource=target.subresource)
            return result

        if target.subresource not in ("", "status", "scale"):
            raise status.MethodNotAllowed("the server does not allow this method on the requested resource")
        written = self.api.modify(call.user, "patch", info.name, target.namespace, target.name, patched,
                                  subresource=target.subresource, dry_run=dry_run)
        if target.subresource == "scale":
            return Reply(200, scale.to_scale(written), headers=_warnings(warnings))
        return self._shape(call, target, written, headers=_warnings(warnings))

    def _apply(self, call: Call, target: Target, config, dry_run: bool, force: bool) -> Reply:
        info = target.info
        if not isinstance(config, dict):
            raise errors.BadRequest("the body of an apply patch must be an object")
        if target.subresource:
            raise errors.BadRequest(f"server-side apply of {info.name}/{target.subresource} is not supported")
        warnings = self._validate_fields(call, target, config)
        if config.get("apiVersion") != info.api_version or config.get("kind") != info.kind:
            raise errors.BadRequest(f'an apply configuration of {info.name} must have apiVersion '
                                    f'"{info.api_version}" and kind "{info.kind}"')
        config_name = (config.get("metadata") or {}).get("name") if isinstance(config.get("metadata"), dict) else None
        if config_name and config_name != target.name:
            raise errors.BadRequest(f'the name of the object ({config_name}) does not match the name on the URL '
                                    f"({target.name})")
        manager = call.query.get("fieldManager", "")
        created: list[bool] = []

        def create() -> dict:
            obj = ssa.apply(None, config, manager, force=force)
            obj.setdefault("metadata", {})["name"] = target.name
            if info.namespaced:
                obj["metadata"]["namespace"] = target.namespace
            created.append(True)
            return self.api.create(call.user, info.name, target.namespace, obj, dry_run=dry_run)

        written = self.api.modify(call.user, "patch", info.name, target.namespace, target.name,
                                  lambda live: ssa.apply(live, config, manager, force=force), dry_run=dry_run,
                                  on_missing=create)
        return self._shape(call, target, written, 201 if created else 200, _warnings(warnings))

    # --- delete ---------------------------------------------------------------------------

    def _delete_options(self, call: Call) -> dict:
        if not call.body:
            return {}
        options = self._decode(call)
        return options

    def _delete(self, call: Call, target: Target) -> Reply:
        info = target.info
        options = self._delete_options(call)
        preconditions = options.get("preconditions") if isinstance(options.get("preconditions"), dict) else {}
        grace = _int_param(call.query.get("gracePeriodSeconds", options.get("gracePeriodSeconds")),
                           "gracePeriodSeconds")
        policy = call.query.get("propagationPolicy") or options.get("propagationPolicy") or ""
        if not policy and options.get("orphanDependents") is True:
            policy = "Orphan"
        result = self.api.delete(call.user, info.name, target.namespace, target.name, grace_period_s=grace,
                                 precondition_uid=str(preconditions.get("uid") or ""),
                                 precondition_rv=str(preconditions.get("resourceVersion") or ""),
                                 propagation_policy=policy, dry_run=_dry_run(call.query, options))
        m = result.get("metadata") or {}
        still_there = bool(m.get("deletionTimestamp")) and bool(m.get("finalizers")
                                                               or m.get("deletionGracePeriodSeconds"))
        # Like Kubernetes: pods and namespaces answer the object; others a Status once they are gone.
        if still_there or info.name in ("pods", "namespaces"):
            result.setdefault("kind", info.kind)
            result.setdefault("apiVersion", info.api_version)
            return self._shape(call, target, result)
        return Reply(200, status.success(target.name, info.name, routing.group_version_of(info)[0],
                                         str(m.get("uid") or "")))

    def _delete_collection(self, call: Call, target: Target) -> Reply:
        info = target.info
        options = self._delete_options(call)
        page = self.api.list(call.user, info.name, target.namespace,
                             label_selector=call.query.get("labelSelector", ""),
                             field_selector=call.query.get("fieldSelector", ""))
        dry_run = _dry_run(call.query, options)
        deleted = []
        for obj in page.items:
            m = obj.get("metadata") or {}
            try:
                deleted.append(self.api.delete(call.user, info.name, m.get("namespace", ""), m.get("name", ""),
                                               propagation_policy=options.get("propagationPolicy") or "",
                                               dry_run=dry_run))
            except errors.NotFound:
                continue
        return Reply(200, {"kind": f"{info.kind}List", "apiVersion": info.api_version,
                           "metadata": {"resourceVersion": str(page.revision)}, "items": deleted})
