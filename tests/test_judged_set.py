"""The sample's judged set (tests/data/judged/sample-lots.yaml) and the metrics of scripts/judged_eval.py.

Fast and without the model: the file is checked against the sample's members, and nDCG@10 and
P@5 against values computed by hand and against scikit-learn's nDCG (and trec_eval's, through
ir-measures, where it is installed).
"""

from __future__ import annotations

import csv
import importlib.util
import math
import random
import sys
from pathlib import Path

import numpy as np
import pytest

from matcher.inputs.tenders import parse_tender

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample" / "participants.csv"


def _script():
    spec = importlib.util.spec_from_file_location("judged_eval", ROOT / "scripts" / "judged_eval.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


judged_eval = _script()
LOTS = judged_eval.load_judged_set()
# each judged set and the number of lots it was planned to have
SETS = {judged_eval.JUDGED: (24, 30), judged_eval.HOLDOUT: (14, 18)}


@pytest.fixture(params=list(SETS), ids=lambda path: path.stem)
def judged(request):
    return request.param, judged_eval.load_judged_set(request.param)


with SAMPLE.open(encoding="utf-8", newline="") as f:
    MEMBERS = {row["id"]: row for row in csv.DictReader(f)}


# ------------------------------------------------------------------ the judged set


def test_every_judged_member_is_in_the_sample(judged) -> None:
    path, lots = judged
    unknown = {(lot.id, m) for lot in lots for m in lot.judgements if m not in MEMBERS}
    assert not unknown


def test_grades_are_1_or_2(judged) -> None:
    path, lots = judged
    bad = {(lot.id, m, g) for lot in lots for m, g in lot.judgements.items() if g not in (1, 2) or isinstance(g, bool)}
    assert not bad


def test_lot_ids_are_unique_and_the_set_has_the_planned_size(judged) -> None:
    path, lots = judged
    assert len({lot.id for lot in lots}) == len(lots)
    low, high = SETS[path]
    assert low <= len(lots) <= high


def test_every_lot_has_a_main_contractor_unless_it_has_no_good_match(judged) -> None:
    path, lots = judged
    for lot in lots:
        assert lot.judgements, f"{lot.id}: no judged member"
        best = max(lot.judgements.values())
        assert best == (1 if lot.no_good_match else 2), lot.id


def test_both_languages_both_cross_lingual_values_and_a_few_lots_without_a_match(judged) -> None:
    path, lots = judged
    languages = [lot.language for lot in lots]
    assert set(languages) == {"ru", "en"}
    assert abs(languages.count("ru") - languages.count("en")) <= 2  # half in each
    good = [lot for lot in lots if not lot.no_good_match]
    for language in ("ru", "en"):
        assert {lot.cross_lingual for lot in good if lot.language == language} == {True, False}, language
    assert 2 <= sum(lot.no_good_match for lot in lots) <= 3
    assert any(lot.synonyms for lot in lots)
    assert any(not lot.codes for lot in lots) and any(lot.codes for lot in lots)  # text alone must work on some


def test_cross_lingual_says_whether_most_main_contractors_write_the_other_language(judged) -> None:
    path, lots = judged
    for lot in lots:
        main = [m for m, g in lot.judgements.items() if g == 2]
        other = sum(MEMBERS[m]["language"] != lot.language for m in main)
        assert lot.cross_lingual == (2 * other > len(main)), lot.id


def test_every_lot_reads_as_a_one_lot_tender(judged) -> None:
    path, lots = judged
    for lot in lots:
        tender = judged_eval.lot_tender(lot)
        assert len(tender.lots) == 1 and tender.language == lot.language
        assert tender.lots[0].codes == lot.codes  # valid CPV codes with their check digits


def test_a_wrong_code_in_a_lot_is_caught_by_the_tender_validation() -> None:
    with pytest.raises(Exception, match="check digit"):
        parse_tender({"title": "x", "lots": [{"title": "x", "codes": ["45221119-0"]}]})


# ------------------------------------------------------------------ the metrics

GRADES = {"a": 2, "b": 1, "c": 1}
RANKED = ["x", "a", "b"]  # x is not judged relevant
# by hand: DCG = 0/log2(2) + 2/log2(3) + 1/log2(4); the ideal order is a, b, c: 2/log2(2) + 1/log2(3) + 1/log2(4)
HAND_NDCG = (2 / math.log2(3) + 1 / 2) / (2 + 1 / math.log2(3) + 1 / 2)


def test_ndcg_on_a_hand_computed_example() -> None:
    assert HAND_NDCG == pytest.approx(0.56273, abs=1e-5)
    assert judged_eval.ndcg_at_k(RANKED, GRADES) == pytest.approx(HAND_NDCG, abs=1e-12)


def test_the_example_tells_a_wrong_ndcg_from_the_right_one() -> None:
    """Each common mistake gives another value on the example, so the test above would fail on it."""
    wrong = {
        "no log discount": (0 + 2 + 1) / (2 + 1 + 1),
        "no ideal normalisation": 2 / math.log2(3) + 1 / 2,
        "exponential gains 2^g - 1": (3 / math.log2(3) + 1 / 2) / (3 + 1 / math.log2(3) + 1 / 2),
        "ideal from the returned members only": (2 / math.log2(3) + 1 / 2) / (2 + 1 / math.log2(3)),
        "discount log2(rank) from rank 1": (2 / math.log2(2) + 1 / math.log2(3)) / (2 + 1 + 1 / math.log2(3)),
    }
    for name, value in wrong.items():
        assert abs(value - HAND_NDCG) > 0.01, name  # the test above compares to 1e-12


def test_ndcg_edges() -> None:
    assert judged_eval.ndcg_at_k(["a", "b", "c"], GRADES) == pytest.approx(1.0)
    assert judged_eval.ndcg_at_k(["a", "c", "b"], GRADES) == pytest.approx(1.0)  # equal grades may swap
    assert judged_eval.ndcg_at_k(["x", "y"], GRADES) == 0.0
    assert judged_eval.ndcg_at_k([f"n{i}" for i in range(10)] + ["a"], GRADES) == 0.0  # rank 11 is past the cut
    assert judged_eval.ndcg_at_k(["c", "b", "a"], GRADES) < judged_eval.ndcg_at_k(["a", "b", "c"], GRADES)
    with pytest.raises(ValueError, match="undefined"):
        judged_eval.ndcg_at_k(["a"], {})


def test_precision_at_5_by_hand() -> None:
    assert judged_eval.precision_at_k(["a", "x", "b", "y", "c", "z"], GRADES) == pytest.approx(3 / 5)
    assert judged_eval.precision_at_k(["a", "b", "c"], GRADES) == pytest.approx(3 / 5)  # an empty place is a miss
    assert judged_eval.precision_at_k(["x", "y", "z", "w", "v", "a"], GRADES) == 0.0  # rank 6 is past the cut


def _random_cases(n: int = 200, seed: int = 7):
    rng = random.Random(seed)
    for _ in range(n):
        docs = [f"d{i}" for i in range(rng.randint(3, 30))]
        grades = {d: rng.choice((1, 2)) for d in rng.sample(docs, rng.randint(1, len(docs)))}
        ranking = rng.sample(docs, len(docs))
        yield docs, grades, ranking


def test_ndcg_agrees_with_scikit_learn() -> None:
    from sklearn.metrics import ndcg_score

    for docs, grades, ranking in _random_cases():
        position = {d: i for i, d in enumerate(ranking)}
        y_true = np.array([[grades.get(d, 0) for d in docs]], dtype=float)
        y_score = np.array([[len(docs) - position[d] for d in docs]], dtype=float)  # distinct: no ties
        assert judged_eval.ndcg_at_k(ranking, grades) == pytest.approx(ndcg_score(y_true, y_score, k=10), abs=1e-9)


def test_ndcg_and_precision_agree_with_trec_eval() -> None:
    ir_measures = pytest.importorskip("ir_measures")
    from ir_measures import P, nDCG

    qrels, run, ours = [], [], {}
    for q, (_docs, grades, ranking) in enumerate(_random_cases(60)):
        qrels += [ir_measures.Qrel(str(q), d, g) for d, g in grades.items()]
        run += [ir_measures.ScoredDoc(str(q), d, float(len(ranking) - i)) for i, d in enumerate(ranking)]
        ours[str(q)] = (judged_eval.ndcg_at_k(ranking, grades), judged_eval.precision_at_k(ranking, grades))
    for m in ir_measures.iter_calc([nDCG @ 10, P @ 5], qrels, run):
        expected = ours[m.query_id][0 if m.measure == nDCG @ 10 else 1]
        assert m.value == pytest.approx(expected, abs=1e-9), (m.query_id, str(m.measure))


# ------------------------------------------------------------------ the report


def test_report_groups_and_markers(tmp_path: Path) -> None:
    def ask(tender):
        from matcher.results import LotSuggestions, Suggestion

        lot = next(x for x in LOTS if x.id == tender.id)
        order = sorted(lot.judgements, key=lambda m: -lot.judgements[m])  # the judged order: a perfect ranking
        return LotSuggestions(
            "1", lot.title, tuple(Suggestion(i + 1, m, m, None, 0.5, ()) for i, m in enumerate(order))
        )

    results = judged_eval.evaluate(LOTS, ask)
    assert all(r.ndcg == pytest.approx(1.0) for r in results)
    body = judged_eval.report(results, "fake")
    assert "| all lots with a good match |" in body and "en-railway-signalling" in body
    doc = tmp_path / "evaluation.md"
    doc.write_text(f"# x\n\n## The sample's judged set\n\ntext\n\n{judged_eval.BEGIN}\nold\n{judged_eval.END}\n")
    judged_eval.write_between_markers(doc, body)
    judged_eval.write_between_markers(doc, body)  # twice: the same file
    text = doc.read_text()
    assert "old" not in text and text.count(judged_eval.BEGIN) == 1 and body in text and text.startswith("# x")
    doc.write_text("# no markers\n")
    with pytest.raises(SystemExit, match="add the two lines"):
        judged_eval.write_between_markers(doc, body)


def test_the_held_out_set_shares_no_lot_with_the_tuning_set() -> None:
    holdout = judged_eval.load_judged_set(judged_eval.HOLDOUT)
    assert not {lot.id for lot in holdout} & {lot.id for lot in LOTS}
    assert not {lot.title for lot in holdout} & {lot.title for lot in LOTS}
