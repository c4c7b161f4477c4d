"""The contract every ranker keeps (matcher.rank.ranker.Ranker), like implicit's RecommenderBaseTestMixin.

Each ranker runs through the same checks on the same tiny registry: the contributions of its
parts add up to the score, every part is named, weighted and explained in words, ties come out
by participant id whatever the order of the candidates, top_k is respected, no candidates give
no suggestions, and a higher score comes first. test_the_contract_catches_wrong_rankers shows
that each check fails for a ranker that breaks it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from matcher.inputs.history import contracts_from_tables
from matcher.inputs.ocds import read_ocds
from matcher.rank.features import FEATURES
from matcher.rank.hand import HandWeighted
from matcher.rank.lambdarank import train as train_lambdarank
from matcher.rank.learned import BASELINE, LearnedRanker, train
from matcher.rank.need import SUGGEST_WEIGHTS, Need
from matcher.rank.parts import Scored
from matcher.rank.pool import Pool
from matcher.rank.ranker import Ranker, rank
from matcher.schema import Participant, Project
from tests.fakes import HashingEmbedder

HISTORY = Path(__file__).parent / "data" / "history" / "small-history.jsonl"
BRIDGE = "45221111-3"
BUYER = "Committee for Roads"
YEAR = 2024


def _firm(pid: str, codes=(), regions=(), certs=(), projects=()) -> Participant:
    return Participant(pid, pid, codes=tuple(codes), regions=tuple(regions), certifications=tuple(certs),
                       projects=tuple(projects))  # fmt: skip


# Six firms a person can rank by eye for a road-bridge lot in St Petersburg: B1 has done it for
# this buyer, B2 has the codes and the papers, R3 builds roads, D4 designs, T5 trains people, E6
# has stated nothing.
FIRMS = [
    _firm("B1", [BRIDGE], ["RU-SPE"], ["SRO construction", "ISO 9001"],
          [Project("bridge repair", 2023, 4e9, buyer=BUYER), Project("bridge deck", 2021, 1e9, buyer=BUYER)]),
    _firm("B2", [BRIDGE], ["RU"], ["SRO construction"], [Project("bridge", 2019, 8e8, buyer="Other")]),
    _firm("R3", ["45233000-9"], ["RU-SPE"], ["ISO 9001"], [Project("road", 2022, 2e9, buyer=BUYER)]),
    _firm("D4", ["71322000-1"], ["RU-MOW"], [], [Project("design", 2020, 5e7)]),
    _firm("T5", ["80500000-9"], ["RU-SPE"]),
    _firm("E6"),
]  # fmt: skip
DENSE = np.array([0.82, 0.74, 0.51, 0.46, 0.12, 0.30])
LEXICAL = np.array([9.0, 7.5, 3.0, 2.0, 0.0, 0.5]) / 18  # BM25 shares (LexicalIndex.shares): B1 matches half
FULL = Need((BRIDGE,), ("RU-SPE",), ("SRO construction", "ISO 9001"), 3e9, BUYER)
EMPTY = Need()  # asks for nothing but text: every part that needs a request says so

# A ranker that weighs a part "in words" must explain it in words, not as a bare number.
HAND_WORDS = set(SUGGEST_WEIGHTS)
LEARNED_WORDS = {"dense", "bm25", "codes", "codes_exact", "buyer_count", "value_fit", "size", "region",
                 "certifications"}  # fmt: skip
BARE_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


def _known_learned() -> LearnedRanker:
    """A learned ranker with coefficients chosen by hand: text, codes and the buyer count for, distance against."""
    coef = {"dense": 1.2, "bm25": 0.9, "codes": 0.7, "codes_exact": 0.3, "buyer_count": 0.8, "buyer_gated": 0.5,
            "recency": -0.2, "value_fit": 0.2, "size": 0.1, "region": 0.2, "certifications": 0.3}  # fmt: skip
    return LearnedRanker(
        FEATURES,
        mean=np.full(len(FEATURES), 0.25),
        scale=np.full(len(FEATURES), 0.5),
        coef=np.array([coef.get(f, 0.05) for f in FEATURES]),
        intercept=-0.4,
    )


@pytest.fixture(scope="module")
def trained() -> LearnedRanker:
    tables = read_ocds([HISTORY])
    return train(contracts_from_tables(tables.tenders, tables.awards), date(2023, 1, 1), HashingEmbedder().encode)


# few rounds and small leaves: the tiny history has two usable tenders, and tests stay fast
SMALL_LIGHTGBM = {"num_boost_round": 20, "num_leaves": 4, "min_data_in_leaf": 1}


@pytest.fixture(scope="module")
def trained_lightgbm():
    tables = read_ocds([HISTORY])
    contracts = contracts_from_tables(tables.tenders, tables.awards)
    return train_lambdarank(contracts, date(2023, 1, 1), HashingEmbedder().encode, params=SMALL_LIGHTGBM)


@dataclass(frozen=True)
class Case:
    ranker: Ranker
    worded: frozenset[str]  # the parts this ranker explains in words


@pytest.fixture(
    params=[
        "hand-weighted",
        "learned (known coefficients)",
        "learned (trained on tests/data/history)",
        "LightGBM (trained on tests/data/history)",
    ]
)
def case(request) -> Case:
    if request.param == "hand-weighted":
        return Case(HandWeighted(), frozenset(HAND_WORDS))
    if request.param == "learned (known coefficients)":
        return Case(_known_learned(), frozenset(LEARNED_WORDS))
    if request.param == "LightGBM (trained on tests/data/history)":
        return Case(request.getfixturevalue("trained_lightgbm"), frozenset(LEARNED_WORDS))
    return Case(request.getfixturevalue("trained"), frozenset(LEARNED_WORDS))


def _rank(ranker: Ranker, need: Need = FULL, firms=FIRMS, dense=DENSE, lexical=LEXICAL, order=None, top_k=10):
    """Rank the firms as candidates, optionally given in another order (positions into `firms`)."""
    order = np.arange(len(firms)) if order is None else np.asarray(order)
    return rank(need, Pool(firms), order, dense[order], top_k, lexical=lexical[order], ranker=ranker, year=YEAR)


# --- the checks, each a function so that test_the_contract_catches_wrong_rankers can run it too ------------------


def check_contributions_add_up(ranker: Ranker) -> None:
    for need, lexical, year in ((FULL, LEXICAL, YEAR), (EMPTY, LEXICAL, YEAR), (FULL, None, None)):
        scored = ranker.score(need, Pool(FIRMS), np.arange(len(FIRMS)), DENSE, lexical, year)
        assert isinstance(scored, Scored)
        assert set(scored.contributions) == set(scored.values) == set(scored.weights)
        np.testing.assert_allclose(sum(scored.contributions.values()), scored.total, rtol=0, atol=1e-9)
    for need in (FULL, EMPTY):
        for s in _rank(ranker, need):
            # each part is rounded to 4 decimals, and so is the score
            assert sum(p.contribution for p in s.parts) == pytest.approx(s.score, abs=0.5e-4 * (len(s.parts) + 1))


def check_parts_named_weighted_explained(ranker: Ranker, worded: frozenset[str]) -> None:
    for need in (FULL, EMPTY):
        for s in _rank(ranker, need):
            names = [p.name for p in s.parts]
            assert all(isinstance(n, str) and n for n in names) and len(set(names)) == len(names)
            if need == FULL:  # the full request brings out every part
                assert worded <= set(names), f"{sorted(worded - set(names))} are not parts of {s.participant_id}"
            for p in s.parts:
                assert math.isfinite(p.weight) and math.isfinite(p.value) and math.isfinite(p.contribution)
                assert isinstance(p.detail, str) and p.detail.strip(), f"{p.name} of {s.participant_id}: no words"
                if p.name in worded:
                    assert not BARE_NUMBER.fullmatch(p.detail.strip()), f"{p.name}: only a number, {p.detail!r}"


def check_deterministic_with_ties_by_id(ranker: Ranker) -> None:
    first = _rank(ranker)
    assert _rank(ranker) == first
    for order in ([5, 4, 3, 2, 1, 0], [2, 0, 5, 1, 4, 3]):
        assert _rank(ranker, order=order) == first
    # three copies of one firm under other ids, given in reverse id order: equal scores, by id
    twins = [replace(FIRMS[1], id=pid, name=pid) for pid in ("Z", "M", "A")]
    dense, lexical = np.full(len(twins), 0.74), np.full(len(twins), 7.5)
    for order in ([0, 1, 2], [2, 0, 1], [1, 2, 0]):
        ranked = _rank(ranker, firms=twins, dense=dense, lexical=lexical, order=order)
        assert len({s.score for s in ranked}) == 1
        assert [s.participant_id for s in ranked] == ["A", "M", "Z"]


def check_order_and_top_k(ranker: Ranker) -> None:
    everyone = _rank(ranker)
    scored = ranker.score(FULL, Pool(FIRMS), np.arange(len(FIRMS)), DENSE, LEXICAL, YEAR)
    by_id = {f.id: float(t) for f, t in zip(FIRMS, scored.total)}
    assert [s.score for s in everyone] == [round(by_id[s.participant_id], 4) for s in everyone]
    assert [s.score for s in everyone] == sorted((s.score for s in everyone), reverse=True)
    assert [s.participant_id for s in everyone] == sorted(by_id, key=lambda pid: (-by_id[pid], pid))
    assert [s.rank for s in everyone] == list(range(1, len(FIRMS) + 1))
    for k in (1, 2, 5, len(FIRMS), len(FIRMS) + 3):
        top = _rank(ranker, top_k=k)
        assert top == everyone[: min(k, len(FIRMS))]


def check_no_candidates(ranker: Ranker) -> None:
    none = np.zeros(0, dtype=np.int64)
    assert rank(FULL, Pool(FIRMS), none, np.zeros(0), 5, lexical=np.zeros(0), ranker=ranker, year=YEAR) == []
    assert rank(FULL, Pool([]), [], np.zeros(0), 5, ranker=ranker) == []
    scored = ranker.score(FULL, Pool(FIRMS), none, np.zeros(0), np.zeros(0), YEAR)
    assert scored.total.shape == (0,) and all(v.shape == (0,) for v in scored.contributions.values())


def check_unit_score(ranker: Ranker) -> None:
    scores = [s.score for s in _rank(ranker)] + [-40.0, -1.0, 0.0, 0.5, 1.0, 40.0]
    units = [ranker.unit_score(x) for x in sorted(scores)]
    assert all(0.0 <= u <= 1.0 for u in units)
    assert units == sorted(units)  # a higher score never fits worse
    assert isinstance(ranker.name, str) and ranker.name


# --- every ranker passes them ------------------------------------------------------------------------------------


def test_contributions_of_all_parts_add_up_to_the_score(case):
    check_contributions_add_up(case.ranker)


def test_every_part_is_named_weighted_and_explained(case):
    check_parts_named_weighted_explained(case.ranker, case.worded)


def test_same_output_every_time_and_in_any_candidate_order_with_ties_by_id(case):
    check_deterministic_with_ties_by_id(case.ranker)


def test_higher_scores_first_and_top_k_respected(case):
    check_order_and_top_k(case.ranker)


def test_no_candidates_give_no_suggestions(case):
    check_no_candidates(case.ranker)


def test_unit_score_is_a_0_to_1_scale_in_the_order_of_the_scores(case):
    check_unit_score(case.ranker)


def test_explanations_are_the_rankers_own(case):
    """rank() shows what the ranker's explain says, part for part."""
    pool = Pool(FIRMS)
    scored = case.ranker.score(FULL, pool, np.arange(len(FIRMS)), DENSE, LEXICAL, YEAR)
    for s in _rank(case.ranker):
        row = next(i for i, f in enumerate(FIRMS) if f.id == s.participant_id)
        words = case.ranker.explain(FULL, FIRMS[row], {n: float(v[row]) for n, v in scored.values.items()})
        assert {p.name: p.detail for p in s.parts} == words


def test_the_hand_weighted_ranking_puts_the_bridge_builders_first():
    """The registry is ranked as a person would: the builder with this buyer's work, the other one, the road builder."""
    ranked = [s.participant_id for s in _rank(HandWeighted())]
    assert ranked[:3] == ["B1", "B2", "R3"] and set(ranked[-2:]) == {"T5", "E6"}


# --- and the checks can fail ------------------------------------------------------------------------------------


class _NoBaseline(LearnedRanker):
    """Shows the intercept's part as 0: contributions no longer add up."""

    def score(self, *args, **kwargs):
        total, values, parts, weights = super().score(*args, **kwargs)
        return Scored(total, values, {**parts, BASELINE: np.zeros(len(total))}, weights)


class _BareNumbers(HandWeighted):
    """Explains every part by its value."""

    def explain(self, need, firm, values):
        return {name: f"{v:.3g}" for name, v in values.items()}


class _FirstCandidateScale(HandWeighted):
    """Measures BM25 from the first candidate's rather than from 0: the order of candidates matters."""

    def score(self, need, pool, rows, dense, lexical, year):
        lexical = None if lexical is None or not len(lexical) else np.abs(lexical - lexical[0])
        return super().score(need, pool, rows, dense, lexical, year)


class _Noisy(HandWeighted):
    """Adds a little noise to every score: two calls differ."""

    rng = np.random.default_rng(0)

    def score(self, *args, **kwargs):
        total, values, parts, weights = super().score(*args, **kwargs)
        noise = self.rng.normal(0, 0.01, len(total))
        return Scored(total + noise, values, {**parts, "semantic": parts["semantic"] + noise}, weights)


class _RawUnit(LearnedRanker):
    """Hands the team builder the raw score: not on a 0..1 scale."""

    def unit_score(self, score):
        return score


def _like(ranker_class, base: LearnedRanker):
    return ranker_class(base.features, base.mean, base.scale, base.coef, base.intercept)


@pytest.mark.parametrize(
    "wrong, check",
    [
        (lambda: _like(_NoBaseline, _known_learned()), check_contributions_add_up),
        (_BareNumbers, lambda r: check_parts_named_weighted_explained(r, frozenset(HAND_WORDS))),
        (_FirstCandidateScale, check_deterministic_with_ties_by_id),
        (_Noisy, check_deterministic_with_ties_by_id),
        (lambda: _like(_RawUnit, _known_learned()), check_unit_score),
    ],
    ids=["contributions", "words", "candidate order", "determinism", "unit scale"],
)
def test_the_contract_catches_wrong_rankers(wrong, check):
    with pytest.raises(AssertionError):
        check(wrong())
