"""The contract every vector index kind keeps (flat, IVF, HNSW), checked against numpy brute force.

Each test runs once per kind on the same seeded data: 2,000 random unit vectors of dimension 32
under non-contiguous int64 ids. What differs between kinds is only how close to exact they may be
(`Case`): flat must equal brute force, the approximate kinds must reach a recall, and IVF's 8-bit
codes give vectors back within a rounding.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from matcher.index.vectors import VectorIndex, build_vector_index
from matcher.store.vector_file import VectorFile

N, D = 2000, 32


@dataclass(frozen=True)
class Case:
    kind: str
    min_recall: float  # recall@10 against brute force once tuned, exact vectors attached
    decoded_tol: float  # how far a vector read back from the index (nothing attached) may be from the stored one


CASES = [Case("flat", 1.0, 0.0), Case("ivf", 0.95, 0.01), Case("hnsw", 0.95, 0.0)]


def unit(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    x = rng.standard_normal((n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def by_id(vectors: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """The exact vectors as `attach` takes them: row = id (rows of ids not stored stay zero)."""
    table = np.zeros((int(ids.max()) + 1, vectors.shape[1]), dtype=np.float32)
    table[ids] = vectors
    return table


def brute_force(queries: np.ndarray, vectors: np.ndarray, ids: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    sims = queries @ vectors.T
    order = np.argsort(-sims, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(sims, order, axis=1), ids[order]


def recall(truth: np.ndarray, found: np.ndarray) -> float:
    return float(np.mean([len(set(t) & set(f)) / truth.shape[1] for t, f in zip(truth, found)]))


@dataclass
class Built:
    case: Case
    index: VectorIndex  # as built and tuned, nothing attached
    stats: dict
    vectors: np.ndarray
    ids: np.ndarray
    queries: np.ndarray
    path: object


@pytest.fixture(scope="module", params=CASES, ids=lambda c: c.kind)
def built(request, tmp_path_factory) -> Built:
    rng = np.random.default_rng(42)
    vectors = unit(rng, N, D)
    ids = np.sort(rng.choice(20 * N, size=N, replace=False)).astype(np.int64) + 7  # stable ids, not row numbers
    index = build_vector_index(vectors, ids, kind=request.param.kind, seed=0)
    stats = index.tune(vectors, ids=ids)
    path = tmp_path_factory.mktemp(request.param.kind) / "index.faiss"
    index.save(path)
    np.save(path.parent / "vectors.npy", by_id(vectors, ids))
    return Built(request.param, index, stats, vectors, ids, unit(rng, 60, D), path)


def loaded(b: Built, attached: bool = True) -> VectorIndex:
    """The index as a query process opens it: read back, the tuned setting set, the exact vectors
    attached as a served version reads them (from their file, by row)."""
    index = VectorIndex.load(b.path)
    index.set_params({"type": b.case.kind, **b.stats})  # a manifest's "index" entry
    if attached:
        index.attach(VectorFile(b.path.parent / "vectors.npy"))
    return index


def test_kind_size_and_dimension(built):
    for index in (built.index, loaded(built)):
        assert index.kind == built.case.kind
        assert len(index) == N and index.dimension == D


def test_tuning_records_its_setting_and_the_recall_reached(built):
    assert built.stats["recall_at_10"] >= built.case.min_recall
    assert {**built.index.params, **built.stats} == built.stats  # the setting itself is in the stats
    assert loaded(built).params == built.index.params


def test_search_agrees_with_numpy_brute_force(built):
    scores, found = loaded(built).search(built.queries, 10)
    true_scores, truth = brute_force(built.queries, built.vectors, built.ids, 10)
    assert scores.shape == found.shape == (len(built.queries), 10)
    assert recall(truth, found) >= built.case.min_recall
    if built.case.min_recall == 1.0:
        np.testing.assert_array_equal(found, truth)
        np.testing.assert_allclose(scores, true_scores, rtol=1e-5, atol=1e-5)


def test_attached_exact_vectors_rescore_every_hit(built):
    scores, found = loaded(built).search(built.queries, 10)
    assert (found >= 0).all()
    expected = np.einsum("qd,qkd->qk", built.queries, by_id(built.vectors, built.ids)[found])
    np.testing.assert_allclose(scores, expected, rtol=1e-5, atol=1e-6)
    assert (np.diff(scores, axis=1) <= 0).all()  # best first


def test_without_exact_vectors_scores_are_within_the_codes_rounding(built):
    scores, found = loaded(built, attached=False).search(built.queries, 10)
    hit = found >= 0
    expected = np.einsum("qd,qkd->qk", built.queries, by_id(built.vectors, built.ids)[np.where(hit, found, 0)])
    np.testing.assert_allclose(scores[hit], expected[hit], atol=3 * built.case.decoded_tol + 1e-5)
    assert (np.diff(scores, axis=1) <= 0).all()


def test_ids_are_the_ones_given(built):
    index = loaded(built)
    _, found = index.search(built.queries, 10)
    assert set(found.ravel().tolist()) <= set(built.ids.tolist())
    probes = [0, 1, 999, N - 1]
    _, itself = index.search(built.vectors[probes], 1)  # a stored vector finds itself, under its own id
    np.testing.assert_array_equal(itself[:, 0], built.ids[probes])


def test_save_and_load_give_the_same_answers(built, tmp_path):
    index = loaded(built)
    index.save(tmp_path / "again.faiss")
    for again in (VectorIndex.load(tmp_path / "again.faiss"), VectorIndex.load(built.path, mmap=False)):
        assert type(again) is type(built.index) and again.kind == built.case.kind
        again.set_params(built.stats)
        again.attach(index.exact)
        assert again.params == index.params
        for a, b in zip(again.search(built.queries, 10), index.search(built.queries, 10)):
            np.testing.assert_array_equal(a, b)
    # the object as built answers as its file does
    for a, b in zip(built.index.search(built.queries, 10), loaded(built, attached=False).search(built.queries, 10)):
        np.testing.assert_array_equal(a, b)


def test_several_queries_at_once_equal_one_at_a_time(built):
    index = loaded(built)
    scores, found = index.search(built.queries[:8], 5)
    for q in range(8):
        one_scores, one_found = index.search(built.queries[q], 5)  # a 1-d query is one row
        np.testing.assert_array_equal(one_found[0], found[q])
        np.testing.assert_allclose(one_scores[0], scores[q], rtol=1e-6)


@pytest.mark.parametrize("attached", [True, False], ids=["attached", "read-back"])
def test_vectors_by_id_are_the_stored_ones(built, attached):
    rows = np.array([5, 0, N - 1, 1234])
    tolerance = 1e-7 if attached else built.case.decoded_tol + 1e-7
    for index in (loaded(built, attached), *([] if attached else [built.index])):  # read back: as built, too
        got = index.vectors(built.ids[rows])
        assert got.shape == (4, D) and got.dtype == np.float32
        np.testing.assert_allclose(got, built.vectors[rows], atol=tolerance)
        assert index.vectors([]).shape == (0, D)


def test_vectors_of_an_unknown_id_is_a_key_error(built):
    missing = int(built.ids.max()) + 1000
    for index in (loaded(built), loaded(built, attached=False)):
        with pytest.raises(KeyError, match="not"):
            index.vectors([int(built.ids[0]), missing])


@pytest.mark.parametrize(("n", "d", "k"), [(1, 8, 1), (3, 4, 10), (50, 16, 5), (60, 384, 100)])
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.kind)
def test_a_small_index_is_searched_completely_and_k_is_capped_to_its_size(case, n, d, k):
    rng = np.random.default_rng(n + d)
    vectors = unit(rng, n, d)
    ids = rng.permutation(10 * n)[:n].astype(np.int64)
    index = build_vector_index(vectors, ids, kind=case.kind)
    index.attach(by_id(vectors, ids))
    queries = unit(rng, 7, d)
    scores, found = index.search(queries, k)
    true_scores, truth = brute_force(queries, vectors, ids, min(k, n))
    assert found.shape == (7, min(k, n))  # asking for more than there are returns all there are
    np.testing.assert_array_equal(found, truth)
    np.testing.assert_allclose(scores, true_scores, rtol=1e-5, atol=1e-5)
