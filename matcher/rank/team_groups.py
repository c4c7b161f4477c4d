"""Lots held jointly: the small groups of firms that together meet a lot no single firm can take.

A group is a holder and up to ``max_joint - 1`` partners, all candidates for the lot that pass
the team's region and exclusion limits. It covers the lot when the union of its certifications
holds every certification the lot requires and the sum of its capacities reaches the lot's value.
Codes are no requirement (they weigh in the ranking score only), so groups are about
certifications and capacity.

Only minimal groups are kept: dropping any member leaves the lot uncovered, so every partner
brings a missing certification or capacity, and a firm that could take the lot alone is never
in one. Who carries the value: when some member's capacity alone reaches it, the best-scoring
such member holds the lot and carries it all, and the others are subcontractors bringing
certifications; otherwise the value is shared in proportion to capacity, the largest member
holds and the others are co-holders. Each partner is shown with what it brings: the lot's
certifications and codes it answers that the holder does not (codes for information only), and
its share of the value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

from matcher.rank.parts import holds_certification
from matcher.results import Partner, PartnerRole
from matcher.schema import Lot, Participant
from matcher.taxonomy import best_matches

POOL = 20  # the best-scoring firms per lot that may join a group: C(20, 3) = 1,140 trials at most
KEEP = 60  # groups kept per lot, fewest firms then best score first: the CP-SAT model stays small


@dataclass(frozen=True)
class Group:
    """One way to hold a lot jointly: its firms (holder first), the value units each carries, its score."""

    firms: tuple[str, ...]
    carries: tuple[int, ...]  # value units per firm, in the order of ``firms``
    score: float  # mean of the firms' scores for the lot
    partners: tuple[Partner, ...]


def groups_for(
    lot: Lot, firms: Sequence[tuple[Participant, float]], value: int, caps: dict[str, int], max_joint: int
) -> list[Group]:
    """The minimal groups of up to ``max_joint`` firms that cover ``lot`` (firms: eligible by region, best first)."""
    if max_joint < 2:
        return []
    need = lot.certifications
    held = {p.id: frozenset(x for x in need if holds_certification(p.certifications, x)) for p, _ in firms}

    def cap(f: str) -> float:
        return caps.get(f, float("inf"))

    def covers(ids: Sequence[str]) -> bool:
        got = frozenset().union(*(held[f] for f in ids))
        return len(got) == len(need) and sum(cap(f) for f in ids) >= value

    short = [(p, s) for p, s in firms if not covers([p.id])][:POOL]  # a firm that covers alone is in no minimal group
    score = {p.id: s for p, s in short}
    answers = {p.id: _answers(lot, p) for p, _ in short}
    found: list[Group] = []
    for k in range(2, max_joint + 1):
        for combo in combinations(sorted(score), k):
            if covers(combo) and not any(covers([f for f in combo if f != g]) for g in combo):
                found.append(_group(lot, combo, score, held, answers, value, cap))
    found.sort(key=lambda g: (len(g.firms), -g.score, g.firms))
    return found[:KEEP]


def _answers(lot: Lot, firm: Participant) -> frozenset[str]:
    """The lot's codes the firm answers fully: the same code, or one under it."""
    return frozenset(m.wanted for m in best_matches(list(lot.codes), list(firm.codes)) if m.score >= 1.0)


def _group(lot, combo, score, held, answers, value, cap) -> Group:
    need = lot.certifications
    big = [f for f in combo if cap(f) >= value]
    if big:  # one member is large enough: it holds and carries it all, the others subcontract
        holder = min(big, key=lambda f: (-score[f], f))
        carries = {f: value if f == holder else 0 for f in combo}
    else:  # shared in proportion to capacity; the rounding remainder stays with the largest
        holder = min(combo, key=lambda f: (-cap(f), -score[f], f))
        total = sum(cap(f) for f in combo)
        carries = {f: int(value * cap(f) // total) for f in combo if f != holder}
        carries[holder] = value - sum(carries.values())
    rest = sorted((f for f in combo if f != holder), key=lambda f: (-carries[f], -score[f], f))
    firms = (holder, *rest)
    role: PartnerRole = "co-holder" if not big else "subcontractor"
    partners = tuple(
        Partner(
            f,
            role,
            tuple(x for x in need if x in held[f] and x not in held[holder]),
            round(carries[f] / value, 4) if value else 0.0,
            score[f],
            tuple(x for x in lot.codes if x in answers[f] and x not in answers[holder]),
        )
        for f in rest
    )
    mean = round(sum(score[f] for f in combo) / len(combo), 6)
    return Group(firms, tuple(carries[f] for f in firms), mean, partners)
