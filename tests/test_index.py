"""What is particular to each vector index kind, to reading index files, and to BM25's build; what every
kind shares is in test_vector_index_contract.py."""

import logging

import numpy as np
import pytest

from matcher.errors import IndexCorrupt
from matcher.index.bm25 import LexicalIndex
from matcher.index.vectors import HNSWIndex, VectorIndex, build_vector_index


def unit(rng, n, d):
    x = rng.standard_normal((n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.mark.parametrize("content", [b"", b"not a faiss file at all", None])
def test_unreadable_index_file_is_a_clear_error(tmp_path, content):
    path = tmp_path / "index.faiss"
    if content is None:  # truncated copy of a real index
        build_vector_index(unit(np.random.default_rng(2), 10, 8), np.arange(10)).save(path)
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
    index = build_vector_index(vectors, np.arange(len(vectors)), kind=kind)
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
    index = build_vector_index(vectors, np.arange(len(vectors)), kind="ivf")
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
    assert build_vector_index(clustered(rng, 2000, 16), np.arange(2000)).kind == "ivf"
    flat = build_vector_index(clustered(rng, 1000, 16), np.arange(1000))
    assert flat.kind == "flat" and flat.tune(clustered(rng, 1000, 16))["recall_at_10"] == 1.0


def test_an_hnsw_file_of_earlier_versions_loads_and_answers_as_before(tmp_path):
    import faiss

    rng = np.random.default_rng(11)
    vectors = unit(rng, 500, 16)
    ids = rng.permutation(5000)[:500].astype(np.int64)
    graph = faiss.IndexHNSWFlat(16, 32, faiss.METRIC_INNER_PRODUCT)
    old = faiss.IndexIDMap(graph)  # what HNSW builds wrote before IndexIDMap2: it cannot reconstruct by id
    old.add_with_ids(vectors, ids)
    faiss.write_index(old, str(tmp_path / "old.faiss"))
    loaded = VectorIndex.load(tmp_path / "old.faiss")
    assert isinstance(loaded, HNSWIndex) and loaded.kind == "hnsw" and len(loaded) == 500
    loaded.set_params({"efSearch": 64})
    graph.hnsw.efSearch = 64
    queries = unit(rng, 20, 16)
    for a, b in zip(loaded.search(queries, 10), old.search(queries, 10)):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(loaded.vectors(ids[[7, 3]]), vectors[[7, 3]])
    with pytest.raises(KeyError, match="not in the index"):
        loaded.vectors([5001])


def test_a_faiss_index_of_a_kind_matcher_never_builds_is_a_clear_error(tmp_path):
    import faiss

    other = faiss.IndexLSH(8, 16)
    other.add(unit(np.random.default_rng(12), 10, 8))
    faiss.write_index(other, str(tmp_path / "index.faiss"))
    with pytest.raises(IndexCorrupt, match="IndexLSH.*rebuild"):
        VectorIndex.load(tmp_path / "index.faiss")


def test_building_bm25_sends_no_debug_records_to_the_applications_handlers(caplog):
    """bm25s sets its own logger to DEBUG: its "Building index from tokens" reached the terminal of
    `matcher index build` through the handler an application (or a library) puts on the root logger."""
    caplog.set_level(logging.DEBUG)  # the root logger and its capturing handler take everything
    index = LexicalIndex(["puentes y viaductos", "vías rurales"], language="es")
    assert int(index.scores("construcción de un puente").argmax()) == 0
    chatter = [r for r in caplog.records if r.name.split(".")[0] == "bm25s" and r.levelno < logging.WARNING]
    assert not chatter, [r.getMessage() for r in chatter]
