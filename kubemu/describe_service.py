"""``kubemu kubectl describe service``: kubectl's service describer (``k8s.io/kubectl/pkg/describe``).

Sections as kubectl 1.32 prints them: Name, Namespace, Labels, Annotations, Selector, Type, IP
Family Policy, IP Families, IP, IPs, External IPs, External Name, LoadBalancer Ingress, then per
port ``Port``, ``TargetPort``, ``NodePort`` and the ready ``Endpoints`` of that port read from the
Service's EndpointSlices (at most three ``ip:port``, then ``+ N more...``), then Session
Affinity, the traffic policies and Events. Pure: the caller passes the slices and events.
"""

from __future__ import annotations

from datetime import datetime

from kubemu.describe import _annotations_multiline, _describe_events, _labels_multiline, _now, _Writer
from machinery.rows import selector_text

__all__ = ["describe_service", "endpoints_of_port"]


def endpoints_of_port(slices: list[dict], port_name: str) -> str:
    """The ready endpoints of one Service port (kubectl's formatEndpointSlices): ``<none>`` without
    slices, empty when none is ready."""
    if not slices:
        return "<none>"
    listed: list[str] = []
    more = False
    count = 0
    limit = 3

    def add(text: str) -> None:
        nonlocal more, count
        if len(listed) == limit:
            more = True
        if not more:
            listed.append(text)
        count += 1

    for slice_ in slices:
        endpoints = [e for e in slice_.get("endpoints") or [] if isinstance(e, dict) and e.get("addresses")]
        ready = [e for e in endpoints if (e.get("conditions") or {}).get("ready") is not False]
        ports = [p for p in slice_.get("ports") or [] if isinstance(p, dict)]
        if not ports:
            for endpoint in ready:
                add(str(endpoint["addresses"][0]))
            continue
        for port in ports:
            if (port.get("name") or "") != port_name:
                continue
            for endpoint in ready:
                address = str(endpoint["addresses"][0])
                host = f"[{address}]" if ":" in address else address
                add(f"{host}:{port.get('port')}")
    text = ",".join(listed)
    return f"{text} + {count - limit} more..." if more else text


def describe_service(svc: dict, slices: list[dict], events: list[dict] | None, now: datetime | None = None) -> str:
    current = _now(now)
    w = _Writer()
    meta = svc.get("metadata") or {}
    spec = svc.get("spec") or {}
    status = svc.get("status") or {}
    w.write(0, f"Name:\t{meta.get('name', '')}\n")
    w.write(0, f"Namespace:\t{meta.get('namespace', '')}\n")
    _labels_multiline(w, "Labels", meta.get("labels"))
    _annotations_multiline(w, "Annotations", meta.get("annotations"))
    w.write(0, f"Selector:\t{selector_text(spec.get('selector'))}\n")
    w.write(0, f"Type:\t{spec.get('type', '')}\n")
    if spec.get("ipFamilyPolicy"):
        w.write(0, f"IP Family Policy:\t{spec['ipFamilyPolicy']}\n")
    w.write(0, f"IP Families:\t{','.join(spec.get('ipFamilies') or []) or '<none>'}\n")
    w.write(0, f"IP:\t{spec.get('clusterIP', '')}\n")
    w.write(0, f"IPs:\t{','.join(spec.get('clusterIPs') or []) or '<none>'}\n")
    if spec.get("externalIPs"):
        w.write(0, f"External IPs:\t{','.join(spec['externalIPs'])}\n")
    if spec.get("loadBalancerIP"):
        w.write(0, f"Desired LoadBalancer IP:\t{spec['loadBalancerIP']}\n")
    if spec.get("externalName"):
        w.write(0, f"External Name:\t{spec['externalName']}\n")
    ingress = (status.get("loadBalancer") or {}).get("ingress") or []
    if ingress:
        shown = [(i.get("ip") + (f" ({i['ipMode']})" if i.get("ipMode") else "")) if i.get("ip")
                 else str(i.get("hostname") or "") for i in ingress if isinstance(i, dict)]
        w.write(0, f"LoadBalancer Ingress:\t{', '.join(shown)}\n")
    for port in spec.get("ports") or []:
        if not isinstance(port, dict):
            continue
        name = port.get("name") or "<unset>"
        protocol = port.get("protocol", "TCP")
        w.write(0, f"Port:\t{name}\t{port.get('port')}/{protocol}\n")
        w.write(0, f"TargetPort:\t{port.get('targetPort')}/{protocol}\n")
        if port.get("appProtocol"):
            w.write(0, f"AppProtocol:\t{port['appProtocol']}\n")
        if port.get("nodePort"):
            w.write(0, f"NodePort:\t{name}\t{port['nodePort']}/{protocol}\n")
        w.write(0, f"Endpoints:\t{endpoints_of_port(slices, port.get('name') or '')}\n")
    w.write(0, f"Session Affinity:\t{spec.get('sessionAffinity', '')}\n")
    if spec.get("externalTrafficPolicy"):
        w.write(0, f"External Traffic Policy:\t{spec['externalTrafficPolicy']}\n")
    if spec.get("internalTrafficPolicy"):
        w.write(0, f"Internal Traffic Policy:\t{spec['internalTrafficPolicy']}\n")
    if spec.get("healthCheckNodePort"):
        w.write(0, f"HealthCheck NodePort:\t{spec['healthCheckNodePort']}\n")
    if spec.get("loadBalancerSourceRanges"):
        w.write(0, f"LoadBalancer Source Ranges:\t{','.join(spec['loadBalancerSourceRanges'])}\n")
    _describe_events(w, events, current)
    return w.render()

