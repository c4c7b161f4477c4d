"""Read participant tables (CSV, JSON, JSON Lines, Parquet, XLSX) and validate them row by row.

Valid rows always load; each rejected row is reported with its file, row and field and
written to ``<input>.rejects.csv`` beside the input (or into the workspace when the
input's folder is read-only), so that nothing is lost.

Row numbers are the ones a person sees: the spreadsheet row for CSV and XLSX (the header
is row 1 unless a title stands above it: :mod:`matcher.inputs.sheets` finds it), the line for
JSON Lines, the 1-based record for JSON and Parquet. The columns of a table with a header
(CSV, TSV, XLSX, Parquet) are mapped to the fields by :mod:`matcher.inputs.columns`; a rejected
row keeps the file's own columns, so that its rejects file can be fixed and ingested again.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from matcher.errors import InputError
from matcher.i18n import tr
from matcher.inputs import sheets
from matcher.inputs.columns import STORED, ColumnMap, column_map
from matcher.inputs.fields import (
    FieldError,
    blank,
)
from matcher.inputs.record import ParticipantParser
from matcher.inputs.record import parse_participant as parse_participant  # where callers have always found it
from matcher.inputs.sheets import Rows, Table
from matcher.results import ColumnUse, RowPreview, TableLayout
from matcher.schema import Participant
from matcher.store import rejects as store_rejects
from matcher.store.files import safe_csv_cell

PARTICIPANT_COLUMNS = STORED
PREVIEW_ROWS = 5  # rows of each file kept as read, for `ingest --dry-run`
TABLE_SUFFIXES = (".csv", ".tsv", ".json", ".jsonl", ".ndjson", ".parquet", ".xlsx")
REJECTS_SUFFIX = ".rejects.csv"


@dataclass(frozen=True)
class Reject:
    """One rejected row: where it was, which field was wrong and why, and the row itself."""

    file: str
    row: int
    field: str
    reason: str
    record: dict[str, Any]

    def __str__(self) -> str:
        return tr(
            "%(file)s row %(row)s, field '%(field)s': %(reason)s",
            file=self.file,
            row=self.row,
            field=self.field,
            reason=self.reason,
        )


@dataclass
class TableResult:
    """What reading one or more participant tables produced."""

    participants: list[Participant] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    rejects_files: list[Path] = field(default_factory=list)
    ignored_columns: dict[str, list[str]] = field(default_factory=dict)
    files: list[tuple[Path, list[Reject]]] = field(default_factory=list)  # each file read, with its rejects
    layouts: list[TableLayout] = field(default_factory=list)  # how each file was read


# --- raw rows -------------------------------------------------------------------------


def _raw_rows(path: Path) -> Table:
    """Open a table file: how it was read, and its rows as (row number, record, parse error).

    A file that cannot be read at all is an InputError naming it, whether that shows when it is
    opened or in a later row."""
    suffix = path.suffix.lower()
    read = _READERS.get(suffix)
    if read is None:
        raise InputError(f"{path}: unsupported file type '{path.suffix}'; use one of {', '.join(TABLE_SUFFIXES)}")
    with _unreadable(path, suffix):
        table = read(path)
    table.rows = _guarded(path, suffix, table.rows)
    return table


def _guarded(path: Path, suffix: str, rows: Rows) -> Rows:
    with _unreadable(path, suffix):
        yield from rows


@contextlib.contextmanager
def _unreadable(path: Path, suffix: str) -> Iterator[None]:
    try:
        yield
    except InputError:
        raise
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not valid JSON/UTF-8 ({exc})") from None
    except RecursionError:
        raise InputError(f"{path}: JSON nested too deeply to read") from None
    except Exception as exc:  # csv, polars and calamine parse errors have many types
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"{path}: cannot read as a {suffix[1:].upper()} table: {first}") from None


def _csv_table(path: Path) -> Table:
    return sheets.read_csv(path, "\t" if path.suffix.lower() == ".tsv" else None)


def _parquet_table(path: Path) -> Table:
    import polars as pl

    frame = pl.read_parquet(path)
    # row by row, not to_dicts(): a million rows as dicts at once is gigabytes
    rows = ((i + 1, rec, None) for i, rec in enumerate(frame.iter_rows(named=True)))
    return Table("parquet", rows, list(frame.columns))


def _json_table(path: Path) -> Table:
    return Table("json", _json_rows(path))


def _json_lines_table(path: Path) -> Table:
    return Table("jsonl", _json_lines_rows(path))


def _json_rows(path: Path) -> Rows:
    data = json.loads(path.read_text(encoding="utf-8-sig"))
    if isinstance(data, dict) and isinstance(data.get("participants"), list):
        data = data["participants"]
    if not isinstance(data, list):
        raise InputError(
            f"{path}: expected a JSON array of participants "
            '(or {"participants": [...]}), got a JSON ' + type(data).__name__
        )
    for i, rec in enumerate(data):
        if isinstance(rec, dict):
            yield i + 1, rec, None
        else:
            yield i + 1, None, f"expected a JSON object, got {type(rec).__name__}"


def _json_lines_rows(path: Path) -> Rows:
    with path.open(encoding="utf-8-sig") as f:
        for line_no, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                yield line_no, {"_line": line.rstrip("\n")}, f"invalid JSON: {exc.msg}"
                continue
            except (RecursionError, ValueError) as exc:  # nested too deep, or a number too long
                yield line_no, {"_line": line.rstrip("\n")[:1000]}, f"unreadable JSON: {type(exc).__name__}"
                continue
            if isinstance(rec, dict):
                yield line_no, rec, None
            else:
                yield line_no, {"_line": line.rstrip("\n")}, "expected a JSON object"


_READERS: dict[str, Callable[[Path], Table]] = {
    ".csv": _csv_table, ".tsv": _csv_table, ".xlsx": sheets.read_xlsx, ".parquet": _parquet_table,
    ".json": _json_table, ".jsonl": _json_lines_table, ".ndjson": _json_lines_table,
}  # fmt: skip


# --- tables ---------------------------------------------------------------------------


def read_participants(
    paths: Iterable[str | os.PathLike[str]],
    *,
    write_rejects: bool = True,
    rejects_fallback_dir: Path | None = None,
    columns: Mapping[str, Sequence[str]] | None = None,
    columns_by_file: Mapping[str, Mapping[str, Sequence[str]]] | None = None,
) -> TableResult:
    """Read and validate participant tables; ids must be unique across all of them.

    Args:
        paths: CSV, TSV, JSON, JSON Lines, Parquet or XLSX files.
        write_rejects: write ``<file>.rejects.csv`` beside each input that had rejects
            (and remove a stale one from an earlier run when it has none).
        rejects_fallback_dir: where to write rejects when the input's folder is read-only.
        columns: {field: [column, ...]}, which columns give which field (``ingest --columns``),
            over the recognised headers (:mod:`matcher.inputs.columns`); for every file.
        columns_by_file: the same per file, by its resolved path (what ``refresh`` recorded).

    Example:
        >>> result = read_participants(["members.csv"], columns={"id": ["ИНН"]})  # doctest: +SKIP
        >>> len(result.participants), [str(r) for r in result.rejects]
    """
    parse = ParticipantParser()
    result = TableResult()
    first_seen: dict[str, tuple[str, int]] = {}
    for raw_path in paths:
        path = Path(raw_path)
        table = _raw_rows(path)
        mapping = columns_by_file.get(str(path.resolve()), columns) if columns_by_file is not None else columns
        _read_file(path, table, _column_map(path, table, mapping), parse, first_seen, result)
    # Written only after every file was read: a corrected rejects file may be among the inputs.
    if write_rejects:
        write_rejects_files(result, rejects_fallback_dir)
    return result


def _read_file(
    path: Path,
    table: Table,
    cmap: ColumnMap | None,
    parse: ParticipantParser,
    first_seen: dict[str, tuple[str, int]],
    result: TableResult,
) -> None:
    """Validate one table's rows into `result`: its participants, rejects, ignored columns and layout."""
    file_rejects: list[Reject] = []
    keys: set[str] = set()
    preview: list[RowPreview] = []
    rows = stored = 0
    for row, raw, parse_error in table.rows:
        if raw is not None and cmap is None:
            keys.update(raw)
        if parse_error is None and raw is not None and all(blank(v) for v in raw.values()):
            continue  # empty spreadsheet rows are not data
        rows += 1
        participant, reject = _row(path, row, raw, parse_error, cmap, parse, first_seen)
        if reject is not None:
            file_rejects.append(reject)
            _keep(
                preview,
                RowPreview(row, None, reject.reason if reject.field == "-" else f"{reject.field}: {reject.reason}"),
            )
            continue
        assert participant is not None
        first_seen[participant.id] = (str(path), row)
        result.participants.append(participant)
        stored += 1
        _keep(preview, RowPreview(row, participant.as_record()))
    uses = cmap.uses if cmap is not None else _uses_of_keys(keys)
    extra = sorted(u.header for u in uses if u.ignored_as == "unknown")
    if extra:
        result.ignored_columns[str(path)] = extra
    result.rejects.extend(file_rejects)
    result.files.append((path, file_rejects))
    result.layouts.append(
        TableLayout(
            str(path),
            table.format,
            table.encoding,
            table.delimiter,
            table.header_rows,
            uses,
            rows,
            stored,
            len(file_rejects),
            tuple(preview),
        )  # fmt: skip
    )


def _row(
    path: Path,
    row: int,
    raw: dict[str, Any] | None,
    parse_error: str | None,
    cmap: ColumnMap | None,
    parse: ParticipantParser,
    first_seen: dict[str, tuple[str, int]],
) -> tuple[Participant | None, Reject | None]:
    """One row as a Participant, or the Reject saying why not (a reject's record is the row as the
    file has it, so that its rejects file reads back)."""
    if parse_error is not None:
        return None, Reject(str(path), row, "-", parse_error, raw or {})
    assert raw is not None
    try:
        participant = parse(cmap.record(raw) if cmap is not None else raw)
    except FieldError as exc:
        where = cmap.header_of(exc.field) if cmap is not None else exc.field
        return None, Reject(str(path), row, where, exc.reason, raw)
    if participant.id in first_seen:
        where_file, where_row = first_seen[participant.id]
        where = f"row {where_row}" if where_file == str(path) else f"{where_file} row {where_row}"
        return None, Reject(str(path), row, "id", f"duplicate id '{participant.id}' (first at {where})", raw)
    return participant, None


def _column_map(path: Path, table: Table, mapping: Mapping[str, Sequence[str]] | None) -> ColumnMap | None:
    if table.headers is None:
        if mapping:
            raise InputError(
                f"{path}: --columns is for tables with a header row (CSV, TSV, XLSX, Parquet); "
                "a JSON file names its fields itself (id, name, description, ...)"
            )
        return None
    return column_map(table.headers, str(path), mapping, table.delimiter)


def _uses_of_keys(keys: set[str]) -> tuple[ColumnUse, ...]:
    """The columns of a JSON file: its records' keys, each a field by its own name or ignored."""
    unknown = tr("unknown column")
    return tuple(
        ColumnUse(k, k, "field") if k in PARTICIPANT_COLUMNS else ColumnUse(k, None, "ignored", unknown, "unknown")
        for k in sorted(keys)
        if not k.startswith("_")
    )


def _keep(preview: list[RowPreview], row: RowPreview) -> None:
    if len(preview) < PREVIEW_ROWS:
        preview.append(row)


def write_rejects_files(result: TableResult, fallback_dir: Path | None = None) -> None:
    """Write ``<file>.rejects.csv`` for each file read that had rejects (and remove a stale one
    where it had none), adding them to ``result.rejects_files``; for a result read with
    ``write_rejects=False``."""
    for path, file_rejects in result.files:
        written = _write_rejects(path, file_rejects, fallback_dir)
        if written:
            result.rejects_files.append(written)


def rejects_path_for(path: Path) -> Path:
    """Where the rejects of the participant table `path` go: ``<path>.rejects.csv`` beside it."""
    return store_rejects.rejects_path_for(path, REJECTS_SUFFIX)


def _write_rejects(path: Path, rejects: list[Reject], fallback_dir: Path | None) -> Path | None:
    return store_rejects.write_rejects(path, REJECTS_SUFFIX, rejects, _write_rejects_csv, fallback_dir)


def _write_rejects_csv(target: Path, rejects: Sequence[Reject]) -> None:
    """The rejects as CSV: where and why, then the original columns, so that the file can be fixed
    and ingested again (columns starting with "_" are ignored on ingest)."""
    columns: list[str] = []
    for r in rejects:
        columns.extend(c for c in r.record if c not in columns)
    # backslashreplace: a lone surrogate from a JSON escape is kept visibly rather than lost
    with target.open("w", encoding="utf-8", errors="backslashreplace", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["_file", "_row", "_field", "_reason", *columns])
        for r in rejects:
            cells = [_cell(r.record.get(c)) for c in columns]
            writer.writerow([safe_csv_cell(v) for v in (r.file, r.row, r.field, r.reason, *cells)])


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, ensure_ascii=False, default=str)
    return value
