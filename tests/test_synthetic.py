"""The synthetic firm tables: valid for the reader, reproducible, and with text that matches the codes."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import polars as pl
import pytest

from matcher.eval.synthetic import generate_firms, write_firms
from matcher.inputs.participants import PARTICIPANT_COLUMNS, read_participants
from matcher.language import detect
from matcher.taxonomy import code_tree, load_taxonomy

ROWS = 2_000
ROOT = Path(__file__).resolve().parents[1]
_LEGAL_FORM = re.compile(r"^(ООО|АО|ПАО|ЗАО|АНО ДПО|ФГБОУ ВО) «(.*)»$|^(.*) (LLC|JSC|PJSC|CJSC|ANO|FSBI)$")
_BUILDING_WORDS = re.compile(
    r"construct|build|work|repair|install|lay|tunnel|excavat|строит|строй|ремонт|монтаж|работ|установ|устраива|прокладк|тоннел"
)
_TRAINING_WORDS = re.compile(r"train|teach|course|educat|обуч|учеб|курс|образован|подготов")


@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_firms(tmp_path_factory.mktemp("firms") / "firms.parquet", ROWS, seed=7, chunk=500)


@pytest.fixture(scope="module")
def participants(table: Path):
    result = read_participants([table])
    assert [str(r) for r in result.rejects] == []
    return result.participants


def test_every_row_passes_the_readers_validation(table: Path, participants) -> None:
    assert len(participants) == ROWS
    assert list(pl.read_parquet_schema(table)) == list(PARTICIPANT_COLUMNS)
    assert not table.with_name(table.name + ".rejects.csv").exists()


def test_csv_output_reads_back_the_same(tmp_path: Path, participants) -> None:
    csv = write_firms(tmp_path / "firms.csv", 300, seed=7)
    result = read_participants([csv])
    assert result.rejects == []
    assert result.participants == participants[:300]


def test_same_seed_same_bytes_other_seed_other_rows(tmp_path: Path, table: Path) -> None:
    again = write_firms(tmp_path / "again.parquet", ROWS, seed=7, chunk=500)
    assert again.read_bytes() == table.read_bytes()
    other = pl.read_parquet(write_firms(tmp_path / "other.parquet", ROWS, seed=8, chunk=500))
    first = pl.read_parquet(table)
    assert other["id"].to_list() != first["id"].to_list()
    assert (other["description"] == first["description"]).sum() < ROWS // 100


def test_rows_do_not_depend_on_chunking_and_smaller_tables_are_prefixes(table: Path) -> None:
    whole = pl.read_parquet(table)
    chunks = list(generate_firms(ROWS, seed=7, chunk=333))
    assert [c.height for c in chunks] == [333] * 6 + [2]
    assert pl.concat(chunks).equals(whole)
    assert pl.concat(generate_firms(450, seed=7)).equals(whole.head(450))


def test_ids_and_names_are_unique(participants) -> None:
    ids = [p.id for p in participants]
    assert len(set(ids)) == ROWS
    assert all(re.fullmatch(r"RU-INN-\d{10}", i) for i in ids)
    for inn in (i[-10:] for i in ids):  # legal-entity INN check digit
        digits = [int(c) for c in inn]
        assert sum(w * d for w, d in zip((2, 4, 10, 3, 5, 9, 4, 6, 8), digits)) % 11 % 10 == digits[9]
    cores = []
    for p in participants:
        m = _LEGAL_FORM.match(p.name)
        assert m, p.name
        cores.append((m.group(2) or m.group(3)).casefold())
    assert len(set(cores)) == ROWS  # unique even once the legal form is removed, as the resolver compares


def test_codes_are_cpv_codes_clustered_in_one_or_two_divisions(participants) -> None:
    taxonomy = load_taxonomy()
    for p in participants:
        assert 2 <= len(p.codes) <= 6, (p.id, p.codes)
        cpv = [c for c in p.codes if code_tree(c)]
        assert cpv == list(p.codes), p.codes  # OKVED2 codes used here all map to CPV
        assert all(c[:8] in taxonomy.cpv_en for c in cpv)
        assert len({c[:2] for c in cpv}) <= 2, (p.kind, p.codes)
    divisions = [p.codes[0][:2] for p in participants]
    assert divisions.count("45") > 0.5 * ROWS  # weighted toward construction works


def test_description_language_matches_the_language_column(participants) -> None:
    languages = [p.language for p in participants]
    assert set(languages) == {"en", "ru"}
    assert 0.15 < languages.count("ru") / ROWS < 0.25
    for p in participants:
        assert detect(p.description) == p.language, p.description


def _mentions_own_code_label(p, codes) -> bool:
    taxonomy = load_taxonomy()
    text = p.description.casefold()
    return any(taxonomy.label(c, p.language or "en").casefold() in text for c in codes)


def test_descriptions_agree_with_codes(participants) -> None:
    # a firm names the activity of at least one of its own codes ...
    assert all(_mentions_own_code_label(p, p.codes) for p in participants)
    # ... which a table whose texts and codes were shuffled apart would not do
    shifted = participants[1:] + participants[:1]
    assert sum(_mentions_own_code_label(p, q.codes) for p, q in zip(participants, shifted)) < 0.1 * ROWS
    works = [p for p in participants if all(c.startswith("45") for c in p.codes)]
    training = [p for p in participants if all(c.startswith("80") for c in p.codes)]
    assert len(works) > ROWS / 4 and training
    assert all(_BUILDING_WORDS.search(p.description.casefold()) for p in works)
    assert all(_TRAINING_WORDS.search(p.description.casefold()) for p in training)


def test_size_regions_and_licences_look_like_a_cluster(participants) -> None:
    sme = sum(bool(p.sme) for p in participants) / ROWS
    assert 0.8 < sme < 0.95
    home = [p.regions[0] for p in participants]
    assert home.count("RU-SPE") + home.count("RU-LEN") > 0.5 * ROWS
    builders = [p for p in participants if p.kind == "road builder"]
    assert sum("SRO construction" in p.certifications for p in builders) > 0.8 * len(builders)
    assert any(p.projects for p in participants) and any(not p.projects for p in participants)


def test_script_writes_a_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("generate_firms", ROOT / "scripts" / "generate_firms.py")
    assert spec and spec.loader
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    out = tmp_path / "f.parquet"
    assert script.main(["--rows", "120", "--out", str(out), "--seed", "3"]) == 0
    assert pl.read_parquet(out).height == 120
    assert script.main(["--rows", "10", "--out", str(tmp_path / "f.xlsx")]) == 2
    assert "write .parquet or .csv" in capsys.readouterr().err
