"""read_participants / parse_participant: every table format, rejects with their rows, whole-file errors."""

from __future__ import annotations

import csv
import json
import os
import shutil
import stat
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from matcher.errors import InputError
from matcher.inputs import participants as readers
from matcher.inputs.fields import FieldError
from matcher.inputs.participants import parse_participant, read_participants, rejects_path_for
from matcher.schema import Participant, Project
from matcher.taxonomy import OKVED_PREFIX, load_taxonomy

DATA = Path(__file__).resolve().parent / "data" / "readers"
COLUMNS = [
    "id", "name", "kind", "description", "codes", "regions", "headcount", "sme",
    "certifications", "projects", "clusters",
]  # fmt: skip
REJECTS_HEADER = ["_file", "_row", "_field", "_reason", *COLUMNS]

# --- the canonical participants, as raw rows and as the Participants they must become -------

ROWS: list[dict[str, Any]] = [
    {
        "id": "p1",
        "name": "Mostostroy-12",
        "kind": "contractor",
        "description": "Design and construction of road bridges and overpasses",
        "codes": ["45221111-3", "71322000"],
        "regions": ["RU-MOW", "ru-spe"],
        "headcount": 120,  # no sme: derived, 120 < 250
        "sme": None,
        "certifications": ["ISO 9001", "SRO construction"],
        "projects": [
            {
                "title": "Oka river road bridge",
                "year": 2019,
                "value": 1_250_000_000.0,
                "role": "general contractor",
                "buyer": "Rosavtodor",
            },
            {
                "title": "Overpass repair on the M-7",
                "year": 2022,
                "value": 85_000_000.5,
                "role": "subcontractor",
                "buyer": "Avtodor",
            },
        ],  # fmt: skip
        "clusters": ["bridges", "roads"],
    },
    {
        "id": "p2",
        "name": "Tunnel Engineering",
        "kind": "contractor",
        "description": "Bridges and tunnels",
        "codes": ["42.13"],  # OKVED2
        "regions": ["RU-NIZ"],
        "headcount": 800,  # no sme: derived, 800 >= 250
        "sme": None,
        "certifications": [],
        "projects": [],
        "clusters": [],
    },
    {
        "id": "p3",
        "name": "Geodesy Lab",
        "kind": None,
        "description": "Engineering surveys for road works",
        "codes": ["45233140"],
        "regions": [],
        "headcount": None,
        "sme": True,
        "certifications": [],
        "projects": [],
        "clusters": [],
    },
    {
        "id": "p4",
        "name": "Small Repairs",
        "kind": "workshop",
        "description": None,  # only a project to match on
        "codes": [],
        "regions": ["RU-TUL"],
        "headcount": 40,
        "sme": False,  # explicit sme wins over the headcount
        "certifications": ["SRO"],
        "projects": [{"title": "Footbridge repair", "year": 2021, "value": None, "role": None, "buyer": None}],
        "clusters": [],
    },
]


def expected_participants() -> list[Participant]:
    return [
        Participant(
            id="p1",
            name="Mostostroy-12",
            description="Design and construction of road bridges and overpasses",
            kind="contractor",
            codes=("45221111-3", "71322000-1"),
            regions=("RU-MOW", "RU-SPE"),
            headcount=120,
            sme=True,
            certifications=("ISO 9001", "SRO construction"),
            projects=(
                Project("Oka river road bridge", 2019, 1_250_000_000.0, "general contractor", "Rosavtodor"),
                Project("Overpass repair on the M-7", 2022, 85_000_000.5, "subcontractor", "Avtodor"),
            ),
            clusters=("bridges", "roads"),
        ),
        Participant(
            id="p2",
            name="Tunnel Engineering",
            description="Bridges and tunnels",
            kind="contractor",
            codes=tuple(load_taxonomy().normalise("42.13")),
            regions=("RU-NIZ",),
            headcount=800,
            sme=False,
        ),
        Participant(
            id="p3",
            name="Geodesy Lab",
            description="Engineering surveys for road works",
            codes=("45233140-2",),
            sme=True,
        ),
        Participant(
            id="p4",
            name="Small Repairs",
            kind="workshop",
            regions=("RU-TUL",),
            headcount=40,
            sme=False,
            certifications=("SRO",),
            projects=(Project("Footbridge repair", 2021),),
        ),
    ]


# --- writers: the same rows in every format -------------------------------------------------


def _flat(row: dict[str, Any]) -> dict[str, str]:
    """A row as spreadsheet text: lists joined with ';', projects as JSON text."""
    out = {}
    for c in COLUMNS:
        v = row[c]
        if v is None:
            out[c] = ""
        elif c == "projects":
            out[c] = json.dumps(v) if v else ""
        elif isinstance(v, list):
            out[c] = ";".join(v)
        elif isinstance(v, bool):
            out[c] = "true" if v else "false"
        else:
            out[c] = str(v)
    return out


def _write_delimited(path: Path, rows: list[dict[str, Any]], delimiter: str) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, COLUMNS, delimiter=delimiter, lineterminator="\n")
        writer.writeheader()
        writer.writerows(_flat(r) for r in rows)


PROJECT_STRUCT = pl.Struct(
    {"title": pl.String, "year": pl.Int64, "value": pl.Float64, "role": pl.String, "buyer": pl.String}
)
PARQUET_SCHEMA = {
    "id": pl.String, "name": pl.String, "kind": pl.String, "description": pl.String,
    "codes": pl.List(pl.String), "regions": pl.List(pl.String), "headcount": pl.Int64,
    "sme": pl.Boolean, "certifications": pl.List(pl.String), "projects": pl.List(PROJECT_STRUCT),
    "clusters": pl.List(pl.String),
}  # fmt: skip


def write_rows(tmp_path: Path, fmt: str, rows: list[dict[str, Any]]) -> Path:
    if fmt == "csv":
        path = tmp_path / "members.csv"
        _write_delimited(path, rows, ",")
    elif fmt == "tsv":
        path = tmp_path / "members.tsv"
        _write_delimited(path, rows, "\t")
    elif fmt == "json-array":
        path = tmp_path / "members.json"
        path.write_text(json.dumps(rows, ensure_ascii=False, indent=2), encoding="utf-8")
    elif fmt == "json-object":
        path = tmp_path / "members.json"
        path.write_text(json.dumps({"participants": rows}, ensure_ascii=False), encoding="utf-8")
    elif fmt in ("jsonl", "ndjson"):
        path = tmp_path / f"members.{fmt}"
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    elif fmt == "parquet":
        path = tmp_path / "members.parquet"
        pl.DataFrame(rows, schema=PARQUET_SCHEMA).write_parquet(path)
    elif fmt == "xlsx":
        path = tmp_path / "members.xlsx"
        # text cells for lists and projects, but real number and boolean cells
        flat = [{**_flat(r), "headcount": r["headcount"], "sme": r["sme"]} for r in rows]
        schema = {c: pl.String for c in COLUMNS} | {"headcount": pl.Int64, "sme": pl.Boolean}
        pl.DataFrame(flat, schema=schema).write_excel(path)
    else:  # pragma: no cover
        raise AssertionError(fmt)
    return path


FORMATS = ["csv", "tsv", "json-array", "json-object", "jsonl", "ndjson", "parquet", "xlsx"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_yields_the_same_participants(tmp_path, fmt):
    path = write_rows(tmp_path, fmt, ROWS)
    result = read_participants([path])
    assert [str(r) for r in result.rejects] == []
    assert result.participants == expected_participants()
    assert result.ignored_columns == {}
    assert result.rejects_files == []
    assert not rejects_path_for(path).exists()


def test_okved2_code_maps_to_cpv_or_is_kept_with_its_prefix(tmp_path):
    path = write_rows(tmp_path, "csv", ROWS)
    p2 = read_participants([path]).participants[1]
    tax = load_taxonomy()
    assert p2.codes, "42.13 is a known OKVED2 code"
    assert p2.codes == (OKVED_PREFIX + "42.13",) or all(tax.cpv_canonical.get(c[:8]) == c for c in p2.codes)


# row numbers a person sees: spreadsheet rows (header = 1) for CSV/TSV/XLSX, 1-based records for JSON/Parquet,
# lines for JSON Lines
ROW_OF_THIRD_RECORD = {
    "csv": 4, "tsv": 4, "xlsx": 4, "json-array": 3, "json-object": 3, "jsonl": 3, "ndjson": 3, "parquet": 3,
}  # fmt: skip


@pytest.mark.parametrize("fmt", FORMATS)
def test_reject_row_numbers_follow_each_formats_convention(tmp_path, fmt):
    rows = [dict(r) for r in ROWS]
    rows[2]["name"] = None
    path = write_rows(tmp_path, fmt, rows)
    result = read_participants([path])
    assert [p.id for p in result.participants] == ["p1", "p2", "p4"]
    assert [(r.file, r.row, r.field, r.reason) for r in result.rejects] == [
        (str(path), ROW_OF_THIRD_RECORD[fmt], "name", "missing (required)")
    ]
    assert str(result.rejects[0]) == f"{path} row {ROW_OF_THIRD_RECORD[fmt]}, field 'name': missing (required)"
    assert result.rejects_files == [rejects_path_for(path)]


# --- bad rows mixed with good ones -------------------------------------------------------------

EXPECTED_BAD_ROWS = [  # (row, field, reason or the part of it that matters)
    (3, "id", "missing (required)"),
    (5, "name", "missing (required)"),
    (6, "id", "duplicate id 'g1' (first at row 2)"),
    (7, "codes", "unknown CPV code '45999999' (not in the CPV vocabulary; check the digits)"),
    (8, "codes", "'bridge works' is not a CPV code (8 digits, e.g. 45221111-3) or an OKVED2 code (e.g. 42.13)"),
    (9, "headcount", "expected a whole number, got 'many'"),
    (10, "sme", "expected true or false, got 'maybe'"),
    (11, "projects", "not a JSON array of projects ("),
    (12, "projects[0].title", "missing (required)"),
    (13, "projects[0].year", "1850 is out of range 1900..2100"),
    (14, "description", "no description, codes or projects: nothing to match on"),
]

# how a person fixes each rejected row in the rejects file, by its _row
FIXES = {
    "3": {"id": "m0"},
    "5": {"name": "Named Co"},
    "6": {"id": "g1b"},
    "7": {"codes": "45221111-3"},
    "8": {"codes": "45221000"},
    "9": {"headcount": "15"},
    "10": {"sme": "no"},
    "11": {"projects": '[{"title": "Oka bridge", "year": 2019}]'},
    "12": {"projects": '[{"title": "Pedestrian bridge", "year": 2020, "value": 100}]'},
    "13": {"projects": '[{"title": "Old bridge", "year": 1985}]'},
    "14": {"description": "Road maintenance"},
}


@pytest.fixture
def bad_csv(tmp_path) -> Path:
    path = tmp_path / "members.csv"
    shutil.copyfile(DATA / "bad_rows.csv", path)
    return path


def test_bad_rows_are_rejected_with_row_and_field_and_good_rows_load(bad_csv):
    result = read_participants([bad_csv])
    assert [p.id for p in result.participants] == ["g1", "g2", "g3"]
    got = [(r.row, r.field) for r in result.rejects]
    assert got == [(row, field) for row, field, _ in EXPECTED_BAD_ROWS]
    for reject, (_, _, reason) in zip(result.rejects, EXPECTED_BAD_ROWS, strict=True):
        assert reject.file == str(bad_csv)
        if reason.endswith("("):
            assert reject.reason.startswith(reason), reject.reason
        else:
            assert reject.reason == reason
    # the trailing ",,,,,,,,,," row and the empty last line are not rejects
    assert max(r.row for r in result.rejects) == 14
    # the good rows are fully parsed
    g1 = result.participants[0]
    assert g1.codes == ("45221111-3", "71322000-1")
    assert g1.regions == ("RU-MOW", "RU-SPE")
    assert (g1.headcount, g1.sme) == (120, True)
    assert g1.certifications == ("ISO 9001", "SRO")
    assert g1.projects == (Project("Oka bridge", 2019, 1_500_000.0),)
    assert result.participants[1].sme is True  # explicit "true", no headcount
    assert result.participants[2].sme is None  # neither sme nor headcount


def test_rejects_file_beside_the_input_has_one_line_per_reject(bad_csv):
    result = read_participants([bad_csv])
    target = bad_csv.parent / "members.csv.rejects.csv"
    assert result.rejects_files == [target]
    lines = target.read_text(encoding="utf-8").splitlines()
    assert lines[0] == ",".join(REJECTS_HEADER)
    assert len(lines) == 1 + len(EXPECTED_BAD_ROWS)
    with target.open(encoding="utf-8", newline="") as f:
        records = list(csv.DictReader(f))
    assert [(r["_file"], int(r["_row"]), r["_field"]) for r in records] == [
        (str(bad_csv), row, field) for row, field, _ in EXPECTED_BAD_ROWS
    ]
    assert [r["_reason"] for r in records] == [r.reason for r in result.rejects]
    # the original cells are kept as they were
    assert {k: records[4][k] for k in ("id", "name", "description", "codes")} == {
        "id": "c1", "name": "Malformed Code Co", "description": "Bridges", "codes": "bridge works",
    }  # fmt: skip
    assert records[8]["projects"] == '[{"year": 2020, "value": 100}]'


def test_corrected_rejects_file_can_be_ingested_again(bad_csv):
    read_participants([bad_csv])
    target = rejects_path_for(bad_csv)
    with target.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        header = list(reader.fieldnames or [])
        records = list(reader)
    assert sorted(FIXES) == sorted(r["_row"] for r in records)
    for r in records:
        r.update(FIXES[r["_row"]])
    with target.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(records)

    again = read_participants([target])
    assert [str(r) for r in again.rejects] == []
    assert [p.id for p in again.participants] == ["m0", "m1", "g1b", "u1", "c1", "h1", "s1", "j1", "t1", "y1", "n1"]
    assert again.ignored_columns == {}  # _file, _row, _field, _reason are not "unknown columns"
    assert again.rejects_files == []
    assert not rejects_path_for(target).exists()
    by_id = {p.id: p for p in again.participants}
    assert by_id["u1"].codes == ("45221111-3",)
    assert by_id["c1"].codes == ("45221000-2",)
    assert (by_id["h1"].headcount, by_id["h1"].sme) == (15, True)
    assert by_id["s1"].sme is False
    assert by_id["t1"].projects == (Project("Pedestrian bridge", 2020, 100.0),)
    assert by_id["n1"] == Participant(
        id="n1", name="Nothing Co", description="Road maintenance", regions=("RU-MOW",), headcount=10, sme=True
    )


def test_rejects_from_a_json_file_round_trip_through_the_rejects_csv(tmp_path):
    rows = [dict(r) for r in ROWS]
    rows[0] = {**rows[0], "sme": "maybe"}  # p1 rejected; its lists and projects go to the CSV as JSON text
    path = write_rows(tmp_path, "json-array", rows)
    result = read_participants([path])
    assert [(r.row, r.field) for r in result.rejects] == [(1, "sme")]
    target = rejects_path_for(path)
    frame = pl.read_csv(target, infer_schema=False)
    assert frame.columns == REJECTS_HEADER
    assert frame["codes"][0] == '["45221111-3", "71322000"]'
    fixed = frame.with_columns(pl.lit("").alias("sme"))
    fixed_path = tmp_path / "fixed.csv"
    fixed.write_csv(fixed_path)
    again = read_participants([fixed_path])
    assert again.rejects == []
    assert again.participants == expected_participants()[:1]


def test_unknown_code_in_a_list_of_codes_names_the_item(tmp_path):
    rows = [{"id": "a", "name": "A", "codes": ["45221111", "45999999"]}]
    path = tmp_path / "m.json"
    path.write_text(json.dumps(rows), encoding="utf-8")
    (reject,) = read_participants([path]).rejects
    assert (reject.row, reject.field, reject.reason) == (
        1,
        "codes[1]",
        "unknown CPV code '45999999' (not in the CPV vocabulary; check the digits)",
    )


# --- JSON Lines and JSON arrays ------------------------------------------------------------------


def test_jsonl_invalid_line_is_rejected_by_its_line_number(tmp_path):
    path = tmp_path / "members.jsonl"
    path.write_text(
        '{"id": "a", "name": "A", "description": "Bridges"}\n'
        '{"id": "b", "name": broken}\n'
        "\n"
        '["not", "an", "object"]\n'
        '{"id": "c", "name": "C", "codes": "45221111"}\n',
        encoding="utf-8",
    )
    result = read_participants([path])
    assert [p.id for p in result.participants] == ["a", "c"]
    assert [(r.row, r.field) for r in result.rejects] == [(2, "-"), (4, "-")]
    assert result.rejects[0].reason.startswith("invalid JSON: ")
    assert result.rejects[1].reason == "expected a JSON object"
    with rejects_path_for(path).open(encoding="utf-8", newline="") as f:
        records = list(csv.DictReader(f))
    assert [(r["_row"], r["_line"]) for r in records] == [
        ("2", '{"id": "b", "name": broken}'),
        ("4", '["not", "an", "object"]'),
    ]
    assert result.ignored_columns == {}  # _line is the reader's own column


def test_json_array_non_object_item_is_rejected_by_its_position(tmp_path):
    path = tmp_path / "members.json"
    path.write_text(
        json.dumps(
            [{"id": "a", "name": "A", "description": "x"}, "oops", {"id": "b", "name": "B", "description": "y"}, 42]
        ),
        encoding="utf-8",
    )
    result = read_participants([path])
    assert [p.id for p in result.participants] == ["a", "b"]
    assert [(r.row, r.field, r.reason) for r in result.rejects] == [
        (2, "-", "expected a JSON object, got str"),
        (4, "-", "expected a JSON object, got int"),
    ]


# --- blank rows ------------------------------------------------------------------------------------


def test_blank_trailing_rows_in_csv_are_skipped(tmp_path):
    path = tmp_path / "members.csv"
    path.write_text(
        "id,name,description\na,A,Bridges\nb,B,Roads\n,,\n  , ,\t\n\n\n",
        encoding="utf-8",
    )
    result = read_participants([path])
    assert [p.id for p in result.participants] == ["a", "b"]
    assert result.rejects == []
    assert not rejects_path_for(path).exists()


def test_blank_line_inside_a_csv_keeps_the_spreadsheet_row_numbers(tmp_path):
    path = tmp_path / "members.csv"
    path.write_text("id,name,description\na,A,Bridges\n\nb,,Roads\n", encoding="utf-8")
    result = read_participants([path])
    assert [p.id for p in result.participants] == ["a"]
    assert [(r.row, r.field) for r in result.rejects] == [(4, "name")]


def test_blank_trailing_rows_in_xlsx_are_skipped(tmp_path):
    path = tmp_path / "members.xlsx"
    pl.DataFrame(
        {
            "id": ["a", "b", " ", None, "  "],
            "name": ["A", "B", " ", None, " "],
            "description": ["Bridges", "Roads", None, None, " "],
        }
    ).write_excel(path)
    result = read_participants([path])
    assert [p.id for p in result.participants] == ["a", "b"]
    assert result.rejects == []
    assert not rejects_path_for(path).exists()


def test_blank_row_inside_xlsx_keeps_the_spreadsheet_row_numbers(tmp_path):
    path = tmp_path / "members.xlsx"
    pl.DataFrame(
        {"id": ["a", None, "b", "c"], "name": ["A", None, "B", None], "description": ["x", None, "y", "z"]}
    ).write_excel(path)  # sheet rows: 1 header, 2 a, 3 empty, 4 b, 5 c (no name)
    result = read_participants([path])
    assert [p.id for p in result.participants] == ["a", "b"]
    assert [(r.row, r.field) for r in result.rejects] == [(5, "name")]


# --- rejects files across runs and files -----------------------------------------------------------


def test_rerun_on_a_fixed_file_removes_the_stale_rejects_file(tmp_path):
    path = tmp_path / "members.csv"
    path.write_text("id,name,description\na,A,Bridges\nb,,Roads\n", encoding="utf-8")
    first = read_participants([path])
    assert first.rejects_files == [rejects_path_for(path)]
    assert rejects_path_for(path).exists()
    path.write_text("id,name,description\na,A,Bridges\nb,B,Roads\n", encoding="utf-8")
    second = read_participants([path])
    assert [p.id for p in second.participants] == ["a", "b"]
    assert second.rejects == [] and second.rejects_files == []
    assert not rejects_path_for(path).exists()


def test_write_rejects_false_writes_nothing(tmp_path):
    path = tmp_path / "members.csv"
    path.write_text("id,name,description\na,,Bridges\n", encoding="utf-8")
    result = read_participants([path], write_rejects=False)
    assert [(r.row, r.field) for r in result.rejects] == [(2, "name")]
    assert result.rejects_files == []
    assert not rejects_path_for(path).exists()


def test_duplicate_id_in_a_second_file_names_the_first_file(tmp_path):
    first = tmp_path / "a.csv"
    first.write_text("id,name,description\nx,X,Bridges\np1,P,Roads\n", encoding="utf-8")
    second = tmp_path / "b.json"
    second.write_text(
        json.dumps(
            [
                {"id": "q", "name": "Q", "description": "Tunnels"},
                {"id": "p1", "name": "P again", "description": "Roads"},
            ]
        ),
        encoding="utf-8",
    )
    result = read_participants([first, second])
    assert [p.id for p in result.participants] == ["x", "p1", "q"]
    assert result.participants[1].name == "P"  # the first occurrence wins
    assert [(r.file, r.row, r.field, r.reason) for r in result.rejects] == [
        (str(second), 2, "id", f"duplicate id 'p1' (first at {first} row 3)")
    ]
    assert result.rejects_files == [rejects_path_for(second)]
    assert not rejects_path_for(first).exists()


def test_unknown_columns_are_reported_and_do_not_reject_rows(tmp_path):
    path = tmp_path / "members.csv"
    path.write_text(
        "id,name,notes,description,colour,_internal\na,A,call Mon,Bridges,red,1\nb,B,,Roads,,\n",
        encoding="utf-8",
    )
    result = read_participants([path])
    assert [p.id for p in result.participants] == ["a", "b"]
    assert result.rejects == []
    assert result.ignored_columns == {str(path): ["colour", "notes"]}


# --- whole-file errors --------------------------------------------------------------------------


def test_unsupported_suffix_raises_input_error_naming_the_file(tmp_path):
    path = tmp_path / "members.txt"
    path.write_text("id,name\na,A\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        read_participants([path])
    assert str(info.value).startswith(f"{path}: unsupported file type '.txt'")


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".json", ".jsonl", ".parquet", ".xlsx"])
def test_missing_file_raises_input_error(tmp_path, suffix):
    path = tmp_path / f"missing{suffix}"
    with pytest.raises(InputError) as info:
        read_participants([path])
    assert str(info.value) == f"{path}: file not found"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("obj.json", '{"members": [{"id": "a"}]}', "expected a JSON array of participants"),
        ("str.json", '"hello"', "got a JSON str"),
        ("broken.json", '[{"id": "a",}]', "not valid JSON/UTF-8"),
        ("quote.csv", 'id,name,description\na,A,x\nb,"B,y\nc,C,z\n', "cannot read as a CSV table"),
        ("empty.csv", "", "cannot read as a CSV table"),
    ],
    ids=["object-without-participants", "json-string", "invalid-json", "broken-quoting", "empty-csv"],
)
def test_unreadable_file_raises_input_error_naming_the_file(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError) as info:
        read_participants([path])
    assert str(info.value).startswith(f"{path}: ")
    assert message in str(info.value)
    assert not rejects_path_for(path).exists()


def test_a_row_with_more_cells_than_the_header_is_a_reject_and_the_rest_loads(tmp_path):
    # an unquoted delimiter inside a cell: one row is wrong, not the whole file
    path = tmp_path / "ragged.csv"
    path.write_text("id,name,description\na,A,x\nb,B,y,extra\nc,C,z\n", encoding="utf-8")
    result = read_participants([path])
    assert [p.id for p in result.participants] == ["a", "c"]
    (reject,) = result.rejects
    assert (reject.row, reject.field) == (3, "-")
    assert reject.reason == "4 cells but the header has 3 columns (a delimiter inside a cell that is not quoted?)"
    assert reject.record["column D"] == "extra"


def test_unreadable_second_file_stops_the_whole_read(tmp_path):
    good = tmp_path / "good.csv"
    good.write_text("id,name,description\na,A,x\n", encoding="utf-8")
    bad = tmp_path / "bad.json"
    bad.write_text("{}", encoding="utf-8")
    with pytest.raises(InputError, match="bad.json"):
        read_participants([good, bad])


def test_csv_row_with_too_few_cells_is_padded_and_validated(tmp_path):
    # polars accepts short rows (missing cells are null); the row is then judged on what it has
    path = tmp_path / "short.csv"
    path.write_text("id,name,description,codes\na,A,Bridges,45221111\nb,B\nc,C,Roads\n", encoding="utf-8")
    result = read_participants([path])
    assert [p.id for p in result.participants] == ["a", "c"]
    assert [(r.row, r.field, r.reason) for r in result.rejects] == [
        (3, "description", "no description, codes or projects: nothing to match on")
    ]


def test_header_only_csv_gives_nothing(tmp_path):
    path = tmp_path / "members.csv"
    path.write_text("id,name,description\n", encoding="utf-8")
    result = read_participants([path])
    assert (result.participants, result.rejects, result.rejects_files) == ([], [], [])


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("bom.json", '[{"id": "a", "name": "A", "description": "Bridges"}]'),
        ("bom.jsonl", '{"id": "a", "name": "A", "description": "Bridges"}\n'),
    ],
    ids=["json", "jsonl"],
)
def test_json_with_utf8_bom_is_read(tmp_path, name, content):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8-sig")
    result = read_participants([path])
    assert [p.id for p in result.participants] == ["a"]
    assert result.rejects == []


def test_csv_with_utf8_bom_is_read(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_text("id,name,description\na,A,Bridges\n", encoding="utf-8-sig")
    assert [p.id for p in read_participants([path]).participants] == ["a"]


# --- read-only folders ----------------------------------------------------------------------------


def test_rejects_go_to_the_fallback_dir_when_the_folder_is_read_only(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    path = folder / "members.csv"
    path.write_text("id,name,description\na,A,Bridges\nb,,Roads\n", encoding="utf-8")
    folder.chmod(0o555)
    try:
        if os.access(folder, os.W_OK):
            pytest.skip("this user can write to a 0o555 folder (root); see the monkeypatched test below")
        fallback = tmp_path / "ws" / "rejects"
        result = read_participants([path], rejects_fallback_dir=fallback)
        assert [p.id for p in result.participants] == ["a"]
        assert result.rejects_files == [fallback / "members.csv.rejects.csv"]
        assert result.rejects_files[0].exists()
        assert not rejects_path_for(path).exists()
    finally:
        folder.chmod(stat.S_IRWXU)


@pytest.fixture
def read_only_folder(tmp_path, monkeypatch) -> Path:
    """A folder that the participant reader believes is read-only (tests run as root, where chmod does not bite)."""
    folder = tmp_path / "ro"
    folder.mkdir()
    real_access = os.access

    def access(p, mode, *args, **kwargs):
        if Path(p) == folder and mode & os.W_OK:
            return False
        return real_access(p, mode, *args, **kwargs)

    monkeypatch.setattr(readers.os, "access", access)
    return folder


def test_rejects_go_to_the_fallback_dir_when_the_folder_is_not_writable(tmp_path, read_only_folder):
    path = read_only_folder / "members.csv"
    path.write_text("id,name,description\na,A,Bridges\nb,,Roads\n", encoding="utf-8")
    fallback = tmp_path / "ws" / "rejects"  # created on demand
    result = read_participants([path], rejects_fallback_dir=fallback)
    assert [p.id for p in result.participants] == ["a"]
    target = fallback / "members.csv.rejects.csv"
    assert result.rejects_files == [target]
    with target.open(encoding="utf-8", newline="") as f:
        (record,) = list(csv.DictReader(f))
    assert (record["_file"], record["_row"], record["_field"], record["id"]) == (str(path), "3", "name", "b")
    assert not rejects_path_for(path).exists()


def test_read_only_folder_without_fallback_raises_input_error(read_only_folder):
    path = read_only_folder / "members.csv"
    path.write_text("id,name,description\nb,,Roads\n", encoding="utf-8")
    with pytest.raises(InputError, match="cannot write rejects beside .*members.csv .read-only folder."):
        read_participants([path])


# --- formula cells ----------------------------------------------------------------------------------


def test_rejects_csv_neutralises_formula_cells(tmp_path):
    path = tmp_path / "members.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["id", "name", "description", "headcount"])
        writer.writerow(["a", "A", "Bridges", ""])
        writer.writerow(["f1", '=HYPERLINK("x")', "", "+5"])  # nothing to match on
    result = read_participants([path])
    assert [(r.row, r.field) for r in result.rejects] == [(3, "description")]
    assert result.rejects[0].record["name"] == '=HYPERLINK("x")'  # the Reject keeps the raw value
    text = rejects_path_for(path).read_text(encoding="utf-8")
    assert '\'=HYPERLINK(""x"")' in text
    with rejects_path_for(path).open(encoding="utf-8", newline="") as f:
        (record,) = list(csv.DictReader(f))
    assert record["name"] == '\'=HYPERLINK("x")'
    assert record["headcount"] == "'+5"
    assert not any(v.startswith(("=", "+", "-", "@")) for v in record.values())


# --- parse_participant directly --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headcount", "sme", "expected"),
    [(249, None, True), (250, None, False), ("1 200", None, False), (0, None, True), (5000, "да", True),
     (10, "нет", False), (None, None, None), (None, "Y", True)],
)  # fmt: skip
def test_sme_is_explicit_or_derived_from_headcount(headcount, sme, expected):
    p = parse_participant({"id": "a", "name": "A", "description": "x", "headcount": headcount, "sme": sme})
    assert p.sme is expected


@pytest.mark.parametrize(
    ("record", "field", "reason"),
    [
        ({"headcount": "12.5"}, "headcount", "expected a whole number, got '12.5'"),
        ({"headcount": -3}, "headcount", "-3 is out of range 0..10000000"),
        ({"headcount": True}, "headcount", "expected a whole number, got True"),
        ({"projects": {"title": "A"}}, "projects", "expected a list of projects, got dict"),
        ({"projects": ["A"]}, "projects[0]", "expected an object, got str"),
        ({"projects": [{"title": "A"}, {"title": "B", "value": -1}]}, "projects[1].value",
         "expected a non-negative number, got -1"),
        ({"codes": "[45221111"}, "codes", "starts with '[' but is not a JSON list"),
        ({"name": ["A"]}, "name", "expected text, got list"),
    ],
)  # fmt: skip
def test_parse_participant_names_the_bad_field(record, field, reason):
    with pytest.raises(FieldError) as info:
        parse_participant({"id": "a", "name": "A", "description": "x", **record})
    assert (info.value.field, info.value.reason) == (field, reason)


def test_parse_participant_normalises_text_and_lists():
    p = parse_participant(
        {
            "id": " a ",
            "name": "  Bridge\n Builders ",
            "codes": "cpv:45221111, 71322000-1\n45221111-3",
            "regions": "ru-mow, ru-spe;RU-TUL",
            "certifications": "ISO 9001, 2015;SRO",
            "clusters": '["bridges", "roads"]',
        }
    )
    assert p == Participant(
        id="a",
        name="Bridge Builders",
        codes=("45221111-3", "71322000-1"),  # duplicates dropped
        regions=("RU-MOW", "RU-SPE", "RU-TUL"),
        certifications=("ISO 9001, 2015", "SRO"),  # a comma does not split certifications
        clusters=("bridges", "roads"),
    )


def test_a_corrected_rejects_file_can_be_ingested_together_with_its_source(tmp_path):
    source = tmp_path / "m.csv"
    source.write_text('id,name,description,codes\nA,Good,Bridges,45221111-3\nB,"=cmd()",Roads,45999999\n')
    first = read_participants([source])
    assert [p.id for p in first.participants] == ["A"]
    rejects = tmp_path / "m.csv.rejects.csv"
    fixed = rejects.read_text().replace("45999999", "45233120-6")
    assert "'=cmd()" in fixed  # the formula-like name was neutralised on the way out
    rejects.write_text(fixed)
    second = read_participants([source, rejects])
    # B is rejected again in m.csv but loads from the corrected file, which was read before being rewritten
    assert sorted(p.id for p in second.participants) == ["A", "B"]
    assert next(p for p in second.participants if p.id == "B").name == "=cmd()"  # apostrophe undone


def test_a_repeated_bad_cell_is_rejected_in_every_row(tmp_path):
    """The reader parses each distinct cell and code once: a bad one must still be rejected in every
    row it is in, with the same message, and values equal as numbers (1 == 1.0 == True) must still
    be parsed as what they are."""
    records = [
        {"id": "a", "name": "A", "codes": "45221111-3;45999999"},
        {"id": "b", "name": "B", "codes": "45221111-3;45999999"},
        {"id": "c", "name": "C", "codes": ["45221111-3", "45999999"]},
        {"id": "d", "name": "D", "codes": "45221111-3", "headcount": 1},
        {"id": "e", "name": "E", "codes": "45221111-3", "headcount": True},
        {"id": "f", "name": "F", "codes": "45221111-3", "headcount": 1.0},
    ]
    path = tmp_path / "m.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in records), encoding="utf-8")
    result = read_participants([path], write_rejects=False)
    unknown = "unknown CPV code '45999999' (not in the CPV vocabulary; check the digits)"
    assert [(r.row, r.field, r.reason) for r in result.rejects] == [
        (1, "codes", unknown),
        (2, "codes", unknown),
        (3, "codes[1]", unknown),
        (5, "headcount", "expected a whole number, got True"),
    ]
    assert [(p.id, p.codes, p.headcount) for p in result.participants] == [
        ("d", ("45221111-3",), 1),
        ("f", ("45221111-3",), 1),
    ]
