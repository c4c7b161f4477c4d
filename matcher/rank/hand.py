"""The hand-weighted ranker: each suggestion's score is a weighted sum of named score parts.

The weights are the need's own (:data:`matcher.rank.need.SUGGEST_WEIGHTS` unless it says
otherwise). A part the request says nothing about (no region, no required certifications, no
value) takes a neutral value with its weight, so that a total means the same on every lot and
tender, and the contributions always add up to the score.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from matcher.i18n import tr
from matcher.rank.need import Need
from matcher.rank.parts import (
    NEUTRAL,
    PartWords,
    Scored,
    asked,
    bm25_words,
    buyer_value,
    buyer_words,
    certification_words,
    codes_words,
    cosine_words,
    explain_parts,
    region_words,
    size_values,
    size_words,
)
from matcher.rank.pool import Pool
from matcher.schema import Participant

WORDS: dict[str, PartWords] = {
    "semantic": cosine_words,
    "lexical": bm25_words,
    "buyer": buyer_words,
    "codes": codes_words,
    "region": region_words,
    "certifications": certification_words,
    "size": size_words,
}


# The lexical part is the firm's BM25 as a share of what the request's words can score
# (:meth:`matcher.index.bm25.LexicalIndex.shares`); a firm matching this share or more scores 1.
LEXICAL_FULL = 0.5
# What a part is worth when the request gives nothing to compare with (no codes, no region, no
# value): neutral, the same for every firm, so the total keeps one scale whichever parts apply.
# Without a buyer nobody has repeat business with it: 0.
NOT_ASKED: dict[str, float] = {"buyer": 0.0}


def applies(need: Need, lexical: bool = False) -> dict[str, bool]:
    """Which parts the request gives something to compare with."""
    parts = ("semantic", "buyer", "codes", "region", "certifications", "size")
    return {"lexical": lexical} | {name: asked(name, need) for name in parts}


def active_weights(need: Need, lexical: bool = False) -> dict[str, float]:
    """The weights of the request's parts, as they are: every part of the need's weights counts.

    A part the request says nothing about keeps its weight and takes its neutral value (see
    :data:`NOT_ASKED`), so that a total means the same on a lot with codes and one without; the
    weights of SUGGEST_WEIGHTS sum to 1, so totals lie in [0, 1]. Only the lexical part, where a
    request has no text to match, is left out (its weight goes to the others in proportion).
    """
    weights = {k: w for k, w in need.weights.items() if k != "lexical" or lexical}
    total = sum(weights.values())
    scale = sum(need.weights.values()) / total if total else 1.0
    return {k: w * scale for k, w in weights.items()}


def lexical_values(shares: np.ndarray) -> np.ndarray:
    """The lexical part from BM25 shares: linear up to LEXICAL_FULL, then 1."""
    return np.clip(np.asarray(shares, dtype=np.float64) / LEXICAL_FULL, 0.0, 1.0)


def score_parts(
    need: Need, pool: Pool, rows: np.ndarray, dense: np.ndarray, lexical: np.ndarray | None = None
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Total score and each part's values for the given rows of the pool (vectorised).

    Args:
        dense: similarity of each row to the request's text, on the model's calibrated 0..1
            range (:func:`matcher.embed.embedders.rescale_similarity`).
        lexical: each row's BM25 share for the request's text (``LexicalIndex.shares``), or None
            where there is none. Never divided by the best candidate's: a weak best stays weak.
    """
    weights = active_weights(need, lexical is not None)
    asked = applies(need, lexical is not None)
    n = len(rows)
    values: dict[str, np.ndarray] = {"semantic": np.clip(np.asarray(dense, dtype=np.float64), 0.0, 1.0)}
    if "lexical" in weights:
        assert lexical is not None
        values["lexical"] = lexical_values(lexical)
    for name in weights:
        if name != "semantic" and name != "lexical" and not asked.get(name, False):
            values[name] = np.full(n, NOT_ASKED.get(name, NEUTRAL))
    if asked["codes"] and "codes" in weights:
        values["codes"] = pool.codes.mean_best(need.codes, rows)
    if asked["buyer"] and "buyer" in weights:
        values["buyer"] = np.asarray(buyer_value(pool.buyer_counts(need.buyer, rows)), dtype=np.float64)
        if "lexical" in values:
            # Repeat business counts in proportion to how well the firm's work matches this lot
            # in words (code labels in English and Russian bridge the languages), so that a
            # buyer's usual contractor does not rise in every lot of a multi-lot tender.
            values["buyer"] = values["buyer"] * values["lexical"]
    if asked["region"] and "region" in weights:
        values["region"] = pool.region_values(need.regions, rows)
    if asked["certifications"] and "certifications" in weights:
        values["certifications"] = pool.certification_share(need.certifications, rows)
    if asked["size"] and "size" in weights:
        assert need.value is not None
        values["size"] = size_values(need.value, pool.capacity[rows])
    values = {k: values[k] for k in weights}
    total = sum(values[k] * weights[k] for k in values) if values else np.zeros(n)
    return np.asarray(total, dtype=np.float64), values


class HandWeighted:
    """The weighted sum of score parts (SUGGEST_WEIGHTS, or the need's own weights).

    Scores lie in [0, 1]; every part's value does too, and its contribution is value × weight.
    """

    name = "hand-weighted"

    def score(
        self, need: Need, pool: Pool, rows: np.ndarray, dense: np.ndarray, lexical: np.ndarray | None, year: int | None
    ) -> Scored:
        total, values = score_parts(need, pool, rows, dense, lexical)
        weights = active_weights(need, lexical is not None)
        return Scored(total, values, {k: v * weights[k] for k, v in values.items()}, weights)

    def explain(self, need: Need, firm: Participant, values: Mapping[str, float]) -> dict[str, str]:
        words = explain_parts(need, firm, values, WORDS)
        if "lexical" in values and values.get("buyer", 0.0) > 0:
            words["buyer"] += ", " + tr("weighed by its BM25 match %(value).2f", value=values["lexical"])
        return words

    def unit_score(self, score: float) -> float:
        return min(1.0, max(0.0, score))
