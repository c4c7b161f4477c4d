"""Building, publishing and opening index versions (with the fake embedder: the model is not under test)."""

import json

import pytest

import matcher.build
import matcher.embed.embedders
from matcher import Matcher, Workspace, build_index, ingest
from matcher.errors import IndexCorrupt, IndexMissing, InputError, ModelMismatch
from matcher.store.files import TEMP_GLOB, sha256_file, temp_path
from tests.fakes import HashingEmbedder

MEMBERS = """id,name,kind,description,codes,regions
B1,Bridge One,bridge builder,Road bridge construction and repair of overpasses,45221111-3,RU-SPE
B2,Bridge Two,bridge builder,Steel bridge spans and viaduct renewal,45221119-9,RU-LEN
W1,Water Works,engineering networks,Water main renewal and sewer pipelines,45231300-8,RU-SPE
T1,Training Centre,training centre,Vocational training of welders and crane operators,80530000-8,RU-SPE
"""


@pytest.fixture
def ws(tmp_path, fake):
    source = tmp_path / "members.csv"
    source.write_text(MEMBERS, encoding="utf-8")
    workspace = Workspace(tmp_path / "ws")
    ingest([source], workspace)
    return workspace


def test_build_publishes_a_checksummed_version_and_points_current_at_it(ws):
    manifest = build_index(ws)
    version = ws.current_version()
    assert (ws.index_dir / "CURRENT").read_text().strip() == version.name
    on_disk = json.loads((version / "manifest.json").read_text())
    assert on_disk["model"]["name"] == "hashing-fake" and on_disk["dimension"] == 64 and on_disk["count"] == 4
    stored = {"index.faiss", "participants.parquet", "vectors.parquet", "vectors.npy", "members.arrow",
              "members.ids.npy", "members.order.npy", "pool.json", "pool.bin"}  # fmt: skip
    bm25 = {f"{name}.index.{kind}" for name, kind in [("params", "json"), ("vocab", "json"), ("data.csc", "npy"),
                                                     ("indices.csc", "npy"), ("indptr.csc", "npy"),
                                                     ("impact.csc", "npy")]}  # fmt: skip
    optional = {"nonoccurrence_array.index.npy"}
    assert stored | bm25 <= set(on_disk["files"]) <= stored | bm25 | optional
    for name, digest in on_disk["files"].items():
        assert sha256_file(version / name) == digest
    assert manifest["count"] == 4


def test_the_manifest_records_the_seconds_of_each_build_stage(ws):
    build_index(ws)
    timings = ws.read_manifest(ws.current_version())["timings"]  # read back: it is part of the published manifest
    assert set(timings) == {"read_s", "embed_s", "index_s", "bm25_s", "members_s", "files_s"}
    assert all(isinstance(seconds, float) and seconds >= 0 for seconds in timings.values())


def test_rebuilds_keep_the_previous_version_and_prune_older_ones(ws):
    build_index(ws)
    first = ws.current_version().name
    build_index(ws)
    second = ws.current_version().name
    build_index(ws)
    names = sorted(p.name for p in ws.versions_dir.iterdir())
    assert first not in names and second in names and ws.current_version().name in names and len(names) == 2


def test_a_build_removes_the_temp_files_of_killed_writes(ws):
    build_index(ws)
    ws.rejects_dir.mkdir()
    leftovers = [
        temp_path(ws.participants_path), temp_path(ws.sources_path), temp_path(ws.index_dir / "CURRENT"),
        temp_path(ws.rejects_dir / "members.csv.rejects.csv"),
    ]  # fmt: skip
    for p in leftovers:
        assert p.match(TEMP_GLOB)
        p.write_text("half", encoding="utf-8")
    build_index(ws)
    assert [p for p in leftovers if p.exists()] == []
    assert ws.participants_path.exists() and (ws.index_dir / "CURRENT").exists()


def test_a_failed_build_leaves_the_previous_index_serving(ws, fake, monkeypatch, tmp_path):
    build_index(ws)
    before = ws.current_version().name
    changed = tmp_path / "changed.csv"
    changed.write_text("id,name,description\nB1,Bridge One,A new description that must be embedded\n")
    ingest([changed], ws)

    def boom(texts, progress=None, kind="passage"):
        raise RuntimeError("killed mid-embedding")

    monkeypatch.setattr(fake, "encode", boom)
    with pytest.raises(RuntimeError):
        build_index(ws)
    assert ws.current_version().name == before
    assert not list(ws.versions_dir.glob(".building-*"))
    monkeypatch.undo()


def test_a_build_whose_index_fails_its_smoke_test_is_not_published(ws, monkeypatch):
    build_index(ws)
    before = ws.current_version().name
    monkeypatch.setattr(matcher.build.VectorIndex, "search", lambda self, q, k: (None, [[-1]]))
    with pytest.raises(IndexCorrupt, match="nothing was replaced"):
        build_index(ws)
    assert ws.current_version().name == before


def test_a_workspace_without_index_says_how_to_build_one(ws):
    with pytest.raises(IndexMissing, match="matcher index build"):
        Matcher.open(ws)


@pytest.mark.parametrize("victim", ["index.faiss", "participants.parquet"])
def test_a_changed_file_fails_its_checksum_with_the_file_named(ws, victim):
    build_index(ws)
    path = ws.current_version() / victim
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(IndexCorrupt, match=f"{victim}.*checksum.*rebuild"):
        Matcher.open(ws)


def test_current_naming_a_missing_version_is_a_clear_error(ws):
    build_index(ws)
    (ws.index_dir / "CURRENT").write_text("v999999-gone\n")
    with pytest.raises(IndexCorrupt, match="does not exist"):
        Matcher.open(ws)


def test_a_different_model_than_the_index_was_built_with_is_refused(ws, tmp_path):
    build_index(ws)
    with pytest.raises(ModelMismatch, match="hashing-fake"):
        Matcher.open(ws, model=str(tmp_path))


def test_vectors_of_another_dimension_are_refused(ws, monkeypatch):
    build_index(ws)
    other = HashingEmbedder(dimension=32)
    monkeypatch.setattr(matcher.embed.embedders, "load_embedder", lambda model=None: other)
    with pytest.raises(ModelMismatch, match="32-dimensional.*64"):
        Matcher.open(ws).similar(text="bridges")


def test_ingest_updates_by_id_and_an_all_bad_file_changes_nothing(ws, tmp_path):
    update = tmp_path / "update.csv"
    update.write_text(
        "id,name,description,codes\nB1,Bridge One,New text about bridges,45221111-3\nN1,New,Asphalt,44113000-5\n"
    )
    report = ingest([update], ws)
    assert (report.added, report.updated, report.total) == (1, 1, 5)
    before = ws.participants_path.read_bytes()
    bad = tmp_path / "bad.csv"
    bad.write_text("id,name,codes\n,NoId,45221111-3\nX,Bad code,45999999\n")
    with pytest.raises(InputError, match="no valid participant rows.*unchanged"):
        ingest([bad], ws)
    assert ws.participants_path.read_bytes() == before
    assert (tmp_path / "bad.csv.rejects.csv").exists()


def test_similar_by_id_uses_stored_vectors_and_excludes_the_firm_itself(ws):
    build_index(ws)
    result = Matcher.open(ws).similar("B1", top_k=3)
    ids = [s.participant_id for s in result.suggestions]
    assert "B1" not in ids and ids[0] == "B2"  # shares the CPV category and the word "bridge"


def test_a_version_reads_the_stored_vectors_as_the_file_holds_them(ws):
    import numpy as np

    build_index(ws)
    opened = Matcher.open(ws).opened
    on_disk = np.load(opened.path / "vectors.npy", mmap_mode="r")
    ids = np.array([3, 0, 3, 1, 2, 0])  # unsorted, with repeats
    np.testing.assert_array_equal(opened.stored(ids), on_disk[ids])
    np.testing.assert_array_equal(opened.profile_vector(2), on_disk[[opened.first[2]]])
    query = on_disk[1]
    best = [max(on_disk[i] @ query for i in range(opened.first[r], opened.first[r + 1])) for r in (3, 1)]
    np.testing.assert_allclose(opened.best_cosine([3, 1], query), best, rtol=1e-6)


def test_unchanged_texts_are_not_embedded_again(ws, fake, monkeypatch, tmp_path):
    build_index(ws)
    calls = []
    original = fake.encode
    monkeypatch.setattr(
        fake, "encode", lambda texts, progress=None, kind="passage": calls.append(list(texts)) or original(texts)
    )
    build_index(ws)
    assert calls == []  # everything came from the cache
    changed = tmp_path / "changed.csv"
    changed.write_text("id,name,description\nB1,Bridge One,A new description\n")
    ingest([changed], ws)
    build_index(ws)
    assert len(calls) == 1 and len(calls[0]) == 1 and "A new description" in calls[0][0]
