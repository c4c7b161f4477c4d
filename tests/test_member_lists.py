"""Member lists as people send them (tests/data/readers/make_member_lists.py makes them): a cp1251
';' CSV, an XLSX with a title and a two-row header over merged cells, an SME register export, a
UTF-16 list of free-text activities. Every row is stored or rejected with its reason."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from matcher.cli import app
from matcher.errors import InputError, UnknownCode
from matcher.inputs import identifiers
from matcher.inputs.columns import column_map, header_key, parse_columns_option, read_columns_file
from matcher.inputs.participants import read_participants, rejects_path_for
from matcher.inputs.regions import region_code
from matcher.inputs.sheets import decode, sniff_delimiter
from matcher.store.workspace import Workspace

DATA = Path(__file__).resolve().parent / "data" / "readers"
runner = CliRunner()


def read(name: str, tmp_path: Path, **kwargs):
    path = tmp_path / name
    shutil.copyfile(DATA / name, path)
    return path, read_participants([path], **kwargs)


def no_row_lost(result, data_rows: int) -> None:
    (layout,) = result.layouts
    assert layout.rows == data_rows
    assert layout.stored + layout.rejected == data_rows
    assert len(result.participants) + len(result.rejects) == data_rows


# --- identifiers --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value", ["7707083893", "7736207543", "500100732259", "0274051582", 7707083893, 7707083893.0, "77 0708 3893"]
)
def test_real_inns_pass_their_check(value):
    assert identifiers.inn(value) in {"7707083893", "7736207543", "500100732259", "0274051582"}


@pytest.mark.parametrize("value", ["1027700132195", "1027700229193", "1020202555240", "304500116000157"])
def test_real_ogrns_pass_their_check(value):
    assert identifiers.ogrn(value) == value


def test_check_digits_by_hand():
    # 7707083893: 7*2+7*4+0*10+7*3+0*5+8*9+3*4+8*6+9*8 = 267; 267 % 11 = 3
    assert identifiers.inn_check_digits("7707083890") == "3"
    assert identifiers.inn_check_digits("500100732200") == "59"
    assert identifiers.ogrn_check_digit("1027700132190") == "5"  # 102770013219 % 11 = 5


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("7707083894", "INN 7707083894 fails its check: the last digits should be 3, not 4"),
        ("500100732258", "the last digits should be 59, not 58"),
        ("77070838", "an INN has 10 digits (a company) or 12 (a person), not 8"),
        ("77O7083893", "is not an INN"),
        (274051583, "274051583 has 9 digits"),  # a lost zero whose padded number still fails
    ],
)
def test_mutated_inns_say_what_is_wrong(value, message):
    with pytest.raises(identifiers.IdentifierError, match=re.escape(message)):
        identifiers.inn(value)


def test_a_lost_leading_zero_is_put_back_when_the_check_then_passes():
    assert identifiers.inn(274051582) == "0274051582"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("1027700132196", "OGRN 1027700132196 fails its check: the last digit should be 5, not 6"),
        ("304500116000158", "OGRNIP 304500116000158 fails its check: the last digit should be 7"),
        ("10277001321", "an OGRN has 13 digits"),
    ],
)
def test_mutated_ogrns_say_what_is_wrong(value, message):
    with pytest.raises(identifiers.IdentifierError, match=re.escape(message)):
        identifiers.ogrn(value)


@pytest.mark.parametrize(
    ("written", "code"),
    [
        ("г. Москва", "RU-MOW"), ("Москва г", "RU-MOW"), ("Санкт-Петербург", "RU-SPE"),
        ("52 - НИЖЕГОРОДСКАЯ ОБЛАСТЬ", "RU-NIZ"), ("Московская обл.", "RU-MOS"), ("Респ. Башкортостан", "RU-BA"),
        ("Республика Саха (Якутия)", "RU-SA"), ("Ханты-Мансийский АО - Югра", "RU-KHM"),
        ("Краснодарский кр.", "RU-KDA"), ("ru-spe", "RU-SPE"), ("RU", "RU"), ("Тула", "ТУЛА"), ("2GIS", "2GIS"),
        ("77", "77"),
    ],
)  # fmt: skip
def test_russian_regions_become_iso_codes(written, code):
    assert region_code(written) == code


def test_an_inn_is_checked_also_when_an_id_column_gives_the_id(tmp_path):
    path = tmp_path / "members.csv"
    path.write_text(
        "id,ИНН,ОГРН,name,description\n"
        "m1,7707083893,,A,Bridges\n"  # the id column wins; the INN is right
        "m2,7707083894,,B,Roads\n"  # a wrong INN rejects the row even so
        ",,1027700132195,C,Tunnels\n"  # no id, no INN: the OGRN gives the id
        ",,,D,Paint\n",  # nothing gives an id
        encoding="utf-8",
    )
    result = read_participants([path], write_rejects=False)
    assert [p.id for p in result.participants] == ["m1", "RU-OGRN-1027700132195"]
    assert [(r.row, r.field) for r in result.rejects] == [(3, "ИНН"), (5, "ИНН")]
    assert result.rejects[1].reason == "missing (required: it gives the member's id)"


def test_an_okved_class_that_is_its_groups_only_one_is_known():
    from matcher.taxonomy import load_taxonomy

    taxonomy = load_taxonomy()
    assert taxonomy.normalise("71.20") == taxonomy.normalise("71.2")  # the table holds the group only
    with pytest.raises(UnknownCode):
        taxonomy.normalise("71.90")


# --- headers and the mapping --------------------------------------------------------------------


def test_header_keys_ignore_case_spaces_punctuation_and_yo():
    assert header_key(" Сокращённое  наименование: ") == header_key("сокращенное наименование")
    uses = column_map(["И.Н.Н.", "НАИМЕНОВАНИЕ", "Виды работ", "ОКВЭД-2", "Субъект РФ", "Что-то ещё"], "f").uses
    assert [(u.header, u.field) for u in uses] == [
        ("И.Н.Н.", "inn"), ("НАИМЕНОВАНИЕ", "name"), ("Виды работ", "description"), ("ОКВЭД-2", "codes"),
        ("Субъект РФ", "regions"), ("Что-то ещё", None),
    ]  # fmt: skip


def test_the_short_name_wins_over_the_full_one_and_code_columns_combine():
    cmap = column_map(["Полное наименование", "Сокращенное наименование", "ОКВЭД основной", "ОКВЭД доп", "ОКВЭД2"], "f")
    assert cmap.sources["name"] == ("Сокращенное наименование",)
    assert cmap.sources["codes"] == ("ОКВЭД основной", "ОКВЭД2")
    full = cmap.uses[0]
    assert (full.field, full.note) == (None, "column 'Сокращенное наименование' gives name")


def test_columns_option_parses_fields_and_columns_with_commas():
    assert parse_columns_option(["id=ИНН,name=Наименование, краткое", "codes=ОКВЭД", "codes=CPV"]) == {
        "id": ["ИНН"], "name": ["Наименование, краткое"], "codes": ["ОКВЭД", "CPV"],
    }  # fmt: skip
    with pytest.raises(InputError, match="is not FIELD=COLUMN"):
        parse_columns_option(["ИНН"])


def test_a_mapping_naming_a_missing_column_lists_the_files_columns(tmp_path):
    with pytest.raises(InputError) as info:
        read("members-1251.csv", tmp_path, columns={"description": ["Описание"]})
    message = str(info.value)
    assert "names the column 'Описание', which the file lacks; did you mean Описание деятельности?" in message
    assert "its columns are 'ИНН', 'Наименование'" in message


def test_a_mapping_naming_an_unknown_field_says_which_exist(tmp_path):
    with pytest.raises(InputError, match="no field 'nmae'; did you mean name"):
        read("members-1251.csv", tmp_path, columns={"nmae": ["Наименование"]})


def test_columns_file_in_yaml_json_and_toml(tmp_path):
    (tmp_path / "c.yaml").write_text("id: ИНН\ncodes: [ОКВЭД основной, ОКВЭД доп]\n", encoding="utf-8")
    (tmp_path / "c.json").write_text('{"id": "ИНН", "codes": ["ОКВЭД основной", "ОКВЭД доп"]}', encoding="utf-8")
    (tmp_path / "c.toml").write_text('id = "ИНН"\ncodes = ["ОКВЭД основной", "ОКВЭД доп"]\n', encoding="utf-8")
    expected = {"id": ["ИНН"], "codes": ["ОКВЭД основной", "ОКВЭД доп"]}
    for name in ("c.yaml", "c.json", "c.toml"):
        assert read_columns_file(tmp_path / name) == expected
    (tmp_path / "bad.yaml").write_text("- id\n", encoding="utf-8")
    with pytest.raises(InputError, match="expected FIELD: COLUMN lines"):
        read_columns_file(tmp_path / "bad.yaml")


# --- encodings and delimiters -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "expected"),
    [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("cp1251", "cp1251"), ("utf-16", "utf-16")],
)
def test_encodings_are_detected(tmp_path, encoding, expected):
    text = "ИНН;Наименование;Описание\n7707083893;ПАО «Сбербанк»;Финансирование проектов\n"
    assert decode(text.encode(encoding), tmp_path / "x.csv") == (text, expected)


def test_an_undecodable_or_misnamed_file_is_one_clear_error(tmp_path):
    path = tmp_path / "members.csv"
    path.write_bytes(b"\x00\x01\x02\xff\xfe\x00" * 50 + b"\x81\x8d")
    with pytest.raises(InputError, match=f"{path}: cannot tell the text encoding"):
        read_participants([path])
    shutil.copyfile(DATA / "sme-register.xlsx", path)
    with pytest.raises(InputError, match="an Excel workbook .XLSX., not CSV text; rename it to .xlsx"):
        read_participants([path])


@pytest.mark.parametrize(
    ("text", "delimiter"),
    [
        ("id;name;description\na;A, B;x\n", ";"),
        ('id,name,description\na,"A; B",x\n', ","),
        ("id\tname\na\tA\n", "\t"),
        ("id|name\na|A\n", "|"),
        ("id\na\n", ","),
    ],
)
def test_delimiters_are_sniffed(text, delimiter):
    assert sniff_delimiter(text) == delimiter


# --- (a) a cp1251 ';' CSV from a Russian Excel ---------------------------------------------------


def test_cp1251_semicolon_csv_from_a_russian_excel(tmp_path):
    path, result = read("members-1251.csv", tmp_path)
    no_row_lost(result, 11)  # 12 data lines, one of them blank
    (layout,) = result.layouts
    assert (layout.encoding, layout.delimiter, layout.header_rows) == ("cp1251", ";", (1,))
    # the blank line is row 7: the rows after it keep the numbers Excel shows
    assert [(r.row, r.field) for r in result.rejects] == [(5, "ИНН"), (10, "ИНН")]
    assert "the last digits should be" in result.rejects[0].reason
    first, yandex, bridges = result.participants[:3]
    assert (first.id, first.name, first.codes, first.regions) == (
        "RU-INN-7707083893", "ПАО Сбербанк", ("OKVED2:64.19",), ("RU-MOW",),  # "г. Москва"
    )  # fmt: skip
    assert yandex.description == "Геоинформационные сервисы; картография; навигация"  # a quoted ';' in a cell
    assert yandex.codes == ("OKVED2:62.01", "OKVED2:63.11")  # "62.01, 63.11": ',' inside a ';' file
    assert bridges.certifications == ("СРО-С-123-2010", "ISO 9001")
    assert result.ignored_columns == {str(path): ["Примечание"]}
    uses = {u.header: (u.field, u.how) for u in layout.columns}
    assert uses["Сайт"] == ("website", "synonym") and uses["Примечание"] == (None, "ignored")
    assert rejects_path_for(path).read_text(encoding="utf-8").count("\n") == 3  # the header and two rows


# --- (b) XLSX: title, two-row header, merged cells -------------------------------------------------


def test_xlsx_with_a_title_a_two_row_header_and_merged_cells(tmp_path):
    path, result = read("members-two-row-header.xlsx", tmp_path)
    no_row_lost(result, 10)
    (layout,) = result.layouts
    assert layout.header_rows == (3, 4)
    assert [c.header for c in layout.columns][:5] == [
        "Реквизиты / ИНН", "Реквизиты / ОГРН", "Наименование", "Деятельность / Описание",
        "Деятельность / ОКВЭД основной",
    ]  # fmt: skip
    # data start at sheet row 5: the rows of the rejects are the sheet's
    assert [(r.row, r.field) for r in result.rejects] == [(8, "Реквизиты / ОГРН"), (9, "Наименование")]
    assert "the last digit should be" in result.rejects[0].reason
    by_name = {p.name: p for p in result.participants}
    assert by_name["ПАО АНК «Башнефть»"].id == "RU-INN-0274051582"  # a number cell that lost its zero
    project = by_name["ООО «Мостпроект»"]
    assert project.regions == ("RU-NIZ",)  # the merged region cell, for both firms it spans
    assert len(project.codes) == 4  # 71.12 and the two lines "71.12.2\n71.12.3"
    assert all(p.id.startswith("RU-INN-") for p in result.participants)


def test_the_rejects_of_a_two_row_header_can_be_fixed_and_ingested_again(tmp_path):
    import csv

    path, first = read("members-two-row-header.xlsx", tmp_path)
    with rejects_path_for(path).open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    header = rows[0]
    assert header[4:6] == ["Реквизиты / ИНН", "Реквизиты / ОГРН"]  # the joined names: recognised again
    rows[1][header.index("Реквизиты / ОГРН")] = ""
    rows[2][header.index("Наименование")] = "ООО «Разметка»"
    fixed = tmp_path / "fixed.csv"
    with fixed.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)
    again = read_participants([fixed], write_rejects=False)
    assert again.rejects == [] and len(again.participants) == 2
    assert len(first.participants) + len(again.participants) == 10


# --- (c) the SME register's export -----------------------------------------------------------------


def test_sme_register_export(tmp_path):
    _, result = read("sme-register.xlsx", tmp_path)
    no_row_lost(result, 8)
    assert [(r.row, r.field) for r in result.rejects] == [(6, "ОГРН"), (7, "ОГРН")]
    assert result.rejects[1].reason.startswith("OGRNIP ")
    first, _, trader = result.participants[:3]
    assert first.sme is True and first.kind == "Юридическое лицо" and first.headcount == 74
    # "42.11 Строительство ..." cells: the codes go to codes, the names make the description
    assert first.description.startswith("Строительство автомобильных дорог и автомагистралей; Разборка и снос зданий")
    assert "не включенные в другие группировки" in first.description  # a name with a comma in it stays whole
    assert len(first.codes) >= 4
    assert first.regions == ("RU-MOS",)  # "50 - Московская область"
    assert len(trader.id) == len("RU-INN-") + 12 and trader.kind == "Индивидуальный предприниматель"


# --- (d) a cluster's list: free text, UTF-16, tabs ------------------------------------------------


def test_cluster_list_with_free_text_activities_and_no_codes(tmp_path):
    _, result = read("cluster-members-utf16.csv", tmp_path)
    no_row_lost(result, 8)
    (layout,) = result.layouts
    assert (layout.encoding, layout.delimiter) == ("utf-16", "\t")
    assert [(r.row, r.field) for r in result.rejects] == [(6, "ИНН"), (9, "Название")]
    assert all(not p.codes and p.description for p in result.participants)
    assert result.participants[0].headcount == 6
    assert [p.regions for p in result.participants[:2]] == [("ТУЛА",), ("RU-TUL",)]  # a city stays as written


# --- ingest, --dry-run and refresh through the CLI --------------------------------------------------


def test_dry_run_shows_how_the_file_is_read_and_writes_nothing(tmp_path):
    path = tmp_path / "members-1251.csv"
    shutil.copyfile(DATA / path.name, path)
    ws = tmp_path / "ws"
    result = runner.invoke(app, ["ingest", "--dry-run", str(path), "-w", str(ws)])
    assert result.exit_code == 3, result.output  # rows would be rejected, as a real ingest says
    out = result.stdout
    assert "Dry run: nothing was written." in out
    assert "csv, cp1251, ';' between cells, header row 1, 11 rows: 9 would be stored, 2 rejected" in out
    assert "ИНН -> inn (synonym; checked; gives the id when there is none)" in out
    assert "Примечание -> ignored (unknown column)" in out
    assert "row 2: id=RU-INN-7707083893 | name=ПАО Сбербанк" in out and "regions=RU-MOW" in out
    assert "row 5: rejected: ИНН: INN" in out
    assert "Would store 9 participants" in out
    assert not ws.exists() and not rejects_path_for(path).exists()
    as_json = json.loads(runner.invoke(app, ["ingest", "--dry-run", str(path), "-w", str(ws), "-f", "json"]).stdout)
    assert as_json["dry_run"] is True and as_json["files"][0]["encoding"] == "cp1251"
    assert as_json["files"][0]["preview"][0]["values"]["id"] == "RU-INN-7707083893"
    assert not ws.exists()


def test_ingest_with_columns_is_remembered_by_refresh(tmp_path, fake):
    path = tmp_path / "members.csv"
    path.write_text("Код;Фирма;Профиль\nm1;Мосты;Строительство мостов\nm2;Дороги;Ремонт дорог\n", encoding="cp1251")
    ws = tmp_path / "ws"
    result = runner.invoke(app, ["ingest", str(path), "-w", str(ws), "--columns", "name=Фирма"])
    assert result.exit_code == 0, result.output
    assert "read " in result.stderr and "Фирма -> name (--columns)" in result.stderr
    assert sorted(p.id for p in Workspace(ws).load_participants()) == ["m1", "m2"]
    assert Workspace(ws).source_columns() == {str(path.resolve()): {"name": ["Фирма"]}}
    built = runner.invoke(app, ["index", "build", "-w", str(ws)])
    assert built.exit_code == 0, built.output
    from matcher.refresh import refresh

    path.write_text("Код;Фирма;Профиль\nm1;Мосты;Строительство мостов\nm3;Тоннели;Тоннели\n", encoding="cp1251")
    report = refresh(Workspace(ws), max_removed=1.0)  # reads the file with name=Фирма again
    assert report.rejects == ()
    assert sorted(p.id for p in Workspace(ws).load_participants()) == ["m1", "m3"]
    assert Workspace(ws).source_columns() == {str(path.resolve()): {"name": ["Фирма"]}}


def test_columns_file_through_the_cli(tmp_path):
    path = tmp_path / "members.csv"
    path.write_text("Номер,Фирма,Профиль\nm1,Мосты,Строительство мостов\n", encoding="utf-8")
    mapping = tmp_path / "columns.yaml"
    mapping.write_text("id: Номер\nname: Фирма\n", encoding="utf-8")
    ws = tmp_path / "ws"
    result = runner.invoke(app, ["ingest", str(path), "-w", str(ws), "--columns-file", str(mapping)])
    assert result.exit_code == 0, result.output
    (member,) = Workspace(ws).load_participants()
    assert (member.id, member.name, member.description) == ("m1", "Мосты", "Строительство мостов")


@pytest.mark.slow
def test_a_register_export_ingests_and_builds_an_index(tmp_path):
    path = tmp_path / "sme-register.xlsx"
    shutil.copyfile(DATA / path.name, path)
    ws = tmp_path / "ws"
    assert runner.invoke(app, ["ingest", str(path), "-w", str(ws)]).exit_code == 3  # two bad OGRNs
    result = runner.invoke(app, ["index", "build", "-w", str(ws), "--model", "e5"])
    assert result.exit_code == 0, result.output
    found = runner.invoke(app, ["similar", "--text", "строительство мостов", "-w", str(ws), "--format", "json"])
    assert found.exit_code == 0, found.output
    assert "МОСТОВИК" in found.stdout


def test_an_unknown_column_is_reported_in_either_language(tmp_path):
    """Which columns were ignored is decided from what they are, not from the words of the note,
    so a Russian run reports them too."""
    from matcher.build import ingest
    from matcher.i18n import use
    from matcher.store.workspace import Workspace

    source = tmp_path / "m.csv"
    source.write_text("id,name,description,foo\nA-1,Alpha LLC,Road works,x\n", encoding="utf-8")
    for lang in ("en", "ru"):
        with use(lang):
            report = ingest([source], Workspace(tmp_path / f"ws-{lang}"))
        assert [tuple(c) for c in report.ignored_columns.values()] == [("foo",)], lang
