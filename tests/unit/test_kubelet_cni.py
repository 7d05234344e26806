"""The CNI exec protocol (kubelet/cni.py) against tiny fake plugin executables."""

from __future__ import annotations

import json
import os
import sys

import pytest

from kubelet.cni import CNIError, CNINetwork, result_ip

# A fake IPAM plugin: records what it was called with, hands out 10.99.0.<n> per container id.
FAKE_IPAM = """#!{python}
import json, os, sys
conf = json.load(sys.stdin)
log = os.path.join(conf["logDir"], "calls.jsonl")
env = {{k: v for k, v in os.environ.items() if k.startswith("CNI_")}}
with open(log, "a") as f:
    f.write(json.dumps({{"env": env, "conf": conf}}) + "\\n")
if env["CNI_COMMAND"] == "ADD":
    if "fail" in env["CNI_CONTAINERID"]:
        print(json.dumps({{"cniVersion": conf["cniVersion"], "code": 11, "msg": "no addresses left"}}))
        sys.exit(1)
    n = sum(1 for _ in open(log))
    print(json.dumps({{"cniVersion": conf["cniVersion"], "ips": [{{"address": "10.99.0.%d/24" % n}}]}}))
"""
# A chained plugin: passes the previous result through, adding a DNS section.
FAKE_CHAINED = """#!{python}
import json, sys
conf = json.load(sys.stdin)
result = dict(conf.get("prevResult") or {{}})
result["dns"] = {{"nameservers": ["10.96.0.10"]}}
print(json.dumps(result))
"""


def plugin(bin_dir, name: str, body: str) -> None:
    path = bin_dir / name
    path.write_text(body.format(python=sys.executable))
    os.chmod(path, 0o755)


@pytest.fixture
def setup(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    plugin(bin_dir, "fake-ipam", FAKE_IPAM)
    plugin(bin_dir, "fake-chain", FAKE_CHAINED)
    return tmp_path, bin_dir


def calls(tmp_path) -> list[dict]:
    with open(tmp_path / "calls.jsonl") as f:
        return [json.loads(line) for line in f]


def test_add_get_del_with_a_single_plugin(setup):
    tmp_path, bin_dir = setup
    conf = tmp_path / "net.conf"
    conf.write_text(json.dumps({"cniVersion": "1.0.0", "name": "kubemu", "type": "fake-ipam",
                                "logDir": str(tmp_path)}))
    net = CNINetwork(str(conf), [str(bin_dir)], str(tmp_path / "state"),
                     pod_info=lambda uid: ("default", "web"))
    ip = net.allocate("uid-1")
    assert ip == "10.99.0.1"
    assert net.allocate("uid-1") == ip, "ADD is not repeated for a pod that has its IP"
    assert net.get("uid-1") == ip
    call = calls(tmp_path)[0]
    assert call["env"]["CNI_COMMAND"] == "ADD" and call["env"]["CNI_CONTAINERID"] == "uid-1"
    assert call["env"]["CNI_IFNAME"] == "eth0" and call["env"]["CNI_NETNS"].endswith("/ns/net")
    assert "K8S_POD_NAMESPACE=default;K8S_POD_NAME=web" in call["env"]["CNI_ARGS"]
    assert call["conf"]["name"] == "kubemu" and call["conf"]["cniVersion"] == "1.0.0"
    assert net.release("uid-1") == ip
    last = calls(tmp_path)[-1]
    assert last["env"]["CNI_COMMAND"] == "DEL" and last["conf"]["prevResult"]["ips"][0]["address"] == "10.99.0.1/24"
    assert net.get("uid-1") is None


def test_conflist_chains_prev_result_and_errors_carry_the_plugin_message(setup):
    tmp_path, bin_dir = setup
    conf = tmp_path / "net.conflist"
    conf.write_text(json.dumps({"cniVersion": "0.4.0", "name": "chain", "plugins": [
        {"type": "fake-ipam", "logDir": str(tmp_path)}, {"type": "fake-chain"}]}))
    net = CNINetwork(str(conf), [str(tmp_path / "nowhere"), str(bin_dir)], str(tmp_path / "state"))
    assert net.allocate("uid-2") == "10.99.0.1"
    with open(tmp_path / "state" / "uid-2.json") as f:
        assert json.load(f)["dns"] == {"nameservers": ["10.96.0.10"]}
    with pytest.raises(CNIError, match="code 11: no addresses left"):
        net.allocate("uid-fail")
    bad = tmp_path / "missing.conf"
    bad.write_text(json.dumps({"cniVersion": "1.0.0", "name": "x", "type": "not-installed"}))
    with pytest.raises(CNIError, match='failed to find plugin "not-installed"'):
        CNINetwork(str(bad), [str(bin_dir)], str(tmp_path / "s2")).allocate("uid-3")


def test_result_ip_versions():
    assert result_ip({"ips": [{"address": "10.0.0.5/16"}]}) == "10.0.0.5"
    assert result_ip({"ip4": {"ip": "10.0.0.6/24"}}) == "10.0.0.6"
    with pytest.raises(CNIError):
        result_ip({})
