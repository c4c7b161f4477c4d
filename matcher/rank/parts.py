"""Score parts: each part's value for one firm, the words that explain it, and a ranker's scores part by part.

Every part is a value in [0, 1] with a short reason. Where the request asks but the firm says
nothing (no regions stated, no past project values), the part is neutral (0.5) rather than a
penalty or a reward. The words functions (:data:`PartWords`) are shared by every ranker: each
ranker maps its own part names to them (see :meth:`matcher.rank.ranker.Ranker.explain`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import NamedTuple

import numpy as np

from matcher.rank.need import Need, buyer_key
from matcher.schema import Participant
from matcher.taxonomy import Taxonomy, best_matches, load_taxonomy

NEUTRAL = 0.5
# A lot this many times larger than the firm's largest past project scores 0 on size.
SIZE_ZERO_RATIO = 20.0


class Scored(NamedTuple):
    """A ranker's scores for candidate rows, part by part (arrays in the order of the rows).

    ``contributions`` of all parts add up to ``total``; ``values`` are what each part measured
    and ``weights`` what each part weighs (a coefficient for a learned ranker).
    """

    total: np.ndarray
    values: dict[str, np.ndarray]
    contributions: dict[str, np.ndarray]
    weights: dict[str, float]


def human_amount(value: float) -> str:
    for size, unit in ((1e9, " bn"), (1e6, " m"), (1e3, " k")):
        if value >= size:
            return f"{value / size:.3g}{unit}"
    return f"{value:.0f}"


def _norm_cert(name: str) -> str:
    return re.sub(r"[^0-9a-zа-яё]+", "", name.casefold())


def holds_certification(held: Sequence[str], required: str) -> bool:
    want = _norm_cert(required)
    return any(_norm_cert(h).startswith(want) for h in held) if want else True


def region_covers(served: str, wanted: str) -> bool:
    # "RU" (nationwide) covers "RU-SPE"; otherwise regions must be equal.
    return served == wanted or wanted.startswith(served + "-")


def size_values(value: float, capacity: np.ndarray) -> np.ndarray:
    """The size part for firms whose largest past projects are `capacity` (NaN: unknown, neutral)."""
    ratio = value / np.where(np.isnan(capacity), 1.0, capacity)
    size = np.clip(1.0 - np.log(np.maximum(ratio, 1.0)) / math.log(SIZE_ZERO_RATIO), 0.0, 1.0)
    return np.where(np.isnan(capacity), NEUTRAL, size)


def buyer_value(n: int | np.ndarray) -> float | np.ndarray:
    """1 contract 0.5, 2 contracts 0.67, 3 contracts 0.75: repeat business counts, with diminishing returns.

    In the suggest ranking this is then multiplied by the firm's lexical match to the lot."""
    return n / (n + 1.0)


# --- one firm's parts, with their reasons --------------------------------------------------


def codes_part(need: Need, firm: Participant, taxonomy: Taxonomy) -> tuple[float, str]:
    """Mean over the requested codes of the best match among the firm's codes.

    The reason reads e.g. "2/3 codes (1 exact, 1 class): Road bridge construction work; ...",
    naming the firm's codes that matched, best first.
    """
    if not firm.codes:
        return 0.0, "no codes stated"
    matches = best_matches(list(need.codes), list(firm.codes))
    value = sum(m.score for m in matches) / len(matches)
    found = sorted((m for m in matches if m.matched), key=lambda m: -m.score)
    if not found:
        return 0.0, f"0/{len(matches)} codes"
    levels: dict[str, int] = {}
    for m in found:
        level = "exact" if m.level == "covers" else m.level
        levels[level] = levels.get(level, 0) + 1
    labels = list(dict.fromkeys(taxonomy.label(m.matched) for m in found if m.matched))
    shown = "; ".join(labels[:2]) + ("; …" if len(labels) > 2 else "")
    summary = ", ".join(f"{n} {level}" for level, n in levels.items())
    return value, f"{len(found)}/{len(matches)} codes ({summary}): {shown}"


def region_part(need: Need, firm: Participant) -> tuple[float, str]:
    if not firm.regions:
        return NEUTRAL, "regions not stated"
    hit = [w for w in need.regions if any(region_covers(s, w) for s in firm.regions)]
    if hit:
        return 1.0, "serves " + ", ".join(hit)
    return 0.0, f"not in {', '.join(need.regions)} (serves {', '.join(firm.regions[:3])})"


def certifications_part(need: Need, firm: Participant) -> tuple[float, str]:
    held = [c for c in need.certifications if holds_certification(firm.certifications, c)]
    missing = [c for c in need.certifications if c not in held]
    value = len(held) / len(need.certifications)
    if not missing:
        return value, "has " + ", ".join(held)
    return value, "missing " + ", ".join(missing)


def size_part(need: Need, firm: Participant) -> tuple[float, str]:
    assert need.value is not None
    largest = firm.largest_project_value
    if not largest:
        return NEUTRAL, "no past project values to compare"
    ratio = need.value / largest
    if ratio <= 1.0:
        return 1.0, f"has done {human_amount(largest)} (value {human_amount(need.value)})"
    value = max(0.0, 1.0 - math.log(ratio) / math.log(SIZE_ZERO_RATIO))
    return value, f"value {human_amount(need.value)} is {ratio:.1f}x its largest ({human_amount(largest)})"


def buyer_part(need: Need, firm: Participant) -> tuple[float, str]:
    wanted = buyer_key(need.buyer)
    n = sum(1 for p in firm.projects if buyer_key(p.buyer) == wanted)
    if n == 0:
        return 0.0, f"no past contracts for {need.buyer}"
    return float(buyer_value(n)), f"{n} past contract{'s' if n > 1 else ''} for {need.buyer}"


# --- the words behind a part, shared by every ranker ---------------------------------------

PartWords = Callable[[Need, Participant, float], str]
"""The reason for one part of one firm's score, from the request, the firm and the part's value."""


def cosine_words(need: Need, firm: Participant, value: float) -> str:
    return f"cosine {value:.2f}"


def bm25_words(need: Need, firm: Participant, value: float) -> str:
    return f"BM25 match {value:.2f} (1 = half of what the request's words can score, or more)"


def bm25_share_words(need: Need, firm: Participant, value: float) -> str:
    return f"matches {value:.0%} of what the request's words can score (BM25)"


# What each part says when the request does not ask about it (the same for every member: not a reason).
NOT_ASKED_BUYER, NOT_ASKED_CODES, NOT_ASKED_REGION = "no buyer given", "no codes asked", "no region asked"
NOT_ASKED_CERTIFICATIONS, NOT_ASKED_VALUE = "none required", "no value given"
NOT_ASKED_WORDS = frozenset(
    {NOT_ASKED_BUYER, NOT_ASKED_CODES, NOT_ASKED_REGION, NOT_ASKED_CERTIFICATIONS, NOT_ASKED_VALUE}
)


def buyer_words(need: Need, firm: Participant, value: float) -> str:
    return buyer_part(need, firm)[1] if buyer_key(need.buyer) else NOT_ASKED_BUYER


def codes_words(need: Need, firm: Participant, value: float) -> str:
    return codes_part(need, firm, load_taxonomy())[1] if need.codes else NOT_ASKED_CODES


def region_words(need: Need, firm: Participant, value: float) -> str:
    return region_part(need, firm)[1] if need.regions else NOT_ASKED_REGION


def certification_words(need: Need, firm: Participant, value: float) -> str:
    return certifications_part(need, firm)[1] if need.certifications else NOT_ASKED_CERTIFICATIONS


def size_words(need: Need, firm: Participant, value: float) -> str:
    return size_part(need, firm)[1] if need.value else NOT_ASKED_VALUE


def explain_parts(
    need: Need, firm: Participant, values: Mapping[str, float], words: Mapping[str, PartWords]
) -> dict[str, str]:
    """The words behind each part of one firm's score; a part without words shows its value."""
    return {name: words[name](need, firm, v) if name in words else f"{v:.3g}" for name, v in values.items()}
