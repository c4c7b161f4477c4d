"""The score parts as every format shows them: their order, which columns a ranking shows, the reasons in short.

The table, the CSV, the JSON API's ``why`` and the web page all take their columns and short
reasons from here, so that they say the same thing; likewise what a team member does on a lot
(holds it, or what it brings as partner).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from matcher.i18n import N_, ntr, tr
from matcher.results import BAND_WORDS, Assignment, LotSuggestions, Mark, Partner, Suggestion, Team

# "feedback" is there only for a member demoted by a manager's mark (matcher.rank.feedback)
PART_ORDER = ("semantic", "lexical", "buyer", "codes", "certifications", "region", "size", "feedback")
# What the table's and the page's footnote says a score and a fit are (matcher.rank.calibration).
FOOTNOTE = N_(
    "score = Σ part × weight; a part the lot does not ask about is neutral; "
    "fit = chance the member can do the lot as main contractor (docs/evaluation.md)"
)
# The words for the values that results keep in English (JSON carries the value, not the words).
WORDS = {**BAND_WORDS, "subcontractor": N_("subcontractor"), "co-holder": N_("co-holder")}


def word(value: str) -> str:
    """A value kept in English in results (a band, a partner's role) in the language shown."""
    return tr(WORDS[value]) if value in WORDS else value


def versions(model: str, index_version: str) -> str:
    """The model and index version an answer came from, for a footer."""
    return tr("model %(model)s · index %(version)s", model=model, version=index_version)


def footnote() -> str:
    return tr(FOOTNOTE)


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
    return f"{s.fit:.2f} {word(s.band)}" if s.band else f"{s.fit:.2f}"


def lot_warning(lot: LotSuggestions) -> str | None:
    """The warning a ranking shows under its lot: the lot's gap note (none for the whole-tender
    ranking, whose lead candidates are not one lot's contractor)."""
    return lot.gap_note()


def short_reasons(s: Suggestion) -> str:
    """The reasons in short, for a table cell; JSON and CSV carry the full text of each part."""
    bits = []
    buyer = s.part("buyer")
    if buyer and buyer.value > 0 and (count := re.match(r"\d+", buyer.detail)):
        # the buyer part's words start with the count of past contracts, in either language
        n = int(count.group())
        bits.append(ntr("%(n)s past contract for this buyer", "%(n)s past contracts for this buyer", n))
    codes = s.part("codes")
    if codes and codes.detail and codes.asked:
        bits.append(codes.detail.split("; ")[0])  # the count and levels, and the best code
    for name in ("certifications", "region", "size"):
        part = s.part(name)
        if part and part.value < 1.0 and part.asked:
            bits.append(part.detail)
    feedback = s.part("feedback")
    if feedback:
        bits.insert(0, feedback.detail)
    return "; ".join(bits) or tr("text similarity only")


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
    lead = names.get(team.lead_id or "", team.lead_id or tr("none"))
    firms = ntr("%(n)s firm", "%(n)s firms", len(team.members))
    return tr(
        "Team %(rank)s: lead %(lead)s · %(firms)s · total fit %(total).2f · SME share %(share)s%% · %(how)s",
        rank=team.rank,
        lead=lead,
        firms=firms,
        total=team.total_score,
        share=round(team.sme_share * 100),
        how=team_method(team),
    )


def team_method(team: Team) -> str:
    """How the team was found: "CP-SAT, optimal", "CP-SAT, time limit" or "greedy"."""
    if team.optimal:
        return tr("CP-SAT, optimal")
    return tr("CP-SAT, time limit") if team.method == "cp-sat" else tr("greedy")


def brings(p: Partner) -> str:
    """What a partner brings to a lot, e.g. "subcontractor: Bridge inspection accreditation; codes
    71631450-9" or "co-holder: 45% of the value"."""
    share = [tr("%(share)s%% of the value", share=round(p.value_share * 100))] if p.role == "co-holder" else []
    what = share + list(p.certifications)
    codes = "; " + tr("codes %(codes)s", codes=", ".join(p.codes)) if p.codes else ""
    offered = ", ".join(what) or tr("capacity")
    return f"{word(p.role)}: {offered}{codes}"


def partners_text(a: Assignment, names: Mapping[str, str]) -> str:
    """A lot's partners in one line, e.g. "Nevsky Lab (subcontractor: Laboratory accreditation)"."""
    return "; ".join(f"{names.get(p.participant_id, p.participant_id)} ({brings(p)})" for p in a.partners)


def coverage_cell(a: Assignment | None, member: str) -> tuple[str, str] | None:
    """What ``member`` does on a lot, as (kind, text): ("holds", "✓ 0.65 holds 55%") or ("partner",
    "+ subcontractor: Laboratory accreditation"); None when it takes no part."""
    if a is None:
        return None
    if member == a.participant_id:
        share = "" if a.holder_share >= 1 else f" {round(a.holder_share * 100)}%"
        joint = "" if not a.partners else " " + tr("holds") + share
        return "holds", f"✓ {a.score:.2f}{joint}"
    for p in a.partners:
        if p.participant_id == member:
            return "partner", f"+ {brings(p)}"
    return None
