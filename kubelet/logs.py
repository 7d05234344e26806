"""Reading container logs for ``kubectl logs``: tail, since, timestamps, limit, follow.

The runtime writes each run's stdout+stderr to its own file (kept across kubelet restarts) and
keeps an index of ``(size, time)`` observations (see ``ProcessRuntime._index_log``). A line's time
is the first observation at which the file already held the whole line, so ``--since`` and
``--timestamps`` are as precise as the kubelet's polling (one PLEG period, 1 s), not per write
as with CRI log files. Lines not yet indexed count as written now.

Options apply in kubectl's order: ``since`` filters, then ``tail`` keeps the last N lines, then
``timestamps`` prefixes RFC 3339 times, then ``limit_bytes`` cuts. ``follow`` keeps streaming
what the container writes until its run ends (or a newer run starts), or the caller stops.
"""

from __future__ import annotations

import bisect
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

MAX_READ_BYTES = 16 * 1024 * 1024
CHUNK_BYTES = 64 * 1024
FOLLOW_POLL_S = 0.1


@dataclass(frozen=True)
class LogOptions:
    tail_lines: int | None = None
    since_unix: float | None = None
    timestamps: bool = False
    limit_bytes: int = 0
    follow: bool = False


def stamp(unix: float) -> str:
    """RFC 3339 with nanoseconds, as kubectl --timestamps shows."""
    whole = int(unix)
    nanos = int(round((unix - whole) * 1e9))
    if nanos >= 1_000_000_000:
        whole, nanos = whole + 1, nanos - 1_000_000_000
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{nanos:09d}Z"


def _lines(data: bytes) -> list[bytes]:
    return data.splitlines(keepends=True)


def line_times(lines: list[bytes], index: list[tuple[int, float]], now: float) -> list[float]:
    """The time of each line: the first index entry whose offset covers the line's end."""
    offsets = [o for o, _ in index]
    times = [t for _, t in index]
    out, end = [], 0
    for line in lines:
        end += len(line)
        i = bisect.bisect_left(offsets, end)
        out.append(times[i] if i < len(times) else now)
    return out


def read(path: str | None, index: list[tuple[int, float]], opts: LogOptions, *,
         now: Callable[[], float] = time.time) -> tuple[bytes, int]:
    """The log as the options select it, and the file offset reached (where following resumes)."""
    if path is None:
        return b"", 0
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            start = max(0, size - MAX_READ_BYTES)
            f.seek(start)
            data = f.read(size - start)
    except FileNotFoundError:
        return b"", 0
    if start:
        data = data[data.find(b"\n") + 1:]
        index = [(o - start, t) for o, t in index if o > start]
    lines = _lines(data)
    times = line_times(lines, index, now())
    selected = list(zip(lines, times, strict=True))
    if opts.since_unix is not None:
        selected = [(line, t) for line, t in selected if t >= opts.since_unix]
    if opts.tail_lines is not None and opts.tail_lines >= 0:
        selected = selected[len(selected) - opts.tail_lines:] if opts.tail_lines else []
    out = b"".join((f"{stamp(t)} ".encode() if opts.timestamps else b"") + line for line, t in selected)
    if opts.limit_bytes > 0:
        out = out[: opts.limit_bytes]
    return out, start + len(data)


def follow(path: str, offset: int, opts: LogOptions, *, alive: Callable[[], bool],
           cancelled: Callable[[], bool], sent_bytes: int = 0, now: Callable[[], float] = time.time,
           poll_s: float = FOLLOW_POLL_S) -> Iterator[bytes]:
    """Stream what is appended to ``path`` after ``offset`` until ``alive()`` turns false (and the
    rest is read) or ``cancelled()``. Whole lines only, except a last unterminated one at the end."""
    pending = b""
    while not cancelled():
        still_alive = alive()
        try:
            size = os.path.getsize(path)
        except OSError:
            return
        if size < offset:  # truncated to its tail: carry on from the new end
            offset = size
        while size > offset and not cancelled():
            with open(path, "rb") as f:
                f.seek(offset)
                data = f.read(min(CHUNK_BYTES, size - offset))
            if not data:
                break
            offset += len(data)
            pending += data
            cut = pending.rfind(b"\n") + 1
            if cut:
                chunk, pending = pending[:cut], pending[cut:]
                out = _prefix(chunk, opts, now())
                if opts.limit_bytes > 0:
                    out = out[: max(0, opts.limit_bytes - sent_bytes)]
                if out:
                    sent_bytes += len(out)
                    yield out
                if opts.limit_bytes > 0 and sent_bytes >= opts.limit_bytes:
                    return
        if not still_alive:
            if pending:
                yield _prefix(pending, opts, now())
            return
        time.sleep(poll_s)


def _prefix(chunk: bytes, opts: LogOptions, when: float) -> bytes:
    if not opts.timestamps:
        return chunk
    tag = f"{stamp(when)} ".encode()
    return b"".join(tag + line for line in _lines(chunk))
