"""Tests for kubemu.printers: kubectl-identical AGE, STATUS, tables, YAML and JSON."""

from __future__ import annotations

import copy
import json
import re
from datetime import UTC, datetime

import pytest
import yaml

from kubemu.printers import (
    format_table,
    human_duration,
    no_resources_message,
    pod_status_reason,
    tabwrite,
    to_json,
    to_yaml,
)

NOW = datetime(2026, 11, 25, 8, 45, 2, tzinfo=UTC)
FIVE_MIN_AGO = "2026-11-25T08:40:02Z"


def running(name: str, restarts: int = 0, ready: bool = True) -> dict:
    return {
        "name": name,
        "ready": ready,
        "restartCount": restarts,
        "state": {"running": {"startedAt": FIVE_MIN_AGO}},
    }


def make_pod(
    name: str = "web",
    *,
    statuses: list[dict] | None = None,
    phase: str = "Running",
    containers: int = 2,
    **extra_status,
) -> dict:
    names = [f"c{i}" for i in range(containers)]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "default", "creationTimestamp": FIVE_MIN_AGO},
        "spec": {"nodeName": "node-1", "containers": [{"name": n, "image": "nginx"} for n in names]},
        "status": {
            "phase": phase,
            "podIP": "10.244.0.7",
            "podIPs": [{"ip": "10.244.0.7"}],
            "conditions": [{"type": "Ready", "status": "True"}],
            "containerStatuses": statuses if statuses is not None else [running(n) for n in names],
            **extra_status,
        },
    }


def make_node(name: str = "node-1", ready: str = "True", **spec) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "creationTimestamp": "2026-11-23T05:45:02Z",
            "labels": {"kubernetes.io/hostname": name},
        },
        "spec": dict(spec),
        "status": {
            "conditions": [{"type": "Ready", "status": ready}],
            "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
            "nodeInfo": {
                "kubeletVersion": "v1.31.0",
                "osImage": "Debian GNU/Linux 12",
                "kernelVersion": "6.1.0",
                "containerRuntimeVersion": "kubemu://0.1.0",
            },
        },
    }


# --------------------------------------------------------------------------- human_duration


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (-5, "<invalid>"),
        (-1.5, "0s"),
        (0, "0s"),
        (45, "45s"),
        (119, "119s"),
        (120, "2m"),
        (125, "2m5s"),
        (300, "5m"),
        (599, "9m59s"),
        (600, "10m"),
        (3 * 3600 - 1, "179m"),
        (3 * 3600 + 20 * 60, "3h20m"),
        (5 * 3600, "5h"),
        (8 * 3600, "8h"),
        (47 * 3600 + 59 * 60, "47h"),
        (51 * 3600, "2d3h"),
        (7 * 86400, "7d"),
        (8 * 86400, "8d"),
        (45 * 86400, "45d"),
        (729 * 86400, "729d"),
        (3 * 365 * 86400 + 120 * 86400, "3y120d"),
        (4 * 365 * 86400, "4y"),
        (9 * 365 * 86400 + 5 * 86400, "9y"),
    ],
)
def test_human_duration_matches_apimachinery(seconds: float, expected: str) -> None:
    assert human_duration(seconds) == expected


# --------------------------------------------------------------------------- tabwriter


def test_tabwrite_elastic_columns_and_trailing_cell() -> None:
    text = "a\tbb\tlast\nccc\td\tx\nno tabs here\ne\tf\n"
    assert tabwrite(text, minwidth=0, padding=2) == "a    bb  last\nccc  d   x\nno tabs here\ne  f\n"


# --------------------------------------------------------------------------- pods table


def test_running_two_container_pod_row() -> None:
    out = format_table("pods", [make_pod()], now=NOW)
    assert out == ("NAME   READY   STATUS    RESTARTS   AGE\nweb    2/2     Running   0          5m\n")


def test_columns_are_aligned_across_rows() -> None:
    pods = [make_pod("web"), make_pod("a-much-longer-name", containers=1)]
    lines = format_table("po", pods, now=NOW).splitlines()
    assert lines[0] == "NAME                 READY   STATUS    RESTARTS   AGE"
    assert lines[1] == "web                  2/2     Running   0          5m"
    assert lines[2] == "a-much-longer-name   1/1     Running   0          5m"


def test_wide_pods_show_ip_node_nominated_and_gates() -> None:
    out = format_table("pods", [make_pod()], wide=True, now=NOW)
    header, row = out.splitlines()
    assert header.split() == [
        "NAME",
        "READY",
        "STATUS",
        "RESTARTS",
        "AGE",
        "IP",
        "NODE",
        "NOMINATED",
        "NODE",
        "READINESS",
        "GATES",
    ]
    assert "NOMINATED NODE   READINESS GATES" in header
    assert row == "web    2/2     Running   0          5m    10.244.0.7   node-1   <none>           <none>"


def test_all_namespaces_prepends_namespace_column() -> None:
    out = format_table("pods", [make_pod()], all_namespaces=True, now=NOW)
    assert out.splitlines()[0].startswith("NAMESPACE   NAME   READY")
    assert out.splitlines()[1].startswith("default     web    2/2")


def test_restarts_show_time_since_last_termination() -> None:
    status = running("c0", restarts=2)
    status["lastState"] = {"terminated": {"exitCode": 1, "finishedAt": "2026-11-25T08:43:02Z"}}
    out = format_table("pods", [make_pod(statuses=[status], containers=1)], now=NOW)
    assert out.splitlines()[1] == "web    1/1     Running   2 (2m ago)   5m"


def test_crash_loop_back_off() -> None:
    status = {
        "name": "c0",
        "ready": False,
        "restartCount": 4,
        "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s"}},
        "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": "2026-11-25T08:44:32Z"}},
    }
    pod = make_pod(statuses=[status], containers=1)
    assert pod_status_reason(pod) == "CrashLoopBackOff"
    assert (
        format_table("pods", [pod], now=NOW).splitlines()[1]
        == "web    0/1     CrashLoopBackOff   4 (30s ago)   5m"
    )


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ({"waiting": {"reason": "ContainerCreating"}}, "ContainerCreating"),
        ({"waiting": {"reason": "ErrImagePull"}}, "ErrImagePull"),
        ({"waiting": {"reason": "ImagePullBackOff"}}, "ImagePullBackOff"),
        ({"terminated": {"exitCode": 0, "reason": "Completed"}}, "Completed"),
        ({"terminated": {"exitCode": 137, "reason": "OOMKilled"}}, "OOMKilled"),
        ({"terminated": {"exitCode": 1, "reason": "Error"}}, "Error"),
        ({"terminated": {"exitCode": 143, "signal": 15}}, "Signal:15"),
        ({"terminated": {"exitCode": 3}}, "ExitCode:3"),
    ],
)
def test_container_state_reasons(state: dict, expected: str) -> None:
    pod = make_pod(statuses=[{"name": "c0", "ready": False, "restartCount": 0, "state": state}], containers=1)
    assert pod_status_reason(pod) == expected


def test_pending_pod_without_statuses_shows_phase() -> None:
    pod = make_pod(statuses=[], phase="Pending")
    assert pod_status_reason(pod) == "Pending"
    assert format_table("pods", [pod], now=NOW).splitlines()[1] == "web    0/2     Pending   0          5m"


def test_status_reason_overrides_phase() -> None:
    assert pod_status_reason(make_pod(statuses=[], phase="Failed", reason="Evicted")) == "Evicted"


def test_terminating_when_deletion_timestamp_set() -> None:
    pod = make_pod()
    pod["metadata"]["deletionTimestamp"] = "2026-11-25T08:45:30Z"
    assert pod_status_reason(pod) == "Terminating"
    pod["status"]["phase"] = "Succeeded"
    pod["status"]["containerStatuses"] = [
        {
            "name": n,
            "ready": False,
            "restartCount": 0,
            "state": {"terminated": {"exitCode": 0, "reason": "Completed"}},
        }
        for n in ("c0", "c1")
    ]
    assert pod_status_reason(pod) == "Completed"


def test_node_lost_pod_being_deleted_is_unknown() -> None:
    pod = make_pod(reason="NodeLost")
    pod["metadata"]["deletionTimestamp"] = "2026-11-25T08:45:30Z"
    assert pod_status_reason(pod) == "Unknown"


def test_completed_container_with_running_sibling() -> None:
    done = {
        "name": "c1",
        "ready": False,
        "restartCount": 0,
        "state": {"terminated": {"exitCode": 0, "reason": "Completed"}},
    }
    pod = make_pod(statuses=[running("c0"), done])
    assert pod_status_reason(pod) == "Running"
    pod["status"]["conditions"] = [{"type": "Ready", "status": "False"}]
    assert pod_status_reason(pod) == "NotReady"


def test_init_containers() -> None:
    pod = make_pod(statuses=[], phase="Pending", containers=1)
    pod["spec"]["initContainers"] = [{"name": "i0"}, {"name": "i1"}]
    done = {"name": "i0", "restartCount": 0, "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}
    busy = {"name": "i1", "restartCount": 0, "state": {"running": {}}}
    pod["status"]["initContainerStatuses"] = [done, busy]
    assert pod_status_reason(pod) == "Init:1/2"
    pod["status"]["initContainerStatuses"] = [
        done,
        {**busy, "state": {"waiting": {"reason": "ErrImagePull"}}},
    ]
    assert pod_status_reason(pod) == "Init:ErrImagePull"
    pod["status"]["initContainerStatuses"] = [
        done,
        {**busy, "restartCount": 3, "state": {"waiting": {"reason": "CrashLoopBackOff"}}},
    ]
    assert format_table("pods", [pod], now=NOW).splitlines()[1].split()[:4] == [
        "web",
        "0/1",
        "Init:CrashLoopBackOff",
        "3",
    ]
    pod["status"]["initContainerStatuses"] = [done, {**busy, "state": {"terminated": {"exitCode": 2}}}]
    assert pod_status_reason(pod) == "Init:ExitCode:2"


def test_scheduling_gated() -> None:
    pod = make_pod(statuses=[], phase="Pending")
    pod["status"]["conditions"] = [{"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}]
    assert pod_status_reason(pod) == "SchedulingGated"


def test_printing_never_mutates_input() -> None:
    pod = make_pod()
    pod["metadata"]["deletionTimestamp"] = "2026-11-25T08:45:30Z"
    before = copy.deepcopy(pod)
    format_table("pods", [pod], wide=True, all_namespaces=True, now=NOW)
    to_yaml([pod])
    to_json(pod)
    assert pod == before


# --------------------------------------------------------------------------- nodes and others


def test_nodes_table() -> None:
    control = make_node("cp-1")
    control["metadata"]["labels"]["node-role.kubernetes.io/control-plane"] = ""
    nodes = [control, make_node("node-1", ready="False", unschedulable=True), make_node("node-2")]
    nodes[2]["status"]["conditions"] = []
    assert format_table("nodes", nodes, now=NOW) == (
        "NAME     STATUS                        ROLES           AGE    VERSION\n"
        "cp-1     Ready                         control-plane   2d3h   v1.31.0\n"
        "node-1   NotReady,SchedulingDisabled   <none>          2d3h   v1.31.0\n"
        "node-2   Unknown                       <none>          2d3h   v1.31.0\n"
    )


def test_nodes_wide_and_never_namespaced() -> None:
    out = format_table("node", [make_node()], wide=True, all_namespaces=True, now=NOW)
    header, row = out.splitlines()
    assert header.startswith(
        "NAME     STATUS   ROLES    AGE    VERSION   INTERNAL-IP   EXTERNAL-IP   OS-IMAGE"
    )
    assert header.endswith("KERNEL-VERSION   CONTAINER-RUNTIME")
    assert re.split(" {3,}", row)[5:] == [
        "127.0.0.1",
        "<none>",
        "Debian GNU/Linux 12",
        "6.1.0",
        "kubemu://0.1.0",
    ]


def test_namespaces_table() -> None:
    ns = {
        "metadata": {"name": "default", "creationTimestamp": "2026-11-25T08:00:02Z"},
        "status": {"phase": "Active"},
    }
    assert format_table("ns", [ns], now=NOW) == "NAME      STATUS   AGE\ndefault   Active   45m\n"


def test_events_table() -> None:
    event = {
        "metadata": {"name": "nginx.1", "namespace": "default"},
        "type": "Normal",
        "reason": "Scheduled",
        "message": "Successfully assigned default/nginx to node-1\n",
        "count": 1,
        "involvedObject": {"kind": "Pod", "name": "nginx", "namespace": "default"},
        "source": {"component": "default-scheduler"},
        "firstTimestamp": "2026-11-25T08:44:52Z",
        "lastTimestamp": "2026-11-25T08:44:52Z",
    }
    assert format_table("events", [event], now=NOW) == (
        "LAST SEEN   TYPE     REASON      OBJECT      MESSAGE\n"
        "10s         Normal   Scheduled   pod/nginx   Successfully assigned default/nginx to node-1\n"
    )
    wide = format_table("ev", [event], wide=True, now=NOW).splitlines()
    assert re.split(" {3,}", wide[0])[-3:] == ["FIRST SEEN", "COUNT", "NAME"]
    assert "default-scheduler" in wide[1]


def test_leases_and_generic_resources() -> None:
    lease = {
        "metadata": {"name": "node-1", "namespace": "kube-node-lease", "creationTimestamp": FIVE_MIN_AGO},
        "spec": {"holderIdentity": "node-1"},
    }
    assert format_table("leases", [lease], now=NOW) == "NAME     HOLDER   AGE\nnode-1   node-1   5m\n"
    cm = {"metadata": {"name": "settings", "namespace": "default", "creationTimestamp": FIVE_MIN_AGO}}
    assert format_table("configmaps", [cm], all_namespaces=True, now=NOW) == (
        "NAMESPACE   NAME       AGE\ndefault     settings   5m\n"
    )
    assert (
        format_table("configmaps", [{"metadata": {"name": "x"}}], now=NOW) == "NAME   AGE\nx      <unknown>\n"
    )


def test_empty_list_and_no_resources_message() -> None:
    assert format_table("pods", [], now=NOW) == ""
    assert no_resources_message("default") == "No resources found in default namespace."
    assert no_resources_message(None) == "No resources found"


# --------------------------------------------------------------------------- yaml / json


def test_to_yaml_single_object_sorts_keys_and_quotes_like_kubectl() -> None:
    pod = make_pod()
    out = to_yaml(pod)
    # kubectl prints what it decoded as unstructured maps: every mapping's keys sorted.
    assert out.startswith('apiVersion: v1\nkind: Pod\nmetadata:\n  creationTimestamp: "')
    assert "  name: web\n  namespace: default\nspec:\n  containers:\n  - image: nginx\n    name: c0\n" in out
    assert "!!python" not in out and "{" not in out.replace("{}", "")
    assert yaml.safe_load(out) == pod


def test_yaml_keys_follow_go_yamls_natural_order() -> None:
    # What `kubectl create configmap x --from-literal=… --dry-run=client -o yaml` prints:
    # digit runs compare as numbers, non-letters sort before letters.
    keys = ["ab", "a10", "a9", "a_b", "Ab", "a-b", "a.b", "a01", "a1"]
    out = to_yaml({"kind": "ConfigMap", "apiVersion": "v1", "data": {k: "1" for k in keys}})
    assert out == ('apiVersion: v1\ndata:\n  Ab: "1"\n  a-b: "1"\n  a.b: "1"\n  a_b: "1"\n  a1: "1"\n'
                   '  a01: "1"\n  a9: "1"\n  a10: "1"\n  ab: "1"\nkind: ConfigMap\n')


def test_to_yaml_list_and_multiline_strings() -> None:
    cm = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "x", "resourceVersion": ""},
        "data": {"script": "echo hi\necho there\n"},
    }
    out = to_yaml([cm, cm])
    assert out.startswith("apiVersion: v1\nitems:\n- apiVersion: v1\n  data:\n    script: |\n")
    assert out.endswith('kind: List\nmetadata:\n  resourceVersion: ""\n')
    assert "    script: |\n      echo hi\n      echo there\n  kind: ConfigMap\n" in out
    assert "&id" not in out  # no anchors/aliases for repeated objects
    assert yaml.safe_load(out)["items"] == [cm, cm]


def test_to_json() -> None:
    pod = make_pod()
    out = to_json(pod)
    assert out.startswith('{\n    "apiVersion": "v1",\n    "kind": "Pod",\n    "metadata": {\n'
                          '        "creationTimestamp": ')  # keys sorted, as Go's encoding/json prints maps
    assert out.endswith("}\n")
    assert json.loads(out) == pod
    listed = json.loads(to_json([pod]))
    assert listed == {"apiVersion": "v1", "items": [pod], "kind": "List", "metadata": {"resourceVersion": ""}}
    assert to_json({"a": "<b>&"}) == '{\n    "a": "\\u003cb\\u003e\\u0026"\n}\n'
