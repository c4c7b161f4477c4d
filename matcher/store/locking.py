"""One writer per workspace: an exclusive lock on `<workspace>/.lock`.

The lock is an flock, which the kernel releases when its process dies, so a refresh killed
halfway never blocks the next one; the PID and start time written into the file only say who
holds it (and who held it last, when the next writer takes over after a crash).
"""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from matcher.errors import MatcherError


class WorkspaceBusy(MatcherError):
    """Another process is writing to the workspace."""


def pid_alive(pid: int) -> bool:
    """Whether a process with this id runs (one of another user counts as running)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class WorkspaceLock:
    """Context manager: `with WorkspaceLock(root, "refresh"): ...`.

    Args:
        wait: seconds to wait for another writer to finish (0: fail at once with who holds it).
    """

    def __init__(self, root: Path, action: str, wait: float = 0.0):
        self.path = Path(root) / ".lock"
        self.action = action
        self.wait = wait
        self._fd: int | None = None
        self.took_over: dict | None = None  # what a dead previous holder had written

    def __enter__(self) -> WorkspaceLock:
        import fcntl

        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + self.wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = self._holder(fd)
                    os.close(fd)
                    action, pid, since = (holder.get(k, "?") for k in ("action", "pid", "since"))
                    who = f"{action} (pid {pid}, since {since})"
                    raise WorkspaceBusy(
                        f"{self.path.parent} is busy: {who} is writing to it; wait for it to finish "
                        "or pass --wait SECONDS"
                    ) from None
                time.sleep(0.2)
        previous = self._holder(fd)
        if previous.get("pid") and not pid_alive(int(previous["pid"])):
            self.took_over = previous  # its process died holding the lock: the kernel released it
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps({"pid": os.getpid(), "action": self.action,
                                  "since": datetime.now(UTC).isoformat(timespec="seconds")}).encode(), 0)  # fmt: skip
        self._fd = fd
        return self

    @staticmethod
    def _holder(fd: int) -> dict:
        try:
            data = json.loads(os.pread(fd, 4096, 0).decode() or "{}")
            return data if isinstance(data, dict) else {}
        except (json.JSONDecodeError, UnicodeDecodeError):
            return {}

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        import fcntl

        if self._fd is not None:
            os.ftruncate(self._fd, 0)  # nobody holds it now
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
