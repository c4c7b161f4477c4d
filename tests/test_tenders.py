"""read_tender / parse_tender: one tender in YAML and JSON, lots, and every kind of bad file."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from matcher.errors import InputError, TenderError
from matcher.inputs.tenders import parse_tender, read_tender
from matcher.schema import Lot, Tender
from matcher.taxonomy import OKVED_PREFIX, load_taxonomy

DATA = Path(__file__).resolve().parent / "data" / "readers"

EXPECTED_BRIDGE = Tender(
    id="T-2026-001",
    title="Reconstruction of the Oka river bridge",
    description="Reconstruction of a road bridge and its approaches",
    buyer="Rosavtodor",
    region="RU-NIZ",
    value=1_500_000_000.0,
    currency="RUB",
    deadline=date(2026, 12, 18),
    lots=(
        Lot(
            id="L1",
            title="Bridge superstructure",
            codes=("45221111-3", "45221100-3"),
            value=900_000_000.0,
            certifications=("SRO construction", "ISO 9001"),  # tender's ISO 9001 not repeated
            region="RU-NIZ",
        ),
        Lot(
            id="L2",
            title="Design documentation",
            description="Engineering design of the approaches",
            codes=("71322000-1", "45233140-2"),
            value=12_500_000.5,
            certifications=("ISO 9001",),
            region="RU-MOW",  # its own region wins over the tender's
        ),
        Lot(
            id="3",  # no id in the file: its 1-based position
            title="Street lighting on the approaches",
            certifications=("ISO 9001",),
            region="RU-NIZ",
        ),
    ),
)


def _write(tmp_path: Path, name: str, content: str) -> Path:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return path


# --- one tender, two formats ----------------------------------------------------------


@pytest.mark.parametrize("name", ["tender_bridge.yaml", "tender_bridge.json"])
def test_bridge_tender_reads_into_the_expected_tender(tmp_path, name):
    path = tmp_path / name
    shutil.copyfile(DATA / name, path)
    tender = read_tender(path)
    assert tender == EXPECTED_BRIDGE
    # values are floats whatever the file held (YAML "1 500 000 000", JSON ints, "12 500 000.5")
    assert type(tender.value) is float
    assert [type(lot.value) for lot in tender.lots] == [float, float, type(None)]
    assert type(tender.deadline) is date


def test_yaml_and_json_versions_of_a_tender_are_equal(tmp_path):
    for name in ("tender_bridge.yaml", "tender_bridge.json"):
        shutil.copyfile(DATA / name, tmp_path / name)
    assert read_tender(tmp_path / "tender_bridge.yaml") == read_tender(tmp_path / "tender_bridge.json")


def test_yml_suffix_and_upper_case_suffix_are_accepted(tmp_path):
    content = (DATA / "tender_bridge.yaml").read_text(encoding="utf-8")
    assert read_tender(_write(tmp_path, "t.yml", content)) == EXPECTED_BRIDGE
    assert read_tender(_write(tmp_path, "t.YAML", content)) == EXPECTED_BRIDGE


def test_okved2_code_in_a_lot_maps_to_cpv_or_is_kept_with_its_prefix(tmp_path):
    path = _write(tmp_path, "okved.yaml", 'title: Tunnel\nlots:\n  - title: Tunnel works\n    codes: ["42.13"]\n')
    (lot,) = read_tender(path).lots
    expected = tuple(load_taxonomy().normalise("42.13"))
    assert lot.codes == expected
    assert lot.codes == (OKVED_PREFIX + "42.13",) or all(
        c[:8] in load_taxonomy().cpv_canonical and load_taxonomy().cpv_canonical[c[:8]] == c for c in lot.codes
    )


def test_a_datetime_deadline_keeps_its_date(tmp_path):
    path = _write(tmp_path, "dt.json", '{"title": "Bridge", "deadline": "2026-12-18T10:00:00+03:00"}')
    assert read_tender(path).deadline == date(2026, 12, 18)


# --- a tender without lots -------------------------------------------------------------


def test_tender_without_lots_becomes_one_lot_made_of_its_own_fields(tmp_path):
    path = _write(
        tmp_path,
        "road-repair.yaml",
        "title: Repair of the M-7 overpass\n"
        "description: Overpass repair\n"
        "region: ru-vla\n"
        'codes: "45221111; 71322000-1"\n'
        "value: 25000000\n"
        "certifications: [ISO 9001, SRO]\n",
    )
    tender = read_tender(path)
    assert tender == Tender(
        id="road-repair",  # no id/ocid: the file's stem
        title="Repair of the M-7 overpass",
        description="Overpass repair",
        region="RU-VLA",
        value=25_000_000.0,
        lots=(
            Lot(
                id="1",
                title="Repair of the M-7 overpass",
                description="Overpass repair",
                codes=("45221111-3", "71322000-1"),
                value=25_000_000.0,
                certifications=("ISO 9001", "SRO"),  # once, although tender-wide as well
                region="RU-VLA",
            ),
        ),
    )


@pytest.mark.parametrize("lots", ["lots: []\n", "lots:\n", 'lots: ""\n', ""])
def test_empty_lots_mean_no_lots(tmp_path, lots):
    path = _write(tmp_path, "t.yaml", "title: Bridge repair\ncodes: [45221111]\n" + lots)
    (lot,) = read_tender(path).lots
    assert (lot.id, lot.title, lot.codes) == ("1", "Bridge repair", ("45221111-3",))


def test_tender_with_only_codes_has_an_empty_title_and_one_lot(tmp_path):
    path = _write(tmp_path, "codes-only.json", '{"codes": ["45233140"]}')
    tender = read_tender(path)
    assert tender.title == ""
    assert [(lot.id, lot.codes) for lot in tender.lots] == [("1", ("45233140-2",))]


def test_tender_wide_certifications_are_added_to_every_lot(tmp_path):
    path = _write(
        tmp_path,
        "certs.yaml",
        "title: Bridge\n"
        'certifications: "ISO 9001; ISO 14001"\n'
        "lots:\n"
        "  - {title: Superstructure, certifications: [SRO, ISO 14001]}\n"
        "  - {title: Design}\n",
    )
    assert [lot.certifications for lot in read_tender(path).lots] == [
        ("SRO", "ISO 14001", "ISO 9001"),
        ("ISO 9001", "ISO 14001"),
    ]


def test_tender_id_falls_back_to_ocid_then_to_file_stem(tmp_path):
    assert read_tender(_write(tmp_path, "a.json", '{"ocid": "ocds-1", "title": "x"}')).id == "ocds-1"
    assert read_tender(_write(tmp_path, "b.json", '{"id": "T1", "ocid": "ocds-1", "title": "x"}')).id == "T1"
    assert read_tender(_write(tmp_path, "my-tender.json", '{"title": "x"}')).id == "my-tender"


def test_parse_tender_takes_a_dict_and_names_its_source():
    tender = parse_tender({"title": "Bridge", "lots": [{"title": "A", "value": "1 000"}]}, "inline")
    assert tender.lots == (Lot(id="1", title="A", value=1000.0),)
    assert tender.id == "inline"
    with pytest.raises(TenderError, match=r"^inline: expected a tender object, got list$"):
        parse_tender(["title"], "inline")
    with pytest.raises(TenderError, match=r"^<tender>, field 'lots\[0\]': expected an object, got str$"):
        parse_tender({"title": "x", "lots": ["A"]})
    with pytest.raises(TenderError, match=r"^<tender>, field 'lots': expected a list of lots, got dict$"):
        parse_tender({"title": "x", "lots": {"title": "A"}})


# --- bad files -------------------------------------------------------------------------

BAD_TENDERS = [
    pytest.param("empty.yaml", "", "the file is empty", id="empty"),
    pytest.param("blank.json", "  \n\n", "the file is empty", id="whitespace-only"),
    pytest.param("bad.yaml", "title: Bridge\n  lots: [\n", "invalid YAML at line 2", id="invalid-yaml"),
    pytest.param(
        "bad.json",
        '{\n  "title": "Bridge",\n  "lots": [,]\n}\n',
        "invalid JSON at line 3",
        id="invalid-json",
    ),
    pytest.param("list.yaml", "- title: Bridge\n- title: Road\n", "expected a tender object, got list", id="yaml-list"),
    pytest.param(
        "notext.yaml",
        "id: T1\nregion: RU-MOW\nvalue: 5000\n",
        "field 'title': tender has no title, description, codes or lots: nothing to match on",
        id="no-text",
    ),
    pytest.param(
        "emptylot.yaml",
        "title: Bridge\nlots:\n  - {title: Superstructure}\n  - {value: 1000, region: RU-MOW}\n",
        "field 'lots[1]': lot has no title, description or codes: nothing to match on",
        id="lot-with-nothing-to-match",
    ),
    pytest.param(
        "unknown-list.yaml",
        "title: Bridge\nlots:\n  - {title: A, codes: [45221111]}\n  - {title: B, codes: [45221111, 45999999]}\n",
        "field 'lots[1].codes[1]': unknown CPV code '45999999'",
        id="unknown-cpv-in-lot-2-list",
    ),
    pytest.param(
        "unknown-text.json",
        '{"title": "Bridge", "lots": [{"title": "A"}, {"title": "B", "codes": "45221111; 45999999"}]}',
        "field 'lots[1].codes': unknown CPV code '45999999'",
        id="unknown-cpv-in-lot-2-text",
    ),
    pytest.param(
        "malformed-code.yaml",
        "title: Bridge\nlots:\n  - {title: A, codes: [bridges]}\n",
        "field 'lots[0].codes[0]': 'bridges' is not a CPV code",
        id="malformed-code",
    ),
    pytest.param(
        "value.yaml",
        "title: Bridge\nlots:\n  - {title: A, value: 100}\n  - {title: B, value: about a million}\n",
        "field 'lots[1].value': expected a number, got 'about a million'",
        id="non-numeric-lot-value",
    ),
    pytest.param(
        "negative.json",
        '{"title": "Bridge", "lots": [{"title": "A", "value": -5}]}',
        "field 'lots[0].value': expected a non-negative number, got -5",
        id="negative-lot-value",
    ),
    pytest.param(
        "tender-value.json",
        '{"title": "Bridge", "value": "a lot", "lots": [{"title": "A"}]}',
        "field 'value': expected a number, got 'a lot'",
        id="non-numeric-tender-value",
    ),
    pytest.param(
        "deadline.yaml",
        "title: Bridge\ndeadline: 18.12.2026\n",
        "field 'deadline': expected a date like 2026-12-18, got '18.12.2026'",
        id="bad-deadline",
    ),
    pytest.param(
        "feb30.json",
        '{"title": "Bridge", "deadline": "2026-02-30"}',
        "field 'deadline': expected a date like 2026-12-18, got '2026-02-30'",
        id="impossible-deadline",
    ),
    pytest.param(
        "dup.yaml",
        "title: Bridge\nlots:\n  - {id: L1, title: A}\n  - {id: L2, title: B}\n  - {id: L1, title: C}\n",
        "field 'lots': duplicate lot id(s): L1",
        id="duplicate-lot-ids",
    ),
    pytest.param(
        "dup-default.yaml",
        "title: Bridge\nlots:\n  - {id: '2', title: A}\n  - {title: B}\n",
        "field 'lots': duplicate lot id(s): 2",
        id="explicit-id-clashes-with-default-id",
    ),
]


@pytest.mark.parametrize(("name", "content", "message"), BAD_TENDERS)
def test_bad_tender_raises_tender_error_naming_file_and_field(tmp_path, name, content, message):
    path = _write(tmp_path, name, content)
    with pytest.raises(TenderError) as info:
        read_tender(path)
    text = str(info.value)
    assert text.startswith(str(path)), text
    assert message in text


def test_unsupported_suffix_is_refused_before_reading(tmp_path):
    path = _write(tmp_path, "tender.txt", "title: Bridge\n")
    with pytest.raises(TenderError, match="unsupported tender file type '.txt'") as info:
        read_tender(path)
    assert str(path) in str(info.value)


def test_missing_file(tmp_path):
    path = tmp_path / "nowhere.yaml"
    with pytest.raises(TenderError) as info:
        read_tender(path)
    assert str(info.value) == f"{path}: file not found"


def test_non_utf8_file_is_a_tender_error(tmp_path):
    path = tmp_path / "cp1251.yaml"
    path.write_bytes("title: Мост\n".encode("cp1251"))
    with pytest.raises(TenderError, match="cannot read") as info:
        read_tender(path)
    assert str(path) in str(info.value)


def test_tender_error_is_an_input_error():
    # the CLI reports every InputError as a one-line user error
    assert issubclass(TenderError, InputError)


# --- bugs --------------------------------------------------------------------------------


def test_json_tender_with_utf8_bom_is_read(tmp_path):
    path = tmp_path / "bom.json"
    path.write_text('{"title": "Bridge", "codes": ["45221111"]}', encoding="utf-8-sig")
    assert read_tender(path).lots[0].codes == ("45221111-3",)


@pytest.mark.parametrize(
    ("content", "field"),
    [
        ("title: Bridge\nvalue: about a million\n", "field 'value'"),
        ("title: Bridge\ncodes: [45999999]\n", "field 'codes"),
    ],
    ids=["value", "codes"],
)
def test_tender_without_lots_names_the_tender_level_field(tmp_path, content, field):
    path = _write(tmp_path, "nolots.yaml", content)
    with pytest.raises(TenderError) as info:
        read_tender(path)
    assert field in str(info.value)
    assert "lots[0]" not in str(info.value)


def test_deadline_with_trailing_garbage_is_refused(tmp_path):
    path = _write(tmp_path, "t.json", '{"title": "Bridge", "deadline": "2026-12-18 or later"}')
    with pytest.raises(TenderError, match="field 'deadline'"):
        read_tender(path)


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("inf.yaml", "title: Bridge\nlots:\n  - {title: A, value: .inf}\n"),
        ("inf.json", '{"title": "B", "lots": [{"title": "A", "value": "inf"}]}'),
    ],
    ids=["yaml-inf", "text-inf"],
)
def test_infinite_lot_value_is_refused(tmp_path, name, content):
    path = _write(tmp_path, name, content)
    with pytest.raises(TenderError, match=r"field 'lots\[0\]\.value'"):
        read_tender(path)
