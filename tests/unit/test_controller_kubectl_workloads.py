"""``kubemu kubectl`` workload commands (kubemu.kubectl_workloads) against an in-memory API."""

from __future__ import annotations

import argparse
import datetime as dt
import io

import pytest

from kubemu import kubectl_workloads as kw
from machinery.resources import lookup
from tests.unit.test_controller_common import FakeAPI


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kubectl")
    sub = p.add_subparsers(dest="command")
    kw.register(sub)
    create = sub.add_parser("create")
    create.add_argument("args", nargs="*")
    create.add_argument("-n", "--namespace", default=None)
    kw.add_create_flags(create)
    delete = sub.add_parser("delete")
    delete.add_argument("args", nargs="*")
    kw.add_cascade_flag(delete)
    return p


def run(api: FakeAPI, *argv: str) -> tuple[int | None, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = kw.run(parser().parse_args(list(argv)), api, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def api() -> FakeAPI:
    a = FakeAPI()
    assert run(a, "create", "deployment", "web", "--image=nginx:1.25", "--replicas=3", "--port=80")[:2] == (
        0, "deployment.apps/web created\n")
    return a


def test_create_deployment_builds_what_kubectl_builds(api):
    d = api.get("deployments", "web", "default")
    assert d["metadata"]["labels"] == {"app": "web"}
    assert d["spec"]["replicas"] == 3 and d["spec"]["selector"] == {"matchLabels": {"app": "web"}}
    assert d["spec"]["template"]["spec"]["containers"] == [
        {"image": "nginx:1.25", "name": "nginx", "resources": {}, "ports": [{"containerPort": 80}]}]
    code, _, err = run(api, "create", "deployment", "other")
    assert code == 1 and err == 'error: required flag(s) "image" not set\n'
    assert kw.container_name_for("registry.example.com/team/My_App:v1@sha256:abc") == "my-app"


def test_other_commands_are_not_ours(api):
    assert kw.run(argparse.Namespace(command="get", args=["pods"]), api) is None
    assert kw.run(argparse.Namespace(command="create", args=["namespace", "x"]), api) is None


def test_scale_and_its_errors(api):
    assert run(api, "scale", "deployment", "web", "--replicas=5")[:2] == (0, "deployment.apps/web scaled\n")
    assert api.get("deployments", "web", "default")["spec"]["replicas"] == 5
    assert run(api, "scale", "deploy/web", "--replicas=2", "--current-replicas=4") == (
        1, "", "error: Expected replicas to be 4, was 5\n")
    assert run(api, "scale", "deployment/nope", "--replicas=1") == (
        1, "", 'Error from server (NotFound): deployments.apps "nope" not found\n')
    code, _, err = run(api, "scale", "pods/x", "--replicas=1")
    assert code == 1 and "not supported for pods" in err
    assert run(api, "scale", "deployment/web")[2] == 'error: required flag(s) "replicas" not set\n'


def test_set_image(api):
    assert run(api, "set", "image", "deployment/web", "nginx=nginx:1.27")[:2] == (
        0, "deployment.apps/web image updated\n")
    assert api.get("deployments", "web", "default")["spec"]["template"]["spec"]["containers"][0][
        "image"] == "nginx:1.27"
    assert run(api, "set", "image", "deployment", "web", "*=httpd")[0] == 0
    assert api.get("deployments", "web", "default")["spec"]["template"]["spec"]["containers"][0]["image"] == "httpd"
    assert run(api, "set", "image", "deployment/web", "nope=x") == (
        1, "", 'error: unable to find container named "nope"\n')


def test_rollout_status_messages_follow_kubectl():
    info = lookup("deployments")
    d = {"metadata": {"name": "web", "generation": 2}, "spec": {"replicas": 3},
         "status": {"observedGeneration": 1}}
    assert kw.rollout_status_message(info, d) == ("Waiting for deployment spec update to be observed...", False)
    d["status"] = {"observedGeneration": 2, "replicas": 4, "updatedReplicas": 1}
    assert kw.rollout_status_message(info, d)[0] == \
        'Waiting for deployment "web" rollout to finish: 1 out of 3 new replicas have been updated...'
    d["status"].update(updatedReplicas=3)
    assert kw.rollout_status_message(info, d)[0] == \
        'Waiting for deployment "web" rollout to finish: 1 old replicas are pending termination...'
    d["status"].update(replicas=3, availableReplicas=2)
    assert kw.rollout_status_message(info, d)[0] == \
        'Waiting for deployment "web" rollout to finish: 2 of 3 updated replicas are available...'
    d["status"].update(availableReplicas=3)
    assert kw.rollout_status_message(info, d) == ('deployment "web" successfully rolled out', True)
    d["status"]["conditions"] = [{"type": "Progressing", "reason": "ProgressDeadlineExceeded"}]
    with pytest.raises(kw.WorkloadError, match="exceeded its progress deadline"):
        kw.rollout_status_message(info, d)
    sts = {"metadata": {"name": "db", "generation": 1}, "spec": {"replicas": 3, "updateStrategy": {
        "type": "RollingUpdate"}}, "status": {"observedGeneration": 1, "readyReplicas": 3, "currentReplicas": 3,
                                              "currentRevision": "db-1", "updateRevision": "db-1"}}
    assert kw.rollout_status_message(lookup("statefulsets"), sts) == (
        "statefulset rolling update complete 3 pods at revision db-1...", True)


def _add_rs(api: FakeAPI, revision: str, image: str, replicas: int, history: str = "") -> dict:
    d = api.get("deployments", "web", "default")
    ann = {"deployment.kubernetes.io/revision": revision, "kubernetes.io/change-cause": f"image {image}"}
    if history:
        ann["deployment.kubernetes.io/revision-history"] = history
    template = {"metadata": {"labels": {"app": "web", "pod-template-hash": f"h{revision}"}},
                "spec": {"containers": [{"name": "nginx", "image": image}]}}
    return api.create("replicasets", {"metadata": {"name": f"web-h{revision}", "namespace": "default",
                                                   "annotations": ann, "ownerReferences": [
                                                       {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web",
                                                        "uid": d["metadata"]["uid"], "controller": True}]},
                                      "spec": {"replicas": replicas, "template": template}})


def test_rollout_history_and_undo(api):
    _add_rs(api, "1", "nginx:1.25", 0)
    _add_rs(api, "2", "nginx:1.27", 3)
    code, out, _ = run(api, "rollout", "history", "deployment/web")
    assert code == 0
    assert out == ("deployment.apps/web \nREVISION  CHANGE-CAUSE\n1         image nginx:1.25\n"
                   "2         image nginx:1.27\n\n")
    code, out, _ = run(api, "rollout", "history", "deployment/web", "--revision=1")
    assert out.splitlines()[0] == "deployment.apps/web with revision #1" and "nginx:1.25" in out
    assert run(api, "rollout", "undo", "deployment/web")[:2] == (0, "deployment.apps/web rolled back\n")
    d = api.get("deployments", "web", "default")
    assert d["spec"]["template"] == {"metadata": {"labels": {"app": "web"}},
                                     "spec": {"containers": [{"name": "nginx", "image": "nginx:1.25"}]}}
    assert d["metadata"]["annotations"]["kubernetes.io/change-cause"] == "image nginx:1.25"
    assert "deployment.kubernetes.io/revision" not in d["metadata"]["annotations"]
    assert run(api, "rollout", "undo", "deployment/web", "--to-revision=1")[1] == \
        "deployment.apps/web skipped rollback (current template already matches revision 1)\n"
    assert run(api, "rollout", "undo", "deployment/web", "--to-revision=7") == (
        1, "", "error: unable to find specified revision 7 in history\n")


def test_restart_pause_resume(api):
    assert run(api, "rollout", "restart", "deployment/web")[:2] == (0, "deployment.apps/web restarted\n")
    stamp = api.get("deployments", "web", "default")["spec"]["template"]["metadata"]["annotations"][kw.RESTARTED_AT]
    assert dt.datetime.fromisoformat(stamp).tzinfo is not None
    assert run(api, "rollout", "pause", "deployment/web")[:2] == (0, "deployment.apps/web paused\n")
    assert run(api, "rollout", "pause", "deployment/web") == (
        1, "", 'error: deployments.apps "web" is already paused\n')
    assert "can't restart paused deployment" in run(api, "rollout", "restart", "deployment/web")[2]
    assert "cannot rollback a paused deployment" in run(api, "rollout", "undo", "deployment/web")[2]
    assert run(api, "rollout", "resume", "deployment/web")[:2] == (0, "deployment.apps/web resumed\n")
    assert "paused" not in api.get("deployments", "web", "default")["spec"]
    assert run(api, "rollout", "resume", "deployment/web")[0] == 1
    code, _, err = run(api, "rollout", "sideways", "deployment/web")
    assert code == 1 and "unknown \"rollout\" subcommand" in err


def test_cascade_flag_maps_to_propagation_policy(api):
    args = parser().parse_args(["delete", "deployment", "web", "--cascade=orphan"])
    assert kw.propagation_policy(args.cascade) == "Orphan"
    assert kw.propagation_policy(parser().parse_args(["delete", "x"]).cascade) == "Background"
    assert kw.propagation_policy("foreground") == "Foreground" and kw.propagation_policy("false") == "Orphan"
    with pytest.raises(kw.WorkloadError, match='Must be "background", "foreground", or "orphan"'):
        kw.propagation_policy("sometimes")
    gone = kw.delete_with_cascade(api, "deployments", "web", "default", cascade="foreground")
    assert gone["metadata"]["finalizers"] == ["foregroundDeletion"]


def test_get_tables_look_like_kubectl():
    now = dt.datetime(2026, 1, 1, 0, 10, tzinfo=dt.UTC)
    created = "2026-01-01T00:00:00Z"
    deploy = {"metadata": {"name": "web", "namespace": "default", "creationTimestamp": created},
              "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                       "template": {"spec": {"containers": [{"name": "nginx", "image": "nginx:1.25"}]}}},
              "status": {"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2}}
    assert kw.format_workloads("deployments", [deploy], now=now) == (
        "NAME   READY   UP-TO-DATE   AVAILABLE   AGE\n"
        "web    2/3     3            2           10m\n")
    assert kw.format_workloads("deploy", [deploy], wide=True, all_namespaces=True, now=now).splitlines() == [
        "NAMESPACE   NAME   READY   UP-TO-DATE   AVAILABLE   AGE   CONTAINERS   IMAGES       SELECTOR",
        "default     web    2/3     3            2           10m   nginx        nginx:1.25   app=web"]
    rs = dict(deploy, status={"replicas": 3, "readyReplicas": 1})
    assert kw.format_workloads("rs", [rs], now=now).splitlines()[1].split() == ["web", "3", "3", "1", "10m"]
    sts = dict(deploy, status={"readyReplicas": 3})
    assert kw.format_workloads("statefulsets", [sts], now=now).splitlines() == ["NAME   READY   AGE",
                                                                               "web    3/3     10m"]
    ds = dict(deploy, status={"desiredNumberScheduled": 3, "currentNumberScheduled": 3, "numberReady": 3,
                              "updatedNumberScheduled": 3, "numberAvailable": 3})
    assert kw.format_workloads("ds", [ds], now=now).splitlines()[0].split("   ")[-2:] == ["NODE SELECTOR", "AGE"]
    job = {"metadata": {"name": "pi", "creationTimestamp": created},
           "spec": {"completions": 1, "parallelism": 1},
           "status": {"succeeded": 1, "startTime": created, "completionTime": "2026-01-01T00:00:07Z",
                      "conditions": [{"type": "Complete", "status": "True"}]}}
    assert kw.format_workloads("jobs", [job], now=now).splitlines()[1].split() == ["pi", "Complete", "1/1", "7s",
                                                                                    "10m"]
    cr = {"metadata": {"name": "db-abc", "creationTimestamp": created, "ownerReferences": [
        {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "db", "controller": True}]}, "revision": 2}
    assert kw.format_workloads("controllerrevisions", [cr], now=now).splitlines()[1].split() == [
        "db-abc", "statefulset.apps/db", "2", "10m"]
    assert kw.format_workloads("pods", [deploy], now=now) == ""
    assert kw.format_workloads("deployments", [], now=now) == ""
