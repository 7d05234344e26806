"""The Kubernetes REST API over HTTPS, beside the gRPC API: what the real kubectl and the
official client libraries speak.

One request path, two transports: every REST call ends in the same :class:`apiserver.api.API`
methods as gRPC (authentication by the same token file and client CA, then RBAC, admission,
validation, storage). This package only translates: URLs to (resource, namespace, name,
subresource), query parameters to options, request bodies (JSON, YAML, patches, protobuf) to
objects, answers to JSON, Tables and Status errors.

Modules, one concept each:

- :mod:`.server`: the aiohttp HTTPS server, thread pool, streaming, WebSocket upgrade;
- :mod:`.routing`: URL → target;
- :mod:`.discovery`: ``/version``, ``/api``, ``/apis`` and the resource lists;
- :mod:`.handlers`: the verbs (get, list, create, update, patch, delete) and subresources;
- :mod:`.content`: request bodies and content negotiation;
- :mod:`.patch` / :mod:`.apply`: JSON merge, JSON and strategic merge patch; server-side apply;
- :mod:`.tables`: server-side printing (``as=Table``) with kubectl's columns;
- :mod:`.watch`: watch events as JSON lines;
- :mod:`.logs` / :mod:`.exec`: ``pods/log`` and ``pods/exec`` through the kubelet proxy;
- :mod:`.status`: errors as ``Status`` objects with their HTTP codes.

See docs/rest-api.md.
"""
