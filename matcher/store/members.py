"""The members of an index version as a columnar table read by row number.

A version stores its members twice: ``participants.parquet`` (compressed, what refresh and the
tools read whole) and ``members.arrow``, the same columns as an uncompressed Arrow IPC file that
a query process memory-maps: opening it reads nothing, and a member is built as a Python object
only when a query shows it (the top of a ranking, a team, a profile). ``members.ids.npy`` holds
the ids sorted, with ``members.order.npy`` the row of each, so that finding a member by id is a
binary search over a mapped array rather than a dict of a million strings.

:class:`MemberTable` (a version's file) and :class:`MemberList` (members already in memory, as
the evaluation holds them) answer the same :class:`Members` interface.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from matcher.errors import IndexCorrupt
from matcher.schema import Participant
from matcher.store.files import atomic_path
from matcher.store.tables import participant_frame, participant_from_record

MEMBERS_FILE = "members.arrow"
IDS_FILE = "members.ids.npy"
ORDER_FILE = "members.order.npy"


class Members(Protocol):
    """Members by row number: how many, one or a few built whole, and the row of an id."""

    def __len__(self) -> int: ...

    def get(self, rows: Sequence[int] | np.ndarray) -> list[Participant]:
        """The members at these rows, in this order."""
        ...

    def row_of(self, participant_id: str) -> int | None:
        """The row of a member's id, or None."""
        ...

    def column(self, name: str) -> list[Any]:
        """One column for every member (ids or names, for the rare lookup that needs all of them)."""
        ...


class MemberList:
    """Members held in memory (the evaluation's firms, a test's): the :class:`Members` interface over a list."""

    def __init__(self, participants: Iterable[Participant]):
        self.participants = list(participants)
        self._rows: dict[str, int] | None = None

    def __len__(self) -> int:
        return len(self.participants)

    def get(self, rows: Sequence[int] | np.ndarray) -> list[Participant]:
        return [self.participants[int(r)] for r in rows]

    def row_of(self, participant_id: str) -> int | None:
        if self._rows is None:
            self._rows = {p.id: i for i, p in enumerate(self.participants)}
        return self._rows.get(participant_id)

    def column(self, name: str) -> list[Any]:
        return [getattr(p, name) for p in self.participants]


class MemberTable:
    """A version's ``members.arrow``, memory-mapped: nothing is read until a row is asked for."""

    def __init__(self, folder: Path):
        import pyarrow as pa
        import pyarrow.ipc

        self.path = folder / MEMBERS_FILE
        try:  # zero-copy over the mapping: opening reads no column
            reader = pa.ipc.open_file(pa.memory_map(str(self.path), "r"))
            self._batches = [reader.get_batch(i) for i in range(reader.num_record_batches)]
            self._starts = np.cumsum([0] + [b.num_rows for b in self._batches])
            self._ids = np.load(folder / IDS_FILE, mmap_mode="r", allow_pickle=False)
            self._order = np.load(folder / ORDER_FILE, mmap_mode="r", allow_pickle=False)
        except Exception as exc:
            raise IndexCorrupt(f"{self.path}: unreadable member table ({type(exc).__name__}); rebuild it") from None
        if len(self._ids) != len(self) or len(self._order) != len(self):
            raise IndexCorrupt(f"{self.path}: the member ids do not match the member table; rebuild it")

    def __len__(self) -> int:
        return int(self._starts[-1])

    def get(self, rows: Sequence[int] | np.ndarray) -> list[Participant]:
        rows = np.asarray(rows, dtype=np.int64)
        if not len(rows):
            return []
        # each row sliced from its record batch (no copy) and read as a dict: Arrow's take over
        # several batches concatenates whole columns first, and polars copies the sliced buffers
        batch = np.searchsorted(self._starts, rows, side="right") - 1
        out = []
        for row, i in zip(rows.tolist(), batch.tolist()):
            [record] = self._batches[i].slice(row - int(self._starts[i]), 1).to_pylist()
            out.append(participant_from_record(record))
        return out

    def row_of(self, participant_id: str) -> int | None:
        key = participant_id.encode("utf-8")
        if len(key) > self._ids.dtype.itemsize:  # longer than every stored id: not one of them
            return None
        at = int(np.searchsorted(self._ids, key))
        if at < len(self._ids) and self._ids[at] == key:
            return int(self._order[at])
        return None

    def column(self, name: str) -> list[Any]:
        return [x for b in self._batches for x in b.column(name).to_pylist()]


def write_members(folder: Path, participants: Sequence[Participant], extra: dict[str, list[Any]] | None = None) -> None:
    """Write ``members.arrow`` (uncompressed, so it can be mapped) and the sorted ids beside it."""
    import polars as pl

    frame = participant_frame(participants, extra)
    with atomic_path(folder / MEMBERS_FILE, durable=True) as tmp:
        # the oldest Arrow layout (large_string, not string_view), which every pyarrow kernel reads
        frame.write_ipc(tmp, compression="uncompressed", compat_level=pl.CompatLevel.oldest())
    encoded = [p.id.encode("utf-8") for p in participants]
    width = max((len(k) for k in encoded), default=1)
    ids = np.array(encoded, dtype=f"S{max(1, width)}")
    order = np.argsort(ids, kind="stable").astype(np.int64)
    save_array(folder / IDS_FILE, ids[order])
    save_array(folder / ORDER_FILE, order)


def save_array(path: Path, array: np.ndarray) -> None:
    """One array as a .npy file (no pickle), atomically and durably, for reading memory-mapped."""
    with atomic_path(path, durable=True) as tmp, tmp.open("wb") as f:
        np.save(f, np.ascontiguousarray(array), allow_pickle=False)
