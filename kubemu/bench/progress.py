"""A progress display while a benchmark runs.

On a terminal one status line is redrawn in place (``\\r``) at most ten times a second; when
the output is a file or a pipe (CI, ``make bench | tee``) a line is printed at most every
``every_s`` seconds, so logs stay short. ``phase()`` starts a new line: a step that finished
stays on screen with its elapsed time.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from typing import TextIO


class Progress:
    def __init__(self, stream: TextIO | None = None, *, every_s: float = 5.0, quiet: bool = False):
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.every_s = every_s if not self.tty else 0.1
        self.quiet = quiet
        self._phase = ""
        self._phase_start = time.monotonic()
        self._last = 0.0
        self._drawn = False
        self._lock = threading.Lock()
        self._ticker: threading.Thread | None = None
        self._stop = threading.Event()

    def _write(self, text: str) -> None:
        if self.quiet:
            return
        self.stream.write(text)
        self.stream.flush()

    def phase(self, name: str) -> None:
        """End the current phase (its line stays) and start ``name``."""
        with self._lock:
            if self._phase:
                self._end_line(f"✓ {self._phase} ({time.monotonic() - self._phase_start:.1f}s)")
            self._phase, self._phase_start, self._last = name, time.monotonic(), 0.0
            self._draw(f"… {name}", force=True)

    def update(self, text: str, *, force: bool = False) -> None:
        with self._lock:
            elapsed = time.monotonic() - self._phase_start
            self._draw(f"… {self._phase} [{elapsed:.0f}s] {text}", force=force)

    def done(self, note: str = "") -> None:
        self.stop_ticker()
        with self._lock:
            if self._phase:
                tail = f": {note}" if note else ""
                self._end_line(f"✓ {self._phase} ({time.monotonic() - self._phase_start:.1f}s){tail}")
            self._phase = ""

    def fail(self, note: str) -> None:
        self.stop_ticker()
        with self._lock:
            self._end_line(f"✗ {self._phase}: {note}")
            self._phase = ""

    def _draw(self, text: str, *, force: bool) -> None:
        now = time.monotonic()
        if not force and now - self._last < self.every_s:
            return
        self._last = now
        if self.tty:
            self._write("\r\033[K" + text[:200])
            self._drawn = True
        else:
            self._write(text + "\n")

    def _end_line(self, text: str) -> None:
        if self.tty:
            self._write("\r\033[K" + text + "\n")
            self._drawn = False
        else:
            self._write(text + "\n")

    # A ticker redraws the line from a function while the main thread waits on something.
    def tick(self, status: Callable[[], str], interval_s: float = 0.5) -> None:
        self.stop_ticker()
        self._stop.clear()

        def loop() -> None:
            while not self._stop.wait(interval_s):
                try:
                    self.update(status())
                except Exception:  # noqa: BLE001 - a status function must never kill the benchmark
                    pass

        self._ticker = threading.Thread(target=loop, daemon=True, name="bench-progress")
        self._ticker.start()

    def stop_ticker(self) -> None:
        if self._ticker is not None:
            self._stop.set()
            self._ticker.join(timeout=2)
            self._ticker = None
