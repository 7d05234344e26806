"""The OpenAPI documents kubectl reads: ``/openapi/v2`` (protobuf) and ``/openapi/v3``.

kubectl uses them for ``explain`` (v3, v2 when v3 is missing), to learn that the server checks
fields itself (a PATCH operation of the kind, ``x-kubernetes-group-version-kind``, with a
``fieldValidation`` query parameter: then ``apply``/``create`` send ``fieldValidation=Strict``
instead of validating on the client), and, in client-side ``apply``, for the merge keys of
strategic merge patch (``x-kubernetes-patch-strategy``, ``x-kubernetes-patch-merge-key``).
kubectl ≤ 1.31 also parses the whole v2 document before any validating command.

Both documents are made from the one type description of :mod:`apiserver.apitypes` and the
resource catalogue; the patch annotations come from :mod:`apiserver.patch_meta`, the table the
server's own strategic merge patch reads. Definitions are named as in Kubernetes
(``io.k8s.api.core.v1.Pod``) and kinds carry ``x-kubernetes-group-version-kind``.

* v2 is a Swagger 2.0 document encoded as gnostic's ``openapi.v2.Document`` protobuf
  (``application/com.github.proto-openapi.spec.v2.v1.0+protobuf``), the only form kubectl asks for.
* v3: ``/openapi/v3`` lists one document per group/version (``api/v1``, ``apis/apps/v1``, with a
  ``?hash=`` that changes when the document does); each holds that group/version's paths and
  every schema its kinds reach, under ``components.schemas``.

Only the paths of the served verbs appear; there are no responses beyond 200/201 and no
``x-kubernetes-list-type`` markers (server-side apply here reads no schema).
"""

from __future__ import annotations

import hashlib
import json
from functools import cache

from apiserver import apitypes, patch_meta
from apiserver.apitypes import Field, FieldType, Struct
from machinery.resources import RESOURCES, ResourceInfo
from machinery.server import KUBERNETES_VERSION

V2_CONTENT_TYPE = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"

_META = "io.k8s.apimachinery.pkg.apis.meta.v1"
# apimachinery's special types: their definition names and schemas (None: written in place).
_SPECIAL_DEFINITIONS = {
    "Quantity": ("io.k8s.apimachinery.pkg.api.resource.Quantity",
                 {"type": "string", "description": "A quantity: a number with an optional SI or binary suffix "
                                                   "(100m, 1.5, 64Mi, 2Gi)."}),
    "IntOrString": ("io.k8s.apimachinery.pkg.util.intstr.IntOrString",
                    {"type": "string", "format": "int-or-string",
                     "description": "A value that is either a whole number or a string (80, or a port name, "
                                    "or 25%)."}),
    "Time": (f"{_META}.Time", {"type": "string", "format": "date-time",
                               "description": "A point in time in RFC 3339 form, to the second "
                                              "(2024-12-11T10:00:00Z)."}),
    "MicroTime": (f"{_META}.MicroTime", {"type": "string", "format": "date-time",
                                         "description": "A point in time in RFC 3339 form, to the microsecond."}),
    "FieldsV1": (f"{_META}.FieldsV1", {"type": "object",
                                       "description": "The set of fields a manager owns, as a trie of JSON keys "
                                                      "(f:<name>, k:<key>, v:<value>, i:<index>)."}),
    "RawExtension": ("io.k8s.apimachinery.pkg.runtime.RawExtension",
                     {"type": "object", "description": "Any embedded JSON object."}),
}
# In v3, as in Kubernetes, quantities and int-or-strings are one of two types (kubectl explain
# then names them <Quantity> and <IntOrString>).
_V3_ONE_OF = {
    "io.k8s.apimachinery.pkg.api.resource.Quantity": {"oneOf": [{"type": "string"}, {"type": "number"}]},
    "io.k8s.apimachinery.pkg.util.intstr.IntOrString": {"anyOf": [{"type": "integer"}, {"type": "string"}],
                                                        "x-kubernetes-int-or-string": True},
}
_SCALAR_SCHEMAS = {
    "string": {"type": "string"},
    "int32": {"type": "integer", "format": "int32"},
    "int64": {"type": "integer", "format": "int64"},
    "bool": {"type": "boolean"},
    "double": {"type": "number", "format": "double"},
    "bytes": {"type": "string", "format": "byte"},
    "Duration": {"type": "string"},
    "StringList": {"type": "array", "items": {"type": "string"}},
}


def _gvk(api_version: str, kind: str) -> dict:
    group, _, version = api_version.rpartition("/")
    return {"group": group, "kind": kind, "version": version}


# --- definitions ---------------------------------------------------------------------------


@cache
def _holders() -> dict[str, frozenset[str]]:
    """For each struct, the JSON field names it is held under ("" for a kind at the root): the
    context :func:`apiserver.patch_meta.list_strategy` keys lists by."""
    holders: dict[str, set[str]] = {name: set() for name in apitypes.structs()}
    for name in apitypes.kinds().values():
        holders[name].add("")
    changed = True
    while changed:  # inline structs inherit their parent's holders
        changed = False
        for struct in apitypes.structs().values():
            for f in struct.fields:
                if not f.type.is_struct:
                    continue
                new = holders[struct.name] if f.name == apitypes.INLINE else {f.name}
                if not new <= holders[f.type.element]:
                    holders[f.type.element] |= new
                    changed = True
    return {name: frozenset(h) for name, h in holders.items()}


def patch_extensions(struct: Struct, field: Field) -> dict:
    """``x-kubernetes-patch-*`` of a list field, when every place the struct is held agrees."""
    if field.type.container != "list":
        return {}
    strategies = {patch_meta.list_strategy(holder, field.name) for holder in _holders()[struct.name] or {""}}
    if len(strategies) != 1:
        return {}
    strategy = strategies.pop()
    if strategy.strategy != "merge":
        return {}
    out = {"x-kubernetes-patch-strategy": "merge"}
    if strategy.merge_key:
        out["x-kubernetes-patch-merge-key"] = strategy.merge_key
    return out


def _element_schema(element: str, ref_prefix: str) -> dict:
    if element in _SCALAR_SCHEMAS:
        return dict(_SCALAR_SCHEMAS[element])
    if element in _SPECIAL_DEFINITIONS:
        return {"$ref": ref_prefix + _SPECIAL_DEFINITIONS[element][0]}
    return {"$ref": ref_prefix + element}


def _field_schema(struct: Struct, field: Field, v3: bool) -> dict:
    ref_prefix = "#/components/schemas/" if v3 else "#/definitions/"
    ftype: FieldType = field.type
    element = _element_schema(ftype.element, ref_prefix)
    if ftype.container == "list":
        schema = {"type": "array", "items": element}
    elif ftype.container == "map":
        schema = {"type": "object", "additionalProperties": element}
    elif "$ref" in element and v3:
        schema = {"allOf": [element]}
    else:
        schema = element
    if ftype.enum:
        holder = {"list": "items", "map": "additionalProperties"}.get(ftype.container)
        (schema[holder] if holder else schema)["enum"] = list(ftype.enum)
    if field.description:
        schema["description"] = field.description
    schema.update(patch_extensions(struct, field))
    return schema


@cache
def _kind_gvks() -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for (api_version, kind), name in apitypes.kinds().items():
        if api_version == "meta.k8s.io/v1":
            continue
        out.setdefault(name, []).append(_gvk(api_version, kind))
    return out


def _struct_schema(struct: Struct, v3: bool) -> dict:
    fields = struct.json_fields()
    schema: dict = {"description": struct.description, "type": "object",
                    "properties": {f.name: _field_schema(struct, f, v3) for f in fields}}
    required = [f.name for f in fields if f.required]
    if required:
        schema["required"] = required
    if struct.name in _kind_gvks():
        schema["x-kubernetes-group-version-kind"] = _kind_gvks()[struct.name]
    return schema


def _list_schema(info: ResourceInfo, v3: bool) -> dict:
    ref_prefix = "#/components/schemas/" if v3 else "#/definitions/"
    item = f"{apitypes.definition_prefix(info.api_version)}.{info.kind}"
    metadata = {"$ref": f"{ref_prefix}{_META}.ListMeta"}
    return {"description": f"A list of {info.kind} objects.", "type": "object", "required": ["items"],
            "properties": {
                "apiVersion": {"type": "string", "description": "The versioned schema of this representation."},
                "items": {"type": "array", "items": {"$ref": ref_prefix + item},
                          "description": f"The {info.name}."},
                "kind": {"type": "string", "description": "The kind of this list."},
                "metadata": {"allOf": [metadata], "description": "Standard list metadata."} if v3 else
                {**metadata, "description": "Standard list metadata."}},
            "x-kubernetes-group-version-kind": [_gvk(info.api_version, f"{info.kind}List")]}


@cache
def definitions(v3: bool = False) -> dict[str, dict]:
    """Every definition, by name: the structs, their lists and apimachinery's special types."""
    out = {name: _struct_schema(struct, v3) for name, struct in apitypes.structs().items()}
    for name, schema in _SPECIAL_DEFINITIONS.values():
        out[name] = dict(schema)
        if v3 and name in _V3_ONE_OF:
            out[name] = {"description": schema["description"], **_V3_ONE_OF[name]}
    for info in RESOURCES.values():
        if not info.virtual:
            out[f"{apitypes.definition_prefix(info.api_version)}.{info.kind}List"] = _list_schema(info, v3)
    return dict(sorted(out.items()))


# --- paths ---------------------------------------------------------------------------------


def _query(name: str, description: str, type_: str = "string") -> dict:
    return {"name": name, "in": "query", "description": description, "type": type_, "uniqueItems": True}


_WRITE_PARAMETERS = [
    _query("dryRun", "When present (All), the request is checked and not stored."),
    _query("fieldManager", "The name of the actor making these changes, recorded in managedFields."),
    _query("fieldValidation", "What to do with unknown fields: Ignore, Warn (the default) or Strict."),
]
_FORCE = _query("force", "Take over fields other managers own (server-side apply only).", "boolean")


def _url_prefix(info: ResourceInfo) -> str:
    group, _, version = info.api_version.rpartition("/")
    return f"/apis/{group}/{version}" if group else f"/api/{version}"


def _operation(info: ResourceInfo, action: str, verb_id: str, body: bool, parameters: list[dict],
               v3: bool, ref: str, code: str = "200") -> dict:
    ref_prefix = "#/components/schemas/" if v3 else "#/definitions/"
    scope = "Namespaced" if info.namespaced else ""
    op: dict = {"description": f"{action} {info.kind}",
                "operationId": f"{verb_id}{scope}{info.kind}",
                "x-kubernetes-action": action, "x-kubernetes-group-version-kind": _gvk(info.api_version, info.kind)}
    schema = {"$ref": ref_prefix + ref}
    params = [dict(p) for p in parameters]
    if v3:
        op["parameters"] = [{"name": p["name"], "in": p["in"], "description": p["description"],
                             "schema": {"type": p["type"], "uniqueItems": True}} for p in params]
        if body:
            op["requestBody"] = {"content": {"*/*": {"schema": dict(schema)}}, "required": True}
        op["responses"] = {code: {"description": "OK", "content": {"application/json": {"schema": schema}}}}
    else:
        if body:
            params.insert(0, {"name": "body", "in": "body", "required": True, "schema": dict(schema)})
        op["parameters"] = params
        op["responses"] = {code: {"description": "OK", "schema": schema}}
        op["consumes"] = ["*/*"]
        op["produces"] = ["application/json", "application/yaml"]
    return op


def _path_parameter(name: str, description: str, v3: bool) -> dict:
    if v3:
        return {"name": name, "in": "path", "required": True, "description": description,
                "schema": {"type": "string", "uniqueItems": True}}
    return {"name": name, "in": "path", "required": True, "description": description, "type": "string",
            "uniqueItems": True}


def _paths_of(info: ResourceInfo, v3: bool) -> dict[str, dict]:
    kind_ref = f"{apitypes.definition_prefix(info.api_version)}.{info.kind}"
    base = _url_prefix(info) + ("/namespaces/{namespace}" if info.namespaced else "") + f"/{info.name}"
    common = [_path_parameter("namespace", "object name and auth scope, such as for teams and projects", v3)] \
        if info.namespaced else []
    collection: dict = {"post": _operation(info, "post", "create", True, _WRITE_PARAMETERS, v3, kind_ref, "201")}
    if info.virtual:
        return {base: collection}
    collection["get"] = _operation(info, "list", "list", False, [], v3, kind_ref + "List")
    if common:
        collection["parameters"] = common
    item: dict = {
        "get": _operation(info, "get", "read", False, [], v3, kind_ref),
        "put": _operation(info, "put", "replace", True, _WRITE_PARAMETERS, v3, kind_ref),
        "patch": _operation(info, "patch", "patch", True, [*_WRITE_PARAMETERS, _FORCE], v3, kind_ref),
        "delete": _operation(info, "delete", "delete", False, [_query("dryRun", "When present (All), nothing is "
                                                                                 "deleted.")],
                             v3, f"{_META}.Status"),
        "parameters": [_path_parameter("name", f"name of the {info.kind}", v3), *common],
    }
    return {base: collection, base + "/{name}": item}


# --- v2 ------------------------------------------------------------------------------------


@cache
def v2_document() -> dict:
    paths: dict = {}
    for info in RESOURCES.values():
        paths.update(_paths_of(info, v3=False))
    definitions_ = dict(definitions(False))
    definitions_[f"{_META}.Status"] = _STATUS
    return {"swagger": "2.0", "info": {"title": "Kubernetes", "version": KUBERNETES_VERSION},
            "paths": dict(sorted(paths.items())), "definitions": dict(sorted(definitions_.items()))}


_STATUS = {"description": "The outcome of a call that returns no object.", "type": "object",
           "properties": {"apiVersion": {"type": "string"}, "kind": {"type": "string"},
                          "code": {"type": "integer", "format": "int32"}, "message": {"type": "string"},
                          "reason": {"type": "string"}, "status": {"type": "string"},
                          "details": {"type": "object"}, "metadata": {"type": "object"}},
           "x-kubernetes-group-version-kind": [{"group": "", "kind": "Status", "version": "v1"}]}


@cache
def v2_protobuf() -> bytes:
    return _gnostic.document(v2_document())


# --- v3 ------------------------------------------------------------------------------------


def _group_version_path(api_version: str) -> str:
    return f"apis/{api_version}" if "/" in api_version else f"api/{api_version}"


def _references(schema, found: set[str], prefix: str) -> None:
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key == "$ref" and isinstance(value, str) and value.startswith(prefix):
                found.add(value[len(prefix):])
            else:
                _references(value, found, prefix)
    elif isinstance(schema, list):
        for value in schema:
            _references(value, found, prefix)


@cache
def _v3_documents() -> dict[str, dict]:
    prefix = "#/components/schemas/"
    all_schemas = dict(definitions(True))
    all_schemas[f"{_META}.Status"] = _STATUS
    documents: dict[str, dict] = {}
    for api_version in sorted({info.api_version for info in RESOURCES.values()}):
        paths: dict = {}
        for info in RESOURCES.values():
            if info.api_version == api_version:
                paths.update(_paths_of(info, v3=True))
        wanted: set[str] = set()
        _references(paths, wanted, prefix)
        closure: set[str] = set()
        while wanted:
            name = wanted.pop()
            if name in closure:
                continue
            closure.add(name)
            _references(all_schemas[name], wanted, prefix)
        documents[_group_version_path(api_version)] = {
            "openapi": "3.0.0", "info": {"title": "Kubernetes", "version": KUBERNETES_VERSION},
            "paths": dict(sorted(paths.items())),
            "components": {"schemas": {name: all_schemas[name] for name in sorted(closure)}}}
    return documents


@cache
def v3_index() -> dict:
    paths = {}
    for path, document in _v3_documents().items():
        digest = hashlib.sha512(json.dumps(document, sort_keys=True).encode()).hexdigest()[:128].upper()
        paths[path] = {"serverRelativeURL": f"/openapi/v3/{path}?hash={digest}"}
    return {"paths": paths}


def v3_document(path: str) -> dict | None:
    """The document of one group/version (``api/v1``, ``apis/apps/v1``), or None."""
    return _v3_documents().get(path.strip("/"))


# --- gnostic's protobuf encoding of a Swagger 2.0 document ---------------------------------


class _Gnostic:
    """Writes the subset of ``openapi.v2.Document`` (gnostic's OpenAPIv2.proto) these documents
    use; field numbers are that file's. Vendor extensions are ``NamedAny`` with the value as
    YAML text (JSON is YAML), which is what kubectl reads."""

    @staticmethod
    def varint(value: int) -> bytes:
        out = bytearray()
        value &= (1 << 64) - 1
        while True:
            byte = value & 0x7F
            value >>= 7
            if value:
                out.append(byte | 0x80)
            else:
                out.append(byte)
                return bytes(out)

    def message(self, number: int, payload: bytes) -> bytes:
        return self.varint(number << 3 | 2) + self.varint(len(payload)) + payload

    def string(self, number: int, value: str) -> bytes:
        return self.message(number, value.encode()) if value else b""

    def boolean(self, number: int, value: bool) -> bytes:
        return self.varint(number << 3) + b"\x01" if value else b""

    def any(self, number: int, value) -> bytes:
        return self.message(number, self.string(2, json.dumps(value, sort_keys=True)))

    def extensions(self, number: int, obj: dict) -> bytes:
        return b"".join(self.message(number, self.string(1, k) + self.any(2, v))
                        for k, v in obj.items() if k.startswith("x-"))

    def schema(self, s: dict) -> bytes:
        out = [self.string(1, s.get("$ref", "")), self.string(2, s.get("format", "")),
               self.string(4, s.get("description", ""))]
        out += [self.string(19, name) for name in s.get("required", [])]
        out += [self.any(20, value) for value in s.get("enum", [])]
        if isinstance(s.get("additionalProperties"), dict):
            out.append(self.message(21, self.message(1, self.schema(s["additionalProperties"]))))
        if "type" in s:
            out.append(self.message(22, self.string(1, s["type"])))
        if "items" in s:
            out.append(self.message(23, self.message(1, self.schema(s["items"]))))
        if "properties" in s:
            out.append(self.message(25, b"".join(self.message(1, self.string(1, name) +
                                                               self.message(2, self.schema(value)))
                                                  for name, value in s["properties"].items())))
        out.append(self.extensions(31, s))
        return b"".join(out)

    def parameter(self, p: dict) -> bytes:
        if p["in"] == "body":
            body = (self.string(1, p.get("description", "")) + self.string(2, p["name"]) + self.string(3, "body")
                    + self.boolean(4, p.get("required", False)) + self.message(5, self.schema(p["schema"])))
            return self.message(1, self.message(1, body))  # ParametersItem.parameter.body_parameter
        if p["in"] == "path":
            sub = (self.boolean(1, True) + self.string(2, "path") + self.string(3, p.get("description", ""))
                   + self.string(4, p["name"]) + self.string(5, p["type"]) + self.boolean(19, p.get("uniqueItems")))
            return self.message(1, self.message(2, self.message(4, sub)))
        sub = (self.boolean(1, p.get("required", False)) + self.string(2, "query")
               + self.string(3, p.get("description", "")) + self.string(4, p["name"]) + self.string(6, p["type"])
               + self.boolean(20, p.get("uniqueItems")))
        return self.message(1, self.message(2, self.message(3, sub)))

    def operation(self, op: dict) -> bytes:
        out = [self.string(3, op.get("description", "")), self.string(5, op.get("operationId", ""))]
        out += [self.string(6, t) for t in op.get("produces", [])]
        out += [self.string(7, t) for t in op.get("consumes", [])]
        out += [self.message(8, self.parameter(p)) for p in op.get("parameters", [])]
        responses = b"".join(
            self.message(1, self.string(1, code) + self.message(2, self.message(1, self.string(
                1, response["description"]) + self.message(2, self.message(1, self.schema(response["schema"]))))))
            for code, response in op.get("responses", {}).items())
        out.append(self.message(9, responses))
        out.append(self.extensions(13, op))
        return b"".join(out)

    def path_item(self, item: dict) -> bytes:
        numbers = {"get": 2, "put": 3, "post": 4, "delete": 5, "patch": 8}
        out = [self.message(numbers[verb], self.operation(op)) for verb, op in item.items() if verb in numbers]
        out += [self.message(9, self.parameter(p)) for p in item.get("parameters", [])]
        return b"".join(out)

    def document(self, doc: dict) -> bytes:
        info = self.string(1, doc["info"]["title"]) + self.string(2, doc["info"]["version"])
        paths = b"".join(self.message(2, self.string(1, path) + self.message(2, self.path_item(item)))
                         for path, item in doc["paths"].items())
        definitions_ = b"".join(self.message(1, self.string(1, name) + self.message(2, self.schema(schema)))
                                for name, schema in doc["definitions"].items())
        return (self.string(1, doc["swagger"]) + self.message(2, info) + self.message(8, paths)
                + self.message(9, definitions_))


_gnostic = _Gnostic()
