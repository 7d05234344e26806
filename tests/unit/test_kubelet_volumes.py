"""Pod volumes on the host (kubelet/volumes.py): emptyDir, hostPath, projected files, mounts."""

from __future__ import annotations

import base64
import os
import stat

import pytest

from kubelet.volumes import DATA_LINK, MountError, VolumeManager

OBJECTS: dict = {}


def lookup(resource, namespace, name):
    return OBJECTS.get((resource, namespace, name))


@pytest.fixture
def vm(tmp_path):
    OBJECTS.clear()
    return VolumeManager(str(tmp_path / "kubelet"), lookup)


def pod(*volumes, uid="uid-1") -> dict:
    return {"metadata": {"name": "p", "namespace": "ns", "uid": uid, "labels": {"a": "1", "b": "2"}},
            "spec": {"volumes": list(volumes), "containers": [{"name": "c", "resources": {"limits": {"cpu": "2"}}}]}}


def test_empty_dir_is_created_and_removed_with_the_pod(vm):
    paths = vm.setup(pod({"name": "scratch", "emptyDir": {}}))
    assert os.path.isdir(paths["scratch"]) and paths["scratch"].endswith("pods/uid-1/volumes/scratch")
    open(os.path.join(paths["scratch"], "f"), "w").close()
    assert vm.setup(pod({"name": "scratch", "emptyDir": {}})) == paths  # idempotent, content kept
    assert os.listdir(paths["scratch"]) == ["f"]
    vm.cleanup("uid-1")
    assert not os.path.exists(paths["scratch"]) and vm.pod_uids() == []


def test_host_path_types(vm, tmp_path):
    made = tmp_path / "made" / "dir"
    paths = vm.setup(pod({"name": "h", "hostPath": {"path": str(made), "type": "DirectoryOrCreate"}},
                         {"name": "f", "hostPath": {"path": str(tmp_path / "x" / "file"), "type": "FileOrCreate"}}))
    assert paths["h"] == str(made) and made.is_dir() and (tmp_path / "x" / "file").is_file()
    with pytest.raises(MountError, match='volume "d" : hostPath type check failed'):
        vm.setup(pod({"name": "d", "hostPath": {"path": str(tmp_path / "absent"), "type": "Directory"}}))
    vm.cleanup("uid-1")
    assert made.is_dir(), "a hostPath is never deleted with the pod"


def test_config_map_projection_with_items_modes_and_atomic_updates(vm):
    OBJECTS[("configmaps", "ns", "cfg")] = {"data": {"a.conf": "one", "b.conf": "two"}}
    volume = {"name": "cfg", "configMap": {"name": "cfg", "defaultMode": 0o600,
                                           "items": [{"key": "a.conf", "path": "conf/a.conf", "mode": 0o400},
                                                     {"key": "b.conf", "path": "b.conf"}]}}
    path = vm.setup(pod(volume))["cfg"]
    assert open(os.path.join(path, "conf", "a.conf")).read() == "one"
    assert stat.S_IMODE(os.stat(os.path.join(path, "conf", "a.conf")).st_mode) == 0o400
    assert stat.S_IMODE(os.stat(os.path.join(path, "b.conf")).st_mode) == 0o600
    assert os.path.islink(os.path.join(path, DATA_LINK)) and os.path.islink(os.path.join(path, "b.conf"))
    first = os.readlink(os.path.join(path, DATA_LINK))
    vm.setup(pod(volume))
    assert os.readlink(os.path.join(path, DATA_LINK)) == first, "unchanged data is not rewritten"
    OBJECTS[("configmaps", "ns", "cfg")] = {"data": {"a.conf": "uno", "b.conf": "two"}}
    vm.setup(pod(volume))
    assert open(os.path.join(path, "conf", "a.conf")).read() == "uno"
    assert os.readlink(os.path.join(path, DATA_LINK)) != first
    assert not os.path.exists(os.path.join(path, first)), "the old generation is removed"


def test_secret_downward_api_and_projected(vm):
    OBJECTS[("secrets", "ns", "s")] = {"data": {"token": base64.b64encode(b"\x00bin").decode()}}
    OBJECTS[("configmaps", "ns", "c")] = {"data": {"k": "v"}}
    paths = vm.setup(pod(
        {"name": "sec", "secret": {"secretName": "s"}},
        {"name": "down", "downwardAPI": {"items": [
            {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}},
            {"path": "name", "fieldRef": {"fieldPath": "metadata.name"}},
            {"path": "cpu", "resourceFieldRef": {"containerName": "c", "resource": "limits.cpu"}}]}},
        {"name": "proj", "projected": {"sources": [{"configMap": {"name": "c"}}, {"secret": {"name": "s"}}]}}))
    assert open(os.path.join(paths["sec"], "token"), "rb").read() == b"\x00bin"
    assert open(os.path.join(paths["down"], "labels")).read() == 'a="1"\nb="2"'
    assert open(os.path.join(paths["down"], "name")).read() == "p"
    assert open(os.path.join(paths["down"], "cpu")).read() == "2"
    assert sorted(e for e in os.listdir(paths["proj"]) if not e.startswith("..")) == ["k", "token"]


def test_missing_objects_and_unsupported_types(vm):
    with pytest.raises(MountError, match='MountVolume.SetUp failed for volume "cfg" : configmap "gone" not found'):
        vm.setup(pod({"name": "cfg", "configMap": {"name": "gone"}}))
    assert vm.setup(pod({"name": "opt", "configMap": {"name": "gone", "optional": True}}))["opt"]
    with pytest.raises(MountError, match="persistentVolumeClaim is not supported"):
        vm.setup(pod({"name": "pvc", "persistentVolumeClaim": {"claimName": "data"}}))


def test_mounts_with_sub_path(vm):
    paths = vm.setup(pod({"name": "data", "emptyDir": {}}))
    mounts = vm.mounts_for({"volumeMounts": [{"name": "data", "mountPath": "/var/lib/app", "subPath": "app"},
                                             {"name": "data", "mountPath": "/data", "readOnly": True},
                                             {"name": "unknown", "mountPath": "/x"}]}, paths)
    assert [(m.volume, m.mount_path, m.read_only) for m in mounts] == [("data", "/var/lib/app", False),
                                                                       ("data", "/data", True)]
    assert mounts[0].host_path == os.path.join(paths["data"], "app") and os.path.isdir(mounts[0].host_path)
    with pytest.raises(MountError, match="leaves the volume"):
        vm.mounts_for({"volumeMounts": [{"name": "data", "mountPath": "/x", "subPath": "../../etc"}]}, paths)
