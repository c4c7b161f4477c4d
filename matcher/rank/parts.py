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

from matcher.i18n import N_, digits, language, ntr, tr
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


_AMOUNT_UNITS = ((1e9, N_("%(amount)s bn")), (1e6, N_("%(amount)s m")), (1e3, N_("%(amount)s k")))


def human_amount(value: float) -> str:
    """A money amount to three figures: "1.5 m" (Russian "1,5 млн")."""
    for size, unit in _AMOUNT_UNITS:
        if value >= size:
            return tr(unit, amount=digits(f"{value / size:.3g}"))
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
        return 0.0, tr("no codes stated")
    matches = best_matches(list(need.codes), list(firm.codes))
    value = sum(m.score for m in matches) / len(matches)
    found = sorted((m for m in matches if m.matched), key=lambda m: -m.score)
    if not found:
        return 0.0, tr("0/%(n)s codes", n=len(matches))
    levels: dict[str, int] = {}
    for m in found:
        level = "exact" if m.level == "covers" else m.level
        levels[level] = levels.get(level, 0) + 1
    lang = language()
    labels = list(dict.fromkeys(taxonomy.label(m.matched, lang) for m in found if m.matched))
    shown = "; ".join(labels[:2]) + ("; …" if len(labels) > 2 else "")
    summary = ", ".join(tr(_LEVEL_COUNTS.get(level, "%(n)s " + level), n=n) for level, n in levels.items())
    counted = tr("%(found)s/%(n)s codes", found=len(found), n=len(matches))
    return value, f"{counted} ({summary}): {shown}"


_LEVEL_COUNTS = {
    "exact": N_("%(n)s exact"), "class": N_("%(n)s class"), "group": N_("%(n)s group"),
    "division": N_("%(n)s division"), "category": N_("%(n)s category"), "sub-category": N_("%(n)s sub-category"),
    "family": N_("%(n)s family"), "segment": N_("%(n)s segment"),
}  # fmt: skip


def region_part(need: Need, firm: Participant) -> tuple[float, str]:
    if not firm.regions:
        return NEUTRAL, tr("regions not stated")
    hit = [w for w in need.regions if any(region_covers(s, w) for s in firm.regions)]
    if hit:
        return 1.0, tr("serves %(regions)s", regions=", ".join(hit))
    return 0.0, tr(
        "not in %(wanted)s (serves %(served)s)", wanted=", ".join(need.regions), served=", ".join(firm.regions[:3])
    )


def certifications_part(need: Need, firm: Participant) -> tuple[float, str]:
    held = [c for c in need.certifications if holds_certification(firm.certifications, c)]
    missing = [c for c in need.certifications if c not in held]
    value = len(held) / len(need.certifications)
    if not missing:
        return value, tr("has %(held)s", held=", ".join(held))
    return value, tr("missing %(missing)s", missing=", ".join(missing))


def size_part(need: Need, firm: Participant) -> tuple[float, str]:
    assert need.value is not None
    largest = firm.largest_project_value
    if not largest:
        return NEUTRAL, tr("no past project values to compare")
    ratio = need.value / largest
    if ratio <= 1.0:
        return 1.0, tr(
            "has done %(largest)s (value %(value)s)", largest=human_amount(largest), value=human_amount(need.value)
        )
    value = max(0.0, 1.0 - math.log(ratio) / math.log(SIZE_ZERO_RATIO))
    return value, tr(
        "value %(value)s is %(ratio)sx its largest (%(largest)s)",
        value=human_amount(need.value),
        ratio=digits(f"{ratio:.1f}"),
        largest=human_amount(largest),
    )


def buyer_part(need: Need, firm: Participant) -> tuple[float, str]:
    wanted = buyer_key(need.buyer)
    n = sum(1 for p in firm.projects if buyer_key(p.buyer) == wanted)
    if n == 0:
        return 0.0, tr("no past contracts for %(buyer)s", buyer=need.buyer)
    return float(buyer_value(n)), ntr(
        "%(n)s past contract for %(buyer)s", "%(n)s past contracts for %(buyer)s", n, buyer=need.buyer
    )


# --- the words behind a part, shared by every ranker ---------------------------------------

PartWords = Callable[[Need, Participant, float], str]
"""The reason for one part of one firm's score, from the request, the firm and the part's value."""


def cosine_words(need: Need, firm: Participant, value: float) -> str:
    return tr("cosine %(value).2f", value=value)


def bm25_words(need: Need, firm: Participant, value: float) -> str:
    return tr("BM25 match %(value).2f (1 = half of what the request's words can score, or more)", value=value)


def bm25_share_words(need: Need, firm: Participant, value: float) -> str:
    return tr("matches %(share)s%% of what the request's words can score (BM25)", share=round(value * 100))


# What each part says when the request does not ask about it (see asked(): the same for every member,
# not a reason).
NOT_ASKED_BUYER, NOT_ASKED_CODES, NOT_ASKED_REGION = N_("no buyer given"), N_("no codes asked"), N_("no region asked")
NOT_ASKED_CERTIFICATIONS, NOT_ASKED_VALUE = N_("none required"), N_("no value given")

# The request's field each part (or learned feature) compares a member with; a part whose field the
# request leaves empty was not asked about. Parts not named here (the text's) are always asked.
_BUYER_PARTS = ("buyer", "buyer_count", "buyer_share", "buyer_place", "buyer_gated")
_ASKED_BY: dict[str, Callable[[Need], bool]] = {
    **dict.fromkeys(_BUYER_PARTS, lambda n: bool(buyer_key(n.buyer))),
    **dict.fromkeys(("codes", "codes_exact"), lambda n: bool(n.codes)),
    "region": lambda n: bool(n.regions),
    "certifications": lambda n: bool(n.certifications),
    **dict.fromkeys(("size", "value_fit"), lambda n: n.value is not None and n.value > 0),
}


def asked(part: str, need: Need) -> bool:
    """Whether the request gives something to compare the part with (see :attr:`ScorePart.asked`)."""
    check = _ASKED_BY.get(part)
    return check is None or check(need)


def buyer_words(need: Need, firm: Participant, value: float) -> str:
    return buyer_part(need, firm)[1] if asked("buyer", need) else tr(NOT_ASKED_BUYER)


def codes_words(need: Need, firm: Participant, value: float) -> str:
    return codes_part(need, firm, load_taxonomy())[1] if asked("codes", need) else tr(NOT_ASKED_CODES)


def region_words(need: Need, firm: Participant, value: float) -> str:
    return region_part(need, firm)[1] if asked("region", need) else tr(NOT_ASKED_REGION)


def certification_words(need: Need, firm: Participant, value: float) -> str:
    return certifications_part(need, firm)[1] if asked("certifications", need) else tr(NOT_ASKED_CERTIFICATIONS)


def size_words(need: Need, firm: Participant, value: float) -> str:
    return size_part(need, firm)[1] if asked("size", need) else tr(NOT_ASKED_VALUE)


def explain_parts(
    need: Need, firm: Participant, values: Mapping[str, float], words: Mapping[str, PartWords]
) -> dict[str, str]:
    """The words behind each part of one firm's score; a part without words shows its value."""
    return {name: words[name](need, firm, v) if name in words else f"{v:.3g}" for name, v in values.items()}
