"""The Ray engine embeds exactly what the local engine does, in the same order, under the same keys."""

from __future__ import annotations

import csv
import sys

import numpy as np
import pytest

from matcher.embed.cache import EmbeddingCache
from matcher.embed.embedders import load_embedder
from matcher.errors import EngineUnavailable
from tests.conftest import SAMPLE

# Ray Data reads its own deprecated settings when it copies its context to the workers.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:ray.data.context")


@pytest.fixture(scope="module")
def texts() -> list[str]:
    with (SAMPLE / "participants.csv").open(encoding="utf-8") as f:
        descriptions = [row["description"] for row in csv.DictReader(f)][:50]
    assert len(set(descriptions)) == 50  # distinct texts, so a row out of place is seen
    return descriptions


@pytest.mark.slow
def test_ray_vectors_equal_the_local_engines_in_input_order(ray_cluster, texts, tmp_path):
    from matcher.embed.ray_engine import RayEmbedder

    local = load_embedder()
    # small batches: several blocks spread over the 2 actors, which may come back in any order
    engine = RayEmbedder(batch_size=8)
    done: list[int] = []
    vectors = engine.encode(texts, progress=done.append)
    expected = local.encode(texts)
    assert vectors.shape == (50, local.dimension) and vectors.dtype == np.float32
    np.testing.assert_allclose(vectors, expected, atol=1e-5)
    assert not np.allclose(vectors[::-1], expected, atol=1e-5)  # the check does see the order
    assert len(done) > 1 and done == sorted(done) and done[-1] == 50
    assert (engine.name, engine.fingerprint, engine.dimension) == (local.name, local.fingerprint, local.dimension)
    assert EmbeddingCache(engine, tmp_path).path == EmbeddingCache(local, tmp_path).path
    assert engine.encode([]).shape == (0, local.dimension)


@pytest.mark.slow
def test_ray_passes_the_kind_through(ray_cluster, texts):
    from matcher.embed.ray_engine import RayEmbedder

    local = load_embedder("e5")  # e5 embeds a text differently as a query and as a passage
    engine = RayEmbedder("e5", actors=1)
    sample = texts[:6]
    queries = engine.encode(sample, kind="query")
    np.testing.assert_allclose(queries, local.encode(sample, kind="query"), atol=1e-5)
    assert not np.allclose(queries, local.encode(sample, kind="passage"), atol=1e-3)
    assert engine.name == local.name and engine.fingerprint == local.fingerprint


def test_without_ray_the_error_says_how_to_install_it(monkeypatch):
    from matcher.embed.ray_engine import RayEmbedder

    monkeypatch.setitem(sys.modules, "ray", None)  # makes `import ray` fail as if not installed
    with pytest.raises(EngineUnavailable, match=r"pip install 'matcher\[ray\]'"):
        RayEmbedder().encode(["a text"])


@pytest.mark.slow
def test_a_ray_build_writes_the_local_engines_vectors_with_the_onnx_backend(ray_cluster, tmp_path):
    """The default int8 ONNX export travels to the actors; the published vectors are the local ones."""
    import shutil

    from matcher import BuildSettings, Workspace, build_index, ingest

    source = tmp_path / "participants.csv"
    shutil.copyfile(SAMPLE / "participants.csv", source)
    vectors = {}
    for engine in ("local", "ray"):
        ws = Workspace(tmp_path / engine)
        ingest([source], ws)
        manifest = build_index(ws, BuildSettings(model=None, engine=engine, backend="onnx-int8"))
        assert manifest["engine"] == engine and manifest["model"]["backend"] == "onnx-int8"
        assert manifest["embedded"] == manifest["vectors"]  # nothing came from a cache
        vectors[engine] = np.load(ws.current_version() / "vectors.npy")
    np.testing.assert_allclose(vectors["ray"], vectors["local"], atol=1e-6)
