"""Try candidate features for the learned ranker on SECOP, chosen on one year and checked on the next.

Issue 13 asked for richer features. This script adds each candidate to the shipped FEATURES, one
at a time and then all together, and retrains the pairwise logistic regression of `matcher train`
(matcher.rank.learned.fit) on the same time-respecting training set. It judges the warm tenders
after each cut-off over the whole pool, as `matcher eval` does. The choice is made on the
2022 cut-off (train on 2019-2021, judge 2022); 2023 is reported only.

The candidates:
  dense_mean   mean cosine over the firm's vectors (profile and past contracts), beside the best one
  dense_soft   log(1 + sum of max(0, cosine - 0.5)) over its vectors: how much of its record is this work
  rare_shared  IDF-weighted share of the request's rare words (in at most 2% of firms), place names and
               road numbers above all, that the firm's texts use
  coverage     IDF-weighted share of all the request's words the firm's texts use (no tf, no length norm)

Run: .venv/bin/python scripts/feature_trials.py [releases.jsonl]   (about a minute warm; prints a
markdown table: R@10 and MRR@10 with the candidate, and the paired change with its 95% interval)
"""

from __future__ import annotations

import dataclasses
import sys
from datetime import date
from pathlib import Path

import numpy as np

from matcher.embed.cache import EmbeddingCache
from matcher.embed.embedders import load_embedder
from matcher.eval import evaluation as ev
from matcher.eval.metrics import query_metrics, ranks_of_winners
from matcher.eval.split import split_history
from matcher.index.bm25 import LexicalIndex, tokens
from matcher.inputs.history import contracts_from_tables
from matcher.inputs.ocds import read_ocds
from matcher.rank import learned
from matcher.rank.features import FEATURES, feature_matrix

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT.parent / "shared" / "data" / "secop-works" / "releases-2019-2023.jsonl"
CANDIDATES = ("dense_mean", "dense_soft", "rare_shared", "coverage")
RARE = 0.02  # a word in at most this share of the firms is rare
SOFT_FLOOR = 0.5
CUTOFFS = (date(2022, 1, 1), date(2023, 1, 1))  # choose on the first, report the second
LANGUAGE = "es"


def candidates(index: LexicalIndex, text: str, rows: np.ndarray, sims: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """The candidate features of `rows` (columns in the order of CANDIDATES); `sims` is the request's
    cosine to every vector, `starts` where each firm's vectors begin."""
    counts = np.diff(np.r_[starts, len(sims)])
    mean = np.add.reduceat(sims, starts) / np.maximum(counts, 1)
    soft = np.log1p(np.add.reduceat(np.maximum(sims - SOFT_FLOOR, 0.0), starts))
    postings, vocabulary = index._matrix(), index._retriever.vocab_dict
    terms = {vocabulary[t] for t in tokens(text, LANGUAGE) if t in vocabulary}
    rare, cover = np.zeros(len(rows)), np.zeros(len(rows))
    rare_total = cover_total = 0.0
    for term in terms:
        df = postings.length(term)
        idf = float(np.log(index.n / df))
        present = postings.lookup(term, rows) > 0
        cover += idf * present
        cover_total += idf
        if df <= max(2, RARE * index.n):
            rare += idf * present
            rare_total += idf
    rare = rare / rare_total if rare_total else rare
    cover = cover / cover_total if cover_total else cover
    return np.column_stack([mean[rows], soft[rows], rare, cover])


_shipped = learned._Window.features


def _with_candidates(self, need, rows, dense, lexical, first, query):  # learned._Window.features, plus CANDIDATES
    base = _shipped(self, need, rows, dense, lexical, first, query)
    return np.hstack([base, candidates(self.lexical, first.text, rows, self.contract_vectors @ query, self.starts)])


def trial(source: Path, cutoff: date) -> dict[str, np.ndarray]:
    """Per warm tender, [R@10, MRR@10] of the ranker trained with each set of features."""
    learned._Window.features = _with_candidates
    tables = read_ocds([source])
    split = split_history(contracts_from_tables(tables.tenders, tables.awards), cutoff)
    cache = EmbeddingCache(load_embedder("minilm"))
    ctx = ev.Context(split, [split.records[s].participant() for s in split.pool], cache.encode, LANGUAGE)
    data = learned.training_set(split.history, split.cutoff, cache.encode, LANGUAGE)
    rows = np.arange(len(ctx.pool))
    dense, lexical = ev.dense_max(ctx), ev.bm25_shares(ctx)
    vectors, owners = ctx.firm_vectors()
    starts = np.searchsorted(owners, np.arange(len(split.pool)))
    query_vectors = ctx.query_vectors()
    queries = [
        np.hstack([
            feature_matrix(ev.query_need(ctx, i), ctx.pool, rows, dense[i], lexical[i], q.date.year),
            candidates(ctx.lexical, q.text, rows, vectors @ query_vectors[i], starts),
        ])
        for i, q in enumerate(split.queries)
    ]  # fmt: skip
    position = {s: i for i, s in enumerate(split.pool)}
    tiebreak = np.random.default_rng(0).permutation(len(split.pool))
    warm = [(i, [position[w] for w in q.winners if w in position]) for i, q in enumerate(split.queries)]
    warm = [(i, w) for i, w in warm if w]
    n = len(FEATURES)

    def judge(columns: list[int]) -> np.ndarray:
        model = learned.fit(dataclasses.replace(data, x=data.x[:, columns]), window=(date(2019, 1, 1), cutoff))
        scores = [((x[:, columns] - model.mean) / model.scale) @ model.coef for x in queries]
        found = [query_metrics(ranks_of_winners(scores[i], w, tiebreak), len(w)) for i, w in warm]
        return np.array([[m["recall@10"], m["mrr@10"]] for m in found])

    out = {"shipped features": judge(list(range(n)))}
    for j, name in enumerate(CANDIDATES):
        out[f"+ {name}"] = judge([*range(n), n + j])
    out["+ all four"] = judge(list(range(n + len(CANDIDATES))))
    return out


def interval(delta: np.ndarray, resamples: int = 1000) -> tuple[float, float]:
    """The paired bootstrap's 95% interval of a mean change over tenders."""
    rng = np.random.default_rng(0)
    means = [delta[rng.integers(0, len(delta), len(delta))].mean() for _ in range(resamples)]
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def main() -> None:
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    results = {cutoff: trial(source, cutoff) for cutoff in CUTOFFS}
    head = " | ".join(f"{c.year} R@10 | {c.year} Δ R@10 [95%] | {c.year} MRR@10" for c in CUTOFFS)
    print(f"| features | {head} |\n|---|" + "---:|" * (3 * len(CUTOFFS)))
    for name in results[CUTOFFS[0]]:
        cells = []
        for cutoff in CUTOFFS:
            got, base = results[cutoff][name], results[cutoff]["shipped features"]
            delta = got[:, 0] - base[:, 0]
            low, high = interval(delta)
            change = f"{delta.mean():+.3f} [{low:+.3f}, {high:+.3f}]"
            cells += [f"{got[:, 0].mean():.3f}", change, f"{got[:, 1].mean():.3f}"]
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
