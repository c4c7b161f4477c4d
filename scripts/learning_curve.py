"""Learning curve: quarters of training history vs warm R@10 on the project's split (reporting, not tuning).

Builds the time-respecting training set before the cut-off once, then fits the linear and the
LightGBM ranker (settings fixed beforehand, matcher.rank.lambdarank.PARAMS) on the tenders of
the last N quarters only, each still seen with all history before its quarter, and reports warm
R@10 and MRR@10 on the tenders after the cut-off.

    PYTHONPATH=. .venv/bin/python scripts/learning_curve.py /work/shared/data/secop-works/releases-2019-2023.jsonl
"""

from __future__ import annotations

import sys
from datetime import date

import numpy as np

from matcher.eval.evaluation import Context, _judge, embedding_cache, ranker_scores
from matcher.eval.split import split_history
from matcher.inputs.history import contracts_from_tables, history_language
from matcher.inputs.ocds import read_ocds
from matcher.rank import lambdarank, learned

CUTOFF = date(2023, 1, 1)


def main(path: str) -> None:
    tables = read_ocds([path])
    contracts = contracts_from_tables(tables.tenders, tables.awards)
    language = history_language(tables.tenders)
    encode = embedding_cache().encoder(None)
    split = split_history(contracts, CUTOFF)
    ctx = Context(split, [split.records[s].participant() for s in split.pool], encode, language)
    data = learned.training_set(split.history, CUTOFF, encode, language)
    position = {sid: i for i, sid in enumerate(split.pool)}
    tiebreak = np.random.default_rng(0).permutation(len(split.pool))
    window = (min(c.date for c in split.history if c.date), CUTOFF)
    print("| quarters | tenders | linear R@10 | linear MRR@10 | LightGBM R@10 | LightGBM MRR@10 |")
    print("|---|---|---|---|---|---|")
    for quarters in (4, 8, data.windows):
        subset = learned.last_quarters(data, quarters)
        cells = []
        for ranker in (learned.fit(subset, window=window), lambdarank.fit(subset, window=window)):
            _, warm = _judge(ranker_scores(ctx, ranker), split.queries, position, tiebreak)
            cells += [f"{np.mean(warm['recall@10']):.3f}", f"{np.mean(warm['mrr@10']):.3f}"]
        print(f"| {quarters} | {subset.queries} | " + " | ".join(cells) + " |", flush=True)
    importance = sorted(zip(ranker.features, ranker.coef), key=lambda fw: -fw[1])
    print("\nLightGBM on all quarters, share of gain: " + ", ".join(f"{f} {w:.3f}" for f, w in importance))


if __name__ == "__main__":
    main(sys.argv[1])
