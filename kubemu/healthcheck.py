"""A gRPC health probe for containers and service managers: exit 0 when the component is SERVING.

    python -m kubemu.healthcheck [ADDRESS] [--ca FILE] [--cert FILE --key FILE] [--server-name NAME]

Without ADDRESS it probes the component that is PID 1 (the container's main process) on
127.0.0.1 and its port: ``--port``/``--secure-port`` on its command line, else the
``KUBEMU_PORT``/``KUBEMU_SECURE_PORT`` environment, else the component's default. TLS files may
also come from ``KUBEMU_HEALTHCHECK_CA``/``_CERT``/``_KEY`` (a server with a client CA needs a
client certificate, any one its CA signed).
"""

from __future__ import annotations

import argparse
import os
import sys

DEFAULT_PORTS = {"apiserver": 6443, "scheduler": 10259, "controller-manager": 10257, "controller_manager": 10257,
                 "kubelet": 10250}


def pid1_address() -> str:
    try:
        with open("/proc/1/cmdline", "rb") as f:
            argv = [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
    except OSError:
        argv = []
    port = ""
    for i, arg in enumerate(argv):
        for flag in ("--port", "--secure-port"):
            if arg == flag and i + 1 < len(argv):
                port = argv[i + 1]
            elif arg.startswith(flag + "="):
                port = arg.split("=", 1)[1]
    port = port or os.environ.get("KUBEMU_SECURE_PORT") or os.environ.get("KUBEMU_PORT") or ""
    if not port:
        # The program: `kubemu-kubelet …`, `python /…/bin/kubemu-kubelet …` or `python -m kubelet …`.
        names = {os.path.basename(a).removeprefix("kubemu-") for a in argv[:3]}
        port = str(next((p for name, p in DEFAULT_PORTS.items() if name in names), 6443))
    return f"127.0.0.1:{port}"


def check(address: str, *, ca: str = "", cert: str = "", key: str = "", server_name: str = "",
          timeout_s: float = 3.0) -> str:
    """The serving status name (``SERVING``, ``NOT_SERVING`` …) or ``UNREACHABLE: <why>``."""
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    from machinery.client import Credentials, make_channel

    channel = make_channel(address, Credentials(ca_file=ca, cert_file=cert, key_file=key, tls_server_name=server_name))
    with channel:
        try:
            resp = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=timeout_s)
        except grpc.RpcError as e:
            return f"UNREACHABLE: {e.code().name} {e.details() or ''}".strip()
    return health_pb2.HealthCheckResponse.ServingStatus.Name(resp.status)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m kubemu.healthcheck", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("address", nargs="?", default="", help="HOST:PORT (default: PID 1's component on 127.0.0.1)")
    p.add_argument("--ca", default=os.environ.get("KUBEMU_HEALTHCHECK_CA", ""), help="CA bundle: probe over TLS")
    p.add_argument("--cert", default=os.environ.get("KUBEMU_HEALTHCHECK_CERT", ""), help="client certificate")
    p.add_argument("--key", default=os.environ.get("KUBEMU_HEALTHCHECK_KEY", ""), help="client key")
    p.add_argument("--server-name", default="", help="name expected in the server certificate")
    p.add_argument("--timeout", type=float, default=3.0, help="seconds")
    args = p.parse_args(argv)
    address = args.address or pid1_address()
    status = check(address, ca=args.ca, cert=args.cert, key=args.key, server_name=args.server_name,
                   timeout_s=args.timeout)
    print(f"{address}: {status}")
    return 0 if status == "SERVING" else 1


if __name__ == "__main__":
    sys.exit(main())
