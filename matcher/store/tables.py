"""The participant table and the vector-owner table as Parquet files: written atomically, read
back column by column.

A stored participant table has the columns of :class:`matcher.schema.Participant` (see
:func:`participant_schema`), plus any extra columns a caller adds; ``vectors.parquet`` maps each
vector of an index to the participant (row) it belongs to.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from operator import attrgetter
from pathlib import Path
from typing import Any

from matcher.errors import IndexCorrupt
from matcher.schema import Participant, Project
from matcher.store.files import atomic_path


def _participant_schema() -> dict[str, Any]:
    import polars as pl

    project = pl.Struct(
        {"title": pl.String, "year": pl.Int32, "value": pl.Float64, "role": pl.String, "buyer": pl.String}
    )
    return {
        "id": pl.String, "name": pl.String, "kind": pl.String, "description": pl.String,
        "codes": pl.List(pl.String), "regions": pl.List(pl.String), "headcount": pl.Int64,
        "sme": pl.Boolean, "certifications": pl.List(pl.String), "projects": pl.List(project),
        "clusters": pl.List(pl.String),
        "language": pl.String,
    }  # fmt: skip


def participant_frame(participants: Iterable[Participant], extra: dict[str, list[Any]] | None = None):
    """The participant table, built column by column: list cells built one by one (as from a list
    of records) cost a polars Series each, 300,000 of them for 100k firms."""
    import polars as pl

    rows = list(participants)
    columns = []
    for name, dtype in _participant_schema().items():
        cells = list(map(attrgetter(name), rows))
        if dtype == pl.List(pl.String):
            columns.append(_list_series(name, pl.Series([x for c in cells for x in c], dtype=pl.String), cells))
        elif name == "projects":
            projects = [x for c in cells for x in c]
            fields = {k: pl.Series(k, list(map(attrgetter(k), projects)), dtype=t, strict=False)
                      for k, t in dtype.inner.to_schema().items()}  # fmt: skip
            columns.append(_list_series(name, pl.DataFrame(fields).to_struct(), cells))
        else:
            columns.append(pl.Series(name, cells, dtype=dtype, strict=False))
    frame = pl.DataFrame(columns)
    for name, values in (extra or {}).items():
        frame = frame.with_columns(pl.Series(name, values))
    return frame


def _list_series(name: str, items: Any, cells: list[tuple[Any, ...]]) -> Any:
    """A list column from the Series of every cell's items, one cell after the other, and the cells."""
    import polars as pl

    lengths = pl.Series([len(c) for c in cells], dtype=pl.Int64)
    ends = lengths.cum_sum()
    return pl.select(pl.lit(items.implode()).list.gather(pl.int_ranges(ends - lengths, ends))).to_series().alias(name)


def write_participants(
    path: Path, participants: Iterable[Participant], extra: dict[str, list[Any]] | None = None
) -> None:
    """Write a participant table to Parquet atomically and durably (temp file, fsync, rename)."""
    with atomic_path(path, durable=True) as tmp:
        participant_frame(participants, extra).write_parquet(tmp)


def write_vector_owners(path: Path, owner: Any) -> None:
    """Which participant (row of participants.parquet) each vector of the index belongs to."""
    import polars as pl

    pl.DataFrame(
        {"vector_id": range(len(owner)), "row": owner}, schema={"vector_id": pl.Int64, "row": pl.Int64}
    ).write_parquet(path)


def read_vector_owners(path: Path) -> Any:
    import polars as pl

    try:
        frame = pl.read_parquet(path)
        owner = frame.sort("vector_id")["row"].to_numpy()
    except Exception as exc:
        raise IndexCorrupt(f"{path}: unreadable vector table ({type(exc).__name__}); rebuild it") from None
    return owner


def read_participant_table(path: Path) -> list[Participant]:
    """The stored participants, whole (a query process reads a version's members through
    :class:`matcher.store.members.MemberTable` instead, row by row)."""
    import polars as pl

    try:
        frame = pl.read_parquet(path)
    except Exception as exc:
        raise IndexCorrupt(f"{path}: unreadable participant table ({type(exc).__name__}); rebuild it") from None
    for required in ("id", "name"):
        if required not in frame.columns:
            raise IndexCorrupt(f"{path}: participant table without an '{required}' column; rebuild it")
    return participants_from_frame(frame)


def read_participant_ids(path: Path) -> list[str]:
    """The ids of a stored participant table, in order (only that column is read)."""
    import polars as pl

    try:
        return pl.read_parquet(path, columns=["id"])["id"].to_list()
    except Exception as exc:
        raise IndexCorrupt(f"{path}: unreadable participant table ({type(exc).__name__}); rebuild it") from None


def participants_from_frame(frame: Any) -> list[Participant]:
    """Rebuild the Participants of a stored (already validated) table; a missing optional column
    or a null cell reads as the field's empty value. Column by column: the rows as dicts take
    twice as long, and hold the whole table twice."""

    def column(name: str) -> list[Any]:
        return frame[name].to_list() if name in frame.columns else [None] * frame.height

    # Values that repeat across members (kinds, codes, regions, ...) share one string each:
    # a million-firm registry holds a few thousand distinct ones, not millions of copies.
    shared: dict[Any, Any] = {}
    columns = {name: column(name) for name in ("id", "name", "headcount", "sme")}
    for name in ("kind", "language"):
        columns[name] = [shared.setdefault(v, v) for v in column(name)]
    columns["description"] = [d or "" for d in column("description")]
    for name in ("codes", "regions", "certifications", "clusters"):
        columns[name] = [shared.setdefault(t := tuple(cell), t) if cell else () for cell in column(name)]
    columns["projects"] = _projects_column(frame["projects"]) if "projects" in frame.columns else [()] * frame.height
    order = [f.name for f in dataclasses.fields(Participant)]
    return [Participant(*values) for values in zip(*(columns[name] for name in order), strict=True)]


def _projects_column(series: Any) -> list[tuple[Project, ...]]:
    """Each row's projects, from the list-of-structs column: all projects are made from one
    flat column per field, then dealt back to their rows."""
    lengths = series.list.len().fill_null(0).to_list()
    items = series.filter(series.list.len() > 0).explode()
    names = items.struct.fields
    shared: dict[Any, Any] = {}
    fields = {n: items.struct.field(n).to_list() for n in names}
    for n in ("role", "buyer"):  # a handful of roles, a few thousand buyers: one string each
        if n in fields:
            fields[n] = [shared.setdefault(v, v) for v in fields[n]]
    flat = [Project(**dict(zip(names, values))) for values in zip(*fields.values())]
    rows, start = [], 0
    for length in lengths:
        rows.append(tuple(flat[start : start + length]))
        start += length
    return rows


def participant_from_record(record: dict[str, Any]) -> Participant:
    """One stored member from its row as a dict (a few rows read from a mapped table): the same
    Participant as :func:`participants_from_frame` makes, null cells read as empty values."""
    projects = tuple(
        Project(**{k: v for k, v in x.items() if k in _PROJECT_FIELDS}) for x in record.get("projects") or ()
    )
    return Participant(
        id=record["id"], name=record["name"], description=record.get("description") or "",
        kind=record.get("kind"), codes=tuple(record.get("codes") or ()), regions=tuple(record.get("regions") or ()),
        headcount=record.get("headcount"), sme=record.get("sme"),
        certifications=tuple(record.get("certifications") or ()), projects=projects,
        clusters=tuple(record.get("clusters") or ()), language=record.get("language"),
    )  # fmt: skip


_PROJECT_FIELDS = frozenset(f.name for f in dataclasses.fields(Project))
