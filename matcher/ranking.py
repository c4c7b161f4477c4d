"""The hand-weighted ranking: each suggestion's score is a weighted sum of named parts.

Every part is a value in [0, 1] with a short reason. A part the request says nothing about
(no region, no required certifications, no value) is left out and the other weights are
rescaled, so that scores stay comparable within one request and the contributions always
add up to the score. Where the request asks but the firm says nothing (no regions stated,
no past project values), the part is neutral (0.5) rather than a penalty or a reward.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from matcher.schema import Participant
from matcher.taxonomy import Taxonomy, best_matches, load_taxonomy

SUGGEST_WEIGHTS: dict[str, float] = {
    "semantic": 0.40,
    "codes": 0.30,
    "certifications": 0.12,
    "region": 0.10,
    "size": 0.08,
}
SIMILAR_WEIGHTS: dict[str, float] = {"semantic": 0.60, "codes": 0.30, "region": 0.10}
NEUTRAL = 0.5
# A lot this many times larger than the firm's largest past project scores 0 on size.
SIZE_ZERO_RATIO = 20.0


@dataclass(frozen=True)
class ScorePart:
    """One reason in a score: its value in [0, 1], its weight, and why."""

    name: str
    value: float
    weight: float
    detail: str

    @property
    def contribution(self) -> float:
        return self.value * self.weight


@dataclass(frozen=True)
class Suggestion:
    """A ranked participant with its score and the parts the score is made of."""

    rank: int
    participant_id: str
    name: str
    kind: str | None
    score: float
    parts: tuple[ScorePart, ...]
    lots: tuple[str, ...] = ()  # for a whole-tender ranking: lots where it is in the top k

    def part(self, name: str) -> ScorePart | None:
        return next((p for p in self.parts if p.name == name), None)


@dataclass(frozen=True)
class Need:
    """What a request asks for: a lot, a whole tender, or a firm to find peers of."""

    codes: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    certifications: tuple[str, ...] = ()
    value: float | None = None
    weights: dict[str, float] = field(default_factory=lambda: dict(SUGGEST_WEIGHTS))


def human_amount(value: float) -> str:
    for size, unit in ((1e9, " bn"), (1e6, " m"), (1e3, " k")):
        if value >= size:
            return f"{value / size:.3g}{unit}"
    return f"{value:.0f}"


def _norm_cert(name: str) -> str:
    return re.sub(r"[^0-9a-zа-яё]+", "", name.casefold())


def _holds(held: Sequence[str], required: str) -> bool:
    want = _norm_cert(required)
    return any(_norm_cert(h).startswith(want) for h in held) if want else True


def _region_covers(served: str, wanted: str) -> bool:
    # "RU" (nationwide) covers "RU-SPE"; otherwise regions must be equal.
    return served == wanted or wanted.startswith(served + "-")


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
    hit = [w for w in need.regions if any(_region_covers(s, w) for s in firm.regions)]
    if hit:
        return 1.0, "serves " + ", ".join(hit)
    return 0.0, f"not in {', '.join(need.regions)} (serves {', '.join(firm.regions[:3])})"


def certifications_part(need: Need, firm: Participant) -> tuple[float, str]:
    held = [c for c in need.certifications if _holds(firm.certifications, c)]
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


def active_weights(need: Need) -> dict[str, float]:
    """The weights of the parts that apply to this request, rescaled to sum to 1."""
    applies = {
        "semantic": True,
        "codes": bool(need.codes),
        "region": bool(need.regions),
        "certifications": bool(need.certifications),
        "size": need.value is not None and need.value > 0,
    }
    weights = {k: w for k, w in need.weights.items() if applies.get(k, False)}
    total = sum(weights.values())
    return {k: w / total for k, w in weights.items()}


def rank(
    need: Need,
    candidates: Sequence[Participant],
    dense: np.ndarray,
    top_k: int,
    taxonomy: Taxonomy | None = None,
) -> list[Suggestion]:
    """Score every candidate against the need and return the best top_k, best first.

    Args:
        dense: cosine similarity of each candidate to the request's text, same order.
    """
    taxonomy = taxonomy or load_taxonomy()
    weights = active_weights(need)
    scored = []
    for firm, cosine in zip(candidates, dense):
        values: dict[str, tuple[float, str]] = {
            "semantic": (float(min(1.0, max(0.0, cosine))), f"cosine {float(cosine):.2f}")
        }
        if "codes" in weights:
            values["codes"] = codes_part(need, firm, taxonomy)
        if "region" in weights:
            values["region"] = region_part(need, firm)
        if "certifications" in weights:
            values["certifications"] = certifications_part(need, firm)
        if "size" in weights:
            values["size"] = size_part(need, firm)
        parts = tuple(ScorePart(k, round(v, 4), round(weights[k], 4), d) for k, (v, d) in values.items())
        score = sum(values[k][0] * weights[k] for k in values)
        scored.append((score, firm, parts))
    scored.sort(key=lambda s: (-s[0], s[1].id))
    return [
        Suggestion(i + 1, f.id, f.name, f.kind, round(score, 4), parts)
        for i, (score, f, parts) in enumerate(scored[:top_k])
    ]
