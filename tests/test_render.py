"""Every format shows the fit, its band and a lot's warning: hand-made results whose right output
a person can read off (no model, no index)."""

from __future__ import annotations

import csv
import io
import json

from rich.console import Console

from matcher.render import dump_json, similar_csv, similar_dict, teams_dict, tender_csv, tender_dict, write
from matcher.render.parts import FOOTNOTE, fit_text, lot_warning, short_reasons
from matcher.render.plain import suggestion_dict
from matcher.results import LotSuggestions, ScorePart, SimilarResult, Suggestion, Teams, TenderSuggestions
from matcher.schema import Lot, Tender

RAIL_WARNING = (
    'no member is a good match for "Railway signalling" (best fit 0.03, weak); closest: Alpha Rail, Beta Signals'
)
OLD_HEAD = ["tender_id", "lot_id", "lot_title", "rank", "participant_id", "name", "kind", "score", "lots"]


def suggestion(rank: int, pid: str, name: str, semantic: float, fit: float | None, band: str | None,
               lots: tuple[str, ...] = ()) -> Suggestion:  # fmt: skip
    parts = (  # codes: the neutral value of a lot that names no codes
        ScorePart("semantic", semantic, 0.5, 0.5 * semantic, "text similarity"),
        ScorePart("codes", 0.5, 0.5, 0.25, ""),
    )
    return Suggestion(rank, pid, name, "contractor", 0.5 * semantic + 0.25, parts, lots, fit, band)


def tender(*lots: LotSuggestions, overall: LotSuggestions | None = None) -> TenderSuggestions:
    t = Tender("T-1", "Bridge and railway works", lots=tuple(Lot(lot.lot_id, lot.title) for lot in lots))
    overall = overall or LotSuggestions("*", t.title, ())
    return TenderSuggestions(t, lots, overall, "all-MiniLM-L6-v2", "v000001")


WEAK = LotSuggestions("1", "Railway signalling", (
    suggestion(1, "A", "Alpha Rail", 0.21, 0.03, "weak"),
    suggestion(2, "B", "Beta Signals", 0.18, 0.02, "weak"),
))  # fmt: skip
STRONG = LotSuggestions("2", "Bridge deck repair", (
    suggestion(1, "C", "Gamma Bridges", 0.74, 0.81, "strong"),
    suggestion(2, "D", "Delta Decks", 0.52, 0.43, "possible"),
))  # fmt: skip
# The whole tender's ranking names lead candidates: weak there is no lot without a match.
OVERALL = LotSuggestions("*", "Bridge and railway works", (
    suggestion(1, "C", "Gamma Bridges", 0.50, 0.04, "weak", ("2",)),
))  # fmt: skip
RESULT = tender(WEAK, STRONG, overall=OVERALL)


def table_text(result, color: bool = False) -> str:
    out = io.StringIO()
    console = Console(file=out, width=220, force_terminal=color, color_system="standard" if color else None,
                      highlight=False)  # fmt: skip
    write(result, "table", console, err=Console(file=io.StringIO()))
    return out.getvalue()


def test_the_gap_note_is_shown_for_a_weak_lot_only():
    assert lot_warning(WEAK) == RAIL_WARNING
    assert lot_warning(STRONG) is None
    assert lot_warning(OVERALL) is None  # weak, but the whole tender's ranking warns only when empty
    assert fit_text(WEAK.suggestions[0]) == "0.03 weak" and fit_text(STRONG.suggestions[1]) == "0.43 possible"
    assert fit_text(suggestion(1, "X", "X", 0.5, None, None)) == ""


def test_the_table_shows_the_fit_with_its_band_and_warns_under_the_weak_lot():
    text = table_text(RESULT)
    assert "Fit" in text and "0.03 weak" in text and "0.81 strong" in text and "0.43 possible" in text
    assert text.count("⚠") == 1 and f"⚠ {RAIL_WARNING}" in text
    # under lot 1's table, before lot 2's
    assert text.index("Beta Signals") < text.index("⚠") < text.index("Lot 2: Bridge deck repair")
    assert "shared out" not in text and " ".join(FOOTNOTE.split()) in " ".join(text.split())


def test_the_table_colours_the_bands():
    text = table_text(RESULT, color=True)
    assert "\x1b[32m0.81 strong" in text and "\x1b[33m0.43 possible" in text and "\x1b[31m0.03 weak" in text


def test_a_strong_best_member_carries_no_warning_in_any_format():
    result = tender(STRONG)
    assert "⚠" not in table_text(result)
    lot = tender_dict(result)["lots"][0]
    assert lot["no_good_match"] is False and lot["warning"] is None
    assert [s["band"] for s in lot["suggestions"]] == ["strong", "possible"]
    assert {r["lot_warning"] for r in csv.DictReader(io.StringIO(tender_csv(result)))} == {""}


def test_json_carries_the_fit_band_and_the_warning():
    data = json.loads(dump_json(tender_dict(RESULT)))
    weak, strong = data["lots"]
    assert weak["no_good_match"] is True and weak["warning"] == RAIL_WARNING
    assert strong["no_good_match"] is False and strong["warning"] is None
    assert [(s["fit"], s["band"]) for s in weak["suggestions"]] == [(0.03, "weak"), (0.02, "weak")]
    assert [(s["fit"], s["band"]) for s in strong["suggestions"]] == [(0.81, "strong"), (0.43, "possible")]
    assert (data["overall"][0]["fit"], data["overall"][0]["band"]) == (0.04, "weak")


def test_csv_adds_fit_band_and_lot_warning_after_the_old_columns():
    text = tender_csv(RESULT)
    head = text.splitlines()[0].split(",")
    assert head[: len(OLD_HEAD)] == OLD_HEAD and head[-4:] == ["fit", "band", "lot_warning", "marks"]
    assert head[len(OLD_HEAD)] == "semantic"  # the parts keep their place
    rows = list(csv.DictReader(io.StringIO(text)))
    got = [(r["lot_id"], r["participant_id"], r["fit"], r["band"], r["lot_warning"]) for r in rows]
    assert got == [
        ("1", "A", "0.03", "weak", RAIL_WARNING),
        ("1", "B", "0.02", "weak", RAIL_WARNING),
        ("2", "C", "0.81", "strong", ""),
        ("2", "D", "0.43", "possible", ""),
        ("*", "C", "0.04", "weak", ""),
    ]


def test_a_lot_nobody_matches_says_so_in_every_format():
    result = tender(LotSuggestions("3", "Tunnel boring", ()), STRONG)
    note = 'no member matches "Tunnel boring"'
    assert f"⚠ {note}" in table_text(result)
    lot = tender_dict(result)["lots"][0]
    assert lot["no_good_match"] is True and lot["warning"] == note and lot["suggestions"] == []
    rows = list(csv.DictReader(io.StringIO(tender_csv(result))))
    assert [(r["lot_id"], r["participant_id"], r["lot_warning"]) for r in rows if r["lot_id"] == "3"] == [
        ("3", "", note)
    ]


def test_consortium_with_rankings_shows_the_fit_and_the_warning():
    teams = Teams(RESULT, (), {}, with_rankings=True)
    text = table_text(teams)
    assert f"⚠ {RAIL_WARNING}" in text and "0.81 strong" in text
    assert json.loads(dump_json(teams_dict(teams)))["lots"][0]["warning"] == RAIL_WARNING


def test_similar_has_no_fit_to_show():
    result = SimilarResult("A", None, (suggestion(1, "B", "Beta Signals", 0.4, None, None),), "m", "v1")
    out = io.StringIO()
    write(result, "table", Console(file=out, width=200), err=Console(file=io.StringIO()))
    assert "Fit" not in out.getvalue() and "⚠" not in out.getvalue()
    assert similar_dict(result)["suggestions"][0]["fit"] is None
    head = similar_csv(result).splitlines()[0].split(",")
    assert head[:5] == ["rank", "participant_id", "name", "kind", "score"] and "fit" not in head


def test_a_joint_holding_says_who_holds_and_what_each_partner_brings_in_every_format():
    from matcher.render import teams_csv
    from matcher.results import Assignment, Partner, Team

    lab = Partner("B", "subcontractor", ("Laboratory accreditation",), 0.0, 0.4)
    share = Partner("C", "co-holder", (), 0.45, 0.5)
    joint = Assignment("1", "A", 0.5, (lab, share), 0.55)
    team = Team(1, "A", ("A", "B", "C"), (joint,), 0.5, 0.0, (), (), "cp-sat", True)
    t = Tender("T-1", "Bridge", lots=(Lot("1", "Testing laboratory"),))
    found = Teams(TenderSuggestions(t, (), LotSuggestions("*", "", ()), "m", "v1"), (team,),
                  {"A": "Alpha", "B": "Beta Lab", "C": "Gamma"})  # fmt: skip
    text = " ".join(table_text(found).split())
    assert "✓ 0.50 holds 55%" in text and "+ subcontractor: Laboratory accreditation" in text
    assert "+ co-holder: 45% of the value" in text
    [a] = json.loads(dump_json(teams_dict(found)))["teams"][0]["assignments"]
    assert a["participant_id"] == "A" and a["holder_share"] == 0.55
    assert [(p["participant_id"], p["role"], p["brings"]) for p in a["partners"]] == [
        ("B", "subcontractor", "subcontractor: Laboratory accreditation"),
        ("C", "co-holder", "co-holder: 45% of the value"),
    ]
    [row] = list(csv.DictReader(io.StringIO(teams_csv(found))))
    assert row["participant_id"] == "A" and row["holder_share"] == "0.55"
    assert row["partners"] == "Beta Lab (subcontractor: Laboratory accreditation); Gamma (co-holder: 45% of the value)"


def test_parts_the_request_did_not_ask_about_are_told_by_their_flag_not_their_words():
    def with_codes(detail: str, asked: bool) -> Suggestion:
        parts = (ScorePart("semantic", 0.4, 0.5, 0.2, "cosine 0.40"), ScorePart("codes", 0.5, 0.2, 0.1, detail, asked))
        return Suggestion(1, "A", "Alpha", "contractor", 0.3, parts)

    # a part not asked about is no reason, whatever its words (a translation, a reworded phrase)
    assert short_reasons(with_codes("коды не запрошены", asked=False)) == "text similarity only"
    assert short_reasons(with_codes("2 of 2 codes, best 45221111-3", asked=True)).startswith("2 of 2 codes")
    data = suggestion_dict(with_codes("коды не запрошены", asked=False))
    assert data["parts"]["codes"]["asked"] is False and data["parts"]["semantic"]["asked"] is True
