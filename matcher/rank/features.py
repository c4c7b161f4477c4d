"""Features of (request, candidate) pairs for a learned ranker, computed with numpy over whole candidate sets.

Every feature is known at the time of the request: it reads only the pool's history (built
from what happened before that time by whoever built the pool) and the request itself.
"""

from __future__ import annotations

import numpy as np

from matcher.rank.hand import lexical_values
from matcher.rank.need import Need
from matcher.rank.parts import (
    PartWords,
    bm25_share_words,
    buyer_words,
    certification_words,
    codes_words,
    cosine_words,
    region_words,
    size_values,
    size_words,
)
from matcher.rank.pool import Pool

FEATURES: tuple[str, ...] = (
    "dense",  # best cosine of the firm's vectors (profile or a past contract)
    "bm25",  # BM25 as a share of what the request's words can score (LexicalIndex.shares)
    "bm25_log",  # log(1 + BM25): the score itself, through a fixed map (Need.lexical_total x the share)
    "codes",  # mean over requested codes of the best code match (tree levels)
    "codes_exact",  # share of requested codes the firm covers exactly
    "buyer_count",  # log(1 + past contracts for this buyer)
    "buyer_share",  # share of the firm's contracts that were for this buyer
    "buyer_place",  # the buyer's name words (its territory) found among the firm's past buyers' names
    "buyer_gated",  # repeat business for this buyer (n/(n+1)) times the lexical part: for this kind of work
    "volume",  # log(1 + past contracts)
    "recency",  # years since its latest contract (10 when unknown)
    "value_fit",  # closeness of the value to the firm's typical contract value
    "size",  # the hand-weighted size part
    "region",  # 1 serves the region, 0 does not, 0.5 unknown or not asked
    "certifications",  # share of required certifications held (1 when none required)
)
RECENCY_CAP = 10.0
# The features whose reasons read as words (shared with the hand-weighted parts); the others show their value.
FEATURE_WORDS: dict[str, PartWords] = {
    "dense": cosine_words,
    "bm25": bm25_share_words,
    "codes": codes_words,
    "codes_exact": codes_words,
    "buyer_count": buyer_words,
    "value_fit": size_words,
    "size": size_words,
    "region": region_words,
    "certifications": certification_words,
}


def feature_matrix(
    need: Need, pool: Pool, rows: np.ndarray, dense: np.ndarray, lexical: np.ndarray | None, year: int | None
) -> np.ndarray:
    """A (len(rows), len(FEATURES)) matrix in the order of FEATURES.

    ``lexical`` is each row's BM25 share (:meth:`matcher.index.bm25.LexicalIndex.shares`): no
    feature is divided by the best candidate's, so a feature means the same on every request.
    """
    n = len(rows)
    lex = np.zeros(n) if lexical is None else np.asarray(lexical, dtype=np.float64)
    codes = pool.codes.mean_best(need.codes, rows) if need.codes else np.zeros(n)
    exact = np.mean([pool.codes.best(c, rows) >= 1.0 for c in need.codes], axis=0) if need.codes else np.zeros(n)
    count = pool.buyer_counts(need.buyer, rows) if need.buyer else np.zeros(n)
    volume = pool.volume[rows]
    last = pool.last_year[rows]
    recency = np.full(n, RECENCY_CAP) if year is None else np.where(np.isnan(last), RECENCY_CAP, year - last)
    typical = pool.typical_value[rows]
    if need.value:
        gap = np.abs(np.log(need.value) - np.log(np.where(np.isnan(typical), 1.0, typical)))
        value_fit = np.where(np.isnan(typical), 0.5, np.exp(-gap))
        size = size_values(need.value, pool.capacity[rows])
    else:
        value_fit = np.full(n, 0.5)
        size = np.full(n, 0.5)
    region = pool.region_values(need.regions, rows) if need.regions else np.full(n, 0.5)
    certs = pool.certification_share(need.certifications, rows) if need.certifications else np.ones(n)
    columns = [
        np.asarray(dense, dtype=np.float64),
        lex,
        np.log1p(lex * (need.lexical_total or 0.0)),
        codes,
        exact,
        np.log1p(count),
        count / np.maximum(volume, 1.0),
        pool.buyer_place(need.buyer, rows) if need.buyer else np.zeros(n),
        count / (count + 1.0) * lexical_values(lex),
        np.log1p(volume),
        np.clip(recency, 0.0, RECENCY_CAP),
        value_fit,
        size,
        region,
        certs,
    ]
    return np.column_stack(columns) if n else np.zeros((0, len(FEATURES)))
