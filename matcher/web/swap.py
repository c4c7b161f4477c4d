"""Following the workspace's CURRENT pointer: a server that swaps in each newly published version.

A refresh publishes a version by writing its folder completely, then replacing
``index/CURRENT`` in one ``os.replace`` (:meth:`matcher.store.workspace.Workspace.publish`); a
rollback replaces the pointer the same way. :class:`Follower` reads that pointer every
``poll_s`` seconds (one small file read), and when it names a version other than the one served,
opens it beside the served one, verifies it (every file's size against the manifest, the small
files' checksums; see :meth:`~matcher.store.workspace.Workspace.verify`), warms it with a few
queries, and only then makes it the served :class:`~matcher.web.service.Service` in one
assignment. Each request takes the service that is current when it starts (``PinVersion``) and
keeps it to its end, so a request in flight finishes on the version it began on; the old version
is dropped when the last such request ends.

A version that fails to open, verify or answer is never swapped in: the old one keeps serving,
the log says why, ``/health`` reports it, and it is tried again only when CURRENT changes or
``retry_s`` has passed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from matcher.errors import MatcherError
from matcher.search import Matcher, RankerChoice
from matcher.store.workspace import Workspace
from matcher.web.service import Service

log = logging.getLogger("matcher.web.swap")

POLL_S = 0.5
RETRY_S = 60.0


@dataclass(frozen=True)
class SwapFailure:
    """The newest published version, which could not be served, and why."""

    version: str
    reason: str
    at: float  # time.time() of the attempt

    def as_dict(self) -> dict[str, Any]:
        at = datetime.fromtimestamp(self.at, UTC).isoformat(timespec="seconds")
        return {"version": self.version, "reason": self.reason, "at": at}


class Follower:
    """The served version of a workspace, replaced when CURRENT names another (see the module).

    Args:
        service: the version served at start (opened and warmed by the caller).
        model, ranker: as the server was started with; each new version opens with them.
        poll_s: seconds between two reads of CURRENT in :meth:`start`'s thread.
        retry_s: a version that failed is tried again after this long (CURRENT unchanged).
        on_swap, on_failure: called after a swap (old, new service, seconds it took) and after a
            failed attempt (the failure): the server's metrics.
    """

    def __init__(
        self,
        service: Service,
        model: str | None = None,
        ranker: RankerChoice = "auto",
        *,
        poll_s: float = POLL_S,
        retry_s: float = RETRY_S,
        on_swap: Callable[[Service, Service, float], None] | None = None,
        on_failure: Callable[[SwapFailure], None] | None = None,
    ):
        self.service = service
        self.workspace: Workspace = service.matcher.workspace
        self.model = model
        self.ranker: RankerChoice = ranker
        self.poll_s = poll_s
        self.retry_s = retry_s
        self.on_swap = on_swap
        self.on_failure = on_failure
        self.newest: str | None = service.index_version  # what CURRENT named at the last read
        self.failure: SwapFailure | None = None
        self.swaps = 0
        self._lock = threading.Lock()  # one check at a time (the thread, or a test calling check())
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def served(self) -> str:
        return self.service.index_version

    def read_current(self) -> str | None:
        """The name CURRENT holds now (None when it cannot be read: no index, or mid-replace on
        a filesystem without atomic rename; the next poll reads it again)."""
        try:
            name = (self.workspace.index_dir / "CURRENT").read_text(encoding="utf-8").strip()
        except OSError:
            return None
        return name or None

    def check(self) -> bool:
        """One poll: swap in the version CURRENT names if it is not the served one. True on a swap."""
        with self._lock:
            name = self.read_current()
            if name is None:
                return False
            self.newest = name
            if name == self.served:
                if self.failure is not None and self.failure.version != name:
                    self.failure = None  # CURRENT moved back to the served version (a rollback)
                return False
            failed = self.failure
            if failed is not None and failed.version == name and time.time() - failed.at < self.retry_s:
                return False
            return self._swap_to(name)

    def _swap_to(self, name: str) -> bool:
        started = time.perf_counter()
        old = self.service
        try:
            folder = self.workspace.versions_dir / name
            if "/" in name or name.startswith(".") or not folder.is_dir():
                raise MatcherError(f"CURRENT names version '{name}', which is not in {self.workspace.versions_dir}")
            matcher = Matcher(self.workspace, self.model, ranker=self.ranker, version=folder)
            matcher.observer = old.matcher.observer
            matcher.opened.share_model(old.matcher.opened)
            new = Service(matcher)
            new.warm_up()  # loads BM25 and the taxonomy, and answers one query of each kind
        except Exception as exc:  # noqa: BLE001 - whatever is wrong with the new version, the old one serves
            reason = str(exc) if isinstance(exc, MatcherError) else f"{type(exc).__name__}: {exc}"
            self.failure = SwapFailure(name, reason, time.time())
            log.error(
                "not serving the new index version",
                extra={"version": name, "served": self.served, "reason": reason},
            )
            if self.on_failure is not None:
                self.on_failure(self.failure)
            return False
        self.service = new  # one assignment: each request reads it once, when it starts
        self.failure = None
        self.swaps += 1
        seconds = time.perf_counter() - started
        log.info(
            "serving a new index version",
            extra={"version": name, "previous": old.index_version, "swap_s": round(seconds, 3)},
        )
        if self.on_swap is not None:
            self.on_swap(old, new, seconds)
        return True

    # --- the background thread ---------------------------------------------------------------

    def start(self) -> None:
        """Poll CURRENT in a daemon thread until :meth:`stop`."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="matcher-follow-current", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.poll_s):
            try:
                self.check()
            except Exception:  # noqa: BLE001 - the thread must outlive any one poll
                log.exception("checking for a new index version failed")
