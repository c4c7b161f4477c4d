import numpy as np
import pytest

from matcher.rank.hand import active_weights
from matcher.rank.need import SIMILAR_WEIGHTS, SUGGEST_WEIGHTS, Need
from matcher.rank.pool import CodeMatrix, Pool
from matcher.rank.ranker import rank as rank_pool
from matcher.schema import Participant, Project


def firm(pid, codes=(), regions=("RU-SPE",), certs=(), projects=(), **kw):
    return Participant(
        id=pid,
        name=pid,
        codes=tuple(codes),
        regions=tuple(regions),
        certifications=tuple(certs),
        projects=tuple(projects),
        **kw,
    )


def rank(need, firms, dense, top_k):
    return rank_pool(need, Pool(firms), np.arange(len(firms)), np.asarray(dense), top_k)


BRIDGE = Need(codes=("45221111-3",), regions=("RU-SPE",), certifications=("SRO construction", "ISO 9001"), value=3e9)


def test_contributions_add_up_to_the_score_and_weights_to_one():
    f = firm("A", ["45221111-3"], certs=["SRO construction"], projects=[Project("x", value=1e9)])
    [s] = rank(BRIDGE, [f], np.array([0.6]), top_k=5)
    assert sum(p.weight for p in s.parts) == pytest.approx(1.0, abs=1e-3)
    assert sum(p.contribution for p in s.parts) == pytest.approx(s.score, abs=1e-3)
    # every part keeps its weight; without text there is no lexical part (its weight is shared out)
    assert {p.name for p in s.parts} == {"semantic", "buyer", "codes", "certifications", "region", "size"}
    assert s.part("buyer").value == 0.0 and s.part("buyer").detail == "no buyer given"


def test_parts_a_request_does_not_ask_for_keep_their_weight_with_a_neutral_value():
    w = active_weights(Need(codes=("45221111-3",)), lexical=True)
    assert w == SUGGEST_WEIGHTS  # nothing rescaled: a total means the same on every request
    assert set(active_weights(Need(weights=dict(SIMILAR_WEIGHTS)))) == set(SIMILAR_WEIGHTS)
    bare = firm("x", ["45221111-3"])
    [s] = rank_pool(Need(codes=("45221111-3",)), Pool([bare]), np.arange(1), np.array([0.0]), 1, lexical=np.zeros(1))
    parts = {p.name: p for p in s.parts}
    assert parts["region"].value == 0.5 and parts["region"].detail == "no region asked"
    assert parts["size"].value == 0.5 and parts["certifications"].value == 0.5 and parts["buyer"].value == 0.0
    # the same firm scores the same on a request that asks for a region it serves or not
    assert s.score == pytest.approx(SUGGEST_WEIGHTS["codes"] + 0.5 * (0.06 + 0.08 + 0.03), abs=1e-4)


def test_each_part_values_what_it_says():
    holder = firm("H", ["45221111-3"], certs=["sro construction", "ISO 9001:2015"], projects=[Project("p", value=4e9)])
    missing = firm("M", ["45221111-3"], regions=["RU-MOW"], certs=["ISO 9001"], projects=[Project("p", value=3e8)])
    nationwide = firm("N", ["45221111-3"], regions=["RU"], certs=["SRO construction", "ISO 9001"])
    results = {s.participant_id: s for s in rank(BRIDGE, [holder, missing, nationwide], np.array([0.5] * 3), 5)}
    h, m, n = results["H"], results["M"], results["N"]
    assert h.part("certifications").value == 1.0  # case and version suffix do not matter
    assert m.part("certifications").value == 0.5
    assert "missing SRO construction" in m.part("certifications").detail
    assert m.part("region").value == 0.0 and h.part("region").value == 1.0
    assert n.part("region").value == 1.0  # "RU" covers RU-SPE
    assert h.part("size").value == 1.0  # has done a bigger project
    assert 0 < m.part("size").value < 0.5  # lot is 10x its largest project
    assert n.part("size").value == 0.5 and "no past project" in n.part("size").detail
    assert [s.participant_id for s in rank(BRIDGE, [holder, missing, nationwide], np.array([0.5] * 3), 5)] == [
        "H",
        "N",
        "M",
    ]


def test_code_fit_outranks_a_slightly_better_text_match():
    bridge = firm("bridge", ["45221111-3"], certs=["SRO construction", "ISO 9001"])
    trainer = firm("trainer", ["80530000-8"], certs=["Educational licence"])
    ranked = rank(BRIDGE, [trainer, bridge], np.array([0.55, 0.45]), 5)
    assert [s.participant_id for s in ranked] == ["bridge", "trainer"]


def test_top_k_and_deterministic_tie_break():
    firms = [firm(pid) for pid in ("c", "a", "b")]
    ranked = rank(Need(), firms, np.array([0.3, 0.3, 0.3]), top_k=2)
    assert [s.participant_id for s in ranked] == ["a", "b"]
    assert [s.rank for s in ranked] == [1, 2]


def test_negative_cosine_is_clipped_to_zero():
    [s] = rank(Need(), [firm("x")], np.array([-0.2]), 1)
    assert s.part("semantic").value == 0.0 and s.part("semantic").contribution == 0.0


def test_vectorised_code_scores_equal_the_per_pair_oracle():
    """CodeMatrix (numpy over all firms) must give exactly best_matches' per-pair scores."""
    from matcher.taxonomy import best_matches, load_taxonomy

    rng = np.random.default_rng(7)
    cpv = [c for c in load_taxonomy().cpv_canonical.values() if c.startswith(("452", "453", "71", "80"))]
    unspsc = ["UNSPSC:72141000", "UNSPSC:72141100", "UNSPSC:72141103", "UNSPSC:72150000", "UNSPSC:81101500"]
    plain = ["OKVED2:42.99", "OKVPD2:1"]
    universe = [*rng.choice(cpv, 40, replace=False), *unspsc, *plain]
    firms = [list(rng.choice(universe, rng.integers(0, 5), replace=False)) for _ in range(60)]
    matrix = CodeMatrix.from_codes(firms)
    for wanted in [*rng.choice(universe, 25), "45000000-7", "UNSPSC:72000000", "OKVED2:42.99"]:
        oracle = np.array([best_matches([wanted], f)[0].score if f else 0.0 for f in firms])
        np.testing.assert_allclose(matrix.best(wanted), oracle, err_msg=wanted)
        # scoring only some firms (a request's candidates, in any order) gives their same scores
        rows = rng.permutation(60)[:17]
        np.testing.assert_allclose(matrix.best(wanted, rows), oracle[rows], err_msg=wanted)


def test_buyer_and_lexical_parts():
    repeat = firm("R", projects=[Project("a", buyer="City Roads"), Project("b", buyer="city  roads")])
    once = firm("O", projects=[Project("a", buyer="City Roads")])
    never = firm("N", projects=[Project("a", buyer="Other")])
    need = Need(buyer="CITY ROADS")
    lexical = np.array([0.5, 0.25, 0.5])  # BM25 shares of N, O, R: half of what the words can score is full marks
    ranked = rank_pool(need, Pool([never, once, repeat]), np.arange(3), np.array([0.5, 0.5, 0.5]), 3, lexical=lexical)
    by_id = {s.participant_id: s for s in ranked}
    assert by_id["N"].part("lexical").value == 1.0 and by_id["O"].part("lexical").value == 0.5
    # never divided by the best candidate: the same shares halved give half the lexical part
    halved = rank_pool(need, Pool([never, once, repeat]), np.arange(3), np.array([0.5] * 3), 3, lexical=lexical / 2)
    assert {s.participant_id: s.part("lexical").value for s in halved}["N"] == 0.5
    # repeat business (2 contracts: 2/3) counts in proportion to the lexical match
    assert by_id["R"].part("buyer").value == pytest.approx(2 / 3, abs=1e-4)
    assert by_id["O"].part("buyer").value == pytest.approx(0.5 * 0.5, abs=1e-4)
    assert by_id["N"].part("buyer").value == 0.0
    assert by_id["R"].part("buyer").detail == "2 past contracts for CITY ROADS, weighed by its BM25 match 1.00"
    assert by_id["N"].part("buyer").detail == "no past contracts for CITY ROADS"  # nothing to weigh
    assert [s.participant_id for s in ranked] == ["R", "N", "O"]
    assert {p.name for p in ranked[0].parts} == set(SUGGEST_WEIGHTS)


def test_without_lexical_scores_the_buyer_part_is_not_gated():
    once = firm("O", projects=[Project("a", buyer="City Roads")])
    [s] = rank_pool(Need(buyer="City Roads"), Pool([once]), np.arange(1), np.array([0.5]), 1)
    assert s.part("buyer").value == 0.5 and s.part("lexical") is None


def test_vectorised_region_and_certification_parts_equal_the_per_firm_ones():
    from matcher.rank.parts import certifications_part, region_part

    firms = [
        firm("a", regions=["RU-SPE"], certs=["SRO construction", "ISO 9001:2015"]),
        firm("b", regions=["RU"], certs=["iso 9001"]),
        firm("c", regions=[], certs=[]),
        firm("d", regions=["RU-MOW", "RU-LEN"], certs=["SRO design"]),
    ]
    pool = Pool(firms)
    for need in (Need(regions=("RU-SPE",), certifications=("SRO construction", "ISO 9001")),
                 Need(regions=("RU-LEN", "RU-KGD"), certifications=("SRO design",))):  # fmt: skip
        np.testing.assert_allclose(pool.region_values(need.regions), [region_part(need, f)[0] for f in firms])
        np.testing.assert_allclose(
            pool.certification_share(need.certifications), [certifications_part(need, f)[0] for f in firms]
        )


def test_vectorised_size_part_equals_the_per_firm_one():
    from matcher.rank.parts import size_part, size_values

    firms = [firm(x, projects=[Project("p", value=v)] if v else []) for x, v in [("a", 4e9), ("b", 3e8), ("c", None),
                                                                                 ("d", 1e6), ("e", 3e9)]]  # fmt: skip
    pool = Pool(firms)
    for value in (3e9, 1.0, 5e12):
        expected = [size_part(Need(value=value), f)[0] for f in firms]
        np.testing.assert_allclose(size_values(value, pool.capacity), expected, rtol=1e-12)


def test_hand_weighted_unit_score_is_the_score_within_0_and_1():
    from matcher.rank.hand import HandWeighted

    assert [HandWeighted().unit_score(x) for x in (-0.1, 0.0, 0.37, 1.0, 1.2)] == [0.0, 0.0, 0.37, 1.0, 1.0]


def test_top_k_rows_equals_a_stable_full_sort():
    from matcher.rank.pool import top_k_rows

    rng = np.random.default_rng(3)
    for values in (rng.random(1000), rng.integers(0, 5, 1000).astype(float), np.zeros(10)):
        for k in (1, 7, 100, 2000):
            np.testing.assert_array_equal(top_k_rows(values, k), np.argsort(-values, kind="stable")[:k])


@pytest.mark.parametrize("by_mark", [1, 10**9])  # a sort of the blocks' rows, or a mark per firm
def test_rows_sharing_block_unites_the_blocks_however_it_is_done(monkeypatch, by_mark):
    from matcher.rank import pool as pool_module

    monkeypatch.setattr(pool_module, "UNION_BY_MARK", by_mark)
    rng = np.random.default_rng(5)
    blocks = ["45221111-3", "45231300-8", "45233120-6", "71311000-1"]
    firms = [firm(f"f{i}", codes=rng.choice(blocks, rng.integers(0, 3), replace=False)) for i in range(300)]
    pool = Pool(firms)
    for codes in (blocks[:1], blocks[:2], blocks, ["45221000-2", "45221119-9"], ["OKVED2:42.11"]):
        wanted = {f"{c[:4]}" for c in codes}
        expected = [i for i, f in enumerate(firms) if any(c[:4] in wanted for c in f.codes)]
        rows = pool.rows_sharing_block(codes)
        assert rows.dtype == np.int64 and rows.tolist() == expected
