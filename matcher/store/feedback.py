"""The managers' marks on suggestions: one SQLite file in the workspace, ``<workspace>/feedback.sqlite3``.

It sits beside ``index/``, not in a version folder, so that `refresh`, `index build`, pruning and
`index rollback` never touch it. WAL mode and ``synchronous=FULL``: a committed mark survives a
SIGKILL or a power cut, and a killed write leaves the file as of the last commit (SQLite's own
journal does that; tests/test_feedback.py kills a writer in the middle of one). Every write is a
``BEGIN IMMEDIATE`` transaction with a busy timeout, so that the CLI and the server's workers
can write at once; each thread has its own connection (sqlite3 connections are not shared).

The schema's version is ``PRAGMA user_version``; a file from a newer matcher is refused rather
than misread.

Example:
    >>> store = FeedbackStore(Path("my-cluster"))  # doctest: +SKIP
    >>> store.add("SPB-2026-BR-0147", "1", "RU-INN-7842227069", "not-relevant", "too-far")
"""

from __future__ import annotations

import itertools
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import cast, get_args

from matcher.errors import IndexCorrupt, InputError
from matcher.faults import crash_point
from matcher.results import FeedbackReason, FeedbackStatus, Mark

FEEDBACK_FILE = "feedback.sqlite3"
SCHEMA_VERSION = 1
BUSY_TIMEOUT_MS = 10_000
STATUSES: tuple[str, ...] = get_args(FeedbackStatus)
REASONS: tuple[str, ...] = get_args(FeedbackReason)
POSITIVE: frozenset[str] = frozenset({"shortlisted", "contacted", "won"})
NEGATIVE: frozenset[str] = frozenset({"not-relevant", "lost"})
# The crash point a write passes after its INSERT/DELETE and before COMMIT (tests kill it there).
CRASH_BEFORE_COMMIT = "feedback-before-commit"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS marks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tender_id TEXT NOT NULL,
    lot_id TEXT NOT NULL,
    member_id TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT,
    note TEXT NOT NULL DEFAULT '',
    codes TEXT NOT NULL DEFAULT '',   -- the lot's codes, space-separated
    text TEXT NOT NULL DEFAULT '',    -- the lot's title and description
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS marks_member ON marks (member_id);
CREATE INDEX IF NOT EXISTS marks_lot ON marks (tender_id, lot_id);
"""
_COLUMNS = "id, tender_id, lot_id, member_id, status, reason, note, codes, text, created_at"


def normalise_status(status: str) -> FeedbackStatus:
    """ "Not relevant", "not_relevant" and "not-relevant" are one status; anything else lists the valid ones."""
    word = "-".join(status.strip().lower().replace("_", " ").split())
    if word not in STATUSES:
        raise InputError(f"unknown feedback status {status!r}; use one of: {', '.join(STATUSES)}")
    return cast(FeedbackStatus, word)


def normalise_reason(status: FeedbackStatus, reason: str | None) -> FeedbackReason | None:
    """The reason of a "not-relevant" mark (required there, refused elsewhere)."""
    if status != "not-relevant":
        if reason:
            raise InputError(f"a reason goes with status not-relevant only, not {status}")
        return None
    if not reason:
        raise InputError(f"say why it is not relevant: --reason one of {', '.join(REASONS)}")
    word = "-".join(reason.strip().lower().replace("_", " ").split())
    if word not in REASONS:
        raise InputError(f"unknown reason {reason!r}; use one of: {', '.join(REASONS)}")
    return cast(FeedbackReason, word)


def check_fields(
    tender_id: str, lot_id: str, member_id: str, note: str = "", text: str = "", codes: Sequence[str] = ()
) -> None:
    """InputError for an empty id, or text that is not valid Unicode (a lone surrogate from JSON)."""
    for name, value in (("tender id", tender_id), ("lot id", lot_id), ("member id", member_id)):
        if not value or not value.strip():
            raise InputError(f"the {name} is empty")
    named = {"tender id": tender_id, "lot id": lot_id, "member id": member_id, "note": note, "text": text}
    for name, value in {**named, "codes": " ".join(codes)}.items():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise InputError(f"the {name} is not valid Unicode text") from None


class FeedbackStore:
    """The marks of one workspace (created on the first write; reading a missing file finds none)."""

    def __init__(self, root: Path):
        self.path = Path(root) / FEEDBACK_FILE
        self._local = threading.local()
        self._serials = itertools.count(1)  # each connection's number: see state()
        self._commits = itertools.count(1)
        self._writes = 0  # writes made through this store, which PRAGMA data_version does not count

    # --- connections ----------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            return conn
        self.path.parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
        while True:
            opened: sqlite3.Connection | None = None
            try:
                # isolation_level=None: transactions are ours (BEGIN IMMEDIATE), not the module's
                conn = opened = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
                conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
                # Switching to WAL takes the file's lock without waiting on the busy timeout: two
                # first connections at once (threads, workers) may see "database is locked". The
                # mode is kept in the file, so only the first connection ever switches it.
                if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                    conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = FULL")
                self._migrate(conn)
                break
            except sqlite3.OperationalError as exc:
                if "locked" in str(exc) and time.monotonic() < deadline:
                    if opened is not None:
                        opened.close()
                    time.sleep(0.02)
                    continue
                raise IndexCorrupt(f"{self.path}: {exc}; is another program holding it?") from None
            except sqlite3.DatabaseError as exc:
                message = f"{self.path} is not a readable feedback file ({exc}); move it aside to start anew"
                raise IndexCorrupt(message) from None
        self._local.conn = conn
        self._local.serial = next(self._serials)
        self._local.inode = _identity(self.path)
        return conn

    def _migrate(self, conn: sqlite3.Connection) -> None:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise IndexCorrupt(
                f"{self.path} has feedback schema {version}, newer than this matcher's ({SCHEMA_VERSION}); "
                "upgrade matcher"
            )
        if version == SCHEMA_VERSION:
            return
        conn.execute("BEGIN IMMEDIATE")  # two processes creating the file at once: one creates, one waits
        if conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION:
            conn.execute("COMMIT")
            return
        for statement in _SCHEMA.split(";"):
            if statement.strip():
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def state(self) -> tuple[int, ...] | None:
        """A value that changes whenever a mark is committed, by any thread or process: None while
        there is no file. Two calls give equal values only when nothing was committed between them,
        so a reader can keep the marks it read until the value changes (:meth:`Matcher.marks` does).

        It is ``PRAGMA data_version`` of this thread's connection (SQLite moves it when another
        connection commits; it reads no table), this store's own commits (which data_version does
        not count), the connection's number (values of two connections are not comparable) and the
        file's identity: a file moved aside and made anew is opened anew.
        """
        identity = _identity(self.path)
        if identity is None:
            return None
        if getattr(self._local, "conn", None) is not None and self._local.inode != identity:
            self.close()
        conn = self._connect()
        version = int(conn.execute("PRAGMA data_version").fetchone()[0])
        return (*identity, self._local.serial, version, self._writes)

    def _write(self, sql: str, args: Sequence[object]) -> int:
        conn = self._connect()
        conn.execute("BEGIN IMMEDIATE")  # takes the write lock now, waiting up to the busy timeout
        try:
            cursor = conn.execute(sql, args)
            crash_point(CRASH_BEFORE_COMMIT)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        finally:
            self._writes = next(self._commits)  # a rolled-back one counts too: state() changes, no harm
        return int(cursor.lastrowid or 0) if sql.lstrip().upper().startswith("INSERT") else cursor.rowcount

    # --- marks ----------------------------------------------------------------------

    def add(
        self,
        tender_id: str,
        lot_id: str,
        member_id: str,
        status: str,
        reason: str | None = None,
        note: str = "",
        codes: Iterable[str] = (),
        text: str = "",
    ) -> Mark:
        """Store one mark and return it (status and reason checked: see :func:`normalise_status`)."""
        checked = normalise_status(status)
        why = normalise_reason(checked, reason)
        codes = tuple(codes)
        check_fields(tender_id, lot_id, member_id, note, text, codes)
        now = datetime.now(UTC).isoformat(timespec="seconds")
        row = (tender_id.strip(), lot_id.strip(), member_id.strip(), checked, why, note, " ".join(codes), text, now)
        mark_id = self._write(
            "INSERT INTO marks (tender_id, lot_id, member_id, status, reason, note, codes, text, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            row,
        )
        return Mark(mark_id, row[0], row[1], row[2], checked, why, note, codes, text, now)

    def remove(self, mark_id: int) -> Mark:
        """Delete one mark by its id; InputError naming the newest ids when there is no such mark."""
        found = self.get(mark_id)
        if found is None:
            latest = ", ".join(str(m.id) for m in self.marks()[-3:]) or "none yet"
            raise InputError(f"no feedback mark {mark_id} in {self.path}; the newest are: {latest}")
        self._write("DELETE FROM marks WHERE id = ?", (mark_id,))
        return found

    def undo(self) -> Mark:
        """Delete the newest mark."""
        marks = self.marks()
        if not marks:
            raise InputError(f"no feedback marks in {self.path}: nothing to undo")
        return self.remove(marks[-1].id)

    def get(self, mark_id: int) -> Mark | None:
        if not 0 < mark_id < 2**63:  # SQLite's integers are 64-bit: no mark has such an id
            return None
        found = self._select("WHERE id = ?", (mark_id,))
        return found[0] if found else None

    def marks(self, member_id: str | None = None, tender_id: str | None = None) -> list[Mark]:
        """Every mark, oldest first, optionally of one member and/or one tender."""
        if not self.path.exists():
            return []
        where, args = [], []
        if member_id is not None:
            where.append("member_id = ?")
            args.append(member_id)
        if tender_id is not None:
            where.append("tender_id = ?")
            args.append(tender_id)
        return self._select(("WHERE " + " AND ".join(where)) if where else "", args)

    def _select(self, where: str, args: Sequence[object]) -> list[Mark]:
        rows = self._connect().execute(f"SELECT {_COLUMNS} FROM marks {where} ORDER BY id", args).fetchall()
        return [
            Mark(int(r[0]), r[1], r[2], r[3], r[4], r[5], r[6] or "", tuple(r[7].split()), r[8] or "", r[9])
            for r in rows
        ]


def _identity(path: Path) -> tuple[int, int] | None:
    """The file's device and inode, or None when there is no file."""
    try:
        found = os.stat(path)
    except FileNotFoundError:
        return None
    return found.st_dev, found.st_ino
