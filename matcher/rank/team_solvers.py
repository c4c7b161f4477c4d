"""The solvers of the team-building problem: CP-SAT (exact, when ortools is installed) and a greedy heuristic.

Both read a :class:`matcher.rank.team_problem.Problem` and return plans (lot id -> firms, holder first);
:func:`matcher.rank.consortium.build_consortia` says what each guarantees.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import replace
from heapq import merge

from matcher.rank.team_problem import Pair, Plan, Problem

REPAIRS = 3  # options tried first per uncovered lot, those bringing fewest new firms: each reruns the passes


def solve_cp(p: Problem, used: list[frozenset[str]], limit: float, most_sme: bool = False) -> tuple[str, Plan]:
    """One CP-SAT solve: ("optimal" | "feasible" | "infeasible" | "unknown", lot -> firms)."""
    from ortools.sat.python import cp_model  # heavy (native solver, protobuf): only when the exact solver runs

    model = cp_model.CpModel()
    x = {q: model.new_bool_var(f"x[{q[0]},{'+'.join(q[1])}]") for q in p.order}
    firms = sorted({f for _, g in p.order for f in g})
    if not firms:  # nothing to choose: one empty team that names every lot in lacks, then no other
        return ("infeasible" if used else "optimal"), {}
    y = {f: model.new_bool_var(f"y[{f}]") for f in firms}
    for lot in p.lots:
        model.add_at_most_one(v for q, v in x.items() if q[0] == lot)
    held: dict[str, list[tuple[int, cp_model.IntVar]]] = {f: [] for f in firms}  # firm -> (units it carries, x)
    for q, v in x.items():
        for f, units in zip(q[1], p.carries(q)):
            held[f].append((units, v))
    for f in firms:
        model.add_max_equality(y[f], [v for _, v in held[f]])  # y is "takes part in a lot": cuts see real members
        if f in p.cap:
            model.add(sum(units * v for units, v in held[f]) <= p.cap[f])
    model.add_linear_constraint(sum(y.values()), 1, p.max_partners)  # an empty team is no alternative
    for f in p.required:
        model.add(y[f] == 1)
    sme = sum(units * v for f in firms if f in p.sme for units, v in held[f])
    for members in used:
        model.add(sum(1 - y[f] for f in members) + sum(y[f] for f in firms if f not in members) >= 1)
    if most_sme:
        model.maximize(sme)
    else:
        if p.sme_need:
            model.add(sme >= p.sme_need)
        # lots covered, then lots held with a possible or strong fit, then fewer firms per lot, then
        # points, then fewer firms: each outweighs all below it
        model.maximize(sum(p.gain(q) * (len(firms) + 1) * v for q, v in x.items()) - sum(y.values()))
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


def _fill(p: Problem, pairs: Iterable[Pair], room: int | None, start: Plan | None = None) -> Plan:
    """Take options in order while the lot is free, its firms have capacity and the team room."""
    assign = dict(p.fixed if start is None else start)
    load = p.loads(assign)
    for q in pairs:
        lot, firms = q
        new = sum(f not in load for f in firms)
        if lot in assign or (new and room is not None and len(load) + new > room):
            continue
        carries = p.carries(q)
        if all(load[f] + u <= p.cap.get(f, math.inf) for f, u in zip(firms, carries)):
            assign[lot] = firms
            for f, u in zip(firms, carries):
                load[f] += u
    return assign


def _more_sme(p: Problem, assign: Plan, pairs: Sequence[Pair]) -> Plan:
    """Move lots to SME firms, smallest score loss first, until the SME share is met or no move is left."""
    while p.sme_value(assign) < p.sme_need:
        count, load = Counter(f for g in assign.values() for f in g), p.loads(assign)
        moves = []
        for lot, (f,) in pairs:
            held = assign.get(lot)
            if held is not None and len(held) > 1:
                continue  # a lot held jointly stays with its group
            old = held[0] if held else None
            if f not in p.sme or old in p.sme or (old in p.required and count[old] == 1):
                continue  # only non-SME (or empty) lots move; a required firm keeps its last lot
            full = f not in count and len(count) - (old is not None and count[old] == 1) >= p.max_partners
            if full or load[f] + p.value[lot] > p.cap.get(f, math.inf):
                continue
            before = p.gain((lot, (old,))) if old else 0
            moves.append((before - p.gain((lot, (f,))), p.lots.index(lot), f, lot))
        if not moves:
            break
        *_, f, lot = min(moves)
        assign = {**assign, lot: (f,)}
    return assign


def _with_groups(p: Problem, assign: Plan, pairs: Sequence[Pair], groups: Sequence[Pair]) -> list[Plan]:
    """The lots left given to groups, fewest firms first; and, where some lots are held with a weak
    fit, those lots offered to the groups that fit them better first, held alone again where none fits."""
    plain = _fill(p, groups, p.max_partners, assign)
    weak = {lot for lot, firms in assign.items() if lot not in p.fixed and not p.capable((lot, firms))}
    if not weak:
        return [plain]
    kept = {lot: firms for lot, firms in assign.items() if lot not in weak}
    # a group that fits no better than the weak holder (both below the band) only costs a firm:
    # such groups come after the single holders, for the weak lots those can no longer take
    better = [q for q in groups if p.capable(q)]
    rest = [q for q in groups if not p.capable(q)]
    return [plain, _fill(p, [*better, *(q for q in pairs if q[0] in weak), *rest], p.max_partners, kept)]


def _greedy(p: Problem, banned: frozenset[str]) -> Plan:
    """The passes; then each lot they leave uncovered is placed first, one option at a time, and the
    passes run again around it: a firm or room the passes spent elsewhere may be what the lot needs
    (the sample bridge's lot 5, whose laboratory needs the large firm that took lots 1 and 2)."""
    plan = _passes(p, banned)
    for lot in p.lots:
        if lot in plan:
            continue
        held = p.members(plan)
        options = [q for q in p.order if q[0] == lot and not banned & set(q[1])]
        options.sort(key=lambda q: sum(f not in held for f in q[1]))  # stable: best first among equals
        for q in options[:REPAIRS]:
            first = _fill(p, [q], p.max_partners)
            if lot not in first:
                continue  # no room beside the required firms
            trial = _passes(replace(p, fixed=first), banned)  # kept by every pass, as a required firm's lot
            # more lots covered, and no further from the SME share: a trial that only moves the share
            # would rank a team of fewer lots first
            if len(trial) > len(plan) and p.sort_key(trial) < p.sort_key(plan):
                plan = trial
    return plan


def _passes(p: Problem, banned: frozenset[str]) -> Plan:
    """Both passes over single holders; then the lots left (and those held weakly) are given to groups."""
    pairs = [q for q in p.order if len(q[1]) == 1 and q[1][0] not in banned]
    groups = [q for q in p.order if len(q[1]) > 1 and not banned & set(q[1])]
    by_pairs = _fill(p, pairs, p.max_partners)
    rank = {q: i for i, q in enumerate(pairs)}
    own: dict[str, list[Pair]] = {}
    for q in pairs:
        own.setdefault(q[1][0], []).append(q)
    chosen = set(p.members(p.fixed))
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
    passes = (_more_sme(p, a, pairs) for a in (by_pairs, by_firms))
    return min((plan for a in passes for plan in _with_groups(p, a, pairs, groups)), key=p.sort_key)


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
            found.setdefault(p.members(assign), assign)
            grown += [ban | {m} for m in sorted(p.members(assign) - set(p.required))]
        bans = list(dict.fromkeys(grown))
    return sorted((a for a in found.values() if a or not p.order), key=p.sort_key)  # no empty alternatives
