"""Consortia: whole teams for a multi-lot tender, built from the per-lot rankings.

A team is a set of firms and at most one firm per lot. Teams cover as many lots as possible
first, then maximise the sum of the ranking scores of their assignments, within eligibility
(certifications, regions, exclusions), a limit on firms, per-firm capacity, required firms and
an SME share. OR-Tools CP-SAT solves it exactly; a greedy heuristic stands in when ortools is
not installed or finds no solution in time.

Lot values: a lot without a value counts as the mean of the tender's known lot values (1 each
if none is known). A firm's capacity is ``capacity_factor`` times its largest past project
value; a firm without project values has no limit. Firms whose ``sme`` is unknown count as
non-SME. The SME share is the SME-held value over the value of the lots some eligible firm
can take: lots nobody can take are no part of any bid, and a lot a team leaves uncovered
counts as not held by an SME, so covering more never lowers the share.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from heapq import merge
from typing import Literal

from matcher.errors import InputError, MatcherError
from matcher.rank.parts import holds_certification, region_covers
from matcher.results import Assignment, Team, TeamMethod
from matcher.schema import Lot, Participant, Tender

SCORE_POINTS = 1000  # scores become integers for CP-SAT: 0.001 is finer than any score difference that matters
VALUE_UNITS = 1_000_000  # values become integers too: the largest lot is this many units
Pair = tuple[str, str]  # (lot id, firm id)
Plan = dict[str, str]  # lot id -> firm id
Candidates = Mapping[str, Sequence[tuple[Participant, float]]]  # lot id -> (firm, score) pairs
Method = TeamMethod


@dataclass(frozen=True)
class TeamConstraints:
    """What every team must satisfy; see :func:`build_consortia`."""

    max_partners: int = 5  # distinct firms in a team, lead included
    min_sme_share: float = 0.0  # SME-held share of the coverable lot value
    regions: tuple[str, ...] = ()  # every member serves one of these ("RU" covers "RU-SPE"); none stated fails
    exclude: tuple[str, ...] = ()  # participant ids never used
    require: tuple[str, ...] = ()  # participant ids in every team, each taking at least one lot
    capacity_factor: float = 3.0  # a firm takes lots worth at most this times its largest past project
    time_limit_s: float = 10.0  # CP-SAT budget per team, in its deterministic seconds (close to wall seconds)


@dataclass
class _Problem:
    """The instance in integers: eligible pairs only, values in units, scores in points."""

    lots: list[str]
    value: dict[str, int]
    score: dict[Pair, float]
    points: dict[Pair, int]
    order: list[Pair]  # eligible pairs, best score first (ties: lot order, firm id)
    cap: dict[str, int]  # firms with a capacity limit
    sme: frozenset[str]
    required: tuple[str, ...]
    reasons: dict[str, str]  # lot nobody eligible can take -> why
    max_partners: int
    wanted: int  # SME value units min_sme_share asks for
    base: int  # value units of the coverable lots
    sme_need: int = 0  # what teams must reach: `wanted`, or less when no team reaches it
    fixed: Plan = field(default_factory=dict)  # lot -> required firm, one lot each

    @property
    def big_m(self) -> int:  # one more covered lot outweighs any sum of points
        return SCORE_POINTS * len(self.lots) + 1

    def objective(self, assign: Plan) -> int:
        return sum(self.big_m + self.points[(lot, firm)] for lot, firm in assign.items())

    def sme_value(self, assign: Plan) -> int:
        return sum(self.value[lot] for lot, firm in assign.items() if firm in self.sme)

    def sort_key(self, assign: Plan) -> tuple[int, int, int, tuple[str, ...]]:
        members = tuple(sorted(set(assign.values())))
        return (-min(self.sme_value(assign), self.sme_need), -self.objective(assign), len(members), members)


def build_consortia(
    tender: Tender,
    candidates: Candidates,
    constraints: TeamConstraints = TeamConstraints(),
    teams: int = 3,
    solver: Literal["auto", "cp-sat", "greedy"] = "auto",
) -> list[Team]:
    """The best teams that together cover a tender's lots, best first, with distinct member sets.

    A team covers as many lots as it can, then maximises the sum of its assignment scores. Each
    later team uses a member set no earlier team used (CP-SAT: a no-good cut); the list is
    shorter than ``teams`` when no other non-empty team exists (or greedy finds none). When no
    team reaches ``min_sme_share``, the requirement is lowered to the highest share any team
    reaches, and every team says so in ``lacks``: "SME share 0.30 < required 0.40: no team reaches it".

    Greedy (``method="greedy"``) keeps the better of two passes, by pairs (best (lot, firm) score
    first; a new firm only while there is room) and by firms (add the firm that gains the most
    lots covered, then score, while there is room), after moving lots to SME firms, smallest
    score loss first, until the SME share is met. Its alternatives are greedy re-run with one or
    two members of earlier greedy teams left out, ranked by SME share (up to the requirement),
    then lots covered, then score. What it guarantees:

    - every team respects eligibility, capacity, max_partners and the required firms;
    - with no capacity limits, required firms or SME share, the by-firms pass maximises a
      monotone submodular function under a cardinality limit, so the first team reaches at
      least (1 - 1/e) of the optimal objective (lots covered × big M + points) and of the
      optimal number of lots covered (Nemhauser, Wolsey and Fisher, 1978);
    - if moreover max_partners is at least the number of lots, the by-pairs pass gives every
      lot its best eligible firm: the first team is optimal.

    Args:
        tender: the tender; its lots fix the order of assignments.
        candidates: for each lot id, (participant, score) pairs with scores in [0, 1], e.g. the
            per-lot rankings of :meth:`matcher.search.Matcher.suggest`; a lot left out has none.
        constraints: limits every team must meet.
        teams: how many teams to return at most.
        solver: "cp-sat" (exact), "greedy", or "auto" (CP-SAT if ortools imports).

    Raises:
        InputError: nonsense constraints, scores outside [0, 1], unknown lot ids, or required
            firms that cannot all be placed.
        MatcherError: solver="cp-sat" but ortools is not installed.

    Example:
        >>> ranked = {lot.id: [(firm, 0.8), (other, 0.6)] for lot in tender.lots}  # doctest: +SKIP
        >>> build_consortia(tender, ranked, TeamConstraints(max_partners=2))[0].members  # doctest: +SKIP
        ('p-017', 'p-042')
    """
    c = constraints
    _check(c, teams, solver)
    p = _prepare(tender, candidates, c)
    exact = solver != "greedy"
    if exact:
        try:
            from ortools.sat.python import cp_model  # noqa: F401  heavy and optional: greedy works without it
        except ImportError as ex:
            if solver == "cp-sat":
                raise MatcherError("ortools is not installed: `pip install ortools`, or use solver='greedy'") from ex
            exact = False
    found: list[tuple[Plan, Method, bool]] = []
    pool: list[Plan] | None = None
    while len(found) < teams:
        used = [frozenset(a.values()) for a, _, _ in found]
        if exact:
            status, assign = _solve_cp(p, used, c.time_limit_s)
            if status == "infeasible" and not found and p.sme_need == p.wanted > 0:
                # no team reaches the SME share: aim for the highest share any team reaches instead
                status, most = _solve_cp(p, [], c.time_limit_s, most_sme=True)
                if status != "unknown":
                    p.sme_need = p.sme_value(most)
                    continue
            if status == "infeasible":
                break
            if status != "unknown":
                found.append((assign, "cp-sat", status == "optimal"))
                continue
            exact = False  # nothing within the time budget: greedy finishes the list
        pool = pool if pool is not None else _greedy_pool(p)
        rest = [a for a in pool if frozenset(a.values()) not in used]
        if not rest:
            break
        found.append((rest[0], "greedy", False))
    return [_team(p, a, rank, method, optimal, c) for rank, (a, method, optimal) in enumerate(found, 1)]


def _check(c: TeamConstraints, teams: int, solver: str) -> None:
    if solver not in ("auto", "cp-sat", "greedy"):
        raise InputError(f"solver must be 'auto', 'cp-sat' or 'greedy', got {solver!r}")
    if teams < 1:
        raise InputError(f"teams must be at least 1, got {teams}")
    for name in ("regions", "exclude", "require"):
        if isinstance(getattr(c, name), str):
            raise InputError(f"{name} must be a tuple of strings, e.g. ({getattr(c, name)!r},)")
    if c.max_partners < 1:
        raise InputError(f"max_partners must be at least 1 (the lead), got {c.max_partners}")
    if not 0.0 <= c.min_sme_share <= 1.0:
        raise InputError(f"min_sme_share is a share of the lot value, from 0 to 1; got {c.min_sme_share}")
    if not c.capacity_factor > 0 or not c.time_limit_s > 0:
        raise InputError(f"capacity_factor and time_limit_s must be positive: {c.capacity_factor}, {c.time_limit_s}")
    both = sorted(set(c.require) & set(c.exclude))
    if both:
        raise InputError(f"{', '.join(both)} is both required and excluded; drop it from one of them")
    if len(set(c.require)) > c.max_partners:
        raise InputError(f"{len(set(c.require))} required firms exceed max_partners={c.max_partners}; raise it")


def _why_not(lot: Lot, firm: Participant, c: TeamConstraints, value: int, cap: int | None) -> str | None:
    """Why a firm cannot take a lot, or None if it can."""
    if firm.id in c.exclude:
        return "is excluded"
    if c.regions and not any(region_covers(s, w) for s in firm.regions for w in c.regions):
        return f"serves none of {', '.join(c.regions)}"
    missing = [x for x in lot.certifications if not holds_certification(firm.certifications, x)]
    if missing:
        return "lacks " + ", ".join(missing)
    if cap is not None and value > cap:
        return f"is too small: lot over {c.capacity_factor:g}x its largest project"
    return None


def _prepare(tender: Tender, candidates: Candidates, c: TeamConstraints) -> _Problem:
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
    for lot in tender.lots:
        for firm, s in sorted(candidates.get(lot.id, ()), key=lambda t: (t[0].id, -t[1])):
            if not 0.0 <= s <= 1.0:
                raise InputError(f"score {s} of {firm.id} for lot {lot.id} is outside [0, 1]; pass ranking scores")
            firm = firms.setdefault(firm.id, firm)
            if firm.largest_project_value:
                caps[firm.id] = round(c.capacity_factor * firm.largest_project_value / unit)
            why = _why_not(lot, firm, c, value[lot.id], caps.get(firm.id))
            if why:
                refused[lot.id].append((firm, why))
            elif (lot.id, firm.id) not in score:  # a firm listed twice keeps its best score
                score[(lot.id, firm.id)] = float(s)
    points = {q: round(s * SCORE_POINTS) for q, s in score.items()}
    order = sorted(points, key=lambda q: (-points[q], lot_ids.index(q[0]), q[1]))
    coverable = {lot for lot, _ in order}
    reasons = {lot.id: _uncoverable(lot, refused[lot.id]) for lot in tender.lots if lot.id not in coverable}
    base = sum(value[lot] for lot in coverable)
    wanted = math.ceil(round(c.min_sme_share * base, 6))
    sme = frozenset(f for f, firm in firms.items() if firm.sme)
    required = tuple(sorted(set(c.require)))
    p = _Problem(lot_ids, value, score, points, order, caps, sme, required, reasons, c.max_partners, wanted, base)
    p.sme_need = wanted
    p.fixed = _place_required(p, firms, refused)  # every required firm gets a lot of its own, or InputError
    return p


def _uncoverable(lot: Lot, refused: list[tuple[Participant, str]]) -> str:
    if not refused:
        return f"lot {lot.id}: no candidates"
    nobody = [x for x in lot.certifications if not any(holds_certification(p.certifications, x) for p, _ in refused)]
    if nobody:
        return f"lot {lot.id}: no candidate holds {', '.join(nobody)}"
    shown = "; ".join(f"{p.id} {why}" for p, why in refused[:3]) + ("; ..." if len(refused) > 3 else "")
    return f"lot {lot.id}: no eligible candidate ({shown})"


def _place_required(p: _Problem, firms: Mapping[str, Participant], refused: Mapping[str, list]) -> Plan:
    """One lot for each required firm (a bipartite matching, best lots tried first), or InputError."""
    options = {f: [lot for lot, g in p.order if g == f] for f in p.required}
    held: Plan = {}

    def place(firm: str, tried: set[str]) -> bool:  # Kuhn's augmenting path
        for lot in options[firm]:
            if lot not in tried:
                tried.add(lot)
                if lot not in held or place(held[lot], tried):
                    held[lot] = firm
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


def _solve_cp(p: _Problem, used: list[frozenset[str]], limit: float, most_sme: bool = False) -> tuple[str, Plan]:
    """One CP-SAT solve: ("optimal" | "feasible" | "infeasible" | "unknown", lot -> firm)."""
    from ortools.sat.python import cp_model  # heavy (native solver, protobuf): only when the exact solver runs

    model = cp_model.CpModel()
    x = {q: model.new_bool_var(f"x[{q[0]},{q[1]}]") for q in p.order}
    firms = sorted({f for _, f in p.order})
    if not firms:  # nothing to choose: one empty team that names every lot in lacks, then no other
        return ("infeasible" if used else "optimal"), {}
    y = {f: model.new_bool_var(f"y[{f}]") for f in firms}
    for lot in p.lots:
        model.add_at_most_one(v for q, v in x.items() if q[0] == lot)
    for f in firms:
        held = [(q[0], v) for q, v in x.items() if q[1] == f]
        model.add_max_equality(y[f], [v for _, v in held])  # y is "takes a lot": cuts speak of real member sets
        if f in p.cap:
            model.add(sum(p.value[lot] * v for lot, v in held) <= p.cap[f])
    model.add_linear_constraint(sum(y.values()), 1, p.max_partners)  # an empty team is no alternative
    for f in p.required:
        model.add(y[f] == 1)
    sme = sum(p.value[q[0]] * v for q, v in x.items() if q[1] in p.sme)
    for members in used:
        model.add(sum(1 - y[f] for f in members) + sum(y[f] for f in firms if f not in members) >= 1)
    if most_sme:
        model.maximize(sme)
    else:
        if p.sme_need:
            model.add(sme >= p.sme_need)
        # lots covered, then points, then fewer firms: each level outweighs all below it
        model.maximize(sum((p.big_m + p.points[q]) * (len(firms) + 1) * v for q, v in x.items()) - sum(y.values()))
    solver = cp_model.CpSolver()
    # One worker, a fixed seed and a budget in deterministic time (about seconds, but counted in work
    # done): the same input gives the same teams even when the budget runs out.
    solver.parameters.num_workers = 1
    solver.parameters.random_seed = 0
    solver.parameters.max_deterministic_time = limit
    # The model's LP relaxation is tight (as for facility location); with all of it in, CP-SAT proves
    # optimality in milliseconds where the default linearization ran out of a 10 s budget.
    solver.parameters.linearization_level = 2
    status = solver.solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return ("infeasible" if status == cp_model.INFEASIBLE else "unknown"), {}
    assign = {q[0]: q[1] for q, v in x.items() if solver.value(v)}
    return ("optimal" if status == cp_model.OPTIMAL else "feasible"), assign


def _loads(p: _Problem, assign: Plan) -> Counter[str]:
    """Assigned value units per member (members with only zero-value lots included)."""
    load: Counter[str] = Counter()
    for lot, f in assign.items():
        load[f] += p.value[lot]
    return load


def _fill(p: _Problem, pairs: Iterable[Pair], room: int | None) -> Plan:
    """Take pairs in order while the lot is free, the firm has capacity and the team room."""
    assign = dict(p.fixed)
    load = _loads(p, assign)
    for lot, f in pairs:
        if lot in assign or (f not in load and room is not None and len(load) >= room):
            continue
        if load[f] + p.value[lot] <= p.cap.get(f, math.inf):
            assign[lot] = f
            load[f] += p.value[lot]
    return assign


def _more_sme(p: _Problem, assign: Plan, pairs: Sequence[Pair]) -> Plan:
    """Move lots to SME firms, smallest score loss first, until the SME share is met or no move is left."""
    while p.sme_value(assign) < p.sme_need:
        count, load = Counter(assign.values()), _loads(p, assign)
        moves = []
        for lot, f in pairs:
            old = assign.get(lot)
            if f not in p.sme or old in p.sme or (old in p.required and count[old] == 1):
                continue  # only non-SME (or empty) lots move; a required firm keeps its last lot
            full = f not in count and len(count) - (old is not None and count[old] == 1) >= p.max_partners
            if full or load[f] + p.value[lot] > p.cap.get(f, math.inf):
                continue
            before = p.big_m + p.points[(lot, old)] if old else 0
            moves.append((before - p.big_m - p.points[(lot, f)], p.lots.index(lot), f, lot))
        if not moves:
            break
        *_, f, lot = min(moves)
        assign = {**assign, lot: f}
    return assign


def _greedy(p: _Problem, banned: frozenset[str]) -> Plan:
    pairs = [q for q in p.order if q[1] not in banned]
    by_pairs = _fill(p, pairs, p.max_partners)
    rank = {q: i for i, q in enumerate(pairs)}
    own: dict[str, list[Pair]] = {}
    for q in pairs:
        own.setdefault(q[1], []).append(q)
    chosen = set(p.fixed.values())
    inside = sorted((q for f in chosen for q in own.get(f, ())), key=rank.__getitem__)
    by_firms = _fill(p, inside, None)
    while len(chosen) < p.max_partners:
        # merging two sorted lists, not filtering all pairs, keeps this fast for hundreds of firms
        others = (f for f in sorted(own) if f not in chosen)
        trials = [(f, _fill(p, merge(inside, own[f], key=rank.__getitem__), None)) for f in others]
        best = max(trials, key=lambda t: p.objective(t[1]), default=None)  # ties: first id
        if best is None or p.objective(best[1]) <= p.objective(by_firms):
            break
        chosen.add(best[0])
        inside = list(merge(inside, own[best[0]], key=rank.__getitem__))
        by_firms = best[1]
    return min((_more_sme(p, a, pairs) for a in (by_pairs, by_firms)), key=p.sort_key)


def _greedy_pool(p: _Problem) -> list[Plan]:
    """Greedy teams, best first: the plain one and those with one or two earlier members left out.

    The pool does not depend on how many teams are asked for, so neither does the first team.
    """
    found: dict[frozenset[str], Plan] = {}
    bans: list[frozenset[str]] = [frozenset()]
    for _depth in range(3):
        grown: list[frozenset[str]] = []
        for ban in bans:
            assign = _greedy(p, ban)
            found.setdefault(frozenset(assign.values()), assign)
            grown += [ban | {m} for m in sorted(set(assign.values()) - set(p.required))]
        bans = list(dict.fromkeys(grown))
    return sorted((a for a in found.values() if a or not p.order), key=p.sort_key)  # no empty alternatives


def _team(p: _Problem, assign: Plan, rank: int, method: Method, optimal: bool, c: TeamConstraints) -> Team:
    value, score = _loads(p, assign), {f: 0.0 for f in assign.values()}
    for lot, f in assign.items():
        score[f] += p.score[(lot, f)]
    members = tuple(sorted(value, key=lambda f: (-value[f], -score[f], f)))
    assignments = tuple(Assignment(lot, assign[lot], p.score[(lot, assign[lot])]) for lot in p.lots if lot in assign)
    uncovered = tuple(lot for lot in p.lots if lot not in assign)
    fits = f"no eligible firm fits this team (max_partners {c.max_partners}, capacity)"
    lacks = [p.reasons.get(lot) or f"lot {lot}: {fits}" for lot in uncovered]
    share = p.sme_value(assign) / p.base if p.base else 0.0
    if p.sme_value(assign) < p.wanted:
        how = "no team reaches it" if method == "cp-sat" else "greedy moves could not reach it"
        lacks.append(f"SME share {share:.2f} < required {c.min_sme_share:.2f}: {how}")
    lead, total = members[0] if members else None, round(sum(score.values()), 6)
    return Team(rank, lead, members, assignments, total, round(share, 4), uncovered, tuple(lacks), method, optimal)
