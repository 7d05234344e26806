"""The pod's hostname for its containers: a UTS namespace per container, where the kernel allows it.

In Kubernetes every container of a pod sees the pod's hostname (``spec.hostname`` if set, else the
pod's name cut to 63 characters): ``hostname``, ``uname -n`` and ``gethostname()`` print it, and
``$HOSTNAME`` holds it. The process runtime gives its containers the same view:

* ``HOSTNAME`` is always set in the container's environment (kubelet/runtime/process.py);
* on Linux, where this process may create namespaces (root, or CAP_SYS_ADMIN), each container is
  started in a new UTS namespace whose hostname is the pod's, and ``exec`` runs its command in the
  UTS namespace of the container's main process, so ``kubectl exec POD -- hostname`` prints it.

How, without ``preexec_fn`` (which runs Python between fork and exec, unsafe in a threaded
process such as the kubelet): namespaces belong to threads in Linux, and a child inherits the
namespaces of the thread that forks it. So a short-lived thread calls ``unshare(CLONE_NEWUTS)``
(or ``setns`` into the container's namespace), sets the hostname — of its own new namespace
only — and starts the process with ``subprocess.Popen``; the thread then ends and the
namespace lives on in the container. Python 3.11 has neither ``os.unshare`` nor ``os.setns``,
so they are called through libc with ctypes.

Elsewhere (not root, a container without CAP_SYS_ADMIN, seccomp, not Linux) ``unshare`` fails and
the container runs in the host's UTS namespace: ``hostname`` prints the machine's name, and only
``$HOSTNAME`` says the pod's. That fallback is silent but for one log line, and the hostname of
the host is never touched: ``sethostname`` is only called after ``unshare`` succeeded.

Not emulated: ``/etc/hostname`` and ``/etc/hosts`` (a container reads the host's files: faking
them needs a mount namespace), the pod's FQDN (``spec.subdomain``), and one namespace shared by
all containers of a pod (each has its own, with the same name, which differs only if a container
renames itself).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import socket
import sys
import threading
from collections.abc import Callable
from typing import TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")

CLONE_NEWUTS = 0x04000000
HOST_NAME_MAX = 63

_libc: ctypes.CDLL | None = None
_warned = False
_lock = threading.Lock()


def pod_hostname(pod: dict) -> str:
    """The hostname of ``pod`` as the kubelet computes it: ``spec.hostname``, else the pod's name; cut to
    63 characters without a trailing ``-`` or ``.`` when longer."""
    hostname = (pod.get("spec") or {}).get("hostname") or (pod.get("metadata") or {}).get("name") or ""
    hostname = str(hostname)
    return hostname[:HOST_NAME_MAX].rstrip("-.") if len(hostname) > HOST_NAME_MAX else hostname


def _load_libc() -> ctypes.CDLL | None:
    global _libc
    if _libc is None and sys.platform.startswith("linux"):
        try:
            _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        except OSError:
            return None
    return _libc


def _may_try() -> bool:
    return sys.platform.startswith("linux") and hasattr(os, "geteuid") and os.geteuid() == 0


def _note_fallback(reason: str) -> None:
    global _warned
    with _lock:
        if _warned:
            return
        _warned = True
    log.info("containers run in the host's UTS namespace (%s): hostname prints the node's name, "
             "$HOSTNAME the pod's", reason)


def _in_thread(enter: Callable[[], str], start: Callable[[], T]) -> T:
    """Run ``start`` in a new thread after ``enter`` (which returns "" on success, else why not); when
    ``enter`` fails, ``start`` runs in that same thread, in the host's namespace."""
    result: list[T] = []
    error: list[BaseException] = []

    def body() -> None:
        try:
            problem = enter()
            if problem:
                _note_fallback(problem)
            result.append(start())
        except BaseException as e:  # handed to the caller's thread
            error.append(e)

    thread = threading.Thread(target=body, name="uts-spawn", daemon=True)
    thread.start()
    thread.join()
    if error:
        raise error[0]
    return result[0]


def namespaces_permitted() -> bool:
    """Whether this process can give its containers their own UTS namespace (tried once, in a thread
    that ends at once)."""
    if not _may_try() or _load_libc() is None:
        return False
    return start_with_hostname("kubemu-probe", lambda: os.readlink("/proc/thread-self/ns/uts")) != \
        os.readlink("/proc/thread-self/ns/uts")


def start_with_hostname(hostname: str, start: Callable[[], T]) -> T:
    """``start()`` (which starts a process) with that process in a new UTS namespace named ``hostname``;
    without the privilege for one, simply ``start()``."""
    if not hostname or not _may_try():
        return start()
    libc = _load_libc()
    if libc is None:
        return start()

    def enter() -> str:
        if libc.unshare(CLONE_NEWUTS) != 0:
            return f"unshare(CLONE_NEWUTS): {os.strerror(ctypes.get_errno())}"
        socket.sethostname(hostname)  # of this thread's new namespace only
        return ""

    return _in_thread(enter, start)


def start_in_uts_of(pid: int | None, start: Callable[[], T]) -> T:
    """``start()`` with the new process in the UTS namespace of process ``pid`` (a container's main
    process), as ``exec`` needs; ``start()`` as is when that namespace cannot be joined."""
    if not pid or not _may_try():
        return start()
    libc = _load_libc()
    if libc is None:
        return start()
    path = f"/proc/{pid}/ns/uts"
    try:
        if os.readlink(path) == os.readlink("/proc/thread-self/ns/uts"):
            return start()  # the container shares the host's namespace (the fallback): nothing to join
    except OSError:
        return start()

    def enter() -> str:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError as e:
            return f"open {path}: {e.strerror}"
        try:
            if libc.setns(fd, CLONE_NEWUTS) != 0:
                return f"setns({path}): {os.strerror(ctypes.get_errno())}"
        finally:
            os.close(fd)
        return ""

    return _in_thread(enter, start)
