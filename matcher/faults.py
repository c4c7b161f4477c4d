"""Named crash points, so that tests can kill a refresh at any step and check what survives.

`MATCHER_CRASH_AT=<name>` makes the process SIGKILL itself when it reaches that point: no
cleanup, no atexit, exactly what a power cut or the OOM killer leaves behind. Unset (always,
outside tests), a crash point costs one dictionary lookup.
"""

from __future__ import annotations

import os
import signal

CRASH_ENV = "MATCHER_CRASH_AT"

# Every point a refresh passes, in order (tests iterate over them).
POINTS = (
    "lock-acquired",
    "sources-read",
    "participants-written",
    "history-written",
    "embedding",
    "embedded",
    "cache-written",
    "index-written",
    "version-files-written",
    "manifest-written",
    "version-renamed",
    "current-tmp-written",
    "current-swapped",
    "cleanup",
)


def crash_point(name: str) -> None:
    if os.environ.get(CRASH_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
