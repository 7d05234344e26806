"""The HTTPS server of the REST API: aiohttp on its own event-loop thread, the API on a thread pool.

Why aiohttp: a mature, well-kept asyncio HTTP server with chunked streaming responses (watches,
``logs -f``), WebSocket (``exec``), TLS through the standard ``ssl`` module (so client
certificates are verified by the same CA files the gRPC port uses) and request-size limits.
The API itself is synchronous (etcd calls, admission, locks), so every request runs on a bounded
thread pool, and every stream (watch, log) on a thread of its own, bounded too:

- ``max_workers`` threads run requests; at most ``max_inflight`` requests wait or run, more get
  429 TooManyRequests with ``Retry-After: 1`` (kube-apiserver's max-requests-inflight);
- at most ``max_streams`` watches and log streams are open at once (429 beyond);
- request bodies are at most 3 MiB (Kubernetes' limit) — 413 beyond;
- each stream's hand-over queue holds :data:`STREAM_QUEUE` chunks: a slow client slows its own
  producer, never the others.

Authentication is the apiserver's :class:`~apiserver.authn.Authenticator` (bearer token from the
token file, else the verified client certificate's CN and O), authorization and everything
after it the :class:`~apiserver.api.API`'s. ``/version``, ``/healthz``, ``/livez`` and ``/readyz``
answer without credentials, as kube-apiserver's ``system:public-info-viewer`` role allows.
Without TLS files the server speaks plain HTTP (only for ``kubemu up --insecure`` clusters).
Every request is counted and timed (:mod:`apiserver.metrics`); ``/metrics`` is served here too.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import ssl
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from aiohttp import WSMsgType, web

from apiserver import metrics, trace_recorder
from apiserver.admission import UserInfo
from apiserver.api import API
from apiserver.authn import Authenticator
from apiserver.authz import Request
from apiserver.proxy import KubeletProxy
from apiserver.rest import exec as execproto
from apiserver.rest import routing
from apiserver.rest.handlers import Call, Handlers, Reply, Stream, error_reply
from apiserver.rest.status import TooManyRequests
from machinery import errors
from machinery.server import TLSFiles

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 3 * 1024 * 1024
STREAM_QUEUE = 64
PUBLIC_PATHS = ("/version", "/healthz", "/livez", "/readyz")
ANONYMOUS = UserInfo("system:anonymous", "", ("system:unauthenticated",))


def ssl_context(tls: TLSFiles) -> ssl.SSLContext | None:
    """TLS with the serving pair; with a client CA, client certificates are asked for and verified
    but optional (kubectl with a token sends none)."""
    if not tls.cert_file:
        return None
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(tls.cert_file, tls.key_file)
    if tls.client_ca_file:
        ctx.load_verify_locations(tls.client_ca_file)
        ctx.verify_mode = ssl.CERT_OPTIONAL
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


def certificate_user(request: web.Request) -> UserInfo | None:
    """CN = user, O = groups of the client certificate the TLS handshake verified."""
    ssl_object = request.transport.get_extra_info("ssl_object") if request.transport else None
    cert = ssl_object.getpeercert() if ssl_object is not None else None
    if not cert:
        return None
    name, groups = "", []
    for rdn in cert.get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                name = value
            elif key == "organizationName":
                groups.append(value)
    return UserInfo(name, "", tuple(groups) + ("system:authenticated",)) if name else None


def impersonate(api: API, user: UserInfo, headers) -> UserInfo:
    """``Impersonate-User`` / ``Impersonate-Group`` / ``Impersonate-Uid`` (``kubectl --as``): the
    caller must be allowed to ``impersonate`` that user (resource ``users``), each group
    (``groups``) and uid (``uids``, group authentication.k8s.io); then the request runs as them."""
    name = headers.get("Impersonate-User", "")
    groups = tuple(headers.getall("Impersonate-Group", ())) if hasattr(headers, "getall") else ()
    uid = headers.get("Impersonate-Uid", "")
    if not name:
        if groups or uid:
            raise errors.BadRequest("impersonating groups or a uid requires Impersonate-User")
        return user
    checks = [("users", "", name)] + [("groups", "", g) for g in groups] + \
        ([("uids", "authentication.k8s.io", uid)] if uid else [])
    for resource, group, value in checks:
        allowed, _ = api.authorizer.allowed(Request(user, "impersonate", resource, group, "", value))
        if not allowed:
            raise errors.Forbidden(f'{resource} "{value}" is forbidden: User "{user.name}" cannot impersonate '
                                   f'resource "{resource}" in API group "{group}" at the cluster scope')
    implied = ("system:authenticated",) if name != "system:anonymous" else ("system:unauthenticated",)
    return UserInfo(name, uid, tuple(dict.fromkeys(groups + implied)))


class RestServer:
    def __init__(self, api: API, authenticator: Authenticator, host: str, port: int, *, tls: TLSFiles | None = None,
                 ready=lambda: True, max_workers: int = 64, max_inflight: int = 400, max_streams: int = 1000,
                 bookmark_interval_s: float = 60.0, proxy: KubeletProxy | None = None):
        self.api = api
        self.authenticator = authenticator
        self.host, self.port = host, port
        self.tls = tls or TLSFiles()
        self.proxy = proxy or KubeletProxy(api)
        self.handlers = Handlers(api, self.proxy, ready=ready)
        self.pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="rest")
        self.max_inflight = max_inflight
        self._inflight = 0
        self._streams = threading.BoundedSemaphore(max_streams)
        self._watches: set = set()
        self._watches_lock = threading.Lock()
        self._bookmark_interval_s = bookmark_interval_s
        self._stop = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._started = threading.Event()
        self._error: BaseException | None = None

    @property
    def scheme(self) -> str:
        return "https" if self.tls.cert_file else "http"

    @property
    def open_watches(self) -> int:
        return len(self._watches)

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True, name="rest-server")
        self._thread.start()
        self._started.wait(30)
        if self._error:
            raise OSError(f"cannot serve the REST API on {self.host}:{self.port}: {self._error}")
        threading.Thread(target=self._bookmark_loop, daemon=True, name="rest-bookmarks").start()
        log.info("serving the Kubernetes REST API on %s://%s:%d", self.scheme, self.host, self.port)

    def _run(self) -> None:
        self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._start_site())
        except BaseException as e:  # noqa: BLE001 - reported by start()
            self._error = e
            self._started.set()
            return
        self._started.set()
        self._loop.run_forever()

    async def _start_site(self) -> None:
        app = web.Application(client_max_size=MAX_BODY_BYTES)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        # handler_cancellation: a client that goes away cancels its handler at once, so an idle
        # watch frees its stream thread without waiting for the next event.
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, ssl_context=ssl_context(self.tls),
                           reuse_address=True)
        await site.start()
        if not self.port:
            self.port = site._server.sockets[0].getsockname()[1]  # noqa: SLF001 - the port the OS picked

    def stop(self) -> None:
        self._stop.set()
        with self._watches_lock:
            for watch in list(self._watches):
                watch.cancel()
        if self._loop and self._runner:
            try:
                asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(5)
            except (concurrent.futures.TimeoutError, RuntimeError) as e:
                log.warning("REST server did not stop cleanly: %s", e)
            self._loop.call_soon_threadsafe(self._loop.stop)
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.proxy.close()

    def _bookmark_loop(self) -> None:
        while not self._stop.wait(self._bookmark_interval_s):
            with self._watches_lock:
                watches = list(self._watches)
            for watch in watches:
                watch.request_bookmark()

    # --- requests -------------------------------------------------------------------------

    def _authenticate(self, request: web.Request) -> UserInfo:
        try:
            user = self.authenticator.authenticate_credentials(request.headers.get("Authorization", ""),
                                                               lambda: certificate_user(request))
        except errors.Unauthorized:
            if request.path.rstrip("/") in PUBLIC_PATHS or request.path.startswith(PUBLIC_PATHS[1:]):
                return ANONYMOUS
            raise
        return impersonate(self.api, user, request.headers)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        started, code = time.monotonic(), metrics.CLIENT_CLOSED
        labels = metrics.rest_labels(request.method, request.path, request.query,
                                     request.headers.get("Content-Type", ""))
        try:
            response = await self._admit(request)
            code = getattr(response, "status", 500)
            return response
        except asyncio.CancelledError:
            if metrics.long_running(labels):
                code = 200  # the client ended its watch or stream: the normal end
            raise
        except Exception:
            code = 500
            raise
        finally:
            metrics.record(labels, code, started)

    async def _admit(self, request: web.Request) -> web.StreamResponse:
        if self._inflight >= self.max_inflight:
            return self._reply(error_reply(TooManyRequests("Too many requests, please try again later.")),
                               {"Retry-After": "1"})
        self._inflight += 1
        try:
            return await self._serve(request)
        finally:
            self._inflight -= 1

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        try:
            user = self._authenticate(request)
            target = routing.parse(request.path)
            if target is not None and target.subresource == "exec" and request.method in ("GET", "POST"):
                return await self._exec(request, user, target)
            try:
                body = await request.read()
            except web.HTTPRequestEntityTooLarge:
                raise errors.BadRequest(f"the request body is larger than {MAX_BODY_BYTES} bytes") from None
        except errors.Unauthorized as e:
            # kube-apiserver says only "Unauthorized" (kubectl: "You must be logged in to the server
            # (Unauthorized)"); why is logged, not told.
            log.info("401 for %s %s: %s", request.method, request.path, e.message)
            return self._reply(error_reply(errors.Unauthorized("Unauthorized")))
        except errors.APIError as e:
            return self._reply(error_reply(e))
        call = Call(request.method, request.path, {k: request.query[k] for k in request.query.keys()},
                    request.headers, body, user, server_address=f"{request.host}")
        loop = asyncio.get_running_loop()
        try:
            reply = await loop.run_in_executor(
                self.pool, trace_recorder.rest_handler(self.handlers.handle, self.authenticator), call)
        except RuntimeError:  # the pool is shut down
            return self._reply(error_reply(errors.Unavailable("the apiserver is shutting down")))
        except Exception:  # noqa: BLE001 - a bad request never takes the server down
            log.exception("%s %s failed unexpectedly", request.method, request.path)
            return self._reply(error_reply(errors.InternalError(f"internal error serving {request.path}")))
        if isinstance(reply, Stream):
            return await self._stream(request, reply)
        return self._reply(reply)

    @staticmethod
    def _reply(reply: Reply, extra_headers: dict | None = None) -> web.Response:
        content_type = "application/yaml" if reply.as_yaml else reply.content_type
        return web.Response(status=reply.code, body=reply.encoded(),
                            headers={"Content-Type": content_type, **reply.headers, **(extra_headers or {})})

    # --- streams --------------------------------------------------------------------------

    async def _stream(self, request: web.Request, stream: Stream) -> web.StreamResponse:
        if not self._streams.acquire(blocking=False):
            stream.cancel()
            return self._reply(error_reply(TooManyRequests("too many open watches and streams")),
                               {"Retry-After": "1"})
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue = asyncio.Queue(maxsize=STREAM_QUEUE)
        done = threading.Event()
        if stream.watch is not None:
            with self._watches_lock:
                self._watches.add(stream.watch)

        def put(item) -> bool:
            future = asyncio.run_coroutine_threadsafe(queue.put(item), loop)
            while not done.is_set():
                try:
                    future.result(timeout=1.0)
                    return True
                except concurrent.futures.TimeoutError:
                    continue
                except (RuntimeError, concurrent.futures.CancelledError):
                    return False
            future.cancel()
            return False

        def produce() -> None:
            try:
                for chunk in stream.chunks:
                    if done.is_set() or not put(("data", chunk)):
                        return
                put(("end", None))
            except errors.APIError as e:
                put(("error", e))
            except Exception:  # noqa: BLE001 - reported to the client, logged here
                log.exception("stream of %s failed unexpectedly", request.path)
                put(("error", errors.InternalError("internal error while streaming")))
            finally:
                self._streams.release()
                if stream.watch is not None:
                    with self._watches_lock:
                        self._watches.discard(stream.watch)

        threading.Thread(target=produce, daemon=True, name="rest-stream").start()
        response = None
        try:
            item = None
            if stream.first_chunk_wait_s:
                try:
                    item = await asyncio.wait_for(queue.get(), stream.first_chunk_wait_s)
                except TimeoutError:
                    item = None
                if item is not None and item[0] == "error":
                    return self._reply(error_reply(item[1]))
            response = web.StreamResponse(status=200, headers={"Content-Type": stream.content_type,
                                                               "Cache-Control": "no-cache, private"})
            response.enable_chunked_encoding()
            await response.prepare(request)
            while True:
                if item is None:
                    item = await queue.get()
                kind, value = item
                item = None
                if kind == "data":
                    await response.write(value)
                elif kind == "error":
                    if stream.content_type.startswith("text/"):
                        await response.write(f"\nerror: {value.message}\n".encode())
                    break
                else:
                    break
            await response.write_eof()
        except (ConnectionResetError, ConnectionError):
            pass
        finally:
            done.set()
            stream.cancel()
        return response

    # --- exec -----------------------------------------------------------------------------

    async def _exec(self, request: web.Request, user: UserInfo, target) -> web.StreamResponse:
        upgrade = request.headers.get("Upgrade", "").lower()
        if upgrade.startswith("spdy"):
            return self._reply(error_reply(errors.BadRequest(execproto.SPDY_MESSAGE)))
        if upgrade != "websocket":
            return self._reply(error_reply(errors.BadRequest(
                "Upgrade request required: pods/exec is served over WebSocket (v5.channel.k8s.io)")))
        query = request.query
        commands = query.getall("command", [])
        loop = asyncio.get_running_loop()
        check = execproto.exec_request(target.namespace, target.name, query, commands)
        try:
            if not commands:
                raise errors.BadRequest("you must specify at least 1 command")
            await loop.run_in_executor(self.pool, self.proxy.check, user, "create", "exec", check)
        except errors.APIError as e:
            return self._reply(error_reply(e))
        ws = web.WebSocketResponse(protocols=execproto.PROTOCOLS, max_msg_size=execproto.MAX_STDIN_BYTES + 16)
        await ws.prepare(request)
        if execproto.is_interactive_shell(query, commands):
            try:
                await self._line_shell(ws, user, target, query)
            except (ConnectionResetError, ConnectionError):
                pass
            finally:
                await ws.close()
            return ws
        try:
            stdin = await self._read_stdin(ws) if execproto.flag(query, "stdin") else b""
            request_pb = execproto.exec_request(target.namespace, target.name, query, commands, stdin)
            try:
                result = await loop.run_in_executor(self.pool, self.proxy.exec, user, request_pb)
            except errors.APIError as e:
                await ws.send_bytes(execproto.frame(execproto.ERROR, execproto.error_status(e.message)))
                return ws
            if result.stdout and execproto.flag(query, "stdout"):
                await ws.send_bytes(execproto.frame(execproto.STDOUT, result.stdout))
            if result.stderr and (execproto.flag(query, "stderr") or execproto.flag(query, "tty")):
                channel = execproto.STDOUT if execproto.flag(query, "tty") else execproto.STDERR
                await ws.send_bytes(execproto.frame(channel, result.stderr))
            await ws.send_bytes(execproto.frame(execproto.ERROR, execproto.exit_status(
                result.exit_code, list(commands), result.timed_out)))
        except (ConnectionResetError, ConnectionError):
            pass
        finally:
            await ws.close()
        return ws

    async def _line_shell(self, ws: web.WebSocketResponse, user: UserInfo, target, query) -> None:
        """``exec -it POD -- sh``: a line-oriented terminal (see :class:`apiserver.rest.exec.LineShell`)."""
        loop = asyncio.get_running_loop()
        shell = execproto.LineShell()
        last_code = 0
        await ws.send_bytes(execproto.frame(execproto.STDOUT, execproto.PROMPT))
        while shell.exit_code is None:
            try:
                message = await ws.receive(timeout=execproto.STDIN_TIMEOUT_S)
            except TimeoutError:
                break
            if message.type != WSMsgType.BINARY or not message.data:
                if message.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                    return
                continue
            channel, payload = message.data[0], message.data[1:]
            if channel == execproto.CLOSE:
                break
            if channel != execproto.STDIN:
                continue
            for action, data in shell.feed(payload):
                if action == "echo":
                    await ws.send_bytes(execproto.frame(execproto.STDOUT, data))
                    continue
                run = execproto.exec_request(target.namespace, target.name, query, ["sh", "-c", data.decode()])
                try:
                    result = await loop.run_in_executor(self.pool, self.proxy.exec, user, run)
                    output, last_code = result.stdout + result.stderr, result.exit_code
                except errors.APIError as e:
                    output, last_code = f"error: {e.message}\n".encode(), 1
                await ws.send_bytes(execproto.frame(execproto.STDOUT, execproto.terminal_text(output)
                                                    + execproto.PROMPT))
        code = last_code if shell.exit_code in (None, -1) else shell.exit_code
        await ws.send_bytes(execproto.frame(execproto.ERROR, execproto.exit_status(code, ["sh"])))

    @staticmethod
    async def _read_stdin(ws: web.WebSocketResponse) -> bytes:
        """Collect stdin until the client closes it (v5) or the connection (v4); bounded in size and time."""
        data = bytearray()
        deadline = asyncio.get_running_loop().time() + execproto.STDIN_TIMEOUT_S
        while True:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                break
            try:
                message = await ws.receive(timeout=remaining)
            except TimeoutError:
                break
            if message.type == WSMsgType.BINARY and message.data:
                channel, payload = message.data[0], message.data[1:]
                if channel == execproto.STDIN:
                    data += payload[:max(0, execproto.MAX_STDIN_BYTES - len(data))]
                elif channel == execproto.CLOSE and payload[:1] == bytes([execproto.STDIN]):
                    break
            elif message.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                break
        return bytes(data)
