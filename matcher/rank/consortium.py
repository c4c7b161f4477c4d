"""Consortia: whole teams for a multi-lot tender, built from the per-lot rankings.

A team is a set of firms and, per lot, at most one holder, alone or with partners. Teams cover
as many lots as possible first, then hold as many as they can with a fit in the possible band or
above (:data:`matcher.rank.calibration.POSSIBLE`), then use as few extra firms per lot as they
can, then maximise the sum of the ranking scores of their assignments, within eligibility
(certifications, regions, exclusions), a limit on firms, per-firm capacity, required firms and
an SME share.

A lot no single firm can take may be held jointly by up to ``max_joint`` firms (see
:mod:`matcher.rank.team_groups`): their certifications together cover the lot's, their
capacities together its value. Each extra firm on a lot costs more than any sum of scores, so a
single holder wins whenever one can take the lot and fits it at least possibly; a firm that
fits a lot weakly holds it, alone or not, only where no firm nor group fitting it better can be
in the team (a lot held in name only is worth less than one held with an extra firm). OR-Tools
CP-SAT solves it exactly; a greedy heuristic stands in when ortools is not installed or finds no
solution in time.

Lot values: a lot without a value counts as the mean of the tender's known lot values (1 each
if none is known). A firm's capacity is ``capacity_factor`` times its largest past project
value; a firm without project values has no limit. Firms whose ``sme`` is unknown count as
non-SME. The SME share is the SME-held value over the value of the lots some eligible firm
can take: lots nobody can take are no part of any bid, and a lot a team leaves uncovered
counts as not held by an SME, so covering more never lowers the share.
"""

from __future__ import annotations

from typing import Literal

from matcher.errors import InputError, MatcherError
from matcher.i18n import tr
from matcher.rank.calibration import POSSIBLE
from matcher.rank.team_problem import Candidates, Plan, Problem, TeamConstraints, prepare
from matcher.rank.team_solvers import greedy_pool, solve_cp
from matcher.results import Assignment, Team, TeamMethod
from matcher.schema import Tender

__all__ = ["TeamConstraints", "build_consortia"]

Method = TeamMethod


def build_consortia(
    tender: Tender,
    candidates: Candidates,
    constraints: TeamConstraints = TeamConstraints(),
    teams: int = 3,
    solver: Literal["auto", "cp-sat", "greedy"] = "auto",
) -> list[Team]:
    """The best teams that together cover a tender's lots, best first, with distinct member sets.

    A team covers as many lots as it can, then holds as many as it can with a possible or strong
    fit (a holding's score at least :data:`~matcher.rank.calibration.POSSIBLE`), then uses as few
    extra firms per lot as it can, then maximises the sum of its assignment scores. Each later
    team uses a member set no earlier team used (CP-SAT: a no-good cut); the list is shorter
    than ``teams`` when no other non-empty team exists (or greedy finds none). When no team
    reaches ``min_sme_share``, the requirement is lowered to the highest share any team reaches,
    and every team says so in ``lacks``: "SME share 0.30 < required 0.40: no team reaches it".

    A lot no single firm can take may go to a group of up to ``max_joint`` firms (see the module
    docstring); its assignment names the holder and the partners, each with what it brings.

    Greedy (``method="greedy"``) keeps the better of two passes over single holders, by pairs
    (best (lot, firm) score first; a new firm only while there is room) and by firms (add the
    firm that gains the most lots covered, then score, while there is room), after moving lots
    to SME firms, smallest score loss first, until the SME share is met; then it gives the lots
    left to groups (fewest firms, then best score, first) while there is room, and tries again
    with the lots held weakly offered first to the groups that fit them better (and to weaker
    groups only after their single holders), keeping the better. A lot still uncovered is then
    placed first, by each of its 3 options bringing the fewest new firms, and the passes rerun
    around it, kept where that covers more lots. Its alternatives are greedy re-run with one or
    two members of earlier greedy teams left out, ranked by SME share (up to the requirement),
    then lots covered, then score. What it guarantees:

    - every team respects eligibility, capacity, max_partners, max_joint and the required firms;
    - with no capacity limits, required firms, SME share or joint holding (``max_joint=1``), the
      by-firms pass maximises a monotone submodular function under a cardinality limit, so the
      first team reaches at least (1 - 1/e) of the optimal objective (lots covered × big M +
      lots held with a possible or strong fit × a smaller weight + points) and of the optimal
      number of lots covered (Nemhauser, Wolsey and Fisher, 1978);
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
    _check(constraints, teams, solver)
    p = prepare(tender, candidates, constraints)
    found = _search(p, teams, _use_cp_sat(solver), constraints.time_limit_s)
    return [_team(p, a, rank, method, optimal, constraints) for rank, (a, method, optimal) in enumerate(found, 1)]


def _use_cp_sat(solver: str) -> bool:
    """Whether the exact solver runs: asked for (or "auto") and ortools imports."""
    if solver == "greedy":
        return False
    try:
        from ortools.sat.python import cp_model  # noqa: F401  heavy and optional: greedy works without it
    except ImportError as ex:
        if solver == "cp-sat":
            raise MatcherError("ortools is not installed: `pip install ortools`, or use solver='greedy'") from ex
        return False
    return True


def _search(p: Problem, teams: int, exact: bool, limit: float) -> list[tuple[Plan, Method, bool]]:
    """Up to `teams` plans with distinct member sets, best first: (plan, method, proven optimal)."""
    found: list[tuple[Plan, Method, bool]] = []
    pool: list[Plan] | None = None
    while len(found) < teams:
        used = [p.members(a) for a, _, _ in found]
        if exact:
            status, assign = solve_cp(p, used, limit)
            if status == "infeasible" and not found and p.sme_need == p.wanted > 0:
                # no team reaches the SME share: aim for the highest share any team reaches instead
                status, most = solve_cp(p, [], limit, most_sme=True)
                if status != "unknown":
                    p.sme_need = p.sme_value(most)
                    continue
            if status == "infeasible":
                break
            if status != "unknown":
                found.append((assign, "cp-sat", status == "optimal"))
                continue
            exact = False  # nothing within the time budget: greedy finishes the list
        pool = pool if pool is not None else greedy_pool(p)
        rest = [a for a in pool if p.members(a) not in used]
        if not rest:
            break
        found.append((rest[0], "greedy", False))
    return found


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
    if not 1 <= c.max_joint <= 4:
        raise InputError(f"max_joint is firms per lot, holder included, from 1 (alone) to 4; got {c.max_joint}")
    if not 0.0 <= c.min_sme_share <= 1.0:
        raise InputError(f"min_sme_share is a share of the lot value, from 0 to 1; got {c.min_sme_share}")
    if not c.capacity_factor > 0 or not c.time_limit_s > 0:
        raise InputError(f"capacity_factor and time_limit_s must be positive: {c.capacity_factor}, {c.time_limit_s}")
    both = sorted(set(c.require) & set(c.exclude))
    if both:
        raise InputError(f"{', '.join(both)} is both required and excluded; drop it from one of them")
    if len(set(c.require)) > c.max_partners:
        raise InputError(f"{len(set(c.require))} required firms exceed max_partners={c.max_partners}; raise it")


def _assignment(p: Problem, lot: str, firms: tuple[str, ...]) -> Assignment:
    q = (lot, firms)
    share = round(p.carries(q)[0] / p.value[lot], 4) if p.value[lot] else 1.0
    return Assignment(lot, firms[0], p.score[q], p.partners.get(q, ()), share)


def _team(p: Problem, assign: Plan, rank: int, method: Method, optimal: bool, c: TeamConstraints) -> Team:
    value, score = p.loads(assign), {f: 0.0 for f in p.members(assign)}
    for q in assign.items():
        score[q[1][0]] += p.score[q]
    members = tuple(sorted(value, key=lambda f: (-value[f], -score[f], f)))
    assignments = tuple(_assignment(p, lot, assign[lot]) for lot in p.lots if lot in assign)
    uncovered = tuple(lot for lot in p.lots if lot not in assign)
    fits = tr("no eligible firm fits this team (max_partners %(n)s, capacity)", n=c.max_partners)
    lacks = [p.reasons.get(lot) or tr("lot %(lot)s: %(why)s", lot=lot, why=fits) for lot in uncovered]
    # A lot held with a weak fit is covered in name only: the team must not look stronger than the cluster is.
    for a in assignments:
        if a.score < POSSIBLE:
            lacks.append(
                tr(
                    "lot %(lot)s: held with a weak fit (%(fit).2f, below the possible band's %(possible).2f)",
                    lot=a.lot_id,
                    fit=a.score,
                    possible=POSSIBLE,
                )
            )
    share = p.sme_value(assign) / p.base if p.base else 0.0
    if p.sme_value(assign) < p.wanted:
        how = tr("no team reaches it") if method == "cp-sat" else tr("greedy moves could not reach it")
        lacks.append(
            tr("SME share %(share).2f < required %(wanted).2f: %(how)s", share=share, wanted=c.min_sme_share, how=how)
        )
    lead, total = members[0] if members else None, round(sum(score.values()), 6)
    return Team(rank, lead, members, assignments, total, round(share, 4), uncovered, tuple(lacks), method, optimal)
