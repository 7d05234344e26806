"""Tests for kubemu.describe: kubectl describe layouts for pods, nodes and generic objects."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

from kubemu.describe import describe_generic, describe_node, describe_pod

NOW = datetime(2026, 11, 25, 8, 45, 2, tzinfo=UTC)


def nginx_pod(**container_extra) -> dict:
    container = {
        "name": "nginx",
        "image": "nginx:1.25",
        "ports": [{"containerPort": 80, "protocol": "TCP"}],
        **container_extra,
    }
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "nginx",
            "namespace": "default",
            "uid": "u-1",
            "creationTimestamp": "2026-11-25T08:40:02Z",
            "labels": {"run": "nginx", "app": "web"},
        },
        "spec": {
            "nodeName": "node-1",
            "serviceAccountName": "default",
            "priority": 0,
            "containers": [container],
            "tolerations": [
                {
                    "key": "node.kubernetes.io/unreachable",
                    "operator": "Exists",
                    "effect": "NoExecute",
                    "tolerationSeconds": 300,
                },
                {
                    "key": "node.kubernetes.io/not-ready",
                    "operator": "Exists",
                    "effect": "NoExecute",
                    "tolerationSeconds": 300,
                },
            ],
        },
        "status": {
            "phase": "Running",
            "hostIP": "127.0.0.1",
            "podIP": "10.244.0.7",
            "podIPs": [{"ip": "10.244.0.7"}],
            "startTime": "2026-11-25T08:40:02Z",
            "conditions": [
                {"type": "Initialized", "status": "True"},
                {"type": "Ready", "status": "True"},
                {"type": "PodScheduled", "status": "True"},
            ],
            "containerStatuses": [
                {
                    "name": "nginx",
                    "ready": True,
                    "restartCount": 0,
                    "containerID": "kubemu://4f1c",
                    "image": "nginx:1.25",
                    "imageID": "kubemu://nginx@sha256:00",
                    "state": {"running": {"startedAt": "2026-11-25T08:40:03Z"}},
                }
            ],
        },
    }


def scheduled_event(**extra) -> dict:
    return {
        "metadata": {"name": "nginx.1", "namespace": "default"},
        "type": "Normal",
        "reason": "Scheduled",
        "message": "Successfully assigned default/nginx to node-1",
        "count": 1,
        "involvedObject": {"kind": "Pod", "name": "nginx", "namespace": "default"},
        "source": {"component": "default-scheduler"},
        "firstTimestamp": "2026-11-25T08:44:52Z",
        "lastTimestamp": "2026-11-25T08:44:52Z",
        **extra,
    }


# --------------------------------------------------------------------------- pods


def test_pod_header_section() -> None:
    lines = describe_pod(nginx_pod(), [], now=NOW).splitlines()
    assert lines[:13] == [
        "Name:             nginx",
        "Namespace:        default",
        "Priority:         0",
        "Service Account:  default",
        "Node:             node-1/127.0.0.1",
        "Start Time:       Wed, 25 Nov 2026 08:40:02 +0000",
        "Labels:           app=web",
        "                  run=nginx",
        "Annotations:      <none>",
        "Status:           Running",
        "IP:               10.244.0.7",
        "IPs:",
        "  IP:  10.244.0.7",
    ]


def test_pod_container_section() -> None:
    out = describe_pod(nginx_pod(), [], now=NOW)
    assert (
        "Containers:\n"
        "  nginx:\n"
        "    Container ID:   kubemu://4f1c\n"
        "    Image:          nginx:1.25\n"
        "    Image ID:       kubemu://nginx@sha256:00\n"
        "    Port:           80/TCP\n"
        "    Host Port:      0/TCP\n"
        "    State:          Running\n"
        "      Started:      Wed, 25 Nov 2026 08:40:03 +0000\n"
        "    Ready:          True\n"
        "    Restart Count:  0\n"
        "    Environment:    <none>\n"
        "    Mounts:         <none>\n"
    ) in out


def test_pod_conditions_qos_tolerations_and_no_events() -> None:
    out = describe_pod(nginx_pod(), [], now=NOW)
    assert "Conditions:\n  Type           Status\n  Initialized    True \n  Ready          True \n" in out
    assert out.endswith(
        "Volumes:         <none>\n"
        "QoS Class:       BestEffort\n"
        "Node-Selectors:  <none>\n"
        "Tolerations:     node.kubernetes.io/not-ready:NoExecute op=Exists for 300s\n"
        "                 node.kubernetes.io/unreachable:NoExecute op=Exists for 300s\n"
        "Events:          <none>\n"
    )


def test_pod_events_table() -> None:
    out = describe_pod(nginx_pod(), [scheduled_event()], now=NOW)
    assert out.endswith(
        "Events:\n"
        "  Type    Reason     Age   From               Message\n"
        "  ----    ------     ----  ----               -------\n"
        "  Normal  Scheduled  10s   default-scheduler  Successfully assigned default/nginx to node-1\n"
    )


def test_repeated_events_show_count_and_interval_and_are_sorted() -> None:
    backoff = scheduled_event(
        type="Warning",
        reason="BackOff",
        message="Back-off restarting failed container",
        count=3,
        firstTimestamp="2026-11-25T08:43:02Z",
        lastTimestamp="2026-11-25T08:44:57Z",
        source={"component": "kubelet", "host": "node-1"},
        involvedObject={"kind": "Pod", "name": "nginx", "fieldPath": "spec.containers{nginx}"},
    )
    lines = describe_pod(nginx_pod(), [backoff, scheduled_event()], now=NOW).splitlines()
    start = lines.index("Events:")
    assert lines[start + 3].split()[:3] == ["Normal", "Scheduled", "10s"]
    assert lines[start + 4] == (
        "  Warning  BackOff    5s (x3 over 2m)  kubelet            "
        "spec.containers{nginx}: Back-off restarting failed container"
    )


def test_events_none_omits_section() -> None:
    assert "Events" not in describe_pod(nginx_pod(), None, now=NOW)


def test_container_details_resources_probes_env_mounts() -> None:
    pod = nginx_pod(
        command=["sh", "-c"],
        args=["nginx -g 'daemon off;'"],
        resources={
            "limits": {"cpu": "0.5", "memory": "128Mi"},
            "requests": {"cpu": "100m", "memory": "64Mi"},
        },
        livenessProbe={"httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 5},
        readinessProbe={"exec": {"command": ["cat", "/tmp/ready"]}},
        env=[
            {"name": "MODE", "value": "prod"},
            {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}},
        ],
        volumeMounts=[
            {"name": "data", "mountPath": "/data"},
            {"name": "config", "mountPath": "/etc/nginx", "readOnly": True},
        ],
    )
    pod["spec"]["volumes"] = [
        {"name": "data", "emptyDir": {}},
        {"name": "config", "configMap": {"name": "nginx"}},
    ]
    out = describe_pod(pod, [], now=NOW)
    assert "    Command:\n      sh\n      -c\n    Args:\n      nginx -g 'daemon off;'\n" in out
    assert "    Limits:\n      cpu:     500m\n      memory:  128Mi\n" in out
    assert "    Requests:\n      cpu:      100m\n      memory:   64Mi\n" in out
    assert (
        "    Liveness:   http-get http://:8080/healthz delay=0s timeout=1s period=5s "
        "successThreshold=1 failureThreshold=3\n" in out
    )
    assert "    Readiness:  exec [cat /tmp/ready] delay=0s timeout=1s period=10s" in out
    assert (
        "      MODE:      prod\n      POD_NAME:  nginx (v1:metadata.name)\n"
        "      PASSWORD:  <set to the key 'password' in secret 'db'>  Optional: false\n" in out
    )
    assert "    Mounts:\n      /data from data (rw)\n      /etc/nginx from config (ro)\n" in out
    assert "  data:\n    Type:       EmptyDir (a temporary directory that shares a pod's lifetime)\n" in out
    assert (
        "  config:\n    Type:        ConfigMap (a volume populated by a ConfigMap)\n    Name:        nginx\n"
        in out
    )
    assert "QoS Class:       Burstable\n" in out


def test_terminated_and_last_state() -> None:
    pod = nginx_pod()
    pod["status"]["containerStatuses"][0].update(
        ready=False,
        restartCount=2,
        state={"waiting": {"reason": "CrashLoopBackOff"}},
        lastState={
            "terminated": {
                "exitCode": 137,
                "reason": "OOMKilled",
                "startedAt": "2026-11-25T08:44:00Z",
                "finishedAt": "2026-11-25T08:44:30Z",
            }
        },
    )
    out = describe_pod(pod, [], now=NOW)
    assert (
        "    State:          Waiting\n"
        "      Reason:       CrashLoopBackOff\n"
        "    Last State:     Terminated\n"
        "      Reason:       OOMKilled\n"
        "      Exit Code:    137\n"
        "      Started:      Wed, 25 Nov 2026 08:44:00 +0000\n"
        "      Finished:     Wed, 25 Nov 2026 08:44:30 +0000\n"
        "    Ready:          False\n"
        "    Restart Count:  2\n"
    ) in out


def test_qos_classes() -> None:
    guaranteed = nginx_pod(resources={"limits": {"cpu": "1", "memory": "1Gi"}})
    assert "QoS Class:       Guaranteed\n" in describe_pod(guaranteed, [], now=NOW)
    burstable = nginx_pod(resources={"requests": {"memory": "1G"}})
    assert "QoS Class:       Burstable\n" in describe_pod(burstable, [], now=NOW)
    preset = nginx_pod()
    preset["status"]["qosClass"] = "Guaranteed"
    assert "QoS Class:       Guaranteed\n" in describe_pod(preset, [], now=NOW)


def test_terminating_pod_and_unscheduled_pod() -> None:
    pod = nginx_pod()
    pod["metadata"].update(deletionTimestamp="2026-11-25T08:44:32Z", deletionGracePeriodSeconds=30)
    out = describe_pod(pod, [], now=NOW)
    assert "Status:                    Terminating (lasts 30s)\nTermination Grace Period:  30s\n" in out
    pending = nginx_pod()
    del pending["spec"]["nodeName"]
    pending["status"] = {"phase": "Pending"}
    out = describe_pod(pending, [], now=NOW)
    assert "Node:             <none>\n" in out
    assert "IPs:              <none>\n" in out


def test_describe_does_not_mutate() -> None:
    pod = nginx_pod(volumeMounts=[{"name": "b", "mountPath": "/z"}, {"name": "a", "mountPath": "/a"}])
    event = scheduled_event()
    before = copy.deepcopy((pod, event))
    describe_pod(pod, [event], now=NOW)
    assert (pod, event) == before


# --------------------------------------------------------------------------- nodes


def make_node() -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": "node-1",
            "creationTimestamp": "2026-11-25T08:00:00Z",
            "labels": {"kubernetes.io/hostname": "node-1", "node-role.kubernetes.io/worker": ""},
        },
        "spec": {
            "podCIDR": "10.244.1.0/24",
            "taints": [{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}],
        },
        "status": {
            "capacity": {"cpu": "4", "memory": "8Gi", "pods": "110"},
            "allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"},
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "lastHeartbeatTime": "2026-11-25T08:44:50Z",
                    "lastTransitionTime": "2026-11-25T08:00:05Z",
                    "reason": "KubeletReady",
                    "message": "kubelet is posting ready status",
                }
            ],
            "addresses": [
                {"type": "InternalIP", "address": "127.0.0.1"},
                {"type": "Hostname", "address": "node-1"},
            ],
            "nodeInfo": {
                "kubeletVersion": "v1.31.0",
                "osImage": "kubemu",
                "kernelVersion": "6.1.0",
                "containerRuntimeVersion": "kubemu://0.1.0",
                "operatingSystem": "linux",
                "architecture": "amd64",
            },
        },
    }


def test_describe_node() -> None:
    pod = nginx_pod(resources={"requests": {"cpu": "500m", "memory": "512Mi"}, "limits": {"memory": "1Gi"}})
    done = copy.deepcopy(pod)
    done["metadata"]["name"] = "finished"
    done["status"]["phase"] = "Succeeded"
    lease = {"spec": {"holderIdentity": "node-1", "renewTime": "2026-11-25T08:45:00.000000Z"}}
    out = describe_node(make_node(), [pod, done], [], NOW, lease=lease)
    lines = out.splitlines()
    assert lines[:9] == [
        "Name:               node-1",
        "Roles:              worker",
        "Labels:             kubernetes.io/hostname=node-1",
        "                    node-role.kubernetes.io/worker=",
        "Annotations:        <none>",
        "CreationTimestamp:  Wed, 25 Nov 2026 08:00:00 +0000",
        "Taints:             dedicated=gpu:NoSchedule",
        "Unschedulable:      false",
        "Lease:",
    ]
    assert "  HolderIdentity:  node-1\n  AcquireTime:     <unset>\n" in out
    assert (
        "Conditions:\n  Type    Status  LastHeartbeatTime                 LastTransitionTime                "
        "Reason         Message\n" in out
    )
    assert (
        "  Ready   True    Wed, 25 Nov 2026 08:44:50 +0000   Wed, 25 Nov 2026 08:00:05 +0000   "
        "KubeletReady   kubelet is posting ready status\n" in out
    )
    assert "Addresses:\n  InternalIP:  127.0.0.1\n  Hostname:    node-1\n" in out
    assert "Capacity:\n  cpu:     4\n  memory:  8Gi\n  pods:    110\n" in out
    assert "  Kubelet Version:            v1.31.0\n" in out
    assert "Non-terminated Pods:          (1 in total)\n" in out
    assert (
        "  default                     nginx    "
        "500m (12%)    0 (0%)      512Mi (6%)       1Gi (12%)      5m\n" in out
    )
    assert (
        "  Resource           Requests    Limits\n"
        "  --------           --------    ------\n"
        "  cpu                500m (12%)  0 (0%)\n"
        "  memory             512Mi (6%)  1Gi (12%)\n"
        "  ephemeral-storage  0 (0%)      0 (0%)\n"
    ) in out
    assert out.endswith("Events:              <none>\n")


# --------------------------------------------------------------------------- generic


def test_describe_generic_lease() -> None:
    lease = {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {
            "name": "node-1",
            "namespace": "kube-node-lease",
            "uid": "u-9",
            "resourceVersion": "42",
            "creationTimestamp": "2026-11-25T08:00:00Z",
            "managedFields": [{"manager": "x"}],
        },
        "spec": {
            "holderIdentity": "node-1",
            "leaseDurationSeconds": 40,
            "renewTime": "2026-11-25T08:44:59.000000Z",
        },
    }
    out = describe_generic(lease, [], NOW)
    assert out == (
        "Name:         node-1\n"
        "Namespace:    kube-node-lease\n"
        "Labels:       <none>\n"
        "Annotations:  <none>\n"
        "API Version:  coordination.k8s.io/v1\n"
        "Kind:         Lease\n"
        "Metadata:\n"
        "  Creation Timestamp:  2026-11-25T08:00:00Z\n"
        "  Resource Version:    42\n"
        "  UID:                 u-9\n"
        "Spec:\n"
        "  Holder Identity:         node-1\n"
        "  Lease Duration Seconds:  40\n"
        "  Renew Time:              2026-11-25T08:44:59.000000Z\n"
        "Events:                    <none>\n"
    )


def test_describe_generic_values_and_events() -> None:
    obj = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c", "namespace": "default", "labels": {"a": "b"}},
        "data": {"ratio": 0.5, "enabled": True, "nothing": None},
        "list": ["x", "y"],
    }
    event = scheduled_event(
        reason="Updated", message="config changed", involvedObject={"kind": "ConfigMap", "name": "c"}
    )
    out = describe_generic(obj, [event], NOW)
    assert "Data:\n  Enabled:  true\n  Nothing:  <nil>\n  Ratio:    0.5\n" in out
    assert "List:\n  x\n  y\n" in out
    assert "  Normal  Updated  10s   default-scheduler  config changed\n" in out


def test_events_none_aligns_alone_after_untabbed_line() -> None:
    # "Events:" shares a column with the tabbed lines right above it, as in kubectl; after a line
    # without a tab (here the last item of a list) it stands alone.
    obj = {
        "apiVersion": "example.io/v1",
        "kind": "Widget",
        "metadata": {"name": "w"},
        "spec": {"sizes": [1, 2]},
    }
    assert describe_generic(obj, [], NOW).endswith("Spec:\n  Sizes:\n    1\n    2\nEvents:  <none>\n")
