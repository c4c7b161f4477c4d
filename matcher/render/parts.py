"""The score parts as every format shows them: their order, which columns a ranking shows, the reasons in short.

The table, the CSV, the JSON API's ``why`` and the web page all take their columns and short
reasons from here, so that they say the same thing; likewise what a team member does on a lot
(holds it, or what it brings as partner).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from matcher.rank.parts import NOT_ASKED_WORDS
from matcher.results import Assignment, LotSuggestions, Mark, Partner, Suggestion, Team

# "feedback" is there only for a member demoted by a manager's mark (matcher.rank.feedback)
PART_ORDER = ("semantic", "lexical", "buyer", "codes", "certifications", "region", "size", "feedback")
# What the table's and the page's footnote says a score and a fit are (matcher.rank.calibration).
FOOTNOTE = (
    "score = Σ part × weight; a part the lot does not ask about is neutral; "
    "fit = chance the member can do the lot as main contractor (docs/evaluation.md)"
)


@dataclass(frozen=True)
class Columns:
    """The part columns of a ranking: the hand-weighted parts it has, with their weights, or
    (for a learned ranker, whose parts are its features) none, with ``learned`` set; ``fit``:
    whether the ranking has a calibrated fit to show (not for `similar`, nor a ranker without
    a calibration)."""

    learned: bool
    parts: tuple[str, ...]
    weights: dict[str, float]
    fit: bool = False


def columns(suggestions: Sequence[Suggestion]) -> Columns:
    learned = any(p.name not in PART_ORDER for s in suggestions for p in s.parts)
    present = () if learned else tuple(p for p in PART_ORDER if any(s.part(p) for s in suggestions))
    weights: dict[str, float] = {}
    for s in suggestions:  # every suggestion's, since only a demoted one has the "feedback" part
        for p in s.parts:
            weights.setdefault(p.name, p.weight)
    return Columns(learned, present, weights, any(s.fit is not None for s in suggestions))


def fit_text(s: Suggestion) -> str:
    """The fit and its band for a cell, e.g. "0.43 possible"; "" without a calibration."""
    if s.fit is None:
        return ""
    return f"{s.fit:.2f} {s.band}" if s.band else f"{s.fit:.2f}"


def lot_warning(lot: LotSuggestions) -> str | None:
    """The warning a ranking shows under its lot: the lot's gap note (none for the whole-tender
    ranking, whose lead candidates are not one lot's contractor)."""
    return lot.gap_note()


def short_reasons(s: Suggestion) -> str:
    """The reasons in short, for a table cell; JSON and CSV carry the full text of each part."""
    bits = []
    buyer = s.part("buyer")
    if buyer and buyer.value > 0:
        bits.append(buyer.detail.split(" for ")[0] + " for this buyer")
    codes = s.part("codes")
    if codes and codes.detail and codes.detail not in NOT_ASKED_WORDS:
        bits.append(codes.detail.split("; ")[0])  # the count and levels, and the best code
    for name in ("certifications", "region", "size"):
        part = s.part(name)
        if part and part.value < 1.0 and part.detail not in NOT_ASKED_WORDS:
            bits.append(part.detail)
    feedback = s.part("feedback")
    if feedback:
        bits.insert(0, feedback.detail)
    return "; ".join(bits) or "text similarity only"


def mark_text(mark: Mark) -> str:
    """One mark in short, e.g. "not relevant (too far) #3"; the id is what `feedback remove` takes."""
    return f"{mark.label} #{mark.id}"


def marks_text(s: Suggestion) -> str:
    """Every mark beside a suggestion, oldest first, e.g. "shortlisted #1, contacted #4"."""
    return ", ".join(mark_text(m) for m in s.marks)


def largest(s: Suggestion, n: int = 4) -> list[tuple[str, float]]:
    """The largest contributions of a (learned) score, largest first: (part, contribution)."""
    parts = sorted((p for p in s.parts if p.contribution), key=lambda p: -abs(p.contribution))[:n]
    return [(p.name, p.contribution) for p in parts]


def team_title(team: Team, names: Mapping[str, str]) -> str:
    """The team in one line, e.g. "Team 1: lead Ladoga Water Engineering JSC · 3 firm(s) · total fit 2.41 ·
    SME share 40% · CP-SAT, optimal"."""
    lead = names.get(team.lead_id or "", team.lead_id or "none")
    return (
        f"Team {team.rank}: lead {lead} · {len(team.members)} firm(s) · total fit {team.total_score:.2f} · "
        f"SME share {team.sme_share:.0%} · {team_method(team)}"
    )


def team_method(team: Team) -> str:
    """How the team was found: "CP-SAT, optimal", "CP-SAT, time limit" or "greedy"."""
    return "CP-SAT, optimal" if team.optimal else ("CP-SAT, time limit" if team.method == "cp-sat" else "greedy")


def brings(p: Partner) -> str:
    """What a partner brings to a lot, e.g. "subcontractor: Bridge inspection accreditation; codes
    71631450-9" or "co-holder: 45% of the value"."""
    what = ([f"{p.value_share:.0%} of the value"] if p.role == "co-holder" else []) + list(p.certifications)
    codes = f"; codes {', '.join(p.codes)}" if p.codes else ""
    return f"{p.role}: {', '.join(what) or 'capacity'}{codes}"


def partners_text(a: Assignment, names: Mapping[str, str]) -> str:
    """A lot's partners in one line, e.g. "Nevsky Lab (subcontractor: Laboratory accreditation)"."""
    return "; ".join(f"{names.get(p.participant_id, p.participant_id)} ({brings(p)})" for p in a.partners)


def coverage_cell(a: Assignment | None, member: str) -> tuple[str, str] | None:
    """What ``member`` does on a lot, as (kind, text): ("holds", "✓ 0.65 holds 55%") or ("partner",
    "+ subcontractor: Laboratory accreditation"); None when it takes no part."""
    if a is None:
        return None
    if member == a.participant_id:
        joint = "" if not a.partners else " holds" + ("" if a.holder_share >= 1 else f" {a.holder_share:.0%}")
        return "holds", f"✓ {a.score:.2f}{joint}"
    for p in a.partners:
        if p.participant_id == member:
            return "partner", f"+ {brings(p)}"
    return None
