"""The solvers of the team-building problem: CP-SAT (exact, when ortools is installed) and a greedy heuristic.

Both read a :class:`matcher.rank.team_problem.Problem` and return plans (lot id -> firm id);
:func:`matcher.rank.consortium.build_consortia` says what each guarantees.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from heapq import merge

from matcher.rank.team_problem import Pair, Plan, Problem


def solve_cp(p: Problem, used: list[frozenset[str]], limit: float, most_sme: bool = False) -> tuple[str, Plan]:
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


def _fill(p: Problem, pairs: Iterable[Pair], room: int | None) -> Plan:
    """Take pairs in order while the lot is free, the firm has capacity and the team room."""
    assign = dict(p.fixed)
    load = p.loads(assign)
    for lot, f in pairs:
        if lot in assign or (f not in load and room is not None and len(load) >= room):
            continue
        if load[f] + p.value[lot] <= p.cap.get(f, math.inf):
            assign[lot] = f
            load[f] += p.value[lot]
    return assign


def _more_sme(p: Problem, assign: Plan, pairs: Sequence[Pair]) -> Plan:
    """Move lots to SME firms, smallest score loss first, until the SME share is met or no move is left."""
    while p.sme_value(assign) < p.sme_need:
        count, load = Counter(assign.values()), p.loads(assign)
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


def _greedy(p: Problem, banned: frozenset[str]) -> Plan:
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


def greedy_pool(p: Problem) -> list[Plan]:
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
