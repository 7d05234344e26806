"""Optional export of trace spans to an OpenTelemetry collector (Jaeger, Tempo, the OTel Collector).

Off by default; ``--otlp-endpoint http://jaeger:4318`` turns it on. The protocol is OTLP/HTTP with
the JSON encoding (``POST <endpoint>/v1/traces``, ``Content-Type: application/json``), written
with the standard library only: no OpenTelemetry SDK to install. In OTLP/JSON trace and span ids
are hex strings and 64-bit integers are decimal strings.

It never blocks the component: :meth:`OTLPExporter.offer` puts the finished span on a bounded
queue (dropping it when full, counted in ``dropped``); one background thread sends batches of
up to :data:`BATCH` spans every :data:`INTERVAL_S` seconds. A collector that is down costs one
failed request per interval (logged once a minute); its spans are dropped, not retried, and
stay in the component's own ring buffer for ``kubemu trace``.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
import urllib.error
import urllib.request

log = logging.getLogger(__name__)

QUEUE_SIZE = 4096
BATCH = 256
INTERVAL_S = 1.0
TIMEOUT_S = 5.0
SPAN_KIND_INTERNAL = 1
STATUS_ERROR = 2


def _value(v) -> dict:
    if isinstance(v, bool):
        return {"boolValue": v}
    if isinstance(v, int):
        return {"intValue": str(v)}
    if isinstance(v, float):
        return {"doubleValue": v}
    if isinstance(v, str):
        return {"stringValue": v}
    return {"stringValue": json.dumps(v, separators=(",", ":"), default=str)}


def _attributes(d: dict) -> list[dict]:
    return [{"key": k, "value": _value(v)} for k, v in d.items()]


def span_json(d: dict) -> dict:
    """One span (as :meth:`machinery.tracing.Span.to_dict` gives it) in OTLP/JSON."""
    attributes = {f"kubemu.{k}": v for k, v in (d.get("attributes") or {}).items()}
    for key, field in (("k8s.pod.name", "object"), ("k8s.pod.uid", "objectUid")):
        if d.get(field):
            attributes[key] = d[field].split("/")[-1] if field == "object" else d[field]
    if d.get("object"):
        attributes["k8s.namespace.name"] = d["object"].split("/")[0]
    for key, field in (("kubemu.etcd.read_revision", "readRevision"), ("kubemu.etcd.write_revision", "writeRevision")):
        if d.get(field):
            attributes[key] = d[field]
    out = {"traceId": d["traceId"], "spanId": d["spanId"], "name": d["name"], "kind": SPAN_KIND_INTERNAL,
           "startTimeUnixNano": str(d["startUnixNanos"]),
           "endTimeUnixNano": str(d["startUnixNanos"] + d["durationNanos"]),
           "attributes": _attributes(attributes)}
    if d.get("parentSpanId"):
        out["parentSpanId"] = d["parentSpanId"]
    if d.get("error"):
        out["status"] = {"code": STATUS_ERROR, "message": d["error"]}
    return out


def export_request(spans: list[dict]) -> dict:
    """An ExportTraceServiceRequest: one resource per process (component, identity, host, pid)."""
    by_process: dict[tuple, list[dict]] = {}
    for d in spans:
        by_process.setdefault((d["component"], d["identity"], d["host"], d["pid"]), []).append(d)
    resource_spans = []
    for (component, identity, host, pid), group in by_process.items():
        resource = _attributes({"service.name": f"kubemu-{component}", "service.instance.id": identity,
                                "host.name": host, "process.pid": pid})
        resource_spans.append({"resource": {"attributes": resource},
                               "scopeSpans": [{"scope": {"name": "kubemu"}, "spans": [span_json(d) for d in group]}]})
    return {"resourceSpans": resource_spans}


class OTLPExporter:
    def __init__(self, endpoint: str, *, service: str = "", interval_s: float = INTERVAL_S):
        self.url = endpoint.rstrip("/") + ("" if endpoint.rstrip("/").endswith("/v1/traces") else "/v1/traces")
        self.service = service
        self.interval_s = interval_s
        self._queue: queue.Queue = queue.Queue(maxsize=QUEUE_SIZE)
        self._stop = threading.Event()
        self.sent = self.dropped = self.failed_batches = 0
        self._last_warning = 0.0

    def start(self) -> None:
        threading.Thread(target=self._loop, daemon=True, name="otlp-export").start()
        log.info("exporting trace spans over OTLP/HTTP to %s", self.url)

    def stop(self) -> None:
        self._stop.set()

    def offer(self, span) -> None:
        try:
            self._queue.put_nowait(span)
        except queue.Full:
            self.dropped += 1

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.flush()

    def flush(self) -> None:
        while True:
            batch = []
            while len(batch) < BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            if not batch:
                return
            self._send([s.to_dict() for s in batch])

    def _send(self, spans: list[dict]) -> None:
        body = json.dumps(export_request(spans), separators=(",", ":"), default=str).encode()
        request = urllib.request.Request(self.url, data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
                response.read()
            self.sent += len(spans)
        except (urllib.error.URLError, OSError, ValueError) as e:
            self.failed_batches += 1
            self.dropped += len(spans)
            if time.monotonic() - self._last_warning > 60:
                self._last_warning = time.monotonic()
                log.warning("OTLP export to %s failed (%s); spans dropped (kubemu trace still has them)",
                            self.url, e)
