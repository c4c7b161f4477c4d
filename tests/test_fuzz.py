"""Property-based fuzz tests of the input readers: participant tables, tenders and OCDS files.

Whatever hypothesis writes into a file (wrong types, missing fields, huge strings, RTL text,
combining marks, emoji, NUL and other control characters, private-use and unassigned code
points, numbers as strings and strings as numbers, lists and dicts where text belongs), the
importers must not crash:

* read_participants: every row written ends as a loaded Participant or as one Reject (file,
  row, field, reason), rows whose values are all blank are skipped, and
  loaded + rejected + skipped == rows written; ``<file>.rejects.csv`` exists exactly when there
  were rejects and has one row per reject.
* read_tender: a Tender whose every lot has a title, description or codes, or a TenderError.
* read_ocds: tables and rejects, or an InputError.

A whole file that cannot be parsed may raise InputError/TenderError naming the file; any other
exception is a failure.

Known crashes are pinned by the ``xfail(strict=True)`` tests at the end, each with its failing
input as an explicit ``@example``. The broad tests skip exactly those inputs (``_crashes_*``
below), so that they keep guarding everything else; drop the skip together with the fix.
"""

from __future__ import annotations

import csv
import json
import math
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import yaml
from hypothesis import HealthCheck, Phase, assume, example, given, settings
from hypothesis import strategies as st

from matcher.errors import InputError, TenderError
from matcher.ocds import TABLE_NAMES, OcdsTables, read_ocds, table_schema
from matcher.readers import Reject, read_participants
from matcher.schema import Participant, Tender
from matcher.tenders import read_tender

FUZZ = settings(
    max_examples=200,
    deadline=None,
    database=None,  # no .hypothesis/ folder in the tree; failures print a reproduce blob instead
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)
ONLY_EXPLICIT = settings(FUZZ, phases=[Phase.explicit])

COLUMNS = (
    "id", "name", "kind", "description", "codes", "regions", "headcount", "sme",
    "certifications", "projects", "clusters",
)  # fmt: skip
LIST_FIELDS = ("codes", "regions", "certifications", "clusters")
MARKER = "_marker"  # a column the reader ignores ("_" prefix) that tells the rows apart
ID_OF_ROW = "<id of row>"  # replaced by "P-<n>" when the file is written: a unique, valid id


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@contextmanager
def fresh_dir(base: Path) -> Iterator[Path]:
    """A new folder per hypothesis example (tmp_path is shared by all examples of a test)."""
    folder = Path(tempfile.mkdtemp(dir=base))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


class Huge(str):
    """A long generated text that prints short, so that failure reports stay readable."""

    def __repr__(self) -> str:
        return f"Huge({self[:4]!r} * ~{len(self) // max(len(self[:4]), 1)})"


def plain(value: Any) -> Any:
    """The value with every Huge replaced by a plain str (yaml.safe_dump wants exact types)."""
    if isinstance(value, str):
        return str.__str__(value) if type(value) is not str else value
    if isinstance(value, (list, tuple)):
        return type(value)(plain(v) for v in value)
    if isinstance(value, dict):
        return {plain(k): plain(v) for k, v in value.items()}
    return value


def is_blank(value: Any) -> bool:
    """What the reader skips: None, NaN, or text that is only whitespace."""
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


# --- values ---------------------------------------------------------------------------------

NASTY_TEXT = [
    "", " ", "\t", "\n", "\r\n", "\x00", "a\x00b", "\x1b[31mred\x1b[0m", "\x7f", "\x85", "\u2028", "\u2029",
    "\ufeff", "\ufeffid", "\u200b", "\u200e", "\u202eevil\u202c", "\u061c", "שלום עולם", "مرحبا بالعالم",
    "e\u0301\u0301\u0301\u0301", "Z\u0351\u0352\u0353a\u0300\u0301", "👩\u200d👩\u200d👧\u200d👦", "🇷🇺", "🏗️",
    "\U0010ffff", "\U000e0001", "\uffff", "\ufffe", "\ue000", "\U000f0000", "ǅ", "ﷺ", "𝟙𝟚𝟛", "٣٤٥", "¹²", "Ⅻ",
    "NaN", "nan", "inf", "-Infinity", "1e309", "-0", "0x1F", "1_000", "1 000", "1\u00a0000", "1,5", "12.0",
    "12.5", "-5", "+7", "true", "FALSE", "да", "нет", "yes", "maybe", "null", "None",
    "=1+1", "+1", "-1", "@SUM(A1)", "'=cmd|' /C calc'!A0", "'-", "'", '=HYPERLINK("http://x")',
    ",", ";", ";;", ",;\n", '"', '""', '"quoted, with comma"', "a;b,c\nd", "line1\r\nline2\rline3",
    "[", "]", "[]", "[1, 2", "[null]", "[[1]]", "[{}]", '["45221111-3", "42.13"]', "{}", '{"a": 1}',
    '[{"title": "Bridge", "year": "2019", "value": "1e3"}]', '[{"title": null}]', '[{"year": 1800, "title": "x"}]',
    "45221111-3", "45221111-9", "45221111", "99999999", "42.13", "OKVED2:42.99", "UNSPSC:72141000", "UNSPSC:1",
    "CPV:", ":", "a:b", "42.1.1.1", "RU-MOW; ru-spe", "ISO 9001;ISO 14001",
    Huge("A" * 100_000), "[" * 50 + "]" * 50, "2026-12-18", "2026-12-18T10:00:00Z", "2026-02-30", "18.12.2026",
]  # fmt: skip
PREFIXES = ["", "=", "+", "-", "@", "'=", "'", "[", "{", " ", "\t", "\u202e", "\ufeff"]
EXOTIC = st.characters(categories=["Cc", "Cf", "Co", "Cn", "Mn", "Me", "Zs", "Zl", "Zp", "So", "Lo", "Nd", "No"])

huge_text = st.builds(lambda chunk, n: Huge(chunk * n), st.text(min_size=1, max_size=3), st.integers(300, 30_000))
numeric_text = st.one_of(
    st.integers(-(10**30), 10**30).map(str),
    st.floats().map(str),
    st.builds(
        lambda n, sep: f"{n:,}".replace(",", sep), st.integers(0, 10**12), st.sampled_from([" ", "_", "\u00a0", "."])
    ),
)
text_values = st.one_of(
    st.text(max_size=40),  # every code point but surrogates: controls, NUL, combining marks, emoji ...
    st.text(EXOTIC, max_size=20),
    st.sampled_from(NASTY_TEXT),
    st.builds(lambda p, s: p + s, st.sampled_from(PREFIXES), st.text(max_size=20)),
    numeric_text,
    huge_text,
)
scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(), text_values)
PROJECT_KEYS = ["title", "year", "value", "role", "buyer"]
wild = st.recursive(
    scalars,
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=8) | st.sampled_from(PROJECT_KEYS), kids, max_size=4),
    max_leaves=10,
)

VALID_CODES = ["45221111-3", "71322000", "42.13", "OKVED2:42.99", "UNSPSC:72141000", "45000000", "cpv:71322000-1"]
code_list = st.lists(st.sampled_from([*VALID_CODES, "45221111-9", "99999999", "x", " 42.13 "]), max_size=4)
codes_values = st.one_of(code_list, code_list.map(";".join), code_list.map(", ".join), code_list.map(json.dumps))
text_list = st.lists(st.one_of(text_values, scalars), max_size=4)
list_values = st.one_of(
    text_list, st.lists(st.text(max_size=12), max_size=4).map(";".join), st.lists(st.text(max_size=12)).map(json.dumps)
)
project = st.fixed_dictionaries(
    {},
    optional={
        "title": st.one_of(text_values, wild),
        "year": st.one_of(st.integers(1800, 2200), numeric_text, wild),
        "value": st.one_of(st.floats(), st.integers(-(10**20), 10**20), numeric_text, wild),
        "role": st.one_of(text_values, wild),
        "buyer": st.one_of(text_values, wild),
    },
)
projects_values = st.one_of(
    st.lists(st.one_of(project, wild), max_size=3), st.lists(project, max_size=3).map(json.dumps)
)
PLAUSIBLE: dict[str, st.SearchStrategy[Any]] = {
    "id": st.sampled_from([ID_OF_ROW, ID_OF_ROW, ID_OF_ROW, "dup", " dup ", "DUP", "'=dup"]),
    "name": text_values,
    "kind": text_values,
    "description": text_values,
    "codes": codes_values,
    "regions": list_values,
    "headcount": st.one_of(st.integers(-10, 20_000_000), numeric_text, st.floats()),
    "sme": st.one_of(st.booleans(), st.sampled_from(["yes", "no", "Y", "n", "да", "нет", "1", "0", "true ", "2"])),
    "certifications": list_values,
    "projects": projects_values,
    "clusters": list_values,
}
FIELD = {key: st.one_of(PLAUSIBLE[key], wild) for key in COLUMNS}
junk_key = st.text(max_size=12).filter(lambda k: k not in COLUMNS and k != MARKER)
BLANKS: list[Any] = [None, "", " ", "\t", "\n", "\r\n ", "\u3000", "\u2028", "\x1c", "\x85", float("nan")]


@st.composite
def participant_fields(draw: st.DrawFn) -> dict[str, Any]:
    """A raw participant record: a random subset of the real columns (id, name and description
    most of the time) with plausible or wild values, plus junk keys."""
    row: dict[str, Any] = {}
    for key in COLUMNS:
        if draw(st.integers(0, 5)) < (5 if key in ("id", "name", "description") else 3):
            row[key] = draw(FIELD[key])
    row.update(draw(st.dictionaries(junk_key, wild, max_size=2)))
    return row


blank_record = st.dictionaries(st.sampled_from(COLUMNS) | junk_key, st.sampled_from(BLANKS), max_size=4)


def json_crashes(text: str) -> bool:
    """json.loads fails with something else than JSONDecodeError (>4300-digit ints, deep nesting)."""
    try:
        json.loads(text)
    except json.JSONDecodeError:
        return False
    except (ValueError, RecursionError):
        return True
    return False


def crashes_participant(record: Any) -> bool:
    """The inputs of the known crash in fields.as_list / readers._projects (see the xfail tests):
    a list field that starts with '[' or any projects text on which json.loads raises ValueError or
    RecursionError instead of JSONDecodeError."""
    if not isinstance(record, dict):
        return False
    for key in LIST_FIELDS:
        value = record.get(key)
        if isinstance(value, str) and value.strip().startswith("[") and json_crashes(value.strip()):
            return True
    value = record.get("projects")
    return isinstance(value, str) and not is_blank(value) and json_crashes(value)


def cell(value: Any) -> str:
    """A value as the text of a CSV cell: JSON for lists and dicts, str() for other scalars."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def unprefix(value: str) -> str:
    """Undo safe_csv_cell's apostrophe before =, +, -, @, tab or CR."""
    return value[1:] if len(value) > 1 and value[0] == "'" and value[1] in "=+-@\t\r" else value


# --- the participant property -----------------------------------------------------------------


def check_table(path: Path, rows: dict[int, tuple[str, str | None]], junk_columns: set[str]) -> None:
    """Read one table and check that every row written is accounted for.

    rows: spreadsheet/line/record number -> (kind, marker); kind is "data" (a record with a marker),
    "blank" (all values blank: skipped) or "bad" (not a record: must be a reject on field "-").
    """
    result = read_participants([path])  # anything but a TableResult is a failure: these files are well formed
    written = len(rows)
    blank = sum(kind == "blank" for kind, _ in rows.values())

    seen_rows: set[int] = set()
    rejected_markers: set[str] = set()
    for r in result.rejects:
        assert isinstance(r, Reject)
        assert r.file == str(path)
        assert r.row in rows, f"reject for a row that was not written: {r}"
        assert r.row not in seen_rows, f"two rejects for row {r.row}"
        seen_rows.add(r.row)
        kind, marker = rows[r.row]
        assert kind != "blank", f"a blank row was rejected: {r}"
        assert isinstance(r.field, str) and r.field
        assert isinstance(r.reason, str) and r.reason.strip()
        assert isinstance(r.record, dict)
        if kind == "bad":
            assert r.field == "-"
        else:
            assert r.record.get(MARKER) == marker, f"row {r.row} is reported with another row's record"
            rejected_markers.add(marker)  # type: ignore[arg-type]
    assert {n for n, (kind, _) in rows.items() if kind == "bad"} <= seen_rows

    assert len(result.participants) + len(result.rejects) + blank == written
    ids = [p.id for p in result.participants]
    assert len(set(ids)) == len(ids)
    for p in result.participants:
        assert isinstance(p, Participant)
        assert p.id.strip() and p.name.strip()
        assert p.description or p.codes or p.projects
        if p.id.startswith("P-") and p.id[2:].isdigit():
            assert f"row-{p.id[2:]}" not in rejected_markers  # a generated id belongs to the row of that marker

    expected_ignored = sorted(c for c in junk_columns if not c.startswith("_"))
    assert result.ignored_columns.get(str(path), []) == expected_ignored
    check_rejects_file(path, result.rejects)


def check_rejects_file(path: Path, rejects: list[Reject]) -> None:
    target = path.with_name(path.name + ".rejects.csv")
    if not rejects:
        assert not target.exists()
        return
    assert target.exists()
    limit = csv.field_size_limit(sys.maxsize)  # a rejected row keeps its huge cells
    try:
        with target.open(encoding="utf-8", newline="") as f:
            table = list(csv.reader(f))
    finally:
        csv.field_size_limit(limit)
    header, body = table[0], table[1:]
    assert header[:4] == ["_file", "_row", "_field", "_reason"]
    assert len(body) == len(rejects)
    for line, r in zip(body, rejects, strict=True):
        assert len(line) == len(header)
        assert line[0] == str(path) and line[1] == str(r.row) and unprefix(line[2]) == r.field
        if MARKER in header:
            assert line[header.index(MARKER)] == (r.record.get(MARKER) or "")


def with_ids(record: dict[str, Any], n: int) -> dict[str, Any]:
    return {MARKER: f"row-{n}", **{k: (f"P-{n}" if v == ID_OF_ROW else v) for k, v in record.items()}}


def junk_of(records: list[dict[str, Any]]) -> set[str]:
    return {k for record in records for k in record if k not in COLUMNS}


# --- 1. JSON Lines participants --------------------------------------------------------------

jsonl_item = st.one_of(
    participant_fields().map(lambda r: ("data", r)),
    participant_fields().map(lambda r: ("data", r)),
    participant_fields().map(lambda r: ("data", r)),
    blank_record.map(lambda r: ("blank", r)),
    wild.filter(lambda v: not isinstance(v, dict)).map(lambda v: ("not-object", v)),
    st.text(max_size=30).filter(lambda s: "\n" not in s and "\r" not in s).map(lambda s: ("invalid", "<<" + s)),
    st.sampled_from(["", " ", "\t \t"]).map(lambda s: ("empty-line", s)),
)


def jsonl_property(base: Path, items: list[tuple[str, Any]], bom: bool, ensure_ascii: bool) -> None:
    with fresh_dir(base) as folder:
        path = folder / "members.jsonl"
        lines: list[str] = []
        rows: dict[int, tuple[str, str | None]] = {}
        records: list[dict[str, Any]] = []
        for kind, value in items:
            n = len(lines) + 1  # the line number
            if kind == "data":
                record = with_ids(value, n)
                records.append(record)
                rows[n] = ("data", record[MARKER])
                lines.append(json.dumps(plain(record), ensure_ascii=ensure_ascii))
            elif kind == "blank":
                records.append(value)
                rows[n] = ("blank", None)
                lines.append(json.dumps(plain(value), ensure_ascii=ensure_ascii))
            elif kind == "not-object":
                rows[n] = ("bad", None)
                lines.append(json.dumps(plain(value), ensure_ascii=ensure_ascii))
            elif kind == "invalid":
                rows[n] = ("bad", None)
                lines.append(value)
            else:  # a whitespace-only line is no row, but it counts for the line numbers
                lines.append(value)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8-sig" if bom else "utf-8")
        check_table(path, rows, junk_of(records))


@FUZZ
@given(items=st.lists(jsonl_item, max_size=12), bom=st.booleans(), ensure_ascii=st.booleans())
def test_jsonl_participants(base, items, bom, ensure_ascii):
    assume(not any(crashes_participant(v) for _, v in items))
    jsonl_property(base, items, bom, ensure_ascii)


# --- 2. JSON array participants --------------------------------------------------------------

json_item = st.one_of(
    participant_fields().map(lambda r: ("data", r)),
    participant_fields().map(lambda r: ("data", r)),
    participant_fields().map(lambda r: ("data", r)),
    blank_record.map(lambda r: ("blank", r)),
    wild.filter(lambda v: not isinstance(v, dict)).map(lambda v: ("not-object", v)),
)
json_top = st.sampled_from(["array", "object", "not-a-table"])


def json_property(base: Path, items: list[tuple[str, Any]], top: str, bad_top: Any, ensure_ascii: bool) -> None:
    with fresh_dir(base) as folder:
        path = folder / "members.json"
        data: list[Any] = []
        rows: dict[int, tuple[str, str | None]] = {}
        records: list[dict[str, Any]] = []
        for kind, value in items:
            n = len(data) + 1  # the 1-based record
            if kind == "data":
                record = with_ids(value, n)
                records.append(record)
                rows[n] = ("data", record[MARKER])
                data.append(record)
            elif kind == "blank":
                records.append(value)
                rows[n] = ("blank", None)
                data.append(value)
            else:
                rows[n] = ("bad", None)
                data.append(value)
        if top == "not-a-table":  # no array of participants: the whole file is an InputError
            path.write_text(json.dumps(plain(bad_top), ensure_ascii=ensure_ascii), encoding="utf-8")
            with pytest.raises(InputError, match="expected a JSON array") as info:
                read_participants([path])
            assert str(path) in str(info.value)
            assert not path.with_name(path.name + ".rejects.csv").exists()
            return
        document: Any = data if top == "array" else {"participants": data, "cluster": "fuzz"}
        path.write_text(json.dumps(plain(document), ensure_ascii=ensure_ascii, indent=1), encoding="utf-8")
        check_table(path, rows, junk_of(records))


not_a_table = st.one_of(
    scalars, st.dictionaries(st.text(max_size=8).filter(lambda k: k != "participants"), wild, max_size=3)
) | st.fixed_dictionaries({"participants": wild.filter(lambda v: not isinstance(v, list))})


@FUZZ
@given(items=st.lists(json_item, max_size=12), top=json_top, bad_top=not_a_table, ensure_ascii=st.booleans())
def test_json_participants(base, items, top, bad_top, ensure_ascii):
    assume(not any(crashes_participant(v) for _, v in items))
    json_property(base, items, top, bad_top, ensure_ascii)


# --- 3. CSV (and TSV) participants -------------------------------------------------------------

header_junk = st.lists(st.text(max_size=10).filter(lambda k: k not in COLUMNS and k != MARKER), max_size=3, unique=True)
csv_cell = {key: st.one_of(text_values, FIELD[key].map(cell)) for key in COLUMNS}
blank_cell = st.sampled_from(["", " ", "\t", "\n", "\r\n ", "\u3000", "\u2028", "\x1c"])


@st.composite
def csv_tables(draw: st.DrawFn) -> tuple[list[str], list[tuple[str, dict[str, str]]]]:
    """A header (the marker, some real columns, junk columns, in any order) and rows of text."""
    columns = draw(st.lists(st.sampled_from(COLUMNS), unique=True, max_size=len(COLUMNS)))
    junk = draw(header_junk)
    header = draw(st.permutations([MARKER, *columns, *junk]))
    rows = []
    for _ in range(draw(st.integers(0, 10))):
        if draw(st.integers(0, 4)) == 0:
            rows.append(("blank", {c: draw(blank_cell) for c in header if c != MARKER}))
        else:
            rows.append(("data", {c: draw(csv_cell[c]) if c in COLUMNS else cell(draw(wild)) for c in header}))
    return header, rows


def csv_property(base: Path, table: tuple[list[str], list[tuple[str, dict[str, str]]]], tsv: bool) -> None:
    header, items = table
    with fresh_dir(base) as folder:
        path = folder / ("members.tsv" if tsv else "members.csv")
        rows: dict[int, tuple[str, str | None]] = {}
        with path.open("w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f, delimiter="\t" if tsv else ",")
            writer.writerow(header)
            for i, (kind, values) in enumerate(items):
                n = i + 2  # the spreadsheet row: the header is row 1
                if kind == "data":
                    record = with_ids(values, n)
                    rows[n] = ("data", record[MARKER])
                else:
                    record = {MARKER: "", **values}
                    rows[n] = ("blank", None)
                writer.writerow([plain(record.get(c, "")) for c in header])
        check_table(path, rows, {c for c in header if c not in COLUMNS and c != MARKER})


@FUZZ
@given(table=csv_tables(), tsv=st.booleans())
def test_csv_participants(base, table, tsv):
    assume(not any(crashes_participant(v) for _, v in table[1]))
    csv_property(base, table, tsv)


# --- 4. Parquet participants ---------------------------------------------------------------------

maybe_text = st.one_of(st.none(), text_values)


@st.composite
def parquet_tables(draw: st.DrawFn, typed: bool) -> tuple[dict[str, Any], list[tuple[str, dict[str, Any]]]]:
    """Columns with their polars dtypes and rows. All String, or (typed) headcount Int64, sme
    Boolean, codes List(String) and a junk Float64 column with NaN and infinities."""
    columns = draw(st.lists(st.sampled_from(COLUMNS), unique=True, max_size=len(COLUMNS)))
    junk = draw(st.lists(junk_key, unique=True, max_size=2))
    schema: dict[str, Any] = {c: pl.String for c in [MARKER, *columns, *junk]}
    values: dict[str, st.SearchStrategy[Any]] = {c: st.one_of(maybe_text, FIELD[c].map(cell)) for c in columns}
    values.update({c: maybe_text for c in junk})
    if typed:
        schema.update(headcount=pl.Int64, sme=pl.Boolean, codes=pl.List(pl.String), score=pl.Float64)
        values.update(
            headcount=st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1), st.integers(-5, 20_000_000)),
            sme=st.one_of(st.none(), st.booleans()),
            codes=st.one_of(st.none(), st.lists(st.one_of(st.none(), st.sampled_from(VALID_CODES), text_values))),
            score=st.one_of(st.none(), st.floats()),
        )
    blank_values: dict[str, Any] = {c: st.sampled_from([None, *BLANKS[1:-1]]) for c in schema}
    if typed:
        blank_values.update(headcount=st.none(), sme=st.none(), codes=st.none(), score=st.sampled_from([None, math.nan]))
    rows = []
    for _ in range(draw(st.integers(0, 10))):
        if draw(st.integers(0, 4)) == 0:
            rows.append(("blank", {c: draw(blank_values[c]) for c in schema if c != MARKER}))
        else:
            rows.append(("data", {c: draw(values[c]) for c in schema if c != MARKER}))
    return schema, rows


def parquet_property(base: Path, table: tuple[dict[str, Any], list[tuple[str, dict[str, Any]]]]) -> None:
    schema, items = table
    with fresh_dir(base) as folder:
        path = folder / "members.parquet"
        rows: dict[int, tuple[str, str | None]] = {}
        records = []
        for i, (kind, values) in enumerate(items):
            n = i + 1  # the 1-based record
            if kind == "data":
                record = with_ids(values, n)
                rows[n] = ("data", record[MARKER])
            else:
                record = {MARKER: None, **values}
                rows[n] = ("blank", None)
            records.append(record)
        pl.DataFrame(plain(records), schema=schema).write_parquet(path)
        check_table(path, rows, {c for c in schema if c not in COLUMNS and c != MARKER})


@FUZZ
@given(table=parquet_tables(typed=False))
def test_parquet_participants(base, table):
    assume(not any(crashes_participant(v) for _, v in table[1]))
    parquet_property(base, table)


@settings(FUZZ, max_examples=150)
@given(table=parquet_tables(typed=True))
def test_parquet_participants_typed_columns(base, table):
    assume(not any(crashes_participant(v) for _, v in table[1]))
    parquet_property(base, table)


# --- 5. tenders ------------------------------------------------------------------------------------

LOT_KEYS = ["id", "title", "description", "codes", "value", "certifications", "region"]
dates = st.one_of(
    st.dates().map(str),
    st.datetimes().map(lambda d: d.isoformat() + "Z"),
    st.sampled_from(["2026-12-18", "2026-12-18T10:00:00Z", "2026-02-30", "18.12.2026", "2026-13-01", "tomorrow"]),
)
money = st.one_of(st.floats(), st.integers(-(10**20), 10**20), numeric_text)
TENDER_PLAUSIBLE: dict[str, st.SearchStrategy[Any]] = {
    "id": text_values,
    "ocid": text_values,
    "title": text_values,
    "description": text_values,
    "buyer": text_values,
    "region": text_values,
    "currency": st.sampled_from(["RUB", "EUR", "", "₽"]),
    "codes": codes_values,
    "certifications": list_values,
    "value": money,
    "deadline": dates,
}
lot = st.fixed_dictionaries(
    {},
    optional={
        **{k: st.one_of(TENDER_PLAUSIBLE[k], wild) for k in LOT_KEYS if k != "id"},
        "id": st.one_of(st.sampled_from(["1", "2", "1 ", 1, 2, "L-1"]), wild),
    },
)
tender_dict = st.fixed_dictionaries(
    {},
    optional={
        **{k: st.one_of(v, wild) for k, v in TENDER_PLAUSIBLE.items()},
        "lots": st.one_of(st.lists(st.one_of(lot, lot, wild), max_size=4), wild),
    },
).flatmap(lambda d: st.dictionaries(st.text(max_size=8), wild, max_size=2).map(lambda junk: {**junk, **d}))
tender_document = st.one_of(tender_dict, tender_dict, tender_dict, wild)
yaml_extras = st.one_of(st.dates(), st.datetimes())  # YAML has dates and timestamps of its own


def crashes_tender(data: Any) -> bool:
    """The inputs of the known crash in fields.as_list (codes, certifications) for tenders."""
    if not isinstance(data, dict):
        return False
    places = [data]
    if isinstance(data.get("lots"), list):
        places += [lot for lot in data["lots"] if isinstance(lot, dict)]
    return any(crashes_participant({k: place.get(k) for k in ("codes", "certifications")}) for place in places)


def tender_property(base: Path, data: Any, fmt: str, ensure_ascii: bool, yaml_deadline: Any) -> None:
    data = plain(data)
    with fresh_dir(base) as folder:
        path = folder / f"tender.{fmt}"
        if fmt == "json":
            path.write_text(json.dumps(data, ensure_ascii=ensure_ascii), encoding="utf-8")
        else:
            if isinstance(data, dict) and yaml_deadline is not None:
                data = {**data, "deadline": yaml_deadline}
            path.write_text(yaml.safe_dump(data, allow_unicode=not ensure_ascii), encoding="utf-8")
        try:
            tender = read_tender(path)
        except TenderError as exc:
            assert str(path) in str(exc)
            return
        assert isinstance(tender, Tender)
        assert tender.id and tender.lots
        ids = [lot.id for lot in tender.lots]
        assert len(set(ids)) == len(ids)
        for lot in tender.lots:
            assert lot.id and (lot.title or lot.description or lot.codes)
        assert tender.deadline is None or isinstance(tender.deadline, date)


@settings(FUZZ, max_examples=300)
@given(
    data=tender_document,
    fmt=st.sampled_from(["json", "yaml", "yml"]),
    ensure_ascii=st.booleans(),
    yaml_deadline=st.one_of(st.none(), yaml_extras),
)
def test_tenders(base, data, fmt, ensure_ascii, yaml_deadline):
    assume(not crashes_tender(data))
    tender_property(base, data, fmt, ensure_ascii, yaml_deadline)


# --- 6. OCDS -----------------------------------------------------------------------------------------


def obj(**fields: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """An object with any subset of these fields, each plausible or wild, plus a junk key or two."""
    optional = {k: st.one_of(v, wild) for k, v in fields.items()}
    junk = st.dictionaries(st.text(max_size=8), wild, max_size=2)
    return st.tuples(st.fixed_dictionaries({}, optional=optional), junk).map(lambda t: {**t[1], **t[0]})


ocids = st.sampled_from(["ocds-a-1", "ocds-a-2", " ocds-a-1 ", "ocds-b-1", ""]) | text_values
amount = obj(amount=st.one_of(money, st.sampled_from(["1e400", "NaN", "12 000"])), currency=text_values)
classification = obj(scheme=st.sampled_from(["CPV", "cpv ", "UNSPSC", "OKDP", ""]), id=st.one_of(code_list, text_values))
identifier = obj(scheme=st.sampled_from(["RU-INN", "XI-LEI", ""]), id=text_values, legalName=text_values)
organisation = obj(
    id=st.sampled_from(["org-1", "org-2", "buyer"]) | text_values,
    name=text_values,
    name_en=text_values,
    roles=st.lists(st.sampled_from(["buyer", "supplier", "procuringEntity"]), max_size=2),
    identifier=identifier,
    address=obj(countryName=text_values, region=text_values),
)
item = obj(
    id=st.sampled_from(["i1", "i2"]),
    classification=classification,
    additionalClassifications=st.lists(classification, max_size=2),
    relatedLot=st.sampled_from(["lot-1", "lot-2"]),
)
ocds_lot = obj(
    id=st.sampled_from(["lot-1", "lot-2"]),
    title=text_values,
    description=text_values,
    value=amount,
    items=st.lists(st.sampled_from(["i1", "i2"])),
)
award = obj(
    id=st.sampled_from(["a1", "a2"]),
    date=dates,
    status=st.sampled_from(["active", "pending"]),
    value=amount,
    suppliers=st.lists(organisation, max_size=2),
    relatedLots=st.lists(st.sampled_from(["lot-1", "lot-2"])),
    lotID=text_values,
    title=text_values,
)
ocds_tender = obj(
    id=text_values,
    title=text_values,
    title_ru=text_values,
    description=text_values,
    value=amount,
    items=st.lists(item, max_size=3),
    lots=st.lists(ocds_lot, max_size=2),
    tenderPeriod=obj(startDate=dates),
    datePublished=dates,
    procuringEntity=organisation,
    mainProcurementCategory=st.sampled_from(["works", "goods"]),
)
release = obj(
    ocid=ocids,
    id=st.sampled_from(["r1", "r2"]) | text_values,
    date=dates,
    tag=st.lists(st.sampled_from(["tender", "award"])),
    language=st.sampled_from(["en", "ru", "es-PY", ""]),
    buyer=organisation,
    parties=st.lists(organisation, max_size=3),
    tender=ocds_tender,
    awards=st.lists(award, max_size=2),
)
versioned_release = st.dictionaries(
    st.sampled_from(["ocid", "tender", "awards", "parties", "buyer", "date"]),
    st.lists(st.fixed_dictionaries({"releaseID": st.text(max_size=4), "releaseDate": dates, "releaseTag": st.just(["tender"]), "value": wild})),
    max_size=4,
)
record = obj(
    ocid=ocids,
    compiledRelease=release,
    releases=st.lists(
        st.one_of(release, st.fixed_dictionaries({"url": st.text(max_size=10), "date": dates, "tag": st.just(["tender"])}))
    ),
    versionedRelease=versioned_release,
)
ocds_document = st.one_of(
    release,
    release,
    obj(uri=text_values, releases=st.lists(st.one_of(release, release, wild), max_size=4)),
    obj(uri=text_values, records=st.lists(st.one_of(record, wild), max_size=3)),
    record,
    wild,
)


def crashes_ocds(doc: Any) -> bool:
    """The inputs of the known crash in ocds._add_release: an organisation whose roles is a
    number or true (``"buyer" in roles`` on a non-container). Any such object anywhere counts."""
    if isinstance(doc, dict):
        roles = doc.get("roles")
        if roles and not isinstance(roles, (str, list, dict)):
            return True
        return any(crashes_ocds(v) for v in doc.values())
    if isinstance(doc, list):
        return any(crashes_ocds(v) for v in doc)
    return False


def ocds_property(base: Path, files: list[tuple[str, list[Any]]], ensure_ascii: bool) -> None:
    files = plain(files)
    with fresh_dir(base) as folder:
        paths = []
        for i, (fmt, docs) in enumerate(files):
            path = folder / f"ocds-{i}.{fmt}"
            if fmt == "json":  # one document
                path.write_text(json.dumps(docs[0], ensure_ascii=ensure_ascii, indent=1), encoding="utf-8")
            else:  # JSON Lines, one document a line
                path.write_text("".join(json.dumps(d, ensure_ascii=ensure_ascii) + "\n" for d in docs), encoding="utf-8")
            paths.append(path)
        try:
            tables = read_ocds(paths)
        except InputError as exc:
            assert any(str(p) in str(exc) for p in paths)
            return
        assert isinstance(tables, OcdsTables)
        for name in TABLE_NAMES:
            frame = getattr(tables, name)
            assert isinstance(frame, pl.DataFrame)
            assert dict(frame.schema) == table_schema(name)
        assert tables.releases == tables.tenders.height
        assert tables.tenders["ocid"].null_count() == 0
        for r in tables.rejects:
            assert r.file in {str(p) for p in paths}
            assert isinstance(r.where, str) and r.where
            assert isinstance(r.reason, str) and r.reason


ocds_files = st.lists(
    st.one_of(
        ocds_document.map(lambda d: ("json", [d])),
        st.lists(ocds_document, min_size=1, max_size=4).map(lambda ds: ("jsonl", ds)),
    ),
    min_size=1,
    max_size=2,
)


@settings(FUZZ, max_examples=250)
@given(files=ocds_files, ensure_ascii=st.booleans())
def test_ocds(base, files, ensure_ascii):
    assume(not any(crashes_ocds(d) for _, docs in files for d in docs))
    ocds_property(base, files, ensure_ascii)
