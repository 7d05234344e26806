"""Test helpers: waiting on conditions with a deadline (never sleeping as synchronisation)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(condition: Callable[[], T], *, timeout_s: float = 30.0, interval_s: float = 0.1,
             message: str = "condition") -> T:
    """Poll ``condition`` until it returns something truthy; fail with ``message`` at the deadline.

    Exceptions raised by the condition count as "not yet" until the deadline, then re-raise.
    """
    deadline = time.monotonic() + timeout_s
    last_error: Exception | None = None
    while True:
        try:
            value = condition()
            if value:
                return value
            last_error = None
        except Exception as e:  # noqa: BLE001 - retried until the deadline
            last_error = e
        if time.monotonic() > deadline:
            if last_error is not None:
                raise AssertionError(f"timed out after {timeout_s}s waiting for {message}") from last_error
            raise AssertionError(f"timed out after {timeout_s}s waiting for {message}")
        time.sleep(interval_s)
