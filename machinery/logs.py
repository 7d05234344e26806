"""Logging in klog's shape, so kubemu logs read like Kubernetes component logs.

``I1125 08:40:02.123456   12345 scheduler] Successfully bound default/nginx to node-1``: a
severity letter, month and day, time with microseconds, the process id, the component, a
bracket, then the message. ``-v``/``--v`` raises verbosity to DEBUG.
"""

from __future__ import annotations

import logging
import os
import sys
import time

_LETTERS = {logging.DEBUG: "I", logging.INFO: "I", logging.WARNING: "W", logging.ERROR: "E", logging.CRITICAL: "F"}


class KlogFormatter(logging.Formatter):
    def __init__(self, component: str):
        super().__init__()
        self.component = component

    def format(self, record: logging.LogRecord) -> str:
        t = time.localtime(record.created)
        micros = int((record.created % 1) * 1_000_000)
        head = f"{_LETTERS.get(record.levelno, 'I')}{time.strftime('%m%d %H:%M:%S', t)}.{micros:06d} {os.getpid():7d}"
        text = f"{head} {self.component}] {record.getMessage()}"
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


def setup(component: str, verbosity: int = 0) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(KlogFormatter(component))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbosity > 0 else logging.INFO)
    for noisy in ("grpc", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
