"""The pods/log and pods/exec path around the kubelet: the apiserver proxy's pure parts, the kubelet
service's container choice, and ``kubemu kubectl logs|exec`` (kubemu/kubectl_pods.py) over a fake client."""

from __future__ import annotations

import argparse
import io

import pytest

from apiserver.proxy import check_container, kubelet_address
from kubelet.server import pick_container
from kubemu import kubectl_pods
from machinery import errors
from machinery.pb import api_pb2

POD = {"metadata": {"name": "web", "namespace": "default"},
       "spec": {"containers": [{"name": "nginx"}, {"name": "sidecar"}], "initContainers": [{"name": "init"}]}}


def test_kubelet_address_from_node_status():
    node = {"metadata": {"name": "n1"}, "status": {"addresses": [{"type": "Hostname", "address": "n1"},
                                                                 {"type": "InternalIP", "address": "127.1.1.1"}],
                                                   "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}}}}
    assert kubelet_address(node) == "127.1.1.1:10250"
    with pytest.raises(errors.Unavailable, match='node "n1" reports no kubelet address'):
        kubelet_address({"metadata": {"name": "n1"}, "status": {}})


@pytest.mark.parametrize("pick", [check_container, pick_container])
def test_container_choice(pick):
    single = {"metadata": {"name": "one"}, "spec": {"containers": [{"name": "only"}]}}
    chosen = pick(single, "")
    assert (chosen if isinstance(chosen, str) else chosen["name"]) == "only"
    with pytest.raises(errors.BadRequest, match=r"a container name must be specified for pod web, choose one of: "
                                                r"\[nginx sidecar\]"):
        pick(POD, "")
    with pytest.raises(errors.BadRequest, match="container nope is not valid for pod web"):
        pick(POD, "nope")
    chosen = pick(POD, "init")
    assert (chosen if isinstance(chosen, str) else chosen["name"]) == "init"


def test_parse_duration():
    assert kubectl_pods.parse_duration("90s") == 90
    assert kubectl_pods.parse_duration("1h30m") == 5400
    assert kubectl_pods.parse_duration("500ms") == 1
    with pytest.raises(ValueError):
        kubectl_pods.parse_duration("5 minutes")


class FakeClient:
    def __init__(self):
        self.requests = []

    def get(self, resource, name, namespace=""):
        return POD

    def pod_logs(self, request):
        self.requests.append(request)
        yield b"line 1\n"
        yield b"line 2\n"

    def pod_exec(self, request):
        self.requests.append(request)
        if request.name == "missing":
            raise errors.NotFound('pods "missing" not found')
        return api_pb2.PodExecResponse(stdout=b"out\n", stderr=b"err\n", exit_code=2)


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    kubectl_pods.register(parser.add_subparsers(dest="command"))
    return parser.parse_args(list(argv))


def test_logs_command_builds_the_request_and_defaults_the_container():
    client, out, err = FakeClient(), io.StringIO(), io.StringIO()
    code = kubectl_pods.run(parse("logs", "pod/web", "-n", "default", "-f", "--tail", "5", "--since", "2m",
                                  "--timestamps"), client, out=out, err=err)
    assert code == 0 and out.getvalue() == "line 1\nline 2\n"
    assert err.getvalue() == 'Defaulted container "nginx" out of: nginx, sidecar\n'
    req = client.requests[0]
    assert (req.namespace, req.name, req.container, req.follow, req.tail_lines, req.since_seconds,
            req.timestamps) == ("default", "web", "nginx", True, 5, 120, True)
    assert kubectl_pods.run(parse("logs", "web", "-c", "sidecar", "-p"), client, out=out, err=err) == 0
    assert client.requests[1].container == "sidecar" and client.requests[1].previous
    assert not client.requests[1].HasField("tail_lines")


def test_exec_command_prints_output_and_returns_the_exit_code():
    client, out, err = FakeClient(), io.StringIO(), io.StringIO()
    args = parse("exec", "web", "-c", "nginx")
    args.extra = ["sh", "-c", "exit 2"]
    assert kubectl_pods.run(args, client, out=out, err=err) == 2
    assert out.getvalue() == "out\n"
    assert err.getvalue() == "err\ncommand terminated with exit code 2\n"
    assert list(client.requests[0].command) == ["sh", "-c", "exit 2"]
    missing = parse("exec", "missing", "-c", "x")
    missing.extra = ["true"]
    assert kubectl_pods.run(missing, client, out=out, err=err) == 1
    assert 'Error from server (NotFound): pods "missing" not found' in err.getvalue()
    assert kubectl_pods.run(argparse.Namespace(command="get"), client) is None
