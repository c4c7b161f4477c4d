"""Read participant tables (CSV, JSON, JSON Lines, Parquet, XLSX) and validate them row by row.

Valid rows always load; each rejected row is reported with its file, row and field and
written to ``<input>.rejects.csv`` beside the input (or into the workspace when the
input's folder is read-only), so that nothing is lost.

Row numbers are the ones a person sees: the spreadsheet row for CSV and XLSX (the header
is row 1), the line for JSON Lines, the 1-based record for JSON and Parquet.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from matcher.errors import InputError, UnknownCode
from matcher.inputs import identifiers, sheets
from matcher.inputs.columns import STORED, ColumnMap, column_map, sme_category
from matcher.inputs.fields import (
    FieldError,
    as_list,
    blank,
    boolean,
    cached_normalise,
    integer,
    labelled,
    number,
    parse_codes,
    text,
)
from matcher.inputs.regions import region_code
from matcher.inputs.sheets import Rows, Table
from matcher.language import normalise_language
from matcher.results import ColumnUse, RowPreview, TableLayout
from matcher.schema import SME_HEADCOUNT_LIMIT, Participant, Project
from matcher.store import rejects as store_rejects
from matcher.store.files import safe_csv_cell
from matcher.taxonomy import Taxonomy, load_taxonomy

PARTICIPANT_COLUMNS = STORED
PREVIEW_ROWS = 5  # rows of each file kept as read, for `ingest --dry-run`
TABLE_SUFFIXES = (".csv", ".tsv", ".json", ".jsonl", ".ndjson", ".parquet", ".xlsx")
REJECTS_SUFFIX = ".rejects.csv"
T = TypeVar("T")


@dataclass(frozen=True)
class Reject:
    """One rejected row: where it was, which field was wrong and why, and the row itself."""

    file: str
    row: int
    field: str
    reason: str
    record: dict[str, Any]

    def __str__(self) -> str:
        return f"{self.file} row {self.row}, field '{self.field}': {self.reason}"


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


def _projects(value: Any) -> tuple[Project, ...]:
    if blank(value):
        return ()
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise FieldError("projects", f"not a JSON array of projects ({exc.msg})") from None
        except (RecursionError, ValueError) as exc:  # nested too deep, or a number too long
            raise FieldError("projects", f"not a readable JSON array ({type(exc).__name__})") from None
    if not isinstance(value, list):
        raise FieldError("projects", f"expected a list of projects, got {type(value).__name__}")
    projects = []
    for i, item in enumerate(value):
        where = f"projects[{i}]"
        if not isinstance(item, dict):
            raise FieldError(where, f"expected an object, got {type(item).__name__}")
        projects.append(
            Project(
                title=text(item.get("title"), f"{where}.title", required=True),
                year=integer(item.get("year"), f"{where}.year", 1900, 2100),
                value=number(item.get("value"), f"{where}.value"),
                role=text(item.get("role"), f"{where}.role") or None,
                buyer=text(item.get("buyer"), f"{where}.buyer") or None,
            )
        )
    return tuple(projects)


def _language(value: Any) -> str | None:
    raw = text(value, "language")
    language = normalise_language(raw)
    if raw and language is None:
        raise FieldError("language", f"expected a language code such as ru or en, got {raw!r}")
    return language


def _remembered(parse: Callable[[Any], T], size: int = 1 << 16) -> Callable[[Any], T]:
    """`parse` remembered per distinct text or whole number (a failure is not remembered: each
    bad cell raises again). Other values (1.0 == 1 == True, lists) are parsed every time."""
    cached = functools.lru_cache(maxsize=size)(parse)
    return lambda value: cached(value) if type(value) is str or type(value) is int else parse(value)


class ParticipantParser:
    """Validates raw records into Participants, like :func:`parse_participant`, faster.

    A table repeats its kinds, regions, certifications, codes and languages in thousands of
    rows; parsing a cell is pure, so each distinct value is parsed once per parser.
    """

    def __init__(self, taxonomy: Taxonomy | None = None):
        taxonomy = taxonomy or load_taxonomy()
        normalise = cached_normalise(taxonomy)
        self.codes = _remembered(lambda v: parse_codes(v, "codes", taxonomy, normalise))
        self.projects = _remembered(_projects)
        self.headcount = _remembered(lambda v: integer(v, "headcount", 0, 10_000_000))
        self.sme = _remembered(lambda v: boolean(sme_category(v), "sme"))
        self.kind = _remembered(lambda v: text(v, "kind") or None)
        # "г. Москва", "52 - Нижегородская область" as RU-MOW, RU-NIZ; other values upper-cased
        self.regions = _remembered(
            lambda v: tuple(dict.fromkeys(region_code(r) for r in as_list(v, "regions", ";,\n")))
        )
        self.certifications = _remembered(lambda v: tuple(as_list(v, "certifications")))
        self.clusters = _remembered(lambda v: tuple(as_list(v, "clusters", ";,\n")))
        self.language = _remembered(_language)
        self.inn = _remembered(lambda v: _identifier(identifiers.inn, v, "inn"))
        self.ogrn = _remembered(lambda v: _identifier(identifiers.ogrn, v, "ogrn"))
        self.activities = _remembered(lambda v: _activities(v, taxonomy, normalise))

    def __call__(self, record: dict[str, Any]) -> Participant:
        """Validate one raw record into a Participant; raises FieldError naming the field."""
        get = record.get
        # the fields are checked in this order, so a row with several faults names the first
        pid = text(get("id"), "id")
        if not pid or "inn" in record or "ogrn" in record:
            # the INN and OGRN are checked when given, also when an id column gives the id
            registered = self._registered_id(record, required=not pid)
            pid = pid or registered
        name = text(get("name"), "name", required=True)
        description = text(get("description"), "description")
        codes = self.codes(get("codes"))
        if "activities" in record:
            more, words = self.activities(get("activities"))
            codes = tuple(dict.fromkeys((*codes, *more)))
            description = description or words
        projects = self.projects(get("projects"))
        if not (description or codes or projects):
            raise FieldError("description", "no description, codes or projects: nothing to match on")
        headcount = self.headcount(get("headcount"))
        sme = self.sme(get("sme"))
        if sme is None and headcount is not None:
            sme = headcount < SME_HEADCOUNT_LIMIT
        return Participant(
            id=pid,
            name=name,
            description=description,
            kind=self.kind(get("kind")),
            codes=codes,
            regions=self.regions(get("regions")),
            headcount=headcount,
            sme=sme,
            certifications=self.certifications(get("certifications")),
            projects=projects,
            clusters=self.clusters(get("clusters")),
            language=self.language(get("language")),
        )

    def _registered_id(self, record: dict[str, Any], required: bool) -> str:
        """The id a row's INN gives, RU-INN-<inn>, else its OGRN, RU-OGRN-<ogrn>; both checked when
        given. Neither: "" when not `required`, else a FieldError."""
        inn = self.inn(record.get("inn"))
        ogrn = self.ogrn(record.get("ogrn"))
        if inn:
            return identifiers.INN_PREFIX + inn
        if ogrn:
            return identifiers.OGRN_PREFIX + ogrn
        if not required:
            return ""
        for name in ("inn", "ogrn"):
            if name in record:
                raise FieldError(name, "missing (required: it gives the member's id)")
        raise FieldError("id", "missing (required)")


def _identifier(check: Callable[[Any], str], value: Any, name: str) -> str:
    if blank(value):
        return ""
    try:
        return check(value)
    except identifiers.IdentifierError as exc:
        raise FieldError(name, str(exc)) from None


def _activities(
    value: Any, taxonomy: Taxonomy, normalise: Callable[[str], Sequence[str]]
) -> tuple[tuple[str, ...], str]:
    """The codes and the words of activity cells ("42.11 Строительство дорог; 43.99 ..."). Unlike
    a codes column, a code the taxonomy lacks is taken at its nearest known parent (42.11.9 as
    42.11), or left out: these cells are descriptions first."""
    codes: list[str] = []
    words: list[str] = []
    for item, label in labelled(as_list(value, "activities", ";,\n")):
        code = item if item[:2].isdigit() else ""
        while code:
            try:
                codes.extend(c for c in normalise(code) if c not in codes)
                break
            except UnknownCode:
                code = code.rpartition(".")[0]
        if label or not code:
            words.append(label or item)  # the activity's name, or free text with no code
    return tuple(codes), "; ".join(words)


def parse_participant(record: dict[str, Any], taxonomy: Taxonomy | None = None) -> Participant:
    """Validate one raw record into a Participant; raises FieldError naming the field.

    To parse many records, make one :class:`ParticipantParser` and call it for each.
    """
    return ParticipantParser(taxonomy)(record)


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
        cmap = _column_map(path, table, mapping)
        file_rejects: list[Reject] = []
        keys: set[str] = set()
        preview: list[RowPreview] = []
        rows = stored = 0
        for row, raw, parse_error in table.rows:
            if raw is not None and cmap is None:
                keys.update(raw)
            if parse_error is not None:
                file_rejects.append(Reject(str(path), row, "-", parse_error, raw or {}))
                rows += 1
                _keep(preview, RowPreview(row, None, parse_error))
                continue
            assert raw is not None
            if all(blank(v) for v in raw.values()):
                continue  # empty spreadsheet rows are not data
            rows += 1
            try:
                participant = parse(cmap.record(raw) if cmap is not None else raw)
            except FieldError as exc:
                where = cmap.header_of(exc.field) if cmap is not None else exc.field
                file_rejects.append(Reject(str(path), row, where, exc.reason, raw))
                _keep(preview, RowPreview(row, None, f"{where}: {exc.reason}"))
                continue
            if participant.id in first_seen:
                where_file, where_row = first_seen[participant.id]
                where = f"row {where_row}" if where_file == str(path) else f"{where_file} row {where_row}"
                reason = f"duplicate id '{participant.id}' (first at {where})"
                file_rejects.append(Reject(str(path), row, "id", reason, raw))
                _keep(preview, RowPreview(row, None, f"id: {reason}"))
                continue
            first_seen[participant.id] = (str(path), row)
            result.participants.append(participant)
            stored += 1
            _keep(preview, RowPreview(row, participant.as_record()))
        uses = cmap.uses if cmap is not None else _uses_of_keys(keys)
        extra = sorted(u.header for u in uses if u.field is None and u.note == "unknown column")
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
    # Written only after every file was read: a corrected rejects file may be among the inputs.
    if write_rejects:
        write_rejects_files(result, rejects_fallback_dir)
    return result


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
    return tuple(
        ColumnUse(k, k, "field") if k in PARTICIPANT_COLUMNS else ColumnUse(k, None, "ignored", "unknown column")
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
