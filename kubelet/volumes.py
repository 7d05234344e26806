"""Pod volumes on the host: where each one lives, and how a container sees it.

kubemu's containers are host processes without mount namespaces, so a volume is a directory on
the host and "mounting" it means telling the container where that directory is (the runtime
rewrites literal mountPaths in command/args/env/workingDir, sets ``KUBEMU_MOUNT_<VOLUME>``, and
builds a per-container rootfs of symlinks; see kubelet/runtime/process.py and docs/kubelet.md).
The kubelet owns the directories, like ``/var/lib/kubelet/pods/<uid>/volumes`` in Kubernetes:

    <root>/pods/<uid>/volumes/<volume>/     emptyDir, configMap, secret, downwardAPI, projected

- ``emptyDir``: an empty directory created with the pod, shared by its containers, deleted with
  the pod (``medium: Memory`` is a directory too; ``sizeLimit`` is not enforced).
- ``hostPath``: the host path itself; ``type`` is checked (``DirectoryOrCreate``/``FileOrCreate``
  create it, ``Directory``/``File``/``Socket``… must exist) and never deleted.
- ``configMap``, ``secret``, ``downwardAPI``, ``projected`` (of those three): files written
  atomically the Kubernetes way — a fresh timestamped directory, then the ``..data`` symlink
  swapped to it, with one symlink per top-level entry through ``..data`` — so a container never
  sees half an update. They are refreshed on every pod resync, so edits to the ConfigMap reach
  running pods (Kubernetes: within a minute or so). ``items`` select keys and paths,
  ``defaultMode``/``mode`` set file modes, ``optional`` tolerates a missing object.

Anything else (persistentVolumeClaim, …) fails to mount with a clear message; the pod stays in
``ContainerCreating`` with ``FailedMount`` events, as in Kubernetes when a volume cannot attach.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import time

from kubelet.envvars import ConfigError, Lookup, field_ref, field_values, object_bytes, resource_ref
from kubelet.runtime.base import Mount

DEFAULT_MODE = 0o644
MAX_FILE_BYTES = 8 * 1024 * 1024
DATA_LINK = "..data"
_HOST_PATH_TYPES = {"", "DirectoryOrCreate", "Directory", "FileOrCreate", "File", "Socket", "CharDevice",
                    "BlockDevice"}


class MountError(Exception):
    """A volume could not be set up; the message is the FailedMount event's."""


class VolumeManager:
    def __init__(self, root_dir: str, lookup: Lookup):
        self.root_dir = os.path.abspath(root_dir)
        self.lookup = lookup

    def pod_dir(self, uid: str) -> str:
        if not uid or "/" in uid or uid in (".", ".."):
            raise ValueError(f"invalid pod uid {uid!r}")
        return os.path.join(self.root_dir, "pods", uid)

    def setup(self, pod: dict, *, pod_ip: str = "", host_ip: str = "", node_name: str = "",
              allocatable: dict[str, str] | None = None) -> dict[str, str]:
        """Create or refresh every volume of ``pod``; returns ``{volume name: host path}``."""
        uid = pod["metadata"]["uid"]
        namespace = pod["metadata"].get("namespace", "")
        paths = {}
        for volume in (pod.get("spec") or {}).get("volumes") or []:
            if not isinstance(volume, dict) or not volume.get("name"):
                continue
            name = str(volume["name"])
            where = os.path.join(self.pod_dir(uid), "volumes", _safe(name))
            try:
                paths[name] = self._setup_one(pod, volume, where, namespace,
                                              (pod_ip, host_ip, node_name, allocatable or {}))
            except (ConfigError, MountError, OSError) as e:
                raise MountError(f'MountVolume.SetUp failed for volume "{name}" : {e}') from None
        return paths

    def _setup_one(self, pod: dict, volume: dict, where: str, namespace: str, ctx: tuple) -> str:
        if "emptyDir" in volume:
            os.makedirs(where, exist_ok=True)
            return where
        if "hostPath" in volume:
            return _host_path(volume["hostPath"] or {})
        if "configMap" in volume:
            src = volume["configMap"] or {}
            files = self._object_files("configmap", namespace, src.get("name", ""), src, src.get("defaultMode"))
            _project(where, files or {})
            return where
        if "secret" in volume:
            src = volume["secret"] or {}
            files = self._object_files("secret", namespace, src.get("secretName", ""), src, src.get("defaultMode"))
            _project(where, files or {})
            return where
        if "downwardAPI" in volume:
            src = volume["downwardAPI"] or {}
            _project(where, _downward_files(pod, src, src.get("defaultMode"), ctx))
            return where
        if "projected" in volume:
            src = volume["projected"] or {}
            files: dict[str, tuple[bytes, int]] = {}
            for source in src.get("sources") or []:
                files.update(self._projected_source(pod, source or {}, namespace, src.get("defaultMode"), ctx))
            _project(where, files)
            return where
        kinds = sorted(k for k in volume if k != "name")
        raise MountError(f"volume type {', '.join(kinds) or 'unknown'} is not supported by kubemu "
                         "(emptyDir, hostPath, configMap, secret, downwardAPI and projected are)")

    def _projected_source(self, pod: dict, source: dict, namespace: str, default_mode, ctx: tuple) -> dict:
        if "configMap" in source:
            src = source["configMap"] or {}
            return self._object_files("configmap", namespace, src.get("name", ""), src, default_mode) or {}
        if "secret" in source:
            src = source["secret"] or {}
            return self._object_files("secret", namespace, src.get("name", ""), src, default_mode) or {}
        if "downwardAPI" in source:
            return _downward_files(pod, source["downwardAPI"] or {}, default_mode, ctx)
        return {}  # serviceAccountToken, clusterTrustBundle: not provided by kubemu

    def _object_files(self, kind: str, namespace: str, name: str, src: dict,
                      default_mode) -> dict[str, tuple[bytes, int]] | None:
        obj = self.lookup("configmaps" if kind == "configmap" else "secrets", namespace, name)
        if obj is None:
            if src.get("optional"):
                return None
            raise ConfigError(f'{kind} "{name}" not found')
        data = object_bytes(obj, kind)
        mode = _mode(default_mode)
        items = src.get("items")
        if not items:
            return {key: (value, mode) for key, value in data.items()}
        files = {}
        for item in items:
            key = (item or {}).get("key")
            if key not in data:
                if src.get("optional"):
                    continue
                raise ConfigError(f'configmap references non-existent config key: {key}' if kind == "configmap"
                                  else f'references non-existent secret key: {key}')
            files[item.get("path") or key] = (data[key], _mode(item.get("mode"), mode))
        return files

    def mounts_for(self, container: dict, paths: dict[str, str]) -> list[Mount]:
        """The container's volumeMounts as host paths (``subPath`` inside the volume, created if missing)."""
        mounts = []
        for vm in container.get("volumeMounts") or []:
            if not isinstance(vm, dict) or vm.get("name") not in paths or not vm.get("mountPath"):
                continue
            host = paths[vm["name"]]
            sub = str(vm.get("subPath") or "").strip("/")
            if sub:
                target = os.path.normpath(os.path.join(host, sub))
                if not target.startswith(host.rstrip("/") + os.sep):
                    raise MountError(f'subPath "{sub}" of volume "{vm["name"]}" leaves the volume')
                if not os.path.exists(target):
                    os.makedirs(target, exist_ok=True)
                host = target
            mounts.append(Mount(volume=vm["name"], host_path=host, mount_path=str(vm["mountPath"]),
                                read_only=bool(vm.get("readOnly"))))
        return mounts

    def cleanup(self, uid: str) -> None:
        """Delete the pod's volumes (never a hostPath: those live outside the pod dir)."""
        shutil.rmtree(self.pod_dir(uid), ignore_errors=True)

    def pod_uids(self) -> list[str]:
        try:
            return sorted(os.listdir(os.path.join(self.root_dir, "pods")))
        except FileNotFoundError:
            return []


def _safe(name: str) -> str:
    if not name or "/" in name or name in (".", ".."):
        raise MountError(f"invalid volume name {name!r}")
    return name


def _mode(value, default: int = DEFAULT_MODE) -> int:
    return value & 0o777 if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else default


def _host_path(src: dict) -> str:
    path = str(src.get("path") or "")
    kind = str(src.get("type") or "")
    if not path.startswith("/"):
        raise MountError(f'hostPath "{path}" must be absolute')
    if kind not in _HOST_PATH_TYPES:
        raise MountError(f'hostPath type "{kind}" is not supported')
    if kind == "DirectoryOrCreate":
        os.makedirs(path, mode=0o755, exist_ok=True)
    elif kind == "FileOrCreate":
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "a"):
            pass
    checks = {"Directory": os.path.isdir, "File": os.path.isfile,
              "Socket": lambda p: os.path.exists(p) and stat.S_ISSOCK(os.stat(p).st_mode),
              "CharDevice": lambda p: os.path.exists(p) and stat.S_ISCHR(os.stat(p).st_mode),
              "BlockDevice": lambda p: os.path.exists(p) and stat.S_ISBLK(os.stat(p).st_mode)}
    if kind in checks and not checks[kind](path):
        raise MountError(f'hostPath type check failed: {path} is not a {kind}')
    return path


def _downward_files(pod: dict, src: dict, default_mode, ctx: tuple) -> dict[str, tuple[bytes, int]]:
    pod_ip, host_ip, node_name, allocatable = ctx
    fields = field_values(pod, pod_ip, host_ip, node_name)
    mode = _mode(default_mode)
    files = {}
    for item in src.get("items") or []:
        if not isinstance(item, dict) or not item.get("path"):
            continue
        if "fieldRef" in item:
            path = (item["fieldRef"] or {}).get("fieldPath", "")
            if path in ("metadata.labels", "metadata.annotations"):
                values = (pod.get("metadata") or {}).get(path.split(".")[1]) or {}
                value = "\n".join(f'{k}="{v}"' for k, v in sorted(values.items()))
            else:
                value = field_ref(pod, path, fields)
        elif "resourceFieldRef" in item:
            ref = item["resourceFieldRef"] or {}
            containers = {c.get("name"): c for c in (pod.get("spec") or {}).get("containers") or []}
            value = resource_ref(containers.get(ref.get("containerName"), {}), ref, allocatable)
        else:
            continue
        files[item["path"]] = (value.encode(), _mode(item.get("mode"), mode))
    return files


def _project(target: str, files: dict[str, tuple[bytes, int]]) -> None:
    """Write ``files`` into ``target`` atomically, as Kubernetes' AtomicWriter: a new timestamped
    directory, the ``..data`` symlink swapped to it, top-level symlinks through ``..data``."""
    os.makedirs(target, exist_ok=True)
    current = os.path.join(target, DATA_LINK)
    if _same_content(current, files):
        return
    stamp = time.strftime("..%Y_%m_%d_%H_%M_%S.", time.gmtime()) + f"{time.time_ns() % 10**9:09d}"
    fresh = os.path.join(target, stamp)
    os.makedirs(fresh)
    for rel, (data, mode) in files.items():
        path = os.path.normpath(os.path.join(fresh, rel))
        if not path.startswith(fresh + os.sep) or len(data) > MAX_FILE_BYTES:
            continue
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
        os.chmod(path, mode)
    old = os.readlink(current) if os.path.islink(current) else None
    tmp_link = os.path.join(target, "..data_tmp")
    with contextlib.suppress(FileNotFoundError):
        os.unlink(tmp_link)
    os.symlink(stamp, tmp_link)
    os.replace(tmp_link, current)
    tops = {rel.split("/", 1)[0] for rel in files}
    for entry in os.listdir(target):
        if entry.startswith(".."):
            continue
        if entry not in tops:
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(target, entry))
    for top in tops:
        link = os.path.join(target, top)
        if not os.path.islink(link):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(link)
            os.symlink(os.path.join(DATA_LINK, top), link)
    if old and old != stamp:
        shutil.rmtree(os.path.join(target, old), ignore_errors=True)


def _same_content(data_link: str, files: dict[str, tuple[bytes, int]]) -> bool:
    if not os.path.islink(data_link):
        return False
    base = os.path.realpath(data_link)
    present = set()
    for dirpath, _, names in os.walk(base):
        for name in names:
            present.add(os.path.relpath(os.path.join(dirpath, name), base))
    if present != {os.path.normpath(rel) for rel in files}:
        return False
    for rel, (data, mode) in files.items():
        path = os.path.join(base, rel)
        try:
            if stat.S_IMODE(os.stat(path).st_mode) != mode:
                return False
            with open(path, "rb") as f:
                if f.read(MAX_FILE_BYTES + 1) != data:
                    return False
        except OSError:
            return False
    return True
