"""kube-proxy's Prometheus metrics, with kube-proxy's names where it has one.

- ``kubeproxy_sync_proxy_rules_duration_seconds``: how long one sync took (listeners made to match
  the Services and EndpointSlices);
- ``kubeproxy_sync_proxy_rules_last_timestamp_seconds`` / ``…_last_queued_timestamp_seconds``: Unix
  time of the last sync and of the last change that asked for one;
- ``kubeproxy_sync_proxy_rules_service_changes_total`` / ``…_endpoint_changes_total``: Service and
  EndpointSlice events seen.

The userspace data plane has no counterpart in today's kube-proxy; its series follow the style:
``kubeproxy_userspace_connections_total{result}`` (TCP connections and UDP client sessions:
``proxied``, ``no_endpoint``: every backend refused, ``rejected``: over ``--max-connections``),
``kubeproxy_userspace_active_connections``, ``kubeproxy_userspace_listeners`` and
``kubeproxy_userspace_listener_errors`` (listeners that cannot be bound right now).
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

SYNC_DURATION = Histogram("kubeproxy_sync_proxy_rules_duration_seconds", "SyncProxyRules latency in seconds",
                          buckets=tuple(0.001 * 2 ** i for i in range(15)))
LAST_SYNC = Gauge("kubeproxy_sync_proxy_rules_last_timestamp_seconds",
                  "The last time proxy rules were successfully synced")
LAST_QUEUED = Gauge("kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds",
                    "The last time a sync of proxy rules was queued")
SERVICE_CHANGES = Counter("kubeproxy_sync_proxy_rules_service_changes_total",
                          "Cumulative proxy rules Service changes")
ENDPOINT_CHANGES = Counter("kubeproxy_sync_proxy_rules_endpoint_changes_total",
                           "Cumulative proxy rules Endpoint changes")
CONNECTIONS = Counter("kubeproxy_userspace_connections_total",
                      "Connections accepted by the userspace proxy, by result (proxied, no_endpoint, rejected)",
                      ["result"])
ACTIVE = Gauge("kubeproxy_userspace_active_connections", "Connections the userspace proxy is forwarding now")
LISTENERS = Gauge("kubeproxy_userspace_listeners", "Sockets listening for Service ports (cluster IPs and node ports)")
LISTENER_ERRORS = Gauge("kubeproxy_userspace_listener_errors",
                        "Service port sockets that cannot be bound at the moment (retried at every sync)")
