"""Process-group helpers of the process runtime: identity checks, signalling, reaping.

A container is a process group whose leader is the container's main process. A record of a run
(``pid``, psutil ``create_time``, ``name``) identifies the leader; a pid whose create time differs is
a stranger that reused the number and is never signalled. These helpers only need those three
attributes, so they take any such record.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import logging
import os
import shutil
import signal
import subprocess
import time
from typing import Protocol

import psutil

log = logging.getLogger(__name__)

POLL_INTERVAL_S = 0.02
REMNANT_WAIT_S = 2.0
CREATE_TIME_TOLERANCE_S = 0.1
PR_SET_CHILD_SUBREAPER = 36


class Run(Protocol):
    name: str
    pid: int | None
    create_time: float | None


def exit_code_of(returncode: int) -> int:
    """Popen's returncode (negative for a signal) as a container exit code (128 + signal)."""
    return 128 - returncode if returncode < 0 else returncode


def process_create_time(pid: int) -> float | None:
    try:
        return psutil.Process(pid).create_time()
    except psutil.Error:
        return None


def same_process(proc: psutil.Process, rec: Run) -> bool:
    """Whether ``proc`` is the process ``rec`` started, not a later one that reused its pid."""
    if rec.create_time is None:
        return False
    return abs(proc.create_time() - rec.create_time) <= CREATE_TIME_TOLERANCE_S


def leader_present(rec: Run) -> bool:
    """Whether the group leader still holds its pid (possibly as a zombie), so killpg is safe."""
    if rec.pid is None:
        return False
    try:
        return same_process(psutil.Process(rec.pid), rec)
    except psutil.Error:
        return False


def reap_if_child(proc: psutil.Process) -> int | None:
    """Reap a zombie that is our child (started by another runtime object in this process)."""
    try:
        if proc.ppid() != os.getpid():
            return None
        pid, status = os.waitpid(proc.pid, os.WNOHANG)
    except (psutil.Error, ChildProcessError):
        return None
    return exit_code_of(os.waitstatus_to_exitcode(status)) if pid else None


def group_members(rec: Run) -> list[int]:
    """Live (non-zombie) processes of the container's process group, created no earlier than its leader.

    If the group's number now belongs to a different leader (the pid was freed and reused by a
    process that made its own group), the group is a stranger's and nothing is returned.
    """
    if rec.pid is None:
        return []
    pgid = rec.pid
    try:
        if not same_process(psutil.Process(pgid), rec):
            return []
    except psutil.NoSuchProcess:
        pass  # the leader is gone; its group lives on while any member does
    except psutil.Error:
        return []
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return []  # no process is left in the group: no need to scan every process on the machine
    except PermissionError:
        pass  # another user's group has that number now: the scan below tells ours apart
    floor = (rec.create_time or 0.0) - CREATE_TIME_TOLERANCE_S
    members = []
    for proc in psutil.process_iter(["create_time", "status"]):
        if proc.info["status"] == psutil.STATUS_ZOMBIE or (proc.info["create_time"] or 0.0) < floor:
            continue
        with contextlib.suppress(OSError):
            if os.getpgid(proc.pid) == pgid:
                members.append(proc.pid)
    return members


def signal_group(rec: Run, sig: int) -> None:
    """Signal the container's whole process group, never a stranger's group that reused the number."""
    if rec.pid is None:
        return
    if leader_present(rec):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(rec.pid, sig)
        return
    for pid in group_members(rec):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)


def kill_remnants(rec: Run) -> None:
    """SIGKILL what is left of a container's process group once its main process has exited."""
    if rec.pid is None:
        return
    deadline = time.monotonic() + REMNANT_WAIT_S
    while members := group_members(rec):
        for pid in members:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        if time.monotonic() >= deadline:
            log.warning("processes %s of container %s survived SIGKILL", members, rec.name)
            return
        time.sleep(POLL_INTERVAL_S)


def enable_subreaper() -> bool:
    """Make this process a child subreaper (Linux): orphaned descendants are reparented to it."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def children() -> list[psutil.Process]:
    try:
        return psutil.Process().children()
    except psutil.Error:
        return []


@functools.cache
def idle_argv(python: str) -> list[str]:
    """``sleep infinity`` where sleep understands it (GNU coreutils), else a Python pause loop."""
    sleep = shutil.which("sleep")
    if sleep:
        try:
            out = subprocess.run([sleep, "--version"], capture_output=True, timeout=5, check=False).stdout
        except (OSError, subprocess.SubprocessError):
            out = b""
        if b"coreutils" in out:
            return [sleep, "infinity"]
    return [python, "-c", "import signal\nwhile True:\n    signal.pause()"]
