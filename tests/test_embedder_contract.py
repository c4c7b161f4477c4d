"""One contract that every embedder passes, as implicit's RecommenderBaseTestMixin does for its models.

Every implementation runs through the same checks, for documents (kind="passage") and for
requests (kind="query"): (n, dimension) float32 unit vectors, the same vector for the same text
whether it comes alone, in a batch, padded behind a much longer text or in another order, an
empty array for no texts, a name and a fingerprint, a manifest entry and a spec that rebuild the
same embedder, and on the real models a paraphrase closer than an unrelated text. The checks are
plain functions, and the last tests show that each of them fails for an embedder that breaks its
rule.
"""

from __future__ import annotations

import json
import pickle
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from matcher.embed import Backend, Embedder, Kind
from matcher.embed.base import Progress
from matcher.embed.embedders import embedder_for_manifest, embedder_from_spec, load_embedder
from tests.fakes import HashingEmbedder

# Ray Data reads its own deprecated settings when it copies its context to the workers.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:ray.data.context")

# Few and short, so that the Ray engine's calls stay cheap; the longest and the shortest differ
# most in padding when batched together.
TEXTS = [
    "Road bridge construction and overpass repair",
    "Construction of road bridges and viaducts",  # a paraphrase of the first
    "Vocational training courses for welders",  # unrelated to both
    "bridge repair works",  # as a query, it should find the two bridge texts before the welders
    "x",
]
QUERY = 3
# ~150 tokens: batched with it, every text of TEXTS is padded to its length, and an embedder whose
# scales are taken over the whole batch (dynamic int8) gives each of them another vector.
LONG = " ".join(
    ["Reconstruction of the municipal water main, 4.2 km of ductile iron pipe DN 400 with valves,"]
    + ["hydrants, house connections and the restoration of the road surface after the trench works."] * 6
)


@dataclass(frozen=True)
class Case:
    atol: float  # how far a text's vector alone may be from the same text's in a batch
    real: bool  # a trained model: loadable by name, and its similarities mean something


CASES = {
    "minilm": Case(atol=1e-5, real=True),  # float32 with padding: other matrix shapes, other roundings
    "onnx": Case(atol=1e-5, real=True),
    "onnx-int8": Case(atol=1e-6, real=True),  # one text per run (batched too, in test_onnx)
    "e5": Case(atol=1e-6, real=True),
    "ray": Case(atol=1e-6, real=True),  # e5 run by Ray actors: e5 tells a query from a passage
    "fake": Case(atol=1e-7, real=False),
}


@pytest.fixture(scope="module")
def workspace_root(tmp_path_factory) -> Path:
    """The workspace folder that the ONNX embedders' exports live in."""
    return tmp_path_factory.mktemp("contract-ws")


def _onnx(root: Path, variant: Backend, exports: Path) -> Embedder:
    from matcher.embed.onnx import ensure_onnx
    from matcher.inputs.sample import sample_texts

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MATCHER_ONNX_CACHE", str(exports))  # the session's export: copied, not exported again
        return ensure_onnx(root, load_embedder(), variant, parity_texts=sample_texts)


@pytest.fixture(scope="module", params=list(CASES))
def implementation(request, workspace_root, _onnx_exports) -> tuple[Embedder, Case]:
    name = request.param
    if name in ("onnx", "onnx-int8"):
        embedder = _onnx(workspace_root, name, _onnx_exports)
    elif name == "ray":
        from matcher.embed.ray_engine import RayEmbedder

        request.getfixturevalue("ray_cluster")
        # Two texts per Ray batch: the texts spread over several blocks, which come back in any order.
        # e5 starts fastest in an actor; the ONNX export's trip to the actors is test_distributed's.
        embedder = RayEmbedder("e5", actors=1, batch_size=2)
    elif name == "fake":
        embedder = HashingEmbedder()
    else:
        embedder = load_embedder(name)
    return embedder, CASES[name]


@pytest.fixture
def embedder(implementation) -> Embedder:
    return implementation[0]


@pytest.fixture
def case(implementation) -> Case:
    return implementation[1]


@pytest.fixture(params=["passage", "query"])
def kind(request) -> Kind:
    return request.param


_BATCHES: dict[tuple[int, str], np.ndarray] = {}
_ALONE: dict[tuple[int, str], np.ndarray] = {}


def batch_of(embedder: Embedder, kind: Kind) -> np.ndarray:
    """`embedder`'s vectors of TEXTS, embedded once per module (each call of the Ray engine starts an actor)."""
    key = (id(embedder), kind)
    if key not in _BATCHES:
        _BATCHES[key] = embedder.encode(TEXTS, kind=kind)
    return _BATCHES[key]


def alone_of(embedder: Embedder, kind: Kind) -> np.ndarray:
    """`embedder`'s vectors of TEXTS, each embedded in a call of its own (once per module)."""
    key = (id(embedder), kind)
    if key not in _ALONE:
        _ALONE[key] = np.vstack([embedder.encode([text], kind=kind) for text in TEXTS])
    return _ALONE[key]


# --- the checks ---------------------------------------------------------------------------------


def check_identity(embedder: Embedder) -> None:
    assert isinstance(embedder, Embedder)
    assert isinstance(embedder.name, str) and embedder.name
    assert isinstance(embedder.fingerprint, str) and embedder.fingerprint
    assert isinstance(embedder.dimension, int) and embedder.dimension > 0
    assert 0.0 <= embedder.similarity_floor < 1.0


def check_vectors(embedder: Embedder, vectors: np.ndarray) -> None:
    assert isinstance(vectors, np.ndarray) and vectors.dtype == np.float32
    assert vectors.shape == (len(TEXTS), embedder.dimension)
    assert np.isfinite(vectors).all()
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-4)


def check_determinism(embedder: Embedder, kind: Kind, vectors: np.ndarray) -> None:
    """The same texts embedded again give the same vectors, and progress reaches their count."""
    done: list[int] = []
    again = embedder.encode(TEXTS, progress=done.append, kind=kind)
    np.testing.assert_allclose(again, vectors, atol=1e-6)
    assert done and done[-1] == len(TEXTS) and done == sorted(done)


def check_batch_independence(
    embedder: Embedder, kind: Kind, alone: np.ndarray, vectors: np.ndarray, atol: float
) -> None:
    """Each text's vector is the same alone (`alone`), in a batch of texts of other lengths (`vectors`)
    and in another order behind a much longer text: nothing is shifted, mixed, or moved by padding."""
    padded = embedder.encode([LONG, *TEXTS[::-1]], kind=kind)[1:][::-1]
    for batched in (vectors, padded):
        np.testing.assert_allclose(batched, alone, atol=atol)
        assert np.sum(batched * alone, axis=1).min() >= 0.99999


def check_empty(embedder: Embedder, kind: Kind) -> None:
    empty = embedder.encode([], kind=kind)
    assert empty.shape == (0, embedder.dimension) and empty.dtype == np.float32


def check_description(embedder: Embedder, workspace_root: Path) -> None:
    """What the manifest and a Ray actor are given is plain data."""
    entry = embedder.describe(workspace_root)
    assert json.loads(json.dumps(entry)) == entry
    assert entry["backend"] in ("torch", "onnx", "onnx-int8", "native")
    assert "backend_folder" not in entry or not Path(entry["backend_folder"]).is_absolute()
    pickle.loads(pickle.dumps(embedder.spec()))


def check_rebuilt(
    embedder: Embedder, rebuilt: Embedder, passages: np.ndarray, queries: np.ndarray, atol: float
) -> None:
    """An embedder rebuilt from what this one says of itself embeds passages and queries as it does."""
    assert (rebuilt.name, rebuilt.fingerprint, rebuilt.dimension) == (
        embedder.name, embedder.fingerprint, embedder.dimension
    )  # fmt: skip
    np.testing.assert_allclose(rebuilt.encode(TEXTS[:1]), passages[:1], atol=atol)
    np.testing.assert_allclose(rebuilt.encode(TEXTS[:1], kind="query"), queries[:1], atol=atol)


def check_semantics(embedder: Embedder, passages: np.ndarray, queries: np.ndarray) -> None:
    """A paraphrase is closer than an unrelated text (as passages and as queries), and a query finds
    the passages it is about."""
    floor = embedder.similarity_floor  # e5's unrelated texts sit near 0.75: measure above the floor
    for vectors in (passages, queries):
        similarity = (vectors @ vectors.T - floor) / (1.0 - floor)
        assert similarity[0, 1] > similarity[0, 2] + 0.2, similarity
    scores = (passages[:3] @ queries[QUERY] - floor) / (1.0 - floor)
    assert min(scores[0], scores[1]) > scores[2] + 0.1, scores


# --- every implementation passes them --------------------------------------------------------------


def test_name_fingerprint_and_dimension(embedder):
    check_identity(embedder)


def test_vectors_are_float32_unit_vectors_of_the_dimension(embedder, kind):
    check_vectors(embedder, batch_of(embedder, kind))


def test_the_same_texts_give_the_same_vectors(embedder, kind):
    check_determinism(embedder, kind, batch_of(embedder, kind))


def test_a_texts_vector_does_not_depend_on_its_batch(embedder, case, kind):
    check_batch_independence(embedder, kind, alone_of(embedder, kind), batch_of(embedder, kind), case.atol)


def test_no_texts_give_an_empty_array(embedder, kind):
    check_empty(embedder, kind)


def test_the_description_is_plain_data(embedder, workspace_root):
    check_description(embedder, workspace_root)


def test_the_manifest_entry_rebuilds_the_embedder(embedder, case, workspace_root):
    if not case.real:
        pytest.skip("the fake has no model to load by name")
    entry = {"name": embedder.name, "fingerprint": embedder.fingerprint, **embedder.describe(workspace_root)}
    rebuilt = embedder_for_manifest(entry, workspace_root, workspace_root / "index" / "v1")
    check_rebuilt(embedder, rebuilt, batch_of(embedder, "passage"), batch_of(embedder, "query"), case.atol)


def test_the_spec_rebuilds_the_embedder_in_another_process(embedder, case, tmp_path, monkeypatch):
    if not case.real:
        pytest.skip("the fake has no model to load by name")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where an ONNX spec's files are written
    rebuilt = embedder_from_spec(embedder.spec())
    check_rebuilt(embedder, rebuilt, batch_of(embedder, "passage"), batch_of(embedder, "query"), case.atol)
    assert not list(tmp_path.glob("matcher-onnx-*"))  # an export's files are gone once it is loaded


def test_a_paraphrase_is_closer_than_an_unrelated_text_and_a_query_finds_its_passages(embedder, case):
    if not case.real:
        pytest.skip("the fake's vectors only count shared words")
    check_semantics(embedder, batch_of(embedder, "passage"), batch_of(embedder, "query"))


# --- and each check fails for an embedder that breaks it -------------------------------------------


class Broken(HashingEmbedder):
    """The fake, bent by `bend(vectors, texts)` after it embeds."""

    def __init__(self, bend, name: str = "broken"):
        super().__init__()
        self.bend, self.name = bend, name

    def encode(self, texts: Sequence[str], progress: Progress | None = None, kind: Kind = "passage") -> np.ndarray:
        return self.bend(super().encode(texts, progress, kind), texts)


def _renormalised(vectors: np.ndarray) -> np.ndarray:
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def _batch_dependent(vectors: np.ndarray, texts: Sequence[str]) -> np.ndarray:
    shifted = vectors.copy()
    shifted[:, 1] += 0.01 * len(texts)  # a text's vector moves with the size of its batch
    return _renormalised(shifted)


def _padding_dependent(vectors: np.ndarray, texts: Sequence[str]) -> np.ndarray:
    shifted = vectors.copy()
    shifted[:, 1] += 0.01 * (max(len(t) for t in texts) > 200)  # moved only when padded to a long text
    return _renormalised(shifted)


def _alone_batched(embedder: Embedder) -> tuple[np.ndarray, np.ndarray]:
    return np.vstack([embedder.encode([t]) for t in TEXTS]), embedder.encode(TEXTS)


def _constant(vectors: np.ndarray, texts: Sequence[str]) -> np.ndarray:
    return np.tile(np.eye(1, vectors.shape[1], dtype=np.float32), (len(texts), 1))


_rng = np.random.default_rng(0)

# How each broken embedder bends the fake's vectors, and the check that must catch it.
BROKEN = {
    "unnormalised": (lambda v, t: v * 2, lambda e: check_vectors(e, e.encode(TEXTS))),
    "float64": (lambda v, t: v.astype(np.float64), lambda e: check_vectors(e, e.encode(TEXTS))),
    "short vectors": (lambda v, t: v[:, :-1], lambda e: check_vectors(e, e.encode(TEXTS))),
    "noisy": (
        lambda v, t: _renormalised(v + _rng.normal(0, 0.01, v.shape)),
        lambda e: check_determinism(e, "passage", e.encode(TEXTS)),
    ),
    "batch-dependent": (_batch_dependent, lambda e: check_batch_independence(e, "passage", *_alone_batched(e), 1e-6)),
    "order-scrambling": (
        lambda v, t: v[::-1].copy() if len(t) > 1 else v,
        lambda e: check_batch_independence(e, "passage", *_alone_batched(e), 1e-6),
    ),
    "padding-dependent": (
        _padding_dependent,
        lambda e: check_batch_independence(e, "passage", *_alone_batched(e), 1e-6),
    ),
    "flat empty": (lambda v, t: v if len(t) else np.zeros(0, np.float32), lambda e: check_empty(e, "passage")),
    "constant": (_constant, lambda e: check_semantics(e, e.encode(TEXTS), e.encode(TEXTS, kind="query"))),
}


@pytest.mark.parametrize("broken", list(BROKEN))
def test_each_check_fails_for_an_embedder_that_breaks_its_rule(broken):
    bend, check = BROKEN[broken]
    embedder = Broken(bend)
    check_identity(embedder)  # an Embedder by name and fingerprint, all the same
    with pytest.raises(AssertionError):
        check(embedder)


def test_the_identity_description_and_rebuild_checks_fail_for_bad_values(workspace_root):
    with pytest.raises(AssertionError):
        check_identity(Broken(lambda v, t: v, name=""))
    unserialisable = HashingEmbedder()
    unserialisable.describe = lambda workspace_root=None: {"backend": "native", "folder": Path("/")}  # type: ignore[method-assign]
    with pytest.raises((AssertionError, TypeError)):
        check_description(unserialisable, workspace_root)
    with pytest.raises(AssertionError):  # another dimension: not the same embedder
        vectors = HashingEmbedder().encode(TEXTS)
        check_rebuilt(HashingEmbedder(), HashingEmbedder(dimension=32), vectors, vectors, 1e-6)
