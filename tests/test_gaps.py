"""`gaps`: hand-made rankings with known bands for the grouping, the CLI's formats, and one run on the sample."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace

import pytest
from typer.testing import CliRunner

import matcher.gaps
from matcher.cli import app
from matcher.gaps import capability_of, gaps_from
from matcher.results import LotSuggestions, Suggestion, TenderSuggestions
from matcher.schema import Lot, Tender
from matcher.taxonomy import load_taxonomy
from tests.conftest import SAMPLE

runner = CliRunner()


def member(pid: str, fit: float, rank: int = 1) -> Suggestion:
    band = "strong" if fit >= 0.5 else "possible" if fit >= 0.2 else "weak"
    return Suggestion(rank, pid, f"Firm {pid}", None, fit, (), fit=fit, band=band)


def ranking(lot: Lot, *members: Suggestion) -> LotSuggestions:
    return LotSuggestions(lot.id, lot.title, tuple(replace(s, rank=i + 1) for i, s in enumerate(members)))


# Lots whose right answers a person can check by eye:
#   451 (site preparation): lots 1 and 2, nobody strong               -> gap, 2 lots
#   805 (training): lot 3, only A strong (B possible)                -> single
#   349 (transport equipment): lot 4, nobody strong                   -> gap, 1 lot (after 451: fewer lots)
#   452 (construction): lots 5 and 6, A strong in 5 and possible in 6 (counted as strong),
#       C strong in 6, D possible                                      -> covered, 2 strong, 1 possible
#   lot 7 without codes, E strong                                      -> single, labelled with its title
EARTH = Lot("1", "Earthworks", codes=("45111200-0",), language="en")
PILES = Lot("2", "Ground preparation", codes=("45112000-5",), language="en")
TRAIN = Lot("3", "Training of site staff", codes=("80530000-8",), language="en")
COLUMNS = Lot("4", "Lighting columns", codes=("34928510-6",), language="en")
BRIDGE = Lot("5", "Bridge works", codes=("45221111-3", "45221119-9"), language="en")
ROAD = Lot("6", "Road works", codes=("45233120-6",), language="en")
MISC = Lot("7", "Snow removal on the site", language="en")
LOTS = (EARTH, PILES, TRAIN, COLUMNS, BRIDGE, ROAD, MISC)


def known_rankings() -> TenderSuggestions:
    tender = Tender("T-1", "A tender", lots=LOTS, language="en")
    rankings = (
        ranking(EARTH, member("B", 0.30), member("C", 0.05)),
        ranking(PILES, member("C", 0.10)),
        ranking(TRAIN, member("A", 0.90), member("B", 0.25)),
        ranking(COLUMNS, member("C", 0.04), member("D", 0.02)),
        ranking(BRIDGE, member("A", 0.80), member("D", 0.30)),
        ranking(ROAD, member("C", 0.95), member("A", 0.30), member("B", 0.10)),
        ranking(MISC, member("E", 0.70)),
    )
    return TenderSuggestions(tender, rankings, LotSuggestions("*", tender.title, ()), "fake", "v000001")


def by_code(report):
    return {c.code: c for c in report.capabilities if c.code != "no codes"}


def test_capabilities_are_cpv_groups_and_other_codes_as_given():
    assert capability_of("45221111-3") == "452"
    assert capability_of("UNSPSC:72141000") == "UNSPSC:72141000"
    assert capability_of("OKVED2:42.99") == "OKVED2:42.99"


def test_at_the_class_level_the_bridge_and_road_lots_are_two_capabilities():
    """452 holds both; at CPV classes, 4522 (bridges) and 4523 (roads) say each has one strong member."""
    assert capability_of("45221111-3", "class") == "4522"
    assert capability_of("UNSPSC:72141000", "class") == "UNSPSC:72141000"
    caps = by_code(gaps_from([known_rankings()], level="class"))
    assert {"4522", "4523", "4511"} <= set(caps) and "452" not in caps
    assert (caps["4522"].status, caps["4522"].strong, caps["4522"].best_id) == ("single", 1, "A")
    assert (caps["4523"].status, caps["4523"].strong, caps["4523"].possible) == ("single", 1, 1)  # C strong; A possible
    assert caps["4522"].label == "Engineering works and construction works"  # the label of CPV 45220000-5


def test_statuses_and_counts_have_known_answers():
    report = gaps_from([known_rankings()])
    caps = by_code(report)
    assert set(caps) == {"451", "805", "349", "452"}
    assert (caps["451"].status, caps["451"].strong, caps["451"].possible) == ("gap", 0, 1)
    assert (caps["349"].status, caps["349"].strong, caps["349"].possible) == ("gap", 0, 0)
    assert (caps["805"].status, caps["805"].strong, caps["805"].possible) == ("single", 1, 1)
    # A is strong in lot 5 and possible in lot 6: strong, not possible too; D is possible; B is weak
    assert (caps["452"].status, caps["452"].strong, caps["452"].possible) == ("covered", 2, 1)
    assert [lot.lot_id for lot in caps["452"].lots] == ["5", "6"]  # lot 5 once, though two of its codes are in 452
    assert (caps["452"].best_id, caps["452"].best_fit, caps["452"].best_band) == ("C", 0.95, "strong")
    assert (caps["451"].best_id, caps["451"].best_band) == ("B", "possible")
    no_codes = [c for c in report.capabilities if c.code == "no codes"]
    assert [(c.label, c.status, c.best_id) for c in no_codes] == [("Snow removal on the site", "single", "E")]
    assert (report.count("gap"), report.count("single"), report.count("covered")) == (2, 2, 1)


def test_gaps_first_then_single_then_covered_most_lots_first():
    report = gaps_from([known_rankings()])
    assert [(c.code, c.status) for c in report.capabilities] == [
        ("451", "gap"),  # two lots ask for it
        ("349", "gap"),  # one lot, though its code sorts first
        ("805", "single"),
        ("no codes", "single"),  # lots without codes come after the codes with as many lots
        ("452", "covered"),
    ]


def test_lots_without_a_good_match_carry_their_gap_note():
    report = gaps_from([known_rankings()])
    notes = {lot.lot_id: lot.note for lot in report.lots}
    assert [lot.lot_id for lot in report.lots] == [lot.id for lot in LOTS]
    assert notes["2"] is not None and "Ground preparation" in notes["2"] and "Firm C" in notes["2"]
    assert notes["4"] is not None and "0.04" in notes["4"]
    # a possible best member: the softer note (no member is strong, as a "gap" capability says)
    assert notes["1"] is not None and notes["1"].startswith('no member is a strong match for "Earthworks"')
    assert "(best fit 0.30, possible)" in notes["1"]


def test_labels_follow_the_lots_language():
    tender = Tender("T-RU", "Тендер", lots=(Lot("1", "Обучение", codes=("80530000-8",), language="ru"),))
    result = TenderSuggestions(
        tender, (ranking(tender.lots[0], member("A", 0.9)),), LotSuggestions("*", "", ()), "", ""
    )
    cap = gaps_from([result]).capabilities[0]
    taxonomy = load_taxonomy()
    assert cap.label == taxonomy.label("80500000-9", "ru") != cap.label_en == taxonomy.label("80500000-9", "en")
    english = gaps_from([known_rankings()]).capabilities[0]
    assert english.label == english.label_en == taxonomy.label("45100000-8", "en")


def test_a_group_without_a_label_of_its_own_takes_the_lots_code_label(monkeypatch):
    real = load_taxonomy()
    canonical = {k: v for k, v in real.cpv_canonical.items() if k != "45100000"}
    monkeypatch.setattr(matcher.gaps, "load_taxonomy", lambda: replace(real, cpv_canonical=canonical))
    caps = by_code(gaps_from([known_rankings()]))
    assert caps["451"].label == real.label("45111200-0", "en")  # lot 1's code: the group's first lot
    assert caps["452"].label == real.label("45200000-9", "en")


def test_rankings_of_several_tenders_are_counted_together():
    first = known_rankings()
    second = replace(
        first,
        tender=replace(first.tender, id="T-2", lots=(COLUMNS,)),
        lots=(ranking(COLUMNS, member("F", 0.7), member("G", 0.6)),),
    )
    caps = by_code(gaps_from([first, second]))
    assert caps["349"].status == "covered" and caps["349"].strong == 2
    assert [(lot.tender_id, lot.lot_id) for lot in caps["349"].lots] == [("T-1", "4"), ("T-2", "4")]


# --- the command line ---------------------------------------------------------------------


@pytest.fixture
def known_gaps(monkeypatch):
    """`matcher gaps` answering from the known rankings, whatever the tenders."""
    monkeypatch.setattr(matcher.gaps, "gaps", lambda ws, tenders, top_k, **kw: gaps_from([known_rankings()], top_k))
    monkeypatch.setattr("matcher.cli.members._query_workspace", lambda workspace: workspace)


TENDER = str(SAMPLE / "tenders" / "bridge-reconstruction.yaml")


def test_cli_table_says_the_summary_and_lists_gaps_first(known_gaps):
    result = runner.invoke(app, ["gaps", TENDER, "-w", "ws"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("2 capabilities with no strong member, 2 covered by one member only, 1 covered by two")
    order = [next(i for i, line in enumerate(lines) if f"│ {code} " in line) for code in ("451", "349", "805", "452")]
    assert order == sorted(order)
    assert "Ground preparation" in result.stdout and "no member is a good match" in result.stdout


def test_cli_json_and_csv(known_gaps):
    out = runner.invoke(app, ["gaps", TENDER, "-w", "ws", "-f", "json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert data["counts"] == {"gap": 2, "single": 2, "covered": 1}
    assert [(c["code"], c["status"], c["strong"]) for c in data["capabilities"]][:3] == [
        ("451", "gap", 0), ("349", "gap", 0), ("805", "single", 1),
    ]  # fmt: skip
    assert data["capabilities"][-1]["best"] == {"participant_id": "C", "name": "Firm C", "fit": 0.95, "band": "strong"}
    out = runner.invoke(app, ["gaps", TENDER, "-w", "ws", "-f", "csv"])
    assert out.exit_code == 0, out.output
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert [(r["capability"], r["lot_id"]) for r in rows] == [
        ("451", "1"), ("451", "2"), ("349", "4"), ("805", "3"), ("no codes", "7"), ("452", "5"), ("452", "6"),
    ]  # fmt: skip
    assert rows[-1]["status"] == "covered" and rows[-1]["strong"] == "2" and rows[1]["lot_note"]


def test_cli_missing_tender_is_a_one_line_error(tmp_path):
    missing = tmp_path / "nope.yaml"
    result = runner.invoke(app, ["gaps", TENDER, str(missing), "-w", str(tmp_path / "ws")])
    assert result.exit_code == 2
    assert "Traceback" not in result.output + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error:") and "nope.yaml" in lines[0] and "not found" in lines[0]


def test_cli_bad_tender_is_a_one_line_error(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("title: [unclosed\n", encoding="utf-8")
    result = runner.invoke(app, ["gaps", str(bad), "-w", str(tmp_path / "ws")])
    assert result.exit_code == 2 and "Traceback" not in result.output + result.stderr
    assert result.stderr.startswith("Error:") and "bad.yaml" in result.stderr


def test_gaps_on_the_sample_cluster_end_to_end(sample_workspace):
    """The real model and index: structure, not exact bands."""
    tenders = sorted(str(p) for p in (SAMPLE / "tenders").glob("*.yaml"))
    result = runner.invoke(app, ["gaps", *tenders, "-w", str(sample_workspace.root), "-f", "json", "-k", "5"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["top_k"] == 5 and len(data["tenders"]) == len(tenders)
    caps = data["capabilities"]
    assert caps and sum(data["counts"].values()) == len(caps)
    ranks = [{"gap": 0, "single": 1, "covered": 2}[c["status"]] for c in caps]
    assert ranks == sorted(ranks)
    for c in caps:
        assert c["status"] == ("gap" if c["strong"] == 0 else "single" if c["strong"] == 1 else "covered")
        assert c["strong"] + c["possible"] <= 5 * len(c["lots"])
        assert c["label"] and (c["code"] == "no codes" or len(c["code"]) == 3)
    asked = {(lot["tender_id"], lot["lot_id"]) for c in caps for lot in c["lots"]}
    assert asked == {(lot["tender_id"], lot["lot_id"]) for lot in data["lots"]}  # every lot is under a capability
