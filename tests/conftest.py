"""Shared fixtures: a real etcd server and real component processes on free ports."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest

from kubemu.etcd_server import EtcdMember, find_etcd_binary, free_port, wait_ready
from machinery.client import APIClient, Credentials
from tests.helpers import wait_for

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Components that tests start serve no metrics unless the test asks (--metrics-port), so no test
# binds the well-known metrics ports 10251, 10252 and 10255 (flags win over this environment).
os.environ.setdefault("KUBEMU_METRICS_PORT", "0")


class Proc:
    """A component process whose output goes to a log file, shown when a test fails."""

    def __init__(self, args: list[str], log_path: str, env: dict | None = None):
        self.args = args
        self.log_path = log_path
        self._log = open(log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.popen = subprocess.Popen(args, stdout=self._log, stderr=subprocess.STDOUT, cwd=ROOT,
                                      env={**os.environ, **(env or {})}, start_new_session=True)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, timeout_s: float = 10.0) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        self._log.close()

    def kill(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait()

    def output(self) -> str:
        with open(self.log_path, errors="replace") as f:
            return f.read()


@pytest.fixture(scope="session", autouse=True)
def private_default_kubeconfig(tmp_path_factory):
    """``kubemu up`` merges its context into the default kubeconfig ($KUBECONFIG): in tests that is
    a file of the session's own, never the user's ~/.kube/config."""
    path = tmp_path_factory.mktemp("kube") / "config"
    old = os.environ.get("KUBECONFIG")
    os.environ["KUBECONFIG"] = str(path)
    yield path
    if old is None:
        os.environ.pop("KUBECONFIG", None)
    else:
        os.environ["KUBECONFIG"] = old


@pytest.fixture(scope="session")
def etcd(tmp_path_factory):
    """A real etcd server on free ports with a temporary data dir, for the whole session."""
    data = tmp_path_factory.mktemp("etcd")
    member = EtcdMember("test", str(data / "data"), free_port(), free_port())
    proc = Proc(member.command(find_etcd_binary()), str(data / "etcd.log"))
    try:
        wait_ready(member.client_url)
    except TimeoutError:
        proc.stop()
        raise AssertionError(f"etcd did not start:\n{proc.output()[-3000:]}") from None
    member.proc = proc
    yield member
    proc.stop()


def start_apiserver(etcd_url: str, log_dir, *extra: str, token: str = "", port: int = 0,
                    ca_file: str = "", cert: str = "", rest_port: int = 0) -> tuple[Proc, str]:
    """Start an apiserver process; return once it serves and has bootstrapped its defaults.
    ``rest_port`` 0 leaves the REST API off (so test apiservers never share port 6444)."""
    port = port or free_port()
    proc = Proc([sys.executable, "-m", "apiserver", "--etcd-servers", etcd_url, "--bind-address", "127.0.0.1",
                 "--secure-port", str(port), "--rest-port", str(rest_port), *extra],
                str(log_dir / f"apiserver-{port}.log"))
    address = f"127.0.0.1:{port}"
    client = APIClient(address, Credentials(token=token, ca_file=ca_file, cert_file=f"{cert}.crt" if cert else "",
                                            key_file=f"{cert}.key" if cert else ""), retry_timeout_s=1)
    try:
        wait_for(lambda: client.get("priorityclasses", "system-node-critical"), timeout_s=30,
                 message="apiserver ready")
        if rest_port:
            wait_for(lambda: _rest_ready(rest_port), timeout_s=30, message="REST API /readyz")
    except AssertionError:
        proc.stop()
        raise AssertionError(f"apiserver did not start:\n{proc.output()[-3000:]}") from None
    finally:
        client.close()
    return proc, address


def _rest_ready(port: int) -> bool:
    """The REST API answers /readyz with 200 (TLS or plain; the certificate is not checked here)."""
    import ssl
    import urllib.request

    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    for scheme in ("https", "http"):
        try:
            with urllib.request.urlopen(f"{scheme}://127.0.0.1:{port}/readyz", context=context if scheme == "https"
                                        else None, timeout=2) as response:
                return response.status == 200
        except Exception:  # noqa: BLE001 - not up yet, or the other scheme
            continue
    return False


@pytest.fixture(scope="session")
def apiserver(etcd, tmp_path_factory):
    """One apiserver process for the session, on a free port."""
    proc, address = start_apiserver(etcd.client_url, tmp_path_factory.mktemp("apiserver"),
                                    "--watch-bookmark-interval", "1")
    proc.address = address
    yield proc
    proc.stop()


@pytest.fixture
def client(apiserver):
    c = APIClient(apiserver.address, retry_timeout_s=5)
    yield c
    c.close()


@pytest.fixture
def namespace(client):
    """A fresh namespace per test, so tests never see each other's objects."""
    name = f"t-{uuid.uuid4().hex[:8]}"
    client.create("namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    return name
