"""What a request asks for (:class:`Need`), and the hand weights a request carries by default.

A need is a lot, a whole tender, or a firm to find peers of. Its ``weights`` are those of the
hand-weighted ranking (:mod:`matcher.rank.hand`); a learned ranker reads the rest of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Chosen on the SECOP history split (awards 2019-2022, tenders of 2023): see docs/evaluation.md.
# Certifications and region are not in that data; they keep the weight of hard requirements.
SUGGEST_WEIGHTS: dict[str, float] = {
    "semantic": 0.12,
    "lexical": 0.26,
    "buyer": 0.32,
    "codes": 0.12,
    "certifications": 0.08,
    "region": 0.06,
    "size": 0.04,
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


def buyer_key(name: str | None) -> str:
    """Buyers are compared by name, case and spacing ignored."""
    return " ".join((name or "").casefold().split())
