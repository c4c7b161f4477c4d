"""The evaluation on a small hand-made history whose right answers are known (see tests/data/history).

Before 2023: Asphalt Roads won 4 awards, Bridgeworks 3 (all from the National Roads Agency),
Aqua Pipes 2 (City Water Utility), School Builders 1 (Education Department). In 2023 each of
them wins again from its usual buyer with a text like its past work, and Hospital Makers, a
firm without history, wins a hospital (a cold tender).
"""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from matcher.eval.evaluation import METHODS, evaluate
from matcher.eval.metrics import METRICS, bootstrap_interval, query_metrics, ranks_of_winners
from matcher.eval.split import split_history
from matcher.inputs.history import contracts_from_tables
from matcher.inputs.ocds import read_ocds
from matcher.render.plain import eval_dict
from tests.fakes import HashingEmbedder

HISTORY = Path(__file__).parent / "data" / "history" / "small-history.jsonl"
CUTOFF = date(2023, 1, 1)
ROAD, BRIDGE, WATER, SCHOOL, NEW = (f"CO-RUE-90000000{i}" for i in range(1, 6))


@pytest.fixture(scope="module")
def contracts():
    tables = read_ocds([HISTORY])
    return contracts_from_tables(tables.tenders, tables.awards)


@pytest.fixture(scope="module")
def report(contracts):
    return evaluate(contracts, CUTOFF, HashingEmbedder(128).encode, bootstrap=200, language="en")


def test_split_puts_awards_before_the_cutoff_in_the_pool_and_later_tenders_in_the_queries(contracts):
    split = split_history(contracts, CUTOFF)
    assert split.train_awards == 10
    assert split.pool == [ROAD, BRIDGE, WATER, SCHOOL]
    assert [sorted(q.winners) for q in split.queries] == [[BRIDGE], [WATER], [SCHOOL], [NEW]]
    assert split.warm.tolist() == [True, True, True, False]
    assert [len(split.records[s].contracts) for s in split.pool] == [4, 3, 2, 1]


def test_hand_computed_metrics():
    # winner at rank 2 of one relevant item
    m = query_metrics([2], 1)
    assert (m["recall@1"], m["recall@5"], m["mrr@10"]) == (0.0, 1.0, 0.5)
    assert m["ndcg@10"] == pytest.approx(1 / math.log2(3))
    # two winners at ranks 1 and 12, plus one winner outside the pool (never found)
    m = query_metrics([1, 12], 3)
    assert m["recall@1"] == pytest.approx(1 / 3) and m["recall@10"] == pytest.approx(1 / 3)
    assert m["mrr@10"] == 1.0
    assert m["ndcg@10"] == pytest.approx(1.0 / (1 + 1 / math.log2(3) + 1 / math.log2(4)))
    assert query_metrics([], 1) == {"recall@1": 0, "recall@5": 0, "recall@10": 0, "mrr@10": 0, "ndcg@10": 0}


def test_ties_are_broken_by_the_fixed_order_not_in_the_winners_favour():
    scores = np.array([1.0, 1.0, 1.0, 0.5])
    assert ranks_of_winners(scores, [1], tiebreak=np.array([0, 2, 1, 3])) == [3]
    assert ranks_of_winners(scores, [1], tiebreak=np.array([2, 0, 1, 3])) == [1]
    assert ranks_of_winners(scores, [3], tiebreak=np.array([0, 1, 2, 3])) == [4]


def test_bootstrap_interval_contains_the_mean_and_narrows_with_more_queries():
    rng = np.random.default_rng(1)
    few, many = rng.random(20), rng.random(2000)
    mean, low, high = bootstrap_interval(few, 500)
    assert low < mean < high and mean == pytest.approx(few.mean())
    _, low2, high2 = bootstrap_interval(many, 500)
    assert high2 - low2 < (high - low) / 4


def test_the_paired_interval_agrees_with_scipys_percentile_bootstrap():
    """The intervals of the evaluation's differences (learned − BM25 per tender) checked against
    scipy.stats.bootstrap, percentile method, on paired differences like SECOP's: 0/1 hits."""
    from scipy.stats import bootstrap

    rng = np.random.default_rng(7)
    learned, bm25 = rng.random(400) < 0.57, rng.random(400) < 0.53
    differences = learned.astype(float) - bm25.astype(float)
    mean, low, high = bootstrap_interval(differences, 4000, seed=3)
    theirs = bootstrap((differences,), np.mean, n_resamples=4000, method="percentile", random_state=11)
    assert mean == pytest.approx(differences.mean())
    # two Monte Carlo estimates of the same interval: within a few thousandths of each other
    assert low == pytest.approx(theirs.confidence_interval.low, abs=0.008)
    assert high == pytest.approx(theirs.confidence_interval.high, abs=0.008)


def by_name(report):
    return {m.name: m for m in report.methods}


def test_popularity_ranks_winners_by_their_award_counts(report):
    # warm winners: Bridgeworks rank 2 (after Asphalt Roads), Aqua Pipes 3, School Builders 4
    pop = by_name(report)["popularity"]
    assert pop.warm["recall@1"][0] == 0.0
    assert pop.warm["recall@5"][0] == 1.0
    assert pop.warm["mrr@10"][0] == pytest.approx((1 / 2 + 1 / 3 + 1 / 4) / 3)
    assert pop.all["mrr@10"][0] == pytest.approx((1 / 2 + 1 / 3 + 1 / 4) / 4)  # the cold tender counts as a miss
    assert pop.all["recall@5"][0] == pytest.approx(0.75)


@pytest.mark.parametrize(
    "method", ["buyer history", "bm25", "dense: max over profile and contracts", "suggest (hybrid)"]
)
def test_methods_that_see_buyer_or_text_put_every_warm_winner_first(report, method):
    result = by_name(report)[method]
    assert result.warm["recall@1"][0] == 1.0, method
    assert result.all["recall@1"][0] == pytest.approx(0.75)  # ceiling: 3 of 4 tenders are warm


def test_report_counts_and_every_method_present(report):
    assert (report.train_awards, report.pool, report.queries, report.warm_queries) == (10, 4, 4, 3)
    assert report.warm_share == 0.75
    assert [m.name for m in report.methods] == list(METHODS)
    data = eval_dict(report)
    assert data["methods"][0]["warm"]["mrr@10"].keys() == {"mean", "low", "high"}


def test_cutoff_outside_the_history_is_a_clear_error(contracts):
    from matcher.errors import InputError

    with pytest.raises(InputError, match="earlier --cutoff"):
        evaluate(contracts, date(2030, 1, 1), HashingEmbedder().encode)
    with pytest.raises(InputError, match="later --cutoff"):
        evaluate(contracts, date(2000, 1, 1), HashingEmbedder().encode)


def test_the_metrics_agree_with_ir_measures_on_random_rankings():
    """recall@k, MRR@10 and nDCG@10 as trec_eval computes them (ir-measures over pytrec_eval), on
    random pools where some relevant items are outside the pool (winners without history)."""
    ir_measures = pytest.importorskip("ir_measures")
    from ir_measures import RR, R, nDCG

    rng = np.random.default_rng(7)
    qrels, run, ours = [], [], {m: [] for m in METRICS}
    for q in range(200):
        pool = 40
        scores = rng.permutation(pool).astype(float)  # distinct: trec_eval and we agree on ties elsewhere
        winners = sorted(rng.choice(pool, size=int(rng.integers(1, 4)), replace=False).tolist())
        missing = int(rng.integers(0, 2))  # relevant, but never ranked (outside the pool)
        qid = f"q{q}"
        qrels += [ir_measures.Qrel(qid, f"d{w}", 1) for w in winners]
        qrels += [ir_measures.Qrel(qid, f"gone{i}", 1) for i in range(missing)]
        run += [ir_measures.ScoredDoc(qid, f"d{d}", float(scores[d])) for d in range(pool)]
        ranks = ranks_of_winners(scores, winners, tiebreak=np.arange(pool))
        for m, v in query_metrics(ranks, len(winners) + missing).items():
            ours[m].append(v)
    measures = {"recall@1": R @ 1, "recall@5": R @ 5, "recall@10": R @ 10, "mrr@10": RR @ 10, "ndcg@10": nDCG @ 10}
    theirs = ir_measures.calc_aggregate(list(measures.values()), qrels, run)
    for name, measure in measures.items():
        assert np.mean(ours[name]) == pytest.approx(theirs[measure], abs=1e-9), name
