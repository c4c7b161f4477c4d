"""A gradient-boosted ranker: LightGBM ``lambdarank`` over the features of matcher.rank.features.

It learns from the same time-respecting training set as the linear ranker
(:func:`matcher.rank.learned.training_set`: calendar quarters, each quarter's tenders seen with
only the awards before it, candidates from the serving rule). Its explanation is the tree
model's own: LightGBM's ``pred_contrib`` splits every score into one contribution per feature
(SHAP values) plus the model's expected score, shown as the ``baseline`` part, and these add up
to the score exactly as the linear ranker's terms do.

Saved without pickle: LightGBM's own text model (``Booster.model_to_string``) inside the same
JSON file as the linear ranker's, ``<workspace>/models/ranker.json``, with ``"kind":
"lightgbm-lambdarank"``; :func:`matcher.rank.trained.load_ranker` reads either kind.

The settings below were chosen on earlier history only (scripts/tune_lambdarank.py: trained on
the SECOP quarters before 2022-01-01, validated on 2022's tenders by warm R@10; 2023 never
looked at). lightgbm is imported inside the functions that need it, so `matcher --help` does not
load it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from matcher.errors import IndexCorrupt, InputError
from matcher.inputs.history import Contract
from matcher.rank.features import FEATURE_WORDS, FEATURES, feature_matrix
from matcher.rank.learned import BASELINE, MODEL_FORMAT, TrainingSet, check_features, training_set
from matcher.rank.need import Need
from matcher.rank.parts import Scored, explain_parts
from matcher.rank.pool import Pool
from matcher.schema import Participant
from matcher.store.files import atomic_write_text
from matcher.threads import thread_count

if TYPE_CHECKING:
    import lightgbm

KIND = "lightgbm-lambdarank"
SEED = 0
# Chosen by scripts/tune_lambdarank.py on SECOP: trained on the quarters before 2022-01-01 (572
# tenders with a known winner among the candidates), validated on 2022's 203 warm tenders; 2023
# was never read. Best warm R@10 0.586 (MRR@10 0.377, the best MRR of the three tied at 0.586);
# the smallest trees won: more leaves or rounds fit 2021 better and 2022 worse.
#   PYTHONPATH=. .venv/bin/python scripts/tune_lambdarank.py /work/shared/data/secop-works/releases-2019-2023.jsonl
# grid (scripts/tune_lambdarank.py GRID): rounds {100, 300} x leaves {7, 15, 31} x learning rate
# {0.03, 0.1} x min data in leaf {20, 50}
PARAMS: dict[str, Any] = {"num_boost_round": 100, "num_leaves": 7, "learning_rate": 0.03, "min_data_in_leaf": 50}


def booster_params(num_leaves: int, learning_rate: float, min_data_in_leaf: int) -> dict[str, Any]:
    """LightGBM's parameters for a deterministic lambdarank fit (same model on every run and machine)."""
    return {
        "objective": "lambdarank",
        "metric": "ndcg",
        "eval_at": [10],
        "num_leaves": num_leaves,
        "learning_rate": learning_rate,
        "min_data_in_leaf": min_data_in_leaf,
        "min_sum_hessian_in_leaf": 1e-6,
        "deterministic": True,
        "force_row_wise": True,  # with deterministic: no choice between histogram layouts that could differ
        "seed": SEED,
        "num_threads": thread_count(),
        "verbose": -1,
    }


@dataclass
class LambdaRankRanker:
    """Score = LightGBM's raw lambdarank score; its parts are the per-feature contributions (pred_contrib)."""

    booster: lightgbm.Booster
    features: tuple[str, ...] = FEATURES
    manifest: dict[str, Any] = field(default_factory=dict)
    name: str = "learned (LightGBM)"

    def score(
        self, need: Need, pool: Pool, rows: np.ndarray, dense: np.ndarray, lexical: np.ndarray | None, year: int | None
    ) -> Scored:
        x = feature_matrix(need, pool, rows, dense, lexical, year)
        if len(rows):
            contrib = np.asarray(self.booster.predict(x, pred_contrib=True, num_threads=thread_count()))
        else:
            contrib = np.zeros((0, len(self.features) + 1))
        total = contrib.sum(axis=1)
        values = {f: x[:, i] for i, f in enumerate(self.features)}
        parts = {f: contrib[:, i] for i, f in enumerate(self.features)}
        values[BASELINE] = np.ones(len(rows))
        parts[BASELINE] = contrib[:, -1]
        # a tree has no one weight per feature: the weight shown is its share of the model's total gain
        weights = {f: float(w) for f, w in zip(self.features, self.coef)} | {BASELINE: 1.0}
        return Scored(total, values, parts, weights)

    def explain(self, need: Need, firm: Participant, values: Mapping[str, float]) -> dict[str, str]:
        return explain_parts(need, firm, values, FEATURE_WORDS)

    def totals(self, x: np.ndarray) -> np.ndarray:
        """The scores of rows of features (in the order of FEATURES), as :meth:`score` gives them."""
        return np.asarray(self.booster.predict(x, num_threads=thread_count())) if len(x) else np.zeros(0)

    def unit_score(self, score: float) -> float:
        """The logistic of the score: lambdarank models σ(s_i − s_j) as the chance that i beats j, so this is
        the chance of beating a candidate that scores 0. A monotone 0..1 scale, not a calibrated probability."""
        return 1.0 / (1.0 + math.exp(-max(min(score, 500.0), -500.0)))

    @property
    def coef(self) -> np.ndarray:
        """Each feature's share of the total split gain (the tree model's feature importance)."""
        gain = np.asarray(self.booster.feature_importance(importance_type="gain"), dtype=np.float64)
        return gain / gain.sum() if gain.sum() > 0 else gain

    # --- files ---------------------------------------------------------------------

    def save(self, path: Path) -> None:
        import json

        data = {
            "format": MODEL_FORMAT,
            "kind": KIND,
            "features": list(self.features),
            "manifest": self.manifest,
            "lightgbm_model": self.booster.model_to_string(),  # LightGBM's own text format, not pickle
        }
        atomic_write_text(path, json.dumps(data, indent=2, ensure_ascii=False))

    @classmethod
    def from_data(cls, data: Mapping[str, Any], path: Path, features: Sequence[str] = FEATURES) -> LambdaRankRanker:
        """The ranker of a parsed ranker file (see :func:`matcher.rank.learned.read_model_file`)."""
        import lightgbm

        if data.get("kind") != KIND or not isinstance(data.get("lightgbm_model"), str):
            raise IndexCorrupt(f"{path}: not a LightGBM ranker file; retrain with `matcher train --kind lightgbm`")
        check_features(data, path, features, "`matcher train --kind lightgbm`")
        try:
            booster = lightgbm.Booster(model_str=data["lightgbm_model"])
        except lightgbm.basic.LightGBMError as e:
            raise IndexCorrupt(
                f"{path}: the LightGBM model does not load ({e}); retrain with `matcher train`"
            ) from None
        if booster.num_feature() != len(features):
            raise IndexCorrupt(f"{path}: the LightGBM model does not match the feature list; retrain")
        return cls(booster, tuple(features), dict(data.get("manifest", {})))


# --- training ----------------------------------------------------------------------------


def fit(data: TrainingSet, *, window: tuple[date, date], params: Mapping[str, Any] | None = None) -> LambdaRankRanker:
    """LightGBM lambdarank on the training set's queries (one group per tender, winners labelled 1)."""
    import lightgbm

    settings = dict(PARAMS) | dict(params or {})
    rounds = int(settings.pop("num_boost_round"))
    train_data = lightgbm.Dataset(
        data.x, label=data.y.astype(np.int32), group=data.sizes, feature_name=list(FEATURES), free_raw_data=False
    )
    booster = lightgbm.train(booster_params(**settings), train_data, num_boost_round=rounds)
    pairs = 0
    start = 0
    for size in data.sizes:
        winners = int(data.y[start : start + size].sum())
        pairs += winners * (size - winners)
        start += size
    manifest = {
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "window": {"from": window[0].isoformat(), "until": window[1].isoformat()},
        "queries": data.queries,
        "queries_used": data.queries - data.skipped,
        "examples": int(len(data.y)),
        "positives": int(data.y.sum()),
        "pairs": pairs,
        "windows": data.windows,
        "model": f"LightGBM {lightgbm.__version__} lambdarank, {rounds} rounds, {settings}",
    }
    return LambdaRankRanker(booster, FEATURES, manifest)


def train(
    contracts: Sequence[Contract],
    until: date,
    vectors: Callable[..., np.ndarray],
    language: str = "en",
    progress: Callable[[str], None] | None = None,
    params: Mapping[str, Any] | None = None,
) -> LambdaRankRanker:
    """Build the time-respecting training set from history before `until` and fit the lambdarank model."""
    data = training_set(contracts, until, vectors, language, progress)
    dated = [c.date for c in contracts if c.date is not None]
    if not dated:
        raise InputError(f"no dated awards before {until} to train on")
    return fit(data, window=(min(dated), until), params=params)
