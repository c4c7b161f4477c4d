"""The LightGBM ranker on the hand-made history of tests/data/history: its file, and serving it.

The contract every ranker keeps (parts add up, words, ties by id) is tests/test_ranker_contract.py.
"""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from matcher.errors import IndexCorrupt, ModelMismatch
from matcher.inputs.history import contracts_from_tables
from matcher.inputs.ocds import read_ocds
from matcher.rank.features import FEATURES
from matcher.rank.lambdarank import KIND, LambdaRankRanker, train
from matcher.rank.learned import LearnedRanker
from matcher.rank.pool import Pool
from matcher.rank.trained import load_ranker
from tests.fakes import HashingEmbedder
from tests.test_ranker_contract import DENSE, FIRMS, FULL, LEXICAL, SMALL_LIGHTGBM, YEAR

HISTORY = Path(__file__).parent / "data" / "history" / "small-history.jsonl"


@pytest.fixture(scope="module")
def contracts():
    tables = read_ocds([HISTORY])
    return contracts_from_tables(tables.tenders, tables.awards)


@pytest.fixture(scope="module")
def ranker(contracts) -> LambdaRankRanker:
    return train(contracts, date(2023, 1, 1), HashingEmbedder().encode, params=SMALL_LIGHTGBM)


def _scores(r) -> np.ndarray:
    return r.score(FULL, Pool(FIRMS), np.arange(len(FIRMS)), DENSE, LEXICAL, YEAR).total


def test_saved_lightgbm_ranker_gives_the_same_scores_and_is_json_with_lightgbm_text_not_pickle(ranker, tmp_path):
    path = tmp_path / "ranker.json"
    ranker.save(path)
    loaded = load_ranker(path)  # the one factory decides the kind from the file
    assert isinstance(loaded, LambdaRankRanker) and loaded.manifest == ranker.manifest
    np.testing.assert_array_equal(_scores(loaded), _scores(ranker))
    data = json.loads(path.read_text(encoding="utf-8"))  # the whole file is JSON
    assert data["kind"] == KIND and data["features"] == list(FEATURES)
    assert data["lightgbm_model"].startswith("tree\nversion=")  # LightGBM's own text model format
    assert not path.read_bytes().startswith(b"\x80")  # no pickle protocol header: plain UTF-8 text
    path.read_bytes().decode("utf-8")


def test_the_factory_loads_a_linear_ranker_as_before(contracts, tmp_path):
    from matcher.rank.learned import train as train_linear

    path = tmp_path / "ranker.json"
    linear = train_linear(contracts, date(2023, 1, 1), HashingEmbedder().encode)
    linear.save(path)
    assert isinstance(load_ranker(path), LearnedRanker)
    np.testing.assert_array_equal(_scores(load_ranker(path)), _scores(linear))


def test_a_lightgbm_file_with_other_features_or_a_broken_model_refuses_to_load(ranker, tmp_path):
    path = tmp_path / "ranker.json"
    ranker.save(path)
    data = json.loads(path.read_text())
    path.write_text(json.dumps(data | {"features": data["features"][:-1] + ["something_else"]}))
    with pytest.raises(ModelMismatch, match="retrain with `matcher train --kind lightgbm`"):
        load_ranker(path)
    path.write_text(json.dumps(data | {"lightgbm_model": "not a model"}))
    with pytest.raises(IndexCorrupt, match="retrain"):
        load_ranker(path)
    path.write_text(json.dumps(data | {"kind": "something"}))
    with pytest.raises(IndexCorrupt, match="unknown ranker kind"):
        load_ranker(path)


def test_training_twice_gives_the_same_model(contracts, ranker):
    again = train(contracts, date(2023, 1, 1), HashingEmbedder().encode, params=SMALL_LIGHTGBM)
    assert again.booster.model_to_string() == ranker.booster.model_to_string()


def test_parts_are_shap_contributions_with_the_expected_score_as_baseline(ranker):
    scored = ranker.score(FULL, Pool(FIRMS), np.arange(len(FIRMS)), DENSE, LEXICAL, YEAR)
    raw = ranker.booster.predict(np.column_stack([scored.values[f] for f in FEATURES]))
    np.testing.assert_allclose(scored.total, raw, atol=1e-9)
    assert len(set(np.round(scored.contributions["baseline"], 12))) == 1  # one expected score for every firm
    assert ranker.coef.sum() == pytest.approx(1.0) or ranker.coef.sum() == 0.0  # shares of gain
    assert ranker.unit_score(0.0) == 0.5 and ranker.unit_score(1e6) == 1.0 and ranker.unit_score(-1e6) < 1e-200


def test_a_workspace_trained_with_lightgbm_is_served_by_suggest(tmp_path):
    from matcher.search import Matcher, suggest
    from matcher.store.workspace import Workspace
    from matcher.train import train as train_workspace
    from tests.test_cli import run

    ws = tmp_path / "ws"
    history = tmp_path / "history.jsonl"
    shutil.copyfile(HISTORY, history)
    assert run("import-ocds", str(history), "-w", str(ws)).exit_code == 0
    assert run("index", "build", "-w", str(ws)).exit_code == 0
    ranker, path = train_workspace(Workspace(ws), kind="lightgbm")
    assert json.loads(path.read_text())["kind"] == KIND and ranker.manifest["embedding_model"]
    tender = tmp_path / "t.yaml"
    tender.write_text("id: T\ntitle: Bridge deck repair\nbuyer: National Roads Agency\nlots: []\n", encoding="utf-8")
    result = suggest(ws, str(tender), top_k=3)
    top = result.lots[0].suggestions[0]
    assert {"baseline", "bm25", "dense"} <= {p.name for p in top.parts}
    assert sum(p.contribution for p in top.parts) == pytest.approx(top.score, abs=2e-3)
    assert Matcher(Workspace(ws)).ranker.name == ranker.name == "learned (LightGBM)"


def test_train_help_names_the_default_kind():
    from matcher.rank.trained import DEFAULT_KIND
    from tests.test_cli import run

    assert f"default: {DEFAULT_KIND}" in " ".join(run("train", "--help").stdout.split())
