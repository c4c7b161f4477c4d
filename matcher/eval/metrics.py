"""Ranking metrics with binary relevance (recall@k, MRR@10, nDCG@10) and percentile-bootstrap intervals."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

KS = (1, 5, 10)
METRICS = ("recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10")


def ranks_of_winners(scores: np.ndarray, winners: Sequence[int], tiebreak: np.ndarray) -> list[int]:
    """1-based rank of each winner (pool position) under the scores, ties broken by `tiebreak`."""
    out = []
    for w in winners:
        s = scores[w]
        out.append(1 + int(np.sum(scores > s)) + int(np.sum((scores == s) & (tiebreak < tiebreak[w]))))
    return out


def query_metrics(ranks: Sequence[int], n_relevant: int) -> dict[str, float]:
    """Recall@k, reciprocal rank within 10 and nDCG@10 for one query (binary relevance).

    `ranks` are the ranks of the relevant items that are in the pool; relevant items outside
    it (winners without history) count in `n_relevant` and are never found.
    """
    out = {f"recall@{k}": sum(1 for r in ranks if r <= k) / n_relevant for k in KS}
    first = min(ranks, default=math.inf)
    out["mrr@10"] = 1.0 / first if first <= 10 else 0.0
    dcg = sum(1.0 / math.log2(r + 1) for r in ranks if r <= 10)
    ideal = sum(1.0 / math.log2(i + 1) for i in range(1, min(n_relevant, 10) + 1))
    out["ndcg@10"] = dcg / ideal if ideal else 0.0
    return out


def bootstrap_interval(values: np.ndarray, n: int = 1000, seed: int = 0) -> tuple[float, float, float]:
    """Mean and 95% percentile-bootstrap interval over queries."""
    if len(values) == 0:
        return math.nan, math.nan, math.nan
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), size=(n, len(values)))].mean(axis=1)
    return float(values.mean()), float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))
