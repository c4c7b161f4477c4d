import numpy as np
import pytest

from matcher.errors import IndexCorrupt
from matcher.index.vectors import VectorIndex


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


def clustered(rng, n, d, centres=200, spread=0.35):
    """Unit vectors around random centres: the structure real embeddings have (IVF relies on it)."""
    c = unit(rng, centres, d)
    x = c[rng.integers(0, centres, n)] + spread * rng.standard_normal((n, d)).astype(np.float32) / np.sqrt(d)
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def near(rng, vectors, n=200, noise=0.35):
    """Queries near the data but not stored in it, like a lot text near the firms that fit it."""
    x = vectors[rng.integers(0, len(vectors), n)] + noise * rng.standard_normal((n, vectors.shape[1])) / np.sqrt(
        vectors.shape[1]
    )
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def measured_recall(index, vectors, queries, k=10):
    truth = np.argsort(-(queries @ vectors.T), axis=1)[:, :k]
    _, found = index.search(queries, k)
    return np.mean([len(set(t) & set(f)) / k for t, f in zip(truth, found)])


@pytest.mark.parametrize("kind", ["ivf", "hnsw"])
def test_approximate_index_is_tuned_to_the_recall_target_and_keeps_it_after_loading(tmp_path, kind):
    rng = np.random.default_rng(7)
    vectors = clustered(rng, 20_000, 48)
    index = VectorIndex.build(vectors, np.arange(len(vectors)), kind=kind)
    assert index.kind == kind
    stats = index.tune(vectors)
    assert stats["recall_at_10"] >= 0.98 and stats["recall_queries"] == 300
    setting = "nprobe" if kind == "ivf" else "efSearch"
    assert stats[setting] == index.params[setting]
    # an independent check on queries that are not stored vectors
    queries = near(np.random.default_rng(8), vectors)
    assert measured_recall(index, vectors, queries) >= 0.95
    index.save(tmp_path / "i.faiss")
    loaded = VectorIndex.load(tmp_path / "i.faiss")  # memory-mapped
    loaded.set_params(stats)
    loaded.attach(vectors)
    assert loaded.kind == kind and loaded.params[setting] == stats[setting]
    np.testing.assert_array_equal(loaded.search(queries, 10)[1], index.search(queries, 10)[1])


def test_ivf_with_a_single_probe_misses_neighbours_that_tuning_recovers():
    rng = np.random.default_rng(9)
    vectors = clustered(rng, 20_000, 48, centres=400, spread=0.9)
    index = VectorIndex.build(vectors, np.arange(len(vectors)), kind="ivf")
    queries = near(np.random.default_rng(10), vectors, noise=0.9)
    index.set_params({"nprobe": 1})
    low = measured_recall(index, vectors, queries)
    index.tune(vectors)
    assert index.params["nprobe"] > 1 and measured_recall(index, vectors, queries) > low + 0.1


def test_auto_is_exact_up_to_the_limit_and_approximate_above(monkeypatch):
    import matcher.index.vectors as mi

    assert mi.choose_kind(mi.EXACT_LIMIT) == "flat" and mi.choose_kind(mi.EXACT_LIMIT + 1) == "ivf"
    assert mi.choose_kind(10, "hnsw") == "hnsw"
    with pytest.raises(Exception, match="--index-type"):
        mi.choose_kind(10, "annoy")
    monkeypatch.setattr(mi, "EXACT_LIMIT", 1000)
    rng = np.random.default_rng(3)
    assert VectorIndex.build(clustered(rng, 2000, 16), np.arange(2000)).kind == "ivf"
    flat = VectorIndex.build(clustered(rng, 1000, 16), np.arange(1000))
    assert flat.kind == "flat" and flat.tune(clustered(rng, 1000, 16))["recall_at_10"] == 1.0
