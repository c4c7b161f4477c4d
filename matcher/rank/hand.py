"""The hand-weighted ranker: each suggestion's score is a weighted sum of named score parts.

The weights are the need's own (:data:`matcher.rank.need.SUGGEST_WEIGHTS` unless it says
otherwise). A part the request says nothing about (no region, no required certifications, no
value) is left out and the other weights are rescaled, so that scores stay comparable within
one request and the contributions always add up to the score.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from matcher.rank.need import Need, buyer_key
from matcher.rank.parts import (
    PartWords,
    Scored,
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


def active_weights(need: Need, lexical: bool = False) -> dict[str, float]:
    """The weights of the parts that apply to this request, rescaled to sum to 1."""
    applies = {
        "semantic": True,
        "lexical": lexical,
        "buyer": bool(buyer_key(need.buyer)),
        "codes": bool(need.codes),
        "region": bool(need.regions),
        "certifications": bool(need.certifications),
        "size": need.value is not None and need.value > 0,
    }
    weights = {k: w for k, w in need.weights.items() if applies.get(k, False)}
    total = sum(weights.values())
    return {k: w / total for k, w in weights.items()}


def score_parts(
    need: Need, pool: Pool, rows: np.ndarray, dense: np.ndarray, lexical: np.ndarray | None = None
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Total score and each part's values for the given rows of the pool (vectorised).

    Args:
        dense: cosine of each row to the request's text.
        lexical: BM25 score of each row for the request's text, or None where there is none;
            scaled so that the best candidate has 1.
    """
    weights = active_weights(need, lexical is not None)
    values: dict[str, np.ndarray] = {"semantic": np.clip(np.asarray(dense, dtype=np.float64), 0.0, 1.0)}
    if "lexical" in weights:
        assert lexical is not None
        top = float(np.max(lexical)) if len(lexical) else 0.0
        values["lexical"] = np.asarray(lexical, dtype=np.float64) / top if top > 0 else np.zeros(len(rows))
    if "codes" in weights:
        values["codes"] = pool.codes.mean_best(need.codes, rows)
    if "buyer" in weights:
        values["buyer"] = np.asarray(buyer_value(pool.buyer_counts(need.buyer)[rows]), dtype=np.float64)
        if "lexical" in values:
            # Repeat business counts in proportion to how well the firm's work matches this lot
            # in words (code labels in English and Russian bridge the languages), so that a
            # buyer's usual contractor does not rise in every lot of a multi-lot tender.
            values["buyer"] = values["buyer"] * values["lexical"]
    if "region" in weights:
        values["region"] = pool.region_values(need.regions, rows)
    if "certifications" in weights:
        values["certifications"] = pool.certification_share(need.certifications, rows)
    if "size" in weights:
        assert need.value is not None
        values["size"] = size_values(need.value, pool.capacity[rows])
    total = sum(values[k] * weights[k] for k in values)
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
            words["buyer"] += f", weighed by its BM25 match {values['lexical']:.2f}"
        return words

    def unit_score(self, score: float) -> float:
        return min(1.0, max(0.0, score))
