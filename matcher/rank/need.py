"""What a request asks for (:class:`Need`), and the hand weights a request carries by default.

A need is a lot, a whole tender, or a firm to find peers of. Its ``weights`` are those of the
hand-weighted ranking (:mod:`matcher.rank.hand`); a learned ranker reads the rest of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Chosen on the SECOP history's tuning split (awards 2019-2021, tenders of 2022; the best of
# scripts/tune_weights.py's grid, (0.2, 0.4, 0.4, 0.05, 0.04), scaled to leave room for the two
# requirements) and reported on 2023 (docs/evaluation.md). Certifications and region are not in
# that data; they keep the weight of hard requirements. The weights sum to 1: totals lie in [0, 1].
SUGGEST_WEIGHTS: dict[str, float] = {
    "semantic": 0.16,
    "lexical": 0.32,
    "buyer": 0.31,
    "codes": 0.04,
    "certifications": 0.08,
    "region": 0.06,
    "size": 0.03,
}
SIMILAR_WEIGHTS: dict[str, float] = {"semantic": 0.60, "codes": 0.30, "region": 0.10}


@dataclass(frozen=True)
class Need:
    """What a request asks for: a lot, a whole tender, or a firm to find peers of."""

    codes: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    certifications: tuple[str, ...] = ()
    value: float | None = None
    buyer: str | None = None
    weights: dict[str, float] = field(default_factory=lambda: dict(SUGGEST_WEIGHTS))
    # what the request's words can score in BM25 (LexicalIndex.match): a BM25 share times it is
    # the BM25 score, which a learned ranker reads through a fixed map (log1p); None: unknown
    lexical_total: float | None = None


def buyer_key(name: str | None) -> str:
    """Buyers are compared by name, case and spacing ignored."""
    return " ".join((name or "").casefold().split())
