"""``kubemu kubectl`` cordon, uncordon, drain, taint, label, annotate and patch on a real ``kubemu up``
cluster, each command a real CLI process, compared with what the real kubectl (through the REST API)
prints, and exits with, for the same command sequence on the same cluster."""

from __future__ import annotations

import json
import uuid

import pytest

from tests.e2e.test_kubectl_cli import Clients, wait_phase
from tests.helpers import wait_for

pytestmark = pytest.mark.e2e
NODE = "node-1"


@pytest.fixture(scope="module")
def cli(up_cluster) -> Clients:
    return Clients(up_cluster)


@pytest.fixture
def ns(cli) -> str:
    name = f"nc-{uuid.uuid4().hex[:6]}"
    assert cli.kubemu("create", "namespace", name).stdout == f"namespace/{name} created\n"
    return name


def outcome(result) -> tuple[bool, str, str]:
    # kubemu's usage errors point at "kubemu kubectl CMD -h" where kubectl's say "kubectl CMD -h".
    return result.returncode == 0, result.stdout, result.stderr.replace("'kubemu kubectl ", "'kubectl ")


def same_sequence(cli: Clients, commands: list[list[str]], reset) -> None:
    """Run ``commands`` with kubemu kubectl, ``reset()``, run them with the real kubectl: the same
    exit status, stdout and stderr, command by command."""
    ours = [outcome(cli.kubemu(*c, check=False)) for c in commands]
    reset()
    real = [outcome(cli.real(*c)) for c in commands]
    for command, mine, theirs in zip(commands, ours, real, strict=True):
        assert mine == theirs, (command, mine, theirs)


def node_spec(cli: Clients) -> dict:
    return json.loads(cli.kubemu("get", "node", NODE, "-o", "json").stdout)["spec"]


def test_cordon_and_uncordon(cli):
    commands = [["cordon", NODE], ["cordon", NODE], ["uncordon", NODE], ["uncordon", NODE], ["cordon", "nope"]]
    same_sequence(cli, commands, lambda: None)
    assert not node_spec(cli).get("unschedulable")


def test_taint(cli):
    def reset():
        cli.kubemu("taint", "nodes", NODE, "e2e-", check=False)

    commands = [["taint", "nodes", NODE, "e2e=a:NoSchedule"], ["taint", "nodes", NODE, "e2e=b:NoSchedule"],
                ["taint", "node", NODE, "e2e=b:NoSchedule", "--overwrite"],
                ["taint", "nodes", NODE, "e2e:PreferNoSchedule"], ["taint", "nodes", NODE, "e2e:NoSchedule-"],
                ["taint", f"node/{NODE}", "e2e-"], ["taint", "nodes", NODE, "e2e-"],
                ["taint", "nodes", NODE, "e2e=a:Sometimes"], ["taint", "nodes", NODE, "e2e=a=b:NoSchedule"],
                ["taint", "nodes", NODE, "e2e:NoSchedule", "e2e-"], ["taint", "nodes", NODE],
                ["taint", "nodes", "nope", "e2e:NoSchedule"]]
    same_sequence(cli, commands, reset)
    assert not any(t["key"] == "e2e" for t in node_spec(cli).get("taints") or [])


def test_label_and_annotate(cli, ns):
    cli.kubemu("run", "web", "--image=nginx", "-n", ns)

    def reset():
        cli.kubemu("label", "pod", "web", "tier-", "-n", ns, check=False)
        cli.kubemu("annotate", "pod", "web", "note-", "owner-", "-n", ns, check=False)

    commands = [["label", "pod", "web", "tier=front"], ["label", "pod", "web", "tier=back"],
                ["label", "pods/web", "tier=back", "--overwrite"], ["label", "pod", "web", "tier=back"],
                ["label", "pod", "web", "tier-"], ["label", "pod", "web", "tier-"],
                ["label", "pod", "web"], ["label", "pod", "web", "a=b=c"], ["label", "pod", "web", "a=b", "a-"],
                ["label", "pod", "web", "a=-x"], ["label", "pod", "nope", "a=b"], ["label", "pod", "a=b"],
                ["label", "pod", "web", "-o", "name", "tier=x"], ["label", "pod", "-l", "run=web", "tier-"],
                ["annotate", "pod", "web", "note=a=b", "owner=me"], ["annotate", "pod", "web", "note=c"],
                ["annotate", "pod", "web", "note=c", "--overwrite", "owner-"], ["annotate", "pod", "web", "x"],
                ["annotate", "pod", "web", "x=1", "x-"], ["annotate", "pod", "web"]]
    same_sequence(cli, [[*c, "-n", ns] for c in commands], reset)
    labels = json.loads(cli.kubemu("get", "pod", "web", "-n", ns, "-o", "json").stdout)["metadata"]["labels"]
    assert labels == {"run": "web"}
    # Several refused keys: kubectl lists them in Go's random map order, so compare them as a set.
    reset()
    cli.kubemu("annotate", "pod", "web", "note=a=b", "owner=me", "-n", ns)
    ours = cli.kubemu("annotate", "pod", "web", "note=c", "owner=x", "-n", ns, check=False)
    real = cli.real("annotate", "pod", "web", "note=c", "owner=x", "-n", ns)
    head = "error: --overwrite is false but found the following declared annotation(s): "
    for refused in (ours, real):
        assert refused.returncode != 0 and refused.stderr.startswith(head)
        assert set(refused.stderr.removeprefix(head).strip().split("; ")) == {
            "'note' already has a value (a=b)", "'owner' already has a value (me)"}


def test_patch(cli, ns):
    cli.kubemu("run", "web", "--image=nginx", "-n", ns)

    def reset():
        cli.kubemu("label", "pod", "web", "tier-", "-n", ns, check=False)
        cli.kubemu("patch", "pod", "web", "-n", ns, "-p", '{"spec":{"activeDeadlineSeconds":null}}',
                   "--type", "merge", check=False)

    commands = [["patch", "pod", "web", "-p", '{"metadata":{"labels":{"tier":"front"}}}'],
                ["patch", "pod/web", "--type", "merge", "-p", '{"metadata":{"labels":{"tier":null}}}'],
                ["patch", "pod", "web", "--type=json",
                 "-p", '[{"op":"add","path":"/metadata/labels/tier","value":"x"}]'],
                ["patch", "pod", "web"], ["patch", "pod", "web", "-p", "{}", "--type", "apply"],
                ["patch", "pod", "nope", "-p", "{}"], ["patch", "pod", "web", "-o", "name", "-p", "{}"],
                ["patch", "pod", "web", "-p", "{bad"], ["patch", "pod", "web", "-p", "[1]"],
                ["patch", "pod", "web", "--type", "json", "-p", '[{"op":"remove","path":"/spec/nope"}]'],
                ["patch", "pod", "web", "--type", "merge", "-p", '{"spec":{"containers":[{"name":"x"}]}}'],
                ["patch", "pod", "web", "-p", '{"spec":{"activeDeadlineSeconds":600}}'],
                # A patch that changes nothing writes nothing: both say "(no change)" (the real
                # kubectl only when the apiserver kept the object and its resourceVersion).
                ["patch", "pod", "web", "-p", '{"spec":{"activeDeadlineSeconds":600}}']]
    same_sequence(cli, [[*c, "-n", ns] for c in commands], reset)
    rv = json.loads(cli.kubemu("get", "pod", "web", "-n", ns, "-o", "json").stdout)["metadata"]["resourceVersion"]
    cli.real("patch", "pod", "web", "-n", ns, "-p", '{"spec":{"activeDeadlineSeconds":600}}')
    cli.real("label", "pod", "web", "tier=x", "--overwrite", "-n", ns)
    after = json.loads(cli.kubemu("get", "pod", "web", "-n", ns, "-o", "json").stdout)["metadata"]["resourceVersion"]
    assert after == rv, "a no-op PATCH through the REST API stored a new resourceVersion"


def bare_pod(cli: Clients, ns: str, name: str, tmp_path) -> None:
    manifest = tmp_path / f"{name}.yaml"
    manifest.write_text(f"""apiVersion: v1
kind: Pod
metadata: {{name: {name}, labels: {{drain: e2e}}}}
spec:
  nodeName: {NODE}
  terminationGracePeriodSeconds: 2
  containers: [{{name: c, image: nginx}}]
""")
    assert cli.kubemu("apply", "-f", str(manifest), "-n", ns).returncode == 0
    wait_phase(cli, ns, name)


def test_drain(cli, ns, tmp_path):
    bare_pod(cli, ns, "bare", tmp_path)
    drain = ["drain", NODE, "--pod-selector", "drain=e2e", "--ignore-daemonsets"]
    try:
        # Refused: the pod has no controller. The node is cordoned all the same.
        same_sequence(cli, [drain, ["uncordon", NODE]], lambda: None)
        # With --force: evicted, waited for, the node left cordoned.
        ours = cli.kubemu(*drain, "--force", "--grace-period", "1", check=False)
        assert ours.returncode == 0, ours.stderr
        assert ours.stdout == f"node/{NODE} cordoned\nevicting pod {ns}/bare\npod/bare evicted\nnode/{NODE} drained\n"
        assert ours.stderr == f"Warning: deleting Pods that declare no controller: {ns}/bare\n"
        assert node_spec(cli).get("unschedulable") is True
        assert cli.kubemu("get", "pod", "bare", "-n", ns, check=False).returncode == 1
        cli.kubemu("uncordon", NODE)
        bare_pod(cli, ns, "bare", tmp_path)
        real = cli.real(*drain, "--force", "--grace-period", "1")
        assert outcome(real) == outcome(ours)
    finally:
        cli.kubemu("uncordon", NODE, check=False)
    wait_for(lambda: not node_spec(cli).get("unschedulable"), timeout_s=10, message="uncordoned")


def test_invalid_objects_are_reported_like_kubectl(cli, ns, tmp_path):
    """An Invalid answer prints from its details ("The Pod ... is invalid"), one cause or a list."""
    one = tmp_path / "one.yaml"
    one.write_text("apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  containers:\n  - name: c\n")
    two = tmp_path / "two.yaml"
    two.write_text("apiVersion: v1\nkind: Pod\nmetadata:\n  name: Bad_Name\nspec:\n  containers:\n  - name: c\n")
    commands = [["apply", "-f", str(one)], ["create", "-f", str(two)], ["run", "Bad_Name", "--image=nginx"]]
    same_sequence(cli, [[*c, "-n", ns] for c in commands], lambda: None)
    assert cli.kubemu("get", "pods", "-n", ns, "-o", "name").stdout == "", "nothing was stored"
