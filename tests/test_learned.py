"""The learned ranker on the hand-made history of tests/data/history (see test_evaluation.py)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from matcher.errors import IndexCorrupt, InputError, ModelMismatch
from matcher.inputs.history import contracts_from_tables
from matcher.inputs.ocds import read_ocds
from matcher.rank.features import FEATURES
from matcher.rank.learned import LearnedRanker, fit, train, training_set
from matcher.rank.need import Need
from matcher.rank.pool import Pool
from matcher.rank.ranker import rank
from matcher.schema import Participant, Project
from tests.fakes import HashingEmbedder

HISTORY = Path(__file__).parent / "data" / "history" / "small-history.jsonl"


@pytest.fixture(scope="module")
def contracts():
    tables = read_ocds([HISTORY])
    return contracts_from_tables(tables.tenders, tables.awards)


def test_training_sees_each_tender_with_only_the_history_before_its_quarter(contracts):
    data = training_set(contracts, date(2023, 1, 1), HashingEmbedder().encode)
    # Q1 2022 is history only; Q2-Q4 hold 7 tenders. Only two winners had awards before their
    # quarter began: Asphalt Roads in April (after Q1), Bridgeworks in July (after May and June).
    # A leak of same-quarter history would also count Bridgeworks in June and Aqua Pipes in September.
    assert (data.queries, data.queries - data.skipped, data.windows) == (7, 2, 3)
    assert data.y.sum() == 2 and data.x.shape[1] == len(FEATURES)
    assert sum(data.sizes) == len(data.y)


@pytest.fixture(scope="module")
def ranker(contracts):
    return train(contracts, date(2023, 1, 1), HashingEmbedder().encode)


def test_saved_ranker_round_trips_exactly(ranker, tmp_path):
    path = tmp_path / "ranker.json"
    ranker.save(path)
    loaded = LearnedRanker.load(path)
    assert loaded.features == ranker.features
    np.testing.assert_array_equal(loaded.coef, ranker.coef)
    assert loaded.manifest["window"] == {"from": "2022-01-10", "until": "2023-01-01"}
    assert json.loads(path.read_text())["kind"] == "logistic-regression"  # JSON, not pickle


def test_a_ranker_trained_on_other_features_refuses_to_load(ranker, tmp_path):
    path = tmp_path / "ranker.json"
    ranker.save(path)
    data = json.loads(path.read_text())
    data["features"] = data["features"][:-1] + ["something_else"]
    path.write_text(json.dumps(data))
    with pytest.raises(ModelMismatch, match="retrain with `matcher train`"):
        LearnedRanker.load(path)
    path.write_text("not json")
    with pytest.raises(IndexCorrupt, match="invalid JSON"):
        LearnedRanker.load(path)


def test_learned_explanations_add_up_to_the_score(ranker):
    firms = [
        Participant(id=f"F{i}", name=f"F{i}", codes=("UNSPSC:72141000",),
                    projects=(Project("bridge deck repair", 2022, 1e8 * (i + 1), buyer="Roads"),) * i)
        for i in range(4)
    ]  # fmt: skip
    need = Need(codes=("UNSPSC:72141000",), value=2e8, buyer="Roads")
    ranked = rank(need, Pool(firms), np.arange(4), np.array([0.2, 0.4, 0.5, 0.3]), 4,
                  lexical=np.array([0.0, 1.0, 2.0, 3.0]), ranker=ranker, year=2023)  # fmt: skip
    for s in ranked:
        assert sum(p.contribution for p in s.parts) == pytest.approx(s.score, abs=1e-3)
        assert {p.name for p in s.parts} == {*FEATURES, "baseline"}
    assert [s.score for s in ranked] == sorted((s.score for s in ranked), reverse=True)


def test_learned_ranker_explains_features_in_the_parts_words_and_scales_scores_by_the_logistic(ranker):
    deck = Project("deck", 2022, 1e8, buyer="Roads")
    firm = Participant(id="F", name="F", codes=("UNSPSC:72141000",), projects=(deck,))
    need = Need(codes=("UNSPSC:72141000",), value=2e8, buyer="Roads")
    values = {f: 0.5 for f in FEATURES} | {"baseline": 1.0}
    words = ranker.explain(need, firm, values)
    assert words["dense"] == "cosine 0.50"
    assert words["bm25"] == "matches 50% of what the request's words can score (BM25)"
    assert words["buyer_count"] == "1 past contract for Roads" and words["codes_exact"].startswith("1/1 codes")
    assert words["value_fit"] == words["size"] == "value 200 m is 2.0x its largest (100 m)"
    assert words["recency"] == "0.5" and words["baseline"] == "1"  # no words: the value
    assert ranker.unit_score(0.0) == 0.5 and ranker.unit_score(2.0) == pytest.approx(1 / (1 + np.exp(-2.0)))


def test_a_workspace_without_a_trained_ranker_ranks_by_hand(tmp_path):
    from matcher.rank.hand import HandWeighted
    from matcher.search import _load_ranker
    from matcher.store.workspace import Workspace

    ws = Workspace(tmp_path / "ws")
    assert isinstance(_load_ranker(ws, "auto"), HandWeighted) and isinstance(_load_ranker(ws, "hand"), HandWeighted)
    with pytest.raises(InputError, match="run `matcher train`"):
        _load_ranker(ws, "learned")


def test_pairwise_fit_learns_the_direction_of_a_feature_that_separates_winners():
    rng = np.random.default_rng(0)
    sizes, xs, ys = [], [], []
    for _ in range(40):
        x = rng.random((20, len(FEATURES)))
        y = np.zeros(20, dtype=bool)
        y[np.argmax(x[:, FEATURES.index("bm25")])] = True  # the winner always has the best BM25
        xs.append(x)
        ys.append(y)
        sizes.append(20)
    from matcher.rank.learned import TrainingSet

    model = fit(
        TrainingSet(np.vstack(xs), np.concatenate(ys), sizes, 40, 1, 0), window=(date(2020, 1, 1), date(2021, 1, 1))
    )
    weights = dict(zip(model.features, model.coef))
    assert weights["bm25"] == max(weights.values()) and weights["bm25"] > 0
