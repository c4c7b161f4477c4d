"""Choose the LightGBM ranker's settings on earlier history, never on the test year.

Trains on the quarters before 2022-01-01 (each seen with only the awards before it), validates
on 2022's tenders only (profiles from awards before 2022; 2023 is dropped before anything is
read), and prints warm R@10 and MRR@10 for every setting of a small grid, best first. The chosen
values go into matcher/rank/lambdarank.py's PARAMS; `matcher eval --cutoff 2023-01-01` then
reports on 2023.

    PYTHONPATH=. .venv/bin/python scripts/tune_lambdarank.py /work/shared/data/secop-works/releases-2019-2023.jsonl
"""

from __future__ import annotations

import itertools
import sys
import time
from datetime import date

import numpy as np

from matcher.eval import evaluation as ev
from matcher.eval.evaluation import Context, _judge, dense_max, embedding_cache
from matcher.eval.split import split_history
from matcher.inputs.history import contracts_from_tables, history_language
from matcher.inputs.ocds import read_ocds
from matcher.rank.features import feature_matrix
from matcher.rank.lambdarank import fit
from matcher.rank.learned import training_set

VALIDATION = date(2022, 1, 1)  # train before it, validate on the year from it
TEST = date(2023, 1, 1)  # nothing from here on is read
GRID = {
    "num_boost_round": (100, 300),
    "num_leaves": (7, 15, 31),
    "learning_rate": (0.03, 0.1),
    "min_data_in_leaf": (20, 50),
}


def main(path: str) -> None:
    tables = read_ocds([path])
    contracts = [c for c in contracts_from_tables(tables.tenders, tables.awards) if c.date and c.date < TEST]
    language = history_language(tables.tenders)
    encode = embedding_cache().encoder(None)
    split = split_history(contracts, VALIDATION)
    ctx = Context(split, [split.records[s].participant() for s in split.pool], encode, language)
    data = training_set(split.history, VALIDATION, encode, language)
    print(f"training: {data.queries - data.skipped} of {data.queries} tenders before {VALIDATION}; "
          f"validation: {int(split.warm.sum())} warm of {len(split.queries)} tenders of 2022")  # fmt: skip
    position = {sid: i for i, sid in enumerate(split.pool)}
    tiebreak = np.random.default_rng(0).permutation(len(split.pool))
    window = (min(c.date for c in split.history if c.date), VALIDATION)
    features = _features(ctx)
    rows = []
    for values in itertools.product(*GRID.values()):
        params = dict(zip(GRID, values))
        start = time.perf_counter()
        ranker = fit(data, window=window, params=params)
        scores = np.stack([ranker.booster.predict(x) for x in features])  # the total, without the parts: faster
        _, warm = _judge(scores, split.queries, position, tiebreak)
        rows.append((float(np.mean(warm["recall@10"])), float(np.mean(warm["mrr@10"])), params))
        print(f"{rows[-1][0]:.3f} {rows[-1][1]:.3f} {params} ({time.perf_counter() - start:.0f} s)", flush=True)
    print("\nbest first (warm R@10, MRR@10 on 2022):")
    for r10, mrr, params in sorted(rows, key=lambda r: (-r[0], -r[1])):
        print(f"  {r10:.3f} {mrr:.3f} {params}")


def _features(ctx: Context) -> list[np.ndarray]:
    """Every validation query's feature matrix over the whole pool, as the evaluation scores it."""
    rows = np.arange(len(ctx.pool))
    sims, lexical = dense_max(ctx), ev.bm25_shares(ctx)
    return [
        feature_matrix(ev.query_need(ctx, i), ctx.pool, rows, sims[i], lexical[i], q.date.year)
        for i, q in enumerate(ctx.split.queries)
    ]


if __name__ == "__main__":
    main(sys.argv[1])
