"""The results of matcher's library verbs, as plain frozen values.

The CLI, the web and the evaluation render these same objects (:mod:`matcher.render` holds every
format); nothing here computes or formats anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from matcher.schema import Tender

TeamMethod = Literal["cp-sat", "greedy"]


@dataclass(frozen=True)
class ScorePart:
    """One reason in a score: the part's value, its weight, what it adds to the score, and why.

    For the hand-weighted ranking the value is in [0, 1] and contribution = value × weight;
    for a learned ranker the value is the raw feature and the contribution is the coefficient
    times the standardised feature. Either way the contributions add up to the score.
    """

    name: str
    value: float
    weight: float
    contribution: float
    detail: str


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
class LotSuggestions:
    """The ranking for one lot (or, with lot_id "*", for the tender as a whole)."""

    lot_id: str
    title: str
    suggestions: tuple[Suggestion, ...]


@dataclass(frozen=True)
class TenderSuggestions:
    """Per-lot rankings and a whole-tender ranking (lead candidates) for one tender."""

    tender: Tender
    lots: tuple[LotSuggestions, ...]
    overall: LotSuggestions
    model: str
    index_version: str


@dataclass(frozen=True)
class SimilarResult:
    """Members most similar to a participant or to a free text."""

    query_id: str | None
    query_text: str | None
    suggestions: tuple[Suggestion, ...]
    model: str
    index_version: str


@dataclass(frozen=True)
class Assignment:
    """One lot given to one firm, with the firm's ranking score for that lot."""

    lot_id: str
    participant_id: str
    score: float


@dataclass(frozen=True)
class Team:
    """A consortium: its members, who takes which lot, and what it still lacks."""

    rank: int
    lead_id: str | None  # the member with the largest assigned value (ties: higher score, then id)
    members: tuple[str, ...]  # lead first, then by assigned value
    assignments: tuple[Assignment, ...]  # one per covered lot, in lot order
    total_score: float  # sum of the assignment scores
    sme_share: float  # SME-held share of the coverable lot value (see the module docstring)
    uncovered: tuple[str, ...]  # lot ids this team leaves without a firm
    lacks: tuple[str, ...]  # why, one line per reason, e.g. "lot 3: no candidate holds Metro works admission"
    method: TeamMethod
    optimal: bool  # proven optimal by CP-SAT
