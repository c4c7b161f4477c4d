"""Property-based fuzz tests of the input readers: participant tables, tenders and OCDS files.

Whatever hypothesis writes into a file (wrong types, missing fields, huge strings, RTL text,
combining marks, emoji, NUL and other control characters, private-use and unassigned code
points, numbers as strings and strings as numbers, lists and dicts where text belongs), the
importers must not crash:

* read_participants: every row written ends as a loaded Participant or as one Reject (file,
  row, field, reason); rows whose values are all blank are skipped; loaded + rejected + skipped
  == rows written; ``<file>.rejects.csv`` exists exactly when there were rejects and has one row
  per reject. Rows generated entirely from valid values must load.
* read_tender: a Tender whose every lot has a title, description or codes, or a TenderError
  naming the file. Tenders generated entirely from valid values must load.
* read_ocds: four tables with their schema and the rejects, or an InputError.

A whole file that cannot be parsed may raise InputError/TenderError naming the file; any other
exception is a failure.

Rows, tenders and OCDS documents are generated in modes: "clean" (only valid values), "near"
(plausible values with mistakes: bad codes, negative numbers, "maybe" for a boolean ...),
"one-wild" (clean but one field anything at all) and "wild" (any field anything at all).

The crashes this file found (JSON nested too deep or with numbers too long to read, OCDS roles
that are not a list, lone surrogates from JSON escapes) are fixed; the tests at the end run each
once-failing input as a regression test.
"""

from __future__ import annotations

import csv
import gzip
import json
import math
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import yaml
from hypothesis import HealthCheck, Phase, event, example, given, settings
from hypothesis import strategies as st

from matcher.errors import InputError, TenderError
from matcher.inputs.columns import recognise
from matcher.inputs.ocds import TABLE_NAMES, OcdsTables, read_ocds, table_schema
from matcher.inputs.participants import PARTICIPANT_COLUMNS, Reject, read_participants
from matcher.inputs.tenders import read_tender
from matcher.schema import Participant, Tender

FUZZ = settings(
    max_examples=200,
    deadline=None,
    database=None,  # no .hypothesis/ folder in the tree; a failure prints a @reproduce_failure blob
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)
ONLY_EXPLICIT = settings(FUZZ, phases=[Phase.explicit])

COLUMNS = (
    "id", "name", "kind", "description", "codes", "regions", "headcount", "sme",
    "certifications", "projects", "clusters", "language",
)  # fmt: skip
REQUIRED = ("id", "name", "description")  # enough for a row to load
LIST_FIELDS = ("codes", "regions", "certifications", "clusters")
MARKER = "_marker"  # a column the reader ignores ("_" prefix) that tells the rows apart: "row-<n>"
ID_OF_ROW = "<id of row>"  # replaced by "P-<n>" when the file is written: a unique, valid id
MODES = ["clean", "near", "near", "one-wild", "wild"]


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
        return value if type(value) is str else str.__str__(value)
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


def cell(value: Any) -> str:
    """A value as the text of a CSV cell: JSON for lists and dicts, str() for other scalars."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (list, dict)):
        return json.dumps(plain(value), ensure_ascii=False)
    return str(value)


# --- values ------------------------------------------------------------------------------------

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
    Huge("A" * 100_000), "[" * 50 + "]" * 50, Huge("[" * 5000), Huge("9" * 5000), Huge("[" + "1" * 5000 + "]"),
    "2026-12-18", "2026-12-18T10:00:00Z", "2026-02-30", "18.12.2026",
]  # fmt: skip
PREFIXES = ["", "=", "+", "-", "@", "'=", "'", "[", "{", " ", "\t", "\u202e", "\ufeff"]
EXOTIC = st.characters(categories=["Cc", "Cf", "Co", "Cn", "Mn", "Me", "Zs", "Zl", "Zp", "So", "Lo", "Nd", "No"])

huge_text = st.builds(
    lambda chunk, n: Huge(chunk * n),
    st.one_of(st.text(min_size=1, max_size=3), st.sampled_from(["[", "9", "[{", " "])),
    st.integers(300, 30_000),
)
grouped = st.builds(
    lambda n, sep: f"{n:,}".replace(",", sep), st.integers(0, 10**12), st.sampled_from([" ", "_", "\u00a0", "."])
)
numeric_text = st.one_of(st.integers(-(10**30), 10**30).map(str), st.floats().map(str), grouped)
json_text = st.builds(  # text that a list or projects cell parses as JSON
    lambda a, b, c: Huge(a + b + c),
    st.sampled_from(["[", "[[", '[{"title": ', " [ "]),
    st.one_of(huge_text, st.text(max_size=10)),
    st.sampled_from(["]", "", "}]", "]]"]),
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
    lambda kids: (
        st.lists(kids, max_size=4)
        | st.dictionaries(st.text(max_size=8) | st.sampled_from(PROJECT_KEYS), kids, max_size=4)
    ),
    max_leaves=10,
)
# junk: no field's name, nor a header the reader recognises as one (synonyms such as "ID" or "site")
junk_key = st.text(max_size=12).filter(lambda k: k not in COLUMNS and k != MARKER and recognise(k) is None)
BLANKS: list[Any] = [None, "", " ", "\t", "\n", "\r\n ", "\u3000", "\u2028", "\x1c", "\x85", float("nan")]
blank_cell = st.sampled_from([v for v in BLANKS if isinstance(v, str)])

# valid values: a row (or tender) made only of these must load
valid_text = text_values.filter(lambda s: not is_blank(s))
VALID_CODES = ["45221111-3", "71322000", "42.13", "OKVED2:42.99", "UNSPSC:72141000", "45000000", "cpv:71322000-1"]
valid_code_list = st.lists(st.sampled_from(VALID_CODES), max_size=4)
valid_codes = st.one_of(
    valid_code_list, valid_code_list.map(";".join), valid_code_list.map(", ".join), valid_code_list.map(json.dumps)
)
list_item = st.one_of(text_values, st.integers(-(2**70), 2**70), st.floats(), st.booleans(), st.none())
valid_list = st.one_of(
    st.lists(list_item, max_size=4),
    st.lists(list_item, max_size=4).map(lambda v: json.dumps(plain(v))),
    text_values.filter(lambda s: not s.strip().startswith("[")),
)
valid_grouped = st.builds(
    lambda n, sep: f"{n:,}".replace(",", sep), st.integers(0, 10**12), st.sampled_from([" ", "_", "\u00a0"])
)
valid_money = st.one_of(
    st.floats(min_value=0, allow_infinity=False), st.integers(0, 10**20), st.integers(0, 10**12).map(str), valid_grouped
)
valid_project = st.fixed_dictionaries(
    {"title": valid_text},
    optional={
        "year": st.one_of(st.integers(1900, 2100), st.integers(1900, 2100).map(str)),
        "value": valid_money,
        "role": st.one_of(st.none(), text_values),
        "buyer": st.one_of(st.none(), text_values),
    },
)
valid_headcount = st.integers(0, 10**7)
LANGUAGES = ["ru", "EN", " es ", "ru-RU", "pt_BR", "rus", "Russian", "ukrainian", "xx", ""]
VALID: dict[str, st.SearchStrategy[Any]] = {
    "id": st.just(ID_OF_ROW),
    "name": valid_text,
    "kind": st.one_of(st.none(), text_values),
    "description": valid_text,
    "codes": valid_codes,
    "regions": valid_list,
    "headcount": st.one_of(
        valid_headcount,
        valid_headcount.map(str),
        valid_headcount.map(float),
        valid_headcount.map(lambda n: f"{n:,}".replace(",", "\u00a0")),
    ),
    "sme": st.one_of(
        st.none(), st.booleans(), st.sampled_from(["yes", "no", "Y", "n", "да", "нет", "1", "0", " true ", "FALSE"])
    ),
    "certifications": valid_list,
    "projects": st.one_of(
        st.lists(valid_project, max_size=3), st.lists(valid_project, max_size=3).map(lambda v: json.dumps(plain(v)))
    ),
    "clusters": valid_list,
    "language": st.one_of(st.none(), st.sampled_from(LANGUAGES)),
}

# plausible values with the mistakes people make
code_list = st.lists(st.sampled_from([*VALID_CODES, "45221111-9", "99999999", "x", " 42.13 ", "UNSPSC:1"]), max_size=4)
codes_values = st.one_of(
    code_list, code_list.map(";".join), code_list.map(", ".join), code_list.map(json.dumps), json_text
)
list_values = st.one_of(
    st.lists(st.one_of(text_values, scalars), max_size=4),
    st.lists(st.text(max_size=12), max_size=4).map(";".join),
    st.lists(st.text(max_size=12)).map(json.dumps),
    json_text,
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
    st.lists(st.one_of(project, wild), max_size=3),
    st.lists(project, max_size=3).map(lambda v: json.dumps(plain(v))),
    json_text,
    st.one_of(huge_text, numeric_text),
)
PLAUSIBLE: dict[str, st.SearchStrategy[Any]] = {
    "id": st.sampled_from([ID_OF_ROW, ID_OF_ROW, ID_OF_ROW, "dup", " dup ", "DUP", "'=dup", ""]),
    "name": text_values,
    "kind": text_values,
    "description": text_values,
    "codes": codes_values,
    "regions": list_values,
    "headcount": st.one_of(st.integers(-10, 20_000_000), numeric_text, st.floats()),
    "sme": st.one_of(st.booleans(), st.sampled_from(["yes", "no", "да", "1", "0", "true ", "2", "maybe"])),
    "certifications": list_values,
    "projects": projects_values,
    "clusters": list_values,
    "language": st.one_of(st.sampled_from([*LANGUAGES, "r", "russian language", "123", "中文", "en-"]), text_values),
}
ANY = {key: st.one_of(PLAUSIBLE[key], wild) for key in COLUMNS}


@st.composite
def participant_row(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """("valid", record) for a clean record, which must load; ("data", record) otherwise."""
    mode = draw(st.sampled_from(MODES))
    junk = draw(st.dictionaries(junk_key, wild, max_size=2))
    row: dict[str, Any] = {}
    if mode in ("clean", "one-wild"):
        for key in COLUMNS:
            if key in REQUIRED or draw(st.booleans()):
                row[key] = draw(VALID[key])
        if mode == "clean":
            return "valid", {**junk, **row}
        row[draw(st.sampled_from(COLUMNS))] = draw(wild)
    else:
        for key in COLUMNS:
            if draw(st.integers(0, 5)) < (5 if key in REQUIRED else 3):
                row[key] = draw((PLAUSIBLE if mode == "near" else ANY)[key])
    return "data", {**junk, **row}


blank_record = st.dictionaries(st.sampled_from(COLUMNS) | junk_key, st.sampled_from(BLANKS), max_size=4)


# --- the participant property ----------------------------------------------------------------------


def check_table(path: Path, rows: dict[int, tuple[str, str | None]], junk_columns: set[str]) -> None:
    """Read one table and check that every row written is accounted for.

    rows: spreadsheet/line/record number -> (kind, marker). kind is "valid" (a clean record: must
    load), "data" (any record: loads or is rejected), "blank" (all values blank: skipped) or "bad"
    (not a record at all: must be rejected on field "-").
    """
    result = read_participants([path])  # these files are well formed: no InputError either
    written = len(rows)
    blank = sum(kind == "blank" for kind, _ in rows.values())

    seen_rows: set[int] = set()
    rejected: dict[str, Reject] = {}
    for r in result.rejects:
        assert isinstance(r, Reject)
        assert r.file == str(path)
        assert r.row in rows, f"reject for a row that was not written: {r}"
        assert r.row not in seen_rows, f"two rejects for row {r.row}"
        seen_rows.add(r.row)
        kind, marker = rows[r.row]
        assert kind != "blank", f"a blank row was rejected: {r}"
        assert kind != "valid", f"a valid row was rejected: {r}"
        assert isinstance(r.field, str) and r.field
        assert isinstance(r.reason, str) and r.reason.strip()
        assert isinstance(r.record, dict)
        if kind == "bad":
            assert r.field == "-"
        else:
            assert r.record.get(MARKER) == marker, f"row {r.row} is reported with another row's record"
            rejected[str(marker)] = r
    assert {n for n, (kind, _) in rows.items() if kind == "bad"} <= seen_rows

    assert len(result.participants) + len(result.rejects) + blank == written
    ids = [p.id for p in result.participants]
    assert len(set(ids)) == len(ids)
    for p in result.participants:
        assert isinstance(p, Participant)
        assert p.id.strip() and p.name.strip()
        assert p.description or p.codes or p.projects
        assert p.language is None or (len(p.language) == 2 and p.language.isascii() and p.language.islower())
        if p.id.startswith("P-") and p.id[2:].isdigit():  # a generated id: its own row was not rejected
            assert f"row-{p.id[2:]}" not in rejected

    expected_ignored = sorted(c for c in junk_columns if not c.startswith("_"))
    assert result.ignored_columns.get(str(path), []) == expected_ignored
    check_rejects_file(path, result.rejects)
    event(f"participants loaded: {'some' if result.participants else 'none'}")
    event(f"rows rejected: {'some' if result.rejects else 'none'}")
    event(f"blank rows: {'some' if blank else 'none'}")


def unprefix(value: str) -> str:
    """Undo safe_csv_cell's apostrophe before =, +, -, @, tab or CR."""
    return value[1:] if len(value) > 1 and value[0] == "'" and value[1] in "=+-@\t\r" else value


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


def test_fuzzed_columns_are_the_readers():
    """A column added to the reader needs its valid and plausible values here."""
    assert set(COLUMNS) == set(PARTICIPANT_COLUMNS)
    assert set(VALID) == set(PLAUSIBLE) == set(COLUMNS)


# --- 1. JSON Lines participants ------------------------------------------------------------------

jsonl_item = st.one_of(
    participant_row(),
    participant_row(),
    participant_row(),
    blank_record.map(lambda r: ("blank", r)),
    wild.filter(lambda v: not isinstance(v, dict)).map(lambda v: ("not-object", v)),
    st.text(max_size=30).filter(lambda s: "\n" not in s and "\r" not in s).map(lambda s: ("invalid", "<<" + s)),
    st.sampled_from(["", " ", "\t \t"]).map(lambda s: ("empty-line", s)),
)
jsonl_items = st.lists(jsonl_item, max_size=12)


def jsonl_property(base: Path, items: list[tuple[str, Any]], bom: bool, ensure_ascii: bool) -> None:
    with fresh_dir(base) as folder:
        path = folder / "members.jsonl"
        lines: list[str] = []
        rows: dict[int, tuple[str, str | None]] = {}
        records: list[dict[str, Any]] = []
        for kind, value in items:
            n = len(lines) + 1  # the line number
            if kind in ("valid", "data"):
                record = with_ids(value, n)
                records.append(record)
                rows[n] = (kind, record[MARKER])
                lines.append(json.dumps(plain(record), ensure_ascii=ensure_ascii))
            elif kind in ("blank", "not-object"):
                if kind == "blank":
                    records.append(value)
                rows[n] = ("blank" if kind == "blank" else "bad", None)
                lines.append(json.dumps(plain(value), ensure_ascii=ensure_ascii))
            elif kind == "invalid":
                rows[n] = ("bad", None)
                lines.append(value)
            else:  # a whitespace-only line is no row, but it counts for the line numbers
                lines.append(value)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8-sig" if bom else "utf-8")
        check_table(path, rows, junk_of(records))


@settings(FUZZ, max_examples=300)
@given(items=jsonl_items, bom=st.booleans(), ensure_ascii=st.booleans())
def test_jsonl_participants(base, items, bom, ensure_ascii):
    jsonl_property(base, items, bom, ensure_ascii)


# --- 2. JSON array participants ------------------------------------------------------------------

json_items = st.lists(
    st.one_of(
        participant_row(),
        participant_row(),
        participant_row(),
        blank_record.map(lambda r: ("blank", r)),
        wild.filter(lambda v: not isinstance(v, dict)).map(lambda v: ("not-object", v)),
    ),
    max_size=12,
)
# "not-a-table": no array of participants at all, the whole file is an InputError
json_top = st.sampled_from(["array", "array", "object", "not-a-table"])
not_a_table = st.one_of(
    scalars,
    st.dictionaries(st.text(max_size=8).filter(lambda k: k != "participants"), wild, max_size=3),
    st.fixed_dictionaries({"participants": wild.filter(lambda v: not isinstance(v, list))}),
)


def json_property(base: Path, items: list[tuple[str, Any]], top: str, bad_top: Any, ensure_ascii: bool) -> None:
    with fresh_dir(base) as folder:
        path = folder / "members.json"
        if top == "not-a-table":
            path.write_text(json.dumps(plain(bad_top), ensure_ascii=ensure_ascii), encoding="utf-8")
            with pytest.raises(InputError, match="expected a JSON array") as info:
                read_participants([path])
            assert str(path) in str(info.value)
            assert not path.with_name(path.name + ".rejects.csv").exists()
            return
        data: list[Any] = []
        rows: dict[int, tuple[str, str | None]] = {}
        records: list[dict[str, Any]] = []
        for kind, value in items:
            n = len(data) + 1  # the 1-based record
            if kind in ("valid", "data"):
                value = with_ids(value, n)
                rows[n] = (kind, value[MARKER])
            else:
                rows[n] = ("blank" if kind == "blank" else "bad", None)
            if isinstance(value, dict):
                records.append(value)
            data.append(value)
        document: Any = data if top == "array" else {"participants": data, "cluster": "fuzz"}
        path.write_text(json.dumps(plain(document), ensure_ascii=ensure_ascii, indent=1), encoding="utf-8")
        check_table(path, rows, junk_of(records))


@settings(FUZZ, max_examples=300)
@given(items=json_items, top=json_top, bad_top=not_a_table, ensure_ascii=st.booleans())
def test_json_participants(base, items, top, bad_top, ensure_ascii):
    json_property(base, items, top, bad_top, ensure_ascii)


# --- 3./4. CSV, TSV and Parquet participants ---------------------------------------------------------

Typed = dict[str, tuple[st.SearchStrategy[Any], st.SearchStrategy[Any], st.SearchStrategy[Any]]]


@st.composite
def table_rows(draw: st.DrawFn, header: list[str], typed: Typed | None = None) -> list[tuple[str, dict[str, Any]]]:
    """Rows of a table with this header: (kind, {column: value}) without the marker. Cells are
    text; a column in typed gets a (valid, any, blank) strategy of its own instead."""
    typed = typed or {}
    loadable = set(REQUIRED) <= set(header)
    columns = [c for c in header if c != MARKER]
    rows = []
    for _ in range(draw(st.integers(0, 10))):
        mode = draw(st.sampled_from(["blank", *MODES]))
        wild_column = draw(st.sampled_from(columns)) if mode == "one-wild" and columns else None
        values: dict[str, Any] = {}
        for c in columns:
            clean = mode == "clean" or (mode == "one-wild" and c != wild_column)
            if c in typed:
                valid, anything, blank = typed[c]
                values[c] = draw(blank if mode == "blank" else valid if clean else anything)
            elif mode == "blank":
                values[c] = draw(blank_cell)
            elif c not in COLUMNS:
                values[c] = cell(draw(wild))
            elif clean:
                values[c] = cell(draw(VALID[c])) if c in REQUIRED or draw(st.booleans()) else ""
            elif mode == "near":
                values[c] = cell(draw(PLAUSIBLE[c]))
            else:
                values[c] = draw(st.one_of(text_values, ANY[c].map(cell)))
        rows.append(("blank" if mode == "blank" else "valid" if mode == "clean" and loadable else "data", values))
    return rows


# no '"' in CSV column names: polars keeps a header's doubled quotes ("a""b" is read as a""b; cells are fine)
# nor names that the reader takes for a field (synonyms such as "Id" or "site") or tidies ("  x": "x")
header_junk = st.lists(
    st.text(max_size=10).filter(
        lambda k: (
            k not in COLUMNS
            and k != MARKER
            and '"' not in k
            and recognise(k) is None
            and " ".join(k.split()) == k
            and bool(k)
        )
    ),
    max_size=3,
    unique=True,
)


@st.composite
def csv_tables(draw: st.DrawFn) -> tuple[list[str], list[tuple[str, dict[str, Any]]]]:
    """A header (the marker, some real columns, junk columns, in any order) and its rows."""
    columns = draw(st.lists(st.sampled_from(COLUMNS), unique=True, max_size=len(COLUMNS)))
    if draw(st.booleans()):
        columns = list(dict.fromkeys([*REQUIRED, *columns]))
    header = draw(st.permutations([MARKER, *columns, *draw(header_junk)]))
    return header, draw(table_rows(header))


def csv_property(base: Path, table: tuple[list[str], list[tuple[str, dict[str, Any]]]], tsv: bool) -> None:
    header, items = table
    with fresh_dir(base) as folder:
        path = folder / ("members.tsv" if tsv else "members.csv")
        rows: dict[int, tuple[str, str | None]] = {}
        with path.open("w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f, delimiter="\t" if tsv else ",")
            writer.writerow(header)
            for i, (kind, values) in enumerate(items):
                n = i + 2  # the spreadsheet row: the header is row 1
                record = with_ids(values, n) if kind != "blank" else {MARKER: "", **values}
                rows[n] = (kind, record[MARKER] or None)
                writer.writerow([plain(record.get(c, "")) for c in header])
        # the header says which columns are unknown, rows or no rows
        check_table(path, rows, {c for c in header if c not in COLUMNS and c != MARKER})


@settings(FUZZ, max_examples=300)
@given(table=csv_tables(), tsv=st.booleans())
def test_csv_participants(base, table, tsv):
    csv_property(base, table, tsv)


TYPED: Typed = {
    "headcount": (
        st.one_of(st.none(), valid_headcount),
        st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1), st.integers(-5, 20_000_000)),
        st.none(),
    ),
    "sme": (st.one_of(st.none(), st.booleans()), st.one_of(st.none(), st.booleans()), st.none()),
    "codes": (
        st.one_of(st.none(), valid_code_list),
        st.one_of(st.none(), st.lists(st.one_of(st.none(), st.sampled_from(VALID_CODES), text_values), max_size=4)),
        st.none(),
    ),
    "score": (st.floats(), st.floats(), st.sampled_from([None, math.nan])),  # not a participant column
}


@st.composite
def parquet_tables(draw: st.DrawFn, typed: bool) -> tuple[dict[str, Any], list[tuple[str, dict[str, Any]]]]:
    """Columns with their polars dtypes, and rows. All String, or (typed) headcount Int64, sme
    Boolean, codes List(String) and a junk Float64 column with NaN and infinities."""
    columns = draw(st.lists(st.sampled_from(COLUMNS), unique=True, max_size=len(COLUMNS)))
    if draw(st.booleans()):
        columns = list(dict.fromkeys([*REQUIRED, *columns]))
    junk = draw(st.lists(junk_key, unique=True, max_size=2))
    schema: dict[str, Any] = {c: pl.String for c in [MARKER, *columns, *junk]}
    if typed:
        schema.update(headcount=pl.Int64, sme=pl.Boolean, codes=pl.List(pl.String), score=pl.Float64)
    rows = draw(table_rows(list(schema), TYPED if typed else None))
    return schema, rows


def parquet_property(base: Path, table: tuple[dict[str, Any], list[tuple[str, dict[str, Any]]]]) -> None:
    schema, items = table
    with fresh_dir(base) as folder:
        path = folder / "members.parquet"
        rows: dict[int, tuple[str, str | None]] = {}
        records = []
        for i, (kind, values) in enumerate(items):
            n = i + 1  # the 1-based record
            record = with_ids(values, n) if kind != "blank" else {MARKER: None, **values}
            rows[n] = (kind, record[MARKER])
            records.append({k: None if v == "" else v for k, v in record.items()})  # empty cells are nulls
        pl.DataFrame(plain(records), schema=schema).write_parquet(path)
        check_table(path, rows, {c for c in schema if c not in COLUMNS and c != MARKER})  # a schema, rows or no rows


@FUZZ
@given(table=parquet_tables(typed=False))
def test_parquet_participants(base, table):
    parquet_property(base, table)


@settings(FUZZ, max_examples=150)
@given(table=parquet_tables(typed=True))
def test_parquet_participants_typed_columns(base, table):
    parquet_property(base, table)


# --- 5. tenders ------------------------------------------------------------------------------------

valid_dates = st.one_of(
    st.dates().map(str),
    st.datetimes().map(lambda d: d.isoformat()),
    st.datetimes().map(lambda d: d.isoformat(timespec="seconds") + "Z"),
)
dates = st.one_of(
    valid_dates,
    st.sampled_from(["2026-02-30", "18.12.2026", "2026-13-01", "tomorrow", "2026-12-18 10:00", "20261218", ""]),
)
TENDER_VALID: dict[str, st.SearchStrategy[Any]] = {
    "id": valid_text,
    "ocid": valid_text,
    "title": valid_text,
    "description": text_values,
    "buyer": text_values,
    "region": text_values,
    "currency": st.sampled_from(["RUB", "EUR", "", "₽"]),
    "codes": valid_codes,
    "certifications": valid_list,
    "value": valid_money,
    "deadline": valid_dates,
    "language": st.one_of(st.sampled_from(LANGUAGES), text_values),
}
TENDER_PLAUSIBLE: dict[str, st.SearchStrategy[Any]] = {
    **TENDER_VALID,
    "id": text_values,
    "ocid": text_values,
    "title": text_values,
    "codes": codes_values,
    "certifications": list_values,
    "value": st.one_of(st.floats(), st.integers(-(10**20), 10**20), numeric_text),
    "deadline": dates,
}
LOT_KEYS = ["title", "description", "codes", "value", "certifications", "region"]


@st.composite
def tenders(draw: st.DrawFn) -> tuple[str, Any]:
    """("valid", tender) for a clean tender, which must load; ("data", anything) otherwise."""
    mode = draw(st.sampled_from([*MODES, "not-a-dict"]))
    if mode == "not-a-dict":
        return "data", draw(wild)
    junk = draw(st.dictionaries(st.text(max_size=8), wild, max_size=2))
    if mode in ("clean", "one-wild"):
        data = {"title": draw(valid_text)}
        data.update(draw(st.fixed_dictionaries({}, optional={k: v for k, v in TENDER_VALID.items() if k != "title"})))
        lot = st.fixed_dictionaries({"title": valid_text}, optional={k: TENDER_VALID[k] for k in LOT_KEYS[1:]})
        lots = draw(st.lists(lot, max_size=4))
        id_style = draw(st.sampled_from(["default", "text", "int"]))  # explicit ids are all unique
        for i, one in enumerate(lots):
            if id_style != "default":
                one["id"] = f"L-{i}" if id_style == "text" else i + 1
        if lots or draw(st.booleans()):
            data["lots"] = lots
        if mode == "clean":
            return "valid", {**junk, **data}
        key = draw(st.sampled_from([*TENDER_VALID, "lots"]))
        target = draw(st.sampled_from(lots)) if lots and key in LOT_KEYS and draw(st.booleans()) else data
        target[key] = draw(wild)
        return "data", {**junk, **data}
    source = TENDER_PLAUSIBLE if mode == "near" else {k: st.one_of(v, wild) for k, v in TENDER_PLAUSIBLE.items()}
    lot = st.fixed_dictionaries(
        {},
        optional={"id": st.one_of(st.sampled_from(["1", "2", "1 ", 1, 2, "L-1"]), wild)}
        | {k: source[k] for k in LOT_KEYS},
    )
    data = draw(st.fixed_dictionaries({}, optional=dict(source)))
    if draw(st.booleans()):
        data["lots"] = draw(
            st.lists(st.one_of(lot, lot, wild), max_size=4)
            if mode == "near"
            else st.one_of(wild, st.lists(st.one_of(lot, wild), max_size=4))
        )
    return "data", {**junk, **data}


def tender_property(base: Path, tender_data: tuple[str, Any], fmt: str, ensure_ascii: bool, yaml_date: Any) -> None:
    kind, data = tender_data
    data = plain(data)
    with fresh_dir(base) as folder:
        path = folder / f"tender.{fmt}"
        if fmt == "json":
            path.write_text(json.dumps(data, ensure_ascii=ensure_ascii), encoding="utf-8")
        else:
            if isinstance(data, dict) and yaml_date is not None:  # YAML has dates and timestamps of its own
                data = {**data, "deadline": yaml_date}
            path.write_text(yaml.safe_dump(data, allow_unicode=not ensure_ascii), encoding="utf-8")
        try:
            tender = read_tender(path)
        except TenderError as exc:
            assert kind != "valid", f"a valid tender was refused: {exc}"
            assert str(path) in str(exc)
            event("tender: TenderError")
            return
        event("tender: read")
        assert isinstance(tender, Tender)
        assert tender.id and tender.lots
        ids = [lot.id for lot in tender.lots]
        assert len(set(ids)) == len(ids)
        for lot in tender.lots:
            assert lot.id and (lot.title or lot.description or lot.codes)
        assert tender.deadline is None or isinstance(tender.deadline, date)


@settings(FUZZ, max_examples=300)
@given(
    tender_data=tenders(),
    fmt=st.sampled_from(["json", "yaml", "yml"]),
    ensure_ascii=st.booleans(),
    yaml_date=st.one_of(st.none(), st.dates(), st.datetimes()),
)
def test_tenders(base, tender_data, fmt, ensure_ascii, yaml_date):
    tender_property(base, tender_data, fmt, ensure_ascii, yaml_date)


# --- 6. OCDS -------------------------------------------------------------------------------------------


def obj(**fields: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """An object with any subset of these fields, mostly plausible, sometimes wild, plus junk keys."""
    optional = {k: st.one_of(v, v, v, wild) for k, v in fields.items()}
    junk = st.dictionaries(st.text(max_size=8), wild, max_size=2)
    return st.tuples(st.fixed_dictionaries({}, optional=optional), junk).map(lambda t: {**t[1], **t[0]})


ocids = st.one_of(st.sampled_from(["ocds-a-1", "ocds-a-2", " ocds-a-1 ", "ocds-b-1"]), text_values)
amount = obj(amount=st.one_of(valid_money, st.floats(), st.sampled_from(["1e400", "NaN", "-5"])), currency=text_values)
classification = obj(
    scheme=st.sampled_from(["CPV", "cpv ", "UNSPSC", "OKDP", ""]), id=st.one_of(code_list, text_values)
)
identifier = obj(scheme=st.sampled_from(["RU-INN", "XI-LEI", ""]), id=text_values, legalName=text_values)
organisation = obj(
    id=st.one_of(st.sampled_from(["org-1", "org-2", "buyer"]), text_values),
    name=text_values,
    name_en=text_values,
    roles=st.lists(st.sampled_from(["buyer", "supplier", "procuringEntity"]), max_size=2),
    identifier=identifier,
    address=obj(countryName=text_values, region=text_values),
)
LOT_IDS = ["lot-1", "lot-2"]
item = obj(
    id=st.sampled_from(["i1", "i2"]),
    classification=classification,
    additionalClassifications=st.lists(classification, max_size=2),
    relatedLot=st.sampled_from(LOT_IDS),
)
ocds_lot = obj(
    id=st.sampled_from(LOT_IDS),
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
    relatedLots=st.lists(st.sampled_from(LOT_IDS)),
    lotID=st.one_of(st.sampled_from(LOT_IDS), text_values),
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
release = st.tuples(
    st.one_of(ocids, ocids, ocids, wild),
    obj(
        id=st.one_of(st.sampled_from(["r1", "r2"]), text_values),
        date=dates,
        tag=st.lists(st.sampled_from(["tender", "award"])),
        language=st.sampled_from(["en", "ru", "es-PY", ""]),
        buyer=organisation,
        parties=st.lists(organisation, max_size=3),
        tender=ocds_tender,
        awards=st.lists(award, max_size=2),
    ),
).map(lambda t: {"ocid": t[0], **t[1]})
versioned_value = st.fixed_dictionaries(
    {"releaseID": st.text(max_size=4), "releaseDate": dates, "releaseTag": st.just(["tender"]), "value": wild}
)
versioned_release = st.dictionaries(
    st.sampled_from(["ocid", "tender", "awards", "parties", "buyer", "date"]), st.lists(versioned_value), max_size=4
)
linked_release = st.fixed_dictionaries({"url": st.text(max_size=10), "date": dates, "tag": st.just(["tender"])})
record = obj(
    ocid=ocids,
    compiledRelease=release,
    releases=st.lists(st.one_of(release, release, linked_release), max_size=3),
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
raw_line = st.one_of(
    st.text(max_size=40),  # not JSON, or JSON that is no object
    ocds_document.flatmap(lambda d: st.integers(0, 200).map(lambda k: json.dumps(plain(d))[:k])),  # cut short
)
ocds_file = st.tuples(
    st.one_of(
        ocds_document.map(lambda d: ("json", [d])),
        ocds_document.map(lambda d: ("json", [d])),
        st.lists(ocds_document, min_size=1, max_size=4).map(lambda ds: ("jsonl", ds)),
        st.lists(ocds_document, min_size=1, max_size=4).map(lambda ds: ("jsonl", ds)),
        raw_line.map(lambda t: ("json-text", [t])),
        st.lists(st.one_of(raw_line, ocds_document.map(lambda d: json.dumps(plain(d)))), min_size=1, max_size=4).map(
            lambda ls: ("jsonl-text", ls)
        ),
    ),
    st.booleans(),  # gzip
).map(lambda t: (*t[0], t[1]))
ocds_files = st.lists(ocds_file, min_size=1, max_size=2)


def ocds_property(base: Path, files: list[tuple[str, list[Any], bool]], ensure_ascii: bool) -> None:
    files = plain(files)
    with fresh_dir(base) as folder:
        paths = []
        for i, (fmt, docs, compressed) in enumerate(files):
            if fmt == "json":  # one document
                content = json.dumps(docs[0], ensure_ascii=ensure_ascii, indent=1)
            elif fmt == "jsonl":  # one document a line
                content = "".join(json.dumps(d, ensure_ascii=ensure_ascii) + "\n" for d in docs)
            else:  # text as it is
                content = "\n".join(docs)
            suffix = ".json" if fmt in ("json", "json-text") else ".jsonl"
            path = folder / f"ocds-{i}{suffix}{'.gz' if compressed else ''}"
            raw = content.encode("utf-8")
            path.write_bytes(gzip.compress(raw) if compressed else raw)
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
        ocid_column = tables.tenders["ocid"]
        assert ocid_column.null_count() == 0 and ocid_column.n_unique() == tables.tenders.height
        for name in ("lots", "awards", "suppliers"):
            assert set(getattr(tables, name)["ocid"].to_list()) <= set(ocid_column.to_list())
        for r in tables.rejects:
            assert r.file in {str(p) for p in paths}
            assert isinstance(r.where, str) and r.where
            assert isinstance(r.reason, str) and r.reason
        event(f"ocds releases: {'some' if tables.releases else 'none'}")
        event(f"ocds rejects: {'some' if tables.rejects else 'none'}")


@settings(FUZZ, max_examples=300)
@given(files=ocds_files, ensure_ascii=st.booleans())
def test_ocds(base, files, ensure_ascii):
    ocds_property(base, files, ensure_ascii)


# --- crashes found by this file, fixed: each runs its once-failing input as a regression test ------

BRIDGE = {"id": ID_OF_ROW, "name": "Mostostroy-12", "description": "Road bridges and overpasses"}


@ONLY_EXPLICIT
@given(items=jsonl_items, bom=st.booleans(), ensure_ascii=st.booleans())
@example(items=[("data", {**BRIDGE, "codes": Huge("[" * 5000)})], bom=False, ensure_ascii=True)
def test_jsonl_participants_deeply_nested_list_text(base, items, bom, ensure_ascii):
    jsonl_property(base, items, bom, ensure_ascii)


@ONLY_EXPLICIT
@given(table=csv_tables(), tsv=st.booleans())
@example(
    table=([MARKER, *REQUIRED, "projects"], [("data", {**BRIDGE, "projects": Huge("[" + "1" * 5000 + "]")})]), tsv=False
)
def test_csv_participants_huge_integer_in_projects(base, table, tsv):
    csv_property(base, table, tsv)


@ONLY_EXPLICIT
@given(items=json_items, top=json_top, bad_top=not_a_table, ensure_ascii=st.booleans())
@example(items=[("data", {"id": ID_OF_ROW, "name": "Mostostroy \ud800"})], top="array", bad_top=None, ensure_ascii=True)
def test_json_participants_lone_surrogate_in_rejected_row(base, items, top, bad_top, ensure_ascii):
    json_property(base, items, top, bad_top, ensure_ascii)


@ONLY_EXPLICIT
@given(
    tender_data=tenders(),
    fmt=st.sampled_from(["json", "yaml", "yml"]),
    ensure_ascii=st.booleans(),
    yaml_date=st.one_of(st.none(), st.dates(), st.datetimes()),
)
@example(
    tender_data=("data", {"title": "Bridge repair", "codes": Huge("[" * 5000)}),
    fmt="yaml",
    ensure_ascii=True,
    yaml_date=None,
)
def test_tender_deeply_nested_codes(base, tender_data, fmt, ensure_ascii, yaml_date):
    tender_property(base, tender_data, fmt, ensure_ascii, yaml_date)


@ONLY_EXPLICIT
@given(files=ocds_files, ensure_ascii=st.booleans())
@example(files=[("json", [{"ocid": "ocds-a-1", "parties": [{"id": "org-1", "roles": 1}]}], False)], ensure_ascii=True)
def test_ocds_party_roles_not_a_list(base, files, ensure_ascii):
    ocds_property(base, files, ensure_ascii)


@ONLY_EXPLICIT
@given(files=ocds_files, ensure_ascii=st.booleans())
@example(files=[("json-text", [Huge('{"ocid": "ocds-a-1", "n": 1' + "0" * 4300 + "}")], False)], ensure_ascii=True)
def test_ocds_huge_integer(base, files, ensure_ascii):
    ocds_property(base, files, ensure_ascii)


@ONLY_EXPLICIT
@given(files=ocds_files, ensure_ascii=st.booleans())
@example(files=[("json", [{"ocid": "ocds-a-1", "tender": {"title": "Bridge \ud800"}}], False)], ensure_ascii=True)
def test_ocds_lone_surrogate(base, files, ensure_ascii):
    ocds_property(base, files, ensure_ascii)
