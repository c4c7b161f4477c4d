"""The learned ranker on the hand-made history of tests/data/history (see test_evaluation.py)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from matcher.errors import IndexCorrupt, ModelMismatch
from matcher.inputs.history import contracts_from_tables
from matcher.inputs.ocds import read_ocds
from matcher.rank.features import FEATURES
from matcher.rank.learned import LearnedRanker, fit, train, training_set
from matcher.rank.ranking import Need, Pool, rank
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
