"""What `matcher opportunities` has reported: one SQLite file in the workspace, outside the index versions.

``<workspace>/opportunities.sqlite3`` (WAL mode) holds one row per (member, tender, lot) reported,
with what the member page shows of it (titles, fit, band, dates). A refresh or a rollback never
touches it, so a nightly run over a feed reports only what it has not reported before. Each run
records its new rows in one transaction: a run killed before it commits reports them again.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

__all__ = ["Reported", "ReportedLot", "reported_path"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS reported (
    member_id TEXT NOT NULL,
    tender_id TEXT NOT NULL,
    lot_id TEXT NOT NULL,
    tender_title TEXT NOT NULL,
    lot_title TEXT NOT NULL,
    fit REAL NOT NULL,
    band TEXT NOT NULL,
    published TEXT,
    deadline TEXT,
    reported_at TEXT NOT NULL,
    PRIMARY KEY (member_id, tender_id, lot_id)
)
"""


@dataclass(frozen=True)
class ReportedLot:
    """A lot reported to a member: what the member page lists."""

    member_id: str
    tender_id: str
    lot_id: str
    tender_title: str
    lot_title: str
    fit: float
    band: str
    published: date | None
    deadline: date | None
    reported_at: str


def reported_path(root: Path) -> Path:
    return root / "opportunities.sqlite3"


def _iso(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _day(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value)


class Reported:
    """The workspace's record of reported opportunities."""

    def __init__(self, root: Path):
        self.path = reported_path(root)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(self.path, timeout=30)) as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(_SCHEMA)
            yield db

    def seen(self, keys: Iterable[tuple[str, str, str]]) -> set[tuple[str, str, str]]:
        """Those of the (member, tender, lot) keys reported before."""
        wanted = set(keys)
        if not wanted or not self.path.exists():
            return set()
        with self._connect() as db:
            db.execute("CREATE TEMP TABLE asked (member_id TEXT, tender_id TEXT, lot_id TEXT)")
            db.executemany("INSERT INTO asked VALUES (?, ?, ?)", wanted)
            rows = db.execute(
                "SELECT r.member_id, r.tender_id, r.lot_id FROM reported r "
                "JOIN asked a USING (member_id, tender_id, lot_id)"
            ).fetchall()
        return {(m, t, lot) for m, t, lot in rows}

    def record(self, lots: Iterable[ReportedLot]) -> None:
        """Remember these as reported (a lot reported again keeps its latest fit), in one transaction."""
        rows = [
            (r.member_id, r.tender_id, r.lot_id, r.tender_title, r.lot_title, r.fit, r.band,
             _iso(r.published), _iso(r.deadline), r.reported_at)
            for r in lots
        ]  # fmt: skip
        if not rows:
            return
        with self._connect() as db, db:
            db.executemany("INSERT OR REPLACE INTO reported VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)

    def open_lots(self, member_id: str, today: date | None = None, limit: int = 50) -> list[ReportedLot]:
        """The lots reported to a member whose deadline has not passed (or is unknown), best fit first."""
        if not self.path.exists():
            return []
        day = (today or date.today()).isoformat()
        with self._connect() as db:
            rows = db.execute(
                "SELECT * FROM reported WHERE member_id = ? AND (deadline IS NULL OR deadline >= ?) "
                "ORDER BY fit DESC, tender_id, lot_id LIMIT ?",
                (member_id, day, limit),
            ).fetchall()
        return [
            ReportedLot(m, t, lot, tt, lt, fit, band, _day(p), _day(d), at)
            for m, t, lot, tt, lt, fit, band, p, d, at in rows
        ]


def now() -> str:
    """The time a run records, in UTC, to the second."""
    return datetime.now(UTC).isoformat(timespec="seconds")
