"""The score parts as every format shows them: their order, which columns a ranking shows, the reasons in short.

The table, the CSV, the JSON API's ``why`` and the web page all take their columns and short
reasons from here, so that they say the same thing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from matcher.results import Suggestion, Team

PART_ORDER = ("semantic", "lexical", "buyer", "codes", "certifications", "region", "size")


@dataclass(frozen=True)
class Columns:
    """The part columns of a ranking: the hand-weighted parts it has, with their weights, or
    (for a learned ranker, whose parts are its features) none, with ``learned`` set."""

    learned: bool
    parts: tuple[str, ...]
    weights: dict[str, float]


def columns(suggestions: Sequence[Suggestion]) -> Columns:
    learned = any(p.name not in PART_ORDER for s in suggestions for p in s.parts)
    present = () if learned else tuple(p for p in PART_ORDER if any(s.part(p) for s in suggestions))
    weights = {p.name: p.weight for s in suggestions[:1] for p in s.parts}
    return Columns(learned, present, weights)


def short_reasons(s: Suggestion) -> str:
    """The reasons in short, for a table cell; JSON and CSV carry the full text of each part."""
    bits = []
    buyer = s.part("buyer")
    if buyer and buyer.value > 0:
        bits.append(buyer.detail.split(" for ")[0] + " for this buyer")
    codes = s.part("codes")
    if codes and codes.detail:
        bits.append(codes.detail.split("; ")[0])  # the count and levels, and the best code
    for name in ("certifications", "region", "size"):
        part = s.part(name)
        if part and part.value < 1.0:
            bits.append(part.detail)
    return "; ".join(bits) or "text similarity only"


def largest(s: Suggestion, n: int = 4) -> list[tuple[str, float]]:
    """The largest contributions of a (learned) score, largest first: (part, contribution)."""
    parts = sorted((p for p in s.parts if p.contribution), key=lambda p: -abs(p.contribution))[:n]
    return [(p.name, p.contribution) for p in parts]


def team_title(team: Team, names: Mapping[str, str]) -> str:
    """The team in one line, e.g. "Team 1: lead Ladoga Water Engineering JSC · 3 firm(s) · total fit 2.41 ·
    SME share 40% · CP-SAT, optimal"."""
    lead = names.get(team.lead_id or "", team.lead_id or "none")
    how = "CP-SAT, optimal" if team.optimal else ("CP-SAT, time limit" if team.method == "cp-sat" else "greedy")
    return (
        f"Team {team.rank}: lead {lead} · {len(team.members)} firm(s) · total fit {team.total_score:.2f} · "
        f"SME share {team.sme_share:.0%} · {how}"
    )
