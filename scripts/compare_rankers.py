"""Compare learned rankers on the SECOP split: pointwise vs pairwise logistic regression, and gradient boosting.

Why the shipped ranker is pairwise logistic regression (docs/evaluation.md). All models are
trained on the same time-respecting training set (matcher.rank.learned.training_set) and judged on
the warm 2023 tenders over the same pool as `matcher eval`.

Run: .venv/bin/python scripts/compare_rankers.py [releases.jsonl]
"""

from __future__ import annotations

import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression

from matcher.embed.cache import EmbeddingCache
from matcher.embed.embedders import load_embedder
from matcher.eval import evaluation as ev
from matcher.eval.metrics import query_metrics, ranks_of_winners
from matcher.eval.split import split_history
from matcher.inputs.history import contracts_from_tables
from matcher.inputs.ocds import read_ocds
from matcher.rank.features import feature_matrix
from matcher.rank.learned import fit, training_set

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT.parent / "shared" / "data" / "secop-works" / "releases-2019-2023.jsonl"


def main() -> None:
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    tables = read_ocds([source])
    split = split_history(contracts_from_tables(tables.tenders, tables.awards), date(2023, 1, 1))
    cache = EmbeddingCache(load_embedder(None))
    ctx = ev.Context(split, [split.records[s].participant() for s in split.pool], cache.encode, "es")
    start = time.perf_counter()
    data = training_set(split.history, split.cutoff, cache.encode, "es")
    usable = data.queries - data.skipped
    seconds = time.perf_counter() - start
    print(f"training set: {len(data.y)} candidates, {int(data.y.sum())} winners, ", end="")
    print(f"{usable} of {data.queries} tenders usable ({seconds:.1f} s)")
    rows = np.arange(len(ctx.pool))
    dense, lexical = ev.dense_max(ctx), ev.bm25_shares(ctx)
    queries = [
        feature_matrix(ev.query_need(ctx, i), ctx.pool, rows, dense[i], lexical[i], q.date.year)
        for i, q in enumerate(split.queries)
    ]
    position = {s: i for i, s in enumerate(split.pool)}
    tiebreak = np.random.default_rng(0).permutation(len(split.pool))
    warm = [(i, [position[w] for w in q.winners if w in position]) for i, q in enumerate(split.queries)]
    warm = [(i, w) for i, w in warm if w]

    def judge(scores: list[np.ndarray]) -> str:
        m = [query_metrics(ranks_of_winners(scores[i], w, tiebreak), len(w)) for i, w in warm]
        return "  ".join(f"{k} {np.mean([x[k] for x in m]):.3f}" for k in ("recall@10", "mrr@10", "ndcg@10"))

    mean, scale = data.x.mean(axis=0), data.x.std(axis=0)
    scale[scale == 0] = 1.0
    pointwise = LogisticRegression(C=0.1, max_iter=3000).fit((data.x - mean) / scale, data.y)
    print("pointwise logistic regression  ", judge([pointwise.decision_function((x - mean) / scale) for x in queries]))
    pairwise = fit(data, window=(date(2019, 1, 1), split.cutoff))
    print(
        "pairwise logistic regression   ",
        judge([((x - pairwise.mean) / pairwise.scale) @ pairwise.coef for x in queries]),
    )
    boosted = HistGradientBoostingClassifier(learning_rate=0.05, max_iter=200, max_leaf_nodes=15, random_state=0)
    boosted.fit(data.x, data.y)
    print("gradient boosting (pointwise)  ", judge([boosted.predict_proba(x)[:, 1] for x in queries]))
    print("bm25 (for reference)           ", judge(list(lexical)))


if __name__ == "__main__":
    main()
