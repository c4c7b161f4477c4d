"""The team-building problem of :mod:`matcher.rank.consortium` in integers: constraints, eligibility, values, points.

:func:`prepare` turns a tender and its per-lot candidates into a :class:`Problem`: the eligible
(lot, firm) pairs, lot values in units, scores in points, capacities, SME firms and required
firms, each required firm placed on a lot of its own. The solvers of :mod:`matcher.rank.team_solvers`
read it. A lot's options are single holders and, where no single firm can take it, the groups of
:mod:`matcher.rank.team_groups`; an option is (lot id, firms), holder first.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from matcher.errors import InputError
from matcher.i18n import tr
from matcher.rank.calibration import POSSIBLE
from matcher.rank.parts import holds_certification, region_covers
from matcher.rank.team_groups import groups_for
from matcher.results import Partner
from matcher.schema import Lot, Participant, Tender

SCORE_POINTS = 1000  # scores become integers for CP-SAT: 0.001 is finer than any score difference that matters
VALUE_UNITS = 1_000_000  # values become integers too: the largest lot is this many units
Firms = tuple[str, ...]  # who holds a lot: the holder, then its partners (one firm when held alone)
Pair = tuple[str, Firms]  # an option: (lot id, firms)
Plan = dict[str, Firms]  # lot id -> firms
Candidates = Mapping[str, Sequence[tuple[Participant, float]]]  # lot id -> (firm, score) pairs


@dataclass(frozen=True)
class TeamConstraints:
    """What every team must satisfy; see :func:`matcher.rank.consortium.build_consortia`."""

    max_partners: int = 5  # distinct firms in a team, lead included
    min_sme_share: float = 0.0  # SME-held share of the coverable lot value
    regions: tuple[str, ...] = ()  # every member serves one of these ("RU" covers "RU-SPE"); none stated fails
    exclude: tuple[str, ...] = ()  # participant ids never used
    require: tuple[str, ...] = ()  # participant ids in every team, each taking at least one lot
    capacity_factor: float = 3.0  # a firm takes lots worth at most this times its largest past project
    # Firms per lot, holder included: 1 is single holders only. 3 covers a lead that lacks two
    # accreditations or needs two others' capacity, and keeps the groups per lot at C(20, 3) trials.
    max_joint: int = 3
    time_limit_s: float = 10.0  # CP-SAT budget per team, in its deterministic seconds (close to wall seconds)


@dataclass
class Problem:
    """The instance in integers: eligible pairs only, values in units, scores in points."""

    lots: list[str]
    value: dict[str, int]
    score: dict[Pair, float]
    points: dict[Pair, int]
    order: list[Pair]  # single holders best score first (ties: lot order, firm id), then groups likewise
    cap: dict[str, int]  # firms with a capacity limit
    sme: frozenset[str]
    required: tuple[str, ...]
    reasons: dict[str, str]  # lot nobody eligible can take -> why
    max_partners: int
    wanted: int  # SME value units min_sme_share asks for
    base: int  # value units of the coverable lots
    max_joint: int = 1
    sme_need: int = 0  # what teams must reach: `wanted`, or less when no team reaches it
    fixed: Plan = field(default_factory=dict)  # lot -> required firm, one lot each
    shares: dict[Pair, tuple[int, ...]] = field(default_factory=dict)  # group -> value units per firm
    partners: dict[Pair, tuple[Partner, ...]] = field(default_factory=dict)  # group -> what each partner brings

    @property
    def extra(self) -> int:  # one firm fewer on the lots outweighs any sum of points: single holders win
        return SCORE_POINTS * len(self.lots) + 1

    @property
    def able(self) -> int:  # one more lot held with a possible or strong fit outweighs any number of extra firms
        return self.extra * (len(self.lots) * (self.max_joint - 1) + 1)

    @property
    def big_m(self) -> int:  # one more covered lot outweighs everything below it
        return self.able * (len(self.lots) + 1)

    def capable(self, q: Pair) -> bool:
        """Whether the option's fit reaches the possible band: a firm (or group) that can do the work."""
        return self.score[q] >= POSSIBLE

    def gain(self, q: Pair) -> int:
        # A firm fitting a lot weakly holds it only where no firm nor group that fits it better can:
        # a lot held in name only is worth less than one held by a group with an extra firm.
        return self.big_m + (self.able if self.capable(q) else 0) + self.points[q] - self.extra * (len(q[1]) - 1)

    def objective(self, assign: Plan) -> int:
        return sum(self.gain(q) for q in assign.items())

    def carries(self, q: Pair) -> tuple[int, ...]:
        """Value units each of the option's firms carries."""
        return self.shares.get(q) or (self.value[q[0]],)

    def loads(self, assign: Plan) -> Counter[str]:
        """Assigned value units per member (members with only zero-value lots included)."""
        load: Counter[str] = Counter()
        for q in assign.items():
            for f, units in zip(q[1], self.carries(q)):
                load[f] += units
        return load

    def sme_value(self, assign: Plan) -> int:
        return sum(u for q in assign.items() for f, u in zip(q[1], self.carries(q)) if f in self.sme)

    @staticmethod
    def members(assign: Plan) -> frozenset[str]:
        return frozenset(f for firms in assign.values() for f in firms)

    def sort_key(self, assign: Plan) -> tuple[int, int, int, tuple[str, ...]]:
        members = tuple(sorted(self.members(assign)))
        return (-min(self.sme_value(assign), self.sme_need), -self.objective(assign), len(members), members)


def _barred(firm: Participant, c: TeamConstraints) -> str | None:
    """Why a firm can be in no team (excluded, or outside the regions), or None."""
    if firm.id in c.exclude:
        return tr("is excluded")
    if c.regions and not any(region_covers(s, w) for s in firm.regions for w in c.regions):
        return tr("serves none of %(regions)s", regions=", ".join(c.regions))
    return None


def _unfit(lot: Lot, firm: Participant, c: TeamConstraints, value: int, cap: int | None) -> str | None:
    """Why a firm cannot take a lot alone (certifications, capacity; codes are no requirement), or None."""
    missing = [x for x in lot.certifications if not holds_certification(firm.certifications, x)]
    if missing:
        return tr("lacks %(missing)s", missing=", ".join(missing))
    if cap is not None and value > cap:
        factor = f"{c.capacity_factor:g}"
        return tr("is too small: lot over %(factor)sx its largest project", factor=factor)
    return None


def prepare(tender: Tender, candidates: Candidates, c: TeamConstraints) -> Problem:
    """The instance of a tender and its candidates: eligible pairs, lot values in units, scores in points."""
    lot_ids = [lot.id for lot in tender.lots]
    if not lot_ids:
        raise InputError(f"tender {tender.id} has no lots; read it with matcher.inputs.tenders.read_tender")
    unknown = sorted(set(candidates) - set(lot_ids))
    if unknown:
        raise InputError(f"candidates name lots {', '.join(unknown)} that tender {tender.id} lacks; check the ids")
    known = [lot.value for lot in tender.lots if lot.value is not None]
    fill = sum(known) / len(known) if known else 1.0
    raw = {lot.id: fill if lot.value is None else lot.value for lot in tender.lots}
    unit = max(raw.values()) / VALUE_UNITS or 1.0
    value = {lot: round(v / unit) for lot, v in raw.items()}
    firms: dict[str, Participant] = {}
    caps: dict[str, int] = {}
    score: dict[Pair, float] = {}
    refused: dict[str, list[tuple[Participant, str]]] = {lot: [] for lot in lot_ids}
    joinable: dict[str, list[tuple[Participant, float]]] = {lot: [] for lot in lot_ids}  # pass region, exclusion
    for lot in tender.lots:
        for firm, s in sorted(candidates.get(lot.id, ()), key=lambda t: (t[0].id, -t[1])):
            if not 0.0 <= s <= 1.0:
                raise InputError(f"score {s} of {firm.id} for lot {lot.id} is outside [0, 1]; pass ranking scores")
            firm = firms.setdefault(firm.id, firm)
            if firm.largest_project_value:
                caps[firm.id] = round(c.capacity_factor * firm.largest_project_value / unit)
            if any(f.id == firm.id for f, _ in joinable[lot.id]):
                continue  # a firm listed twice keeps its best score
            why = _barred(firm, c) or _unfit(lot, firm, c, value[lot.id], caps.get(firm.id))
            if why:
                refused[lot.id].append((firm, why))
            else:
                score[(lot.id, (firm.id,))] = float(s)
            if not _barred(firm, c):
                joinable[lot.id].append((firm, float(s)))
    singles = sorted(score, key=lambda q: (-score[q], lot_ids.index(q[0]), q[1]))
    shares, partners = _add_groups(tender, joinable, value, caps, c, score)
    points = {q: round(s * SCORE_POINTS) for q, s in score.items()}
    order = singles + sorted(shares, key=lambda q: (len(q[1]), -score[q], lot_ids.index(q[0]), q[1]))
    coverable = {lot for lot, _ in order}
    reasons = {lot.id: _uncoverable(lot, refused[lot.id], c) for lot in tender.lots if lot.id not in coverable}
    base = sum(value[lot] for lot in coverable)
    wanted = math.ceil(round(c.min_sme_share * base, 6))
    sme = frozenset(f for f, firm in firms.items() if firm.sme)
    required = tuple(sorted(set(c.require)))
    p = Problem(
        lot_ids, value, score, points, order, caps, sme, required, reasons, c.max_partners, wanted, base, c.max_joint
    )
    p.sme_need, p.shares, p.partners = wanted, shares, partners
    p.fixed = _place_required(p, firms, refused)  # every required firm gets a lot of its own, or InputError
    return p


def _add_groups(
    tender: Tender,
    joinable: Mapping[str, list[tuple[Participant, float]]],
    value: Mapping[str, int],
    caps: dict[str, int],
    c: TeamConstraints,
    score: dict[Pair, float],
) -> tuple[dict[Pair, tuple[int, ...]], dict[Pair, tuple[Partner, ...]]]:
    """Each lot's groups into ``score``; returns what each group's firms carry and its partners."""
    shares: dict[Pair, tuple[int, ...]] = {}
    partners: dict[Pair, tuple[Partner, ...]] = {}
    for lot in tender.lots:
        best_first = sorted(joinable[lot.id], key=lambda t: (-t[1], t[0].id))
        # a group larger than the team could never be used
        for g in groups_for(lot, best_first, value[lot.id], caps, min(c.max_joint, c.max_partners)):
            q = (lot.id, g.firms)
            score[q], shares[q], partners[q] = g.score, g.carries, g.partners
    return shares, partners


def _uncoverable(lot: Lot, refused: list[tuple[Participant, str]], c: TeamConstraints) -> str:
    if not refused:
        return tr("lot %(lot)s: no candidates", lot=lot.id)
    nobody = [x for x in lot.certifications if not any(holds_certification(p.certifications, x) for p, _ in refused)]
    if nobody:
        return tr("lot %(lot)s: no candidate holds %(missing)s", lot=lot.id, missing=", ".join(nobody))
    shown = "; ".join(f"{p.id} {why}" for p, why in refused[:3]) + ("; ..." if len(refused) > 3 else "")
    if c.max_joint < 2:
        return tr(
            "lot %(lot)s: no eligible candidate (%(shown)s); max_joint 2 or more lets firms hold it jointly",
            lot=lot.id,
            shown=shown,
        )
    if c.max_partners < 2:
        return tr(
            "lot %(lot)s: no eligible candidate (%(shown)s); max_partners 1 leaves no room to hold it jointly",
            lot=lot.id,
            shown=shown,
        )
    return tr(
        "lot %(lot)s: no eligible candidate, nor group of up to %(n)s (%(shown)s)",
        lot=lot.id,
        n=min(c.max_joint, c.max_partners),
        shown=shown,
    )


def _place_required(p: Problem, firms: Mapping[str, Participant], refused: Mapping[str, list]) -> Plan:
    """One lot for each required firm (a bipartite matching, best lots tried first), or InputError."""
    options = {f: [lot for lot, g in p.order if g == (f,)] for f in p.required}
    held: Plan = {}

    def place(firm: str, tried: set[str]) -> bool:  # Kuhn's augmenting path
        for lot in options[firm]:
            if lot not in tried:
                tried.add(lot)
                if lot not in held or place(held[lot][0], tried):
                    held[lot] = (firm,)
                    return True
        return False

    for firm in sorted(p.required, key=lambda f: (len(options[f]), f)):
        if firm not in firms:
            raise InputError(f"required firm {firm} is no candidate for any lot; add it to a lot's candidates")
        if not options[firm]:
            why = "; ".join(f"lot {lot}: {w}" for lot, rs in refused.items() for g, w in rs if g.id == firm)
            raise InputError(f"required firm {firm} can take no lot ({why}); relax the constraints or drop it")
        if not place(firm, set()):
            raise InputError(f"required firms {', '.join(p.required)} cannot each take a lot; require fewer")
    return held
