import numpy as np
import pytest

from matcher.errors import IndexCorrupt
from matcher.index import VectorIndex


def unit(rng, n, d):
    x = rng.standard_normal((n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.mark.parametrize(("n", "d", "k"), [(1, 8, 1), (50, 16, 5), (500, 384, 10)])
def test_faiss_equals_numpy_brute_force_cosine_top_k(n, d, k):
    rng = np.random.default_rng(n)
    vectors = unit(rng, n, d)
    ids = rng.permutation(10 * n)[:n].astype(np.int64)  # stable ids are not row numbers
    queries = unit(rng, 7, d)
    index = VectorIndex.build(vectors, ids)
    scores, found = index.search(queries, k)
    sims = queries @ vectors.T
    for q in range(len(queries)):
        order = np.argsort(-sims[q], kind="stable")[: min(k, n)]
        np.testing.assert_array_equal(found[q], ids[order])
        np.testing.assert_allclose(scores[q], sims[q, order], rtol=1e-5, atol=1e-5)


def test_vectors_are_fetched_by_id_and_survive_save_and_load(tmp_path):
    rng = np.random.default_rng(0)
    vectors = unit(rng, 20, 12)
    ids = np.arange(100, 120, dtype=np.int64)
    VectorIndex.build(vectors, ids).save(tmp_path / "i.faiss")
    loaded = VectorIndex.load(tmp_path / "i.faiss")
    assert len(loaded) == 20 and loaded.dimension == 12
    np.testing.assert_array_equal(loaded.vectors([105, 100]), vectors[[5, 0]])


def test_k_larger_than_the_index_is_capped():
    index = VectorIndex.build(unit(np.random.default_rng(1), 3, 4), np.arange(3))
    scores, found = index.search(np.ones((1, 4), dtype=np.float32) / 2, 10)
    assert sorted(found[0].tolist()) == [0, 1, 2]


@pytest.mark.parametrize("content", [b"", b"not a faiss file at all", None])
def test_unreadable_index_file_is_a_clear_error(tmp_path, content):
    path = tmp_path / "index.faiss"
    if content is None:  # truncated copy of a real index
        VectorIndex.build(unit(np.random.default_rng(2), 10, 8), np.arange(10)).save(path)
        path.write_bytes(path.read_bytes()[:60])
    else:
        path.write_bytes(content)
    with pytest.raises(IndexCorrupt, match="index.faiss"):
        VectorIndex.load(path)


def test_missing_index_file_is_a_clear_error(tmp_path):
    with pytest.raises(IndexCorrupt, match="missing"):
        VectorIndex.load(tmp_path / "nope.faiss")
