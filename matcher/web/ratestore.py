"""The rate limit's log of request times, shared by every worker process of one server.

``matcher serve --workers N`` runs N processes behind one socket; a client's requests land on
any of them, so a limit kept in each process's memory would let a client through N times over.
:class:`SharedWindow` keeps the same sliding window as :class:`~matcher.web.guards.SlidingWindow`
in one SQLite file in the workspace (``serve/rate-limit.sqlite3``, WAL mode), counted and
appended in one ``BEGIN IMMEDIATE`` transaction, so two workers never both let the limit's last
request through. Nothing in it needs to survive a crash, so it is written without fsync.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from matcher.errors import InputError

WINDOW_S = 60.0
PURGE_EVERY = 1000  # hits between two sweeps of every client's expired entries


class Window(Protocol):
    """At most ``limit`` requests per client in any ``window_s`` seconds."""

    limit: int
    window_s: float
    blocking: bool  # whether hit waits on a file lock (then RateLimit runs it off the event loop)

    def hit(self, client: str) -> float:
        """Counts a request; returns 0 when it is allowed, else the seconds until one will be."""
        ...


class SharedWindow:
    """:class:`~matcher.web.guards.SlidingWindow`'s contract, kept in a SQLite file that several
    processes share. ``clock`` must be the same in all of them: wall-clock seconds by default.

    Example:
        >>> import tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "rate.sqlite3"
        >>> w = SharedWindow(path, 2, clock=iter([0.0, 1.0, 2.0, 61.0]).__next__)
        >>> [w.hit("a") for _ in range(4)]
        [0.0, 0.0, 58.0, 0.0]
    """

    blocking = True  # BEGIN IMMEDIATE waits while another worker holds the write lock

    def __init__(self, path: Path, limit: int, window_s: float = WINDOW_S, clock: Callable[[], float] = time.time):
        self.path = path
        self.limit = limit
        self.window_s = window_s
        self.clock = clock
        self._local = threading.local()  # one connection per thread (sqlite3 connections are not shared)
        self._hits = 0
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with self._connect() as db:
                db.execute("CREATE TABLE IF NOT EXISTS hits (client TEXT NOT NULL, t REAL NOT NULL)")
                db.execute("CREATE INDEX IF NOT EXISTS hits_client_t ON hits (client, t)")
        except (OSError, sqlite3.Error) as exc:
            raise InputError(
                f"cannot keep the shared rate limit in {path}: {exc}; the server needs to write in its "
                "workspace (or run with --rate-limit 0)"
            ) from None

    def _connect(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=10, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=OFF")
            self._local.db = db
        return db

    def hit(self, client: str) -> float:
        now = self.clock()
        db = self._connect()
        db.execute("BEGIN IMMEDIATE")  # the write lock first: count and append as one step
        try:
            db.execute("DELETE FROM hits WHERE client = ? AND t <= ?", (client, now - self.window_s))
            count, oldest = db.execute("SELECT COUNT(*), MIN(t) FROM hits WHERE client = ?", (client,)).fetchone()
            if count >= self.limit:
                db.execute("COMMIT")
                return float(oldest) + self.window_s - now
            db.execute("INSERT INTO hits (client, t) VALUES (?, ?)", (client, now))
            self._hits += 1
            if self._hits % PURGE_EVERY == 0:  # idle clients' entries, so that the file cannot grow without end
                db.execute("DELETE FROM hits WHERE t <= ?", (now - self.window_s,))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return 0.0
