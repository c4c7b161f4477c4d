"""read_ocds / import_ocds: real files of six publishers and SECOP, hand-made bad files, the workspace tables.

The expected numbers and values were read off the fixture files by hand (see tests/data/ocds/README.md).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from matcher.errors import InputError
from matcher.inputs import ocds
from matcher.inputs.ocds import import_ocds, read_ocds, table_schema
from matcher.inputs.ocds_files import OcdsReject, compile_releases
from matcher.store.workspace import Workspace

DATA = Path(__file__).resolve().parent / "data" / "ocds"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
PARAGUAY = sorted((DATA / "paraguay").iterdir())


def counts(tables: ocds.OcdsTables) -> tuple[int, int, int, int]:
    return tables.tenders.height, tables.lots.height, tables.awards.height, tables.suppliers.height


def row(frame: pl.DataFrame, **where: str) -> dict:
    rows = frame.filter(**where).to_dicts()
    assert len(rows) == 1, rows
    return rows[0]


# --- real files -----------------------------------------------------------------------------


def test_moldova_record_two_awards_two_suppliers():
    t = read_ocds([DATA / "moldova-ocds-ngfbwp-17180016.json"])
    assert (t.releases, t.rejects) == (1, [])
    assert counts(t) == (1, 0, 2, 2)
    tender = t.tenders.row(0, named=True)
    assert tender["ocid"] == "ocds-ngfbwp-17180016"
    assert tender["title"] == "Tender Ref 17/00054 Bulletin 13"
    assert tender["buyer_id"] == "e136778b5dcc797d9cfe89628271813a"  # a party id: no identifier
    assert tender["buyer_name"] == "I.M.S.P. INSTITUTUL MAMEI ŞI COPILULUI"
    assert tender["date"] == date(2017, 2, 14)
    assert (tender["value"], tender["currency"], tender["award_date"]) == (None, None, None)  # "" in the file
    assert (tender["language"], tender["codes"]) == ("md", [])
    award = row(t.awards, award_id="award-18741163")
    assert (award["value"], award["currency"]) == (53922.0, "mdl")
    assert award["supplier_ids"] == ["aee62aad7ccd01b62bc63c69f8238786"]
    assert award["supplier_names"] == ["Î.C.S. EYECON MEDICAL S.R.L."]
    assert t.suppliers["party_id"].to_list() == t.suppliers["supplier_id"].to_list()


def test_uk_contracts_finder_record_cpv_codes_and_empty_identifier():
    t = read_ocds([DATA / "uk-ocds-b5fd17-2c470411-adc8-11e6-9901-0019b9f3037b.json"])
    assert counts(t) == (1, 0, 0, 0) and not t.rejects
    tender = t.tenders.row(0, named=True)
    assert tender["title"] == "CP1093-14 Connecting Devon and Somerset Superfast Extension Programme"
    assert tender["codes"] == ["32000000-3", "64000000-6", "72000000-5"]
    # identifier {"scheme": "", "id": ""}: the party id is the key
    assert tender["buyer_id"] == "a9fc4dcadc2c2ac8e8288d4d40be31ff"
    assert (tender["buyer_name"], tender["value"], tender["currency"]) == ("Devon County Council", 600000.0, "GBP")
    assert (tender["date"], tender["language"]) == (date(2014, 12, 17), "en-GB")


def test_canada_record_names_in_translations_only():
    t = read_ocds([DATA / "canada-ocds-34a6hz-01B68-160000_001_CY.json"])
    assert counts(t) == (1, 0, 0, 0) and not t.rejects
    tender = t.tenders.row(0, named=True)
    assert tender["ocid"] == "ocds-34a6hz-01B68-160000/001/CY"
    assert tender["buyer_id"] == "MISC-BUYANDSELLGCCA-01"  # identifier scheme + id, already the party id
    assert tender["buyer_name"] == "Agriculture and Agri-Food Canada"  # name "" in buyer, name_en in parties
    assert (tender["tender_id"], tender["title"], tender["date"]) == (None, None, date(2015, 10, 29))


def test_ukraine_record_with_lot_and_prozorro_lot_id():
    t = read_ocds([DATA / "ukraine-ocds-be6bcu-UA-2016-08-31-000670-b.json"])
    assert counts(t) == (1, 1, 1, 1) and not t.rejects
    tender = t.tenders.row(0, named=True)
    assert tender["buyer_id"] == "UA-EDR-02070884"
    assert tender["date"] == date(2016, 9, 5)  # tenderPeriod.startDate, before the release date
    assert tender["award_date"] == date(2016, 9, 15)
    assert (tender["value"], tender["currency"]) == (80000.0, "UAH")
    assert tender["codes"] == ["50531100-7", "ДКПП:25.21.13"]
    lot = t.lots.row(0, named=True)
    assert lot["lot_id"] == "2318185a93a34f31b27941160847513e"
    assert lot["codes"] == ["50531100-7", "ДКПП:25.21.13"]
    award = t.awards.row(0, named=True)
    assert award["lot_ids"] == ["2318185a93a34f31b27941160847513e"]  # from Prozorro's award.lotID
    assert (award["value"], award["status"]) == (69900.0, "active")
    supplier = t.suppliers.row(0, named=True)
    assert supplier == {
        "ocid": "ocds-be6bcu-UA-2016-08-31-000670-b", "supplier_id": "UA-EDR-24581651", "party_id": "UA-EDR-24581651",
        "name": "ПП ЯВА", "identifier_scheme": "UA-EDR", "identifier_id": "24581651", "country": "Україна",
        "region": "м. Київ",
    }  # fmt: skip


def test_ukraine_versioned_release_and_embedded_release_give_the_compiled_rows(tmp_path):
    record = json.loads((DATA / "ukraine-ocds-be6bcu-UA-2016-08-31-000670-b.json").read_text(encoding="utf-8"))
    expected = read_ocds([DATA / "ukraine-ocds-be6bcu-UA-2016-08-31-000670-b.json"])
    versioned = {k: v for k, v in record.items() if k not in ("compiledRelease", "releases")}
    embedded = {k: v for k, v in record.items() if k != "compiledRelease"}
    for name, variant in (("versioned.json", versioned), ("embedded.json", embedded)):
        path = tmp_path / name
        path.write_text(json.dumps(variant, ensure_ascii=False), encoding="utf-8")
        got = read_ocds([path])
        assert not got.rejects
        for table in ("lots", "awards", "suppliers"):
            assert getattr(got, table).equals(getattr(expected, table)), (name, table)
        assert got.tenders.drop("source").equals(expected.tenders.drop("source")), name


def test_paraguay_releases_in_four_files_compile_into_one_process():
    t = read_ocds(PARAGUAY)
    assert (t.releases, t.rejects) == (1, [])
    assert counts(t) == (1, 2, 1, 1)
    tender = t.tenders.row(0, named=True)
    assert tender["ocid"] == "ocds-03ad3f-274231"
    assert tender["title"] == "ADQUISICIÓN DE EQUIPOS DE COMUNICACIÓN Y TERMINALES ÓPTICOS DE TRANSMISIÓN"
    assert tender["buyer_name"] == "Compañía Paraguaya de Comunicaciones (COPACO)"  # only a procuringEntity
    assert tender["buyer_id"] == "568f3ac237aab1b307a19a33a825253e"
    assert (tender["date"], tender["award_date"]) == (date(2016, 3, 15), date(2016, 10, 27))
    assert (tender["value"], tender["currency"], tender["language"]) == (600000000.0, "PYG", "es")
    catalogue = "CATÁLOGODEPRODUCTOS,BIENESYSERVICIOSDELADIRECCIÓNNACIONALDECONTRATACIONESPÚBLICASDELPARAGUAY"
    assert tender["codes"] == [f"{catalogue}:43221806-002"]
    assert tender["source"].split("; ") == [str(p) for p in PARAGUAY]
    # Paraguay lists item ids on the lot instead of relatedLot on the items
    assert t.lots["title"].to_list() == ["LOTE 1", "LOTE 2"]
    assert t.lots["codes"].to_list() == [[f"{catalogue}:43221806-002"], []]
    award = t.awards.row(0, named=True)
    assert award["supplier_ids"] == ["244175334f534510a49b53ed91482a29"]
    assert award["supplier_names"] == ["RIEDER Y CIA. SACI"]
    assert (award["value"], award["date"]) == (180941450.0, date(2016, 10, 27))


def test_a_file_given_twice_counts_once():
    t = read_ocds([DATA / "moldova-ocds-ngfbwp-17180016.json", str(DATA / "moldova-ocds-ngfbwp-17180016.json")])
    assert counts(t) == (1, 0, 2, 2)
    assert t.tenders["source"].to_list() == [str(DATA / "moldova-ocds-ngfbwp-17180016.json")]


def test_paraguay_award_release_alone():
    t = read_ocds([PARAGUAY[0]])
    assert counts(t) == (1, 0, 1, 1)
    assert t.tenders["title"].to_list() == [None]


def test_nsw_release_package_ocds_1_0_buyer_without_id():
    t = read_ocds([DATA / "nsw-4.json"])
    assert counts(t) == (1, 0, 0, 0) and not t.rejects
    tender = t.tenders.row(0, named=True)
    assert tender["buyer_id"] == "NAME:sydney olympic park authority"
    assert tender["buyer_name"] == "Sydney Olympic Park Authority"
    assert tender["codes"] == ["UNSPSC:72154002"]  # the id is " 72154002" in the file
    assert (tender["date"], tender["language"]) == (date(2017, 12, 10), "EN")


def test_secop_lines():
    t = read_ocds([DATA / "secop-works-20.jsonl"])
    assert counts(t) == (20, 0, 20, 20) and not t.rejects
    first = t.tenders.row(0, named=True)
    assert first["ocid"] == "ocds-k50g02-CO1.PCCNTR.661836"
    assert (first["buyer_id"], first["buyer_name"]) == ("CO-ENTIDAD-invias", "invias")
    assert (first["codes"], first["category"], first["language"]) == (["UNSPSC:72141000"], "works", "es")
    assert (first["value"], first["date"], first["award_date"]) == (40170862.0, date(2019, 1, 3), date(2019, 1, 3))
    assert t.awards["supplier_ids"][0].to_list() == ["CO-PROVEEDOR-cooperativa-mi-llano"]
    assert t.awards["supplier_ids"][19].to_list() == ["CO-PROVEEDOR-coopcarano"]
    assert t.tenders["ocid"][19] == "ocds-k50g02-CO1.PCCNTR.765994"


def test_tables_have_the_documented_columns_and_types_even_when_empty():
    t = read_ocds([DATA / "nsw-4.json"])
    for name in ocds.TABLE_NAMES:
        assert dict(getattr(t, name).schema) == table_schema(name), name
    assert t.lots.is_empty() and t.awards.is_empty()


# --- hand-made files ------------------------------------------------------------------------


def test_json_lines_with_an_invalid_line_and_a_release_without_ocid():
    path = DATA / "bad-lines.jsonl"
    t = read_ocds([path])
    assert [(r.file, r.where) for r in t.rejects] == [(str(path), "line 2"), (str(path), "line 3")]
    assert t.rejects[0].reason.startswith("invalid JSON:")
    assert t.rejects[1].reason == "release without ocid"
    assert t.tenders["ocid"].to_list() == ["ocds-test-0001", "ocds-test-0004"]
    assert counts(t) == (2, 0, 1, 1)
    assert row(t.tenders, ocid="ocds-test-0004")["value"] == 1200.5  # amount given as a string
    assert row(t.tenders, ocid="ocds-test-0001")["codes"] == ["45241000-8"]
    assert t.suppliers.row(0, named=True) == {
        "ocid": "ocds-test-0001", "supplier_id": "GB-COH-07654321", "party_id": "SUP-A", "name": "Harbour Works Ltd",
        "identifier_scheme": "GB-COH", "identifier_id": "07654321", "country": "United Kingdom", "region": "Devon",
    }  # fmt: skip


def test_gzip_release_package_ocds_1_0_found_by_magic_bytes():
    path = DATA / "release-package-gzipped.json"
    assert path.read_bytes()[:2] == b"\x1f\x8b"
    t = read_ocds([path])
    assert t.rejects == [OcdsReject(str(path), "releases[1]", "release without ocid")]
    assert counts(t) == (2, 0, 2, 2)
    tender = row(t.tenders, ocid="ocds-test-1001")
    assert (tender["buyer_id"], tender["buyer_name"]) == ("GB-COH-00000001", "Test  County Council")
    assert tender["codes"] == ["45221111-3", "OKPD2:42.11.10", "CPV:12345678", "UNSPSC:72141000"]
    assert (tender["date"], tender["award_date"]) == (date(2020, 3, 1), date(2020, 4, 1))
    a1 = row(t.awards, award_id="a1")
    assert a1["supplier_ids"] == ["GB-COH-01234567", "NAME:acme roads llc"]  # the prefix is not doubled
    assert a1["supplier_names"] == ["Bridge Builders Ltd", "Acme   Roads  LLC"]
    assert (a1["value"], a1["currency"], a1["date"]) == (100000.5, "GBP", date(2020, 5, 10))
    assert row(t.awards, award_id="a2")["supplier_ids"] == ["GB-COH-01234567"]
    assert t.suppliers.to_dicts() == [
        {"ocid": "ocds-test-1001", "supplier_id": "GB-COH-01234567", "party_id": None, "name": "Bridge Builders Ltd",
         "identifier_scheme": "GB-COH", "identifier_id": "GB-COH-01234567", "country": "United Kingdom",
         "region": "Kent"},
        {"ocid": "ocds-test-1001", "supplier_id": "NAME:acme roads llc", "party_id": None, "name": "Acme   Roads  LLC",
         "identifier_scheme": None, "identifier_id": None, "country": None, "region": None},
    ]  # fmt: skip
    assert row(t.tenders, ocid="ocds-test-1003")["date"] is None  # "not a date": null, not a reject


def test_record_with_releases_only_is_compiled_without_the_network(monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("ocdsmerge tried to fetch the release schema")

    import ocdsmerge.merge
    import ocdsmerge.util

    monkeypatch.setattr(ocdsmerge.util, "get_tags", no_network)
    monkeypatch.setattr(ocdsmerge.merge, "get_merge_rules", no_network)
    t = read_ocds([DATA / "record-to-compile.json"])
    assert (t.releases, t.rejects) == (1, [])
    assert counts(t) == (1, 0, 1, 1)
    tender = t.tenders.row(0, named=True)
    assert tender["title"] == "New title"  # from the later release, listed first in the file
    assert tender["description"] == "Road repair on Main Street"  # kept from the earlier one
    assert (tender["buyer_id"], tender["buyer_name"]) == ("XX-REG-B1", "City of Testville")
    assert (tender["date"], tender["award_date"]) == (date(2021, 1, 15), date(2021, 2, 20))
    assert (tender["codes"], tender["value"], tender["language"]) == (["45233141-9"], 5000.0, "en")
    award = t.awards.row(0, named=True)
    assert (award["award_id"], award["supplier_ids"], award["value"]) == ("A-2001", ["XX-REG-S1"], 4800.0)
    supplier = t.suppliers.row(0, named=True)
    assert (supplier["party_id"], supplier["country"], supplier["region"]) == ("SUP-1", "Testland", "North")


def test_compile_releases_ocds_1_0_replaces_supplier_lists_whole():
    base = {"ocid": "ocds-x", "tag": ["award"], "initiationType": "tender"}
    first = {**base, "id": "1", "date": "2020-01-01", "awards": [{"id": "a", "suppliers": [{"name": "Old Co"}]}]}
    second = {**base, "id": "2", "date": "2020-02-01", "awards": [{"id": "a", "suppliers": [{"name": "New Co"}]}]}
    compiled = compile_releases([second, first])
    assert compiled["awards"] == [{"id": "a", "suppliers": [{"name": "New Co"}]}]
    assert (compiled["date"], compiled["tag"]) == ("2020-02-01", ["compiled"])


def test_record_package_with_a_linked_only_record():
    path = DATA / "record-package-linked.json"
    t = read_ocds([path])
    assert [(r.where, r.reason.split(":")[0]) for r in t.rejects] == [("records[0]", "cannot compile")]
    assert "linked" in t.rejects[0].reason
    assert t.tenders["ocid"].to_list() == ["ocds-test-3002"]
    assert t.lots.to_dicts() == [
        {"ocid": "ocds-test-3002", "lot_id": "L1", "title": "Lote 1", "description": None, "value": 10.0,
         "currency": "COP", "codes": ["UNSPSC:72141000"]},
        {"ocid": "ocds-test-3002", "lot_id": "L2", "title": "Lote 2", "description": None, "value": None,
         "currency": None, "codes": ["UNSPSC:72141100"]},
    ]  # fmt: skip


def test_not_ocds_is_a_reject_and_other_files_still_load():
    bad = DATA / "not-ocds.json"
    t = read_ocds([bad, DATA / "nsw-4.json"])
    assert t.rejects == [OcdsReject(str(bad), "$", "not OCDS: no releases, records or ocid")]
    assert t.releases == 1


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "not OCDS: empty file"),
        (b'{"releases": [', "invalid JSON: Expecting value at line 1 column 15"),
        (b"[1, 2]", "not OCDS: a JSON list, not an object"),
        (b"\xff\xfe{}", "not UTF-8 text (byte 0)"),
    ],
)
def test_whole_file_rejects(tmp_path, content, reason):
    path = tmp_path / "input.json"
    path.write_bytes(content)
    assert read_ocds([path]).rejects == [OcdsReject(str(path), "$", reason)]


def test_files_that_cannot_be_opened(tmp_path):
    with pytest.raises(InputError, match="missing.json"):
        read_ocds([tmp_path / "missing.json"])
    with pytest.raises(InputError, match="cannot open"):
        read_ocds([tmp_path])


# --- the workspace --------------------------------------------------------------------------


def stored(ws: Workspace) -> dict[str, pl.DataFrame]:
    return {name: pl.read_parquet(ws.root / "history" / f"{name}.parquet") for name in ocds.TABLE_NAMES}


def stored_counts(ws: Workspace) -> tuple[int, ...]:
    return tuple(frame.height for frame in stored(ws).values())


def test_import_writes_tables_and_rejects_and_reimport_is_idempotent(tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    lines = shutil.copy(DATA / "bad-lines.jsonl", inputs)
    record = shutil.copy(DATA / "record-to-compile.json", inputs)
    ws = Workspace(tmp_path / "ws")

    tables = import_ocds([lines], ws)
    assert tables.releases == 2
    assert stored_counts(ws) == (2, 0, 1, 1)
    for name, frame in stored(ws).items():
        assert dict(frame.schema) == table_schema(name)
    rejects = [json.loads(x) for x in Path(f"{lines}.rejects.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(r["file"], r["where"], r["reason"]) for r in rejects][1] == (str(lines), "line 3", "release without ocid")
    assert rejects[0]["where"] == "line 2" and len(rejects) == 2

    import_ocds([lines], ws)
    assert stored_counts(ws) == (2, 0, 1, 1)

    import_ocds([record], ws)  # another file adds its process
    assert stored_counts(ws) == (3, 0, 2, 2)
    assert not Path(f"{record}.rejects.jsonl").exists()

    # fixed input: its stale rejects file goes away
    good = [x for i, x in enumerate(Path(lines).read_text(encoding="utf-8").splitlines()) if i in (0, 4)]
    Path(lines).write_text("\n".join(good) + "\n", encoding="utf-8")
    assert import_ocds([lines], ws).rejects == []
    assert not Path(f"{lines}.rejects.jsonl").exists()
    assert stored_counts(ws) == (3, 0, 2, 2)


def test_reimport_replaces_the_rows_of_an_ocid(tmp_path):
    ws = Workspace(tmp_path / "ws")
    import_ocds([DATA / "record-to-compile.json", DATA / "nsw-4.json"], ws)
    assert stored_counts(ws) == (2, 0, 1, 1)
    changed = json.loads((DATA / "record-to-compile.json").read_text(encoding="utf-8"))
    changed["releases"] = [r for r in changed["releases"] if "awards" not in r]  # the award is withdrawn
    path = tmp_path / "record.json"
    path.write_text(json.dumps(changed), encoding="utf-8")
    import_ocds([path], ws)
    assert stored_counts(ws) == (2, 0, 0, 0)
    tenders = stored(ws)["tenders"]
    assert row(tenders, ocid="ocds-test-2001")["title"] == "Old title"
    assert row(tenders, ocid="ocds-test-2001")["source"] == str(path)


def test_rejects_go_to_the_workspace_when_the_input_folder_is_read_only(tmp_path, monkeypatch):
    inputs = tmp_path / "in"
    inputs.mkdir()
    lines = Path(shutil.copy(DATA / "bad-lines.jsonl", inputs))
    ws = Workspace(tmp_path / "ws")
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if Path(p) == inputs else real_access(p, mode))
    import_ocds([lines], ws)
    assert not Path(f"{lines}.rejects.jsonl").exists()
    assert len((ws.rejects_dir / "bad-lines.jsonl.rejects.jsonl").read_text(encoding="utf-8").splitlines()) == 2


def test_nothing_readable_raises_and_leaves_the_workspace_alone(tmp_path):
    ws = Workspace(tmp_path / "ws")
    import_ocds([DATA / "nsw-4.json"], ws)
    before = {p: p.read_bytes() for p in (ws.root / "history").iterdir()}
    bad = DATA / "not-ocds.json"
    with pytest.raises(InputError, match="not-ocds.json.*no releases, records or ocid"):
        import_ocds([bad], ws)
    assert {p: p.read_bytes() for p in (ws.root / "history").iterdir()} == before
    assert not Path(f"{bad}.rejects.jsonl").exists()
    with pytest.raises(InputError, match="no OCDS files"):
        import_ocds([], ws)


# --- every shared sample --------------------------------------------------------------------


def test_every_shared_sample_and_secop():
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} is absent (clone the shared data beside the repository)")
    samples = sorted(p for p in (SHARED / "ocds-samples").rglob("*") if p.is_file())
    assert len(samples) >= 70
    t = read_ocds(samples)
    assert t.rejects == []
    assert t.releases == t.tenders.height == 68  # Paraguay's 12 files are 3 processes
    assert counts(t) == (68, 7, 42, 42)

    start = time.perf_counter()
    secop = read_ocds([SHARED / "secop-works" / "releases-2019-2023.jsonl"])
    seconds = time.perf_counter() - start
    assert secop.rejects == []
    assert (secop.tenders.height, secop.awards.height) == (3963, 3963)
    assert secop.awards["supplier_ids"].list.len().to_list() == [1] * 3963
    assert secop.suppliers.height == 3963
    assert seconds < 10, f"reading SECOP took {seconds:.1f} s"
