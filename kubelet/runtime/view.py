"""A container's view of the pod when containers are plain host processes (no namespaces).

All containers of a pod bind the pod's IP, so ``localhost``, ``127.0.0.1`` and ``0.0.0.0`` in what a
container is told to run mean that IP; and a volume is a host directory, so a ``mountPath`` means that
directory. ``rewrite_text`` applies such rewrites to literal occurrences in command, args, env values
and workingDir (whole paths and host names only: ``/data`` rewrites ``/data/x`` but not ``/database``).
docs/kubelet.md says how far this emulation goes.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Iterable

from kubelet.images import ImageEntry
from kubelet.runtime.base import ContainerSpec

LOCAL_HOSTS = ("localhost", "127.0.0.1", "0.0.0.0")


def _rewrite_pattern(needle: str) -> re.Pattern[str]:
    if needle.startswith("/"):  # a path: whole components only (/data matches /data/x, not /database)
        return re.compile(r"(?<![\w./-])" + re.escape(needle) + r"(?![\w.-])")
    return re.compile(r"(?<![\w.-])" + re.escape(needle) + r"(?![\w-]|\.\w)")


def rewrite_text(text: str, rewrites: Iterable[tuple[str, str] | list[str]]) -> str:
    """``text`` with every literal occurrence of a rewrite's left side replaced by its right side."""
    for old, new in rewrites:
        if old and old in text:
            text = _rewrite_pattern(old).sub(lambda _m, new=new: new, text)
    return text


def rewritten(spec: ContainerSpec, rewrites: list[tuple[str, str]]) -> ContainerSpec:
    if not rewrites:
        return spec
    return dataclasses.replace(
        spec, command=[rewrite_text(a, rewrites) for a in spec.command],
        args=[rewrite_text(a, rewrites) for a in spec.args],
        env={k: rewrite_text(v, rewrites) for k, v in spec.env.items()},
        working_dir=rewrite_text(spec.working_dir, rewrites) if spec.working_dir else spec.working_dir)


def env_name(volume: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "_", volume).upper()


def doc_root(spec: ContainerSpec, entry: ImageEntry) -> str | None:
    """The host directory an http-server serves files from: a mount at (or above) its docRoot."""
    if not entry.doc_root:
        return None
    want = entry.doc_root.rstrip("/")
    for mount in spec.mounts:
        base = mount.mount_path.rstrip("/")
        if want == base or want.startswith(base + "/"):
            return os.path.join(mount.host_path, want[len(base):].lstrip("/"))
    return None
