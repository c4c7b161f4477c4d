"""The members of a version as a memory-mapped table, and the pool's arrays saved with it: read back,
they answer exactly as the members and the pool built in memory do."""

from __future__ import annotations

import numpy as np
import pytest

from matcher.errors import IndexCorrupt
from matcher.inputs.participants import read_participants
from matcher.rank.need import Need
from matcher.rank.pool import POOL_DATA, Pool
from matcher.store.members import MemberList, MemberTable, write_members
from tests.conftest import SAMPLE


@pytest.fixture(scope="module")
def firms():
    return read_participants([SAMPLE / "participants.csv"], write_rejects=False).participants


@pytest.fixture(scope="module")
def saved(firms, tmp_path_factory):
    folder = tmp_path_factory.mktemp("version")
    write_members(folder, firms)
    Pool(firms).save(folder)
    members = MemberTable(folder)
    return folder, members, Pool.load(folder, members)


def test_member_table_reads_rows_and_ids_back_as_stored(firms, saved):
    _, members, _ = saved
    assert len(members) == len(firms)
    rows = [5, 0, len(firms) - 1, 5]
    assert members.get(rows) == [firms[r] for r in rows]  # whole profiles, descriptions and projects too
    for row in (0, 17, len(firms) - 1):
        assert members.row_of(firms[row].id) == row
    assert members.row_of("no-such-member") is None
    assert members.row_of(firms[0].id + "x" * 200) is None  # longer than any stored id
    assert members.column("id") == [p.id for p in firms]
    assert members.get([]) == []


def test_member_list_answers_the_same_interface(firms, saved):
    _, table, _ = saved
    listed = MemberList(firms)
    assert len(listed) == len(table)
    assert listed.get([3, 1]) == table.get([3, 1])
    assert listed.row_of(firms[9].id) == table.row_of(firms[9].id) == 9
    assert listed.column("name") == table.column("name")


def test_a_saved_pool_scores_exactly_as_the_pool_built_in_memory(firms, saved):
    _, _, loaded = saved
    built = Pool(firms)
    rows = np.arange(len(firms))
    some = np.array([40, 2, 77, 2, 0])
    buyers = [x.buyer for p in firms for x in p.projects if x.buyer][:5] + ["nobody at all"]
    regions = sorted({r for p in firms for r in p.regions})[:4] + ["RU-SPE", "XX"]
    certs = sorted({c for p in firms for c in p.certifications})[:4] + ["", "no such licence"]
    codes = sorted({c for p in firms for c in p.codes})[:6] + ["45221111-3", "OKVED2:42.11"]
    for pick in (rows, some):
        for code in codes:
            assert np.array_equal(loaded.codes.best(code, pick), built.codes.best(code, pick))
        for region in regions:
            assert np.array_equal(loaded.region_values([region], pick), built.region_values([region], pick))
        assert np.array_equal(loaded.certification_share(certs, pick), built.certification_share(certs, pick))
        for buyer in buyers:
            assert np.array_equal(loaded.buyer_counts(buyer, pick), built.buyer_counts(buyer, pick))
            assert np.array_equal(loaded.buyer_place(buyer, pick), built.buyer_place(buyer, pick))
    for name in ("capacity", "volume", "last_year", "typical_value", "id_rank"):
        assert np.array_equal(getattr(loaded, name), getattr(built, name), equal_nan=True)
    assert np.array_equal(loaded.rows_sharing_block(codes), built.rows_sharing_block(codes))
    need = Need(codes=tuple(codes[:2]), buyer=buyers[0])
    assert loaded.extra_candidates(need, None, 10) == built.extra_candidates(need, None, 10)


def test_pool_parts_agree_with_the_per_firm_rules(firms):
    """The vectorised parts against the rules they stand for, firm by firm."""
    from matcher.rank.need import buyer_key
    from matcher.rank.parts import holds_certification, region_covers

    pool = Pool(firms)
    buyer = next(x.buyer for p in firms for x in p.projects if x.buyer)
    counts = pool.buyer_counts(buyer)
    assert counts.sum() > 0
    for row, p in enumerate(firms):
        assert counts[row] == sum(1 for x in p.projects if buyer_key(x.buyer) == buyer_key(buyer))
    region = "RU-SPE"
    values = pool.region_values([region])
    for row, p in enumerate(firms):
        expected = 0.5 if not p.regions else float(any(region_covers(s, region) for s in p.regions))
        assert values[row] == expected
    cert = next(c for p in firms for c in p.certifications)
    share = pool.certification_share([cert])
    assert 0 < share.sum() < len(firms)
    for row, p in enumerate(firms):
        assert share[row] == float(holds_certification(p.certifications, cert))


def test_a_damaged_pool_file_is_refused(firms, saved, tmp_path):
    folder, members, _ = saved
    (tmp_path / "pool.json").write_text((folder / "pool.json").read_text())
    (tmp_path / POOL_DATA).write_bytes((folder / POOL_DATA).read_bytes()[:100])  # truncated
    with pytest.raises(IndexCorrupt, match="pool"):
        Pool.load(tmp_path, members)
