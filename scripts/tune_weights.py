"""Grid search for the weights of the suggest ranking on one history split (how SUGGEST_WEIGHTS were chosen).

Scores every warm SECOP tender of the tuning year with each combination of the semantic,
lexical, buyer, codes and size weights, and prints the best by nDCG@10. The default cut-off
(2022-01-01: awards of 2019-2021 build the pool, tenders of 2022 are the queries) lies a year
before the evaluation's (2023-01-01), so that weights are chosen on 2022 and reported on 2023;
pick a setting in the flat region near the top rather than the single best.

With MATCHER_TUNE_MODEL=e5 the search runs on e5's cosines instead of MiniLM's: on 2022 it
prefers semantic and lexical at about equal weight, (0.2, 0.2, 0.3, 0.0, 0.04), nDCG@10 0.392
against 0.381 for SUGGEST_WEIGHTS; on the sample's tuning judged set that ratio gains 0.008
nDCG@10, within the noise, so one set of weights serves both models.

Run: .venv/bin/python scripts/tune_weights.py [releases.jsonl] [cutoff]
"""

from __future__ import annotations

import itertools
import os
import sys
from datetime import date
from pathlib import Path

import numpy as np

from matcher.embed.cache import EmbeddingCache
from matcher.embed.embedders import load_embedder
from matcher.eval import evaluation as ev
from matcher.eval.metrics import query_metrics, ranks_of_winners
from matcher.eval.split import split_history
from matcher.inputs.history import contracts_from_tables
from matcher.inputs.ocds import read_ocds
from matcher.rank.hand import score_parts
from matcher.rank.need import SUGGEST_WEIGHTS, Need

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT.parent / "shared" / "data" / "secop-works" / "releases-2019-2023.jsonl"
PARTS = ("semantic", "lexical", "buyer", "codes", "size")
GRID = ([0.1, 0.2, 0.3], [0.2, 0.3, 0.4, 0.5], [0.1, 0.2, 0.3, 0.4], [0.0, 0.05, 0.1, 0.2], [0.0, 0.04])


def main() -> None:
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    cutoff = date.fromisoformat(sys.argv[2]) if len(sys.argv) > 2 else date(2022, 1, 1)
    tables = read_ocds([source])
    split = split_history(contracts_from_tables(tables.tenders, tables.awards), cutoff)
    model = os.environ.get("MATCHER_TUNE_MODEL")  # e.g. e5: the weights a multilingual index would earn
    cache = EmbeddingCache(load_embedder(model))
    language = tables.tenders["language"].drop_nulls().mode().to_list()[0]
    ctx = ev.Context(
        split, [split.records[s].participant() for s in split.pool], cache.encode, language, cache.embedder.name
    )
    rows = np.arange(len(ctx.pool))
    dense, lexical = ev.rescale_similarity(ctx.model, ev.dense_max(ctx)), ev.bm25_shares(ctx)
    values = {p: np.zeros(dense.shape) for p in PARTS}
    for i, q in enumerate(split.queries):
        _, parts = score_parts(Need(codes=q.codes, value=q.value, buyer=q.buyer), ctx.pool, rows, dense[i], lexical[i])
        for p in PARTS:
            values[p][i] = parts.get(p, 0.5)
    position = {s: i for i, s in enumerate(split.pool)}
    tiebreak = np.random.default_rng(0).permutation(len(split.pool))
    warm = [(i, [position[w] for w in q.winners if w in position]) for i, q in enumerate(split.queries)]
    warm = [(i, w) for i, w in warm if w]

    def judge(scores: np.ndarray) -> tuple[float, float, float]:
        m = [query_metrics(ranks_of_winners(scores[i], w, tiebreak), len(w)) for i, w in warm]
        return tuple(float(np.mean([x[k] for x in m])) for k in ("ndcg@10", "mrr@10", "recall@10"))  # type: ignore[return-value]

    results = []
    for weights in itertools.product(*GRID):
        results.append((judge(sum(w * values[p] for w, p in zip(weights, PARTS))), weights))
    results.sort(key=lambda r: -r[0][0])
    current = tuple(SUGGEST_WEIGHTS[p] for p in PARTS)
    ndcg, mrr, r10 = judge(sum(w * values[p] for w, p in zip(current, PARTS)))
    print(f"SUGGEST_WEIGHTS: nDCG@10 {ndcg:.3f}  MRR@10 {mrr:.3f}  R@10 {r10:.3f}  {current}")
    print("nDCG@10  MRR@10  R@10   weights (" + ", ".join(PARTS) + ")")
    for (ndcg, mrr, r10), weights in results[:15]:
        print(f"{ndcg:.3f}    {mrr:.3f}   {r10:.3f}  {weights}")


if __name__ == "__main__":
    main()
