"""Consortium builder on hand-made tenders whose best teams are worked out in the comments."""

from __future__ import annotations

import math
import random
import sys

import pytest

from matcher.errors import InputError, MatcherError
from matcher.rank import consortium
from matcher.rank.calibration import POSSIBLE
from matcher.rank.consortium import TeamConstraints, build_consortia
from matcher.rank.parts import holds_certification, region_covers
from matcher.results import Assignment, Partner, Team
from matcher.schema import Lot, Participant, Project, Tender


def firm(pid, sme=False, regions=(), certs=(), largest=None):
    projects = (Project("past work", value=largest),) if largest else ()
    return Participant(pid, pid, regions=tuple(regions), sme=sme, certifications=tuple(certs), projects=projects)


def tender(*lots):
    return Tender("T", "test tender", lots=tuple(lots))


def table(firms, rows):
    """candidates from {lot: {firm id: score}}."""
    by_id = {f.id: f for f in firms}
    return {lot: [(by_id[f], s) for f, s in scores.items()] for lot, scores in rows.items()}


def pairs(team):
    return [(a.lot_id, a.participant_id, a.score) for a in team.assignments]


def holdings(team):
    """Per covered lot, its firms joined by '+', holder first: "L1:A+B L2:C"."""
    return " ".join(f"{a.lot_id}:{'+'.join(a.firms)}" for a in team.assignments)


def assert_valid(team: Team, t: Tender, candidates, c: TeamConstraints) -> None:
    """What every team must satisfy, checked from the inputs alone."""
    lots = {lot.id: lot for lot in t.lots}
    known = [lot.value for lot in t.lots if lot.value is not None]
    value = {lot.id: lot.value if lot.value is not None else sum(known) / len(known) for lot in t.lots}
    by_id = {p.id: (p, s) for rows in candidates.values() for p, s in rows}
    assert [a.lot_id for a in team.assignments] == [
        lot.id for lot in t.lots if lot.id in {a.lot_id for a in team.assignments}
    ]
    assert set(team.members) == {f for a in team.assignments for f in a.firms}
    assert team.lead_id == (team.members[0] if team.members else None)
    assert len(team.members) <= c.max_partners
    assert set(c.require) <= set(team.members) and not set(c.exclude) & set(team.members)
    assert team.total_score == pytest.approx(sum(a.score for a in team.assignments))
    load: dict[str, float] = {}
    for a in team.assignments:
        assert len(a.firms) <= c.max_joint and len(set(a.firms)) == len(a.firms)
        group = [by_id[f][0] for f in a.firms]
        own = {f: s for p, s in candidates[a.lot_id] for f in [p.id]}
        assert a.score == pytest.approx(sum(own[p.id] for p in group) / len(group), abs=1e-6)
        assert all(any(holds_certification(p.certifications, x) for p in group) for x in lots[a.lot_id].certifications)
        assert all(not c.regions or any(region_covers(s, w) for s in p.regions for w in c.regions) for p in group)
        shares = [a.holder_share] + [x.value_share for x in a.partners]
        assert sum(shares) == pytest.approx(1.0, abs=1e-3)
        for p, share in zip(group, shares):
            load[p.id] = load.get(p.id, 0.0) + share * value[a.lot_id]
    for pid, total in load.items():
        largest = by_id[pid][0].largest_project_value
        assert largest is None or total <= c.capacity_factor * largest * (1 + 1e-3)


# Case 1: three lots of 100, four firms. Per lot the best firms are A, B, C (2.6), but that is three
# firms. With max_partners=2 the pairs score: {A,B} .9+.8+.6=2.3, {C,D} .7+.6+.9=2.2,
# {A,C} .9+.3+.9=2.1, {A,D} .9+.6+.6=2.1, {B,D} .7+.8+.6=2.1, {B,C} .2+.8+.9=1.9; alone D 1.9.
FIRMS1 = [firm("A", regions=["RU-SPE"]), firm("B", regions=["RU"]), firm("C", regions=["RU-MOW"]), firm("D")]
T1 = tender(Lot("L1", value=100), Lot("L2", value=100), Lot("L3", value=100))
C1 = table(
    FIRMS1,
    {
        "L1": {"A": 0.9, "B": 0.1, "C": 0.2, "D": 0.7},
        "L2": {"A": 0.1, "B": 0.8, "C": 0.3, "D": 0.6},
        "L3": {"A": 0.2, "B": 0.6, "C": 0.9, "D": 0.6},
    },
)
TWO = TeamConstraints(max_partners=2)


def test_best_pair_is_not_the_per_lot_best():
    [team] = build_consortia(T1, C1, TWO, teams=1)
    assert pairs(team) == [("L1", "A", 0.9), ("L2", "B", 0.8), ("L3", "B", 0.6)]
    assert team.members == ("B", "A")  # B holds 200 of the value, so B leads
    assert team.total_score == pytest.approx(2.3)
    assert (team.method, team.optimal, team.uncovered, team.lacks) == ("cp-sat", True, (), ())
    assert_valid(team, T1, C1, TWO)


def test_same_input_in_another_order_gives_the_same_teams():
    shuffled = {lot: list(reversed(rows)) for lot, rows in reversed(list(C1.items()))}
    assert build_consortia(T1, shuffled, TWO) == build_consortia(T1, C1, TWO)


# Case 2: L1 needs ISO 9001 (A holds "ISO 9001:2015", B nothing), L3 needs an admission nobody
# holds, L4 has no candidates (and no value: it counts as the mean, 100).
A2, B2 = firm("A", certs=["ISO 9001:2015"]), firm("B")
T2 = tender(
    Lot("L1", value=100, certifications=("ISO 9001",)),
    Lot("L2", value=100),
    Lot("L3", value=100, certifications=("Metro works admission",)),
    Lot("L4"),
)
C2 = table([A2, B2], {"L1": {"A": 0.7, "B": 0.9}, "L2": {"A": 0.5, "B": 0.6}, "L3": {"A": 0.8, "B": 0.8}})


def test_lots_nobody_can_take_are_uncovered_and_say_why():
    [team] = build_consortia(T2, C2, teams=1)
    assert pairs(team) == [("L1", "A", 0.7), ("L2", "B", 0.6)]
    assert team.members == ("A", "B")  # equal value: the higher score leads
    assert team.uncovered == ("L3", "L4")
    assert team.lacks == ("lot L3: no candidate holds Metro works admission", "lot L4: no candidates")
    assert_valid(team, T2, C2, TeamConstraints())


def test_mixed_reasons_are_listed_per_candidate():
    c = TeamConstraints(exclude=("A",))
    [team] = build_consortia(T2, {"L1": C2["L1"]}, c, teams=1)
    assert team.lacks[0] == "lot L1: no eligible candidate, nor group of up to 3 (A is excluded; B lacks ISO 9001)"


# Case 3: lots of 500, 300, 200. N1 is best everywhere but no SME. An SME share of 0.4 (400) needs
# L1 (loss .9-.6=.3) or L2 and L3 (S2 on L2 loses .1, S1 on L3 loses .1): the latter, 2.2.
N1, S1, S2 = firm("N1"), firm("S1", sme=True), firm("S2", sme=True)
T3 = tender(Lot("L1", value=500), Lot("L2", value=300), Lot("L3", value=200))
ROWS3 = {"L1": {"N1": 0.9, "S1": 0.6, "S2": 0.3}, "L2": {"N1": 0.8, "S1": 0.5, "S2": 0.7}}
ROWS3["L3"] = {"N1": 0.7, "S1": 0.6, "S2": 0.2}
C3 = table([N1, S1, S2], ROWS3)


def test_sme_share_changes_the_team():
    [free] = build_consortia(T3, C3, teams=1)
    assert (free.members, free.total_score, free.sme_share) == (("N1",), pytest.approx(2.4), 0.0)
    c = TeamConstraints(min_sme_share=0.4)
    [team] = build_consortia(T3, C3, c, teams=1)
    assert pairs(team) == [("L1", "N1", 0.9), ("L2", "S2", 0.7), ("L3", "S1", 0.6)]
    assert (team.members, team.total_score, team.sme_share, team.lacks) == (("N1", "S2", "S1"), 2.2, 0.5, ())
    # exactly on the boundary: 0.3 is met by S2 on L2 alone
    [edge] = build_consortia(T3, C3, TeamConstraints(min_sme_share=0.3), teams=1)
    assert pairs(edge) == [("L1", "N1", 0.9), ("L2", "S2", 0.7), ("L3", "N1", 0.7)] and edge.sme_share == 0.3


# Without S2, and S1 limited to 3 x 100: S1 can take L2 (300) or L3 (200), not both; 0.3 is the most.
S1_SMALL = firm("S1", sme=True, largest=100)
C3_SMALL = table([N1, S1_SMALL, S2], ROWS3)
UNMEETABLE = TeamConstraints(min_sme_share=0.4, exclude=("S2",))


def test_unmeetable_sme_share_returns_the_closest_team_and_says_so():
    [team] = build_consortia(T3, C3_SMALL, UNMEETABLE, teams=1)
    assert pairs(team) == [("L1", "N1", 0.9), ("L2", "S1", 0.5), ("L3", "N1", 0.7)]
    assert team.sme_share == 0.3 and team.total_score == pytest.approx(2.1)
    assert team.lacks == ("SME share 0.30 < required 0.40: no team reaches it",)
    # greedy moves L3 first (loss .1), then S1 is full: 0.2
    [rough] = build_consortia(T3, C3_SMALL, UNMEETABLE, teams=1, solver="greedy")
    assert pairs(rough) == [("L1", "N1", 0.9), ("L2", "N1", 0.8), ("L3", "S1", 0.6)]
    assert rough.lacks == ("SME share 0.20 < required 0.40: greedy moves could not reach it",)


# Case 4: K (largest project 100) is best on two lots of 200; with factor 3 it can take only one.
T4 = tender(Lot("L1", value=200), Lot("L2", value=200))
C4 = table([firm("K", largest=100), firm("O")], {"L1": {"K": 0.9, "O": 0.5}, "L2": {"K": 0.8, "O": 0.6}})


def test_capacity_limits_what_a_firm_takes():
    [team] = build_consortia(T4, C4, teams=1)
    assert pairs(team) == [("L1", "K", 0.9), ("L2", "O", 0.6)] and team.members == ("K", "O")
    [big] = build_consortia(T4, C4, TeamConstraints(capacity_factor=4.0), teams=1)
    assert pairs(big) == [("L1", "K", 0.9), ("L2", "K", 0.8)]
    [only_k] = build_consortia(T4, {"L1": C4["L1"][:1]}, TeamConstraints(capacity_factor=1.5), teams=1)
    assert only_k.lacks[0] == (
        "lot L1: no eligible candidate, nor group of up to 3 (K is too small: lot over 1.5x its largest project)"
    )


@pytest.mark.parametrize(
    ("limits", "expected", "members", "score"),
    [
        ({"exclude": ("A",)}, "L1:D L2:D L3:C", ("D", "C"), 2.2),  # without A: {C,D} is best
        ({"require": ("C",), "exclude": ("D",)}, "L1:A L2:C L3:C", ("C", "A"), 2.1),  # {A,C} beats {B,C} 1.9
        # RU-MOW: C, and B (nationwide); not A (RU-SPE) nor D (no regions stated)
        ({"regions": ("RU-MOW",)}, "L1:C L2:B L3:C", ("C", "B"), 1.9),
    ],
)
def test_exclude_require_and_regions(limits, expected, members, score):
    constraints = TeamConstraints(max_partners=2, **limits)
    for solver in ("cp-sat", "greedy"):
        [team] = build_consortia(T1, C1, constraints, teams=1, solver=solver)
        plan = " ".join(f"{a.lot_id}:{a.participant_id}" for a in team.assignments)
        assert (plan, team.members, team.total_score) == (expected, members, pytest.approx(score)), solver
        assert_valid(team, T1, C1, constraints)


def test_alternatives_have_distinct_members_and_falling_scores():
    teams = build_consortia(T1, C1, TWO, teams=3)
    assert [t.rank for t in teams] == [1, 2, 3]
    assert [t.total_score for t in teams] == pytest.approx([2.3, 2.2, 2.1])
    assert [set(t.members) for t in teams[:2]] == [{"A", "B"}, {"C", "D"}]
    assert set(teams[2].members) in ({"A", "C"}, {"A", "D"}, {"B", "D"})
    # six pairs and four single firms: every member set once, then the solver proves there is no other
    everything = build_consortia(T1, C1, TWO, teams=20)
    assert len({frozenset(t.members) for t in everything}) == len(everything) == 10
    # falling by lots held with a possible or strong fit, then by score: C alone (.2, .3, .9: all
    # three held capably, 1.4) comes before B alone (.1, .8, .6: 1.5, but L1 held in name only)
    order = [(sum(a.score >= POSSIBLE for a in t.assignments), t.total_score) for t in everything]
    assert order == sorted(order, reverse=True) and all(t.optimal for t in everything)
    assert order.index((3, pytest.approx(1.4))) < order.index((2, pytest.approx(1.5)))


def test_greedy_teams_are_valid_on_every_case():
    cases = [(T1, C1, TWO), (T2, C2, TeamConstraints()), (T3, C3, TeamConstraints(min_sme_share=0.4))]
    cases += [(T3, C3_SMALL, UNMEETABLE), (T4, C4, TeamConstraints())]
    cases += [(T1, C1, TeamConstraints(max_partners=2, require=("C",), exclude=("D",)))]
    for t, cands, c in cases:
        teams = build_consortia(t, cands, c, teams=5, solver="greedy")
        assert teams and len({frozenset(x.members) for x in teams}) == len(teams)
        for team in teams:
            assert (team.method, team.optimal) == ("greedy", False)
            assert_valid(team, t, cands, c)


def test_greedy_on_case_1():
    # The plain pass by firms takes D (1.9) then C (2.2); left without C it finds {A,B} 2.3.
    teams = build_consortia(T1, C1, TWO, teams=2, solver="greedy")
    assert [pairs(t) for t in teams] == [
        [("L1", "A", 0.9), ("L2", "B", 0.8), ("L3", "B", 0.6)],
        [("L1", "D", 0.7), ("L2", "D", 0.6), ("L3", "C", 0.9)],
    ]
    [sme] = build_consortia(T3, C3, TeamConstraints(min_sme_share=0.4), teams=1, solver="greedy")
    assert pairs(sme) == [("L1", "N1", 0.9), ("L2", "S2", 0.7), ("L3", "S1", 0.6)]


def random_case(seed, lots, firms):
    """Firms hold some of three certifications; lots need one or none: not every lot is coverable."""
    rng = random.Random(seed)
    certs = ["X", "Y", "Z"]
    needs = [tuple(rng.sample(certs, rng.randint(0, 1))) for _ in range(lots)]
    t = tender(*(Lot(f"L{i}", value=rng.choice([50, 100, 300]), certifications=need) for i, need in enumerate(needs)))
    pool = [firm(f"F{j:02d}", certs=rng.sample(certs, rng.randint(0, 2))) for j in range(firms)]
    cands = {lot.id: [(f, round(rng.random(), 3)) for f in rng.sample(pool, rng.randint(0, 6))] for lot in t.lots}
    return t, cands


def objective(team, lots, joint=3):
    """Lots covered, then lots held with a possible or strong fit, then fewer extra firms per lot,
    then points: the builder's objective."""
    extra = 1000 * lots + 1
    able = extra * (lots * (joint - 1) + 1)
    big_m = able * (lots + 1)
    extras = sum(len(a.partners) for a in team.assignments)
    capable = sum(a.score >= POSSIBLE for a in team.assignments)
    points = sum(round(a.score * 1000) for a in team.assignments)
    return big_m * len(team.assignments) + able * capable - extra * extras + points


@pytest.mark.parametrize("seed", range(12))
def test_greedy_guarantee_without_side_constraints(seed):
    t, cands = random_case(seed, lots=6, firms=10)
    for k in (1, 2, 3, 6):
        c = TeamConstraints(max_partners=k, max_joint=1)  # the bound is for single holders
        [best] = build_consortia(t, cands, c, teams=1, solver="cp-sat")
        [rough] = build_consortia(t, cands, c, teams=1, solver="greedy")
        assert best.optimal
        assert objective(rough, 6, 1) >= (1 - 1 / math.e) * objective(best, 6, 1)
        assert len(rough.assignments) >= (1 - 1 / math.e) * len(best.assignments)
        if k >= len(t.lots):  # room for every lot's best firm: greedy is optimal
            assert objective(rough, 6, 1) == objective(best, 6, 1)


@pytest.mark.parametrize("seed", range(8))
def test_every_team_is_valid_under_all_side_constraints(seed):
    rng = random.Random(seed)
    t, cands = random_case(seed, lots=5, firms=8)
    # give the firms capacities and SME flags, keeping the objects the candidates hold consistent
    old = {f.id: f for rows in cands.values() for f, _ in rows}
    remade = {
        i: firm(i, rng.random() < 0.4, certs=f.certifications, largest=rng.choice([None, 40, 100]))
        for i, f in old.items()
    }
    cands = {lot: [(remade[f.id], s) for f, s in rows] for lot, rows in cands.items()}
    ids = sorted(remade)
    c = TeamConstraints(max_partners=3, min_sme_share=0.3, capacity_factor=2.0, exclude=tuple(ids[:1]))
    by = {}
    for solver in ("cp-sat", "greedy"):
        by[solver] = build_consortia(t, cands, c, teams=3, solver=solver)
        for team in by[solver]:
            assert_valid(team, t, cands, c)
    best, rough = by["cp-sat"][0], by["greedy"][0]
    if not rough.lacks or not any(x.startswith("SME") for x in rough.lacks):  # greedy met the SME share
        assert objective(best, 5) >= objective(rough, 5)


def test_lots_without_a_value_count_as_the_mean():
    # L2 has no value: it counts as (100 + 300) / 2 = 200, so Y, holding it, leads X holding L1 (100)
    t = tender(Lot("L1", value=100), Lot("L2"), Lot("L3", value=300))
    x, y, z = firm("X"), firm("Y", sme=True), firm("Z")
    cands = table([x, y, z], {"L1": {"X": 0.5}, "L2": {"Y": 0.5}, "L3": {"Z": 0.5}})
    [team] = build_consortia(t, cands, teams=1)
    assert team.members == ("Z", "Y", "X") and team.sme_share == pytest.approx(200 / 600, abs=1e-4)
    # no value known anywhere: each lot counts 1
    t = tender(Lot("L1"), Lot("L2"))
    [team] = build_consortia(t, table([x, y], {"L1": {"X": 0.5}, "L2": {"Y": 0.4}}), teams=1)
    assert team.sme_share == 0.5 and team.members == ("X", "Y")


def test_auto_falls_back_to_greedy_without_ortools(monkeypatch):
    for name in [n for n in sys.modules if n == "ortools" or n.startswith("ortools.")] + ["ortools"]:
        monkeypatch.setitem(sys.modules, name, None)
    [team] = build_consortia(T1, C1, TWO, teams=1)
    assert (team.method, team.optimal) == ("greedy", False)
    assert_valid(team, T1, C1, TWO)
    with pytest.raises(MatcherError, match="pip install ortools"):
        build_consortia(T1, C1, TWO, solver="cp-sat")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_partners": 0}, "max_partners must be at least 1"),
        ({"min_sme_share": 1.5}, "min_sme_share"),
        ({"min_sme_share": -0.1}, "min_sme_share"),
        ({"require": ("ZZ",)}, "ZZ is no candidate"),
        ({"require": ("A",), "exclude": ("A",)}, "both required and excluded"),
        ({"require": ("A", "B", "C"), "max_partners": 2}, "exceed max_partners=2"),
        ({"require": ("A",), "regions": ("RU-MOW",)}, r"A can take no lot \(lot L1: serves none of RU-MOW"),
        ({"capacity_factor": 0}, "must be positive"),
        ({"regions": "RU"}, "regions must be a tuple"),
    ],
)
def test_nonsense_constraints_are_input_errors(kwargs, message):
    with pytest.raises(InputError, match=message):
        build_consortia(T1, C1, TeamConstraints(**kwargs))


def test_required_firms_that_cannot_each_take_a_lot():
    # A and B can only take L1
    cands = table(FIRMS1, {"L1": {"A": 0.5, "B": 0.5}, "L2": {"C": 0.5}})
    with pytest.raises(InputError, match="cannot each take a lot"):
        build_consortia(T1, cands, TeamConstraints(require=("A", "B")))


def test_bad_candidates_are_input_errors():
    with pytest.raises(InputError, match="outside"):
        build_consortia(T1, {"L1": [(FIRMS1[0], 1.5)]})
    with pytest.raises(InputError, match="lots L9 that tender T lacks"):
        build_consortia(T1, {"L9": [(FIRMS1[0], 0.5)]})
    with pytest.raises(InputError, match="teams must be at least 1"):
        build_consortia(T1, C1, teams=0)


def test_nothing_coverable_gives_one_empty_team_that_says_why():
    for solver in ("cp-sat", "greedy"):
        teams = build_consortia(T2, {"L3": C2["L3"]}, teams=3, solver=solver)
        assert [(t.lead_id, t.members, t.uncovered) for t in teams] == [(None, (), ("L1", "L2", "L3", "L4"))]
        assert teams[0].lacks[2] == "lot L3: no candidate holds Metro works admission"


def test_greedy_finishes_the_list_when_cp_sat_runs_out_of_time(monkeypatch):
    real = consortium.solve_cp
    calls = []

    def slow_second(p, used, *args, **kwargs):
        calls.append(len(used))
        return real(p, used, *args, **kwargs) if not used else ("unknown", {})

    monkeypatch.setattr(consortium, "solve_cp", slow_second)
    teams = build_consortia(T1, C1, TWO, teams=3)
    assert [t.method for t in teams] == ["cp-sat", "greedy", "greedy"] and calls == [0, 1]
    assert set(teams[0].members) == {"A", "B"} and len({frozenset(t.members) for t in teams}) == 3
    for team in teams:
        assert_valid(team, T1, C1, TWO)


def test_results_are_plain_values():
    team = build_consortia(T4, C4, teams=1)[0]
    assert team.assignments[0] == Assignment("L1", "K", 0.9)
    with pytest.raises(AttributeError):
        team.rank = 2  # type: ignore[misc]


# Joint holding. Lot J needs two accreditations no firm holds both of: L holds the laboratory one
# (score .7), B the bridge-inspection one (.6), N neither (.9, the best fit but no help). The lot
# goes to L (the better score) with B as subcontractor bringing its accreditation; N is in no
# group since it brings nothing missing. Score of the holding: (.7 + .6) / 2 = .65.
LAB, BRIDGE = "Laboratory accreditation", "Bridge inspection accreditation"
FIRMS_J = [firm("L", certs=[LAB]), firm("B", certs=[BRIDGE]), firm("N"), firm("S", certs=[LAB, BRIDGE])]
LOT_J = Lot("J", value=100, certifications=(LAB, BRIDGE))
SOLVERS = ["cp-sat", "greedy"]


@pytest.mark.parametrize("solver", SOLVERS)
def test_a_lot_no_single_member_can_take_is_held_jointly(solver):
    cands = table(FIRMS_J, {"J": {"L": 0.7, "B": 0.6, "N": 0.9}})
    [team] = build_consortia(tender(LOT_J), cands, teams=1, solver=solver)
    assert holdings(team) == "J:L+B" and not team.uncovered and team.lacks == ()
    [a] = team.assignments
    assert a.score == pytest.approx(0.65) and a.holder_share == 1.0
    assert a.partners == (Partner("B", "subcontractor", (BRIDGE,), 0.0, 0.6),)
    assert team.members == ("L", "B") and team.lead_id == "L"
    assert_valid(team, tender(LOT_J), cands, TeamConstraints())


def test_a_partner_is_shown_with_the_codes_it_brings():
    # codes are no requirement (the group is there for the accreditation), but the lot's testing
    # code that only the laboratory answers, with a narrower code, is shown as what it brings
    lot = Lot("J", value=100, codes=("71631000-0", "45221119-9"), certifications=(LAB,))
    builder = Participant("M", "M", codes=("45221119-9",), projects=(Project("bridge", value=500),))
    lab = Participant("T", "T", codes=("71631450-9",), certifications=(LAB,), projects=(Project("tests", value=5),))
    [team] = build_consortia(tender(lot), {"J": [(builder, 0.6), (lab, 0.4)]}, teams=1)
    [a] = team.assignments
    assert a.firms == ("M", "T") and a.partners[0].codes == ("71631000-0",)
    assert a.partners[0].certifications == (LAB,) and a.partners[0].role == "subcontractor"


@pytest.mark.parametrize("solver", SOLVERS)
def test_a_single_holder_wins_over_a_better_scoring_group(solver):
    # S holds both accreditations but fits worst (.2); L+B would score .65: S still takes J alone.
    # Lot K (no requirements) is there so points elsewhere cannot buy the extra firm back: with L on
    # K (.9) the pair scores .65 + .9 on two lots while S alone gives .2 + .9.
    cands = table(FIRMS_J, {"J": {"L": 0.7, "B": 0.6, "S": 0.2}, "K": {"L": 0.9, "S": 0.1}})
    t = tender(LOT_J, Lot("K", value=100))
    [team] = build_consortia(t, cands, TeamConstraints(max_partners=2), teams=1, solver=solver)
    assert holdings(team) == "J:S K:L" and team.assignments[0].partners == ()


@pytest.mark.parametrize("solver", SOLVERS)
def test_a_weak_single_holder_gives_way_to_a_group_that_can_do_the_work(solver):
    # Lot W of 300: U, whose capacity is unknown (so unlimited), could take it alone but fits it
    # weakly (.05, below the possible band's .20); P (3 x 60 = 180) and Q (3 x 50 = 150) fit it
    # (.9, .7) but are too small alone, and together reach 330. The lot goes to P+Q (.8), an extra
    # firm and all: a lot held in name only is not held. As the sample bridge's lot 6, whose
    # training centres are too small alone and the member that could hold it fits it at .02.
    firms = [firm("U"), firm("P", largest=60), firm("Q", largest=50)]
    w = Lot("W", value=300)
    cands = table(firms, {"W": {"U": 0.05, "P": 0.9, "Q": 0.7}})
    [team] = build_consortia(tender(w), cands, teams=1, solver=solver)
    assert holdings(team) == "W:P+Q" and team.lacks == () and team.assignments[0].score == pytest.approx(0.8)
    # among holders that can do the work the fewer firms still win: U at the band's floor holds alone
    cands = table(firms, {"W": {"U": POSSIBLE, "P": 0.9, "Q": 0.7}})
    [team] = build_consortia(tender(w), cands, teams=1, solver=solver)
    assert holdings(team) == "W:U"
    # and where the group cannot be in the team (room for one firm), the weak holder still covers
    # the lot, and lacks says it is held in name only
    cands = table(firms, {"W": {"U": 0.05, "P": 0.9, "Q": 0.7}})
    [team] = build_consortia(tender(w), cands, TeamConstraints(max_partners=1), teams=1, solver=solver)
    assert holdings(team) == "W:U"
    assert team.lacks == ("lot W: held with a weak fit (0.05, below the possible band's 0.20)",)
    # where nobody fits the lot well, the fewer firms win again: U alone over P+Q at .15
    cands = table(firms, {"W": {"U": 0.05, "P": 0.1, "Q": 0.2}})
    [team] = build_consortia(tender(w), cands, teams=1, solver=solver)
    assert holdings(team) == "W:U"


@pytest.mark.parametrize("solver", SOLVERS)
def test_a_weak_lot_keeps_its_single_holder_where_no_group_fits_it_better(solver):
    # Lots V and W of 300, which U (unlimited) fits weakly (.05, .1). On V, P+Q (too small alone)
    # can do the work (.8); on W only pairs of R, S, T, Z (3 x 60 each), fitting no better (.05 to
    # .08): U keeps W, as the extra firm buys nothing there. As the sample metro depot's lot 4,
    # whose best fit is weak and whose many groups are weaker still (so leaving out one or two of
    # their firms, as the greedy alternatives do, still finds a weak group).
    small = [firm(f, largest=60) for f in "RSTZ"]
    firms = [firm("U"), firm("P", largest=60), firm("Q", largest=50), *small]
    t = tender(Lot("V", value=300), Lot("W", value=300))
    w = {"U": 0.1, "R": 0.05, "S": 0.06, "T": 0.07, "Z": 0.08}
    cands = table(firms, {"V": {"U": 0.05, "P": 0.9, "Q": 0.7}, "W": w})
    [team] = build_consortia(t, cands, teams=1, solver=solver)
    assert holdings(team) == "V:P+Q W:U"
    assert team.lacks == ("lot W: held with a weak fit (0.10, below the possible band's 0.20)",)


@pytest.mark.parametrize("solver", SOLVERS)
def test_a_group_gets_the_firm_greedy_would_spend_elsewhere(solver):
    # Lot J asks for the laboratory's accreditation and X, which only Big holds: only Big+Lab can
    # hold it. Big fits lots L1 (200) and L2 (100) best, and taking lots by score spends Big's
    # capacity (3 x 100 = 300) on them, leaving none for J. The best team gives L2 to O instead
    # and covers J, as the sample bridge's lot 5, whose laboratory needs the large firm that greedy
    # gave lots 1 and 2 to.
    firms = [firm("Big", certs=["X"], largest=100), firm("O", largest=50), firm("Lab", certs=[LAB], largest=10)]
    t = tender(Lot("L1", value=200), Lot("L2", value=100), Lot("J", value=100, certifications=(LAB, "X")))
    cands = table(firms, {"L1": {"Big": 0.9, "O": 0.5}, "L2": {"Big": 0.8, "O": 0.7}, "J": {"Big": 0.5, "Lab": 0.6}})
    [team] = build_consortia(t, cands, teams=1, solver=solver)
    assert holdings(team) == "L1:Big L2:O J:Big+Lab" and team.uncovered == () and team.lacks == ()
    assert_valid(team, t, cands, TeamConstraints())


@pytest.mark.parametrize("solver", SOLVERS)
def test_capacity_is_summed_and_the_value_shared(solver):
    # Lot of 300; P can take 3 x 60 = 180, Q 3 x 50 = 150: neither alone, together 330. P, the
    # larger, holds 180/330 of it; Q is co-holder with 150/330.
    firms = [firm("P", largest=60), firm("Q", largest=50), firm("R", largest=10)]
    cands = table(firms, {"V": {"P": 0.5, "Q": 0.7, "R": 0.9}})
    t = tender(Lot("V", value=300))
    [team] = build_consortia(t, cands, teams=1, solver=solver)
    [a] = team.assignments
    assert a.firms == ("P", "Q") and a.holder_share == pytest.approx(180 / 330, abs=1e-4)
    assert a.partners == (Partner("Q", "co-holder", (), round(150 / 330, 4), 0.7),)
    assert_valid(team, t, cands, TeamConstraints())


@pytest.mark.parametrize("solver", SOLVERS)
def test_a_lot_no_group_can_cover_stays_uncovered_and_says_why(solver):
    diving = Lot("D", value=100, certifications=(LAB, BRIDGE, "Diving licence"))
    cands = table(FIRMS_J, {"D": {"L": 0.7, "B": 0.6, "S": 0.5}})
    [team] = build_consortia(tender(diving), cands, teams=1, solver=solver)
    assert team.uncovered == ("D",) and team.lacks == ("lot D: no candidate holds Diving licence",)
    big = Lot("V", value=1000)
    small = table([firm("P", largest=60), firm("Q", largest=50)], {"V": {"P": 0.5, "Q": 0.7}})
    [team] = build_consortia(tender(big), small, teams=1, solver=solver)
    assert team.lacks == (
        "lot V: no eligible candidate, nor group of up to 3 "
        "(P is too small: lot over 3x its largest project; Q is too small: lot over 3x its largest project)",
    )


@pytest.mark.parametrize("solver", SOLVERS)
def test_max_joint_and_max_partners_limit_groups(solver):
    cands = table(FIRMS_J, {"J": {"L": 0.7, "B": 0.6}})
    [alone] = build_consortia(tender(LOT_J), cands, TeamConstraints(max_joint=1), teams=1, solver=solver)
    assert alone.uncovered == ("J",) and "max_joint 2 or more" in alone.lacks[0]
    [one] = build_consortia(tender(LOT_J), cands, TeamConstraints(max_partners=1), teams=1, solver=solver)
    assert one.uncovered == ("J",) and one.members == () and "max_partners 1 leaves no room" in one.lacks[0]
    # three accreditations over three firms need a group of three
    t = tender(Lot("J3", value=100, certifications=(LAB, BRIDGE, "ISO 9001")))
    trio = table([*FIRMS_J, firm("I", certs=["ISO 9001"])], {"J3": {"L": 0.7, "B": 0.6, "I": 0.5}})
    [team] = build_consortia(t, trio, teams=1, solver=solver)
    assert holdings(team) == "J3:L+B+I" and [x.certifications for x in team.assignments[0].partners] == [
        (BRIDGE,),
        ("ISO 9001",),
    ]
    [two] = build_consortia(t, trio, TeamConstraints(max_joint=2), teams=1, solver=solver)
    assert two.uncovered == ("J3",)


@pytest.mark.parametrize("seed", range(10))
def test_cp_sat_with_joint_holding_matches_brute_force(seed):
    """The oracle: every choice of one option (or none) per lot, tried on tiny instances whose
    lots ask for two or three certifications and whose firms are small."""
    import itertools

    from matcher.rank.team_problem import prepare
    from matcher.rank.team_solvers import solve_cp

    rng = random.Random(seed)
    certs = ["X", "Y", "Z"]
    t = tender(*(Lot(f"L{i}", value=rng.choice([50, 100, 200]), certifications=tuple(rng.sample(certs, 2)))
                 for i in range(3)))  # fmt: skip
    firms = [firm(f"F{j}", sme=rng.random() < 0.5, certs=rng.sample(certs, rng.randint(0, 2)),
                  largest=rng.choice([None, 20, 40])) for j in range(5)]  # fmt: skip
    cands = {lot.id: [(f, round(rng.random(), 3)) for f in firms] for lot in t.lots}
    c = TeamConstraints(max_partners=rng.choice([2, 3, 4]), min_sme_share=rng.choice([0.0, 0.3]))
    p = prepare(t, cands, c)
    p.sme_need = p.wanted
    choices = [[None, *(q for q in p.order if q[0] == lot)] for lot in p.lots]
    best = None
    for pick in itertools.product(*choices):
        plan = {q[0]: q[1] for q in pick if q is not None}
        members = p.members(plan)
        if not 1 <= len(members) <= p.max_partners or p.sme_value(plan) < p.sme_need:
            continue
        if any(units > p.cap.get(f, math.inf) for f, units in p.loads(plan).items()):
            continue
        best = max(best or -1, p.objective(plan))
    status, plan = solve_cp(p, [], 10.0)
    if not p.order:  # nothing to choose: one empty team (see test_nothing_coverable...)
        assert (status, plan) == ("optimal", {})
        return
    assert (status == "infeasible") == (best is None)
    if best is not None:
        assert status == "optimal" and p.objective(plan) == best
